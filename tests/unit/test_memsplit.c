#include <criterion/criterion.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cgroups.h"
#include "fixture_tree.h"

#include "memsplit.h"

#define MIB	(1024.0 * 1024.0)
#define N	40	/* readings, every 0.5 s: a 20 s window */

/* One series per class; NaN-free unless a test says otherwise. */
struct window {
	double t[N];
	double v[MEM_NR_CLASSES][N];
	const double *p[MEM_NR_CLASSES];
};

static void window_init(struct window *w)
{
	memset(w, 0, sizeof(*w));
	for (int i = 0; i < N; i++)
		w->t[i] = 100 + i * 0.5;
	for (int c = 1; c < MEM_NR_CLASSES; c++)
		w->p[c] = w->v[c];
}

/* A garbage collector's sawtooth: rises by `amp` over `period` readings,
 * then drops back. */
static double sawtooth(int i, int period, double amp)
{
	return amp * (i % period) / (period - 1);
}

static struct memsplit_judgement judge(const struct window *w)
{
	struct memsplit_judgement j;

	memsplit__judge(w->t, w->p, N, &j);
	return j;
}

Test(memsplit, steady_js_leak_is_v8_heap_growth)
{
	struct window w;
	struct memsplit_judgement j;

	window_init(&w);
	for (int i = 0; i < N; i++) {
		w.v[MEM_CLASS_V8_HEAP][i] = 100 * MIB + i * 8 * MIB;	/* 960 MiB/min */
		w.v[MEM_CLASS_NATIVE][i] = 30 * MIB;
		w.v[MEM_CLASS_FILE][i] = 40 * MIB;
	}
	j = judge(&w);
	cr_assert_eq(j.verdict, GROWTH_V8, "got %s", growth__verdict_name(j.verdict));
	cr_assert_float_eq(j.rate[MEM_CLASS_V8_HEAP], 960, 40, "rate %.1f", j.rate[MEM_CLASS_V8_HEAP]);
	cr_assert_eq(j.rate[MEM_CLASS_NATIVE], 0);
	cr_assert(isnan(j.rate[MEM_CLASS_NONE]));
}

Test(memsplit, leak_under_a_gc_sawtooth_is_still_growth)
{
	struct window w;

	window_init(&w);
	for (int i = 0; i < N; i++)
		w.v[MEM_CLASS_V8_HEAP][i] = 60 * MIB + i * 6 * MIB + sawtooth(i, 4, 20 * MIB);
	cr_assert_eq(judge(&w).verdict, GROWTH_V8);
}

Test(memsplit, gc_sawtooth_alone_is_stable)
{
	struct window w;

	/* Seen from node running a bounded LRU cache: 60..125 MiB every 2 s. */
	window_init(&w);
	for (int i = 0; i < N; i++) {
		w.v[MEM_CLASS_V8_HEAP][i] = 60 * MIB + sawtooth(i, 4, 65 * MIB) + (i % 3) * MIB;
		w.v[MEM_CLASS_NATIVE][i] = 50 * MIB + (i % 2) * 256 * 1024.0;
	}
	cr_assert_eq(judge(&w).verdict, GROWTH_STABLE, "got %s",
		     growth__verdict_name(judge(&w).verdict));
}

Test(memsplit, sawtooth_whose_floor_creeps_by_chance_is_stable)
{
	struct window w;

	/* Minima 60, 61, 62, 63 MiB: monotonic, but far below the swing. */
	window_init(&w);
	for (int i = 0; i < N; i++)
		w.v[MEM_CLASS_V8_HEAP][i] = 60 * MIB + (i / 10) * MIB + sawtooth(i, 5, 60 * MIB);
	cr_assert_eq(judge(&w).verdict, GROWTH_STABLE);
}

Test(memsplit, growth_that_stopped_early_is_stable)
{
	struct window w;

	/* Fills its cache in the first third, then holds it. */
	window_init(&w);
	for (int i = 0; i < N; i++)
		w.v[MEM_CLASS_V8_HEAP][i] = (i < 10 ? i * 10 : 100) * MIB + sawtooth(i, 4, 4 * MIB);
	cr_assert_eq(judge(&w).verdict, GROWTH_STABLE);
}

Test(memsplit, buffers_are_native_growth_next_to_a_busy_heap)
{
	struct window w;
	struct memsplit_judgement j;

	window_init(&w);
	for (int i = 0; i < N; i++) {
		w.v[MEM_CLASS_V8_HEAP][i] = 40 * MIB + sawtooth(i, 4, 16 * MIB);
		w.v[MEM_CLASS_NATIVE][i] = 40 * MIB + i * 10 * MIB;
	}
	j = judge(&w);
	cr_assert_eq(j.verdict, GROWTH_NATIVE, "got %s", growth__verdict_name(j.verdict));
	cr_assert_eq(j.rate[MEM_CLASS_V8_HEAP], 0);
}

Test(memsplit, the_fastest_growing_class_wins)
{
	struct window w;

	window_init(&w);
	for (int i = 0; i < N; i++) {
		w.v[MEM_CLASS_NATIVE][i] = i * 1 * MIB;
		w.v[MEM_CLASS_FILE][i] = i * 3 * MIB;
		w.v[MEM_CLASS_KERNEL][i] = i * 0.5 * MIB;
	}
	cr_assert_eq(judge(&w).verdict, GROWTH_PAGE_CACHE);
}

Test(memsplit, everything_falling_is_shrinking)
{
	struct window w;

	window_init(&w);
	for (int i = 0; i < N; i++) {
		w.v[MEM_CLASS_V8_HEAP][i] = (400 - i * 5) * MIB;
		w.v[MEM_CLASS_NATIVE][i] = (200 - i * 2) * MIB;
	}
	cr_assert_eq(judge(&w).verdict, GROWTH_SHRINKING);
}

