#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "prof.h"

static char root[] = "/tmp/prof-test-XXXXXX";

static void put(const char *rel, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	f = fopen(path, "w");
	cr_assert_not_null(f, "%s", path);
	fputs(text, f);
	fclose(f);
}

static void setup(void)
{
	char dir[128];

	cr_assert_not_null(mkdtemp(root));
	snprintf(dir, sizeof(dir), "%s/42", root);
	mkdir(dir, 0755);
	snprintf(dir, sizeof(dir), "%s/42/fdinfo", root);
	mkdir(dir, 0755);
}

static void teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	cr_expect_eq(system(cmd), 0);
}

Test(prof, prog_ids_from_fdinfo, .init = setup, .fini = teardown)
{
	uint32_t ids[8];
	size_t n = 0;

	put("42/fdinfo/0", "pos:\t0\nflags:\t02\nmnt_id:\t15\n");
	put("42/fdinfo/16", "pos:\t0\nprog_type:\t17\nprog_id:\t370\n");
	put("42/fdinfo/17", "prog_type:\t17\nprog_id:\t368\n");
	put("42/fdinfo/19", "link_type:\traw_tracepoint\nprog_id:\t368\n");	/* duplicate */
	put("42/fdinfo/20", "prog_id:\tnot-a-number\n");
	put("42/fdinfo/21", "prog_id:\t99999999999\n");			/* > u32 */
	put("42/fdinfo/x", "prog_id:\t5\n");					/* not an fd */
	cr_assert_eq(prof__prog_ids(root, 42, ids, 8, &n), 0);
	cr_assert_eq(n, 2);
	cr_expect_eq(ids[0], 368);
	cr_expect_eq(ids[1], 370);
	cr_assert_eq(prof__prog_ids(root, 42, ids, 1, &n), 0);
	cr_expect_eq(n, 1, "bounded by max");
	cr_expect_neq(prof__prog_ids(root, 43, ids, 8, &n), 0, "no such process");
}

Test(prof, bpf_stats_sysctl, .init = setup, .fini = teardown)
{
	char path[128];
	int old = -1;
	FILE *f;
	char buf[8] = "";

	snprintf(path, sizeof(path), "%s/bpf_stats_enabled", root);
	put("bpf_stats_enabled", "0\n");
	cr_assert_eq(prof__set_bpf_stats(path, 1, &old), 0);
	cr_expect_eq(old, 0);
	f = fopen(path, "r");
	cr_assert(fgets(buf, sizeof(buf), f));
	fclose(f);
	cr_expect_str_eq(buf, "1\n");
	cr_assert_eq(prof__set_bpf_stats(path, 0, &old), 0);
	cr_expect_eq(old, 1);
	put("bpf_stats_enabled", "garbage\n");
	cr_expect_eq(prof__set_bpf_stats(path, 1, &old), -EINVAL);
	cr_expect_neq(prof__set_bpf_stats("/nonexistent/x", 1, &old), 0);
}

Test(prof, perf_report_rows)
{
	static const char text[] =
		"# To display the perf.data header info, please use --header\n"
		"#\n"
		"# Overhead|Command        |Shared Object     |Symbol    |IPC   [IPC Coverage]\n"
		" 12.34% |memscope       |memscope          |[.] hmap__upsert      |-      -\n"
		"  3.10% |V8 DefaultWorke|node   |[.] v8::internal::Heap::Scavenge(int)  |-\n"
		"  2.00% |pagestorm      |bpf_prog_6deef7357e7b4530_page_alloc_raw |[k] "
		"bpf_prog_6deef7357e7b4530_page_alloc_raw |-  -\n"
		"  1.50% |x |/a/very/long/path/to/a/shared/object/that/goes/on/and/on/libx.so "
		"|[.] f\n"
		"  bad line without bars\n"
		" 101.00% |x |y |[k] z\n"
		"  1.00% |x |y |k] z\n"
		"  1.00% |x |y\n"
		"\n"
		"# (Tip: ...)\n";
	FILE *f = fmemopen((void *)text, strlen(text), "r");
	struct prof_row rows[8];
	size_t n;

	cr_assert_eq(prof__parse_perf_report(f, rows, 8, &n), 0);
	fclose(f);
	cr_assert_eq(n, 4);
	cr_expect_float_eq(rows[0].pct, 12.34, 1e-9);
	cr_expect_str_eq(rows[0].comm, "memscope");
	cr_expect_eq(rows[0].kind, '.');
	cr_expect_str_eq(rows[0].sym, "hmap__upsert");
	/* Blanks inside the command and the symbol survive. */
	cr_expect_str_eq(rows[1].comm, "V8 DefaultWorke");
	cr_expect_str_eq(rows[1].sym, "v8::internal::Heap::Scavenge(int)");
	cr_expect_eq(rows[2].kind, 'k');
	cr_expect_str_eq(rows[2].sym, "bpf_prog_6deef7357e7b4530_page_alloc_raw");
	cr_expect_str_eq(rows[2].dso, "bpf_prog_6deef7357e7b4530_page_alloc_raw");
	cr_expect_eq(strlen(rows[3].dso), PROF_DSO_LEN - 1, "truncated, not overflowed");
}

Test(prof, perf_report_long_lines)
{
	static char text[5000];
	FILE *f;
	struct prof_row rows[4];
	size_t n;

	memset(text, 'x', sizeof(text) - 1);
	memcpy(text, " 50.00% |a |b |[.] ", 19);
	memcpy(text + 3000, "\n 1.00% |c |d |[.] e\n", 21);
	f = fmemopen(text, strlen(text), "r");
	cr_assert_eq(prof__parse_perf_report(f, rows, 4, &n), 0);
	fclose(f);
	cr_assert_eq(n, 1, "the over-long row is skipped, the next one read");
	cr_expect_str_eq(rows[0].sym, "e");
}
