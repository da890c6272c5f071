#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "fixture_tree.h"
#include "timeline.h"

#define MIB (1024ULL * 1024)
#define CTR "/docker/3f4e5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f"

static struct cgstat stat_of(uint64_t usage, uint64_t anon, uint64_t file)
{
	return (struct cgstat){
		.usage = usage, .anon = anon, .file = file, .kernel = 4096, .sock = 0,
		.shmem = 8192, .have = CGSTAT_USAGE | CGSTAT_ANON | CGSTAT_FILE | CGSTAT_KERNEL |
				       CGSTAT_SOCK | CGSTAT_SHMEM,
	};
}

static struct timeline *new_tl(size_t points, size_t series)
{
	struct timeline *tl = timeline__new(&(struct timeline_opts){ .points = points,
								      .max_series = series });

	cr_assert_not_null(tl);
	return tl;
}

Test(timeline, options_are_checked)
{
	errno = 0;
	cr_expect_null(timeline__new(NULL));
	cr_expect_null(timeline__new(&(struct timeline_opts){ .points = TIMELINE_POINTS_MAX + 1 }));
	cr_expect_null(timeline__new(&(struct timeline_opts){ .max_series = TIMELINE_SERIES + 1 }));
	cr_expect_null(timeline__new(&(struct timeline_opts){ .period = -1 }));
	cr_expect_null(timeline__new(&(struct timeline_opts){ .period = NAN }));
	cr_expect_eq(errno, EINVAL);
	cr_expect_str_eq(timeline__source(NULL), "memory.stat");
	cr_expect_str_eq(timeline__kind_name(TIMELINE_SOCK), "sock");
	cr_expect_str_eq(timeline__kind_name(TIMELINE_KINDS), "unknown");
	timeline__free(NULL);
}

Test(timeline, bad_points_are_refused)
{
	struct timeline *tl = new_tl(4, 4);
	struct cgstat st = stat_of(1, 1, 0);

	cr_expect_eq(timeline__add(tl, NULL, 1, 0, &st), -EINVAL);
	cr_expect_eq(timeline__add(tl, "relative", 1, 0, &st), -EINVAL);
	cr_expect_eq(timeline__add(tl, "/a", 1, NAN, &st), -EINVAL);
	cr_expect_eq(timeline__add(tl, "/a", 1, INFINITY, &st), -EINVAL);
	cr_expect_eq(timeline__add(tl, "/a", 1, 0, NULL), -EINVAL);
	cr_expect_eq(timeline__add(NULL, "/a", 1, 0, &st), -EINVAL);
	cr_expect_eq(timeline__count(tl), 0);
	/* Time never goes back: such a point is dropped, not an error. */
	cr_expect_eq(timeline__add(tl, "/a", 1, 10, &st), 0);
	cr_expect_eq(timeline__add(tl, "/a", 1, 9, &st), 0);
	struct timeline_point p[4];
	cr_expect_eq(timeline__points(tl, "/a", p, 4), 1);
	timeline__free(tl);
}

/* The ring keeps the newest points, oldest first. */
Test(timeline, ring_is_bounded)
{
	struct timeline *tl = new_tl(3, 4);
	struct timeline_point p[8];

	for (int i = 0; i < 10; i++) {
		struct cgstat st = stat_of((uint64_t)i * MIB, (uint64_t)i * MIB, 0);

		cr_assert_eq(timeline__add(tl, "/a", 7, i, &st), 0);
	}
	cr_assert_eq(timeline__points(tl, "/a", p, 8), 3);
	for (int i = 0; i < 3; i++) {
		cr_expect_eq(p[i].t, 7 + i);
		cr_expect_eq(p[i].usage, (7 + i) * MIB);
		cr_expect_eq(p[i].kind[TIMELINE_ANON], (7 + i) * MIB);
		cr_expect_eq(p[i].kind[TIMELINE_SHMEM], 8192);
	}
	/* Fewer asked: the newest. */
	cr_assert_eq(timeline__points(tl, "/a", p, 1), 1);
	cr_expect_eq(p[0].t, 9);
	cr_expect_eq(timeline__points(tl, "/nope", p, 1), -ENOENT);
	timeline__free(tl);
}

