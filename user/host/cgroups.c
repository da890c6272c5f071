#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cgroups.h"
#include "container.h"
#include "hmap.h"
#include "log.h"
#include "readfile.h"

#define MOUNTINFO_FIELDS_MAX	64
#define RESCAN_INTERVAL_NS	1000000000ull
#define CANDIDATES_SHOWN	3

struct cgroups {
	struct cg_hier h;
	struct hmap *paths;		/* uint64_t id -> char * (malloc'ed path) */
	uint64_t last_scan_ns;
};

/* Is word one of the items of list[0..len) separated by any of seps? */
static bool list_has(const char *list, size_t len, const char *seps, const char *word)
{
	size_t wlen = strlen(word);
	const char *end = list + len;

	while (list < end) {
		size_t n = 0;

		while (list + n < end && !strchr(seps, list[n]))
			n++;
		if (n == wlen && !memcmp(list, word, wlen))
			return true;
		list += n + 1;
	}
	return false;
}

/* ---- mountinfo ------------------------------------------------------------- */

/* Undo the kernel's octal escaping of ' ', '\t', '\n' and '\\' in mountinfo. */
static int unescape(const char *src, char *dst, size_t len)
{
	size_t o = 0;

	for (const char *s = src; *s; s++) {
		char c = *s;

		if (c == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			c = (char)((s[1] - '0') << 6 | (s[2] - '0') << 3 | (s[3] - '0'));
			s += 3;
			if (!c)
				return -EINVAL;
		}
		if (o + 1 >= len)
			return -ENAMETOOLONG;
		dst[o++] = c;
	}
	dst[o] = '\0';
	return 0;
}

static bool v2_has_memory(const char *mount)
{
	char path[PATH_MAX], buf[4096];
	int n = snprintf(path, sizeof(path), "%s/cgroup.controllers", mount);
	ssize_t r;

	if (n < 0 || (size_t)n >= sizeof(path))
		return false;
	r = readfile__at(AT_FDCWD, path, buf, sizeof(buf));
	return r > 0 && list_has(buf, (size_t)r, " \t\n", "memory");
}

/* Rank of a mountinfo line as the memory hierarchy, -1 if it is none; fills
 * mount. Higher ranks: v1 memory > v2 with memory > v2; root "/" breaks ties. */
static int rank_mount(char *line, char *mount, size_t len)
{
	char *field[MOUNTINFO_FIELDS_MAX], *save = NULL, *tok;
	int nf = 0, sep = -1, rank;
	const char *fstype, *opts;

	for (tok = strtok_r(line, " \n", &save); tok && nf < MOUNTINFO_FIELDS_MAX;
	     tok = strtok_r(NULL, " \n", &save)) {
		if (sep < 0 && nf >= 6 && !strcmp(tok, "-"))
			sep = nf;
		field[nf++] = tok;
	}
	if (sep < 0 || sep + 3 >= nf)
		return -1;
	fstype = field[sep + 1];
	opts = field[sep + 3];
	if (unescape(field[4], mount, len) || mount[0] != '/')
		return -1;
	if (!strcmp(fstype, "cgroup"))
		rank = list_has(opts, strlen(opts), ",", "memory") ? 4 : -1;
	else if (!strcmp(fstype, "cgroup2"))
		rank = v2_has_memory(mount) ? 2 : 0;
	else
		return -1;
	return rank < 0 ? rank : rank + !strcmp(field[3], "/");
}

int cgroups__parse_mountinfo(FILE *f, struct cg_hier *out)
{
	char *line = NULL, mount[PATH_MAX];
	size_t cap = 0;
	ssize_t n;
	int best = -1;

	if (!f || !out)
		return -EINVAL;
	while ((n = getline(&line, &cap, f)) >= 0) {
		int rank;

		if (n > CGROUPS_LINE_MAX)
			continue;
		rank = rank_mount(line, mount, sizeof(mount));
		if (rank <= best)
			continue;
		best = rank;
		memcpy(out->mount, mount, sizeof(mount));
		out->version = rank >= 4 ? 1 : 2;
	}
	free(line);
	return best < 0 ? -ENOENT : 0;
}

