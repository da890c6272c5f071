#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "memclass.h"
#include "stack_text.h"

/* Kernel names were always cut to what a FRAME_LEN buffer holds. */
#define KERNEL_TEXT_MAX	(FRAME_LEN - 1)

static int reserve(struct stack_text *t, size_t frames, size_t bytes)
{
	if (frames > t->frames_cap) {
		void *p = realloc(t->frames, frames * sizeof(*t->frames));

		if (!p)
			return -ENOMEM;
		t->frames = p;
		t->frames_cap = frames;
	}
	if (bytes > t->buf_cap) {
		void *p = realloc(t->buf, bytes);

		if (!p)
			return -ENOMEM;
		t->buf = p;
		t->buf_cap = bytes;
	}
	return 0;
}

size_t stack_text__frame(const struct frame *f, char *out, size_t room)
{
	int n;

	switch (f->kind) {
	case FRAME_JIT:
		n = snprintf(out, room, "%s_[j]", f->name);
		break;
	case FRAME_KERNEL:
		n = snprintf(out, room < KERNEL_TEXT_MAX + 1 ? room : KERNEL_TEXT_MAX + 1,
			     "%s_[k]", f->name);
		if (n > KERNEL_TEXT_MAX)
			n = KERNEL_TEXT_MAX;
		break;
	case FRAME_LABEL:
		n = snprintf(out, room, "[%s]", f->name);
		break;
	default:
		n = snprintf(out, room, "%s", f->name);
	}
	return n < 0 ? 0 : (size_t)n;
}

int stack_text__stack(const struct rec_stack *s, struct stack_text *out)
{
	const char *cls = memclass__name(s->cls);
	size_t bytes = strlen(s->container) + strlen(s->comm) + (cls ? strlen(cls) : 0) + 16;
	size_t at = 0;
	char *p;

	for (size_t i = 0; i < s->nframes; i++)
		bytes += strlen(s->frames[i].name) + 8;
	if (reserve(out, s->nframes + 3, bytes))
		return -ENOMEM;
	out->n = 0;
	p = out->buf;
	at = (size_t)snprintf(p, bytes, "%s", s->container) + 1;
	out->frames[out->n++] = p;
	out->frames[out->n++] = p + at;
	at += (size_t)snprintf(p + at, bytes - at, "%s", s->comm) + 1;
	if (cls) {
		out->frames[out->n++] = p + at;
		at += (size_t)snprintf(p + at, bytes - at, "[%s]", cls) + 1;
	}
	for (size_t i = 0; i < s->nframes; i++) {
		out->frames[out->n++] = p + at;
		at += stack_text__frame(&s->frames[i], p + at, bytes - at) + 1;
	}
	return 0;
}

void stack_text__free(struct stack_text *t)
{
	free(t->frames);
	free(t->buf);
	memset(t, 0, sizeof(*t));
}
