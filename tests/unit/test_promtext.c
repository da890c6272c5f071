#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include "prom_check.h"
#include "promtext.h"

/* A page written by fn, NUL-terminated; *rc gets promtext__finish's result. */
static char *page_of(void (*fn)(struct promtext *), int *rc)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	struct promtext p;

	cr_assert_not_null(f);
	cr_assert_eq(promtext__init(&p, f), 0);
	fn(&p);
	*rc = promtext__finish(&p);
	fclose(f);
	return buf;
}

static char *escaped(const char *s, size_t max, bool quoted)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	promtext__escape(f, s, max, quoted);
	fclose(f);
	return buf;
}

/* ---- names --------------------------------------------------------------------- */

struct name_case {
	char name[160];
	bool metric, label;
};

static struct name_case name_cases[] = {
	{ "memscope_container_resident_bytes", true, true },
	{ "a", true, true },
	{ "_x", true, true },
	{ "A9_z", true, true },
	{ "ns:rule", true, false },
	{ ":x", true, false },
	{ "__name__", true, false },	/* reserved for labels */
	{ "1a", false, false },
	{ "a-b", false, false },
	{ "a b", false, false },
	{ "a.b", false, false },
	{ "", false, false },
	{ "caf\xc3\xa9", false, false },
	{ "x23456789012345678901234567890123456789012345678901234567890123456789012345678"
	  "9012345678901234567890123456789012345678901234567890", false, false },
};

ParameterizedTestParameters(promtext, names)
{
	return cr_make_param_array(struct name_case, name_cases,
				   sizeof(name_cases) / sizeof(name_cases[0]));
}

ParameterizedTest(struct name_case *c, promtext, names)
{
	cr_expect_eq(promtext__metric_name_ok(c->name), c->metric, "metric name '%s'", c->name);
	cr_expect_eq(promtext__label_name_ok(c->name), c->label, "label name '%s'", c->name);
}

Test(promtext, null_names)
{
	cr_expect_not(promtext__metric_name_ok(NULL));
	cr_expect_not(promtext__label_name_ok(NULL));
}

/* ---- values --------------------------------------------------------------------- */

struct value_case {
	double v;
	char want[32];
};

static struct value_case value_cases[] = {
	{ 0, "0" },
	{ -0.0, "0" },
	{ 4096, "4096" },
	{ -3, "-3" },
	{ 0.25, "0.25" },
	{ 0.1, "0.1" },
	{ 123456789012345, "123456789012345" },
	{ 1e15, "1e+15" },
	{ 18446744073709551615.0, "1.8446744073709552e+19" },
	{ 1e300, "1e+300" },
	{ -1.5e-7, "-1.5e-07" },
};

ParameterizedTestParameters(promtext, format_value)
{
	return cr_make_param_array(struct value_case, value_cases,
				   sizeof(value_cases) / sizeof(value_cases[0]));
}

ParameterizedTest(struct value_case *c, promtext, format_value)
{
	char buf[64];

	cr_expect_str_eq(promtext__format_value(c->v, buf, sizeof(buf)), c->want);
}

Test(promtext, special_values_and_round_trip)
{
	const double vs[] = { 1.0 / 3, 2.0 / 3 * 1e-300, 1234.5678e100, 0.3 - 0.1 };
	char buf[64];

	cr_expect_str_eq(promtext__format_value(NAN, buf, sizeof(buf)), "NaN");
	cr_expect_str_eq(promtext__format_value(INFINITY, buf, sizeof(buf)), "+Inf");
	cr_expect_str_eq(promtext__format_value(-INFINITY, buf, sizeof(buf)), "-Inf");
	for (size_t i = 0; i < sizeof(vs) / sizeof(vs[0]); i++) {
		promtext__format_value(vs[i], buf, sizeof(buf));
		cr_expect_eq(strtod(buf, NULL), vs[i], "%s does not read back as %.17g", buf, vs[i]);
	}
}

/* ---- escaping ------------------------------------------------------------------- */

struct escape_case {
	char in[64];
	char label[80];		/* quoted */
	char help[80];
};

