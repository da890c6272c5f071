#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "rangeset.h"

struct rangeset {
	struct range *r;
	size_t n, cap, max;
	uint64_t bytes;
};

struct rangeset *rangeset__new(size_t max_ranges)
{
	struct rangeset *s;

	if (!max_ranges || max_ranges > RANGESET_MAX) {
		errno = EINVAL;
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->max = max_ranges;
	return s;
}

void rangeset__free(struct rangeset *s)
{
	if (!s)
		return;
	free(s->r);
	free(s);
}

void rangeset__clear(struct rangeset *s)
{
	s->n = 0;
	s->bytes = 0;
}

/* Index of the first range whose end is >= addr (touching counts). */
static size_t first_reaching(const struct rangeset *s, uint64_t addr)
{
	size_t lo = 0, hi = s->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (s->r[mid].end < addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int reserve(struct rangeset *s, size_t n)
{
	size_t cap;
	void *p;

	if (n > s->max)
		return -E2BIG;
	if (n <= s->cap)
		return 0;
	cap = s->cap ? s->cap * 2 : 16;
	if (cap > s->max)
		cap = s->max;
	p = realloc(s->r, cap * sizeof(*s->r));
	if (!p)
		return -ENOMEM;
	s->r = p;
	s->cap = cap;
	return 0;
}

/* Replaces r[i, j) by the k ranges in with (k <= 2). */
static void splice(struct rangeset *s, size_t i, size_t j, const struct range *with, size_t k)
{
	for (size_t x = i; x < j; x++)
		s->bytes -= s->r[x].end - s->r[x].start;
	memmove(&s->r[i + k], &s->r[j], (s->n - j) * sizeof(*s->r));
	for (size_t x = 0; x < k; x++) {
		s->r[i + x] = with[x];
		s->bytes += with[x].end - with[x].start;
	}
	s->n = s->n - (j - i) + k;
}

int rangeset__add(struct rangeset *s, uint64_t start, uint64_t end)
{
	struct range merged = { start, end };
	size_t i, j;
	int err;

	if (start >= end)
		return -EINVAL;
	i = first_reaching(s, start);
	for (j = i; j < s->n && s->r[j].start <= end; j++) {
		if (s->r[j].start < merged.start)
			merged.start = s->r[j].start;
		if (s->r[j].end > merged.end)
			merged.end = s->r[j].end;
	}
	if (j == i && (err = reserve(s, s->n + 1)))
		return err;
	splice(s, i, j, &merged, 1);
	return 0;
}

int rangeset__remove(struct rangeset *s, uint64_t start, uint64_t end)
{
	struct range keep[2];
	size_t i, j, k = 0;
	int err;

	if (start >= end)
		return -EINVAL;
	/* Ranges that only touch start are left alone: hence end > start. */
	i = first_reaching(s, start);
	if (i < s->n && s->r[i].end == start)
		i++;
	for (j = i; j < s->n && s->r[j].start < end; j++)
		;
	if (i == j)
		return 0;
	if (s->r[i].start < start)
		keep[k++] = (struct range){ s->r[i].start, start };
	if (s->r[j - 1].end > end)
		keep[k++] = (struct range){ end, s->r[j - 1].end };
	if (k > j - i && (err = reserve(s, s->n + k - (j - i))))
		return err;
	splice(s, i, j, keep, k);
	return 0;
}

bool rangeset__contains(const struct rangeset *s, uint64_t addr)
{
	size_t i = first_reaching(s, addr + 1);

	return addr != UINT64_MAX && i < s->n && s->r[i].start <= addr;
}

uint64_t rangeset__bytes(const struct rangeset *s) { return s->bytes; }
size_t rangeset__count(const struct rangeset *s) { return s->n; }

const struct range *rangeset__get(const struct rangeset *s, size_t i)
{
	return i < s->n ? &s->r[i] : NULL;
}
