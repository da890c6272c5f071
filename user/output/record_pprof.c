#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "memclass.h"
#include "pprof.h"
#include "record_pprof.h"
#include "stack_text.h"

struct conv {
	const struct recording *r;
	struct pprof *p;
	uint64_t kernel_map, jit_map;
	uint64_t module_maps[REC_MAPPINGS];	/* by recording mapping; 0: not yet */
	char name[FRAME_LEN];
	uint64_t locs[MAX_FRAMES];
};

/* Mappings are made when first used: pprof takes the first one for the
 * main binary, and an empty one would only be noise. */
static int named_mapping(struct conv *v, uint64_t *id, const char *file, const char *build_id)
{
	return *id ? 0 : pprof__mapping(v->p, file, build_id, id);
}

static int user_location(struct conv *v, const struct frame *f, uint64_t *loc)
{
	const struct rec_mapping *m;
	uint64_t map = 0, addr = f->addr;
	int err;

	if (f->mapping == REC_MAPPING_JIT) {
		if ((err = named_mapping(v, &v->jit_map, RECORD_PPROF_JIT, NULL)))
			return err;
		return pprof__location(v->p, v->jit_map, 0, f->name, loc);
	}
	if (f->mapping) {
		m = v->r->mappings ? &v->r->mappings[f->mapping] : NULL;
		if ((err = named_mapping(v, &v->module_maps[f->mapping], m ? m->file : NULL,
					 m ? m->build_id : NULL)))
			return err;
		map = v->module_maps[f->mapping];
		/* Named at the call, where the return address points past. */
		if (f->call && addr)
			addr--;
	}
	return pprof__location(v->p, map, addr, f->name, loc);
}

/*
 * The stack's locations, leaf first (kernel frames, then user frames), into
 * v->locs. User frames are added first so that the first mapping, which
 * pprof shows as the main binary, is a user one; then the kernel frames,
 * root first.
 */
static int locations(struct conv *v, const struct rec_stack *s, size_t *nlocs)
{
	size_t nk = 0, nu;
	int err;

	while (nk < s->nframes && s->frames[s->nframes - 1 - nk].kind == FRAME_KERNEL)
		nk++;
	nu = s->nframes - nk;
	for (size_t f = 0; f < nu; f++)
		if ((err = user_location(v, &s->frames[nu - 1 - f], &v->locs[nk + f])))
			return err;
	if (nk && (err = named_mapping(v, &v->kernel_map, RECORD_PPROF_KERNEL, NULL)))
		return err;
	for (size_t j = 0; j < nk; j++) {
		const struct frame *f = &s->frames[nu + j];

		if ((err = pprof__location(v->p, v->kernel_map, f->addr, f->name,
					   &v->locs[nk - 1 - j])))
			return err;
	}
	*nlocs = nk + nu;
	return 0;
}

static int64_t clamp(uint64_t x)
{
	return x > INT64_MAX ? INT64_MAX : (int64_t)x;
}

static int add_native(struct conv *v, const struct rec_stack *s)
{
	struct pprof_label labels[5];
	int64_t values[2] = { clamp(s->outstanding), clamp(s->alloc) };
	const char *cls = memclass__name(s->cls);
	size_t nlocs, nl = 0;
	int err = locations(v, s, &nlocs);

	if (err)
		return err;
	labels[nl++] = (struct pprof_label){ .key = "container", .str = s->container };
	if (s->have_pid)
		labels[nl++] = (struct pprof_label){ .key = "pid", .num = s->pid };
	labels[nl++] = (struct pprof_label){ .key = "comm", .str = s->comm };
	/* The allocating thread, when it goes by another name than its process. */
	if (s->thread[0] && strcmp(s->thread, s->comm))
		labels[nl++] = (struct pprof_label){ .key = "thread", .str = s->thread };
	if (cls)
		labels[nl++] = (struct pprof_label){ .key = "class", .str = cls };
	return pprof__add_sample(v->p, v->locs, nlocs, values, 2, labels, nl);
}

