/* Least privilege: once its programs are attached, memscope gives up every
 * capability it will not use again, for good (bounding set, no_new_privs),
 * so a bug in a parser of container-controlled files cannot be turned into
 * module loading, network control or setuid. */
#ifndef MEMSCOPE_PRIVS_H
#define MEMSCOPE_PRIVS_H

#include <stddef.h>

/* May this process load and attach memscope's BPF programs: CAP_SYS_ADMIN,
 * or CAP_BPF with CAP_PERFMON, effective (CAP_SYS_ADMIN also covers reading
 * other processes' pagemap and map_files)? 1, 0, or -errno when the
 * capabilities cannot be read. Asked before loading, so that a caller can
 * say what is missing, or go on without BPF, instead of libbpf's EPERM. */
int privs__may_trace(void);
/* The capabilities kept, as "cap_bpf,cap_perfmon,..." (for the notice). */
const char *privs__kept(void);
/* Drop everything else from the effective, permitted, inheritable and
 * bounding sets. 0 or -errno; on failure nothing is half-dropped in a way
 * that matters (caps only ever go away). */
int privs__drop(void);
/* Every capability of the calling thread, and so of the threads it creates
 * afterwards (an HTTP server's), gone; the process's other threads keep
 * theirs. 0 or -errno. */
int privs__drop_thread(void);

#endif
