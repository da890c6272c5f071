/* V8 heap accounting from the outside: which address ranges of each process
 * V8 has committed for its heap, kept exact while memscope runs.
 *
 * How the ranges are known:
 *   - uprobes on V8's OS layer (bpf/v8.bpf.c, events in bpf/v8_events.h) report
 *     every commit, decommit, discard and unmap from the moment they are
 *     attached. They are attached once per binary (device and inode), the
 *     executable or any mapped ELF whose symbols (.symtab, else .dynsym)
 *     include v8::base::OS::SetPermissions and Free; the file is opened and
 *     probed through /proc/PID/map_files (else /proc/PID/root), so node in a
 *     container is found through its own view of its files.
 *   - what V8 committed before that is found by scanning the process's
 *     readable anonymous mappings for V8's heap chunks: every chunk starts
 *     at a multiple of V8_CHUNK_ALIGN with a MemoryChunk header,
 *	offset 0  size		the chunk's size (a multiple of the page size)
 *	offset 8  flags
 *	offset 16 heap		the owning v8::internal::Heap*, shared by all
 *				chunks of one isolate
 *	offset 24 area_start	first object, just past the header
 *	offset 32 area_end
 *     read with process_vm_readv at the aligned addresses whose page is
 *     resident (a chunk's header page always is). A candidate counts only
 *     when the fields are consistent with each other and with the mapping,
 *     and its heap pointer is shared by at least V8_MIN_CHUNKS_PER_HEAP
 *     candidates (one per isolate; workers have their own). The scan and
 *     the chunk checks are v8_scan.c.
 * The sizes in events come from the process itself (any process can call
 * its own SetPermissions): the work they cause is bounded by the budgets of
 * budget.h (pagemap read only where the process has a mapping, a per-tick
 * allowance of pages and probes, one range budget for all processes, a
 * bounded set of processes not yet looked at).
 * Processes whose binaries look like V8 (they export v8::Isolate) but lack
 * the OS layer's symbols are V8_RUNTIME_NO_SYMBOLS: their heap cannot be
 * told from native memory ("unknown runtime").
 */
#ifndef MEMSCOPE_V8_H
#define MEMSCOPE_V8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "v8_events.h"

#define V8_PROCS_MAX		4096		/* processes with V8 state */
#define V8_RANGES_MAX		65536		/* committed ranges per process */
#define V8_BINARIES_MAX		4096		/* ELF files looked at */
#define V8_CHUNK_ALIGN		(256u << 10)
#define V8_CHUNK_HEADER_MAX	(64u << 10)	/* area_start - chunk start, at most */
#define V8_SCAN_MAX		(1u << 20)	/* candidate chunk starts read per scan */
#define V8_MIN_CHUNKS_PER_HEAP	2

struct memclass;
struct rangeset;

enum v8_runtime {
	V8_RUNTIME_UNKNOWN,	/* no V8 found: anon growth is native */
	V8_RUNTIME_V8,		/* V8's OS layer is probed */
	V8_RUNTIME_NO_SYMBOLS,	/* V8 without the OS layer's symbols (stripped) */
	V8_RUNTIME_NO_PROBES,	/* V8 whose uprobes the kernel refused */
};

/* "v8", "unknown runtime", "v8 without symbols (unknown runtime)",
 * "v8 without uprobes (unknown runtime)". */
const char *v8__runtime_name(enum v8_runtime rt);

/* ---- pure parts, for tests ----------------------------------------------- */

struct v8_chunk_header {
	uint64_t size, flags, heap, area_start, area_end;
};

struct v8_chunk {
	uint64_t addr;
	uint64_t mapping_end;	/* end of the mapping it was found in */
	struct v8_chunk_header h;
	bool valid;		/* set by v8__select_chunks */
};

/* The header at addr is self-consistent and fits its mapping. */
bool v8__chunk_header_ok(uint64_t addr, uint64_t mapping_end, const struct v8_chunk_header *h);
/* Sets c[i].valid for the candidates (sorted by addr) that pass
 * v8__chunk_header_ok, share their heap pointer with enough others, and do
 * not start inside an accepted chunk. Returns how many are valid. */
size_t v8__select_chunks(struct v8_chunk *c, size_t n);
/* Applies one event to a process's committed ranges. 0, or the error of the
 * range set (-E2BIG when it is full). */
int v8__apply_event(struct rangeset *s, const struct v8_event *e);

/* ---- the tracker ------------------------------------------------------------ */

struct v8_stats {
	uint32_t binaries_probed;	/* files with uprobes attached */
	uint32_t binaries_failed;	/* V8 files whose uprobes did not attach */
	uint64_t events[V8_NR_OPS];
	uint64_t events_lost;		/* ring buffer full: ranges may be wrong */
	uint64_t ranges_full;		/* events dropped: a range set was full */
	uint64_t chunks_found;		/* by scans */
};

struct v8;

/* Loads the BPF object (nothing attached yet). NULL + errno. */
struct v8 *v8__open(void);
void v8__free(struct v8 *v);

/* Looks at pid's mapped files for V8, attaches to new V8 binaries, and
 * scans the process for chunks committed before. Calling it again rescans.
 * 0 with *rt set, -ESRCH when the process is gone. */
int v8__track(struct v8 *v, int pid, enum v8_runtime *rt);
/* Forget pid (it exited). */
void v8__forget(struct v8 *v, int pid);
/* Applies the queued events. Returns how many. */
int v8__poll(struct v8 *v);

/* Bytes V8 holds committed in pid (0 for processes without V8). */
uint64_t v8__committed(struct v8 *v, int pid);
/* Bytes resident in pid's V8 ranges, from its pagemap. 0 or -errno. */
int v8__resident(struct v8 *v, int pid, uint64_t *bytes);
/* Rescans every V8 process for chunks, then marks in m the pfns of the
 * pages resident in their ranges. Returns how many pages were marked. */
uint64_t v8__mark_pfns(struct v8 *v, struct memclass *m);

void v8__stats(const struct v8 *v, struct v8_stats *out);

#endif
