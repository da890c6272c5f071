#include <errno.h>
#include <fcntl.h>
#include <linux/kernel-page-flags.h>
#include <stdlib.h>
#include <unistd.h>

#include "memclass.h"

#define BIT(n)	(1ULL << (n))

struct memclass {
	uint64_t *v8;		/* bitmap over pfns */
	uint64_t max_pfn;
	int flags_fd;
};

const char *memclass__name(enum mem_class c)
{
	static const char *const names[MEM_NR_CLASSES] = {
		[MEM_CLASS_V8_HEAP] = "v8-heap",
		[MEM_CLASS_NATIVE] = "native",
		[MEM_CLASS_FILE] = "file",
		[MEM_CLASS_SHMEM] = "shmem",
		[MEM_CLASS_KERNEL] = "kernel",
	};

	return (unsigned)c < MEM_NR_CLASSES ? names[c] : NULL;
}

enum mem_class memclass__of_flags(uint64_t f)
{
	if (f & (BIT(KPF_NOPAGE) | BIT(KPF_BUDDY) | BIT(KPF_OFFLINE) | BIT(KPF_ZERO_PAGE) |
		 BIT(KPF_HWPOISON)))
		return MEM_CLASS_NONE;
	if (f & (BIT(KPF_SLAB) | BIT(KPF_PGTABLE)))
		return MEM_CLASS_KERNEL;
	if (f & BIT(KPF_ANON))
		return MEM_CLASS_NATIVE;
	if (f & BIT(KPF_SWAPBACKED))
		return MEM_CLASS_SHMEM;
	/* A page cache page waiting in a per-CPU batch is not on the LRU yet,
	 * but it is already up to date (read) or dirty (written). */
	if (f & (BIT(KPF_LRU) | BIT(KPF_MMAP) | BIT(KPF_UPTODATE) | BIT(KPF_DIRTY) |
		 BIT(KPF_WRITEBACK)))
		return MEM_CLASS_FILE;
	return MEM_CLASS_KERNEL;
}

bool memclass__pagemap_pfn(uint64_t e, uint64_t *pfn)
{
	if (!(e & MEMCLASS_PAGEMAP_PRESENT))
		return false;
	*pfn = e & MEMCLASS_PAGEMAP_PFN_MASK;
	return true;
}

int memclass__pagemap_scan(int fd, uint64_t start, uint64_t end, uint64_t page_size,
			   memclass_page_fn fn, void *ctx, uint64_t *present)
{
	uint64_t buf[MEMCLASS_PAGEMAP_BATCH];
	uint64_t first, last;

	if (!page_size || (page_size & (page_size - 1)) || start > end)
		return -EINVAL;
	first = start / page_size;
	last = end / page_size + (end % page_size != 0);
	/* The file offset is the page index * 8: keep it within off_t. */
	if (last > (uint64_t)INT64_MAX / sizeof(uint64_t))
		return -EINVAL;
	while (first < last) {
		uint64_t want = last - first;
		ssize_t n;

		if (want > MEMCLASS_PAGEMAP_BATCH)
			want = MEMCLASS_PAGEMAP_BATCH;
		n = pread(fd, buf, want * sizeof(uint64_t), (off_t)(first * sizeof(uint64_t)));
		if (n < 0)
			return errno == EINTR ? -EINTR : -errno;
		if (n < (ssize_t)sizeof(uint64_t))
			return 0;	/* past the end of the address space */
		for (size_t i = 0; i < (size_t)n / sizeof(uint64_t); i++) {
			uint64_t pfn;

			if (!memclass__pagemap_pfn(buf[i], &pfn))
				continue;
			(*present)++;
			if (fn)
				fn(ctx, (first + i) * page_size, pfn);
		}
		first += (uint64_t)n / sizeof(uint64_t);
	}
	return 0;
}

int memclass__read_flags(int fd, uint64_t pfn, uint64_t *flags)
{
	ssize_t n;

	if (pfn > (uint64_t)INT64_MAX / sizeof(uint64_t))
		return -ENOENT;
	n = pread(fd, flags, sizeof(*flags), (off_t)(pfn * sizeof(uint64_t)));
	if (n < 0)
		return -errno;
	return n == sizeof(*flags) ? 0 : -ENOENT;
}

struct memclass *memclass__new(uint64_t max_pfn, const char *kpageflags_path)
{
	struct memclass *m;

	if (!max_pfn || max_pfn > (1ULL << 40)) {
		errno = EINVAL;
		return NULL;
	}
	m = calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	m->max_pfn = max_pfn;
	m->v8 = calloc((max_pfn + 63) / 64, sizeof(uint64_t));
	if (!m->v8) {
		free(m);
		errno = ENOMEM;
		return NULL;
	}
	m->flags_fd = kpageflags_path ? open(kpageflags_path, O_RDONLY | O_CLOEXEC) : -1;
	return m;
}

void memclass__mark_v8(struct memclass *m, uint64_t pfn)
{
	if (pfn < m->max_pfn)
		m->v8[pfn / 64] |= BIT(pfn % 64);
}

enum mem_class memclass__classify(struct memclass *m, uint64_t pfn)
{
	uint64_t flags;

	if (pfn < m->max_pfn && (m->v8[pfn / 64] & BIT(pfn % 64)))
		return MEM_CLASS_V8_HEAP;
	if (m->flags_fd < 0 || memclass__read_flags(m->flags_fd, pfn, &flags))
		return MEM_CLASS_NONE;
	return memclass__of_flags(flags);
}

bool memclass__has_flags(const struct memclass *m) { return m->flags_fd >= 0; }

void memclass__free(struct memclass *m)
{
	if (!m)
		return;
	if (m->flags_fd >= 0)
		close(m->flags_fd);
	free(m->v8);
	free(m);
}
