/* Finding the V8 heap a process committed before memscope's uprobes were
 * attached (v8.h: "How the ranges are known"): every anonymous readable
 * mapping is probed at V8_CHUNK_ALIGN steps, the headers at present pages are
 * read with process_vm_readv, and v8__select_chunks keeps the ones that are
 * V8 memory chunks. */
#ifndef MEMSCOPE_V8_SCAN_H
#define MEMSCOPE_V8_SCAN_H

#include <stddef.h>
#include <stdint.h>

#include "procmaps.h"
#include "v8.h"

/* Probes maps of pid (pagemap_fd: its /proc/PID/pagemap), at most *probes
 * candidate addresses (decremented; the rest counted as skipped), and up to
 * V8_SCAN_MAX candidates. *chunks (free it): every candidate read, .valid
 * set on the *found that are chunks; *n: how many. 0 or -ENOMEM. */
int v8_scan__chunks(int pid, int pagemap_fd, uint64_t page_size, const struct procmaps *maps,
		    uint64_t *probes, struct v8_chunk **chunks, size_t *n, size_t *found);

#endif
