/* A file that looks like V8 to memscope (user/runtime/v8.c): it exports the V8 OS
 * layer functions memscope places uprobes on, each with ordinary code.
 * Built a second time with -DDECOY under names of the same length that are
 * not V8's ("x9" for "v8"): the decoy has the same layout and the same code
 * at the same offsets, so a uprobe placed by the V8 file's offsets in the
 * decoy would be accepted by the kernel and show. */
#ifdef DECOY
#define NS "x9"
#else
#define NS "v8"
#endif

#define PROBED(id, rest, k)							\
	__attribute__((noinline, used, visibility("default")))			\
	int id(int x) __asm__("_ZN2" NS "4base2OS" rest);			\
	int id(int x) { return x * 3 + (k); }

PROBED(os_allocate, "8AllocateEPvmmNS1_16MemoryPermissionE", 1)
PROBED(os_set_permissions, "14SetPermissionsEPvmNS1_16MemoryPermissionE", 2)
PROBED(os_recommit, "13RecommitPagesEPvmNS1_16MemoryPermissionE", 3)
PROBED(os_decommit, "13DecommitPagesEPvm", 4)
PROBED(os_discard, "18DiscardSystemPagesEPvm", 5)
PROBED(os_free, "4FreeEPvm", 6)
PROBED(os_release, "7ReleaseEPvm", 7)
