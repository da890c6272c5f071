#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "json.h"
#include "overhead_int.h"
#include "stats.h"

/* One summary of a configuration, computed the same way for both outputs. */
struct summary {
	double wall, cpu, noise_pct;
	/* traced / untraced: the mean of the A/B pairs' ratios (the ratio of
	 * medians with fewer than two pairs), and the half-width of its 95%
	 * interval; NAN for untraced */
	double x_wall, x_cpu, ci_wall, ci_cpu;
	double xm_wall, xm_cpu;		/* ratio of the medians */
	/* points above the floor configuration's ratio, and the interval of
	 * that difference; NAN for the floor itself or without one */
	double floor_wall, floor_cpu, floor_ci_wall, floor_ci_cpu;
	double pgalloc_per_s;
	double tr_cpu_pct, tr_cpu_s;
	long tr_rss_kib;
	double events_per_s;		/* memscope's alloc events per second of workload */
	struct msr_counter losses[MSR_MAX_COUNTERS];	/* summed over runs */
	size_t n_losses;
	bool losses_known;
	uint64_t losses_total;
};

typedef double (*run_get)(const struct ov_run *);

static size_t values(const struct ov_cfg *c, run_get get, double *v)
{
	for (size_t i = 0; i < c->n_runs; i++)
		v[i] = get(&c->runs[i]);
	return c->n_runs;
}

static double median_of(const struct ov_cfg *c, run_get get)
{
	double v[OV_MAX_RUNS];

	return stats__median(v, values(c, get, v));
}

static double get_wall(const struct ov_run *r) { return r->wall_s; }
static double get_cpu(const struct ov_run *r) { return r->cpu_s; }
static double get_pgalloc_rate(const struct ov_run *r) { return r->pgalloc / r->wall_s; }
static double get_tr_cpu_pct(const struct ov_run *r) { return r->tr_cpu_pct; }
static double get_tr_cpu_s(const struct ov_run *r) { return r->tr_cpu_s; }

static double get_events_rate(const struct ov_run *r)
{
	uint64_t v;

	return r->has_rep && msreport__get(r->rep.events, r->rep.n_events, "alloc_events", &v) ?
		       v / r->wall_s : NAN;
}

static void add_losses(struct summary *s, const struct msreport *rep)
{
	for (size_t i = 0; i < rep->n_losses; i++) {
		const struct msr_counter *l = &rep->losses[i];
		size_t j = 0;

		while (j < s->n_losses && strcmp(s->losses[j].name, l->name))
			j++;
		if (j == s->n_losses) {
			if (s->n_losses == MSR_MAX_COUNTERS)
				continue;
			s->losses[s->n_losses++] = *l;
		} else {
			s->losses[j].value += l->value;
		}
		s->losses_total += l->value;
	}
}

/* The paired ratio and its interval; the ratio of medians, without an
 * interval, when there are fewer than two pairs. */
static void ratio(const double *pairs, size_t n, double of_medians, double *x, double *ci)
{
	if (stats__mean_ci95(pairs, n, x, ci)) {
		*x = of_medians;
		*ci = NAN;
	}
}

static const struct ov_cfg *floor_cfg(const struct ov_workload *ow)
{
	for (size_t k = 1; k < ow->n_cfg; k++)
		if (!strcmp(ow->cfg[k].tracer->name, FLOOR_TRACER) && ow->cfg[k].n_pairs >= 2)
			return &ow->cfg[k];
	return NULL;
}

static void ratios(const struct ov_workload *ow, const struct ov_cfg *c, struct summary *s)
{
	const struct ov_cfg *base = &ow->cfg[0];

	s->xm_wall = c->tracer ? s->wall / median_of(base, get_wall) : NAN;
	s->xm_cpu = c->tracer ? s->cpu / median_of(base, get_cpu) : NAN;
	s->x_wall = s->x_cpu = s->ci_wall = s->ci_cpu = NAN;
	if (!c->tracer)
		return;
	ratio(c->pair_wall, c->n_pairs, s->xm_wall, &s->x_wall, &s->ci_wall);
	ratio(c->pair_cpu, c->n_pairs, s->xm_cpu, &s->x_cpu, &s->ci_cpu);
}

