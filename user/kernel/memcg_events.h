/* The memcg state tracepoints (memcg:mod_memcg_state, memcg:mod_memcg_lruvec_state)
 * as a source of per-cgroup charge by kind, so the timeline is exact to the
 * page and needs no read of every cgroup's memory.stat each second.
 *
 * BPF (bpf/memcg.bpf.c) sums every state change per (cgroup id, item) since
 * attach. Items are kernel enum values that move between versions, looked up
 * here by name in the kernel's BTF:
 *	enum node_stat_item { ... NR_ANON_MAPPED = 17, NR_FILE_PAGES = 19, NR_SHMEM = 22 }
 *	enum memcg_stat_item { MEMCG_SWAP = 51, MEMCG_SOCK = 52, ... MEMCG_KMEM = 55 ... }
 * and the sums become bytes by timeline kind. The caller turns them into
 * absolute figures with a memory.stat baseline (memcg_events__apply).
 *
 *	struct memcg_events *me = memcg_events__open(&hier, why, sizeof(why));
 *	memcg_events__read(me);				once a second
 *	memcg_events__sum(me, "/docker/3f4e..", delta);	bytes since attach, by kind
 */
#ifndef MEMSCOPE_MEMCG_EVENTS_H
#define MEMSCOPE_MEMCG_EVENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cgroups.h"
#include "cgstat.h"
#include "memcg_kinds.h"

/* What one kernel stat item means for the timeline. */
struct memcg_item {
	const char *name;		/* enumerator, e.g. "NR_ANON_MAPPED" */
	enum timeline_kind kind;	/* what its changes add to */
	enum timeline_kind minus;	/* what they are taken out of; TIMELINE_KINDS: none */
	int64_t unit;			/* bytes per count; 0: a page */
	bool kmem_part;			/* part of MEMCG_KMEM: only used on kernels without it */
};

/* ---- pure functions -------------------------------------------------------- */

/* The table entry of an enumerator name, NULL for items the timeline ignores. */
const struct memcg_item *memcg_events__item(const char *name);

/* val counts of item as bytes added to each kind (out[] is added to). */
void memcg_events__add_bytes(const struct memcg_item *it, int64_t val, long page_size,
			     int64_t out[TIMELINE_KINDS]);

/* Absolute figures: base (read from memory.stat when the per-kind totals were
 * base_delta) moved by what the totals have done since. Kinds never go below
 * zero; usage moves by the sum of the kinds. out->have = base->have. */
void memcg_events__apply(const struct cgstat *base, const int64_t base_delta[TIMELINE_KINDS],
			 const int64_t now_delta[TIMELINE_KINDS], struct cgstat *out);

/* ---- the BPF side ---------------------------------------------------------- */

struct memcg_events;

/* Probes (MEMSCOPE_DISABLE=memcg_tp, the tracepoints, raw_tp, the enums in
 * BTF), loads and attaches. NULL + errno (EOPNOTSUPP: something is missing;
 * why, when not NULL, then says what), and never prints. */
struct memcg_events *memcg_events__open(const struct cg_hier *h, char *why, size_t why_len);

/* Snapshots the sums. 0 or -errno. */
int memcg_events__read(struct memcg_events *me);

/* Bytes by kind charged (or uncharged: negative) to the cgroup at path and
 * every cgroup below it since attach, as of the last read. 0 or -EINVAL. */
int memcg_events__sum(struct memcg_events *me, const char *path, int64_t out[TIMELINE_KINDS]);

/* Changes lost since attach: the sums map was full, or the kernel skipped a
 * run nested in another on one CPU. */
uint64_t memcg_events__dropped(const struct memcg_events *me);
/* Memory cgroups that have had changes since attach, as of the last read:
 * a new one is a cgroup (a container) born since. */
size_t memcg_events__cgroups(const struct memcg_events *me);

void memcg_events__free(struct memcg_events *me);

#endif
