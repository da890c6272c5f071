/* What every subcommand needs from the command line: strict number parsing,
 * one-line usage errors, and the stop signals (the first Ctrl-C ends the
 * window and output is still written; a second one kills). */
#ifndef MEMSCOPE_CLI_H
#define MEMSCOPE_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Prints "memscope: error: ..." and returns -EINVAL. */
int cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* For getopt's '?' (with opterr = 0): names the bad or incomplete option. */
int cli_bad_option(int argc, char **argv, const char *command);
/* The options every subcommand shares, for the default: of its getopt switch:
 * -v (0: go on), -h (prints usage, 1: stop with success), anything else
 * (one error line, -EINVAL). */
int cli_common_option(int c, int argc, char **argv, const char *command, const char *usage);
/* For arguments left after the options: one error line, -EINVAL. */
int cli_extra_argument(const char *arg, const char *command);
/* Whole decimal number in [min, max]; -EINVAL otherwise (no sign, no junk). */
int cli_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);
/* --sample N: one page in N, 1..CLI_SAMPLE_MAX; prints the error line and
 * returns -EINVAL otherwise. */
#define CLI_SAMPLE_MAX	(1u << 20)
int cli_sample(const char *s, uint32_t *out);
/* "30", "2.5", "500ms", "10s", "5m", "1h". */
int cli_seconds(const char *s, double *out);
/* 0 if the process exists, else prints "no process with pid N". */
int cli_check_pid(int pid);

/* The -p and -c options of record, oom and top: processes by id, memory
 * cgroups by path, id or container id prefix (resolved by the session, or
 * by top against its own hierarchy). */
#define CLI_MAX_FILTERS	64
struct cli_filters {
	uint32_t pids[CLI_MAX_FILTERS];
	size_t n_pids;
	const char *cgroups[CLI_MAX_FILTERS];
	size_t n_cgroups;
};
/* One -p or -c argument into f: 0, or -EINVAL with the error line printed. */
int cli_filter_pid(struct cli_filters *f, const char *arg);
int cli_filter_cgroup(struct cli_filters *f, const char *arg);
/* 0 when every -p process exists, else cli_check_pid's error. */
int cli_filter_check_pids(const struct cli_filters *f);

double cli_now(void);	/* monotonic seconds */
void cli_install_stop_signals(void);
bool cli_stop_requested(void);

#endif
