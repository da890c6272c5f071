// SPDX-License-Identifier: GPL-2.0
/* The memcg state tracepoints: every change of a memory cgroup's charge by
 * kind (anon mapped, file pages, kernel memory...) summed per (cgroup, item)
 * and CPU, so user space reads a few counters a second instead of every
 * cgroup's memory.stat. Item numbers change between kernel versions: user
 * space resolves them from BTF and marks the wanted ones in `wanted`. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "memcg.h"

char LICENSE[] SEC("license") = "GPL";

/* Changes not counted because the sums map was full. */
__u64 dropped;

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u8);
	__uint(max_entries, MEMCG_ITEMS_MAX);
} wanted SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__type(key, struct memcg_key);
	__type(value, __s64);
	__uint(max_entries, MEMCG_KEYS_MAX);
} sums SEC(".maps");

static __always_inline void add(struct mem_cgroup *memcg, int item, int val)
{
	struct memcg_key key = {};
	__u32 idx = item;
	__u8 *want;
	__s64 *sum, v = val;

	if (idx >= MEMCG_ITEMS_MAX || !val)
		return;
	want = bpf_map_lookup_elem(&wanted, &idx);
	if (!want || !*want)
		return;
	key.cgid = BPF_CORE_READ(memcg, css.cgroup, kn, id);
	key.item = idx;
	sum = bpf_map_lookup_elem(&sums, &key);
	if (sum) {
		/* Per CPU, but an interrupt can update the same counter. */
		__sync_fetch_and_add(sum, v);
		return;
	}
	if (bpf_map_update_elem(&sums, &key, &v, BPF_NOEXIST)) {
		/* Lost a race with an interrupt on this CPU: add to its entry. */
		sum = bpf_map_lookup_elem(&sums, &key);
		if (sum)
			__sync_fetch_and_add(sum, v);
		else
			__sync_fetch_and_add(&dropped, 1);
	}
}

SEC("raw_tp/mod_memcg_state")
int BPF_PROG(memcg_state, struct mem_cgroup *memcg, int item, int val)
{
	add(memcg, item, val);
	return 0;
}

SEC("raw_tp/mod_memcg_lruvec_state")
int BPF_PROG(memcg_lruvec_state, struct mem_cgroup *memcg, int item, int val)
{
	add(memcg, item, val);
	return 0;
}
