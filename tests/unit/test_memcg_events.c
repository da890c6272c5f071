#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include "memcg_events.h"
#include "timeline.h"

#define PAGE	4096
#define NONE	TIMELINE_KINDS

/* ---- item names to kinds and units ------------------------------------------ */

struct item_case {
	char name[40];		/* an array: Criterion copies parameters */
	int64_t val;
	int64_t want[TIMELINE_KINDS];	/* bytes added to each kind */
};

static struct item_case item_cases[] = {
	{ "NR_ANON_MAPPED", 3, { [TIMELINE_ANON] = 3 * PAGE } },
	{ "NR_ANON_MAPPED", -2, { [TIMELINE_ANON] = -2 * PAGE } },
	{ "NR_FILE_PAGES", 5, { [TIMELINE_FILE] = 5 * PAGE } },
	/* shmem is in NR_FILE_PAGES too: it moves out of file */
	{ "NR_SHMEM", 2, { [TIMELINE_SHMEM] = 2 * PAGE, [TIMELINE_FILE] = -2 * PAGE } },
	{ "MEMCG_KMEM", 1, { [TIMELINE_KERNEL] = PAGE } },
	{ "MEMCG_SOCK", 4, { [TIMELINE_SOCK] = 4 * PAGE } },
	/* _B items count bytes, _KB kibibytes, the rest pages */
	{ "NR_SLAB_RECLAIMABLE_B", 96, { [TIMELINE_KERNEL] = 96 } },
	{ "NR_SLAB_UNRECLAIMABLE_B", -64, { [TIMELINE_KERNEL] = -64 } },
	{ "NR_KERNEL_STACK_KB", 16, { [TIMELINE_KERNEL] = 16 * 1024 } },
	{ "NR_PAGETABLE", 1, { [TIMELINE_KERNEL] = PAGE } },
};

ParameterizedTestParameters(memcg_events, item_bytes)
{
	return cr_make_param_array(struct item_case, item_cases,
				   sizeof(item_cases) / sizeof(item_cases[0]));
}

ParameterizedTest(struct item_case *c, memcg_events, item_bytes)
{
	const struct memcg_item *it = memcg_events__item(c->name);
	int64_t got[TIMELINE_KINDS] = { 0 };

	cr_assert_not_null(it, "%s is not mapped", c->name);
	cr_expect_str_eq(it->name, c->name);
	memcg_events__add_bytes(it, c->val, PAGE, got);
	for (int k = 0; k < TIMELINE_KINDS; k++)
		cr_expect_eq(got[k], c->want[k], "%s %lld: %s is %lld, not %lld", c->name,
			     (long long)c->val, timeline__kind_name(k), (long long)got[k],
			     (long long)c->want[k]);
}

Test(memcg_events, kmem_parts_are_marked)
{
	static const char *const parts[] = { "NR_SLAB_RECLAIMABLE_B", "NR_SLAB_UNRECLAIMABLE_B",
					     "NR_KERNEL_STACK_KB", "NR_PAGETABLE" };

	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++)
		cr_expect(memcg_events__item(parts[i])->kmem_part, "%s", parts[i]);
	cr_expect_not(memcg_events__item("MEMCG_KMEM")->kmem_part);
	cr_expect_not(memcg_events__item("NR_ANON_MAPPED")->kmem_part);
}

