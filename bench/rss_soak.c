#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "child.h"
#include "cli.h"
#include "harness.h"
#include "json.h"
#include "log.h"
#include "mapuse.h"
#include "msreport.h"
#include "lease.h"
#include "growth.h"
#include "rss_soak.h"
#include "stats.h"
#include "sysinfo.h"
#include "tracers.h"

#define MAX_SAMPLES	8640		/* a day at 10 s */
#define LEAKERS_ALIVE	4
/* The process table may hold what is alive plus what exited in the last
 * recycling rounds: flat means its second half grows by at most this many
 * entries, or 10% of its median. */
#define FLAT_ENTRIES	256

/* The background load: one page-fault storm always running, and leaking
 * processes coming and going, so memscope sees new pids all the time; every
 * other leaker runs in a memory cgroup of its own, made for it and removed
 * once it exits, so memscope sees cgroups come and go too. */
struct load {
	pid_t storm;
	pid_t leakers[LEAKERS_ALIVE];
	struct test_cgroup cg[LEAKERS_ALIVE];
	bool in_cg[LEAKERS_ALIVE];
	uint64_t started;
	uint64_t cgroups;		/* made (and removed) */
	bool cgroup_failed;
};

struct soak {
	const struct rss_soak_opts *o;
	double t[MAX_SAMPLES];		/* seconds since memscope started tracing */
	double rss_mib[MAX_SAMPLES];
	double bpf_mib[MAX_SAMPLES];	/* of which mmapped BPF maps */
	double procs_entries[MAX_SAMPLES];	/* in memscope's process table (NAN: unknown) */
	uint32_t procs_max_entries;
	size_t n;
	double cpu_pct;			/* memscope CPU over the window, % of one core */
	long peak_rss_kib;
	uint64_t procs_started;
	double slope_all, slope_half;	/* MiB per hour */
	double growth_half_mib;
	double procs_growth_half;	/* entries, least squares over the second half */
	double procs_peak;
	bool procs_flat;
	bool flat, alive;
	char why[256];			/* how it died */
	struct msreport rep;
	bool has_rep;
	struct load load;		/* here, not on a stack: cleanup may see its cgroups */
};

static pid_t start_storm(void)
{
	char *argv[] = { WORKLOAD("pagestorm"), "-s", "30", "-m", "16", NULL };

	return child__spawn(argv, NULL);
}

static pid_t start_leaker(struct load *l, int i)
{
	char *argv[] = { WORKLOAD("leaker"), "-l", "1", "-c", "8", NULL };
	struct child_opts co = { 0 };
	char tag[32];

	if (i % 2 && !l->cgroup_failed) {
		snprintf(tag, sizeof(tag), "soak%llu", (unsigned long long)l->cgroups);
		if (lease__cgroup(&l->cg[i], tag) == 0) {
			l->in_cg[i] = true;
			l->cgroups++;
			co.cgroup_procs = l->cg[i].procs;
		} else {
			l->cgroup_failed = true;
			log_warn("soak: cannot create memory cgroups: no cgroup churn");
		}
	}
	return child__spawn(argv, &co);
}

/* After the leaker in slot i was reaped (or failed to start). */
static void drop_leaker_cgroup(struct load *l, int i)
{
	if (!l->in_cg[i])
		return;
	lease__cgroup_remove(&l->cg[i]);
	l->in_cg[i] = false;
}

/* Restarts whatever finished. */
static void keep_load(struct load *l)
{
	if (l->storm <= 0 || child__exited(l->storm)) {
		if (l->storm > 0)
			child__wait(l->storm, 1, &(struct child_result){ 0 });
		l->storm = start_storm();
		l->started += l->storm > 0;
	}
	for (int i = 0; i < LEAKERS_ALIVE; i++) {
		if (l->leakers[i] > 0 && !child__exited(l->leakers[i]))
			continue;
		if (l->leakers[i] > 0)
			child__wait(l->leakers[i], 1, &(struct child_result){ 0 });
		drop_leaker_cgroup(l, i);
		l->leakers[i] = start_leaker(l, i);
		l->started += l->leakers[i] > 0;
	}
}

