#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "budget.h"
#include "hmap.h"
#include "memclass.h"
#include "procmaps.h"
#include "v8.h"
#include "v8_scan.h"

#define IOV_BATCH	512	/* headers per process_vm_readv */

bool v8__chunk_header_ok(uint64_t addr, uint64_t mapping_end, const struct v8_chunk_header *h)
{
	if (addr % V8_CHUNK_ALIGN || addr >= mapping_end)
		return false;
	if (!h->size || h->size % 4096 || h->size > mapping_end - addr)
		return false;
	/* A user-space pointer, 8-byte aligned. */
	if (!h->heap || h->heap % 8 || h->heap >= (1ULL << 57))
		return false;
	if (h->area_start <= addr || h->area_start - addr > V8_CHUNK_HEADER_MAX)
		return false;
	return h->area_end >= h->area_start && h->area_end - addr <= h->size;
}

size_t v8__select_chunks(struct v8_chunk *c, size_t n)
{
	struct hmap *heaps = hmap__new(sizeof(uint32_t));
	uint64_t covered_end = 0;
	size_t valid = 0;

	for (size_t i = 0; i < n; i++) {
		uint32_t *count;

		c[i].valid = v8__chunk_header_ok(c[i].addr, c[i].mapping_end, &c[i].h);
		if (!c[i].valid || !heaps)
			continue;
		count = hmap__upsert(heaps, &c[i].h.heap, sizeof(c[i].h.heap), NULL);
		if (count)
			(*count)++;
	}
	for (size_t i = 0; i < n; i++) {
		uint32_t *count;

		if (!c[i].valid)
			continue;
		count = heaps ? hmap__find(heaps, &c[i].h.heap, sizeof(c[i].h.heap)) : NULL;
		/* Inside a large object's chunk the payload can look like anything. */
		if (!count || *count < V8_MIN_CHUNKS_PER_HEAP || c[i].addr < covered_end) {
			c[i].valid = false;
			continue;
		}
		covered_end = c[i].addr + c[i].h.size;
		valid++;
	}
	hmap__free(heaps);
	return valid;
}

struct candidates {
	struct v8_chunk *c;
	size_t n, cap;
};

static bool page_present(int pagemap_fd, uint64_t addr, uint64_t page_size)
{
	uint64_t e;

	return pread(pagemap_fd, &e, sizeof(e), (off_t)(addr / page_size * sizeof(e))) ==
		       sizeof(e) && (e & MEMCLASS_PAGEMAP_PRESENT);
}

static int add_candidates(struct candidates *cs, const struct procmap *m, int pagemap_fd,
			  uint64_t page_size, uint64_t *probes)
{
	uint64_t a = (m->start + V8_CHUNK_ALIGN - 1) / V8_CHUNK_ALIGN * V8_CHUNK_ALIGN;

	for (; a < m->end && a >= m->start; a += V8_CHUNK_ALIGN) {
		if (!*probes) {
			budget_counts.v8_probes_skipped += (m->end - a + V8_CHUNK_ALIGN - 1) /
							   V8_CHUNK_ALIGN;
			return 0;
		}
		(*probes)--;
		if (!page_present(pagemap_fd, a, page_size))
			continue;
		if (cs->n == V8_SCAN_MAX)
			return -E2BIG;
		if (cs->n == cs->cap) {
			size_t cap = cs->cap ? cs->cap * 2 : 256;
			void *p = realloc(cs->c, cap * sizeof(*cs->c));

			if (!p)
				return -ENOMEM;
			cs->c = p;
			cs->cap = cap;
		}
		cs->c[cs->n++] = (struct v8_chunk){ .addr = a, .mapping_end = m->end };
	}
	return 0;
}

/* Reads the headers of the candidates; one that cannot be read keeps a
 * zeroed header, which no check accepts. */
static void read_headers(int pid, struct candidates *cs)
{
	struct iovec local[IOV_BATCH], remote[IOV_BATCH];

	for (size_t i = 0; i < cs->n;) {
		size_t k = cs->n - i < IOV_BATCH ? cs->n - i : IOV_BATCH;
		ssize_t got;

		for (size_t j = 0; j < k; j++) {
			local[j] = (struct iovec){ &cs->c[i + j].h, sizeof(cs->c[i + j].h) };
			remote[j] = (struct iovec){ (void *)(uintptr_t)cs->c[i + j].addr,
						    sizeof(cs->c[i + j].h) };
		}
		got = process_vm_readv(pid, local, k, remote, k, 0);
		if (got < 0 && errno == ESRCH) {
			for (; i < cs->n; i++)
				memset(&cs->c[i].h, 0, sizeof(cs->c[i].h));
			return;
		}
		if (got < 0)
			got = 0;
		/* The call stops at the first element it cannot read (a header
		 * never crosses a page): zero that one and go on after it. */
		i += (size_t)got / sizeof(struct v8_chunk_header);
		if ((size_t)got < k * sizeof(struct v8_chunk_header)) {
			memset(&cs->c[i].h, 0, sizeof(cs->c[i].h));
			i++;
		}
	}
}

int v8_scan__chunks(int pid, int pagemap_fd, uint64_t page_size, const struct procmaps *maps,
		    uint64_t *probes, struct v8_chunk **chunks, size_t *n, size_t *found)
{
	struct candidates cs = {};
	int err = 0;

	for (size_t i = 0; i < maps->n && !err; i++) {
		const struct procmap *m = &maps->maps[i];

		/* Chunks are anonymous and readable; the rest cannot hold one. */
		if (m->path || m->inode || m->perms[0] != 'r')
			continue;
		err = add_candidates(&cs, m, pagemap_fd, page_size, probes);
	}
	if (err == -E2BIG)
		err = 0;	/* scan what fits */
	if (err) {
		free(cs.c);
		return err;
	}
	read_headers(pid, &cs);
	*found = v8__select_chunks(cs.c, cs.n);
	*chunks = cs.c;
	*n = cs.n;
	return 0;
}
