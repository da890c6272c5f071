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
#include "oom_report.h"
#include "record_output.h"
#include "record_pprof.h"
#include "record_totals.h"
#include "recorder.h"
#include "session.h"
#include "tracer.h"
#include "usyms.h"

/* One page in 256 (by bytes) carries a stack. Measured with the kernel's BPF
 * run-time statistics on a page-fault storm: a sampled allocation costs
 * ~3.4 us (stack walks, ring buffer), so 1 in 64 adds ~50 ns to every page
 * and 1 in 256 ~13 ns, against ~100 ns for the exact accounting itself.
 * Stacks are scaled to exact per-process totals, so a 64 MiB leak's 64
 * samples still size it exactly; only the split between stacks is sampled. */
#define DEFAULT_SAMPLE	256
#define MAX_FILTERS	64
#define MAX_KILLS	64	/* OOM kills reported per window */

struct record_opts {
	uint32_t tgids[MAX_FILTERS];
	size_t n_tgids;
	const char *cgroup_specs[MAX_FILTERS];
	size_t n_cgroups;
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
	char *paths[MAX_FILTERS];	/* of the -c cgroups */
	size_t n_paths;
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
			if (o->n_tgids == MAX_FILTERS)
				return cli_error("at most %d -p options", MAX_FILTERS);
			if (cli_u64(optarg, 1, 0x3fffffff, &v))
				return cli_error("-p wants a process id, not '%s'", optarg);
			o->tgids[o->n_tgids++] = v;
			break;
		case 'c':
			if (o->n_cgroups == MAX_FILTERS)
				return cli_error("at most %d -c options", MAX_FILTERS);
			o->cgroup_specs[o->n_cgroups++] = optarg;
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
			if (cli_u64(optarg, 16, 1 << 22, &v))
				return cli_error("--max-procs wants 16..4194304, not '%s'", optarg);
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
	if (o->js_heap && !o->n_tgids && !o->n_cgroups)
		return cli_error("--js-heap opens the inspector of the processes it profiles: "
				 "name them with -p or -c");
	return 0;
}

static int check_pids(const struct record_opts *o)
{
	int err = 0;

	for (size_t i = 0; i < o->n_tgids && !err; i++)
		err = cli_check_pid((int)o->tgids[i]);
	return err;
}

static bool pids_alive(const struct record_opts *o)
{
	for (size_t i = 0; i < o->n_tgids; i++)
		if (kill(o->tgids[i], 0) == 0 || errno == EPERM)
			return true;
	return o->n_tgids == 0;
}

