/* memscope oom: wait for OOM kills and explain each one as it happens: who,
 * in which container, against which limit, holding what, from which stacks,
 * after what growth. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "atomic_file.h"
#include "cli.h"
#include "commands.h"
#include "ctrnames.h"
#include "log.h"
#include "memsplit.h"
#include "oom_print.h"
#include "oom_report.h"
#include "session.h"
#include "tracer.h"
#include "timeline.h"
#include "topview.h"

/* As record's default (its comment says why): a 64 MiB leak still leaves
 * ~64 sampled pages to tell its stacks apart. */
#define DEFAULT_SAMPLE	256
#define POLL_MS		200
#define KMSG_DRAIN_MAX	65536	/* records read per poll, at most */

struct oom_opts {
	bool json;
	const char *output;
	struct cli_filters f;	/* -c */
	uint32_t sample;
};

struct oom_cmd {
	const struct oom_opts *o;
	struct session s;
	struct timeline *tl;
	int fd;				/* where reports go */
	uint64_t kills;
	struct oom_kmsg *kmsg;		/* the kernel's account of each kill; NULL: none */
	struct ctrnames names;		/* Docker names */
};

static const char usage[] =
"usage: memscope oom [options]\n"
"\n"
"Wait for OOM kills and report each one as it happens: the victim and its\n"
"container, the task that triggered it, whether a memory cgroup limit or the\n"
"whole machine ran out (with the limit and the usage), the victim's memory by\n"
"kind, the stacks that allocated what it held at the kill, and how its\n"
"container grew in the minutes before. Runs until Ctrl-C.\n"
"\n"
"  -j, --json             one JSON object per kill, one per line\n"
"  -o, --output FILE      append reports to FILE (one write each) instead of stdout\n"
"  -c, --cgroup CGROUP    only kills in this memory cgroup and those below it: a\n"
"                         path as in /proc/PID/cgroup, a cgroup id, or a container\n"
"                         id prefix (repeatable)\n"
"  -s, --sample N         one page in N (by bytes) carries a stack (default 256)\n"
"  -v, --verbose          debug output\n"
"  -h, --help             this help\n";

static int parse_args(int argc, char **argv, struct oom_opts *o)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "output", required_argument, NULL, 'o' },
		{ "cgroup", required_argument, NULL, 'c' },
		{ "sample", required_argument, NULL, 's' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	int c;

	*o = (struct oom_opts){ .sample = DEFAULT_SAMPLE };
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "jo:c:s:vh", longopts, NULL)) != -1) {
		switch (c) {
		case 'j':
			o->json = true;
			break;
		case 'o':
			o->output = optarg;
			break;
		case 'c':
			if (cli_filter_cgroup(&o->f, optarg))
				return -EINVAL;
			break;
		case 's':
			if (cli_sample(optarg, &o->sample))
				return -EINVAL;
			break;
		default: {
			int rc = cli_common_option(c, argc, argv, "oom", usage);

			if (rc)
				return rc;
			break;
		}
		}
	}
	if (optind < argc)
		return cli_extra_argument(argv[optind], "oom");
	return 0;
}

static void on_kill(void *ctx, const struct ms_oom_event *e)
{
	struct oom_cmd *c = ctx;
	struct oom_sources src = {
		.tl = c->tl, .proc_root = "/proc", .kmsg = c->kmsg, .names = &c->names,
	};
	struct oom_report *r;
	int err;

	session__oom_sources(&c->s, &src);
	r = oom_report__collect(&src, e);
	if (!r) {
		log_error("OOM kill of pid %u: no memory left to build its report", e->victim_tgid);
		return;
	}
	if (!oom_report__in_cgroups(r, (const char *const *)c->s.cgroup_paths, c->s.n_cgids)) {
		log_debug("OOM kill of pid %u in %s: not under -c", r->victim.pid,
			  r->victim.cgroup);
		oom_report__free(r);
		return;
	}
	c->kills++;
	if (!c->o->json && c->fd == STDOUT_FILENO && c->kills > 1 && write(c->fd, "\n", 1) < 0)
		log_debug("stdout: %s", strerror(errno));
	err = oom_print__write(r, c->o->json, c->fd);
	if (err)
		log_error("cannot write the report of the OOM kill of pid %u: %s", r->victim.pid,
			  strerror(-err));
	else if (c->o->output)
		log_notice("OOM kill: pid %u (%s) in %s; report appended to %s", r->victim.pid,
			   r->victim.comm, r->victim.container, c->o->output);
	oom_report__free(r);
}

