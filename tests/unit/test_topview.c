#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include "fixture_tree.h"
#include "topview.h"

#define ID "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define CTR "/system.slice/docker-" ID ".scope"
#define MIB (1024ULL * 1024)

/* ---- pure helpers ------------------------------------------------------------- */

Test(topview, subtract_saturates)
{
	struct cgstat own = { .usage = 100, .anon = 50, .file = 10, .kernel = 5 };
	struct cgstat child = { .usage = 30, .anon = 60, .file = 10 };

	topview__subtract(&own, &child);
	cr_assert_eq(own.usage, 70);
	cr_assert_eq(own.anon, 0);
	cr_assert_eq(own.file, 0);
	cr_assert_eq(own.kernel, 5);
}

struct fmt_case {
	uint64_t bytes;
	char want[16];
};

static struct fmt_case fmt_cases[] = {
	{ 0, "0" },
	{ 1023, "1023" },
	{ 1024, "1.0K" },
	{ 12 * 1024 + 300, "12K" },
	{ 5 * MIB / 2, "2.5M" },
	{ 1023 * MIB, "1023M" },
	{ 1024 * MIB - 1, "1.0G" },
	{ 3 * 1024 * MIB, "3.0G" },
	{ UINT64_MAX, "16E" },
};

ParameterizedTestParameters(topview, fmt_bytes)
{
	return cr_make_param_array(struct fmt_case, fmt_cases,
				   sizeof(fmt_cases) / sizeof(fmt_cases[0]));
}

ParameterizedTest(struct fmt_case *c, topview, fmt_bytes)
{
	char buf[16];

	cr_assert_str_eq(topview__fmt_bytes(c->bytes, buf, sizeof(buf)), c->want);
}

Test(topview, fmt_rate)
{
	char buf[16];

	cr_assert_str_eq(topview__fmt_rate(NAN, buf, sizeof(buf)), "-");
	cr_assert_str_eq(topview__fmt_rate(0.01, buf, sizeof(buf)), "0.0");
	cr_assert_str_eq(topview__fmt_rate(-3.46, buf, sizeof(buf)), "-3.5");
	cr_assert_str_eq(topview__fmt_rate(1200.4, buf, sizeof(buf)), "+1200");
	cr_assert_str_eq(topview__fmt_rate(12.0, buf, sizeof(buf)), "+12.0");
}

Test(topview, fit_sanitizes_and_keeps_the_end)
{
	char buf[32];

	topview__fit("evil\x1b[2J\xc3\xa9", 20, buf, sizeof(buf));
	cr_assert_str_eq(buf, "evil?[2J??");
	topview__fit("/system.slice/long-name.service", 12, buf, sizeof(buf));
	cr_assert_str_eq(buf, "...e.service");
	topview__fit("abcdef", 2, buf, sizeof(buf));
	cr_assert_str_eq(buf, "ef");
	topview__fit("abcdef", 6, buf, 4);
	cr_assert_str_eq(buf, "abc", "bounded by the buffer");
	topview__fit(NULL, 6, buf, sizeof(buf));
	cr_assert_str_eq(buf, "");
}

static bool has_col(const struct top_layout *l, enum top_col c)
{
	return l->cols & (1u << c);
}

