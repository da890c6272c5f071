/* bench/run: memscope's benchmarks. Run from the repository root, as root
 * (`make bench`, `make bench-scale`, `make bench-soak` do both).
 *
 *   run [overhead] [-n ROUNDS] [-w WORKLOADS] [-t TRACERS] [--no-profile]
 *   run scale [--cgroups N] [--procs N]
 *   run soak [-s SECONDS]            (default: $SOAK_SECONDS, else 600)
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "overhead.h"
#include "scale.h"
#include "lease.h"
#include "rss_soak.h"

static const char usage[] =
"usage: bench/run [overhead] [options]   traced/untraced overhead table (make bench)\n"
"       bench/run scale [options]        200 processes in 50 cgroups (make bench-scale)\n"
"       bench/run soak [-s SECONDS]      memscope's RSS over a long run (make bench-soak)\n"
"\n"
"  -n, --rounds N        A/B rounds per tracer, at least (overhead; default 3,\n"
"                        $BENCH_ROUNDS); exactly N with --ci 0\n"
"      --ci POINTS       more rounds until every ratio's 95% interval is within\n"
"                        +-POINTS points (default 2; 0: fixed rounds)\n"
"      --max-minutes M   time cap of the overhead suite (default 90, $BENCH_MINUTES)\n"
"  -w, --workloads LIST  comma-separated: pagestorm,mallocchurn,pagecache,node\n"
"  -t, --tracers LIST    comma-separated: memscope,memscope-s1,memscope-js,\n"
"                        floor-raw_tp,floor-tp_btf,floor-pfn,base,base-s1,\n"
"                        bt-stacks,bt-pfn\n"
"      --no-profile      skip the profile pass (BPF statistics, perf)\n"
"      --cgroups N       scale: memory cgroups (default 50)\n"
"      --procs N         scale: processes (default 200)\n"
"  -s, --seconds S       soak: length (default $SOAK_SECONDS or 600)\n"
"  -o, --results DIR     where the JSON goes (default build/bench/results)\n"
"  -m, --memscope PATH   binary under test (default ./memscope, $MEMSCOPE_BIN)\n"
"      --baseline PATH   another memscope build, run as tracers base and base-s1\n"
"                        in the same pairs (an A/B of two versions)\n";

struct opts {
	struct ov_opts ov;
	struct scale_opts scale;
	struct rss_soak_opts soak;
};

static int env_u64(const char *name, uint64_t min, uint64_t max, uint64_t *v)
{
	const char *s = getenv(name);

	if (!s || !*s)
		return 0;
	if (cli_u64(s, min, max, v))
		return cli_error("%s wants %llu..%llu, not '%s'", name, (unsigned long long)min,
				 (unsigned long long)max, s);
	return 0;
}

static int parse(int argc, char **argv, struct opts *o)
{
	enum { OPT_NO_PROFILE = 256, OPT_CGROUPS, OPT_PROCS, OPT_CI, OPT_MAX_MINUTES,
	       OPT_BASELINE };
	static const struct option longopts[] = {
		{ "rounds", required_argument, NULL, 'n' },
		{ "ci", required_argument, NULL, OPT_CI },
		{ "max-minutes", required_argument, NULL, OPT_MAX_MINUTES },
		{ "baseline", required_argument, NULL, OPT_BASELINE },
		{ "workloads", required_argument, NULL, 'w' },
		{ "tracers", required_argument, NULL, 't' },
		{ "no-profile", no_argument, NULL, OPT_NO_PROFILE },
		{ "cgroups", required_argument, NULL, OPT_CGROUPS },
		{ "procs", required_argument, NULL, OPT_PROCS },
		{ "seconds", required_argument, NULL, 's' },
		{ "results", required_argument, NULL, 'o' },
		{ "memscope", required_argument, NULL, 'm' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	const char *bin = getenv("MEMSCOPE_BIN");
	uint64_t rounds = 3, soak_s = 600, minutes = 90, v;
	int c, rc;

	if ((rc = env_u64("BENCH_ROUNDS", 1, 50, &rounds)) ||
	    (rc = env_u64("SOAK_SECONDS", 10, 7 * 86400, &soak_s)) ||
	    (rc = env_u64("BENCH_MINUTES", 1, 24 * 60, &minutes)))
		return rc;
	o->ov = (struct ov_opts){ .rounds = rounds, .ci_points = 2, .max_minutes = minutes,
				  .profile = true };
	o->scale = (struct scale_opts){ .cgroups = 50, .procs = 200, .tolerance_pct = 5,
					.tolerance_mib = 1, .rss_limit_mib = 64 };
	o->soak = (struct rss_soak_opts){ .seconds = soak_s, .interval = 10, .flat_mib = 1 };
	o->ov.memscope = bin && *bin ? bin : "./memscope";
	o->ov.results_dir = "build/bench/results";
	while ((c = getopt_long(argc, argv, "n:w:t:s:o:m:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'n':
			if (cli_u64(optarg, 1, 50, &v))
				return cli_error("-n wants 1..50 rounds, not '%s'", optarg);
			o->ov.rounds = v;
			break;
		case OPT_CI:
			if (cli_u64(optarg, 0, 100, &v))
				return cli_error("--ci wants 0..100 points, not '%s'", optarg);
			o->ov.ci_points = v;
			break;
		case OPT_MAX_MINUTES:
			if (cli_u64(optarg, 1, 24 * 60, &v))
				return cli_error("--max-minutes wants 1..1440, not '%s'", optarg);
			o->ov.max_minutes = v;
			break;
		case OPT_BASELINE:
			o->ov.baseline = optarg;
			break;
		case 'w':
			o->ov.workloads = optarg;
			break;
		case 't':
			o->ov.tracers = optarg;
			break;
		case OPT_NO_PROFILE:
			o->ov.profile = false;
			break;
		case OPT_CGROUPS:
			if (cli_u64(optarg, 1, 200, &v))
				return cli_error("--cgroups wants 1..200, not '%s'", optarg);
			o->scale.cgroups = v;
			break;
		case OPT_PROCS:
			if (cli_u64(optarg, 1, 1000, &v))
				return cli_error("--procs wants 1..1000, not '%s'", optarg);
			o->scale.procs = v;
			break;
		case 's':
			if (cli_seconds(optarg, &o->soak.seconds) || o->soak.seconds < 10)
				return cli_error("-s wants at least 10 seconds, not '%s'", optarg);
			break;
		case 'o':
			o->ov.results_dir = optarg;
			break;
		case 'm':
			o->ov.memscope = optarg;
			break;
		case 'h':
			fputs(usage, stdout);
			return 1;
		default:
			return cli_error("see bench/run --help");
		}
	}
	o->scale.memscope = o->soak.memscope = o->ov.memscope;
	o->scale.results_dir = o->soak.results_dir = o->ov.results_dir;
	return 0;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 && argv[1][0] != '-' ? argv[1] : "overhead";
	char bin[PATH_MAX], base[PATH_MAX];
	struct opts o;
	int rc;

	if (argc > 1 && argv[1][0] != '-') {
		argc--;
		argv++;
	}
	if ((rc = parse(argc, argv, &o)))
		return rc > 0 ? 0 : 2;
	if (optind < argc)
		return cli_error("unexpected argument '%s'", argv[optind]), 2;
	if (strcmp(mode, "overhead") && strcmp(mode, "scale") && strcmp(mode, "soak"))
		return cli_error("unknown benchmark '%s' (overhead, scale or soak)", mode), 2;
	if (geteuid() != 0)
		return cli_error("the benchmarks load BPF programs and create cgroups: run as "
				 "root"), 2;
	if ((rc = lease__init("build/bench")))
		return cli_error("cannot create a scratch directory in build/bench: %s",
				 strerror(-rc)), 2;
	if ((rc = lease__snapshot(o.ov.memscope, "memscope", bin, sizeof(bin))))
		return cli_error("cannot copy %s (build it with make): %s", o.ov.memscope,
				 strerror(-rc)), 2;
	o.ov.memscope = o.scale.memscope = o.soak.memscope = bin;
	if (o.ov.baseline) {
		if ((rc = lease__snapshot(o.ov.baseline, "memscope-baseline", base, sizeof(base))))
			return cli_error("cannot copy %s: %s", o.ov.baseline, strerror(-rc)), 2;
		o.ov.baseline = base;
	}
	/* Progress goes to stderr: keep the table in step with it in a log. */
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!strcmp(mode, "scale"))
		rc = scale__run(&o.scale);
	else if (!strcmp(mode, "soak"))
		rc = rss_soak__run(&o.soak);
	else
		rc = overhead__run(&o.ov);
	return rc == 0 ? 0 : rc == 1 ? 1 : 2;
}