/* Points above the floor, and the interval of the difference (the two
 * intervals are independent: separate pairs). */
static void above_floor(const struct ov_workload *ow, const struct ov_cfg *c, struct summary *s)
{
	const struct ov_cfg *f = floor_cfg(ow);
	struct summary fs;

	s->floor_wall = s->floor_cpu = s->floor_ci_wall = s->floor_ci_cpu = NAN;
	if (!f || f == c || !c->tracer || c->tracer->kind == TRACER_FLOOR)
		return;
	fs.wall = median_of(f, get_wall);
	fs.cpu = median_of(f, get_cpu);
	ratios(ow, f, &fs);
	s->floor_wall = (s->x_wall - fs.x_wall) * 100;
	s->floor_cpu = (s->x_cpu - fs.x_cpu) * 100;
	s->floor_ci_wall = hypot(s->ci_wall, fs.ci_wall) * 100;
	s->floor_ci_cpu = hypot(s->ci_cpu, fs.ci_cpu) * 100;
}

static bool narrow(const double *pairs, size_t n, double points)
{
	double x, ci;

	return !stats__mean_ci95(pairs, n, &x, &ci) && ci * 100 <= points;
}

bool ov_converged(const struct ov_workload *ow, double points)
{
	for (size_t k = 1; k < ow->n_cfg; k++) {
		const struct ov_cfg *c = &ow->cfg[k];

		if (!c->usable)
			continue;
		if (!narrow(c->pair_wall, c->n_pairs, points) ||
		    !narrow(c->pair_cpu, c->n_pairs, points))
			return false;
		for (size_t j = 0; j < WL_MAX_COMPARED && ow->w->compared[j]; j++)
			if (!narrow(c->pair_metric[j], c->n_pairs, points))
				return false;
	}
	return true;
}

/* "requests_per_sec 0.99x +-0.8, ..." for a service: what its users feel. */
static void print_compared(const struct ov_workload *ow, FILE *out)
{
	for (size_t k = 1; ow->w->compared[0] && k < ow->n_cfg; k++) {
		const struct ov_cfg *c = &ow->cfg[k];

		if (!c->n_pairs)
			continue;
		fprintf(out, "    %s, traced/untraced:", c->tracer->name);
		for (size_t j = 0; j < WL_MAX_COMPARED && ow->w->compared[j]; j++) {
			double x, ci;

			if (stats__mean_ci95(c->pair_metric[j], c->n_pairs, &x, &ci))
				fprintf(out, "%s %s -", j ? "," : "", ow->w->compared[j]);
			else
				fprintf(out, "%s %s %.3fx +-%.1f", j ? "," : "",
					ow->w->compared[j], x, ci * 100);
		}
		fputc('\n', out);
	}
}

static void summarize(const struct ov_workload *ow, const struct ov_cfg *c, struct summary *s)
{
	double v[OV_MAX_RUNS];

	memset(s, 0, sizeof(*s));
	s->wall = median_of(c, get_wall);
	s->cpu = median_of(c, get_cpu);
	s->noise_pct = stats__mad(v, values(c, get_wall, v)) / s->wall * 100;
	ratios(ow, c, s);
	above_floor(ow, c, s);
	s->pgalloc_per_s = median_of(c, get_pgalloc_rate);
	s->tr_cpu_pct = c->tracer ? median_of(c, get_tr_cpu_pct) : NAN;
	s->tr_cpu_s = c->tracer ? median_of(c, get_tr_cpu_s) : NAN;
	s->events_per_s = c->tracer ? median_of(c, get_events_rate) : NAN;
	s->losses_known = c->tracer && tracer__is_memscope(c->tracer) && c->n_runs;
	for (size_t i = 0; i < c->n_runs; i++) {
		if (c->runs[i].tr_rss_kib > s->tr_rss_kib)
			s->tr_rss_kib = c->runs[i].tr_rss_kib;
		if (c->runs[i].has_rep)
			add_losses(s, &c->runs[i].rep);
		else
			s->losses_known = false;
	}
}

