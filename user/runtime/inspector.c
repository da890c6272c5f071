#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libwebsockets.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "inspector.h"
#include "inspector_optim.h"
#include "inspector_ws.h"
#include "jsheap.h"
#include "log.h"
#include "readfile.h"

#define NET_TCP_MAX	(8u << 20)
#define FD_SCAN_MAX	65536

/* What the child tells memscope, each as {type, len} then len bytes. */
enum msg_type { MSG_STARTED = 1, MSG_PROFILE, MSG_ERROR, MSG_CLOSED, MSG_OPEN };
struct msg_hdr {
	uint32_t type;
	uint32_t len;
};

struct inspector {
	pid_t child;
	bool restore;	/* inlining may be turned off: turn it back on at close */
	bool coverage_busy;	/* NODE_V8_COVERAGE: node's own precise coverage is on */
	struct inspector_optim optim;
	int ctl;	/* memscope -> child: closing it (or a byte) ends sampling */
	int rd;		/* child -> memscope: messages */
	int pid;
	uint16_t port;
};

/* ---- what /proc says ------------------------------------------------------ */

static bool listening_in(const char *text, uint16_t port, uint64_t *inode)
{
	const char *line = strchr(text, '\n');	/* the header */

	while (line && *++line) {
		unsigned int lport, st;
		unsigned long long ino;
		char local[64];

		if (sscanf(line, "%*u: %63[0-9A-Fa-f]:%x %*[0-9A-Fa-f]:%*x %x %*x:%*x %*x:%*x %*x "
			   "%*u %*u %llu", local, &lport, &st, &ino) == 4 &&
		    lport == port && st == 0x0a /* TCP_LISTEN */) {
			if (inode)
				*inode = ino;
			return true;
		}
		line = strchr(line, '\n');
	}
	return false;
}

bool inspector__listening(int pid, uint16_t port, uint64_t *inode)
{
	static const char *const files[] = { "tcp", "tcp6" };
	bool found = false;

	for (size_t i = 0; i < 2 && !found; i++) {
		char path[64], *text;
		size_t len;

		snprintf(path, sizeof(path), "/proc/%d/net/%s", pid, files[i]);
		text = readfile__alloc(AT_FDCWD, path, NET_TCP_MAX, &len);
		if (text)
			found = listening_in(text, port, inode);
		free(text);
	}
	return found;
}

/* The socket is one of pid's open files: node's inspector, not someone
 * else's listener on the same port in the namespace. */
static bool owns_socket(int pid, uint64_t inode)
{
	char path[64], want[64], got[64];
	struct dirent *de;
	size_t seen = 0;
	bool found = false;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/fd", pid);
	snprintf(want, sizeof(want), "socket:[%" PRIu64 "]", inode);
	d = opendir(path);
	if (!d)
		return false;
	while (!found && seen++ < FD_SCAN_MAX && (de = readdir(d))) {
		ssize_t n = readlinkat(dirfd(d), de->d_name, got, sizeof(got) - 1);

		if (n > 0) {
			got[n] = '\0';
			found = !strcmp(got, want);
		}
	}
	closedir(d);
	return found;
}

static bool catches_sigusr1(int pid)
{
	char path[64], buf[4096], *p;
	unsigned long long mask;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	if (readfile__at(AT_FDCWD, path, buf, sizeof(buf)) < 0)
		return false;
	p = strstr(buf, "\nSigCgt:");
	return p && sscanf(p + 8, "%llx", &mask) == 1 && (mask & (1ull << (SIGUSR1 - 1)));
}

