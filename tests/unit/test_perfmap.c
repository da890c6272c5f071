#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include "perfmap.h"
#include "fixture_tree.h"

static struct perfmap *parse_str(const char *text, long *skipped)
{
	struct perfmap *pm = perfmap__new();
	long r;

	cr_assert_not_null(pm);
	r = perfmap__parse(pm, text, strlen(text));
	cr_assert_geq(r, 0);
	if (skipped)
		*skipped = r;
	return pm;
}

static void expect_name(const struct perfmap *pm, uint64_t addr, const char *name)
{
	const char *got = perfmap__lookup(pm, addr, NULL);

	if (!name)
		cr_expect_null(got, "0x%" PRIx64 ": expected no name, got '%s'", addr, got);
	else
		cr_expect(got && !strcmp(got, name), "0x%" PRIx64 ": expected '%s', got '%s'", addr,
			  name, got ? got : "(null)");
}

/* What node 20 writes with --perf-basic-prof (interpreted, baseline and
 * optimized code of one function) and an older V8's spelling. */
static const char node_map[] =
	"1c428cb0c556 7b JS:~memscopeJitProbeRetain /app/jsfuncs.js:21:32\n"
	"7f3a88005b80 344 JS:^memscopeJitProbeRetain /app/jsfuncs.js:21:32\n"
	"7f3a88006a40 5cc JS:*memscopeJitProbeRetain /app/jsfuncs.js:21:32\n"
	"3a2f0c0e4a40 6c LazyCompile:*processReport /app/server.js:42\n"
	"7f3a88000040 20 Builtin:InterpreterEntryTrampoline\n";

Test(perfmap, node_lines)
{
	long skipped;
	struct perfmap *pm = parse_str(node_map, &skipped);
	uint64_t start;

	cr_assert_eq(skipped, 0);
	cr_assert_eq(perfmap__count(pm), 5);
	expect_name(pm, 0x7f3a88006a40, "JS:*memscopeJitProbeRetain /app/jsfuncs.js:21:32");
	expect_name(pm, 0x7f3a88006a40 + 0x5cb, "JS:*memscopeJitProbeRetain /app/jsfuncs.js:21:32");
	expect_name(pm, 0x7f3a88006a40 + 0x5cc, NULL);
	expect_name(pm, 0x7f3a88006a3f, NULL);
	expect_name(pm, 0x3a2f0c0e4a40 + 0x10, "LazyCompile:*processReport /app/server.js:42");
	expect_name(pm, 0x7f3a88000050, "Builtin:InterpreterEntryTrampoline");
	expect_name(pm, 0, NULL);
	expect_name(pm, UINT64_MAX, NULL);
	cr_assert_not_null(perfmap__lookup(pm, 0x7f3a88005b80 + 0x100, &start));
	cr_expect_eq(start, 0x7f3a88005b80);
	perfmap__free(pm);
}

Test(perfmap, empty_and_blank)
{
	long skipped;
	struct perfmap *pm = parse_str("", &skipped);

	cr_expect_eq(skipped, 0);
	cr_expect_eq(perfmap__count(pm), 0);
	expect_name(pm, 0x1000, NULL);
	cr_assert_eq(perfmap__parse(pm, "\n\n\n", 3), 0);
	cr_expect_eq(perfmap__count(pm), 0);
	/* A last line without '\n' counts; text need not be NUL-terminated. */
	cr_assert_eq(perfmap__parse(pm, "1000 10 last lineXXXX", 17), 0);
	expect_name(pm, 0x1008, "last line");
	perfmap__free(pm);
}

struct good_line {
	char text[64];
	uint64_t addr;
	char name[48];
};

static struct good_line good_lines[] = {
	{ "1000 10 plain", 0x100f, "plain" },
	{ "0x1000 0x10 with 0x", 0x1000, "with 0x" },
	{ "ABCDEF 10 upper hex", 0xabcdef, "upper hex" },
	{ "1000\t10\tTabs and  spaces ", 0x1000, "Tabs and  spaces" },
	{ "1000   10   many blanks", 0x1000, "many blanks" },
	{ "1000 10 crlf\r", 0x1000, "crlf" },
	{ "1000 10abc name", 0x110ab, "name" },
	{ "ffffffffffffffef 10 top of space", 0xffffffffffffffef, "top of space" },
	{ "1000 10 \xe2\x9c\x93 utf8 ; and;semicolons", 0x1000,
	  "\xe2\x9c\x93 utf8 ; and;semicolons" },
};

