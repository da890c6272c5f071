#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "cgroups.h"
#include "container.h"

/* A cgroup path component that is a container: prefix, 64 hex, suffix. */
struct ctr_shape {
	const char *prefix;
	const char *suffix;
	enum container_runtime runtime;	/* PLAIN: decided by the parent, see bare_parents */
};

static const struct ctr_shape ctr_shapes[] = {
	{ "docker-", ".scope", CONTAINER_DOCKER },
	{ "cri-containerd-", ".scope", CONTAINER_CONTAINERD },
	{ "crio-", ".scope", CONTAINER_CRIO },
	{ "crio-", "", CONTAINER_CRIO },		/* cri-o with the cgroupfs driver */
	{ "libpod-", ".scope", CONTAINER_PODMAN },
	{ "libpod-", "", CONTAINER_PODMAN },		/* podman with the cgroupfs driver */
	{ "", "", CONTAINER_PLAIN },			/* bare id, cgroupfs drivers */
};

/* A bare id names its runtime only through the directory it sits in. Any
 * other parent is a containerd namespace (nerdctl's "default", "k8s.io") or a
 * kubepods pod, where the CRI runtime is containerd in all but legacy setups. */
static const struct {
	const char *parent;
	enum container_runtime runtime;
} bare_parents[] = {
	{ "docker", CONTAINER_DOCKER },
	{ "libpod_parent", CONTAINER_PODMAN },
};

static const struct {
	const char *name;
	enum container_qos qos;
} qos_classes[] = {
	{ "burstable", CONTAINER_QOS_BURSTABLE },
	{ "besteffort", CONTAINER_QOS_BESTEFFORT },
};

static bool is_lower_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

static bool all_lower_hex(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (!is_lower_hex(s[i]))
			return false;
	return true;
}

static bool comp_eq(const char *comp, size_t len, const char *word)
{
	return strlen(word) == len && !memcmp(comp, word, len);
}

/* If comp is prefix + middle + suffix, point *mid at middle and return its length, else -1. */
static long strip_affixes(const char *comp, size_t len, const char *prefix, const char *suffix,
			  const char **mid)
{
	size_t plen = strlen(prefix), slen = strlen(suffix);

	if (len < plen + slen || memcmp(comp, prefix, plen) ||
	    memcmp(comp + len - slen, suffix, slen))
		return -1;
	*mid = comp + plen;
	return (long)(len - plen - slen);
}

/* Drop systemd's unit type so "kubepods-burstable.slice" and "burstable" read alike. */
static size_t unit_stem(const char *comp, size_t len)
{
	const char *mid;
	long n = strip_affixes(comp, len, "", ".slice", &mid);

	return n < 0 ? len : (size_t)n;
}

static enum container_runtime bare_runtime(const char *parent, size_t parent_len)
{
	for (size_t i = 0; i < sizeof(bare_parents) / sizeof(bare_parents[0]); i++)
		if (parent && comp_eq(parent, parent_len, bare_parents[i].parent))
			return bare_parents[i].runtime;
	return CONTAINER_CONTAINERD;
}

static bool match_container(const char *comp, size_t len, const char *parent, size_t parent_len,
			    struct container_info *out)
{
	for (size_t i = 0; i < sizeof(ctr_shapes) / sizeof(ctr_shapes[0]); i++) {
		const struct ctr_shape *s = &ctr_shapes[i];
		const char *id;

		if (strip_affixes(comp, len, s->prefix, s->suffix, &id) != CONTAINER_ID_LEN ||
		    !all_lower_hex(id, CONTAINER_ID_LEN))
			continue;
		memcpy(out->id, id, CONTAINER_ID_LEN);
		out->id[CONTAINER_ID_LEN] = '\0';
		out->runtime = s->runtime != CONTAINER_PLAIN ? s->runtime
							     : bare_runtime(parent, parent_len);
		return true;
	}
	return false;
}

/* "kubepods", "kubepods.slice", and "kubelet-kubepods.slice" as kind nests it. */
static bool is_kubepods(const char *comp, size_t len)
{
	static const char word[] = "kubepods";
	size_t n = unit_stem(comp, len), wlen = sizeof(word) - 1;

	return n >= wlen && !memcmp(comp + n - wlen, word, wlen) &&
	       (n == wlen || comp[n - wlen - 1] == '-');
}

/* Last dash-separated word of a component's stem: the part systemd slice
 * names add to their parent's ("kubepods-burstable" -> "burstable"). */
static const char *last_word(const char *comp, size_t len, size_t *wlen)
{
	size_t n = unit_stem(comp, len);
	const char *dash = memrchr(comp, '-', n);
	const char *word = dash ? dash + 1 : comp;

	*wlen = (size_t)(comp + n - word);
	return word;
}

/* "burstable" (cgroupfs) or "kubepods-burstable.slice" (systemd). */
static enum container_qos match_qos(const char *comp, size_t len)
{
	size_t wlen;
	const char *word = last_word(comp, len, &wlen);

	for (size_t i = 0; i < sizeof(qos_classes) / sizeof(qos_classes[0]); i++)
		if (comp_eq(word, wlen, qos_classes[i].name))
			return qos_classes[i].qos;
	return CONTAINER_QOS_NONE;
}

