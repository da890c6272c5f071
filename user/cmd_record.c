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
#include "folded.h"
#include "ksyms.h"
#include "log.h"
#include "record_output.h"
#include "record_totals.h"
#include "recorder.h"
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
#define PRUNE_EVERY_S	5

struct record_opts {
	uint32_t tgids[MAX_FILTERS];
	size_t n_tgids;
	const char *cgroup_specs[MAX_FILTERS];
	size_t n_cgroups;
	double duration;	/* 0: until interrupted */
	const char *output;
	const char *report;
	bool outstanding;
	uint32_t sample;
	uint32_t max_procs;
	uint32_t ringbuf_mb;
	uint32_t kstacks;
	bool kernel_stacks;
};

static const char usage[] =
"usage: memscope record [options]\n"
"\n"
"Trace every page allocation and free for a window, then write, per memory\n"
"cgroup (container) and process, the user+kernel stacks of the pages, as\n"
"folded stacks (flamegraph.pl, speedscope and inferno read them directly).\n"
"Exact per-container and per-process totals go to stderr.\n"
"\n"
"  -p, --pid PID          only this process (repeatable)\n"
"  -c, --cgroup CGROUP    only this memory cgroup and its children: a path as in\n"
"                         /proc/PID/cgroup, a cgroup id, or a container id prefix\n"
"                         (repeatable)\n"
"  -d, --duration SECS    length of the window (default: until Ctrl-C)\n"
"  -o, --output FILE      folded stacks to FILE, written atomically (default: stdout)\n"
"      --report FILE      exact totals, events and losses as JSON to FILE\n"
"  -m, --mode MODE        outstanding: pages allocated in the window and still\n"
"                         resident at its end (default); allocated: every page\n"
"                         allocated in the window\n"
"  -s, --sample N         one page in N (by bytes) carries a stack, weighted N;\n"
"                         1 = every page. Totals are exact either way (default 256)\n"
"      --max-procs N      processes tracked exactly (default 16384)\n"
"      --ringbuf MIB      sample buffer size (default 16)\n"
"      --kstacks N        distinct kernel stacks kept (default 16384)\n"
"      --no-kernel-stacks user stacks only (cheaper)\n"
"  -v, --verbose          debug output, including the BPF verifier log\n"
"  -h, --help             this help\n"
"\n"
"Ctrl-C, SIGTERM or SIGHUP end the window early; the output is still written.\n";

static int parse_args(int argc, char **argv, struct record_opts *o)
{
	enum { OPT_MAX_PROCS = 256, OPT_RINGBUF, OPT_KSTACKS, OPT_NO_KSTACKS, OPT_REPORT };
	static const struct option longopts[] = {
		{ "pid", required_argument, NULL, 'p' },
		{ "cgroup", required_argument, NULL, 'c' },
		{ "duration", required_argument, NULL, 'd' },
		{ "output", required_argument, NULL, 'o' },
		{ "report", required_argument, NULL, OPT_REPORT },
		{ "mode", required_argument, NULL, 'm' },
		{ "sample", required_argument, NULL, 's' },
		{ "max-procs", required_argument, NULL, OPT_MAX_PROCS },
		{ "ringbuf", required_argument, NULL, OPT_RINGBUF },
		{ "kstacks", required_argument, NULL, OPT_KSTACKS },
		{ "no-kernel-stacks", no_argument, NULL, OPT_NO_KSTACKS },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	uint64_t v;
	int c;

	*o = (struct record_opts){
		.output = "-", .outstanding = true, .sample = DEFAULT_SAMPLE,
		.max_procs = 16384, .ringbuf_mb = 16, .kstacks = 16384, .kernel_stacks = true,
	};
	optind = 1;
	opterr = 0;	/* one message, ours */
	while ((c = getopt_long(argc, argv, "p:c:d:o:m:s:vh", longopts, NULL)) != -1) {
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
			if (cli_u64(optarg, 1, 1 << 20, &v))
				return cli_error("--sample wants 1..1048576, not '%s'", optarg);
			o->sample = v;
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
		case 'v':
			log_set_verbose(true);
			break;
		case 'h':
			fputs(usage, stdout);
			return 1;
		default:
			return cli_bad_option(argc, argv, "record");
		}
	}
	if (optind < argc)
		return cli_error("unexpected argument '%s' (see 'memscope record --help')", argv[optind]);
	return 0;
}

static int check_pids(const struct record_opts *o)
{
	char path[64];

	for (size_t i = 0; i < o->n_tgids; i++) {
		snprintf(path, sizeof(path), "/proc/%u", o->tgids[i]);
		if (access(path, F_OK))
			return cli_error("no process with pid %u", o->tgids[i]);
	}
	return 0;
}