Test(topview, layout_adapts_to_width)
{
	struct top_layout l;

	topview__layout(0, 100, &l);
	cr_assert_eq(l.cols, (1u << TOP_COL_COUNT) - 1, "pipes get every column");
	cr_assert_eq(l.label_w, 100, "and whole labels");
	topview__layout(250, 30, &l);
	cr_assert_eq(l.cols, (1u << TOP_COL_COUNT) - 1);
	cr_assert_eq(l.label_w, 30);
	topview__layout(100, 30, &l);
	cr_assert_not(has_col(&l, TOP_COL_V8), "V8 goes first");
	cr_assert(has_col(&l, TOP_COL_GROWTH) && has_col(&l, TOP_COL_VERDICT) &&
		  has_col(&l, TOP_COL_MEM) && has_col(&l, TOP_COL_ANON));
	cr_assert_leq(l.label_w, 30);
	cr_assert_geq(l.label_w, TOP_LABEL_MIN);
	topview__layout(50, 60, &l);
	cr_assert(has_col(&l, TOP_COL_VERDICT) && has_col(&l, TOP_COL_MEM),
		  "the verdict stays before the label gets long");
	cr_assert_not(has_col(&l, TOP_COL_ANON));
	cr_assert_eq(l.label_w, 50 - 7 - 9 - 15);
	topview__layout(30, 60, &l);
	cr_assert(has_col(&l, TOP_COL_LABEL) && has_col(&l, TOP_COL_GROWTH),
		  "label and growth always stay");
	cr_assert_not(has_col(&l, TOP_COL_VERDICT));
	cr_assert_eq(l.label_w + 1 + 8, 30, "the label takes what growth leaves");
	topview__layout(80, 3, &l);
	cr_assert_eq(l.label_w, 9, "never narrower than the header");
}

/* ---- the whole model on a fixture v2 hierarchy and /proc ------------------------ */

static struct fixture_tree t;
static struct topview *tv;

/*
 *	/			procs 1 (kthread-like) and 2 (gone)
 *	/system.slice		no procs
 *	/system.slice/a.service	procs 10
 *	CTR			procs 20, CTR/inner procs 21: one row
 *	/evil\033[2J		procs 30
 *	/empty			no procs
 */
static void set_cg(const char *rel, uint64_t current, uint64_t anon, uint64_t file)
{
	char path[512], text[256];

	snprintf(text, sizeof(text), "%llu\n", (unsigned long long)current);
	snprintf(path, sizeof(path), "/cg%s/memory.current", rel);
	ftree_write(&t, path, text, (size_t)-1);
	snprintf(text, sizeof(text), "anon %llu\nfile %llu\nshmem 0\nkernel 0\nsock 0\n",
		 (unsigned long long)anon, (unsigned long long)file);
	snprintf(path, sizeof(path), "/cg%s/memory.stat", rel);
	ftree_write(&t, path, text, (size_t)-1);
}

static void set_procs(const char *rel, const char *procs)
{
	char path[512];

	snprintf(path, sizeof(path), "/cg%s/cgroup.procs", rel);
	ftree_write(&t, path, procs, (size_t)-1);
}

static void add_proc(int pid, const char *name, uint64_t rss_kb, int inner)
{
	char path[64], text[256];

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	snprintf(text, sizeof(text), "Name:\t%s\nTgid:\t%d\nNSpid:\t%d\t%d\nVmRSS:\t%llu kB\n"
		 "RssAnon:\t%llu kB\nRssFile:\t0 kB\nRssShmem:\t0 kB\n", name, pid, pid, inner,
		 (unsigned long long)rss_kb, (unsigned long long)rss_kb);
	ftree_write(&t, path, text, (size_t)-1);
}

