#include <criterion/criterion.h>
#include <string.h>

#include "memclass.h"
#include "recorder.h"

#define PAGE 4096ULL

Test(recorder, weight_is_inverse_probability)
{
	/* one page in 64: a single page stands for 64 pages */
	cr_assert_eq(recorder__weight(64, PAGE, 0), 64 * PAGE);
	cr_assert_eq(recorder__weight(64, PAGE, 3), 64 * PAGE);
	/* allocations at least as big as the period are always sampled */
	cr_assert_eq(recorder__weight(64, PAGE, 6), 64 * PAGE);
	cr_assert_eq(recorder__weight(64, PAGE, 9), 512 * PAGE);
	cr_assert_eq(recorder__weight(1, PAGE, 0), PAGE);
	cr_assert_eq(recorder__weight(0, PAGE, 2), 4 * PAGE);
}

/* Samples without a user stack never touch the symbolizer. */
/* The recorder reads page records through page_records: over an array here. */
static void prune(struct recorder *r, const uint64_t *pages, size_t n)
{
	struct page_records *pr = page_records__from_array(pages, n);

	recorder__prune(r, pr, NULL, NULL);
	page_records__free(pr);
}

/* A move counter that advances at every read: pages move during each scan. */
static uint64_t always_moving(void *ctx)
{
	return ++*(uint64_t *)ctx;
}

static void prune_while_moving(struct recorder *r, const uint64_t *pages, size_t n)
{
	struct page_records *pr = page_records__from_array(pages, n);
	static uint64_t moved;

	recorder__prune(r, pr, always_moving, &moved);
	page_records__free(pr);
}

static void settle_classified(struct recorder *r, const uint64_t *pages, size_t n,
			      recorder_class_fn fn, void *ctx)
{
	struct page_records *pr = page_records__from_array(pages, n);

	recorder__settle_classified(r, pr, fn, ctx);
	page_records__free(pr);
}

static void settle(struct recorder *r, const uint64_t *pages, size_t n)
{
	settle_classified(r, pages, n, NULL, NULL);
}

static struct ms_sample sample(uint64_t id, uint32_t slot, uint64_t cgid, int32_t kstack)
{
	struct ms_sample s;

	memset(&s, 0, sizeof(s));
	s.id = id;
	s.slot = slot;
	s.cgid = cgid;
	s.kstack_id = kstack;
	s.tgid = 42;
	strcpy(s.comm, "kworker");
	return s;
}

Test(recorder, settles_outstanding_from_page_records)
{
	struct recorder *r = recorder__new(1, PAGE, true, NULL);
	uint64_t pages[16] = {};
	struct ms_sample s;

	cr_assert_not_null(r);
	for (uint64_t id = 1; id <= 4; id++) {
		s = sample(id, 2, 100, id <= 2 ? 7 : 8);
		recorder__on_sample(r, &s);
	}
	cr_assert_eq(recorder__nbuckets(r), 2, "same stack and process share a bucket");
	/* samples 1 (bucket of kstack 7) and 3, 4 (kstack 8) still hold pages */
	pages[3] = ms_rec_make(2, 0, 1);
	pages[9] = ms_rec_make(2, 0, 3);
	pages[10] = ms_rec_make(2, 0, 4);
	pages[11] = ms_rec_make(2, 0, 0);	/* unsampled page: no stack */
	settle(r, pages, 16);
	for (size_t i = 0; i < 2; i++) {
		const struct rec_bucket *b = recorder__bucket(r, i);

		cr_assert_eq(b->alloc_bytes, 2 * PAGE);
		cr_assert_eq(b->outstanding_bytes, (b->kstack_id == 7 ? 1 : 2) * PAGE);
	}
	recorder__free(r);
}

Test(recorder, prune_forgets_freed_samples_only)
{
	struct recorder *r = recorder__new(1, PAGE, true, NULL);
	uint64_t pages[4] = {};
	struct ms_sample s;

	for (uint64_t id = 1; id <= 3; id++) {
		s = sample(id, 2, 100, 1);
		recorder__on_sample(r, &s);
	}
	pages[1] = ms_rec_make(2, 0, 2);
	prune(r, pages, 4);
	/* sample 2 survives the prune; 1 and 3 are gone even if a stale
	 * record pointed at them later */
	pages[0] = ms_rec_make(2, 0, 1);
	settle(r, pages, 4);
	cr_assert_eq(recorder__bucket(r, 0)->outstanding_bytes, PAGE);
	recorder__free(r);
}