ParameterizedTestParameters(perfmap, good_line)
{
	return cr_make_param_array(struct good_line, good_lines,
				   sizeof(good_lines) / sizeof(good_lines[0]));
}

ParameterizedTest(struct good_line *c, perfmap, good_line)
{
	long skipped;
	struct perfmap *pm = parse_str(c->text, &skipped);

	cr_expect_eq(skipped, 0, "'%s'", c->text);
	cr_expect_eq(perfmap__count(pm), 1, "'%s'", c->text);
	expect_name(pm, c->addr, c->name);
	perfmap__free(pm);
}

struct bad_line {
	char text[64];
};

static struct bad_line bad_lines[] = {
	{ "1000 10" }, { "1000 10 " }, { "1000 10 \r" }, { "1000" }, { " 1000 10 leading blank" },
	{ "1000 0 zero size" }, { "xyz 10 not hex" }, { "10g0 10 bad digit" },
	{ "1000 1g not hex size" }, { "-1000 10 negative" }, { "0x 10 prefix only" },
	{ "10000000000000000 10 over 64 bits" }, { "1000 10000000000000000 over 64 bits" },
	{ "fffffffffffffff0 20 wraps" }, { "1000 10000001 just over the size limit" },
	{ "1000,10 comma" }, { "1000 10name no blank" },
};

ParameterizedTestParameters(perfmap, bad_line)
{
	return cr_make_param_array(struct bad_line, bad_lines,
				   sizeof(bad_lines) / sizeof(bad_lines[0]));
}

ParameterizedTest(struct bad_line *c, perfmap, bad_line)
{
	long skipped;
	struct perfmap *pm = parse_str(c->text, &skipped);

	cr_expect_eq(skipped, 1, "'%s'", c->text);
	cr_expect_eq(perfmap__count(pm), 0, "'%s'", c->text);
	expect_name(pm, 0x1000, NULL);
	perfmap__free(pm);
}

Test(perfmap, size_limit_is_inclusive)
{
	struct perfmap *pm = parse_str("1000 10000000 exactly the limit\n", NULL);

	cr_assert_eq(PERFMAP_SIZE_MAX, 0x10000000);
	expect_name(pm, 0x1000 + PERFMAP_SIZE_MAX - 1, "exactly the limit");
	expect_name(pm, 0x1000 + PERFMAP_SIZE_MAX, NULL);
	perfmap__free(pm);
}

/* Lines cut to PERFMAP_LINE_MAX are kept, longer ones skipped, and a NUL
 * inside a line (a binary file) drops that line only. */
Test(perfmap, long_lines_and_nul_bytes)
{
	size_t len = 3 * PERFMAP_LINE_MAX + 64;
	char *text = malloc(len), *p = text;
	struct perfmap *pm = perfmap__new();
	long skipped;

	cr_assert_not_null(text);
	/* Exactly PERFMAP_LINE_MAX bytes without the '\n'. */
	memcpy(p, "1000 10 ", 8);
	p += 8;
	memset(p, 'a', PERFMAP_LINE_MAX - 8);
	p += PERFMAP_LINE_MAX - 8;
	*p++ = '\n';
	memcpy(p, "2000 10 ", 8);
	p += 8;
	memset(p, 'b', PERFMAP_LINE_MAX - 7);
	p += PERFMAP_LINE_MAX - 7;
	*p++ = '\n';
	memcpy(p, "3000 10 nul\0here\n", 17);
	p += 17;
	memcpy(p, "4000 10 after\n", 14);
	p += 14;
	skipped = perfmap__parse(pm, text, (size_t)(p - text));
	cr_assert_eq(skipped, 2);
	cr_assert_eq(perfmap__count(pm), 2);
	cr_expect_eq(strlen(perfmap__lookup(pm, 0x1000, NULL)), PERFMAP_LINE_MAX - 8);
	expect_name(pm, 0x2000, NULL);
	expect_name(pm, 0x3000, NULL);
	expect_name(pm, 0x4000, "after");
	free(text);
	perfmap__free(pm);
}

