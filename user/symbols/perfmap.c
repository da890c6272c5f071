#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "perfmap.h"
#include "procstatus.h"
#include "textio.h"

/* Marks a gap in the index: no code there. */
#define NO_ENTRY	UINT32_MAX

struct pm_entry {
	uint64_t start, end;
	uint32_t name;		/* offset in names */
};

/* The index: disjoint segments sorted by start, each owned by the latest
 * entry covering it. A segment ends where the next one starts; the last one
 * is always a gap. */
struct pm_seg {
	uint64_t start;
	uint32_t entry;		/* NO_ENTRY for a gap */
};

struct perfmap {
	struct pm_entry *entries;	/* in file order: a later index is a later line */
	size_t n, cap;
	char *names;			/* NUL-terminated names, back to back */
	size_t names_len, names_cap;
	struct pm_seg *segs;
	size_t nsegs;

	/* Where a loaded map comes from; proc_root is NULL for perfmap__new. */
	char *proc_root;
	pid_t pid;
	dev_t dev;
	ino_t ino;
	uint64_t off;		/* bytes of the file parsed, always after a '\n' */
	bool in_long_line;	/* the bytes at off continue a line being skipped */
	uint64_t checked_ns;
	uint64_t reset_ns;	/* last time a shrunk file was read anew */
};

struct perfmap *perfmap__new(void)
{
	return calloc(1, sizeof(struct perfmap));
}

void perfmap__free(struct perfmap *pm)
{
	if (!pm)
		return;
	free(pm->entries);
	free(pm->names);
	free(pm->segs);
	free(pm->proc_root);
	free(pm);
}

size_t perfmap__count(const struct perfmap *pm)
{
	return pm->n;
}

/* A hex number (an optional "0x" before), then at least one blank: the text
 * after the blanks, or NULL. */
static const char *parse_field(const char *s, uint64_t *out)
{
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		s += 2;
	s = textio__parse_num(s, 16, out);
	if (!s || (*s != ' ' && *s != '\t'))
		return NULL;
	while (*s == ' ' || *s == '\t')
		s++;
	return s;
}

static bool grow(void **arr, size_t *cap, size_t need, size_t elem, size_t first)
{
	size_t ncap = *cap ? *cap : first;
	void *p;

	if (need <= *cap)
		return true;
	while (ncap < need)
		ncap *= 2;
	p = realloc(*arr, ncap * elem);
	if (!p)
		return false;
	*arr = p;
	*cap = ncap;
	return true;
}

/* One line without its '\n': false when it is malformed or over a limit. */
static bool add_line(struct perfmap *pm, const char *s, size_t len, int *err)
{
	char line[PERFMAP_LINE_MAX + 1];
	uint64_t start, size;
	struct pm_entry *e;
	const char *p;
	size_t nlen;

	if (len > PERFMAP_LINE_MAX || memchr(s, '\0', len))
		return false;
	while (len && (s[len - 1] == '\r' || s[len - 1] == ' ' || s[len - 1] == '\t'))
		len--;
	memcpy(line, s, len);
	line[len] = '\0';
	if (!(p = parse_field(line, &start)) || !(p = parse_field(p, &size)) || !*p)
		return false;
	if (!size || size > PERFMAP_SIZE_MAX || start > UINT64_MAX - size)
		return false;
	nlen = len - (size_t)(p - line);
	if (pm->n == PERFMAP_ENTRIES_MAX || pm->names_len + nlen + 1 > PERFMAP_FILE_MAX)
		return false;
	if (!grow((void **)&pm->entries, &pm->cap, pm->n + 1, sizeof(*pm->entries), 256) ||
	    !grow((void **)&pm->names, &pm->names_cap, pm->names_len + nlen + 1, 1, 16384)) {
		*err = -ENOMEM;
		return false;
	}
	e = &pm->entries[pm->n++];
	e->start = start;
	e->end = start + size;
	e->name = (uint32_t)pm->names_len;
	memcpy(pm->names + pm->names_len, p, nlen + 1);
	pm->names_len += nlen + 1;
	return true;
}

static int by_start(const void *a, const void *b, void *arg)
{
	const struct pm_entry *e = arg;
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	if (e[x].start != e[y].start)
		return e[x].start < e[y].start ? -1 : 1;
	return x < y ? -1 : x > y;
}

