#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "cgpath.h"
#include "hmap.h"
#include "kfeatures.h"
#include "log.h"
#include "memcg_events.h"

#include "memcg.h"
#include "memcg.skel.h"

#define NONE	TIMELINE_KINDS

/* The kinds as cgstat makes them: shmem is counted in NR_FILE_PAGES by the
 * kernel and taken out of file here, and "kernel" is MEMCG_KMEM, which the
 * slab, stack and page table figures only stand in for where it is missing. */
static const struct memcg_item items[] = {
	{ "NR_ANON_MAPPED", TIMELINE_ANON, NONE, 0, false },
	{ "NR_FILE_PAGES", TIMELINE_FILE, NONE, 0, false },
	{ "NR_SHMEM", TIMELINE_SHMEM, TIMELINE_FILE, 0, false },
	{ "MEMCG_KMEM", TIMELINE_KERNEL, NONE, 0, false },
	{ "MEMCG_SOCK", TIMELINE_SOCK, NONE, 0, false },
	{ "NR_SLAB_RECLAIMABLE_B", TIMELINE_KERNEL, NONE, 1, true },
	{ "NR_SLAB_UNRECLAIMABLE_B", TIMELINE_KERNEL, NONE, 1, true },
	{ "NR_KERNEL_STACK_KB", TIMELINE_KERNEL, NONE, 1024, true },
	{ "NR_PAGETABLE", TIMELINE_KERNEL, NONE, 0, true },
};
#define N_ITEMS (sizeof(items) / sizeof(items[0]))

/* Without these the series would miss most of what a container holds. */
static const char *const required[] = { "NR_ANON_MAPPED", "NR_FILE_PAGES", "NR_SHMEM" };

struct cg_total {
	int64_t kind[TIMELINE_KINDS];
	char *path;		/* resolved once; NULL until then */
};

struct memcg_events {
	struct memcg_bpf *skel;
	struct bpf_program *progs[2];	/* the two attached */
	struct cgroups *cg;
	const struct memcg_item *by_value[MEMCG_ITEMS_MAX];
	struct hmap *totals;	/* cgid -> struct cg_total */
	long page_size;
	int ncpus;
	int64_t *percpu;
};

const struct memcg_item *memcg_events__item(const char *name)
{
	for (size_t i = 0; name && i < N_ITEMS; i++)
		if (!strcmp(items[i].name, name))
			return &items[i];
	return NULL;
}

static int64_t sat_add(int64_t a, int64_t b)
{
	int64_t r;

	if (__builtin_add_overflow(a, b, &r))
		return b > 0 ? INT64_MAX : INT64_MIN;
	return r;
}

void memcg_events__add_bytes(const struct memcg_item *it, int64_t val, long page_size,
			     int64_t out[TIMELINE_KINDS])
{
	int64_t unit = it->unit ? it->unit : page_size, bytes;

	if (__builtin_mul_overflow(val, unit, &bytes))
		bytes = (val > 0) == (unit > 0) ? INT64_MAX : INT64_MIN;
	out[it->kind] = sat_add(out[it->kind], bytes);
	if (it->minus < TIMELINE_KINDS)
		out[it->minus] = sat_add(out[it->minus], bytes == INT64_MIN ? INT64_MAX : -bytes);
}

static uint64_t moved(uint64_t base, int64_t by)
{
	if (by < 0)
		return (uint64_t)-(by + 1) + 1 > base ? 0 : base - ((uint64_t)-(by + 1) + 1);
	return base > UINT64_MAX - (uint64_t)by ? UINT64_MAX : base + (uint64_t)by;
}

void memcg_events__apply(const struct cgstat *base, const int64_t base_delta[TIMELINE_KINDS],
			 const int64_t now_delta[TIMELINE_KINDS], struct cgstat *out)
{
	uint64_t *kind[TIMELINE_KINDS] = {
		[TIMELINE_ANON] = &out->anon, [TIMELINE_FILE] = &out->file,
		[TIMELINE_KERNEL] = &out->kernel, [TIMELINE_SOCK] = &out->sock,
		[TIMELINE_SHMEM] = &out->shmem,
	};
	int64_t total = 0;

	*out = *base;
	for (int k = 0; k < TIMELINE_KINDS; k++) {
		int64_t d = sat_add(now_delta[k], base_delta[k] == INT64_MIN ? INT64_MAX :
					-base_delta[k]);

		*kind[k] = moved(*kind[k], d);
		total = sat_add(total, d);
	}
	out->usage = moved(base->usage, total);
}

/* ---- BTF ------------------------------------------------------------------- */

/* Marks the wanted enumerators of enum `name` in me->by_value. */
static void resolve_enum(struct memcg_events *me, const struct btf *btf, const char *name)
{
	const struct btf_type *t;
	const struct btf_enum *e;
	int id = btf__find_by_name_kind(btf, name, BTF_KIND_ENUM);

	if (id < 0 || !(t = btf__type_by_id(btf, id)))
		return;
	e = btf_enum(t);
	for (int i = 0; i < btf_vlen(t); i++, e++) {
		const struct memcg_item *it = memcg_events__item(btf__name_by_offset(btf,
										     e->name_off));

		if (it && e->val >= 0 && e->val < MEMCG_ITEMS_MAX)
			me->by_value[e->val] = it;
	}
}

