#include <criterion/criterion.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "workloads.h"

Test(workloads, argv_substitutes_dir)
{
	const char *tmpl[] = { "prog", "-f", "@DIR@/data", "x@DIR@y", NULL };
	struct wl_argv a;

	cr_assert_eq(workload__argv(tmpl, "/tmp/d", &a), 0);
	cr_expect_str_eq(a.argv[0], "prog");
	cr_expect_str_eq(a.argv[2], "/tmp/d/data");
	cr_expect_str_eq(a.argv[3], "x/tmp/dy");
	cr_expect_null(a.argv[4]);
}

Test(workloads, argv_rejects_overlong_and_empty)
{
	static char dir[WL_ARG_LEN + 10];
	const char *tmpl[] = { "@DIR@", NULL }, *empty[] = { NULL };
	struct wl_argv a;

	memset(dir, 'd', sizeof(dir) - 1);
	cr_expect_eq(workload__argv(tmpl, dir, &a), -ENAMETOOLONG);
	cr_expect_eq(workload__argv(empty, "/tmp", &a), -ENOENT);
}

Test(workloads, every_workload_is_complete)
{
	for (size_t i = 0; i < n_workloads; i++) {
		cr_expect_not_null(workloads[i].run[0], "%s has no command", workloads[i].name);
		cr_expect_eq(workload__find(workloads[i].name), &workloads[i]);
	}
	cr_expect_null(workload__find("nope"));
}

Test(workloads, metrics_of_last_line)
{
	static const char text[] = "warming up\n"
				   "pages 100 seconds 1.5 pages_per_sec 66.6\n"
				   "bytes 7 name notanumber seconds inf odd\n";
	FILE *f = fmemopen((void *)text, strlen(text), "r");
	struct wl_metric m[WL_MAX_METRICS];
	size_t n = workload__metrics(f, m, WL_MAX_METRICS);

	fclose(f);
	/* The last line with a pair wins; junk values and a dangling key are skipped. */
	cr_assert_eq(n, 1);
	cr_expect_str_eq(m[0].name, "bytes");
	cr_expect_float_eq(workload__metric(m, n, "bytes"), 7, 1e-12);
	cr_expect(isnan(workload__metric(m, n, "pages")));
}

Test(workloads, metrics_bounded)
{
	static const char text[] = "a 1 b 2 c 3 d 4 e 5 f 6 g 7 h 8 i 9 j 10\n";
	FILE *f = fmemopen((void *)text, strlen(text), "r");
	struct wl_metric m[3];
	size_t n = workload__metrics(f, m, 3);

	fclose(f);
	cr_expect_eq(n, 3);
	cr_expect_float_eq(workload__metric(m, n, "c"), 3, 1e-12);
}