/* Migration moved the sampled page from a frame the scan had not reached
 * yet to one it had passed: one scan misses it, the sample must stay. */
Test(recorder, prune_keeps_a_sample_whose_page_moved_during_a_scan)
{
	struct recorder *r = recorder__new(1, PAGE, true, NULL);
	uint64_t pages[8] = {};
	struct ms_sample s = sample(1, 2, 100, 1);

	recorder__on_sample(r, &s);
	prune_while_moving(r, pages, 8);	/* the scan saw neither frame hold it */
	pages[6] = ms_rec_make(2, 0, 1);	/* where the page is now */
	prune_while_moving(r, pages, 8);
	settle(r, pages, 8);
	cr_assert_eq(recorder__bucket(r, 0)->outstanding_bytes, PAGE);
	/* Gone for good: missed by two scans in a row. */
	pages[6] = 0;
	prune_while_moving(r, pages, 8);
	prune_while_moving(r, pages, 8);
	settle(r, pages, 8);
	cr_assert_eq(recorder__bucket(r, 0)->outstanding_bytes, 0);
	recorder__free(r);
}

/* khugepaged replaced small pages by a huge page that carries one of their
 * samples: it holds 512 pages, more than the sample's share of 4. A split
 * head and a tail stand for one page. */
Test(recorder, a_huge_page_counts_its_own_bytes)
{
	struct recorder *r = recorder__new(4, PAGE, true, NULL);
	uint64_t pages[4] = {};
	struct ms_sample s = sample(1, 2, 100, 1);

	recorder__on_sample(r, &s);
	pages[0] = ms_rec_make(2, 9, 1);
	settle(r, pages, 4);
	cr_assert_eq(recorder__bucket(r, 0)->outstanding_bytes, 512 * PAGE);
	pages[0] |= MS_REC_SPLIT;
	settle(r, pages, 4);
	cr_assert_eq(recorder__bucket(r, 0)->outstanding_bytes, 4 * PAGE, "the sample's share");
	recorder__free(r);
}

Test(recorder, allocated_mode_ignores_page_records)
{
	struct recorder *r = recorder__new(64, PAGE, false, NULL);
	uint64_t pages[2] = { ms_rec_make(2, 0, 1), 0 };
	struct ms_sample s = sample(1, 2, 100, 1);

	recorder__on_sample(r, &s);
	settle(r, pages, 2);
	cr_assert_eq(recorder__bucket(r, 0)->alloc_bytes, 64 * PAGE);
	cr_assert_eq(recorder__bucket(r, 0)->outstanding_bytes, 0);
	recorder__free(r);
}

Test(recorder, page_record_round_trips)
{
	uint64_t rec = ms_rec_make(0xabcdef, 9, 0xfffffffe);

	cr_assert_eq(ms_rec_slot(rec), 0xabcdef);
	cr_assert_eq(ms_rec_order(rec), 9);
	cr_assert_eq(ms_rec_sample(rec), 0xfffffffe);
}

/* Classes by pfn for the classified settle: even pfns are V8 heap, pfn 9 is
 * page cache, the rest cannot be classified. */
static uint8_t class_of_pfn(void *ctx, uint64_t pfn)
{
	(*(int *)ctx)++;
	if (pfn == 9)
		return MEM_CLASS_FILE;
	return pfn % 2 ? MEM_CLASS_NONE : MEM_CLASS_V8_HEAP;
}

static const struct rec_bucket *find_bucket(struct recorder *r, int32_t kstack, uint8_t cls)
{
	for (size_t i = 0; i < recorder__nbuckets(r); i++) {
		const struct rec_bucket *b = recorder__bucket(r, i);

		if (!b->dead && b->kstack_id == kstack && b->cls == cls)
			return b;
	}
	return NULL;
}