Test(memsplit, slow_growth_under_the_threshold_is_stable)
{
	struct window w;

	/* 0.6 MiB over 20 s: rising, but under 1 MiB/min of noise. */
	window_init(&w);
	for (int i = 0; i < N; i++)
		w.v[MEM_CLASS_NATIVE][i] = 100 * MIB + i * 16 * 1024.0;
	cr_assert_eq(judge(&w).verdict, GROWTH_STABLE);
}

Test(memsplit, unknown_and_missing_readings)
{
	struct window w;
	struct memsplit_judgement j;

	window_init(&w);
	w.p[MEM_CLASS_KERNEL] = NULL;		/* not measured for a process */
	for (int i = 0; i < N; i++)
		w.v[MEM_CLASS_V8_HEAP][i] = i % 3 ? NAN : i * 4 * MIB;
	j = judge(&w);
	cr_assert(isnan(j.rate[MEM_CLASS_KERNEL]));
	cr_assert_eq(j.verdict, GROWTH_V8, "NaN readings are skipped, not zero");

	memsplit__judge(w.t, w.p, 1, &j);
	cr_assert_eq(j.verdict, GROWTH_STABLE, "one reading: nothing to judge");
	cr_assert(isnan(j.rate[MEM_CLASS_V8_HEAP]));
	memsplit__judge(w.t, w.p, 0, &j);
	cr_assert_eq(j.verdict, GROWTH_STABLE);
}

Test(memsplit, short_window_with_few_readings)
{
	struct window w;
	struct memsplit_judgement j;

	/* Three readings: each its own segment. */
	window_init(&w);
	w.v[MEM_CLASS_V8_HEAP][0] = 10 * MIB;
	w.v[MEM_CLASS_V8_HEAP][1] = 50 * MIB;
	w.v[MEM_CLASS_V8_HEAP][2] = 90 * MIB;
	memsplit__judge(w.t, w.p, 3, &j);
	cr_assert_eq(j.verdict, GROWTH_V8);
	w.v[MEM_CLASS_V8_HEAP][2] = 20 * MIB;
	memsplit__judge(w.t, w.p, 3, &j);
	cr_assert_eq(j.rate[MEM_CLASS_V8_HEAP], 0, "fell back: not monotonic");
	cr_assert_eq(j.verdict, GROWTH_SHRINKING, "the recent readings fall");
}

/* Our own memory cgroup path, from /proc/self/cgroup, with the version of
 * the line it came from. */
static void own_cgroup(char *path, size_t len, int *version)
{
	FILE *f = fopen("/proc/self/cgroup", "re");
	char line[4096];

	cr_assert_not_null(f);
	*version = 2;
	snprintf(path, len, "/");
	while (fgets(line, sizeof(line), f)) {
		char *p = strstr(line, ":memory:");
		bool v2 = !strncmp(line, "0::", 3);

		if (!p && !v2)
			continue;
		p = p ? p + strlen(":memory:") : line + 3;
		p[strcspn(p, "\n")] = '\0';
		cr_assert_lt(strlen(p), len);
		memcpy(path, p, strlen(p) + 1);
		*version = v2 ? 2 : 1;
		if (!v2)
			break;	/* a v1 memory line wins over the v2 one */
	}
	fclose(f);
}

/* The readings of a removed cgroup are dropped and its entry goes to the
 * next new cgroup: containers coming and going must not grow memscope. The
 * hierarchy is a fixture mirroring our own cgroup's path. */
Test(memsplit, removed_cgroups_give_their_entry_back)
{
	struct fixture_tree t;
	struct cg_hier h = { 0 };
	uint32_t pids[2] = { (uint32_t)getpid(), 0 };
	struct memsplit_opts o = { .proc_root = "/proc", .hier = &h, .pids = pids, .n_pids = 2 };
	char own[2048], rel[2100];
	struct memsplit *s;
	size_t entries;
	pid_t child;

	ftree_init(&t);
	own_cgroup(own, sizeof(own), &h.version);
	snprintf(h.mount, sizeof(h.mount), "%s", ftree_path(&t, "/m"));
	snprintf(rel, sizeof(rel), "/m%s/memory.stat", strcmp(own, "/") ? own : "");
	ftree_write(&t, rel, "anon 4096\nfile 0\n", (size_t)-1);
	s = memsplit__start(&o, 0);
	cr_assert_not_null(s);
	cr_assert_eq(memsplit__containers(s, &entries), 1);
	cr_assert_eq(entries, 1);

	ftree_remove(&t);	/* the cgroup is removed */
	memsplit__tick(s, 0.6);
	cr_assert_eq(memsplit__containers(s, &entries), 0, "a removed cgroup is let go");
	cr_assert_eq(entries, 1);

	/* A new process in a cgroup (made again at the same path) takes the
	 * entry back instead of adding one. */
	ftree_init(&t);
	snprintf(h.mount, sizeof(h.mount), "%s", ftree_path(&t, "/m"));
	ftree_write(&t, rel, "anon 4096\nfile 0\n", (size_t)-1);
	child = fork();
	cr_assert_geq(child, 0);
	if (child == 0) {
		pause();
		_exit(0);
	}
	pids[1] = (uint32_t)child;
	memsplit__tick(s, 1.2);
	cr_expect_eq(memsplit__containers(s, &entries), 1);
	cr_expect_eq(entries, 1, "the removed cgroup's entry is reused");
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	memsplit__free(s);
	ftree_remove(&t);
}
