#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cgroups.h"
#include "container.h"
#include "folded.h"
#include "hmap.h"
#include "jsheap_run.h"
#include "ksyms.h"
#include "memclass.h"
#include "record_output.h"
#include "recorder.h"
#include "tracer.h"
#include "usyms.h"


void record_output__label(struct cgroups *cg, uint64_t cgid, char *buf, size_t len)
{
	const char *path = cg ? cgroups__path(cg, cgid) : NULL;

	if (!path || container__label(path, buf, len))
		snprintf(buf, len, "[cgroup %" PRIu64 "]", cgid);
}

/* The stack BPF records starts inside the tracing machinery that ran it
 * (the program, bpf_trace_run*, the tracepoint's iterator). */
static bool tracing_frame(const char *name)
{
	static const char *const prefixes[] = {
		"bpf_trace_run", "__bpf_trace_", "__traceiter_", "trace_call_bpf", "perf_trace_",
		"bpf_prog_",
	};

	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
		if (!strncmp(name, prefixes[i], strlen(prefixes[i])))
			return true;
	return false;
}

static const char *ksym_name(const struct record_ctx *c, uint64_t ip)
{
	const struct ksym *s = c->ksyms ? ksyms__lookup(c->ksyms, ip, NULL) : NULL;

	return s ? s->name : NULL;
}

/* Kernel frames root->leaf into names[], each ending in _[k]. */
static size_t kernel_frames(const struct record_ctx *c, int32_t id, char (*names)[FRAME_LEN])
{
	uint64_t ips[MAX_KFRAMES];
	size_t n, out = 0, top = 0;

	if (tracer__kstack(c->tracer, id, ips, MAX_KFRAMES, &n))
		return 0;
	/* ips[0] is the innermost frame: drop everything up to the last frame
	 * of the tracing machinery, which sits within the first few. */
	for (size_t i = 0; i < n && i < 8; i++) {
		const char *name = ksym_name(c, ips[i]);

		if (name && tracing_frame(name))
			top = i + 1;
	}
	for (size_t i = n; i-- > top;) {
		const char *name = ksym_name(c, ips[i]);

		if (name)
			snprintf(names[out++], FRAME_LEN, "%s_[k]", name);
		else
			snprintf(names[out++], FRAME_LEN, "0x%" PRIx64 "_[k]", ips[i]);
	}
	return out;
}

size_t record_output__frames(const struct record_ctx *c, const struct rec_bucket *b,
			     char (*names)[FRAME_LEN])
{
	size_t n = 0;

	record_output__label(c->cgroups, b->cgid, names[n++], FRAME_LEN);
	snprintf(names[n++], FRAME_LEN, "%.*s", MS_COMM_LEN, b->comm);
	if (memclass__name(b->cls))
		snprintf(names[n++], FRAME_LEN, "[%s]", memclass__name(b->cls));
	for (size_t f = b->nframes; f-- > 0;)
		usyms__frame_name(c->usyms, b->frames[f], f > 0, names[n++], FRAME_LEN);
	return n + kernel_frames(c, b->kstack_id, &names[n]);
}

/* Sampled stacks estimate how a process's bytes split; the kernel counted
 * the bytes themselves exactly. Scaling each process's stacks to its exact
 * total keeps the split and removes most of the sampling error from the
 * sizes (a ratio estimator): scale[slot] = exact / sum of estimates, for the
 * bytes allocated and, apart, for those still resident. */
struct slot_scale {
	double alloc, outstanding;
};

static double scale_of(double exact, double estimate)
{
	return estimate <= 0 ? 1 : exact > 0 ? exact / estimate : 0;
}

static struct hmap *slot_scales(const struct record_ctx *c)
{
	struct hmap *est = hmap__new(sizeof(struct slot_scale));
	size_t nb = recorder__nbuckets(c->recorder), it = 0;
	const void *key;
	void *val;

	if (!est)
		return NULL;
	for (size_t i = 0; i < nb; i++) {
		const struct rec_bucket *b = recorder__bucket(c->recorder, i);
		struct slot_scale *sum;
		bool created;

		if (b->dead)
			continue;
		sum = hmap__upsert(est, &b->slot, sizeof(b->slot), &created);
		if (sum && created)
			sum->alloc = recorder__slot_collected(c->recorder, b->slot);
		if (sum) {
			sum->alloc += b->alloc_bytes;
			sum->outstanding += b->outstanding_bytes;
		}
	}
	while (hmap__next(est, &it, &key, NULL, &val)) {
		struct slot_scale *scale = val;
		struct ms_proc_stats st;

		if (tracer__proc_stats(c->tracer, *(const uint32_t *)key, &st)) {
			*scale = (struct slot_scale){ 1, 1 };
			continue;
		}
		scale->alloc = scale_of(st.alloc_bytes, scale->alloc);
		scale->outstanding = scale_of((double)(int64_t)(st.alloc_bytes - st.free_bytes),
					      scale->outstanding);
	}
	return est;
}

int record_output__each(const struct record_ctx *c, record_bucket_fn fn, void *ctx)
{
	size_t nb = recorder__nbuckets(c->recorder);
	struct hmap *scales = slot_scales(c);
	int err = 0;

	if (!scales)
		return -ENOMEM;
	for (size_t i = 0; i < nb && !err; i++) {
		const struct rec_bucket *b = recorder__bucket(c->recorder, i);
		struct slot_scale *sc = b->dead ? NULL : hmap__find(scales, &b->slot, sizeof(b->slot));
		struct record_values v = {
			.alloc = b->alloc_bytes * (sc ? sc->alloc : 1) + 0.5,
			.outstanding = b->outstanding_bytes * (sc ? sc->outstanding : 1) + 0.5,
		};

		if (!b->dead && (v.alloc || v.outstanding))
			err = fn(ctx, b, &v);
	}
	hmap__free(scales);
	return err;
}

struct folded_ctx {
	const struct record_ctx *c;
	struct folded *out;
};

static int add_folded(void *ctx, const struct rec_bucket *b, const struct record_values *v)
{
	static char names[MAX_FRAMES][FRAME_LEN];
	const char *frames[MAX_FRAMES];
	struct folded_ctx *fc = ctx;
	uint64_t value = fc->c->outstanding ? v->outstanding : v->alloc;
	size_t n;

	if (!value)
		return 0;
	n = record_output__frames(fc->c, b, names);
	for (size_t f = 0; f < n; f++)
		frames[f] = names[f];
	return folded__add(fc->out, frames, n, value);
}

static int add_js_folded(void *ctx, uint32_t pid, const char *const *frames, size_t n,
			 uint64_t bytes)
{
	(void)pid;
	return folded__add(ctx, frames, n, bytes);
}

int record_output__folded(const struct record_ctx *c, struct folded *out)
{
	struct folded_ctx fc = { c, out };
	int err = record_output__each(c, add_folded, &fc);

	return err ? err : jsheap_run__each(c->js, add_js_folded, out);
}
