/* memscope serve: the per-container figures of `memscope top`, and what
 * memscope's BPF side sees, as Prometheus metrics on /metrics, for as long
 * as it runs. The cgroup figures need no BPF; with root it also attaches the
 * tracer (stacks effectively off) for OOM kills and loss counters. */
#include <bpf/bpf.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cgroups.h"
#include "cli.h"
#include "commands.h"
#include "ctrnames.h"
#include "httpd.h"
#include "log.h"
#include "metrics.h"
#include "privs.h"
#include "selfstat.h"
#include "session.h"
#include "tracer.h"
#include "topview.h"
#include "v8.h"
#include "v8_census.h"

#define LIVENESS_MIN_S		60
#define DEFAULT_LISTEN		"127.0.0.1:9464"
#define DEFAULT_INTERVAL_S	5.0
#define DEFAULT_WINDOW_S	120.0
/* Stacks are not what serve exports: one page in 2^32 carries one, so the
 * tracer costs its counting and little else. */
#define SERVE_SAMPLE_EVERY	UINT32_MAX
#define SERVE_MAX_PROCS		16384
/* Readings a window holds: each container keeps five rings of them (16 bytes
 * a reading), about 90 KiB per container at this bound. */
#define WINDOW_READINGS_MAX	720
#define CHARGED_FIELDS		(CGSTAT_ANON | CGSTAT_FILE | CGSTAT_SHMEM | CGSTAT_KERNEL | \
				 CGSTAT_SOCK | CGSTAT_MAPPED | CGSTAT_SWAP)

struct serve_opts {
	const char *listen;
	double interval, window;
	bool per_process, no_bpf, bpf_stats;
};

struct serve {
	const struct serve_opts *o;
	struct cg_hier hier;
	struct topview *tv;
	struct ctrnames names;		/* Docker names: the container_name label */
	struct httpd *http;
	struct session s;
	bool tracing;
	struct v8 *v8;			/* V8 heaps: only with the tracer's capabilities */
	struct v8_census *census;
	struct metrics_tracer mt;
	struct metrics_ctr *ctrs;
	size_t ctrs_cap;
	struct selfstat_prog progs[SELFSTAT_PROGS_MAX];
	int stats_fd;		/* holds BPF statistics on (--bpf-stats), or -1 */
	double start_time;	/* unix seconds */
	bool render_failed;	/* said once */
};

static const char usage[] =
"usage: memscope serve [options]\n"
"\n"
"Keep running and expose Prometheus metrics on http://ADDR/metrics: for every\n"
"memory cgroup with processes (one series set per container), resident memory\n"
"by class (native, v8_heap when known, file, shmem, kernel), what memory.stat\n"
"charges it by kind, the growth rate (least-squares slope over the window), OOM\n"
"kills; and memscope's own loss counters and overhead. The cgroup figures need\n"
"no BPF; run as root (or with CAP_BPF, CAP_PERFMON) to also count the OOM kills\n"
"and losses its BPF programs see. Stops on SIGINT or SIGTERM.\n"
"\n"
"  -l, --listen ADDR:PORT  where to listen (default " DEFAULT_LISTEN "; numeric\n"
"                          address, [::1]:PORT for IPv6; 0.0.0.0:PORT exposes\n"
"                          the metrics to the network)\n"
"  -i, --interval SECS     read the cgroup files and refresh the page every SECS\n"
"                          (default 5)\n"
"  -w, --window SECS       fit growth rates over the last SECS (default 120)\n"
"  -P, --per-process       also one series set per process (pid, comm labels;\n"
"                          mind the cardinality on busy hosts)\n"
"      --no-bpf            do not load BPF programs, even as root\n"
"      --bpf-stats         have the kernel count BPF program run time while\n"
"                          serving (host-wide, a few ns per program run)\n"
"  -v, --verbose           debug output\n"
"  -h, --help              this help\n";

