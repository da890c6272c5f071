#include <errno.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "page_records.h"

/* 64 KiB of records, for 8192 pages of RAM: a scan of a 24 GiB host maps
 * some 800 windows, a few ms, and never holds more than one. */
#define WINDOW_RECS	8192

struct page_records {
	int fd;				/* -1: over an array */
	size_t n;
	const volatile uint64_t *array;
	const volatile uint64_t *win;	/* records [win_start, win_start + win_len) */
	uint64_t win_start;
	size_t win_len;
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

struct page_records *page_records__open(int map_fd, size_t n)
{
	return alloc(map_fd, n, NULL);
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
	munmap((void *)pr->win, pr->win_len * sizeof(uint64_t));
	pr->win = NULL;
	pr->win_len = 0;
}

static int map_window(struct page_records *pr, uint64_t pfn)
{
	uint64_t start = pfn / WINDOW_RECS * WINDOW_RECS;
	size_t len = pr->n - start < WINDOW_RECS ? pr->n - start : WINDOW_RECS;
	void *m;

	page_records__release(pr);
	m = mmap(NULL, len * sizeof(uint64_t), PROT_READ, MAP_SHARED, pr->fd,
		 start * sizeof(uint64_t));
	if (m == MAP_FAILED)
		return -errno;
	pr->win = m;
	pr->win_start = start;
	pr->win_len = len;
	return 0;
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
	if (!pr->win || pfn < pr->win_start || pfn - pr->win_start >= pr->win_len)
		if ((err = map_window(pr, pfn)))
			return err;
	*rec = pr->win[pfn - pr->win_start];
	return 0;
}

void page_records__free(struct page_records *pr)
{
	if (!pr)
		return;
	page_records__release(pr);
	free(pr);
}