static bool resolved(const struct memcg_events *me, const char *name)
{
	for (int v = 0; v < MEMCG_ITEMS_MAX; v++)
		if (me->by_value[v] && !strcmp(me->by_value[v]->name, name))
			return true;
	return false;
}

static const char *const tracepoints[] = { "mod_memcg_state", "mod_memcg_lruvec_state" };

/* tracefs may not be mounted yet (raw tracepoints do not need it): the
 * kernel's BTF has a btf_trace_NAME typedef for every tracepoint too. */
static bool has_tracepoint(const struct btf *btf, const char *name)
{
	char type[64];

	if (kfeatures__disabled("tracepoint"))
		return false;
	if (kfeatures__tracepoint_exists("memcg", name))
		return true;
	snprintf(type, sizeof(type), "btf_trace_%s", name);
	return btf__find_by_name_kind(btf, type, BTF_KIND_TYPEDEF) >= 0;
}

static int resolve_items(struct memcg_events *me, char *why, size_t why_len)
{
	struct btf *btf = btf__load_vmlinux_btf();
	bool kmem;

	if (!btf) {
		snprintf(why, why_len, "no kernel BTF");
		return -EOPNOTSUPP;
	}
	for (size_t i = 0; i < sizeof(tracepoints) / sizeof(tracepoints[0]); i++) {
		if (!has_tracepoint(btf, tracepoints[i])) {
			snprintf(why, why_len, "the kernel has no memcg:%s tracepoint",
				 tracepoints[i]);
			btf__free(btf);
			return -EOPNOTSUPP;
		}
	}
	resolve_enum(me, btf, "node_stat_item");
	resolve_enum(me, btf, "memcg_stat_item");
	btf__free(btf);
	for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++) {
		if (!resolved(me, required[i])) {
			snprintf(why, why_len, "the kernel's BTF has no %s", required[i]);
			return -EOPNOTSUPP;
		}
	}
	/* MEMCG_KMEM already counts the slab, stacks and page tables. */
	kmem = resolved(me, "MEMCG_KMEM");
	for (int v = 0; v < MEMCG_ITEMS_MAX; v++)
		if (me->by_value[v] && me->by_value[v]->kmem_part && kmem)
			me->by_value[v] = NULL;
	return 0;
}

/* ---- loading --------------------------------------------------------------- */

static int probe(char *why, size_t why_len)
{
	if (kfeatures__disabled("memcg_tp")) {
		snprintf(why, why_len, "disabled by MEMSCOPE_DISABLE=memcg_tp");
		return -EOPNOTSUPP;
	}
	if (!kfeatures__has_raw_tp()) {
		snprintf(why, why_len, "no raw tracepoint programs");
		return -EOPNOTSUPP;
	}
	return 0;
}

/* Opens and loads the object with the BTF-typed programs (btf) or the raw ones. */
static int load_variant(struct memcg_events *me, bool btf)
{
	struct memcg_bpf *skel = memcg_bpf__open();
	int err;

	if (!skel)
		return errno ? -errno : -EINVAL;
	bpf_program__set_autoload(skel->progs.memcg_state_btf, btf);
	bpf_program__set_autoload(skel->progs.memcg_lruvec_state_btf, btf);
	bpf_program__set_autoload(skel->progs.memcg_state, !btf);
	bpf_program__set_autoload(skel->progs.memcg_lruvec_state, !btf);
	for (int v = 0; v < MEMCG_ITEMS_MAX; v++)
		skel->rodata->wanted[v] = me->by_value[v] != NULL;
	err = memcg_bpf__load(skel);
	if (err) {
		memcg_bpf__destroy(skel);
		return err;
	}
	me->skel = skel;
	me->progs[0] = btf ? skel->progs.memcg_state_btf : skel->progs.memcg_state;
	me->progs[1] = btf ? skel->progs.memcg_lruvec_state_btf : skel->progs.memcg_lruvec_state;
	return 0;
}

static int load(struct memcg_events *me, char *why, size_t why_len)
{
	int err = load_variant(me, true);

	if (err) {
		log_debug("memcg tracepoints: BTF-typed programs: %s; trying raw ones",
			  strerror(-err));
		err = load_variant(me, false);
	}
	if (err) {
		snprintf(why, why_len, "cannot load its BPF programs: %s", strerror(-err));
		return err;
	}
	err = memcg_bpf__attach(me->skel);
	if (err) {
		snprintf(why, why_len, "cannot attach to the tracepoints: %s", strerror(-err));
		return err;
	}
	return 0;
}

struct memcg_events *memcg_events__open(const struct cg_hier *h, char *why, size_t why_len)
{
	char dummy[1];
	struct memcg_events *me;
	int err;

