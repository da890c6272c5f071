/* jsheap: V8 sampling heap profiles (as node's inspector answers
 * HeapProfiler.getSamplingProfile) into stacks of JS frames; and what a lying
 * process can send instead. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsheap.h"

struct seen {
	char stacks[16][1024];
	uint64_t bytes[16];
	size_t n;
	size_t max_frames;
};

static int collect(void *ctx, const char *const *frames, size_t n, uint64_t bytes)
{
	struct seen *s = ctx;
	size_t off = 0;

	if (n > s->max_frames)
		s->max_frames = n;
	if (s->n == 16)
		return 0;
	for (size_t i = 0; i < n && off < 1000; i++)
		off += snprintf(s->stacks[s->n] + off, 1024 - off, "%s%s", i ? ";" : "", frames[i]);
	s->bytes[s->n++] = bytes;
	return 0;
}

#define NODE(fn, url, line, self, kids) \
	"{\"callFrame\":{\"functionName\":\"" fn "\",\"scriptId\":\"1\",\"url\":\"" url \
	"\",\"lineNumber\":" #line ",\"columnNumber\":4},\"selfSize\":" #self \
	",\"id\":1,\"children\":[" kids "]}"

/* The shape node 20 answers with, cut to three functions of an API. */
static const char response[] =
	"{\"id\":3,\"result\":{\"profile\":{\"head\":"
	NODE("(root)", "", -1, 0,
	     NODE("app.get", "file:///srv/api.js", 18, 0,
		  NODE("cacheResponse", "file:///srv/api.js", 13, 3000000,
		       NODE("buildProductPage", "/srv/api.js", 7, 1000000, ""))
		  "," NODE("", "node:internal/timers", 503, 500, "")))
	",\"samples\":[{\"size\":64,\"nodeId\":2,\"ordinal\":1}]}}}";

Test(jsheap, stacks_root_first_with_file_and_line)
{
	struct jsheap_profile *p;
	struct seen s = { 0 };

	cr_assert_eq(jsheap__parse(response, strlen(response), &p), 0);
	cr_assert_eq(jsheap__each(p, collect, &s), 0);
	cr_assert_eq(s.n, 3);
	cr_expect_str_eq(s.stacks[0], "app.get_api.js:19;cacheResponse_api.js:14");
	cr_expect_eq(s.bytes[0], 3000000);
	cr_expect_str_eq(s.stacks[1], "app.get_api.js:19;cacheResponse_api.js:14;"
				      "buildProductPage_api.js:8");
	cr_expect_eq(s.bytes[1], 1000000);
	cr_expect_str_eq(s.stacks[2], "app.get_api.js:19;(anonymous)_timers:504");
	cr_expect_eq(jsheap__total(p), 4000500);
	cr_expect_eq(jsheap__nodes(p), 4);
	jsheap__free(p);
}

Test(jsheap, bare_profile_object)
{
	const char *t = "{\"head\":" NODE("(root)", "", -1, 0, NODE("f", "", -1, 10, "")) "}";
	struct jsheap_profile *p;
	struct seen s = { 0 };

	cr_assert_eq(jsheap__parse(t, strlen(t), &p), 0);
	jsheap__each(p, collect, &s);
	cr_assert_eq(s.n, 1);
	cr_expect_str_eq(s.stacks[0], "f");
	jsheap__free(p);
}

/* Not a profile, or not whole: refused, never half read. */
Test(jsheap, refused)
{
	static const char *bad[] = {
		"", "[]", "null", "{}", "{\"profile\":3}", "{\"result\":[]}",
		"{\"profile\":{\"head\":[]}}", "{\"head\":{\"children\":[]}", /* cut short */
		"{\"head\":{}} trailing", "\xff\xfe{",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct jsheap_profile *p = (void *)1;
		int err = jsheap__parse(bad[i], strlen(bad[i]), &p);

		cr_expect(err == -EINVAL || err == -E2BIG, "'%s': %d", bad[i], err);
		cr_expect_null(p, "'%s'", bad[i]);
	}
}

/* Sizes a process may lie about: negative, fractional, huge, strings. */
Test(jsheap, hostile_sizes_saturate)
{
	const char *t = "{\"head\":{\"children\":["
		"{\"callFrame\":{\"functionName\":\"neg\"},\"selfSize\":-5},"
		"{\"callFrame\":{\"functionName\":\"str\"},\"selfSize\":\"100\"},"
		"{\"callFrame\":{\"functionName\":\"frac\"},\"selfSize\":2.5},"
		"{\"callFrame\":{\"functionName\":\"big\"},\"selfSize\":9223372036854775807},"
		"{\"callFrame\":{\"functionName\":\"big2\"},\"selfSize\":9223372036854775807},"
		"{\"callFrame\":{\"functionName\":\"dbl\"},\"selfSize\":1e300},"
		"{\"callFrame\":7,\"selfSize\":1},"
		"{\"callFrame\":{\"functionName\":\"ln\",\"url\":\"a/b.js\",\"lineNumber\":-7},\"selfSize\":1},"
		"5, null, \"x\"]}}";
	struct jsheap_profile *p;
	struct seen s = { 0 };

	cr_assert_eq(jsheap__parse(t, strlen(t), &p), 0);
	jsheap__each(p, collect, &s);
	cr_expect_eq(jsheap__total(p), UINT64_MAX);
	cr_expect_eq(s.n, 6);	/* frac (2), big, big2, dbl, callFrame 7, ln */
	cr_expect_str_eq(s.stacks[0], "frac");
	cr_expect_eq(s.bytes[0], 2);
	cr_expect_str_eq(s.stacks[4], "(anonymous)");
	cr_expect_str_eq(s.stacks[5], "ln_b.js");
	jsheap__free(p);
}

