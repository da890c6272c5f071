#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "folded.h"
#include "folded_diff.h"

static struct folded *folded_of(const char *text)
{
	struct folded *f = folded__new();
	FILE *in = fmemopen((void *)text, strlen(text) + 1, "r");

	cr_assert_not_null(f);
	cr_assert_not_null(in);
	cr_assert_eq(folded__read(f, in, NULL), 0);
	fclose(in);
	return f;
}

/* Output of folded_diff__write as a malloc'd string. */
static char *diff_text(const char *before, const char *after, enum folded_diff_mode mode,
		       struct folded_diff_stats *st)
{
	struct folded *b = folded_of(before), *a = folded_of(after);
	char *buf = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);

	cr_assert_not_null(out);
	cr_assert_eq(folded_diff__write(b, a, mode, out, st), 0);
	fclose(out);
	folded__free(b);
	folded__free(a);
	return buf;
}

Test(folded_diff, table)
{
	static const struct {
		const char *name, *before, *after;
		enum folded_diff_mode mode;
		const char *want;
	} cases[] = {
		{ "growth only", "a;b 10\na;c 50\n", "a;b 30\na;c 20\na;d 5\n", FOLDED_DIFF_GROWTH,
		  "a;b 20\na;d 5\n" },
		{ "all, heaviest change first", "a;b 10\na;c 50\n", "a;b 30\na;c 20\na;d 5\n",
		  FOLDED_DIFF_ALL, "a;c -30\na;b 20\na;d 5\n" },
		{ "two columns, every stack", "a;b 10\na;c 50\n", "a;b 30\na;c 20\na;d 5\n",
		  FOLDED_DIFF_TWO_COLUMN, "a;c 50 20\na;b 10 30\na;d 0 5\n" },
		{ "unchanged left out", "x 7\n", "x 7\n", FOLDED_DIFF_ALL, "" },
		{ "unchanged kept in two columns", "x 7\n", "x 7\n", FOLDED_DIFF_TWO_COLUMN,
		  "x 7 7\n" },
		{ "everything freed: no growth", "a 100\nb 1\n", "", FOLDED_DIFF_GROWTH, "" },
		{ "everything freed, all", "a 100\nb 1\n", "", FOLDED_DIFF_ALL, "a -100\nb -1\n" },
		{ "from nothing", "", "b 2\na 2\n", FOLDED_DIFF_GROWTH, "a 2\nb 2\n" },
		{ "both empty", "", "", FOLDED_DIFF_TWO_COLUMN, "" },
		/* same magnitude: growth first, then stack byte order */
		{ "tie order", "s 10\nr 10\n", "p 10\nq 10\n", FOLDED_DIFF_ALL,
		  "p 10\nq 10\nr -10\ns -10\n" },
		/* inputs are merged and sanitized like any folded read */
		{ "merge and sanitize", "a;b c 1\na;b_c 2\n", "a;b_c 10\n", FOLDED_DIFF_ALL,
		  "a;b_c 7\n" },
		{ "bad lines ignored", "a 5\ngarbage\na;b x\n", "a 9\n\n-3\n", FOLDED_DIFF_ALL,
		  "a 4\n" },
		/* the full range: no overflow in the delta */
		{ "extremes", "big 18446744073709551615\nsmall 0\n",
		  "big 0\nsmall 18446744073709551615\n", FOLDED_DIFF_ALL,
		  "small 18446744073709551615\nbig -18446744073709551615\n" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *got = diff_text(cases[i].before, cases[i].after, cases[i].mode, NULL);

		cr_expect_str_eq(got, cases[i].want, "%s", cases[i].name);
		free(got);
	}
}

Test(folded_diff, stats)
{
	struct folded_diff_stats st;
	char *got = diff_text("a 10\nb 50\nc 3\n", "a 30\nb 20\nc 3\nd 5\n", FOLDED_DIFF_GROWTH,
			      &st);

	cr_expect_eq(st.grown, 2);
	cr_expect_eq(st.shrunk, 1);
	cr_expect_eq(st.unchanged, 1);
	cr_expect_eq(st.written, 2);
	cr_expect_eq(st.growth, 25);
	cr_expect_eq(st.shrinkage, 30);
	free(got);

	got = diff_text("a 18446744073709551615\nb 18446744073709551615\n",
			"c 18446744073709551615\nd 18446744073709551615\n", FOLDED_DIFF_ALL, &st);
	cr_expect_eq(st.growth, UINT64_MAX, "sums saturate");
	cr_expect_eq(st.shrinkage, UINT64_MAX);
	cr_expect_eq(st.written, 4);
	free(got);
}

Test(folded_diff, write_error_is_reported)
{
	struct folded *b = folded_of("a 1\n"), *a = folded_of("a 2\n");
	FILE *full = fopen("/dev/full", "w");

	cr_assert_not_null(full);
	cr_expect_lt(folded_diff__write(b, a, FOLDED_DIFF_ALL, full, NULL), 0);
	fclose(full);
	folded__free(b);
	folded__free(a);
}

/* Reads text signed; returns the two sides written back as folded text. */
static void read_signed(const char *text, size_t len, char **pos_text, char **neg_text,
			size_t *bad)
{
	struct folded *pos = folded__new(), *neg = folded__new();
	FILE *in = fmemopen((void *)text, len, "r");
	size_t plen, nlen;
	FILE *po = open_memstream(pos_text, &plen), *no = open_memstream(neg_text, &nlen);

	cr_assert(pos && neg && in && po && no);
	cr_assert_eq(folded_diff__read_signed(in, pos, neg, bad), 0);
	cr_assert_eq(folded__write(pos, po), 0);
	cr_assert_eq(folded__write(neg, no), 0);
	fclose(in);
	fclose(po);
	fclose(no);
	folded__free(pos);
	folded__free(neg);
}

Test(folded_diff, read_signed)
{
	static const char text[] =
		"a;b 10\n"
		"a;c -30\n"
		"a;c -2\r\n"		/* merges, CR and all */
		"a;d   -7  \n"		/* blanks around the weight */
		"x;y- 4\n"		/* '-' inside a frame is not a sign */
		"neg -\n"		/* bad: no digits */
		"neg --5\n"		/* bad */
		"neg -5x\n"		/* bad */
		"-9\n"			/* bad: no stack */
		"\n"
		"a;b 1\n";
	char *pos, *neg;
	size_t bad;

	read_signed(text, sizeof(text) - 1, &pos, &neg, &bad);
	cr_expect_str_eq(pos, "a;b 11\nx;y- 4\n");
	cr_expect_str_eq(neg, "a;c 32\na;d 7\n");
	cr_expect_eq(bad, 4);
	free(pos);
	free(neg);
}

Test(folded_diff, read_signed_hostile_lines)
{
	size_t big = FOLDED_LINE_MAX + 100, bad;
	char *text = malloc(big + 64), *pos, *neg;
	size_t n = 0;

	cr_assert_not_null(text);
	n += sprintf(text + n, "ok -1\n");
	memset(text + n, 'x', big);		/* overlong line, skipped whole */
	n += big;
	n += sprintf(text + n, " -5\nnul");
	text[n++] = '\0';
	n += sprintf(text + n, "byte -3\nlast -2");	/* no final newline */
	read_signed(text, n, &pos, &neg, &bad);
	cr_expect_str_eq(pos, "");
	cr_expect_str_eq(neg, "last 2\nok 1\n");
	cr_expect_eq(bad, 2);
	free(text);
	free(pos);
	free(neg);
}

/* More than one batch per side: nothing lost or counted twice at the seams. */
Test(folded_diff, read_signed_large_input)
{
	char *text = NULL, *pos, *neg;
	size_t len = 0, bad;
	FILE *out = open_memstream(&text, &len);
	const int lines = 120000;

	cr_assert_not_null(out);
	for (int i = 0; i < lines; i++)
		fprintf(out, "container;proc;frame_with_a_fairly_long_name_%d %s%d\n", i % 1000,
			i % 2 ? "-" : "", 1);
	fclose(out);
	cr_assert_gt(len, 2 * (1 << 20), "input must span several batches");
	read_signed(text, len, &pos, &neg, &bad);
	cr_expect_eq(bad, 0);
	/* 1000 distinct stacks of 120 lines weighing 1; odd ones negative. */
	cr_expect(strstr(pos, "frame_with_a_fairly_long_name_0 120\n") != NULL);
	cr_expect(strstr(neg, "frame_with_a_fairly_long_name_1 120\n") != NULL);
	cr_expect(strstr(pos, "_1 ") == NULL, "odd stacks are all negative");
	free(text);
	free(pos);
	free(neg);
}
