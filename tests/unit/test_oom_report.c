#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include "cgstat.h"
#include "fixture_tree.h"
#include "json.h"
#include "memclass.h"
#include "oom_print.h"
#include "oom_report.h"

#define MIB (1024ULL * 1024)
#define GIB (1024 * MIB)

static struct oom_report *new_report(void)
{
	struct oom_report *r = oom_report__new();

	cr_assert_not_null(r);
	return r;
}

/* What a printer wrote, malloc'd. */
static char *printed(const struct oom_report *r, bool json)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	cr_assert_not_null(f);
	if (json)
		oom_print__json_line(r, f);
	else
		oom_print__text(r, f);
	fclose(f);
	return buf;
}

static int count(const char *text, const char *needle)
{
	int n = 0;

	for (const char *p = text; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

/* ---- the event ---------------------------------------------------------------- */

Test(oom_report, wall_clock_from_boottime)
{
	/* Killed 2.5 s before now; now is 1000 s after boot and 1.7e9 s after the epoch. */
	int64_t now = 1700000000LL * 1000000000, boot_now = 1000LL * 1000000000;

	cr_expect_eq(oom_report__wall_ns(boot_now - 2500000000LL, now, boot_now),
		     now - 2500000000LL);
	cr_expect_eq(oom_report__wall_ns(boot_now, now, boot_now), now);
}

Test(oom_report, event_is_copied_and_sanitized)
{
	struct ms_oom_event e = {
		.victim_tgid = 4242, .victim_cgid = 77, .victim_slot = 9, .frozen = 1,
		.trigger_tgid = 4243, .trigger_cgid = 78, .oom_score_adj = -500,
		.rss_pages = { [MS_RSS_FILE] = 2, [MS_RSS_ANON] = 256, [MS_RSS_SWAP] = 1,
			       [MS_RSS_SHMEM] = 3 },
	};
	struct oom_report *r = new_report();

	/* A full comm has no NUL; control bytes and high bytes become '?'. */
	memcpy(e.victim_comm, "evil\n\033[31mname!!", MS_COMM_LEN);
	memcpy(e.trigger_comm, "trig\xff", 5);
	oom_report__set_event(r, &e, 4096, 123);
	cr_expect_eq(r->time_ns, 123);
	cr_expect_eq(r->victim.pid, 4242);
	cr_expect_eq(r->victim.cgid, 77);
	cr_expect_str_eq(r->victim.comm, "evil??[31mname!!");
	cr_expect_str_eq(r->trigger.comm, "trig?");
	cr_expect_eq(r->trigger.pid, 4243);
	cr_expect_eq(r->oom_score_adj, -500);
	cr_expect_eq(r->rss[MS_RSS_ANON], 1 * MIB);
	cr_expect_eq(r->rss[MS_RSS_FILE], 8192);
	cr_expect_eq(r->rss[MS_RSS_SHMEM], 3 * 4096);
	cr_expect_eq(r->rss[MS_RSS_SWAP], 4096);
	cr_expect(r->evidence);

	/* Never seen allocating, or not frozen: no evidence. Absurd counts saturate. */
	e.victim_slot = MS_SLOT_NONE;
	e.rss_pages[MS_RSS_ANON] = UINT64_MAX / 2;
	oom_report__set_event(r, &e, 4096, 0);
	cr_expect_not(r->evidence);
	cr_expect_eq(r->rss[MS_RSS_ANON], UINT64_MAX);
	e.victim_slot = 9;
	e.frozen = 0;
	oom_report__set_event(r, &e, 4096, 0);
	cr_expect_not(r->evidence);
	oom_report__free(r);
}

/* ---- stacks ------------------------------------------------------------------- */

/* Adds a stack written the way these tests read best, as its folded text:
 * container, comm, then frames root first, "_[k]" marking the kernel's.
 * Only the fixtures are read this way; the report takes frames by kind. */
static int add_text(struct oom_report *r, const char *const *text, size_t n, uint64_t bytes)
{
	static struct frame frames[4096];
	static char names[4096][FRAME_LEN];
	struct rec_stack s = { .container = "", .comm = "", .thread = "",
			       .cls = MEM_CLASS_NONE, .frames = frames };

	/* No text: an empty stack, or (with n) no stack at all. */
	if (!text)
		return oom_report__add_stack(r, n ? NULL : &s, bytes);
	if (n > 0)
		s.container = text[0];
	if (n > 1)
		s.comm = text[1];
	for (size_t i = 2; i < n && s.nframes < 4096; i++) {
		size_t len = strlen(text[i]);
		bool kernel = len >= 4 && !strcmp(text[i] + len - 4, "_[k]");

		snprintf(names[s.nframes], FRAME_LEN, "%.*s", (int)(kernel ? len - 4 : len),
			 text[i]);
		frames[s.nframes] = (struct frame){
			.name = names[s.nframes], .kind = kernel ? FRAME_KERNEL : FRAME_USER };
		s.nframes++;
	}
	return oom_report__add_stack(r, &s, bytes);
}

/* The folded line of the report's i-th stack, valid until the next call. */
static const char *folded(const struct oom_report *r, size_t i)
{
	static char buf[OOM_STACK_MAX];
	char *f = oom_report__folded(&r->stacks[i]);

	cr_assert_not_null(f);
	snprintf(buf, sizeof(buf), "%s", f);
	free(f);
	return buf;
}

static void add(struct oom_report *r, const char *leaf, uint64_t bytes)
{
	const char *frames[] = { "/c", "app", "main", leaf, "do_anonymous_page_[k]" };

	cr_assert_eq(add_text(r, frames, 5, bytes), 0);
}

Test(oom_report, top_stacks_are_kept_largest_first)
{
	struct oom_report *r = new_report();
	static const uint64_t sizes[] = { 3, 9, 1, 7, 5, 8, 2, 6 };
	char leaf[16];

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		snprintf(leaf, sizeof(leaf), "f%llu", (unsigned long long)sizes[i]);
		add(r, leaf, sizes[i] * MIB);
	}
	cr_assert_eq(r->n_stacks, OOM_TOP_STACKS);
	for (size_t i = 0; i < OOM_TOP_STACKS; i++) {
		snprintf(leaf, sizeof(leaf), ";f%zu;", 9 - i);
		cr_expect_eq(r->stacks[i].bytes, (9 - i) * MIB);
		cr_expect(strstr(folded(r, i), leaf), "%zu: %s", i, folded(r, i));
	}
	cr_expect_str_eq(folded(r, 0), "/c;app;main;f9;do_anonymous_page_[k]");
	oom_report__free(r);
}

/* Buckets that differ below the symbol names are one stack in the report. */
Test(oom_report, identical_stacks_add_up)
{
	struct oom_report *r = new_report();

	add(r, "big", 10 * MIB);
	for (int i = 0; i < 6; i++)
		add(r, "many_small", 2 * MIB);
	add(r, "other", 1 * MIB);
	cr_assert_eq(r->n_stacks, 3);
	cr_expect(strstr(folded(r, 0), ";many_small;"));
	cr_expect_eq(r->stacks[0].bytes, 12 * MIB);
	cr_expect_eq(r->stacks[1].bytes, 10 * MIB);
	cr_expect_eq(r->stacks[2].bytes, 1 * MIB);
	oom_report__free(r);
}

Test(oom_report, hostile_frames_stay_bounded)
{
	static const char *frames[4096];
	struct oom_report *r = new_report();
	char big[300];

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	big[10] = '\001';
	for (size_t i = 0; i < 4096; i++)
		frames[i] = big;
	cr_assert_eq(add_text(r, frames, 4096, MIB), 0);
	cr_assert_eq(r->n_stacks, 1);
	cr_expect_lt(strlen(folded(r, 0)), OOM_STACK_MAX);
	cr_expect_null(strchr(folded(r, 0), '\001'));
	/* Whole frames only: the string ends with a complete one. */
	cr_expect_eq(strlen(folded(r, 0)) % 256, 255);
	cr_expect_eq(add_text(r, NULL, 3, MIB), -EINVAL);
	cr_expect_eq(oom_report__add_stack(NULL, &(struct rec_stack){ .container = "", .comm = "" },
					   MIB), -EINVAL);
	cr_expect_eq(add_text(r, NULL, 0, MIB), 0, "an empty stack is a stack");
	oom_report__free(r);
}

/* A container's own symbol may end in "_[k]": the frame's kind, not its
 * name, says whose it is, so it shows as the user frame it is (reading the
 * folded text back took it for the kernel's and hid it from the line). */
Test(oom_report, user_frame_named_like_kernel_stays_user)
{
	struct oom_report *r = new_report();
	struct frame frames[] = {
		{ .name = "main", .kind = FRAME_USER },
		{ .name = "evil_[k]", .kind = FRAME_USER },
		{ .name = "clear_page_erms", .kind = FRAME_KERNEL },
	};
	struct rec_stack s = { .container = "ctr", .comm = "app", .thread = "",
			       .cls = MEM_CLASS_NONE, .frames = frames, .nframes = 3 };
	char *t, *j;

	r->evidence = true;
	cr_assert_eq(oom_report__add_stack(r, &s, 2 * MIB), 0);
	/* The kernel's own frame of that name is another stack. */
	frames[1] = (struct frame){ .name = "evil", .kind = FRAME_KERNEL };
	cr_assert_eq(oom_report__add_stack(r, &s, MIB), 0);
	cr_assert_eq(r->n_stacks, 2);
	t = printed(r, false);
	cr_expect(strstr(t, "2.0 MiB  evil_[k] < main\n"), "%s", t);
	cr_expect(strstr(t, "1.0 MiB  main\n"), "%s", t);
	j = printed(r, true);
	cr_expect(strstr(j, "\"stack\":\"ctr;app;main;evil_[k];clear_page_erms_[k]\""), "%s", j);
	free(t);
	free(j);
	oom_report__free(r);
}

/* ---- which limit ---------------------------------------------------------------- */

#define UNL	CGSTAT_UNLIMITED

struct limit_case {
	const char *name;
	struct {
		uint64_t limit, usage, recent, peak;
		bool outside;	/* the trigger is not in it */
	} chain[3];
	size_t n;
	uint64_t victim;
	int want;
	bool estimated;
};

#define CG(l, u)			{ .limit = (l), .usage = (u) }
#define CG_RECENT(l, u, r)		{ .limit = (l), .usage = (u), .recent = (r) }
#define CG_PEAK(l, u, p)		{ .limit = (l), .usage = (u), .peak = (p) }
#define CG_OUTSIDE(l, u)		{ .limit = (l), .usage = (u), .outside = true }
#define CASE(nm, w, est, vict, num, ...) \
	{ .name = (nm), .want = (w), .estimated = (est), .victim = (vict), .n = (num), \
	  .chain = { __VA_ARGS__ } }

static const struct limit_case limit_cases[] = {
	CASE("at its own limit", 0, false, 0, 1, CG(64 * MIB, 64 * MIB)),
	CASE("within the slack", 0, false, 0, 1, CG(64 * MIB, 62 * MIB + 512 * 1024)),
	CASE("just past the slack", -1, false, 0, 1, CG(64 * MIB, 61 * MIB)),
	CASE("slack grows with the limit", 0, false, 0, 1, CG(64 * GIB, 63 * GIB + 100 * MIB)),
	CASE("a parent's limit", 1, false, 0, 2, CG(UNL, 10 * MIB), CG(128 * MIB, 128 * MIB)),
	CASE("the deepest of two", 0, false, 0, 2, CG(64 * MIB, 64 * MIB), CG(64 * MIB, 64 * MIB)),
	CASE("an unlimited chain", -1, false, 0, 2, CG(UNL, 64 * MIB), CG(UNL, GIB)),
	CASE("the trigger charged elsewhere", -1, false, 0, 2, CG_OUTSIDE(64 * MIB, 64 * MIB),
	     CG_OUTSIDE(UNL, GIB)),
	CASE("at the limit a second ago", 0, false, 0, 1, CG_RECENT(64 * MIB, 20 * MIB, 64 * MIB)),
	CASE("already freed: peak and RSS tell", 0, true, 60 * MIB, 1,
	     CG_PEAK(64 * MIB, 8 * MIB, 64 * MIB)),
	CASE("already freed, no peak file", 0, true, 60 * MIB, 1, CG(64 * MIB, 8 * MIB)),
	CASE("never near its limit", -1, false, 60 * MIB, 1, CG_PEAK(64 * MIB, 8 * MIB, 30 * MIB)),
	CASE("small victim, far from the limit", -1, false, MIB, 1, CG(64 * MIB, 8 * MIB)),
	CASE("no cgroups (the root)", -1, false, 0, 0, CG(0, 0)),
};

ParameterizedTestParameters(oom_report, limiting)
{
	return cr_make_param_array(struct limit_case, (void *)limit_cases,
				   sizeof(limit_cases) / sizeof(limit_cases[0]));
}

ParameterizedTest(const struct limit_case *c, oom_report, limiting)
{
	struct oom_cgroup chain[3] = {};
	bool estimated = !c->estimated;

	for (size_t i = 0; i < c->n; i++) {
		snprintf(chain[i].path, sizeof(chain[i].path), "/level%zu", i);
		chain[i].limit = c->chain[i].limit;
		chain[i].usage = c->chain[i].usage;
		chain[i].recent = c->chain[i].recent;
		chain[i].peak = c->chain[i].peak;
		chain[i].trigger_inside = !c->chain[i].outside;
	}
	cr_expect_eq(oom_report__limiting(chain, c->n, c->victim, &estimated), c->want, "%s",
		     c->name);
	cr_expect_eq(estimated, c->estimated, "%s", c->name);
}

Test(oom_report, set_limit_fills_the_figures)
{
	struct oom_cgroup chain[2] = {
		{ .path = "/pod/ctr", .limit = UNL, .usage = 30 * MIB, .trigger_inside = true },
		{ .path = "/pod", .limit = 100 * MIB, .usage = 99 * MIB, .peak = 100 * MIB,
		  .trigger_inside = true,
		  .st = { .anon = 90 * MIB, .file = 5 * MIB, .kernel = 3 * MIB, .sock = 4096,
			  .shmem = MIB, .have = CGSTAT_ANON | CGSTAT_FILE } },
	};
	struct oom_report *r = new_report();

	oom_report__set_limit(r, chain, 2);
	cr_expect_eq(r->constraint, OOM_MEMCG);
	cr_expect_str_eq(r->cgroup, "/pod");
	cr_expect_eq(r->limit, 100 * MIB);
	cr_expect_eq(r->usage, 99 * MIB);
	cr_expect_eq(r->peak, 100 * MIB);
	cr_expect(r->have_charged);
	cr_expect_eq(r->charged[TIMELINE_ANON], 90 * MIB);
	cr_expect_eq(r->charged[TIMELINE_SOCK], 4096);

	/* Nothing at its limit: global, figures of the victim's own cgroup. */
	chain[1].usage = 10 * MIB;
	chain[1].peak = 10 * MIB;
	oom_report__set_limit(r, chain, 2);
	cr_expect_eq(r->constraint, OOM_GLOBAL);
	cr_expect_str_eq(r->cgroup, "/pod/ctr");
	cr_expect_eq(r->limit, UNL);
	cr_expect_eq(r->usage, 30 * MIB);
	oom_report__free(r);
}

/* ---- output ------------------------------------------------------------------- */

/* A report as memscope oom builds it for a leak in a container. */
static struct oom_report *sample_report(void)
{
	struct oom_report *r = new_report();
	const char *frames[] = {
		"3f4e5a6b7c8d", "leaker", "_start", "__libc_start_main", "main",
		"leak_fn(unsigned long, std::vector<int, std::allocator<int> > const&)", "memset",
		"asm_exc_page_fault_[k]", "do_anonymous_page_[k]",
	};

	r->time_ns = 1748872991482000000LL;	/* 2025-06-02 14:03:11.482 UTC */
	snprintf(r->hook, sizeof(r->hook), "raw_tp");
	r->victim = (struct oom_task){ .pid = 4242, .comm = "leaker", .cgid = 77,
				       .cgroup = "/docker/3f4e5a6b7c8d9e",
				       .container = "3f4e5a6b7c8d" };
	r->trigger = r->victim;
	r->constraint = OOM_MEMCG;
	snprintf(r->cgroup, sizeof(r->cgroup), "/docker/3f4e5a6b7c8d9e");
	r->limit = 64 * MIB;
	r->usage = 64 * MIB;
	r->peak = 64 * MIB;
	r->rss[MS_RSS_ANON] = 60 * MIB;
	r->rss[MS_RSS_FILE] = 2 * MIB;
	r->evidence = true;
	r->sample_every = 256;
	r->evidence_bytes = 59 * MIB;
	cr_assert_eq(add_text(r, frames, sizeof(frames) / sizeof(frames[0]),
					   59 * MIB), 0);
	r->have_growth = true;
	snprintf(r->growth_source, sizeof(r->growth_source), "memory.stat");
	r->growth = (struct timeline_growth){ .path = "/docker/3f4e5a6b7c8d9e", .points = 31,
					      .seconds = 30, .start = 4 * MIB, .end = 60 * MIB,
					      .slope = 112, .kind_slope = { 112, 0, 0, 0, 0 },
					      .verdict = { .verdict = GROWTH_NATIVE,
							   .stopped_at = NAN } };
	return r;
}

Test(oom_report, text_report)
{
	struct oom_report *r = sample_report();
	char *t = printed(r, false);

	cr_expect(strstr(t, "OOM kill at 2025-06-02 14:03:11.482 UTC: pid 4242 (leaker) in "
			    "3f4e5a6b7c8d\n"), "%s", t);
	cr_expect(strstr(t, "  victim       pid 4242 (leaker), container 3f4e5a6b7c8d, cgroup "
			    "/docker/3f4e5a6b7c8d9e, oom_score_adj 0\n"), "%s", t);
	cr_expect(strstr(t, "memory cgroup /docker/3f4e5a6b7c8d9e: limit 64.0 MiB, usage "
			    "64.0 MiB, peak 64.0 MiB; inferred"), "%s", t);
	cr_expect(strstr(t, "  victim rss   anon 60.0 MiB, file 2.0 MiB, shmem 0 B, swap 0 B\n"));
	cr_expect(strstr(t, "  classes      native 60.0 MiB, file 2.0 MiB, shmem 0 B\n"), "%s", t);
	cr_expect(strstr(t, "  growth       4.0 MiB -> 60.0 MiB in 30 s, +112.0 MiB/min "
			    "(native growth)"), "%s", t);
	cr_expect(strstr(t, "one page in 256 sampled; 59.0 MiB in all"), "%s", t);
	/* Leaf first, user frames only, C++ parameters dropped. */
	cr_expect(strstr(t, "  59.0 MiB  memset < leak_fn < main < __libc_start_main < _start\n"),
		  "%s", t);
	cr_expect_null(strstr(t, "_[k]"));
	cr_expect_null(strstr(t, "v8-heap"), "no V8 figure while it is unknown");
	free(t);

	/* A V8 heap, once known, is its own class, out of native. */
	r->v8_heap = 40 * MIB;
	t = printed(r, false);
	cr_expect(strstr(t, "  classes      v8-heap 40.0 MiB, native 20.0 MiB,"), "%s", t);
	free(t);
	oom_report__free(r);
}

Test(oom_report, text_without_evidence_or_limit)
{
	struct oom_report *r = new_report();
	char *t;

	r->victim.pid = 77;
	r->constraint = OOM_GLOBAL;
	t = printed(r, false);
	cr_expect(strstr(t, "pid 77 (?) in an unknown cgroup\n"), "%s", t);
	cr_expect(strstr(t, "  constraint   global (no memory cgroup limit reached); inferred"),
		  "%s", t);
	cr_expect(strstr(t, "  growth       unknown"), "%s", t);
	cr_expect(strstr(t, "  stacks       none: memscope had not seen pid 77 allocate\n"),
		  "%s", t);
	free(t);

	snprintf(r->cgroup, sizeof(r->cgroup), "/system.slice/x.service");
	r->usage = 3 * GIB;
	t = printed(r, false);
	cr_expect(strstr(t, "global (no memory cgroup limit reached); /system.slice/x.service: "
			    "no limit, usage 3.00 GiB"), "%s", t);
	free(t);
	oom_report__free(r);
}

/* Frames without user frames (a kernel thread): the kernel's, leaf first;
 * long names keep their end. */
Test(oom_report, text_stack_shapes)
{
	struct oom_report *r = new_report();
	const char *kernel_only[] = { "/", "kworker", "worker_thread_[k]", "alloc_pages_[k]" };
	char longname[200], *t;
	const char *long_frames[] = { "/", "app", longname };

	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	memcpy(longname + sizeof(longname) - 1 - 4, "tail", 4);
	r->evidence = true;
	cr_assert_eq(add_text(r, kernel_only, 4, 2 * MIB), 0);
	cr_assert_eq(add_text(r, long_frames, 3, MIB), 0);
	t = printed(r, false);
	cr_expect(strstr(t, "2.0 MiB  alloc_pages_[k] < worker_thread_[k]\n"), "%s", t);
	cr_expect(strstr(t, "1.0 MiB  ...aaaa"), "%s", t);
	cr_expect(strstr(t, "tail\n"), "%s", t);
	cr_expect_lt(strlen(strstr(t, "1.0 MiB  ")), 80, "%s", t);
	free(t);
	oom_report__free(r);
}

Test(oom_report, json_is_one_line)
{
	struct oom_report *r = sample_report();
	char *j = printed(r, true);

	cr_expect_eq(count(j, "\n"), 1, "%s", j);
	cr_expect_eq(j[strlen(j) - 1], '\n');
	cr_expect_eq(j[0], '{');
	cr_expect(strstr(j, "\"time\":\"2025-06-02T14:03:11.482Z\","
			    "\"time_ns\":1748872991482000000,"), "%s", j);
	cr_expect(strstr(j, "\"victim\":{\"pid\":4242,\"comm\":\"leaker\",\"container\":"
			    "\"3f4e5a6b7c8d\",\"container_name\":null,\"cgroup\":\"/docker/3f4e5a6b7c8d9e\","
			    "\"cgroup_id\":77,"
			    "\"oom_score_adj\":0}"), "%s", j);
	cr_expect(strstr(j, "\"constraint\":\"memcg\",\"constraint_source\":\"inferred\",\"constraint_estimated\":false,"), "%s", j);
	cr_expect(strstr(j, "\"limit_bytes\":67108864,\"limit_kind\":null,\"usage_bytes\":67108864,"), "%s", j);
	cr_expect(strstr(j, "\"classes\":{\"native_bytes\":62914560,"), "%s", j);
	cr_expect(strstr(j, "\"stacks\":[{\"bytes\":61865984,"
			    "\"stack\":\"3f4e5a6b7c8d;leaker;_start;"), "%s", j);
	cr_expect(strstr(j, "\"growth\":{\"source\":\"memory.stat\""), "%s", j);
	cr_expect(strstr(j, "\"verdict\":\"native growth\""), "%s", j);
	cr_expect_eq(count(j, "{"), count(j, "}"));
	cr_expect_eq(count(j, "["), count(j, "]"));
	free(j);
	oom_report__free(r);
}

Test(oom_report, json_unknowns_are_null)
{
	struct oom_report *r = new_report();
	char *j;

	r->victim.pid = 5;
	r->v8_heap = 0;
	j = printed(r, true);
	cr_expect(strstr(j, "\"comm\":null,\"container\":null,\"container_name\":null,\"cgroup\":null,\"cgroup_id\":null"),
		  "%s", j);
	cr_expect(strstr(j, "\"constraint\":\"global\""), "%s", j);
	cr_expect(strstr(j, "\"cgroup\":{\"path\":null,\"limit_bytes\":null,\"limit_kind\":null,"
			    "\"usage_bytes\":null,\"peak_bytes\":null}"), "%s", j);
	cr_expect(strstr(j, "\"growth\":null}"), "%s", j);
	cr_expect(strstr(j, "\"stacks\":[]"), "%s", j);
	cr_expect_null(strstr(j, "v8_heap_bytes"));
	free(j);
	r->v8_heap = 1;
	j = printed(r, true);
	cr_expect(strstr(j, "\"v8_heap_bytes\":1,"), "%s", j);
	free(j);
	oom_report__free(r);
}

/* Reports go out in one write each: appended by two writers, lines stay whole. */
Test(oom_report, write_appends_whole_reports)
{
	char path[] = "/tmp/memscope-ut-oom-XXXXXX", *text;
	struct oom_report *r = sample_report();
	int fd = mkstemp(path), fd2;
	FILE *f;
	size_t len = 0;

	cr_assert_geq(fd, 0);
	fd2 = open(path, O_WRONLY | O_APPEND);
	cr_assert_geq(fd2, 0);
	close(fd);
	fd = open(path, O_WRONLY | O_APPEND);
	cr_assert_eq(oom_print__write(r, true, fd), 0);
	cr_assert_eq(oom_print__write(r, true, fd2), 0);
	cr_assert_eq(oom_print__write(r, false, fd), 0);
	close(fd);
	close(fd2);
	f = fopen(path, "r");
	cr_assert_not_null(f);
	text = NULL;
	cr_assert_geq(getdelim(&text, &len, '\0', f), 0);
	fclose(f);
	unlink(path);
	cr_expect_eq(count(text, "{\"time\":"), 2);
	cr_expect_eq(count(text, "}\n{\"time\":"), 1);
	cr_expect_eq(count(text, "}\nOOM kill at "), 1);
	cr_expect_eq(oom_print__write(r, true, -1), -EBADF);
	free(text);
	oom_report__free(r);
}

Test(oom_report, in_cgroups)
{
	struct oom_report *r = new_report();
	const char *paths[] = { "/a/b", "/x" };

	snprintf(r->victim.cgroup, sizeof(r->victim.cgroup), "/a/b/c");
	cr_expect(oom_report__in_cgroups(r, paths, 2));
	cr_expect(oom_report__in_cgroups(r, paths, 0));
	cr_expect_not(oom_report__in_cgroups(r, paths + 1, 1));
	snprintf(r->victim.cgroup, sizeof(r->victim.cgroup), "/a/bc");
	cr_expect_not(oom_report__in_cgroups(r, paths, 1), "/a/bc is not under /a/b");
	r->victim.cgroup[0] = '\0';
	cr_expect_not(oom_report__in_cgroups(r, paths, 2), "unknown is in none");
	oom_report__free(r);
}

/* ---- reading the chain from fixture hierarchies ------------------------------------ */

static struct fixture_tree tree;

static void tree_setup(void)
{
	ftree_init(&tree);
}

static void tree_teardown(void)
{
	ftree_remove(&tree);
}

TestSuite(oom_chain, .init = tree_setup, .fini = tree_teardown);

static struct cg_hier hier(int version)
{
	struct cg_hier h = { .version = version };

	snprintf(h.mount, sizeof(h.mount), "%s", tree.root);
	return h;
}

Test(oom_chain, v2_files)
{
	struct cg_hier h = hier(2);
	struct oom_cgroup chain[OOM_CHAIN_MAX];
	size_t n = 99;

	ftree_write(&tree, "/memory.stat", "anon 1\n", (size_t)-1);
	ftree_write(&tree, "/pod/memory.max", "134217728\n", (size_t)-1);
	ftree_write(&tree, "/pod/memory.current", "134213632\n", (size_t)-1);
	ftree_write(&tree, "/pod/memory.peak", "134217728\n", (size_t)-1);
	ftree_write(&tree, "/pod/memory.stat", "anon 120000000\nfile 4096\nshmem 0\n", (size_t)-1);
	ftree_write(&tree, "/pod/ctr/memory.max", "max\n", (size_t)-1);
	ftree_write(&tree, "/pod/ctr/memory.current", "100000000\n", (size_t)-1);
	ftree_write(&tree, "/pod/ctr/memory.stat", "anon 99000000\nfile 8192\nkernel 4096\n"
		    "sock 0\nshmem 4096\n", (size_t)-1);

	cr_assert_eq(oom_report__read_chain(&h, "/pod/ctr", "/pod/ctr", chain, OOM_CHAIN_MAX, &n),
		     0);
	cr_assert_eq(n, 2, "the root is not part of the chain");
	cr_expect_str_eq(chain[0].path, "/pod/ctr");
	cr_expect_eq(chain[0].limit, CGSTAT_UNLIMITED);
	cr_expect_eq(chain[0].usage, 100000000);
	cr_expect_eq(chain[0].peak, 0, "no memory.peak: unknown");
	cr_expect_eq(chain[0].st.file, 4096, "shmem is not file");
	cr_expect_eq(chain[0].st.kernel, 4096);
	cr_expect(chain[0].trigger_inside);
	cr_expect_str_eq(chain[1].path, "/pod");
	cr_expect_eq(chain[1].limit, 128 * MIB);
	cr_expect_eq(chain[1].usage, 134213632);
	cr_expect_eq(chain[1].peak, 128 * MIB);

	/* The trigger in a sibling: only the common ancestor holds it. */
	cr_assert_eq(oom_report__read_chain(&h, "/pod/ctr", "/pod/other", chain, OOM_CHAIN_MAX,
					    &n), 0);
	cr_expect_not(chain[0].trigger_inside);
	cr_expect(chain[1].trigger_inside);
	/* Unknown trigger: everywhere. */
	cr_assert_eq(oom_report__read_chain(&h, "/pod/ctr", NULL, chain, OOM_CHAIN_MAX, &n), 0);
	cr_expect(chain[0].trigger_inside);

	/* The whole decision on these files: the pod's limit. */
	struct oom_report *r = new_report();

	r->rss[MS_RSS_ANON] = 90 * MIB;
	oom_report__set_limit(r, chain, n);
	cr_expect_eq(r->constraint, OOM_MEMCG);
	cr_expect_str_eq(r->cgroup, "/pod");
	cr_expect_eq(r->limit, 128 * MIB);
	oom_report__free(r);
}

Test(oom_chain, v1_files)
{
	struct cg_hier h = hier(1);
	struct oom_cgroup chain[4];
	size_t n = 0;

	ftree_write(&tree, "/job/memory.limit_in_bytes", "67108864\n", (size_t)-1);
	ftree_write(&tree, "/job/memory.usage_in_bytes", "67100000\n", (size_t)-1);
	ftree_write(&tree, "/job/memory.max_usage_in_bytes", "67108864\n", (size_t)-1);
	ftree_write(&tree, "/job/memory.stat", "total_rss 66000000\ntotal_cache 100000\n"
		    "total_shmem 0\n", (size_t)-1);
	cr_assert_eq(oom_report__read_chain(&h, "/job", "/job", chain, 4, &n), 0);
	cr_assert_eq(n, 1);
	cr_expect_eq(chain[0].limit, 64 * MIB);
	cr_expect_eq(chain[0].usage, 67100000);
	cr_expect_eq(chain[0].peak, 64 * MIB);
	cr_expect_eq(chain[0].st.anon, 66000000);

	/* v1's "no limit" is a huge number. */
	ftree_write(&tree, "/job/memory.limit_in_bytes", "9223372036854771712\n", (size_t)-1);
	cr_assert_eq(oom_report__read_chain(&h, "/job", NULL, chain, 4, &n), 0);
	cr_expect_eq(chain[0].limit, CGSTAT_UNLIMITED);
}

Test(oom_chain, bad_input)
{
	struct cg_hier h = hier(2);
	struct oom_cgroup chain[2];
	size_t n = 7;
	char deep[PATH_MAX + 16];

	cr_expect_eq(oom_report__read_chain(&h, "/gone", NULL, chain, 2, &n), -ENOENT);
	cr_expect_eq(n, 0);
	cr_expect_eq(oom_report__read_chain(&h, "relative", NULL, chain, 2, &n), -EINVAL);
	cr_expect_eq(oom_report__read_chain(NULL, "/a", NULL, chain, 2, &n), -EINVAL);
	cr_expect_eq(oom_report__read_chain(&h, "/", NULL, chain, 2, &n), 0);
	cr_expect_eq(n, 0, "the root has no limit: no chain");
	memset(deep, 'a', sizeof(deep) - 1);
	deep[0] = '/';
	deep[sizeof(deep) - 1] = '\0';
	cr_expect_eq(oom_report__read_chain(&h, deep, NULL, chain, 2, &n), -ENAMETOOLONG);

	/* Garbage in the files: the figures it could not read are unknown. */
	ftree_write(&tree, "/junk/memory.max", "lots\n", (size_t)-1);
	ftree_write(&tree, "/junk/memory.current", "\x01\x02\n", (size_t)-1);
	ftree_write(&tree, "/junk/memory.stat", "anon x\nfile\n\n", (size_t)-1);
	ftree_write(&tree, "/junk/memory.peak", "-5\n", (size_t)-1);
	ftree_mkdir(&tree, "/junk/deeper");
	ftree_write(&tree, "/junk/deeper/memory.current", "4096\n", (size_t)-1);
	cr_assert_eq(oom_report__read_chain(&h, "/junk/deeper", NULL, chain, 2, &n), 0);
	cr_expect_eq(n, 1, "an unreadable ancestor ends the chain");
	cr_expect_eq(chain[0].usage, 4096);
	cr_expect_eq(chain[0].limit, CGSTAT_UNLIMITED);
	/* At most max cgroups. */
	ftree_write(&tree, "/junk/memory.current", "1\n", (size_t)-1);
	cr_assert_eq(oom_report__read_chain(&h, "/junk/deeper", NULL, chain, 1, &n), 0);
	cr_expect_eq(n, 1);
}

/* ---- the kernel's account ------------------------------------------------------ */

/* The victim of a Docker container with --memory 256m --memory-swap 256m, as
 * the kernel logged the kill, and the chain memscope read. */
static struct oom_kmsg_kill docker_kill(void)
{
	struct oom_kmsg_kill k = {
		.seq = 812, .constraint = OOM_KMSG_MEMCG, .oom_memcg = "/docker/3f4e",
		.task_memcg = "/docker/3f4e", .task = "node", .pid = 15744,
		.memory = { .have = true, .usage = 256 * MIB, .limit = 256 * MIB, .failcnt = 9 },
		.memsw = { .have = true, .usage = 256 * MIB, .limit = 256 * MIB, .failcnt = 3 },
	};
	return k;
}

static struct oom_report *docker_victim(void)
{
	struct oom_report *r = new_report();

	r->victim = (struct oom_task){ .pid = 15744, .comm = "node", .cgroup = "/docker/3f4e" };
	return r;
}

Test(oom_report, kernel_record_wins_over_inference)
{
	/* What broke inference: usage read after the kill far below the limit. */
	struct oom_cgroup chain[1] = {
		{ .path = "/docker/3f4e", .limit = 256 * MIB, .usage = 40 * MIB, .peak = 256 * MIB,
		  .trigger_inside = true, .st = { .anon = 1 * MIB, .have = CGSTAT_ANON } },
	};
	struct oom_kmsg_kill k = docker_kill();
	struct oom_report *r = docker_victim();
	char *t, *j;

	cr_assert_eq(oom_report__set_kernel(r, &k, chain, 1), 0);
	cr_expect_eq(r->constraint, OOM_MEMCG);
	cr_expect_eq(r->source, OOM_SOURCE_KMSG);
	cr_expect_str_eq(r->cgroup, "/docker/3f4e");
	cr_expect_eq(r->limit_kind, OOM_LIMIT_MEMSW, "v1 charges memory+swap first");
	cr_expect_eq(r->limit, 256 * MIB);
	cr_expect_eq(r->usage, 256 * MIB, "the kernel's usage at the kill");
	cr_expect_eq(r->peak, 256 * MIB);
	t = printed(r, false);
	cr_expect(strstr(t, "memory cgroup /docker/3f4e: limit 256.0 MiB of memory+swap, usage "
			    "256.0 MiB, peak 256.0 MiB; the kernel's log (record 812)\n"), "%s", t);
	j = printed(r, true);
	cr_expect(strstr(j, "\"constraint\":\"memcg\",\"constraint_source\":\"kmsg\","), "%s", j);
	cr_expect(strstr(j, "\"limit_kind\":\"memory+swap\""), "%s", j);
	cr_expect(strstr(j, "\"kernel\":{\"seq\":812,\"constraint\":\"memcg\",\"oom_memcg\":"
			    "\"/docker/3f4e\",\"task_memcg\":\"/docker/3f4e\",\"task\":\"node\","
			    "\"pid\":15744,"), "%s", j);
	free(t);
	free(j);
	oom_report__free(r);
}

Test(oom_report, kernel_memory_limit_with_swap_room)
{
	struct oom_kmsg_kill k = docker_kill();
	struct oom_report *r = docker_victim();

	k.memsw.limit = 512 * MIB;	/* --memory-swap 512m: memory was the limit */
	cr_assert_eq(oom_report__set_kernel(r, &k, NULL, 0), 0);
	cr_expect_eq(r->limit_kind, OOM_LIMIT_MEMORY);
	cr_expect_eq(r->limit, 256 * MIB);
	cr_expect_str_eq(r->cgroup, "/docker/3f4e", "named even without its files");
	oom_report__free(r);
}

Test(oom_report, kernel_global_oom)
{
	struct oom_cgroup chain[1] = {
		{ .path = "/docker/3f4e", .limit = UNL, .usage = 3 * GIB, .trigger_inside = true },
	};
	struct oom_kmsg_kill k = docker_kill();
	struct oom_report *r = docker_victim();

	k.constraint = OOM_KMSG_NONE;
	k.oom_memcg[0] = '\0';
	k.memory.have = k.memsw.have = false;
	cr_assert_eq(oom_report__set_kernel(r, &k, chain, 1), 0);
	cr_expect_eq(r->constraint, OOM_GLOBAL);
	cr_expect_eq(r->source, OOM_SOURCE_KMSG);
	cr_expect_str_eq(r->cgroup, "/docker/3f4e");
	cr_expect_eq(r->limit, UNL);
	oom_report__free(r);
}

Test(oom_report, kernel_record_that_contradicts_is_refused)
{
	struct oom_kmsg_kill k = docker_kill();
	struct oom_report *r = docker_victim();

	k.pid = 15745;
	cr_expect_eq(oom_report__set_kernel(r, &k, NULL, 0), -ESRCH);
	k = docker_kill();
	/* A comm or cgroup name with commas shifted the fields. */
	snprintf(k.task_memcg, sizeof(k.task_memcg), "/docker/3f4e,task=x");
	cr_expect_eq(oom_report__set_kernel(r, &k, NULL, 0), -EINVAL);
	k = docker_kill();
	snprintf(k.oom_memcg, sizeof(k.oom_memcg), "/other");
	cr_expect_eq(oom_report__set_kernel(r, &k, NULL, 0), -EINVAL,
		     "the limiting cgroup must hold the victim");
	cr_expect_eq(r->source, OOM_SOURCE_INFERRED);
	cr_expect_str_eq(r->cgroup, "");
	oom_report__free(r);
}

Test(oom_report, inferred_says_so)
{
	struct oom_report *r = sample_report();
	char *t = printed(r, false);

	cr_expect(strstr(t, "; inferred from usage against limit (no kernel record of this kill)\n"),
		  "%s", t);
	free(t);
	oom_report__free(r);
}

Test(oom_report, container_name_in_text_and_json)
{
	struct oom_report *r = sample_report();
	char *t, *j;

	snprintf(r->victim.name, sizeof(r->victim.name), "leaky-api");
	t = printed(r, false);
	j = printed(r, true);
	cr_expect(strstr(t, ": pid 4242 (leaker) in leaky-api\n"), "%s", t);
	cr_expect(strstr(t, "victim       pid 4242 (leaker), container leaky-api (3f4e5a6b7c8d)"),
		  "%s", t);
	cr_expect(strstr(j, "\"container\":\"3f4e5a6b7c8d\",\"container_name\":\"leaky-api\""),
		  "%s", j);
	free(t);
	free(j);
	oom_report__free(r);
}

/* Eight unnamed JIT frames are one, and the named frames around them show. */
Test(oom_report, jit_runs_collapse)
{
	struct oom_report *r = new_report();
	const char *frames[] = {
		"ctr", "node", "_start", "uv_run", "[v8 jit]", "[v8 jit]", "[v8 jit]", "[v8 jit]",
		"[v8 jit]", "[v8 jit]", "[v8 jit]", "[v8 jit]", "Builtins_InterpreterEntryTrampoline",
		"[v8 jit]", "[v8 jit]", "v8::internal::Heap::AllocateRaw", "[unknown]",
	};
	char *t;

	r->evidence = true;
	cr_assert_eq(add_text(r, frames, sizeof(frames) / sizeof(frames[0]),
					   36 * MIB), 0);
	t = printed(r, false);
	cr_expect(strstr(t, "36.0 MiB  [unknown] < v8::internal::Heap::AllocateRaw < [v8 jit] x2 < "
			    "Builtins_InterpreterEntryTrampoline < [v8 jit] x8 < uv_run < _start\n"),
		  "%s", t);
	free(t);
	oom_report__free(r);
}