static int resolve_cgroups(const struct record_opts *o, struct cgroups *cg, uint64_t *ids,
			   size_t *n)
{
	char err[512];

	*n = 0;
	for (size_t i = 0; i < o->n_cgroups; i++) {
		size_t got = 0;
		int rc;

		if (!cg)
			return cli_error("-c needs a memory cgroup hierarchy, and none is mounted");
		rc = cgroups__resolve(cg, o->cgroup_specs[i], ids + *n, MAX_FILTERS - *n, &got, err,
				      sizeof(err));
		if (rc)
			return cli_error("-c %s: %s", o->cgroup_specs[i], err[0] ? err : strerror(-rc));
		*n += got;
	}
	return 0;
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
		log_error("cannot write %s: %s", path, strerror(-err));
	else if (strcmp(path, "-"))
		log_notice("wrote %zu stacks to %s", folded__count(f), path);
	folded__free(f);
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
		log_error("cannot write %s: %s", path, strerror(-err));
	return err;
}

/* Everything is written even when one output fails: losing the folded file
 * must not also lose the totals. */
static int write_outputs(const struct record_ctx *c, const struct record_opts *o)
{
	struct record_totals *t;
	int err = write_folded(c, o->output), err2 = 0;

	t = record_totals__collect(c);
	if (!t)
		return -ENOMEM;
	record_totals__print(t, stderr);
	if (o->report)
		err2 = write_report(t, o->report);
	record_totals__free(t);
	return err ? err : err2;
}

static void on_sample(void *ctx, const struct ms_sample *s)
{
	recorder__on_sample(ctx, s);
}

static int run(const struct record_opts *o, struct record_ctx *c, const uint64_t *cgids,
	       size_t n_cgids)
{
	struct tracer_opts to = {
		.sample_every = o->sample, .track_frees = o->outstanding,
		.kernel_stacks = o->kernel_stacks, .max_procs = o->max_procs,
		.ringbuf_mb = o->ringbuf_mb, .kstack_entries = o->kstacks,
		.tgids = o->tgids, .n_tgids = o->n_tgids, .cgids = cgids, .n_cgids = n_cgids,
	};
	double start, now, last_prune;
	const volatile uint64_t *pages;
	size_t npages;
	int err;

	struct tracer_handlers h = { .sample = on_sample, .ctx = c->recorder };

	err = tracer__start(&to, &h, &c->tracer);
	if (err)
		return err;
	pages = tracer__page_records(c->tracer, &npages);
	log_notice("recording%s; Ctrl-C to stop", o->duration ? "" : " until interrupted");
	start = last_prune = cli_now();
	for (now = start; !cli_stop_requested(); now = cli_now()) {
		if (o->duration && now - start >= o->duration)
			break;
		if (!pids_alive(o)) {
			log_notice("every process given with -p has exited: ending the window");
			break;
		}
		tracer__poll(c->tracer, 100);
		if (now - last_prune >= PRUNE_EVERY_S) {
			recorder__prune(c->recorder, pages, npages);
			last_prune = now;
		}
	}
	tracer__stop(c->tracer);
	c->seconds = cli_now() - start;
	recorder__settle(c->recorder, pages, npages);
	return write_outputs(c, o);
}

int cmd_record(int argc, char **argv)
{
	struct record_ctx c = {};
	struct record_opts o;
	struct cg_hier hier;
	uint64_t cgids[MAX_FILTERS];
	size_t n_cgids = 0;
	int err;

	if ((err = parse_args(argc, argv, &o)))
		return err > 0 ? 0 : err;
	if ((err = check_pids(&o)))
		return err;
	if (cgroups__find_memory_hierarchy("/proc/self/mountinfo", &hier) == 0)
		c.cgroups = cgroups__open(&hier);
	else
		log_notice("no memory cgroup hierarchy mounted: containers are shown by cgroup id");
	if ((err = resolve_cgroups(&o, c.cgroups, cgids, &n_cgids)))
		goto out;

	c.outstanding = o.outstanding;
	c.sample_every = o.sample;
	c.usyms = usyms__new();
	c.ksyms = ksyms__load("/proc/kallsyms");
	if (!c.ksyms)
		log_notice("cannot read /proc/kallsyms (%s): kernel frames shown as addresses",
			   strerror(errno));
	c.recorder = recorder__new(o.sample, sysconf(_SC_PAGESIZE), o.outstanding, c.usyms);
	if (!c.usyms || !c.recorder) {
		err = -ENOMEM;
		log_error("out of memory");
		goto out;
	}
	cli_install_stop_signals();
	err = run(&o, &c, cgids, n_cgids);
out:
	tracer__free(c.tracer);
	recorder__free(c.recorder);
	usyms__free(c.usyms);
	ksyms__free(c.ksyms);
	cgroups__free(c.cgroups);
	return err;
}
