/* What /proc/PID/status says about a process's memory and identity: the
 * resident set split the way the kernel accounts it, and its pid in every
 * pid namespace (the host's first, the container's last).
 *
 *	Name:	node
 *	Tgid:	4242
 *	PPid:	4200
 *	NSpid:	4242	1
 *	VmRSS:	  524288 kB
 *	RssAnon:	  409600 kB
 *	RssFile:	  110592 kB
 *	RssShmem:	    4096 kB
 *
 * Kernel threads have no Vm and Rss lines. The text comes from the kernel but
 * the name is the process's own choice: it is kept as the kernel escaped it
 * (newline and backslash as \n and \\), and callers sanitize it for display.
 */
#ifndef MEMSCOPE_PROCSTATUS_H
#define MEMSCOPE_PROCSTATUS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define PROCSTATUS_NAME_MAX	64	/* longer names are cut (kthread names reach 64) */
#define PROCSTATUS_NS_MAX	32	/* the kernel's pid namespace nesting limit */
#define PROCSTATUS_FILE_MAX	16384	/* status is ~1.5 KiB; read at most this */

enum procstatus_field {
	PROCSTATUS_NAME		= 1u << 0,
	PROCSTATUS_TGID		= 1u << 1,
	PROCSTATUS_PPID		= 1u << 2,
	PROCSTATUS_NSPID	= 1u << 3,
	PROCSTATUS_VMRSS	= 1u << 4,
	PROCSTATUS_RSSANON	= 1u << 5,
	PROCSTATUS_RSSFILE	= 1u << 6,
	PROCSTATUS_RSSSHMEM	= 1u << 7,
};

struct procstatus {
	char name[PROCSTATUS_NAME_MAX + 1];
	pid_t tgid, ppid;
	pid_t nspid[PROCSTATUS_NS_MAX];	/* outermost (the reader's namespace) first */
	int n_nspid;
	uint64_t vm_rss, rss_anon, rss_file, rss_shmem;	/* bytes */
	unsigned have;			/* enum procstatus_field bits */
};

/* text[0..len) need not be NUL-terminated. Unknown and malformed lines are
 * skipped. 0 when a Name or Tgid line was found, else -EINVAL. */
int procstatus__parse(const char *text, size_t len, struct procstatus *out);

/* proc_root/PID/status (proc_root "/proc", or a fixture tree). 0, -errno of
 * reading it (ENOENT: the process is gone), or -EINVAL. */
int procstatus__read(const char *proc_root, pid_t pid, struct procstatus *out);

/* The pid inside the process's innermost pid namespace (its container), or
 * its tgid when NSpid is absent. */
pid_t procstatus__inner_pid(const struct procstatus *ps);

#endif
