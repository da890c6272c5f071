// SPDX-License-Identifier: GPL-2.0
/* uprobes on V8's OS layer: every commit, decommit, discard and unmap that a
 * V8 heap makes goes through these few functions, so user space can keep
 * each process's committed V8 ranges without reading V8's own structures.
 * The programs are attached by user space, once per binary that has the
 * symbols (the inode is what a uprobe hooks: every process mapping it). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "v8_events.h"

char LICENSE[] SEC("license") = "GPL";

__u64 lost_events;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 20);
} v8_events SEC(".maps");

/* Threads inside OS::Allocate, keyed by pid_tgid. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u64);
	__type(value, struct v8_alloc_args);
	__uint(max_entries, 4096);
} allocating SEC(".maps");

static __always_inline void emit(__u32 op, __u64 addr, __u64 size, __u32 perm)
{
	struct v8_event *e;

	if (!size)
		return;
	e = bpf_ringbuf_reserve(&v8_events, sizeof(*e), 0);
	if (!e) {
		__sync_fetch_and_add(&lost_events, 1);
		return;
	}
	e->addr = addr;
	e->size = size;
	e->pid = bpf_get_current_pid_tgid() >> 32;
	e->op = op;
	e->perm = perm;
	e->pad = 0;
	bpf_ringbuf_submit(e, 0);
}

/* Reservations (no access) are address space, not memory: only an
 * allocation made with access commits anything. */
SEC("uprobe")
int BPF_KPROBE(v8_allocate, void *hint, __u64 size, __u64 alignment, __u32 perm)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct v8_alloc_args a = { .size = size, .perm = perm };

	if (!v8_perm_accessible(perm))
		return 0;
	bpf_map_update_elem(&allocating, &id, &a, BPF_ANY);
	return 0;
}

SEC("uretprobe")
int BPF_KRETPROBE(v8_allocate_ret, void *ret)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct v8_alloc_args *a = bpf_map_lookup_elem(&allocating, &id);

	if (!a)
		return 0;
	if (ret)
		emit(V8_OP_ALLOCATE, (__u64)ret, a->size, a->perm);
	bpf_map_delete_elem(&allocating, &id);
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(v8_set_permissions, void *addr, __u64 size, __u32 perm)
{
	emit(V8_OP_SET_PERMISSIONS, (__u64)addr, size, perm);
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(v8_recommit, void *addr, __u64 size, __u32 perm)
{
	emit(V8_OP_RECOMMIT, (__u64)addr, size, perm);
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(v8_decommit, void *addr, __u64 size)
{
	emit(V8_OP_DECOMMIT, (__u64)addr, size, 0);
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(v8_discard, void *addr, __u64 size)
{
	emit(V8_OP_DISCARD, (__u64)addr, size, 0);
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(v8_free, void *addr, __u64 size)
{
	emit(V8_OP_FREE, (__u64)addr, size, 0);
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(v8_release, void *addr, __u64 size)
{
	emit(V8_OP_RELEASE, (__u64)addr, size, 0);
	return 0;
}
