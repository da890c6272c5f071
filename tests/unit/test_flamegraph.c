#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flamegraph.h"
#include "folded.h"

/* ---- escaping ------------------------------------------------------------ */

struct esc_case {
	const char *in;
	size_t max;
	const char *want;
	size_t chars;
};

#define FFFD "\xef\xbf\xbd"

static const struct esc_case esc_cases[] = {
	{ "malloc", 100, "malloc", 6 },
	{ "<&>\"'", 100, "&lt;&amp;&gt;&quot;&#39;", 5 },
	{ "</text><script>x</script>", 100,
	  "&lt;/text&gt;&lt;script&gt;x&lt;/script&gt;", 25 },
	{ "]]>", 100, "]]&gt;", 3 },
	{ "a\x01\tb\n\x7f", 100, "a" FFFD FFFD "b" FFFD FFFD, 6 },
	{ "caf\xc3\xa9 \xf0\x9f\x94\xa5", 100, "caf\xc3\xa9 \xf0\x9f\x94\xa5", 6 },
	{ "\xff\xfe", 100, FFFD FFFD, 2 },
	{ "a\x80z", 100, "a" FFFD "z", 3 },			/* lone continuation */
	{ "end\xc3", 100, "end" FFFD, 4 },			/* cut sequence at the end */
	{ "\xe2\x82x", 100, FFFD FFFD "x", 3 },		/* cut sequence in the middle */
	{ "\xc0\xaf", 100, FFFD FFFD, 2 },			/* overlong '/' */
	{ "\xe0\x80\xaf", 100, FFFD FFFD FFFD, 3 },		/* overlong, 3 bytes */
	{ "\xed\xa0\x80", 100, FFFD FFFD FFFD, 3 },		/* UTF-16 surrogate */
	{ "\xf4\x90\x80\x80", 100, FFFD FFFD FFFD FFFD, 4 },	/* past U+10FFFF */
	{ "\xef\xbf\xbe", 100, FFFD, 1 },			/* U+FFFE, not XML */
	/* C1: allowed in XML 1.0, but U+009B is CSI to a terminal showing the SVG */
	{ "\xc2\x85", 100, FFFD, 1 },
	{ "a\xc2\x9b" "2Jb\x1b[2J", 100, "a" FFFD "2Jb" FFFD "[2J", 9 },
	{ "", 100, "", 0 },
	{ NULL, 100, "", 0 },
	/* cut to max characters, never inside one */
	{ "abcdefgh", 8, "abcdefgh", 8 },
	{ "abcdefgh", 7, "abcde..", 7 },
	{ "abcdefgh", 3, "a..", 3 },
	{ "abcdefgh", 2, "", 0 },
	{ "abcdefgh", 0, "", 0 },
	{ "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", 4, "\xc3\xa9\xc3\xa9..", 4 },
	{ "<<<<<", 4, "&lt;&lt;..", 4 },
};

Test(flamegraph, escape)
{
	for (size_t i = 0; i < sizeof(esc_cases) / sizeof(esc_cases[0]); i++) {
		const struct esc_case *c = &esc_cases[i];
		char *buf = NULL;
		size_t len = 0, n;
		FILE *out = open_memstream(&buf, &len);

		cr_assert_not_null(out);
		n = flamegraph__escape(out, c->in, c->max);
		fclose(out);
		cr_expect_str_eq(buf, c->want, "case %zu: escape(\"%s\", %zu)", i,
				 c->in ? c->in : "(null)", c->max);
		cr_expect_eq(n, c->chars, "case %zu: %zu characters", i, n);
		free(buf);
	}
}

Test(flamegraph, format_bytes)
{
	static const struct {
		uint64_t in;
		const char *want;
	} cases[] = {
		{ 0, "0 B" }, { 1023, "1023 B" }, { 1024, "1.00 KiB" }, { 1536, "1.50 KiB" },
		{ 10 * 1024 - 1, "10.0 KiB" }, { 100 * 1024, "100 KiB" },
		{ 1024 * 1024 - 1, "1.00 MiB" }, { 268435456, "256 MiB" },
		{ 5ULL << 40, "5.00 TiB" }, { UINT64_MAX, "16.0 EiB" },
	};
	char buf[32], tiny[4];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		flamegraph__format_bytes(cases[i].in, buf, sizeof(buf));
		cr_expect_str_eq(buf, cases[i].want, "%llu", (unsigned long long)cases[i].in);
	}
	flamegraph__format_bytes(1 << 20, tiny, sizeof(tiny));
	cr_expect_str_eq(tiny, "1.0", "cut to the buffer");
}

/* ---- rendering ----------------------------------------------------------- */

