#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "ksyms.h"
#include "log.h"
#include "memsplit.h"
#include "privs.h"
#include "proc_exits.h"
#include "procstat.h"
#include "recorder.h"
#include "recording.h"
#include "session.h"
#include "tracer.h"
#include "usyms.h"

/* Rounds of draining the sample ring before a kill is handed over: a busy
 * host keeps refilling it, and the samples that matter came first. */
#define DRAIN_ROUNDS	8
/* Without the victim's start time (the tracepoint hook) a pid marked again
 * this soon is the same kill; later it may be a new process with that pid. */
#define SAME_KILL_NS	(10ULL * 1000000000)

/* The -c options to cgroup ids and paths (s->cgids, s->cgroup_paths). 0, or
 * -errno with the one line printed. */
static int resolve_cgroups(struct session *s)
{
	size_t max = s->o.max_cgroup_ids && s->o.max_cgroup_ids < SESSION_MAX_CGROUPS ?
		     s->o.max_cgroup_ids : SESSION_MAX_CGROUPS;
	char err[512];

	for (size_t i = 0; i < s->o.n_cgroups; i++) {
		const char *spec = s->o.cgroups[i];
		size_t got = 0;
		int rc;

		if (!s->rc.cgroups)
			return cli_error("-c needs a memory cgroup hierarchy, and none is mounted");
		rc = cgroups__resolve(s->rc.cgroups, spec, s->cgids + s->n_cgids, max - s->n_cgids,
				      &got, err, sizeof(err));
		if (rc)
			return cli_error("-c %s: %s", spec, err[0] ? err : strerror(-rc));
		for (size_t k = s->n_cgids; k < s->n_cgids + got; k++) {
			const char *path = cgroups__path(s->rc.cgroups, s->cgids[k]);

			/* Every path stored so far is session__close's to free. */
			s->cgroup_paths[k] = path ? strdup(path) : NULL;
			if (s->cgroup_paths[k])
				continue;
			s->n_cgids = k;
			if (!path)
				return cli_error("-c %s: the cgroup went away", spec);
			log_error("out of memory");
			return -ENOMEM;
		}
		s->n_cgids += got;
	}
	return 0;
}

int session__open(struct session *s, const struct session_opts *o)
{
	memset(s, 0, sizeof(*s));
	s->o = *o;
	if (cgroups__find_memory_hierarchy("/proc/self/mountinfo", &s->hier) == 0) {
		s->have_hier = true;
		s->rc.cgroups = cgroups__open(&s->hier);
	}
	if (!s->rc.cgroups)
		log_notice("no memory cgroup hierarchy mounted: containers are shown by cgroup id");
	s->rc.outstanding = o->outstanding;
	s->rc.sample_every = o->sample_every;
	s->rc.usyms = usyms__new();
	s->rc.ksyms = ksyms__load("/proc/kallsyms");
	if (!s->rc.ksyms)
		log_notice("cannot read /proc/kallsyms (%s): kernel frames shown as addresses",
			   strerror(errno));
	s->rc.recorder = recorder__new(o->sample_every, sysconf(_SC_PAGESIZE), o->outstanding,
				       s->rc.usyms);
	s->rc.exits = proc_exits__new();
	if (!s->rc.usyms || !s->rc.recorder || !s->rc.exits) {
		log_error("out of memory");
		return -ENOMEM;
	}
	if (o->keep_freed)
		recorder__keep_freed(s->rc.recorder);
	return resolve_cgroups(s);
}

static void on_sample(void *ctx, const struct ms_sample *sample)
{
	struct session *s = ctx;

	recorder__on_sample(s->rc.recorder, sample);
}

/* Called from inside the ring buffer's consume loop, which must not be
 * re-entered to fetch the samples: queue the kill for session__poll. */
static void on_oom(void *ctx, const struct ms_oom_event *e)
{
	struct session *s = ctx;

	if (s->queued < SESSION_OOM_QUEUE) {
		s->queue[s->queued++] = *e;
		return;
	}
	if (!s->oom_dropped++)
		log_warn("more than %d OOM kills at once: some are not reported",
			 SESSION_OOM_QUEUE);
	if (e->frozen)
		tracer__thaw_slot(s->rc.tracer, e->victim_slot);
}

static uint64_t pages_moved(void *tracer)
{
	return tracer__pages_moved(tracer);
}

