// SPDX-License-Identifier: GPL-2.0
/* The floor of any page tracer: programs on the page allocator's alloc and
 * free tracepoints that do nothing but count their runs. What they cost is
 * what entering a BPF program on every page costs, before any work, so the
 * bench reports memscope's overhead as points above it. Both attach types
 * memscope may use are here; the loader autoloads one pair. */
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

SEC("raw_tp/mm_page_alloc")
int raw_alloc(void *ctx) { return count(); }

SEC("raw_tp/mm_page_free")
int raw_free(void *ctx) { return count(); }

SEC("tp_btf/mm_page_alloc")
int btf_alloc(void *ctx) { return count(); }

SEC("tp_btf/mm_page_free")
int btf_free(void *ctx) { return count(); }
