#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cgpath.h"
#include "cgroups.h"
#include "container.h"
#include "inspector.h"
#include "json.h"
#include "jsheap.h"
#include "jsheap_run.h"
#include "log.h"
#include "procname.h"

#define LABEL_LEN	256
#define PROC_SCAN_MAX	(1u << 22)

enum js_state { JS_REFUSED, JS_SAMPLING, JS_DONE };

struct js_proc {
	uint32_t pid;
	char comm[PROCNAME_LEN];
	char label[LABEL_LEN];
	enum js_state state;
	struct inspector *in;
	uint16_t port;
	bool closed;
	struct inspector_optim optim;	/* what was done to V8's optimizer */
	char why[512];
	struct jsheap_profile *prof;
	size_t stacks;
};

struct jsheap_run {
	uint32_t interval;
	bool keep_inlining;
	struct js_proc procs[JSHEAP_RUN_MAX];
	size_t n;
	size_t skipped;		/* node processes past JSHEAP_RUN_MAX */
};

static void label_of(uint32_t pid, const struct cg_hier *hier, char *buf, size_t len)
{
	char path[PATH_MAX];

	if (!hier || cgroups__pid_path((int)pid, hier, path, sizeof(path)) ||
	    container__label(path, buf, len))
		snprintf(buf, len, "[pid %u]", pid);
}

static bool is_node(uint32_t pid)
{
	char path[64], exe[PATH_MAX];
	const char *base;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%u/exe", pid);
	n = readlink(path, exe, sizeof(exe) - 1);
	if (n <= 0)
		return false;
	exe[n] = '\0';
	base = strrchr(exe, '/') ? strrchr(exe, '/') + 1 : exe;
	return !strncmp(base, "node", 4);
}

static bool in_cgroups(uint32_t pid, const char *const *paths, size_t n,
		       const struct cg_hier *hier)
{
	char path[PATH_MAX];

	if (!hier || cgroups__pid_path((int)pid, hier, path, sizeof(path)))
		return false;
	for (size_t i = 0; i < n; i++)
		if (cgpath__is_under(path, paths[i]))
			return true;
	return false;
}

/* The optimizer part of a process's line: "" when left alone. */
static void optim_text(const struct js_proc *p, char *buf, size_t len)
{
	const struct inspector_optim *o = &p->optim;
	bool done = p->state != JS_SAMPLING;

	buf[0] = '\0';
	if (o->inlining == INSPECTOR_STEP_OWN)
		snprintf(buf, len, ", TurboFan inlining already off (its own --no-turbo-inlining)");
	if (o->inlining != INSPECTOR_STEP_DONE)
		return;
	snprintf(buf, len, ", TurboFan inlining off for the window and %s",
		 !done ? "back on at its end" : o->restored ? "restored" : "NOT RESTORED");
	if (o->deopt != INSPECTOR_STEP_DONE)
		return;
	if (!done)
		snprintf(buf + strlen(buf), len - strlen(buf), ", optimized code dropped now "
			 "(%.0f ms) and again at its end", o->pause_us / 1000.0);
	else if (o->end_deopt == INSPECTOR_STEP_DONE)
		snprintf(buf + strlen(buf), len - strlen(buf), ", optimized code dropped at its "
			 "start and end (%.0f and %.0f ms)", o->pause_us / 1000.0,
			 o->end_pause_us / 1000.0);
	else
		snprintf(buf + strlen(buf), len - strlen(buf), ", optimized code dropped at its "
			 "start (%.0f ms) but NOT at its end: what was optimized in the window runs "
			 "without inlining until V8 optimizes it again", o->pause_us / 1000.0);
}

/* One notice when a step on the optimizer was refused: sampling goes on. */
static void say_refused_step(const struct js_proc *p)
{
	const struct inspector_optim *o = &p->optim;

	if (o->inlining == INSPECTOR_STEP_REFUSED)
		log_notice("js-heap: pid %u (%s): TurboFan inlining left on: %s; the bytes of "
			   "inlined functions show under their callers", p->pid, p->comm, o->why);
	else if (o->deopt == INSPECTOR_STEP_REFUSED)
		log_notice("js-heap: pid %u (%s): optimized code not dropped: %s; functions "
			   "inlined before the window still show under their callers", p->pid,
			   p->comm, o->why);
}

