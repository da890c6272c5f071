#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include "cgroups.h"

#define ID_A "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define ID_B "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"
#define ID_C "abcd1111111111111111111111111111111111111111111111111111111111aa"
#define ID_D "abcd2222222222222222222222222222222222222222222222222222222222bb"
#define ID_E "eeee3333333333333333333333333333333333333333333333333333333333cc"
#define UID "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"

/* ---- helpers: a temp dir per test, removed at the end ---------------------- */

static char tmp[PATH_MAX];

static void tmp_setup(void)
{
	snprintf(tmp, sizeof(tmp), "/tmp/memscope-cg-XXXXXX");
	cr_assert_not_null(mkdtemp(tmp));
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void tmp_teardown(void)
{
	if (tmp[0])
		nftw(tmp, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	tmp[0] = '\0';
}

static const char *tmp_path(const char *rel)
{
	static char buf[4][PATH_MAX];
	static int next;
	char *p = buf[next++ % 4];

	cr_assert_lt(snprintf(p, PATH_MAX, "%s%s", tmp, rel), PATH_MAX);
	return p;
}

/* mkdir -p of tmp + rel (rel starts with '/'). */
static void mkdirs(const char *rel)
{
	char path[PATH_MAX];
	const char *full = tmp_path(rel);
	size_t base = strlen(tmp);

	for (size_t i = base + 1; ; i++) {
		if (full[i] == '/' || full[i] == '\0') {
			memcpy(path, full, i);
			path[i] = '\0';
			cr_assert(!mkdir(path, 0755) || errno == EEXIST, "mkdir %s: %s", path,
				  strerror(errno));
		}
		if (!full[i])
			break;
	}
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	cr_assert_not_null(f, "%s: %s", path, strerror(errno));
	fputs(text, f);
	fclose(f);
}

static uint64_t ino_of(const char *rel)
{
	struct stat st;

	cr_assert_eq(lstat(tmp_path(rel), &st), 0, "%s", rel);
	return (uint64_t)st.st_ino;
}

static struct cg_hier tmp_hier(void)
{
	struct cg_hier h = { .version = 2 };

	cr_assert_lt(snprintf(h.mount, sizeof(h.mount), "%s", tmp_path("")), PATH_MAX);
	return h;
}

/* ---- mountinfo -------------------------------------------------------------- */

static int parse_text(const char *text, struct cg_hier *h)
{
	FILE *f = fmemopen((void *)text, strlen(text), "r");
	int err;

	cr_assert_not_null(f);
	memset(h, 0, sizeof(*h));
	err = cgroups__parse_mountinfo(f, h);
	fclose(f);
	return err;
}

#define HOST_LINES \
	"22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n" \
	"23 22 0:21 / /proc rw,nosuid - proc proc rw\n"
#define V1_CPU "32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
#define V1_MEM "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime shared:9 - cgroup cgroup rw,memory\n"
#define V1_SYSTEMD "40 31 0:37 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,name=systemd\n"
#define V2_UNIFIED "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n"

Test(cgroups, mountinfo_v1, .init = tmp_setup, .fini = tmp_teardown)
{
	struct cg_hier h;

	cr_assert_eq(parse_text(HOST_LINES V1_CPU V1_MEM V1_SYSTEMD, &h), 0);
	cr_expect_str_eq(h.mount, "/sys/fs/cgroup/memory");
	cr_expect_eq(h.version, 1);
}

/* Hybrid: v1 memory wins over a unified mount listed before it. */
Test(cgroups, mountinfo_hybrid, .init = tmp_setup, .fini = tmp_teardown)
{
	struct cg_hier h;

	cr_assert_eq(parse_text(HOST_LINES V2_UNIFIED V1_CPU V1_MEM V1_SYSTEMD, &h), 0);
	cr_expect_str_eq(h.mount, "/sys/fs/cgroup/memory");
	cr_expect_eq(h.version, 1);
}

/* v2 mounts: the one whose cgroup.controllers lists memory, else the first. */
Test(cgroups, mountinfo_v2, .init = tmp_setup, .fini = tmp_teardown)
{
	char text[4 * PATH_MAX];
	struct cg_hier h;

	mkdirs("/a");
	mkdirs("/b");
	write_file(tmp_path("/a/cgroup.controllers"), "cpuset cpu io hugetlb pids\n");
	write_file(tmp_path("/b/cgroup.controllers"), "cpuset cpu io memory hugetlb pids\n");

	snprintf(text, sizeof(text), HOST_LINES
		 "30 23 0:26 / %s/a rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n"
		 "31 23 0:27 / %s/b rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n", tmp, tmp);
	cr_assert_eq(parse_text(text, &h), 0);
	cr_expect_str_eq(h.mount, tmp_path("/b"));
	cr_expect_eq(h.version, 2);

	/* no memory anywhere (or memcg not delegated): the first cgroup2 mount */
	snprintf(text, sizeof(text), HOST_LINES V1_CPU V1_SYSTEMD
		 "30 23 0:26 / %s/a rw - cgroup2 cgroup2 rw\n"
		 "31 23 0:27 / %s/missing rw - cgroup2 cgroup2 rw\n", tmp, tmp);
	cr_assert_eq(parse_text(text, &h), 0);
	cr_expect_str_eq(h.mount, tmp_path("/a"));
	cr_expect_eq(h.version, 2);

	/* a cgroup2 mount we cannot read still beats nothing */
	snprintf(text, sizeof(text), "31 23 0:27 / %s/missing rw - cgroup2 cgroup2 rw\n", tmp);
	cr_assert_eq(parse_text(text, &h), 0);
	cr_expect_str_eq(h.mount, tmp_path("/missing"));
}

Test(cgroups, mountinfo_none)
{
	struct cg_hier h;

	cr_expect_eq(parse_text(HOST_LINES, &h), -ENOENT);
	cr_expect_eq(parse_text("", &h), -ENOENT);
	/* v1 hierarchies without the memory controller are no use */
	cr_expect_eq(parse_text(V1_CPU V1_SYSTEMD
				"36 31 0:33 / /x rw - cgroup cgroup rw,memoryx\n"
				"37 31 0:34 / /y rw - cgroup cgroup rw,name=memory\n", &h),
		     -ENOENT);
	cr_expect_eq(cgroups__parse_mountinfo(NULL, &h), -EINVAL);
}

Test(cgroups, mountinfo_escaped, .init = tmp_setup, .fini = tmp_teardown)
{
	char text[4 * PATH_MAX];
	struct cg_hier h;

	cr_assert_eq(parse_text("35 31 0:32 / /mnt/cg\\040mem\\011x\\134y rw - cgroup cgroup "
				"rw,memory\n", &h), 0);
	cr_expect_str_eq(h.mount, "/mnt/cg mem\tx\\y");

	mkdirs("/with space");
	write_file(tmp_path("/with space/cgroup.controllers"), "memory\n");
	snprintf(text, sizeof(text), "30 23 0:26 / %s/nomem rw - cgroup2 cgroup2 rw\n"
		 "31 23 0:27 / %s/with\\040space rw - cgroup2 cgroup2 rw\n", tmp, tmp);
	cr_assert_eq(parse_text(text, &h), 0);
	cr_expect_str_eq(h.mount, tmp_path("/with space"));

	/* an escaped NUL cannot be a path */
	cr_expect_eq(parse_text("35 31 0:32 / /mnt/a\\000b rw - cgroup cgroup rw,memory\n", &h),
		     -ENOENT);
}

/* A bind mount of a subtree (as in a container) loses to the hierarchy root. */
Test(cgroups, mountinfo_prefers_root)
{
	struct cg_hier h;

	cr_assert_eq(parse_text("35 31 0:32 /docker/" ID_A " /sys/fs/cgroup/memory rw - cgroup "
				"cgroup rw,memory\n"
				"36 31 0:32 / /mnt/memory rw - cgroup cgroup rw,memory\n"
				"37 31 0:32 / /mnt/memory2 rw - cgroup cgroup rw,memory\n", &h), 0);
	cr_expect_str_eq(h.mount, "/mnt/memory");
}

static void put_repeated(FILE *f, char c, size_t n)
{
	while (n--)
		fputc(c, f);
}

Test(cgroups, mountinfo_garbage)
{
	char *text = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&text, &size);
	struct cg_hier h;

	cr_assert_not_null(f);
	fputs("\n\n- - -\ngarbage\n35 31 0:32 / /a rw - cgroup\n"
	      "35 31 0:32 / /b rw cgroup cgroup rw,memory\n"
	      "35 31 0:32 / relative rw - cgroup cgroup rw,memory\n"
	      "35 31 0:32 / /d\\9 rw - cgroup2\n", f);
	/* too long a line, and too long a mount point */
	fputs("35 31 0:32 / /", f);
	put_repeated(f, 'x', 2 * CGROUPS_LINE_MAX);
	fputs(" rw - cgroup cgroup rw,memory\n35 31 0:32 / /", f);
	put_repeated(f, 'y', PATH_MAX + 10);
	fputs(" rw - cgroup cgroup rw,memory\n", f);
	cr_assert_eq(fflush(f), 0);
	cr_expect_eq(parse_text(text, &h), -ENOENT);

	/* the good line after all that still counts; a missing newline too */
	fputs("36 31 0:33 / /good rw shared:1 master:2 - cgroup cgroup rw,cpuacct,memory", f);
	fclose(f);
	cr_expect_eq(parse_text(text, &h), 0);
	cr_expect_str_eq(h.mount, "/good");
	cr_expect_eq(h.version, 1);
	free(text);
}

Test(cgroups, mountinfo_file, .init = tmp_setup, .fini = tmp_teardown)
{
	struct cg_hier h;

	write_file(tmp_path("/mountinfo"), HOST_LINES V1_MEM);
	cr_assert_eq(cgroups__find_memory_hierarchy(tmp_path("/mountinfo"), &h), 0);
	cr_expect_str_eq(h.mount, "/sys/fs/cgroup/memory");
	cr_expect_eq(cgroups__find_memory_hierarchy(tmp_path("/nope"), &h), -ENOENT);
	cr_expect_eq(cgroups__find_memory_hierarchy(NULL, &h), -EINVAL);
}

/* ---- /proc/PID/cgroup ------------------------------------------------------- */

#define PROC_HYBRID \
	"9:name=systemd:/user.slice/session-1.scope\n8:pids:/\n" \
	"4:memory:/process_api/a616270f64c006bf60c9b008fb77a161\n3:cpu,cpuacct:/x\n0::/\n"

struct proc_case {
	char text[512];
	int version;
	int ret;
	char path[128];
};

static struct proc_case proc_cases[] = {
	{ PROC_HYBRID, 1, 0, "/process_api/a616270f64c006bf60c9b008fb77a161" },
	{ PROC_HYBRID, 2, 0, "/" },
	{ "0::/system.slice/nginx.service\n", 2, 0, "/system.slice/nginx.service" },
	{ "0::/system.slice/nginx.service\n", 1, -ENOENT, "" },
	{ "0::/kubepods/pod" UID "/" ID_A, 2, 0, "/kubepods/pod" UID "/" ID_A },
	{ "5:cpuacct,memory,cpu:/docker/" ID_A "\n", 1, 0, "/docker/" ID_A },
	{ "0::/gone (deleted)\n", 2, 0, "/gone" },
	{ "0::/a:b:c\n", 2, 0, "/a:b:c" },
	{ "4:memory:/\n0::/x\n", 1, 0, "/" },
	/* malformed lines are skipped, the good one after them found */
	{ "\n\ngarbage\n4:memory\n4:memory:relative\n7:memoryx:/a\n8:name=memory:/b\n"
	  "0:memory:/c\n:memory:/d\nx:memory:/e\n4:memory:\n6:memory:/ok\n", 1, 0, "/ok" },
	{ "0:memory:/c\n00::/d\n0:x:/e\n0::\n:::\n0::rel\n0::/v2\n", 2, 0, "/v2" },
	{ "", 1, -ENOENT, "" },
	{ "", 2, -ENOENT, "" },
	{ "0::/x\n", 3, -EINVAL, "" },
};

ParameterizedTestParameters(cgroups, proc_cgroup)
{
	return cr_make_param_array(struct proc_case, proc_cases,
				   sizeof(proc_cases) / sizeof(proc_cases[0]));
}

ParameterizedTest(struct proc_case *c, cgroups, proc_cgroup)
{
	char buf[PATH_MAX] = "";

	cr_assert_eq(cgroups__parse_proc_cgroup(c->text, c->version, buf, sizeof(buf)), c->ret,
		     "v%d %s", c->version, c->text);
	if (!c->ret)
		cr_expect_str_eq(buf, c->path);
}

Test(cgroups, proc_cgroup_too_long)
{
	char buf[8];

	cr_expect_eq(cgroups__parse_proc_cgroup("0::/1234567\n", 2, buf, sizeof(buf)),
		     -ENAMETOOLONG);
	cr_expect_eq(cgroups__parse_proc_cgroup("0::/123456\n", 2, buf, sizeof(buf)), 0);
	cr_expect_str_eq(buf, "/123456");
	cr_expect_eq(cgroups__parse_proc_cgroup("0::/x\n", 2, buf, 0), -ENAMETOOLONG);
}

Test(cgroups, pid_path_errors)
{
	struct cg_hier h = { .mount = "/sys/fs/cgroup", .version = 2 };
	char buf[PATH_MAX];

	cr_expect_eq(cgroups__pid_path(0, &h, buf, sizeof(buf)), -EINVAL);
	cr_expect_eq(cgroups__pid_path(-5, &h, buf, sizeof(buf)), -EINVAL);
	cr_expect_eq(cgroups__pid_path(1, NULL, buf, sizeof(buf)), -EINVAL);
	/* above any pid_max */
	cr_expect_eq(cgroups__pid_path(INT_MAX, &h, buf, sizeof(buf)), -ENOENT);
}

/* ---- the id index, on a tree of ordinary directories ------------------------ */

static const char *const tree[] = {
	"/system.slice/nginx.service",
	"/system.slice/docker-" ID_A ".scope",
	"/docker/" ID_A,
	"/docker/" ID_B "/child/grandchild",
	"/kubepods/burstable/pod" UID "/" ID_C,
	"/kubepods/burstable/pod" UID "/" ID_D,
	"/user.slice/user-1000.slice/session-3.scope",
	"/dir with space/and\\backslash",
};

static void make_tree(void)
{
	for (size_t i = 0; i < sizeof(tree) / sizeof(tree[0]); i++)
		mkdirs(tree[i]);
	write_file(tmp_path("/cgroup.procs"), "1\n");
	write_file(tmp_path("/system.slice/memory.stat"), "cache 0\n");
	cr_assert_eq(symlink(tmp_path("/system.slice"), tmp_path("/link")), 0);
	cr_assert_eq(symlink(tmp, tmp_path("/docker/loop")), 0);
}

static void tree_setup(void)
{
	tmp_setup();
	make_tree();
}

/* Every directory of the fixture, and each of its parents, maps back to its path. */
static void expect_indexed(struct cgroups *cg, const char *rel)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s", rel);
	for (char *slash; path[0]; *slash = '\0') {
		const char *got = cgroups__path(cg, ino_of(path));

		cr_expect(got && !strcmp(got, path), "%s -> %s", path, got ? got : "(null)");
		slash = strrchr(path, '/');
	}
}

