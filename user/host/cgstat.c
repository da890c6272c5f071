#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cgstat.h"
#include "readfile.h"

#define KEY_MAX		64	/* longer keys are none we read */
#define PID_LINE_MAX	16

static uint64_t sat_add(uint64_t a, uint64_t b)
{
	return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

static uint64_t sat_sub(uint64_t a, uint64_t b)
{
	return a > b ? a - b : 0;
}

/* Whole unsigned decimal in s[0..len); false on anything else or overflow. */
static bool parse_digits(const char *s, size_t len, uint64_t *out)
{
	uint64_t v = 0;

	if (!len)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned d = (unsigned char)s[i] - '0';

		if (d > 9 || v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*out = v;
	return true;
}

/* text[0..len) minus surrounding blanks and newlines. */
static void trim(const char **text, size_t *len)
{
	while (*len && strchr(" \t\r\n", (*text)[0]))
		(*text)++, (*len)--;
	while (*len && strchr(" \t\r\n", (*text)[*len - 1]))
		(*len)--;
}

int cgstat__parse_u64(const char *text, size_t len, uint64_t *out)
{
	if (!text || !out)
		return -EINVAL;
	trim(&text, &len);
	return parse_digits(text, len, out) ? 0 : -EINVAL;
}

int cgstat__parse_limit(const char *text, size_t len, uint64_t *out)
{
	if (!text || !out)
		return -EINVAL;
	trim(&text, &len);
	if (len == 3 && !memcmp(text, "max", 3)) {
		*out = CGSTAT_UNLIMITED;
		return 0;
	}
	if (!parse_digits(text, len, out))
		return -EINVAL;
	if (*out >= CGSTAT_LIMIT_HUGE)
		*out = CGSTAT_UNLIMITED;
	return 0;
}

/* The next "key number" line at or after *p (garbage lines skipped); false at the end. */
static bool next_kv(const char **p, const char *end, const char **key, size_t *klen,
		    uint64_t *val)
{
	while (*p < end) {
		const char *line = *p, *eol = memchr(line, '\n', (size_t)(end - line));
		const char *sp;

		if (!eol)
			eol = end;
		*p = eol < end ? eol + 1 : end;
		sp = memchr(line, ' ', (size_t)(eol - line));
		if (!sp || sp == line)
			continue;
		if (parse_digits(sp + 1, (size_t)(eol - sp - 1), val)) {
			*key = line;
			*klen = (size_t)(sp - line);
			return true;
		}
	}
	return false;
}

int cgstat__parse_key(const char *text, size_t len, const char *key, uint64_t *out)
{
	const char *p = text, *k;
	size_t klen, want;
	uint64_t v;

	if (!text || !key || !out)
		return -EINVAL;
	want = strlen(key);
	while (next_kv(&p, text + len, &k, &klen, &v)) {
		if (klen == want && !memcmp(k, key, klen)) {
			*out = v;
			return 0;
		}
	}
	return -ENOENT;
}

/* memory.stat keys read, by index into the values table below. */
enum stat_key {
	K_ANON, K_FILE, K_SHMEM, K_MAPPED, K_SWAP, K_KERNEL, K_SOCK,
	K_SLAB, K_SLAB_R, K_SLAB_U, K_KSTACK, K_PTABLES, K_SECPT, K_PERCPU, K_VMALLOC,
	K_COUNT,
};

static const char *const v1_keys[K_COUNT] = {
	[K_ANON] = "total_rss", [K_FILE] = "total_cache", [K_SHMEM] = "total_shmem",
	[K_MAPPED] = "total_mapped_file", [K_SWAP] = "total_swap",
};

static const char *const v2_keys[K_COUNT] = {
	[K_ANON] = "anon", [K_FILE] = "file", [K_SHMEM] = "shmem", [K_MAPPED] = "file_mapped",
	[K_KERNEL] = "kernel", [K_SOCK] = "sock", [K_SLAB] = "slab",
	[K_SLAB_R] = "slab_reclaimable", [K_SLAB_U] = "slab_unreclaimable",
	[K_KSTACK] = "kernel_stack", [K_PTABLES] = "pagetables", [K_SECPT] = "sec_pagetables",
	[K_PERCPU] = "percpu", [K_VMALLOC] = "vmalloc",
};

struct stat_vals {
	uint64_t v[K_COUNT];
	unsigned found;		/* 1 << enum stat_key */
};

static void scan_stat(const char *text, size_t len, const char *const *keys,
		      struct stat_vals *sv)
{
	const char *p = text, *k;
	size_t klen;
	uint64_t v;

	memset(sv, 0, sizeof(*sv));
	while (next_kv(&p, text + len, &k, &klen, &v)) {
		if (klen >= KEY_MAX)
			continue;
		for (int i = 0; i < K_COUNT; i++) {
			if (keys[i] && strlen(keys[i]) == klen && !memcmp(keys[i], k, klen)) {
				sv->v[i] = v;
				sv->found |= 1u << i;
				break;
			}
		}
	}
}

static bool has(const struct stat_vals *sv, enum stat_key k)
{
	return sv->found & (1u << k);
}

/* Kernels before 5.18 have no `kernel` line: add up its known parts. */
static bool v2_kernel(const struct stat_vals *sv, uint64_t *out)
{
	static const enum stat_key parts[] = { K_KSTACK, K_PTABLES, K_SECPT, K_PERCPU, K_VMALLOC };
	bool any = false;
	uint64_t sum = 0;

	if (has(sv, K_KERNEL)) {
		*out = sv->v[K_KERNEL];
		return true;
	}
	if (has(sv, K_SLAB)) {
		sum = sv->v[K_SLAB];
		any = true;
	} else if (has(sv, K_SLAB_R) || has(sv, K_SLAB_U)) {
		sum = sat_add(sv->v[K_SLAB_R], sv->v[K_SLAB_U]);
		any = true;
	}
	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
		if (has(sv, parts[i])) {
			sum = sat_add(sum, sv->v[parts[i]]);
			any = true;
		}
	}
	*out = sum;
	return any;
}

int cgstat__parse_stat(const char *text, size_t len, int version, struct cgstat *out)
{
	static const struct {
		enum stat_key key;
		unsigned field;
		size_t off;
	} direct[] = {
		{ K_ANON, CGSTAT_ANON, offsetof(struct cgstat, anon) },
		{ K_SHMEM, CGSTAT_SHMEM, offsetof(struct cgstat, shmem) },
		{ K_MAPPED, CGSTAT_MAPPED, offsetof(struct cgstat, mapped) },
		{ K_SWAP, CGSTAT_SWAP, offsetof(struct cgstat, swap) },
		{ K_SOCK, CGSTAT_SOCK, offsetof(struct cgstat, sock) },
	};
	unsigned before;
	struct stat_vals sv;

	if (!text || !out || (version != 1 && version != 2))
		return -EINVAL;
	before = out->have;
	scan_stat(text, len, version == 1 ? v1_keys : v2_keys, &sv);
	for (size_t i = 0; i < sizeof(direct) / sizeof(direct[0]); i++) {
		if (has(&sv, direct[i].key)) {
			memcpy((char *)out + direct[i].off, &sv.v[direct[i].key], sizeof(uint64_t));
			out->have |= direct[i].field;
		}
	}
	/* Both versions count shmem as file (cache) too: keep the classes apart. */
	if (has(&sv, K_FILE)) {
		out->file = sat_sub(sv.v[K_FILE], sv.v[K_SHMEM]);
		out->have |= CGSTAT_FILE;
	}
	if (version == 2 && v2_kernel(&sv, &out->kernel))
		out->have |= CGSTAT_KERNEL;
	return out->have != before ? 0 : -ENOENT;
}

ssize_t cgstat__parse_pids(const char *text, size_t len, pid_t *pids, size_t max)
{
	const char *p = text, *end = text + len;
	size_t count = 0;

	if (!text || (max && !pids))
		return -EINVAL;
	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		uint64_t v;

		if (!eol)
			eol = end;
		if ((size_t)(eol - p) < PID_LINE_MAX && parse_digits(p, (size_t)(eol - p), &v) &&
		    v > 0 && v <= INT_MAX && count < SSIZE_MAX) {
			if (count < max)
				pids[count] = (pid_t)v;
			count++;
		}
		p = eol < end ? eol + 1 : end;
	}
	return (ssize_t)count;
}

