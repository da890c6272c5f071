#include <string.h>

#include "safe_text.h"
#include "utf8.h"

size_t safe_text__next(const char *s, size_t n, uint32_t *cp)
{
	static const unsigned char lead_mask[] = { 0, 0x7f, 0x1f, 0x0f, 0x07 };
	const unsigned char *u = (const unsigned char *)s;
	size_t len = utf8__seq_len(u, n);

	if (!len) {
		*cp = SAFE_TEXT_REPLACEMENT;
		return 1;
	}
	*cp = u[0] & lead_mask[len];
	for (size_t i = 1; i < len; i++)
		*cp = (*cp << 6) | (u[i] & 0x3f);
	return len;
}

size_t safe_text__copy(char *out, size_t cap, const char *in, size_t len)
{
	size_t o = 0;

	if (!cap)
		return 0;
	if (len == (size_t)-1)
		len = in ? strlen(in) : 0;
	for (size_t i = 0; i < len;) {
		uint32_t cp;
		size_t used = safe_text__next(in + i, len - i, &cp);
		bool bad = cp == SAFE_TEXT_REPLACEMENT || safe_text__is_control(cp);
		const char *bytes = bad ? SAFE_TEXT_REPLACEMENT_UTF8 : in + i;
		size_t blen = bad ? sizeof(SAFE_TEXT_REPLACEMENT_UTF8) - 1 : used;

		if (o + blen >= cap)
			break;
		memcpy(out + o, bytes, blen);
		o += blen;
		i += used;
	}
	out[o] = '\0';
	return o;
}

static void put(const char *s, FILE *f, bool keep_newlines)
{
	size_t n = s ? strlen(s) : 0;

	for (size_t i = 0; i < n;) {
		uint32_t cp;
		size_t used = safe_text__next(s + i, n - i, &cp);

		if (cp == '\n' && keep_newlines)
			fputc('\n', f);
		else if (cp == SAFE_TEXT_REPLACEMENT || safe_text__is_control(cp))
			fputs(SAFE_TEXT_REPLACEMENT_UTF8, f);
		else
			fwrite(s + i, 1, used, f);
		i += used;
	}
}

void safe_text__fput(const char *s, FILE *f)
{
	put(s, f, false);
}

void safe_text__fput_lines(const char *s, FILE *f)
{
	put(s, f, true);
}