Test(cgroups, index, .init = tree_setup, .fini = tmp_teardown)
{
	struct cg_hier h = tmp_hier();
	struct cgroups *cg = cgroups__open(&h);

	cr_assert_not_null(cg, "%s", strerror(errno));
	for (size_t i = 0; i < sizeof(tree) / sizeof(tree[0]); i++)
		expect_indexed(cg, tree[i]);
	cr_expect_str_eq(cgroups__path(cg, ino_of("")), "/");
	/* the 18 directories of tree[] and the root; files and symlinks are not cgroups */
	cr_expect_eq(cgroups__count(cg), 19);
	cr_expect_null(cgroups__path(cg, ino_of("/cgroup.procs")));
	cr_expect_null(cgroups__path(cg, ino_of("/link")));
	cr_expect_null(cgroups__path(cg, 0));
	cr_expect_null(cgroups__path(cg, UINT64_MAX));
	cgroups__free(cg);
}

Test(cgroups, index_depth_bound, .init = tmp_setup, .fini = tmp_teardown)
{
	char rel[4 * (CGROUPS_MAX_DEPTH + 2) + 1] = "";
	uint64_t at_bound = 0, below = 0;
	struct cg_hier h = tmp_hier();
	struct cgroups *cg;

	for (int depth = 1; depth <= CGROUPS_MAX_DEPTH + 1; depth++) {
		strcat(rel, "/d");
		mkdirs(rel);
		if (depth == CGROUPS_MAX_DEPTH)
			at_bound = ino_of(rel);
		else if (depth == CGROUPS_MAX_DEPTH + 1)
			below = ino_of(rel);
	}
	cg = cgroups__open(&h);
	cr_assert_not_null(cg);
	cr_expect_not_null(cgroups__path(cg, at_bound));
	cr_expect_eq(strlen(cgroups__path(cg, at_bound)), 2 * CGROUPS_MAX_DEPTH);
	cr_expect_null(cgroups__path(cg, below));
	cr_expect_eq(cgroups__count(cg), CGROUPS_MAX_DEPTH + 1);
	cgroups__free(cg);
}

