/* Docker container names and images for container ids, from the engine's
 * API: one HTTP/1.1 GET /containers/json over its unix socket. Without the
 * socket (no Docker, no permission, DOCKER_HOST over TCP) callers show ids.
 *
 * The response is read whole (bounded, with a deadline), chunked transfer
 * coding undone, and the JSON read by a small purpose-built reader that
 * takes only what it needs and skips the rest:
 *	[{"Id":"3f4e...64 hex","Names":["/web"],"Image":"nginx:1.25",...},...]
 */
#ifndef MEMSCOPE_DOCKER_H
#define MEMSCOPE_DOCKER_H

#include <stddef.h>

#define DOCKER_SOCK_DEFAULT	"/var/run/docker.sock"
#define DOCKER_ID_LEN		64
#define DOCKER_NAME_MAX		128	/* longer names and images are cut */
#define DOCKER_IMAGE_MAX	256
#define DOCKER_RESPONSE_MAX	(16u << 20)
#define DOCKER_CONTAINERS_MAX	65536
#define DOCKER_JSON_DEPTH	64	/* deeper nesting: the response is rejected */

struct docker_ctr {
	char id[DOCKER_ID_LEN + 1];
	char name[DOCKER_NAME_MAX];	/* without docker's leading '/' */
	char image[DOCKER_IMAGE_MAX];
};

struct docker_list {
	struct docker_ctr *ctrs;	/* sorted by id */
	size_t n;
};

/* The engine's socket path from $DOCKER_HOST's value (NULL or "": the default
 * socket; "unix:///path": that path). 0, -ENOTSUP (tcp:// and the like),
 * -ENAMETOOLONG. */
int docker__socket_path(const char *docker_host, char *buf, size_t len);

/* An HTTP/1.x response: its status, and its body, de-chunked, in a malloc'ed
 * NUL-terminated buffer. 0, -EPROTO (malformed), -ENOMEM. */
int docker__http_body(const char *resp, size_t len, int *status, char **body, size_t *body_len);

/* The /containers/json array into out (entries without a valid 64-hex id are
 * skipped). 0, -EPROTO (not such an array), -ENOMEM; out is empty on error. */
int docker__parse_containers(const char *json, size_t len, struct docker_list *out);

/* GET /containers/json over the unix socket at sock_path, within timeout_ms.
 * 0, or -errno: ENOENT (no socket), EACCES, ECONNREFUSED (engine down),
 * ETIMEDOUT, EPROTO (not a valid answer), EIO (HTTP status not 200), EFBIG. */
int docker__fetch(const char *sock_path, int timeout_ms, struct docker_list *out);

/* The container with this full id, or NULL. */
const struct docker_ctr *docker__find(const struct docker_list *l, const char *id);

void docker__list_free(struct docker_list *l);

#endif
