#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "sysinfo.h"

#define TRACEFS "/sys/kernel/tracing"

/* Value after "key" and blanks/colon on the first line starting with key. */
static bool find_value(const char *path, const char *key, char *buf, size_t len)
{
	FILE *f = fopen(path, "re");
	char line[512];
	bool found = false;

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f)) {
		char *p = line + strlen(key);

		if (strncmp(line, key, strlen(key)))
			continue;
		p += strspn(p, " \t:");
		snprintf(buf, len, "%.*s", (int)strcspn(p, "\n"), p);
		found = true;
	}
	fclose(f);
	return found;
}

static void git_rev(char *buf, size_t len)
{
	FILE *p = popen("git describe --always --dirty 2>/dev/null", "re");

	snprintf(buf, len, "unknown");
	if (!p)
		return;
	if (fgets(buf, len, p))
		buf[strcspn(buf, "\n")] = 0;
	if (pclose(p) != 0 || !buf[0])
		snprintf(buf, len, "unknown");
}

void sysinfo__machine(struct sysinfo_machine *m)
{
	struct utsname u;
	char mem[64];

	memset(m, 0, sizeof(*m));
	if (gethostname(m->host, sizeof(m->host) - 1))
		snprintf(m->host, sizeof(m->host), "unknown");
	if (uname(&u) == 0)
		snprintf(m->kernel, sizeof(m->kernel), "%.60s %.60s", u.release, u.machine);
	if (!find_value("/proc/cpuinfo", "model name", m->cpu_model, sizeof(m->cpu_model)))
		snprintf(m->cpu_model, sizeof(m->cpu_model), "unknown");
	m->cpus = (int)sysconf(_SC_NPROCESSORS_ONLN);
	if (find_value("/proc/meminfo", "MemTotal", mem, sizeof(mem)))
		m->mem_bytes = strtoull(mem, NULL, 10) * 1024;
	git_rev(m->memscope_rev, sizeof(m->memscope_rev));
}

int sysinfo__parse_pgalloc(FILE *f, uint64_t *pages)
{
	char line[256];
	uint64_t sum = 0;
	int found = 0;

	while (fgets(line, sizeof(line), f)) {
		unsigned long long v;
		char name[64];

		if (strncmp(line, "pgalloc_", 8))
			continue;
		if (sscanf(line, "%63s %llu", name, &v) != 2)
			continue;
		sum += v;
		found++;
	}
	if (!found)
		return -ENOENT;
	*pages = sum;
	return 0;
}

int sysinfo__pgalloc(uint64_t *pages)
{
	FILE *f = fopen("/proc/vmstat", "re");
	int rc;

	if (!f)
		return -errno;
	rc = sysinfo__parse_pgalloc(f, pages);
	fclose(f);
	return rc;
}

double sysinfo__loadavg(void)
{
	FILE *f = fopen("/proc/loadavg", "re");
	double l;
	int n;

	if (!f)
		return NAN;
	n = fscanf(f, "%lf", &l);
	fclose(f);
	return n == 1 ? l : NAN;
}

int sysinfo__ensure_tracefs(bool *mounted)
{
	*mounted = false;
	if (access(TRACEFS "/events/kmem", F_OK) == 0 ||
	    access("/sys/kernel/debug/tracing/events/kmem", F_OK) == 0)
		return 0;
	if (mount("nodev", TRACEFS, "tracefs", 0, NULL))
		return -errno;
	*mounted = true;
	return 0;
}

void sysinfo__release_tracefs(bool mounted)
{
	if (mounted)
		umount2(TRACEFS, MNT_DETACH);
}