/* New cgroups are found by a rescan on a miss, at most one a second; removed
 * ones keep their path; renamed ones get the new one. */
Test(cgroups, index_rescan, .init = tree_setup, .fini = tmp_teardown)
{
	struct cg_hier h = tmp_hier();
	struct timespec t0, t1;
	struct cgroups *cg;
	const char *got;
	uint64_t fresh, gone = ino_of("/system.slice/nginx.service");

	clock_gettime(CLOCK_MONOTONIC, &t0);
	cg = cgroups__open(&h);
	cr_assert_not_null(cg);
	mkdirs("/system.slice/fresh.service");
	fresh = ino_of("/system.slice/fresh.service");
	cr_assert_eq(rmdir(tmp_path("/system.slice/nginx.service")), 0);
	got = cgroups__path(cg, fresh);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	/* a miss this soon after the walk must not rescan (unless the machine stalled) */
	if ((t1.tv_sec - t0.tv_sec) * 1000000000L + t1.tv_nsec - t0.tv_nsec < 900000000L)
		cr_expect_null(got, "rescanned within a second");
	usleep(1100 * 1000);
	cr_expect_str_eq(cgroups__path(cg, fresh), "/system.slice/fresh.service");
	cr_expect_str_eq(cgroups__path(cg, gone), "/system.slice/nginx.service");

	cr_assert_eq(rename(tmp_path("/system.slice/fresh.service"),
			    tmp_path("/system.slice/renamed.service")), 0);
	cr_assert_eq(cgroups__refresh(cg), 0);
	cr_expect_str_eq(cgroups__path(cg, fresh), "/system.slice/renamed.service");
	cgroups__free(cg);
}