/* Pod UIDs are UUIDs, or 32 hex for static pods; systemd writes '_' for '-'.
 * out is only written once the whole UID checked out: a half-copied one would
 * read as a pod UID and stop the search for the real pod further down. */
static bool copy_pod_uid(const char *uid, size_t len, char *out)
{
	char tmp[CONTAINER_POD_UID_MAX + 1];

	if (len != 32 && len != CONTAINER_POD_UID_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		bool dash_pos = len == CONTAINER_POD_UID_MAX &&
				(i == 8 || i == 13 || i == 18 || i == 23);
		char c = uid[i];

		if (dash_pos ? (c != '-' && c != '_') : !is_lower_hex(c))
			return false;
		tmp[i] = dash_pos ? '-' : c;
	}
	tmp[len] = '\0';
	memcpy(out, tmp, len + 1);
	return true;
}

/* "pod<uuid>" (cgroupfs), or "kubepods[-<qos>]-pod<u_u_i_d>.slice" (systemd,
 * where the UUID's dashes became '_' so the pod word is the last one). */
static bool match_pod(const char *comp, size_t len, char *uid_out)
{
	size_t wlen = len;
	const char *word = comp;

	if (len < 3 || memcmp(comp, "pod", 3))
		word = last_word(comp, len, &wlen);
	return wlen > 3 && !memcmp(word, "pod", 3) && copy_pod_uid(word + 3, wlen - 3, uid_out);
}

static bool is_service(const char *comp, size_t len)
{
	const char *mid;

	return strip_affixes(comp, len, "", ".service", &mid) > 0;
}

int container__info(const char *path, struct container_info *out)
{
	const char *parent = NULL, *p = path;
	size_t parent_len = 0;
	bool in_k8s = false;
	enum container_qos qos = CONTAINER_QOS_GUARANTEED;	/* no QoS level above the pod */

	if (!path || !out)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	while (*p) {
		size_t len;

		if (*p == '/') {
			p++;
			continue;
		}
		len = strcspn(p, "/");
		/* systemd hands whole subtrees to services (user@UID.service,
		 * Delegate=yes): names below are chosen by whoever runs the
		 * service, who could name one docker-<victim>.scope. No
		 * host runtime puts its containers there (rootless ones are
		 * the user's, shown by path). */
		if (is_service(p, len))
			break;
		/* Outermost container wins: it is the one the host's runtime knows. */
		if (match_container(p, len, parent, parent_len, out))
			break;
		if (!in_k8s) {
			in_k8s = is_kubepods(p, len);
		} else if (!out->pod_uid[0]) {
			enum container_qos q = match_qos(p, len);

			if (q != CONTAINER_QOS_NONE)
				qos = q;
			else if (match_pod(p, len, out->pod_uid))
				out->qos = qos;
		}
		parent = p;
		parent_len = len;
		p += len;
	}
	return 0;
}

int container__id(const char *path, char *id, size_t len)
{
	struct container_info info;
	int err;

	if (!id)
		return -EINVAL;
	if (len < CONTAINER_ID_LEN + 1)
		return -ENOSPC;
	err = container__info(path, &info);
	if (err)
		return err;
	memcpy(id, info.id, sizeof(info.id));
	return (int)info.runtime;
}

int container__label(const char *path, char *buf, size_t len)
{
	struct container_info info;
	int err, n;

	if (!buf)
		return -EINVAL;
	err = container__info(path, &info);
	if (err)
		return err;
	if (info.runtime != CONTAINER_PLAIN)
		n = snprintf(buf, len, "%.*s", CONTAINER_LABEL_LEN, info.id);
	else
		n = snprintf(buf, len, "%s", path[0] ? path : "/");
	return n < 0 || (size_t)n >= len ? -ENOSPC : 0;
}

const char *container__runtime_name(enum container_runtime rt)
{
	static const char *const names[] = {
		[CONTAINER_PLAIN] = "plain",
		[CONTAINER_DOCKER] = "docker",
		[CONTAINER_CONTAINERD] = "containerd",
		[CONTAINER_CRIO] = "cri-o",
		[CONTAINER_PODMAN] = "podman",
	};

	return (unsigned)rt < sizeof(names) / sizeof(names[0]) ? names[rt] : "unknown";
}

const char *container__qos_name(enum container_qos qos)
{
	static const char *const names[] = {
		[CONTAINER_QOS_NONE] = "",
		[CONTAINER_QOS_GUARANTEED] = "guaranteed",
		[CONTAINER_QOS_BURSTABLE] = "burstable",
		[CONTAINER_QOS_BESTEFFORT] = "besteffort",
	};

	return (unsigned)qos < sizeof(names) / sizeof(names[0]) ? names[qos] : "unknown";
}

void container__cgroup_label(struct cgroups *cg, uint64_t cgid, char *buf, size_t len)
{
	const char *path = cg ? cgroups__path(cg, cgid) : NULL;

	if (!path || container__label(path, buf, len))
		snprintf(buf, len, "[cgroup %" PRIu64 "]", cgid);
}