/* ---- table ---------------------------------------------------------------- */

static void num(char *buf, size_t len, const char *fmt, double v)
{
	if (isnan(v))
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, fmt, v);
}

/* 1234567 -> "1.23M" */
static void si(char *buf, size_t len, double v)
{
	if (isnan(v))
		snprintf(buf, len, "-");
	else if (v >= 1e6)
		snprintf(buf, len, "%.2fM", v / 1e6);
	else if (v >= 1e3)
		snprintf(buf, len, "%.1fk", v / 1e3);
	else
		snprintf(buf, len, "%.0f", v);
}

static const char legend[] =
"  wall_s, cpu_s   workload wall time and user+sys CPU time (wait4), median of the rounds\n"
"  x_wall, x_cpu   traced / untraced: mean of the A/B pairs' ratios\n"
"  ci95            half-width of x_wall's / x_cpu's 95% confidence interval, points\n"
"  >floor          x_cpu minus the floor's (" FLOOR_TRACER ": counting programs on the\n"
"                  same tracepoints), points, +- its 95% interval\n"
"  noise           median absolute deviation of wall time, % of the median\n"
"  pgalloc/s       pages the kernel allocated per second while the workload ran (all CPUs)\n"
"  trc_cpu%        tracer's own CPU while the workload ran, % of one core (median);\n"
"                  the tracer was idle when the workload started\n"
"  trc_cpu_s       tracer's user+sys CPU over its whole life, start-up and output included\n"
"  trc_rss         tracer's peak RSS (ru_maxrss, max over runs)\n"
"  seen/s          allocation events memscope counted per second of workload\n"
"  losses          sum of memscope's loss counters over the runs (itemised below)\n";

static void print_cfg(const struct ov_workload *ow, const struct ov_cfg *c, FILE *out)
{
	char wall[16], xw[16], cpu[16], xc[16], noise[16], pg[16], tcpu[16], tcs[16], rss[16],
		seen[16], loss[24], ci[24], fl[24];
	const char *name = c->tracer ? c->tracer->name : "untraced";
	struct summary s;

	if (!c->usable && !c->n_runs) {
		fprintf(out, "  %-12s cannot run: %s\n", name, c->why);
		return;
	}
	summarize(ow, c, &s);
	num(wall, sizeof(wall), "%.3f", s.wall);
	num(xw, sizeof(xw), "%.2fx", s.x_wall);
	num(cpu, sizeof(cpu), "%.3f", s.cpu);
	num(xc, sizeof(xc), "%.2fx", s.x_cpu);
	num(noise, sizeof(noise), "%.1f%%", s.noise_pct);
	if (isnan(s.ci_wall))
		snprintf(ci, sizeof(ci), "-");
	else
		snprintf(ci, sizeof(ci), "%.1f/%.1f", s.ci_wall * 100, s.ci_cpu * 100);
	if (isnan(s.floor_cpu))
		snprintf(fl, sizeof(fl), "-");
	else
		snprintf(fl, sizeof(fl), "%+.1f+-%.1f", s.floor_cpu, s.floor_ci_cpu);
	si(pg, sizeof(pg), s.pgalloc_per_s);
	num(tcpu, sizeof(tcpu), "%.1f%%", s.tr_cpu_pct);
	num(tcs, sizeof(tcs), "%.2f", s.tr_cpu_s);
	num(rss, sizeof(rss), "%.1fM", c->tracer ? s.tr_rss_kib / 1024.0 : NAN);
	si(seen, sizeof(seen), s.events_per_s);
	if (s.losses_known)
		snprintf(loss, sizeof(loss), "%llu", (unsigned long long)s.losses_total);
	else
		snprintf(loss, sizeof(loss), "-");
	fprintf(out, "  %-12s %7s %7s %7s %7s %9s %11s %6s %9s %8s %9s %8s %8s %7s  (%zu runs%s)\n",
		name, wall, xw, cpu, xc, ci, fl, noise, pg, tcpu, tcs, rss, seen, loss, c->n_runs,
		c->n_failed ? ", some failed" : "");
}

