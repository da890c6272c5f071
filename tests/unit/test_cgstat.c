#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include "cgstat.h"
#include "fixture_tree.h"

/* From a v1 hierarchy (Linux 6.x), abridged. */
static const char v1_stat[] =
	"cache 9891840\n"
	"rss 8962048\n"
	"rss_huge 0\n"
	"shmem 9068544\n"
	"mapped_file 7446528\n"
	"swap 0\n"
	"pgfault 79233\n"
	"hierarchical_memory_limit 9223372036854771712\n"
	"total_cache 424833024\n"
	"total_rss 52912128\n"
	"total_rss_huge 0\n"
	"total_shmem 9138176\n"
	"total_mapped_file 21917696\n"
	"total_dirty 385024\n"
	"total_swap 4096\n"
	"total_pgfault 33204154\n"
	"total_inactive_anon 43806720\n";

/* From a v2 hierarchy (Linux 6.x), abridged. */
static const char v2_stat[] =
	"anon 1048576\n"
	"file 2097152\n"
	"kernel 524288\n"
	"kernel_stack 65536\n"
	"pagetables 131072\n"
	"sec_pagetables 0\n"
	"percpu 8192\n"
	"sock 4096\n"
	"vmalloc 0\n"
	"shmem 262144\n"
	"zswap 0\n"
	"file_mapped 393216\n"
	"file_dirty 0\n"
	"anon_thp 0\n"
	"slab_reclaimable 196608\n"
	"slab_unreclaimable 122880\n"
	"slab 319488\n"
	"workingset_refault_anon 0\n"
	"pgfault 12345\n";

/* ---- single values -------------------------------------------------------- */

struct num_case {
	char text[32];
	int err;
	uint64_t val;
};

static struct num_case u64_cases[] = {
	{ "123\n", 0, 123 },
	{ " 5 \n", 0, 5 },
	{ "0", 0, 0 },
	{ "18446744073709551615\n", 0, UINT64_MAX },
	{ "18446744073709551616\n", -EINVAL, 0 },
	{ "", -EINVAL, 0 },
	{ "\n", -EINVAL, 0 },
	{ "-1\n", -EINVAL, 0 },
	{ "12a\n", -EINVAL, 0 },
	{ "1 2\n", -EINVAL, 0 },
	{ "max\n", -EINVAL, 0 },
};

ParameterizedTestParameters(cgstat, parse_u64)
{
	return cr_make_param_array(struct num_case, u64_cases,
				   sizeof(u64_cases) / sizeof(u64_cases[0]));
}

ParameterizedTest(struct num_case *c, cgstat, parse_u64)
{
	uint64_t v = 77;

	cr_assert_eq(cgstat__parse_u64(c->text, strlen(c->text), &v), c->err, "'%s'", c->text);
	cr_assert_eq(v, c->err ? 77 : c->val, "'%s'", c->text);
}

static struct num_case limit_cases[] = {
	{ "max\n", 0, CGSTAT_UNLIMITED },
	{ "9223372036854771712\n", 0, CGSTAT_UNLIMITED },	/* v1: no limit */
	{ "4611686018427387904", 0, CGSTAT_UNLIMITED },		/* 2^62 */
	{ "1073741824\n", 0, 1073741824 },
	{ "0\n", 0, 0 },
	{ "maximum\n", -EINVAL, 0 },
	{ "MAX\n", -EINVAL, 0 },
	{ "", -EINVAL, 0 },
};

ParameterizedTestParameters(cgstat, parse_limit)
{
	return cr_make_param_array(struct num_case, limit_cases,
				   sizeof(limit_cases) / sizeof(limit_cases[0]));
}

ParameterizedTest(struct num_case *c, cgstat, parse_limit)
{
	uint64_t v = 77;

	cr_assert_eq(cgstat__parse_limit(c->text, strlen(c->text), &v), c->err, "'%s'", c->text);
	cr_assert_eq(v, c->err ? 77 : c->val, "'%s'", c->text);
}

