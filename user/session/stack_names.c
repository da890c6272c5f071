#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cgroups.h"
#include "container.h"
#include "ksyms.h"
#include "record_ctx.h"
#include "recorder.h"
#include "recording.h"
#include "stack_names.h"
#include "usyms.h"

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

/* How many of the innermost kips are the tracing machinery: it sits within
 * the first few, so everything up to its last frame goes. */
static size_t machinery(const struct record_ctx *c, const uint64_t *kips, size_t nk)
{
	size_t top = 0;

	for (size_t i = 0; i < nk && i < 8; i++) {
		const char *name = ksym_name(c, kips[i]);

		if (name && tracing_frame(name))
			top = i + 1;
	}
	return top;
}

static int kernel_frame(struct recording *r, const struct record_ctx *c, uint64_t ip,
			struct frame *f)
{
	const char *name = ksym_name(c, ip);
	char addr[32];

	if (!name) {
		snprintf(addr, sizeof(addr), "0x%" PRIx64, ip);
		name = addr;
	}
	*f = (struct frame){ .kind = FRAME_KERNEL, .addr = ip };
	return (f->name = recording__intern(r, name)) ? 0 : -ENOMEM;
}

/* JIT code has no file to point into: its own mapping, at address 0; a
 * placeholder such as "[jit]" stays a plain (user) name. */
static int user_frame(struct recording *r, const struct record_ctx *c, struct uframe uf,
		      bool is_return, struct frame *f)
{
	char name[FRAME_LEN];
	int err;

	usyms__frame_name(c->usyms, uf, is_return, name, sizeof(name));
	*f = (struct frame){ .kind = FRAME_USER, .addr = uf.vaddr, .call = is_return };
	if (uf.module == USYMS_JIT_MODULE) {
		f->mapping = REC_MAPPING_JIT;
		f->addr = 0;
		if (usyms__jit_named(c->usyms, uf))
			f->kind = FRAME_JIT;
	} else if (uf.module && uf.module < REC_MAPPINGS) {
		f->mapping = uf.module;
		err = recording__set_mapping(r, uf.module, usyms__module_path(c->usyms, uf.module),
					     usyms__module_build_id(c->usyms, uf.module));
		if (err)
			return err;
	}
	return (f->name = recording__intern(r, name)) ? 0 : -ENOMEM;
}

int stack_names__bucket(struct recording *r, const struct record_ctx *c,
			const struct rec_bucket *b, const uint64_t *kips, size_t nk,
			struct rec_stack **out)
{
	size_t top = machinery(c, kips, nk), n = 0;
	struct rec_stack *s = recording__add_stack(r, b->nframes + (nk - top));
	char label[FRAME_LEN], comm[MS_COMM_LEN + 1], thread[MS_COMM_LEN + 1];
	int err;

	if (!s)
		return -ENOMEM;
	container__cgroup_label(c->cgroups, b->cgid, label, sizeof(label));
	snprintf(comm, sizeof(comm), "%.*s", MS_COMM_LEN, b->comm);
	snprintf(thread, sizeof(thread), "%.*s", MS_COMM_LEN, b->thread);
	if (!(s->container = recording__intern(r, label)) ||
	    !(s->comm = recording__intern(r, comm)) || !(s->thread = recording__intern(r, thread)))
		return -ENOMEM;
	s->cls = b->cls;
	s->slot = b->slot;
	/* Root first: the bucket keeps user frames leaf first, BPF kernel
	 * frames innermost first. */
	for (size_t f = b->nframes; f-- > 0;)
		if ((err = user_frame(r, c, b->frames[f], f > 0, &s->frames[n++])))
			return err;
	for (size_t i = nk; i-- > top;)
		if ((err = kernel_frame(r, c, kips[i], &s->frames[n++])))
			return err;
	s->nframes = n;
	if (out)
		*out = s;
	return 0;
}
