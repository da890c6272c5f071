/* The name a process goes by in memscope's output (the COMM frame of the
 * folded stacks, pprof's comm label, the process tables): its command, never
 * the name of the thread that happened to allocate.
 *
 * The BPF side sends the allocating thread's comm. Threads rename
 * themselves, and node 24 (v24.22.3 here) renames its main thread too, the
 * one /proc/PID/comm shows:
 *	/proc/PID/comm		MainThread
 *	/proc/PID/task/TID/comm	MainThread, V8Worker, DelayedTaskSche, ...
 *	/proc/PID/exe		/usr/bin/node
 * So the name is, in order:
 *   - the tgid's comm (what ps shows), when it is the first bytes of the
 *     basename of the executable or of argv[0..2] (an interpreter running a
 *     script, a process that set its title: both agree then);
 *   - else the executable's basename, cut as the kernel cuts a comm: the
 *     main thread was renamed;
 *   - else (a kernel thread, a process gone, its pid reused) the thread's
 *     comm from the sample.
 */
#ifndef MEMSCOPE_PROCNAME_H
#define MEMSCOPE_PROCNAME_H

#include <stddef.h>
#include <stdint.h>

#define PROCNAME_LEN	16	/* as the kernel's TASK_COMM_LEN, NUL included */

/* The choice above from what was read: comm (the tgid's, NULL: unknown),
 * exe (the executable's path, NULL: unknown), cmdline (argv, NUL-separated,
 * cmdline_len bytes) and thread (the sample's comm). */
void procname__choose(const char *comm, const char *exe, const char *cmdline,
		      size_t cmdline_len, const char *thread, char out[PROCNAME_LEN]);

/* Reads proc_root/TGID/{stat,comm,exe,cmdline} and chooses. start_ns is the
 * process's start time as the BPF side reads it (task->start_time), checked
 * against /proc/TGID/stat so that a pid reused since is not named (0:
 * unknown, not read). Falls back to thread when the process cannot be read. */
void procname__read(const char *proc_root, uint32_t tgid, uint64_t start_ns,
		    const char *thread, char out[PROCNAME_LEN]);
/* The same for a process being read now (its pid cannot have been reused
 * since): no start time to check; "" when it cannot be read. */
void procname__read_now(const char *proc_root, uint32_t tgid, char out[PROCNAME_LEN]);

#endif
