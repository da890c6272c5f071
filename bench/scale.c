#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "child.h"
#include "cli.h"
#include "harness.h"
#include "json.h"
#include "log.h"
#include "msreport.h"
#include "scale.h"
#include "lease.h"
#include "stats.h"
#include "sysinfo.h"
#include "tracers.h"

#define MAX_CGROUPS	200
#define MAX_PROCS	1000
#define CHURN_MIB	"16"
#define READY_TIMEOUT_S	300

struct cg_row {
	struct test_cgroup cg;
	uint64_t ino;			/* memscope's cgroup_id */
	uint64_t usage_before, usage_after;
	int leak_mib;			/* per process */
	int procs;
	bool found;			/* in memscope's report */
	int64_t resident;		/* memscope's exact figure */
	uint64_t alloc;
	bool ok;
};

struct scale {
	const struct scale_opts *o;
	struct cg_row *rows;
	pid_t pids[MAX_PROCS];
	int n_pids;
	long rss_kib[4096];		/* memscope RSS, one sample per second */
	size_t n_rss;
	long peak_rss_kib;		/* ru_maxrss */
	long end_rss_kib, end_bpf_kib;	/* at the end, and how much is mmapped BPF maps */
	double window_s;
	struct msreport rep;
	bool has_rep;
	bool accounting_ok, rss_ok;
	size_t n_bad;
	double max_err_mib, median_err_pct;
};

/* v1's charge counter, else v2's. */
static int cg_usage(const struct test_cgroup *cg, uint64_t *bytes)
{
	char path[400];
	char *text;

	snprintf(path, sizeof(path), "%s/%s", cg->dir,
		 cg->version == 1 ? "memory.usage_in_bytes" : "memory.current");
	text = read_text(path);
	if (!text)
		return -errno;
	*bytes = strtoull(text, NULL, 10);
	free(text);
	return 0;
}

static int create_cgroups(struct scale *s)
{
	for (int i = 0; i < s->o->cgroups; i++) {
		struct cg_row *r = &s->rows[i];
		char tag[32];
		struct stat st;
		int rc;

		snprintf(tag, sizeof(tag), "scale%d", i);
		if ((rc = lease__cgroup(&r->cg, tag)))
			return log_error("cannot create memory cgroup %d: %s", i,
					 strerror(-rc)), rc;
		if (stat(r->cg.dir, &st))
			return -errno;
		r->ino = st.st_ino;
		/* Different sizes per cgroup, so a mix-up between cgroups shows. */
		r->leak_mib = 2 + i % 7;
	}
	return 0;
}

static int spawn_procs(struct scale *s)
{
	for (int p = 0; p < s->o->procs; p++) {
		struct cg_row *r = &s->rows[p % s->o->cgroups];
		char leak[16], ready[32];
		char *argv[] = { WORKLOAD("leaker"), "-l", leak, "-c", CHURN_MIB, "-h", "3600",
				 "-r", NULL, NULL };
		struct child_opts co = { .cgroup_procs = r->cg.procs };
		pid_t pid;

		snprintf(leak, sizeof(leak), "%d", r->leak_mib);
		snprintf(ready, sizeof(ready), "ready.%d", p);
		argv[8] = (char *)lease__path(ready);
		pid = child__spawn(argv, &co);
		if (pid < 0)
			return log_error("cannot start process %d: %s", p, strerror(-pid)), pid;
		s->pids[s->n_pids++] = pid;
		r->procs++;
	}
	return 0;
}

static void sample_rss(struct scale *s, pid_t memscope)
{
	long kib;

	if (s->n_rss < sizeof(s->rss_kib) / sizeof(s->rss_kib[0]) &&
	    child__rss_kib("/proc", memscope, &kib) == 0)
		s->rss_kib[s->n_rss++] = kib;
}

/* Waits until every process has done its allocations, sampling memscope. */
static int wait_ready(struct scale *s, pid_t memscope)
{
	double deadline = cli_now() + READY_TIMEOUT_S;
	int done = 0;

	while (done < s->o->procs) {
		char ready[32];

		snprintf(ready, sizeof(ready), "ready.%d", done);
		if (access(lease__path(ready), F_OK) == 0) {
			done++;
			continue;
		}
		if (child__exited(s->pids[done]))
			return log_error("process %d exited before it was ready", done), -EIO;
		if (cli_stop_requested() || cli_now() > deadline)
			return log_error("%d of %d processes ready after %d s", done, s->o->procs,
					 READY_TIMEOUT_S), -ETIMEDOUT;
		sample_rss(s, memscope);
		usleep(200 * 1000);
	}
	return 0;
}

