/* /proc/PID/cgroup: the cgroup names in it are chosen by whoever created the
 * cgroups, container runtimes and delegated users included. */
#include <errno.h>

#include "cgroups.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t sizes[] = { 0, 1, 2, 16, PATH_MAX };
	char *text = fuzz_string(data, size);
	char buf[PATH_MAX + 1];

	for (int version = 0; version <= 3; version++) {
		for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
			int err;

			memset(buf, 'x', sizeof(buf));
			err = cgroups__parse_proc_cgroup(text, version, buf, sizes[i]);
			FUZZ_CHECK(buf[sizes[i]] == 'x');
			if (version != 1 && version != 2) {
				FUZZ_CHECK(err == -EINVAL);
				continue;
			}
			FUZZ_CHECK(err == 0 || err == -ENOENT || err == -ENAMETOOLONG);
			if (!err)
				FUZZ_CHECK(buf[0] == '/' && fuzz_terminated(buf, sizes[i]) &&
					   !strchr(buf, '\n'));
		}
	}
	free(text);
	return 0;
}