/* V8 reuses freed code space: the later line covering an address wins. */
Test(perfmap, later_line_wins)
{
	struct perfmap *pm = parse_str("1000 1000 old_big\n"
				       "1800 100 new_inside\n"
				       "1800 10 newer_same_start\n"
				       "1f00 200 straddles_end\n"
				       "5000 100 lone\n"
				       "5000 100 lone_replaced\n",
				       NULL);

	expect_name(pm, 0xfff, NULL);
	expect_name(pm, 0x1000, "old_big");
	expect_name(pm, 0x17ff, "old_big");
	expect_name(pm, 0x1800, "newer_same_start");
	expect_name(pm, 0x180f, "newer_same_start");
	expect_name(pm, 0x1810, "new_inside");
	expect_name(pm, 0x18ff, "new_inside");
	expect_name(pm, 0x1900, "old_big");
	expect_name(pm, 0x1eff, "old_big");
	expect_name(pm, 0x1f00, "straddles_end");
	expect_name(pm, 0x20ff, "straddles_end");
	expect_name(pm, 0x2100, NULL);
	expect_name(pm, 0x5080, "lone_replaced");
	/* An older big line does not hide a later small one, nor the reverse. */
	cr_assert_geq(perfmap__parse(pm, "0 100000 huge_latest\n", 21), 0);
	expect_name(pm, 0x1800, "huge_latest");
	expect_name(pm, 0x5080, "huge_latest");
	expect_name(pm, 0x100000, NULL);
	perfmap__free(pm);
}

/* The index against the definition, on random overlapping lines parsed in
 * several batches: the name at addr is that of the last line covering it. */
Test(perfmap, index_matches_brute_force)
{
	enum { LINES = 600, SPACE = 4096 };
	static uint64_t start[LINES], end[LINES];
	struct perfmap *pm = perfmap__new();
	char line[64], name[16];
	unsigned seed = 12345;

	for (int i = 0; i < LINES; i++) {
		int n;

		start[i] = (uint64_t)(rand_r(&seed) % SPACE);
		end[i] = start[i] + 1 + (uint64_t)(rand_r(&seed) % (i % 7 == 0 ? 900 : 40));
		n = snprintf(line, sizeof(line), "%" PRIx64 " %" PRIx64 " f%d\n", start[i],
			     end[i] - start[i], i);
		cr_assert_eq(perfmap__parse(pm, line, (size_t)n), 0);
		if (i % 150 != 149)
			continue;
		for (uint64_t a = 0; a < SPACE + 1000; a++) {
			int want = -1;

			for (int k = i; k >= 0 && want < 0; k--)
				if (start[k] <= a && a < end[k])
					want = k;
			snprintf(name, sizeof(name), "f%d", want);
			expect_name(pm, a, want < 0 ? NULL : name);
		}
	}
	perfmap__free(pm);
}

/* A hostile file of random bytes and line fragments: no crash, and every kept
 * entry can be found again at its own start. */
Test(perfmap, random_garbage)
{
	static const char *const bits[] = { "7f00", " ", "\t", "\n", "0x", "ffffffffffffffff",
					    "10", "\r", "\0", "name", ";", "zz", "  " };
	char buf[8192];
	unsigned seed = 99;

	for (int round = 0; round < 200; round++) {
		struct perfmap *pm = perfmap__new();
		size_t len = 0;

		while (len < sizeof(buf) - 32) {
			if (rand_r(&seed) % 3 == 0) {
				buf[len++] = (char)rand_r(&seed);
			} else {
				const char *b = bits[rand_r(&seed) % 13];
				size_t bl = *b ? strlen(b) : 1;

				memcpy(buf + len, b, bl);
				len += bl;
			}
		}
		cr_assert_geq(perfmap__parse(pm, buf, len), 0);
		for (uint64_t a = 0x7f00; a < 0x7f40; a++)
			perfmap__lookup(pm, a, NULL);
		perfmap__free(pm);
	}
}

