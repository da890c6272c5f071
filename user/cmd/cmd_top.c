/* memscope top: a live view of every container's memory, what it is made of
 * and how fast it grows, from cgroup and /proc files alone (no BPF, so it
 * also runs unprivileged, showing what it may read). */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "cgroups.h"
#include "cli.h"
#include "commands.h"
#include "ctrnames.h"
#include "docker.h"
#include "log.h"
#include "topview.h"
#include "v8.h"
#include "v8_census.h"

/* Samples every half second: a 10 s window fits 21 points, enough for a
 * slope that 2 s refreshes do not make jump, and each sample reads only two
 * or three small files per row. */
#define SAMPLE_PERIOD_S		0.5

struct top_opts {
	double interval, window;
	bool once, json, procs;
	struct cli_filters f;	/* -c, -p */
};

static const char usage[] =
"usage: memscope top [options]\n"
"\n"
"Every memory cgroup with processes (one row per container), sorted by growth:\n"
"resident memory by kind (anon, file, shmem, kernel), the growth rate as the\n"
"least-squares slope over the window, whether it grew monotonically, OOM kills,\n"
"and a verdict (native growth, V8 heap growth, page cache, shmem, kernel,\n"
"shrinking, stable). As root it also measures node's V8 heaps (uprobes, as\n"
"`record`), telling V8 heap growth from native; without root it says \"anon\n"
"growth\" instead, and sees only your own processes.\n"
"\n"
"  -i, --interval SECS  refresh every SECS (default 2)\n"
"  -w, --window SECS    fit the growth over the last SECS (default 10)\n"
"      --once           sample for one window, print one table and exit\n"
"  -j, --json           one JSON document per refresh, one line each\n"
"  -c, --cgroup CGROUP  only this cgroup and those below it: a path as in\n"
"                       /proc/PID/cgroup, a cgroup id, or a container id prefix\n"
"                       (repeatable)\n"
"  -p, --pid PID        only the container of PID, listing PID (repeatable)\n"
"  -P, --processes      list each container's processes under it\n"
"  -v, --verbose        debug output\n"
"  -h, --help           this help\n"
"\n"
"Keys: q or Ctrl-C quits, p shows or hides the processes.\n"
"Columns: MEM is what the cgroup is charged, less the rows nested in it; RSS\n"
"adds up its processes' resident sets; MiB/min is the growth of MEM.\n";

static int parse_args(int argc, char **argv, struct top_opts *o)
{
	enum { OPT_ONCE = 256 };
	static const struct option longopts[] = {
		{ "interval", required_argument, NULL, 'i' },
		{ "window", required_argument, NULL, 'w' },
		{ "once", no_argument, NULL, OPT_ONCE },
		{ "json", no_argument, NULL, 'j' },
		{ "cgroup", required_argument, NULL, 'c' },
		{ "pid", required_argument, NULL, 'p' },
		{ "processes", no_argument, NULL, 'P' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	int c;

	*o = (struct top_opts){ .interval = 2, .window = 10 };
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "i:w:jc:p:Pvh", longopts, NULL)) != -1) {
		switch (c) {
		case 'i':
			if (cli_seconds(optarg, &o->interval) || o->interval < 0.1 ||
			    o->interval > 3600)
				return cli_error("--interval wants 0.1 to 3600 seconds, not '%s'",
						 optarg);
			break;
		case 'w':
			if (cli_seconds(optarg, &o->window) || o->window < 1 || o->window > 3600)
				return cli_error("--window wants 1 to 3600 seconds, not '%s'", optarg);
			break;
		case OPT_ONCE:
			o->once = true;
			break;
		case 'j':
			o->json = true;
			break;
		case 'c':
			if (cli_filter_cgroup(&o->f, optarg))
				return -EINVAL;
			break;
		case 'p':
			if (cli_filter_pid(&o->f, optarg))
				return -EINVAL;
			break;
		case 'P':
			o->procs = true;
			break;
		default: {
			int rc = cli_common_option(c, argc, argv, "top", usage);

			if (rc)
				return rc;
			break;
		}
		}
	}
	if (optind < argc)
		return cli_extra_argument(argv[optind], "top");
	return 0;
}

