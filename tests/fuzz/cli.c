/* Numbers and durations from the command line (and from scripts that build
 * it out of other tools' output). */
#include <math.h>

#include "cli.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint64_t ranges[][2] = { { 0, UINT64_MAX }, { 1, 100 }, { 5, 5 }, { 7, 3 } };
	char *s = fuzz_string(data, size);
	uint64_t v;
	double d;

	for (size_t i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++)
		if (cli_u64(s, ranges[i][0], ranges[i][1], &v) == 0)
			FUZZ_CHECK(v >= ranges[i][0] && v <= ranges[i][1]);
	if (cli_seconds(s, &d) == 0)
		FUZZ_CHECK(isfinite(d) && d >= 0);
	free(s);
	return 0;
}
