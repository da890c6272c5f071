/* C++ (and legacy Rust) symbol demangling for stack frames, through the
 * demangler libstdc++ already ships, so the names match what c++filt and gdb
 * print:
 *	_ZN2v84base2OS8AllocateEPvmmNS1_16MemoryPermissionE
 *	-> v8::base::OS::Allocate(void*, unsigned long, unsigned long,
 *				  v8::base::OS::MemoryPermission)
 */
#ifndef MEMSCOPE_DEMANGLE_H
#define MEMSCOPE_DEMANGLE_H

#define DEMANGLE_IN_MAX		4096	/* longer mangled names are not demangled */
#define DEMANGLE_OUT_MAX	1024	/* longer results are cut and end in "..." */

/* malloc'd demangled name, or NULL when sym is NULL, not a mangled name
 * ("main"), invalid ("_Zgarbage") or too long; errno is then left alone
 * except ENOMEM. Parameter lists are kept. */
char *demangle(const char *sym);

#endif