static void stop_load(struct load *l)
{
	if (l->storm > 0)
		child__stop(l->storm, SIGKILL, 5, NULL);
	for (int i = 0; i < LEAKERS_ALIVE; i++) {
		if (l->leakers[i] > 0)
			child__stop(l->leakers[i], SIGKILL, 5, NULL);
		drop_leaker_cgroup(l, i);
	}
}

/* Least-squares slope of v over t (seconds), in v's units per second:
 * growth.c's fit, the one memscope's own verdicts use, which speaks bytes
 * and MiB/min. */
static int slope_per_s(const double *t, const double *v, size_t n, double *slope)
{
	double mib_per_min = growth__fit(t, v, n);

	if (isnan(mib_per_min))
		return -EINVAL;
	*slope = mib_per_min * (1024.0 * 1024.0) / 60;
	return 0;
}

/* Second-half least-squares growth of v (NAN where unknown is skipped). */
static double half_growth(const double *t, const double *v, size_t n)
{
	double x[MAX_SAMPLES], y[MAX_SAMPLES], slope;
	size_t m = 0;

	for (size_t i = n / 2; i < n; i++) {
		if (isnan(v[i]))
			continue;
		x[m] = t[i];
		y[m++] = v[i];
	}
	if (m < 2 || slope_per_s(x, y, m, &slope))
		return NAN;
	return slope * (x[m - 1] - x[0]);
}

static void analyse_procs(struct soak *s)
{
	double known[MAX_SAMPLES];
	size_t m = 0;

	s->procs_peak = NAN;
	for (size_t i = 0; i < s->n; i++) {
		if (isnan(s->procs_entries[i]))
			continue;
		known[m++] = s->procs_entries[i];
		if (isnan(s->procs_peak) || s->procs_entries[i] > s->procs_peak)
			s->procs_peak = s->procs_entries[i];
	}
	s->procs_growth_half = half_growth(s->t, s->procs_entries, s->n);
	s->procs_flat = !isnan(s->procs_growth_half) &&
			s->procs_growth_half <= fmax(FLAT_ENTRIES, stats__median(known, m) * 0.1);
}

static void analyse(struct soak *s)
{
	size_t half = s->n / 2;
	double median;

	s->slope_all = s->slope_half = NAN;
	if (slope_per_s(s->t, s->rss_mib, s->n, &s->slope_all) == 0)
		s->slope_all *= 3600;
	if (slope_per_s(s->t + half, s->rss_mib + half, s->n - half, &s->slope_half) == 0)
		s->slope_half *= 3600;
	median = stats__median(s->rss_mib, s->n);
	s->growth_half_mib = s->n - half >= 2 ?
		s->slope_half / 3600 * (s->t[s->n - 1] - s->t[half]) : NAN;
	analyse_procs(s);
	s->flat = s->alive && !isnan(s->growth_half_mib) &&
		  s->growth_half_mib <= fmax(s->o->flat_mib, median * 0.02) && s->procs_flat;
}