static void add(struct jsheap_run *r, uint32_t pid, const struct cg_hier *hier)
{
	struct inspector_opts opts = { r->interval, r->keep_inlining };
	char optim[256];
	struct js_proc *p;
	bool left_open;
	int err;

	if (r->n == JSHEAP_RUN_MAX) {
		r->skipped++;
		return;
	}
	p = &r->procs[r->n++];
	p->pid = pid;
	procname__read_now("/proc", pid, p->comm);
	label_of(pid, hier, p->label, sizeof(p->label));
	if (!is_node(pid)) {
		/* SIGUSR1 means something else to other programs (nginx reopens
		 * its logs, dd prints its progress...): never sent to them */
		p->state = JS_REFUSED;
		p->closed = true;
		snprintf(p->why, sizeof(p->why), "its executable is not node: not signalled");
		log_warn("js-heap: pid %u (%s): not profiled: %s", pid, p->comm, p->why);
		return;
	}
	err = inspector__start((int)pid, &opts, &p->in, &left_open, p->why, sizeof(p->why));
	if (err) {
		p->state = JS_REFUSED;
		p->closed = !left_open;
		log_msg(left_open ? LOG_ERROR : LOG_WARN, "js-heap: pid %u (%s): not profiled: %s", pid, p->comm, p->why);
		return;
	}
	p->state = JS_SAMPLING;
	p->port = inspector__port(p->in);
	p->optim = *inspector__optim(p->in);
	optim_text(p, optim, sizeof(optim));
	log_notice("js-heap: pid %u (%s): inspector opened on 127.0.0.1:%u in its network "
		   "namespace (SIGUSR1), sampling one allocation per %u bytes%s", pid, p->comm,
		   p->port, r->interval, optim);
	say_refused_step(p);
}

struct jsheap_run *jsheap_run__start(const uint32_t *pids, size_t n_pids,
				     const char *const *cg_paths, size_t n_paths,
				     const struct cg_hier *hier, uint32_t interval,
				     bool keep_inlining)
{
	struct jsheap_run *r = calloc(1, sizeof(*r));
	struct dirent *de;
	size_t seen = 0;
	DIR *d;

	if (!r)
		return NULL;
	r->interval = interval;
	r->keep_inlining = keep_inlining;
	for (size_t i = 0; i < n_pids; i++)
		add(r, pids[i], hier);
	if (n_pids || !n_paths)
		return r;
	d = opendir("/proc");
	while (d && seen++ < PROC_SCAN_MAX && (de = readdir(d))) {
		char *end;
		unsigned long pid = strtoul(de->d_name, &end, 10);

		if (*end || !pid || pid > UINT32_MAX || (pid_t)pid == getpid())
			continue;
		if (is_node(pid) && in_cgroups(pid, cg_paths, n_paths, hier))
			add(r, (uint32_t)pid, hier);
	}
	if (d)
		closedir(d);
	if (r->skipped)
		log_warn("js-heap: %zu more node processes in the cgroups not profiled (at most %d)",
			 r->skipped, JSHEAP_RUN_MAX);
	if (!r->n)
		log_warn("js-heap: no node process in the cgroups given");
	return r;
}

static int count_stack(void *ctx, const char *const *frames, size_t n, uint64_t bytes)
{
	(void)frames;
	(void)n;
	(void)bytes;
	(*(size_t *)ctx)++;
	return 0;
}