static void one_option(const char *a, size_t n, const char *next, bool *disabled, bool *inspect,
		       uint16_t *port)
{
	const char *v = NULL;
	char num[8];

	if (n == strlen("--disable-sigusr1") && !strncmp(a, "--disable-sigusr1", n))
		*disabled = true;
	if (n >= 14 && !strncmp(a, "--inspect-port", 14)) {
		v = n > 15 && a[14] == '=' ? a + 15 : n == 14 ? next : NULL;
		if (v) {
			size_t vl = n > 15 && a[14] == '=' ? n - 15 : strcspn(v, " ");
			char *end;
			unsigned long p;

			/* host:port or port */
			if (memchr(v, ':', vl)) {
				const char *c = memrchr(v, ':', vl);

				vl -= c + 1 - v;
				v = c + 1;
			}
			snprintf(num, sizeof(num), "%.*s", (int)(vl < 7 ? vl : 7), v);
			p = strtoul(num, &end, 10);
			if (!*end && p > 0 && p < 65536)
				*port = (uint16_t)p;
		}
		return;
	}
	if (n >= 9 && !strncmp(a, "--inspect", 9) &&
	    (n == 9 || a[9] == '=' || !strncmp(a + 9, "-brk", 4) || !strncmp(a + 9, "-wait", 5)))
		*inspect = true;
}

void inspector__parse_args(const char *cmdline, size_t len, const char *node_options,
			   bool *disabled, bool *inspect, uint16_t *port)
{
	const char *a = cmdline, *end = cmdline + len;

	*disabled = *inspect = false;
	*port = INSPECTOR_PORT;
	/* node's own options come before the script; skip argv[0] */
	if (a < end)
		a += strnlen(a, end - a) + 1;
	while (a < end) {
		size_t n = strnlen(a, end - a);
		const char *next = a + n + 1 < end ? a + n + 1 : NULL;

		if (a[0] != '-' || !strcmp(a, "--"))
			break;
		one_option(a, n, next, disabled, inspect, port);
		a += n + 1;
	}
	for (const char *p = node_options; p && *p;) {
		size_t n;

		p += strspn(p, " \t");
		n = strcspn(p, " \t");
		if (n)
			one_option(p, n, p[n] ? p + n + strspn(p + n, " \t") : NULL, disabled,
				   inspect, port);
		p += n;
	}
}

/* A variable of the process's environment (NAME=), bounded; NULL when
 * unset or unreadable. */
static char *env_value(int pid, const char *name)
{
	char path[64], *env, *val = NULL;
	size_t len, nl = strlen(name);

	snprintf(path, sizeof(path), "/proc/%d/environ", pid);
	env = readfile__alloc(AT_FDCWD, path, 1 << 20, &len);
	for (char *p = env; p && p < env + len; p += strnlen(p, env + len - p) + 1)
		if (!strncmp(p, name, nl)) {
			val = strndup(p + nl, 4096);
			break;
		}
	free(env);
	return val;
}

/* ---- the child: sampling through the inspector (the client: inspector_ws.c) */

static volatile sig_atomic_t child_stop;

static void on_term(int sig)
{
	(void)sig;
	child_stop = 1;
}

static void send_msg(int fd, uint32_t type, const void *data, size_t len)
{
	struct msg_hdr h = { type, (uint32_t)len };
	const char *p = data;

	if (write(fd, &h, sizeof(h)) != sizeof(h))
		return;
	while (len) {
		ssize_t n = write(fd, p, len);

		if (n <= 0)
			return;
		p += n;
		len -= n;
	}
}