Test(perfmap, entry_limit)
{
	size_t extra = 10, lines = PERFMAP_ENTRIES_MAX + extra, cap = lines * 16, len = 0;
	char *text = malloc(cap);
	struct perfmap *pm = perfmap__new();

	cr_assert_not_null(text);
	for (size_t i = 0; i < lines; i++)
		len += (size_t)snprintf(text + len, cap - len, "%zx 1 f\n", i);
	cr_assert_eq(perfmap__parse(pm, text, len), (long)extra);
	cr_expect_eq(perfmap__count(pm), PERFMAP_ENTRIES_MAX);
	expect_name(pm, PERFMAP_ENTRIES_MAX - 1, "f");
	expect_name(pm, PERFMAP_ENTRIES_MAX, NULL);
	cr_expect_eq(perfmap__parse(pm, "ffff0000 1 more\n", 16), 1);
	free(text);
	perfmap__free(pm);
}

/* ---- loading from a process's root ------------------------------------------ */

#define FAKE_PID	42
#define FAKE_NSPID	7

static struct fixture_tree tree;

static void setup_tree(void)
{
	ftree_init(&tree);
	ftree_write(&tree, "/proc/42/status", "Name:\tnode\nTgid:\t42\nNSpid:\t42\t7\n",
		    (size_t)-1);
	ftree_mkdir(&tree, "/proc/42/root/tmp");
	ftree_write(&tree, "/host/decoy.map", "1000 1000 DECOY\n", (size_t)-1);
}

static void teardown_tree(void)
{
	ftree_remove(&tree);
}

static struct perfmap *load_fake(void)
{
	return perfmap__load(ftree_path(&tree, "/proc"), FAKE_PID);
}

#define MAP_REL "/proc/42/root/tmp/perf-7.map"

static void expect_load_error(int err)
{
	struct perfmap *pm = load_fake();

	cr_expect_null(pm, "the map loaded, but it should fail with %s", strerror(err));
	if (!pm)
		cr_expect_eq(errno, err, "errno %s, expected %s", strerror(errno), strerror(err));
	perfmap__free(pm);
}

static uint64_t monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

TestSuite(perfmap_load, .init = setup_tree, .fini = teardown_tree);

/* Named by the pid inside the process's pid namespace (NSpid's last). */
Test(perfmap_load, nspid_in_root)
{
	struct perfmap *pm;

	ftree_write(&tree, "/proc/42/root/tmp/perf-42.map", "1000 1000 host_pid\n", (size_t)-1);
	expect_load_error(ENOENT);
	ftree_write(&tree, MAP_REL, "1000 100 inner\n", (size_t)-1);
	pm = load_fake();
	cr_assert_not_null(pm, "%s", strerror(errno));
	expect_name(pm, 0x1010, "inner");
	perfmap__free(pm);
	/* Without NSpid (old kernels), the tgid. */
	ftree_write(&tree, "/proc/42/status", "Name:\tnode\nTgid:\t42\n", (size_t)-1);
	pm = load_fake();
	cr_assert_not_null(pm);
	expect_name(pm, 0x1010, "host_pid");
	perfmap__free(pm);
}

Test(perfmap_load, process_gone_or_garbage_status)
{
	cr_expect_null(perfmap__load(ftree_path(&tree, "/proc"), 43));
	cr_expect_eq(errno, ENOENT);
	ftree_write(&tree, "/proc/42/status", "garbage\n", (size_t)-1);
	expect_load_error(EINVAL);
}

/* A symlink to another file inside the root is followed, in the root. */
Test(perfmap_load, symlink_inside_root_followed)
{
	struct perfmap *pm;

	ftree_write(&tree, "/proc/42/root/app/real.map", "1000 100 inside_file\n", (size_t)-1);
	cr_assert_eq(symlink("/app/real.map", ftree_path(&tree, MAP_REL)), 0);
	pm = load_fake();
	cr_assert_not_null(pm, "%s", strerror(errno));
	expect_name(pm, 0x1000, "inside_file");
	perfmap__free(pm);

	cr_assert_eq(unlink(ftree_path(&tree, MAP_REL)), 0);
	cr_assert_eq(symlink("../app/real.map", ftree_path(&tree, MAP_REL)), 0);
	pm = load_fake();
	cr_assert_not_null(pm, "%s", strerror(errno));
	expect_name(pm, 0x1000, "inside_file");
	perfmap__free(pm);
}

