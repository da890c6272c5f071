/* A process's or cgroup's readings over the window (memsplit_int.h). */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "memsplit_int.h"

int memsplit_series__init(struct series *s, bool kernel)
{
	memset(s, 0, sizeof(*s));
	s->every = MEMSPLIT_TICK_S;
	s->last_t = -INFINITY;
	s->t = calloc(MEMSPLIT_SAMPLES_MAX, sizeof(double));
	if (!s->t)
		return -ENOMEM;
	for (int c = 1; c < MEM_NR_CLASSES; c++) {
		if (c == MEM_CLASS_KERNEL && !kernel)
			continue;
		s->v[c] = calloc(MEMSPLIT_SAMPLES_MAX, sizeof(double));
		if (!s->v[c])
			return -ENOMEM;
	}
	return 0;
}

void memsplit_series__free(struct series *s)
{
	free(s->t);
	for (int c = 0; c < MEM_NR_CLASSES; c++)
		free(s->v[c]);
}

void memsplit_series__add(struct series *s, double now, const double *vals)
{
	if (!s->t || now - s->last_t < s->every * 0.9)
		return;
	if (s->n == MEMSPLIT_SAMPLES_MAX) {
		for (size_t i = 0; i < s->n / 2; i++) {
			s->t[i] = s->t[2 * i];
			for (int c = 0; c < MEM_NR_CLASSES; c++)
				if (s->v[c])
					s->v[c][i] = s->v[c][2 * i];
		}
		s->n /= 2;
		s->every *= 2;
	}
	s->t[s->n] = now;
	for (int c = 0; c < MEM_NR_CLASSES; c++)
		if (s->v[c])
			s->v[c][s->n] = vals[c];
	s->n++;
	s->last_t = now;
}

void memsplit_series__judge(const struct series *s, struct verdict *v)
{
	const double *from[MEM_NR_CLASSES] = { NULL };
	size_t k = 0;

	while (k < s->n && s->t[k] < s->judge_from)
		k++;
	for (int c = 0; c < MEM_NR_CLASSES; c++)
		from[c] = s->v[c] ? s->v[c] + k : NULL;
	verdict__judge(s->t + k, from, s->n - k, v);
}

/* A process or cgroup first seen after the window opened is judged from
 * MEMSPLIT_SETTLE_S later: what a program allocates to start up (node's
 * first heap, its libraries) is not growth of the service. */
void memsplit_series__first_reading(const struct memsplit *s, struct series *se, double now)
{
	if (!se->n)
		se->judge_from = now > s->start ? now + MEMSPLIT_SETTLE_S : -INFINITY;
}
