/* Signed folded files (`memscope diff --all` output, or anyone's) read back
 * by `memscope flamegraph`, and the diff of what they hold. */
#include "folded.h"
#include "folded_diff.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum folded_diff_mode modes[] = { FOLDED_DIFF_GROWTH, FOLDED_DIFF_ALL,
						       FOLDED_DIFF_TWO_COLUMN };
	struct folded *pos = folded__new(), *neg = folded__new();
	struct folded_diff_stats st;
	FILE *in = fuzz_stream(data, size), *out;
	size_t bad = 0;

	FUZZ_CHECK(pos && neg);
	FUZZ_CHECK(folded_diff__read_signed(in, pos, neg, &bad) == 0);
	fclose(in);
	out = fopen("/dev/null", "we");
	FUZZ_CHECK(out);
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		FUZZ_CHECK(folded_diff__write(neg, pos, modes[i], out, &st) == 0);
		FUZZ_CHECK(st.written <= st.grown + st.shrunk + st.unchanged);
	}
	fclose(out);
	folded__free(pos);
	folded__free(neg);
	return 0;
}
