/* V8's sampling heap profiler, started and read in a running node process
 * from outside, through node's inspector:
 *
 *   start: the process must catch SIGUSR1 (node does unless started with
 *          --disable-sigusr1; to anything else SIGUSR1 is fatal) and must not
 *          have an inspector or debugger already (--inspect*, or the port
 *          listening in its network namespace: a debugger session is not
 *          ours to take over). A child process joins the target's network
 *          namespace (setns: memscope's own stays as it is), sends SIGUSR1,
 *          waits for node's inspector to listen (a socket the target owns),
 *          GETs /json/list, opens the WebSocket and sends HeapProfiler.enable
 *          and HeapProfiler.startSampling. The session stays open for the
 *          window: V8 stops sampling when it closes.
 *          Before sampling (unless keep_inlining), TurboFan inlining is
 *          turned off (v8.setFlagsFromString('--no-turbo-inlining')) and the
 *          code already optimized dropped (precise coverage started and
 *          stopped: V8 deoptimizes everything), so that the functions hot
 *          during the window keep a frame each and their allocations are
 *          named after them rather than after the caller they were inlined
 *          into. A step refused is said (inspector__optim), not fatal.
 *   finish: HeapProfiler.getSamplingProfile, stopSampling, disable, then
 *          inlining turned back on and the code optimized without it
 *          dropped again (every way out, as the closing is), then
 *          Runtime.evaluate("process._debugEnd()"), which closes the
 *          inspector; the port being closed is checked, and closing is
 *          tried once more on a new session if it is not.
 * The child closes the inspector on every way out: finish, an error, a
 * timeout, memscope dying (PR_SET_PDEATHSIG, or its pipe closing) or SIGTERM;
 * it ignores the terminal's SIGINT, which memscope handles.
 * Everything the process sends is bounded: /json/list (INSPECTOR_LIST_MAX),
 * each message (INSPECTOR_MSG_MAX), the profile (JSHEAP_TEXT_MAX).
 *
 * inspector.c holds what /proc says, the child's steps and memscope's side;
 * the child's WebSocket client is inspector_ws.c.
 */
#ifndef MEMSCOPE_INSPECTOR_H
#define MEMSCOPE_INSPECTOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define INSPECTOR_PORT		9229
#define INSPECTOR_LIST_MAX	(64u << 10)
#define INSPECTOR_MSG_MAX	(64u << 10)	/* any message but the profile */
#define INSPECTOR_OPEN_WAIT_S	5.0
#define INSPECTOR_CALL_WAIT_S	10.0
#define INSPECTOR_PROFILE_WAIT_S 60.0

struct inspector;

struct inspector_opts {
	uint32_t interval;	/* bytes between samples */
	bool keep_inlining;	/* leave V8's optimizer alone */
};

enum inspector_step {
	INSPECTOR_STEP_SKIPPED,	/* keep_inlining */
	INSPECTOR_STEP_DONE,
	INSPECTOR_STEP_OWN,	/* the process runs with --no-turbo-inlining already */
	INSPECTOR_STEP_REFUSED,
};

/* What was done to V8's optimizer for the window. */
struct inspector_optim {
	int inlining;		/* --no-turbo-inlining for the window */
	int deopt;		/* the optimized code dropped */
	uint32_t pause_us;	/* the deopt's round trip (startPreciseCoverage's):
				 * about the process's pause */
	char why[200];		/* a step refused: why */
	/* at close (inspector__finish) */
	bool restored;		/* inlining back on (or never turned off) */
	int end_deopt;		/* the code optimized without inlining dropped */
	uint32_t end_pause_us;
};

/* Starts sampling every o->interval bytes in pid. why[len] says why not:
 * -ENOTSUP: pid does not catch SIGUSR1 (--disable-sigusr1, or not node);
 * -EBUSY: an inspector is open or asked for (--inspect), or its port is
 * taken; -ETIMEDOUT: it did not open; -EPROTO: it did not answer as node's;
 * -ESRCH, -EPERM, -ENOMEM. An inspector that opened is closed again on
 * failure; *left_open says that closing it failed (why says so too). */
int inspector__start(int pid, const struct inspector_opts *o, struct inspector **out,
		     bool *left_open, char *why, size_t len);
/* The port the inspector listened on. */
uint16_t inspector__port(const struct inspector *in);
/* What was done to the optimizer before sampling started. */
const struct inspector_optim *inspector__optim(const struct inspector *in);
/* Ends sampling: *profile (malloc'ed, *plen bytes: the getSamplingProfile
 * response) or NULL with why[] filled; *closed tells whether the port was
 * seen closed afterwards; *optim what was done to the optimizer, start and
 * close. Frees in. 0 or -errno (the profile's). */
int inspector__finish(struct inspector *in, char **profile, size_t *plen, bool *closed,
		      struct inspector_optim *optim, char *why, size_t len);

/* Whether something listens on TCP port `port` in pid's network namespace
 * (/proc/PID/net/tcp and tcp6); *inode the first such socket's. */
bool inspector__listening(int pid, uint16_t port, uint64_t *inode);
/* Parses the node command line arguments (NUL-separated, as in
 * /proc/PID/cmdline) and NODE_OPTIONS (space-separated; may be NULL):
 * *disabled for --disable-sigusr1, *inspect for --inspect, --inspect-brk,
 * --inspect-wait, and the port --inspect-port asks for (else 9229). */
void inspector__parse_args(const char *cmdline, size_t len, const char *node_options,
			   bool *disabled, bool *inspect, uint16_t *port);

#endif
