#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "elf_file.h"
#include "hmap.h"
#include "log.h"
#include "memclass.h"
#include "procname.h"
#include "recorder.h"
#include "unwind.h"

/* Interning key of a bucket: everything that makes two samples the same line
 * of output, followed by the resolved frames. */
struct bucket_key {
	uint64_t cgid;
	uint32_t slot;
	int32_t kstack_id;
	uint8_t cls;
	char comm[MS_COMM_LEN];
	char thread[MS_COMM_LEN];
	struct uframe frames[MS_MAX_USTACK + 1];
};

struct unwind_ctx {
	struct usyms *usyms;
	int pid;
};

struct live_sample {
	uint32_t bucket;
	uint64_t weight;
	uint64_t seq;		/* arrival order, for pruning */
	uint32_t seen_epoch;
	uint32_t missed;	/* scans in a row that did not find its page */
};

/* A process's name for each thread name seen (procname.h): read from /proc
 * once per thread name, not per sample. An exec renames every thread, so a
 * new thread name is also how a new program in the same process shows. */
#define PROC_NAMES	8

struct proc_seen {
	uint64_t start_ns;
	bool mapped;			/* its mappings were noted */
	uint32_t n_names, next_name;	/* next_name: the entry replaced when full */
	struct {
		char thread[MS_COMM_LEN];
		char name[MS_COMM_LEN];
	} names[PROC_NAMES];
};

/* Per slot, outstanding mode only. */
struct slot_acct {
	uint32_t live;		/* live samples in its buckets */
	uint64_t collected;	/* alloc_bytes of its collected buckets */
};

struct recorder {
	uint32_t sample_every;
	uint64_t page_size;
	bool outstanding;
	bool keep_freed;		/* no bucket collection */
	struct usyms *usyms;
	const char *proc_root;		/* where process names are read */
	struct hmap *bucket_ids;	/* struct bucket_key prefix -> uint32_t index */
	struct rec_bucket *buckets;
	size_t nbuckets, cap;
	struct hmap *live;		/* uint32_t sample id -> struct live_sample */
	struct hmap *procs;		/* uint32_t tgid -> struct proc_seen */
	struct hmap *slots;		/* uint32_t slot -> struct slot_acct */
	uint32_t *free_ids;		/* indices of collected buckets, reused first */
	size_t nfree, free_cap;
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
	r->proc_root = "/proc";
	r->bucket_ids = hmap__new(sizeof(uint32_t));
	r->live = hmap__new(sizeof(struct live_sample));
	r->procs = hmap__new(sizeof(struct proc_seen));
	r->slots = hmap__new(sizeof(struct slot_acct));
	if (!r->bucket_ids || !r->live || !r->procs || !r->slots) {
		recorder__free(r);
		errno = ENOMEM;
		return NULL;
	}
	return r;
}

/* The entry of the sample's process, made anew when its pid now belongs to
 * another process. NULL: out of memory. */
static struct proc_seen *proc_of(struct recorder *r, const struct ms_sample *s)
{
	bool created;
	struct proc_seen *p = hmap__upsert(r->procs, &s->tgid, sizeof(s->tgid), &created);

	if (!p || (!created && p->start_ns == s->start_ns))
		return p;
	if (!created && p->mapped)
		usyms__forget_pid(r->usyms, s->tgid);
	memset(p, 0, sizeof(*p));
	p->start_ns = s->start_ns;
	return p;
}

/* Snapshot a process's mappings the first time it shows up with user
 * frames: it may be gone when we symbolize. */
static void note_process(struct recorder *r, const struct ms_sample *s, struct proc_seen *p)
{
	if (!p || p->mapped)
		return;
	p->mapped = true;
	if (usyms__add_pid(r->usyms, s->tgid))
		log_debug("pid %u exited before its mappings could be read", s->tgid);
}

/* The process's name for the COMM frame, not the allocating thread's. */
static void process_name(struct recorder *r, const struct ms_sample *s, struct proc_seen *p,
			 char out[MS_COMM_LEN])
{
	char thread[MS_COMM_LEN + 1], name[PROCNAME_LEN];
	uint32_t at;

	snprintf(thread, sizeof(thread), "%.*s", MS_COMM_LEN, s->comm);
	for (uint32_t i = 0; p && i < p->n_names; i++) {
		if (!strncmp(p->names[i].thread, s->comm, MS_COMM_LEN)) {
			memcpy(out, p->names[i].name, MS_COMM_LEN);
			return;
		}
	}
	procname__read(r->proc_root, s->tgid, s->start_ns, thread, name);
	memset(out, 0, MS_COMM_LEN);
	memcpy(out, name, strnlen(name, MS_COMM_LEN));
	if (!p)
		return;
	at = p->n_names < PROC_NAMES ? p->n_names++ : p->next_name++ % PROC_NAMES;
	memcpy(p->names[at].thread, s->comm, MS_COMM_LEN);
	memcpy(p->names[at].name, out, MS_COMM_LEN);
}