static void send_text(int fd, uint32_t type, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void send_text(int fd, uint32_t type, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	send_msg(fd, type, buf, strlen(buf));
}

static bool wait_port(int pid, uint16_t port, bool open, double secs)
{
	double deadline = cli_now() + secs;

	for (;;) {
		if (inspector__listening(pid, port, NULL) == open)
			return true;
		if (cli_now() >= deadline)
			return false;
		usleep(20000);
	}
}

/* Asks node to close its inspector on session w (or a new one), putting the
 * optimizer back first (r). True when the port is seen closed. */
static bool close_inspector(struct ws *w, int pid, uint16_t port, int id, struct optim_restore *r)
{
	char *reply;
	size_t rlen;

	r->restored = !r->restore;
	r->end_deopt = INSPECTOR_STEP_SKIPPED;
	for (int attempt = 0; attempt < 2; attempt++) {
		if (!w->wsi && inspector_ws__session(w, port))
			break;
		if (!r->restored)
			inspector_optim__restore(w, &id, r);
		/* The answer may not come: closing ends the session. */
		inspector_ws__call(w, id++, "Runtime.evaluate",
				   "{\"expression\":\"process._debugEnd()\"}", 2.0, INSPECTOR_MSG_MAX,
			&reply, &rlen);
		inspector_ws__close(w);
		if (wait_port(pid, port, false, 3.0))
			return true;
	}
	inspector_ws__close(w);
	return !inspector__listening(pid, port, NULL);
}

static void send_closed(int out, struct ws *w, int pid, uint16_t port, int id, bool restore,
			bool redrop)
{
	struct optim_restore r = { .restore = restore, .redrop = restore && redrop };
	bool closed = close_inspector(w, pid, port, id, &r);

	send_text(out, MSG_CLOSED, "%d %d %d %u", closed, r.restored, r.end_deopt, r.pause_us);
}

/* The child's start: only its two pipes kept (memscope's BPF links, perf
 * events and files must not outlive it here), signals set, and the target's
 * network namespace joined. ctl and out become fds 3 and 4. */
static void child_setup(int pid, int *ctl, int *out)
{
	char path[64];
	int fd;

	*ctl = fcntl(*ctl, F_DUPFD, 100);
	*out = fcntl(*out, F_DUPFD, 100);
	if (*ctl < 0 || *out < 0 || dup2(*ctl, 3) != 3 || dup2(*out, 4) != 4)
		_exit(1);
	*ctl = 3;
	*out = 4;
	close_range(5, ~0u, 0);
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	signal(SIGINT, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGTERM, on_term);
	if (getppid() == 1)
		_exit(1);
	lws_set_log_level(getenv("MEMSCOPE_LWS_LOG") ? atoi(getenv("MEMSCOPE_LWS_LOG")) : 0, NULL);

	snprintf(path, sizeof(path), "/proc/%d/ns/net", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || setns(fd, CLONE_NEWNET)) {
		send_text(*out, MSG_ERROR, "cannot join its network namespace: %s", strerror(errno));
		_exit(1);
	}
	close(fd);
}

/* A second child's only job, when the first died with the inspector open. */
static void closer_main(const struct inspector *in, int ctl, int out)
{
	struct ws w = { 0 };

	child_setup(in->pid, &ctl, &out);
	send_closed(out, &w, in->pid, in->port, 1, in->restore, !in->coverage_busy);
	_exit(0);
}

static void child_main(const struct inspector *in, const struct inspector_opts *o, int ctl,
		       int out)
{
	int pid = in->pid;
	uint16_t port = in->port;
	struct optim_msg om = { 0 };
	struct ws w = { 0 };
	char params[64], *reply;
	size_t rlen;
	uint64_t inode;
	int err, id = 1;
	bool opened = false;

	child_setup(pid, &ctl, &out);
	if (kill(pid, SIGUSR1)) {
		send_text(out, MSG_ERROR, "cannot signal it: %s", strerror(errno));
		_exit(1);
	}
	if (!wait_port(pid, port, true, INSPECTOR_OPEN_WAIT_S)) {
		send_text(out, MSG_ERROR, "its inspector did not open on port %u within %.0f s of "
			  "SIGUSR1 (does the application handle SIGUSR1 itself?)", port,
			  INSPECTOR_OPEN_WAIT_S);
		_exit(1);
	}
	if (!inspector__listening(pid, port, &inode) || !owns_socket(pid, inode)) {
		/* someone else's listener: not ours to talk to, nor to close */
		send_text(out, MSG_ERROR, "port %u listens, but not on a socket of the process", port);
		_exit(1);
	}
	opened = true;
	log_debug("inspector: port %u open", port);
	send_msg(out, MSG_OPEN, NULL, 0);
	snprintf(params, sizeof(params), "{\"samplingInterval\":%u}", o->interval);
	err = inspector_ws__session(&w, port);
	log_debug("inspector: session: %d", err);
	if (!err)
		err = inspector_ws__call(&w, id++, "HeapProfiler.enable", "{}", INSPECTOR_CALL_WAIT_S,
					 INSPECTOR_MSG_MAX, &reply, &rlen);
	if (!err)
		inspector_optim__off(&w, &id, o->keep_inlining, in->coverage_busy, &om);
	if (!err)
		err = inspector_ws__call(&w, id++, "HeapProfiler.startSampling", params,
			      INSPECTOR_CALL_WAIT_S, INSPECTOR_MSG_MAX, &reply, &rlen);
	if (err) {
		send_text(out, MSG_ERROR, "node's inspector did not start sampling: %s",
			  strerror(-err));
		goto close;
	}
	send_msg(out, MSG_STARTED, &om, sizeof(om));

	/* The window: until memscope says so, goes away, or the session ends. */
	while (!child_stop && !w.closed) {
		if (inspector_ws__pump(&w, 200, ctl))
			break;
		if (w.msg) {	/* events: not asked for, dropped */
			free(w.msg);
			w.msg = NULL;
		}
	}
	if (w.closed) {
		send_text(out, MSG_ERROR, "the inspector session ended during the window");
		goto close;
	}
	if (child_stop) {
		send_text(out, MSG_ERROR, "stopped before the profile was read");
		goto close;
	}
	err = inspector_ws__call(&w, id++, "HeapProfiler.getSamplingProfile", "{}",
				 INSPECTOR_PROFILE_WAIT_S, JSHEAP_TEXT_MAX, &reply, &rlen);
	if (err)
		send_text(out, MSG_ERROR, "no sampling profile: %s", strerror(-err));
	else
		send_msg(out, MSG_PROFILE, reply, rlen);
	inspector_ws__call(&w, id++, "HeapProfiler.stopSampling", "{}", INSPECTOR_CALL_WAIT_S,
			   INSPECTOR_MSG_MAX, &reply, &rlen);
	inspector_ws__call(&w, id++, "HeapProfiler.disable", "{}", INSPECTOR_CALL_WAIT_S,
			   INSPECTOR_MSG_MAX, &reply, &rlen);
close:
	if (opened)
		send_closed(out, &w, pid, port, id, om.inlining == INSPECTOR_STEP_DONE,
			    om.deopt == INSPECTOR_STEP_DONE);
	inspector_ws__close(&w);
	_exit(0);
}

/* ---- memscope's side ------------------------------------------------------ */

/* The next message, waiting until deadline. *data malloc'ed (NUL-terminated)
 * when the message has bytes. 0, -ETIMEDOUT, -EPIPE (child gone), -E2BIG. */
static int read_msg(int fd, double deadline, struct msg_hdr *h, char **data)
{
	size_t got = 0, want = sizeof(*h);
	char *dst = (char *)h;
	bool body = false;

	*data = NULL;
	for (;;) {
		struct pollfd pf = { fd, POLLIN, 0 };
		double left = deadline - cli_now();
		ssize_t n;

		if (got == want) {
			if (body || h->len == 0)
				return 0;
			if (h->len > JSHEAP_TEXT_MAX + 1024)
				return -E2BIG;
			*data = malloc(h->len + 1);
			if (!*data)
				return -ENOMEM;
			(*data)[h->len] = '\0';
			dst = *data;
			got = 0;
			want = h->len;
			body = true;
			continue;
		}
		if (left <= 0)
			return -ETIMEDOUT;
		if (poll(&pf, 1, (int)(left * 1000) + 1) <= 0)
			continue;
		n = read(fd, dst + got, want - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			free(*data);
			*data = NULL;
			return -EPIPE;
		}
		got += n;
	}
}

static void reap(struct inspector *in, double secs)
{
	double deadline = cli_now() + secs;
	int status;

	while (waitpid(in->child, &status, WNOHANG) == 0) {
		if (cli_now() >= deadline) {
			/* SIGTERM makes it close the inspector; SIGKILL if that hangs */
			kill(in->child, SIGTERM);
			deadline = cli_now() + 5;
			while (waitpid(in->child, &status, WNOHANG) == 0 && cli_now() < deadline)
				usleep(20000);
			if (waitpid(in->child, &status, WNOHANG) == 0) {
				kill(in->child, SIGKILL);
				waitpid(in->child, &status, 0);
			}
			break;
		}
		usleep(20000);
	}
	close(in->ctl);
	close(in->rd);
	free(in);
}

static int refuse(char *why, size_t len, int err, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int refuse(char *why, size_t len, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, len, fmt, ap);
	va_end(ap);
	return err;
}

/* The child that holds the session (or, close_only, that only closes the
 * inspector), with its two channels: ctl a socket, so that memscope writing
 * to a child that died gets EPIPE, not SIGPIPE. */
static int fork_child(struct inspector *in, const struct inspector_opts *o, bool close_only)
{
	int ctl[2], rd[2], err;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ctl))
		return -errno;
	if (pipe2(rd, O_CLOEXEC)) {
		err = -errno;
		close(ctl[0]);
		close(ctl[1]);
		return err;
	}
	fflush(NULL);
	in->child = fork();
	if (in->child == 0) {
		close(ctl[1]);
		close(rd[0]);
		if (close_only)
			closer_main(in, ctl[0], rd[1]);
		child_main(in, o, ctl[0], rd[1]);
	}
	err = in->child < 0 ? -errno : 0;
	close(ctl[0]);
	close(rd[1]);
	in->ctl = ctl[1];
	in->rd = rd[0];
	if (err) {
		close(in->ctl);
		close(in->rd);
	}
	return err;
}

