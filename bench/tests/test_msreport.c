#include <criterion/criterion.h>
#include <errno.h>
#include <criterion/parameterized.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "msreport.h"

static const char report[] =
	"{\"duration_s\": 8.5, \"mode\": \"outstanding\",\n"
	" \"events\": {\"alloc_events\": 209645, \"free_events\": 208628, \"samples\": 3298},\n"
	" \"losses\": {\"procs_full\": 0, \"ringbuf_full\": 7, \"weird\": -3, \"text\": \"x\"},\n"
	" \"containers\": [\n"
	"   {\"label\": \"/a\", \"cgroup\": \"/a\", \"cgroup_id\": 6800, \"processes\": 10,\n"
	"    \"alloc_bytes\": 851722240, \"free_bytes\": 847802368, \"resident_bytes\": 3919872},\n"
	"   {\"cgroup_id\": 6833, \"alloc_bytes\": 4096, \"resident_bytes\": -8192},\n"
	"   \"not an object\"\n"
	" ]}";

static uint64_t get(const struct msr_counter *c, size_t n, const char *name)
{
	uint64_t v = 0;

	cr_assert(msreport__get(c, n, name, &v), "no counter %s", name);
	return v;
}

Test(msreport, json_report)
{
	struct msreport r;
	const struct msr_container *c;
	uint64_t v;

	cr_assert_eq(msreport__parse_json(report, strlen(report), &r), 0);
	cr_expect(r.from_json);
	cr_expect_float_eq(r.duration_s, 8.5, 1e-9);
	cr_expect_eq(get(r.events, r.n_events, "alloc_events"), 209645);
	cr_expect_eq(get(r.events, r.n_events, "samples"), 3298);
	cr_expect_eq(get(r.losses, r.n_losses, "ringbuf_full"), 7);
	/* A negative or non-numeric value is no counter. */
	cr_expect_not(msreport__get(r.losses, r.n_losses, "weird", &v));
	cr_expect_not(msreport__get(r.losses, r.n_losses, "text", &v));
	cr_expect_eq(r.n_containers, 2);
	c = msreport__container(&r, 6800);
	cr_assert_not_null(c);
	cr_expect_str_eq(c->cgroup, "/a");
	cr_expect_eq(c->resident_bytes, 3919872);
	c = msreport__container(&r, 6833);
	cr_assert_not_null(c);
	cr_expect_eq(c->resident_bytes, -8192);
	cr_expect_null(msreport__container(&r, 1));
	msreport__free(&r);
}

/* Inline text: parameters are copied into the test's own process. */
struct bad_json {
	char text[48];
};

ParameterizedTestParameters(msreport, json_garbage)
{
	static struct bad_json bad[] = {
		{ "" }, { "{" }, { "[1,2,3]" }, { "null" }, { "\"str\"" }, { "{\"events\": 3}" },
		{ "{}" }, { "{\"events\": {\"a\": 1" }, { "{\"containers\": [{}, {}]}" },
	};

	return cr_make_param_array(struct bad_json, bad, sizeof(bad) / sizeof(bad[0]));
}

ParameterizedTest(struct bad_json *b, msreport, json_garbage)
{
	struct msreport r;

	cr_expect_neq(msreport__parse_json(b->text, strlen(b->text), &r), 0, "accepted '%s'",
		      b->text);
	msreport__free(&r);
}

Test(msreport, json_too_big)
{
	struct msreport r;

	cr_expect_eq(msreport__parse_json("{}", (size_t)MSR_MAX_FILE + 1, &r), -EFBIG);
	msreport__free(&r);
}

static FILE *text_file(const char *text)
{
	FILE *f = fmemopen((void *)text, strlen(text), "r");

	cr_assert_not_null(f);
	return f;
}

Test(msreport, stderr_lines)
{
	FILE *f = text_file(
		"memscope: recording; Ctrl-C to stop\n"
		"CONTAINER   PROCS\n"
		"events: 247189 allocations, 232613 frees, 3912 samples (leaf callers recovered "
		"from CFI: 561)\n"
		"losses: process table full (counted in [overflow])=0, samples lost, ring buffer "
		"full (raise --ringbuf)=12, user stack bytes unreadable=28, x=y=3\n");
	struct msreport r;

	cr_assert_eq(msreport__parse_stderr(f, &r), 0);
	fclose(f);
	cr_expect_not(r.from_json);
	cr_expect_eq(get(r.events, r.n_events, "alloc_events"), 247189);
	cr_expect_eq(get(r.events, r.n_events, "free_events"), 232613);
	cr_expect_eq(get(r.events, r.n_events, "samples"), 3912);
	cr_expect_eq(get(r.losses, r.n_losses, "process table full (counted in [overflow])"), 0);
	/* A comma inside a name does not split it. */
	cr_expect_eq(get(r.losses, r.n_losses, "samples lost, ring buffer full (raise --ringbuf)"),
		     12);
	cr_expect_eq(get(r.losses, r.n_losses, "user stack bytes unreadable"), 28);
	cr_expect_eq(get(r.losses, r.n_losses, "x=y"), 3);
	msreport__free(&r);
}

Test(msreport, stderr_garbage)
{
	static char huge[10000];
	struct msreport r;
	FILE *f;

	memset(huge, 'a', sizeof(huge) - 1);
	memcpy(huge + 5000, "\nlosses:=", 9);
	f = text_file(huge);
	cr_expect_neq(msreport__parse_stderr(f, &r), 0);
	fclose(f);
	f = text_file("losses: no numbers here, none=\nevents: lots of them\n");
	cr_expect_neq(msreport__parse_stderr(f, &r), 0);
	fclose(f);
	/* "losses:" in the middle of a cut long line is not a line start. */
	memset(huge, 'b', sizeof(huge) - 1);
	memcpy(huge + 4095, "losses: a=1\n", 12);
	f = text_file(huge);
	cr_expect_neq(msreport__parse_stderr(f, &r), 0);
	fclose(f);
}

Test(msreport, load_prefers_json_then_stderr)
{
	char dir[] = "/tmp/msreport-test-XXXXXX", json[64], err[64];
	struct msreport r;
	FILE *f;

	cr_assert_not_null(mkdtemp(dir));
	snprintf(json, sizeof(json), "%s/r.json", dir);
	snprintf(err, sizeof(err), "%s/r.err", dir);
	f = fopen(err, "w");
	fputs("losses: ring=5\n", f);
	fclose(f);
	cr_expect_eq(msreport__load(json, err, &r), 0, "missing JSON: stderr is used");
	cr_expect_not(r.from_json);
	cr_expect_eq(get(r.losses, r.n_losses, "ring"), 5);
	msreport__free(&r);
	f = fopen(json, "w");
	fputs(report, f);
	fclose(f);
	cr_expect_eq(msreport__load(json, err, &r), 0);
	cr_expect(r.from_json);
	msreport__free(&r);
	f = fopen(json, "w");
	fputs("{broken", f);
	fclose(f);
	cr_expect_eq(msreport__load(json, err, &r), 0, "broken JSON: stderr is used");
	cr_expect_not(r.from_json);
	msreport__free(&r);
	cr_expect_neq(msreport__load(NULL, NULL, &r), 0);
	unlink(json);
	unlink(err);
	rmdir(dir);
}