Test(cgstat, parse_key_needs_the_whole_key)
{
	static const char v1_oom[] = "oom_kill_disable 0\nunder_oom 0\noom_kill 3\n";
	static const char v2_events[] = "low 0\nhigh 12\nmax 40\noom 5\noom_kill 2\n"
					"oom_group_kill 0\n";
	uint64_t v = 0;

	cr_assert_eq(cgstat__parse_key(v1_oom, strlen(v1_oom), "oom_kill", &v), 0);
	cr_assert_eq(v, 3);
	cr_assert_eq(cgstat__parse_key(v2_events, strlen(v2_events), "oom_kill", &v), 0);
	cr_assert_eq(v, 2);
	cr_assert_eq(cgstat__parse_key(v2_events, strlen(v2_events), "oom", &v), 0);
	cr_assert_eq(v, 5);
	cr_assert_eq(cgstat__parse_key(v2_events, strlen(v2_events), "oom_k", &v), -ENOENT);
	cr_assert_eq(cgstat__parse_key("", 0, "oom_kill", &v), -ENOENT);
}

Test(cgstat, parse_key_skips_garbage_and_respects_len)
{
	static const char text[] = "oom_kill\noom_kill x\n oom_kill 9\noom_kill -1\n\0oom_kill 4\n"
				   "oom_kill 7\noom_kill 8";
	uint64_t v = 0;

	/* Everything before "oom_kill 7" is malformed (a NUL starts the "4" line),
	 * and the NUL does not end the text. */
	cr_assert_eq(cgstat__parse_key(text, sizeof(text) - 1, "oom_kill", &v), 0);
	cr_assert_eq(v, 7);
	/* Only the first 11 bytes: no valid line at all. */
	cr_assert_eq(cgstat__parse_key(text, 11, "oom_kill", &v), -ENOENT);
}

/* ---- memory.stat ----------------------------------------------------------- */

Test(cgstat, parse_stat_v1)
{
	struct cgstat s = {};

	cr_assert_eq(cgstat__parse_stat(v1_stat, strlen(v1_stat), 1, &s), 0);
	/* Hierarchical totals, shmem taken out of the cache. */
	cr_assert_eq(s.anon, 52912128);
	cr_assert_eq(s.file, 424833024 - 9138176);
	cr_assert_eq(s.shmem, 9138176);
	cr_assert_eq(s.mapped, 21917696);
	cr_assert_eq(s.swap, 4096);
	cr_assert_eq(s.have, CGSTAT_ANON | CGSTAT_FILE | CGSTAT_SHMEM | CGSTAT_MAPPED | CGSTAT_SWAP);
	cr_assert_eq(s.kernel, 0, "v1 has kernel memory in its own file");
}

Test(cgstat, parse_stat_v2)
{
	struct cgstat s = {};

	cr_assert_eq(cgstat__parse_stat(v2_stat, strlen(v2_stat), 2, &s), 0);
	cr_assert_eq(s.anon, 1048576);
	cr_assert_eq(s.file, 2097152 - 262144);
	cr_assert_eq(s.shmem, 262144);
	cr_assert_eq(s.kernel, 524288);
	cr_assert_eq(s.sock, 4096);
	cr_assert_eq(s.mapped, 393216);
	cr_assert_eq(s.have, CGSTAT_ANON | CGSTAT_FILE | CGSTAT_SHMEM | CGSTAT_MAPPED |
				     CGSTAT_KERNEL | CGSTAT_SOCK);
}

Test(cgstat, parse_stat_v2_without_kernel_line)
{
	/* Before 5.18: the parts of kernel memory, slab as one line. */
	static const char with_slab[] = "anon 10\nslab 1000\nkernel_stack 200\npagetables 30\n"
					"percpu 4\nsock 5\n";
	/* Before 5.9: no slab total either. */
	static const char split_slab[] = "anon 10\nslab_reclaimable 600\nslab_unreclaimable 400\n"
					 "kernel_stack 200\n";
	struct cgstat s = {};

	cr_assert_eq(cgstat__parse_stat(with_slab, strlen(with_slab), 2, &s), 0);
	cr_assert_eq(s.kernel, 1234, "sock is its own figure, not kernel");
	cr_assert_eq(s.sock, 5);
	memset(&s, 0, sizeof(s));
	cr_assert_eq(cgstat__parse_stat(split_slab, strlen(split_slab), 2, &s), 0);
	cr_assert_eq(s.kernel, 1200);
	memset(&s, 0, sizeof(s));
	cr_assert_eq(cgstat__parse_stat("anon 1\n", 7, 2, &s), 0);
	cr_assert_eq(s.have, CGSTAT_ANON, "no kernel figure when none of its parts is there");
}