Test(timeline, growth_fits_the_slope)
{
	struct timeline *tl = new_tl(300, 4);
	struct timeline_growth g;

	/* 1 MiB/s of anon, file flat: 60 MiB/min. */
	for (int i = 0; i <= 30; i++) {
		struct cgstat st = stat_of((100 + (uint64_t)i) * MIB, (uint64_t)i * MIB, 100 * MIB);

		cr_assert_eq(timeline__add(tl, "/a", 42, 1000 + i, &st), 0);
	}
	cr_assert_eq(timeline__growth(tl, "/a", &g), 0);
	cr_expect_str_eq(g.path, "/a");
	cr_expect_eq(g.cgid, 42);
	cr_expect_eq(g.points, 31);
	cr_expect_float_eq(g.seconds, 30, 1e-9);
	cr_expect_eq(g.start, 100 * MIB);
	cr_expect_eq(g.end, 130 * MIB);
	cr_expect_float_eq(g.slope, 60, 1e-6);
	cr_expect_float_eq(g.kind_slope[TIMELINE_ANON], 60, 1e-6);
	cr_expect_float_eq(g.kind_slope[TIMELINE_FILE], 0, 1e-6);
	cr_expect_eq(g.last.t, 1030);
	cr_expect_eq(timeline__growth(tl, "/b", &g), -ENOENT);
	timeline__free(tl);
}

/* The OOM case of issue 19: the container's anon grew 13 -> 246 MiB before
 * the kill, 240 MiB of it V8 heap at the kill: the verdict is V8's, not
 * native, once the V8 heap is known; anon is native while it is not. */
Test(timeline, judge_splits_anon_by_the_v8_heap)
{
	struct timeline *tl = new_tl(300, 4);
	struct timeline_growth g;
	struct verdict v;

	for (int i = 0; i <= 15; i++) {
		uint64_t anon = (13 + (uint64_t)i * 233 / 15) * MIB;
		struct cgstat st = stat_of(anon + 41 * MIB, anon, 41 * MIB);

		cr_assert_eq(timeline__add(tl, "/docker/61959bc6", 9, 100 + i, &st), 0);
	}
	cr_assert_eq(timeline__growth(tl, "/docker/61959bc6", &g), 0);
	cr_expect_eq(g.verdict.verdict, GROWTH_NATIVE, "V8 unknown: anon is native");
	cr_assert_eq(timeline__judge(tl, "/docker/61959bc6", 240.0 * MIB, NAN, &v), 0);
	cr_expect_eq(v.verdict, GROWTH_V8, "got %s", growth__verdict_name(v.verdict));
	cr_assert_eq(timeline__judge(tl, "/docker/61959bc6", 2.0 * MIB, NAN, &v), 0);
	cr_expect_eq(v.verdict, GROWTH_NATIVE, "a small V8 heap leaves the growth native");
	cr_expect_eq(timeline__judge(tl, "/nope", 0, NAN, &v), -ENOENT);
	timeline__free(tl);
}

/* A point after the kill shows the victim's pages freed: judged up to the
 * kill, the growth before it is what the report names. */
Test(timeline, judge_stops_at_the_kill)
{
	struct timeline *tl = new_tl(300, 4);
	struct verdict v;

	for (int i = 0; i <= 5; i++) {
		uint64_t anon = (i < 5 ? 1 + (uint64_t)i * 12 : 1) * MIB;
		struct cgstat st = stat_of(anon, anon, 0);

		cr_assert_eq(timeline__add(tl, "/leak", 3, 200 + i, &st), 0);
	}
	cr_assert_eq(timeline__judge(tl, "/leak", NAN, NAN, &v), 0);
	cr_expect_eq(v.verdict, GROWTH_STABLE, "back where it began: %s",
		     growth__verdict_name(v.verdict));
	cr_assert_eq(timeline__judge(tl, "/leak", NAN, 204.5, &v), 0);
	cr_expect_eq(v.verdict, GROWTH_NATIVE, "up to the kill: %s", growth__verdict_name(v.verdict));
	timeline__free(tl);
}

