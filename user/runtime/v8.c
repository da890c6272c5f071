#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "budget.h"
#include "elf_file.h"
#include "hmap.h"
#include "log.h"
#include "memclass.h"
#include "procmaps.h"
#include "v8_scan.h"
#include "rangeset.h"
#include "safe_open.h"
#include "v8.h"
#include "v8.skel.h"

#define PROBES_MAX	8

/* Exported by every binary that embeds V8 for its addons: tells a stripped
 * V8 (no OS layer symbols) from a program that has nothing to do with V8. */
#define V8_API_SYMBOL	"_ZN2v87Isolate10GetCurrentEv"

struct probe {
	const char *symbol;	/* mangled */
	bool retprobe;
	bool required;
};

/* Index i here is program i of probe_programs(). */
static const struct probe probes[PROBES_MAX] = {
	{ "_ZN2v84base2OS8AllocateEPvmmNS1_16MemoryPermissionE", false, false },
	{ "_ZN2v84base2OS8AllocateEPvmmNS1_16MemoryPermissionE", true, false },
	{ "_ZN2v84base2OS14SetPermissionsEPvmNS1_16MemoryPermissionE", false, true },
	{ "_ZN2v84base2OS13RecommitPagesEPvmNS1_16MemoryPermissionE", false, false },
	{ "_ZN2v84base2OS13DecommitPagesEPvm", false, false },
	{ "_ZN2v84base2OS18DiscardSystemPagesEPvm", false, false },
	{ "_ZN2v84base2OS4FreeEPvm", false, true },
	{ "_ZN2v84base2OS7ReleaseEPvm", false, false },
};

struct binary_key {
	uint32_t dev_major, dev_minor;
	uint64_t inode;
};

struct binary {
	enum v8_runtime kind;
	struct bpf_link *links[PROBES_MAX];
};

struct v8_proc {
	int pid;
	enum v8_runtime rt;
	int pagemap_fd;		/* -1 until tracked */
	struct rangeset *ranges;
	struct budget_node pending;	/* charged until v8__track looks at it */
	uint64_t last_pages;	/* of the last resident scan not cut short */
	bool have_last;
};


struct v8 {
	struct v8_bpf *skel;
	struct ring_buffer *rb;
	struct hmap *binaries;	/* struct binary_key -> struct binary */
	struct hmap *procs;	/* int pid -> struct v8_proc * */
	uint64_t page_size;
	struct v8_stats stats;
	struct budget pending;	/* untracked processes, one "byte" each */
	uint64_t nranges;	/* in all range sets */
	struct budget_work pages;	/* pagemap entries read per tick */
	struct budget_work probes;	/* chunk-scan probes per tick */
};

const char *v8__runtime_name(enum v8_runtime rt)
{
	switch (rt) {
	case V8_RUNTIME_V8:
		return "v8";
	case V8_RUNTIME_NO_SYMBOLS:
		return "v8 without symbols (unknown runtime)";
	case V8_RUNTIME_NO_PROBES:
		return "v8 without uprobes (unknown runtime)";
	default:
		return "unknown runtime";
	}
}

/* ---- pure parts ------------------------------------------------------------ */

int v8__apply_event(struct rangeset *s, const struct v8_event *e)
{
	uint64_t end = e->addr + e->size;

	if (!e->size || end < e->addr)
		return 0;
	switch (e->op) {
	case V8_OP_ALLOCATE:
	case V8_OP_SET_PERMISSIONS:
	case V8_OP_RECOMMIT:
		/* V8 aborts on other values: this is not V8 talking. */
		if (e->perm > V8_PERM_NO_ACCESS_JIT_LATER)
			return 0;
		if (v8_perm_accessible(e->perm))
			return rangeset__add(s, e->addr, end);
		return rangeset__remove(s, e->addr, end);
	case V8_OP_DECOMMIT:
	case V8_OP_FREE:
	case V8_OP_RELEASE:
		return rangeset__remove(s, e->addr, end);
	default:
		/* Discarded pages leave RSS but stay V8's: a later fault there
		 * is the V8 heap again. */
		return 0;
	}
}

/* ---- processes ------------------------------------------------------------- */

static struct v8_proc *find_proc(struct v8 *v, int pid)
{
	struct v8_proc **p = hmap__find(v->procs, &pid, sizeof(pid));

	return p ? *p : NULL;
}

static struct v8_proc *get_proc(struct v8 *v, int pid)
{
	struct v8_proc *p = find_proc(v, pid), **slot;

