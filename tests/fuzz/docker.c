/* The Docker engine's answer to GET /containers/json: container names and
 * image names in it are chosen by whoever starts containers. Both the HTTP
 * layer (chunked coding) and the JSON reader get the raw bytes, not
 * NUL-terminated. */
#include <errno.h>

#include "docker.h"
#include "fuzz.h"

static void check_list(const struct docker_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		const struct docker_ctr *c = &l->ctrs[i];

		FUZZ_CHECK(strlen(c->id) == DOCKER_ID_LEN);
		FUZZ_CHECK(fuzz_terminated(c->name, sizeof(c->name)));
		FUZZ_CHECK(fuzz_terminated(c->image, sizeof(c->image)));
		FUZZ_CHECK(!i || strcmp(l->ctrs[i - 1].id, c->id) <= 0);
		FUZZ_CHECK(docker__find(l, c->id) != NULL);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	struct docker_list list;
	char *body = NULL, *host, path[108];
	size_t body_len = 0;
	int status = 0;

	if (docker__http_body(text, size, &status, &body, &body_len) == 0) {
		FUZZ_CHECK(body && body[body_len] == '\0' && body_len <= size);
		free(body);
	}
	if (docker__parse_containers(text, size, &list) == 0) {
		check_list(&list);
		docker__list_free(&list);
	} else {
		FUZZ_CHECK(!list.ctrs && !list.n);
	}
	host = fuzz_string(data, size);
	if (docker__socket_path(host, path, sizeof(path)) == 0)
		FUZZ_CHECK(fuzz_terminated(path, sizeof(path)) && path[0]);
	free(host);
	return 0;
}