/* The host path a container names resolves inside its root: absent there, or
 * the container's own file, never the host's. */
Test(perfmap_load, symlink_out_of_root_stays_inside)
{
	const char *host = ftree_path(&tree, "/host/decoy.map");
	char inside[PATH_MAX];
	struct perfmap *pm;

	cr_assert_eq(access(host, R_OK), 0);
	cr_assert_eq(symlink(host, ftree_path(&tree, MAP_REL)), 0);
	expect_load_error(ENOENT);

	/* "..": the root is a ceiling. */
	cr_assert_eq(unlink(ftree_path(&tree, MAP_REL)), 0);
	cr_assert_eq(symlink("../../../../../../../../host/decoy.map", ftree_path(&tree, MAP_REL)),
		     0);
	expect_load_error(ENOENT);

	/* The same absolute path inside the root: the container's own file. */
	cr_assert_eq(unlink(ftree_path(&tree, MAP_REL)), 0);
	cr_assert_eq(symlink(host, ftree_path(&tree, MAP_REL)), 0);
	snprintf(inside, sizeof(inside), "/proc/42/root%s", host);
	ftree_write(&tree, inside, "1000 1000 container_copy\n", (size_t)-1);
	pm = load_fake();
	cr_assert_not_null(pm, "%s", strerror(errno));
	expect_name(pm, 0x1000, "container_copy");
	perfmap__free(pm);

	/* A symlinked /tmp directory stays inside too: the host directory's
	 * path starts with /tmp, which in the root is the symlink itself. */
	ftree_remove(&tree);
	setup_tree();
	cr_assert_eq(rmdir(ftree_path(&tree, "/proc/42/root/tmp")), 0);
	cr_assert_eq(symlink(ftree_path(&tree, "/host"), ftree_path(&tree, "/proc/42/root/tmp")),
		     0);
	ftree_write(&tree, "/host/perf-7.map", "1000 1000 DECOY\n", (size_t)-1);
	expect_load_error(ELOOP);
}

Test(perfmap_load, not_a_regular_file)
{
	cr_assert_eq(mkfifo(ftree_path(&tree, MAP_REL), 0644), 0);
	/* Must not block on the FIFO. */
	expect_load_error(EINVAL);
	cr_assert_eq(unlink(ftree_path(&tree, MAP_REL)), 0);
	ftree_mkdir(&tree, MAP_REL);
	expect_load_error(EINVAL);
	cr_assert_eq(rmdir(ftree_path(&tree, MAP_REL)), 0);
	/* A device is refused before it is ever opened. */
	cr_assert_eq(symlink("/dev/null", ftree_path(&tree, MAP_REL)), 0);
	ftree_mkdir(&tree, "/proc/42/root/dev");
	cr_assert_eq(mknod(ftree_path(&tree, "/proc/42/root/dev/null"), S_IFCHR | 0666,
			   makedev(1, 3)), 0);
	expect_load_error(EINVAL);
	/* A symlink loop. */
	cr_assert_eq(unlink(ftree_path(&tree, "/proc/42/root/dev/null")), 0);
	cr_assert_eq(symlink("/dev/null", ftree_path(&tree, "/proc/42/root/dev/null")), 0);
	expect_load_error(ELOOP);
}

/* Only a file owned by the process's user: another user of the container
 * could otherwise plant names before the process writes its map. */
Test(perfmap_load, other_owner_refused)
{
	struct perfmap *pm;

	ftree_write(&tree, MAP_REL, "1000 100 planted\n", (size_t)-1);
	cr_assert_eq(chown(ftree_path(&tree, MAP_REL), 12345, 12345), 0);
	expect_load_error(EACCES);
	/* The process's user is the owner of its /proc/PID directory. */
	cr_assert_eq(chown(ftree_path(&tree, "/proc/42"), 12345, 12345), 0);
	pm = load_fake();
	cr_assert_not_null(pm, "%s", strerror(errno));
	expect_name(pm, 0x1000, "planted");
	perfmap__free(pm);
}