static int parse_args(int argc, char **argv, struct serve_opts *o)
{
	enum { OPT_NO_BPF = 256, OPT_BPF_STATS };
	static const struct option longopts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "interval", required_argument, NULL, 'i' },
		{ "window", required_argument, NULL, 'w' },
		{ "per-process", no_argument, NULL, 'P' },
		{ "no-bpf", no_argument, NULL, OPT_NO_BPF },
		{ "bpf-stats", no_argument, NULL, OPT_BPF_STATS },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	int c;

	*o = (struct serve_opts){
		.listen = DEFAULT_LISTEN, .interval = DEFAULT_INTERVAL_S, .window = DEFAULT_WINDOW_S,
	};
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "l:i:w:Pvh", longopts, NULL)) != -1) {
		switch (c) {
		case 'l':
			o->listen = optarg;
			break;
		case 'i':
			if (cli_seconds(optarg, &o->interval) || o->interval < 0.1 ||
			    o->interval > 3600)
				return cli_error("--interval wants 0.1 to 3600 seconds, not '%s'",
						 optarg);
			break;
		case 'w':
			if (cli_seconds(optarg, &o->window) || o->window < 1 || o->window > 86400)
				return cli_error("--window wants 1 to 86400 seconds, not '%s'", optarg);
			break;
		case 'P':
			o->per_process = true;
			break;
		case OPT_NO_BPF:
			o->no_bpf = true;
			break;
		case OPT_BPF_STATS:
			o->bpf_stats = true;
			break;
		default: {
			int rc = cli_common_option(c, argc, argv, "serve", usage);

			if (rc)
				return rc;
			break;
		}
		}
	}
	if (optind < argc)
		return cli_extra_argument(argv[optind], "serve");
	if (o->window < 2 * o->interval)
		return cli_error("--window (%g s) must cover at least two intervals (%g s each)",
				 o->window, o->interval);
	if (o->window / o->interval > WINDOW_READINGS_MAX)
		return cli_error("--window (%g s) may hold at most %d intervals (%g s each): "
				 "raise --interval", o->window, WINDOW_READINGS_MAX, o->interval);
	return 0;
}

/* ---- BPF ------------------------------------------------------------------- */

static void on_kill(void *ctx, const struct ms_oom_event *e)
{
	struct serve *sv = ctx;
	const char *path = sv->s.rc.cgroups ? cgroups__path(sv->s.rc.cgroups, e->victim_cgid) :
			   NULL;

	log_notice("OOM kill: pid %u (%.*s) in %s", e->victim_tgid, MS_COMM_LEN, e->victim_comm,
		   path ? path : "an unknown cgroup");
	if (metrics__count_kill(&sv->mt, path, e->victim_cgid))
		log_debug("serve: out of memory counting an OOM kill");
}

static void start_tracer(struct serve *sv)
{
	struct session_opts so = {
		.sample_every = SERVE_SAMPLE_EVERY, .max_procs = SERVE_MAX_PROCS, .ringbuf_mb = 1,
		.kstack_entries = 1024,
		.recycle_slots = true,	/* runs for days */
	};

	if (sv->o->no_bpf)
		return;
	/* Asked first, so that without the tracer's capabilities serve goes on
	 * with a notice instead of the tracer's error. */
	if (privs__may_trace() != 1) {
		log_notice("not root (no CAP_SYS_ADMIN, nor CAP_BPF with CAP_PERFMON): serving the "
			   "cgroup metrics only, without BPF loss counters and OOM kills seen");
		return;
	}
	if (session__open(&sv->s, &so)) {
		session__close(&sv->s);
		log_notice("serving the cgroup metrics only, without BPF loss counters and OOM "
			   "kills seen");
		return;
	}
	if (session__start(&sv->s, on_kill, sv)) {
		session__close(&sv->s);
		log_notice("serving the cgroup metrics only, without BPF loss counters and OOM "
			   "kills seen");
		return;
	}
	sv->tracing = true;
	sv->mt.running = true;
}

static void start_bpf_stats(struct serve *sv)
{
	sv->stats_fd = -1;
	if (!sv->o->bpf_stats)
		return;
	sv->stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
	if (sv->stats_fd < 0)
		log_notice("cannot turn on BPF statistics (%s): no BPF run times",
			   strerror(errno));
}

/* V8 heaps per container, as `top` and `record` measure them: uprobes on
 * node's V8 and its chunk scan need the capabilities the tracer keeps, so
 * only with it. Without them v8_heap is left out and native is all anon. */
static void start_v8(struct serve *sv)
{
	if (!sv->tracing)
		return;
	sv->v8 = v8__open();
	if (!sv->v8) {
		log_notice("cannot load the V8 uprobes (%s): no v8_heap class", strerror(errno));
		return;
	}
	sv->census = v8_census__new(sv->v8, "/proc");
	if (!sv->census) {
		v8__free(sv->v8);
		sv->v8 = NULL;
		return;
	}
	topview__set_v8(sv->tv, sv->census);
}

