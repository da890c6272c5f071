/* Folded files handed to `memscope diff` / `flamegraph`: they may come from
 * other tools or anywhere. What folded__read keeps must write out as lines
 * that read back to the very same set. */
#include <stdbool.h>

#include "folded.h"
#include "fuzz.h"

static struct folded *reread(const struct folded *f, size_t *bad)
{
	struct folded *again = folded__new();
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);
	FILE *in;

	FUZZ_CHECK(again && out);
	FUZZ_CHECK(folded__write(f, out) == 0);
	fclose(out);
	in = fuzz_stream((const uint8_t *)text, len);
	FUZZ_CHECK(folded__read(again, in, bad) == 0);
	fclose(in);
	free(text);
	return again;
}

/* Sanitizing a frame into a buffer of any size stays inside it and leaves
 * nothing that would split a folded line. */
static void check_sanitize(const char *frame)
{
	static const size_t sizes[] = { 1, 2, 4, 10, 64, FOLDED_FRAME_MAX };
	char out[FOLDED_FRAME_MAX];

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		folded__sanitize(frame, out, sizes[i]);
		FUZZ_CHECK(fuzz_terminated(out, sizes[i]));
		for (const char *p = out; *p; p++)
			FUZZ_CHECK((unsigned char)*p > ' ' && *p != ';' && *p != 0x7f);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct folded *f = folded__new(), *again;
	size_t bad = 0, iter = 0;
	const char *stack;
	uint64_t value;
	FILE *in = fuzz_stream(data, size);
	char *frame;

	FUZZ_CHECK(f);
	FUZZ_CHECK(folded__read(f, in, &bad) == 0);
	fclose(in);
	while (folded__next(f, &iter, &stack, &value))
		FUZZ_CHECK(stack[0] && strlen(stack) < FOLDED_LINE_MAX && !strchr(stack, '\n'));

	again = reread(f, &bad);
	FUZZ_CHECK(bad == 0);
	FUZZ_CHECK(folded__count(again) == folded__count(f));
	FUZZ_CHECK(folded__total(again) == folded__total(f));
	folded__free(again);
	folded__free(f);

	frame = fuzz_string(data, size > 2 * FOLDED_FRAME_MAX ? 2 * FOLDED_FRAME_MAX : size);
	check_sanitize(frame);
	free(frame);
	return 0;
}