/* The timeline follows only the -c cgroups (the session resolved them). */
static int setup_filters(struct oom_cmd *c)
{
	if (c->tl && timeline__set_filter(c->tl, (const char *const *)c->s.cgroup_paths,
					  c->s.n_cgids)) {
		log_error("out of memory");
		return -ENOMEM;
	}
	return 0;
}

static int run(struct oom_cmd *c)
{
	const char *hook;
	int err;

	err = session__start(&c->s, on_kill, c);
	if (err)
		return err;
	hook = tracer__oom_hook(c->s.rc.tracer);
	if (!hook) {
		log_error("this kernel has no usable oom:mark_victim tracepoint: memscope oom "
			  "cannot see OOM kills here");
		return -EOPNOTSUPP;
	}
	if (c->tl)
		timeline__tick(c->tl, cli_now());
	log_notice("watching for OOM kills (%s%s); Ctrl-C to stop", hook,
		   strcmp(hook, "raw_tp") ? ": victim pid only, no evidence" : "");
	while (!cli_stop_requested()) {
		session__poll(&c->s, POLL_MS);
		/* Keeps up with the log, so a kill's records are never overwritten
		 * by the time it is reported. */
		oom_kmsg__drain(c->kmsg, KMSG_DRAIN_MAX);
		if (c->tl)
			timeline__tick(c->tl, cli_now());
	}
	session__stop(&c->s);
	log_notice("%llu OOM kill%s reported", (unsigned long long)c->kills,
		   c->kills == 1 ? "" : "s");
	return 0;
}

int cmd_oom(int argc, char **argv)
{
	struct oom_opts o;
	struct oom_cmd c = { .o = &o, .fd = STDOUT_FILENO };
	int err;

	if ((err = parse_args(argc, argv, &o)))
		return err > 0 ? 0 : err;
	if (o.output) {
		/* No symlink followed, nothing but a regular file (or /dev/null)
		 * appended to: whoever owns the directory chooses neither. */
		c.fd = atomic_file__open_append(o.output);
		if (c.fd < 0) {
			err = c.fd;
			log_error("cannot open %s: %s", o.output, atomic_file__strerror(err));
			return err;
		}
	}
	err = session__open(&c.s, &(struct session_opts){
		.sample_every = o.sample, .outstanding = true,
		.cgroups = o.f.cgroups, .n_cgroups = o.f.n_cgroups,
		.kernel_stacks = true, .max_procs = 16384, .ringbuf_mb = 16,
		.kstack_entries = 16384,
		/* V8 heaps, so a node victim's report splits v8-heap from native. */
		.class_split = true,
		.recycle_slots = true,	/* runs for days */
	});
	if (err)
		goto out;
	if (c.s.have_hier) {
		struct timeline_opts to = { .hier = &c.s.hier, .memcg_tp = true };

		c.tl = timeline__new(&to);
		if (!c.tl) {
			err = -errno;
			log_error("cannot keep a timeline: %s", strerror(-err));
			goto out;
		}
		log_notice("charge timeline from %s (%s)", timeline__source(c.tl),
			   timeline__source_why(c.tl));
	}
	if ((err = setup_filters(&c)))
		goto out;
	/* At the log's end now: kills from before memscope are not reported. */
	c.kmsg = oom_kmsg__open(NULL);
	if (!c.kmsg)
		log_notice("cannot read the kernel's log /dev/kmsg (%s): limits will be inferred "
			   "from usage, not taken from the kernel's record of each kill",
			   strerror(errno));
	cli_install_stop_signals();
	err = run(&c);
out:
	oom_kmsg__free(c.kmsg);
	ctrnames__free(&c.names);
	session__close(&c.s);
	timeline__free(c.tl);
	if (c.fd != STDOUT_FILENO)
		close(c.fd);
	return err;
}