static struct escape_case escape_cases[] = {
	{ "plain", "plain", "plain" },
	{ "a\\b", "a\\\\b", "a\\\\b" },
	{ "say \"hi\"", "say \\\"hi\\\"", "say \"hi\"" },
	{ "two\nlines", "two\\nlines", "two\\nlines" },
	/* controls other than \n (escaped) become U+FFFD: tab, ESC, C1 CSI */
	{ "tab\there", "tab\xef\xbf\xbdhere", "tab\xef\xbf\xbdhere" },
	{ "\x1b[2Jx\xc2\x9b" "2J\r", "\xef\xbf\xbd[2Jx\xef\xbf\xbd" "2J\xef\xbf\xbd",
	  "\xef\xbf\xbd[2Jx\xef\xbf\xbd" "2J\xef\xbf\xbd" },
	{ "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
	  "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80" },
	/* latin-1, overlong NUL, a surrogate, past U+10FFFF, a stray continuation byte */
	{ "caf\xe9", "caf\xef\xbf\xbd", "caf\xef\xbf\xbd" },
	{ "a\xc0\x80z", "a\xef\xbf\xbd\xef\xbf\xbdz", "a\xef\xbf\xbd\xef\xbf\xbdz" },
	{ "\xed\xa0\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd",
	  "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" },
	{ "\xf4\x90\x80\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd",
	  "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" },
	{ "\x80x", "\xef\xbf\xbdx", "\xef\xbf\xbdx" },
	/* a sequence the string ends in the middle of */
	{ "end\xe2\x82", "end\xef\xbf\xbd\xef\xbf\xbd", "end\xef\xbf\xbd\xef\xbf\xbd" },
};

ParameterizedTestParameters(promtext, escape)
{
	return cr_make_param_array(struct escape_case, escape_cases,
				   sizeof(escape_cases) / sizeof(escape_cases[0]));
}

ParameterizedTest(struct escape_case *c, promtext, escape)
{
	char *label = escaped(c->in, PROMTEXT_VALUE_MAX, true);
	char *help = escaped(c->in, PROMTEXT_HELP_MAX, false);

	cr_expect_str_eq(label, c->label);
	cr_expect_str_eq(help, c->help);
	free(label);
	free(help);
}

Test(promtext, escape_cuts_long_values_on_a_character)
{
	/* "é" is two bytes: a cut at an odd length must not keep half of one. */
	char in[64] = "";
	char *out;

	for (int i = 0; i < 20; i++)
		strcat(in, "\xc3\xa9");
	out = escaped(in, 7, true);
	cr_expect_str_eq(out, "\xc3\xa9\xc3\xa9\xc3\xa9");
	free(out);
	out = escaped(NULL, 10, true);
	cr_expect_str_eq(out, "");
	free(out);
}

/* ---- pages ---------------------------------------------------------------------- */

static void small_page(struct promtext *p)
{
	const struct prom_label l[] = { { "container", "4f2a9c1d7e3b" }, { "class", "file" } };

	cr_expect_eq(promtext__family(p, "m_bytes", PROMTEXT_GAUGE, "Bytes.\nSecond line \\."), 0);
	cr_expect_eq(promtext__sample(p, l, 2, 8192), 0);
	cr_expect_eq(promtext__sample(p, NULL, 0, 1.5), 0);
	cr_expect_eq(promtext__family(p, "m_kills_total", PROMTEXT_COUNTER, "Kills."), 0);
	cr_expect_eq(promtext__sample(p, &(struct prom_label){ "cgroup", NULL }, 1, 3), 0);
}

Test(promtext, writes_help_type_and_samples)
{
	int rc;
	char *page = page_of(small_page, &rc);
	char err[256];

	cr_assert_eq(rc, 0);
	cr_expect_str_eq(page,
			 "# HELP m_bytes Bytes.\\nSecond line \\\\.\n"
			 "# TYPE m_bytes gauge\n"
			 "m_bytes{container=\"4f2a9c1d7e3b\",class=\"file\"} 8192\n"
			 "m_bytes 1.5\n"
			 "# HELP m_kills_total Kills.\n"
			 "# TYPE m_kills_total counter\n"
			 "m_kills_total{cgroup=\"\"} 3\n");
	cr_expect_eq(prom_check(page, err, sizeof(err)), 3, "%s", err);
	free(page);
}