static void print(const struct soak *s, FILE *out)
{
	if (cli_stop_requested())
		fprintf(out, "\ninterrupted after %.0f s of %.0f", s->n ? s->t[s->n - 1] : 0.0,
			s->o->seconds);
	fprintf(out, "\nmemscope soak: %.0f s at default settings, RSS every %.0f s, under a "
		"page-fault storm and %llu short-lived processes (%llu of them in memory cgroups "
		"made and removed for them)\n", s->o->seconds, s->o->interval,
		(unsigned long long)s->procs_started, (unsigned long long)s->load.cgroups);
	fprintf(out, "  %8s %10s %18s %14s\n", "t_s", "rss_MiB", "of_it_bpf_maps_MiB",
		"proc_table");
	for (size_t i = 0; i < s->n; i++)
		if (i < 3 || i + 3 >= s->n || i % 6 == 0)
			fprintf(out, "  %8.0f %10.2f %18.2f %14.0f\n", s->t[i], s->rss_mib[i],
				s->bpf_mib[i], s->procs_entries[i]);
	fprintf(out, "RSS slope: %.2f MiB/h over the window, %.2f MiB/h over its second half "
		"(%.2f MiB grown there; flat means at most max(%.1f MiB, 2%% of the RSS))\n",
		s->slope_all, s->slope_half, s->growth_half_mib, s->o->flat_mib);
	fprintf(out, "process table: peak %.0f of %u entries, %.0f entries grown over the second "
		"half (flat means at most max(%d, 10%% of its median)): %s\n", s->procs_peak,
		s->procs_max_entries, s->procs_growth_half, FLAT_ENTRIES,
		s->procs_flat ? "flat" : "GROWING");
	fprintf(out, "memscope: peak RSS %.1f MiB, CPU %.2f%% of one core over the window\n",
		s->peak_rss_kib / 1024.0, s->cpu_pct);
	if (!s->alive)
		fprintf(out, "memscope DIED during the soak: %s\n", s->why);
	for (size_t i = 0; i < s->rep.n_losses; i++)
		if (s->rep.losses[i].value)
			fprintf(out, "  loss %s=%llu\n", s->rep.losses[i].name,
				(unsigned long long)s->rep.losses[i].value);
	fprintf(out, "RSS and process table flat: %s\n", s->flat ? "PASS" : "FAIL");
}

static void write_json(FILE *f, void *ctx)
{
	const struct soak *s = ctx;
	struct sysinfo_machine m;
	struct json j;

	sysinfo__machine(&m);
	json_init(&j, f, true);
	json_obj(&j, NULL);
	json_str(&j, "benchmark", "soak");
	json_str(&j, "host", m.host);
	json_str(&j, "kernel", m.kernel);
	json_i64(&j, "cpus", m.cpus);
	json_str(&j, "memscope_rev", m.memscope_rev);
	json_double(&j, "seconds", s->o->seconds);
	json_double(&j, "seconds_done", s->n ? s->t[s->n - 1] : 0.0);
	json_bool(&j, "interrupted", cli_stop_requested());
	json_double(&j, "interval_s", s->o->interval);
	json_u64(&j, "processes_started", s->procs_started);
	json_u64(&j, "cgroups_created", s->load.cgroups);
	json_bool(&j, "memscope_alive", s->alive);
	if (!s->alive)
		json_str(&j, "died", s->why);
	json_double(&j, "rss_slope_mib_per_hour", s->slope_all);
	json_double(&j, "rss_slope_second_half_mib_per_hour", s->slope_half);
	json_double(&j, "rss_growth_second_half_mib", s->growth_half_mib);
	json_double(&j, "proc_table_peak_entries", s->procs_peak);
	json_u64(&j, "proc_table_max_entries", s->procs_max_entries);
	json_double(&j, "proc_table_growth_second_half", s->procs_growth_half);
	json_bool(&j, "proc_table_flat", s->procs_flat);
	json_bool(&j, "flat", s->flat);
	json_i64(&j, "peak_rss_kib", s->peak_rss_kib);
	json_double(&j, "cpu_pct", s->cpu_pct);
	json_arr(&j, "samples");
	for (size_t i = 0; i < s->n; i++) {
		json_obj(&j, NULL);
		json_double(&j, "t_s", s->t[i]);
		json_double(&j, "rss_mib", s->rss_mib[i]);
		json_double(&j, "bpf_map_mib", s->bpf_mib[i]);
		json_double(&j, "proc_table_entries", s->procs_entries[i]);
		json_end(&j);
	}
	json_end(&j);
	json_obj(&j, "losses");
	for (size_t i = 0; i < s->rep.n_losses; i++)
		json_u64(&j, s->rep.losses[i].name, s->rep.losses[i].value);
	json_end(&j);
	json_end(&j);
	fputc('\n', f);
}

