#include <bpf/bpf.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "prof.h"

int prof__set_bpf_stats(const char *sysctl, int on, int *old)
{
	char buf[16] = "";
	int fd = open(sysctl, O_RDWR | O_CLOEXEC);
	ssize_t n;
	int rc = 0;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	if (n <= 0 || (buf[0] != '0' && buf[0] != '1')) {
		rc = n < 0 ? -errno : -EINVAL;
		goto out;
	}
	if (old)
		*old = buf[0] - '0';
	if (pwrite(fd, on ? "1\n" : "0\n", 2, 0) != 2)
		rc = -errno;
out:
	close(fd);
	return rc;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* prog_id of one fdinfo file (BPF programs and the links that attach them
 * both name it), 0 when the fd is something else. */
static uint32_t fdinfo_prog_id(const char *path)
{
	char line[256];
	FILE *f = fopen(path, "re");
	uint32_t id = 0;

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		unsigned long v;
		char *end;

		if (strncmp(line, "prog_id:", 8))
			continue;
		v = strtoul(line + 8, &end, 10);
		if (end != line + 8 && v > 0 && v <= UINT32_MAX)
			id = v;
		break;
	}
	fclose(f);
	return id;
}

int prof__prog_ids(const char *proc_root, pid_t pid, uint32_t *ids, size_t max, size_t *n)
{
	char dir[PATH_MAX], path[PATH_MAX + 300];
	struct dirent *de;
	size_t got = 0;
	DIR *d;

	if (snprintf(dir, sizeof(dir), "%s/%d/fdinfo", proc_root, (int)pid) >= (int)sizeof(dir))
		return -ENAMETOOLONG;
	d = opendir(dir);
	if (!d)
		return -errno;
	while ((de = readdir(d)) && got < max) {
		uint32_t id;
		bool seen = false;

		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		id = fdinfo_prog_id(path);
		for (size_t i = 0; i < got && !seen; i++)
			seen = ids[i] == id;
		if (id && !seen)
			ids[got++] = id;
	}
	closedir(d);
	qsort(ids, got, sizeof(*ids), cmp_u32);
	*n = got;
	return 0;
}

int prof__prog_stats(uint32_t id, struct prof_prog *p)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);
	int fd = bpf_prog_get_fd_by_id(id), rc = 0;

	if (fd < 0)
		return -errno;
	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		rc = -errno;
	close(fd);
	if (rc)
		return rc;
	memset(p, 0, sizeof(*p));
	p->id = id;
	snprintf(p->name, sizeof(p->name), "%.*s", (int)sizeof(info.name), info.name);
	p->run_ns = info.run_time_ns;
	p->run_cnt = info.run_cnt;
	p->recursion_misses = info.recursion_misses;
	return 0;
}

int prof__count_progs(const char *part)
{
	__u32 id = 0;
	int n = 0;

	while (bpf_prog_get_next_id(id, &id) == 0) {
		struct prof_prog p;

		if (prof__prog_stats(id, &p) == 0 && strstr(p.name, part))
			n++;
	}
	return n;
}

/* Field i of a '|'-separated line, blanks trimmed, truncated to len. */
static bool field(const char *line, int i, char *buf, size_t len)
{
	const char *p = line, *e;

	for (; i > 0; i--) {
		p = strchr(p, '|');
		if (!p)
			return false;
		p++;
	}
	e = p + strcspn(p, "|\n");
	while (p < e && isspace((unsigned char)*p))
		p++;
	while (e > p && isspace((unsigned char)e[-1]))
		e--;
	snprintf(buf, len, "%.*s", (int)(e - p), p);
	return e > p;
}

static bool parse_row(const char *line, struct prof_row *r)
{
	char pct[32], sym[PROF_SYM_LEN + 8], *end;

	if (!field(line, 0, pct, sizeof(pct)) || pct[strlen(pct) - 1] != '%')
		return false;
	r->pct = strtod(pct, &end);
	if (end != pct + strlen(pct) - 1 || !(r->pct >= 0 && r->pct <= 100))
		return false;
	if (!field(line, 1, r->comm, sizeof(r->comm)) || !field(line, 2, r->dso, sizeof(r->dso)) ||
	    !field(line, 3, sym, sizeof(sym)))
		return false;
	/* "[k] name" or "[.] name" */
	if (strlen(sym) < 5 || sym[0] != '[' || sym[2] != ']' || sym[3] != ' ')
		return false;
	r->kind = sym[1];
	snprintf(r->sym, sizeof(r->sym), "%.*s", (int)sizeof(r->sym) - 1, sym + 4);
	return true;
}

int prof__parse_perf_report(FILE *f, struct prof_row *rows, size_t max, size_t *n)
{
	char line[1024];

	*n = 0;
	while (*n < max && fgets(line, sizeof(line), f)) {
		size_t len = strlen(line);

		/* A line longer than the buffer: drop its tail, skip the line. */
		if (len == sizeof(line) - 1 && line[len - 1] != '\n') {
			int c;

			while ((c = fgetc(f)) != EOF && c != '\n')
				;
			continue;
		}
		if (line[0] == '#')
			continue;
		if (parse_row(line, &rows[*n]))
			(*n)++;
	}
	return ferror(f) ? -EIO : 0;
}
