#include <bpf/bpf.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "cgstat.h"
#include "hmap.h"
#include "procstatus.h"
#include "readfile.h"
#include "selfstat.h"

int selfstat__read(const char *proc_root, struct selfstat *out)
{
	struct procstatus ps;
	struct rusage ru;
	int err;

	memset(out, 0, sizeof(*out));
	if (getrusage(RUSAGE_SELF, &ru))
		return -errno;
	out->cpu_seconds = (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
			   (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
	if ((err = procstatus__read(proc_root, getpid(), &ps)))
		return err;
	if (!(ps.have & PROCSTATUS_VMRSS))
		return -EINVAL;
	out->rss_bytes = ps.vm_rss;
	return 0;
}

int selfstat__merge_prog(struct selfstat_prog *out, size_t *n, size_t max,
			 const struct selfstat_prog *p)
{
	size_t i = 0;
	int cmp = 1;

	while (i < *n && (cmp = strcmp(out[i].name, p->name)) < 0)
		i++;
	if (i < *n && !cmp) {
		out[i].run_time_ns += p->run_time_ns;
		out[i].run_cnt += p->run_cnt;
		out[i].recursion_misses += p->recursion_misses;
		return 0;
	}
	if (*n >= max)
		return -ENOSPC;
	memmove(out + i + 1, out + i, (*n - i) * sizeof(*out));
	out[i] = *p;
	(*n)++;
	return 0;
}

/* The program behind fd, once per program id (seen). 0, or -ENOENT when fd is
 * no program or one already counted. */
static int prog_of_fd(int dirfd, const char *name, struct hmap *seen, struct selfstat_prog *p)
{
	static const char want[] = "anon_inode:bpf-prog";
	struct bpf_prog_info info;
	uint32_t info_len = sizeof(info);
	char link[64];
	char *end;
	ssize_t n = readlinkat(dirfd, name, link, sizeof(link) - 1);
	long fd;
	bool created = false;

	if (n != (ssize_t)sizeof(want) - 1 || memcmp(link, want, sizeof(want) - 1))
		return -ENOENT;
	errno = 0;
	fd = strtol(name, &end, 10);
	if (errno || *end || fd < 0 || fd > INT32_MAX)
		return -ENOENT;
	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd((int)fd, &info, &info_len))
		return -ENOENT;
	if (!hmap__upsert(seen, &info.id, sizeof(info.id), &created) || !created)
		return -ENOENT;
	memset(p, 0, sizeof(*p));
	memcpy(p->name, info.name, sizeof(info.name) < SELFSTAT_PROG_NAME_LEN ?
	       sizeof(info.name) : SELFSTAT_PROG_NAME_LEN);
	p->name[SELFSTAT_PROG_NAME_LEN] = '\0';
	p->run_time_ns = info.run_time_ns;
	p->run_cnt = info.run_cnt;
	p->recursion_misses = info.recursion_misses;
	return 0;
}

ssize_t selfstat__bpf_progs(const char *fd_dir, struct selfstat_prog *out, size_t max)
{
	struct hmap *seen = hmap__new(0);
	struct dirent *de;
	size_t n = 0, looked = 0;
	DIR *d;

	if (!seen)
		return -ENOMEM;
	d = opendir(fd_dir);
	if (!d) {
		int err = -errno;

		hmap__free(seen);
		return err;
	}
	while ((de = readdir(d)) && looked++ < SELFSTAT_FDS_MAX) {
		struct selfstat_prog p;

		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		/* A full table keeps the names it has: a page missing some is still true. */
		if (!prog_of_fd(dirfd(d), de->d_name, seen, &p))
			selfstat__merge_prog(out, &n, max, &p);
	}
	closedir(d);
	hmap__free(seen);
	return (ssize_t)n;
}

int selfstat__bpf_stats_enabled(const char *path)
{
	char buf[32];
	ssize_t n = readfile__at(AT_FDCWD, path, buf, sizeof(buf));
	uint64_t v;

	if (n < 0)
		return (int)n;
	if (cgstat__parse_u64(buf, (size_t)n, &v))
		return -EINVAL;
	return v != 0;
}