Test(timeline, one_point_has_no_slope)
{
	struct timeline *tl = new_tl(10, 4);
	struct cgstat st = stat_of(MIB, 0, 0);
	struct timeline_growth g;

	cr_assert_eq(timeline__add(tl, "/a", 1, 5, &st), 0);
	cr_assert_eq(timeline__growth(tl, "/a", &g), 0);
	cr_expect_eq(g.points, 1);
	cr_expect(isnan(g.slope));
	cr_expect_eq(g.start, g.end);
	timeline__free(tl);
}

/* The v2 root has no memory.current: its usage is what its kinds add up to. */
Test(timeline, usage_without_a_counter_is_the_sum_of_kinds)
{
	struct timeline *tl = new_tl(4, 4);
	struct cgstat st = { .anon = 1, .file = 2, .kernel = 4, .sock = 8, .shmem = 16,
			     .have = CGSTAT_ANON };
	struct timeline_point p;

	cr_assert_eq(timeline__add(tl, "/", 1, 0, &st), 0);
	cr_assert_eq(timeline__points(tl, "/", &p, 1), 1);
	cr_expect_eq(p.usage, 31);
	timeline__free(tl);
}

/* A cgroup inside a container is found under the container's series. */
Test(timeline, container_cgroups_share_a_series)
{
	struct timeline *tl = new_tl(4, 4);
	struct cgstat st = stat_of(MIB, 0, 0);
	struct timeline_growth g;

	cr_assert_eq(timeline__add(tl, CTR, 1, 0, &st), 0);
	cr_expect_eq(timeline__growth(tl, CTR "/init.scope", &g), 0);
	cr_expect_str_eq(g.path, CTR);
	/* A plain cgroup is its own row: its parent's series is not its. */
	cr_assert_eq(timeline__add(tl, "/plain", 1, 0, &st), 0);
	cr_expect_eq(timeline__growth(tl, "/plain/child", &g), -ENOENT);
	timeline__free(tl);
}

Test(timeline, series_count_is_bounded)
{
	struct timeline *tl = new_tl(4, 2);
	struct cgstat st = stat_of(MIB, 0, 0);

	cr_assert_eq(timeline__add(tl, "/a", 1, 10, &st), 0);
	cr_assert_eq(timeline__add(tl, "/b", 2, 10, &st), 0);
	/* Both current: no room. */
	cr_expect_eq(timeline__add(tl, "/c", 3, 10.5, &st), -ENOSPC);
	cr_expect_eq(timeline__count(tl), 2);
	/* /a keeps going, /b went quiet two periods ago: /b makes room. */
	cr_assert_eq(timeline__add(tl, "/a", 1, 13, &st), 0);
	cr_expect_eq(timeline__add(tl, "/c", 3, 13, &st), 0);
	cr_expect_eq(timeline__count(tl), 2);
	cr_expect_eq(timeline__points(tl, "/b", &(struct timeline_point){}, 1), -ENOENT);
	cr_expect_eq(timeline__points(tl, "/a", &(struct timeline_point){}, 1), 1);
	timeline__expire(tl, 13.5);
	cr_expect_eq(timeline__count(tl), 0);
	timeline__free(tl);
}

/* ---- sampling a fixture hierarchy ----------------------------------------------- */

static struct fixture_tree tree;

static void tree_setup(void)
{
	ftree_init(&tree);
}

static void tree_teardown(void)
{
	ftree_remove(&tree);
}

