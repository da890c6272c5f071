#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "hmap.h"
#include "v8.h"
#include "v8_census.h"

struct v8_census {
	struct v8 *v8;
	const char *proc_root;
	struct hmap *rt;	/* pid_t -> enum v8_runtime, for the pids looked at */
};

struct v8_census *v8_census__new(struct v8 *v8, const char *proc_root)
{
	struct v8_census *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->v8 = v8;
	c->proc_root = proc_root;
	c->rt = hmap__new(sizeof(enum v8_runtime));
	if (!c->rt) {
		free(c);
		errno = ENOMEM;
		return NULL;
	}
	return c;
}

void v8_census__free(struct v8_census *c)
{
	if (!c)
		return;
	hmap__free(c->rt);
	free(c);
}

void v8_census__poll(struct v8_census *c)
{
	if (c && c->v8)
		v8__poll(c->v8);
}

bool v8_census__bytes(struct v8_census *c, pid_t pid, uint64_t *bytes)
{
	enum v8_runtime *rt;
	bool created;

	*bytes = 0;
	if (!c || !c->v8)
		return false;
	rt = hmap__upsert(c->rt, &pid, sizeof(pid), &created);
	if (!rt)
		return false;
	if (created && v8__track(c->v8, pid, rt))
		*rt = V8_RUNTIME_UNKNOWN;	/* gone already: nothing of it to count */
	switch (*rt) {
	case V8_RUNTIME_V8:
		if (v8__resident(c->v8, pid, bytes))
			*bytes = 0;
		return true;
	case V8_RUNTIME_UNKNOWN:
		return true;
	default:
		return false;
	}
}

void v8_census__sweep(struct v8_census *c)
{
	char path[PATH_MAX];
	const void *key;
	size_t it = 0;

	if (!c)
		return;
	/* hmap lets the current key go while iterating. */
	while (hmap__next(c->rt, &it, &key, NULL, NULL)) {
		pid_t pid = *(const pid_t *)key;

		snprintf(path, sizeof(path), "%s/%d", c->proc_root, (int)pid);
		if (!access(path, F_OK))
			continue;
		v8__forget(c->v8, pid);
		hmap__delete(c->rt, &pid, sizeof(pid));
	}
}
