/* The V8 heap of any process, for the views that look at every process at
 * their refresh rate (`top`): a process is looked at for V8 (v8__track) the
 * first time it is asked about, and forgotten once it is gone, so the
 * tracker's tables follow the host's processes, not every pid ever seen.
 *
 *	struct v8_census *c = v8_census__new(v8, "/proc");
 *	v8_census__poll(c);			each sample: V8's queued events
 *	v8_census__bytes(c, pid, &bytes);	resident V8 heap of pid, 0 if none
 *	v8_census__sweep(c);			each scan: forget the pids gone
 */
#ifndef MEMSCOPE_V8_CENSUS_H
#define MEMSCOPE_V8_CENSUS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct v8;
struct v8_census;

/* v8 stays the caller's. NULL + errno (ENOMEM). */
struct v8_census *v8_census__new(struct v8 *v8, const char *proc_root);
void v8_census__free(struct v8_census *c);

void v8_census__poll(struct v8_census *c);
/* Bytes resident in pid's V8 heap (0 for a process without V8). false when
 * it cannot be known: the process is V8 that cannot be probed (no symbols,
 * uprobes refused), so its heap counts as anon it cannot tell apart. */
bool v8_census__bytes(struct v8_census *c, pid_t pid, uint64_t *bytes);
/* Forgets the processes that are gone (their pid left proc_root). */
void v8_census__sweep(struct v8_census *c);

#endif