	if (!why || !why_len) {
		why = dummy;
		why_len = sizeof(dummy);
	}
	why[0] = '\0';
	if (!h) {
		errno = EINVAL;
		return NULL;
	}
	err = probe(why, why_len);
	if (err) {
		errno = -err;
		return NULL;
	}
	me = calloc(1, sizeof(*me));
	if (!me) {
		snprintf(why, why_len, "out of memory");
		return NULL;
	}
	me->page_size = sysconf(_SC_PAGESIZE);
	me->ncpus = libbpf_num_possible_cpus();
	if (me->ncpus <= 0 || me->page_size <= 0) {
		snprintf(why, why_len, "cannot count the CPUs");
		err = -EINVAL;
		goto fail;
	}
	me->percpu = calloc(me->ncpus, sizeof(*me->percpu));
	me->totals = hmap__new(sizeof(struct cg_total));
	if (!me->percpu || !me->totals) {
		snprintf(why, why_len, "out of memory");
		err = -ENOMEM;
		goto fail;
	}
	me->cg = cgroups__open(h);
	if (!me->cg) {
		err = -errno;
		snprintf(why, why_len, "cannot walk the memory cgroups: %s", strerror(-err));
		goto fail;
	}
	if ((err = resolve_items(me, why, why_len)) || (err = load(me, why, why_len)))
		goto fail;
	return me;
fail:
	memcg_events__free(me);
	errno = err < 0 ? -err : EINVAL;
	return NULL;
}

void memcg_events__free(struct memcg_events *me)
{
	struct cg_total *t;
	size_t iter = 0;

	if (!me)
		return;
	memcg_bpf__destroy(me->skel);
	while (me->totals && hmap__next(me->totals, &iter, NULL, NULL, (void **)&t))
		free(t->path);
	hmap__free(me->totals);
	cgroups__free(me->cg);
	free(me->percpu);
	free(me);
}

/* Runs the kernel skipped because the program was already running on that
 * CPU (an interrupt during an update): changes lost just the same. */
static uint64_t recursion_misses(const struct bpf_program *p)
{
	struct bpf_prog_info info;
	uint32_t len = sizeof(info);

	memset(&info, 0, sizeof(info));
	if (!p || bpf_obj_get_info_by_fd(bpf_program__fd(p), &info, &len))
		return 0;
	return info.recursion_misses;
}

uint64_t memcg_events__dropped(const struct memcg_events *me)
{
	if (!me || !me->skel || !me->skel->bss)
		return 0;
	return me->skel->bss->dropped + recursion_misses(me->progs[0]) +
	       recursion_misses(me->progs[1]);
}

/* ---- reading --------------------------------------------------------------- */

static int64_t sum_cpus(const struct memcg_events *me)
{
	int64_t s = 0;

	for (int c = 0; c < me->ncpus; c++)
		s = sat_add(s, me->percpu[c]);
	return s;
}

int memcg_events__read(struct memcg_events *me)
{
	struct memcg_key key, next;
	const struct memcg_key *prev = NULL;
	struct cg_total *t;
	size_t iter = 0, seen = 0;
	int fd;

	if (!me)
		return -EINVAL;
	/* The sums run from attach: start from zero each time. */
	while (hmap__next(me->totals, &iter, NULL, NULL, (void **)&t))
		memset(t->kind, 0, sizeof(t->kind));
	fd = bpf_map__fd(me->skel->maps.sums);
	while (seen++ < MEMCG_KEYS_MAX && !bpf_map_get_next_key(fd, prev, &next)) {
		const struct memcg_item *it;

		key = next;
		prev = &key;
		if (key.item >= MEMCG_ITEMS_MAX || !(it = me->by_value[key.item]))
			continue;
		/* Entries are never deleted; a failed lookup is skipped all the same. */
		if (bpf_map_lookup_elem(fd, &key, me->percpu))
			continue;
		t = hmap__upsert(me->totals, &key.cgid, sizeof(key.cgid), NULL);
		if (!t)
			return -ENOMEM;
		memcg_events__add_bytes(it, sum_cpus(me), me->page_size, t->kind);
	}
	return 0;
}

size_t memcg_events__cgroups(const struct memcg_events *me)
{
	return me ? hmap__count(me->totals) : 0;
}

int memcg_events__sum(struct memcg_events *me, const char *path, int64_t out[TIMELINE_KINDS])
{
	const void *key;
	struct cg_total *t;
	size_t iter = 0;

	if (!me || !path)
		return -EINVAL;
	memset(out, 0, sizeof(int64_t) * TIMELINE_KINDS);
	while (hmap__next(me->totals, &iter, &key, NULL, (void **)&t)) {
		if (!t->path) {
			uint64_t id;
			const char *p;

			memcpy(&id, key, sizeof(id));
			p = cgroups__path(me->cg, id);
			/* Unknown yet (a rescan is at most once a second): next time. */
			if (!p || !(t->path = strdup(p)))
				continue;
		}
		if (!cgpath__is_under(t->path, path))
			continue;
		for (int k = 0; k < TIMELINE_KINDS; k++)
			out[k] = sat_add(out[k], t->kind[k]);
	}
	return 0;
}
