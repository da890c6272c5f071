#include <criterion/criterion.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cgroups.h"
#include "fixture_tree.h"

#include "memsplit.h"

/* Our own memory cgroup path, from /proc/self/cgroup, with the version of
 * the line it came from. */
static void own_cgroup(char *path, size_t len, int *version)
{
	FILE *f = fopen("/proc/self/cgroup", "re");
	char line[4096];

	cr_assert_not_null(f);
	*version = 2;
	snprintf(path, len, "/");
	while (fgets(line, sizeof(line), f)) {
		char *p = strstr(line, ":memory:");
		bool v2 = !strncmp(line, "0::", 3);

		if (!p && !v2)
			continue;
		p = p ? p + strlen(":memory:") : line + 3;
		p[strcspn(p, "\n")] = '\0';
		cr_assert_lt(strlen(p), len);
		memcpy(path, p, strlen(p) + 1);
		*version = v2 ? 2 : 1;
		if (!v2)
			break;	/* a v1 memory line wins over the v2 one */
	}
	fclose(f);
}

/* The readings of a removed cgroup are dropped and its entry goes to the
 * next new cgroup: containers coming and going must not grow memscope. The
 * hierarchy is a fixture mirroring our own cgroup's path. */
Test(memsplit, removed_cgroups_give_their_entry_back)
{
	struct fixture_tree t;
	struct cg_hier h = { 0 };
	uint32_t pids[2] = { (uint32_t)getpid(), 0 };
	struct memsplit_opts o = { .proc_root = "/proc", .hier = &h, .pids = pids, .n_pids = 2 };
	char own[2048], rel[2100];
	struct memsplit *s;
	size_t entries;
	pid_t child;

	ftree_init(&t);
	own_cgroup(own, sizeof(own), &h.version);
	snprintf(h.mount, sizeof(h.mount), "%s", ftree_path(&t, "/m"));
	snprintf(rel, sizeof(rel), "/m%s/memory.stat", strcmp(own, "/") ? own : "");
	ftree_write(&t, rel, "anon 4096\nfile 0\n", (size_t)-1);
	s = memsplit__start(&o, 0);
	cr_assert_not_null(s);
	cr_assert_eq(memsplit__containers(s, &entries), 1);
	cr_assert_eq(entries, 1);

	ftree_remove(&t);	/* the cgroup is removed */
	memsplit__tick(s, 0.6);
	cr_assert_eq(memsplit__containers(s, &entries), 0, "a removed cgroup is let go");
	cr_assert_eq(entries, 1);

	/* A new process in a cgroup (made again at the same path) takes the
	 * entry back instead of adding one. */
	ftree_init(&t);
	snprintf(h.mount, sizeof(h.mount), "%s", ftree_path(&t, "/m"));
	ftree_write(&t, rel, "anon 4096\nfile 0\n", (size_t)-1);
	child = fork();
	cr_assert_geq(child, 0);
	if (child == 0) {
		pause();
		_exit(0);
	}
	pids[1] = (uint32_t)child;
	memsplit__tick(s, 1.2);
	cr_expect_eq(memsplit__containers(s, &entries), 1);
	cr_expect_eq(entries, 1, "the removed cgroup's entry is reused");
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	memsplit__free(s);
	ftree_remove(&t);
}