/* The tracer dropped them when it attached; without it, do it here. Either
 * way before the HTTP thread is made: capabilities are per thread. */
static void drop_privileges(const struct serve *sv)
{
	int err;

	if (!sv->tracing && (err = privs__drop()))
		log_debug("serve: cannot drop capabilities: %s", strerror(-err));
}

/* ---- collecting -------------------------------------------------------------- */

static double wall_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Each row's hierarchical memory.stat and swap, beside what topview keeps. */
static int read_charged(struct serve *sv, struct top_row *const *rows, size_t n)
{
	char dir[PATH_MAX];

	if (n > sv->ctrs_cap) {
		struct metrics_ctr *p = realloc(sv->ctrs, n * sizeof(*p));

		if (!p)
			return -ENOMEM;
		sv->ctrs = p;
		sv->ctrs_cap = n;
	}
	for (size_t i = 0; i < n; i++) {
		int len = snprintf(dir, sizeof(dir), "%s%s", sv->hier.mount,
				   strcmp(rows[i]->path, "/") ? rows[i]->path : "");

		sv->ctrs[i].row = rows[i];
		memset(&sv->ctrs[i].charged, 0, sizeof(sv->ctrs[i].charged));
		if (len > 0 && (size_t)len < sizeof(dir))
			cgstat__read(dir, sv->hier.version, CHARGED_FIELDS, &sv->ctrs[i].charged);
	}
	return 0;
}

static void render(struct serve *sv, size_t n_ctrs, double collect_s)
{
	struct selfstat self;
	ssize_t n_progs = selfstat__bpf_progs("/proc/self/fd", sv->progs, SELFSTAT_PROGS_MAX);
	struct metrics_page m = {
		.ctrs = sv->ctrs, .n_ctrs = n_ctrs, .per_process = sv->o->per_process,
		.window_s = sv->o->window, .collect_s = collect_s,
		.self = selfstat__read("/proc", &self) ? NULL : &self,
		.start_time = sv->start_time, .tracer = &sv->mt,
		/* The sysctl shows only its own setting, not holders of BPF_ENABLE_STATS. */
		.bpf_stats = sv->stats_fd >= 0 ? 1 :
			     selfstat__bpf_stats_enabled("/proc/sys/kernel/bpf_stats_enabled"),
		.progs = sv->progs, .n_progs = n_progs > 0 ? (size_t)n_progs : 0,
		.budgets = &budget_counts,
	};
	char *page = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&page, &len);
	int err;

	if (!f) {
		log_debug("serve: no memory for the page: the last one stays");
		return;
	}
	if (sv->tracing) {
		tracer__drops(sv->s.rc.tracer, &sv->mt.drops);
		sv->mt.oom_queue_dropped = sv->s.oom_dropped;
	}
	err = metrics__write(&m, f);
	if (fclose(f)) {
		free(page);
		return;
	}
	if (err && !sv->render_failed) {
		sv->render_failed = true;
		log_warn("some metrics were left out of the page (%s): please report it",
			 strerror(-err));
	}
	httpd__publish(sv->http, page, len);
}

static void collect(struct serve *sv)
{
	double t0 = cli_now();
	struct top_row *const *rows;
	size_t n;
	int err;

	if ((err = topview__scan(sv->tv)))
		log_debug("serve: cannot walk %s: %s", sv->hier.mount, strerror(-err));
	topview__sample(sv->tv, t0);
	ctrnames__refresh(&sv->names, t0, false);
	topview__update(sv->tv, &sv->names.list);
	rows = topview__rows(sv->tv, &n);
	if (read_charged(sv, rows, n)) {
		log_debug("serve: out of memory: the last page stays");
		return;
	}
	render(sv, n, cli_now() - t0);
}

/* Reads and publishes every interval until a stop signal; in between, the
 * tracer delivers its OOM kills. */
static void run(struct serve *sv)
{
	double next = cli_now();

	while (!cli_stop_requested()) {
		double now = cli_now(), left;
		int ms;

		if (now >= next) {
			collect(sv);
			/* Late (a stopped process): do not make up for lost readings. */
			next = fmax(next + sv->o->interval, now + sv->o->interval / 2);
		}
		left = next - cli_now();
		ms = left > 0 ? (int)ceil(left * 1000) : 0;
		if (sv->tracing)
			session__poll(&sv->s, ms);
		else if (ms > 0)
			poll(NULL, 0, ms);
	}
}