Test(recorder, settle_splits_buckets_by_page_class)
{
	struct recorder *r = recorder__new(1, PAGE, true, NULL);
	uint64_t pages[16] = {};
	const struct rec_bucket *b;
	struct ms_sample s;
	int calls = 0;

	for (uint64_t id = 1; id <= 5; id++) {
		s = sample(id, 2, 100, id <= 3 ? 7 : 8);
		recorder__on_sample(r, &s);
	}
	pages[2] = ms_rec_make(2, 0, 1);	/* kstack 7, v8-heap */
	pages[4] = ms_rec_make(2, 0, 2);	/* kstack 7, v8-heap */
	pages[9] = ms_rec_make(2, 0, 3);	/* kstack 7, file */
	pages[11] = ms_rec_make(2, 0, 4);	/* kstack 8, not classified */
	pages[12] = ms_rec_make(2, 0, 5) | MS_REC_FREED;	/* freed: not held */
	settle_classified(r, pages, 16, class_of_pfn, &calls);
	cr_assert_eq(calls, 4, "one call per sampled page still held");

	b = find_bucket(r, 7, MEM_CLASS_V8_HEAP);
	cr_assert_not_null(b);
	cr_assert_eq(b->outstanding_bytes, 2 * PAGE);
	cr_assert_eq(b->alloc_bytes, 0, "allocations stay with the unclassified bucket");
	cr_assert_eq(b->slot, 2);
	cr_assert_eq(b->cgid, 100);
	cr_assert_str_eq(b->comm, "kworker");
	b = find_bucket(r, 7, MEM_CLASS_FILE);
	cr_assert_not_null(b);
	cr_assert_eq(b->outstanding_bytes, PAGE);
	b = find_bucket(r, 7, MEM_CLASS_NONE);
	cr_assert_eq(b->alloc_bytes, 3 * PAGE);
	cr_assert_eq(b->outstanding_bytes, 0);
	b = find_bucket(r, 8, MEM_CLASS_NONE);
	cr_assert_eq(b->outstanding_bytes, PAGE, "unclassified pages stay in their bucket");
	cr_assert_null(find_bucket(r, 8, MEM_CLASS_V8_HEAP));

	/* Settling again starts over: no double counting, no new buckets. */
	size_t nb = recorder__nbuckets(r);

	settle_classified(r, pages, 16, class_of_pfn, &calls);
	cr_assert_eq(recorder__nbuckets(r), nb);
	cr_assert_eq(find_bucket(r, 7, MEM_CLASS_V8_HEAP)->outstanding_bytes, 2 * PAGE);
	recorder__free(r);
}

/* Slot 2 is a process that exited with its pages freed, slot 3 still holds
 * the page of sample 3. */
static struct recorder *churned(bool outstanding, uint64_t *pages, size_t n)
{
	struct recorder *r = recorder__new(1, PAGE, outstanding, NULL);
	struct ms_sample s;

	cr_assert_not_null(r);
	for (uint64_t id = 1; id <= 3; id++) {
		s = sample(id, id <= 2 ? 2 : 3, 100, id <= 2 ? 7 : 8);
		recorder__on_sample(r, &s);
	}
	memset(pages, 0, n * sizeof(*pages));
	pages[5] = ms_rec_make(3, 0, 3);
	return r;
}

Test(recorder, prune_collects_buckets_of_freed_processes)
{
	uint64_t pages[8];
	struct recorder *r = churned(true, pages, 8);
	const struct rec_bucket *gone = find_bucket(r, 7, MEM_CLASS_NONE);
	size_t gone_idx = gone - recorder__bucket(r, 0);
	struct ms_sample s;

	cr_assert_eq(recorder__slot_live(r, 2), 2);
	cr_assert_eq(recorder__slot_live(r, 3), 1);
	prune(r, pages, 8);
	cr_assert(recorder__bucket(r, gone_idx)->dead);
	cr_assert_eq(recorder__bucket(r, gone_idx)->nframes, 0);
	cr_assert_eq(recorder__nlive_buckets(r), 1);
	cr_assert_eq(recorder__slot_live(r, 2), 0, "slot 2 may be handed back");
	cr_assert_eq(recorder__slot_live(r, 3), 1);
	cr_assert_eq(recorder__slot_collected(r, 2), 2 * PAGE);
	cr_assert_not_null(find_bucket(r, 8, MEM_CLASS_NONE), "a bucket still held stays");

	/* The next new stack takes the collected index; the old one's key is gone
	 * too, so the same stack coming back makes a fresh bucket. */
	s = sample(4, 4, 200, 9);
	recorder__on_sample(r, &s);
	cr_assert_eq(recorder__nbuckets(r), 2, "index reused, not appended");
	cr_assert_eq(recorder__bucket(r, gone_idx)->kstack_id, 9);
	cr_assert_not(recorder__bucket(r, gone_idx)->dead);
	cr_assert_eq(recorder__bucket(r, gone_idx)->alloc_bytes, PAGE);
	s = sample(5, 2, 100, 7);
	recorder__on_sample(r, &s);
	cr_assert_eq(recorder__nbuckets(r), 3);
	cr_assert_eq(find_bucket(r, 7, MEM_CLASS_NONE)->alloc_bytes, PAGE, "starts from zero");
	recorder__forget_slot(r, 2);
	cr_assert_eq(recorder__slot_collected(r, 2), 0);
	recorder__free(r);
}