static void print_losses(const struct ov_workload *ow, FILE *out)
{
	for (size_t k = 1; k < ow->n_cfg; k++) {
		const struct ov_cfg *c = &ow->cfg[k];
		struct summary s;
		bool any = false;

		summarize(ow, c, &s);
		for (size_t i = 0; i < s.n_losses; i++) {
			if (!s.losses[i].value)
				continue;
			if (!any)
				fprintf(out, "    %s losses over %zu runs:", c->tracer->name,
					c->n_runs);
			fprintf(out, "%s %s=%llu", any ? "," : "", s.losses[i].name,
				(unsigned long long)s.losses[i].value);
			any = true;
		}
		if (any)
			fputc('\n', out);
	}
}

static void print_metrics(const struct ov_cfg *base, FILE *out)
{
	const struct ov_run *r = base->n_runs ? &base->runs[0] : NULL;

	if (!r || !r->n_m)
		return;
	fprintf(out, "  workload says (untraced medians):");
	for (size_t i = 0; i < r->n_m; i++) {
		double v[OV_MAX_RUNS];

		for (size_t j = 0; j < base->n_runs; j++)
			v[j] = workload__metric(base->runs[j].m, base->runs[j].n_m, r->m[i].name);
		fprintf(out, " %s %g", r->m[i].name, stats__median(v, base->n_runs));
	}
	fputc('\n', out);
}

/* Program i's counters over the traced window (end minus start). */
static struct prof_prog prog_delta(const struct ov_profile *p, size_t i)
{
	struct prof_prog d = p->progs[i];

	for (size_t k = 0; k < p->n_progs0; k++) {
		if (p->progs0[k].id != d.id)
			continue;
		d.run_ns -= p->progs0[k].run_ns;
		d.run_cnt -= p->progs0[k].run_cnt;
		d.recursion_misses -= p->progs0[k].recursion_misses;
	}
	return d;
}

/* Runs of the programs whose name holds part, missed ones included. */
static uint64_t prog_runs(const struct ov_profile *p, const char *part)
{
	uint64_t n = 0;

	for (size_t i = 0; i < p->n_progs; i++) {
		struct prof_prog d = prog_delta(p, i);

		if (strstr(d.name, part))
			n += d.run_cnt + d.recursion_misses;
	}
	return n;
}

static void print_profile(const struct ov_workload *ow, const struct ov_cfg *c, FILE *out)
{
	const struct ov_profile *p = &c->prof;
	size_t idle = 0;
	uint64_t ev;

	if (!p->done) {
		if (p->why[0])
			fprintf(out, "  %s / %s: no profile: %s\n", ow->w->name, c->tracer->name,
				p->why);
		return;
	}
	fprintf(out, "  %s / %s (workload %.3f s wall):\n", ow->w->name, c->tracer->name,
		p->wall_s);
	fprintf(out, "    %-16s %12s %9s %10s %9s\n", "bpf program", "runs", "ns/run", "total_s",
		"cpu%");
	for (size_t i = 0; i < p->n_progs; i++) {
		struct prof_prog g = prog_delta(p, i);

		if (!g.run_cnt) {
			idle++;
			continue;
		}
		fprintf(out, "    %-16s %12llu %9.0f %10.3f %8.1f%%\n", g.name[0] ? g.name : "?",
			(unsigned long long)g.run_cnt, (double)g.run_ns / g.run_cnt,
			g.run_ns / 1e9, g.run_ns / 1e9 / p->wall_s * 100);
	}
	if (idle)
		fprintf(out, "    (%zu more programs did not run)\n", idle);
	if (p->has_rep && msreport__get(p->rep.events, p->rep.n_events, "alloc_events", &ev))
		fprintf(out, "    kernel ran the alloc program %llu times while memscope said "
			"it was recording; memscope counted %llu alloc events%s\n",
			(unsigned long long)prog_runs(p, "alloc"), (unsigned long long)ev,
			ev < prog_runs(p, "alloc") ? " (fewer, and no loss counter says why)" : "");
	if (!p->n_rows) {
		fprintf(out, "    perf: %s\n", p->perf_why[0] ? p->perf_why : "no profile");
		return;
	}
	fprintf(out, "    perf record -a, share of all samples:\n");
	for (size_t i = 0; i < p->n_rows && i < 10; i++)
		fprintf(out, "    %6.2f%%  %-16s %-22s [%c] %s\n", p->rows[i].pct, p->rows[i].comm,
			p->rows[i].dso, p->rows[i].kind, p->rows[i].sym);
}

