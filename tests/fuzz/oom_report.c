/* An OOM report's names come from the victim (its comm) and from the symbols
 * of whatever binaries it ran (its stacks): one line of input is one frame,
 * the first line also the victim's comm; the report is built from them and
 * printed both ways. The text must stay printable ASCII lines and the JSON
 * one balanced line, whatever the names. */
#include "fuzz.h"
#include "memclass.h"
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
	const char *lines[FRAMES_MAX];
	struct frame frames[FRAMES_MAX];
	struct rec_stack st = { .container = "", .comm = "", .thread = "", .frames = frames };
	struct ms_oom_event e = { .victim_tgid = 42, .frozen = 1, .victim_slot = 2 };
	size_t n = 0, len, depth = 0, all;

	FUZZ_CHECK(r);
	memcpy(e.victim_comm, data, size < MS_COMM_LEN ? size : MS_COMM_LEN);
	oom_report__set_event(r, &e, 4096, 0);
	FUZZ_CHECK(strlen(r->victim.comm) <= MS_COMM_LEN);
	for (char *tok = strtok_r(text, "\n", &save); tok && n < FRAMES_MAX;
	     tok = strtok_r(NULL, "\n", &save))
		lines[n++] = tok;
	/* The first two lines are the container and the comm; the class and
	 * each frame's kind come from the input too, so that every mark and
	 * every name that looks like one meets the printers. */
	if (n > 0)
		st.container = lines[0];
	if (n > 1)
		st.comm = lines[1];
	all = n > 2 ? n - 2 : 0;
	st.cls = size ? data[0] % MEM_NR_CLASSES : MEM_CLASS_NONE;
	for (size_t i = 2; i < n; i++)
		frames[i - 2] = (struct frame){ .name = lines[i],
						.kind = (unsigned char)lines[i][0] % 4 };
	/* The same stack several times, and prefixes of it: merging and ranking. */
	for (size_t i = 0; i <= all; i += 1 + n / 8) {
		st.nframes = all - i;
		FUZZ_CHECK(oom_report__add_stack(r, &st, size + i) == 0);
	}
	st.nframes = all;
	FUZZ_CHECK(oom_report__add_stack(r, &st, 1) == 0);
	FUZZ_CHECK(r->n_stacks <= OOM_TOP_STACKS);
	for (size_t i = 0; i < r->n_stacks; i++) {
		char *folded = oom_report__folded(&r->stacks[i]);

		FUZZ_CHECK(folded && strlen(folded) < OOM_STACK_MAX);
		free(folded);
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