static void write_v2(const char *cg, uint64_t current, uint64_t anon)
{
	char path[256], text[512];

	snprintf(path, sizeof(path), "%s/memory.current", cg);
	snprintf(text, sizeof(text), "%llu\n", (unsigned long long)current);
	ftree_write(&tree, path, text, (size_t)-1);
	snprintf(path, sizeof(path), "%s/memory.stat", cg);
	snprintf(text, sizeof(text),
		 "anon %llu\nfile 4096\nkernel 8192\nsock 512\nshmem 1024\nfile_mapped 0\n"
		 "garbage line\n",
		 (unsigned long long)anon);
	ftree_write(&tree, path, text, (size_t)-1);
}

static struct timeline *tree_timeline(int version)
{
	struct cg_hier h = { .version = version };
	struct timeline *tl;

	snprintf(h.mount, sizeof(h.mount), "%s", tree.root);
	tl = timeline__new(&(struct timeline_opts){ .hier = &h, .points = 16 });
	cr_assert_not_null(tl);
	return tl;
}

TestSuite(timeline_tree, .init = tree_setup, .fini = tree_teardown);

Test(timeline_tree, samples_v2_cgroups_with_processes)
{
	struct timeline *tl;
	struct timeline_growth g;

	ftree_write(&tree, "/cgroup.procs", "", (size_t)-1);
	ftree_write(&tree, "/app/cgroup.procs", "4242\n", (size_t)-1);
	write_v2("/app", 10 * MIB, 8 * MIB);
	ftree_write(&tree, "/idle/cgroup.procs", "", (size_t)-1);
	write_v2("/idle", MIB, MIB);
	tl = tree_timeline(2);

	cr_assert_eq(timeline__tick(tl, 100), 0);
	/* Half a period later: nothing new. */
	write_v2("/app", 20 * MIB, 18 * MIB);
	cr_assert_eq(timeline__tick(tl, 100.4), 0);
	cr_assert_eq(timeline__tick(tl, 101), 0);
	write_v2("/app", 30 * MIB, 28 * MIB);
	cr_assert_eq(timeline__tick(tl, 102), 0);

	cr_expect_eq(timeline__count(tl), 1, "only the cgroup with processes");
	cr_assert_eq(timeline__growth(tl, "/app", &g), 0);
	cr_expect_eq(g.points, 3);
	cr_expect_eq(g.start, 10 * MIB);
	cr_expect_eq(g.end, 30 * MIB);
	cr_expect_float_eq(g.slope, 600, 1e-6, "10 MiB/s is 600 MiB/min");
	cr_expect_eq(g.last.kind[TIMELINE_ANON], 28 * MIB);
	cr_expect_eq(g.last.kind[TIMELINE_KERNEL], 8192);
	cr_expect_eq(g.last.kind[TIMELINE_SOCK], 512);
	cr_expect_eq(g.last.kind[TIMELINE_SHMEM], 1024);
	cr_expect_eq(g.last.kind[TIMELINE_FILE], 4096 - 1024, "shmem is not file");
	cr_expect_neq(g.cgid, 0, "the directory's inode");
	cr_expect_eq(timeline__growth(tl, "/idle", &g), -ENOENT);
	timeline__free(tl);
}

Test(timeline_tree, samples_v1_and_filters)
{
	struct timeline *tl;
	struct timeline_point p;

	ftree_write(&tree, "/a/cgroup.procs", "1\n", (size_t)-1);
	ftree_write(&tree, "/a/memory.usage_in_bytes", "5242880\n", (size_t)-1);
	ftree_write(&tree, "/a/memory.stat", "total_rss 4194304\ntotal_cache 1048576\n"
		    "total_shmem 0\n", (size_t)-1);
	ftree_write(&tree, "/b/cgroup.procs", "2\n", (size_t)-1);
	ftree_write(&tree, "/b/memory.usage_in_bytes", "1\n", (size_t)-1);
	ftree_write(&tree, "/b/memory.stat", "total_rss 1\n", (size_t)-1);
	tl = tree_timeline(1);

	cr_assert_eq(timeline__set_filter(tl, (const char *[]){ "/a" }, 1), 0);
	cr_assert_eq(timeline__tick(tl, 1), 0);
	cr_assert_eq(timeline__points(tl, "/a", &p, 1), 1);
	cr_expect_eq(p.usage, 5 * MIB);
	cr_expect_eq(p.kind[TIMELINE_ANON], 4 * MIB);
	cr_expect_eq(p.kind[TIMELINE_FILE], MIB);
	cr_expect_eq(timeline__points(tl, "/b", &p, 1), -ENOENT, "filtered out");
	cr_expect_eq(timeline__set_filter(tl, NULL, 1), -EINVAL);
	cr_assert_eq(timeline__set_filter(tl, NULL, 0), 0);
	cr_assert_eq(timeline__tick(tl, 2), 0);
	cr_expect_eq(timeline__points(tl, "/b", &p, 1), 1);
	timeline__free(tl);
}

