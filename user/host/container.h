/* Which container (if any) a memory cgroup belongs to, read from the shape of
 * its path, so output can say "3f4e5a6b7c8d" instead of a 120-character slice.
 *
 * Recognized shapes (<id> = 64 lowercase hex, <uid> = Kubernetes pod UID):
 *	/docker/<id>				docker, cgroupfs driver
 *	/system.slice/docker-<id>.scope		docker, systemd driver
 *	/default/<id>				containerd namespace (nerdctl)
 *	/kubepods/burstable/pod<uid>/<id>	Kubernetes CRI, cgroupfs driver
 *	/kubepods.slice/kubepods-besteffort.slice/
 *	    kubepods-besteffort-pod<u_i_d>.slice/cri-containerd-<id>.scope
 *	.../crio-<id>.scope			cri-o
 *	/machine.slice/libpod-<id>.scope	podman
 * A cgroup below a container's cgroup (/docker/<id>/child) belongs to that
 * container; with nested containers the outermost one, the one the host's
 * runtime knows, wins. Nothing below a systemd service is a container: a
 * service owns its delegated subtree (user@UID.service) and could name a
 * cgroup like another's container; rootless containers show by path.
 * Anything else is not a container ("plain").
 */
#ifndef MEMSCOPE_CONTAINER_H
#define MEMSCOPE_CONTAINER_H

#include <stddef.h>
#include <stdint.h>

#define CONTAINER_ID_LEN	64
#define CONTAINER_LABEL_LEN	12	/* short id, as `docker ps` shows it */
#define CONTAINER_POD_UID_MAX	36	/* 8-4-4-4-12; static pods: 32 hex */

enum container_runtime {
	CONTAINER_PLAIN,	/* not a container */
	CONTAINER_DOCKER,
	CONTAINER_CONTAINERD,	/* containerd, incl. any CRI runtime under cgroupfs kubepods */
	CONTAINER_CRIO,
	CONTAINER_PODMAN,
};

enum container_qos {
	CONTAINER_QOS_NONE,	/* not in a Kubernetes pod */
	CONTAINER_QOS_GUARANTEED,
	CONTAINER_QOS_BURSTABLE,
	CONTAINER_QOS_BESTEFFORT,
};

struct container_info {
	enum container_runtime runtime;
	char id[CONTAINER_ID_LEN + 1];		/* "" when plain */
	char pod_uid[CONTAINER_POD_UID_MAX + 1];	/* dashed form; "" outside pods */
	enum container_qos qos;
};

/* Fills *out for any path (0), even one that names no container; -EINVAL
 * for a NULL argument. Pod and QoS are set for a pod's own cgroup too. */
int container__info(const char *cgroup_path, struct container_info *out);

/* Full 64-hex id into id (len >= 65, else -ENOSPC) and the runtime as the
 * return value: CONTAINER_PLAIN (id "") when the path names no container. */
int container__id(const char *cgroup_path, char *id, size_t len);

/* The name output uses: the 12-hex short id of a container, else the cgroup
 * path ("/" for the root or an empty path). 0, or -ENOSPC if it does not fit. */
int container__label(const char *cgroup_path, char *buf, size_t len);

/* "docker", "containerd", "cri-o", "podman", "plain"; "guaranteed",
 * "burstable", "besteffort", "" for QOS_NONE. */
const char *container__runtime_name(enum container_runtime rt);
const char *container__qos_name(enum container_qos qos);

/* A memory cgroup's label for output, by id: its container's label (as
 * container__label), else "[cgroup ID]" when cg does not know the id (cg may
 * be NULL). */
struct cgroups;
void container__cgroup_label(struct cgroups *cg, uint64_t cgid, char *buf, size_t len);

#endif
