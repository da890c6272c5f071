#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "folded.h"

Test(folded, sanitize)
{
	static const struct {
		const char *in;
		size_t len;		/* output buffer size */
		const char *want;
	} cases[] = {
		{ "malloc", 64, "malloc" },
		{ "a;b", 64, "a_b" },
		{ "operator new(unsigned long)", 64, "operator_new(unsigned_long)" },
		{ "line\nbreak\r\t", 64, "line_break__" },
		{ "\x01\x1f\x7f", 64, "___" },
		{ "", 64, "[unknown]" },
		{ NULL, 64, "[unknown]" },
		{ "caf\xc3\xa9", 64, "caf\xc3\xa9" },	/* UTF-8 passes through */
		{ "abcdefgh", 5, "abcd" },
		{ "abcdefgh", 1, "" },
		{ "a\xc3\xa9", 3, "a" },			/* \xc3 alone would split é */
		{ "a\xc3\xa9", 4, "a\xc3\xa9" },
		{ "ab\xf0\x9f\x94\xa5z", 5, "ab" },	/* 4-byte sequence cut after 2 */
		{ "ab\xf0\x9f\x94\xa5z", 6, "ab" },	/* ... and after 3 */
		{ "ab\xf0\x9f\x94\xa5z", 7, "ab\xf0\x9f\x94\xa5" },
		/* not UTF-8: one U+FFFD a byte, as many as fit */
		{ "\x80\x80\x80\x80\x80\x80", 5, "\xef\xbf\xbd" },
		{ "a\xffz", 64, "a\xef\xbf\xbdz" },
		/* C1 (U+009B is CSI) and ESC are controls: '_' like C0 */
		{ "a\xc2\x9b" "2J\x1b[2J", 64, "a_2J_[2J" },
		{ "\xc3\xa9", 2, "[" },			/* nothing left: placeholder, cut */
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char out[80];	/* > every len, to catch writes past it */

		memset(out, 'Z', sizeof(out));
		folded__sanitize(cases[i].in, out, cases[i].len);
		cr_expect_str_eq(out, cases[i].want, "case %zu (len %zu)", i, cases[i].len);
		cr_expect_eq(out[cases[i].len], 'Z', "case %zu wrote past len", i);
	}
}

Test(folded, sanitize_zero_len_writes_nothing)
{
	char out = 'Z';

	folded__sanitize("abc", &out, 0);
	cr_assert_eq(out, 'Z');
}

static struct folded *new_folded(void)
{
	struct folded *f = folded__new();

	cr_assert_not_null(f);
	return f;
}

/* Write f to a string (caller frees). */
static char *write_str(const struct folded *f)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);

	cr_assert_not_null(out);
	cr_assert_eq(folded__write(f, out), 0);
	fclose(out);
	return buf;
}

static int read_str(struct folded *f, const char *text, size_t len, size_t *bad)
{
	FILE *in = fmemopen((void *)text, len, "r");
	int err;

	cr_assert_not_null(in);
	err = folded__read(f, in, bad);
	fclose(in);
	return err;
}

static uint64_t value_of(const struct folded *f, const char *stack)
{
	const char *s;
	uint64_t v;
	size_t iter = 0;

	while (folded__next(f, &iter, &s, &v))
		if (!strcmp(s, stack))
			return v;
	cr_assert_fail("stack \"%s\" missing", stack);
	return 0;
}

Test(folded, add_merges_identical_stacks)
{
	struct folded *f = new_folded();
	const char *a[] = { "main", "alloc" };
	const char *b[] = { "main", "other" };

	cr_assert_eq(folded__add(f, a, 2, 4096), 0);
	cr_assert_eq(folded__add(f, b, 2, 100), 0);
	cr_assert_eq(folded__add(f, a, 2, 8192), 0);
	cr_assert_eq(folded__count(f), 2);
	cr_assert_eq(folded__total(f), 4096 + 100 + 8192);
	cr_assert_eq(value_of(f, "main;alloc"), 12288);
	cr_assert_eq(value_of(f, "main;other"), 100);
	folded__free(f);
}

Test(folded, add_sanitizes_frames)
{
	struct folded *f = new_folded();
	const char *frames[] = { "[container:web app]", "a;b", "", NULL, "leaf\n" };
	char *text;

	cr_assert_eq(folded__add(f, frames, 5, 1), 0);
	text = write_str(f);
	cr_assert_str_eq(text, "[container:web_app];a_b;[unknown];[unknown];leaf_ 1\n");
	free(text);
	folded__free(f);
}

