#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "elf_file.h"
#include "hmap.h"
#include "log.h"
#include "memclass.h"
#include "recorder.h"

/* Interning key of a bucket: everything that makes two samples the same line
 * of output, followed by the resolved frames. */
struct bucket_key {
	uint64_t cgid;
	uint32_t slot;
	int32_t kstack_id;
	uint8_t cls;
	char comm[MS_COMM_LEN];
	struct uframe frames[MS_MAX_USTACK + 1];
};

struct live_sample {
	uint32_t bucket;
	uint64_t weight;
	uint64_t seq;		/* arrival order, for pruning */
	uint32_t seen_epoch;
};

struct proc_seen {
	uint64_t start_ns;
};

struct recorder {
	uint32_t sample_every;
	uint64_t page_size;
	bool outstanding;
	struct usyms *usyms;
	struct hmap *bucket_ids;	/* struct bucket_key prefix -> uint32_t index */
	struct rec_bucket *buckets;
	size_t nbuckets, cap;
	struct hmap *live;		/* uint32_t sample id -> struct live_sample */
	struct hmap *procs;		/* uint32_t tgid -> struct proc_seen */
	uint64_t seq;
	uint32_t epoch;
	struct recorder_stats stats;
};

uint64_t recorder__weight(uint32_t every, uint64_t page_size, uint32_t order)
{
	uint64_t bytes = page_size << order;
	uint64_t period = (uint64_t)(every ? every : 1) * page_size;

	/* Sampled with probability bytes/period (capped at 1): weight = 1/p. */
	return bytes >= period || order >= MS_MAX_ORDER ? bytes : period;
}

struct recorder *recorder__new(uint32_t sample_every, uint64_t page_size, bool outstanding,
			       struct usyms *usyms)
{
	struct recorder *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->sample_every = sample_every;
	r->page_size = page_size;
	r->outstanding = outstanding;
	r->usyms = usyms;
	r->bucket_ids = hmap__new(sizeof(uint32_t));
	r->live = hmap__new(sizeof(struct live_sample));
	r->procs = hmap__new(sizeof(struct proc_seen));
	if (!r->bucket_ids || !r->live || !r->procs) {
		recorder__free(r);
		errno = ENOMEM;
		return NULL;
	}
	return r;
}

/* Snapshot a process's mappings the first time it shows up (or when its pid
 * now belongs to another process): it may be gone when we symbolize. */
static void note_process(struct recorder *r, const struct ms_sample *s)
{
	bool created;
	struct proc_seen *p = hmap__upsert(r->procs, &s->tgid, sizeof(s->tgid), &created);

	if (!p)
		return;
	if (!created && p->start_ns == s->start_ns)
		return;
	if (!created)
		usyms__forget_pid(r->usyms, s->tgid);
	p->start_ns = s->start_ns;
	if (usyms__add_pid(r->usyms, s->tgid))
		log_debug("pid %u exited before its mappings could be read", s->tgid);
}

size_t recorder__forget_exited(struct recorder *r, bool (*gone)(uint32_t tgid, uint64_t start_ns))
{
	const void *key;
	size_t it = 0, n = 0;
	void *val;

	while (hmap__next(r->procs, &it, &key, NULL, &val)) {
		uint32_t tgid = *(const uint32_t *)key;

		if (!gone(tgid, ((struct proc_seen *)val)->start_ns))
			continue;
		usyms__forget_pid(r->usyms, tgid);
		hmap__delete(r->procs, key, sizeof(tgid));
		n++;
	}
	return n;
}

/* The page is usually first touched in a frameless libc leaf (memset): the
 * frame-pointer walk then goes from the leaf straight to its caller's caller.
 * The leaf's CFI gives the return address the walk skipped. */
static size_t repair_leaf(struct recorder *r, const struct ms_sample *s, uint64_t *ips, size_t n)
{
	struct unwind_regs regs = {
		.ip = s->ip, .sp = s->sp, .bp = s->bp,
		.stack = s->snap, .stack_len = s->snap_len,
	};
	uint64_t ra;

	if (!n || !s->snap_len || ips[0] != s->ip)
		return n;
	if (usyms__leaf_caller(r->usyms, s->tgid, &regs, &ra)) {
		r->stats.leaf_unwind_failed++;
		return n;
	}
	if (n >= 2 && ips[1] == ra)
		return n;	/* the leaf had its own frame: the walk was right */
	if (n == MS_MAX_USTACK + 1)
		n--;
	memmove(&ips[2], &ips[1], (n - 1) * sizeof(ips[0]));
	ips[1] = ra;
	r->stats.leaf_callers_recovered++;
	return n + 1;
}