/* Max-heap of entry indices: the latest line on top. */
static void heap_push(uint32_t *h, size_t *n, uint32_t v)
{
	size_t i = (*n)++;

	for (; i && h[(i - 1) / 2] < v; i = (i - 1) / 2)
		h[i] = h[(i - 1) / 2];
	h[i] = v;
}

static void heap_pop(uint32_t *h, size_t *n)
{
	uint32_t v = h[--*n];
	size_t i = 0, c;

	while ((c = 2 * i + 1) < *n) {
		if (c + 1 < *n && h[c + 1] > h[c])
			c++;
		if (h[c] <= v)
			break;
		h[i] = h[c];
		i = c;
	}
	h[i] = v;
}

static void emit(struct pm_seg *segs, size_t *n, uint64_t start, uint32_t entry)
{
	if (*n && segs[*n - 1].entry == entry)
		return;		/* the same owner goes on */
	if (*n && segs[*n - 1].start == start)
		(*n)--;		/* an empty segment */
	segs[*n].start = start;
	segs[(*n)++].entry = entry;
	if (*n >= 2 && segs[*n - 2].entry == entry)
		(*n)--;
}

/*
 * Sweep the entries by address, keeping those that cover the current point in
 * a heap by line order: the owner only changes where an entry starts or where
 * the current owner ends (an older entry ending under it changes nothing), so
 * every step consumes one start or one end: O(n log n), at most 2n + 1
 * segments.
 */
static int build_index(struct perfmap *pm)
{
	uint32_t *order, *heap;
	struct pm_seg *segs;
	size_t nh = 0, ns = 0, next = 0;
	uint64_t x;

	order = malloc((pm->n ? pm->n : 1) * sizeof(*order));
	heap = malloc((pm->n ? pm->n : 1) * sizeof(*heap));
	segs = malloc((2 * pm->n + 1) * sizeof(*segs));
	if (!order || !heap || !segs) {
		free(order);
		free(heap);
		free(segs);
		return -ENOMEM;
	}
	for (size_t i = 0; i < pm->n; i++)
		order[i] = (uint32_t)i;
	qsort_r(order, pm->n, sizeof(*order), by_start, pm->entries);

	x = pm->n ? pm->entries[order[0]].start : 0;
	for (;;) {
		uint64_t stop;
		uint32_t top;

		while (next < pm->n && pm->entries[order[next]].start <= x)
			heap_push(heap, &nh, order[next++]);
		while (nh && pm->entries[heap[0]].end <= x)
			heap_pop(heap, &nh);
		if (!nh) {
			emit(segs, &ns, x, NO_ENTRY);
			if (next == pm->n)
				break;
			x = pm->entries[order[next]].start;
			continue;
		}
		top = heap[0];
		emit(segs, &ns, x, top);
		stop = pm->entries[top].end;
		if (next < pm->n && pm->entries[order[next]].start < stop)
			stop = pm->entries[order[next]].start;
		x = stop;
	}
	free(order);
	free(heap);
	free(pm->segs);
	pm->segs = segs;
	pm->nsegs = ns;
	return 0;
}

long perfmap__parse(struct perfmap *pm, const char *text, size_t len)
{
	size_t n0 = pm->n, names0 = pm->names_len;
	const char *p = text, *end = text + len;
	long skipped = 0;
	int err = 0;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *eol = nl ? nl : end;

		/* Blank lines are not worth a count. */
		if (eol > p && !add_line(pm, p, (size_t)(eol - p), &err)) {
			if (err)
				break;
			skipped++;
		}
		p = nl ? nl + 1 : end;
	}
	if (!err && pm->n != n0)
		err = build_index(pm);
	if (err) {
		pm->n = n0;
		pm->names_len = names0;
		return err;
	}
	return skipped;
}

const char *perfmap__lookup(const struct perfmap *pm, uint64_t addr, uint64_t *start)
{
	size_t lo = 0, hi = pm->nsegs;
	const struct pm_entry *e;

	/* The last segment starting at or before addr. */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (pm->segs[mid].start <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo || pm->segs[lo - 1].entry == NO_ENTRY)
		return NULL;
	e = &pm->entries[pm->segs[lo - 1].entry];
	if (start)
		*start = e->start;
	return pm->names + e->name;
}

/* ---- opening the file of a process ---------------------------------------- */