Test(cgstat, parse_stat_hostile)
{
	static const char junk[] = "anon\nanon -5\nanon 99999999999999999999999\nfile 12 kB\n"
				   "\x01\x02\xff\n total_rss 5\n\n\n";
	struct cgstat s = { .anon = 42 };

	cr_assert_eq(cgstat__parse_stat(junk, sizeof(junk) - 1, 2, &s), -ENOENT);
	cr_assert_eq(s.anon, 42, "untouched when nothing parses");
	cr_assert_eq(s.have, 0);
	/* shmem larger than file (counters read at different times): file 0, not 2^64 - x. */
	cr_assert_eq(cgstat__parse_stat("file 100\nshmem 300\n", 19, 2, &s), 0);
	cr_assert_eq(s.file, 0);
	cr_assert_eq(cgstat__parse_stat(v2_stat, strlen(v2_stat), 3, &s), -EINVAL);
	cr_assert_eq(cgstat__parse_stat(NULL, 0, 2, &s), -EINVAL);
}

Test(cgstat, parse_stat_random_bytes_do_not_crash)
{
	char buf[512];
	unsigned seed = 12345;

	for (int round = 0; round < 2000; round++) {
		struct cgstat s = {};
		size_t len = (size_t)(rand_r(&seed) % (int)sizeof(buf));

		for (size_t i = 0; i < len; i++) {
			int r = rand_r(&seed) % 8;

			/* Mostly stat-like bytes, so the parser gets deep. */
			buf[i] = r < 3 ? (char)('0' + rand_r(&seed) % 10) : r == 3 ? ' ' : r == 4 ? '\n'
				: r == 5 ? "anonfilesm_"[rand_r(&seed) % 11] : (char)rand_r(&seed);
		}
		cgstat__parse_stat(buf, len, 1 + round % 2, &s);
	}
}

/* ---- cgroup.procs ---------------------------------------------------------- */

Test(cgstat, parse_pids)
{
	static const char text[] = "1\n22\n\nabc\n-5\n0\n99999999999\n 7\n2147483647\n333";
	pid_t pids[8] = {};

	cr_assert_eq(cgstat__parse_pids(text, sizeof(text) - 1, pids, 8), 4);
	cr_assert_eq(pids[0], 1);
	cr_assert_eq(pids[1], 22);
	cr_assert_eq(pids[2], 2147483647);
	cr_assert_eq(pids[3], 333);
	memset(pids, 0, sizeof(pids));
	cr_assert_eq(cgstat__parse_pids(text, sizeof(text) - 1, pids, 2), 4, "all are counted");
	cr_assert_eq(pids[2], 0, "only max are stored");
	cr_assert_eq(cgstat__parse_pids(text, sizeof(text) - 1, NULL, 0), 4);
	cr_assert_eq(cgstat__parse_pids("", 0, NULL, 0), 0);
	cr_assert_eq(cgstat__parse_pids(text, 4, NULL, 1), -EINVAL);
}

/* ---- readers ---------------------------------------------------------------- */

static struct fixture_tree t;

static void tree_setup(void) { ftree_init(&t); }
static void tree_teardown(void) { ftree_remove(&t); }

Test(cgstat, read_v1, .init = tree_setup, .fini = tree_teardown)
{
	struct cgstat s;

	ftree_write(&t, "/cg/memory.usage_in_bytes", "478494720\n", (size_t)-1);
	ftree_write(&t, "/cg/memory.limit_in_bytes", "9223372036854771712\n", (size_t)-1);
	ftree_write(&t, "/cg/memory.stat", v1_stat, (size_t)-1);
	ftree_write(&t, "/cg/memory.kmem.usage_in_bytes", "54501376\n", (size_t)-1);
	ftree_write(&t, "/cg/memory.kmem.tcp.usage_in_bytes", "8192\n", (size_t)-1);
	ftree_write(&t, "/cg/memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 1\n",
		    (size_t)-1);
	cr_assert_eq(cgstat__read(ftree_path(&t, "/cg"), 1, CGSTAT_ALL, &s), 0);
	cr_assert_eq(s.usage, 478494720);
	cr_assert_eq(s.limit, CGSTAT_UNLIMITED);
	cr_assert_eq(s.anon, 52912128);
	cr_assert_eq(s.kernel, 54501376);
	cr_assert_eq(s.sock, 8192);
	cr_assert_eq(s.swap, 4096);
	cr_assert_eq(s.oom_kills, 1);
	cr_assert_eq(s.have, CGSTAT_ALL);
	/* Only what is asked for. */
	cr_assert_eq(cgstat__read(ftree_path(&t, "/cg"), 1, CGSTAT_USAGE | CGSTAT_OOM, &s), 0);
	cr_assert_eq(s.have, CGSTAT_USAGE | CGSTAT_OOM);
	cr_assert_eq(s.anon, 0);
}

