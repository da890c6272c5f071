/* Container names for every command (top, oom, record, serve): the engine's
 * name for the container a memory cgroup belongs to, "leaky-api" rather than
 * "3f4e5a6b7c8d". Docker only, through its socket (docker.h); other runtimes
 * and hosts without the socket keep the short id. The engine is asked at
 * most every CTRNAMES_RETRY_S, and again (at most every CTRNAMES_MISS_S) when
 * a container it did not know about shows up.
 *
 *	struct ctrnames nm = {};
 *	const char *name = ctrnames__name(&nm, "/docker/3f4e...", now);
 *	ctrnames__free(&nm);
 */
#ifndef MEMSCOPE_CTRNAMES_H
#define MEMSCOPE_CTRNAMES_H

#include <stdbool.h>

#include "docker.h"

#define CTRNAMES_TIMEOUT_MS	1000
#define CTRNAMES_RETRY_S	10.0
#define CTRNAMES_MISS_S		1.0

struct ctrnames {
	struct docker_list list;
	double last_try;	/* cli_now() of the last question to the engine */
	bool tried;
};

/* Asks the engine again unless it was asked less than CTRNAMES_RETRY_S ago
 * (force: CTRNAMES_MISS_S). Without an engine the list stays as it was. */
void ctrnames__refresh(struct ctrnames *nm, double now, bool force);

/* The engine's entry for the container of cgroup_path, or NULL (not a
 * Docker container, unknown to the engine, no engine). */
const struct docker_ctr *ctrnames__find(struct ctrnames *nm, const char *cgroup_path, double now);

/* Its name, or NULL. */
const char *ctrnames__name(struct ctrnames *nm, const char *cgroup_path, double now);

void ctrnames__free(struct ctrnames *nm);

#endif