int cgroups__find_memory_hierarchy(const char *mountinfo_path, struct cg_hier *out)
{
	FILE *f;
	int err;

	if (!mountinfo_path || !out)
		return -EINVAL;
	f = fopen(mountinfo_path, "re");
	if (!f)
		return -errno;
	err = cgroups__parse_mountinfo(f, out);
	fclose(f);
	return err;
}

/* ---- /proc/PID/cgroup ------------------------------------------------------ */

int cgroups__parse_proc_cgroup(const char *text, int version, char *buf, size_t len)
{
	static const char deleted[] = " (deleted)";
	const char *line, *next;

	if (!text || !buf || (version != 1 && version != 2))
		return -EINVAL;
	for (line = text; *line; line = next) {
		const char *eol = strchrnul(line, '\n');
		const char *c1 = memchr(line, ':', (size_t)(eol - line)), *c2, *path;
		size_t plen, dlen = sizeof(deleted) - 1;
		bool is_v2;

		next = *eol ? eol + 1 : eol;
		if (!c1 || !(c2 = memchr(c1 + 1, ':', (size_t)(eol - c1 - 1))))
			continue;
		if (c1 == line || strspn(line, "0123456789") != (size_t)(c1 - line))
			continue;
		/* Hierarchy 0 is the v2 one, and it never names controllers. */
		is_v2 = c1 - line == 1 && line[0] == '0';
		if (version == 2 ? !is_v2 || c2 != c1 + 1
				 : is_v2 || !list_has(c1 + 1, (size_t)(c2 - c1 - 1), ",", "memory"))
			continue;
		path = c2 + 1;
		plen = (size_t)(eol - path);
		if (!plen || path[0] != '/')
			continue;
		/* v2 marks the cgroup of a task that outlived it. */
		if (plen > dlen && !memcmp(path + plen - dlen, deleted, dlen))
			plen -= dlen;
		if (plen >= len)
			return -ENAMETOOLONG;
		memcpy(buf, path, plen);
		buf[plen] = '\0';
		return 0;
	}
	return -ENOENT;
}

int cgroups__pid_path(int pid, const struct cg_hier *h, char *buf, size_t len)
{
	char path[64], *text;
	ssize_t r;
	int err;

	if (pid <= 0 || !h)
		return -EINVAL;
	snprintf(path, sizeof(path), "/proc/%d/cgroup", pid);
	text = malloc(CGROUPS_FILE_MAX);
	if (!text)
		return -ENOMEM;
	r = readfile__at(AT_FDCWD, path, text, CGROUPS_FILE_MAX);
	err = r < 0 ? (int)r : cgroups__parse_proc_cgroup(text, h->version, buf, len);
	free(text);
	return err;
}

/* ---- id -> path index ------------------------------------------------------ */

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Remember id's path; a renamed cgroup (v1 and v2 allow rename(2)) gets its new one. */
static int index_add(struct cgroups *cg, uint64_t id, const char *path)
{
	char **slot = hmap__find(cg->paths, &id, sizeof(id)), *copy;

	if (slot && !strcmp(*slot, path))
		return 0;
	if (!slot && hmap__count(cg->paths) >= CGROUPS_MAX_ENTRIES)
		return -ENOSPC;
	copy = strdup(path);
	if (!copy)
		return -ENOMEM;
	if (!slot)
		slot = hmap__upsert(cg->paths, &id, sizeof(id), NULL);
	if (!slot) {
		free(copy);
		return -ENOMEM;
	}
	free(*slot);
	*slot = copy;
	return 0;
}

struct walk {
	struct cgroups *cg;
	dev_t dev;
	size_t dirs;
	int err;		/* first ENOMEM: the index is incomplete */
	char path[PATH_MAX];
};

/* Index the subdirectories of dfd (path w->path[0..plen), at depth) and
 * below. Takes dfd. Never follows symlinks nor leaves the cgroup fs. */
