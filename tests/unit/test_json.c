#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "json.h"

static char *render(void (*fn)(struct json *), bool pretty)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	struct json j;

	json_init(&j, f, pretty);
	fn(&j);
	fclose(f);
	return buf;
}

static void nested(struct json *j)
{
	json_obj(j, NULL);
	json_str(j, "s", "a\"b\\c\n\x01");
	json_u64(j, "u", UINT64_MAX);
	json_i64(j, "i", -5);
	json_double(j, "d", 1.5);
	json_double(j, "nan", NAN);
	json_bool(j, "t", true);
	json_str(j, "null", NULL);
	json_arr(j, "a");
	json_u64(j, NULL, 1);
	json_obj(j, NULL);
	json_end(j);
	json_arr(j, NULL);
	json_end(j);
	json_end(j);
	json_end(j);
}

Test(json, compact_output_is_exact)
{
	char *s = render(nested, false);

	cr_assert_str_eq(s, "{\"s\":\"a\\\"b\\\\c\\n\\u0001\",\"u\":18446744073709551615,\"i\":-5,"
			    "\"d\":1.5,\"nan\":null,\"t\":true,\"null\":null,\"a\":[1,{},[]]}\n");
	free(s);
}

Test(json, pretty_output_has_the_same_tokens)
{
	char *s = render(nested, true);
	char *c = render(nested, false);
	size_t n = 0;

	/* strip the whitespace pretty printing adds outside strings */
	for (char *p = s, in = 0; *p; p++) {
		if (*p == '"' && (p == s || p[-1] != '\\'))
			in = !in;
		if (in || (*p != ' ' && *p != '\n'))
			s[n++] = *p;
	}
	s[n] = 0;
	c[strlen(c) - 1] = 0;	/* the newline that ends a document */
	cr_assert_str_eq(s, c, "only whitespace may differ");
	free(s);
	free(c);
}

static void too_deep(struct json *j)
{
	for (int i = 0; i < JSON_MAX_DEPTH + 5; i++)
		json_arr(j, NULL);
	for (int i = 0; i < JSON_MAX_DEPTH + 5; i++)
		json_end(j);
}

Test(json, extra_closes_do_not_underflow)
{
	char *s = render(too_deep, false);

	cr_assert_not_null(s);
	cr_assert_eq(s[0], '[');
	free(s);
}
