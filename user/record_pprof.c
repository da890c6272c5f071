#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hmap.h"
#include "jsheap_run.h"
#include "memclass.h"
#include "pprof.h"
#include "record_pprof.h"
#include "recorder.h"
#include "tracer.h"
#include "usyms.h"

struct conv {
	const struct record_ctx *c;
	struct pprof *p;
	struct hmap *pids;		/* uint32_t slot -> uint32_t tgid */
	uint64_t kernel_map, jit_map;
	uint64_t module_maps[USYMS_MODULES_MAX + 1];	/* by usyms module id; 0: not yet */
	char names[MAX_FRAMES][FRAME_LEN];
	uint64_t locs[MAX_FRAMES];
};

static void note_pid(void *ctx, const struct ms_proc_key *key, const struct ms_proc_info *info)
{
	uint32_t *tgid = hmap__upsert(ctx, &info->slot, sizeof(info->slot), NULL);

	if (tgid)
		*tgid = key->tgid;
}

/* name without the suffix the folded output marks kernel / JIT frames with. */
static char *strip(char *name, const char *suffix)
{
	size_t n = strlen(name), k = strlen(suffix);

	if (n > k && !strcmp(name + n - k, suffix))
		name[n - k] = '\0';
	return name;
}

/* Mappings are made when first used: pprof takes the first one for the
 * main binary, and an empty one would only be noise. */
static int named_mapping(struct conv *v, uint64_t *id, const char *file, const char *build_id)
{
	return *id ? 0 : pprof__mapping(v->p, file, build_id, id);
}

static int module_mapping(struct conv *v, uint32_t module, uint64_t *id)
{
	struct usyms *u = v->c->usyms;
	int err;

	if (module > USYMS_MODULES_MAX)
		return -EINVAL;
	err = named_mapping(v, &v->module_maps[module], usyms__module_path(u, module),
			    usyms__module_build_id(u, module));
	*id = v->module_maps[module];
	return err;
}

static int user_location(struct conv *v, const struct rec_bucket *b, size_t f, char *name,
			 uint64_t *loc)
{
	struct uframe fr = b->frames[f];
	uint64_t map = 0, addr = fr.vaddr;
	int err;

	if (fr.module == USYMS_JIT_MODULE) {
		/* vaddr is the id of the name, not an address. */
		if ((err = named_mapping(v, &v->jit_map, RECORD_PPROF_JIT, NULL)))
			return err;
		return pprof__location(v->p, v->jit_map, 0, strip(name, "_[j]"), loc);
	}
	if (fr.module) {
		if ((err = module_mapping(v, fr.module, &map)))
			return err;
		/* Named at the call, where the return address points past. */
		if (f > 0 && addr)
			addr--;
	}
	return pprof__location(v->p, map, addr, name, loc);
}

/*
 * The bucket's locations, leaf first (kernel frames, then user frames), into
 * v->locs. record_output__frames names them root first: label, comm,
 * [class], user frames, then the kernel frames it kept of the stack, which
 * are the outermost ones: name j of them is ips[nips - 1 - j]. User frames
 * are added first so that the first mapping, which pprof shows as the main
 * binary, is a user one.
 */
static int locations(struct conv *v, const struct rec_bucket *b, size_t *nlocs)
{
	size_t n = record_output__frames(v->c, b, v->names);
	size_t first = memclass__name(b->cls) ? 3 : 2, nu = b->nframes, nk, nips = 0;
	uint64_t ips[MAX_KFRAMES];
	int err;

	if (first + nu > n)
		return -EINVAL;
	nk = n - first - nu;
	for (size_t f = 0; f < nu; f++)
		if ((err = user_location(v, b, f, v->names[first + nu - 1 - f], &v->locs[nk + f])))
			return err;
	if (nk && tracer__kstack(v->c->tracer, b->kstack_id, ips, MAX_KFRAMES, &nips))
		nips = 0;
	if (nk && (err = named_mapping(v, &v->kernel_map, RECORD_PPROF_KERNEL, NULL)))
		return err;
	for (size_t j = 0; j < nk; j++) {
		uint64_t addr = nips >= nk ? ips[nips - 1 - j] : 0;
		char *name = strip(v->names[first + nu + j], "_[k]");

		if ((err = pprof__location(v->p, v->kernel_map, addr, name, &v->locs[nk - 1 - j])))
			return err;
	}
	*nlocs = nk + nu;
	return 0;
}

static int64_t clamp(uint64_t x)
{
	return x > INT64_MAX ? INT64_MAX : (int64_t)x;
}

