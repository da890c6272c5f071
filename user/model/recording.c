#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hmap.h"
#include "recording.h"

struct recording *recording__new(void)
{
	struct recording *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->strings = hmap__new(sizeof(char *));
	r->cgroups = hmap__new(sizeof(struct rec_cgroup));
	if (!r->strings || !r->cgroups) {
		hmap__free(r->strings);
		hmap__free(r->cgroups);
		free(r);
		errno = ENOMEM;
		return NULL;
	}
	return r;
}

void recording__free(struct recording *r)
{
	size_t it = 0;
	void *val;

	if (!r)
		return;
	while (hmap__next(r->strings, &it, NULL, NULL, &val))
		free(*(char **)val);
	hmap__free(r->strings);
	hmap__free(r->cgroups);
	for (size_t i = 0; i < r->nstacks; i++)
		free(r->stacks[i].frames);
	free(r->stacks);
	free(r->procs);
	free(r->mappings);
	free(r);
}

const char *recording__intern(struct recording *r, const char *s)
{
	size_t len = strlen(s);
	char **at = hmap__find(r->strings, s, len), *copy;

	if (at)
		return *at;
	/* Copied first: an upsert that fails then leaves nothing to undo. */
	copy = strdup(s);
	if (!copy)
		return NULL;
	at = hmap__upsert(r->strings, s, len, NULL);
	if (!at) {
		free(copy);
		return NULL;
	}
	*at = copy;
	return copy;
}

struct rec_stack *recording__add_stack(struct recording *r, size_t nframes)
{
	struct rec_stack *s;

	if (r->nstacks == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 256;
		void *p = realloc(r->stacks, cap * sizeof(*r->stacks));

		if (!p)
			return NULL;
		r->stacks = p;
		r->cap = cap;
	}
	s = &r->stacks[r->nstacks];
	memset(s, 0, sizeof(*s));
	if (nframes && !(s->frames = calloc(nframes, sizeof(*s->frames))))
		return NULL;
	r->nstacks++;
	return s;
}

int recording__set_mapping(struct recording *r, uint32_t id, const char *file,
			   const char *build_id)
{
	struct rec_mapping *m;

	if (!id || id >= REC_MAPPINGS)
		return -EINVAL;
	if (!r->mappings && !(r->mappings = calloc(REC_MAPPINGS, sizeof(*r->mappings))))
		return -ENOMEM;
	m = &r->mappings[id];
	if (m->file)
		return 0;
	if (!(m->file = recording__intern(r, file ? file : "")) ||
	    (build_id && !(m->build_id = recording__intern(r, build_id)))) {
		m->file = NULL;
		return -ENOMEM;
	}
	return 0;
}

const struct rec_proc *recording__proc(const struct recording *r, uint32_t slot)
{
	for (size_t i = 0; i < r->nprocs; i++)
		if (r->procs[i].info.slot == slot)
			return &r->procs[i];
	return NULL;
}

int recording__set_cgroup(struct recording *r, uint64_t cgid, const char *path,
			  const char *label)
{
	const char *p = path ? recording__intern(r, path) : NULL;
	const char *l = recording__intern(r, label);
	struct rec_cgroup *c;

	if ((path && !p) || !l)
		return -ENOMEM;
	c = hmap__upsert(r->cgroups, &cgid, sizeof(cgid), NULL);
	if (!c)
		return -ENOMEM;
	*c = (struct rec_cgroup){ .path = p, .label = l };
	return 0;
}

const struct rec_cgroup *recording__cgroup(const struct recording *r, uint64_t cgid)
{
	return hmap__find(r->cgroups, &cgid, sizeof(cgid));
}
