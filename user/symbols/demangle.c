#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "demangle.h"

/* libstdc++'s demangler; declared here because its header is C++ only. */
extern char *__cxa_demangle(const char *mangled, char *buf, size_t *len, int *status);

#define ELLIPSIS "..."

char *demangle(const char *sym)
{
	char *out;
	int status = 0;

	/* Only names with the Itanium prefix: __cxa_demangle also accepts bare
	 * type encodings, so a C function called "i" would come back as "int". */
	if (!sym || strncmp(sym, "_Z", 2) != 0)
		return NULL;
	/* The demangler sizes stack arrays by the input length: bound it. */
	if (strnlen(sym, DEMANGLE_IN_MAX + 1) > DEMANGLE_IN_MAX)
		return NULL;

	out = __cxa_demangle(sym, NULL, NULL, &status);
	if (!out || status != 0) {
		free(out);
		if (status == -1)
			errno = ENOMEM;
		return NULL;
	}
	if (strlen(out) > DEMANGLE_OUT_MAX) {
		size_t cut = DEMANGLE_OUT_MAX - strlen(ELLIPSIS);

		/* Identifiers may be UTF-8: do not leave half a character. */
		while (cut > 0 && ((unsigned char)out[cut] & 0xc0) == 0x80)
			cut--;
		strcpy(out + cut, ELLIPSIS);
	}
	return out;
}