void ov_print_table(const struct ov_result *r, FILE *out)
{
	const struct sysinfo_machine *m = &r->machine;

	fprintf(out, "\nmemscope overhead benchmark, %s\n", r->date);
	fprintf(out, "machine: %s, %s, %d CPUs, %.1f GiB, Linux %s; memscope %s\n", m->host,
		m->cpu_model, m->cpus, m->mem_bytes / 1073741824.0, m->kernel, m->memscope_rev);
	if (r->opts->ci_points > 0)
		fprintf(out, "rounds: A/B pairs per tracer, at least %d, until every ratio's 95%% "
			"interval is within +-%g points (cap %g min); load average %.2f before, "
			"%.2f after\n", r->opts->rounds, r->opts->ci_points, r->opts->max_minutes,
			r->load_before, r->load_after);
	else
		fprintf(out, "rounds: %d A/B pairs per tracer; load average %.2f before, %.2f "
			"after\n", r->opts->rounds, r->load_before, r->load_after);
	for (size_t i = 0; i < r->n_notes; i++)
		fprintf(out, "note: %s\n", r->notes[i]);
	fprintf(out, "\n%s", legend);
	for (size_t i = 0; i < r->n_wl; i++) {
		const struct ov_workload *ow = &r->wl[i];

		fprintf(out, "\n%s: %s\n", ow->w->name, ow->w->what);
		if (ow->skipped) {
			fprintf(out, "  skipped: %s\n", ow->why);
			continue;
		}
		fprintf(out, "  %d rounds%s\n", ow->rounds,
			ow->converged ? ", every interval within the target" :
			ow->capped ? ", stopped by a cap before every interval was within the target" : "");
		fprintf(out, "  %-12s %7s %7s %7s %7s %9s %11s %6s %9s %8s %9s %8s %8s %7s\n",
			"config", "wall_s", "x_wall", "cpu_s", "x_cpu", "ci95", ">floor", "noise",
			"pgalloc/s", "trc_cpu%", "trc_cpu_s", "trc_rss", "seen/s", "losses");
		for (size_t k = 0; k < ow->n_cfg; k++)
			print_cfg(ow, &ow->cfg[k], out);
		print_losses(ow, out);
		print_compared(ow, out);
		print_metrics(&ow->cfg[0], out);
	}
	if (!r->opts->profile)
		return;
	fprintf(out, "\nwhere the time goes: one more traced run each, kernel.bpf_stats_enabled=1 "
		"(per-program run time) and perf record -a\n");
	for (size_t i = 0; i < r->n_wl; i++)
		for (size_t k = 1; k < r->wl[i].n_cfg; k++)
			print_profile(&r->wl[i], &r->wl[i].cfg[k], out);
}

/* ---- JSON ------------------------------------------------------------------ */

static void json_num(struct json *j, const char *key, double v)
{
	json_double(j, key, v);	/* NaN becomes null */
}

static void json_samples(struct json *j, const char *key, const struct ov_cfg *c, run_get get)
{
	json_arr(j, key);
	for (size_t i = 0; i < c->n_runs; i++)
		json_double(j, NULL, get(&c->runs[i]));
	json_end(j);
}

static void json_counters(struct json *j, const char *key, const struct msr_counter *c, size_t n)
{
	json_obj(j, key);
	for (size_t i = 0; i < n; i++)
		json_u64(j, c[i].name, c[i].value);
	json_end(j);
}