Test(memcg_events, unknown_names_are_ignored)
{
	static const char *const names[] = {
		"NR_ANON_MAPPED ", "nr_anon_mapped", "NR_ANON", "", "NR_ACTIVE_ANON",
		"WORKINGSET_REFAULT_ANON", "MEMCG_SWAP", "MEMCG_NR_STAT", "NR_VM_NODE_STAT_ITEMS",
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		cr_expect_null(memcg_events__item(names[i]), "'%s' is mapped", names[i]);
	cr_expect_null(memcg_events__item(NULL));
}

Test(memcg_events, huge_counts_saturate)
{
	int64_t got[TIMELINE_KINDS] = { 0 };

	memcg_events__add_bytes(memcg_events__item("NR_ANON_MAPPED"), INT64_MAX / 2, PAGE, got);
	cr_expect_eq(got[TIMELINE_ANON], INT64_MAX);
	memcg_events__add_bytes(memcg_events__item("NR_ANON_MAPPED"), 1, PAGE, got);
	cr_expect_eq(got[TIMELINE_ANON], INT64_MAX);
	memcg_events__add_bytes(memcg_events__item("NR_SHMEM"), INT64_MIN, PAGE, got);
	cr_expect_eq(got[TIMELINE_SHMEM], INT64_MIN);
	cr_expect_eq(got[TIMELINE_FILE], INT64_MAX);
}

/* ---- deltas to absolute figures --------------------------------------------- */

static struct cgstat base_stat(void)
{
	return (struct cgstat){
		.usage = 100 * PAGE, .limit = 1000 * PAGE, .anon = 60 * PAGE, .file = 30 * PAGE,
		.kernel = 8 * PAGE, .sock = 0, .shmem = 2 * PAGE, .oom_kills = 1,
		.have = CGSTAT_USAGE | CGSTAT_ANON | CGSTAT_FILE | CGSTAT_KERNEL | CGSTAT_SOCK |
			CGSTAT_SHMEM,
	};
}

Test(memcg_events, apply_moves_from_the_baseline)
{
	struct cgstat base = base_stat(), out;
	/* The sums stood here when memory.stat was read... */
	int64_t at_base[TIMELINE_KINDS] = { [TIMELINE_ANON] = 500 * PAGE,
					    [TIMELINE_FILE] = -7 * PAGE };
	/* ...and here now: +10 anon, +3 file, +1 kernel pages since. */
	int64_t now[TIMELINE_KINDS] = { [TIMELINE_ANON] = 510 * PAGE, [TIMELINE_FILE] = -4 * PAGE,
					[TIMELINE_KERNEL] = PAGE };

	memcg_events__apply(&base, at_base, now, &out);
	cr_expect_eq(out.anon, 70 * PAGE);
	cr_expect_eq(out.file, 33 * PAGE);
	cr_expect_eq(out.kernel, 9 * PAGE);
	cr_expect_eq(out.shmem, 2 * PAGE);
	cr_expect_eq(out.sock, 0);
	cr_expect_eq(out.usage, 114 * PAGE);
	cr_expect_eq(out.limit, 1000 * PAGE, "what the sums do not cover stays as read");
	cr_expect_eq(out.oom_kills, 1);
	cr_expect_eq(out.have, base.have);
}

Test(memcg_events, apply_without_change_is_the_baseline)
{
	struct cgstat base = base_stat(), out;
	int64_t d[TIMELINE_KINDS] = { 12345, -6789, 0, 1, -1 };

	memcg_events__apply(&base, d, d, &out);
	cr_expect_eq(memcmp(&out, &base, sizeof(out)), 0);
}

Test(memcg_events, apply_never_goes_below_zero)
{
	struct cgstat base = base_stat(), out;
	int64_t zero[TIMELINE_KINDS] = { 0 };
	/* Frees of pages charged before the baseline that memory.stat, stale
	 * by up to a flush period, had not counted yet. */
	int64_t now[TIMELINE_KINDS] = { [TIMELINE_ANON] = -1000 * PAGE, [TIMELINE_SOCK] = -PAGE,
					[TIMELINE_SHMEM] = INT64_MIN };

	memcg_events__apply(&base, zero, now, &out);
	cr_expect_eq(out.anon, 0);
	cr_expect_eq(out.sock, 0);
	cr_expect_eq(out.shmem, 0);
	cr_expect_eq(out.file, 30 * PAGE);
	cr_expect_eq(out.usage, 0);
}

Test(memcg_events, apply_saturates_upwards)
{
	struct cgstat base = base_stat(), out;
	int64_t zero[TIMELINE_KINDS] = { 0 };
	int64_t now[TIMELINE_KINDS] = { INT64_MAX, INT64_MAX, INT64_MAX, INT64_MAX, INT64_MAX };
	int64_t low[TIMELINE_KINDS] = { INT64_MIN, 0, 0, 0, 0 };

	base.anon = UINT64_MAX - 1;
	memcg_events__apply(&base, zero, now, &out);
	cr_expect_eq(out.anon, UINT64_MAX);
	/* the kinds' total saturates at INT64_MAX before it moves usage */
	cr_expect_eq(out.usage, 100 * PAGE + (uint64_t)INT64_MAX);
	base.usage = UINT64_MAX - PAGE;
	memcg_events__apply(&base, zero, now, &out);
	cr_expect_eq(out.usage, UINT64_MAX);
	/* A baseline at INT64_MIN and a sum at INT64_MAX: no overflow either. */
	memcg_events__apply(&base, low, now, &out);
	cr_expect_eq(out.anon, UINT64_MAX);
}

/* ---- probing ---------------------------------------------------------------- */

Test(memcg_events, disabled_by_environment)
{
	struct cg_hier h = { .mount = "/nonexistent", .version = 1 };
	char why[128] = "x";

	setenv("MEMSCOPE_DISABLE", "raw_tp,memcg_tp", 1);
	errno = 0;
	cr_assert_null(memcg_events__open(&h, why, sizeof(why)));
	cr_expect_eq(errno, EOPNOTSUPP);
	cr_expect_str_eq(why, "disabled by MEMSCOPE_DISABLE=memcg_tp");
	/* why is optional; a tiny one is cut, not overrun */
	cr_expect_null(memcg_events__open(&h, NULL, 0));
	cr_expect_null(memcg_events__open(&h, why, 4));
	cr_expect_str_eq(why, "dis");
}

Test(memcg_events, bad_arguments)
{
	int64_t out[TIMELINE_KINDS];

	errno = 0;
	cr_expect_null(memcg_events__open(NULL, NULL, 0));
	cr_expect_eq(errno, EINVAL);
	cr_expect_eq(memcg_events__read(NULL), -EINVAL);
	cr_expect_eq(memcg_events__sum(NULL, "/", out), -EINVAL);
	cr_expect_eq(memcg_events__dropped(NULL), 0);
	memcg_events__free(NULL);
}
