#include <criterion/criterion.h>
#include <bpf/bpf.h>
#include <errno.h>
#include <linux/bpf.h>
#include <sys/mman.h>
#include <unistd.h>

#include "memscope.h"
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

/* Every kind of kernel record decodes to the owner, order, sample and flags
 * the model reads, with the largest values each field can hold. */
Test(page_records, decode_every_kind)
{
	uint32_t links[8] = { 0, 0, 0, 0, 0, 0, 0, MS_PG_MAX_SLOTS - 1 };
	const uint32_t big_slot = MS_PG_MAX_SLOTS - 1;

	cr_assert_eq(page_records__decode(0, links, 8), 0, "untracked");
	cr_assert_eq(page_records__decode(ms_pg_head(big_slot, 10), links, 8),
		     ms_rec_make(big_slot, 10, 0), "an unsampled head");
	cr_assert_eq(page_records__decode(ms_pg_linked_head(7, 9), links, 8),
		     ms_rec_make(big_slot, 9, 7), "a sampled head: its owner from link_slot");
	cr_assert_eq(page_records__decode(ms_pg_tail_of(big_slot, 9), links, 8),
		     ms_rec_make(big_slot, MS_REC_TAIL, 9), "a tail: owner and head order");
	cr_assert_eq(page_records__decode(ms_pg_linked_head(7, 0) | MS_PG_FREED | MS_PG_SPLIT, links, 8),
		     ms_rec_make(big_slot, 0, 7) | MS_REC_FREED | MS_REC_SPLIT, "flags kept");
	cr_assert_eq(page_records__decode(ms_pg_linked_head(MS_PG_MAX_LINKS - 1, 0), links, 8),
		     ms_rec_make(0, 0, MS_PG_MAX_LINKS - 1), "an id past link_slot: no owner, no read");
	cr_assert_eq(page_records__decode(ms_pg_linked_head(3, 2), NULL, 0), ms_rec_make(0, 2, 3));
	cr_assert(ms_rec_live(page_records__decode(ms_pg_head(2, 0), links, 8)));
	cr_assert_not(ms_rec_live(page_records__decode(ms_pg_head(2, 0) | MS_PG_FREED, links, 8)));
}

/* The packed fields do not overlap: every flag and field reads back alone. */
Test(page_records, packed_fields_are_disjoint)
{
	uint32_t r = ms_pg_linked_head(MS_PG_MAX_LINKS - 1, MS_PG_TAIL - 1) | MS_PG_SPLIT;

	cr_assert_eq(ms_pg_low(r), MS_PG_MAX_LINKS - 1);
	cr_assert_eq(ms_pg_order(r), MS_PG_TAIL - 1);
	cr_assert(ms_pg_linked(r) && ms_pg_split(r) && ms_pg_live(r) && !ms_pg_tail(r));
	cr_assert_eq(ms_pg_sample(r), MS_PG_MAX_LINKS - 1);
	r = ms_pg_tail_of(MS_PG_MAX_SLOTS - 1, 10);
	cr_assert(ms_pg_tail(r) && !ms_pg_linked(r) && !ms_pg_split(r));
	cr_assert_eq(ms_pg_tail_slot(r), MS_PG_MAX_SLOTS - 1);
	cr_assert_eq(ms_pg_head_order(r), 10);
	cr_assert_eq(ms_pg_sample(r), 0, "a tail carries no sample");
	cr_assert_eq(ms_pg_sample(ms_pg_head(5, 3)), 0);
}

/* Sample ids: twice what the pages can hold at the rate, within bounds. */
Test(page_records, links_sized_by_rate)
{
	const uint64_t pfn_24g = 6291456, pfn_1t = 268435456;

	cr_assert_eq(page_records__links_for(pfn_24g, 256), 65536, "the floor");
	cr_assert_eq(page_records__links_for(pfn_1t, 256), 2097152);
	cr_assert_eq(page_records__links_for(pfn_24g, 1), pfn_24g + 1, "--sample 1: one a page");
	cr_assert_eq(page_records__links_for(pfn_1t, 1), MS_PG_MAX_LINKS, "the field's cap");
	cr_assert_eq(page_records__links_for(1000, 256), 1001, "a tiny host");
	cr_assert_eq(page_records__links_for(pfn_24g, 0), pfn_24g + 1, "0 taken as 1");
	/* 4 bytes a page, and 8 a sample id: 4.02 bytes a page at the default. */
	cr_assert_eq(page_records__kernel_bytes(pfn_1t, 2097152), pfn_1t * 4 + 2097152ULL * 8);
	cr_assert_leq(page_records__kernel_bytes(pfn_1t, page_records__links_for(pfn_1t, 256)),
		      pfn_1t * 4 + pfn_1t / 16);
}

/* Real mmapable arrays of record groups, whose size is not a multiple of
 * the window: every record reads back through the windows, in order and out
 * of order, and a sampled page's owner comes from link_slot. The kernel
 * stores the groups unpadded: record i is the i-th u32 of the mapping. */
static uint32_t *map_groups(size_t n, const char *name, int *fd)
{
	LIBBPF_OPTS(bpf_map_create_opts, opts, .map_flags = BPF_F_MMAPABLE);
	size_t bytes = ms_pg_values(n) * sizeof(struct ms_pg_group);
	void *m;

	*fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, name, 4, sizeof(struct ms_pg_group),
			     ms_pg_values(n), &opts);
	cr_assert_geq(*fd, 0, "cannot create an mmapable array");
	m = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, *fd, 0);
	cr_assert_neq(m, MAP_FAILED);
	return m;
}