struct frame {
	char name[512];		/* as escaped in the <title> */
	char info[64];		/* the rest of the <title> */
	double x, y, w;
	int depth;
};

static char *render(const char *text, const struct flamegraph_opts *o,
		    struct flamegraph_stats *st)
{
	struct flamegraph *fg = flamegraph__new();
	struct folded *f = folded__new();
	FILE *in = fmemopen((void *)text, strlen(text) + 1, "r"), *out;
	char *svg = NULL;
	size_t len = 0;

	cr_assert(fg && f && in);
	cr_assert_eq(folded__read(f, in, NULL), 0);
	fclose(in);
	cr_assert_eq(flamegraph__add_folded(fg, f, NULL, false), 0);
	out = open_memstream(&svg, &len);
	cr_assert_not_null(out);
	cr_assert_eq(flamegraph__write_svg(fg, o, out, st), 0);
	fclose(out);
	flamegraph__free(fg);
	folded__free(f);
	return svg;
}

static double attr(const char *s, const char *name)
{
	const char *p = strstr(s, name);

	cr_assert_not_null(p, "no %s in %.80s", name, s);
	return strtod(p + strlen(name), NULL);
}

/* The frames of svg, in document order; returns how many (at most max). */
static size_t frames_of(const char *svg, struct frame *fr, size_t max)
{
	size_t n = 0;

	for (const char *p = svg; (p = strstr(p, "<g class=\"f\"")); p++) {
		const char *t = strstr(p, "<title>") + 7, *nl = strstr(t, "&#10;");
		const char *end = strstr(nl, "</title>"), *rect = strstr(p, "<rect ");

		cr_assert(nl && end && rect);
		if (n == max)
			return n + 1;
		snprintf(fr[n].name, sizeof(fr[n].name), "%.*s", (int)(nl - t), t);
		snprintf(fr[n].info, sizeof(fr[n].info), "%.*s", (int)(end - nl - 5), nl + 5);
		fr[n].depth = attr(p, "data-d=\"");
		fr[n].x = attr(rect, " x=\"");
		fr[n].y = attr(rect, " y=\"");
		fr[n].w = attr(rect, " width=\"");
		n++;
	}
	return n;
}

static const struct frame *find(const struct frame *fr, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(fr[i].name, name))
			return &fr[i];
	cr_assert_fail("no frame %s", name);
	return NULL;
}