static int write_folded(const struct record_ctx *c, const char *path)
{
	struct atomic_file af;
	struct folded *f = folded__new();
	int err;

	if (!f)
		return -ENOMEM;
	err = record_output__folded(c, f);
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

static int write_pprof(const struct record_ctx *c, const char *path)
{
	struct atomic_file af;
	int err = atomic_file__open(&af, path);

	if (!err) {
		err = record_pprof__write(c, af.f);
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
static int write_outputs(const struct record_ctx *c, const struct record_opts *o,
			 struct record_kills *k)
{
	struct record_totals *t;
	int err = o->pprof ? write_pprof(c, o->output) : write_folded(c, o->output), err2 = 0;

	t = record_totals__collect(c);
	if (!t)
		return -ENOMEM;
	record_totals__set_kills(t, k->r, k->n);
	record_totals__name_containers(t, &k->names, cli_now());
	record_totals__print(t, stderr);
	if (c->split && memsplit__report(c->split, c) == 0)
		memsplit__print(c->split, stderr);
	for (size_t i = 0; i < k->n; i++) {
		fputc('\n', stderr);
		oom_report__print_text(k->r[i], stderr);
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
	for (size_t i = 0; i < o->n_tgids; i++)
		if (o->tgids[i] == pid)
			return true;
	return o->n_tgids == 0;
}

/* Read now, while the victim's pages are still frozen as evidence. */
static void on_kill(void *ctx, const struct ms_oom_event *e)
{
	struct record_kills *k = ctx;
	struct oom_sources src = {
		.rc = &k->s->rc, .hier = k->s->have_hier ? &k->s->hier : NULL,
		.proc_root = "/proc", .kmsg = k->kmsg, .names = &k->names,
	};
	struct oom_report *r;

	if (!pid_wanted(k->o, e->victim_tgid))
		return;
	if (k->n == MAX_KILLS) {
		k->dropped++;
		return;
	}
	r = oom_report__collect(&src, e);
	if (!r) {
		k->dropped++;
		return;
	}
	if (!oom_report__in_cgroups(r, (const char *const *)k->paths, k->n_paths)) {
		oom_report__free(r);
		return;
	}
	k->r[k->n++] = r;
}

static int run(const struct record_opts *o, struct session *s, struct record_kills *k,
	       const uint64_t *cgids, size_t n_cgids, struct jsheap_run **js)
{
	struct tracer_opts to = {
		.sample_every = o->sample, .track_frees = o->outstanding,
		.kernel_stacks = o->kernel_stacks, .max_procs = o->max_procs,
		.ringbuf_mb = o->ringbuf_mb, .kstack_entries = o->kstacks,
		.tgids = o->tgids, .n_tgids = o->n_tgids, .cgids = cgids, .n_cgids = n_cgids,
	};
	struct memsplit_opts mo = {
		.hier = s->have_hier ? &s->hier : NULL, .cgroups = s->rc.cgroups,
		.pids = o->tgids, .n_pids = o->n_tgids, .cgids = cgids, .n_cgids = n_cgids,
		.v8 = true,
	};
	double start, now;
	int err;

	err = session__start(s, &to, on_kill, k);
	if (err)
		return err;
	/* Read the targets' mappings now: a target that exits before its first
	 * sample is delivered would otherwise leave its stacks unnamed. */
	for (size_t i = 0; i < o->n_tgids; i++)
		usyms__add_pid(s->rc.usyms, o->tgids[i]);
	s->rc.split = memsplit__start(&mo, cli_now());
	if (!s->rc.split)
		log_notice("no growth by class: %s", strerror(errno));
	if (o->js_heap) {
		*js = jsheap_run__start(o->tgids, o->n_tgids, (const char *const *)k->paths,
					k->n_paths, s->have_hier ? &s->hier : NULL,
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
		if (s->rc.split)
			memsplit__tick(s->rc.split, cli_now());
	}
	/* First, so that the inspectors close with the window, not after the
	 * tracer's teardown (which a loaded host can make long). */
	jsheap_run__finish(*js);
	session__stop(s);
	s->rc.seconds = cli_now() - start;
	session__settle(s);
	return write_outputs(&s->rc, o, k);
}

int cmd_record(int argc, char **argv)
{
	struct record_opts o;
	struct session s;
	struct record_kills k = { .o = &o, .s = &s };
	struct jsheap_run *js = NULL;
	uint64_t cgids[MAX_FILTERS];
	size_t n_cgids = 0;
	int err;

	if ((err = parse_args(argc, argv, &o)))
		return err > 0 ? 0 : err;
	if ((err = check_pids(&o)))
		return err;
	if ((err = session__open(&s, o.sample, o.outstanding)))
		goto out;
	/* A long window must not fill the process table with the dead. pprof
	 * also shows what was allocated (alloc_space): the stacks of exited
	 * processes stay, and so do their slots, which those stacks name. */
	s.recycle_slots = o.outstanding && !o.pprof;
	if (o.pprof)
		recorder__keep_freed(s.rc.recorder);
	err = session__resolve_cgroups(&s, o.cgroup_specs, o.n_cgroups, cgids, k.paths,
				       MAX_FILTERS, &n_cgids);
	k.n_paths = n_cgids;
	if (err)
		goto out;
	/* At the log's end now, like oom: a kill in the window has its record. */
	k.kmsg = oom_kmsg__open(NULL);
	if (!k.kmsg)
		log_debug("no /dev/kmsg (%s): OOM kill limits will be inferred", strerror(errno));
	cli_install_stop_signals();
	err = run(&o, &s, &k, cgids, n_cgids, &js);
out:
	jsheap_run__free(js);	/* closes any inspector still open */
	oom_kmsg__free(k.kmsg);
	ctrnames__free(&k.names);
	memsplit__free(s.rc.split);
	session__close(&s);
	for (size_t i = 0; i < k.n; i++)
		oom_report__free(k.r[i]);
	for (size_t i = 0; i < k.n_paths; i++)
		free(k.paths[i]);
	return err;
}