static int openat2_in_root(int rootfd, const char *path, uint64_t flags)
{
	struct open_how how = {
		.flags = flags | O_CLOEXEC,
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};
	long fd = syscall(SYS_openat2, rootfd, path, &how, sizeof(how));

	return fd < 0 ? -errno : (int)fd;
}

/* Which mount fd is on: the mount id, or the device where statx has none. */
static int mount_of(int fd, uint64_t *id)
{
	struct statx stx;

	if (statx(fd, "", AT_EMPTY_PATH, STATX_MNT_ID, &stx))
		return -errno;
	*id = stx.stx_mask & STATX_MNT_ID ? stx.stx_mnt_id
					  : (uint64_t)stx.stx_dev_major << 32 | stx.stx_dev_minor;
	return 0;
}

/* /tmp is often its own mount (tmpfs, a volume): the map may be on it or on
 * the root's, and nowhere else. */
static int check_mount(int rootfd, uint64_t file_mnt)
{
	uint64_t id;
	int tmpfd, err;

	if ((err = mount_of(rootfd, &id)))
		return err;
	if (id == file_mnt)
		return 0;
	tmpfd = openat2_in_root(rootfd, "tmp", O_PATH | O_DIRECTORY);
	if (tmpfd < 0)
		return tmpfd;
	err = mount_of(tmpfd, &id);
	close(tmpfd);
	if (err)
		return err;
	return id == file_mnt ? 0 : -EXDEV;
}

