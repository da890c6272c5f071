#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "demangle.h"

struct demangle_case {
	const char *in;
	const char *out;	/* NULL: not demangled */
};

static const struct demangle_case cases[] = {
	{ "_Z3foov", "foo()" },
	{ "_ZN2v84base2OS8AllocateEPvmmNS1_16MemoryPermissionE",
	  "v8::base::OS::Allocate(void*, unsigned long, unsigned long, "
	  "v8::base::OS::MemoryPermission)" },
	{ "_ZNSt6vectorIiSaIiEE9push_backERKi",
	  "std::vector<int, std::allocator<int> >::push_back(int const&)" },
	{ "_Z3foov.cold", "foo() [clone .cold]" },
	{ "_ZN4core3fmt5write17h0123456789abcdefE", "core::fmt::write::h0123456789abcdef" },
	/* Not mangled: C names, and bare type codes __cxa_demangle would
	 * otherwise happily turn into "int". */
	{ "main", NULL },
	{ "i", NULL },
	{ "memset", NULL },
	{ "", NULL },
	/* Mangled-looking garbage. */
	{ "_Z", NULL },
	{ "_Zgarbage", NULL },
	{ "_ZN3foo", NULL },
	{ "_Z9", NULL },
	{ "_ZN\x01\xff", NULL },
};

Test(demangle, table)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct demangle_case *c = &cases[i];
		char *out = demangle(c->in);

		if (c->out)
			cr_assert_str_eq(out, c->out, "%s", c->in);
		else
			cr_assert_null(out, "%s gave %s", c->in, out);
		free(out);
	}
}

Test(demangle, null_is_not_mangled)
{
	cr_assert_null(demangle(NULL));
}

/* A name with n parameters of a long class type demangles to far more than
 * DEMANGLE_OUT_MAX characters, which must be cut, not returned whole. */
static char *long_mangled(const char *cls, int n)
{
	size_t len = 16 + strlen(cls) + n * 4;
	char *s = malloc(len);
	int off;

	cr_assert_not_null(s);
	off = snprintf(s, len, "_Z1f%s", cls);
	/* First parameter spelled out, the rest are substitutions (S_). */
	for (int i = 1; i < n; i++)
		off += snprintf(s + off, len - off, "S_");
	return s;
}

Test(demangle, long_results_are_cut)
{
	char *in = long_mangled("39AVeryLongClassNameThatRepeatsAndRepeats", 100);
	char *out = demangle(in);

	cr_assert_not_null(out, "%s", in);
	cr_assert_eq(strlen(out), DEMANGLE_OUT_MAX);
	cr_assert(strncmp(out, "f(AVeryLongClassName", 20) == 0, "%s", out);
	cr_assert_str_eq(out + DEMANGLE_OUT_MAX - 3, "...");
	free(out);
	free(in);
}

/* UTF-8 identifiers: "f(" + n * ("é" * 19 + ", ") puts the cut at 1021 on
 * the second byte of an "é"; the whole character must go. */
Test(demangle, cut_keeps_utf8_whole)
{
	char cls[64] = "38";
	char *in, *out;
	size_t len;

	for (int i = 0; i < 19; i++)
		strcat(cls, "\xc3\xa9");
	in = long_mangled(cls, 100);
	out = demangle(in);
	cr_assert_not_null(out);
	len = strlen(out);
	cr_assert_eq(len, DEMANGLE_OUT_MAX - 1);
	cr_assert_str_eq(out + len - 3, "...");
	cr_assert_eq((unsigned char)out[len - 4], 0xa9);
	cr_assert_eq((unsigned char)out[len - 5], 0xc3);
	free(out);
	free(in);
}

Test(demangle, overlong_input_is_refused)
{
	char *in = malloc(DEMANGLE_IN_MAX + 2);

	cr_assert_not_null(in);
	memcpy(in, "_Z", 2);
	memset(in + 2, 'a', DEMANGLE_IN_MAX);
	in[DEMANGLE_IN_MAX + 1] = '\0';
	cr_assert_null(demangle(in));
	free(in);
}

/* Deeply nested templates: the demangler must give up, not blow the stack. */
Test(demangle, hostile_nesting)
{
	char in[DEMANGLE_IN_MAX + 1];
	size_t n = 0;

	n += snprintf(in + n, sizeof(in) - n, "_Z1f");
	while (n + 8 < DEMANGLE_IN_MAX)
		n += snprintf(in + n, sizeof(in) - n, "PFvPFvI");
	in[n] = '\0';
	free(demangle(in));
}