static void prune(struct session *s, double now)
{
	recorder__prune(s->rc.recorder, tracer__page_records(s->rc.tracer), pages_moved,
			s->rc.tracer);
	s->last_prune = now;
	s->live_after_prune = recorder__nlive(s->rc.recorder);
}

static void prune_if_swamped(struct session *s, double now)
{
	if (now - s->last_prune >= SESSION_PRUNE_MIN_S &&
	    recorder__nlive(s->rc.recorder) >= s->live_after_prune + SESSION_PRUNE_GROWTH)
		prune(s, now);
}

/* Within a poll that samples keep feeding: keep the recorder small, and
 * give the caller back control (Ctrl-C, OOM kills, output) now and then. */
static bool on_tick(void *ctx)
{
	struct session *s = ctx;
	double now = cli_now();

	prune_if_swamped(s, now);
	return cli_stop_requested() || now - s->poll_start >= SESSION_POLL_MAX_S;
}

/* The tracer's options, from the session's. */
static struct tracer_opts tracer_opts(const struct session *s)
{
	return (struct tracer_opts){
		.sample_every = s->o.sample_every, .track_frees = s->o.outstanding,
		.kernel_stacks = s->o.kernel_stacks, .max_procs = s->o.max_procs,
		.ringbuf_mb = s->o.ringbuf_mb, .kstack_entries = s->o.kstack_entries,
		.tgids = s->o.pids, .n_tgids = s->o.n_pids, .cgids = s->cgids,
		.n_cgids = s->n_cgids,
	};
}

/* After privileges are dropped: V8's probes need no more than uprobes. */
static void start_split(struct session *s)
{
	struct memsplit_opts mo = {
		.hier = s->have_hier ? &s->hier : NULL, .cgroups = s->rc.cgroups,
		.pids = s->o.pids, .n_pids = s->o.n_pids, .cgids = s->cgids, .n_cgids = s->n_cgids,
		.v8 = true,
	};

	s->rc.split = memsplit__start(&mo, cli_now());
	if (!s->rc.split)
		log_notice("no growth by class: %s", strerror(errno));
}

int session__start(struct session *s, session_oom_fn oom, void *ctx)
{
	struct tracer_handlers h = { .sample = on_sample, .oom = on_oom, .tick = on_tick,
				     .ctx = s };
	struct tracer_opts to = tracer_opts(s);
	int err;

	s->oom = oom;
	s->oom_ctx = ctx;
	s->last_prune = s->last_sweep = cli_now();
	err = tracer__start(&to, &h, &s->rc.tracer);
	if (err)
		return err;
	if (privs__drop())
		log_notice("could not drop unneeded capabilities: running with all of them");
	else
		log_notice("attached; dropped every capability but %s", privs__kept());
	/* Read the targets' mappings now: a target that exits before its first
	 * sample is delivered would otherwise leave its stacks unnamed. */
	for (size_t i = 0; i < s->o.n_pids; i++)
		usyms__add_pid(s->rc.usyms, s->o.pids[i]);
	if (s->o.class_split)
		start_split(s);
	return 0;
}

/* The kernel marks each thread of a victim that still allocates while it
 * dies: one kill, many events. Remembers e when it is a new kill. */
static bool same_kill(struct session *s, const struct ms_oom_event *e)
{
	size_t n = s->n_seen < SESSION_KILLS_SEEN ? s->n_seen : SESSION_KILLS_SEEN;

	for (size_t i = 0; i < n; i++) {
		const struct ms_oom_event *k = &s->seen[i];

		if (k->victim_tgid == e->victim_tgid && k->victim_start_ns == e->victim_start_ns &&
		    (e->victim_start_ns || e->boot_ns - k->boot_ns < SAME_KILL_NS))
			return true;
	}
	s->seen[s->n_seen++ % SESSION_KILLS_SEEN] = *e;
	return false;
}

static void deliver_kills(struct session *s)
{
	if (!s->queued)
		return;
	for (int i = 0; i < DRAIN_ROUNDS; i++) {
		s->poll_start = cli_now();
		if (tracer__poll(s->rc.tracer, 0) <= 0)
			break;
	}
	/* Handlers may take a while (symbols): kills queued meanwhile wait for
	 * the next poll, and their evidence stays frozen until then. */
	for (size_t i = 0; i < s->queued; i++) {
		const struct ms_oom_event *e = &s->queue[i];

		if (s->oom && !same_kill(s, e))
			s->oom(s->oom_ctx, e);
		if (e->frozen)
			tracer__thaw_slot(s->rc.tracer, e->victim_slot);
	}
	s->queued = 0;
}

