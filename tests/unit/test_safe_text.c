/* Hostile names (a process or cgroup or container named to forge log lines,
 * clear the screen, or break a parser) through every output memscope has:
 * the sanitiser itself, log lines, JSON, Prometheus labels, folded stacks,
 * SVG, pprof strings (test_pprof.c) and the OOM text report. Each output must
 * come out as well-formed UTF-8 with no control character left but its own
 * line ends. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "flamegraph.h"
#include "folded.h"
#include "json.h"
#include "log.h"
#include "oom_print.h"
#include "oom_report.h"
#include "promtext.h"
#include "safe_text.h"
#include "utf8.h"

#define FFFD	SAFE_TEXT_REPLACEMENT_UTF8

static const char *const hostile[] = {
	"evil\nmemscope: error: forged line",
	"\x1b[2J\x1b[H cleared",
	"csi \xc2\x9b" "2J (C1, UTF-8)",
	"raw C1 \x9b" "2J",
	"bad \xff\xfe utf-8 \xc0\xaf \xed\xa0\x80",
	"del\x7f bell\x07 cr\r tab\t",
	"\xe2\x80\xae" "fdp.exe",	/* right-to-left override: printable, kept */
};

/* Well-formed UTF-8, no C0 (but newline where allowed), DEL or C1. */
static void expect_clean(const char *what, const char *name, const char *out, bool newlines)
{
	size_t n = strlen(out);

	for (size_t i = 0; i < n;) {
		uint32_t cp;
		size_t len = utf8__seq_len((const unsigned char *)out + i, n - i);

		cr_assert_gt(len, 0, "%s of \"%s\": malformed UTF-8 at %zu: %s", what, name, i, out);
		safe_text__next(out + i, n - i, &cp);
		cr_assert(!safe_text__is_control(cp) || (cp == '\n' && newlines),
			  "%s of \"%s\": control U+%04X at %zu: %s", what, name, cp, i, out);
		i += len;
	}
}

static char *memstream_of(void (*fn)(FILE *, const char *), const char *name)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	cr_assert_not_null(f);
	fn(f, name);
	fclose(f);
	return buf;
}

static void json_out(FILE *f, const char *name)
{
	struct json j;

	json_init(&j, f, false);
	json_obj(&j, NULL);
	json_str(&j, "container", name);
	json_end(&j);
}

static void prom_out(FILE *f, const char *name)
{
	promtext__escape(f, name, PROMTEXT_VALUE_MAX, true);
}

static void svg_out(FILE *f, const char *name)
{
	flamegraph__escape(f, name, 1000);
}

static void folded_out(FILE *f, const char *name)
{
	char frame[256];

	folded__sanitize(name, frame, sizeof(frame));
	fputs(frame, f);
}

static void copy_out(FILE *f, const char *name)
{
	char buf[256];

	safe_text__copy(buf, sizeof(buf), name, (size_t)-1);
	fputs(buf, f);
}

static void oom_out(FILE *f, const char *name)
{
	static struct oom_report r;

	memset(&r, 0, sizeof(r));
	r.victim.pid = 42;
	snprintf(r.victim.comm, sizeof(r.victim.comm), "%s", "comm");
	snprintf(r.victim.cgroup, sizeof(r.victim.cgroup), "/%s", name);
	snprintf(r.victim.container, sizeof(r.victim.container), "%s", name);
	snprintf(r.cgroup, sizeof(r.cgroup), "/%s", name);
	oom_print__text(&r, f);
}

/* log_msg writes to stderr: caught in a temp file. */
static char *logged(const char *name)
{
	char path[] = "/tmp/memscope-log-XXXXXX", *text;
	int fd = mkstemp(path), saved = dup(STDERR_FILENO);
	FILE *f;
	long len;

	cr_assert(fd >= 0 && saved >= 0);
	fflush(stderr);
	dup2(fd, STDERR_FILENO);
	log_notice("OOM kill: pid 42 (%s) in %s", name, name);
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	f = fdopen(fd, "r");
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	rewind(f);
	text = calloc(1, (size_t)len + 1);
	cr_assert_eq(fread(text, 1, (size_t)len, f), (size_t)len);
	fclose(f);
	unlink(path);
	return text;
}

Test(safe_text, hostile_names_through_every_output)
{
	static const struct {
		const char *what;
		void (*fn)(FILE *, const char *);
		bool newlines;
	} outputs[] = {
		{ "safe_text__copy", copy_out, false }, { "JSON", json_out, true },
		{ "Prometheus label", prom_out, false }, { "SVG", svg_out, false },
		{ "folded frame", folded_out, false }, { "OOM text report", oom_out, true },
	};

	for (size_t i = 0; i < sizeof(hostile) / sizeof(hostile[0]); i++) {
		char *out = logged(hostile[i]);

		expect_clean("log line", hostile[i], out, true);
		cr_expect_eq(strchr(out, '\n'), out + strlen(out) - 1, "log: one line: %s", out);
		free(out);
		for (size_t k = 0; k < sizeof(outputs) / sizeof(outputs[0]); k++) {
			out = memstream_of(outputs[k].fn, hostile[i]);
			expect_clean(outputs[k].what, hostile[i], out, outputs[k].newlines);
			free(out);
		}
	}
}

/* The forged log line stays inside the real one: one line in all. */
Test(safe_text, the_first_oom_line_is_one_line)
{
	char *out = memstream_of(oom_out, hostile[0]);

	cr_expect(strstr(out, "in evil" FFFD "memscope: error: forged line\n"), "%s", out);
	free(out);
}

struct copy_case {
	char in[32];
	size_t cap;
	char want[40];
};

ParameterizedTestParameters(safe_text, copy)
{
	static struct copy_case cases[] = {
		{ "plain", 64, "plain" },
		{ "a\nb", 64, "a" FFFD "b" },
		{ "\x1b[2J", 64, FFFD "[2J" },
		{ "\xc2\x9b", 64, FFFD },			/* C1 CSI */
		{ "\x9b", 64, FFFD },				/* the same byte raw: not UTF-8 */
		{ "\x7f", 64, FFFD },
		{ "caf\xc3\xa9", 64, "caf\xc3\xa9" },
		{ "\xff\xfe", 64, FFFD FFFD },
		{ "\xf0\x9f\x94\xa5", 4, "" },			/* cut: never half a character */
		{ "a\xf0\x9f\x94\xa5", 5, "a" },
		{ "a\xf0\x9f\x94\xa5", 6, "a\xf0\x9f\x94\xa5" },
		{ "ab\n", 4, "ab" },				/* U+FFFD does not fit */
		{ "", 1, "" },
	};

	return cr_make_param_array(struct copy_case, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct copy_case *c, safe_text, copy)
{
	char out[80];	/* > every cap, to catch writes past it */

	memset(out, 'Z', sizeof(out));
	cr_expect_eq(safe_text__copy(out, c->cap, c->in, (size_t)-1), strlen(c->want));
	cr_expect_str_eq(out, c->want);
	cr_expect_eq(out[c->cap], 'Z', "wrote past cap");
}
