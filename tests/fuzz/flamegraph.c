/* Folded stacks from anywhere drawn as an SVG: every frame name ends up in
 * XML, so escaping must hold for any bytes. */
#include <stdbool.h>

#include "flamegraph.h"
#include "folded.h"
#include "fuzz.h"

/* Escaped text: no markup characters and no control bytes but none at all. */
static void check_escaped(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		FUZZ_CHECK(c != '<' && c != '>' && c != '"' && c != '\'' && c >= 0x20 && c != 0x7f);
	}
}

static void check_escape(const uint8_t *data, size_t size)
{
	char *s = fuzz_string(data, size), *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);

	FUZZ_CHECK(out);
	FUZZ_CHECK(flamegraph__escape(out, s, 64) <= 64);
	fclose(out);
	check_escaped(text, len);
	free(text);
	free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct flamegraph_opts o = { .title = "fuzz", .max_rects = 2000 };
	struct flamegraph_stats st;
	struct folded *f = folded__new();
	struct flamegraph *fg = flamegraph__new();
	FILE *in = fuzz_stream(data, size), *out;

	FUZZ_CHECK(f && fg);
	FUZZ_CHECK(folded__read(f, in, NULL) == 0);
	fclose(in);
	o.inverted = size & 1;
	o.plain = size & 2;
	FUZZ_CHECK(flamegraph__add_folded(fg, f, size & 4 ? FLAMEGRAPH_GROW_FRAME : NULL,
					  false) == 0);
	out = fopen("/dev/null", "we");
	FUZZ_CHECK(out);
	FUZZ_CHECK(flamegraph__write_svg(fg, &o, out, &st) == 0);
	FUZZ_CHECK(st.total == folded__total(f));
	FUZZ_CHECK(st.rects <= st.frames && st.depth <= FLAMEGRAPH_MAX_DEPTH);
	fclose(out);
	flamegraph__free(fg);
	folded__free(f);
	check_escape(data, size);
	return 0;
}