/* What memscope said last, and how it ended. */
static void died(struct soak *s, const struct tracer *t, const struct child_result *r)
{
	char *text = read_text(t->err), *last = NULL;

	s->alive = false;
	if (s->why[0])
		return;
	for (char *p = text; p && *p; p += strcspn(p, "\n"), p += *p == '\n')
		if (*p != '\n')
			last = p;
	snprintf(s->why, sizeof(s->why), "status 0x%x at %.0f s; last words: %.*s", r->status,
		 s->n ? s->t[s->n - 1] : 0.0, last ? (int)strcspn(last, "\n") : 0,
		 last ? last : "");
	free(text);
}

static void soak(struct soak *s)
{
	const struct tracer_def *ms = tracer__find("memscope");
	struct load *load = &s->load;
	struct child_result tr;
	struct tracer t;
	uint64_t cpu0 = 0, cpu1 = 0;
	double start, next;
	char why[256];

	if (tracer__start(ms, s->o->memscope, true, lease__dir(), "soak", &t, why, sizeof(why))) {
		log_error("memscope did not start: %s", why);
		return;
	}
	s->alive = true;
	start = next = cli_now();
	child__cpu_ns("/proc", t.pid, &cpu0);
	while (s->n < MAX_SAMPLES && !cli_stop_requested()) {
		double now = cli_now();
		long kib;

		keep_load(load);
		if (now >= next) {
			struct map_use mu;
			long bpf;
			int rc = -ESRCH;

			if (child__exited(t.pid) ||
			    (rc = child__rss_split("/proc", t.pid, &kib, &bpf))) {
				if (rc != -ESRCH)
					snprintf(s->why, sizeof(s->why), "cannot read its smaps: %s",
						 strerror(-rc));
				s->alive = false;
				break;
			}
			s->procs_entries[s->n] = NAN;
			if (mapuse__read("/proc", t.pid, "procs", &mu) == 0) {
				s->procs_entries[s->n] = mu.entries;
				s->procs_max_entries = mu.max_entries;
			}
			s->t[s->n] = now - start;
			s->bpf_mib[s->n] = bpf / 1024.0;
			s->rss_mib[s->n++] = kib / 1024.0;
			child__cpu_ns("/proc", t.pid, &cpu1);
			if (s->n % 6 == 1)
				log_notice("soak: %.0f/%.0f s, memscope RSS %.2f MiB", now - start,
					   s->o->seconds, kib / 1024.0);
			if (now - start >= s->o->seconds)
				break;
			next += s->o->interval;
		}
		usleep(100 * 1000);
	}
	s->cpu_pct = (cpu1 - cpu0) / 1e9 / (cli_now() - start) * 100;
	stop_load(load);
	s->procs_started = load->started;
	if (tracer__stop(&t, &tr) == 0) {
		s->peak_rss_kib = tr.maxrss_kib;
		if (!child__exited_ok(&tr) || !s->alive)
			died(s, &t, &tr);
		s->has_rep = msreport__load(t.report, t.err, &s->rep) == 0;
	}
}

int rss_soak__run(const struct rss_soak_opts *o)
{
	struct soak *s;
	char path[1024];
	int rc;

	if (!(o->seconds > 0) || !(o->interval > 0))
		return cli_error("soak: seconds and interval must be positive");
	if (access(WORKLOAD("pagestorm"), X_OK) || access(WORKLOAD("leaker"), X_OK))
		return cli_error("build/workloads/ is not built (make bench builds it)");
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->o = o;
	log_notice("soak: %.0f s, RSS every %.0f s", o->seconds, o->interval);
	soak(s);
	analyse(s);
	print(s, stdout);
	rc = lease__write_results(o->results_dir, "-soak", write_json, s, path, sizeof(path));
	if (rc)
		log_error("cannot write results: %s", strerror(-rc));
	else
		printf("results: %s\n", path);
	if (!rc && !s->flat)
		rc = 1;
	msreport__free(&s->rep);
	free(s);
	return rc;
}
