#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "atomic_file.h"
#include "child.h"
#include "cli.h"
#include "harness.h"
#include "prof.h"
#include "lease.h"
#include "sysinfo.h"

#define MAX_CGROUPS 256

static struct {
	char dir[1024];		/* short, so dir + '/' + any name fits in PATH_MAX */
	bool stats_saved;
	int stats_old;
	bool tracefs_mounted;
	struct test_cgroup *cgroups[MAX_CGROUPS];
	size_t n_cgroups;
} s;

int lease__init(const char *parent)
{
	if (mkdir(parent, 0755) && errno != EEXIST)
		return -errno;
	if (snprintf(s.dir, sizeof(s.dir), "%s/run.XXXXXX", parent) >= (int)sizeof(s.dir))
		return -ENAMETOOLONG;
	if (!mkdtemp(s.dir)) {
		s.dir[0] = 0;
		return -errno;
	}
	cli_install_stop_signals();
	/* `bench/run | head` must not kill us before the cleanup runs. */
	signal(SIGPIPE, SIG_IGN);
	atexit(lease__cleanup);
	return 0;
}

const char *lease__dir(void)
{
	return s.dir;
}

const char *lease__path(const char *name)
{
	static char paths[8][PATH_MAX];
	static unsigned next;
	char *p = paths[next++ % 8];

	snprintf(p, PATH_MAX, "%s/%.*s", s.dir, PATH_MAX - (int)sizeof(s.dir) - 1, name);
	return p;
}

int lease__snapshot(const char *bin, const char *name, char *copy, size_t len)
{
	char buf[1 << 16];
	int in, out, rc = 0;
	ssize_t n;

	if (snprintf(copy, len, "%s", lease__path(name)) >= (int)len)
		return -ENAMETOOLONG;
	in = open(bin, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return -errno;
	out = open(copy, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0755);
	if (out < 0) {
		rc = -errno;
		close(in);
		return rc;
	}
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, n) != n) {
			rc = -EIO;
			break;
		}
	if (n < 0)
		rc = -errno;
	close(in);
	if (close(out) && !rc)
		rc = -errno;
	return rc;
}

int lease__bpf_stats(bool on)
{
	int old, rc = prof__set_bpf_stats(BPF_STATS_SYSCTL, on, &old);

	if (!rc && !s.stats_saved) {
		s.stats_saved = true;
		s.stats_old = old;
	}
	return rc;
}

int lease__tracefs(bool *mounted_now)
{
	int rc = sysinfo__ensure_tracefs(mounted_now);

	s.tracefs_mounted |= *mounted_now;
	return rc;
}

int lease__cgroup(struct test_cgroup *cg, const char *tag)
{
	int rc;

	if (s.n_cgroups == MAX_CGROUPS)
		return -ENOSPC;
	rc = tcg_create(cg, tag, 0);
	if (!rc)
		s.cgroups[s.n_cgroups++] = cg;
	return rc;
}

void lease__cgroup_remove(struct test_cgroup *cg)
{
	for (size_t i = 0; i < s.n_cgroups; i++) {
		if (s.cgroups[i] != cg)
			continue;
		s.cgroups[i] = s.cgroups[--s.n_cgroups];
		break;
	}
	tcg_destroy(cg);
}

int lease__write_results(const char *results_dir, const char *suffix,
			   void (*fn)(FILE *f, void *ctx), void *ctx, char *path, size_t len)
{
	struct sysinfo_machine m;
	struct atomic_file af;
	char date[32];
	time_t now = time(NULL);
	int rc;

	sysinfo__machine(&m);
	strftime(date, sizeof(date), "%Y-%m-%d-%H%M%S", localtime(&now));
	if (mkdir(results_dir, 0755) && errno != EEXIST)
		return -errno;
	if (snprintf(path, len, "%s/%s-%s%s.json", results_dir, date, m.host, suffix) >= (int)len)
		return -ENAMETOOLONG;
	if ((rc = atomic_file__open(&af, path)))
		return rc;
	fn(af.f, ctx);
	return atomic_file__commit(&af);
}

/* The scratch directory is flat: only files this program put there. */
static void remove_scratch(void)
{
	DIR *d = opendir(s.dir);
	struct dirent *de;

	while (d && (de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			unlinkat(dirfd(d), de->d_name, 0);
	if (d)
		closedir(d);
	rmdir(s.dir);
	s.dir[0] = 0;
}

void lease__cleanup(void)
{
	child__kill_all(SIGKILL);
	for (size_t i = 0; i < s.n_cgroups; i++)
		tcg_destroy(s.cgroups[i]);
	s.n_cgroups = 0;
	if (s.stats_saved)
		prof__set_bpf_stats(BPF_STATS_SYSCTL, s.stats_old, NULL);
	s.stats_saved = false;
	sysinfo__release_tracefs(s.tracefs_mounted);
	s.tracefs_mounted = false;
	if (s.dir[0])
		remove_scratch();
}
