#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "oom_kmsg.h"

#define SUMMARY		"oom-kill:constraint="
#define INVOKED		" invoked oom-killer: "

static const struct {
	const char *text;
	enum oom_kmsg_constraint c;
} constraints[] = {
	{ "CONSTRAINT_NONE", OOM_KMSG_NONE },
	{ "CONSTRAINT_CPUSET", OOM_KMSG_CPUSET },
	{ "CONSTRAINT_MEMORY_POLICY", OOM_KMSG_MEMORY_POLICY },
	{ "CONSTRAINT_MEMCG", OOM_KMSG_MEMCG },
};

const char *oom_kmsg__constraint_name(enum oom_kmsg_constraint c)
{
	switch (c) {
	case OOM_KMSG_NONE:
		return "none";
	case OOM_KMSG_CPUSET:
		return "cpuset";
	case OOM_KMSG_MEMORY_POLICY:
		return "mempolicy";
	case OOM_KMSG_MEMCG:
		return "memcg";
	}
	return "unknown";
}

static bool starts(const char *s, size_t len, const char *prefix)
{
	size_t pl = strlen(prefix);

	return len >= pl && !memcmp(s, prefix, pl);
}

/* The last occurrence of needle in [s, s + len). */
static const char *find_last(const char *s, size_t len, const char *needle)
{
	size_t nl = strlen(needle);

	for (size_t i = len >= nl ? len - nl + 1 : 0; i-- > 0;)
		if (!memcmp(s + i, needle, nl))
			return s + i;
	return NULL;
}

