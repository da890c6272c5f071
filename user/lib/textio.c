#include <errno.h>
#include <stdbool.h>

#include "textio.h"

ssize_t textio__read_line(FILE *f, char *buf, size_t size)
{
	size_t len = 0;
	bool skip = false;
	int c;

	errno = 0;
	while ((c = getc_unlocked(f)) != EOF && c != '\n') {
		if (c == '\0' || len + 1 >= size)
			skip = true;
		else
			buf[len++] = (char)c;
	}
	if (c == EOF) {
		if (ferror(f)) {
			if (!errno)
				errno = EIO;
			return TEXTIO_ERROR;
		}
		if (len == 0 && !skip)
			return TEXTIO_EOF;
	}
	buf[len] = '\0';
	return skip ? TEXTIO_SKIP : (ssize_t)len;
}

const char *textio__parse_num(const char *s, unsigned int base, uint64_t *out)
{
	const char *p = s;
	uint64_t v = 0;

	for (;; p++) {
		unsigned int d;

		if (*p >= '0' && *p <= '9')
			d = *p - '0';
		else if (base == 16 && *p >= 'a' && *p <= 'f')
			d = *p - 'a' + 10;
		else if (base == 16 && *p >= 'A' && *p <= 'F')
			d = *p - 'A' + 10;
		else
			break;
		if (v > (UINT64_MAX - d) / base)
			return NULL;
		v = v * base + d;
	}
	if (p == s)
		return NULL;
	*out = v;
	return p;
}
