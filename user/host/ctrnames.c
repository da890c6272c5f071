#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "container.h"
#include "ctrnames.h"
#include "log.h"

void ctrnames__refresh(struct ctrnames *nm, double now, bool force)
{
	struct docker_list fresh;
	char sock[256];
	int err;

	if (nm->tried && now - nm->last_try < (force ? CTRNAMES_MISS_S : CTRNAMES_RETRY_S))
		return;
	nm->tried = true;
	nm->last_try = now;
	err = docker__socket_path(getenv("DOCKER_HOST"), sock, sizeof(sock));
	if (err || access(sock, F_OK)) {
		log_debug("no Docker engine socket (%s): showing container ids",
			  err ? strerror(-err) : sock);
		return;
	}
	err = docker__fetch(sock, CTRNAMES_TIMEOUT_MS, &fresh);
	if (err) {
		log_debug("Docker engine at %s: %s", sock, strerror(-err));
		return;
	}
	docker__list_free(&nm->list);
	nm->list = fresh;
}

const struct docker_ctr *ctrnames__find(struct ctrnames *nm, const char *cgroup_path, double now)
{
	char id[CONTAINER_ID_LEN + 1];
	const struct docker_ctr *c;

	if (!nm || !cgroup_path ||
	    container__id(cgroup_path, id, sizeof(id)) != CONTAINER_DOCKER)
		return NULL;
	ctrnames__refresh(nm, now, false);
	c = docker__find(&nm->list, id);
	if (!c) {
		/* Started since the engine was last asked. */
		ctrnames__refresh(nm, now, true);
		c = docker__find(&nm->list, id);
	}
	return c;
}

const char *ctrnames__name(struct ctrnames *nm, const char *cgroup_path, double now)
{
	const struct docker_ctr *c = ctrnames__find(nm, cgroup_path, now);

	return c && c->name[0] ? c->name : NULL;
}

void ctrnames__free(struct ctrnames *nm)
{
	if (nm)
		docker__list_free(&nm->list);
}
