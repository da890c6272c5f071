/* Read access to the kernel's per-pfn page records (the BPF `pages` array,
 * 8 bytes per page of RAM) without keeping all of it mapped: a scan maps one
 * window at a time, so the array, tens of MiB on a big host, does not sit in
 * memscope's RSS. An array in memory stands in for tests.
 *
 *	struct page_records *pr = page_records__open(map_fd, max_pfn);
 *	for (pfn = 0; pfn < page_records__count(pr); pfn++)
 *		if (page_records__get(pr, pfn, &rec)) ... nothing known: stop
 *	page_records__release(pr);
 */
#ifndef MEMSCOPE_PAGE_RECORDS_H
#define MEMSCOPE_PAGE_RECORDS_H

#include <stddef.h>
#include <stdint.h>

struct page_records;

/* Over a BPF_F_MMAPABLE array map of n u64 records; NULL with errno set. */
struct page_records *page_records__open(int map_fd, size_t n);
/* Over records already in memory (not copied: they must outlive it). */
struct page_records *page_records__from_array(const volatile uint64_t *recs, size_t n);
size_t page_records__count(const struct page_records *pr);
/* The record of pfn into *rec: 0, -ERANGE past the end, or -errno when its
 * window cannot be mapped (then nothing is known about the page). Fastest
 * in pfn order. */
int page_records__get(struct page_records *pr, uint64_t pfn, uint64_t *rec);
/* Unmaps the current window: call after a scan. */
void page_records__release(struct page_records *pr);
void page_records__free(struct page_records *pr);

#endif
