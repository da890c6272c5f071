/* memscope flamegraph: folded stacks (memscope record's, or any tool's) to an
 * interactive SVG flame graph. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "atomic_file.h"
#include "cli.h"
#include "commands.h"
#include "flamegraph.h"
#include "folded.h"
#include "folded_diff.h"
#include "log.h"

struct fg_args {
	const char *input;
	const char *output;
	struct flamegraph_opts opts;
};

static const char usage[] =
"usage: memscope flamegraph [options] IN.folded\n"
"\n"
"Render folded stacks as an interactive SVG flame graph: width is bytes,\n"
"click a frame to zoom, Search (or Ctrl-F) highlights frames matching a regular\n"
"expression and shows their share; hover for name, bytes and percent. Colours:\n"
"container, process, native, v8-heap, file/page cache, shmem, kernel and JIT\n"
"frames. IN is a file, or - for stdin. A signed `memscope diff --all` output is\n"
"drawn as two trees, [grew] and [shrank].\n"
"\n"
"  -o, --output FILE      SVG to FILE, written atomically (default: stdout)\n"
"      --title TEXT       title at the top\n"
"      --width PX         image width (default 1200)\n"
"      --inverted         icicle graph: roots at the top\n"
"      --plain            the input has no container and process frames\n"
"                         (folded files from other tools)\n"
"      --min-width PX     frames narrower than this are merged into their parent\n"
"                         (default 0.1; raised further if the graph would have\n"
"                         more than 30000 frames)\n"
"  -v, --verbose          debug output\n"
"  -h, --help             this help\n"
"\n"
"Open the SVG in a web browser; \"file.svg?s=REGEX\" opens it with a search done.\n";

/* 0, 1 after --help, or -EINVAL. */
static int parse_args(int argc, char **argv, struct fg_args *a)
{
	enum { OPT_TITLE = 256, OPT_WIDTH, OPT_INVERTED, OPT_PLAIN, OPT_MIN_WIDTH };
	static const struct option longopts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "title", required_argument, NULL, OPT_TITLE },
		{ "width", required_argument, NULL, OPT_WIDTH },
		{ "inverted", no_argument, NULL, OPT_INVERTED },
		{ "plain", no_argument, NULL, OPT_PLAIN },
		{ "min-width", required_argument, NULL, OPT_MIN_WIDTH },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	uint64_t v;
	char *end;
	int c;

	*a = (struct fg_args){ .output = "-" };
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "o:vh", longopts, NULL)) != -1) {
		switch (c) {
		case 'o':
			a->output = optarg;
			break;
		case OPT_TITLE:
			a->opts.title = optarg;
			break;
		case OPT_WIDTH:
			if (cli_u64(optarg, FLAMEGRAPH_WIDTH_MIN, FLAMEGRAPH_WIDTH_MAX, &v))
				return cli_error("--width wants %d..%d pixels, not '%s'",
						 FLAMEGRAPH_WIDTH_MIN, FLAMEGRAPH_WIDTH_MAX,
						 optarg);
			a->opts.width = v;
			break;
		case OPT_INVERTED:
			a->opts.inverted = true;
			break;
		case OPT_PLAIN:
			a->opts.plain = true;
			break;
		case OPT_MIN_WIDTH:
			errno = 0;
			a->opts.min_px = strtod(optarg, &end);
			if (errno || end == optarg || *end || !(a->opts.min_px >= 0.05) ||
			    a->opts.min_px > 1000)
				return cli_error("--min-width wants 0.05..1000 pixels, not '%s'",
						 optarg);
			break;
		default: {
			int rc = cli_common_option(c, argc, argv, "flamegraph", usage);

			if (rc)
				return rc;
			break;
		}
		}
	}
	if (optind == argc)
		return cli_error("which folded file? (see 'memscope flamegraph --help')");
	if (argc - optind > 1)
		return cli_extra_argument(argv[optind + 1], "flamegraph");
	a->input = argv[optind];
	return 0;
}

/* Stacks of the input into fg; signed input becomes the [grew] and [shrank]
 * trees, and *is_signed says so. */
static int load(const char *path, struct flamegraph *fg, bool *is_signed)
{
	struct folded *pos = folded__new(), *neg = folded__new();
	FILE *in = strcmp(path, "-") ? fopen(path, "re") : stdin;
	size_t bad = 0;
	int err;

	if (!in) {
		err = -errno;
		log_error("cannot open %s: %s", path, strerror(errno));
		goto out;
	}
	err = pos && neg ? folded_diff__read_signed(in, pos, neg, &bad) : -ENOMEM;
	if (err) {
		log_error("cannot read %s: %s", path, strerror(-err));
		goto out;
	}
	if (bad)
		log_warn("%s: skipped %zu malformed lines", path, bad);
	if (!folded__count(pos) && !folded__count(neg))
		log_warn("%s: no stacks: the flame graph is empty", path);
	*is_signed = folded__count(neg) > 0;
	if (*is_signed) {
		err = flamegraph__add_folded(fg, pos, FLAMEGRAPH_GROW_FRAME, false);
		if (!err)
			err = flamegraph__add_folded(fg, neg, FLAMEGRAPH_SHRINK_FRAME, true);
	} else {
		err = flamegraph__add_folded(fg, pos, NULL, false);
	}
	if (err)
		log_error("cannot build the flame graph: %s", strerror(-err));
out:
	if (in && in != stdin)
		fclose(in);
	folded__free(pos);
	folded__free(neg);
	return err;
}

int cmd_flamegraph(int argc, char **argv)
{
	struct flamegraph_stats st;
	struct flamegraph *fg;
	struct atomic_file af;
	struct fg_args a;
	bool is_signed = false;
	int err;

	if ((err = parse_args(argc, argv, &a)))
		return err > 0 ? 0 : err;
	fg = flamegraph__new();
	if (!fg) {
		log_error("out of memory");
		return -ENOMEM;
	}
	if ((err = load(a.input, fg, &is_signed)))
		goto out;
	if (!a.opts.title && is_signed)
		a.opts.title = "Memory change: growth under [grew], shrinkage under [shrank]";
	if ((err = atomic_file__open(&af, a.output))) {
		log_error("cannot write %s: %s", a.output, atomic_file__strerror(err));
		goto out;
	}
	err = flamegraph__write_svg(fg, &a.opts, af.f, &st);
	err = err ? (atomic_file__abort(&af), err) : atomic_file__commit(&af);
	if (err) {
		log_error("cannot write %s: %s", a.output, atomic_file__strerror(err));
		goto out;
	}
	log_debug("%zu frames, %zu drawn (narrower than %.2f px merged), depth %u", st.frames,
		  st.rects, st.min_px, st.depth);
	if (strcmp(a.output, "-"))
		log_notice("wrote %s: %zu of %zu frames drawn", a.output, st.rects, st.frames);
out:
	flamegraph__free(fg);
	return err;
}
