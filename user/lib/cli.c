#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "log.h"

static volatile sig_atomic_t stop_requested;

int cli_error(const char *fmt, ...)
{
	va_list ap;

	fputs("memscope: error: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return -EINVAL;
}

int cli_bad_option(int argc, char **argv, const char *command)
{
	const char *arg = optind > 0 && optind <= argc ? argv[optind - 1] : "?";

	/* getopt returns '?' both for an unknown option and for one missing
	 * its value; which one it was is not knowable here. */
	if (optopt && arg[0] == '-' && arg[1] != '-')
		return cli_error("option -%c is unknown or needs a value (see 'memscope %s --help')",
				 optopt, command);
	return cli_error("option '%s' is unknown or needs a value (see 'memscope %s --help')", arg,
			 command);
}

int cli_common_option(int c, int argc, char **argv, const char *command, const char *usage)
{
	switch (c) {
	case 'v':
		log_set_verbose(true);
		return 0;
	case 'h':
		fputs(usage, stdout);
		return 1;
	default:
		return cli_bad_option(argc, argv, command);
	}
}

int cli_extra_argument(const char *arg, const char *command)
{
	return cli_error("unexpected argument '%s' (see 'memscope %s --help')", arg, command);
}

int cli_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	unsigned long long v;
	char *end;

	if (!s || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

int cli_sample(const char *s, uint32_t *out)
{
	uint64_t v;

	if (cli_u64(s, 1, CLI_SAMPLE_MAX, &v))
		return cli_error("--sample wants 1..%u, not '%s'", CLI_SAMPLE_MAX, s);
	*out = v;
	return 0;
}

int cli_seconds(const char *s, double *out)
{
	static const struct { const char *suffix; double scale; } units[] = {
		{ "", 1 }, { "s", 1 }, { "ms", 0.001 }, { "m", 60 }, { "h", 3600 },
	};
	char *end;
	double v;

	if (!s || ((*s < '0' || *s > '9') && *s != '.'))
		return -EINVAL;
	errno = 0;
	v = strtod(s, &end);
	if (errno || !isfinite(v) || v < 0)
		return -EINVAL;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (!strcmp(end, units[i].suffix)) {
			/* A finite count of minutes or hours can still overflow. */
			if (!isfinite(v * units[i].scale))
				return -EINVAL;
			*out = v * units[i].scale;
			return 0;
		}
	}
	return -EINVAL;
}

int cli_check_pid(int pid)
{
	char path[32];

	snprintf(path, sizeof(path), "/proc/%d", pid);
	return access(path, F_OK) ? cli_error("no process with pid %d", pid) : 0;
}

int cli_filter_pid(struct cli_filters *f, const char *arg)
{
	uint64_t v;

	if (f->n_pids == CLI_MAX_FILTERS)
		return cli_error("at most %d -p options", CLI_MAX_FILTERS);
	if (cli_u64(arg, 1, 0x3fffffff, &v))
		return cli_error("-p wants a process id, not '%s'", arg);
	f->pids[f->n_pids++] = (uint32_t)v;
	return 0;
}

int cli_filter_cgroup(struct cli_filters *f, const char *arg)
{
	if (f->n_cgroups == CLI_MAX_FILTERS)
		return cli_error("at most %d -c options", CLI_MAX_FILTERS);
	f->cgroups[f->n_cgroups++] = arg;
	return 0;
}

int cli_filter_check_pids(const struct cli_filters *f)
{
	int err = 0;

	for (size_t i = 0; i < f->n_pids && !err; i++)
		err = cli_check_pid((int)f->pids[i]);
	return err;
}

double cli_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void on_stop(int sig)
{
	(void)sig;
	stop_requested = 1;
}

void cli_install_stop_signals(void)
{
	/* SA_RESETHAND: a second signal takes the default action, so a user can
	 * always get out even if flushing hangs. No SA_RESTART: the poll loop
	 * must wake up to see the flag. */
	struct sigaction sa = { .sa_handler = on_stop, .sa_flags = SA_RESETHAND };
	int sigs[] = { SIGINT, SIGTERM, SIGHUP };

	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, NULL);
}

bool cli_stop_requested(void) { return stop_requested; }
