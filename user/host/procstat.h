/* /proc/PID/stat, of which memscope needs one field: when the process
 * started (field 22, clock ticks since boot). A pid is reused as soon as
 * its process is gone; the start time tells the process read now from the
 * one that had the pid before. */
#ifndef MEMSCOPE_PROCSTAT_H
#define MEMSCOPE_PROCSTAT_H

#include <stdbool.h>
#include <stdint.h>

/* Start time of proc_root/PID, in clock ticks. 0, -errno of reading the file
 * (-ENOENT: no such process) or -EINVAL (not a stat line). */
int procstat__start_ticks(const char *proc_root, int pid, uint64_t *ticks);
/* Is a start time in ticks (as read above) the time start_ns (the BPF side's
 * task->start_time, ns since boot)? Two ticks of slack for the rounding. */
bool procstat__same_start(uint64_t ticks, uint64_t start_ns);

#endif
