/* session__settle's last step: the settled recording (recording.h) read out
 * of the tracer and the recorder, once, for every output. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cgroups.h"
#include "container.h"
#include "hmap.h"
#include "jsheap.h"
#include "jsheap_run.h"
#include "memclass.h"
#include "oom_report.h"
#include "proc_exits.h"
#include "recorder.h"
#include "recording.h"
#include "session.h"
#include "stack_names.h"
#include "tracer.h"

struct proc_copy {
	struct session *s;
	size_t cap;
	int err;
};

static void copy_proc(void *ctx, const struct ms_proc_key *key, const struct ms_proc_info *info)
{
	struct proc_copy *pc = ctx;
	struct recording *r = pc->s->model;
	struct rec_proc *p;

	if (r->nprocs == pc->cap) {
		size_t cap = pc->cap ? pc->cap * 2 : 256;
		void *grown = realloc(r->procs, cap * sizeof(*r->procs));

		if (!grown) {
			pc->err = -ENOMEM;
			return;
		}
		r->procs = grown;
		pc->cap = cap;
	}
	p = &r->procs[r->nprocs++];
	*p = (struct rec_proc){ .key = *key, .info = *info };
	p->have_stats = !tracer__proc_stats(pc->s->rc.tracer, info->slot, &p->st);
}

/* Sampled stacks estimate how a process's bytes split; the kernel counted
 * the bytes themselves exactly. Scaling each process's stacks to its exact
 * total keeps the split and removes most of the sampling error from the
 * sizes (a ratio estimator): scale[slot] = exact / sum of estimates, for the
 * bytes allocated and, apart, for those still resident. */
struct slot_scale {
	double alloc, outstanding;
	uint32_t tgid;
	bool have_tgid;
};

static double scale_of(double exact, double estimate)
{
	return estimate <= 0 ? 1 : exact > 0 ? exact / estimate : 0;
}

static struct hmap *slot_scales(const struct session *s)
{
	const struct recorder *rec = s->rc.recorder;
	struct hmap *est = hmap__new(sizeof(struct slot_scale));
	size_t nb = recorder__nbuckets(rec), it = 0;
	const void *key;
	void *val;

	if (!est)
		return NULL;
	for (size_t i = 0; i < nb; i++) {
		const struct rec_bucket *b = recorder__bucket(rec, i);
		struct slot_scale *sum;
		bool created;

		if (b->dead)
			continue;
		sum = hmap__upsert(est, &b->slot, sizeof(b->slot), &created);
		if (sum && created)
			sum->alloc = recorder__slot_collected(rec, b->slot);
		if (sum) {
			sum->alloc += b->alloc_bytes;
			sum->outstanding += b->outstanding_bytes;
		}
	}
	while (hmap__next(est, &it, &key, NULL, &val)) {
		struct slot_scale *scale = val;
		struct ms_proc_stats st;

		if (tracer__proc_stats(s->rc.tracer, *(const uint32_t *)key, &st)) {
			scale->alloc = scale->outstanding = 1;
			continue;
		}
		scale->alloc = scale_of(st.alloc_bytes, scale->alloc);
		scale->outstanding = scale_of((double)(int64_t)(st.alloc_bytes - st.free_bytes),
					      scale->outstanding);
	}
	/* The pid of each slot, for the outputs that label stacks with it. */
	for (size_t i = 0; i < s->model->nprocs; i++) {
		const struct rec_proc *p = &s->model->procs[i];
		struct slot_scale *sc = hmap__find(est, &p->info.slot, sizeof(p->info.slot));

		if (sc) {
			sc->tgid = p->key.tgid;
			sc->have_tgid = true;
		}
	}
	return est;
}

/* Every bucket with bytes to show, or with sampled bytes still held (the
 * class split ranks stacks by those), in the recorder's order. */
static int add_buckets(struct session *s)
{
	const struct recorder *rec = s->rc.recorder;
	size_t nb = recorder__nbuckets(rec);
	struct hmap *scales = slot_scales(s);
	int err = 0;

	if (!scales)
		return -ENOMEM;
	for (size_t i = 0; i < nb && !err; i++) {
		const struct rec_bucket *b = recorder__bucket(rec, i);
		struct slot_scale *sc = b->dead ? NULL : hmap__find(scales, &b->slot, sizeof(b->slot));
		uint64_t alloc = b->alloc_bytes * (sc ? sc->alloc : 1) + 0.5;
		uint64_t outstanding = b->outstanding_bytes * (sc ? sc->outstanding : 1) + 0.5;
		struct rec_stack *st;

		if (b->dead || !(alloc || outstanding || b->outstanding_bytes))
			continue;
		if ((err = session__name_stack(&s->rc, s->model, b, &st)))
			break;
		st->alloc = alloc;
		st->outstanding = outstanding;
		st->sampled_outstanding = b->outstanding_bytes;
		st->have_pid = sc && sc->have_tgid;
		st->pid = st->have_pid ? sc->tgid : 0;
	}
	hmap__free(scales);
	return err;
}

/* --js-heap's stacks: V8's heap as their class, the js-heap label, then the
 * JS frames (jsheap.h), JIT code but for the one standing for those past
 * the depth limit. */
