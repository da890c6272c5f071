/* What memscope's integration tests share: throwaway memory cgroups (created
 * uniquely named at the top of the memory hierarchy, always removed), child
 * processes, and reading what memscope wrote. Tests run from the repo root. */
#ifndef MEMSCOPE_TEST_HARNESS_H
#define MEMSCOPE_TEST_HARNESS_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* The binary under test: ./memscope, or $MEMSCOPE_BIN (e.g. a sanitizer build). */
const char *memscope_bin(void);
#define WORKLOAD(name) "build/workloads/" name
#define MIB (1024ULL * 1024)

struct test_cgroup {
	char rel[128];		/* as /proc/PID/cgroup prints it */
	char dir[256];		/* absolute directory */
	char procs[300];	/* its cgroup.procs */
	int version;
};

/* limit 0: no limit. Returns 0 or -errno. */
int tcg_create(struct test_cgroup *cg, const char *tag, uint64_t limit);
void tcg_destroy(struct test_cgroup *cg);
/* What the kernel charges the cgroup now (memory.current or usage_in_bytes). */
uint64_t tcg_usage(const struct test_cgroup *cg);

/* A private scratch directory, and a path inside it. */
const char *scratch_dir(void);
const char *scratch_path(const char *name);

/* fork+exec with stdout/stderr redirected to files (NULL: inherit). */
pid_t spawn(char *const argv[], const char *out, const char *err);
/* Exit status as from waitpid, or -1 on timeout (the child is then killed). */
int wait_exit(pid_t pid, double timeout_s);
/* The same, and its peak RSS (VmHWM, KiB) into *maxrss_kib when it exited. */
int wait_exit_peak(pid_t pid, double timeout_s, long *maxrss_kib);
bool wait_for_text(const char *file, const char *needle, double timeout_s);
bool wait_for_file(const char *file, double timeout_s);
char *read_text(const char *file);	/* malloc'd, NULL if unreadable */

/* Something listens on TCP port in pid's network namespace (IPv4). */
bool port_listens(pid_t pid, unsigned port);

/* Sum of values of folded lines that contain `needle` (NULL: all lines). */
uint64_t folded_sum(const char *file, const char *needle);
/* The same for lines that contain both needles. */
uint64_t folded_sum_both(const char *file, const char *needle, const char *needle2);
/* Number of folded lines; lines not of the form "stack<space>digits". */
int folded_lines(const char *file, int *malformed);
/* Every line's first frame equals label. */
bool folded_all_labelled(const char *file, const char *label);

/* The number after `"key": ` at or after the first `after` (NULL: from the
 * start) in a JSON text memscope wrote (pretty or not); -1 when missing. */
long long json_num_after(const char *json, const char *after, const char *key);
/* The same after the container labelled label: its "resident_bytes", ... */
long long json_container_num(const char *json, const char *label, const char *key);

#endif
