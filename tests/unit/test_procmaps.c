#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include "procmaps.h"

static int parse_buf(const char *buf, size_t len, struct procmaps *out)
{
	FILE *f = fmemopen((void *)buf, len, "r");
	int err;

	cr_assert_not_null(f);
	err = procmaps__parse(f, out);
	fclose(f);
	return err;
}

static int parse_str(const char *s, struct procmaps *out)
{
	return parse_buf(s, strlen(s), out);
}

/* Path column padding shortened from the kernel's to fit the line width. */
static const char fixture[] =
	"55d4a3c00000-55d4a3c02000 r--p 00000000 fd:01 1835012          /usr/bin/cat\n"
	"55d4a3c02000-55d4a3c21000 r-xp 00002000 fd:01 1835012          /usr/bin/cat\n"
	"55d4a4000000-55d4a4021000 rw-p 00000000 00:00 0          [heap]\n"
	"7f0c29ff0000-7f0c2a000000 rw-p 00000000 00:00 0 \n"
	"7f0c2a000000-7f0c2a001000 rw-s 00000000 00:01 2049          /memfd:foo (deleted)\n"
	"7f0c2a001000-7f0c2a003000 r-xp 00001000 103:05 42          /opt/my app/lib x.so\n"
	"7f0c2a003000-7f0c2a004000 r-xp 00000000 fe:00 7          /tmp/gone  (deleted)\n"
	"7ffd1b0f3000-7ffd1b114000 rw-p 00000000 00:00 0          [stack]\n"
	"7ffd1b1f0000-7ffd1b1f2000 r-xp 00000000 00:00 0          [vdso]\n"
	"ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0          [vsyscall]";

Test(procmaps, fields)
{
	struct procmaps pm;
	const struct procmap *m;

	cr_assert_eq(parse_str(fixture, &pm), 0);
	cr_assert_eq(pm.n, 10);

	m = &pm.maps[1];
	cr_expect_eq(m->start, 0x55d4a3c02000);
	cr_expect_eq(m->end, 0x55d4a3c21000);
	cr_expect_eq(m->pgoff, 0x2000);
	cr_expect_eq(m->dev_major, 0xfd);
	cr_expect_eq(m->dev_minor, 0x01);
	cr_expect_eq(m->inode, 1835012);
	cr_expect_str_eq(m->perms, "r-xp");
	cr_expect_str_eq(m->path, "/usr/bin/cat");
	cr_expect_not(m->deleted);
	cr_expect(procmap__is_exec(m));
	cr_expect_not(procmap__is_exec(&pm.maps[0]));

	/* Anonymous and pseudo mappings have no file to open. */
	cr_expect_null(pm.maps[2].path);	/* [heap] */
	cr_expect_null(pm.maps[3].path);	/* no name at all */
	cr_expect_null(pm.maps[7].path);	/* [stack] */
	cr_expect_null(pm.maps[8].path);	/* [vdso] */
	cr_expect(procmap__is_exec(&pm.maps[8]));
	cr_expect_str_eq(pm.maps[9].perms, "--xp");
	cr_expect_eq(pm.maps[9].end, 0xffffffffff601000);

	m = &pm.maps[4];
	cr_expect_str_eq(m->path, "/memfd:foo");
	cr_expect(m->deleted);
	cr_expect_str_eq(m->perms, "rw-s");

	m = &pm.maps[5];
	cr_expect_str_eq(m->path, "/opt/my app/lib x.so");
	cr_expect_not(m->deleted);
	cr_expect_eq(m->dev_major, 0x103);
	cr_expect_eq(m->dev_minor, 0x05);

	/* Only the kernel's suffix is removed: the name's own space stays. */
	m = &pm.maps[6];
	cr_expect_str_eq(m->path, "/tmp/gone ");
	cr_expect(m->deleted);
	procmaps__free(&pm);
	cr_expect_null(pm.maps);
	cr_expect_eq(pm.n, 0);
}

struct find_case {
	uint64_t addr;
	int index;	/* into the fixture, -1: no mapping */
};