/* -c specs to cgroup paths, resolved once: a container started later is
 * not picked up, the way `record -c` behaves. */
static int set_filters(const struct top_opts *o, const struct cg_hier *hier,
		       struct topview *tv)
{
	const char *paths[CLI_MAX_FILTERS];
	uint64_t ids[CLI_MAX_FILTERS];
	pid_t pids[CLI_MAX_FILTERS];
	struct cgroups *cg = NULL;
	size_t n_paths = 0;
	char err[512];
	int rc = 0;

	if (o->f.n_cgroups && !(cg = cgroups__open(hier)))
		return cli_error("cannot read the cgroups under %s: %s", hier->mount,
				 strerror(errno));
	for (size_t i = 0; i < o->f.n_cgroups && !rc; i++) {
		size_t got = 0;

		rc = cgroups__resolve(cg, o->f.cgroups[i], ids, CLI_MAX_FILTERS - n_paths, &got, err,
				      sizeof(err));
		if (rc) {
			rc = cli_error("-c %s: %s", o->f.cgroups[i], err[0] ? err : strerror(-rc));
			break;
		}
		for (size_t k = 0; k < got; k++) {
			const char *p = cgroups__path(cg, ids[k]);

			if (p && !(paths[n_paths] = strdup(p)))
				rc = -ENOMEM;
			else if (p)
				n_paths++;
		}
	}
	for (size_t i = 0; i < o->f.n_pids; i++)
		pids[i] = (pid_t)o->f.pids[i];
	if (!rc)
		rc = topview__set_filter(tv, paths, n_paths, pids, o->f.n_pids);
	if (rc == -ENOMEM)
		log_error("out of memory");
	for (size_t i = 0; i < n_paths; i++)
		free((char *)paths[i]);
	cgroups__free(cg);
	return rc;
}

/* ---- the terminal ------------------------------------------------------------ */

static volatile sig_atomic_t resized;

static void on_winch(int sig)
{
	(void)sig;
	resized = 1;
}

struct term {
	bool active;
	struct termios saved;
};

static void write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		buf += n;
		len -= (size_t)n;
	}
}

/* Raw keys (no echo, no line editing, Ctrl-C as a key so leaving always goes
 * through term_leave), alternate screen, hidden cursor. */
static int term_enter(struct term *t)
{
	static const char enter[] = "\033[?1049h\033[?25l\033[H\033[2J";
	struct sigaction sa = { .sa_handler = on_winch };
	struct termios raw;

	if (tcgetattr(STDIN_FILENO, &t->saved))
		return -errno;
	raw = t->saved;
	raw.c_lflag &= ~(tcflag_t)(ICANON | ECHO | ISIG | IEXTEN);
	raw.c_iflag &= ~(tcflag_t)(IXON | ICRNL);
	raw.c_cc[VMIN] = 0;
	raw.c_cc[VTIME] = 0;
	if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &raw))
		return -errno;
	t->active = true;
	/* No SA_RESTART: a resize wakes the wait up to repaint at once. */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGWINCH, &sa, NULL);
	write_all(STDOUT_FILENO, enter, sizeof(enter) - 1);
	return 0;
}

static void term_leave(struct term *t)
{
	static const char leave[] = "\033[?25h\033[?1049l";

	if (!t->active)
		return;
	write_all(STDOUT_FILENO, leave, sizeof(leave) - 1);
	tcsetattr(STDIN_FILENO, TCSAFLUSH, &t->saved);
	t->active = false;
}

static void term_size(int *width, int *height)
{
	struct winsize ws;

	if (!ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) && ws.ws_col && ws.ws_row) {
		*width = ws.ws_col;
		*height = ws.ws_row;
	} else {
		*width = 80;
		*height = 24;
	}
}

/* ---- output ------------------------------------------------------------------ */