/* A name of 100 KB is cut, not copied whole into every frame. */
Test(jsheap, long_names_cut)
{
	size_t big = 100000;
	char *t = malloc(2 * big + 256), *name = malloc(big + 1);
	struct jsheap_profile *p;
	struct seen s = { 0 };

	memset(name, 'a', big);
	name[big] = '\0';
	snprintf(t, 2 * big + 256, "{\"head\":{\"children\":[{\"callFrame\":{\"functionName\":\"%s\","
		 "\"url\":\"/x/%s\",\"lineNumber\":1},\"selfSize\":5}]}}", name, name);
	cr_assert_eq(jsheap__parse(t, strlen(t), &p), 0);
	jsheap__each(p, collect, &s);
	cr_assert_eq(s.n, 1);
	cr_expect_lt(strlen(s.stacks[0]), JSHEAP_FRAME_LEN);
	cr_expect(strlen(s.stacks[0]) > 2 &&
		  !strcmp(s.stacks[0] + strlen(s.stacks[0]) - 2, ":2"), "%s", s.stacks[0]);
	jsheap__free(p);
	free(t);
	free(name);
}

/* JSON of n nested nodes, each with selfSize 1. */
static char *nested(size_t n, size_t *len)
{
	const char *open = "{\"callFrame\":{\"functionName\":\"f\"},\"selfSize\":1,\"children\":[";
	size_t cap = n * (strlen(open) + 2) + 64, off = 0;
	char *t = malloc(cap);

	off += snprintf(t + off, cap - off, "{\"head\":{\"children\":[");
	for (size_t i = 0; i < n; i++)
		off += snprintf(t + off, cap - off, "%s", open);
	for (size_t i = 0; i < n; i++)
		off += snprintf(t + off, cap - off, "]}");
	off += snprintf(t + off, cap - off, "]}}");
	*len = off;
	return t;
}

/* Deeper than JSHEAP_DEPTH_MAX frames: the stack stops there, the rest of
 * the bytes under one "[deeper]" frame. */
Test(jsheap, deep_stacks_cut_at_depth_max)
{
	size_t len, n = JSHEAP_DEPTH_MAX + 300;
	char *t = nested(n, &len);
	struct jsheap_profile *p;
	struct seen s = { 0 };

	cr_assert_eq(jsheap__parse(t, len, &p), 0);
	jsheap__each(p, collect, &s);
	cr_expect_eq(jsheap__total(p), n);
	cr_expect_eq(s.max_frames, JSHEAP_DEPTH_MAX + 1);
	cr_expect_eq(jsheap__nodes(p), JSHEAP_DEPTH_MAX + 1);
	jsheap__free(p);
	free(t);
}

/* Nested past what the tokener takes: refused, no stack overflow. */
Test(jsheap, nesting_past_json_depth_refused)
{
	size_t len;
	char *t = nested(JSHEAP_JSON_DEPTH, &len);
	struct jsheap_profile *p;

	cr_expect_eq(jsheap__parse(t, len, &p), -E2BIG);
	cr_expect_null(p);
	free(t);
}

Test(jsheap, text_over_max_refused)
{
	struct jsheap_profile *p;

	cr_expect_eq(jsheap__parse("{}", (size_t)JSHEAP_TEXT_MAX + 1, &p), -E2BIG);
}

/* More nodes than JSHEAP_NODES_MAX: the rest counted with their bytes. */
Test(jsheap, nodes_over_max_counted)
{
	const char *node = "{\"callFrame\":{\"functionName\":\"g\"},\"selfSize\":3},";
	size_t n = JSHEAP_NODES_MAX + 10, cap = n * strlen(node) + 64, off = 0;
	char *t = malloc(cap);
	struct jsheap_profile *p;

	off += snprintf(t + off, cap - off, "{\"head\":{\"children\":[");
	for (size_t i = 0; i < n; i++)
		off += snprintf(t + off, cap - off, "%s", node);
	off--;	/* the last comma */
	off += snprintf(t + off, cap - off, "]}}");
	cr_assert_eq(jsheap__parse(t, off, &p), 0);
	cr_expect_eq(jsheap__nodes(p), JSHEAP_NODES_MAX);
	cr_expect_eq(jsheap__dropped_nodes(p), 10);
	cr_expect_eq(jsheap__dropped_bytes(p), 30);
	cr_expect_eq(jsheap__total(p), 3ull * JSHEAP_NODES_MAX);
	jsheap__free(p);
	free(t);
}