ParameterizedTestParameters(procmaps, find)
{
	static struct find_case cases[] = {
		{ 0, -1 },
		{ 0x55d4a3bfffff, -1 },
		{ 0x55d4a3c00000, 0 },
		{ 0x55d4a3c01fff, 0 },
		{ 0x55d4a3c02000, 1 },	/* end is exclusive */
		{ 0x55d4a3c20fff, 1 },
		{ 0x55d4a3c21000, -1 },	/* gap */
		{ 0x7f0c29ffffff, 3 },
		{ 0x7f0c2a000000, 4 },
		{ 0x7ffd1b113fff, 7 },
		{ 0xffffffffff600000, 9 },
		{ 0xffffffffff601000, -1 },
		{ UINT64_MAX, -1 },
	};

	return cr_make_param_array(struct find_case, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct find_case *c, procmaps, find)
{
	struct procmaps pm;
	const struct procmap *m;

	cr_assert_eq(parse_str(fixture, &pm), 0);
	m = procmaps__find(&pm, c->addr);
	if (c->index < 0)
		cr_expect_null(m, "%#llx", (unsigned long long)c->addr);
	else
		cr_expect_eq(m, &pm.maps[c->index], "%#llx", (unsigned long long)c->addr);
	procmaps__free(&pm);
}

/* Inline text, not a pointer: Criterion re-executes the binary for each
 * test, so pointers in parameters would dangle. */
struct line_case {
	char line[96];
};

/* Each line alone must yield no mapping at all. */
ParameterizedTestParameters(procmaps, malformed_line)
{
	static struct line_case lines[] = {
		{ "" },
		{ "garbage" },
		{ "00400000-00401000" },
		{ "00400000-00401000 r-xp" },
		{ "00400000-00401000 r-xp 00000000" },
		{ "00400000-00401000 r-xp 00000000 fd:01" },
		{ "00400000-00401000 r-xp 00000000 fd:01 " },
		{ "00400000 00401000 r-xp 00000000 fd:01 1 /x" },
		{ "00400000-00401000 r-x 00000000 fd:01 1 /x" },
		{ "00400000-00401000 r-xpp 00000000 fd:01 1 /x" },
		{ "00400000-00401000 x-rp 00000000 fd:01 1 /x" },
		{ "00400000-00401000 r-xq 00000000 fd:01 1 /x" },
		{ "00401000-00400000 r-xp 00000000 fd:01 1 /x" },	/* start > end */
		{ "00400000-00400000 r-xp 00000000 fd:01 1 /x" },	/* empty */
		{ "10000000000000000-10000000000000001 r-xp 00000000 fd:01 1 /x" },
		{ "00400000-10000000000000000 r-xp 00000000 fd:01 1 /x" },
		{ "00400000-00401000 r-xp 10000000000000000 fd:01 1 /x" },
		{ "00400000-00401000 r-xp 00000000 100000000:01 1 /x" },
		{ "00400000-00401000 r-xp 00000000 fd:100000000 1 /x" },
		{ "00400000-00401000 r-xp 00000000 fd01 1 /x" },
		{ "00400000-00401000 r-xp 00000000 fd: 1 /x" },
		{ "00400000-00401000 r-xp 00000000 fd:01 18446744073709551616 /x" },
		{ "00400000-00401000 r-xp 00000000 fd:01 12ab /x" },
		{ "00400000-00401000 r-xp 00000000 fd:01 -1 /x" },
		{ "0x400000-0x401000 r-xp 00000000 fd:01 1 /x" },
		{ " 00400000-00401000 r-xp 00000000 fd:01 1 /x" },
		{ "00400000-00401000\tr-xp 00000000 fd:01 1 /x" },
		{ "-00401000 r-xp 00000000 fd:01 1 /x" },
	};

	return cr_make_param_array(struct line_case, lines, sizeof(lines) / sizeof(lines[0]));
}

ParameterizedTest(struct line_case *c, procmaps, malformed_line)
{
	struct procmaps pm;
	char buf[sizeof(c->line) + 1];
	int n = snprintf(buf, sizeof(buf), "%s\n", c->line);

	cr_assert(n > 0 && (size_t)n < sizeof(buf));
	cr_assert_eq(parse_str(buf, &pm), 0);
	cr_expect_eq(pm.n, 0, "accepted: \"%s\"", c->line);
	procmaps__free(&pm);
}

/* Appends n bytes (NULs included) to a test buffer, failing the test rather
 * than overflowing it. */
static void put(char *buf, size_t *len, size_t cap, const void *data, size_t n)
{
	cr_assert_leq(n, cap - *len);
	memcpy(buf + *len, data, n);
	*len += n;
}

#define PUT_STR(buf, len, s) put(buf, len, sizeof(buf), s, strlen(s))

Test(procmaps, hostile_lines_between_good_ones)
{
	static char buf[3 * PROCMAPS_LINE_MAX], xs[PROCMAPS_LINE_MAX];
	size_t len = 0;
	struct procmaps pm;

	PUT_STR(buf, &len, "00400000-00401000 r-xp 00000000 fd:01 1 /good/one\n");
	/* A NUL inside the path. */
	PUT_STR(buf, &len, "00401000-00402000 r-xp 00000000 fd:01 1 /evil");
	put(buf, &len, sizeof(buf), "", 1);
	PUT_STR(buf, &len, "/hidden\n");
	/* A path longer than PATH_MAX in a line that still fits. */
	PUT_STR(buf, &len, "00402000-00403000 r-xp 00000000 fd:01 1 /");
	memset(xs, 'p', PATH_MAX);
	put(buf, &len, sizeof(buf), xs, PATH_MAX);
	PUT_STR(buf, &len, "\n");
	/* A line longer than the limit. */
	PUT_STR(buf, &len, "00403000-00404000 r-xp 00000000 fd:01 1 /");
	memset(xs, 'q', sizeof(xs));
	put(buf, &len, sizeof(buf), xs, sizeof(xs));
	PUT_STR(buf, &len, "\n");
	PUT_STR(buf, &len, "00404000-00405000 r--p 00000000 fd:01 1 /good/two");

	cr_assert_eq(parse_buf(buf, len, &pm), 0);
	cr_assert_eq(pm.n, 2);
	cr_expect_str_eq(pm.maps[0].path, "/good/one");
	cr_expect_str_eq(pm.maps[1].path, "/good/two");
	cr_expect_null(procmaps__find(&pm, 0x00401000));
	procmaps__free(&pm);
}

Test(procmaps, longest_path_is_kept)
{
	static char buf[PROCMAPS_LINE_MAX];
	char path[PATH_MAX];
	size_t len = 0;
	struct procmaps pm;

	memset(path, 'a', PATH_MAX - 1);
	path[0] = '/';
	path[PATH_MAX - 1] = '\0';
	PUT_STR(buf, &len, "00400000-00401000 r-xp 00000000 fd:01 1 ");
	PUT_STR(buf, &len, path);
	PUT_STR(buf, &len, " (deleted)\n");

	cr_assert_eq(parse_buf(buf, len, &pm), 0);
	cr_assert_eq(pm.n, 1);
	cr_expect_str_eq(pm.maps[0].path, path);
	cr_expect(pm.maps[0].deleted);
	procmaps__free(&pm);
}

Test(procmaps, unsorted_and_overlapping_input)
{
	static const char text[] =
		"00500000-00600000 r--p 00000000 00:00 0 /c\n"
		"00100000-00200000 r--p 00000000 00:00 0 /a\n"
		"00300000-00400000 r--p 00000000 00:00 0 /b\n"
		"00150000-00250000 r--p 00000000 00:00 0 /overlaps_a\n"
		"00100000-00110000 r--p 00000000 00:00 0 /same_start_as_a\n";
	struct procmaps pm;

	cr_assert_eq(parse_str(text, &pm), 0);
	cr_assert_eq(pm.n, 3);
	cr_expect_str_eq(pm.maps[0].path, "/a");
	cr_expect_str_eq(pm.maps[1].path, "/b");
	cr_expect_str_eq(pm.maps[2].path, "/c");
	cr_expect_str_eq(procmaps__find(&pm, 0x001fffff)->path, "/a");
	cr_expect_null(procmaps__find(&pm, 0x00200000));
	procmaps__free(&pm);
}

Test(procmaps, empty_input)
{
	struct procmaps pm = { 0 };

	cr_assert_eq(parse_str("", &pm), 0);
	cr_expect_eq(pm.n, 0);
	cr_expect_null(procmaps__find(&pm, 0x1000));
	procmaps__free(&pm);
	procmaps__free(&pm);	/* idempotent */
}

/* n one-page mappings, one per line. */
static char *many_maps(size_t n, size_t *len)
{
	static const char sample[] = "0000000000000000-0000000000000000 r--p 0 0:0 0\n";
	size_t cap = n * (sizeof(sample) - 1) + 1, i;
	char *buf = malloc(cap);

	cr_assert_not_null(buf);
	*len = 0;
	for (i = 0; i < n; i++) {
		int w = snprintf(buf + *len, cap - *len, "%016zx-%016zx r--p 0 0:0 0\n",
				 (i + 1) << 12, (i + 2) << 12);

		cr_assert(w > 0 && (size_t)w < cap - *len);
		*len += w;
	}
	return buf;
}

Test(procmaps, mapping_count_limit)
{
	struct procmaps pm;
	size_t len;
	char *buf = many_maps(PROCMAPS_MAX, &len);

	cr_assert_eq(parse_buf(buf, len, &pm), 0);
	cr_expect_eq(pm.n, PROCMAPS_MAX);
	procmaps__free(&pm);
	free(buf);

	buf = many_maps(PROCMAPS_MAX + 1, &len);
	cr_expect_eq(parse_buf(buf, len, &pm), -E2BIG);
	cr_expect_null(pm.maps);
	cr_expect_eq(pm.n, 0);
	free(buf);
}

static int __attribute__((noinline)) function_in_test_binary(int x)
{
	return x * 3 + 1;
}

Test(procmaps, own_process)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	int (*volatile fn)(int) = function_in_test_binary;
	volatile int on_stack = fn(1);
	const struct procmap *m;
	struct procmaps pm;
	struct stat st;

	cr_assert_gt(n, 0);
	exe[n] = '\0';
	cr_assert_eq(stat(exe, &st), 0);
	cr_assert_eq(procmaps__read_pid(getpid(), &pm), 0);
	cr_assert_gt(pm.n, 3);

	m = procmaps__find(&pm, (uint64_t)(uintptr_t)fn);
	cr_assert_not_null(m);
	cr_expect(procmap__is_exec(m));
	cr_expect_str_eq(m->path, exe);
	cr_expect_not(m->deleted);
	cr_expect_eq(m->inode, st.st_ino);

	m = procmaps__find(&pm, (uint64_t)(uintptr_t)&on_stack);
	cr_assert_not_null(m);
	cr_expect_not(procmap__is_exec(m));
	cr_expect_eq(m->perms[1], 'w');
	cr_expect_null(m->path);
	for (size_t i = 1; i < pm.n; i++)
		cr_expect_leq(pm.maps[i - 1].end, pm.maps[i].start);
	procmaps__free(&pm);
}

Test(procmaps, read_pid_errors)
{
	struct procmaps pm;
	pid_t child = fork();

	cr_assert_geq(child, 0);
	if (!child)
		_exit(0);
	cr_assert_eq(waitpid(child, NULL, 0), child);
	cr_expect_eq(procmaps__read_pid(child, &pm), -ESRCH);
	cr_expect_eq(pm.n, 0);
	cr_expect_eq(procmaps__read_pid(0, &pm), -EINVAL);
	cr_expect_eq(procmaps__read_pid(-1, &pm), -EINVAL);
}