static void json_profile(struct json *j, const struct ov_profile *p)
{
	json_obj(j, "profile");
	json_bool(j, "done", p->done);
	if (!p->done) {
		json_str(j, "why", p->why);
		json_end(j);
		return;
	}
	json_num(j, "wall_s", p->wall_s);
	json_arr(j, "bpf_programs");
	for (size_t i = 0; i < p->n_progs; i++) {
		struct prof_prog g = prog_delta(p, i);

		json_obj(j, NULL);
		json_u64(j, "id", g.id);
		json_str(j, "name", g.name);
		json_u64(j, "run_cnt", g.run_cnt);
		json_u64(j, "run_time_ns", g.run_ns);
		json_u64(j, "recursion_misses", g.recursion_misses);
		json_num(j, "ns_per_run", g.run_cnt ? (double)g.run_ns / g.run_cnt : NAN);
		json_num(j, "cpu_pct_of_wall", g.run_ns / 1e9 / p->wall_s * 100);
		json_end(j);
	}
	json_end(j);
	json_u64(j, "alloc_program_runs", prog_runs(p, "alloc"));
	if (p->has_rep)
		json_counters(j, "memscope_events", p->rep.events, p->rep.n_events);
	json_arr(j, "perf_top");
	for (size_t i = 0; i < p->n_rows; i++) {
		char kind[2] = { p->rows[i].kind, 0 };

		json_obj(j, NULL);
		json_num(j, "pct", p->rows[i].pct);
		json_str(j, "comm", p->rows[i].comm);
		json_str(j, "dso", p->rows[i].dso);
		json_str(j, "kind", kind);
		json_str(j, "symbol", p->rows[i].sym);
		json_end(j);
	}
	json_end(j);
	json_end(j);
}

static void json_cfg(struct json *j, const struct ov_workload *ow, const struct ov_cfg *c)
{
	struct summary s;

	json_obj(j, NULL);
	json_str(j, "config", c->tracer ? c->tracer->name : "untraced");
	json_str(j, "what", c->tracer ? c->tracer->what : "no tracer");
	json_bool(j, "usable", c->usable || c->n_runs);
	if (!c->usable)
		json_str(j, "why", c->why);
	json_u64(j, "runs", c->n_runs);
	json_u64(j, "failed_runs", c->n_failed);
	summarize(ow, c, &s);
	json_num(j, "wall_s_median", s.wall);
	json_num(j, "cpu_s_median", s.cpu);
	json_num(j, "wall_noise_pct", s.noise_pct);
	json_num(j, "ratio_wall", s.x_wall);
	json_num(j, "ratio_cpu", s.x_cpu);
	json_num(j, "ratio_wall_ci95", s.ci_wall);
	json_num(j, "ratio_cpu_ci95", s.ci_cpu);
	json_num(j, "ratio_wall_of_medians", s.xm_wall);
	json_num(j, "ratio_cpu_of_medians", s.xm_cpu);
	json_num(j, "points_above_floor_wall", s.floor_wall);
	json_num(j, "points_above_floor_cpu", s.floor_cpu);
	json_num(j, "points_above_floor_wall_ci95", s.floor_ci_wall);
	json_num(j, "points_above_floor_cpu_ci95", s.floor_ci_cpu);
	json_num(j, "pgalloc_per_s", s.pgalloc_per_s);
	json_samples(j, "wall_s", c, get_wall);
	json_samples(j, "cpu_s", c, get_cpu);
	json_arr(j, "pair_ratios_wall");
	for (size_t i = 0; i < c->n_pairs; i++)
		json_double(j, NULL, c->pair_wall[i]);
	json_end(j);
	json_arr(j, "pair_ratios_cpu");
	for (size_t i = 0; i < c->n_pairs; i++)
		json_double(j, NULL, c->pair_cpu[i]);
	json_end(j);
	if (c->tracer && ow->w->compared[0]) {
		json_obj(j, "compared");
		for (size_t k = 0; k < WL_MAX_COMPARED && ow->w->compared[k]; k++) {
			double x = NAN, ci = NAN;

			stats__mean_ci95(c->pair_metric[k], c->n_pairs, &x, &ci);
			json_obj(j, ow->w->compared[k]);
			json_num(j, "ratio", x);
			json_num(j, "ratio_ci95", ci);
			json_end(j);
		}
		json_end(j);
	}
	if (c->tracer) {
		json_obj(j, "tracer");
		json_num(j, "cpu_pct_during_workload", s.tr_cpu_pct);
		json_num(j, "cpu_s_total", s.tr_cpu_s);
		json_u64(j, "peak_rss_kib", s.tr_rss_kib);
		json_samples(j, "cpu_pct_runs", c, get_tr_cpu_pct);
		if (tracer__is_memscope(c->tracer)) {
			const struct ov_run *last = c->n_runs ? &c->runs[c->n_runs - 1] : NULL;

			json_num(j, "events_per_s", s.events_per_s);
			if (last && last->has_rep)
				json_counters(j, "events_last_run", last->rep.events,
					      last->rep.n_events);
			if (s.losses_known)
				json_counters(j, "losses_sum", s.losses, s.n_losses);
			else
				json_null(j, "losses_sum");
		}
		json_end(j);
		json_profile(j, &c->prof);
	}
	json_end(j);
}