static struct rec_bucket *intern_bucket(struct recorder *r, const struct bucket_key *k,
					 size_t nframes, uint32_t *id)
{
	size_t klen = offsetof(struct bucket_key, frames) + nframes * sizeof(k->frames[0]);
	struct rec_bucket *b;
	uint32_t *slot;
	bool created;

	slot = hmap__upsert(r->bucket_ids, k, klen, &created);
	if (!slot)
		return NULL;
	if (!created) {
		*id = *slot;
		return &r->buckets[*slot];
	}
	if (r->nbuckets == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 1024;
		void *nb = realloc(r->buckets, cap * sizeof(*r->buckets));

		if (!nb)
			goto nomem;
		r->buckets = nb;
		r->cap = cap;
	}
	b = &r->buckets[r->nbuckets];
	memset(b, 0, sizeof(*b));
	b->frames = malloc(nframes * sizeof(*b->frames) + 1);
	if (!b->frames)
		goto nomem;
	memcpy(b->frames, k->frames, nframes * sizeof(*b->frames));
	b->nframes = nframes;
	b->cgid = k->cgid;
	b->slot = k->slot;
	b->kstack_id = k->kstack_id;
	b->cls = k->cls;
	memcpy(b->comm, k->comm, sizeof(b->comm));
	*slot = *id = r->nbuckets++;
	return b;
nomem:
	hmap__delete(r->bucket_ids, k, klen);
	return NULL;
}

void recorder__on_sample(struct recorder *r, const struct ms_sample *s)
{
	uint64_t ips[MS_MAX_USTACK + 1];
	struct bucket_key key;
	struct live_sample *ls;
	struct rec_bucket *b;
	size_t n = s->ustack_len;
	uint64_t weight;
	uint32_t id;

	r->stats.samples++;
	if (n > MS_MAX_USTACK)
		n = MS_MAX_USTACK;
	memcpy(ips, s->ustack, n * sizeof(ips[0]));
	if (!n && s->ip)
		ips[n++] = s->ip;	/* walk failed, but we know where it faulted */

	memset(&key, 0, offsetof(struct bucket_key, frames));
	key.cgid = s->cgid;
	key.slot = s->slot;
	key.kstack_id = s->kstack_id;
	memcpy(key.comm, s->comm, sizeof(key.comm));
	if (n) {
		note_process(r, s);
		n = repair_leaf(r, s, ips, n);
	}
	for (size_t i = 0; i < n; i++) {
		if (usyms__resolve(r->usyms, s->tgid, ips[i], &key.frames[i])) {
			key.frames[i] = (struct uframe){ .module = 0, .vaddr = ips[i] };
			r->stats.frames_unresolved++;
		}
	}
	b = intern_bucket(r, &key, n, &id);
	if (!b) {
		r->stats.samples_dropped_nomem++;
		return;
	}
	weight = recorder__weight(r->sample_every, r->page_size, s->order);
	b->alloc_bytes += weight;
	b->samples++;
	if (!r->outstanding)
		return;
	ls = hmap__upsert(r->live, &(uint32_t){ (uint32_t)s->id }, sizeof(uint32_t), NULL);
	if (!ls) {
		r->stats.samples_dropped_nomem++;
		return;
	}
	ls->bucket = id;
	ls->weight = weight;
	ls->seq = ++r->seq;
	ls->seen_epoch = r->epoch;
}

/* Calls fn for every sampled page record: still allocated, or (with
 * frozen) freed since its owner was frozen as an OOM victim. */
typedef void (*sampled_page_fn)(struct recorder *r, struct live_sample *ls, uint64_t pfn,
				uint64_t rec, void *ctx);

static void for_each_sampled_page(struct recorder *r, const volatile uint64_t *pages, size_t n,
				  bool frozen, sampled_page_fn fn, void *ctx)
{
	for (size_t pfn = 0; pfn < n; pfn++) {
		uint64_t rec = pages[pfn];
		uint32_t id = ms_rec_sample(rec);
		struct live_sample *ls;

		if (!rec || !id || (!frozen && !ms_rec_live(rec)))
			continue;
		ls = hmap__find(r->live, &id, sizeof(id));
		if (ls)
			fn(r, ls, pfn, rec, ctx);
	}
}

static void mark_seen(struct recorder *r, struct live_sample *ls, uint64_t pfn, uint64_t rec,
		      void *ctx)
{
	(void)pfn, (void)rec, (void)ctx;
	ls->seen_epoch = r->epoch;
}

