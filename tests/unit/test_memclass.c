#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/kernel-page-flags.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "memclass.h"

#define F(n)	(1ULL << (KPF_##n))
#define PAGE	4096ULL

static char dir[64];

static void make_dir(void)
{
	strcpy(dir, "/tmp/memscope-memclass-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
}

static void remove_dir(void)
{
	char cmd[96];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	cr_assert_eq(system(cmd), 0);
}

TestSuite(memclass, .init = make_dir, .fini = remove_dir);

/* A sparse file of 8-byte entries, entry i at offset 8 * i. */
static int entries_file(const char *name, const uint64_t *idx, const uint64_t *val, size_t n,
			uint64_t total, char *path)
{
	int fd;

	sprintf(path, "%s/%s", dir, name);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	cr_assert_geq(fd, 0);
	cr_assert_eq(ftruncate(fd, total * 8), 0);
	for (size_t i = 0; i < n; i++)
		cr_assert_eq(pwrite(fd, &val[i], 8, idx[i] * 8), 8);
	return fd;
}

Test(memclass, names)
{
	cr_assert_str_eq(memclass__name(MEM_CLASS_V8_HEAP), "v8-heap");
	cr_assert_str_eq(memclass__name(MEM_CLASS_NATIVE), "native");
	cr_assert_str_eq(memclass__name(MEM_CLASS_FILE), "file");
	cr_assert_str_eq(memclass__name(MEM_CLASS_SHMEM), "shmem");
	cr_assert_str_eq(memclass__name(MEM_CLASS_KERNEL), "kernel");
	cr_assert_null(memclass__name(MEM_CLASS_NONE));
	cr_assert_null(memclass__name(MEM_NR_CLASSES));
	cr_assert_null(memclass__name((enum mem_class)-1));
}

/* Flags as the kernel reports them for each kind of page (read from
 * /proc/kpageflags on Linux 6.x for pages of known origin). */
Test(memclass, class_from_kpageflags)
{
	static const struct {
		uint64_t flags;
		enum mem_class want;
		const char *what;
	} cases[] = {
		{ F(ANON) | F(LRU) | F(MMAP) | F(SWAPBACKED) | F(UPTODATE), MEM_CLASS_NATIVE,
		  "mapped anonymous page" },
		{ F(ANON) | F(MMAP) | F(SWAPBACKED), MEM_CLASS_NATIVE, "anon, not on the LRU yet" },
		{ F(ANON) | F(THP) | F(COMPOUND_HEAD) | F(LRU) | F(MMAP), MEM_CLASS_NATIVE,
		  "transparent huge page" },
		{ F(ANON) | F(KSM) | F(MMAP), MEM_CLASS_NATIVE, "KSM-merged page" },
		{ F(SWAPBACKED) | F(LRU) | F(MMAP) | F(UPTODATE), MEM_CLASS_SHMEM, "mapped memfd" },
		{ F(SWAPBACKED) | F(UPTODATE) | F(DIRTY), MEM_CLASS_SHMEM, "tmpfs page" },
		{ F(LRU) | F(UPTODATE) | F(REFERENCED), MEM_CLASS_FILE, "page cache" },
		{ F(LRU) | F(MMAP) | F(UPTODATE) | F(ACTIVE), MEM_CLASS_FILE, "mapped file" },
		{ F(UPTODATE) | F(DIRTY), MEM_CLASS_FILE, "written, in a per-CPU batch" },
		{ F(WRITEBACK), MEM_CLASS_FILE, "under writeback" },
		{ F(SLAB), MEM_CLASS_KERNEL, "slab" },
		{ F(SLAB) | F(COMPOUND_HEAD), MEM_CLASS_KERNEL, "slab of order > 0" },
		{ F(PGTABLE), MEM_CLASS_KERNEL, "page table" },
		{ 0, MEM_CLASS_KERNEL, "no flags: socket, pipe or vmalloc page" },
		{ F(BUDDY), MEM_CLASS_NONE, "free" },
		{ F(NOPAGE), MEM_CLASS_NONE, "no struct page" },
		{ F(ZERO_PAGE) | F(MMAP), MEM_CLASS_NONE, "the zero page" },
		{ F(OFFLINE), MEM_CLASS_NONE, "offline" },
		{ F(HWPOISON) | F(ANON), MEM_CLASS_NONE, "poisoned" },
		{ ~0ULL, MEM_CLASS_NONE, "garbage: every bit" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		cr_expect_eq(memclass__of_flags(cases[i].flags), cases[i].want, "%s: got %d",
			     cases[i].what, memclass__of_flags(cases[i].flags));
}

Test(memclass, pagemap_entry)
{
	uint64_t pfn = 0;

	cr_assert(memclass__pagemap_pfn(MEMCLASS_PAGEMAP_PRESENT | 0x1234, &pfn));
	cr_assert_eq(pfn, 0x1234);
	cr_assert(memclass__pagemap_pfn(MEMCLASS_PAGEMAP_PRESENT | (0x3fULL << 55) | 7, &pfn),
		  "flag bits 55-61 are not part of the pfn");
	cr_assert_eq(pfn, 7);
	cr_assert(memclass__pagemap_pfn(MEMCLASS_PAGEMAP_PRESENT, &pfn), "pfn hidden (no CAP)");
	cr_assert_eq(pfn, 0);
	cr_assert_not(memclass__pagemap_pfn(0x1234, &pfn));
	cr_assert_not(memclass__pagemap_pfn(MEMCLASS_PAGEMAP_SWAPPED | 0x55, &pfn));
}

struct seen {
	uint64_t vaddr[16], pfn[16];
	size_t n;
};

static void collect(void *ctx, uint64_t vaddr, uint64_t pfn)
{
	struct seen *s = ctx;

	cr_assert_lt(s->n, 16);
	s->vaddr[s->n] = vaddr;
	s->pfn[s->n++] = pfn;
}

/* Pages 10, 11 and 13 present; 12 swapped; 5000 present, past a batch. */
static int pagemap_fixture(char *path)
{
	uint64_t idx[] = { 10, 11, 12, 13, 5000 };
	uint64_t val[] = { MEMCLASS_PAGEMAP_PRESENT | 100, MEMCLASS_PAGEMAP_PRESENT | 101,
			   MEMCLASS_PAGEMAP_SWAPPED | 77, MEMCLASS_PAGEMAP_PRESENT | 103,
			   MEMCLASS_PAGEMAP_PRESENT | 999 };

	return entries_file("pagemap", idx, val, 5, 6000, path);
}

Test(memclass, pagemap_scan_of_a_fixture)
{
	char path[128];
	int fd = pagemap_fixture(path);
	struct seen s = {};
	uint64_t present = 0;

	cr_assert_eq(memclass__pagemap_scan(fd, 10 * PAGE, 14 * PAGE, PAGE, collect, &s, &present), 0);
	cr_assert_eq(present, 3);
	cr_assert_eq(s.n, 3);
	cr_assert_eq(s.vaddr[0], 10 * PAGE);
	cr_assert_eq(s.pfn[0], 100);
	cr_assert_eq(s.vaddr[2], 13 * PAGE);
	cr_assert_eq(s.pfn[2], 103);

	/* Unaligned bounds cover the pages they touch; present accumulates. */
	memset(&s, 0, sizeof(s));
	cr_assert_eq(memclass__pagemap_scan(fd, 11 * PAGE + 5, 11 * PAGE + 6, PAGE, collect, &s,
					    &present), 0);
	cr_assert_eq(present, 4);
	cr_assert_eq(s.pfn[0], 101);

	/* Across batches, and past the end of the file: what exists is counted. */
	present = 0;
	cr_assert_eq(memclass__pagemap_scan(fd, 0, 100000 * PAGE, PAGE, NULL, NULL, &present), 0);
	cr_assert_eq(present, 4);

	present = 0;
	cr_assert_eq(memclass__pagemap_scan(fd, 0, 0, PAGE, NULL, NULL, &present), 0, "empty");
	cr_assert_eq(present, 0);
	cr_assert_eq(memclass__pagemap_scan(fd, 0, PAGE, 1000, NULL, NULL, &present), -EINVAL,
		     "page size not a power of two");
	cr_assert_eq(memclass__pagemap_scan(fd, 2 * PAGE, PAGE, PAGE, NULL, NULL, &present),
		     -EINVAL);
	cr_assert_eq(memclass__pagemap_scan(fd, 0, UINT64_MAX, 1, NULL, NULL, &present),
		     -EINVAL, "offsets past off_t");
	cr_assert_eq(memclass__pagemap_scan(fd, 0, UINT64_MAX, PAGE, NULL, NULL, &present), 0,
		     "the whole address space: stops at the end of the file");
	cr_assert_eq(present, 4);
	cr_assert_eq(memclass__pagemap_scan(-1, 0, PAGE, PAGE, NULL, NULL, &present), -EBADF);
	close(fd);
}

Test(memclass, read_flags_of_a_fixture)
{
	uint64_t idx[] = { 3, 7 }, val[] = { F(SLAB), F(ANON) | F(LRU) };
	char path[128];
	int fd = entries_file("kpageflags", idx, val, 2, 8, path);
	uint64_t flags = 1;

	cr_assert_eq(memclass__read_flags(fd, 3, &flags), 0);
	cr_assert_eq(flags, F(SLAB));
	cr_assert_eq(memclass__read_flags(fd, 0, &flags), 0);
	cr_assert_eq(flags, 0);
	cr_assert_eq(memclass__read_flags(fd, 8, &flags), -ENOENT, "past the end");
	cr_assert_eq(memclass__read_flags(fd, UINT64_MAX, &flags), -ENOENT);
	close(fd);
}

Test(memclass, classifier_puts_v8_pages_first_then_flags)
{
	uint64_t idx[] = { 1, 2, 3, 4, 5 };
	uint64_t val[] = { F(ANON) | F(LRU), F(ANON) | F(LRU), F(LRU) | F(UPTODATE), F(SLAB),
			   F(SWAPBACKED) | F(LRU) };
	char path[128];
	int fd = entries_file("kpageflags", idx, val, 5, 64, path);
	struct memclass *m = memclass__new(64, path);

	close(fd);
	cr_assert_not_null(m);
	cr_assert(memclass__has_flags(m));
	memclass__mark_v8(m, 2);
	memclass__mark_v8(m, 1000);	/* past max_pfn: ignored */
	memclass__mark_v8(m, UINT64_MAX);
	cr_assert_eq(memclass__classify(m, 1), MEM_CLASS_NATIVE);
	cr_assert_eq(memclass__classify(m, 2), MEM_CLASS_V8_HEAP, "anon, but in a V8 range");
	cr_assert_eq(memclass__classify(m, 3), MEM_CLASS_FILE);
	cr_assert_eq(memclass__classify(m, 4), MEM_CLASS_KERNEL);
	cr_assert_eq(memclass__classify(m, 5), MEM_CLASS_SHMEM);
	cr_assert_eq(memclass__classify(m, 1000), MEM_CLASS_NONE, "past the flags file");
	cr_assert_eq(memclass__classify(m, UINT64_MAX), MEM_CLASS_NONE);
	memclass__free(m);
	memclass__free(NULL);
}

Test(memclass, classifier_without_kpageflags)
{
	char path[128];
	struct memclass *m;

	snprintf(path, sizeof(path), "%s/missing", dir);
	m = memclass__new(128, path);
	cr_assert_not_null(m);
	cr_assert_not(memclass__has_flags(m));
	memclass__mark_v8(m, 127);
	cr_assert_eq(memclass__classify(m, 127), MEM_CLASS_V8_HEAP);
	cr_assert_eq(memclass__classify(m, 5), MEM_CLASS_NONE);
	memclass__free(m);
	cr_assert_null(memclass__new(0, NULL));
	cr_assert_eq(errno, EINVAL);
}
