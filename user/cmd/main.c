/* memscope: which container is growing, in what kind of memory, from which
 * stacks. Dispatches to one subcommand per file. */
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

#include "commands.h"
#include "log.h"

static const struct command {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *help;
} commands[] = {
	{ "record", cmd_record, "trace page allocations, write folded stacks of resident memory" },
	{ "top", cmd_top, "live per-container memory: what it is made of, how fast it grows" },
	{ "flamegraph", cmd_flamegraph, "render folded stacks as an interactive SVG flame graph" },
	{ "diff", cmd_diff, "growth between two folded captures, as folded stacks" },
	{ "oom", cmd_oom, "explain each OOM kill as it happens: limit, memory, stacks, growth" },
	{ "check", cmd_check, "soak test: exit 0 if a cgroup's memory plateaus, 1 if it grows" },
	{ "serve", cmd_serve, "Prometheus metrics per container on /metrics, until stopped" },
};

static void usage(FILE *out)
{
	fprintf(out, "usage: memscope COMMAND [options]   (memscope COMMAND --help for its options)\n\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].help);
}

/* The symbolizer keeps one descriptor per mapped file (the process it came
 * from may exit): lift the soft limit to the hard one. */
static void raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

int main(int argc, char **argv)
{
	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	raise_fd_limit();
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(argv[1], commands[i].name))
			return commands[i].fn(argc - 1, argv + 1) ? 1 : 0;
	log_error("unknown command '%s' (see 'memscope --help')", argv[1]);
	return 2;
}
