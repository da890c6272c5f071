/* memscope check: the soak-test assertion. Watches one memory cgroup for a
 * window while recording what allocates in it, then exits 0 when its memory
 * plateaued, 1 when it grew faster than the bound (printing the class split
 * and the top stacks still resident), 2 on error. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cgroups.h"
#include "cgstat.h"
#include "cli.h"
#include "commands.h"
#include "folded.h"
#include "growth.h"
#include "hmap.h"
#include "log.h"
#include "memclass.h"
#include "memsplit.h"
#include "record_output.h"
#include "recorder.h"
#include "session.h"
#include "soak.h"
#include "stack_text.h"
#include "units.h"

enum check_status { CHECK_PLATEAU = 0, CHECK_GREW = 1, CHECK_ERROR = 2 };

#define DEFAULT_DURATION	600.0
#define DEFAULT_INTERVAL	1.0
#define DEFAULT_SAMPLE		256	/* as record */
#define DEFAULT_TOP		10
#define MAX_TOP			1000
#define POLL_MS			100
#define STACK_TAIL		6	/* leafmost user frames shown per stack */

struct check_opts {
	const char *cgroup;
	double duration, interval, warmup;
	double bound;			/* bytes per second */
	const char *bound_text;
	uint32_t sample;
	size_t top;
};

static const char usage[] =
"usage: memscope check -c CGROUP --max-growth RATE [options]\n"
"\n"
"The soak-test assertion a CI pipeline runs against a service under load:\n"
"watch one memory cgroup (container) for a window and exit 0 if its memory\n"
"plateaued, 1 if it grew faster than RATE (printing its growth by class and\n"
"the stacks that allocated what it still holds), 2 on error.\n"
"\n"
"The rule: the cgroup's memory usage (memory.current, v1 memory.usage_in_bytes:\n"
"everything charged to it, page cache and kernel memory included) is read\n"
"every --interval. Readings in the warm-up (by default the first half of the\n"
"window) are ignored; the least-squares slope of the others is the growth.\n"
"It fails when that slope is above RATE. Short windows are noisy: a few\n"
"hundred KiB of jitter over 10 s is already MiB/min.\n"
"\n"
"  -c, --cgroup CGROUP    the memory cgroup: a path as in /proc/PID/cgroup, a\n"
"                         cgroup id, or a container id prefix (one cgroup)\n"
"  -d, --duration SECS    length of the window (default 10m): 600, 90s, 10m, 1h\n"
"      --max-growth RATE  the bound: 5MiB/min, 512KiB/s, 1GiB/h (B, KiB, MiB,\n"
"                         GiB, TiB per s, min or h)\n"
"      --warmup SECS      readings ignored at the start (default: half the window)\n"
"      --interval SECS    time between readings (default 1)\n"
"  -s, --sample N         one page in N (by bytes) carries a stack (default 256)\n"
"      --top N            stacks printed when it grew (default 10)\n"
"  -v, --verbose          debug output\n"
"  -h, --help             this help\n"
"\n"
"Ctrl-C, SIGTERM or SIGHUP end the window early: no verdict, exit 2.\n";

