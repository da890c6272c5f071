#include <criterion/criterion.h>
#include <errno.h>
#include <stdint.h>
#include <unistd.h>

#include "fixture_tree.h"
#include "procstat.h"

static struct fixture_tree ft;

static void tree(void)
{
	ftree_init(&ft);
	/* A comm with a space and a ')' of its own; starttime (field 22) is
	 * 123456, itrealvalue (field 21) is 0 as on every kernel since 2.6.17. */
	ftree_write(&ft, "/77/stat",
		    "77 (a) b) S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 7 0 123456 0 0\n", (size_t)-1);
	ftree_write(&ft, "/78/stat", "78 (no close paren S 1\n", (size_t)-1);
	ftree_write(&ft, "/79/stat", "79 (short) S 1 1 1\n", (size_t)-1);
}

static void cleanup(void)
{
	ftree_remove(&ft);
}

Test(procstat, start_ticks_counts_fields_from_the_last_paren, .init = tree, .fini = cleanup)
{
	uint64_t ticks = 0;

	cr_assert_eq(procstat__start_ticks(ftree_path(&ft, ""), 77, &ticks), 0);
	cr_assert_eq(ticks, 123456);
}

Test(procstat, start_ticks_errors, .init = tree, .fini = cleanup)
{
	uint64_t ticks;

	cr_assert_eq(procstat__start_ticks(ftree_path(&ft, ""), 78, &ticks), -EINVAL);
	cr_assert_eq(procstat__start_ticks(ftree_path(&ft, ""), 79, &ticks), -EINVAL);
	cr_assert_eq(procstat__start_ticks(ftree_path(&ft, ""), 80, &ticks), -ENOENT);
}

Test(procstat, start_ticks_of_this_process)
{
	uint64_t ticks = 0;

	cr_assert_eq(procstat__start_ticks("/proc", getpid(), &ticks), 0);
	cr_assert_gt(ticks, 0);
}

Test(procstat, same_start_allows_two_ticks)
{
	uint64_t ns_per_tick = 1000000000ULL / (uint64_t)sysconf(_SC_CLK_TCK);

	cr_assert(procstat__same_start(1000, 1000 * ns_per_tick));
	cr_assert(procstat__same_start(1000, 1002 * ns_per_tick));
	cr_assert(procstat__same_start(1000, 998 * ns_per_tick));
	cr_assert_not(procstat__same_start(1000, 1003 * ns_per_tick));
	cr_assert_not(procstat__same_start(1000, 0));
}
