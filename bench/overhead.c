#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "child.h"
#include "cli.h"
#include "harness.h"
#include "log.h"
#include "overhead_int.h"
#include "lease.h"
#include "stats.h"

#define RUN_TIMEOUT_S	600
#define PERF_FREQ	"999"

struct ctx {
	const struct ov_opts *o;
	struct ov_result *res;
	bool perf_ok;
};

static void note(struct ov_result *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void note(struct ov_result *r, const char *fmt, ...)
{
	va_list ap;

	if (r->n_notes == sizeof(r->notes) / sizeof(r->notes[0]))
		return;
	va_start(ap, fmt);
	vsnprintf(r->notes[r->n_notes++], OV_WHY_LEN, fmt, ap);
	va_end(ap);
	log_notice("%s", r->notes[r->n_notes - 1]);
}

/* "a,b" contains name as a whole item; NULL list: everything. */
static bool selected(const char *list, const char *name)
{
	size_t len = strlen(name);

	for (const char *p = list; p && *p; p += strcspn(p, ","), p += *p == ',')
		if (strcspn(p, ",") == len && !strncmp(p, name, len))
			return true;
	return !list;
}

/* Every name in a list must mean something: a typo must not silently shrink
 * the run. */
static int check_names(const char *list, bool (*known)(const char *, size_t), const char *what)
{
	for (const char *p = list; p && *p; p += strcspn(p, ","), p += *p == ',') {
		size_t len = strcspn(p, ",");

		if (!known(p, len))
			return cli_error("unknown %s '%.*s'", what, (int)len, p);
	}
	return 0;
}

static bool known_workload(const char *p, size_t len)
{
	for (size_t i = 0; i < n_workloads; i++)
		if (strlen(workloads[i].name) == len && !strncmp(workloads[i].name, p, len))
			return true;
	return false;
}

static bool known_tracer(const char *p, size_t len)
{
	for (size_t i = 0; i < n_tracer_defs; i++)
		if (strlen(tracer_defs[i].name) == len && !strncmp(tracer_defs[i].name, p, len))
			return true;
	return false;
}

/* The memscope build a tracer runs. */
static const char *binary(const struct ov_opts *o, const struct tracer_def *d)
{
	return d->kind == TRACER_BASELINE ? o->baseline : o->memscope;
}

/* Runs an untimed helper command (setup, prep) to completion. */
static int run_helper(const char *const *tmpl, const char *out, char *why, size_t len)
{
	struct child_opts co = { .out = out, .err = lease__path("helper.err") };
	struct child_result r;
	struct wl_argv a;
	pid_t pid;
	int rc;

	if ((rc = workload__argv(tmpl, lease__dir(), &a)))
		return snprintf(why, len, "bad command line"), rc;
	pid = child__spawn(a.argv, &co);
	if (pid < 0)
		return snprintf(why, len, "%s: %s", a.argv[0], strerror(-pid)), pid;
	if ((rc = child__wait(pid, RUN_TIMEOUT_S, &r))) {
		child__stop(pid, SIGKILL, 5, NULL);
		return snprintf(why, len, "%s: %s", a.argv[0], strerror(-rc)), rc;
	}
	if (!child__exited_ok(&r))
		return snprintf(why, len, "%s failed (status 0x%x)", a.argv[0], r.status), -EIO;
	return 0;
}

/* The page-cache workload is only a page-cache workload if the drop worked. */
static void check_prep(struct ov_result *res, const char *out)
{
	FILE *f = fopen(out, "re");
	struct wl_metric m[WL_MAX_METRICS];
	size_t n = f ? workload__metrics(f, m, WL_MAX_METRICS) : 0;
	double cached = workload__metric(m, n, "cached_pages");
	static bool warned;

	if (f)
		fclose(f);
	if (cached > 0 && !warned) {
		warned = true;
		note(res, "the page-cache drop left %.0f pages cached: reads partly hit the cache",
		     cached);
	}
}

/* perf record -a over the workload: what every CPU did, BPF programs
 * included (they show as bpf_prog_<tag>_<name> kernel symbols). */
static pid_t perf_start(const char *data)
{
	char *argv[] = { "perf", "record", "-a", "-F", PERF_FREQ, "-q", "-o", (char *)data, NULL };
	struct child_opts co = { .err = lease__path("perf.err") };
	pid_t pid = child__spawn(argv, &co);

	/* perf writes its header once it is sampling. */
	for (int i = 0; pid > 0 && i < 100 && access(data, F_OK); i++)
		usleep(20 * 1000);
	usleep(100 * 1000);
	return pid;
}

static void perf_report(const char *data, struct ov_profile *p)
{
	char *argv[] = { "perf", "report", "-i", (char *)data, "--stdio", "--no-children",
			 "--sort", "comm,dso,symbol", "-t", "|", "--percent-limit", "0.5", NULL };
	const char *out = lease__path("perf.txt"), *err = lease__path("perf-report.err");
	struct child_opts co = { .out = out, .err = err };
	struct child_result r;
	FILE *f;
	pid_t pid = child__spawn(argv, &co);
	bool ok = pid > 0 && child__wait(pid, 120, &r) == 0 && child__exited_ok(&r);

	if (pid > 0 && !ok)
		child__stop(pid, SIGKILL, 5, NULL);
	if (ok && (f = fopen(out, "re"))) {
		prof__parse_perf_report(f, p->rows, OV_PERF_ROWS, &p->n_rows);
		fclose(f);
	}
	if (!p->n_rows) {
		char *text = read_text(err);

		snprintf(p->perf_why, sizeof(p->perf_why), "perf report %s: %.*s",
			 ok ? "gave no rows" : "failed", text ? (int)strcspn(text, "\n") : 0,
			 text ? text : "");
		free(text);
	}
	unlink(data);
}

static void read_progs(pid_t tracer, struct prof_prog *progs, size_t *n_progs)
{
	uint32_t ids[PROF_MAX_PROGS];
	size_t n = 0;

	*n_progs = 0;
	if (prof__prog_ids("/proc", tracer, ids, PROF_MAX_PROGS, &n))
		return;
	for (size_t i = 0; i < n; i++)
		if (prof__prog_stats(ids[i], &progs[*n_progs]) == 0)
			(*n_progs)++;
}

/* What a traced run learned about its tracer once it stopped. */
static void tracer_results(const struct tracer *t, const struct child_result *tr,
			   struct ov_run *r)
{
	r->tr_cpu_s = tr->user_s + tr->sys_s;
	r->tr_rss_kib = tr->maxrss_kib;
	if (!tracer__is_memscope(t->def))
		return;
	r->has_rep = msreport__load(t->report[0] ? t->report : NULL, t->err, &r->rep) == 0;
	/* Per-container totals are for bench scale; keep runs small. */
	msreport__free(&r->rep);
}

/*
 * One timed run of w, under cfg's tracer when it has one. profile: the run
 * is the profile pass (BPF statistics on, perf -a), not a timed sample.
 * 0; -EAGAIN when the tracer could not run (cfg is marked unusable); other
 * -errno when the workload failed.
 */
static int run_once(struct ctx *c, struct ov_workload *ow, struct ov_cfg *cfg, bool profile,
		    struct ov_run *r, char *why, size_t len)
{
	const struct workload *w = ow->w;
	struct ov_profile *p = &cfg->prof;
	struct child_opts co = { .out = lease__path("workload.out"),
				 .err = lease__path("workload.err") };
	struct tracer t = { .pid = 0 };
	struct child_result wr, tr;
	uint64_t pg0 = 0, pg1 = 0, cpu0 = 0, cpu1 = 0;
	pid_t pid, perf = 0;
	struct wl_argv a;
	FILE *f;
	int rc;

	memset(r, 0, sizeof(*r));
	if (cfg->tracer) {
		if (profile && (rc = lease__bpf_stats(true))) {
			snprintf(p->why, sizeof(p->why), "cannot enable BPF statistics: %s",
				 strerror(-rc));
			return rc;
		}
		rc = tracer__start(cfg->tracer, binary(c->o, cfg->tracer), c->res->has_report,
				   lease__dir(), cfg->tracer->name, &t, cfg->why, sizeof(cfg->why));
		if (rc) {
			if (profile)
				lease__bpf_stats(false);
			cfg->usable = false;
			return -EAGAIN;
		}
		if (profile && c->perf_ok)
			perf = perf_start(lease__path("perf.data"));
		if (profile)
			read_progs(t.pid, p->progs0, &p->n_progs0);
	}
	/* Right before the timed run, traced or not: on a VM the kernel hands
	 * pages freed more than ~2 s ago back to the host (free page reporting),
	 * and taking them again costs host faults, so the gap between the drop and
	 * the read must be the same on both sides. */
	if (w->prep[0]) {
		if ((rc = run_helper(w->prep, lease__path("prep.out"), why, len)))
			goto out;
		check_prep(c->res, lease__path("prep.out"));
	}
	if (t.pid)
		child__cpu_ns("/proc", t.pid, &cpu0);
	if ((rc = workload__argv(w->run, lease__dir(), &a)))
		goto out;
	sysinfo__pgalloc(&pg0);
	pid = child__spawn(a.argv, &co);
	if (pid < 0) {
		rc = pid;
		snprintf(why, len, "%s: %s", a.argv[0], strerror(-rc));
		goto out;
	}
	rc = child__wait(pid, RUN_TIMEOUT_S, &wr);
	sysinfo__pgalloc(&pg1);
	if (rc) {
		child__stop(pid, SIGKILL, 5, NULL);
		snprintf(why, len, "%s", rc == -EINTR ? "interrupted" : "timed out");
		goto out;
	}
	if (!child__exited_ok(&wr)) {
		snprintf(why, len, "%s failed (status 0x%x)", a.argv[0], wr.status);
		rc = -EIO;
		goto out;
	}
	r->wall_s = wr.wall_s;
	r->cpu_s = wr.user_s + wr.sys_s;
	r->pgalloc = pg1 - pg0;
	if ((f = fopen(co.out, "re"))) {
		r->n_m = workload__metrics(f, r->m, WL_MAX_METRICS);
		fclose(f);
	}
	if (t.pid && child__cpu_ns("/proc", t.pid, &cpu1) == 0)
		r->tr_cpu_pct = (cpu1 - cpu0) / 1e9 / r->wall_s * 100;
	if (profile) {
		p->wall_s = r->wall_s;
		if (perf > 0)
			child__stop(perf, SIGINT, 30, NULL);
		perf = 0;
		/* Right before the tracer stops, so the kernel's run counts and
		 * the tracer's own event counts cover the same window. */
		read_progs(t.pid, p->progs, &p->n_progs);
	}
out:
	if (perf > 0)
		child__stop(perf, SIGINT, 30, NULL);
	if (t.pid) {
		int stop = tracer__stop(&t, &tr);

		if (stop && !rc) {
			snprintf(why, len, "%s did not exit after SIGINT", t.def->name);
			rc = stop;
		} else if (!rc) {
			tracer_results(&t, &tr, r);
			if (!WIFEXITED(tr.status) || (tracer__is_memscope(t.def) &&
						      WEXITSTATUS(tr.status))) {
				snprintf(why, len, "%s ended badly (status 0x%x)", t.def->name,
					 tr.status);
				rc = -EIO;
			}
		}
		if (profile)
			lease__bpf_stats(false);
	}
	if (profile && c->perf_ok && rc == 0)
		perf_report(lease__path("perf.data"), p);
	return rc;
}

/* One timed run of cfg; the run, or NULL when it failed or could not run. */
static const struct ov_run *run_cfg(struct ctx *c, struct ov_workload *ow, struct ov_cfg *cfg,
				    int round)
{
	char why[OV_WHY_LEN] = "";
	struct ov_run *r = &cfg->runs[cfg->n_runs];
	const char *name = cfg->tracer ? cfg->tracer->name : "untraced";
	int rc;

	if (!cfg->usable || cli_stop_requested() || cfg->n_runs == OV_MAX_RUNS)
		return NULL;
	rc = run_once(c, ow, cfg, false, r, why, sizeof(why));
	if (rc == -EAGAIN) {
		log_notice("%s: %s cannot run: %s", ow->w->name, name, cfg->why);
		return NULL;
	}
	if (rc) {
		cfg->n_failed++;
		log_warn("%s round %d, %s: %s", ow->w->name, round + 1, name, why);
		return NULL;
	}
	cfg->n_runs++;
	log_notice("%s round %d, %-12s %.3f s wall, %.3f s cpu", ow->w->name, round + 1, name,
		   r->wall_s, r->cpu_s);
	return r;
}

/* An A/B pair: untraced, then cfg; keeps cfg's ratios when both ran. */
static void run_pair(struct ctx *c, struct ov_workload *ow, struct ov_cfg *cfg, int round)
{
	const struct ov_run *a = run_cfg(c, ow, &ow->cfg[0], round);
	const struct ov_run *b = a ? run_cfg(c, ow, cfg, round) : NULL;

	if (!b || cfg->n_pairs == OV_MAX_ROUNDS)
		return;
	for (size_t j = 0; j < WL_MAX_COMPARED && ow->w->compared[j]; j++) {
		const char *k = ow->w->compared[j];

		cfg->pair_metric[j][cfg->n_pairs] = workload__metric(b->m, b->n_m, k) /
						    workload__metric(a->m, a->n_m, k);
	}
	cfg->pair_wall[cfg->n_pairs] = b->wall_s / a->wall_s;
	cfg->pair_cpu[cfg->n_pairs++] = b->cpu_s / a->cpu_s;
}

/* Rounds the run arrays have room for: the untraced configuration runs
 * once per tracer per round. */
static int max_rounds(const struct ov_workload *ow)
{
	size_t k = ow->n_cfg > 1 ? ow->n_cfg - 1 : 1;
	size_t n = OV_MAX_RUNS / k;

	return n < OV_MAX_ROUNDS ? (int)n : OV_MAX_ROUNDS;
}

static void profile_cfg(struct ctx *c, struct ov_workload *ow, struct ov_cfg *cfg)
{
	struct ov_run r;
	char why[OV_WHY_LEN] = "";
	int rc;

	if (!cfg->tracer || !cfg->usable || cli_stop_requested())
		return;
	rc = run_once(c, ow, cfg, true, &r, why, sizeof(why));
	if (rc) {
		if (!cfg->prof.why[0])
			snprintf(cfg->prof.why, sizeof(cfg->prof.why), "%s",
				 rc == -EAGAIN ? cfg->why : why);
		return;
	}
	cfg->prof.done = true;
	cfg->prof.has_rep = r.has_rep;
	cfg->prof.rep = r.rep;
	log_notice("%s profile, %s: %zu BPF programs, %zu perf rows", ow->w->name,
		   cfg->tracer->name, cfg->prof.n_progs, cfg->prof.n_rows);
}

/* deadline: when this workload's share of the time cap runs out. */
static void run_workload(struct ctx *c, struct ov_workload *ow, double deadline)
{
	char why[OV_WHY_LEN];
	size_t k = ow->n_cfg - 1;	/* traced configurations */

	if (ow->w->setup[0] && run_helper(ow->w->setup, NULL, why, sizeof(why))) {
		ow->skipped = true;
		snprintf(ow->why, sizeof(ow->why), "setup failed: %.180s", why);
		return;
	}
	/* One untraced run thrown away: the first run after the setup finds
	 * caches and free memory in a state no later run sees. */
	if (!cli_stop_requested()) {
		struct ov_run warm;

		run_once(c, ow, &ow->cfg[0], false, &warm, why, sizeof(why));
	}
	for (int round = 0; round < max_rounds(ow) && !cli_stop_requested(); round++) {
		/* A/B pairs, the tracer order rotated each round. */
		for (size_t i = 0; i < k; i++)
			run_pair(c, ow, &ow->cfg[1 + (i + round) % k], round);
		if (!k)
			run_cfg(c, ow, &ow->cfg[0], round);
		ow->rounds = round + 1;
		if (ow->rounds < c->o->rounds)
			continue;
		if (c->o->ci_points <= 0)
			break;
		if ((ow->converged = ov_converged(ow, c->o->ci_points)))
			break;
		if (cli_now() >= deadline) {
			ow->capped = true;
			break;
		}
	}
	if (c->o->ci_points > 0 && !ow->converged && !cli_stop_requested()) {
		ow->capped = true;
		note(c->res, "%s: stopped after %d rounds (%s) with an interval wider than "
		     "+-%g points", ow->w->name, ow->rounds,
		     ow->rounds == max_rounds(ow) ? "round cap" : "time cap", c->o->ci_points);
	}
	for (size_t i = 1; c->o->profile && i < ow->n_cfg; i++)
		profile_cfg(c, ow, &ow->cfg[i]);
}

static bool on_path(const char *prog)
{
	char *argv[] = { "sh", "-c", "command -v \"$0\"", (char *)prog, NULL };
	struct child_result r;
	pid_t pid = child__spawn(argv, NULL);

	return pid > 0 && child__wait(pid, 10, &r) == 0 && child__exited_ok(&r);
}

static void plan(struct ctx *c)
{
	struct ov_result *res = c->res;
	bool usable[OV_MAX_CFGS] = { false }, need_tracefs = false, mounted;
	char why[OV_MAX_CFGS][OV_WHY_LEN];
	size_t n_tracers = n_tracer_defs < OV_MAX_CFGS - 1 ? n_tracer_defs : OV_MAX_CFGS - 1;
	size_t max_wl = sizeof(res->wl) / sizeof(res->wl[0]);

	for (size_t t = 0; t < n_tracers; t++) {
		if (!selected(c->o->tracers, tracer_defs[t].name))
			continue;
		usable[t] = tracer__usable(&tracer_defs[t], binary(c->o, &tracer_defs[t]), why[t],
					   OV_WHY_LEN);
		if (!usable[t])
			note(res, "%s cannot run here: %s", tracer_defs[t].name, why[t]);
		need_tracefs |= usable[t] && tracer_defs[t].kind == TRACER_BPFTRACE;
	}
	if (need_tracefs && lease__tracefs(&mounted))
		note(res, "tracefs is not mounted and cannot be: bpftrace will not find "
		     "tracepoints");
	else if (need_tracefs && mounted)
		note(res, "mounted tracefs on /sys/kernel/tracing for bpftrace (unmounted at "
		     "exit)");
	for (size_t i = 0; i < n_workloads && res->n_wl < max_wl; i++) {
		struct ov_workload *ow;

		if (!selected(c->o->workloads, workloads[i].name))
			continue;
		ow = &res->wl[res->n_wl++];
		ow->w = &workloads[i];
		ow->cfg[ow->n_cfg++].usable = true;
		if (ow->w->needs && !on_path(ow->w->needs)) {
			ow->skipped = true;
			snprintf(ow->why, sizeof(ow->why), "%s is not installed", ow->w->needs);
		} else if (ow->w->needs_file && access(ow->w->needs_file, R_OK)) {
			ow->skipped = true;
			snprintf(ow->why, sizeof(ow->why), "%s is missing (make bench-tools builds it)",
				 ow->w->needs_file);
		}
		for (size_t t = 0; t < n_tracers; t++) {
			struct ov_cfg *cfg;

			if (!selected(c->o->tracers, tracer_defs[t].name) ||
			    (tracer_defs[t].only && !selected(tracer_defs[t].only, ow->w->name)))
				continue;
			cfg = &ow->cfg[ow->n_cfg++];
			cfg->tracer = &tracer_defs[t];
			cfg->usable = usable[t];
			if (!usable[t])
				snprintf(cfg->why, sizeof(cfg->why), "%.*s", OV_WHY_LEN - 1,
					 why[t]);
		}
	}
}

int overhead__run(const struct ov_opts *o)
{
	struct ctx c = { .o = o };
	char path[1024];
	time_t now = time(NULL);
	size_t left = 0;
	double end;
	int rc, n;

	if (o->rounds < 1 || o->rounds > OV_MAX_ROUNDS)
		return cli_error("rounds: 1..%d", OV_MAX_ROUNDS);
	if (o->ci_points < 0 || o->max_minutes <= 0)
		return cli_error("the interval wants >= 0 points and the time cap > 0 minutes");
	if ((rc = check_names(o->workloads, known_workload, "workload")) ||
	    (rc = check_names(o->tracers, known_tracer, "tracer")))
		return rc;
	c.res = calloc(1, sizeof(*c.res));
	if (!c.res)
		return -ENOMEM;
	c.res->opts = o;
	sysinfo__machine(&c.res->machine);
	strftime(c.res->date, sizeof(c.res->date), "%Y-%m-%dT%H:%M:%S%z", localtime(&now));
	c.res->has_report = tracer__memscope_has_report(o->memscope);
	if (!c.res->has_report)
		note(c.res, "this memscope has no --report: counters parsed from its stderr");
	c.perf_ok = o->profile && on_path("perf");
	if (o->profile && !c.perf_ok)
		note(c.res, "perf is not installed: no user-space profile (make bench-deps)");
	if ((n = prof__count_progs("page_alloc")) > 0)
		note(c.res, "%d BPF program(s) of another tracer already on the page allocator: "
		     "every run, untraced ones included, pays for them", n);
	c.res->load_before = sysinfo__loadavg();
	if (c.res->load_before > 0.5)
		note(c.res, "load average %.2f before the run: other work competes, timings are "
		     "noisy", c.res->load_before);
	plan(&c);
	end = cli_now() + o->max_minutes * 60;
	for (size_t i = 0; i < c.res->n_wl; i++)
		left += !c.res->wl[i].skipped;
	for (size_t i = 0; i < c.res->n_wl && !cli_stop_requested(); i++) {
		if (c.res->wl[i].skipped)
			continue;
		/* An equal share of what is left, so an early workload that
		 * will not converge cannot starve the later ones. */
		run_workload(&c, &c.res->wl[i], cli_now() + (end - cli_now()) / left--);
	}
	c.res->load_after = sysinfo__loadavg();
	if (cli_stop_requested())
		note(c.res, "interrupted: partial results");
	ov_print_table(c.res, stdout);
	rc = lease__write_results(o->results_dir, "", ov_write_json, c.res, path, sizeof(path));
	if (rc)
		log_error("cannot write results to %s: %s", o->results_dir, strerror(-rc));
	else
		printf("\nresults: %s\n", path);
	free(c.res);
	return rc;
}