/* What STARTED says was done to the optimizer. */
static void take_optim(struct inspector *in, const char *data, size_t len)
{
	struct optim_msg m;

	in->optim = (struct inspector_optim){ .inlining = INSPECTOR_STEP_REFUSED,
					      .deopt = INSPECTOR_STEP_REFUSED };
	if (!data || len != sizeof(m)) {
		snprintf(in->optim.why, sizeof(in->optim.why), "its session did not say");
		return;
	}
	memcpy(&m, data, sizeof(m));
	in->optim.inlining = m.inlining;
	in->optim.deopt = m.deopt;
	in->optim.pause_us = m.pause_us;
	snprintf(in->optim.why, sizeof(in->optim.why), "%.*s", (int)sizeof(m.why), m.why);
}

int inspector__start(int pid, const struct inspector_opts *o, struct inspector **out,
		     bool *left_open, char *why, size_t len)
{
	char path[64], *cmdline, *opts, *data, *cov;
	struct msg_hdr h;
	struct inspector *in;
	bool disabled, inspect;
	uint16_t port;
	size_t clen, wl;
	bool opened = false;
	int err;

	*out = NULL;
	*left_open = false;
	snprintf(path, sizeof(path), "/proc/%d/cmdline", pid);
	cmdline = readfile__alloc(AT_FDCWD, path, 1 << 20, &clen);
	if (!cmdline)
		return refuse(why, len, -errno, "cannot read its command line: %s", strerror(errno));
	opts = env_value(pid, "NODE_OPTIONS=");
	inspector__parse_args(cmdline, clen, opts, &disabled, &inspect, &port);
	free(cmdline);
	free(opts);
	if (disabled || !catches_sigusr1(pid))
		return refuse(why, len, -ENOTSUP, "%s: its inspector cannot be opened from outside, "
			      "and SIGUSR1 would kill it; not signalled",
			      disabled ? "node was started with --disable-sigusr1"
				       : "it does not catch SIGUSR1 (--disable-sigusr1, or not node)");
	if (inspect)
		return refuse(why, len, -EBUSY, "node was started with --inspect: a debugger may be "
			      "attached, and its session is not memscope's to take over");
	if (inspector__listening(pid, port, NULL))
		return refuse(why, len, -EBUSY, "port %u already listens in its network namespace "
			      "(an open inspector, maybe with a debugger attached, or another "
			      "program): not taken over", port);
	in = calloc(1, sizeof(*in));
	if (!in)
		return -ENOMEM;
	in->pid = pid;
	in->port = port;
	in->restore = !o->keep_inlining;
	cov = env_value(pid, "NODE_V8_COVERAGE=");
	in->coverage_busy = cov && *cov;
	free(cov);
	if ((err = fork_child(in, o, false))) {
		free(in);
		return refuse(why, len, err, "cannot start its sampling session: %s",
			      strerror(-err));
	}
	/* OPEN then STARTED, or ERROR (then CLOSED when it had opened). */
	for (;;) {
		/* open, then up to 7 calls: enable, inlining, 4 for the deopt, sampling */
		err = read_msg(in->rd, cli_now() + INSPECTOR_OPEN_WAIT_S + 7 * INSPECTOR_CALL_WAIT_S + 5,
			       &h, &data);
		if (err) {
			refuse(why, len, err, "its inspector did not answer: %s", strerror(-err));
			break;
		}
		if (h.type == MSG_OPEN)
			opened = true;
		if (h.type == MSG_STARTED) {
			take_optim(in, data, h.len);
			free(data);
			*out = in;
			return 0;
		}
		if (h.type == MSG_ERROR) {
			refuse(why, len, -EPROTO, "%s", data ? data : "failed");
			err = -EPROTO;
			if (strstr(why, "did not open"))
				err = -ETIMEDOUT;
			free(data);
			break;
		}
		free(data);
	}
	close(in->ctl);	/* the child closes what it opened, then exits */
	reap(in, 15);
	if (opened) {
		*left_open = inspector__listening(pid, port, NULL);
		wl = strlen(why);
		snprintf(why + wl, len - wl, *left_open ? "; its inspector is STILL OPEN on port %u" :
			 "; its inspector was opened on port %u and closed again", port);
	}
	return err;
}

