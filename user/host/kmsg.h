/* The kernel's log, read as /dev/kmsg hands it out: one record per read(2),
 *
 *	6,4711,5123456789,-;oom-kill:constraint=CONSTRAINT_MEMCG,...,pid=4242,uid=0
 *	 SUBSYSTEM=...				(optional dictionary lines)
 *
 * i.e. "PRIORITY,SEQUENCE,MICROSECONDS,FLAGS[,...];MESSAGE\n". The kernel
 * escapes unprintable bytes of MESSAGE as \xNN, but a task's comm or a cgroup
 * name is otherwise copied as is, so a message is text a container can shape:
 * parsers of messages treat it as untrusted. Anyone with write access to
 * /dev/kmsg can add records; the kernel gives those a non-zero facility, so
 * only facility 0 (the kernel's own) is believed (kmsg__from_kernel).
 *
 *	struct kmsg *k;
 *	kmsg__open(&k);			at the log's current end
 *	while ((n = kmsg__next(k, &rec)) > 0)  ... rec.msg, rec.msg_len ...
 *	kmsg__close(k);
 */
#ifndef MEMSCOPE_KMSG_H
#define MEMSCOPE_KMSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A record read from /dev/kmsg is at most a few KiB, escapes included; a
 * buffer too small for one makes read(2) fail EINVAL, a larger one costs
 * nothing. */
#define KMSG_RECORD_MAX	16384

struct kmsg_record {
	unsigned facility;	/* 0: the kernel */
	unsigned level;		/* 0 emerg .. 7 debug */
	uint64_t seq;
	uint64_t usec;		/* since boot, CLOCK_MONOTONIC */
	const char *msg;	/* into the caller's buffer; not NUL-terminated */
	size_t msg_len;
};

/* ---- pure ---------------------------------------------------------------------- */

/* One record as read(2) returned it (need not be NUL-terminated). 0, or
 * -EPROTO when it is not of the form above. */
int kmsg__parse(const char *buf, size_t len, struct kmsg_record *out);

/* Written by the kernel itself, not by a process through /dev/kmsg. */
bool kmsg__from_kernel(const struct kmsg_record *r);

/* ---- reading /dev/kmsg ------------------------------------------------------------- */

struct kmsg;

/* Opens path (NULL: /dev/kmsg) non-blocking, at the log's current end, so
 * what was logged before is never read. 0 or -errno (EACCES: not root, or
 * kernel.dmesg_restrict). */
int kmsg__open(const char *path, struct kmsg **out);

/* The next record into *rec (valid until the next call): 1, 0 when there is
 * none yet, -errno on failure. Records the kernel overwrote before they were
 * read are counted (kmsg__lost) and skipped. */
int kmsg__next(struct kmsg *k, struct kmsg_record *rec);

/* Waits up to timeout_ms for a record to be ready. 1 ready, 0 not. */
int kmsg__wait(struct kmsg *k, int timeout_ms);

/* How many times records were overwritten before they were read. */
uint64_t kmsg__lost(const struct kmsg *k);

void kmsg__close(struct kmsg *k);

#endif