static void model_setup(void)
{
	struct topview_opts o = { .proc_root = NULL, .window = 10, .period = 1 };

	ftree_init(&t);
	set_cg("", 0, 0, 0);
	ftree_write(&t, "/cg/memory.current", "", 0);	/* the v2 root has none */
	ftree_write(&t, "/cg/memory.stat", "anon 900000000\nfile 100000000\nshmem 0\n"
		    "kernel 0\nsock 0\n", (size_t)-1);
	set_procs("", "1\n2\n");
	set_cg("/system.slice", 600 * MIB, 500 * MIB, 100 * MIB);
	set_procs("/system.slice", "");
	set_cg("/system.slice/a.service", 100 * MIB, 100 * MIB, 0);
	set_procs("/system.slice/a.service", "10\n");
	ftree_write(&t, "/cg/system.slice/a.service/memory.max", "max\n", (size_t)-1);
	ftree_write(&t, "/cg/system.slice/a.service/memory.events", "oom 2\noom_kill 2\n",
		    (size_t)-1);
	set_cg(CTR, 300 * MIB, 200 * MIB, 100 * MIB);
	set_procs(CTR, "20\n");
	ftree_write(&t, "/cg" CTR "/memory.max", "1073741824\n", (size_t)-1);
	set_cg(CTR "/inner", 100 * MIB, 100 * MIB, 0);
	set_procs(CTR "/inner", "21\n");
	set_cg("/evil\033[2J", 10 * MIB, 10 * MIB, 0);
	set_procs("/evil\033[2J", "30\n");
	set_cg("/empty", MIB, 0, MIB);
	set_procs("/empty", "");
	ftree_write(&t, "/proc/1/status", "Name:\tkthreadd\nTgid:\t1\n", (size_t)-1);
	add_proc(10, "api", 90 * 1024, 10);
	add_proc(20, "node", 150 * 1024, 1);
	add_proc(21, "worker", 80 * 1024, 7);
	add_proc(30, "evil\033[2J", 1024, 30);

	snprintf(o.hier.mount, sizeof(o.hier.mount), "%s", ftree_path(&t, "/cg"));
	o.hier.version = 2;
	o.proc_root = ftree_path(&t, "/proc");
	tv = topview__new(&o);
	cr_assert_not_null(tv);
}

static void model_teardown(void)
{
	topview__free(tv);
	tv = NULL;
	ftree_remove(&t);
}

static struct top_row *row(const char *path)
{
	size_t n;
	struct top_row *const *rows = topview__rows(tv, &n);

	for (size_t i = 0; i < n; i++)
		if (!strcmp(rows[i]->path, path))
			return rows[i];
	return NULL;
}

/* a.service grows 10 MiB/s of anon for 5 samples; the rest stays. */
static void run_window(void)
{
	cr_assert_eq(topview__scan(tv), 0);
	cr_assert(topview__has_unsampled(tv));
	for (int s = 0; s <= 4; s++) {
		set_cg("/system.slice/a.service", (100 + 10 * s) * MIB, (100 + 10 * s) * MIB, 0);
		set_cg("/system.slice", (600 + 10 * s) * MIB, (500 + 10 * s) * MIB, 100 * MIB);
		topview__sample(tv, 1000 + s);
	}
	topview__update(tv, NULL);
	cr_assert_not(topview__has_unsampled(tv));
}

TestSuite(topview_model, .init = model_setup, .fini = model_teardown);

Test(topview_model, rows_and_figures)
{
	struct top_row *a, *c, *root;
	size_t n;

	run_window();
	topview__rows(tv, &n);
	cr_assert_eq(n, 4, "/, a.service, the container, evil: not the process-less ones");
	a = row("/system.slice/a.service");
	c = row(CTR);
	root = row("/");
	cr_assert(a && c && root);
	cr_assert_eq(topview__rows(tv, &n)[0], a, "the growing row comes first");
	cr_assert_float_eq(a->slope, 600.0, 1e-6);
	cr_assert_eq(a->verdict.verdict, GROWTH_ANON, "no V8 figures: anon is not split");
	cr_assert(a->monotonic);
	cr_assert_eq(a->oom_kills, 2);
	cr_assert_eq(a->limit, CGSTAT_UNLIMITED);
	cr_assert_eq(a->rss, 90 * 1024 * 1024ULL);
	/* The container: both its cgroups, one row, labelled by its short id. */
	cr_assert_eq(c->n_procs, 2);
	cr_assert_eq(c->own.usage, 300 * MIB);
	cr_assert_eq(c->limit, 1073741824);
	cr_assert_eq(c->rss, (150 + 80) * 1024 * 1024ULL);
	cr_assert_str_eq(c->label, "0123456789ab");
	cr_assert_eq(c->ctr.runtime, CONTAINER_DOCKER);
	cr_assert_eq(c->verdict.verdict, GROWTH_STABLE);
	/* The root: the sum of its classes, less every row below it. */
	cr_assert_eq(root->own.usage, 1000000000 - 140 * MIB - 300 * MIB - 10 * MIB);
	cr_assert_eq(root->parent, NULL);
	cr_assert_eq(a->parent, root, "/system.slice has no processes: not a row");
	cr_assert_eq(root->n_procs, 2);
	cr_assert_eq(root->rss, 0, "kernel threads and gone processes add nothing");
}