uint16_t inspector__port(const struct inspector *in)
{
	return in->port;
}

const struct inspector_optim *inspector__optim(const struct inspector *in)
{
	return &in->optim;
}

/* MSG_CLOSED's "CLOSED RESTORED END_DEOPT PAUSE_US". */
static void take_closed(const char *data, bool *closed, struct inspector_optim *o)
{
	int c = 0, r = 0, d = 0;
	unsigned int us = 0;

	if (data && sscanf(data, "%d %d %d %u", &c, &r, &d, &us) == 4) {
		*closed = c;
		o->restored = r;
		o->end_deopt = d;
		o->end_pause_us = us;
	}
}

static bool close_again(const struct inspector *was, struct inspector_optim *o)
{
	struct inspector *in = calloc(1, sizeof(*in));
	struct msg_hdr h;
	bool closed;
	char *data;

	if (!in)
		return false;
	in->pid = was->pid;
	in->port = was->port;
	in->restore = was->restore && !o->restored;
	in->coverage_busy = was->coverage_busy;
	if (fork_child(in, NULL, true)) {
		free(in);
		return false;
	}
	while (read_msg(in->rd, cli_now() + 8 * INSPECTOR_CALL_WAIT_S, &h, &data) == 0) {
		if (h.type == MSG_CLOSED)
			take_closed(data, &closed, o);
		free(data);
	}
	reap(in, 5);
	return !inspector__listening(was->pid, was->port, NULL);
}

