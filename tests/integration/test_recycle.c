/* Long-running commands (oom, serve) hand the process-table slots of exited
 * processes back, so a host that forks all day does not fill the table. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

Test(recycle, exited_processes_slots_come_back, .timeout = 90)
{
	char *errf = (char *)scratch_path("recycle.err");
	char *argv[] = { (char *)memscope_bin(), "oom", "-v", NULL };
	char *leak[] = { WORKLOAD("leaker"), "-l", "4", "-c", "0", "-h", "0", NULL };
	unsigned long long first = 0, total = 0;
	char *text, *p;
	pid_t oom;

	if (geteuid() != 0)
		cr_skip_test("needs root");
	oom = spawn(argv, "/dev/null", errf);
	cr_assert(wait_for_text(errf, "attached", 30), "%s", read_text(errf));
	/* 40 processes that allocate, free everything by exiting, and are gone. */
	for (int i = 0; i < 40; i++)
		cr_assert_eq(wait_exit(spawn(leak, NULL, NULL), 30), 0);
	cr_assert(wait_for_text(errf, "recycled", 25), "no slot recycled:\n%s", read_text(errf));
	kill(oom, SIGINT);
	wait_exit(oom, 30);
	text = read_text(errf);
	p = text ? strstr(text, "recycled ") : NULL;
	cr_assert_not_null(p);
	cr_assert_eq(sscanf(p, "recycled %llu process slots (%llu in all)", &first, &total), 2, "%s", p);
	/* A process whose last free the kernel skipped (counted as a recursion
	 * miss) keeps a page on its books and, rightly, its slot: allow a few. */
	cr_expect_geq(first, 36, "only %llu slots came back after 40 exits", first);
	free(text);
}