/* The HTTP thread must not take the stop signals: the main loop's sleep is
 * what they have to interrupt. */
/* Runs in a thread of its own that first gives up every capability: the
 * HTTP threads it starts inherit none, so a bug in request handling reached
 * from the network holds uid 0 without capabilities, not the tracer's. */
static void *launch_http(void *arg)
{
	struct httpd *h = arg;
	int err = privs__drop_thread();

	if (err) {
		log_error("serve: cannot drop capabilities for the HTTP threads: %s",
			  strerror(-err));
		return (void *)(intptr_t)err;
	}
	return (void *)(intptr_t)httpd__serve(h);
}

static int start_http(struct httpd *h)
{
	sigset_t stop, old;
	pthread_t t;
	void *ret = NULL;
	int err;

	sigemptyset(&stop);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGHUP);
	sigaddset(&stop, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &stop, &old);
	err = -pthread_create(&t, NULL, launch_http, h);
	if (!err && !(err = -pthread_join(t, &ret)))
		err = (int)(intptr_t)ret;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return err;
}

int cmd_serve(int argc, char **argv)
{
	struct serve_opts o;
	struct serve sv = { .o = &o, .stats_fd = -1 };
	struct sockaddr_storage sa;
	socklen_t sa_len;
	char where[INET6_ADDRSTRLEN + 16];
	int err;

	if ((err = parse_args(argc, argv, &o)))
		return err > 0 ? 0 : err;
	if (httpd__parse_listen(o.listen, &sa, &sa_len))
		return cli_error("--listen wants ADDRESS:PORT with a numeric address "
				 "(127.0.0.1:9464, 0.0.0.0:9464, [::1]:9464), not '%s'", o.listen);
	err = cgroups__find_memory_hierarchy("/proc/self/mountinfo", &sv.hier);
	if (err)
		return cli_error("no memory cgroup hierarchy is mounted (%s): serve reads memory "
				 "cgroups", strerror(-err));
	sv.tv = topview__new(&(struct topview_opts){
		.hier = sv.hier, .proc_root = "/proc", .window = o.window, .period = o.interval,
		.procs = o.per_process,
	});
	if (!sv.tv)
		return cli_error("cannot start: %s", strerror(errno));
	sv.start_time = wall_now();
	/* Bound first: a busy port fails at once, and a port under 1024 still can be. */
	sv.http = httpd__listen((struct sockaddr *)&sa, sa_len);
	if (!sv.http) {
		err = -errno;
		log_error("cannot listen on %s: %s", o.listen, strerror(-err));
		goto out;
	}
	if (sa.ss_family == AF_INET6)
		((struct sockaddr_in6 *)&sa)->sin6_port = htons(httpd__port(sv.http));
	else
		((struct sockaddr_in *)&sa)->sin_port = htons(httpd__port(sv.http));
	httpd__format_addr((struct sockaddr *)&sa, where, sizeof(where));
	start_tracer(&sv);
	start_v8(&sv);
	start_bpf_stats(&sv);
	drop_privileges(&sv);
	collect(&sv);
	/* Liveness fails when the refresh loop has missed three turns (a
	 * minute at least, for a node busy enough to slow it). */
	httpd__set_liveness(sv.http, fmax(3 * o.interval, LIVENESS_MIN_S));
	if ((err = start_http(sv.http))) {
		log_error("cannot serve HTTP on %s (libmicrohttpd refused)", where);
		goto out;
	}
	cli_install_stop_signals();
	signal(SIGPIPE, SIG_IGN);
	log_notice("serving metrics on http://%s/metrics (cgroup v%d at %s%s); Ctrl-C to stop",
		   where, sv.hier.version, sv.hier.mount, sv.tracing ? ", BPF tracer attached" : "");
	run(&sv);
	log_notice("stopped after %llu scrapes (%llu connections cut at the %d s deadline)",
		   (unsigned long long)httpd__scrapes(sv.http),
		   (unsigned long long)httpd__cut(sv.http), HTTPD_DEADLINE_S);
out:
	httpd__stop(sv.http);
	if (sv.tracing) {
		session__stop(&sv.s);
		session__close(&sv.s);
	}
	if (sv.stats_fd >= 0)
		close(sv.stats_fd);
	metrics__tracer_free(&sv.mt);
	free(sv.ctrs);
	topview__free(sv.tv);
	ctrnames__free(&sv.names);
	v8_census__free(sv.census);
	v8__free(sv.v8);
	return err;
}
