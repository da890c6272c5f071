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

/* Set by user space before load: a plain load per event, no map lookup,
 * for the many changes (LRU sizes, workingset...) that are not wanted. */
const volatile __u8 wanted[MEMCG_ITEMS_MAX] = {};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__type(key, struct memcg_key);
	__type(value, __s64);
	__uint(max_entries, MEMCG_KEYS_MAX);
} sums SEC(".maps");

static __always_inline void add(__u64 cgid, int item, int val)
{
	struct memcg_key key = {};
	__u32 idx = item;
	__s64 *sum, v = val;

	key.cgid = cgid;
	key.item = idx;
	/* A plain add: the counter is this CPU's, and the kernel does not run a
	 * program again inside itself on one CPU (it counts a recursion miss,
	 * which user space reads as a lost change). */
	sum = bpf_map_lookup_elem(&sums, &key);
	if (sum) {
		*sum += v;
		return;
	}
	if (bpf_map_update_elem(&sums, &key, &v, BPF_NOEXIST))
		__sync_fetch_and_add(&dropped, 1);
}

static __always_inline bool want(int item, int val)
{
	__u32 idx = item;

	/* Keeps clang from testing idx after the load the verifier must see bounded. */
	barrier_var(idx);
	return idx < MEMCG_ITEMS_MAX && val && wanted[idx];
}

/* BTF-typed: the cgroup id is three plain loads (a third cheaper per event
 * than the probe reads of the raw variant, which is the fallback). */
SEC("tp_btf/mod_memcg_state")
int BPF_PROG(memcg_state_btf, struct mem_cgroup *memcg, int item, int val)
{
	if (want(item, val))
		add(memcg->css.cgroup->kn->id, item, val);
	return 0;
}

SEC("tp_btf/mod_memcg_lruvec_state")
int BPF_PROG(memcg_lruvec_state_btf, struct mem_cgroup *memcg, int item, int val)
{
	if (want(item, val))
		add(memcg->css.cgroup->kn->id, item, val);
	return 0;
}

SEC("raw_tp/mod_memcg_state")
int BPF_PROG(memcg_state, struct mem_cgroup *memcg, int item, int val)
{
	if (want(item, val))
		add(BPF_CORE_READ(memcg, css.cgroup, kn, id), item, val);
	return 0;
}

SEC("raw_tp/mod_memcg_lruvec_state")
int BPF_PROG(memcg_lruvec_state, struct mem_cgroup *memcg, int item, int val)
{
	if (want(item, val))
		add(BPF_CORE_READ(memcg, css.cgroup, kn, id), item, val);
	return 0;
}
