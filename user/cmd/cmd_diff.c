/* memscope diff: what grew between two folded captures of the same target,
 * as folded stacks that flame graph tools read. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "atomic_file.h"
#include "cli.h"
#include "commands.h"
#include "flamegraph.h"
#include "folded.h"
#include "folded_diff.h"
#include "log.h"

struct diff_args {
	const char *before, *after;
	const char *output;
	enum folded_diff_mode mode;
};

static const char usage[] =
"usage: memscope diff [options] BEFORE AFTER\n"
"\n"
"Compare two folded captures of the same target (e.g. two `memscope record`\n"
"runs) and write, as folded stacks, the bytes each stack gained, heaviest\n"
"first. Stacks that shrank or did not change are left out unless --all.\n"
"Either file may be - for stdin.\n"
"\n"
"  -o, --output FILE      to FILE, written atomically (default: stdout)\n"
"  -a, --all              also the stacks that shrank, with negative values\n"
"                         (\"stack -4096\"). `memscope flamegraph` draws them;\n"
"                         other flame graph tools may reject negative values\n"
"      --two-column       \"stack BEFORE AFTER\" for every stack of either file,\n"
"                         the input of differential flame graphs (flamegraph.pl\n"
"                         reads it as difffolded.pl output)\n"
"  -v, --verbose          debug output\n"
"  -h, --help             this help\n"
"\n"
"A summary of the growth and shrinkage goes to stderr.\n";

/* 0, 1 after --help, or -EINVAL. */
static int parse_args(int argc, char **argv, struct diff_args *a)
{
	enum { OPT_TWO_COLUMN = 256 };
	static const struct option longopts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "all", no_argument, NULL, 'a' },
		{ "two-column", no_argument, NULL, OPT_TWO_COLUMN },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	bool all = false, two = false;
	int c;

	*a = (struct diff_args){ .output = "-" };
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "o:avh", longopts, NULL)) != -1) {
		switch (c) {
		case 'o':
			a->output = optarg;
			break;
		case 'a':
			all = true;
			break;
		case OPT_TWO_COLUMN:
			two = true;
			break;
		default: {
			int rc = cli_common_option(c, argc, argv, "diff", usage);

			if (rc)
				return rc;
			break;
		}
		}
	}
	if (all && two)
		return cli_error("--two-column already lists every stack: drop --all");
	if (argc - optind != 2)
		return cli_error("diff wants two folded files, BEFORE and AFTER "
				 "(see 'memscope diff --help')");
	a->before = argv[optind];
	a->after = argv[optind + 1];
	if (!strcmp(a->before, "-") && !strcmp(a->after, "-"))
		return cli_error("only one of BEFORE and AFTER can be stdin");
	a->mode = two ? FOLDED_DIFF_TWO_COLUMN : all ? FOLDED_DIFF_ALL : FOLDED_DIFF_GROWTH;
	return 0;
}

/* A new folded set with the stacks of path, or NULL after printing why. */
static struct folded *load(const char *path)
{
	struct folded *f = folded__new();
	FILE *in = strcmp(path, "-") ? fopen(path, "re") : stdin;
	size_t bad = 0;
	int err;

	if (!in) {
		log_error("cannot open %s: %s", path, strerror(errno));
		folded__free(f);
		return NULL;
	}
	err = f ? folded__read(f, in, &bad) : -ENOMEM;
	if (in != stdin)
		fclose(in);
	if (err) {
		log_error("cannot read %s: %s", path, strerror(-err));
		folded__free(f);
		return NULL;
	}
	if (bad)
		log_warn("%s: skipped %zu malformed lines", path, bad);
	if (!folded__count(f))
		log_warn("%s: no stacks", path);
	return f;
}

static void summary(const struct folded_diff_stats *st)
{
	char grew[32], shrank[32];

	flamegraph__format_bytes(st->growth, grew, sizeof(grew));
	flamegraph__format_bytes(st->shrinkage, shrank, sizeof(shrank));
	log_notice("+%s in %zu stacks that grew, -%s in %zu that shrank, %zu unchanged", grew,
		   st->grown, shrank, st->shrunk, st->unchanged);
}

int cmd_diff(int argc, char **argv)
{
	struct folded *before = NULL, *after = NULL;
	struct folded_diff_stats st;
	struct atomic_file af;
	struct diff_args a;
	int err;

	if ((err = parse_args(argc, argv, &a)))
		return err > 0 ? 0 : err;
	if (!(before = load(a.before)) || !(after = load(a.after))) {
		err = -EINVAL;
		goto out;
	}
	if ((err = atomic_file__open(&af, a.output))) {
		log_error("cannot write %s: %s", a.output, atomic_file__strerror(err));
		goto out;
	}
	err = folded_diff__write(before, after, a.mode, af.f, &st);
	err = err ? (atomic_file__abort(&af), err) : atomic_file__commit(&af);
	if (err) {
		log_error("cannot write %s: %s", a.output, atomic_file__strerror(err));
		goto out;
	}
	summary(&st);
out:
	folded__free(before);
	folded__free(after);
	return err;
}
