#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "model_build.h"

struct recording *mb_new(bool outstanding)
{
	struct recording *r = recording__new();

	cr_assert_not_null(r);
	r->sample_every = 64;
	r->outstanding = outstanding;
	r->seconds = 8;
	r->page_size = 4096;
	r->hook = "raw_tp";
	r->oom_hook = "raw_tp";
	return r;
}

struct rec_stack *mb_stack(struct recording *r, const char *container, const char *comm,
			   uint32_t pid, uint8_t cls, uint64_t alloc, uint64_t outstanding,
			   const struct frame *frames, size_t n)
{
	struct rec_stack *s = recording__add_stack(r, n);

	cr_assert_not_null(s);
	s->container = recording__intern(r, container);
	s->comm = recording__intern(r, comm);
	s->thread = recording__intern(r, comm);
	cr_assert(s->container && s->comm && s->thread);
	s->pid = pid;
	s->have_pid = true;
	s->slot = pid;
	s->cls = cls;
	s->alloc = alloc;
	s->outstanding = s->sampled_outstanding = outstanding;
	for (size_t i = 0; i < n; i++) {
		s->frames[i] = frames[i];
		s->frames[i].name = recording__intern(r, frames[i].name);
		cr_assert_not_null(s->frames[i].name);
	}
	s->nframes = n;
	return s;
}

struct rec_proc *mb_proc(struct recording *r, uint32_t tgid, uint32_t slot, uint64_t cgid,
			 const char *comm, uint64_t alloc, uint64_t freed)
{
	struct rec_proc *p;

	r->procs = realloc(r->procs, (r->nprocs + 1) * sizeof(*r->procs));
	cr_assert_not_null(r->procs);
	p = &r->procs[r->nprocs++];
	memset(p, 0, sizeof(*p));
	p->key = (struct ms_proc_key){ .tgid = tgid, .cgid = cgid, .start_ns = 1 };
	p->info.slot = slot;
	memcpy(p->info.comm, comm, strnlen(comm, MS_COMM_LEN));
	p->st = (struct ms_proc_stats){ .alloc_bytes = alloc, .free_bytes = freed,
					.alloc_events = alloc / 4096, .free_events = freed / 4096 };
	p->have_stats = true;
	return p;
}

char *mb_slurp(FILE *f)
{
	long len;
	char *buf;

	cr_assert_not_null(f);
	fflush(f);
	len = ftell(f);
	cr_assert_geq(len, 0);
	buf = calloc(1, (size_t)len + 1);
	cr_assert_not_null(buf);
	rewind(f);
	cr_assert_eq(fread(buf, 1, (size_t)len, f), (size_t)len);
	fclose(f);
	return buf;
}