static bool all_digits(const char *s, size_t len)
{
	if (!len || len > 10)
		return false;
	for (size_t i = 0; i < len; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

static uint32_t to_u32(const char *s, size_t len)
{
	uint64_t v = 0;

	for (size_t i = 0; i < len; i++)
		v = v * 10 + (uint64_t)(s[i] - '0');
	return v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
}

/* Names are the container's: printable ASCII only, and whole or not at all. */
static int copy_name(char *dst, size_t cap, const char *src, size_t len)
{
	if (len >= cap)
		return -EPROTO;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = src[i];

		dst[i] = c >= 0x20 && c < 0x7f ? (char)c : '?';
	}
	dst[len] = '\0';
	return 0;
}

/* "...,key=DIGITS" at the end of [s, s + *len): the number, and *len cut
 * before the comma. */
static int tail_number(const char *s, size_t *len, const char *key, uint32_t *out)
{
	const char *at = find_last(s, *len, key);
	size_t kl = strlen(key);

	if (!at || !all_digits(at + kl, (size_t)(s + *len - (at + kl))))
		return -EPROTO;
	*out = to_u32(at + kl, (size_t)(s + *len - (at + kl)));
	*len = (size_t)(at - s);
	return 0;
}

int oom_kmsg__parse_summary(const char *msg, size_t len, struct oom_kmsg_kill *out)
{
	const char *p, *end, *task, *tmemcg, *omemcg;
	size_t rest, i;

	if (!msg || !starts(msg, len, SUMMARY))
		return -ENOENT;
	memset(out, 0, sizeof(*out));
	p = msg + strlen(SUMMARY);
	end = memchr(p, ',', (size_t)(msg + len - p));
	if (!end)
		return -EPROTO;
	for (i = 0; i < sizeof(constraints) / sizeof(constraints[0]); i++)
		if ((size_t)(end - p) == strlen(constraints[i].text) &&
		    !memcmp(p, constraints[i].text, (size_t)(end - p)))
			break;
	if (i == sizeof(constraints) / sizeof(constraints[0]))
		return -EPROTO;
	out->constraint = constraints[i].c;

	/* From the end, where the fields are fixed: ...,task=COMM,pid=N,uid=N */
	rest = len;
	while (rest && (msg[rest - 1] == '\n' || msg[rest - 1] == '\r'))
		rest--;
	if (tail_number(msg, &rest, ",uid=", &out->uid) ||
	    tail_number(msg, &rest, ",pid=", &out->pid) || !out->pid)
		return -EPROTO;
	task = find_last(msg, rest, ",task=");
	if (!task || task < end ||
	    copy_name(out->task, sizeof(out->task), task + 6, (size_t)(msg + rest - task - 6)))
		return -EPROTO;

	/* Without memory cgroups there is neither oom_memcg nor task_memcg. */
	tmemcg = find_last(msg, (size_t)(task - msg), ",task_memcg=");
	if (!tmemcg) {
		if (out->constraint == OOM_KMSG_MEMCG)
			return -EPROTO;
		return 0;
	}
	if (tmemcg < end || copy_name(out->task_memcg, sizeof(out->task_memcg), tmemcg + 12,
				      (size_t)(task - tmemcg - 12)) || out->task_memcg[0] != '/')
		return -EPROTO;
	omemcg = find_last(msg, (size_t)(tmemcg - msg), ",oom_memcg=");
	if (tmemcg - msg >= 11 && !memcmp(tmemcg - 11, ",global_oom", 11) &&
	    (!omemcg || omemcg + 11 > tmemcg - 11)) {
		/* A global OOM with the constraint memcg cannot be. */
		return out->constraint == OOM_KMSG_MEMCG ? -EPROTO : 0;
	}
	if (!omemcg || omemcg < end ||
	    copy_name(out->oom_memcg, sizeof(out->oom_memcg), omemcg + 11,
		      (size_t)(tmemcg - omemcg - 11)) || out->oom_memcg[0] != '/')
		return -EPROTO;
	return 0;
}

/* "123kB" and what follows it. */
static int kb_number(const char **p, const char *end, const char *after, uint64_t *out)
{
	const char *s = *p;
	uint64_t v = 0;
	size_t al = strlen(after);

	if (s >= end || *s < '0' || *s > '9')
		return -ENOENT;
	for (; s < end && *s >= '0' && *s <= '9'; s++) {
		if (v > (UINT64_MAX - 9) / 10)
			return -ENOENT;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	if ((size_t)(end - s) < al || memcmp(s, after, al))
		return -ENOENT;
	*out = v;
	*p = s + al;
	return 0;
}

int oom_kmsg__parse_counter(const char *msg, size_t len, const char **which,
			    struct oom_kmsg_counter *out)
{
	static const char *const names[] = { "memory+swap", "memory", "swap", "kmem" };
	const char *p = NULL, *end = msg + len;
	uint64_t usage, limit, failcnt;
	size_t i;

	if (!msg)
		return -ENOENT;
	while (end > msg && (end[-1] == '\n' || end[-1] == '\r'))
		end--;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		size_t nl = strlen(names[i]);

		if ((size_t)(end - msg) > nl + 8 && !memcmp(msg, names[i], nl) &&
		    !memcmp(msg + nl, ": usage ", 8)) {
			p = msg + nl + 8;
			break;
		}
	}
	if (!p || kb_number(&p, end, "kB, limit ", &usage) ||
	    kb_number(&p, end, "kB, failcnt ", &limit))
		return -ENOENT;
	failcnt = 0;
	for (; p < end && *p >= '0' && *p <= '9' && failcnt < UINT64_MAX / 10; p++)
		failcnt = failcnt * 10 + (uint64_t)(*p - '0');
	if (p != end)
		return -ENOENT;
	/* kB to bytes; v1's "no limit" is huge and saturates. */
	*out = (struct oom_kmsg_counter){
		.have = true,
		.usage = usage > UINT64_MAX / 1024 ? UINT64_MAX : usage * 1024,
		.limit = limit > UINT64_MAX / 1024 ? UINT64_MAX : limit * 1024,
		.failcnt = failcnt,
	};
	*which = names[i];
	return 0;
}

/* ---- collecting ------------------------------------------------------------------ */

struct oom_kmsg *oom_kmsg__new(void)
{
	return calloc(1, sizeof(struct oom_kmsg));
}

struct oom_kmsg *oom_kmsg__open(const char *path)
{
	struct oom_kmsg *k = oom_kmsg__new();
	int err;

	if (!k)
		return NULL;
	err = kmsg__open(path, &k->log);
	if (err) {
		free(k);
		errno = -err;
		return NULL;
	}
	return k;
}

void oom_kmsg__free(struct oom_kmsg *k)
{
	if (!k)
		return;
	kmsg__close(k->log);
	free(k);
}

static void forget_counters(struct oom_kmsg *k)
{
	k->memory = k->memsw = k->swap = (struct oom_kmsg_counter){};
}

void oom_kmsg__feed(struct oom_kmsg *k, const struct kmsg_record *r)
{
	struct oom_kmsg_counter c;
	struct oom_kmsg_kill *kill;
	const char *which;
	bool summary = starts(r->msg, r->msg_len, SUMMARY);
	bool counter = !summary && !oom_kmsg__parse_counter(r->msg, r->msg_len, &which, &c);

	k->records++;
	if (!summary && !counter) {
		/* A new OOM starts: counters seen so far were another's. */
		if (kmsg__from_kernel(r) && memmem(r->msg, r->msg_len, INVOKED, strlen(INVOKED)))
			forget_counters(k);
		return;
	}
	if (!kmsg__from_kernel(r)) {
		k->forged++;
		return;
	}
	if (counter) {
		if (!strcmp(which, "memory"))
			k->memory = c;
		else if (!strcmp(which, "memory+swap"))
			k->memsw = c;
		else if (!strcmp(which, "swap"))
			k->swap = c;
		return;
	}
	/* Parsed aside: a record that does not parse must not wipe a kept one. */
	if (oom_kmsg__parse_summary(r->msg, r->msg_len, &k->parsing)) {
		forget_counters(k);
		return;
	}
	kill = &k->kills[k->next];
	*kill = k->parsing;
	kill->seq = r->seq;
	kill->usec = r->usec;
	if (kill->constraint == OOM_KMSG_MEMCG) {
		kill->memory = k->memory;
		kill->memsw = k->memsw;
		kill->swap = k->swap;
	}
	forget_counters(k);
	k->next = (k->next + 1) % OOM_KMSG_KEEP;
	if (k->n < OOM_KMSG_KEEP)
		k->n++;
}

size_t oom_kmsg__drain(struct oom_kmsg *k, size_t max)
{
	struct kmsg_record r;
	size_t n = 0;

	if (!k || !k->log)
		return 0;
	while (n < max && kmsg__next(k->log, &r) > 0) {
		oom_kmsg__feed(k, &r);
		n++;
	}
	return n;
}

const struct oom_kmsg_kill *oom_kmsg__find(const struct oom_kmsg *k, uint32_t pid)
{
	if (!k)
		return NULL;
	/* Newest first: a pid is reused long after its kill left the ring. */
	for (size_t i = 0; i < k->n; i++) {
		const struct oom_kmsg_kill *kill =
			&k->kills[(k->next + OOM_KMSG_KEEP - 1 - i) % OOM_KMSG_KEEP];

		if (kill->pid == pid)
			return kill;
	}
	return NULL;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

const struct oom_kmsg_kill *oom_kmsg__await(struct oom_kmsg *k, uint32_t pid, int wait_ms)
{
	int64_t deadline = now_ms() + wait_ms;
	const struct oom_kmsg_kill *kill;

	if (!k)
		return NULL;
	for (;;) {
		/* A task dump of thousands of processes precedes the summary. */
		oom_kmsg__drain(k, 65536);
		kill = oom_kmsg__find(k, pid);
		if (kill || !k->log)
			return kill;
		if (now_ms() >= deadline)
			return NULL;
		kmsg__wait(k->log, (int)(deadline - now_ms()));
	}
}
