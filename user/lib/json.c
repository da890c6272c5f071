#include <math.h>
#include <string.h>

#include "json.h"
#include "safe_text.h"

void json_init(struct json *j, FILE *f, bool pretty)
{
	memset(j, 0, sizeof(*j));
	j->f = f;
	j->pretty = pretty;
}

/* Valid JSON whatever s holds: malformed UTF-8 becomes U+FFFD (parsers
 * reject it or guess), controls C0, DEL and C1 are \u-escaped (a terminal
 * showing the raw JSON must not act on ESC or CSI). */
static void put_string(FILE *f, const char *s, size_t len)
{
	fputc('"', f);
	for (size_t i = 0; i < len;) {
		uint32_t cp;
		size_t used = safe_text__next(s + i, len - i, &cp);

		if (cp == '"' || cp == '\\')
			fprintf(f, "\\%c", (char)cp);
		else if (cp == '\n')
			fputs("\\n", f);
		else if (cp == '\t')
			fputs("\\t", f);
		else if (safe_text__is_control(cp))
			fprintf(f, "\\u%04x", (unsigned)cp);
		else if (cp == SAFE_TEXT_REPLACEMENT)
			fputs(SAFE_TEXT_REPLACEMENT_UTF8, f);
		else
			fwrite(s + i, 1, used, f);
		i += used;
	}
	fputc('"', f);
}

/* Comma, indentation and key before every value. */
static void prefix(struct json *j, const char *key)
{
	if (j->need_comma[j->depth])
		fputc(',', j->f);
	j->need_comma[j->depth] = true;
	if (j->pretty && j->depth) {
		fputc('\n', j->f);
		for (int i = 0; i < j->depth; i++)
			fputs("  ", j->f);
	}
	if (key) {
		put_string(j->f, key, strlen(key));
		fputs(j->pretty ? ": " : ":", j->f);
	}
}

static void open_level(struct json *j, const char *key, char opener, char closer)
{
	prefix(j, key);
	fputc(opener, j->f);
	/* Past the depth limit output stays balanced but flattens. */
	if (j->depth < JSON_MAX_DEPTH - 1)
		j->depth++;
	j->closer[j->depth] = closer;
	j->need_comma[j->depth] = false;
}

void json_obj(struct json *j, const char *key) { open_level(j, key, '{', '}'); }
void json_arr(struct json *j, const char *key) { open_level(j, key, '[', ']'); }

void json_end(struct json *j)
{
	bool had_values = j->need_comma[j->depth];
	char closer = j->closer[j->depth];

	if (!j->depth)
		return;
	j->depth--;
	if (j->pretty && had_values) {
		fputc('\n', j->f);
		for (int i = 0; i < j->depth; i++)
			fputs("  ", j->f);
	}
	fputc(closer, j->f);
	if (!j->depth)
		fputc('\n', j->f);
}

void json_strn(struct json *j, const char *key, const char *val, size_t len)
{
	prefix(j, key);
	put_string(j->f, val, len);
}

void json_str(struct json *j, const char *key, const char *val)
{
	if (!val) {
		json_null(j, key);
		return;
	}
	json_strn(j, key, val, strlen(val));
}

void json_u64(struct json *j, const char *key, uint64_t val)
{
	prefix(j, key);
	fprintf(j->f, "%llu", (unsigned long long)val);
}

void json_i64(struct json *j, const char *key, int64_t val)
{
	prefix(j, key);
	fprintf(j->f, "%lld", (long long)val);
}

void json_double(struct json *j, const char *key, double val)
{
	if (!isfinite(val)) {
		json_null(j, key);
		return;
	}
	prefix(j, key);
	fprintf(j->f, "%.6g", val);
}

void json_bool(struct json *j, const char *key, bool val)
{
	prefix(j, key);
	fputs(val ? "true" : "false", j->f);
}

void json_null(struct json *j, const char *key)
{
	prefix(j, key);
	fputs("null", j->f);
}
