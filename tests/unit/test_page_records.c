#include <criterion/criterion.h>
#include <bpf/bpf.h>
#include <errno.h>
#include <linux/bpf.h>
#include <unistd.h>

#include "page_records.h"

Test(page_records, array_reads_and_bounds)
{
	uint64_t recs[5] = { 0, 7, 0, 9, 11 }, rec = 1;
	struct page_records *pr = page_records__from_array(recs, 5);

	cr_assert_not_null(pr);
	cr_assert_eq(page_records__count(pr), 5);
	cr_assert_eq(page_records__get(pr, 1, &rec), 0);
	cr_assert_eq(rec, 7);
	cr_assert_eq(page_records__get(pr, 4, &rec), 0);
	cr_assert_eq(rec, 11);
	cr_assert_eq(page_records__get(pr, 5, &rec), -ERANGE, "past the end");
	cr_assert_eq(rec, 0);
	cr_assert_eq(page_records__get(pr, UINT64_MAX, &rec), -ERANGE);
	page_records__free(pr);
	cr_assert_eq(page_records__get(NULL, 0, &rec), -ERANGE);
}

/* A real mmapable array whose size is not a multiple of the window: every
 * record reads back through the windows, in order and out of order. */
Test(page_records, bpf_array_through_windows)
{
	const size_t n = 8192 * 2 + 1000;
	LIBBPF_OPTS(bpf_map_create_opts, opts, .map_flags = BPF_F_MMAPABLE);
	struct page_records *pr;
	uint64_t rec;
	int fd;

	if (geteuid() != 0)
		cr_skip_test("needs root for a BPF map");
	fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "ms_test_recs", 4, 8, n, &opts);
	cr_assert_geq(fd, 0, "cannot create an mmapable array");
	for (uint32_t k = 0; k < n; k += 997) {
		uint64_t v = 0x1000 + k;

		cr_assert_eq(bpf_map_update_elem(fd, &k, &v, BPF_ANY), 0);
	}
	pr = page_records__open(fd, n);
	cr_assert_not_null(pr);
	for (uint64_t pfn = 0; pfn < n; pfn++) {
		cr_assert_eq(page_records__get(pr, pfn, &rec), 0);
		cr_assert_eq(rec, pfn % 997 ? 0 : 0x1000 + pfn, "pfn %lu", (unsigned long)pfn);
	}
	cr_assert_eq(page_records__get(pr, 997 * 3, &rec), 0, "back to the first window");
	cr_assert_eq(rec, 0x1000 + 997 * 3);
	cr_assert_eq(page_records__get(pr, n, &rec), -ERANGE);
	page_records__release(pr);
	cr_assert_eq(page_records__get(pr, 0, &rec), 0, "mapped again after a release");
	cr_assert_eq(rec, 0x1000);
	page_records__free(pr);
	close(fd);
}
