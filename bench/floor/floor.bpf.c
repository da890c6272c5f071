// SPDX-License-Identifier: GPL-2.0
/* The floor of any page tracer: programs on the page allocator's alloc and
 * free tracepoints that do nothing but count their runs. What they cost is
 * what entering a BPF program on every page costs, before any work, so the
 * bench reports memscope's overhead as points above it. Both attach types
 * memscope may use are here; the loader autoloads one pair.
 *
 * The pfn pair (raw_tp) adds what a tracer of outstanding pages cannot do
 * without: a 4-byte record per page frame, written on the allocation and
 * read and cleared on the free, in the layout memscope uses (16 records to
 * a value). Its cost above the counting pair is the per-page record's. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} runs SEC(".maps");

/* A counter rather than nothing at all, so the loader can show the programs
 * really ran (an empty program that never fired would flatter the floor). */
static __always_inline int count(void)
{
	__u32 zero = 0;
	__u64 *n = bpf_map_lookup_elem(&runs, &zero);

	if (n)
		(*n)++;
	return 0;
}

struct group {
	__u32 r[16];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct group);
	__uint(max_entries, 1);		/* resized to (pfn_mask + 1) / 16 by the loader */
} recs SEC(".maps");

/* Page frames the records span, a power of two. vmemmap (the array of
 * 64-byte struct page) starts on a 1 GiB boundary at least, so the struct
 * page's address over 64, masked, is its pfn (up to 2^24 of them; past
 * that, a fixed rotation of it): one record a page frame either way,
 * without the base memscope calibrates. */
const volatile __u64 pfn_mask = 0;

static __always_inline __u32 *rec_of(__u64 page)
{
	__u64 pfn = (page >> 6) & pfn_mask;
	__u32 key = pfn / 16;
	struct group *g = bpf_map_lookup_elem(&recs, &key);

	return g ? &g->r[pfn % 16] : NULL;
}

SEC("raw_tp/mm_page_alloc")
int pfn_alloc(__u64 *ctx)
{
	__u32 *r = rec_of(ctx[0]);

	if (r)
		*r = 2u | ((__u32)ctx[1] << 25);	/* a slot and the order */
	return count();
}

SEC("raw_tp/mm_page_free")
int pfn_free(__u64 *ctx)
{
	__u32 *r = rec_of(ctx[0]);

	if (r && *r)
		*r = 0;
	return count();
}

SEC("raw_tp/mm_page_alloc")
int raw_alloc(void *ctx) { return count(); }

SEC("raw_tp/mm_page_free")
int raw_free(void *ctx) { return count(); }

SEC("tp_btf/mm_page_alloc")
int btf_alloc(void *ctx) { return count(); }

SEC("tp_btf/mm_page_free")
int btf_free(void *ctx) { return count(); }
