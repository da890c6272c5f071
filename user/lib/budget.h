/* Global budgets for what containers control (ELF files, perf maps, V8
 * ranges): memory held for them is charged to one budget per kind, and when
 * a budget is over, the least recently used holders give theirs back (they
 * can read it again later: eviction costs time, never a result). What could
 * not be kept at all is refused. Both are counted, for --report and /metrics.
 *
 * A holder embeds a struct budget_node; the budget keeps its nodes in use
 * order and never evicts the node being charged, so a caller that resolves
 * one holder and then uses it in the same call is safe.
 */
#ifndef MEMSCOPE_BUDGET_H
#define MEMSCOPE_BUDGET_H

#include <stdbool.h>
#include <stdint.h>

/* Bytes parsed out of container ELF files (section data read, symbol
 * tables, CFI), all modules together, and for one file: the file in use may
 * take its share before the others are released, so the peak is the sum
 * (node's binary, 99 MB, needs 16 MiB of symbol tables and CFI). */
#define BUDGET_ELF_BYTES	(256ULL << 20)
#define BUDGET_ELF_FILE_BYTES	(128ULL << 20)
/* Bytes of parsed perf maps, all maps together. */
#define BUDGET_PERFMAP_BYTES	(256ULL << 20)
/* V8 tracking's work per tick (one second), all processes together: pagemap
 * entries read for the resident scan of committed ranges (16 Mi pages: 64
 * GiB of address space), and chunk-scan probes (one per 256 KiB of readable
 * anonymous memory: 256 Ki probes = 64 GiB); one process gets at most a
 * quarter of each per call, so one cannot take a tick alone. */
#define BUDGET_V8_PAGES_PER_TICK	(16ULL << 20)
#define BUDGET_V8_PROBES_PER_TICK	(256ULL << 10)
#define BUDGET_V8_TICK_NS		1000000000ULL
/* Committed ranges kept, all processes together (16 bytes each). */
#define BUDGET_V8_RANGES		(1ULL << 20)
/* Processes that sent V8 events before they were looked at: the oldest is
 * dropped for a new one. */
#define BUDGET_V8_PENDING_PROCS		256

struct budget_node {
	struct budget_node *prev, *next;	/* NULL when not charged */
	uint64_t bytes;
};

struct budget {
	struct budget_node head;	/* head.next: most recently used */
	uint64_t used, limit;
	uint64_t *evicted;		/* counter bumped per eviction */
};

void budget__init(struct budget *b, uint64_t limit, uint64_t *evicted);

/* n now holds bytes and is the most recently used. */
void budget__charge(struct budget *b, struct budget_node *n, uint64_t bytes);
/* n holds nothing any more (freed or evicted by its owner). */
void budget__discharge(struct budget *b, struct budget_node *n);
static inline bool budget__charged(const struct budget_node *n) { return n->next != NULL; }

/* While b is over its limit, evict(n, ctx) the least recently used node
 * other than keep, discharged first; evict must release what n held (and
 * may free n). Returns how many were evicted. */
unsigned budget__enforce(struct budget *b, const struct budget_node *keep,
			 void (*evict)(struct budget_node *n, void *ctx), void *ctx);

/* Work allowed per tick (BUDGET_V8_TICK_NS): per_tick units, a quarter of
 * them at most to one call, so that one caller cannot take a tick alone. */
struct budget_work {
	uint64_t per_tick;
	uint64_t left;
	uint64_t tick_ns;	/* start of the current tick, 0 before the first */
};

/* What one call may do now (now_ns: CLOCK_MONOTONIC); it reports what it
 * did with budget_work__spend. */
uint64_t budget_work__grant(struct budget_work *w, uint64_t now_ns);
void budget_work__spend(struct budget_work *w, uint64_t used);

/* What budgets evicted or refused since the start, process-wide. */
struct budget_counts {
	uint64_t elf_evicted;		/* modules whose parsed data was dropped */
	uint64_t elf_refused;		/* reads refused: over a file's or the global budget */
	uint64_t perfmap_evicted;	/* perf maps dropped (read again when needed) */
	uint64_t perfmap_refused;	/* perf maps not loaded (over the budget alone) */
	uint64_t perfmap_shared;	/* processes given a map another process loaded */
	uint64_t v8_pages_skipped;	/* pagemap entries left unread (tick budget) */
	uint64_t v8_probes_skipped;	/* chunk probes left undone (tick budget) */
	uint64_t v8_ranges_refused;	/* range additions over BUDGET_V8_RANGES */
	uint64_t v8_procs_evicted;	/* pending processes dropped for newer ones */
};

extern struct budget_counts budget_counts;

#endif