static void refusals(struct promtext *p)
{
	const struct prom_label dup[] = { { "a", "1" }, { "a", "2" } };
	struct prom_label many[PROMTEXT_LABELS_MAX + 1];
	char names[PROMTEXT_LABELS_MAX + 1][16];

	for (int i = 0; i <= PROMTEXT_LABELS_MAX; i++) {
		snprintf(names[i], sizeof(names[i]), "l%d", i);
		many[i] = (struct prom_label){ names[i], "v" };
	}
	/* Before any family, a sample has nothing to belong to. */
	cr_expect_eq(promtext__sample(p, NULL, 0, 1), -EINVAL);
	cr_expect_eq(promtext__family(p, "bad-name", PROMTEXT_GAUGE, "x"), -EINVAL);
	cr_expect_eq(promtext__sample(p, NULL, 0, 1), -EINVAL, "sample of a refused family");
	cr_expect_eq(promtext__family(p, "kills", PROMTEXT_COUNTER, "x"), -EINVAL);
	cr_expect_eq(promtext__family(p, "ok", PROMTEXT_GAUGE, "x"), 0);
	cr_expect_eq(promtext__sample(p, &(struct prom_label){ "__name__", "x" }, 1, 1), -EINVAL);
	cr_expect_eq(promtext__sample(p, &(struct prom_label){ "a-b", "x" }, 1, 1), -EINVAL);
	cr_expect_eq(promtext__sample(p, dup, 2, 1), -EINVAL);
	cr_expect_eq(promtext__sample(p, many, PROMTEXT_LABELS_MAX + 1, 1), -EINVAL);
	cr_expect_eq(promtext__sample(p, many, PROMTEXT_LABELS_MAX, 1), 0);
	cr_expect_eq(promtext__family(p, "ok", PROMTEXT_GAUGE, "again"), -EEXIST);
	cr_expect_eq(promtext__sample(p, NULL, 0, 2), -EINVAL, "sample of a repeated family");
	cr_expect_eq(promtext__family(p, "c_total", PROMTEXT_COUNTER, "x"), 0);
	cr_expect_eq(promtext__sample(p, NULL, 0, -1), -EINVAL);
	cr_expect_eq(promtext__sample(p, NULL, 0, NAN), 0);
}

Test(promtext, refuses_what_would_break_the_page)
{
	int rc;
	char *page = page_of(refusals, &rc);
	char err[256];

	/* The first refusal is what finish reports; the page is valid regardless. */
	cr_expect_eq(rc, -EINVAL);
	cr_expect_eq(prom_check(page, err, sizeof(err)), 2, "%s\n%s", err, page);
	cr_expect_null(strstr(page, "again"));
	cr_expect_null(strstr(page, "bad-name"));
	free(page);
}

static void hostile_values(struct promtext *p)
{
	char *huge = malloc(3 * PROMTEXT_VALUE_MAX);
	const char *values[] = { "\"}\n# TYPE x gauge\nx 1\n", "\\", "\xff\xfe", "a\"b\\c\nd" };

	memset(huge, 'x', 3 * PROMTEXT_VALUE_MAX - 1);
	huge[3 * PROMTEXT_VALUE_MAX - 1] = '\0';
	promtext__family(p, "h", PROMTEXT_GAUGE, "help with \"quotes\" and\nnewlines\\");
	for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++)
		promtext__sample(p, &(struct prom_label){ "v", values[i] }, 1, (double)i);
	promtext__sample(p, &(struct prom_label){ "v", huge }, 1, 9);
	free(huge);
}

Test(promtext, hostile_label_values_stay_inside_their_quotes)
{
	int rc;
	char *page = page_of(hostile_values, &rc);
	char err[256];
	double v;

	cr_assert_eq(rc, 0);
	cr_expect_eq(prom_check(page, err, sizeof(err)), 5, "%s", err);
	cr_expect(prom_value(page, "h{v=\"\\\"}\\n# TYPE x gauge\\nx 1\\n\"}", &v) && v == 0, "%s",
		  page);
	cr_expect(prom_value(page, "h{v=\"\xef\xbf\xbd\xef\xbf\xbd\"}", &v) && v == 2);
	/* Cut at PROMTEXT_VALUE_MAX bytes. */
	cr_expect_lt(strlen(page), 2 * PROMTEXT_VALUE_MAX);
	free(page);
}

static void too_many(struct promtext *p)
{
	char name[32];

	for (int i = 0; i < PROMTEXT_FAMILIES_MAX; i++) {
		snprintf(name, sizeof(name), "f%d", i);
		cr_assert_eq(promtext__family(p, name, PROMTEXT_GAUGE, ""), 0);
	}
	cr_expect_eq(promtext__family(p, "one_more", PROMTEXT_GAUGE, ""), -E2BIG);
}

Test(promtext, bounded_number_of_families)
{
	int rc;
	char *page = page_of(too_many, &rc);

	cr_expect_eq(rc, -E2BIG);
	cr_expect_null(strstr(page, "one_more"));
	free(page);
}

Test(promtext, write_errors_are_reported)
{
	FILE *f = fopen("/dev/full", "w");
	struct promtext p;

	cr_assert_not_null(f);
	setvbuf(f, NULL, _IONBF, 0);
	cr_assert_eq(promtext__init(&p, f), 0);
	promtext__family(&p, "x", PROMTEXT_GAUGE, "x");
	promtext__sample(&p, NULL, 0, 1);
	cr_expect_eq(promtext__finish(&p), -EIO);
	fclose(f);
}
