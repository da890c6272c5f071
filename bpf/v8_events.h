/* The contract between bpf/v8.bpf.c and user/runtime/v8.c: what V8's OS layer
 * (v8::base::OS in node and any binary that embeds V8) did to its address
 * space. Fixed-size types only: compiled by clang -target bpf and by gcc.
 *
 * Signatures, checked against node 20's disassembly (System V x86_64 ABI):
 *	void *OS::Allocate(void *hint, size_t size, size_t alignment, MemoryPermission)
 *	bool  OS::SetPermissions(void *addr, size_t size, MemoryPermission)
 *	bool  OS::RecommitPages(void *addr, size_t size, MemoryPermission)
 *	bool  OS::DecommitPages(void *addr, size_t size)	mmap(PROT_NONE, MAP_FIXED)
 *	bool  OS::DiscardSystemPages(void *addr, size_t size)	madvise(MADV_DONTNEED)
 *	void  OS::Free(void *addr, size_t size)			munmap
 *	void  OS::Release(void *addr, size_t size)		munmap of part of a region
 */
#ifndef MEMSCOPE_V8_EVENTS_H
#define MEMSCOPE_V8_EVENTS_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

/* v8::base::OS::MemoryPermission, as its mprotect table maps them. */
enum v8_perm {
	V8_PERM_NO_ACCESS = 0,
	V8_PERM_READ = 1,
	V8_PERM_READ_WRITE = 2,
	V8_PERM_READ_WRITE_EXECUTE = 3,
	V8_PERM_READ_EXECUTE = 4,
	V8_PERM_NO_ACCESS_JIT_LATER = 5,
};

#define v8_perm_accessible(p)	((p) >= V8_PERM_READ && (p) <= V8_PERM_READ_EXECUTE)

enum v8_op {
	V8_OP_ALLOCATE = 1,	/* only reported when allocated with access */
	V8_OP_SET_PERMISSIONS,
	V8_OP_RECOMMIT,
	V8_OP_DECOMMIT,
	V8_OP_DISCARD,
	V8_OP_FREE,
	V8_OP_RELEASE,
	V8_NR_OPS,
};

struct v8_event {
	__u64 addr;
	__u64 size;
	__u32 pid;		/* tgid, in the initial pid namespace */
	__u32 op;		/* enum v8_op */
	__u32 perm;		/* enum v8_perm, for ALLOCATE, SET_PERMISSIONS, RECOMMIT */
	__u32 pad;
};

/* OS::Allocate's arguments, kept from entry to return, per thread. */
struct v8_alloc_args {
	__u64 size;
	__u32 perm;
	__u32 pad;
};

#endif
