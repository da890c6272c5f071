#include <stddef.h>

#include "folded.h"
#include "record_output.h"
#include "stack_text.h"

uint64_t record_output__value(const struct recording *r, const struct rec_stack *s)
{
	return s->js || r->outstanding ? s->outstanding : s->alloc;
}

int record_output__folded(const struct recording *r, struct folded *out)
{
	struct stack_text t = { 0 };
	int err = 0;

	for (size_t i = 0; i < r->nstacks && !err; i++) {
		const struct rec_stack *s = &r->stacks[i];
		uint64_t value = record_output__value(r, s);

		if (!value)
			continue;
		err = stack_text__stack(s, &t);
		if (!err)
			err = folded__add(out, t.frames, t.n, value);
	}
	stack_text__free(&t);
	return err;
}