	if (p)
		return p;
	if (hmap__count(v->procs) >= V8_PROCS_MAX)
		return NULL;
	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->pid = pid;
	p->pagemap_fd = -1;
	p->ranges = rangeset__new(V8_RANGES_MAX);
	slot = p->ranges ? hmap__upsert(v->procs, &pid, sizeof(pid), NULL) : NULL;
	if (!slot) {
		rangeset__free(p->ranges);
		free(p);
		return NULL;
	}
	*slot = p;
	return p;
}

static void free_proc(struct v8 *v, struct v8_proc *p)
{
	v->nranges -= rangeset__count(p->ranges);
	budget__discharge(&v->pending, &p->pending);
	if (p->pagemap_fd >= 0)
		close(p->pagemap_fd);
	rangeset__free(p->ranges);
	free(p);
}

void v8__forget(struct v8 *v, int pid)
{
	struct v8_proc *p = find_proc(v, pid);

	if (!p)
		return;
	hmap__delete(v->procs, &pid, sizeof(pid));
	free_proc(v, p);
}

static void evict_pending(struct budget_node *n, void *ctx)
{
	struct v8_proc *p = (struct v8_proc *)((char *)n - offsetof(struct v8_proc, pending));

	budget_counts.v8_procs_evicted++;
	v8__forget(ctx, p->pid);
}

/* Applies e to p's ranges, unless it adds and all range sets together are
 * at BUDGET_V8_RANGES already. */
static int ranges_apply(struct v8 *v, struct v8_proc *p, const struct v8_event *e)
{
	size_t before = rangeset__count(p->ranges);
	bool adds = (e->op == V8_OP_ALLOCATE || e->op == V8_OP_SET_PERMISSIONS ||
		     e->op == V8_OP_RECOMMIT) && v8_perm_accessible(e->perm);
	int err;

	if (adds && v->nranges >= BUDGET_V8_RANGES) {
		budget_counts.v8_ranges_refused++;
		return 0;
	}
	err = v8__apply_event(p->ranges, e);
	v->nranges = v->nranges - before + rangeset__count(p->ranges);
	return err;
}

/* ---- events ------------------------------------------------------------------ */

static int on_event(void *ctx, void *data, size_t size)
{
	struct v8 *v = ctx;
	const struct v8_event *e = data;
	struct v8_proc *p;

	if (size < sizeof(*e) || e->op >= V8_NR_OPS)
		return 0;
	v->stats.events[e->op]++;
	p = find_proc(v, e->pid);
	if (!p) {
		/* Any process mapping a probed file sends events: until
		 * v8__track looks at it, it holds a pending place, and the
		 * oldest pending one makes room for it. */
		p = get_proc(v, e->pid);
		if (!p)
			return 0;
		budget__charge(&v->pending, &p->pending, 1);
		budget__enforce(&v->pending, &p->pending, evict_pending, v);
	}
	if (ranges_apply(v, p, e) == -E2BIG)
		v->stats.ranges_full++;
	return 0;
}

int v8__poll(struct v8 *v)
{
	int n = ring_buffer__consume(v->rb);

	return n < 0 ? 0 : n;
}

/* ---- binaries ---------------------------------------------------------------- */

/* File offset of an ELF virtual address, through the PT_LOAD that maps it:
 * what a uprobe is placed by. */
static int vaddr_to_offset(Elf *elf, uint64_t vaddr, uint64_t *off)
{
	size_t phnum;
	GElf_Phdr ph;

	if (elf_getphdrnum(elf, &phnum))
		return -ENOEXEC;
	for (size_t i = 0; i < phnum; i++) {
		if (!gelf_getphdr(elf, (int)i, &ph))
			return -ENOEXEC;
		if (ph.p_type != PT_LOAD || vaddr < ph.p_vaddr || vaddr - ph.p_vaddr >= ph.p_filesz)
			continue;
		*off = vaddr - ph.p_vaddr + ph.p_offset;
		return 0;
	}
	return -ENOENT;
}

static struct bpf_program *probe_program(struct v8 *v, size_t i)
{
	struct bpf_program *progs[PROBES_MAX] = {
		v->skel->progs.v8_allocate, v->skel->progs.v8_allocate_ret,
		v->skel->progs.v8_set_permissions, v->skel->progs.v8_recommit,
		v->skel->progs.v8_decommit, v->skel->progs.v8_discard,
		v->skel->progs.v8_free, v->skel->progs.v8_release,
	};

	return progs[i];
}

/* Symbol offsets of the probes in the file open as fd (not consumed);
 * offsets[i] = 0 when symbol i is missing. */
