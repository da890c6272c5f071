#include <criterion/criterion.h>
#include <errno.h>
#include <malloc.h>
#include <stdalign.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hmap.h"

/* Deterministic, well-spread 64-bit values to build keys from an index. */
static uint64_t mix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

struct key16 {
	uint64_t a, b;
};

static struct key16 key_of(uint64_t i)
{
	return (struct key16){ mix64(i), mix64(i ^ 0x5555555555555555ULL) };
}

static struct hmap *new_map(size_t value_size)
{
	struct hmap *m = hmap__new(value_size);

	cr_assert_not_null(m, "hmap__new: %s", strerror(errno));
	return m;
}

Test(hmap, empty_map)
{
	struct hmap *m = new_map(8);
	size_t iter = 0;

	cr_assert_eq(hmap__count(m), 0);
	cr_assert_null(hmap__find(m, "x", 1));
	cr_assert_null(hmap__find(m, NULL, 0));
	cr_assert_eq(hmap__delete(m, "x", 1), -ENOENT);
	cr_assert_not(hmap__next(m, &iter, NULL, NULL, NULL));
	hmap__free(m);
	hmap__free(NULL);
}

Test(hmap, upsert_creates_zeroed_value_once)
{
	static const unsigned char zero[40];
	struct hmap *m = new_map(sizeof(zero));
	bool created = false;
	unsigned char *v;

	v = hmap__upsert(m, "key", 3, &created);
	cr_assert_not_null(v);
	cr_assert(created);
	cr_assert_arr_eq(v, zero, sizeof(zero));
	memset(v, 0xab, sizeof(zero));

	v = hmap__upsert(m, "key", 3, &created);
	cr_assert_not(created);
	cr_assert_eq(v[0], 0xab);
	cr_assert_eq(v[39], 0xab);
	cr_assert_eq(hmap__find(m, "key", 3), v);
	cr_assert_eq(hmap__count(m), 1);
	cr_assert_not_null(hmap__upsert(m, "other", 5, NULL));
	cr_assert_eq(hmap__count(m), 2);
	hmap__free(m);
}

/* Keys are byte strings: prefixes, embedded NULs and the empty key are all distinct. */
Test(hmap, keys_are_exact_byte_strings)
{
	static const struct {
		const char *bytes;
		size_t len;
	} keys[] = {
		{ "", 0 }, { "a", 1 }, { "ab", 2 }, { "ab\0", 3 }, { "ab\0c", 4 },
		{ "ba", 2 }, { "\xff\x00\x01", 3 }, { "\0", 1 }, { "\0\0", 2 },
		{ "abcdefgh", 8 }, { "abcdefghi", 9 }, { "abcdefg", 7 },
	};
	const size_t n = sizeof(keys) / sizeof(keys[0]);
	struct hmap *m = new_map(sizeof(size_t));

	for (size_t i = 0; i < n; i++) {
		bool created;
		size_t *v = hmap__upsert(m, keys[i].bytes, keys[i].len, &created);

		cr_assert_not_null(v);
		cr_assert(created, "key %zu collided with an earlier one", i);
		*v = i;
	}
	cr_assert_eq(hmap__count(m), n);
	for (size_t i = 0; i < n; i++) {
		size_t *v = hmap__find(m, keys[i].bytes, keys[i].len);

		cr_assert_not_null(v, "key %zu not found", i);
		cr_assert_eq(*v, i);
	}
	cr_assert_null(hmap__find(m, "abc", 3));
	cr_assert_null(hmap__find(m, "ab\0d", 4));
	cr_assert_null(hmap__find(m, "\0\0\0", 3));
	hmap__free(m);
}

Test(hmap, key_is_copied)
{
	struct hmap *m = new_map(4);
	char buf[] = "transient";
	const void *key;
	size_t len, iter = 0;

	cr_assert_not_null(hmap__upsert(m, buf, sizeof(buf), NULL));
	memset(buf, 'X', sizeof(buf) - 1);
	cr_assert_null(hmap__find(m, buf, sizeof(buf)));
	cr_assert_not_null(hmap__find(m, "transient", sizeof(buf)));
	cr_assert(hmap__next(m, &iter, &key, &len, NULL));
	cr_assert_eq(len, sizeof(buf));
	cr_assert_str_eq(key, "transient");
	hmap__free(m);
}

Test(hmap, zero_value_size_is_a_set)
{
	struct hmap *m = new_map(0);

	cr_assert_not_null(hmap__upsert(m, "a", 1, NULL));
	cr_assert_not_null(hmap__upsert(m, "b", 1, NULL));
	cr_assert_not_null(hmap__find(m, "a", 1));
	cr_assert_eq(hmap__delete(m, "a", 1), 0);
	cr_assert_null(hmap__find(m, "a", 1));
	cr_assert_eq(hmap__count(m), 1);
	hmap__free(m);
}

