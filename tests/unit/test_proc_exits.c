#include <criterion/criterion.h>
#include <string.h>

#include "proc_exits.h"

struct seen {
	uint64_t cgids[8];
	struct proc_exit_totals t[8];
	size_t n;
};

static void note(void *ctx, uint64_t cgid, const struct proc_exit_totals *t)
{
	struct seen *s = ctx;

	cr_assert_lt(s->n, 8);
	s->cgids[s->n] = cgid;
	s->t[s->n++] = *t;
}

static const struct proc_exit_totals *of(const struct seen *s, uint64_t cgid)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->cgids[i] == cgid)
			return &s->t[i];
	return NULL;
}

/* Three processes in two cgroups; what a container shows is the sum of its
 * live processes' counters and its exited ones': moving processes from one
 * side to the other (recycling) leaves that sum unchanged. */
Test(proc_exits, recycling_keeps_container_totals)
{
	const struct { uint64_t cgid; struct ms_proc_stats st; } procs[] = {
		{ 10, { 4096 * 100, 4096 * 100, 7, 9 } },
		{ 10, { 4096 * 50, 4096 * 20, 3, 2 } },
		{ 20, { 1ULL << 40, 1ULL << 40, 1, 1 } },
	};
	struct proc_exits *x = proc_exits__new();
	struct proc_exit_totals all;
	struct seen s = { 0 };

	cr_assert_not_null(x);
	for (size_t i = 0; i < 3; i++)
		cr_assert_eq(proc_exits__add(x, procs[i].cgid, &procs[i].st), 0);
	cr_assert_eq(proc_exits__cgroups(x), 2);
	proc_exits__each(x, note, &s);
	cr_assert_eq(s.n, 2);
	cr_assert_eq(of(&s, 10)->procs, 2);
	cr_assert_eq(of(&s, 10)->st.alloc_bytes, 4096 * 150);
	cr_assert_eq(of(&s, 10)->st.free_bytes, 4096 * 120);
	cr_assert_eq(of(&s, 10)->st.alloc_events, 10);
	cr_assert_eq(of(&s, 10)->st.free_events, 11);
	cr_assert_eq(of(&s, 20)->st.alloc_bytes, 1ULL << 40);
	proc_exits__total(x, &all);
	cr_assert_eq(all.procs, 3);
	cr_assert_eq(all.st.alloc_bytes, 4096 * 150 + (1ULL << 40));
	cr_assert_eq(all.st.free_events, 12);
	proc_exits__free(x);
}

Test(proc_exits, nothing_exited)
{
	struct proc_exit_totals all;
	struct seen s = { 0 };
	struct proc_exits *x = proc_exits__new();

	proc_exits__each(NULL, note, &s);
	proc_exits__each(x, note, &s);
	cr_assert_eq(s.n, 0);
	proc_exits__total(NULL, &all);
	cr_assert_eq(all.procs, 0);
	cr_assert_eq(proc_exits__cgroups(NULL), 0);
	proc_exits__free(x);
	proc_exits__free(NULL);
}

/* Many cgroups come and go: one entry each, however many processes. */
Test(proc_exits, bounded_by_cgroups_not_processes)
{
	struct proc_exits *x = proc_exits__new();
	struct ms_proc_stats st = { 4096, 4096, 1, 1 };
	struct proc_exit_totals all;

	for (uint64_t i = 0; i < 100000; i++)
		cr_assert_eq(proc_exits__add(x, i % 50, &st), 0);
	cr_assert_eq(proc_exits__cgroups(x), 50);
	proc_exits__total(x, &all);
	cr_assert_eq(all.procs, 100000);
	cr_assert_eq(all.st.alloc_bytes, 4096ULL * 100000);
	proc_exits__free(x);
}

/* Picks out cgroup 1 and the shared aggregate, counts the calls. */
struct picked {
	size_t calls;
	struct proc_exit_totals first, other;
};

static void pick(void *ctx, uint64_t cgid, const struct proc_exit_totals *t)
{
	struct picked *p = ctx;

	p->calls++;
	if (cgid == 1)
		p->first = *t;
	if (cgid == PROC_EXITS_OTHER)
		p->other = *t;
}

/* Past PROC_EXITS_MAX_CGROUPS cgroups, new ones share one aggregate; the
 * cgroups already known keep theirs, and the sum stays exact. */
Test(proc_exits, cgroups_past_the_limit_share_one_total)
{
	struct proc_exits *x = proc_exits__new();
	struct ms_proc_stats st = { 8192, 4096, 2, 1 };
	struct proc_exit_totals all;
	struct picked p = { 0 };

	for (uint64_t cg = 1; cg <= PROC_EXITS_MAX_CGROUPS + 10; cg++)
		cr_assert_eq(proc_exits__add(x, cg, &st), 0);
	cr_assert_eq(proc_exits__add(x, 1, &st), 0);
	cr_assert_eq(proc_exits__add(x, PROC_EXITS_OTHER, &st), 0, "never a cgroup of its own");
	cr_assert_eq(proc_exits__cgroups(x), PROC_EXITS_MAX_CGROUPS + 1);
	proc_exits__each(x, pick, &p);
	cr_assert_eq(p.calls, PROC_EXITS_MAX_CGROUPS + 1);
	cr_assert_eq(p.first.procs, 2, "a known cgroup keeps its own total");
	cr_assert_eq(p.other.procs, 11);
	cr_assert_eq(p.other.st.free_bytes, 4096 * 11);
	proc_exits__total(x, &all);
	cr_assert_eq(all.procs, PROC_EXITS_MAX_CGROUPS + 12);
	cr_assert_eq(all.st.alloc_bytes, 8192ULL * (PROC_EXITS_MAX_CGROUPS + 12));
	proc_exits__free(x);
}