Test(cgroups, open_errors, .init = tmp_setup, .fini = tmp_teardown)
{
	struct cg_hier h = tmp_hier();

	strcat(h.mount, "/missing");
	cr_expect_null(cgroups__open(&h));
	cr_expect_eq(errno, ENOENT);
	write_file(tmp_path("/file"), "");
	cr_assert_lt(snprintf(h.mount, sizeof(h.mount), "%s", tmp_path("/file")), PATH_MAX);
	cr_expect_null(cgroups__open(&h));
	cr_expect_eq(errno, ENOTDIR);
	cr_assert_eq(symlink(tmp, tmp_path("/link")), 0);
	cr_assert_lt(snprintf(h.mount, sizeof(h.mount), "%s", tmp_path("/link")), PATH_MAX);
	cr_expect_null(cgroups__open(&h));
	cr_expect_null(cgroups__open(NULL));
	cr_expect_eq(errno, EINVAL);
	h.mount[0] = '\0';
	cr_expect_null(cgroups__open(&h));
	cgroups__free(NULL);
}

/* ---- resolving -c ------------------------------------------------------------ */

struct resolve_case {
	char spec[PATH_MAX];
	int ret;
	char want[4][256];	/* paths of the cgroups expected, "" ends */
	char err_has[64];	/* substring of the message, "" for none */
};