Test(cgstat, read_v2, .init = tree_setup, .fini = tree_teardown)
{
	struct cgstat s;

	ftree_write(&t, "/cg/memory.current", "12582912\n", (size_t)-1);
	ftree_write(&t, "/cg/memory.max", "536870912\n", (size_t)-1);
	ftree_write(&t, "/cg/memory.stat", v2_stat, (size_t)-1);
	ftree_write(&t, "/cg/memory.swap.current", "0\n", (size_t)-1);
	ftree_write(&t, "/cg/memory.events", "low 0\nhigh 0\nmax 3\noom 2\noom_kill 2\n",
		    (size_t)-1);
	cr_assert_eq(cgstat__read(ftree_path(&t, "/cg"), 2, CGSTAT_ALL, &s), 0);
	cr_assert_eq(s.usage, 12582912);
	cr_assert_eq(s.limit, 536870912);
	cr_assert_eq(s.kernel, 524288);
	cr_assert_eq(s.sock, 4096);
	cr_assert_eq(s.oom_kills, 2);
	cr_assert_eq(s.have, CGSTAT_ALL);
}

Test(cgstat, read_partial_and_missing, .init = tree_setup, .fini = tree_teardown)
{
	struct cgstat s;

	/* The v2 root: memory.stat, but no memory.current, max nor events. */
	ftree_write(&t, "/root/memory.stat", v2_stat, (size_t)-1);
	cr_assert_eq(cgstat__read(ftree_path(&t, "/root"), 2, CGSTAT_ALL, &s), 0);
	cr_assert_eq(s.have & (CGSTAT_USAGE | CGSTAT_LIMIT | CGSTAT_OOM), 0);
	cr_assert(s.have & CGSTAT_ANON);
	/* Garbage in every file: nothing, and an error. */
	ftree_write(&t, "/bad/memory.current", "lots\n", (size_t)-1);
	ftree_write(&t, "/bad/memory.stat", "\xff\xfe\n", (size_t)-1);
	cr_assert_eq(cgstat__read(ftree_path(&t, "/bad"), 2, CGSTAT_USAGE | CGSTAT_ANON, &s),
		     -ENOENT);
	cr_assert_eq(s.have, 0);
	cr_assert_eq(cgstat__read(ftree_path(&t, "/gone"), 2, CGSTAT_ALL, &s), -ENOENT);
	cr_assert_eq(cgstat__read(ftree_path(&t, "/root"), 0, CGSTAT_ALL, &s), -EINVAL);
}

Test(cgstat, read_oversized_stat, .init = tree_setup, .fini = tree_teardown)
{
	size_t len = CGSTAT_FILE_MAX * 2;
	char *text = malloc(len + 1);
	struct cgstat s;

	/* A valid line first, then far more text than is read. */
	memset(text, 'x', len);
	memcpy(text, "anon 4096\n", 10);
	for (size_t i = 100; i < len; i += 100)
		text[i] = '\n';
	ftree_write(&t, "/cg/memory.stat", text, len);
	cr_assert_eq(cgstat__read(ftree_path(&t, "/cg"), 2, CGSTAT_ANON, &s), 0);
	cr_assert_eq(s.anon, 4096);
	free(text);
}

Test(cgstat, read_pids, .init = tree_setup, .fini = tree_teardown)
{
	pid_t *pids;

	ftree_write(&t, "/cg/cgroup.procs", "10\n20\n30\n", (size_t)-1);
	cr_assert_eq(cgstat__read_pids(ftree_path(&t, "/cg"), 16, &pids), 3);
	cr_assert_eq(pids[0], 10);
	cr_assert_eq(pids[2], 30);
	free(pids);
	cr_assert_eq(cgstat__read_pids(ftree_path(&t, "/cg"), 2, &pids), 3);
	cr_assert_eq(pids[1], 20);
	free(pids);
	ftree_write(&t, "/empty/cgroup.procs", "", 0);
	cr_assert_eq(cgstat__read_pids(ftree_path(&t, "/empty"), 16, &pids), 0);
	cr_assert_null(pids);
	cr_assert_eq(cgstat__read_pids(ftree_path(&t, "/gone"), 16, &pids), -ENOENT);
}