void recorder__set_proc_root(struct recorder *r, const char *proc_root)
{
	r->proc_root = proc_root;
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

static int rule_of(void *ctx, uint64_t addr, struct unwind_rule *rule)
{
	struct unwind_ctx *c = ctx;

	return usyms__unwind_rule(c->usyms, c->pid, addr, rule);
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* The sample's whole user stack into ips: by CFI through the copied stack,
 * then by the frame-pointer chain BPF walked (unwind.h). */
static size_t unwind_sample(struct recorder *r, const struct ms_sample *s, uint64_t *ips,
			    size_t max)
{
	struct unwind_ctx c = { .usyms = r->usyms, .pid = (int)s->tgid };
	size_t len = s->snap_len < MS_STACK_SNAP ? s->snap_len : MS_STACK_SNAP;
	size_t fp_len = s->ustack_len < MS_MAX_USTACK ? s->ustack_len : MS_MAX_USTACK;
	struct unwind_input in = {
		.ip = s->ip, .sp = s->sp, .bp = s->bp,
		.stack = s->snap, .stack_len = len,
		.fp_chain = (const uint64_t *)s->ustack, .fp_len = fp_len,
	};
	struct unwind_result res;
	uint64_t t0 = mono_ns();
	size_t n = unwind__stack(&in, rule_of, &c, ips, max, &res);

	r->stats.unwind_ns += mono_ns() - t0;
	r->stats.unwinds++;
	r->stats.stack_bytes += len;
	r->stats.unwind_stops[res.stop]++;
	if (res.spliced)
		r->stats.unwinds_spliced++;
	return n;
}

static size_t key_len(size_t nframes)
{
	return offsetof(struct bucket_key, frames) + nframes * sizeof(struct uframe);
}

/* The interning key of bucket b's stack with class cls; returns its length. */
static size_t key_of(const struct rec_bucket *b, uint8_t cls, struct bucket_key *key)
{
	memset(key, 0, offsetof(struct bucket_key, frames));
	key->cgid = b->cgid;
	key->slot = b->slot;
	key->kstack_id = b->kstack_id;
	key->cls = cls;
	memcpy(key->comm, b->comm, sizeof(key->comm));
	memcpy(key->thread, b->thread, sizeof(key->thread));
	memcpy(key->frames, b->frames, b->nframes * sizeof(key->frames[0]));
	return key_len(b->nframes);
}

/* An index for a new bucket: a collected one, or one more at the end. */
static int take_index(struct recorder *r, uint32_t *id)
{
	if (r->nfree) {
		*id = r->free_ids[--r->nfree];
		return 0;
	}
	if (r->nbuckets == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 1024;
		void *nb = realloc(r->buckets, cap * sizeof(*r->buckets));

		if (!nb)
			return -ENOMEM;
		r->buckets = nb;
		r->cap = cap;
	}
	*id = r->nbuckets++;
	return 0;
}

/* Only called with an index that was taken or collected: the free list has
 * room for every index below nbuckets. */
static void put_index(struct recorder *r, uint32_t id)
{
	r->free_ids[r->nfree++] = id;
}

static int reserve_free(struct recorder *r)
{
	void *p;

	if (r->free_cap >= r->nbuckets)
		return 0;
	p = realloc(r->free_ids, r->cap * sizeof(*r->free_ids));
	if (!p)
		return -ENOMEM;
	r->free_ids = p;
	r->free_cap = r->cap;
	return 0;
}

static struct rec_bucket *intern_bucket(struct recorder *r, const struct bucket_key *k,
					 size_t nframes, uint32_t *id)
{
	size_t klen = key_len(nframes);
	struct rec_bucket *b;
	uint32_t *slot, at;
	bool created;

	slot = hmap__upsert(r->bucket_ids, k, klen, &created);
	if (!slot)
		return NULL;
	if (!created) {
		*id = *slot;
		return &r->buckets[*slot];
	}
	if (take_index(r, &at))
		goto nomem;
	b = &r->buckets[at];
	memset(b, 0, sizeof(*b));
	b->frames = malloc(nframes * sizeof(*b->frames) + 1);
	if (!b->frames || reserve_free(r)) {
		free(b->frames);
		b->frames = NULL;
		b->dead = true;
		if (r->free_cap >= r->nbuckets)
			put_index(r, at);
		goto nomem;
	}
	memcpy(b->frames, k->frames, nframes * sizeof(*b->frames));
	b->nframes = nframes;
	b->cgid = k->cgid;
	b->slot = k->slot;
	b->kstack_id = k->kstack_id;
	b->cls = k->cls;
	memcpy(b->comm, k->comm, sizeof(b->comm));
	memcpy(b->thread, k->thread, sizeof(b->thread));
	*slot = *id = at;
	return b;
nomem:
	hmap__delete(r->bucket_ids, k, klen);
	return NULL;
}

/* A live sample of bucket id is gone (pruned, or its id reused). */
static void release_sample(struct recorder *r, uint32_t id)
{
	struct rec_bucket *b = &r->buckets[id];
	struct slot_acct *a = hmap__find(r->slots, &b->slot, sizeof(b->slot));

	if (b->live)
		b->live--;
	if (a && a->live)
		a->live--;
}

static void hold_sample(struct recorder *r, uint32_t id)
{
	struct rec_bucket *b = &r->buckets[id];
	struct slot_acct *a = hmap__upsert(r->slots, &b->slot, sizeof(b->slot), NULL);

	b->live++;
	if (a)
		a->live++;
}

/* Its stack no longer holds anything the output would show. */
static void collect_bucket(struct recorder *r, uint32_t id)
{
	struct rec_bucket *b = &r->buckets[id];
	struct slot_acct *a = hmap__find(r->slots, &b->slot, sizeof(b->slot));
	struct bucket_key key;

	hmap__delete(r->bucket_ids, &key, key_of(b, b->cls, &key));
	if (a)
		a->collected += b->alloc_bytes;
	free(b->frames);
	memset(b, 0, sizeof(*b));
	b->dead = true;
	put_index(r, id);
}

void recorder__on_sample(struct recorder *r, const struct ms_sample *s)
{
	uint64_t ips[MS_MAX_USTACK + 1];
	struct bucket_key key;
	struct live_sample *ls;
	struct proc_seen *p;
	struct rec_bucket *b;
	size_t n = s->ustack_len;
	uint64_t weight;
	bool created;
	uint32_t id;

	r->stats.samples++;
	if (n > MS_MAX_USTACK)
		n = MS_MAX_USTACK;

	memset(&key, 0, offsetof(struct bucket_key, frames));
	key.cgid = s->cgid;
	key.slot = s->slot;
	key.kstack_id = s->kstack_id;
	p = proc_of(r, s);
	process_name(r, s, p, key.comm);
	memcpy(key.thread, s->comm, sizeof(key.thread));
	if (n || s->ip) {
		note_process(r, s, p);
		n = unwind_sample(r, s, ips, MS_MAX_USTACK + 1);
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
	ls = hmap__upsert(r->live, &(uint32_t){ (uint32_t)s->id }, sizeof(uint32_t), &created);
	if (!ls) {
		r->stats.samples_dropped_nomem++;
		return;
	}
	if (!created)
		release_sample(r, ls->bucket);	/* an id comes back once its page is gone */
	hold_sample(r, id);
	ls->bucket = id;
	ls->weight = weight;
	ls->seq = ++r->seq;
	ls->seen_epoch = r->epoch;
	ls->missed = 0;
}

/* Calls fn for every sampled page record: still allocated, or (with
 * frozen) freed since its owner was frozen as an OOM victim. */
typedef void (*sampled_page_fn)(struct recorder *r, struct live_sample *ls, uint64_t pfn,
				uint64_t rec, void *ctx);

static int for_each_sampled_page(struct recorder *r, struct page_records *pr, bool frozen,
				 sampled_page_fn fn, void *ctx)
{
	uint64_t pfn = 0, rec;
	int got;

	for (; (got = page_records__next_sampled(pr, &pfn, &rec)) > 0; pfn++) {
		uint32_t id = ms_rec_sample(rec);
		struct live_sample *ls;

		if (!frozen && !ms_rec_live(rec))
			continue;
		ls = hmap__find(r->live, &id, sizeof(id));
		if (ls)
			fn(r, ls, pfn, rec, ctx);
	}
	page_records__release(pr);
	return got < 0 ? got : 0;
}

static void mark_seen(struct recorder *r, struct live_sample *ls, uint64_t pfn, uint64_t rec,
		      void *ctx)
{
	(void)pfn, (void)rec, (void)ctx;
	ls->seen_epoch = r->epoch;
}

void recorder__prune(struct recorder *r, struct page_records *pr, uint64_t (*moves)(void *ctx),
		     void *ctx)
{
	uint64_t moved_before = moves ? moves(ctx) : 0;
	uint32_t misses_needed;
	uint64_t before = r->seq;	/* samples that arrive during the scan are kept */
	const void *key;
	size_t it = 0;
	void *val;

	if (!r->outstanding || !pr)
		return;
	r->epoch++;
	/* Frozen records are OOM evidence: keep their samples. A scan cut
	 * short says nothing about the rest: forget nothing then. */
	if (for_each_sampled_page(r, pr, true, mark_seen, NULL)) {
		r->stats.record_scans_failed++;
		return;
	}
	misses_needed = moves && moves(ctx) != moved_before ? 2 : 1;
	while (hmap__next(r->live, &it, &key, NULL, &val)) {
		struct live_sample *ls = val;

		if (ls->seen_epoch == r->epoch || ls->seq > before) {
			ls->missed = 0;
			continue;
		}
		/* Missing from a scan while pages moved may be a page that
		 * moved from a frame the scan had not reached to one it had
		 * passed: then only a second miss in a row frees it. */
		if (++ls->missed >= misses_needed) {
			release_sample(r, ls->bucket);
			hmap__delete(r->live, key, sizeof(uint32_t));
		}
	}
	/* A settled bucket keeps its outstanding bytes until the next settle. */
	for (size_t i = 0; i < r->nbuckets && !r->keep_freed; i++) {
		const struct rec_bucket *b = &r->buckets[i];

		if (!b->dead && !b->live && !b->outstanding_bytes)
			collect_bucket(r, i);
	}
}

void recorder__keep_freed(struct recorder *r)
{
	r->keep_freed = true;
}

size_t recorder__nlive(const struct recorder *r)
{
	return hmap__count(r->live);
}

uint32_t recorder__slot_live(const struct recorder *r, uint32_t slot)
{
	const struct slot_acct *a = hmap__find(r->slots, &slot, sizeof(slot));

	return a ? a->live : 0;
}

uint64_t recorder__slot_collected(const struct recorder *r, uint32_t slot)
{
	const struct slot_acct *a = hmap__find(r->slots, &slot, sizeof(slot));

	return a ? a->collected : 0;
}

void recorder__forget_slot(struct recorder *r, uint32_t slot)
{
	hmap__delete(r->slots, &slot, sizeof(slot));
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

	key_of(b, cls, &key);
	return intern_bucket(r, &key, b->nframes, id) ? 0 : -ENOMEM;
}

/* What a held page record stands for in the output: the sample's weight,
 * or the page's own bytes when those are more. A huge page that khugepaged
 * made out of small pages carries one of their samples (each stood for
 * sample_every pages): the 2 MiB it holds now would otherwise count as one
 * small sample's share, and the process's other stacks gain what it loses. */
static uint64_t held_weight(const struct recorder *r, const struct live_sample *ls, uint64_t rec)
{
	uint32_t order = ms_rec_split(rec) || ms_rec_tail(rec) ? 0 : ms_rec_order(rec);
	uint64_t bytes = r->page_size << order;

	return bytes > ls->weight ? bytes : ls->weight;
}

static void add_outstanding(struct recorder *r, struct live_sample *ls, uint64_t pfn, uint64_t rec,
			    void *ctx)
{
	const struct classifier *c = ctx;
	uint32_t id = ls->bucket;
	uint8_t cls;

	cls = c && c->fn ? c->fn(c->ctx, pfn) : MEM_CLASS_NONE;
	if (cls != MEM_CLASS_NONE && classified_bucket(r, ls->bucket, cls, &id))
		r->stats.samples_dropped_nomem++;
	r->buckets[id].outstanding_bytes += held_weight(r, ls, rec);
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
		*b += held_weight(r, ls, rec);
}

int recorder__slot_evidence(struct recorder *r, struct page_records *pr,
			    uint32_t slot, recorder_bucket_fn fn, void *ctx)
{
	struct evidence ev = { .slot = slot, .bytes = hmap__new(sizeof(uint64_t)) };
	const void *key;
	size_t it = 0;
	void *val;
	int count = 0, err = 0;

	if (!ev.bytes)
		return -ENOMEM;
	if (pr)
		err = for_each_sampled_page(r, pr, true, add_evidence, &ev);
	while (!err && hmap__next(ev.bytes, &it, &key, NULL, &val)) {
		fn(ctx, &r->buckets[*(const uint32_t *)key], *(uint64_t *)val);
		count++;
	}
	hmap__free(ev.bytes);
	return err ? err : count;
}

void recorder__settle_classified(struct recorder *r, struct page_records *pr,
				 recorder_class_fn fn, void *ctx)
{
	struct classifier c = { fn, ctx };

	for (size_t i = 0; i < r->nbuckets; i++)
		r->buckets[i].outstanding_bytes = 0;
	if (r->outstanding && pr && for_each_sampled_page(r, pr, false, add_outstanding, &c))
		r->stats.record_scans_failed++;
}

void recorder__settle(struct recorder *r, struct page_records *pr)
{
	recorder__settle_classified(r, pr, NULL, NULL);
}

size_t recorder__nbuckets(const struct recorder *r) { return r->nbuckets; }

size_t recorder__nlive_buckets(const struct recorder *r) { return r->nbuckets - r->nfree; }

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
	hmap__free(r->slots);
	free(r->free_ids);
	free(r);
}