static int parse_args(int argc, char **argv, struct check_opts *o)
{
	enum { OPT_MAX_GROWTH = 256, OPT_WARMUP, OPT_INTERVAL, OPT_TOP };
	static const struct option longopts[] = {
		{ "cgroup", required_argument, NULL, 'c' },
		{ "duration", required_argument, NULL, 'd' },
		{ "max-growth", required_argument, NULL, OPT_MAX_GROWTH },
		{ "warmup", required_argument, NULL, OPT_WARMUP },
		{ "interval", required_argument, NULL, OPT_INTERVAL },
		{ "sample", required_argument, NULL, 's' },
		{ "top", required_argument, NULL, OPT_TOP },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	uint64_t v;
	int c;

	*o = (struct check_opts){
		.duration = DEFAULT_DURATION, .interval = DEFAULT_INTERVAL, .warmup = NAN,
		.bound = NAN, .sample = DEFAULT_SAMPLE, .top = DEFAULT_TOP,
	};
	optind = 1;
	opterr = 0;	/* one message, ours */
	while ((c = getopt_long(argc, argv, "c:d:s:vh", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			if (o->cgroup)
				return cli_error("check watches one cgroup: give -c once");
			o->cgroup = optarg;
			break;
		case 'd':
			if (cli_seconds(optarg, &o->duration) || o->duration <= 0)
				return cli_error("-d wants a positive number of seconds, not '%s'",
						 optarg);
			break;
		case OPT_MAX_GROWTH:
			if (soak__parse_rate(optarg, &o->bound))
				return cli_error("--max-growth wants a rate (5MiB/min), not '%s'",
						 optarg);
			o->bound_text = optarg;
			break;
		case OPT_WARMUP:
			if (cli_seconds(optarg, &o->warmup))
				return cli_error("--warmup wants seconds, not '%s'", optarg);
			break;
		case OPT_INTERVAL:
			if (cli_seconds(optarg, &o->interval) || o->interval < 0.1)
				return cli_error("--interval wants at least 0.1 seconds, not '%s'",
						 optarg);
			break;
		case 's':
			if (cli_sample(optarg, &o->sample))
				return -EINVAL;
			break;
		case OPT_TOP:
			if (cli_u64(optarg, 0, MAX_TOP, &v))
				return cli_error("--top wants 0..%d, not '%s'", MAX_TOP, optarg);
			o->top = v;
			break;
		default: {
			int rc = cli_common_option(c, argc, argv, "check", usage);

			if (rc)
				return rc;
			break;
		}
		}
	}
	if (optind < argc)
		return cli_extra_argument(argv[optind], "check");
	if (!o->cgroup)
		return cli_error("check needs the cgroup to watch: -c CGROUP");
	if (isnan(o->bound))
		return cli_error("check needs the bound: --max-growth RATE, e.g. 5MiB/min");
	if (isnan(o->warmup))
		o->warmup = o->duration / 2;
	if (o->warmup >= o->duration)
		return cli_error("--warmup (%.1f s) leaves nothing of the %.1f s window to judge",
				 o->warmup, o->duration);
	/* Readings at the end of the warm-up, every interval, and at the end. */
	if ((o->duration - o->warmup) / o->interval < SOAK_MIN_READINGS - 1)
		return cli_error("%.1f s after the warm-up hold fewer than %d readings %.1f s "
				 "apart: lower --interval or --warmup", o->duration - o->warmup,
				 SOAK_MIN_READINGS, o->interval);
	if ((o->duration - o->warmup) / o->interval > GROWTH_CAP_MAX - 2)
		return cli_error("more than %d readings: raise --interval", GROWTH_CAP_MAX - 2);
	return 0;
}

struct check {
	const struct check_opts *o;
	struct session s;
	const char *path;		/* of the cgroup, as /proc/PID/cgroup prints it */
	char dir[PATH_MAX];
	struct soak *soak;
};

/* The directory of the one cgroup (the session resolved -c), for the
 * readings. */
static int resolve(struct check *k)
{
	int len;

	k->path = k->s.cgroup_paths[0];
	len = snprintf(k->dir, sizeof(k->dir), "%s%s", k->s.hier.mount,
		       strcmp(k->path, "/") ? k->path : "");
	if (len < 0 || (size_t)len >= sizeof(k->dir))
		return cli_error("-c %s: path too long", k->o->cgroup);
	return 0;
}

static int read_usage(const struct check *k, double *bytes)
{
	struct cgstat st;
	int err = cgstat__read(k->dir, k->s.hier.version, CGSTAT_USAGE, &st);

	if (!err && !(st.have & CGSTAT_USAGE))
		err = -ENOENT;
	if (err == -ENOENT)
		return cli_error("%s has no memory usage to read (gone, or the root cgroup)",
				 k->path);
	if (err) {
		log_error("cannot read the memory usage of %s: %s", k->path, strerror(-err));
		return err;
	}
	*bytes = (double)st.usage;
	return 0;
}

/* The window: a reading every interval (and one at the end) while the tracer
 * records. 0, 1 when interrupted, or -errno. */
static int watch(struct check *k, double start)
{
	const struct check_opts *o = k->o;
	double now = start, next = start, usage;
	int err;

	while (now - start < o->duration) {
		if (cli_stop_requested())
			return 1;
		if (now >= next) {
			if ((err = read_usage(k, &usage)))
				return err;
			soak__add(k->soak, now - start, usage);
			/* Ticks missed while the tracer was busy are skipped, not
			 * caught up: readings bunched together weigh one moment. */
			while (next <= now)
				next += o->interval;
		}
		session__poll(&k->s, (int)fmin(POLL_MS, fmax(1, (next - now) * 1000)));
		now = cli_now();
	}
	if ((err = read_usage(k, &usage)))
		return err;
	soak__add(k->soak, now - start, usage);
	return 0;
}

struct stack_row {
	uint64_t bytes;		/* first: the merge key's value */
	size_t stack;		/* index of the first stack with this text */
};

static int by_bytes(const void *a, const void *b)
{
	uint64_t x = ((const struct stack_row *)a)->bytes, y = ((const struct stack_row *)b)->bytes;

	return x < y ? 1 : x > y ? -1 : 0;
}

/* One frame of a line as the folded output spells it. */
static void print_frame(const struct frame *f, bool first, FILE *out)
{
	char text[FRAME_LEN + 8], clean[FOLDED_FRAME_MAX];

	stack_text__frame(f, text, sizeof(text));
	folded__sanitize(text, clean, sizeof(clean));
	fprintf(out, "%s%s", first ? "" : ";", clean);
}

/* A stack as one line: container;comm;[class] then the leafmost
 * STACK_TAIL user frames, kernel frames left out. */
static void print_stack(const struct rec_stack *st, FILE *out)
{
	const char *cls = memclass__name(st->cls);
	char clean[FOLDED_FRAME_MAX];
	size_t n = 0, from, seen = 0;

	for (size_t i = 0; i < st->nframes; i++)
		n += st->frames[i].kind != FRAME_KERNEL;
	from = n > STACK_TAIL ? n - STACK_TAIL : 0;
	folded__sanitize(st->container, clean, sizeof(clean));
	fputs(clean, out);
	folded__sanitize(st->comm, clean, sizeof(clean));
	fprintf(out, ";%s", clean);
	if (cls)
		fprintf(out, ";[%s]", cls);
	if (from)
		fputs(";...", out);
	for (size_t i = 0; i < st->nframes; i++) {
		if (st->frames[i].kind == FRAME_KERNEL)
			continue;
		if (seen++ >= from)
			print_frame(&st->frames[i], false, out);
	}
	fputc('\n', out);
}

/* Stacks that the folded output would show as one line are one row here:
 * same container, comm, class and frames (names are interned, so the
 * pointers say it). */
static int merge_stacks(const struct recording *r, struct hmap *rows)
{
	const void **key = NULL;
	size_t cap = 0;
	int err = 0;

	for (size_t i = 0; i < r->nstacks && !err; i++) {
		const struct rec_stack *st = &r->stacks[i];
		uint64_t value = record_output__value(r, st);
		size_t n = 0, need = 3 + 2 * st->nframes;
		struct stack_row *row;
		bool created;

		if (!value)
			continue;
		if (need > cap) {
			void *p = realloc(key, need * sizeof(*key));

			if (!p) {
				err = -ENOMEM;
				break;
			}
			key = p;
			cap = need;
		}
		key[n++] = st->container;
		key[n++] = st->comm;
		key[n++] = memclass__name(st->cls);
		for (size_t f = 0; f < st->nframes; f++) {
			key[n++] = st->frames[f].name;
			key[n++] = (const void *)(uintptr_t)st->frames[f].kind;
		}
		row = hmap__upsert(rows, key, n * sizeof(*key), &created);
		if (!row) {
			err = -ENOMEM;
			break;
		}
		if (created)
			row->stack = i;
		row->bytes += value;
	}
	free(key);
	return err;
}

/* The heaviest stacks of what the window allocated and the cgroup still
 * holds. */
static int print_top_stacks(const struct recording *r, size_t top, FILE *out)
{
	struct hmap *merged = hmap__new(sizeof(struct stack_row));
	struct stack_row *rows = NULL;
	size_t n = 0, it = 0;
	uint64_t total = 0;
	void *val;
	int err;

	if (!merged)
		return -ENOMEM;
	err = merge_stacks(r, merged);
	if (!err && !(rows = calloc(hmap__count(merged) + 1, sizeof(*rows))))
		err = -ENOMEM;
	if (err) {
		hmap__free(merged);
		return err;
	}
	while (hmap__next(merged, &it, NULL, NULL, &val)) {
		rows[n] = *(struct stack_row *)val;
		total += rows[n++].bytes;
	}
	qsort(rows, n, sizeof(*rows), by_bytes);
	fprintf(out, "\ntop stacks of the memory allocated in the window and still held "
		"(%.1f MiB sampled):\n", total / MIB);
	if (!n)
		fprintf(out, "  none: the growth was not allocated by its processes' page faults "
			"(page cache written by others, kernel memory)\n");
	for (size_t i = 0; i < n && i < top; i++) {
		fprintf(out, "  %9.1f MiB %5.1f%%  ", rows[i].bytes / MIB,
			total ? 100.0 * rows[i].bytes / total : 0);
		print_stack(&r->stacks[rows[i].stack], out);
	}
	free(rows);
	hmap__free(merged);
	return 0;
}

static void print_verdict(const struct check *k, const struct soak_result *r, FILE *out)
{
	fprintf(out, "memscope check: %s: %s %s %.2f MiB/min over %.1f-%.1f s of the window "
		"(%zu readings), %s the bound of %.2f MiB/min; usage %.1f -> %.1f MiB\n",
		r->grew ? "FAIL" : "PASS", k->path, r->grew ? "grew" : "plateaued:", r->slope,
		r->from, r->to, r->judged, r->grew ? "above" : "within", r->bound,
		r->first / MIB, r->last / MIB);
}

/* Everything after the window: settle the recording, judge, print. */
static int conclude(struct check *k)
{
	const struct recording *rec;
	struct soak_result r;
	int err;

	if (session__settle(&k->s))
		return CHECK_ERROR;
	rec = k->s.model;
	if (soak__judge(k->soak, k->o->bound, &r)) {
		log_error("only %zu readings of %s after the warm-up: no verdict", r.judged,
			  k->path);
		return CHECK_ERROR;
	}
	print_verdict(k, &r, stdout);
	if (!r.grew)
		return CHECK_PLATEAU;
	if (rec->split && memsplit__report(rec->split, rec) == 0) {
		fputc('\n', stdout);
		memsplit__print(rec->split, stdout);
	}
	err = print_top_stacks(rec, k->o->top, stdout);
	if (err)
		log_error("cannot list the top stacks: %s", strerror(-err));
	return CHECK_GREW;
}

static int run(struct check *k)
{
	const struct check_opts *o = k->o;
	double start, usage;
	int err;

	/* Before attaching: a cgroup without usage fails fast. */
	if (read_usage(k, &usage))
		return CHECK_ERROR;
	k->soak = soak__new(o->warmup, (size_t)((o->duration - o->warmup) / o->interval) + 2);
	if (!k->soak) {
		log_error("out of memory");
		return CHECK_ERROR;
	}
	if (session__start(&k->s, NULL, NULL))
		return CHECK_ERROR;
	start = cli_now();
	log_notice("checking %s for %.1f s (warm-up %.1f s, a reading every %.1f s): fails above "
		   "%s", k->path, o->duration, o->warmup, o->interval, o->bound_text);
	err = watch(k, start);
	session__stop(&k->s);
	k->s.rc.seconds = cli_now() - start;
	if (err > 0) {
		log_error("interrupted after %.1f s of %.1f s: no verdict", k->s.rc.seconds,
			  o->duration);
		return CHECK_ERROR;
	}
	return err ? CHECK_ERROR : conclude(k);
}

static int check(int argc, char **argv)
{
	struct check_opts o;
	struct check k = { .o = &o };
	int err, status = CHECK_ERROR;

	if ((err = parse_args(argc, argv, &o)))
		return err > 0 ? CHECK_PLATEAU : CHECK_ERROR;
	err = session__open(&k.s, &(struct session_opts){
		.sample_every = o.sample, .outstanding = true,
		.cgroups = &o.cgroup, .n_cgroups = 1, .max_cgroup_ids = 1,
		.kernel_stacks = true, .max_procs = 16384, .ringbuf_mb = 16,
		.kstack_entries = 16384, .class_split = true,
	});
	if (err || resolve(&k))
		goto out;
	cli_install_stop_signals();
	status = run(&k);
out:
	session__close(&k.s);
	soak__free(k.soak);
	return status;
}

int cmd_check(int argc, char **argv)
{
	int status = check(argc, argv);

	/* The verdict is the exit status, which main()'s 0 / -errno convention
	 * for commands cannot carry. */
	fflush(stdout);
	if (status != CHECK_PLATEAU)
		exit(status);
	return 0;
}
