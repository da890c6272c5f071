/* Inside elf_file (elf_file.h), shared by its two files: elf_file.c (the
 * file, its budget, build id and symbols) and elf_file_cfi.c (call frame
 * information: return addresses and unwind rules). No other module includes
 * this. */
#ifndef MEMSCOPE_ELF_FILE_INT_H
#define MEMSCOPE_ELF_FILE_INT_H

#include <elfutils/libdw.h>
#include <gelf.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "elf_file.h"

/* x86_64 DWARF register numbers. */
#define DWARF_REG_RBP	6
#define DWARF_REG_RSP	7

enum sym_source { SYMS_UNLOADED, SYMS_NONE, SYMS_SYMTAB, SYMS_DYNSYM };

struct elf_sym {
	uint64_t start;
	uint64_t end;		/* exclusive; 0 while loading = not known yet */
	const char *name;	/* points into libelf's copy of the string table */
	uint8_t bind_rank;	/* global 0, weak 1, other 2 */
	bool sized;
};

struct elf_file {
	int fd;
	Elf *elf;
	uint64_t file_size;
	bool x86_64;
	bool swap;		/* the file's byte order is not ours */

	uint64_t bytes;		/* charged: see elf_file.h */
	uint64_t limit;
	uint64_t refused;
	uint64_t header_bytes;	/* of bytes: libelf's section and program headers */
	uint64_t shstrtab_bytes;	/* 0 until the section names were charged */

	enum sym_source sym_source;
	struct elf_sym *syms;
	size_t nsyms;
	char **demangled;	/* per symbol, lazily: NULL = not tried yet */

	bool build_id_done;
	char build_id[2 * ELF_FILE_BUILD_ID_MAX + 1];	/* "" when none */

	bool eh_cfi_done;
	Elf *cfi_elf;		/* second handle on fd, only for eh_cfi: see eh_frame_cfi */
	Dwarf_CFI *eh_cfi;	/* owned: dwarf_cfi_end */
	bool dwarf_done;
	Dwarf *dwarf;		/* for .debug_frame only */
	Dwarf_CFI *debug_cfi;	/* owned by dwarf */
	struct cfi_rule *rules;	/* ELF_FILE_RULE_CACHE, lazily */
};

/* How to find the return address at one code address, as libdw's CFI said:
 * CFA = reg + cfa_off, return address saved at CFA + ra_off, the caller's
 * rbp as bp says. Samples hit the same few addresses over and over, and
 * asking libdw costs a search and an allocation each time. */
struct cfi_rule {
	uint64_t vaddr;
	int err;		/* < 0: no usable rule there */
	int cfa_reg;		/* DWARF_REG_RSP or DWARF_REG_RBP */
	int64_t cfa_off;
	uint64_t ra_off;	/* wraps for slots below the CFA */
	uint64_t bp_off;	/* when bp is UNWIND_BP_SAVED */
	enum unwind_bp bp;
	bool outermost;		/* return address undefined: no caller */
	bool set;
};

#define ELF_FILE_RULE_BITS	8
#define ELF_FILE_RULE_CACHE	(1u << ELF_FILE_RULE_BITS)

/* Opens the file with libelf (headers charged first), unless it is open:
 * after elf_file__release it is read again. 0, -EFBIG, -ENOEXEC or -errno. */
int elf_file__begin(struct elf_file *ef);
/* Bytes more for ef, or false (counted) when that would pass its limit. */
bool elf_file__charge(struct elf_file *ef, uint64_t bytes);
/* Does the section's data lie inside the file? */
bool elf_file__scn_in_file(const struct elf_file *ef, const GElf_Shdr *sh);

#endif