static size_t count(const char *s, const char *needle)
{
	size_t n = 0;

	for (const char *p = s; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

static const struct flamegraph_opts defaults;

Test(flamegraph, one_rect_per_distinct_frame)
{
	struct flamegraph_stats st;
	struct frame fr[16];
	char *svg = render("c;p;a;b 10\nc;p;a;d 30\nc;p;e 60\nc;p;a;b 0\n", &defaults, &st);
	size_t n = frames_of(svg, fr, 16);

	/* all, c, p, a, b, d, e */
	cr_expect_eq(n, 7);
	cr_expect_eq(st.rects, 7);
	cr_expect_eq(st.frames, 7);
	cr_expect_eq(st.depth, 4);
	cr_expect_eq(st.total, 100);
	cr_expect_str_eq(find(fr, n, "a")->info, "40 B (40.00%)");
	cr_expect_str_eq(find(fr, n, "all")->info, "100 B (100.00%)");
	cr_expect_eq(count(svg, "<script"), 1);
	cr_expect(strstr(svg, "<?xml version=\"1.0\" encoding=\"UTF-8\"") == svg);
	cr_expect(strstr(svg, "</svg>\n") != NULL);
	free(svg);
}

Test(flamegraph, widths_proportional_and_nested)
{
	struct flamegraph_opts o = { .width = 1000 };
	static const struct {
		const char *name;
		double bytes;
	} want[] = {
		{ "all", 1000 }, { "c", 1000 }, { "p", 1000 }, { "a", 400 }, { "b", 100 },
		{ "d", 300 }, { "e", 600 },
	};
	struct frame fr[16];
	char *svg = render("c;p;a;b 100\nc;p;a;d 300\nc;p;e 600\n", &o, NULL);
	size_t n = frames_of(svg, fr, 16);
	const double px = (1000 - 20) / 1000.0;	/* 10 px margins */
	const struct frame *a, *b, *d, *e;

	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		cr_expect_float_eq(find(fr, n, want[i].name)->w, want[i].bytes * px, 0.011, "%s",
				   want[i].name);
	a = find(fr, n, "a");
	b = find(fr, n, "b");
	d = find(fr, n, "d");
	e = find(fr, n, "e");
	/* siblings in name order, children inside their parent, one row up */
	cr_expect_float_eq(a->x, find(fr, n, "all")->x, 0.011);
	cr_expect_float_eq(e->x, a->x + a->w, 0.011);
	cr_expect_float_eq(b->x, a->x, 0.011);
	cr_expect_float_eq(d->x, b->x + b->w, 0.011);
	cr_expect_lt(b->y, a->y, "flame: leaves above roots");
	cr_expect_eq(b->depth, a->depth + 1);
	free(svg);
}

Test(flamegraph, inverted_puts_root_on_top)
{
	struct flamegraph_opts o = { .inverted = true };
	struct frame fr[8];
	char *svg = render("c;p;leaf 5\n", &o, NULL);
	size_t n = frames_of(svg, fr, 8);

	cr_expect_lt(find(fr, n, "all")->y, find(fr, n, "leaf")->y);
	free(svg);
}

/* Frames under a fraction of a pixel are merged into their parent, which
 * keeps their bytes. */
Test(flamegraph, tiny_frames_merged)
{
	struct flamegraph_stats st;
	struct frame fr[64];
	char *text = malloc(64 * 1024), *svg;
	size_t len = 0, n;

	cr_assert_not_null(text);
	len += sprintf(text + len, "c;p;big 10000000\n");
	for (int i = 0; i < 1000; i++)
		len += sprintf(text + len, "c;p;small;f%d 10\n", i);
	svg = render(text, &defaults, &st);
	n = frames_of(svg, fr, 64);
	cr_expect_eq(st.frames, 1005);
	cr_expect_eq(n, 5, "all, c, p, big, small: %zu", n);
	cr_expect_eq(st.rects, 5);
	cr_expect_str_eq(find(fr, n, "small")->info, "9.77 KiB (0.10%)");
	cr_expect_eq(strstr(svg, ">f1<"), NULL);
	free(text);
	free(svg);
}

/* However many frames are wide enough, the file stays bounded. */
Test(flamegraph, rect_count_bounded)
{
	struct flamegraph_opts o = { .width = 32768, .max_rects = 500 };
	struct flamegraph_stats st;
	char *text = malloc(256 * 1024), *svg;
	size_t len = 0;

	cr_assert_not_null(text);
	for (int i = 0; i < 5000; i++)
		len += sprintf(text + len, "c;p;m%d;f%d %d\n", i % 50, i, 1000 + i);
	svg = render(text, &o, &st);
	cr_expect_eq(st.frames, 5000 + 50 + 3);
	cr_expect_leq(st.rects, 500);
	cr_expect_geq(st.rects, 53, "the 50 mid frames are wide enough to stay: %zu", st.rects);
	cr_expect_gt(st.min_px, FLAMEGRAPH_MIN_PX);
	cr_expect_eq(count(svg, "<g class=\"f\""), st.rects);
	free(text);
	free(svg);
}

Test(flamegraph, depth_bounded)
{
	struct flamegraph_stats st;
	char *text = malloc(FOLDED_LINE_MAX), *svg;
	size_t len = 0;

	cr_assert_not_null(text);
	for (int i = 0; i < 3000; i++)
		len += sprintf(text + len, "f%d;", i);
	sprintf(text + len - 1, " 4096\n");
	svg = render(text, &defaults, &st);
	cr_expect_eq(st.frames, 3001);
	cr_expect_eq(st.depth, FLAMEGRAPH_MAX_DEPTH);
	cr_expect_eq(st.rects, FLAMEGRAPH_MAX_DEPTH + 1);
	free(text);
	free(svg);
}

Test(flamegraph, empty_input)
{
	struct flamegraph_stats st;
	char *svg = render("", &defaults, &st);

	cr_expect_eq(st.rects, 0);
	cr_expect_eq(st.total, 0);
	cr_expect_eq(count(svg, "<g class=\"f\""), 0);
	cr_expect(strstr(svg, "no stacks") != NULL);
	cr_expect(strstr(svg, "</svg>") != NULL);
	free(svg);

	svg = render("a;b 0\n", &defaults, &st);
	cr_expect_eq(st.rects, 0, "zero-byte stacks draw nothing");
	free(svg);
}

Test(flamegraph, hostile_names_escaped)
{
	struct flamegraph_opts o = { .title = "<b>&\"title\"</b>\x01" };
	char *svg = render("c;p;<script>alert(1)</script>;a&b;\"q'\";\xff\xfe\x80;]]> 4096\n", &o,
			   NULL);
	struct frame fr[16];
	size_t n = frames_of(svg, fr, 16);

	cr_expect_eq(count(svg, "<script"), 1, "only memscope's own script");
	cr_expect_eq(count(svg, "]]>"), 2, "only the style and script CDATA ends");
	cr_expect_eq(strchr(svg, '\x01'), NULL);
	cr_expect(strstr(svg, "&lt;b&gt;&amp;&quot;title&quot;&lt;/b&gt;" FFFD) != NULL);
	find(fr, n, "&lt;script&gt;alert(1)&lt;/script&gt;");
	find(fr, n, "a&amp;b");
	find(fr, n, "&quot;q&#39;&quot;");
	find(fr, n, FFFD FFFD FFFD);
	for (const unsigned char *p = (const unsigned char *)svg; *p; p++)
		cr_assert(*p != 0xff && *p != 0xfe, "raw invalid byte at %zu",
			  (size_t)(p - (const unsigned char *)svg));
	free(svg);
}

Test(flamegraph, long_names_cut)
{
	struct flamegraph_opts o = { .width = 200 };
	char name[2000], text[2100], *svg;
	struct frame fr[8];
	size_t n;

	memset(name, 'x', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	snprintf(text, sizeof(text), "c;p;%s 1\n", name);
	svg = render(text, &o, NULL);
	n = frames_of(svg, fr, 8);
	cr_assert_eq(n, 4);
	/* tooltip: 400 characters; label: what fits in 180 px of monospace */
	cr_expect(strstr(svg, "xx..&#10;") != NULL);
	cr_expect(strstr(svg, ">xxxxxxxxxxxxxxxxxxxxxxx..</text>") != NULL);
	free(svg);
}

/* The legend lists the kinds of frames drawn, told apart as the header says. */
Test(flamegraph, legend_by_class)
{
	struct flamegraph_opts plain = { .plain = true };
	char *svg = render("c;p;[v8-heap];main;LazyCompile_[j] 10\n"
			   "c;p;[file];read;vfs_read_[k] 10\n"
			   "c;p;[shmem];shm 10\n", &defaults, NULL);

	for (const char *l = "container\0process\0v8-heap\0JIT\0file / page cache\0kernel\0shmem\0";
	     *l; l += strlen(l) + 1)
		cr_expect(strstr(svg, l) != NULL, "legend lacks %s", l);
	cr_expect_eq(strstr(svg, ">native<"), NULL);
	free(svg);

	svg = render("main;malloc 10\n", &plain, NULL);
	cr_expect(strstr(svg, ">native<") != NULL);
	cr_expect_eq(strstr(svg, ">container<"), NULL);
	cr_expect_eq(strstr(svg, ">process<"), NULL);
	free(svg);
}

/* A signed diff: two trees, the shrinking one shown with negative bytes. */
Test(flamegraph, grew_and_shrank_groups)
{
	struct flamegraph *fg = flamegraph__new();
	struct folded *pos = folded__new(), *neg = folded__new();
	const char *g[] = { "c", "p", "alloc" }, *s[] = { "c", "p", "cache" };
	char *svg = NULL;
	size_t len = 0, n;
	FILE *out;
	struct frame fr[16];

	cr_assert(fg && pos && neg);
	cr_assert_eq(folded__add(pos, g, 3, 3072), 0);
	cr_assert_eq(folded__add(neg, s, 3, 1024), 0);
	cr_assert_eq(flamegraph__add_folded(fg, pos, FLAMEGRAPH_GROW_FRAME, false), 0);
	cr_assert_eq(flamegraph__add_folded(fg, neg, FLAMEGRAPH_SHRINK_FRAME, true), 0);
	out = open_memstream(&svg, &len);
	cr_assert_eq(flamegraph__write_svg(fg, &defaults, out, NULL), 0);
	fclose(out);
	n = frames_of(svg, fr, 16);
	cr_expect_eq(n, 9, "all, 2 groups, 2 x (c, p, leaf)");
	cr_expect_str_eq(find(fr, n, "[grew]")->info, "3.00 KiB (75.00%)");
	cr_expect_str_eq(find(fr, n, "[shrank]")->info, "-1.00 KiB (25.00%)");
	cr_expect_str_eq(find(fr, n, "cache")->info, "-1.00 KiB (25.00%)");
	cr_expect(strstr(svg, ">grew<") && strstr(svg, ">shrank<"));
	/* container and process frames are still recognized under the groups */
	cr_expect(strstr(svg, ">container<") && strstr(svg, ">process<"));
	free(svg);
	flamegraph__free(fg);
	folded__free(pos);
	folded__free(neg);
}

Test(flamegraph, write_error_is_reported)
{
	struct flamegraph *fg = flamegraph__new();
	FILE *full = fopen("/dev/full", "w");

	cr_assert(fg && full);
	cr_expect_lt(flamegraph__write_svg(fg, &defaults, full, NULL), 0);
	fclose(full);
	flamegraph__free(fg);
}
