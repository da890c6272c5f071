#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rangeset.h"

static struct rangeset *new_set(size_t max)
{
	struct rangeset *s = rangeset__new(max);

	cr_assert_not_null(s);
	return s;
}

static void expect_ranges(const struct rangeset *s, const struct range *want, size_t n)
{
	uint64_t bytes = 0;

	cr_assert_eq(rangeset__count(s), n, "count %zu, want %zu", rangeset__count(s), n);
	for (size_t i = 0; i < n; i++) {
		const struct range *r = rangeset__get(s, i);

		cr_assert_eq(r->start, want[i].start, "range %zu starts at %#lx", i, r->start);
		cr_assert_eq(r->end, want[i].end, "range %zu ends at %#lx", i, r->end);
		bytes += want[i].end - want[i].start;
	}
	cr_assert_null(rangeset__get(s, n));
	cr_assert_eq(rangeset__bytes(s), bytes);
}

Test(rangeset, bad_arguments)
{
	struct rangeset *s = new_set(4);

	cr_assert_null(rangeset__new(0));
	cr_assert_null(rangeset__new(RANGESET_MAX + 1));
	cr_assert_eq(rangeset__add(s, 10, 10), -EINVAL);
	cr_assert_eq(rangeset__add(s, 20, 10), -EINVAL);
	cr_assert_eq(rangeset__remove(s, 5, 5), -EINVAL);
	cr_assert_eq(rangeset__remove(s, 0, 100), 0, "removing from an empty set");
	cr_assert_not(rangeset__contains(s, 0));
	cr_assert_not(rangeset__contains(s, UINT64_MAX));
	expect_ranges(s, NULL, 0);
	rangeset__free(s);
	rangeset__free(NULL);
}

Test(rangeset, add_merges_overlapping_and_touching)
{
	struct rangeset *s = new_set(16);

	cr_assert_eq(rangeset__add(s, 100, 200), 0);
	cr_assert_eq(rangeset__add(s, 300, 400), 0);
	cr_assert_eq(rangeset__add(s, 0, 50), 0);
	expect_ranges(s, (struct range[]){ { 0, 50 }, { 100, 200 }, { 300, 400 } }, 3);
	cr_assert_eq(rangeset__add(s, 200, 300), 0, "touching both neighbours");
	expect_ranges(s, (struct range[]){ { 0, 50 }, { 100, 400 } }, 2);
	cr_assert_eq(rangeset__add(s, 120, 130), 0, "inside: no change");
	cr_assert_eq(rangeset__add(s, 40, 500), 0, "covers everything after 40");
	expect_ranges(s, (struct range[]){ { 0, 500 } }, 1);
	cr_assert_eq(rangeset__add(s, UINT64_MAX - 10, UINT64_MAX), 0);
	cr_assert(rangeset__contains(s, UINT64_MAX - 1));
	cr_assert_not(rangeset__contains(s, UINT64_MAX));
	rangeset__free(s);
}

Test(rangeset, remove_trims_and_splits)
{
	struct rangeset *s = new_set(16);

	rangeset__add(s, 0, 1000);
	cr_assert_eq(rangeset__remove(s, 400, 600), 0);
	expect_ranges(s, (struct range[]){ { 0, 400 }, { 600, 1000 } }, 2);
	cr_assert_eq(rangeset__remove(s, 400, 600), 0, "already gone");
	cr_assert_eq(rangeset__remove(s, 350, 650), 0, "trims both sides of the hole");
	expect_ranges(s, (struct range[]){ { 0, 350 }, { 650, 1000 } }, 2);
	cr_assert_eq(rangeset__remove(s, 350, 650), 0, "touching only");
	expect_ranges(s, (struct range[]){ { 0, 350 }, { 650, 1000 } }, 2);
	cr_assert_eq(rangeset__remove(s, 0, 350), 0, "a whole range");
	cr_assert_eq(rangeset__remove(s, 900, 5000), 0, "past the end");
	expect_ranges(s, (struct range[]){ { 650, 900 } }, 1);
	cr_assert(rangeset__contains(s, 650));
	cr_assert(rangeset__contains(s, 899));
	cr_assert_not(rangeset__contains(s, 900));
	cr_assert_not(rangeset__contains(s, 649));
	rangeset__clear(s);
	expect_ranges(s, NULL, 0);
	rangeset__free(s);
}

Test(rangeset, bounded_and_unchanged_when_full)
{
	struct rangeset *s = new_set(2);

	cr_assert_eq(rangeset__add(s, 0, 10), 0);
	cr_assert_eq(rangeset__add(s, 20, 30), 0);
	cr_assert_eq(rangeset__add(s, 40, 50), -E2BIG);
	cr_assert_eq(rangeset__add(s, 10, 20), 0, "a merge needs no entry");
	expect_ranges(s, (struct range[]){ { 0, 30 } }, 1);
	cr_assert_eq(rangeset__add(s, 40, 50), 0);
	cr_assert_eq(rangeset__remove(s, 5, 6), -E2BIG, "a split needs an entry");
	expect_ranges(s, (struct range[]){ { 0, 30 }, { 40, 50 } }, 2);
	cr_assert_eq(rangeset__remove(s, 0, 6), 0, "a trim does not");
	expect_ranges(s, (struct range[]){ { 6, 30 }, { 40, 50 } }, 2);
	rangeset__free(s);
}

/* Random adds and removes against a byte map of a small address space. */
#define SPACE 512

struct seed_param {
	unsigned seed;
};

ParameterizedTestParameters(rangeset, matches_a_bitmap_model)
{
	static struct seed_param seeds[] = { { 1 }, { 7 }, { 42 }, { 1234 }, { 99991 } };

	return cr_make_param_array(struct seed_param, seeds, sizeof(seeds) / sizeof(seeds[0]));
}

ParameterizedTest(struct seed_param *p, rangeset, matches_a_bitmap_model)
{
	struct rangeset *s = new_set(SPACE);
	unsigned char model[SPACE] = { 0 };
	unsigned state = p->seed;

	for (int op = 0; op < 4000; op++) {
		uint64_t a, b, bytes = 0, prev_end = 0;

		state = state * 1103515245u + 12345u;
		a = (state >> 8) % SPACE;
		state = state * 1103515245u + 12345u;
		b = a + 1 + (state >> 8) % 40;
		if (b > SPACE)
			b = SPACE;
		if ((state >> 4) & 1) {
			cr_assert_eq(rangeset__add(s, a, b), 0);
			memset(model + a, 1, b - a);
		} else {
			cr_assert_eq(rangeset__remove(s, a, b), 0);
			memset(model + a, 0, b - a);
		}
		for (uint64_t x = 0; x < SPACE; x++) {
			cr_assert_eq(rangeset__contains(s, x), model[x], "op %d: address %lu", op, x);
			bytes += model[x];
		}
		cr_assert_eq(rangeset__bytes(s), bytes);
		for (size_t i = 0; i < rangeset__count(s); i++) {
			const struct range *r = rangeset__get(s, i);

			cr_assert_lt(r->start, r->end);
			cr_assert(i == 0 || r->start > prev_end, "ranges must be merged and sorted");
			prev_end = r->end;
		}
	}
	rangeset__free(s);
}