/* Is process tgid (started at start_ns) gone? Its pid is free, or belongs to a
 * process started at another time (/proc/PID/stat field 22, in ticks). */
static bool pid_gone(uint32_t tgid, uint64_t start_ns)
{
	uint64_t ticks;
	int err = procstat__start_ticks("/proc", (int)tgid, &ticks);

	if (err)
		return err == -ENOENT;
	return !procstat__same_start(ticks, start_ns);
}

static void recycle_one(void *ctx, const struct ms_proc_key *key, const struct ms_proc_info *info)
{
	struct session *s = ctx;
	struct ms_proc_stats st;

	/* Without free tracking no page record refers to the slot; with it,
	 * only a slot whose pages are all freed can be handed back, and only
	 * once the recorder has pruned its samples (and so collected its
	 * buckets): no stack may name a slot another process now has. */
	if (tracer__proc_stats(s->rc.tracer, info->slot, &st) ||
	    (s->rc.outstanding && (st.alloc_bytes != st.free_bytes ||
				   recorder__slot_live(s->rc.recorder, info->slot))) ||
	    !pid_gone(key->tgid, key->start_ns))
		return;
	if (tracer__recycle_slot(s->rc.tracer, key, info->slot))
		return;
	recorder__forget_slot(s->rc.recorder, info->slot);
	s->recycled++;
	/* The slot's counters are zeroed now: these are the only copy. */
	if (proc_exits__add(s->rc.exits, key->cgid, &st) && !s->exits_lost++)
		log_warn("out of memory: the totals of exited processes are incomplete");
}

static int poll_once(struct session *s, int timeout_ms)
{
	int n;
	double now;

	s->poll_start = cli_now();
	n = tracer__poll(s->rc.tracer, timeout_ms);
	deliver_kills(s);
	now = cli_now();
	if (now - s->last_sweep < SESSION_PRUNE_S) {
		prune_if_swamped(s, now);
		return n;
	}
	prune(s, now);
	s->last_sweep = now;
	recorder__forget_exited(s->rc.recorder, pid_gone);
	if (s->o.recycle_slots) {
		uint64_t before = s->recycled;

		tracer__for_each_proc(s->rc.tracer, recycle_one, s);
		if (s->recycled > before)
			log_debug("recycled %llu process slots (%llu in all)",
				  (unsigned long long)(s->recycled - before),
				  (unsigned long long)s->recycled);
	}
	return n;
}

int session__poll(struct session *s, int timeout_ms)
{
	int n = poll_once(s, timeout_ms);

	if (s->rc.split)
		memsplit__tick(s->rc.split, cli_now());
	return n;
}

void session__stop(struct session *s)
{
	if (!s->rc.tracer)
		return;
	tracer__stop(s->rc.tracer);
	deliver_kills(s);
}

int session__settle(struct session *s)
{
	struct page_records *pr;
	int err;

	if (!s->rc.tracer)
		return 0;
	pr = tracer__page_records(s->rc.tracer);
	if (s->rc.split) {
		memsplit__finish(s->rc.split, cli_now());
		memsplit__settle(s->rc.split, s->rc.recorder, pr);
	} else {
		recorder__settle(s->rc.recorder, pr);
	}
	err = session__model(s);
	if (err)
		log_error("out of memory reading the recording out: %s", strerror(-err));
	return err;
}

void session__close(struct session *s)
{
	recording__free(s->model);
	s->model = NULL;
	memsplit__free(s->rc.split);
	for (size_t i = 0; i < s->n_cgids; i++)
		free(s->cgroup_paths[i]);
	s->n_cgids = 0;
	tracer__free(s->rc.tracer);
	recorder__free(s->rc.recorder);
	usyms__free(s->rc.usyms);
	ksyms__free(s->rc.ksyms);
	proc_exits__free(s->rc.exits);
	cgroups__free(s->rc.cgroups);
	memset(&s->rc, 0, sizeof(s->rc));
}