/* What outstanding-mode output shows: (slot, kstack, class) -> bytes. */
static uint64_t shown(struct recorder *r)
{
	uint64_t sum = 0;

	for (size_t i = 0; i < recorder__nbuckets(r); i++) {
		const struct rec_bucket *b = recorder__bucket(r, i);

		if (!b->dead && b->outstanding_bytes)
			sum = sum * 31 + b->slot * 1000003 + b->kstack_id * 101 + b->cls +
			      b->outstanding_bytes;
	}
	return sum;
}

Test(recorder, collection_does_not_change_the_output)
{
	uint64_t pages[8], pages2[8];
	struct recorder *pruned = churned(true, pages, 8), *kept = churned(true, pages2, 8);
	int calls = 0;

	prune(pruned, pages, 8);
	settle(pruned, pages, 8);
	settle(kept, pages, 8);
	cr_assert_neq(shown(kept), 0);
	cr_assert_eq(shown(pruned), shown(kept));
	settle_classified(pruned, pages, 8, class_of_pfn, &calls);
	settle_classified(kept, pages, 8, class_of_pfn, &calls);
	cr_assert_eq(shown(pruned), shown(kept));
	/* Classified buckets hold no sample but keep their settled bytes. */
	prune(pruned, pages, 8);
	cr_assert_eq(shown(pruned), shown(kept));
	recorder__free(pruned);
	recorder__free(kept);
}

Test(recorder, allocated_mode_keeps_every_bucket)
{
	uint64_t pages[8];
	struct recorder *r = churned(false, pages, 8);

	prune(r, pages, 8);
	cr_assert_eq(recorder__nlive_buckets(r), 2);
	for (size_t i = 0; i < recorder__nbuckets(r); i++)
		cr_assert_not(recorder__bucket(r, i)->dead);
	cr_assert_eq(find_bucket(r, 7, MEM_CLASS_NONE)->alloc_bytes, 2 * PAGE);
	recorder__free(r);
}

Test(recorder, reused_sample_id_moves_its_hold)
{
	struct recorder *r = recorder__new(1, PAGE, true, NULL);
	struct ms_sample s = sample(1, 2, 100, 7);
	uint64_t pages[2] = { ms_rec_make(3, 0, 1), 0 };

	recorder__on_sample(r, &s);
	s = sample(1, 3, 100, 8);	/* the 32-bit id wrapped around */
	recorder__on_sample(r, &s);
	cr_assert_eq(recorder__slot_live(r, 2), 0);
	cr_assert_eq(recorder__slot_live(r, 3), 1);
	prune(r, pages, 2);
	cr_assert_null(find_bucket(r, 7, MEM_CLASS_NONE));
	cr_assert_eq(find_bucket(r, 8, MEM_CLASS_NONE)->live, 1);
	recorder__free(r);
}

Test(recorder, keep_freed_keeps_every_bucket)
{
	uint64_t pages[8];
	struct recorder *r = churned(true, pages, 8);

	recorder__keep_freed(r);
	prune(r, pages, 8);
	cr_assert_eq(recorder__nlive_buckets(r), 2);
	cr_assert_eq(recorder__slot_live(r, 2), 0, "its samples are pruned all the same");
	cr_assert_eq(find_bucket(r, 7, MEM_CLASS_NONE)->alloc_bytes, 2 * PAGE);
	recorder__free(r);
}