#define RES_OK(s, ...) { .spec = (s), .want = { __VA_ARGS__ } }
#define RES_ERR(s, r, has) { .spec = (s), .ret = (r), .err_has = (has) }

static struct resolve_case resolve_cases[] = {
	RES_OK("/", "/"),
	RES_OK("/system.slice/nginx.service", "/system.slice/nginx.service"),
	RES_OK("//system.slice///nginx.service/", "/system.slice/nginx.service"),
	RES_OK("/docker/" ID_B "/child", "/docker/" ID_B "/child"),
	RES_OK("/dir with space/and\\backslash", "/dir with space/and\\backslash"),
	/* container prefixes: the container's outermost cgroups, not those below */
	RES_OK("fedc", "/docker/" ID_B),
	RES_OK(ID_B, "/docker/" ID_B),
	RES_OK("FEDCBA98", "/docker/" ID_B),
	RES_OK("abcd1", "/kubepods/burstable/pod" UID "/" ID_C),
	RES_OK("0123456789ab", "/docker/" ID_A, "/system.slice/docker-" ID_A ".scope"),
	RES_ERR("abcd", -EINVAL, "container abcd1111"),
	RES_ERR("abcd", -EINVAL, "container abcd2222"),
	/* not found */
	RES_ERR("/nope", -ENOENT, "no memory cgroup matches '/nope'"),
	RES_ERR("/link", -ENOENT, ""),
	RES_ERR("/system.slice/../docker", -ENOENT, ""),
	RES_ERR("dead", -ENOENT, "cgroup or container"),
	RES_ERR("99999999999999999999", -ENOENT, ""),
	RES_ERR("123456789012345678901", -ENOENT, ""),
	/* not a spec at all */
	RES_ERR("", -EINVAL, "not a cgroup path"),
	RES_ERR("abc", -EINVAL, "not a cgroup path"),
	RES_ERR(ID_B "0", -EINVAL, ""),
	RES_ERR("system.slice", -EINVAL, ""),
	RES_ERR("0", -EINVAL, ""),
	RES_ERR("-1", -EINVAL, ""),
	RES_ERR("12 34", -EINVAL, ""),
};