/*
 * With the real / as the process's root: a path through a /proc magic link
 * is refused, and a file on another mount (procfs) too. The map sits in the
 * real /tmp under an NSpid above the kernel's pid_max, so no process can own
 * that name.
 */
Test(perfmap_load, magic_links_and_other_mounts)
{
	char status[128], map[64];
	pid_t nspid = 4194305 + (getpid() % 100000);
	struct perfmap *pm;

	snprintf(status, sizeof(status), "Name:\tx\nTgid:\t42\nNSpid:\t42\t%d\n", (int)nspid);
	ftree_write(&tree, "/proc/42/status", status, (size_t)-1);
	cr_assert_eq(rmdir(ftree_path(&tree, "/proc/42/root/tmp")), 0);
	cr_assert_eq(rmdir(ftree_path(&tree, "/proc/42/root")), 0);
	cr_assert_eq(symlink("/", ftree_path(&tree, "/proc/42/root")), 0);
	snprintf(map, sizeof(map), "/tmp/perf-%d.map", (int)nspid);
	unlink(map);

	cr_assert_eq(symlink("/proc/self/root/etc/hostname", map), 0);
	expect_load_error(ELOOP);
	cr_assert_eq(unlink(map), 0);
	cr_assert_eq(symlink("/proc/self/status", map), 0);
	expect_load_error(EXDEV);
	cr_assert_eq(unlink(map), 0);
	/* And the same file straight in /tmp loads. */
	cr_assert_eq(symlink(ftree_path(&tree, "/host/decoy.map"), map), 0);
	pm = load_fake();
	unlink(map);
	cr_assert_not_null(pm, "%s", strerror(errno));
	expect_name(pm, 0x1000, "DECOY");
	perfmap__free(pm);
}

