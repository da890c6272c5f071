/* memscope record: trace the page allocator for a window and write the stacks
 * of what is still resident (or was allocated) as folded stacks. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "atomic_file.h"
#include "cgroups.h"
#include "cli.h"
#include "commands.h"
#include "ctrnames.h"
#include "folded.h"
#include "jsheap_run.h"
#include "log.h"
#include "memsplit.h"
#include "oom_print.h"
#include "oom_report.h"
#include "record_output.h"
#include "record_pprof.h"
#include "record_totals.h"
#include "recorder.h"
#include "session.h"

/* One page in 256 (by bytes) carries a stack. Measured with the kernel's BPF
 * run-time statistics on a page-fault storm: a sampled allocation costs
 * ~3.4 us (stack walks, ring buffer), so 1 in 64 adds ~50 ns to every page
 * and 1 in 256 ~13 ns, against ~100 ns for the exact accounting itself.
 * Stacks are scaled to exact per-process totals, so a 64 MiB leak's 64
 * samples still size it exactly; only the split between stacks is sampled. */
#define DEFAULT_SAMPLE	256
#define MAX_KILLS	64	/* OOM kills reported per window */

struct record_opts {
	struct cli_filters f;	/* -p, -c */
	double duration;	/* 0: until interrupted */
	const char *output;
	const char *report;
	bool pprof;		/* --format pprof */
	bool outstanding;
	uint32_t sample;
	uint32_t max_procs;
	uint32_t ringbuf_mb;
	uint32_t kstacks;
	bool kernel_stacks;
	bool js_heap;		/* --js-heap */
	bool js_keep_inlining;	/* --js-heap-keep-inlining */
};

/* OOM kills during the window, reported when it closes. */
struct record_kills {
	const struct record_opts *o;
	struct session *s;
	struct oom_report *r[MAX_KILLS];
	size_t n;
	uint64_t dropped;
	struct oom_kmsg *kmsg;		/* the kernel's account of each kill; NULL: none */
	struct ctrnames names;		/* Docker names, for the kills and the tables */
};

static const char usage[] =
"usage: memscope record [options]\n"
"\n"
"Trace every page allocation and free for a window, then write, per memory\n"
"cgroup (container) and process, the user+kernel stacks of the pages, as\n"
"folded stacks (flamegraph.pl, speedscope and inferno read them directly).\n"
"Exact per-container and per-process totals go to stderr, then the growth of\n"
"each class (v8-heap, native, file, shmem, kernel) with a verdict: V8 heap\n"
"growth, native growth, page cache or stable (docs/v8.md). In the stacks the\n"
"frame after the command is the page's class: CONTAINER;COMM;[v8-heap];...\n"
"\n"
"  -p, --pid PID          only this process (repeatable)\n"
"  -c, --cgroup CGROUP    only this memory cgroup and its children: a path as in\n"
"                         /proc/PID/cgroup, a cgroup id, or a container id prefix\n"
"                         (repeatable)\n"
"  -d, --duration SECS    length of the window (default: until Ctrl-C)\n"
"  -o, --output FILE      the stacks to FILE, written atomically (default: stdout)\n"
"  -f, --format FORMAT    folded (default), or pprof: a gzip-compressed pprof\n"
"                         profile (go tool pprof, Pyroscope, Parca) with sample\n"
"                         types inuse_space and alloc_space (bytes; inuse_space\n"
"                         is 0 in --mode allocated) and labels container, pid,\n"
"                         comm, class\n"
"      --report FILE      exact totals, events and losses as JSON to FILE\n"
"  -m, --mode MODE        outstanding: pages allocated in the window and still\n"
"                         resident at its end (default); allocated: every page\n"
"                         allocated in the window\n"
"  -s, --sample N         one page in N (by bytes) carries a stack, weighted N;\n"
"                         1 = every page. Totals are exact either way (default 256)\n"
"      --max-procs N      processes tracked exactly at a time (default 16384); in\n"
"                         outstanding mode the slots of processes that exited\n"
"                         with everything freed are reused, their totals kept\n"
"                         in their container's\n"
"      --ringbuf MIB      sample buffer size (default 4, or 32 with --sample\n"
"                         under 16)\n"
"      --kstacks N        distinct kernel stacks kept (default 16384)\n"
"      --no-kernel-stacks user stacks only (cheaper)\n"
"      --js-heap          also name the JS code that holds V8 heap: opens the\n"
"                         inspector of each node process of -p / -c (SIGUSR1, in\n"
"                         its network namespace), runs V8's sampling heap\n"
"                         profiler for the window and closes the inspector;\n"
"                         stacks CONTAINER;COMM;[v8-heap];[js-heap];JS frames.\n"
"                         Needs -p or -c. See README (security). For the window,\n"
"                         TurboFan inlining is off (optimized code dropped at\n"
"                         its start and end), so inlined functions keep a frame\n"
"      --js-heap-keep-inlining  leave V8's optimizer alone (no deopt; inlined\n"
"                         functions' bytes show under their callers)\n"
"  -v, --verbose          debug output, including the BPF verifier log\n"
"  -h, --help             this help\n"
"\n"
"Ctrl-C, SIGTERM or SIGHUP end the window early; the output is still written.\n";

