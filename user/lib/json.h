/* A streaming JSON writer: every machine-readable output of memscope
 * (--report, --json) goes through it, so escaping is done in one place.
 *
 *   struct json j; json_init(&j, stdout, false);
 *   json_obj(&j, NULL); json_str(&j, "label", "4f2a9c1d7e3b"); json_u64(&j, "bytes", 42);
 *   json_end(&j);   ->   {"label":"4f2a9c1d7e3b","bytes":42}
 */
#ifndef MEMSCOPE_JSON_H
#define MEMSCOPE_JSON_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define JSON_MAX_DEPTH 32

struct json {
	FILE *f;
	bool pretty;
	int depth;
	bool need_comma[JSON_MAX_DEPTH];
	char closer[JSON_MAX_DEPTH];	/* '}' or ']' for each open level */
};

void json_init(struct json *j, FILE *f, bool pretty);
/* key is NULL inside arrays and at the top level. */
void json_obj(struct json *j, const char *key);
void json_arr(struct json *j, const char *key);
void json_end(struct json *j);		/* closes the innermost object or array */
void json_str(struct json *j, const char *key, const char *val);	/* NULL -> null */
void json_strn(struct json *j, const char *key, const char *val, size_t len);
void json_u64(struct json *j, const char *key, uint64_t val);
void json_i64(struct json *j, const char *key, int64_t val);
void json_double(struct json *j, const char *key, double val);	/* NaN/inf -> null */
void json_bool(struct json *j, const char *key, bool val);
void json_null(struct json *j, const char *key);

#endif
