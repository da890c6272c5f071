#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hmap.h"
#include "proc_exits.h"

struct proc_exits {
	struct hmap *by_cgroup;	/* uint64_t cgid -> struct proc_exit_totals */
	struct proc_exit_totals other;	/* cgroups past PROC_EXITS_MAX_CGROUPS */
};

struct proc_exits *proc_exits__new(void)
{
	struct proc_exits *x = calloc(1, sizeof(*x));

	if (!x)
		return NULL;
	x->by_cgroup = hmap__new(sizeof(struct proc_exit_totals));
	if (!x->by_cgroup) {
		free(x);
		errno = ENOMEM;
		return NULL;
	}
	return x;
}

static void add_totals(struct proc_exit_totals *to, const struct ms_proc_stats *st,
		       uint64_t procs)
{
	to->st.alloc_bytes += st->alloc_bytes;
	to->st.free_bytes += st->free_bytes;
	to->st.alloc_events += st->alloc_events;
	to->st.free_events += st->free_events;
	to->procs += procs;
}

int proc_exits__add(struct proc_exits *x, uint64_t cgid, const struct ms_proc_stats *st)
{
	struct proc_exit_totals *t = hmap__find(x->by_cgroup, &cgid, sizeof(cgid));

	if (!t && (hmap__count(x->by_cgroup) >= PROC_EXITS_MAX_CGROUPS || cgid == PROC_EXITS_OTHER))
		t = &x->other;
	else if (!t)
		t = hmap__upsert(x->by_cgroup, &cgid, sizeof(cgid), NULL);
	if (!t)
		return -ENOMEM;
	add_totals(t, st, 1);
	return 0;
}

void proc_exits__each(const struct proc_exits *x, proc_exits_fn fn, void *ctx)
{
	const void *key;
	size_t it = 0;
	void *val;

	while (x && hmap__next(x->by_cgroup, &it, &key, NULL, &val))
		fn(ctx, *(const uint64_t *)key, val);
	if (x && x->other.procs)
		fn(ctx, PROC_EXITS_OTHER, &x->other);
}

size_t proc_exits__cgroups(const struct proc_exits *x)
{
	return x ? hmap__count(x->by_cgroup) + (x->other.procs > 0) : 0;
}

static void sum_one(void *ctx, uint64_t cgid, const struct proc_exit_totals *t)
{
	(void)cgid;
	add_totals(ctx, &t->st, t->procs);
}

void proc_exits__total(const struct proc_exits *x, struct proc_exit_totals *out)
{
	memset(out, 0, sizeof(*out));
	proc_exits__each(x, sum_one, out);
}

void proc_exits__free(struct proc_exits *x)
{
	if (!x)
		return;
	hmap__free(x->by_cgroup);
	free(x);
}
