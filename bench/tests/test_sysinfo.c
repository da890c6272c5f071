#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "sysinfo.h"

Test(sysinfo, pgalloc_sums_zones)
{
	static const char text[] = "nr_free_pages 100\npgalloc_dma 1\npgalloc_dma32 20\n"
				   "pgalloc_normal 300\npgalloc_movable 4000\npgfree 9\n"
				   "pgalloc_bogus\n";
	FILE *f = fmemopen((void *)text, strlen(text), "r");
	uint64_t pages = 0;

	cr_assert_eq(sysinfo__parse_pgalloc(f, &pages), 0);
	fclose(f);
	cr_expect_eq(pages, 4321);
}

Test(sysinfo, pgalloc_missing)
{
	static const char text[] = "pgfree 9\n";
	FILE *f = fmemopen((void *)text, strlen(text), "r");
	uint64_t pages = 0;

	cr_expect_eq(sysinfo__parse_pgalloc(f, &pages), -ENOENT);
	fclose(f);
}

Test(sysinfo, machine_is_described)
{
	struct sysinfo_machine m;

	sysinfo__machine(&m);
	cr_expect_gt(strlen(m.host), 0);
	cr_expect_gt(strlen(m.kernel), 0);
	cr_expect_gt(m.cpus, 0);
	cr_expect_gt(m.mem_bytes, 0);
}