static void json_metrics(struct json *j, const struct ov_cfg *base)
{
	const struct ov_run *r = base->n_runs ? &base->runs[0] : NULL;

	json_obj(j, "workload_says");
	for (size_t i = 0; r && i < r->n_m; i++) {
		double v[OV_MAX_RUNS];

		for (size_t k = 0; k < base->n_runs; k++)
			v[k] = workload__metric(base->runs[k].m, base->runs[k].n_m, r->m[i].name);
		json_num(j, r->m[i].name, stats__median(v, base->n_runs));
	}
	json_end(j);
}

void ov_write_json(FILE *f, void *ctx)
{
	const struct ov_result *r = ctx;
	const struct sysinfo_machine *m = &r->machine;
	struct json j;

	json_init(&j, f, true);
	json_obj(&j, NULL);
	json_str(&j, "benchmark", "overhead");
	json_str(&j, "date", r->date);
	json_obj(&j, "machine");
	json_str(&j, "host", m->host);
	json_str(&j, "kernel", m->kernel);
	json_str(&j, "cpu", m->cpu_model);
	json_i64(&j, "cpus", m->cpus);
	json_u64(&j, "mem_bytes", m->mem_bytes);
	json_str(&j, "memscope_rev", m->memscope_rev);
	json_end(&j);
	json_i64(&j, "min_rounds", r->opts->rounds);
	json_num(&j, "ci_target_points", r->opts->ci_points);
	json_num(&j, "time_cap_minutes", r->opts->max_minutes);
	json_num(&j, "load_before", r->load_before);
	json_num(&j, "load_after", r->load_after);
	json_arr(&j, "notes");
	for (size_t i = 0; i < r->n_notes; i++)
		json_str(&j, NULL, r->notes[i]);
	json_end(&j);
	json_arr(&j, "workloads");
	for (size_t i = 0; i < r->n_wl; i++) {
		const struct ov_workload *ow = &r->wl[i];

		json_obj(&j, NULL);
		json_str(&j, "name", ow->w->name);
		json_str(&j, "what", ow->w->what);
		json_i64(&j, "rounds", ow->rounds);
		json_bool(&j, "converged", ow->converged);
		json_bool(&j, "capped", ow->capped);
		if (ow->skipped) {
			json_str(&j, "skipped", ow->why);
			json_end(&j);
			continue;
		}
		json_metrics(&j, &ow->cfg[0]);
		json_arr(&j, "configs");
		for (size_t k = 0; k < ow->n_cfg; k++)
			json_cfg(&j, ow, &ow->cfg[k]);
		json_end(&j);
		json_end(&j);
	}
	json_end(&j);
	json_end(&j);
	fputc('\n', f);
}