static enum v8_runtime inspect_file(int fd, uint64_t offsets[PROBES_MAX])
{
	struct elf_file *ef = elf_file__open_fd(dup(fd));
	enum v8_runtime kind = V8_RUNTIME_V8;
	Elf *elf = NULL;
	uint64_t vaddr;

	memset(offsets, 0, PROBES_MAX * sizeof(offsets[0]));
	if (!ef)
		return V8_RUNTIME_UNKNOWN;
	for (size_t i = 0; i < PROBES_MAX; i++) {
		if (elf_file__symbol_addr(ef, probes[i].symbol, &vaddr) == 0) {
			if (!elf)
				elf = elf_begin(fd, ELF_C_READ, NULL);
			if (!elf || vaddr_to_offset(elf, vaddr, &offsets[i]))
				offsets[i] = 0;
		}
		if (!offsets[i] && probes[i].required)
			kind = V8_RUNTIME_NO_SYMBOLS;
	}
	if (kind == V8_RUNTIME_NO_SYMBOLS && elf_file__symbol_addr(ef, V8_API_SYMBOL, &vaddr))
		kind = V8_RUNTIME_UNKNOWN;
	elf_end(elf);
	elf_file__close(ef);
	return kind;
}

static void detach(struct binary *b)
{
	for (size_t i = 0; i < PROBES_MAX; i++) {
		bpf_link__destroy(b->links[i]);
		b->links[i] = NULL;
	}
}

static int attach(struct v8 *v, struct binary *b, const char *path, const uint64_t *offsets)
{
	for (size_t i = 0; i < PROBES_MAX; i++) {
		LIBBPF_OPTS(bpf_uprobe_opts, opts, .retprobe = probes[i].retprobe);
		int err;

		if (!offsets[i])
			continue;
		b->links[i] = bpf_program__attach_uprobe_opts(probe_program(v, i), -1, path,
							      offsets[i], &opts);
		if (!b->links[i]) {
			err = -errno;
			detach(b);
			return err;
		}
	}
	return 0;
}

static enum v8_runtime binary_kind(struct v8 *v, int pid, const struct procmap *m)
{
	struct binary_key key = { m->dev_major, m->dev_minor, m->inode };
	uint64_t offsets[PROBES_MAX];
	char path[32];
	struct binary *b;
	bool created;
	int fd, err;

	b = hmap__find(v->binaries, &key, sizeof(key));
	if (b)
		return b->kind;
	if (hmap__count(v->binaries) >= V8_BINARIES_MAX)
		return V8_RUNTIME_UNKNOWN;
	/* Only the inode maps names, as a regular file, and the uprobes go
	 * through this very fd: a path resolved again at attach time could
	 * be another file by then (a MAP_FIXED remap, a renamed file). */
	fd = procmaps__open(pid, m);
	if (fd < 0)
		return V8_RUNTIME_UNKNOWN;	/* not cached: another process may open it */
	safe_open__fd_path(fd, path, sizeof(path));
	b = hmap__upsert(v->binaries, &key, sizeof(key), &created);
	if (!b) {
		close(fd);
		return V8_RUNTIME_UNKNOWN;
	}
	b->kind = inspect_file(fd, offsets);
	if (b->kind == V8_RUNTIME_V8) {
		err = attach(v, b, path, offsets);
		if (err) {
			log_debug("cannot attach uprobes to V8 in %s (pid %d): %s",
				  m->path ? m->path : path, pid, strerror(-err));
			b->kind = V8_RUNTIME_NO_PROBES;
			v->stats.binaries_failed++;
		} else {
			log_debug("V8 found in %s (pid %d): uprobes attached", m->path ? m->path : path,
				  pid);
			v->stats.binaries_probed++;
		}
	}
	close(fd);
	return b->kind;
}

static enum v8_runtime process_runtime(struct v8 *v, int pid, const struct procmaps *maps)
{
	enum v8_runtime rt = V8_RUNTIME_UNKNOWN;

	for (size_t i = 0; i < maps->n && rt != V8_RUNTIME_V8; i++) {
		const struct procmap *m = &maps->maps[i];
		enum v8_runtime k;

		if (!m->path || !procmap__is_exec(m))
			continue;
		k = binary_kind(v, pid, m);
		if (k != V8_RUNTIME_UNKNOWN)
			rt = k;
	}
	return rt;
}

static uint64_t monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* Ranges committed before the probes were attached: found by a scan of the
 * process's memory (v8_scan.c), at most the probes this tick's budget grants. */