Test(folded, add_rejects_empty_stack)
{
	struct folded *f = new_folded();
	const char *frames[] = { "x" };

	cr_assert_eq(folded__add(f, frames, 0, 1), -EINVAL);
	cr_assert_eq(folded__add(f, NULL, 1, 1), -EINVAL);
	cr_assert_eq(folded__count(f), 0);
	folded__free(f);
}

Test(folded, weights_saturate)
{
	struct folded *f = new_folded();
	const char *frames[] = { "x" };

	cr_assert_eq(folded__add(f, frames, 1, UINT64_MAX - 1), 0);
	cr_assert_eq(folded__add(f, frames, 1, 5), 0);
	cr_assert_eq(value_of(f, "x"), UINT64_MAX);
	cr_assert_eq(folded__total(f), UINT64_MAX);
	folded__free(f);
}

Test(folded, write_orders_heaviest_first_then_by_text)
{
	struct folded *f = new_folded();
	const char *s1[] = { "b" }, *s2[] = { "a" }, *s3[] = { "c" }, *s4[] = { "a", "z" };
	char *text;

	folded__add(f, s1, 1, 10);
	folded__add(f, s2, 1, 10);
	folded__add(f, s3, 1, 99);
	folded__add(f, s4, 1, 0);
	folded__add(f, s4, 2, 10);
	text = write_str(f);
	cr_assert_str_eq(text, "c 99\na 10\na;z 10\nb 10\n");
	free(text);
	folded__free(f);
}

Test(folded, write_of_empty_set_is_empty)
{
	struct folded *f = new_folded();
	char *text = write_str(f);

	cr_assert_str_eq(text, "");
	free(text);
	folded__free(f);
}

Test(folded, write_reports_errors)
{
	struct folded *f = new_folded();
	const char *frames[] = { "x" };
	FILE *full = fopen("/dev/full", "w");

	cr_assert_not_null(full);
	folded__add(f, frames, 1, 1);
	cr_assert_eq(folded__write(f, full), -ENOSPC);
	fclose(full);
	folded__free(f);
}

/* A stack too long for one line keeps its root and says it was cut. */
Test(folded, overlong_stack_is_truncated_to_a_line)
{
	enum { N = 40 };
	static char big[FOLDED_FRAME_MAX * 2];
	const char *frames[N];
	struct folded *f = new_folded();
	struct folded *back = new_folded();
	const char *stack;
	char *text;
	uint64_t v;
	size_t iter = 0, bad = 1, len;

	memset(big, 'f', sizeof(big) - 1);
	for (size_t i = 0; i < N; i++)
		frames[i] = big;
	frames[0] = "root";
	cr_assert_eq(folded__add(f, frames, N, 7), 0);
	cr_assert(folded__next(f, &iter, &stack, &v));
	len = strlen(stack);
	cr_assert_eq(strncmp(stack, "root;fff", 8), 0);
	cr_assert_str_eq(stack + len - strlen(";" FOLDED_TRUNCATED), ";" FOLDED_TRUNCATED);
	cr_assert_eq(v, 7);

	text = write_str(f);
	cr_assert_leq(strlen(text), FOLDED_LINE_MAX);
	cr_assert_eq(read_str(back, text, strlen(text), &bad), 0);
	cr_assert_eq(bad, 0, "its own output must read back");
	cr_assert_eq(value_of(back, stack), 7);
	free(text);
	folded__free(f);
	folded__free(back);
}

Test(folded, read_write_round_trip)
{
	static const char text[] = "c;d;e 500\n"
				   "a 20\n"
				   "a;b 20\n"
				   "caf\xc3\xa9;x 1\n";
	struct folded *f = new_folded();
	size_t bad = 99;
	char *out;

	cr_assert_eq(read_str(f, text, strlen(text), &bad), 0);
	cr_assert_eq(bad, 0);
	cr_assert_eq(folded__count(f), 4);
	cr_assert_eq(folded__total(f), 541);
	out = write_str(f);
	cr_assert_str_eq(out, text);
	free(out);
	folded__free(f);
}

Test(folded, read_merges_into_existing)
{
	static const char text[] = "a;b 5\na;b 7\n";
	struct folded *f = new_folded();
	const char *frames[] = { "a", "b" };

	folded__add(f, frames, 2, 100);
	cr_assert_eq(read_str(f, text, strlen(text), NULL), 0);
	cr_assert_eq(folded__count(f), 1);
	cr_assert_eq(value_of(f, "a;b"), 112);
	folded__free(f);
}