static void walk_dir(struct walk *w, int dfd, size_t plen, int depth)
{
	DIR *d = fdopendir(dfd);
	struct dirent *de;

	if (!d) {
		close(dfd);
		return;
	}
	while (w->dirs < CGROUPS_MAX_DIRS && !w->err && (de = readdir(d))) {
		struct stat st;
		int fd, n, err;

		if (de->d_type != DT_DIR && de->d_type != DT_UNKNOWN)
			continue;
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		fd = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			continue;
		n = snprintf(w->path + plen, sizeof(w->path) - plen, "/%s", de->d_name);
		if (fstat(fd, &st) || st.st_dev != w->dev || n < 0 ||
		    (size_t)n >= sizeof(w->path) - plen) {
			close(fd);
			continue;
		}
		w->dirs++;
		err = index_add(w->cg, (uint64_t)st.st_ino, w->path);
		if (err == -ENOMEM)
			w->err = err;
		if (depth + 1 < CGROUPS_MAX_DEPTH)
			walk_dir(w, fd, plen + (size_t)n, depth + 1);
		else
			close(fd);
	}
	w->path[plen] = '\0';
	closedir(d);
}

static int scan(struct cgroups *cg)
{
	struct walk *w;
	struct stat st;
	int fd, err;

	cg->last_scan_ns = now_ns();
	fd = open(cg->h.mount, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st)) {
		err = -errno;
		close(fd);
		return err;
	}
	/* PATH_MAX of path: off the stack, the walk recurses. */
	w = calloc(1, sizeof(*w));
	if (!w) {
		close(fd);
		return -ENOMEM;
	}
	w->cg = cg;
	w->dev = st.st_dev;
	err = index_add(cg, (uint64_t)st.st_ino, "/");
	if (!err) {
		walk_dir(w, fd, 0, 0);
		err = w->err;
		log_debug("cgroups: %zu directories under %s, %zu cgroups known", w->dirs,
			  cg->h.mount, hmap__count(cg->paths));
	} else {
		close(fd);
	}
	free(w);
	return err;
}

struct cgroups *cgroups__open(const struct cg_hier *h)
{
	struct cgroups *cg;
	int err;

	if (!h || !h->mount[0] || !memchr(h->mount, '\0', sizeof(h->mount))) {
		errno = EINVAL;
		return NULL;
	}
	cg = calloc(1, sizeof(*cg));
	if (!cg)
		return NULL;
	cg->h = *h;
	cg->paths = hmap__new(sizeof(char *));
	if (!cg->paths) {
		err = -errno;
		goto fail;
	}
	err = scan(cg);
	if (err)
		goto fail;
	return cg;
fail:
	cgroups__free(cg);
	errno = -err;
	return NULL;
}

int cgroups__refresh(struct cgroups *cg)
{
	return cg ? scan(cg) : -EINVAL;
}

size_t cgroups__count(const struct cgroups *cg)
{
	return cg ? hmap__count(cg->paths) : 0;
}

static const char *known_path(const struct cgroups *cg, uint64_t id)
{
	char **slot = hmap__find(cg->paths, &id, sizeof(id));

	return slot ? *slot : NULL;
}

const char *cgroups__path(struct cgroups *cg, uint64_t id)
{
	const char *path;

	/* Never a kernfs id: do not let a bogus sample trigger rescans. */
	if (!cg || !id)
		return NULL;
	path = known_path(cg, id);
	if (!path && now_ns() - cg->last_scan_ns >= RESCAN_INTERVAL_NS) {
		/* A failed rescan still indexed what it could: look again either way. */
		if (scan(cg))
			log_debug("cgroups: rescan of %s incomplete", cg->h.mount);
		path = known_path(cg, id);
	}
	return path;
}

void cgroups__free(struct cgroups *cg)
{
	size_t iter = 0;
	void *val;

	if (!cg)
		return;
	while (cg->paths && hmap__next(cg->paths, &iter, NULL, NULL, &val))
		free(*(char **)val);
	hmap__free(cg->paths);
	free(cg);
}

/* ---- resolving the user's -c ----------------------------------------------- */