/* A JS frame's name as profiles always had it: cut where a FRAME_LEN
 * buffer cut its folded text "name_[j]" (stack_text.h writes the mark), so
 * a name too long for that keeps the part of the mark that fit. */
static const char *js_name(struct conv *v, const struct frame *f)
{
	size_t n = strlen(f->name);

	if (stack_text__frame(f, v->name, sizeof(v->name)) < sizeof(v->name))
		v->name[n] = '\0';
	return v->name;
}

/* --js-heap's stacks: JS frames in the JIT mapping, leaf first, the label,
 * comm, [v8-heap] and [js-heap] marks as labels; bytes live, none allocated
 * (V8's profile only has what is alive). */
static int add_js(struct conv *v, const struct rec_stack *s)
{
	int64_t values[2] = { clamp(s->outstanding), 0 };
	struct pprof_label labels[] = {
		{ .key = "container", .str = s->container },
		{ .key = "pid", .num = s->pid },
		{ .key = "comm", .str = s->comm },
		{ .key = "class", .str = "v8-heap" },
		{ .key = "source", .str = "js-heap" },
	};
	size_t nlocs = 0, ncode = 0;
	int err;

	for (size_t f = 0; f < s->nframes; f++)
		ncode += s->frames[f].kind != FRAME_LABEL;
	if (!ncode)
		return 0;
	if ((err = named_mapping(v, &v->jit_map, RECORD_PPROF_JIT, NULL)))
		return err;
	for (size_t f = s->nframes; f-- > 0 && nlocs < MAX_FRAMES;) {
		if (s->frames[f].kind == FRAME_LABEL)
			continue;
		err = pprof__location(v->p, v->jit_map, 0, js_name(v, &s->frames[f]),
				      &v->locs[nlocs]);
		if (err)
			return err;
		nlocs++;
	}
	return pprof__add_sample(v->p, v->locs, nlocs, values, 2, labels,
				 sizeof(labels) / sizeof(labels[0]));
}

static int describe(const struct recording *r, struct pprof *p)
{
	uint64_t period = (uint64_t)r->sample_every * r->page_size;
	char note[160];
	struct timespec now;
	double secs = r->seconds > 0 ? r->seconds : 0;
	int err;

	clock_gettime(CLOCK_REALTIME, &now);
	pprof__set_time(p, (int64_t)now.tv_sec * 1000000000 + now.tv_nsec - (int64_t)(secs * 1e9),
			(int64_t)(secs * 1e9));
	snprintf(note, sizeof(note), "memscope record --mode %s: one page in %u sampled by bytes, "
		 "stacks scaled to exact per-process totals",
		 r->outstanding ? "outstanding" : "allocated", r->sample_every);
	if ((err = pprof__add_sample_type(p, "inuse_space", "bytes")) ||
	    (err = pprof__add_sample_type(p, "alloc_space", "bytes")) ||
	    (err = pprof__set_default_sample_type(p, r->outstanding ? "inuse_space"
								     : "alloc_space")) ||
	    (err = pprof__set_period(p, "space", "bytes", clamp(period))) ||
	    (err = pprof__add_comment(p, note)))
		return err;
	return 0;
}

int record_pprof__write(const struct recording *r, FILE *out)
{
	struct conv *v = calloc(1, sizeof(*v));
	int err = -ENOMEM;

	if (!v)
		return -ENOMEM;
	v->r = r;
	v->p = pprof__new();
	if (!v->p)
		goto out;
	if ((err = describe(r, v->p)))
		goto out;
	for (size_t i = 0; i < r->nstacks && !err; i++) {
		const struct rec_stack *s = &r->stacks[i];

		if (s->js)
			err = add_js(v, s);
		else if (s->alloc || s->outstanding)
			err = add_native(v, s);
	}
	if (!err)
		err = pprof__write(v->p, out);
out:
	pprof__free(v->p);
	free(v);
	return err;
}