struct view {
	const struct top_opts *o;
	const struct cg_hier *hier;
	struct topview *tv;
	struct ctrnames names;	/* Docker names, shared with the other commands */
	bool live;		/* the interactive view on a terminal */
	bool procs;
	double started;
	struct v8 *v8;			/* NULL: not root, or no uprobes */
	struct v8_census *census;
};

static void title(const struct view *v, struct top_row *const *rows, size_t n, char *buf,
		  size_t len)
{
	double sampled = fmin(cli_now() - v->started, v->o->window);
	size_t shown = 0;

	for (size_t i = 0; i < n; i++)
		shown += rows[i]->shown;
	snprintf(buf, len, "memscope top - %zu cgroups with processes - cgroup v%d %s - growth "
		 "over %.0f s%s", shown, v->hier->version, v->hier->mount, sampled,
		 v->live ? " - q quit, p processes" : "");
}

static void print_once(struct view *v, FILE *f)
{
	struct top_print p = {
		.procs = v->procs, .hier = v->hier, .window = v->o->window,
		.interval = v->o->interval, .time = time(NULL),
	};
	struct top_row *const *rows;
	char head[PATH_MAX + 256];
	size_t n;

	rows = topview__rows(v->tv, &n);
	if (v->o->json) {
		topview__print_json(rows, n, &p, f);
		return;
	}
	title(v, rows, n, head, sizeof(head));
	p.title = head;
	if (isatty(fileno(f))) {
		int height;

		term_size(&p.width, &height);
	}
	topview__print_table(rows, n, &p, "\n", f);
}

/* One frame, built off screen and written at once: cursor home, every line
 * clearing what the last frame left to its right, the rest cleared below. */
static void paint(struct view *v)
{
	struct top_print p = { .procs = v->procs };
	struct top_row *const *rows;
	char head[PATH_MAX + 256], *buf = NULL;
	size_t n, len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return;
	rows = topview__rows(v->tv, &n);
	term_size(&p.width, &p.height);
	/* A newline on the last line would scroll the screen. */
	p.height = p.height > 1 ? p.height - 1 : 1;
	title(v, rows, n, head, sizeof(head));
	p.title = head;
	fputs("\033[H", f);
	topview__print_table(rows, n, &p, "\033[K\n", f);
	fputs("\033[J", f);
	if (!fclose(f))
		write_all(STDOUT_FILENO, buf, len);
	free(buf);
}

/* New rows, fresh figures; a container the last update could not name sends
 * us to the engine first (it was started since we asked). */
static void refresh(struct view *v)
{
	if (topview__has_unnamed_container(v->tv))
		ctrnames__refresh(&v->names, cli_now(), false);
	/* Rows that just appeared get figures now, not zeros until next time. */
	topview__scan(v->tv);
	if (topview__has_unsampled(v->tv))
		topview__sample(v->tv, cli_now());
	topview__update(v->tv, &v->names.list);
}

/* Keys waiting on stdin: false when they ask to quit. */
static bool read_keys(struct view *v)
{
	char keys[64];
	ssize_t n = read(STDIN_FILENO, keys, sizeof(keys));

	for (ssize_t i = 0; i < n; i++) {
		switch (keys[i]) {
		case 'q':
		case 'Q':
		case 3:		/* Ctrl-C */
		case 4:		/* Ctrl-D */
			return false;
		case 'p':
		case 'P':
			v->procs = !v->procs;
			topview__set_procs(v->tv, v->procs);
			topview__update(v->tv, &v->names.list);
			paint(v);
			break;
		}
	}
	return true;
}

/* Sleeps until t (monotonic), or a key or a resize in the live view. */
static bool wait_until(struct view *v, double t)
{
	struct pollfd pfd = { .fd = STDIN_FILENO, .events = POLLIN };
	double left = t - cli_now();
	int ms = left > 0 ? (int)ceil(left * 1000) : 0;

	if (!v->live) {
		if (ms > 0)
			poll(NULL, 0, ms);
		return true;
	}
	if (poll(&pfd, 1, ms) > 0) {
		/* The terminal went away: nobody is left to press q. */
		if (pfd.revents & (POLLHUP | POLLERR | POLLNVAL))
			return false;
		if (!read_keys(v))
			return false;
	}
	if (resized) {
		resized = 0;
		paint(v);
	}
	return true;
}