Test(folded, read_is_lenient_with_harmless_variants)
{
	static const char text[] = "\n"
				   "a;b 1\r\n"		/* CRLF */
				   "   \n"		/* blank */
				   "x y;z 2\n"		/* space inside a frame */
				   "a;;b 3\n"		/* empty frame */
				   "q  \t 4  \n"	/* extra blanks around the weight */
				   "last 5";		/* no final newline */
	struct folded *f = new_folded();
	size_t bad = 99;

	cr_assert_eq(read_str(f, text, strlen(text), &bad), 0);
	cr_assert_eq(bad, 0);
	cr_assert_eq(value_of(f, "a;b"), 1);
	cr_assert_eq(value_of(f, "x_y;z"), 2);
	cr_assert_eq(value_of(f, "a;[unknown];b"), 3);
	cr_assert_eq(value_of(f, "q"), 4);
	cr_assert_eq(value_of(f, "last"), 5);
	cr_assert_eq(folded__count(f), 5);
	folded__free(f);
}

Test(folded, read_counts_and_skips_bad_lines)
{
	static const char text[] = "good 1\n"
				   "noweight\n"
				   "stack abc\n"
				   "stack -5\n"
				   "stack +5\n"
				   "stack 1.5\n"
				   "stack 5x\n"
				   "stack 18446744073709551616\n"		/* 2^64 */
				   "stack 99999999999999999999999\n"
				   " 5\n"
				   "5\n"
				   "max 18446744073709551615\n"		/* 2^64 - 1: fine */
				   "stack\t5\n"
				   "good 2\n";
	struct folded *f = new_folded();
	size_t bad = 0;

	cr_assert_eq(read_str(f, text, strlen(text), &bad), 0);
	cr_assert_eq(bad, 11);
	cr_assert_eq(folded__count(f), 2);
	cr_assert_eq(value_of(f, "good"), 3);
	cr_assert_eq(value_of(f, "max"), UINT64_MAX);
	folded__free(f);
}

Test(folded, read_skips_nul_bytes_and_overlong_lines)
{
	const size_t big = FOLDED_LINE_MAX + 100;
	static const char nul_line[] = "a\0b 5\n";
	char *text = malloc(big + 64), *p = text;
	struct folded *f = new_folded();
	size_t bad = 0;

	cr_assert_not_null(text);
	p += sprintf(p, "first 1\n");
	memcpy(p, nul_line, sizeof(nul_line) - 1);
	p += sizeof(nul_line) - 1;
	memset(p, 'x', big);
	p += big;
	p += sprintf(p, " 9\nafter 2\n");

	cr_assert_eq(read_str(f, text, (size_t)(p - text), &bad), 0);
	cr_assert_eq(bad, 2);
	cr_assert_eq(folded__count(f), 2);
	cr_assert_eq(value_of(f, "first"), 1);
	cr_assert_eq(value_of(f, "after"), 2);
	free(text);
	folded__free(f);
}

/* The longest accepted line is exactly FOLDED_LINE_MAX bytes with its '\n'. */
Test(folded, read_line_length_limit)
{
	const size_t max = FOLDED_LINE_MAX;
	char *text = malloc(2 * max + 2);
	struct folded *f = new_folded();
	size_t bad = 0;

	cr_assert_not_null(text);
	/* line 1: max - 1 bytes + '\n' (ok); line 2: max bytes + '\n' (bad) */
	memset(text, 'a', max - 3);
	memcpy(text + max - 3, " 1\n", 3);
	memset(text + max, 'b', max - 2);
	memcpy(text + 2 * max - 2, " 1\n", 3);
	cr_assert_eq(read_str(f, text, 2 * max + 1, &bad), 0);
	cr_assert_eq(bad, 1);
	cr_assert_eq(folded__count(f), 1);
	free(text);
	folded__free(f);
}

Test(folded, next_iterates_all)
{
	static const char text[] = "a 1\nb 2\nc 3\n";
	struct folded *f = new_folded();
	size_t iter = 0, n = 0;
	uint64_t sum = 0, v;
	const char *s;

	read_str(f, text, strlen(text), NULL);
	while (folded__next(f, &iter, &s, &v)) {
		cr_assert_eq(strlen(s), 1);
		sum += v;
		n++;
	}
	cr_assert_eq(n, 3);
	cr_assert_eq(sum, 6);
	folded__free(f);
	folded__free(NULL);
}
