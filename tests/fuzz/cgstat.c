/* memory.stat, memory.max, memory.events, cgroup.procs: kernel text from
 * cgroups a container may create and name. The text is not NUL-terminated:
 * libFuzzer's buffer is exactly the input, so any read past its end is an
 * ASan report. */
#include <errno.h>

#include "cgstat.h"
#include "fuzz.h"

#define PIDS_MAX	64

static void check_stat(const char *text, size_t len, int version)
{
	struct cgstat st;
	int err;

	memset(&st, 0, sizeof(st));
	err = cgstat__parse_stat(text, len, version, &st);
	FUZZ_CHECK(err == 0 || err == -ENOENT || err == -EINVAL);
	FUZZ_CHECK(!(st.have & ~CGSTAT_ALL));
	FUZZ_CHECK(err || st.have);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const keys[] = { "anon", "oom_kill", "total_rss", "", "a b" };
	const char *text = (const char *)data;
	pid_t pids[PIDS_MAX];
	uint64_t v;
	ssize_t n;

	cgstat__parse_u64(text, size, &v);
	if (cgstat__parse_limit(text, size, &v) == 0)
		FUZZ_CHECK(v == CGSTAT_UNLIMITED || v < CGSTAT_LIMIT_HUGE);
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		cgstat__parse_key(text, size, keys[i], &v);
	for (int version = 0; version <= 3; version++)
		check_stat(text, size, version);

	n = cgstat__parse_pids(text, size, pids, PIDS_MAX);
	FUZZ_CHECK(n >= -EINVAL);
	for (ssize_t i = 0; i < n && i < PIDS_MAX; i++)
		FUZZ_CHECK(pids[i] > 0);
	FUZZ_CHECK(cgstat__parse_pids(text, size, NULL, 0) == n);
	return 0;
}