int perfmap__open_in_root(int rootfd, pid_t nspid, uid_t uid)
{
	char rel[48], self[48];
	struct statx stx;
	uint64_t mnt;
	int pfd, fd, err;

	if (nspid <= 0)
		return -EINVAL;
	snprintf(rel, sizeof(rel), "tmp/perf-%d.map", (int)nspid);
	/* O_PATH opens nothing: a FIFO cannot block us, a device sees no open. */
	pfd = openat2_in_root(rootfd, rel, O_PATH);
	if (pfd < 0)
		return pfd;
	if (statx(pfd, "", AT_EMPTY_PATH, STATX_TYPE | STATX_UID, &stx)) {
		err = -errno;
		goto out;
	}
	if (!S_ISREG(stx.stx_mode)) {
		err = -EINVAL;
		goto out;
	}
	if (stx.stx_uid != uid) {
		err = -EACCES;
		goto out;
	}
	if ((err = mount_of(pfd, &mnt)) || (err = check_mount(rootfd, mnt)))
		goto out;
	/* The very file checked, opened for reading through our own fd table. */
	snprintf(self, sizeof(self), "/proc/self/fd/%d", pfd);
	fd = open(self, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	err = fd < 0 ? -errno : fd;
out:
	close(pfd);
	return err;
}

int perfmap__open(const char *proc_root, pid_t pid)
{
	struct procstatus ps;
	char path[PATH_MAX];
	struct stat st;
	int rootfd, fd, n;

	if ((fd = procstatus__read(proc_root, pid, &ps)))
		return fd;
	n = snprintf(path, sizeof(path), "%s/%d", proc_root, (int)pid);
	if (n < 0 || (size_t)n >= sizeof(path))
		return -ENAMETOOLONG;
	if (stat(path, &st))
		return -errno;
	n = snprintf(path, sizeof(path), "%s/%d/root", proc_root, (int)pid);
	if (n < 0 || (size_t)n >= sizeof(path))
		return -ENAMETOOLONG;
	rootfd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return -errno;
	fd = perfmap__open_in_root(rootfd, procstatus__inner_pid(&ps), st.st_uid);
	close(rootfd);
	return fd;
}

static void reset(struct perfmap *pm)
{
	pm->n = pm->names_len = pm->nsegs = 0;
	pm->off = 0;
	pm->in_long_line = false;
}

static ssize_t pread_full(int fd, char *buf, size_t len, uint64_t off)
{
	size_t got = 0;

	while (got < len) {
		ssize_t r = pread(fd, buf + got, len - got, (off_t)(off + got));

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			break;
		got += (size_t)r;
	}
	return (ssize_t)got;
}

/* Parse the complete lines fd got since pm->off. 1 when the names changed. */
static int read_new(struct perfmap *pm, int fd, uint64_t now_ns)
{
	size_t n0 = pm->n, len, done;
	bool was_reset = false;
	struct stat st;
	char *buf, *nl;
	uint64_t end;
	ssize_t got;
	long r = 0;

	if (fstat(fd, &st))
		return -errno;
	if (st.st_dev == pm->dev && st.st_ino == pm->ino && (uint64_t)st.st_size < pm->off) {
		/* Written anew: parsing it all again each second would let the
		 * process make us parse its whole file each second. */
		if (pm->reset_ns && now_ns - pm->reset_ns < PERFMAP_RESET_NS)
			return 0;
		pm->reset_ns = now_ns;
	}
	if (st.st_dev != pm->dev || st.st_ino != pm->ino || (uint64_t)st.st_size < pm->off) {
		/* Another file, or one written anew: none of the old names hold. */
		reset(pm);
		pm->dev = st.st_dev;
		pm->ino = st.st_ino;
		was_reset = true;
	}
	end = (uint64_t)st.st_size < PERFMAP_FILE_MAX ? (uint64_t)st.st_size : PERFMAP_FILE_MAX;
	if (end <= pm->off)
		return was_reset;
	len = (size_t)(end - pm->off);
	buf = malloc(len);
	if (!buf)
		return -ENOMEM;
	got = pread_full(fd, buf, len, pm->off);
	if (got < 0) {
		free(buf);
		return (int)got;
	}
	len = (size_t)got;
	done = 0;
	if (pm->in_long_line) {
		nl = memchr(buf, '\n', len);
		done = nl ? (size_t)(nl + 1 - buf) : len;
		pm->in_long_line = !nl;
	}
	/* Only whole lines: the writer may be in the middle of one. */
	nl = len > done ? memrchr(buf + done, '\n', len - done) : NULL;
	if (nl) {
		r = perfmap__parse(pm, buf + done, (size_t)(nl + 1 - (buf + done)));
		if (r >= 0)
			done = (size_t)(nl + 1 - buf);
	}
	if (r >= 0 && len - done > PERFMAP_LINE_MAX) {
		/* Too long to ever be kept: skip it to its end. */
		done = len;
		pm->in_long_line = true;
	}
	free(buf);
	if (r < 0)
		return (int)r;
	pm->off += done;
	return was_reset || pm->n != n0;
}

static uint64_t monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

struct perfmap *perfmap__load_fd(const char *proc_root, pid_t pid, int fd)
{
	struct perfmap *pm = perfmap__new();
	int err;

	if (!pm || !(pm->proc_root = strdup(proc_root))) {
		perfmap__free(pm);
		errno = ENOMEM;
		return NULL;
	}
	pm->pid = pid;
	pm->checked_ns = monotonic_ns();
	err = read_new(pm, fd, pm->checked_ns);
	if (err < 0) {
		perfmap__free(pm);
		errno = -err;
		return NULL;
	}
	return pm;
}

struct perfmap *perfmap__load(const char *proc_root, pid_t pid)
{
	struct perfmap *pm;
	int fd = perfmap__open(proc_root, pid);

	if (fd < 0) {
		errno = -fd;
		return NULL;
	}
	pm = perfmap__load_fd(proc_root, pid, fd);
	close(fd);
	return pm;
}

struct perfmap *perfmap__load_pid(pid_t pid)
{
	return perfmap__load("/proc", pid);
}

void perfmap__file(const struct perfmap *pm, uint64_t *dev, uint64_t *ino)
{
	*dev = pm->dev;
	*ino = pm->ino;
}

uint64_t perfmap__bytes(const struct perfmap *pm)
{
	return sizeof(*pm) + pm->cap * sizeof(*pm->entries) + pm->names_cap +
	       (pm->segs ? (2 * pm->n + 1) * sizeof(*pm->segs) : 0);
}

int perfmap__update_fd(struct perfmap *pm, int fd, uint64_t now_ns)
{
	if (!pm->proc_root)
		return -EINVAL;
	if (now_ns < pm->checked_ns + PERFMAP_REFRESH_NS)
		return 0;
	pm->checked_ns = now_ns;
	return read_new(pm, fd, now_ns);
}

int perfmap__refresh(struct perfmap *pm, uint64_t now_ns)
{
	int fd, err;

	if (!pm->proc_root)
		return -EINVAL;
	if (now_ns < pm->checked_ns + PERFMAP_REFRESH_NS)
		return 0;
	fd = perfmap__open(pm->proc_root, pm->pid);
	if (fd < 0) {
		pm->checked_ns = now_ns;
		return fd;
	}
	err = perfmap__update_fd(pm, fd, now_ns);
	close(fd);
	return err;
}