static int scan_chunks(struct v8 *v, struct v8_proc *p, const struct procmaps *maps)
{
	struct v8_chunk *c = NULL;
	uint64_t probes, allowed;
	size_t n = 0, found = 0;
	int err;

	probes = allowed = budget_work__grant(&v->probes, monotonic_ns());
	err = v8_scan__chunks(p->pid, p->pagemap_fd, v->page_size, maps, &probes, &c, &n, &found);
	budget_work__spend(&v->probes, allowed - probes);
	if (!err) {
		for (size_t i = 0; i < n; i++) {
			struct v8_event e = { .addr = c[i].addr, .size = c[i].h.size,
					      .op = V8_OP_SET_PERMISSIONS,
					      .perm = V8_PERM_READ_WRITE };

			if (c[i].valid && ranges_apply(v, p, &e) == -E2BIG)
				v->stats.ranges_full++;
		}
		v->stats.chunks_found += found;
		log_debug("pid %d: %zu V8 chunks found among %zu candidates, %.1f MiB committed",
			  p->pid, found, n, rangeset__bytes(p->ranges) / 1048576.0);
	}
	free(c);
	return err;
}

static int open_pagemap(int pid)
{
	char path[32];

	snprintf(path, sizeof(path), "/proc/%d/pagemap", pid);
	return open(path, O_RDONLY | O_CLOEXEC);
}

int v8__track(struct v8 *v, int pid, enum v8_runtime *rt)
{
	struct procmaps maps;
	struct v8_proc *p;
	int err;

	*rt = V8_RUNTIME_UNKNOWN;
	err = procmaps__read_pid(pid, &maps);
	if (err)
		return err;
	*rt = process_runtime(v, pid, &maps);
	p = *rt == V8_RUNTIME_V8 ? get_proc(v, pid) : find_proc(v, pid);
	if (p) {
		p->rt = *rt;
		budget__discharge(&v->pending, &p->pending);
	}
	if (*rt != V8_RUNTIME_V8) {
		/* Events from a pid that turned out not to run V8: a recycled pid. */
		if (p)
			v8__forget(v, pid);
		procmaps__free(&maps);
		return 0;
	}
	if (!p) {
		procmaps__free(&maps);
		return -ENOMEM;
	}
	if (p->pagemap_fd < 0)
		p->pagemap_fd = open_pagemap(pid);
	/* Events queued before the scan are applied after it, in order: a
	 * chunk freed meanwhile is removed again. */
	err = p->pagemap_fd < 0 ? -errno : scan_chunks(v, p, &maps);
	procmaps__free(&maps);
	v8__poll(v);
	return err == -ENOENT ? -ESRCH : err;
}

/* ---- figures ------------------------------------------------------------------- */

/* Pages resident in [start, end), reading at most *left pagemap entries. */
static int scan_piece(struct v8 *v, struct v8_proc *p, uint64_t start, uint64_t end,
		      memclass_page_fn fn, void *ctx, uint64_t *pages, uint64_t *left, bool *cut)
{
	uint64_t first = start / v->page_size;
	uint64_t n = (end + v->page_size - 1) / v->page_size - first;

	if (n > *left) {
		*cut = true;
		budget_counts.v8_pages_skipped += n - *left;
		n = *left;
		end = (first + n) * v->page_size;
	}
	*left -= n;
	return n ? memclass__pagemap_scan(p->pagemap_fd, start, end, v->page_size, fn, ctx, pages)
		 : 0;
}

/*
 * Resident pages of p's ranges, read only where p has a mapping (the ranges
 * come from events the process itself sends: SetPermissions(0, 1 << 47) is
 * no reason to read pagemap for its whole address space), and at most the
 * process's share of the tick. A scan cut short gives the last whole one.
 */
static int scan_resident(struct v8 *v, struct v8_proc *p, const struct procmaps *maps,
			 memclass_page_fn fn, void *ctx, uint64_t *pages)
{
	uint64_t allowed, left;
	bool cut = false;
	size_t mi = 0;
	int err = 0;

	*pages = 0;
	if (p->pagemap_fd < 0)
		return -ENOENT;
	allowed = left = budget_work__grant(&v->pages, monotonic_ns());
	for (size_t i = 0; i < rangeset__count(p->ranges) && !err; i++) {
		const struct range *r = rangeset__get(p->ranges, i);

		/* Both sorted: walk the mappings along the ranges. */
		while (mi < maps->n && maps->maps[mi].end <= r->start)
			mi++;
		for (size_t k = mi; k < maps->n && maps->maps[k].start < r->end && !err; k++) {
			uint64_t s = r->start > maps->maps[k].start ? r->start : maps->maps[k].start;
			uint64_t e = r->end < maps->maps[k].end ? r->end : maps->maps[k].end;

			err = scan_piece(v, p, s, e, fn, ctx, pages, &left, &cut);
		}
	}
	budget_work__spend(&v->pages, allowed - left);
	if (err)
		return err;
	if (!cut) {
		p->last_pages = *pages;
		p->have_last = true;
	} else if (!fn && p->have_last) {
		*pages = p->last_pages;	/* a count only: the last whole one is closer */
	}
	return 0;
}

