/* /proc/self/mountinfo, where mount points are octal-escaped kernel text that
 * container runtimes (and their users) choose. */
#include "cgroups.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	FILE *f = fuzz_stream(data, size);
	struct cg_hier h;

	memset(&h, 'x', sizeof(h));
	if (cgroups__parse_mountinfo(f, &h) == 0) {
		FUZZ_CHECK(fuzz_terminated(h.mount, sizeof(h.mount)));
		FUZZ_CHECK(h.mount[0] == '/');
		FUZZ_CHECK(h.version == 1 || h.version == 2);
	}
	fclose(f);
	return 0;
}
