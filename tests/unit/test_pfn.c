#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "pfn.h"

#define BASE 0xffffea0000000000ULL

Test(pfn, solves_base_from_two_known_pages)
{
	/* Page-table pages and other noise are allocated around ours. */
	uint64_t ptrs[] = { BASE + 77 * 64, BASE + 1000 * 64, BASE + 5 * 64, BASE + 2345 * 64 };
	uint64_t base = 0;

	cr_assert_eq(pfn__solve_base(ptrs, 4, 1000, 2345, 64, &base), 0);
	cr_assert_eq(base, BASE);
}

Test(pfn, refuses_inconsistent_candidates)
{
	uint64_t ptrs[] = { BASE + 1000 * 64, BASE + 2000 * 64 };
	uint64_t base = 0;

	cr_assert_eq(pfn__solve_base(ptrs, 2, 1000, 2345, 64, &base), -ENOENT);
	cr_assert_eq(pfn__solve_base(ptrs, 0, 1000, 2000, 64, &base), -ENOENT);
	/* one pointer cannot vouch for itself */
	cr_assert_eq(pfn__solve_base(ptrs, 1, 1000, 1000, 64, &base), -ENOENT);
}

Test(pfn, ignores_pointers_below_the_implied_base)
{
	uint64_t ptrs[] = { 100, 200 };
	uint64_t base;

	cr_assert_eq(pfn__solve_base(ptrs, 2, 1000, 1001, 64, &base), -ENOENT);
}

static const char *write_tmp(const char *text)
{
	static char path[] = "/tmp/memscope-zoneinfo-XXXXXX";
	int fd = mkstemp(path);

	cr_assert(fd >= 0);
	cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return path;
}

Test(pfn, max_pfn_from_zoneinfo)
{
	const char *p = write_tmp(
		"Node 0, zone      DMA\n  pages free     3840\n        spanned  4095\n"
		"  start_pfn:           1\n"
		"Node 0, zone   Normal\n        spanned  5505024\n  start_pfn:           1048576\n"
		"Node 0, zone  Movable\n        spanned  0\n  start_pfn:           0\n");
	uint64_t max = 0;

	cr_assert_eq(pfn__max_from_zoneinfo(p, &max), 0);
	cr_assert_eq(max, 1048576 + 5505024);
	unlink(p);
}

Test(pfn, zoneinfo_without_zones_is_an_error)
{
	const char *p = write_tmp("garbage\n spanned\nstart_pfn: x\n");
	uint64_t max = 0;

	cr_assert_eq(pfn__max_from_zoneinfo(p, &max), -ENOENT);
	unlink(p);
	cr_assert_eq(pfn__max_from_zoneinfo("/nonexistent/zoneinfo", &max), -ENOENT);
}

Test(pfn, real_zoneinfo_covers_this_process)
{
	uint64_t max = 0, pfn = 0;
	char *page = malloc(4096);

	cr_assert_eq(pfn__max_from_zoneinfo("/proc/zoneinfo", &max), 0);
	page[0] = 1;
	if (geteuid() != 0)
		cr_skip_test("pagemap pfns need root");
	cr_assert_eq(pfn__of_vaddr((uint64_t)(uintptr_t)page, &pfn), 0);
	cr_assert_lt(pfn, max);
	free(page);
}

Test(pfn, all_seen_needs_every_pointer_and_at_least_one)
{
	const uint64_t have[] = { 0x40, 0x80, 0xc0 };
	const uint64_t subset[] = { 0xc0, 0x40 };
	const uint64_t stray[] = { 0x40, 0x100 };

	cr_assert(pfn__all_seen(subset, 2, have, 3));
	cr_assert_not(pfn__all_seen(stray, 2, have, 3), "0x100 was never freed");
	cr_assert_not(pfn__all_seen(subset, 0, have, 3), "no batched free: nothing proven");
	cr_assert_not(pfn__all_seen(subset, 2, have, 0));
}