uint64_t v8__committed(struct v8 *v, int pid)
{
	struct v8_proc *p = find_proc(v, pid);

	return p && p->rt == V8_RUNTIME_V8 ? rangeset__bytes(p->ranges) : 0;
}

int v8__resident(struct v8 *v, int pid, uint64_t *bytes)
{
	struct v8_proc *p = find_proc(v, pid);
	uint64_t pages = 0;
	int err;

	struct procmaps maps;

	*bytes = 0;
	if (!p || p->rt != V8_RUNTIME_V8)
		return 0;
	err = procmaps__read_pid(pid, &maps);
	if (err)
		return err == -ENOENT ? -ESRCH : err;
	err = scan_resident(v, p, &maps, NULL, NULL, &pages);
	procmaps__free(&maps);
	*bytes = pages * v->page_size;
	return err;
}

static void mark_page(void *ctx, uint64_t vaddr, uint64_t pfn)
{
	(void)vaddr;
	memclass__mark_v8(ctx, pfn);
}

uint64_t v8__mark_pfns(struct v8 *v, struct memclass *m)
{
	uint64_t marked = 0;
	const void *key;
	size_t it = 0;
	void *val;

	v8__poll(v);
	while (hmap__next(v->procs, &it, &key, NULL, &val)) {
		struct v8_proc *p = *(struct v8_proc **)val;
		struct procmaps maps;
		uint64_t pages = 0;

		if (p->rt != V8_RUNTIME_V8)
			continue;
		if (procmaps__read_pid(p->pid, &maps) != 0)
			continue;
		scan_chunks(v, p, &maps);
		scan_resident(v, p, &maps, mark_page, m, &pages);
		procmaps__free(&maps);
		marked += pages;
	}
	return marked;
}

void v8__stats(const struct v8 *v, struct v8_stats *out)
{
	*out = v->stats;
	out->events_lost = v->skel && v->skel->bss ? v->skel->bss->lost_events : 0;
}

/* ---- lifetime ------------------------------------------------------------------ */

struct v8 *v8__open(void)
{
	struct v8 *v = calloc(1, sizeof(*v));
	int err;

	if (!v)
		return NULL;
	v->page_size = sysconf(_SC_PAGESIZE);
	v->binaries = hmap__new(sizeof(struct binary));
	v->procs = hmap__new(sizeof(struct v8_proc *));
	budget__init(&v->pending, BUDGET_V8_PENDING_PROCS, &budget_counts.v8_procs_evicted);
	v->pages.per_tick = BUDGET_V8_PAGES_PER_TICK;
	v->probes.per_tick = BUDGET_V8_PROBES_PER_TICK;
	if (!v->binaries || !v->procs) {
		err = -ENOMEM;
		goto fail;
	}
	if (elf_version(EV_CURRENT) == EV_NONE) {
		err = -ENOSYS;
		goto fail;
	}
	v->skel = v8_bpf__open_and_load();
	if (!v->skel) {
		err = -errno;
		goto fail;
	}
	v->rb = ring_buffer__new(bpf_map__fd(v->skel->maps.v8_events), on_event, v, NULL);
	if (!v->rb) {
		err = -errno;
		goto fail;
	}
	return v;
fail:
	v8__free(v);
	errno = -err;
	return NULL;
}

void v8__free(struct v8 *v)
{
	const void *key;
	size_t it = 0;
	void *val;

	if (!v)
		return;
	if (v->binaries)
		while (hmap__next(v->binaries, &it, &key, NULL, &val))
			detach(val);
	it = 0;
	if (v->procs)
		while (hmap__next(v->procs, &it, &key, NULL, &val))
			free_proc(v, *(struct v8_proc **)val);
	ring_buffer__free(v->rb);
	v8_bpf__destroy(v->skel);
	hmap__free(v->binaries);
	hmap__free(v->procs);
	free(v);
}