static int add_js(void *ctx, uint32_t pid, const char *label, const char *comm,
		  const char *const *frames, size_t n, uint64_t bytes)
{
	struct recording *r = ctx;
	struct rec_stack *s = recording__add_stack(r, n + 1);

	if (!s)
		return -ENOMEM;
	s->js = true;
	s->pid = pid;
	s->have_pid = true;
	s->cls = MEM_CLASS_V8_HEAP;
	s->outstanding = s->sampled_outstanding = bytes;
	if (!(s->container = recording__intern(r, label)) ||
	    !(s->comm = recording__intern(r, comm)) || !(s->thread = recording__intern(r, "")))
		return -ENOMEM;
	s->frames[0] = (struct frame){ .kind = FRAME_LABEL,
				       .name = recording__intern(r, JSHEAP_LABEL) };
	if (!s->frames[0].name)
		return -ENOMEM;
	s->nframes = 1;
	for (size_t i = 0; i < n; i++) {
		struct frame *f = &s->frames[s->nframes++];

		*f = (struct frame){
			.kind = strcmp(frames[i], JSHEAP_DEEPER) ? FRAME_JIT : FRAME_USER,
			.mapping = REC_MAPPING_JIT, .name = recording__intern(r, frames[i]),
		};
		if (!f->name)
			return -ENOMEM;
	}
	return 0;
}

struct cgroup_naming {
	struct recording *r;
	struct cgroups *cg;	/* NULL: every cgroup by id only */
	int err;
};

/* Names cgid in the recording, once, as the cgroup table knows it now:
 * the totals print these after the session may have rescanned or gone. */
static void name_cgroup(struct cgroup_naming *n, uint64_t cgid)
{
	char label[REC_LABEL_LEN];
	int err;

	if (n->err || recording__cgroup(n->r, cgid))
		return;
	container__cgroup_label(n->cg, cgid, label, sizeof(label));
	err = recording__set_cgroup(n->r, cgid, n->cg ? cgroups__path(n->cg, cgid) : NULL, label);
	if (err)
		n->err = err;
}

static void name_exited(void *ctx, uint64_t cgid, const struct proc_exit_totals *e)
{
	(void)e;
	if (cgid != PROC_EXITS_OTHER)
		name_cgroup(ctx, cgid);
}

/* The cgroups the totals show: of every process with counters, and of
 * every process that exited. */
static int name_cgroups(struct session *s)
{
	struct cgroup_naming n = { .r = s->model, .cg = s->rc.cgroups };

	for (size_t i = 0; i < n.r->nprocs; i++)
		if (n.r->procs[i].have_stats)
			name_cgroup(&n, n.r->procs[i].key.cgid);
	proc_exits__each(s->rc.exits, name_exited, &n);
	return n.err;
}

int session__model(struct session *s)
{
	struct recording *r = recording__new();
	struct tracer *t = s->rc.tracer;
	struct proc_copy pc = { .s = s };
	int err;

	if (!r)
		return -ENOMEM;
	recording__free(s->model);
	s->model = r;
	r->sample_every = s->rc.sample_every;
	r->outstanding = s->rc.outstanding;
	r->seconds = s->rc.seconds;
	r->page_size = tracer__page_size(t);
	r->hook = tracer__hook(t) == HOOK_RAW_TP ? "raw_tp" : "tracepoint";
	r->oom_hook = tracer__oom_hook(t);
	r->exits = s->rc.exits;
	r->split = s->rc.split;
	r->js = s->rc.js;
	tracer__for_each_proc(t, copy_proc, &pc);
	tracer__proc_stats(t, MS_SLOT_OVERFLOW, &r->overflow);
	tracer__drops(t, &r->drops);
	recorder__stats(s->rc.recorder, &r->rs);
	if (pc.err)
		return pc.err;
	if ((err = name_cgroups(s)) || (err = add_buckets(s)))
		return err;
	return jsheap_run__each(s->rc.js, add_js, r);
}

int session__name_stack(const struct record_ctx *c, struct recording *r,
			const struct rec_bucket *b, struct rec_stack **out)
{
	uint64_t ips[MAX_KFRAMES];
	size_t nk = 0;

	if (tracer__kstack(c->tracer, b->kstack_id, ips, MAX_KFRAMES, &nk))
		nk = 0;
	return stack_names__bucket(r, c, b, ips, nk, out);
}

/* oom_report's namer: the session's own (ctx is its record_ctx). */
static int name_for_oom(const void *ctx, struct recording *r, const struct rec_bucket *b,
			struct rec_stack **out)
{
	return session__name_stack(ctx, r, b, out);
}

void session__oom_sources(struct session *s, struct oom_sources *src)
{
	src->recorder = s->rc.recorder;
	src->sample_every = s->rc.sample_every;
	src->split = s->rc.split;
	src->cgroups = s->rc.cgroups;
	src->hier = s->have_hier ? &s->hier : NULL;
	src->pages = tracer__page_records(s->rc.tracer);
	src->page_size = tracer__page_size(s->rc.tracer);
	src->oom_hook = tracer__oom_hook(s->rc.tracer);
	src->name_stack = name_for_oom;
	src->name_ctx = &s->rc;
}
