/* The kernel's log as /dev/kmsg gives it: a container shapes the comm and
 * the cgroup names in an OOM kill's records, and anyone allowed to write
 * /dev/kmsg adds records of their own. Each input line is one record
 * ("PRIO,SEQ,USEC,FLAGS;MESSAGE"); the whole input is also tried as one
 * message. What the collector keeps must be bounded, printable, and say
 * what the header promises (a pid, paths that start with '/'). */
#include "fuzz.h"
#include "oom_kmsg.h"

static void check_printable(const char *s, size_t cap)
{
	FUZZ_CHECK(fuzz_terminated(s, cap));
	for (; *s; s++)
		FUZZ_CHECK(*s >= 0x20 && *s < 0x7f);
}

static void check_kill(const struct oom_kmsg_kill *k)
{
	check_printable(k->oom_memcg, sizeof(k->oom_memcg));
	check_printable(k->task_memcg, sizeof(k->task_memcg));
	check_printable(k->task, sizeof(k->task));
	FUZZ_CHECK(k->pid != 0);
	FUZZ_CHECK(!k->task_memcg[0] || k->task_memcg[0] == '/');
	FUZZ_CHECK(!k->oom_memcg[0] || k->oom_memcg[0] == '/');
	if (k->constraint == OOM_KMSG_MEMCG)
		FUZZ_CHECK(k->oom_memcg[0] == '/' && k->task_memcg[0] == '/');
	else
		FUZZ_CHECK(!k->memory.have && !k->memsw.have && !k->swap.have);
	FUZZ_CHECK(strcmp(oom_kmsg__constraint_name(k->constraint), "unknown") != 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data, *end = text + size;
	struct oom_kmsg *k = oom_kmsg__new();
	struct oom_kmsg_kill one;
	struct oom_kmsg_counter c;
	const char *which;

	FUZZ_CHECK(k);
	if (!oom_kmsg__parse_summary(text, size, &one))
		check_kill(&one);
	if (!oom_kmsg__parse_counter(text, size, &which, &c))
		FUZZ_CHECK(c.have && which && *which);
	for (const char *p = text; p < end;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = (size_t)((nl ? nl : end) - p);
		struct kmsg_record r;

		if (!kmsg__parse(p, len, &r)) {
			FUZZ_CHECK(r.msg >= p && r.msg + r.msg_len <= p + len);
			oom_kmsg__feed(k, &r);
		}
		p += len + 1;
	}
	FUZZ_CHECK(k->n <= OOM_KMSG_KEEP && k->next < OOM_KMSG_KEEP);
	for (size_t i = 0; i < k->n; i++) {
		check_kill(&k->kills[i]);
		FUZZ_CHECK(oom_kmsg__find(k, k->kills[i].pid) != NULL);
	}
	oom_kmsg__free(k);
	return 0;
}