static void finish_one(struct jsheap_run *r, struct js_proc *p)
{
	char *text = NULL, why[512], optim[256];
	size_t len;
	int err = inspector__finish(p->in, &text, &len, &p->closed, &p->optim, why,
				    sizeof(why));

	p->in = NULL;
	p->state = JS_DONE;
	optim_text(p, optim, sizeof(optim));
	if (!err && (err = jsheap__parse(text, len, &p->prof)))
		snprintf(why, sizeof(why), "its profile is unreadable: %s", strerror(-err));
	free(text);
	if (err)
		snprintf(p->why, sizeof(p->why), "%s", why);
	jsheap__each(p->prof, count_stack, &p->stacks);
	if (!p->closed)
		log_error("js-heap: pid %u (%s): its inspector still listens on port %u after "
			  "closing was asked twice: it stays open until a client evaluates "
			  "process._debugEnd() in it or the process exits", p->pid, p->comm, p->port);
	if (!p->optim.restored)
		log_error("js-heap: pid %u (%s): TurboFan inlining could not be turned back on: "
			  "its code runs without inlining until it restarts (or "
			  "v8.setFlagsFromString('--turbo-inlining') is run in it)", p->pid, p->comm);
	if (err)
		log_warn("js-heap: pid %u (%s): inspector opened on port %u and %s, sampling every "
			 "%u bytes%s; no profile: %s", p->pid, p->comm, p->port,
			 p->closed ? "closed again" : "LEFT OPEN", r->interval, optim, p->why);
	else
		log_notice("js-heap: pid %u (%s): inspector opened on port %u and %s, sampling "
			   "every %u bytes%s: %.1f MiB live in %zu stacks", p->pid, p->comm,
			   p->port, p->closed ? "closed again" : "LEFT OPEN", r->interval, optim,
			   jsheap__total(p->prof) / 1048576.0, p->stacks);
}

void jsheap_run__finish(struct jsheap_run *r)
{
	for (size_t i = 0; r && i < r->n; i++)
		if (r->procs[i].state == JS_SAMPLING)
			finish_one(r, &r->procs[i]);
}

struct each_ctx {
	const struct js_proc *p;
	jsheap_run_fn fn;
	void *ctx;
};

static int of_process(void *ctx, const char *const *frames, size_t n, uint64_t bytes)
{
	struct each_ctx *e = ctx;

	return e->fn(e->ctx, e->p->pid, e->p->label, e->p->comm, frames, n, bytes);
}

int jsheap_run__each(const struct jsheap_run *r, jsheap_run_fn fn, void *ctx)
{
	int err = 0;

	for (size_t i = 0; r && i < r->n && !err; i++) {
		struct each_ctx e = { &r->procs[i], fn, ctx };

		err = jsheap__each(r->procs[i].prof, of_process, &e);
	}
	return err;
}

static const char *inlining_word(const struct js_proc *p)
{
	switch (p->optim.inlining) {
	case INSPECTOR_STEP_DONE:
		return p->optim.restored ? "off for the window, restored" : "off, not restored";
	case INSPECTOR_STEP_OWN:
		return "off (the process's own flag)";
	case INSPECTOR_STEP_REFUSED:
		return "kept (refused)";
	default:
		return "kept";
	}
}

void jsheap_run__json(const struct jsheap_run *r, struct json *j)
{
	json_arr(j, "js_heap");
	for (size_t i = 0; r && i < r->n; i++) {
		const struct js_proc *p = &r->procs[i];

		json_obj(j, NULL);
		json_u64(j, "pid", p->pid);
		json_str(j, "comm", p->comm);
		json_str(j, "container", p->label);
		json_u64(j, "sampling_interval", r->interval);
		json_str(j, "inspector", !p->closed ? "left open" :
				       p->state == JS_REFUSED ? "refused" : "opened and closed");
		if (p->state != JS_REFUSED) {
			json_u64(j, "port", p->port);
			json_str(j, "inlining", inlining_word(p));
			json_bool(j, "optimized_code_dropped", p->optim.deopt == INSPECTOR_STEP_DONE);
			json_bool(j, "optimized_code_dropped_at_end",
				  p->optim.end_deopt == INSPECTOR_STEP_DONE);
		}
		json_str(j, "why", p->why[0] ? p->why : NULL);
		json_u64(j, "bytes", jsheap__total(p->prof));
		json_u64(j, "stacks", p->stacks);
		json_u64(j, "dropped_nodes", jsheap__dropped_nodes(p->prof));
		json_u64(j, "dropped_bytes", jsheap__dropped_bytes(p->prof));
		json_end(j);
	}
	json_end(j);
}

void jsheap_run__free(struct jsheap_run *r)
{
	if (!r)
		return;
	jsheap_run__finish(r);	/* an inspector is never left open, even on errors */
	for (size_t i = 0; i < r->n; i++)
		jsheap__free(r->procs[i].prof);
	free(r);
}