Test(hmap, values_are_aligned)
{
	static const size_t sizes[] = { 1, 3, 8, 17, 24, 100 };

	for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		struct hmap *m = new_map(sizes[s]);

		for (uint64_t i = 0; i < 100; i++) {
			struct key16 k = key_of(i);
			void *v = hmap__upsert(m, &k, 1 + i % 16, NULL);

			cr_assert_not_null(v);
			cr_assert_eq((uintptr_t)v % alignof(max_align_t), 0,
				     "value_size %zu: misaligned value", sizes[s]);
		}
		hmap__free(m);
	}
}

Test(hmap, delete_then_reinsert)
{
	struct hmap *m = new_map(sizeof(uint64_t));
	uint64_t *v;
	bool created;

	*(uint64_t *)hmap__upsert(m, "k", 1, NULL) = 42;
	cr_assert_eq(hmap__delete(m, "k", 1), 0);
	cr_assert_null(hmap__find(m, "k", 1));
	cr_assert_eq(hmap__delete(m, "k", 1), -ENOENT);
	cr_assert_eq(hmap__count(m), 0);

	v = hmap__upsert(m, "k", 1, &created);
	cr_assert(created);
	cr_assert_eq(*v, 0, "a re-created value must be zeroed, not the old one");
	hmap__free(m);
}

/* Lengths 0..600 cover every SipHash tail length and multi-block keys. */
Test(hmap, keys_of_many_lengths)
{
	static unsigned char buf[600];
	struct hmap *m = new_map(sizeof(size_t));

	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (unsigned char)mix64(i);
	for (size_t len = 0; len <= sizeof(buf); len++)
		*(size_t *)hmap__upsert(m, buf, len, NULL) = len;
	cr_assert_eq(hmap__count(m), sizeof(buf) + 1);
	for (size_t len = 0; len <= sizeof(buf); len++) {
		size_t *v = hmap__find(m, buf, len);

		cr_assert_not_null(v, "len %zu", len);
		cr_assert_eq(*v, len);
	}
	hmap__free(m);
}

static void fill(struct hmap *m, uint64_t n)
{
	for (uint64_t i = 0; i < n; i++) {
		struct key16 k = key_of(i);
		uint64_t *v = hmap__upsert(m, &k, sizeof(k), NULL);

		cr_assert_not_null(v);
		*v = i;
	}
}

Test(hmap, iteration_visits_each_entry_once)
{
	enum { N = 5000 };
	static unsigned char seen[N];
	struct hmap *m = new_map(sizeof(uint64_t));
	const void *key;
	size_t len, iter = 0, visits = 0;
	void *val;

	fill(m, N);
	while (hmap__next(m, &iter, &key, &len, &val)) {
		uint64_t i = *(uint64_t *)val;
		struct key16 k = key_of(i);

		cr_assert_lt(i, N);
		cr_assert_eq(len, sizeof(k));
		cr_assert_arr_eq(key, &k, sizeof(k));
		cr_assert_eq(seen[i]++, 0, "entry %lu visited twice", (unsigned long)i);
		visits++;
	}
	cr_assert_eq(visits, N);
	cr_assert_not(hmap__next(m, &iter, &key, &len, &val), "iteration must stay finished");
	hmap__free(m);
}

Test(hmap, delete_during_iteration)
{
	enum { N = 5000 };
	static unsigned char seen[N];
	struct hmap *m = new_map(sizeof(uint64_t));
	const void *key;
	size_t len, iter = 0, visits = 0;
	void *val;

	fill(m, N);
	while (hmap__next(m, &iter, &key, &len, &val)) {
		uint64_t i = *(uint64_t *)val;

		cr_assert_eq(seen[i]++, 0);
		visits++;
		if (i % 2 == 0) {
			struct key16 k = key_of(i);

			cr_assert_eq(hmap__delete(m, &k, sizeof(k)), 0);
		}
	}
	cr_assert_eq(visits, N);
	cr_assert_eq(hmap__count(m), N / 2);
	for (uint64_t i = 0; i < N; i++) {
		struct key16 k = key_of(i);

		cr_assert_eq(hmap__find(m, &k, sizeof(k)) != NULL, i % 2 == 1);
	}
	hmap__free(m);
}

