#include <errno.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "memscope.h"
#include "page_records.h"

#define MIN_LINKS	65536

struct page_records {
	int fd;				/* -1: over an array */
	size_t n;
	const volatile uint64_t *array;	/* decoded records (tests) */
	const volatile uint32_t *win;	/* records [win_start, win_start + win_len) */
	uint64_t win_start;
	size_t win_len;
	const volatile uint32_t *link_slot;	/* mapped whole: 4 bytes a sample id */
	size_t nlinks;
};

static struct page_records *alloc(int fd, size_t n, const volatile uint64_t *array)
{
	struct page_records *pr = calloc(1, sizeof(*pr));

	if (!pr)
		return NULL;
	pr->fd = fd;
	pr->n = n;
	pr->array = array;
	return pr;
}

struct page_records *page_records__open(int pages_fd, size_t n, int links_fd, size_t nlinks)
{
	struct page_records *pr = alloc(pages_fd, n, NULL);
	void *m;

	if (!pr)
		return NULL;
	m = mmap(NULL, nlinks * sizeof(uint32_t), PROT_READ, MAP_SHARED, links_fd, 0);
	if (m == MAP_FAILED) {
		int err = errno;

		free(pr);
		errno = err;
		return NULL;
	}
	pr->link_slot = m;
	pr->nlinks = nlinks;
	return pr;
}

struct page_records *page_records__from_array(const volatile uint64_t *recs, size_t n)
{
	return alloc(-1, n, recs);
}

size_t page_records__count(const struct page_records *pr)
{
	return pr ? pr->n : 0;
}

void page_records__release(struct page_records *pr)
{
	if (!pr || !pr->win)
		return;
	munmap((void *)pr->win, pr->win_len * sizeof(uint32_t));
	pr->win = NULL;
	pr->win_len = 0;
}

static int map_window(struct page_records *pr, uint64_t pfn)
{
	uint64_t start = pfn / PAGE_RECORDS_WINDOW * PAGE_RECORDS_WINDOW;
	size_t len = pr->n - start < PAGE_RECORDS_WINDOW ? pr->n - start : PAGE_RECORDS_WINDOW;
	void *m;

	page_records__release(pr);
	/* Populated at once: a fault a page would cost more than the scan. */
	m = mmap(NULL, len * sizeof(uint32_t), PROT_READ, MAP_SHARED | MAP_POPULATE, pr->fd,
		 start * sizeof(uint32_t));
	if (m == MAP_FAILED)
		return -errno;
	pr->win = m;
	pr->win_start = start;
	pr->win_len = len;
	return 0;
}

/* The window holding pfn mapped, the current one when it does. */
static int window_for(struct page_records *pr, uint64_t pfn)
{
	if (pr->win && pfn >= pr->win_start && pfn - pr->win_start < pr->win_len)
		return 0;
	return map_window(pr, pfn);
}

uint64_t page_records__decode(uint32_t r, const volatile uint32_t *link_slot, size_t nlinks)
{
	uint64_t flags = (r & MS_PG_FREED ? MS_REC_FREED : 0) | (r & MS_PG_SPLIT ? MS_REC_SPLIT : 0);
	uint32_t id;

	if (!r)
		return 0;
	if (ms_pg_tail(r))
		return ms_rec_make(ms_pg_tail_slot(r), MS_REC_TAIL, ms_pg_head_order(r)) | flags;
	if (!ms_pg_linked(r))
		return ms_rec_make(ms_pg_low(r), ms_pg_order(r), 0) | flags;
	id = ms_pg_low(r);
	return ms_rec_make(link_slot && id < nlinks ? link_slot[id] : 0, ms_pg_order(r), id) | flags;
}

int page_records__get(struct page_records *pr, uint64_t pfn, uint64_t *rec)
{
	int err;

	*rec = 0;
	if (!pr || pfn >= pr->n)
		return -ERANGE;
	if (pr->array) {
		*rec = pr->array[pfn];
		return 0;
	}
	if ((err = window_for(pr, pfn)))
		return err;
	*rec = page_records__decode(pr->win[pfn - pr->win_start], pr->link_slot, pr->nlinks);
	return 0;
}

int page_records__next_sampled(struct page_records *pr, uint64_t *pfn, uint64_t *rec)
{
	uint64_t p = *pfn;
	int err;

	*rec = 0;
	if (!pr)
		return 0;	/* no records: nothing sampled */
	for (; pr->array && p < pr->n; p++) {
		if (ms_rec_sample(pr->array[p])) {
			*pfn = p;
			*rec = pr->array[p];
			return 1;
		}
	}
	while (!pr->array && p < pr->n) {
		if ((err = window_for(pr, p)))
			return err;
		/* The one test a record needs here: most carry no sample. */
		for (size_t i = p - pr->win_start; i < pr->win_len; i++) {
			uint32_t r = pr->win[i];

			if ((r & MS_PG_LINK) && !ms_pg_tail(r)) {
				*pfn = pr->win_start + i;
				*rec = page_records__decode(r, pr->link_slot, pr->nlinks);
				return 1;
			}
		}
		p = pr->win_start + pr->win_len;
	}
	return 0;
}

void page_records__free(struct page_records *pr)
{
	if (!pr)
		return;
	page_records__release(pr);
	if (pr->link_slot)
		munmap((void *)pr->link_slot, pr->nlinks * sizeof(uint32_t));
	free(pr);
}

uint32_t page_records__links_for(uint64_t max_pfn, uint32_t sample_every)
{
	uint64_t want = 2 * max_pfn / (sample_every ? sample_every : 1);

	if (want < MIN_LINKS)
		want = MIN_LINKS;
	if (want > max_pfn + 1)
		want = max_pfn + 1;	/* id 0 is none: one id a page at most */
	if (want > MS_PG_MAX_LINKS)
		want = MS_PG_MAX_LINKS;
	return want < 2 ? 2 : (uint32_t)want;
}

uint64_t page_records__kernel_bytes(uint64_t max_pfn, uint32_t nlinks)
{
	return max_pfn * sizeof(uint32_t) + (uint64_t)nlinks * 2 * sizeof(uint32_t);
}
