/* Cgroup paths: a container (or whoever it delegates cgroups to) names its
 * own cgroups, and the id, pod and label are read from their shape. */
#include <errno.h>
#include <stdbool.h>

#include "container.h"
#include "fuzz.h"

static bool all_lower_hex(const char *s)
{
	return strspn(s, "0123456789abcdef") == strlen(s);
}

static void check_info(const char *path)
{
	struct container_info info;
	size_t uid_len;

	FUZZ_CHECK(container__info(path, &info) == 0);
	FUZZ_CHECK(fuzz_terminated(info.id, sizeof(info.id)));
	FUZZ_CHECK(fuzz_terminated(info.pod_uid, sizeof(info.pod_uid)));
	if (info.runtime == CONTAINER_PLAIN)
		FUZZ_CHECK(info.id[0] == '\0');
	else
		FUZZ_CHECK(strlen(info.id) == CONTAINER_ID_LEN && all_lower_hex(info.id));
	uid_len = strlen(info.pod_uid);
	FUZZ_CHECK(uid_len == 0 || uid_len == 32 || uid_len == CONTAINER_POD_UID_MAX);
	FUZZ_CHECK((uid_len == 0) == (info.qos == CONTAINER_QOS_NONE));
	FUZZ_CHECK(strcmp(container__runtime_name(info.runtime), "unknown") != 0);
	FUZZ_CHECK(strcmp(container__qos_name(info.qos), "unknown") != 0);
}

static void check_id_and_label(const char *path)
{
	static const size_t sizes[] = { 0, 1, CONTAINER_LABEL_LEN, CONTAINER_LABEL_LEN + 1,
					CONTAINER_ID_LEN, CONTAINER_ID_LEN + 1, 4096 };
	char buf[4096];
	int rt;

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		memset(buf, 'x', sizeof(buf));
		rt = container__id(path, buf, sizes[i]);
		if (sizes[i] <= CONTAINER_ID_LEN)
			FUZZ_CHECK(rt == -ENOSPC);
		else
			FUZZ_CHECK(rt >= 0 && fuzz_terminated(buf, sizes[i]));
		/* Nothing is written past the caller's length. */
		FUZZ_CHECK(sizes[i] == sizeof(buf) || buf[sizes[i]] == 'x');

		memset(buf, 'x', sizeof(buf));
		if (container__label(path, buf, sizes[i]) == 0)
			FUZZ_CHECK(buf[0] && fuzz_terminated(buf, sizes[i]));
		FUZZ_CHECK(sizes[i] == sizeof(buf) || buf[sizes[i]] == 'x');
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *path = fuzz_string(data, size);

	check_info(path);
	check_id_and_label(path);
	free(path);
	return 0;
}
