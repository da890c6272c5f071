/* Shared by bpf/memcg.bpf.c and user/kernel/memcg_events.c: the per-CPU sums of the
 * memcg state changes, keyed by (memory cgroup id, kernel stat item). */
#ifndef MEMSCOPE_MEMCG_BPF_H
#define MEMSCOPE_MEMCG_BPF_H

/* Items are node_stat_item / memcg_stat_item numbers: a few dozen today. */
#define MEMCG_ITEMS_MAX		256
#define MEMCG_KEYS_MAX		16384

struct memcg_key {
	__u64 cgid;
	__u32 item;
	__u32 pad;
};

#endif