/* Samples every SAMPLE_PERIOD_S, shows every interval (--once: after one
 * window), until q, a stop signal, or a closed pipe. */
static int run(struct view *v)
{
	const double period = fmin(SAMPLE_PERIOD_S, v->o->interval);
	double next_sample, next_show;
	bool painted = false;
	int err;

	v->started = cli_now();
	next_sample = v->started;
	next_show = v->started + (v->o->once ? v->o->window : v->o->interval);
	if ((err = topview__scan(v->tv)))
		return err;
	while (!cli_stop_requested()) {
		double now = cli_now();

		if (now >= next_sample) {
			topview__sample(v->tv, now);
			/* Late (a stopped process): do not make up for lost samples. */
			next_sample = fmax(next_sample + period, now + period / 2);
		}
		/* Something on screen at once, slopes filling in as samples come. */
		if (v->live && !painted) {
			refresh(v);
			paint(v);
			painted = true;
		}
		if (now >= next_show) {
			refresh(v);
			if (v->live) {
				paint(v);
			} else {
				print_once(v, stdout);
				if (!v->o->json && !v->o->once)
					putchar('\n');
				if (fflush(stdout) || ferror(stdout) || v->o->once)
					break;
			}
			next_show = fmax(next_show + v->o->interval, now + period);
		}
		if (!wait_until(v, fmin(next_sample, next_show)))
			break;
	}
	return 0;
}

/* V8 heaps need the uprobes `record` uses, so root; without them top still
 * works, and says "anon growth" where it cannot tell V8 from native. */
static void open_v8(struct view *v)
{
	if (geteuid() != 0) {
		log_debug("top: not root, no V8 heap figures");
		return;
	}
	v->v8 = v8__open();
	if (!v->v8) {
		log_notice("cannot load the V8 uprobes (%s): anon growth is not split into V8 "
			   "heap and native", strerror(errno));
		return;
	}
	v->census = v8_census__new(v->v8, "/proc");
	if (!v->census) {
		v8__free(v->v8);
		v->v8 = NULL;
	}
}

int cmd_top(int argc, char **argv)
{
	struct top_opts o;
	struct cg_hier hier;
	struct term term = {};
	struct view v = { .o = &o, .hier = &hier };
	int err;

	if ((err = parse_args(argc, argv, &o)))
		return err > 0 ? 0 : err;
	if ((err = cli_filter_check_pids(&o.f)))
		return err;
	err = cgroups__find_memory_hierarchy("/proc/self/mountinfo", &hier);
	if (err)
		return cli_error("no memory cgroup hierarchy is mounted (%s): top reads memory "
				 "cgroups", strerror(-err));
	v.procs = o.procs || o.f.n_pids;
	open_v8(&v);
	v.tv = topview__new(&(struct topview_opts){
		.hier = hier, .proc_root = "/proc", .window = o.window,
		.period = fmin(SAMPLE_PERIOD_S, o.interval), .procs = v.procs, .v8 = v.census,
	});
	if (!v.tv)
		return cli_error("cannot start: %s", strerror(errno));
	if ((err = set_filters(&o, &hier, v.tv)))
		goto out;
	ctrnames__refresh(&v.names, cli_now(), false);
	cli_install_stop_signals();
	/* A closed pipe (| head) ends the output: see it as a write error, not a signal. */
	signal(SIGPIPE, SIG_IGN);
	v.live = !o.once && !o.json && isatty(STDIN_FILENO) && isatty(STDOUT_FILENO);
	if (v.live && (err = term_enter(&term))) {
		log_error("cannot set up the terminal: %s", strerror(-err));
		goto out;
	}
	err = run(&v);
	term_leave(&term);
	if (err)
		log_error("cannot read %s: %s", hier.mount, strerror(-err));
out:
	ctrnames__free(&v.names);
	topview__free(v.tv);
	v8_census__free(v.census);
	v8__free(v.v8);
	return err;
}
