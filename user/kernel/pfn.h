/* Page frame numbers: how many there are, and how to turn the `struct page *`
 * a BTF tracepoint hands us into one. x86_64 randomizes the base of the
 * vmemmap array (CONFIG_RANDOMIZE_MEMORY) and, without CONFIG_KALLSYMS_ALL,
 * hides the variable that holds it, so we measure it: touch pages whose pfn
 * /proc/self/pagemap tells us, and solve ptr = base + pfn * sizeof(struct page). */
#ifndef MEMSCOPE_PFN_H
#define MEMSCOPE_PFN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Highest pfn + 1 of any zone, from /proc/zoneinfo-formatted text. */
int pfn__max_from_zoneinfo(const char *path, uint64_t *max_pfn);

/* pfn of the page backing vaddr in this process (needs CAP_SYS_ADMIN). */
int pfn__of_vaddr(uint64_t vaddr, uint64_t *pfn);

/* Given struct page pointers seen allocated (ptrs) and two pages with known
 * pfns, find the one base consistent with both. -ENOENT if none is. */
int pfn__solve_base(const uint64_t *ptrs, size_t n, uint64_t pfn_a, uint64_t pfn_b,
		    uint64_t page_struct_size, uint64_t *base);

/* Whether each of want[0..nw) is among have[0..nh), and there was at least
 * one: "every batched free was also seen as a plain free". */
bool pfn__all_seen(const uint64_t *want, size_t nw, const uint64_t *have, size_t nh);

#endif
