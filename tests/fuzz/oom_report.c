/* An OOM report's names come from the victim (its comm) and from the symbols
 * of whatever binaries it ran (its stacks): one line of input is one frame,
 * the first line also the victim's comm; the report is built from them and
 * printed both ways. The text must stay printable ASCII lines and the JSON
 * one balanced line, whatever the names. */
#include "fuzz.h"
#include "oom_print.h"
#include "oom_report.h"

#define FRAMES_MAX	512

static void check_printable(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		FUZZ_CHECK(s[i] == '\n' || (s[i] >= 0x20 && s[i] < 0x7f));
}

static char *print(const struct oom_report *r, bool json, size_t *len)
{
	char *buf = NULL;
	FILE *f = open_memstream(&buf, len);

	FUZZ_CHECK(f);
	if (json)
		oom_print__json_line(r, f);
	else
		oom_print__text(r, f);
	FUZZ_CHECK(fclose(f) == 0);
	return buf;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct oom_report *r = oom_report__new();
	char *text = fuzz_string(data, size), *save = NULL, *out;
	const char *frames[FRAMES_MAX];
	struct ms_oom_event e = { .victim_tgid = 42, .frozen = 1, .victim_slot = 2 };
	size_t n = 0, len, depth = 0;

	FUZZ_CHECK(r);
	memcpy(e.victim_comm, data, size < MS_COMM_LEN ? size : MS_COMM_LEN);
	oom_report__set_event(r, &e, 4096, 0);
	FUZZ_CHECK(strlen(r->victim.comm) <= MS_COMM_LEN);
	for (char *tok = strtok_r(text, "\n", &save); tok && n < FRAMES_MAX;
	     tok = strtok_r(NULL, "\n", &save))
		frames[n++] = tok;
	/* The same stack several times, and prefixes of it: merging and ranking. */
	for (size_t i = 0; i <= n; i += 1 + n / 8)
		FUZZ_CHECK(oom_report__add_stack(r, frames, n - i, size + i) == 0);
	FUZZ_CHECK(oom_report__add_stack(r, frames, n, 1) == 0);
	FUZZ_CHECK(r->n_stacks <= OOM_TOP_STACKS);
	for (size_t i = 0; i < r->n_stacks; i++) {
		FUZZ_CHECK(strlen(r->stacks[i].folded) < OOM_STACK_MAX);
		FUZZ_CHECK(i == 0 || r->stacks[i - 1].bytes >= r->stacks[i].bytes);
	}

	out = print(r, false, &len);
	check_printable(out, len);
	FUZZ_CHECK(len && out[len - 1] == '\n');
	free(out);

	out = print(r, true, &len);
	check_printable(out, len);
	FUZZ_CHECK(len && out[len - 1] == '\n' && memchr(out, '\n', len) == out + len - 1);
	/* Balanced outside strings (escaped quotes skipped). */
	for (size_t i = 0, in_str = 0; i < len; i++) {
		if (in_str && out[i] == '\\')
			i++;
		else if (out[i] == '"')
			in_str = !in_str;
		else if (!in_str && (out[i] == '{' || out[i] == '['))
			depth++;
		else if (!in_str && (out[i] == '}' || out[i] == ']'))
			FUZZ_CHECK(depth-- > 0);
	}
	FUZZ_CHECK(depth == 0);
	free(out);
	free(text);
	oom_report__free(r);
	return 0;
}
