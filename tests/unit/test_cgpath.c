#include <errno.h>
#include <stdbool.h>

#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include "cgpath.h"

#define ID "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define CTR "/system.slice/docker-" ID ".scope"

struct under_case {
	char path[64], ancestor[64];
	bool want;
};

static struct under_case under_cases[] = {
	{ "/a/b", "/a", true },
	{ "/a", "/a", true },
	{ "/a", "/a/", true },
	{ "/ab", "/a", false },
	{ "/a", "/a/b", false },
	{ "/anything", "/", true },
	{ "/", "/", true },
	{ "/a/b/c", "/a/b", true },
	{ "/a/bc", "/a/b", false },
};

ParameterizedTestParameters(cgpath, is_under)
{
	return cr_make_param_array(struct under_case, under_cases,
				   sizeof(under_cases) / sizeof(under_cases[0]));
}

ParameterizedTest(struct under_case *c, cgpath, is_under)
{
	cr_assert_eq(cgpath__is_under(c->path, c->ancestor), c->want, "%s under %s", c->path,
		     c->ancestor);
}

struct row_case {
	char path[200], want[200];
};

static struct row_case row_cases[] = {
	{ "/docker/" ID, "/docker/" ID },
	{ "/docker/" ID "/inner/deeper", "/docker/" ID },
	{ CTR, CTR },
	{ CTR "/init.scope", CTR },
	{ "/kubepods/burstable/pod0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0/" ID,
	  "/kubepods/burstable/pod0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0/" ID },
	{ "/system.slice/nginx.service", "/system.slice/nginx.service" },
	{ "/", "/" },
	{ "", "/" },
};

ParameterizedTestParameters(cgpath, row_path)
{
	return cr_make_param_array(struct row_case, row_cases,
				   sizeof(row_cases) / sizeof(row_cases[0]));
}

ParameterizedTest(struct row_case *c, cgpath, row_path)
{
	char buf[256];

	cr_assert_eq(cgpath__row_path(c->path, buf, sizeof(buf)), 0);
	cr_assert_str_eq(buf, c->want);
}

Test(cgpath, row_path_bounds)
{
	char buf[8];

	cr_assert_eq(cgpath__row_path("/docker/" ID "/x", buf, sizeof(buf)), -ENAMETOOLONG);
	cr_assert_eq(cgpath__row_path("/a/long/path", buf, sizeof(buf)), -ENAMETOOLONG);
	cr_assert_eq(cgpath__row_path(NULL, buf, sizeof(buf)), -EINVAL);
}
