/* `memscope record --format pprof`: the window's stack buckets as a pprof
 * profile (pprof.h), for go tool pprof, Pyroscope and Parca.
 *
 *   sample types  inuse_space/bytes: still resident at the window's end (0 in
 *                 --mode allocated, which does not track frees; the default
 *                 sample type is then alloc_space); alloc_space/bytes:
 *                 allocated during the window. Both are scaled per process
 *                 to the kernel's exact totals, as the folded output is.
 *   labels        container (label as in the folded output), pid (number),
 *                 comm, class (v8-heap, native, file, shmem, kernel) when
 *                 the pages were classified (outstanding mode).
 *   locations     leaf first: kernel frames in the mapping
 *                 "[kernel.kallsyms]" at their kernel address, then user
 *                 frames in the mapping of their file (the path the process
 *                 mapped, its build id) at their ELF virtual address (as nm
 *                 and addr2line take it; a caller's return address minus one,
 *                 inside its call), JIT code in "[jit]" (address 0, named
 *                 from the runtime's perf map). Frames are named exactly as
 *                 in the folded output, without its _[k] / _[j] suffixes:
 *                 the mapping tells those apart.
 */
#ifndef MEMSCOPE_RECORD_PPROF_H
#define MEMSCOPE_RECORD_PPROF_H

#include <stdio.h>

#include "recording.h"

#define RECORD_PPROF_KERNEL	"[kernel.kallsyms]"
#define RECORD_PPROF_JIT	"[jit]"

/* The profile of the settled recording r, gzip-compressed, to out. 0 or
 * -errno (ENOMEM, EIO). */
int record_pprof__write(const struct recording *r, FILE *out);

#endif