void recorder__prune(struct recorder *r, const volatile uint64_t *pages, size_t n)
{
	uint64_t before = r->seq;	/* samples that arrive during the scan are kept */
	const void *key;
	size_t it = 0;
	void *val;

	if (!r->outstanding || !pages)
		return;
	r->epoch++;
	/* Frozen records are OOM evidence: keep their samples. */
	for_each_sampled_page(r, pages, n, true, mark_seen, NULL);
	while (hmap__next(r->live, &it, &key, NULL, &val)) {
		struct live_sample *ls = val;

		if (ls->seen_epoch != r->epoch && ls->seq <= before)
			hmap__delete(r->live, key, sizeof(uint32_t));
	}
}

struct classifier {
	recorder_class_fn fn;
	void *ctx;
};

/* The bucket of b's stack with class cls, made on first use. */
static int classified_bucket(struct recorder *r, uint32_t base, uint8_t cls, uint32_t *id)
{
	const struct rec_bucket *b = &r->buckets[base];
	struct bucket_key key;

	memset(&key, 0, offsetof(struct bucket_key, frames));
	key.cgid = b->cgid;
	key.slot = b->slot;
	key.kstack_id = b->kstack_id;
	key.cls = cls;
	memcpy(key.comm, b->comm, sizeof(key.comm));
	memcpy(key.frames, b->frames, b->nframes * sizeof(key.frames[0]));
	return intern_bucket(r, &key, b->nframes, id) ? 0 : -ENOMEM;
}

static void add_outstanding(struct recorder *r, struct live_sample *ls, uint64_t pfn, uint64_t rec,
			    void *ctx)
{
	const struct classifier *c = ctx;
	uint32_t id = ls->bucket;
	uint8_t cls;

	(void)rec;
	cls = c && c->fn ? c->fn(c->ctx, pfn) : MEM_CLASS_NONE;
	if (cls != MEM_CLASS_NONE && classified_bucket(r, ls->bucket, cls, &id))
		r->stats.samples_dropped_nomem++;
	r->buckets[id].outstanding_bytes += ls->weight;
}

struct evidence {
	uint32_t slot;
	struct hmap *bytes;	/* bucket id -> uint64_t */
};

static void add_evidence(struct recorder *r, struct live_sample *ls, uint64_t pfn, uint64_t rec,
			 void *ctx)
{
	struct evidence *ev = ctx;
	uint64_t *b;

	(void)r, (void)pfn;
	if (ms_rec_slot(rec) != ev->slot)
		return;
	b = hmap__upsert(ev->bytes, &ls->bucket, sizeof(ls->bucket), NULL);
	if (b)
		*b += ls->weight;
}

int recorder__slot_evidence(struct recorder *r, const volatile uint64_t *pages, size_t n,
			    uint32_t slot, recorder_bucket_fn fn, void *ctx)
{
	struct evidence ev = { .slot = slot, .bytes = hmap__new(sizeof(uint64_t)) };
	const void *key;
	size_t it = 0;
	void *val;
	int count = 0;

	if (!ev.bytes)
		return -ENOMEM;
	if (pages)
		for_each_sampled_page(r, pages, n, true, add_evidence, &ev);
	while (hmap__next(ev.bytes, &it, &key, NULL, &val)) {
		fn(ctx, &r->buckets[*(const uint32_t *)key], *(uint64_t *)val);
		count++;
	}
	hmap__free(ev.bytes);
	return count;
}

void recorder__settle_classified(struct recorder *r, const volatile uint64_t *pages, size_t n,
				 recorder_class_fn fn, void *ctx)
{
	struct classifier c = { fn, ctx };

	for (size_t i = 0; i < r->nbuckets; i++)
		r->buckets[i].outstanding_bytes = 0;
	if (r->outstanding && pages)
		for_each_sampled_page(r, pages, n, false, add_outstanding, &c);
}

void recorder__settle(struct recorder *r, const volatile uint64_t *pages, size_t n)
{
	recorder__settle_classified(r, pages, n, NULL, NULL);
}

size_t recorder__nbuckets(const struct recorder *r) { return r->nbuckets; }

const struct rec_bucket *recorder__bucket(const struct recorder *r, size_t i)
{
	return i < r->nbuckets ? &r->buckets[i] : NULL;
}

void recorder__stats(const struct recorder *r, struct recorder_stats *out) { *out = r->stats; }

void recorder__free(struct recorder *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->nbuckets; i++)
		free(r->buckets[i].frames);
	free(r->buckets);
	hmap__free(r->bucket_ids);
	hmap__free(r->live);
	hmap__free(r->procs);
	free(r);
}