/* Appends to a message; a full buffer just truncates it. */
static void appendf(char *buf, size_t len, size_t *off, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void appendf(char *buf, size_t len, size_t *off, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!buf || *off >= len)
		return;
	va_start(ap, fmt);
	n = vsnprintf(buf + *off, len - *off, fmt, ap);
	va_end(ap);
	*off = n < 0 ? len : *off + (size_t)n;
}

/* What a spec matched: a cgroup id, or a container (all its outermost cgroups). */
struct candidate {
	uint64_t id;				/* 0 for a container */
	char ctr[CONTAINER_ID_LEN + 1];		/* "" for a cgroup id */
};

struct matches {
	struct candidate shown[CANDIDATES_SHOWN];
	size_t count;				/* distinct candidates, may exceed shown */
};

static void add_candidate(struct matches *m, uint64_t id, const char *ctr)
{
	for (size_t i = 0; i < m->count && i < CANDIDATES_SHOWN; i++)
		if (m->shown[i].id == id && !strcmp(m->shown[i].ctr, ctr))
			return;
	if (m->count < CANDIDATES_SHOWN) {
		m->shown[m->count].id = id;
		snprintf(m->shown[m->count].ctr, sizeof(m->shown[0].ctr), "%s", ctr);
	}
	m->count++;
}

/* Dropping repeated and trailing '/' lets "/docker//x/" name "/docker/x". */
static int normalize_path(const char *spec, char *out, size_t len)
{
	size_t o = 0;

	for (const char *s = spec; *s; s++) {
		if (*s == '/' && (s[1] == '/' || (s[1] == '\0' && o > 0)))
			continue;
		if (o + 1 >= len)
			return -ENAMETOOLONG;
		out[o++] = *s;
	}
	out[o] = '\0';
	return 0;
}

static bool find_path(struct cgroups *cg, const char *path, uint64_t *id)
{
	size_t iter = 0;
	const void *key;
	void *val;

	while (hmap__next(cg->paths, &iter, &key, NULL, &val)) {
		if (!strcmp(*(char **)val, path)) {
			memcpy(id, key, sizeof(*id));
			return true;
		}
	}
	return false;
}

/* The cgroup named by a path spec, also accepted with the mount point in front. */
static bool match_path(struct cgroups *cg, const char *spec, uint64_t *id)
{
	char path[PATH_MAX];
	size_t mlen = strlen(cg->h.mount);

	if (normalize_path(spec, path, sizeof(path)))
		return false;
	if (find_path(cg, path, id))
		return true;
	if (strncmp(path, cg->h.mount, mlen) || (path[mlen] != '/' && path[mlen] != '\0'))
		return false;
	return find_path(cg, path[mlen] ? path + mlen : "/", id);
}

/* Is cgroup path the outermost one of its container (its parent is not in it)? */
static bool is_container_top(const char *path, const char *ctr)
{
	char parent[PATH_MAX];
	const char *slash = strrchr(path, '/');
	struct container_info info;
	size_t plen = slash ? (size_t)(slash - path) : 0;

	if (plen >= sizeof(parent))
		return false;
	memcpy(parent, path, plen);
	parent[plen] = '\0';
	return container__info(parent, &info) || strcmp(info.id, ctr);
}

/* Containers whose id starts with prefix (lowercase hex), once each. */
static void match_containers(struct cgroups *cg, const char *prefix, struct matches *m)
{
	size_t iter = 0, plen = strlen(prefix);
	void *val;

	while (hmap__next(cg->paths, &iter, NULL, NULL, &val)) {
		struct container_info info;

		if (!container__info(*(char **)val, &info) && info.runtime != CONTAINER_PLAIN &&
		    !strncmp(info.id, prefix, plen))
			add_candidate(m, 0, info.id);
	}
}

static size_t container_cgroups(struct cgroups *cg, const char *ctr, uint64_t *ids, size_t max)
{
	size_t iter = 0, found = 0;
	const void *key;
	void *val;

	while (hmap__next(cg->paths, &iter, &key, NULL, &val)) {
		const char *path = *(char **)val;
		struct container_info info;

		if (container__info(path, &info) || strcmp(info.id, ctr) ||
		    !is_container_top(path, ctr))
			continue;
		if (found < max)
			memcpy(&ids[found], key, sizeof(ids[0]));
		found++;
	}
	return found;
}