/* A cgroup removed keeps its series, without new points, for a ring's length. */
Test(timeline_tree, removed_cgroup_keeps_its_past)
{
	static const char *const files[] = { "cgroup.procs", "memory.current", "memory.stat" };
	char path[128];
	struct timeline *tl;
	struct timeline_point p[4];

	ftree_write(&tree, "/gone/cgroup.procs", "7\n", (size_t)-1);
	write_v2("/gone", MIB, MIB);
	tl = tree_timeline(2);
	cr_assert_eq(timeline__tick(tl, 1), 0);
	for (size_t i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "/gone/%s", files[i]);
		cr_assert_eq(unlink(ftree_path(&tree, path)), 0);
	}
	cr_assert_eq(rmdir(ftree_path(&tree, "/gone")), 0);
	cr_assert_eq(timeline__tick(tl, 2), 0);
	cr_assert_eq(timeline__tick(tl, 10), 0, "a walk finds it gone");
	cr_expect_eq(timeline__points(tl, "/gone", p, 4), 1);
	/* 16 points of one second: by then it is forgotten. */
	cr_assert_eq(timeline__tick(tl, 18), 0);
	cr_expect_eq(timeline__points(tl, "/gone", p, 4), -ENOENT);
	timeline__free(tl);
}

/* The hierarchy itself gone: an error, no crash. */
Test(timeline_tree, vanished_hierarchy_is_an_error)
{
	struct timeline *tl = tree_timeline(2);

	ftree_remove(&tree);
	cr_expect_lt(timeline__tick(tl, 1), 0);
	timeline__free(tl);
}

/* The tracepoints only when asked for, and never when disabled: then the
 * fixture's memory.stat is read each period and the reason is given. */
Test(timeline_tree, source_says_why)
{
	struct cg_hier h = { .version = 2 };
	struct timeline *tl = new_tl(4, 4);

	cr_expect_str_eq(timeline__source(tl), "memory.stat");
	cr_expect_str_eq(timeline__source_why(tl), "points are added by the caller");
	timeline__free(tl);
	cr_expect_str_eq(timeline__source_why(NULL), "");

	tl = tree_timeline(2);
	cr_expect_str_eq(timeline__source(tl), "memory.stat");
	cr_expect_str_eq(timeline__source_why(tl), "the memcg tracepoints were not asked for");
	timeline__free(tl);

	setenv("MEMSCOPE_DISABLE", "memcg_tp", 1);
	snprintf(h.mount, sizeof(h.mount), "%s", tree.root);
	tl = timeline__new(&(struct timeline_opts){ .hier = &h, .memcg_tp = true });
	cr_assert_not_null(tl);
	cr_expect_str_eq(timeline__source(tl), "memory.stat");
	cr_expect_str_eq(timeline__source_why(tl),
			 "no memcg tracepoints: disabled by MEMSCOPE_DISABLE=memcg_tp");
	ftree_write(&tree, "/cgroup.procs", "", (size_t)-1);
	ftree_write(&tree, "/app/cgroup.procs", "4242\n", (size_t)-1);
	write_v2("/app", 10 * MIB, 8 * MIB);
	cr_expect_eq(timeline__tick(tl, 100), 0);
	cr_expect_eq(timeline__count(tl), 1, "the fallback samples the fixture");
	timeline__free(tl);
}