static void expect_resolves_to(struct cgroups *cg, const char *spec, size_t n,
			       const uint64_t *ids, const char (*want)[256], const char *err)
{
	size_t nwant = 0;

	while (nwant < 4 && want[nwant][0])
		nwant++;
	cr_assert_eq(n, nwant, "%s: %zu cgroups (%s)", spec, n, err);
	/* any order */
	for (size_t i = 0; i < nwant; i++) {
		bool seen = false;

		for (size_t j = 0; j < n; j++)
			seen |= !strcmp(cgroups__path(cg, ids[j]), want[i]);
		cr_expect(seen, "%s: %s not resolved", spec, want[i]);
	}
}

ParameterizedTestParameters(cgroups, resolve)
{
	return cr_make_param_array(struct resolve_case, resolve_cases,
				   sizeof(resolve_cases) / sizeof(resolve_cases[0]));
}

ParameterizedTest(struct resolve_case *c, cgroups, resolve, .init = tree_setup,
		  .fini = tmp_teardown)
{
	struct cg_hier h = tmp_hier();
	struct cgroups *cg = cgroups__open(&h);
	uint64_t ids[4];
	size_t n = 99;
	char err[256];

	cr_assert_not_null(cg);
	cr_assert_eq(cgroups__resolve(cg, c->spec, ids, 4, &n, err, sizeof(err)), c->ret,
		     "'%s': %s", c->spec, err);
	if (c->ret)
		cr_expect_eq(n, 0);
	else
		cr_expect_str_eq(err, "");
	cr_expect(!c->err_has[0] || strstr(err, c->err_has), "'%s': %s", c->spec, err);
	if (!c->ret)
		expect_resolves_to(cg, c->spec, n, ids, c->want, err);
	cgroups__free(cg);
}