Test(topview_model, docker_names)
{
	struct docker_ctr ctr = { .id = ID, .name = "web", .image = "nginx:1.25" };
	struct docker_list dl = { .ctrs = &ctr, .n = 1 };

	run_window();
	cr_assert(topview__has_unnamed_container(tv));
	topview__update(tv, &dl);
	cr_assert_not(topview__has_unnamed_container(tv));
	cr_assert_str_eq(row(CTR)->label, "web");
	cr_assert_str_eq(row(CTR)->image, "nginx:1.25");
}

static bool shown(const char *path)
{
	struct top_row *r = row(path);

	return r && r->shown;
}

Test(topview_model, filters)
{
	const char *inner[] = { CTR "/inner" }, *slice[] = { "/system.slice" };
	pid_t pid = 10;

	run_window();
	/* A cgroup inside a container picks the container's row. */
	cr_assert_eq(topview__set_filter(tv, inner, 1, NULL, 0), 0);
	topview__update(tv, NULL);
	cr_assert(shown(CTR));
	cr_assert_not(shown("/system.slice/a.service"));
	cr_assert_not(shown("/"));
	cr_assert_eq(topview__set_filter(tv, slice, 1, NULL, 0), 0);
	topview__update(tv, NULL);
	cr_assert(shown(CTR) && shown("/system.slice/a.service"));
	cr_assert_not(shown("/"));
	/* -p: the row of the process, and the process listed. */
	cr_assert_eq(topview__set_filter(tv, NULL, 0, &pid, 1), 0);
	topview__update(tv, NULL);
	cr_assert(shown("/system.slice/a.service"));
	cr_assert_not(shown(CTR));
	cr_assert_eq(row("/system.slice/a.service")->n_proc_list, 1);
	cr_assert_str_eq(row("/system.slice/a.service")->procs[0].name, "api");
	cr_assert_eq(topview__set_filter(tv, NULL, 0, NULL, 0), 0);
	topview__update(tv, NULL);
	cr_assert(shown("/"));
}

Test(topview_model, rows_come_and_go)
{
	run_window();
	set_procs("/system.slice/a.service", "");
	set_procs("/empty", "99\n");
	cr_assert_eq(topview__scan(tv), 0);
	cr_assert(topview__has_unsampled(tv), "/empty is new");
	cr_assert_null(row("/system.slice/a.service"));
	cr_assert_not_null(row("/empty"));
	cr_assert_eq(row("/empty")->parent, row("/"));
	/* A cgroup removed between scan and sample keeps its last figures. */
	topview__sample(tv, 2000);
	cr_assert_eq(row("/empty")->own.usage, MIB);
}

static char *print(bool json, struct top_print *p)
{
	struct top_row *const *rows;
	char *buf = NULL;
	size_t len = 0, n;
	FILE *f = open_memstream(&buf, &len);

	rows = topview__rows(tv, &n);
	if (json)
		topview__print_json(rows, n, p, f);
	else
		topview__print_table(rows, n, p, "\n", f);
	fclose(f);
	return buf;
}

