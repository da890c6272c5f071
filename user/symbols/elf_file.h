/* One ELF file (executable, shared object or separate debug file) opened to
 * name the user frames of captured stacks, and to recover the one frame a
 * frame-pointer walk loses: the caller of a frameless leaf such as memset,
 * whose return address is still at the top of the stack.
 *
 * The file comes from untrusted places (a container's image), so everything
 * read from it is bounded and checked; a corrupt file gives errors, never a
 * crash. Nothing is read until it is needed: opening only checks the header.
 *
 * Memory: every section read (symbol and string tables, CFI, debug sections)
 * and what is built from it is charged to the file before it is read; a read
 * that would take the file past its limit (elf_file__set_limit, by default
 * BUDGET_ELF_FILE_BYTES) is refused, and what it would have given is missing (no
 * symbols, no CFI). elf_file__release gives it all back and keeps the file
 * open: the next use reads again, so an owner can evict under a global budget.
 *
 * elf_file.c opens the file and reads its build id and symbols;
 * elf_file_cfi.c reads its call frame information.
 */
#ifndef MEMSCOPE_ELF_FILE_H
#define MEMSCOPE_ELF_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "unwind.h"

#define ELF_FILE_SIZE_MAX	(4ULL << 30)	/* bigger files: EFBIG */
#define ELF_FILE_SYMS_MAX	(8u << 20)	/* function symbols kept per file */
#define ELF_FILE_NAME_MAX	4096		/* longer symbol names are skipped */
#define ELF_FILE_BUILD_ID_MAX	64		/* bytes; longer notes are ignored */
#define ELF_FILE_SECTIONS_MAX	65536		/* more section or program headers: EFBIG */
#define ELF_FILE_NOTE_MAX	(64u << 10)	/* bigger note sections are not read */
#define ELF_FILE_NOTES_MAX	16		/* note sections or segments read for the build id */

/* User registers and stack bytes captured at the leaf frame (x86_64). */
struct unwind_regs {
	uint64_t ip, sp, bp;
	uint64_t load_bias;		/* ip - ELF vaddr of ip */
	const uint8_t *stack;		/* bytes copied at sp */
	size_t stack_len;
};

struct elf_file;

/* Takes ownership of fd (closed on failure too). NULL + errno: EBADF for
 * fd < 0, EFBIG for files over ELF_FILE_SIZE_MAX, ENOEXEC when not ELF,
 * EINVAL when not a regular file, ENOMEM. */
struct elf_file *elf_file__open_fd(int fd);

/* Lowercase hex of the GNU build id note, or NULL when there is none. */
const char *elf_file__build_id(struct elf_file *ef);

/* ELF virtual address of file offset off, through the PT_LOAD segment that
 * holds it. 0, or -ENOENT when no segment does, -ENOEXEC for bad headers. */
int elf_file__offset_to_vaddr(struct elf_file *ef, uint64_t off, uint64_t *vaddr);

/*
 * Demangled name of the function symbol containing vaddr (from .symtab, else
 * .dynsym), with the offset into it in *sym_off (may be NULL). A sized
 * symbol covers [value, value + size); a zero-size one extends to the next
 * symbol or the end of its section. Of aliases at one address, the global
 * one with the fewest leading underscores wins. NULL when no symbol covers
 * vaddr. The name lives as long as ef.
 */
const char *elf_file__symbolize(struct elf_file *ef, uint64_t vaddr, uint64_t *sym_off);

/* True when the symbols come from a full .symtab (not only .dynsym): if not,
 * a separate debug file names more functions. */
bool elf_file__has_symtab(struct elf_file *ef);

/* vaddr of the function symbol named name (mangled spelling; an alias that
 * lost to a preferred name at its address is not found). 0 or -ENOENT. */
int elf_file__symbol_addr(struct elf_file *ef, const char *name, uint64_t *vaddr);

/*
 * Return address of the frame executing at vaddr (regs->ip in the file's
 * address space), from the file's CFI (.eh_frame, else .debug_frame):
 * CFA = rsp or rbp + offset, return address saved at CFA + N, read from the
 * stack snapshot. 0, or:
 *   -ENOENT   no CFI for vaddr, or the return address is undefined there
 *   -ENOTSUP  CFA not rsp/rbp based, a DWARF expression, or not x86_64
 *   -ERANGE   the saved return address is outside the stack snapshot
 */
int elf_file__return_address(struct elf_file *ef, uint64_t vaddr,
			     const struct unwind_regs *regs, uint64_t *ra);

/* The CFI rule at vaddr for the unwinder (unwind.h): 0, or -ENOENT,
 * -ENOTSUP as elf_file__return_address; a frame whose return address is
 * undefined gives a rule marked outermost. */
int elf_file__unwind_rule(struct elf_file *ef, uint64_t vaddr, struct unwind_rule *out);

/* Bytes the file holds now (an estimate: section data, tables, caches). */
uint64_t elf_file__bytes(const struct elf_file *ef);

/* Reads that would take the file past limit bytes are refused from now on. */
void elf_file__set_limit(struct elf_file *ef, uint64_t limit);

/* Reads refused so far (each also counted in budget_counts.elf_refused). */
uint64_t elf_file__refused(const struct elf_file *ef);

/* Drops everything read (names returned before are gone) but the build id;
 * the file stays open and is read again when used. */
void elf_file__release(struct elf_file *ef);

void elf_file__close(struct elf_file *ef);

#endif