/* ---- readers ------------------------------------------------------------------ */

typedef int (*parse_fn)(const char *text, size_t len, uint64_t *out);

static int parse_oom(const char *text, size_t len, uint64_t *out)
{
	return cgstat__parse_key(text, len, "oom_kill", out);
}

/* Reads name with parse into *val, setting field in have; -errno if unread. */
static int read_one(int dfd, const char *name, parse_fn parse, char *buf, uint64_t *val,
		    unsigned field, struct cgstat *out)
{
	ssize_t n = readfile__at(dfd, name, buf, CGSTAT_FILE_MAX);
	int err = n < 0 ? (int)n : parse(buf, (size_t)n, val);

	if (!err)
		out->have |= field;
	return err;
}

int cgstat__read(const char *dir, int version, unsigned what, struct cgstat *out)
{
	const bool v1 = version == 1;
	const struct {
		unsigned field;
		const char *v1_name, *v2_name;
		parse_fn parse;
		size_t off;
	} files[] = {
		{ CGSTAT_USAGE, "memory.usage_in_bytes", "memory.current", cgstat__parse_u64,
		  offsetof(struct cgstat, usage) },
		{ CGSTAT_LIMIT, "memory.limit_in_bytes", "memory.max", cgstat__parse_limit,
		  offsetof(struct cgstat, limit) },
		{ CGSTAT_KERNEL, "memory.kmem.usage_in_bytes", NULL, cgstat__parse_u64,
		  offsetof(struct cgstat, kernel) },
		{ CGSTAT_SOCK, "memory.kmem.tcp.usage_in_bytes", NULL, cgstat__parse_u64,
		  offsetof(struct cgstat, sock) },
		{ CGSTAT_SWAP, NULL, "memory.swap.current", cgstat__parse_u64,
		  offsetof(struct cgstat, swap) },
		{ CGSTAT_OOM, "memory.oom_control", "memory.events", parse_oom,
		  offsetof(struct cgstat, oom_kills) },
	};
	const unsigned from_stat = CGSTAT_ANON | CGSTAT_FILE | CGSTAT_SHMEM | CGSTAT_MAPPED |
				   (v1 ? CGSTAT_SWAP : CGSTAT_KERNEL | CGSTAT_SOCK);
	int dfd, err, first_err = 0;
	char *buf;

	if (!dir || !out || (version != 1 && version != 2))
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	buf = malloc(CGSTAT_FILE_MAX);
	if (!buf)
		return -ENOMEM;
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		err = -errno;
		free(buf);
		return err;
	}
	if (what & from_stat) {
		ssize_t n = readfile__at(dfd, "memory.stat", buf, CGSTAT_FILE_MAX);

		first_err = n < 0 ? (int)n : cgstat__parse_stat(buf, (size_t)n, version, out);
	}
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		const char *name = v1 ? files[i].v1_name : files[i].v2_name;

		if (!(what & files[i].field) || !name || (out->have & files[i].field))
			continue;
		err = read_one(dfd, name, files[i].parse, buf,
			       (uint64_t *)((char *)out + files[i].off), files[i].field, out);
		if (!first_err)
			first_err = err;
	}
	close(dfd);
	free(buf);
	/* The stat may have brought figures nobody asked for: report only those asked. */
	out->have &= what;
	return out->have ? 0 : (first_err ? first_err : -ENOENT);
}

ssize_t cgstat__read_pids(const char *dir, size_t max, pid_t **pids)
{
	char path[PATH_MAX];
	size_t len;
	ssize_t n;
	char *text;
	int r;

	if (!dir || !pids)
		return -EINVAL;
	*pids = NULL;
	r = snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	if (r < 0 || (size_t)r >= sizeof(path))
		return -ENAMETOOLONG;
	text = readfile__alloc(AT_FDCWD, path, CGSTAT_PROCS_MAX, &len);
	if (!text)
		return -errno;
	n = cgstat__parse_pids(text, len, NULL, 0);
	if (n > 0) {
		size_t keep = (size_t)n < max ? (size_t)n : max;

		*pids = keep ? malloc(keep * sizeof(**pids)) : NULL;
		if (keep && !*pids) {
			free(text);
			return -ENOMEM;
		}
		n = cgstat__parse_pids(text, len, *pids, keep);
	}
	free(text);
	return n;
}
