#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "mapuse.h"

static uint32_t parse(const char *text)
{
	FILE *f = fmemopen((void *)text, strlen(text), "r");
	uint32_t id;

	cr_assert_not_null(f);
	id = mapuse__parse_fdinfo(f);
	fclose(f);
	return id;
}

Test(mapuse, map_id_of_a_bpf_map_fd)
{
	cr_assert_eq(parse("pos:\t0\nflags:\t02000002\nmnt_id:\t15\nino:\t2063\n"
			   "map_type:\t1\nkey_size:\t16\nvalue_size:\t24\nmax_entries:\t16384\n"
			   "map_flags:\t0x1\nmap_extra:\t0x0\nmemlock:\t1574144\nmap_id:\t412\n"
			   "frozen:\t0\n"), 412);
}

Test(mapuse, other_fds_and_garbage_are_not_maps)
{
	cr_assert_eq(parse("pos:\t0\nflags:\t02\nmnt_id:\t25\nino:\t17\n"), 0, "a plain file");
	cr_assert_eq(parse(""), 0);
	cr_assert_eq(parse("map_id:\tabc\n"), 0);
	cr_assert_eq(parse("map_id:\t99999999999\n"), 0, "past 32 bits");
	cr_assert_eq(parse("map_id:\n"), 0);
}

Test(mapuse, no_such_process)
{
	struct map_use mu;

	cr_assert_lt(mapuse__read("/nonexistent-proc", 1, "procs", &mu), 0);
}

/* A map of our own, found among our fds by its name and counted. */
Test(mapuse, counts_the_entries_of_a_named_map)
{
	struct map_use mu;
	int fd;

	if (geteuid() != 0)
		cr_skip_test("needs root");
	fd = bpf_map_create(BPF_MAP_TYPE_HASH, "mapuse_test", sizeof(uint32_t), sizeof(uint64_t),
			    16, NULL);
	cr_assert_geq(fd, 0);
	for (uint32_t k = 0; k < 3; k++)
		cr_assert_eq(bpf_map_update_elem(fd, &k, &(uint64_t){ k }, BPF_ANY), 0);
	cr_assert_eq(mapuse__read("/proc", getpid(), "mapuse_test", &mu), 0);
	cr_assert_eq(mu.entries, 3);
	cr_assert_eq(mu.max_entries, 16);
	cr_assert_eq(mapuse__read("/proc", getpid(), "no_such_map", &mu), -ENOENT);
	close(fd);
}