Test(page_records, bpf_array_through_windows)
{
	const size_t n = PAGE_RECORDS_WINDOW * 2 + 1000, nlinks = 20;
	struct page_records *pr;
	uint32_t *recs, *links;
	uint64_t rec;
	int fd, lfd;

	if (geteuid() != 0)
		cr_skip_test("needs root for a BPF map");
	recs = map_groups(n, "ms_test_recs", &fd);
	links = map_groups(nlinks, "ms_test_links", &lfd);
	for (uint32_t k = 0; k < n; k += 997)
		recs[k] = ms_pg_head(0x1000 + k, 0);
	recs[5] = ms_pg_linked_head(17, 9);
	links[17] = 42;
	{
		uint32_t key = 17 / MS_PG_PER_VALUE;
		struct ms_pg_group g;

		cr_assert_eq(bpf_map_lookup_elem(lfd, &key, &g), 0);
		cr_assert_eq(g.r[17 % MS_PG_PER_VALUE], 42, "the kernel sees what the mapping wrote");
	}
	pr = page_records__open(fd, n, lfd, nlinks);
	cr_assert_not_null(pr);
	for (uint64_t pfn = 0; pfn < n; pfn++) {
		cr_assert_eq(page_records__get(pr, pfn, &rec), 0);
		if (pfn == 5)
			cr_assert_eq(rec, ms_rec_make(42, 9, 17));
		else
			cr_assert_eq(rec, pfn % 997 ? 0 : ms_rec_make(0x1000 + pfn, 0, 0),
				     "pfn %lu", (unsigned long)pfn);
	}
	cr_assert_eq(page_records__get(pr, 997 * 3, &rec), 0, "back to the first window");
	cr_assert_eq(rec, ms_rec_make(0x1000 + 997 * 3, 0, 0));
	cr_assert_eq(page_records__get(pr, n, &rec), -ERANGE);
	page_records__release(pr);
	cr_assert_eq(page_records__get(pr, 0, &rec), 0, "mapped again after a release");
	cr_assert_eq(rec, ms_rec_make(0x1000, 0, 0));
	page_records__free(pr);
	munmap(recs, ms_pg_values(n) * sizeof(struct ms_pg_group));
	munmap(links, ms_pg_values(nlinks) * sizeof(struct ms_pg_group));
	close(fd);
	close(lfd);
}

/* A scan for samples meets every sampled record once, in pfn order, held or
 * kept as evidence, and nothing else: not tails, not unsampled heads. */
Test(page_records, next_sampled_finds_every_sample)
{
	const size_t n = PAGE_RECORDS_WINDOW * 2 + 100, nlinks = 40;
	uint64_t found[8], pfn = 0, rec;
	struct page_records *pr;
	uint32_t *recs, *links;
	size_t k = 0;
	int fd, lfd, got;

	if (geteuid() != 0)
		cr_skip_test("needs root for a BPF map");
	recs = map_groups(n, "ms_test_scan", &fd);
	links = map_groups(nlinks, "ms_test_scanl", &lfd);
	recs[0] = ms_pg_linked_head(1, 0);
	recs[1] = ms_pg_head(9, 0);
	recs[2] = ms_pg_tail_of(9, 1);
	recs[PAGE_RECORDS_WINDOW - 1] = ms_pg_linked_head(2, 0) | MS_PG_FREED;	/* last of a window */
	recs[PAGE_RECORDS_WINDOW] = ms_pg_linked_head(3, 9);			/* first of the next */
	recs[n - 1] = ms_pg_linked_head(39, 0);
	links[1] = 5;
	links[3] = 6;
	links[39] = 7;
	pr = page_records__open(fd, n, lfd, nlinks);
	cr_assert_not_null(pr);
	while ((got = page_records__next_sampled(pr, &pfn, &rec)) > 0 && k < 8) {
		found[k++] = pfn;
		if (pfn == PAGE_RECORDS_WINDOW)
			cr_assert_eq(rec, ms_rec_make(6, 9, 3));
		if (pfn == PAGE_RECORDS_WINDOW - 1)
			cr_assert_eq(rec, ms_rec_make(0, 0, 2) | MS_REC_FREED);
		pfn++;
	}
	cr_assert_eq(got, 0);
	cr_assert_eq(k, 4, "found %zu sampled records", k);
	cr_assert(found[0] == 0 && found[1] == PAGE_RECORDS_WINDOW - 1 &&
		  found[2] == PAGE_RECORDS_WINDOW && found[3] == n - 1);
	page_records__free(pr);
	munmap(recs, ms_pg_values(n) * sizeof(struct ms_pg_group));
	munmap(links, ms_pg_values(nlinks) * sizeof(struct ms_pg_group));
	close(fd);
	close(lfd);
}

Test(page_records, next_sampled_over_decoded_array)
{
	uint64_t recs[6] = { 0, ms_rec_make(2, 0, 0), ms_rec_make(2, 0, 4),
			     ms_rec_make(2, MS_REC_TAIL, 3), 0, ms_rec_make(3, 0, 9) | MS_REC_FREED };
	struct page_records *pr = page_records__from_array(recs, 6);
	uint64_t pfn = 0, rec;

	cr_assert_eq(page_records__next_sampled(pr, &pfn, &rec), 1);
	cr_assert_eq(pfn, 2);
	pfn++;
	cr_assert_eq(page_records__next_sampled(pr, &pfn, &rec), 1, "a tail's head order is no sample");
	cr_assert_eq(pfn, 5);
	cr_assert_eq(rec, recs[5]);
	pfn++;
	cr_assert_eq(page_records__next_sampled(pr, &pfn, &rec), 0);
	cr_assert_eq(page_records__next_sampled(NULL, &pfn, &rec), 0, "no records, no samples");
	page_records__free(pr);
}
