/* The sanitiser every name a container controls goes through (safe_text.h),
 * and the escapers of the outputs built on it: whatever the bytes, each
 * writes well-formed UTF-8 with no control character left raw, and
 * safe_text__copy stays inside its buffer and cuts on a character. */
#include "flamegraph.h"
#include "folded.h"
#include "fuzz.h"
#include "json.h"
#include "promtext.h"
#include "safe_text.h"
#include "utf8.h"

/* Well-formed UTF-8 without C0 (newline too, unless allowed), DEL or C1. */
static void check_clean(const char *s, size_t n, int newline_ok)
{
	for (size_t i = 0; i < n;) {
		size_t len = utf8__seq_len((const unsigned char *)s + i, n - i);
		uint32_t cp;

		FUZZ_CHECK(len > 0);
		safe_text__next(s + i, n - i, &cp);
		FUZZ_CHECK(!safe_text__is_control(cp) || (cp == '\n' && newline_ok));
		i += len;
	}
}

static void through(void (*fn)(FILE *, const char *), const char *name, int newline_ok)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	FUZZ_CHECK(f);
	fn(f, name);
	fclose(f);
	check_clean(buf, len, newline_ok);
	free(buf);
}

static void json_out(FILE *f, const char *name)
{
	struct json j;

	json_init(&j, f, false);
	json_str(&j, NULL, name);
}

static void prom_out(FILE *f, const char *name)
{
	promtext__escape(f, name, PROMTEXT_VALUE_MAX, true);
}

static void svg_out(FILE *f, const char *name)
{
	flamegraph__escape(f, name, 200);
}

static void fput_out(FILE *f, const char *name)
{
	safe_text__fput(name, f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t caps[] = { 1, 2, 3, 4, 5, 7, 64, 4096 };
	char *name = fuzz_string(data, size);
	char out[4096 + 1], frame[FOLDED_FRAME_MAX];

	for (size_t i = 0; i < sizeof(caps) / sizeof(caps[0]); i++) {
		size_t n;

		out[caps[i]] = 'Z';
		n = safe_text__copy(out, caps[i], (const char *)data, size);
		FUZZ_CHECK(n < caps[i] && out[n] == '\0' && out[caps[i]] == 'Z');
		check_clean(out, n, 0);
	}
	folded__sanitize(name, frame, sizeof(frame));
	check_clean(frame, strlen(frame), 0);
	through(json_out, name, 0);
	through(prom_out, name, 0);
	through(svg_out, name, 0);
	through(fput_out, name, 0);
	free(name);
	return 0;
}