static void compare(struct scale *s)
{
	double err_pct[MAX_CGROUPS];

	s->accounting_ok = s->has_rep;
	for (int i = 0; i < s->o->cgroups; i++) {
		struct cg_row *r = &s->rows[i];
		const struct msr_container *c = msreport__container(&s->rep, r->ino);
		double kernel = (double)r->usage_after - (double)r->usage_before;
		double err, allowed = fmax(kernel * s->o->tolerance_pct / 100,
					   s->o->tolerance_mib * 1048576);

		r->found = c != NULL;
		r->resident = c ? c->resident_bytes : 0;
		r->alloc = c ? c->alloc_bytes : 0;
		err = r->resident - kernel;
		r->ok = r->found && fabs(err) <= allowed;
		err_pct[i] = kernel > 0 ? fabs(err) / kernel * 100 : NAN;
		s->max_err_mib = fmax(s->max_err_mib, fabs(err) / 1048576);
		if (!r->ok) {
			s->n_bad++;
			s->accounting_ok = false;
		}
	}
	s->median_err_pct = stats__median(err_pct, s->o->cgroups);
	s->rss_ok = s->peak_rss_kib > 0 && s->peak_rss_kib / 1024.0 <= s->o->rss_limit_mib;
}

static void print(const struct scale *s, FILE *out)
{
	const struct scale_opts *o = s->o;
	long max_rss = 0;
	int shown = 0;

	fprintf(out, "\nmemscope scale check: %d processes in %d memory cgroups, window %.1f s\n",
		o->procs, o->cgroups, s->window_s);
	fprintf(out, "each process leaks 2..8 MiB (by cgroup) and churns %s MiB, then holds\n",
		CHURN_MIB);
	fprintf(out, "accounting: memscope's resident bytes per cgroup vs the kernel's usage "
		"delta, tolerance max(%.0f%%, %.1f MiB)\n", o->tolerance_pct, o->tolerance_mib);
	fprintf(out, "  %-44s %5s %12s %12s %10s\n", "cgroup", "procs", "kernel_MiB",
		"memscope_MiB", "error_MiB");
	for (int i = 0; i < o->cgroups; i++) {
		const struct cg_row *r = &s->rows[i];
		double kernel = ((double)r->usage_after - (double)r->usage_before) / 1048576;
		char ms[24] = "missing";

		/* Every failure, and the first few for a feel of the numbers. */
		if (r->ok && shown >= 5)
			continue;
		shown++;
		if (r->found)
			snprintf(ms, sizeof(ms), "%.2f", r->resident / 1048576.0);
		fprintf(out, "  %-44s %5d %12.2f %12s %10.2f%s\n", r->cg.rel, r->procs, kernel, ms,
			r->resident / 1048576.0 - kernel, r->ok ? "" : "  MISMATCH");
	}
	fprintf(out, "  (%d cgroups in all: %zu outside tolerance, median |error| %.2f%%, "
		"max |error| %.2f MiB)\n", o->cgroups, s->n_bad, s->median_err_pct, s->max_err_mib);
	for (size_t i = 0; i < s->n_rss; i++)
		max_rss = s->rss_kib[i] > max_rss ? s->rss_kib[i] : max_rss;
	fprintf(out, "memscope RSS: %.1f MiB when the processes started, %.1f MiB at most while "
		"they ran, peak %.1f MiB over the run (ru_maxrss; limit %.0f MiB)\n",
		s->n_rss ? s->rss_kib[0] / 1024.0 : NAN, max_rss / 1024.0,
		s->peak_rss_kib / 1024.0, o->rss_limit_mib);
	fprintf(out, "  (at the end: %.1f MiB, of which %.1f MiB are BPF maps it mmapped: kernel "
		"memory that counts in its RSS)\n", s->end_rss_kib / 1024.0,
		s->end_bpf_kib / 1024.0);
	fprintf(out, "accounting: %s; memory bounded: %s\n", s->accounting_ok ? "PASS" : "FAIL",
		s->rss_ok ? "PASS" : "FAIL");
}