static void append(const char *rel, const char *text)
{
	int fd = open(ftree_path(&tree, rel), O_WRONLY | O_APPEND | O_CLOEXEC);

	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

/* The runtime appends as it compiles: new lines are read, at most once per
 * PERFMAP_REFRESH_NS, and a line being written is left for the next look. */
Test(perfmap_load, refresh_reads_appended_lines)
{
	struct perfmap *pm;
	uint64_t t;

	ftree_write(&tree, MAP_REL, "1000 100 first\n2000 100 half", (size_t)-1);
	pm = load_fake();
	cr_assert_not_null(pm);
	t = monotonic_ns();
	cr_expect_eq(perfmap__count(pm), 1);
	expect_name(pm, 0x2000, NULL);

	append(MAP_REL, "_done\n1000 10 reused\n");
	cr_expect_eq(perfmap__refresh(pm, t), 0, "refreshed within the same second");
	expect_name(pm, 0x2000, NULL);
	t += PERFMAP_REFRESH_NS;
	cr_expect_eq(perfmap__refresh(pm, t), 1);
	expect_name(pm, 0x2000, "half_done");
	expect_name(pm, 0x1000, "reused");
	expect_name(pm, 0x1010, "first");
	t += PERFMAP_REFRESH_NS;
	cr_expect_eq(perfmap__refresh(pm, t), 0, "nothing new");

	/* Replaced by a new file (a new process with that pid): start over. */
	cr_assert_eq(unlink(ftree_path(&tree, MAP_REL)), 0);
	ftree_write(&tree, MAP_REL, "3000 100 replaced\n", (size_t)-1);
	t += PERFMAP_REFRESH_NS;
	cr_expect_eq(perfmap__refresh(pm, t), 1);
	expect_name(pm, 0x1000, NULL);
	expect_name(pm, 0x3000, "replaced");

	/* Truncated and rewritten in place: read anew, but not twice within
	 * PERFMAP_RESET_NS (the replacement above may have counted as one:
	 * a new file can get the old one's inode number). */
	t += PERFMAP_RESET_NS;
	ftree_write(&tree, MAP_REL, "4000 1 x\n", (size_t)-1);
	cr_expect_eq(perfmap__refresh(pm, t), 1);
	expect_name(pm, 0x3000, NULL);
	expect_name(pm, 0x4000, "x");

	/* Gone: what was read stays. */
	cr_assert_eq(unlink(ftree_path(&tree, MAP_REL)), 0);
	t += PERFMAP_REFRESH_NS;
	cr_expect_eq(perfmap__refresh(pm, t), -ENOENT);
	expect_name(pm, 0x4000, "x");
	perfmap__free(pm);

	pm = perfmap__new();
	cr_expect_eq(perfmap__refresh(pm, t), -EINVAL);
	perfmap__free(pm);
}

/* A process that truncates and rewrites its map every second gets it parsed
 * whole once per PERFMAP_RESET_NS, not every second; appends still count. */
Test(perfmap_load, rewrites_parsed_at_most_once_per_reset_period)
{
	struct perfmap *pm;
	uint64_t t;

	ftree_write(&tree, MAP_REL, "1000 100 one\n2000 100 two\n", (size_t)-1);
	pm = load_fake();
	cr_assert_not_null(pm);
	t = monotonic_ns() + PERFMAP_REFRESH_NS;
	ftree_write(&tree, MAP_REL, "5000 10 aaaa\n", (size_t)-1);
	cr_expect_eq(perfmap__refresh(pm, t), 1, "the first rewrite is read");
	expect_name(pm, 0x5000, "aaaa");
	for (int i = 1; i < 8; i++) {
		ftree_write(&tree, MAP_REL, i % 2 ? "6000 10 b\n" : "7000 10 c\n", (size_t)-1);
		t += PERFMAP_REFRESH_NS;
		cr_expect_eq(perfmap__refresh(pm, t), 0, "rewrite %d within the period", i);
		expect_name(pm, 0x5000, "aaaa");
	}
	ftree_write(&tree, MAP_REL, "8000 10 d\n", (size_t)-1);
	t += PERFMAP_RESET_NS;
	cr_expect_eq(perfmap__refresh(pm, t), 1);
	expect_name(pm, 0x5000, NULL);
	expect_name(pm, 0x8000, "d");
	perfmap__free(pm);
}

/* A line that never ends within PERFMAP_LINE_MAX is skipped to its end, even
 * when its end arrives in a later look. */
Test(perfmap_load, long_line_across_refreshes)
{
	char *junk = malloc(PERFMAP_LINE_MAX + 100);
	struct perfmap *pm;
	uint64_t t;

	cr_assert_not_null(junk);
	memset(junk, 'j', PERFMAP_LINE_MAX + 99);
	junk[PERFMAP_LINE_MAX + 99] = '\0';
	memcpy(junk, "5000 10 ", 8);
	ftree_write(&tree, MAP_REL, "1000 100 first\n", (size_t)-1);
	append(MAP_REL, junk);
	pm = load_fake();
	cr_assert_not_null(pm);
	t = monotonic_ns() + PERFMAP_REFRESH_NS;
	append(MAP_REL, "0 1 tail of the long line\n6000 10 after\n");
	cr_expect_eq(perfmap__refresh(pm, t), 1);
	expect_name(pm, 0, NULL);
	expect_name(pm, 0x5000, NULL);
	expect_name(pm, 0x6000, "after");
	cr_expect_eq(perfmap__count(pm), 2);
	free(junk);
	perfmap__free(pm);
}

/* Only the first PERFMAP_FILE_MAX bytes are read (a sparse file: cheap). */
Test(perfmap_load, file_size_limit)
{
	static const char late[] = "\n9000 10 late\n";
	struct perfmap *pm;
	int fd;

	ftree_write(&tree, MAP_REL, "1000 100 early\n", (size_t)-1);
	fd = open(ftree_path(&tree, MAP_REL), O_WRONLY | O_CLOEXEC);
	cr_assert_geq(fd, 0);
	cr_assert_eq(pwrite(fd, late, sizeof(late) - 1, PERFMAP_FILE_MAX + 4096),
		     (ssize_t)sizeof(late) - 1);
	close(fd);
	pm = load_fake();
	cr_assert_not_null(pm, "%s", strerror(errno));
	expect_name(pm, 0x1000, "early");
	expect_name(pm, 0x9000, NULL);
	cr_expect_eq(perfmap__refresh(pm, monotonic_ns() + PERFMAP_REFRESH_NS), 0);
	perfmap__free(pm);
}