static int add_bucket(void *ctx, const struct rec_bucket *b, const struct record_values *vals)
{
	struct conv *v = ctx;
	char container[FRAME_LEN], comm[MS_COMM_LEN + 1], thread[MS_COMM_LEN + 1];
	struct pprof_label labels[5];
	int64_t values[2] = { clamp(vals->outstanding), clamp(vals->alloc) };
	uint32_t *tgid = hmap__find(v->pids, &b->slot, sizeof(b->slot));
	const char *cls = memclass__name(b->cls);
	size_t nlocs, nl = 0;
	int err = locations(v, b, &nlocs);

	/* A bucket whose frames do not add up is skipped, not fatal. */
	if (err)
		return err == -EINVAL ? 0 : err;
	record_output__label(v->c->cgroups, b->cgid, container, sizeof(container));
	snprintf(comm, sizeof(comm), "%.*s", MS_COMM_LEN, b->comm);
	labels[nl++] = (struct pprof_label){ .key = "container", .str = container };
	if (tgid)
		labels[nl++] = (struct pprof_label){ .key = "pid", .num = *tgid };
	labels[nl++] = (struct pprof_label){ .key = "comm", .str = comm };
	/* The allocating thread, when it goes by another name than its process. */
	snprintf(thread, sizeof(thread), "%.*s", MS_COMM_LEN, b->thread);
	if (thread[0] && strcmp(thread, comm))
		labels[nl++] = (struct pprof_label){ .key = "thread", .str = thread };
	if (cls)
		labels[nl++] = (struct pprof_label){ .key = "class", .str = cls };
	return pprof__add_sample(v->p, v->locs, nlocs, values, 2, labels, nl);
}

/* --js-heap's stacks: JS frames in the JIT mapping, leaf first, the label,
 * comm, [v8-heap] and [js-heap] frames as labels; bytes live, none allocated
 * (V8's profile only has what is alive). */
static int add_js(void *ctx, uint32_t pid, const char *const *frames, size_t n, uint64_t bytes)
{
	struct conv *v = ctx;
	int64_t values[2] = { clamp(bytes), 0 };
	struct pprof_label labels[] = {
		{ .key = "container", .str = frames[0] },
		{ .key = "pid", .num = pid },
		{ .key = "comm", .str = frames[1] },
		{ .key = "class", .str = "v8-heap" },
		{ .key = "source", .str = "js-heap" },
	};
	size_t nlocs = 0;
	int err;

	if (n < 5 || (err = named_mapping(v, &v->jit_map, RECORD_PPROF_JIT, NULL)))
		return n < 5 ? 0 : err;
	for (size_t f = n; f-- > 4 && nlocs < MAX_FRAMES;) {
		snprintf(v->names[nlocs], FRAME_LEN, "%s", frames[f]);
		err = pprof__location(v->p, v->jit_map, 0, strip(v->names[nlocs], "_[j]"),
				      &v->locs[nlocs]);
		if (err)
			return err;
		nlocs++;
	}
	return pprof__add_sample(v->p, v->locs, nlocs, values, 2, labels,
				 sizeof(labels) / sizeof(labels[0]));
}

static int describe(const struct record_ctx *c, struct pprof *p)
{
	uint64_t period = (uint64_t)c->sample_every * tracer__page_size(c->tracer);
	char note[160];
	struct timespec now;
	double secs = c->seconds > 0 ? c->seconds : 0;
	int err;

	clock_gettime(CLOCK_REALTIME, &now);
	pprof__set_time(p, (int64_t)now.tv_sec * 1000000000 + now.tv_nsec - (int64_t)(secs * 1e9),
			(int64_t)(secs * 1e9));
	snprintf(note, sizeof(note), "memscope record --mode %s: one page in %u sampled by bytes, "
		 "stacks scaled to exact per-process totals",
		 c->outstanding ? "outstanding" : "allocated", c->sample_every);
	if ((err = pprof__add_sample_type(p, "inuse_space", "bytes")) ||
	    (err = pprof__add_sample_type(p, "alloc_space", "bytes")) ||
	    (err = pprof__set_default_sample_type(p, c->outstanding ? "inuse_space"
								     : "alloc_space")) ||
	    (err = pprof__set_period(p, "space", "bytes", clamp(period))) ||
	    (err = pprof__add_comment(p, note)))
		return err;
	return 0;
}

int record_pprof__write(const struct record_ctx *c, FILE *out)
{
	struct conv *v = calloc(1, sizeof(*v));
	int err = -ENOMEM;

	if (!v)
		return -ENOMEM;
	v->c = c;
	v->p = pprof__new();
	v->pids = hmap__new(sizeof(uint32_t));
	if (!v->p || !v->pids)
		goto out;
	tracer__for_each_proc(c->tracer, note_pid, v->pids);
	if ((err = describe(c, v->p)) || (err = record_output__each(c, add_bucket, v)) ||
	    (err = jsheap_run__each(c->js, add_js, v)))
		goto out;
	err = pprof__write(v->p, out);
out:
	pprof__free(v->p);
	hmap__free(v->pids);
	free(v);
	return err;
}
