/* Read access to the kernel's per-pfn page records (the BPF `pages` array,
 * 4 bytes per page of RAM, and `link_slot`, the owners of sampled pages)
 * without keeping the records mapped: a scan maps one window at a time, so
 * the array, tens of MiB on a big host, does not sit in memscope's RSS.
 * Records come out decoded (below). An array in memory stands in for tests.
 *
 *	struct page_records *pr = page_records__open(pages_fd, n, links_fd, nlinks);
 *	for (pfn = 0; pfn < page_records__count(pr); pfn++)
 *		if (page_records__get(pr, pfn, &rec)) ... nothing known: stop
 *	page_records__release(pr);
 */
#ifndef MEMSCOPE_PAGE_RECORDS_H
#define MEMSCOPE_PAGE_RECORDS_H

#include <stddef.h>
#include <stdint.h>

/* A decoded record: the owner's slot, the order (MS_REC_TAIL for a tail),
 * the sample id (a tail: its head's order) and the flags, whatever the
 * kernel side packed where (MS_PG_* in memscope.h). 0 = not tracked. */
#define MS_REC_SAMPLE_BITS	32
#define MS_REC_ORDER_SHIFT	32
#define MS_REC_ORDER_MASK	0xfULL
#define MS_REC_SLOT_SHIFT	36
#define MS_REC_SLOT_MASK	0x3ffffffULL
#define MS_REC_SPLIT		(1ULL << 62)
#define MS_REC_FREED		(1ULL << 63)
#define MS_REC_TAIL		MS_REC_ORDER_MASK
#define ms_rec_make(slot, order, sample) \
	((((uint64_t)(slot) & MS_REC_SLOT_MASK) << MS_REC_SLOT_SHIFT) | \
	 (((uint64_t)(order) & MS_REC_ORDER_MASK) << MS_REC_ORDER_SHIFT) | (uint64_t)(uint32_t)(sample))
#define ms_rec_slot(r)	 ((uint32_t)(((r) >> MS_REC_SLOT_SHIFT) & MS_REC_SLOT_MASK))
#define ms_rec_split(r)	 (((r) & MS_REC_SPLIT) != 0)
#define ms_rec_live(r)	 ((r) && !((r) & MS_REC_FREED))
#define ms_rec_order(r)	 ((uint32_t)(((r) >> MS_REC_ORDER_SHIFT) & MS_REC_ORDER_MASK))
#define ms_rec_tail(r)	 (ms_rec_order(r) == MS_REC_TAIL)
#define ms_rec_head_order(r) ((uint32_t)(r) & MS_REC_ORDER_MASK)
#define ms_rec_sample(r) (ms_rec_tail(r) ? 0 : (uint32_t)(r))

/* Records a scan maps at once: 1 MiB, for 1 GiB of RAM. A scan of a 24 GiB
 * host maps 24 windows, and never holds more than one. */
#define PAGE_RECORDS_WINDOW	(256u << 10)

struct page_records;

/* Over the BPF_F_MMAPABLE arrays `pages` (n u32 records) and `link_slot`
 * (nlinks u32 slots); NULL with errno set. */
struct page_records *page_records__open(int pages_fd, size_t n, int links_fd, size_t nlinks);
/* Over decoded records already in memory (not copied: they must outlive it). */
struct page_records *page_records__from_array(const volatile uint64_t *recs, size_t n);
size_t page_records__count(const struct page_records *pr);
/* The decoded record of pfn into *rec: 0, -ERANGE past the end, or -errno
 * when its window cannot be mapped (then nothing is known about the page).
 * Fastest in pfn order. */
int page_records__get(struct page_records *pr, uint64_t pfn, uint64_t *rec);
/* The first record at or after *pfn that carries a sample (held, or kept
 * as OOM evidence): its pfn into *pfn, the record decoded into *rec, and 1;
 * 0 past the last; -errno when a window cannot be mapped. A scan for
 * samples reads each raw record once and decodes only those. */
int page_records__next_sampled(struct page_records *pr, uint64_t *pfn, uint64_t *rec);
/* Unmaps the current window: call after a scan. */
void page_records__release(struct page_records *pr);
void page_records__free(struct page_records *pr);

/* One kernel record decoded; the owner of a sampled page is looked up in
 * link_slot (nlinks entries; an id past it decodes with slot 0). */
uint64_t page_records__decode(uint32_t r, const volatile uint32_t *link_slot, size_t nlinks);

/* How many sample ids the kernel side gets for a host of max_pfn pages
 * sampled one page in sample_every: twice what the pages can hold at once,
 * at least 65536, at most one a page and MS_PG_MAX_LINKS. */
uint32_t page_records__links_for(uint64_t max_pfn, uint32_t sample_every);
/* Kernel memory the records take: the page array and the sample ids
 * (link_slot and its free queue). */
uint64_t page_records__kernel_bytes(uint64_t max_pfn, uint32_t nlinks);

#endif