int inspector__finish(struct inspector *in, char **profile, size_t *plen, bool *closed,
		      struct inspector_optim *optim, char *why, size_t len)
{
	double deadline = cli_now() + INSPECTOR_PROFILE_WAIT_S + 10 * INSPECTOR_CALL_WAIT_S + 10;
	struct inspector was = *in;
	int err = -EPROTO;
	struct msg_hdr h;
	char *data;

	*profile = NULL;
	*plen = 0;
	*closed = false;
	*optim = in->optim;
	optim->restored = !in->restore;
	optim->end_deopt = INSPECTOR_STEP_SKIPPED;
	snprintf(why, len, "no answer");
	if (send(in->ctl, "f", 1, MSG_NOSIGNAL) != 1)
		snprintf(why, len, "its sampling session is gone");
	while (read_msg(in->rd, deadline, &h, &data) == 0) {
		if (h.type == MSG_PROFILE && data && !*profile) {
			*profile = data;
			*plen = h.len;
			err = 0;
			continue;
		}
		if (h.type == MSG_ERROR)
			snprintf(why, len, "%s", data ? data : "failed");
		if (h.type == MSG_CLOSED)
			take_closed(data, closed, optim);
		free(data);
		if (h.type == MSG_CLOSED)
			break;
	}
	reap(in, 5);
	/* memscope's own look, whatever the child said; a child that died
	 * (killed, crashed) left it open: one more, only to close it */
	*closed = !inspector__listening(was.pid, was.port, NULL);
	if (!*closed)
		*closed = close_again(&was, optim);
	return err;
}
