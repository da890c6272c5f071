/* The class of a resident page, the frame right after COMM in `record`'s
 * folded stacks: [v8-heap], [native], [file], [shmem] or [kernel].
 *
 * A page is v8-heap when some V8 process maps it inside the ranges V8
 * committed (learned from /proc/PID/pagemap over those ranges, see v8.h);
 * otherwise its flags in /proc/kpageflags decide:
 *	slab or page table				kernel
 *	anonymous (KPF_ANON)				native
 *	swap-backed but not anonymous (tmpfs, memfd,
 *	  shared anonymous, SysV shm)			shmem
 *	on the LRU, mapped from a file, or up to date,
 *	  dirty or under writeback (page cache)		file
 *	anything else the process made the kernel
 *	  allocate (socket and pipe buffers, vmalloc)	kernel
 *
 * Entries of both files are 8 bytes, native endian:
 *	pagemap, one per virtual page: bit 63 present, bit 62 swapped,
 *	  bits 0-54 the pfn (0 without CAP_SYS_ADMIN)
 *	kpageflags, one per pfn: KPF_* bits (linux/kernel-page-flags.h)
 */
#ifndef MEMSCOPE_MEMCLASS_H
#define MEMSCOPE_MEMCLASS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum mem_class {
	MEM_CLASS_NONE,		/* not classified (allocated mode, no kpageflags) */
	MEM_CLASS_V8_HEAP,
	MEM_CLASS_NATIVE,
	MEM_CLASS_FILE,
	MEM_CLASS_SHMEM,
	MEM_CLASS_KERNEL,
	MEM_NR_CLASSES,
};

#define MEMCLASS_PAGEMAP_PRESENT	(1ULL << 63)
#define MEMCLASS_PAGEMAP_SWAPPED	(1ULL << 62)
#define MEMCLASS_PAGEMAP_PFN_MASK	((1ULL << 55) - 1)
/* Entries read per pread of a pagemap. */
#define MEMCLASS_PAGEMAP_BATCH		4096

/* "v8-heap", "native", "file", "shmem", "kernel"; NULL for NONE. */
const char *memclass__name(enum mem_class c);

/* Class of a page outside V8's ranges, from its kpageflags. NONE for pages
 * that are free, offline, the zero page or not backed by a struct page. */
enum mem_class memclass__of_flags(uint64_t kpageflags);

/* The pfn of a present pagemap entry; false when not present (or swapped). */
bool memclass__pagemap_pfn(uint64_t entry, uint64_t *pfn);

/* Walks pagemap (an open /proc/PID/pagemap) over [start, end) (page aligned
 * down and up), calling fn for every present page (fn may be NULL) and
 * adding the count of present pages to *present. 0, or -errno of the read
 * (-ESRCH as the kernel gives it when the process is gone mid-way). */
typedef void (*memclass_page_fn)(void *ctx, uint64_t vaddr, uint64_t pfn);
int memclass__pagemap_scan(int pagemap_fd, uint64_t start, uint64_t end, uint64_t page_size,
			   memclass_page_fn fn, void *ctx, uint64_t *present);

/* kpageflags of one pfn from an open kpageflags file. 0, -ENOENT past its
 * end, -errno. */
int memclass__read_flags(int kpageflags_fd, uint64_t pfn, uint64_t *flags);

/* A recording's page classifier: a bitmap of the pfns V8 heaps map, plus
 * kpageflags for the rest. */
struct memclass;

/* kpageflags_path: "/proc/kpageflags" (or a fixture). Not being able to open
 * it is not an error: pages outside V8 then stay MEM_CLASS_NONE. NULL + errno
 * (ENOMEM, EINVAL for max_pfn 0). */
struct memclass *memclass__new(uint64_t max_pfn, const char *kpageflags_path);
/* Pfns >= max_pfn are ignored. */
void memclass__mark_v8(struct memclass *m, uint64_t pfn);
enum mem_class memclass__classify(struct memclass *m, uint64_t pfn);
/* Whether kpageflags could be opened. */
bool memclass__has_flags(const struct memclass *m);
void memclass__free(struct memclass *m);

#endif