Test(cgroups, resolve_id_and_mount_prefix, .init = tree_setup, .fini = tmp_teardown)
{
	struct cg_hier h = tmp_hier();
	struct cgroups *cg = cgroups__open(&h);
	uint64_t ids[2], ino = ino_of("/system.slice");
	char spec[64], err[256];
	size_t n;

	cr_assert_not_null(cg);
	snprintf(spec, sizeof(spec), "%llu", (unsigned long long)ino);
	cr_expect_eq(cgroups__resolve(cg, spec, ids, 2, &n, err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(n, 1);
	cr_expect_eq(ids[0], ino);

	/* the path as the user sees it on disk */
	cr_expect_eq(cgroups__resolve(cg, tmp_path("/system.slice/"), ids, 2, &n, err,
				      sizeof(err)), 0, "%s", err);
	cr_expect_eq(n, 1);
	cr_expect_eq(ids[0], ino);
	cr_expect_eq(cgroups__resolve(cg, tmp, ids, 2, &n, err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(ids[0], ino_of(""));
	cgroups__free(cg);
}

/* Digits are hex too: an id that is also a container prefix is ambiguous. */
Test(cgroups, resolve_id_or_container, .init = tree_setup, .fini = tmp_teardown)
{
	struct cg_hier h = tmp_hier();
	struct cgroups *cg;
	char spec[32], dir[128], err[256];
	uint64_t ids[2], ino = ino_of("/system.slice");
	size_t n;
	int len = snprintf(spec, sizeof(spec), "%llu", (unsigned long long)ino);

	cr_assert_geq(len, 4, "inode numbers of 4+ digits expected");
	snprintf(dir, sizeof(dir), "/docker/%s%0*d", spec, 64 - len, 0);
	mkdirs(dir);
	cg = cgroups__open(&h);
	cr_assert_not_null(cg);
	cr_expect_eq(cgroups__resolve(cg, spec, ids, 2, &n, err, sizeof(err)), -EINVAL);
	cr_expect_not_null(strstr(err, "ambiguous"), "%s", err);
	cr_expect_not_null(strstr(err, "(/system.slice)"), "%s", err);
	cr_expect_not_null(strstr(err, "container"), "%s", err);
	cgroups__free(cg);
}

Test(cgroups, resolve_limits, .init = tree_setup, .fini = tmp_teardown)
{
	struct cg_hier h = tmp_hier();
	struct cgroups *cg = cgroups__open(&h);
	uint64_t ids[1];
	char err[16];
	size_t n;

	cr_assert_not_null(cg);
	cr_expect_eq(cgroups__resolve(cg, "0123456789ab", ids, 1, &n, err, sizeof(err)), -ENOSPC);
	cr_expect_eq(cgroups__resolve(cg, "/", ids, 0, &n, NULL, 0), -ENOSPC);
	/* a message that does not fit is cut, not overflowed */
	cr_expect_eq(cgroups__resolve(cg, "/nope/nope/nope", ids, 1, &n, err, sizeof(err)),
		     -ENOENT);
	cr_expect_eq(strlen(err), sizeof(err) - 1);
	cr_expect_eq(cgroups__resolve(cg, NULL, ids, 1, &n, err, sizeof(err)), -EINVAL);
	cr_expect_eq(cgroups__resolve(NULL, "/", ids, 1, &n, err, sizeof(err)), -EINVAL);
	cgroups__free(cg);
}

/* A container started after open is found: resolve rescans once on a miss. */
Test(cgroups, resolve_rescans, .init = tree_setup, .fini = tmp_teardown)
{
	struct cg_hier h = tmp_hier();
	struct cgroups *cg = cgroups__open(&h);
	uint64_t ids[1];
	size_t n;

	cr_assert_not_null(cg);
	mkdirs("/docker/" ID_E);
	cr_expect_eq(cgroups__resolve(cg, "eeee", ids, 1, &n, NULL, 0), 0);
	cr_expect_eq(ids[0], ino_of("/docker/" ID_E));
	cgroups__free(cg);
}

/* ---- the real memory hierarchy (skipped without one) ------------------------- */

/* The claim the index rests on: a process's memory cgroup path, as the kernel
 * prints it, maps to the st_ino of that directory and back. */
Test(cgroups, real_hierarchy)
{
	char path[PATH_MAX], full[2 * PATH_MAX];
	struct cgroups *cg;
	struct cg_hier h;
	struct stat st;

	if (cgroups__find_memory_hierarchy("/proc/self/mountinfo", &h))
		cr_skip_test("no cgroup hierarchy mounted");
	if (cgroups__pid_path(getpid(), &h, path, sizeof(path)))
		cr_skip_test("no memory cgroup in /proc/self/cgroup");
	snprintf(full, sizeof(full), "%s%s", h.mount, path);
	if (stat(full, &st))
		cr_skip_test("%s not visible (cgroup namespace?)", full);
	cg = cgroups__open(&h);
	cr_assert_not_null(cg, "%s: %s", h.mount, strerror(errno));
	cr_expect_str_eq(cgroups__path(cg, st.st_ino), path);
	cr_assert_eq(stat(h.mount, &st), 0);
	cr_expect_str_eq(cgroups__path(cg, st.st_ino), "/");
	cgroups__free(cg);
}

/* Only as root: a uniquely named cgroup at the top of the real memory
 * hierarchy, removed again, keeps its path. */
static char real_cg[PATH_MAX];

static void real_cg_fini(void)
{
	if (real_cg[0])
		rmdir(real_cg);
}

Test(cgroups, real_removed_cgroup, .fini = real_cg_fini)
{
	char rel[64];
	struct cgroups *cg;
	struct cg_hier h;
	struct stat st;

	if (geteuid() != 0 || cgroups__find_memory_hierarchy("/proc/self/mountinfo", &h))
		cr_skip_test("needs root and a cgroup hierarchy");
	snprintf(rel, sizeof(rel), "/memscope-test-%d-%ld", getpid(), (long)time(NULL));
	cr_assert_lt(snprintf(real_cg, sizeof(real_cg), "%s%s", h.mount, rel), PATH_MAX);
	if (mkdir(real_cg, 0755)) {
		real_cg[0] = '\0';
		cr_skip_test("cannot create a cgroup in %s", h.mount);
	}
	cr_assert_eq(stat(real_cg, &st), 0);
	cg = cgroups__open(&h);
	cr_assert_not_null(cg);
	cr_expect_str_eq(cgroups__path(cg, st.st_ino), rel);
	cr_assert_eq(rmdir(real_cg), 0, "%s", strerror(errno));
	real_cg[0] = '\0';
	cr_assert_eq(cgroups__refresh(cg), 0);
	cr_expect_str_eq(cgroups__path(cg, st.st_ino), rel);
	cgroups__free(cg);
}