static void write_json(FILE *f, void *ctx)
{
	const struct scale *s = ctx;
	struct sysinfo_machine m;
	struct json j;

	sysinfo__machine(&m);
	json_init(&j, f, true);
	json_obj(&j, NULL);
	json_str(&j, "benchmark", "scale");
	json_str(&j, "host", m.host);
	json_str(&j, "kernel", m.kernel);
	json_i64(&j, "cpus", m.cpus);
	json_str(&j, "memscope_rev", m.memscope_rev);
	json_i64(&j, "cgroups", s->o->cgroups);
	json_i64(&j, "processes", s->o->procs);
	json_double(&j, "window_s", s->window_s);
	json_double(&j, "tolerance_pct", s->o->tolerance_pct);
	json_double(&j, "tolerance_mib", s->o->tolerance_mib);
	json_bool(&j, "accounting_ok", s->accounting_ok);
	json_u64(&j, "cgroups_outside_tolerance", s->n_bad);
	json_double(&j, "median_abs_error_pct", s->median_err_pct);
	json_double(&j, "max_abs_error_mib", s->max_err_mib);
	json_bool(&j, "rss_ok", s->rss_ok);
	json_double(&j, "rss_limit_mib", s->o->rss_limit_mib);
	json_i64(&j, "memscope_peak_rss_kib", s->peak_rss_kib);
	json_i64(&j, "memscope_end_rss_kib", s->end_rss_kib);
	json_i64(&j, "memscope_end_bpf_map_kib", s->end_bpf_kib);
	json_arr(&j, "memscope_rss_kib_per_second");
	for (size_t i = 0; i < s->n_rss; i += 5)
		json_i64(&j, NULL, s->rss_kib[i]);
	json_end(&j);
	json_obj(&j, "losses");
	for (size_t i = 0; i < s->rep.n_losses; i++)
		json_u64(&j, s->rep.losses[i].name, s->rep.losses[i].value);
	json_end(&j);
	json_arr(&j, "per_cgroup");
	for (int i = 0; i < s->o->cgroups; i++) {
		const struct cg_row *r = &s->rows[i];

		json_obj(&j, NULL);
		json_str(&j, "cgroup", r->cg.rel);
		json_u64(&j, "cgroup_id", r->ino);
		json_i64(&j, "processes", r->procs);
		json_i64(&j, "leak_mib_per_process", r->leak_mib);
		json_i64(&j, "kernel_usage_delta", (int64_t)(r->usage_after - r->usage_before));
		if (r->found) {
			json_i64(&j, "memscope_resident", r->resident);
			json_u64(&j, "memscope_alloc", r->alloc);
		} else {
			json_null(&j, "memscope_resident");
		}
		json_bool(&j, "ok", r->ok);
		json_end(&j);
	}
	json_end(&j);
	json_end(&j);
	fputc('\n', f);
}

static int measure(struct scale *s)
{
	const struct tracer_def *ms = tracer__find("memscope");
	struct child_result tr;
	struct tracer t;
	char why[256];
	double start;
	int rc;

	for (int i = 0; i < s->o->cgroups; i++)
		if ((rc = cg_usage(&s->rows[i].cg, &s->rows[i].usage_before)))
			return log_error("cannot read %s usage: %s", s->rows[i].cg.rel,
					 strerror(-rc)), rc;
	rc = tracer__start(ms, s->o->memscope, true, lease__dir(), "scale", &t, why, sizeof(why));
	if (rc)
		return log_error("memscope did not start: %s", why), rc;
	start = cli_now();
	sample_rss(s, t.pid);
	rc = spawn_procs(s);
	if (!rc)
		rc = wait_ready(s, t.pid);
	/* Let the last frees of the churn land before the window closes. */
	usleep(500 * 1000);
	for (int i = 0; !rc && i < s->o->cgroups; i++)
		rc = cg_usage(&s->rows[i].cg, &s->rows[i].usage_after);
	sample_rss(s, t.pid);
	child__rss_split("/proc", t.pid, &s->end_rss_kib, &s->end_bpf_kib);
	s->window_s = cli_now() - start;
	if (tracer__stop(&t, &tr) == 0 && !rc) {
		s->peak_rss_kib = tr.maxrss_kib;
		if (!child__exited_ok(&tr)) {
			char *err = read_text(t.err);

			log_error("memscope failed (status 0x%x):\n%s", tr.status, err ? err : "");
			free(err);
		}
		s->has_rep = child__exited_ok(&tr) &&
			     msreport__load(t.report, NULL, &s->rep) == 0 && s->rep.from_json;
		if (!s->has_rep)
			log_error("no report from memscope (%s)", t.report);
	}
	for (int i = 0; i < s->n_pids; i++)
		child__stop(s->pids[i], SIGKILL, 5, NULL);
	return rc;
}

int scale__run(const struct scale_opts *o)
{
	struct scale *s;
	char path[1024];
	int rc;

	if (o->cgroups < 1 || o->cgroups > MAX_CGROUPS || o->procs < o->cgroups ||
	    o->procs > MAX_PROCS)
		return cli_error("scale: 1..%d cgroups and cgroups..%d processes", MAX_CGROUPS,
				 MAX_PROCS);
	if (access(WORKLOAD("leaker"), X_OK))
		return cli_error("%s is not built (make bench-tools)", WORKLOAD("leaker"));
	if (!tracer__memscope_has_report(o->memscope))
		return cli_error("%s has no --report: the scale check needs its per-cgroup totals",
				 o->memscope);
	s = calloc(1, sizeof(*s));
	if (!s || !(s->rows = calloc(o->cgroups, sizeof(*s->rows)))) {
		free(s);
		return -ENOMEM;
	}
	s->o = o;
	log_notice("scale: %d processes in %d memory cgroups", o->procs, o->cgroups);
	rc = create_cgroups(s);
	if (!rc)
		rc = measure(s);
	if (!rc) {
		compare(s);
		print(s, stdout);
		rc = lease__write_results(o->results_dir, "-scale", write_json, s, path,
					    sizeof(path));
		if (rc)
			log_error("cannot write results: %s", strerror(-rc));
		else
			printf("results: %s\n", path);
		if (!rc && (!s->accounting_ok || !s->rss_ok))
			rc = 1;
	}
	msreport__free(&s->rep);
	free(s->rows);
	free(s);
	return rc;
}
