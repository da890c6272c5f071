#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <unistd.h>

#include "cli.h"

struct u64_case { const char *in; uint64_t min, max; int rc; uint64_t want; };

/* Table loops, not ParameterizedTest: Criterion 2.4 crashes on parameters
 * that hold pointers. */
Test(cli, u64)
{
	static const struct u64_case cases[] = {
		{ "0", 0, 10, 0, 0 },		{ "10", 0, 10, 0, 10 },
		{ "11", 0, 10, -EINVAL, 0 },	{ "-1", 0, 10, -EINVAL, 0 },
		{ "+1", 0, 10, -EINVAL, 0 },	{ " 1", 0, 10, -EINVAL, 0 },
		{ "1x", 0, 10, -EINVAL, 0 },	{ "", 0, 10, -EINVAL, 0 },
		{ "99999999999999999999999", 0, UINT64_MAX, -EINVAL, 0 },
		{ "18446744073709551615", 0, UINT64_MAX, 0, UINT64_MAX },
		{ "5", 6, 10, -EINVAL, 0 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct u64_case *c = &cases[i];
		uint64_t v = 12345;

		cr_expect_eq(cli_u64(c->in, c->min, c->max, &v), c->rc, "input '%s'", c->in);
		if (!c->rc)
			cr_expect_eq(v, c->want, "input '%s'", c->in);
	}
}

struct sec_case { const char *in; int rc; double want; };

Test(cli, seconds)
{
	static const struct sec_case cases[] = {
		{ "30", 0, 30 },	{ "2.5", 0, 2.5 },	{ "500ms", 0, 0.5 },
		{ "10s", 0, 10 },	{ "5m", 0, 300 },	{ "1h", 0, 3600 },
		{ "1d", -EINVAL, 0 },	{ "-3", -EINVAL, 0 },	{ "abc", -EINVAL, 0 },
		{ "nan", -EINVAL, 0 },	{ "inf", -EINVAL, 0 },	{ "", -EINVAL, 0 },
		{ "1e400", -EINVAL, 0 },
		/* found by fuzzing: finite, but infinite once scaled */
		{ "1e308m", -EINVAL, 0 },	{ "1e308h", -EINVAL, 0 },
		{ "1e308ms", 0, 1e305 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct sec_case *c = &cases[i];
		double v = -1;

		cr_expect_eq(cli_seconds(c->in, &v), c->rc, "input '%s'", c->in);
		if (!c->rc)
			cr_expect_float_eq(v, c->want, 1e-9, "input '%s'", c->in);
	}
}

Test(cli, sample_rate_bounds)
{
	uint32_t v = 7;

	cr_assert_eq(cli_sample("1", &v), 0);
	cr_assert_eq(v, 1);
	cr_assert_eq(cli_sample("1048576", &v), 0);
	cr_assert_eq(v, CLI_SAMPLE_MAX);
	cr_assert_eq(cli_sample("0", &v), -EINVAL);
	cr_assert_eq(cli_sample("1048577", &v), -EINVAL);
	cr_assert_eq(cli_sample("-5", &v), -EINVAL);
	cr_assert_eq(cli_sample("256k", &v), -EINVAL);
	cr_assert_eq(v, CLI_SAMPLE_MAX, "a refused value leaves the option as it was");
}

Test(cli, filters_take_pids_and_cgroups_up_to_the_limit)
{
	struct cli_filters f = { 0 };
	char pid[16];

	cr_expect_eq(cli_filter_pid(&f, "0"), -EINVAL);
	cr_expect_eq(cli_filter_pid(&f, "12x"), -EINVAL);
	cr_expect_eq(cli_filter_pid(&f, "1073741824"), -EINVAL);
	cr_assert_eq(f.n_pids, 0);
	for (int i = 1; i <= CLI_MAX_FILTERS; i++) {
		snprintf(pid, sizeof(pid), "%d", i);
		cr_assert_eq(cli_filter_pid(&f, pid), 0);
		cr_assert_eq(cli_filter_cgroup(&f, "/docker"), 0);
	}
	cr_expect_eq(f.pids[CLI_MAX_FILTERS - 1], CLI_MAX_FILTERS);
	cr_expect_str_eq(f.cgroups[0], "/docker");
	cr_expect_eq(cli_filter_pid(&f, "7"), -EINVAL);
	cr_expect_eq(cli_filter_cgroup(&f, "/x"), -EINVAL);
	cr_expect_eq(f.n_pids, CLI_MAX_FILTERS);
	cr_expect_eq(f.n_cgroups, CLI_MAX_FILTERS);
}

Test(cli, filters_check_that_pids_exist)
{
	struct cli_filters f = { 0 };
	char self[16];

	snprintf(self, sizeof(self), "%d", (int)getpid());
	cr_assert_eq(cli_filter_pid(&f, self), 0);
	cr_expect_eq(cli_filter_check_pids(&f), 0);
	cr_assert_eq(cli_filter_pid(&f, "1073741823"), 0);
	cr_expect_eq(cli_filter_check_pids(&f), -EINVAL);
}
