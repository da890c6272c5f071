/* Symbol names from a container's binaries go through libstdc++'s demangler. */
#include "demangle.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *sym = fuzz_string(data, size), *out = demangle(sym);

	FUZZ_CHECK(!out || strlen(out) <= DEMANGLE_OUT_MAX);
	FUZZ_CHECK(!out || strncmp(sym, "_Z", 2) == 0);
	free(out);
	free(sym);
	return 0;
}