Test(topview_model, table)
{
	struct top_print p = { .title = "memscope top" };
	char *s;

	run_window();
	s = print(false, &p);
	cr_assert(!strncmp(s, "memscope top\nCONTAINER", 22), "%s", s);
	cr_assert(strstr(s, "MiB/min") && strstr(s, "VERDICT"));
	cr_assert(strstr(s, "/system.slice/a.service"), "%s", s);
	cr_assert(strstr(s, "+600.0"), "%s", s);
	cr_assert(strstr(s, "anon growth"), "%s", s);
	cr_assert(strstr(s, "0123456789ab"), "%s", s);
	cr_assert(strstr(s, "/evil?[2J"), "no terminal escapes from cgroup names: %s", s);
	cr_assert_null(strchr(s, '\033'));
	cr_assert_null(strstr(s, "  20 node"), "no processes without -P");
	free(s);
	/* Narrow and short: columns dropped, lines cut, the rest summed up. */
	p = (struct top_print){ .title = "memscope top", .width = 60, .height = 4 };
	s = print(false, &p);
	cr_assert_null(strstr(s, "V8"));
	for (char *line = s; *line; line = strchr(line, '\n') + 1)
		cr_assert_leq(strchr(line, '\n') - line, 60);
	cr_assert(strstr(s, "... 3 more"), "%s", s);
	free(s);
	/* -P: processes under their row, with the pid inside the container. */
	topview__set_procs(tv, true);
	topview__update(tv, NULL);
	p = (struct top_print){ .procs = true };
	s = print(false, &p);
	cr_assert(strstr(s, "  20/1 node"), "%s", s);
	cr_assert(strstr(s, "  21/7 worker"), "%s", s);
	cr_assert(strstr(s, "  10 api"), "%s", s);
	cr_assert_lt(strstr(s, "  10 api"), strstr(s, "0123456789ab"), "under their row: %s", s);
	free(s);
}

Test(topview_model, json)
{
	struct cg_hier h = { .mount = "/sys/fs/cgroup", .version = 2 };
	struct top_print p = { .hier = &h, .window = 10, .interval = 2, .time = 1700000000,
			       .procs = true };
	static const char head[] = "{\"time\":1700000000,\"hierarchy\":\"/sys/fs/cgroup\","
				   "\"cgroup_version\":2,\"window_s\":10,\"interval_s\":2,"
				   "\"cgroups\":[{\"label\":\"/system.slice/a.service\"";
	char *s;

	run_window();
	topview__set_procs(tv, true);
	topview__update(tv, NULL);
	s = print(true, &p);
	cr_assert(!strncmp(s, head, sizeof(head) - 1), "%s", s);
	cr_assert_eq(strchr(s, '\n'), s + strlen(s) - 1, "one line");
	cr_assert(strstr(s, "\"growth_mib_per_min\":600,\"monotonic\":true,\"oom_kills\":2,"
			    "\"verdict\":\"anon growth\""), "%s", s);
	cr_assert(strstr(s, "\"limit\":null"));
	cr_assert(strstr(s, "\"limit\":1073741824"));
	cr_assert(strstr(s, "\"container_id\":\"" ID "\""));
	cr_assert(strstr(s, "\"v8_heap\":null"));
	cr_assert(strstr(s, "{\"pid\":20,\"container_pid\":1,\"name\":\"node\""), "%s", s);
	cr_assert(strstr(s, "\"label\":\"/evil\\u001b[2J\""), "%s", s);
	free(s);
}

Test(topview, new_rejects_bad_options)
{
	struct topview_opts o = { .hier = { .mount = "/x", .version = 2 }, .proc_root = "/proc",
				  .window = 10, .period = 0.5 };
	struct topview *v;

	v = topview__new(&o);
	cr_assert_not_null(v);
	cr_assert_eq(topview__scan(v), -ENOENT);
	topview__free(v);
	o.window = 0;
	cr_assert_null(topview__new(&o));
	o.window = 10;
	o.hier.version = 3;
	cr_assert_null(topview__new(&o));
	cr_assert_null(topview__new(NULL));
}