static int parse_args(int argc, char **argv, struct record_opts *o)
{
	enum { OPT_MAX_PROCS = 256, OPT_RINGBUF, OPT_KSTACKS, OPT_NO_KSTACKS, OPT_REPORT,
	       OPT_JS_HEAP, OPT_JS_KEEP_INLINING };
	static const struct option longopts[] = {
		{ "pid", required_argument, NULL, 'p' },
		{ "cgroup", required_argument, NULL, 'c' },
		{ "duration", required_argument, NULL, 'd' },
		{ "output", required_argument, NULL, 'o' },
		{ "format", required_argument, NULL, 'f' },
		{ "report", required_argument, NULL, OPT_REPORT },
		{ "mode", required_argument, NULL, 'm' },
		{ "sample", required_argument, NULL, 's' },
		{ "max-procs", required_argument, NULL, OPT_MAX_PROCS },
		{ "ringbuf", required_argument, NULL, OPT_RINGBUF },
		{ "kstacks", required_argument, NULL, OPT_KSTACKS },
		{ "no-kernel-stacks", no_argument, NULL, OPT_NO_KSTACKS },
		{ "js-heap", no_argument, NULL, OPT_JS_HEAP },
		{ "js-heap-keep-inlining", no_argument, NULL, OPT_JS_KEEP_INLINING },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	uint64_t v;
	int c;

	*o = (struct record_opts){
		.output = "-", .outstanding = true, .sample = DEFAULT_SAMPLE,
		.max_procs = 16384, .ringbuf_mb = 0, .kstacks = 16384, .kernel_stacks = true,
	};
	optind = 1;
	opterr = 0;	/* one message, ours */
	while ((c = getopt_long(argc, argv, "p:c:d:o:f:m:s:vh", longopts, NULL)) != -1) {
		switch (c) {
		case 'p':
			if (cli_filter_pid(&o->f, optarg))
				return -EINVAL;
			break;
		case 'c':
			if (cli_filter_cgroup(&o->f, optarg))
				return -EINVAL;
			break;
		case 'd':
			if (cli_seconds(optarg, &o->duration) || o->duration <= 0)
				return cli_error("-d wants a positive number of seconds, not '%s'", optarg);
			break;
		case 'o':
			o->output = optarg;
			break;
		case 'f':
			if (strcmp(optarg, "folded") && strcmp(optarg, "pprof"))
				return cli_error("--format is folded or pprof, not '%s'", optarg);
			o->pprof = !strcmp(optarg, "pprof");
			break;
		case OPT_REPORT:
			o->report = optarg;
			break;
		case 'm':
			if (!strcmp(optarg, "outstanding"))
				o->outstanding = true;
			else if (!strcmp(optarg, "allocated"))
				o->outstanding = false;
			else
				return cli_error("--mode is outstanding or allocated, not '%s'", optarg);
			break;
		case 's':
			if (cli_sample(optarg, &o->sample))
				return -EINVAL;
			break;
		case OPT_MAX_PROCS:
			if (cli_u64(optarg, 16, MS_PG_MAX_SLOTS - MS_FIRST_SLOT, &v))
				return cli_error("--max-procs wants 16..%u, not '%s'",
						 MS_PG_MAX_SLOTS - MS_FIRST_SLOT, optarg);
			o->max_procs = v;
			break;
		case OPT_RINGBUF:
			if (cli_u64(optarg, 1, 1024, &v) || (v & (v - 1)))
				return cli_error("--ringbuf wants a power of two from 1 to 1024 MiB, not '%s'", optarg);
			o->ringbuf_mb = v;
			break;
		case OPT_KSTACKS:
			if (cli_u64(optarg, 64, 1 << 20, &v))
				return cli_error("--kstacks wants 64..1048576, not '%s'", optarg);
			o->kstacks = v;
			break;
		case OPT_NO_KSTACKS:
			o->kernel_stacks = false;
			break;
		case OPT_JS_HEAP:
			o->js_heap = true;
			break;
		case OPT_JS_KEEP_INLINING:
			o->js_heap = o->js_keep_inlining = true;
			break;
		default: {
			int rc = cli_common_option(c, argc, argv, "record", usage);

			if (rc)
				return rc;
			break;
		}
		}
	}
	if (optind < argc)
		return cli_extra_argument(argv[optind], "record");
	if (o->pprof && !strcmp(o->output, "-") && isatty(STDOUT_FILENO))
		return cli_error("a pprof profile is binary: give -o FILE");
	/* Opening the inspector of every node on the host is not opt-in enough. */
	if (o->js_heap && !o->f.n_pids && !o->f.n_cgroups)
		return cli_error("--js-heap opens the inspector of the processes it profiles: "
				 "name them with -p or -c");
	return 0;
}

static bool pids_alive(const struct record_opts *o)
{
	for (size_t i = 0; i < o->f.n_pids; i++)
		if (kill(o->f.pids[i], 0) == 0 || errno == EPERM)
			return true;
	return o->f.n_pids == 0;
}

static int write_folded(const struct recording *r, const char *path)
{
	struct atomic_file af;
	struct folded *f = folded__new();
	int err;

	if (!f)
		return -ENOMEM;
	err = record_output__folded(r, f);
	if (!err && !(err = atomic_file__open(&af, path))) {
		err = folded__write(f, af.f);
		err = err ? (atomic_file__abort(&af), err) : atomic_file__commit(&af);
	}
	if (err)
		log_error("cannot write %s: %s", path, atomic_file__strerror(err));
	else if (strcmp(path, "-"))
		log_notice("wrote %zu stacks to %s", folded__count(f), path);
	folded__free(f);
	return err;
}

static int write_pprof(const struct recording *r, const char *path)
{
	struct atomic_file af;
	int err = atomic_file__open(&af, path);

	if (!err) {
		err = record_pprof__write(r, af.f);
		err = err ? (atomic_file__abort(&af), err) : atomic_file__commit(&af);
	}
	if (err)
		log_error("cannot write %s: %s", path, atomic_file__strerror(err));
	else if (strcmp(path, "-"))
		log_notice("wrote a pprof profile to %s", path);
	return err;
}

static int write_report(const struct record_totals *t, const char *path)
{
	struct atomic_file af;
	int err = atomic_file__open(&af, path);

	if (!err) {
		record_totals__json(t, af.f);
		err = atomic_file__commit(&af);
	}
	if (err)
		log_error("cannot write %s: %s", path, atomic_file__strerror(err));
	return err;
}

/* Everything is written even when one output fails: losing the folded file
 * must not also lose the totals. */
static int write_outputs(const struct recording *r, const struct record_opts *o,
			 struct record_kills *k)
{
	struct record_totals *t;
	int err = o->pprof ? write_pprof(r, o->output) : write_folded(r, o->output), err2 = 0;

	t = record_totals__collect(r);
	if (!t)
		return -ENOMEM;
	record_totals__set_kills(t, k->r, k->n);
	record_totals__name_containers(t, &k->names, cli_now());
	record_totals__print(t, stderr);
	if (r->split && memsplit__report(r->split, r) == 0)
		memsplit__print(r->split, stderr);
	for (size_t i = 0; i < k->n; i++) {
		fputc('\n', stderr);
		oom_print__text(k->r[i], stderr);
	}
	if (k->dropped)
		log_warn("%llu more OOM kills during the window are not reported",
			 (unsigned long long)k->dropped);
	if (o->report)
		err2 = write_report(t, o->report);
	record_totals__free(t);
	return err ? err : err2;
}

static bool pid_wanted(const struct record_opts *o, uint32_t pid)
{
	for (size_t i = 0; i < o->f.n_pids; i++)
		if (o->f.pids[i] == pid)
			return true;
	return o->f.n_pids == 0;
}

/* Read now, while the victim's pages are still frozen as evidence. */
static void on_kill(void *ctx, const struct ms_oom_event *e)
{
	struct record_kills *k = ctx;
	struct oom_sources src = { .proc_root = "/proc", .kmsg = k->kmsg, .names = &k->names };
	struct oom_report *r;

	if (!pid_wanted(k->o, e->victim_tgid))
		return;
	session__oom_sources(k->s, &src);
	if (k->n == MAX_KILLS) {
		k->dropped++;
		return;
	}
	r = oom_report__collect(&src, e);
	if (!r) {
		k->dropped++;
		return;
	}
	if (!oom_report__in_cgroups(r, (const char *const *)k->s->cgroup_paths, k->s->n_cgids)) {
		oom_report__free(r);
		return;
	}
	k->r[k->n++] = r;
}

static int run(const struct record_opts *o, struct session *s, struct record_kills *k,
	       struct jsheap_run **js)
{
	double start, now;
	int err;

	err = session__start(s, on_kill, k);
	if (err)
		return err;
	if (o->js_heap) {
		*js = jsheap_run__start(o->f.pids, o->f.n_pids, (const char *const *)s->cgroup_paths,
					s->n_cgids, s->have_hier ? &s->hier : NULL,
					JSHEAP_INTERVAL, o->js_keep_inlining);
		if (!*js)
			log_warn("js-heap: out of memory: no JS allocation sites");
		s->rc.js = *js;
	}
	log_notice("recording%s; Ctrl-C to stop", o->duration ? "" : " until interrupted");
	start = cli_now();
	for (now = start; !cli_stop_requested(); now = cli_now()) {
		if (o->duration && now - start >= o->duration)
			break;
		if (!pids_alive(o)) {
			log_notice("every process given with -p has exited: ending the window");
			break;
		}
		session__poll(s, 100);
		oom_kmsg__drain(k->kmsg, 65536);
	}
	/* First, so that the inspectors close with the window, not after the
	 * tracer's teardown (which a loaded host can make long). */
	jsheap_run__finish(*js);
	session__stop(s);
	s->rc.seconds = cli_now() - start;
	if ((err = session__settle(s)))
		return err;
	return write_outputs(s->model, o, k);
}

int cmd_record(int argc, char **argv)
{
	struct record_opts o;
	struct session s;
	struct record_kills k = { .o = &o, .s = &s };
	struct jsheap_run *js = NULL;
	int err;

	if ((err = parse_args(argc, argv, &o)))
		return err > 0 ? 0 : err;
	if ((err = cli_filter_check_pids(&o.f)))
		return err;
	err = session__open(&s, &(struct session_opts){
		.sample_every = o.sample, .outstanding = o.outstanding,
		.pids = o.f.pids, .n_pids = o.f.n_pids,
		.cgroups = o.f.cgroups, .n_cgroups = o.f.n_cgroups,
		.kernel_stacks = o.kernel_stacks, .max_procs = o.max_procs,
		.ringbuf_mb = o.ringbuf_mb, .kstack_entries = o.kstacks, .class_split = true,
		/* A long window must not fill the process table with the dead.
		 * pprof also shows what was allocated (alloc_space): the stacks
		 * of exited processes stay, and so do their slots, which those
		 * stacks name. */
		.recycle_slots = o.outstanding && !o.pprof, .keep_freed = o.pprof,
	});
	if (err)
		goto out;
	/* At the log's end now, like oom: a kill in the window has its record. */
	k.kmsg = oom_kmsg__open(NULL);
	if (!k.kmsg)
		log_debug("no /dev/kmsg (%s): OOM kill limits will be inferred", strerror(errno));
	cli_install_stop_signals();
	err = run(&o, &s, &k, &js);
out:
	jsheap_run__free(js);	/* closes any inspector still open */
	oom_kmsg__free(k.kmsg);
	ctrnames__free(&k.names);
	session__close(&s);
	for (size_t i = 0; i < k.n; i++)
		oom_report__free(k.r[i]);
	return err;
}
