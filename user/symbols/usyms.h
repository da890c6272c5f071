/* User-space symbolizer across processes: turns a (pid, instruction address)
 * into a (module, ELF address) pair early, while the process still exists,
 * and into a function name later, after it may have exited.
 *
 * Files are opened through the process (/proc/PID/map_files/START-END, else
 * PID's root with openat2 RESOLVE_IN_ROOT), never by a host path, so a
 * container cannot point the root-run tool at a host file, and deleted or
 * replaced files still give the code that was really mapped. A module is one
 * file, identified by the device and inode of the mapping and its build id:
 * the same library in many processes is opened and parsed once. Modules stay
 * until usyms__free (frames captured earlier refer to them); at most
 * USYMS_MODULES_MAX, later files are unknown. Each module keeps an fd open;
 * what is parsed from the files (symbols, CFI) is held under one global
 * budget, BUDGET_ELF_BYTES (budget.h): past it, the least recently used
 * modules release theirs and read it again when next used.
 *
 * Stripped files are named through a separate debug file found by build id
 * under USYMS_DEBUG_DIR (Debian's *-dbg / *-dbgsym packages).
 *
 * Code in anonymous executable memory is JIT code. It is named when the frame
 * is resolved (the code space is reused, and the process may be gone when the
 * frame is named) from the perf map the runtime writes (perfmap.h: node
 * --perf-basic-prof), loaded on demand and re-read as it grows; the name is
 * interned (the folded output marks it "name_[j]"). Processes whose map is one file
 * (hard links, a shared /tmp) share one parsed map; all maps together are
 * held under BUDGET_PERFMAP_BYTES, the least recently used dropped first. Without a map entry it prints
 * "[v8 jit]" in a process that has V8 (one of its files defines V8's public
 * v8::V8::InitializePlatform), else "[jit]".
 */
#ifndef MEMSCOPE_USYMS_H
#define MEMSCOPE_USYMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "elf_file.h"

#define USYMS_MODULES_MAX	4096
#define USYMS_DEBUG_DIR		"/usr/lib/debug/.build-id"
/* After a miss, a pid's maps are re-read, the first time at once, then
 * after a gap that doubles from USYMS_REREAD_MIN_NS up to USYMS_REREAD_NS:
 * a process just exec'd maps its libraries a few milliseconds after its
 * first sample (ld.so), and a 1 s wait then left its leak's libc frames
 * unresolved; a process whose misses never resolve (code in memory no maps
 * line covers) costs one read a second. */
#define USYMS_REREAD_MIN_NS	8000000ULL
#define USYMS_REREAD_NS		1000000000ULL
/* JIT names kept (count, bytes); later names print as "[v8 jit]" / "[jit]". */
#define USYMS_JIT_NAMES_MAX	(1u << 20)
#define USYMS_JIT_BYTES_MAX	(64u << 20)
/* uframe.module of JIT code; its vaddr is then a name id, not an address. */
#define USYMS_JIT_MODULE	UINT32_MAX

struct usyms;

/* A user frame, resolved while its process lived. */
struct uframe {
	uint32_t module;	/* 0 = unknown (vaddr is then the ip), or USYMS_JIT_MODULE */
	uint64_t vaddr;		/* address in the module's ELF address space */
};

/* NULL + errno ENOMEM. */
struct usyms *usyms__new(void);

/* Snapshot pid's mappings and open their executable files now: the process
 * may exit before its frames are named. Calling it again refreshes the
 * snapshot. 0, -ESRCH when the process is gone, -ENOMEM. */
int usyms__add_pid(struct usyms *u, int pid);

/* Drop pid's snapshot (on exit or exec); its modules stay. */
void usyms__forget_pid(struct usyms *u, int pid);

/*
 * Map ip of pid to (module, ELF vaddr). Snapshots pid first if needed. When
 * ip is in no executable mapping of the snapshot, the maps are read again
 * (new mmap or dlopen; rate-limited, see USYMS_REREAD_MIN_NS) and the lookup
 * retried. An ip in anonymous executable memory gives a JIT frame
 * (USYMS_JIT_MODULE), named now through pid's perf map; a return address
 * just past the end of a JIT function is looked up at ip - 1.
 * Errors: -ENOENT (ip in no executable mapping; *out is module 0), -ESRCH.
 */
int usyms__resolve(struct usyms *u, int pid, uint64_t ip, struct uframe *out);

/* The CFI rule (unwind.h) of the code at addr in pid (an address in the
 * process), from the file mapped there. -ENOENT for JIT code and files not
 * read; other errors as usyms__resolve and elf_file__unwind_rule. */
int usyms__unwind_rule(struct usyms *u, int pid, uint64_t addr, struct unwind_rule *rule);

/*
 * Name of frame f into buf: the function ("leak_fn", demangled C++), else
 * "[libfoo.so]" when the module has no symbol there, else "[unknown]"; JIT
 * code as "JS:*handler /app/server.js:42" (cut to leave room for the "_[j]"
 * the folded writer adds), "[v8 jit]" or "[jit]". is_return_addr: f is a return address,
 * which points after the call, so the caller is looked up at vaddr - 1.
 * 0, -ENOSPC when cut to fit (buf is still terminated), -EINVAL when len is 0.
 */
int usyms__frame_name(struct usyms *u, struct uframe f, bool is_return_addr, char *buf,
		      size_t len);
/* Is f JIT code named by its runtime (not a placeholder such as "[jit]")? */
bool usyms__jit_named(const struct usyms *u, struct uframe f);

/* Path of the module as its first process mapped it (" (deleted)" appended
 * when it was), or NULL for module 0 or an unknown id. */
const char *usyms__module_path(struct usyms *u, uint32_t module);

/* Lowercase hex GNU build id of the module's file, or NULL when it has none
 * (or could not be parsed), for module 0 and for an unknown id. */
const char *usyms__module_build_id(struct usyms *u, uint32_t module);

/* The ELF and perf-map budgets of u (BUDGET_ELF_BYTES, BUDGET_PERFMAP_BYTES
 * by default), for tests that make every use evict. */
void usyms__set_budgets(struct usyms *u, uint64_t elf_bytes, uint64_t perfmap_bytes);

void usyms__free(struct usyms *u);

#endif