enum spec_kind { SPEC_PATH = 1, SPEC_ID = 2, SPEC_CONTAINER = 4 };

/* Which readings a spec allows; a container prefix comes back lowercased in hex. */
static int spec_kinds(const char *spec, uint64_t *id, char *hex)
{
	size_t len = strlen(spec), digits = strspn(spec, "0123456789");
	int kinds = 0;

	if (spec[0] == '/')
		return SPEC_PATH;
	if (digits == len && len > 0 && len <= 20) {
		errno = 0;
		*id = strtoull(spec, NULL, 10);
		if (!errno && *id)
			kinds |= SPEC_ID;
	}
	if (len >= 4 && len <= CONTAINER_ID_LEN && strspn(spec, "0123456789abcdefABCDEF") == len) {
		for (size_t i = 0; i <= len; i++)
			hex[i] = (char)tolower((unsigned char)spec[i]);
		kinds |= SPEC_CONTAINER;
	}
	return kinds;
}

static void collect(struct cgroups *cg, const char *spec, int kinds, uint64_t id,
		    const char *hex, struct matches *m)
{
	uint64_t found;

	memset(m, 0, sizeof(*m));
	if ((kinds & SPEC_PATH) && match_path(cg, spec, &found))
		add_candidate(m, found, "");
	if ((kinds & SPEC_ID) && known_path(cg, id))
		add_candidate(m, id, "");
	if (kinds & SPEC_CONTAINER)
		match_containers(cg, hex, m);
}

int cgroups__resolve(struct cgroups *cg, const char *spec, uint64_t *ids, size_t max, size_t *n,
		     char *err, size_t errlen)
{
	char hex[CONTAINER_ID_LEN + 1];
	struct matches m;
	size_t off = 0, found;
	uint64_t id = 0;
	int kinds;

	if (err && errlen)
		err[0] = '\0';
	if (!cg || !spec || !ids || !n)
		return -EINVAL;
	*n = 0;
	kinds = spec_kinds(spec, &id, hex);
	if (!kinds) {
		appendf(err, errlen, &off, "'%s' is not a cgroup path (/...), a cgroup id, or a "
			"container id prefix (4 or more hex digits)", spec);
		return -EINVAL;
	}
	collect(cg, spec, kinds, id, hex, &m);
	if (!m.count) {
		/* The user may have just started the container: look once more. */
		cgroups__refresh(cg);
		collect(cg, spec, kinds, id, hex, &m);
	}
	if (!m.count) {
		appendf(err, errlen, &off, "no %s matches '%s' in %s",
			kinds == SPEC_PATH ? "memory cgroup" : "memory cgroup or container", spec,
			cg->h.mount);
		return -ENOENT;
	}
	if (m.count > 1) {
		appendf(err, errlen, &off, "'%s' is ambiguous, it matches", spec);
		for (size_t i = 0; i < m.count && i < CANDIDATES_SHOWN; i++) {
			if (m.shown[i].ctr[0])
				appendf(err, errlen, &off, "%s container %.*s", i ? "," : "",
					CONTAINER_LABEL_LEN, m.shown[i].ctr);
			else
				appendf(err, errlen, &off, "%s cgroup id %llu (%s)", i ? "," : "",
					(unsigned long long)m.shown[i].id,
					known_path(cg, m.shown[i].id));
		}
		if (m.count > CANDIDATES_SHOWN)
			appendf(err, errlen, &off, " and %zu more", m.count - CANDIDATES_SHOWN);
		return -EINVAL;
	}
	if (!m.shown[0].ctr[0]) {
		if (!max)
			goto too_many;
		ids[0] = m.shown[0].id;
		*n = 1;
		return 0;
	}
	found = container_cgroups(cg, m.shown[0].ctr, ids, max);
	if (found > max)
		goto too_many;
	*n = found;
	return 0;
too_many:
	appendf(err, errlen, &off, "'%s' matches more than %zu cgroups", spec, max);
	return -ENOSPC;
}