/* The seed is per map: the same keys land in a different order. */
Test(hmap, hash_seed_differs_between_maps)
{
	enum { N = 1000 };
	struct hmap *a = new_map(sizeof(uint64_t)), *b = new_map(sizeof(uint64_t));
	size_t ia = 0, ib = 0, same = 0;
	void *va, *vb;

	fill(a, N);
	fill(b, N);
	while (hmap__next(a, &ia, NULL, NULL, &va) && hmap__next(b, &ib, NULL, NULL, &vb))
		same += *(uint64_t *)va == *(uint64_t *)vb;
	cr_assert_lt(same, N / 2, "two maps iterate alike: hash seed is not per map");
	hmap__free(a);
	hmap__free(b);
}

Test(hmap, million_entries_match_reference)
{
	enum { N = 1000000 };
	struct hmap *m = new_map(sizeof(uint64_t));
	uint64_t sum = 0;
	size_t iter = 0;
	void *val;

	fill(m, N);
	cr_assert_eq(hmap__count(m), N);
	for (uint64_t i = 0; i < N; i++) {
		struct key16 k = key_of(i);
		uint64_t *v = hmap__find(m, &k, sizeof(k));

		cr_assert_not_null(v, "key %lu lost", (unsigned long)i);
		cr_assert_eq(*v, i);
	}
	for (uint64_t i = 0; i < N; i += 3) {
		struct key16 k = key_of(i);

		cr_assert_eq(hmap__delete(m, &k, sizeof(k)), 0);
	}
	for (uint64_t i = 0; i < N; i++) {
		struct key16 k = key_of(i);
		uint64_t *v = hmap__find(m, &k, sizeof(k));

		if (i % 3 == 0) {
			cr_assert_null(v, "deleted key %lu still found", (unsigned long)i);
		} else {
			cr_assert_not_null(v);
			cr_assert_eq(*v, i);
		}
	}
	cr_assert_eq(hmap__count(m), N - (N + 2) / 3);
	while (hmap__next(m, &iter, NULL, NULL, &val))
		sum += *(uint64_t *)val;
	cr_assert_eq(sum, (uint64_t)N * (N - 1) / 2 - 3 * ((uint64_t)(N + 2) / 3) *
		      ((N + 2) / 3 - 1) / 2);
	hmap__free(m);
}

/*
 * Random inserts, updates and deletes over a small key space, so slots are
 * reused and tombstones pile up, compared step by step with a plain array.
 */
Test(hmap, random_operations_match_reference)
{
	enum { KEYS = 4096, OPS = 1000000 };
	static uint64_t ref_val[KEYS];
	static bool ref_live[KEYS];
	struct hmap *m = new_map(sizeof(uint64_t));
	uint64_t rng = 12345;
	size_t live = 0, iter = 0, visits = 0;
	void *val;

	for (uint64_t op = 0; op < OPS; op++) {
		uint64_t r = mix64(rng++);
		uint64_t i = r % KEYS;
		struct key16 k = key_of(i);
		/* varying lengths over 9..16 bytes; the first 8 alone are unique per i */
		size_t len = 9 + i % 8;
		uint64_t *v;
		bool created;

		switch ((r >> 32) % 3) {
		case 0:
			v = hmap__upsert(m, &k, len, &created);
			cr_assert_not_null(v);
			cr_assert_eq(created, !ref_live[i]);
			if (created) {
				cr_assert_eq(*v, 0);
				ref_live[i] = true;
				live++;
			}
			*v = ref_val[i] = r;
			break;
		case 1:
			cr_assert_eq(hmap__delete(m, &k, len), ref_live[i] ? 0 : -ENOENT);
			if (ref_live[i]) {
				ref_live[i] = false;
				live--;
			}
			break;
		default:
			v = hmap__find(m, &k, len);
			cr_assert_eq(v != NULL, ref_live[i], "op %lu key %lu", (unsigned long)op,
				     (unsigned long)i);
			if (v)
				cr_assert_eq(*v, ref_val[i]);
		}
		cr_assert_eq(hmap__count(m), live);
	}
	while (hmap__next(m, &iter, NULL, NULL, &val))
		visits++;
	cr_assert_eq(visits, live);
	hmap__free(m);
}

/* Budget: 10M 16-byte keys in < 1 GiB, i.e. < 107 bytes per entry all included. */
Test(hmap, memory_per_entry)
{
	enum { N = 1000000 };
	struct mallinfo2 before, after;
	struct hmap *m;
	size_t used;

	before = mallinfo2();
	m = new_map(sizeof(uint64_t));
	fill(m, N);
	after = mallinfo2();
	used = (after.uordblks + after.hblkhd) - (before.uordblks + before.hblkhd);
	cr_log_info("hmap: %zu bytes per 16-byte key + 8-byte value", used / N);
	cr_assert_lt(used / N, 100, "%zu bytes per entry", used / N);
	hmap__free(m);
}
