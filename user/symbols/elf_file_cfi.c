/* The return address of a frame, from the file's call frame information:
 * .eh_frame, else .debug_frame through libdw, with the rules found cached
 * per address (elf_file.h: elf_file__return_address, elf_file__unwind_rule). */
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <errno.h>
#include <gelf.h>
#include <stdlib.h>
#include <string.h>

#include "elf_file.h"
#include "elf_file_int.h"
#include "log.h"

/* libdw reads every debug section when it opens the DWARF; only do that for
 * .debug_frame when the whole set is reasonably small. */
#define DEBUG_SECTIONS_BUDGET	(256ULL << 20)

/* Section names are read whole by libelf on the first elf_strptr: charge
 * them once, or refuse. */
static bool section_names_readable(struct elf_file *ef, size_t *shstrndx)
{
	GElf_Shdr sh;

	if (elf_getshdrstrndx(ef->elf, shstrndx) != 0)
		return false;
	if (ef->shstrtab_bytes)
		return true;
	if (!gelf_getshdr(elf_getscn(ef->elf, *shstrndx), &sh) || !elf_file__scn_in_file(ef, &sh) ||
	    !elf_file__charge(ef, sh.sh_size + 1))
		return false;
	ef->shstrtab_bytes = sh.sh_size + 1;
	return true;
}

/* Whether opening the DWARF just for .debug_frame is worth it and bounded:
 * the section exists, and the debug sections libdw would load (and inflate)
 * are neither compressed nor huge. */
static bool debug_frame_affordable(struct elf_file *ef)
{
	uint64_t total = 0;
	bool has_frame = false;
	Elf_Scn *scn = NULL;
	size_t shstrndx;
	GElf_Shdr sh;

	if (!section_names_readable(ef, &shstrndx))
		return false;
	while ((scn = elf_nextscn(ef->elf, scn)) != NULL) {
		const char *name;

		if (!gelf_getshdr(scn, &sh))
			return false;
		name = elf_strptr(ef->elf, shstrndx, sh.sh_name);
		if (!name)
			continue;
		if (strncmp(name, ".zdebug", 7) == 0)
			return false;
		if (strncmp(name, ".debug_", 7) != 0 || sh.sh_type == SHT_NOBITS)
			continue;
		if ((sh.sh_flags & SHF_COMPRESSED) || !elf_file__scn_in_file(ef, &sh))
			return false;
		total += sh.sh_size;
		has_frame |= strcmp(name, ".debug_frame") == 0;
	}
	return has_frame && total <= DEBUG_SECTIONS_BUDGET && elf_file__charge(ef, total);
}

static Dwarf_CFI *debug_frame_cfi(struct elf_file *ef)
{
	if (!ef->dwarf_done) {
		ef->dwarf_done = true;
		if (debug_frame_affordable(ef)) {
			ef->dwarf = dwarf_begin_elf(ef->elf, DWARF_C_READ, NULL);
			if (ef->dwarf)
				ef->debug_cfi = dwarf_getcfi(ef->dwarf);
		}
	}
	return ef->debug_cfi;
}

/*
 * .eh_frame through a handle of its own. When libdw finds no section named
 * .eh_frame (no or corrupt section headers) it takes PT_GNU_EH_FRAME and reads
 * the whole file into the handle (elf_rawfile); libelf 0.188 then no longer
 * frees the section data already read through that handle, which on ef->elf
 * would be the symbol tables: a leak a crafted file repeats at every open.
 */
static bool has_named_eh_frame(struct elf_file *ef, uint64_t *bytes)
{
	Elf_Scn *scn = NULL;
	size_t shstrndx;
	GElf_Shdr sh;
	bool found = false;

	*bytes = 0;
	if (!section_names_readable(ef, &shstrndx))
		return false;
	/* What the second handle reads: its headers and names, the sections. */
	*bytes = ef->header_bytes + ef->shstrtab_bytes;
	while ((scn = elf_nextscn(ef->elf, scn)) != NULL) {
		const char *name;

		if (gelf_getshdr(scn, &sh) && (name = elf_strptr(ef->elf, shstrndx, sh.sh_name)) &&
		    (!strcmp(name, ".eh_frame") || !strcmp(name, ".eh_frame_hdr"))) {
			found |= !strcmp(name, ".eh_frame");
			*bytes += sh.sh_size;
		}
	}
	return found;
}

/* The whole-file fallback would let a crafted file with broken section
 * headers make us read up to ELF_FILE_SIZE_MAX into memory. */
#define EH_FALLBACK_MAX (64ULL << 20)

static Dwarf_CFI *eh_frame_cfi(struct elf_file *ef)
{
	uint64_t bytes;

	if (!ef->eh_cfi_done) {
		ef->eh_cfi_done = true;
		if (!has_named_eh_frame(ef, &bytes)) {
			if (ef->file_size > EH_FALLBACK_MAX)
				return NULL;
			bytes = ef->header_bytes + ef->file_size;
		}
		if (!elf_file__charge(ef, bytes))
			return NULL;
		ef->cfi_elf = elf_begin(ef->fd, ELF_C_READ, NULL);
		if (ef->cfi_elf)
			ef->eh_cfi = dwarf_getcfi_elf(ef->cfi_elf);
	}
	return ef->eh_cfi;
}

/* The CFI row for vaddr: .eh_frame first (always loaded by the process, so
 * present in stripped files), else .debug_frame. */
static int frame_at(struct elf_file *ef, uint64_t vaddr, Dwarf_Frame **frame)
{
	Dwarf_CFI *cfi = eh_frame_cfi(ef);

	if (cfi && dwarf_cfi_addrframe(cfi, vaddr, frame) == 0)
		return 0;
	cfi = debug_frame_cfi(ef);
	if (cfi && dwarf_cfi_addrframe(cfi, vaddr, frame) == 0)
		return 0;
	return -ENOENT;
}

static int frame_cfa(Dwarf_Frame *frame, int *reg, int64_t *off)
{
	Dwarf_Op *ops;
	size_t nops;

	if (dwarf_frame_cfa(frame, &ops, &nops) != 0)
		return -EINVAL;
	if (nops == 0)
		return -ENOENT;
	/* libdw hands a "register + offset" rule back as one DW_OP_bregx;
	 * anything else came from a DW_CFA_def_cfa_expression. */
	if (nops != 1 || ops[0].atom != DW_OP_bregx)
		return -ENOTSUP;
	if (ops[0].number != DWARF_REG_RSP && ops[0].number != DWARF_REG_RBP)
		return -ENOTSUP;
	*reg = ops[0].number;
	*off = (int64_t)ops[0].number2;
	return 0;
}

/* Where the frame saved register reg, as an offset from the CFA: 0,
 * -ENOENT when it is not saved (*undefined says whether it has no value at
 * all, rather than the caller's), -ENOTSUP for other rules. */
static int frame_saved_at(Dwarf_Frame *frame, int reg, uint64_t *off, bool *undefined)
{
	Dwarf_Op mem[3], *ops;
	size_t nops;

	if (reg < 0 || dwarf_frame_register(frame, reg, mem, &ops, &nops) != 0)
		return -EINVAL;
	/* libdw: ops left NULL means same value, ops at mem undefined. */
	*undefined = nops == 0 && ops == mem;
	if (nops == 0)
		return -ENOENT;
	/* offset(N) comes back as DW_OP_call_frame_cfa [DW_OP_plus_uconst N];
	 * val_offset ends with DW_OP_stack_value and is not a memory slot. */
	if (ops[0].atom != DW_OP_call_frame_cfa)
		return -ENOTSUP;
	if (nops == 1) {
		*off = 0;
		return 0;
	}
	if (nops == 2 && ops[1].atom == DW_OP_plus_uconst) {
		*off = ops[1].number;
		return 0;
	}
	return -ENOTSUP;
}

static void rule_at(struct elf_file *ef, uint64_t vaddr, struct cfi_rule *r)
{
	Dwarf_Frame *frame = NULL;
	bool undefined = false;
	int err;

	memset(r, 0, sizeof(*r));
	r->vaddr = vaddr;
	r->set = true;
	r->err = frame_at(ef, vaddr, &frame);
	if (!r->err) {
		r->err = frame_saved_at(frame, dwarf_frame_info(frame, NULL, NULL, NULL),
					&r->ra_off, &undefined);
		r->outermost = r->err == -ENOENT && undefined;
		if (r->outermost)
			r->err = 0;
	}
	if (!r->err && !r->outermost)
		r->err = frame_cfa(frame, &r->cfa_reg, &r->cfa_off);
	if (!r->err && !r->outermost) {
		err = frame_saved_at(frame, DWARF_REG_RBP, &r->bp_off, &undefined);
		r->bp = !err ? UNWIND_BP_SAVED : err == -ENOENT ? UNWIND_BP_SAME : UNWIND_BP_LOST;
	}
	free(frame);
}

/* The rule at vaddr, from the cache or libdw; NULL only without memory. */
static const struct cfi_rule *cached_rule(struct elf_file *ef, uint64_t vaddr, struct cfi_rule *tmp)
{
	struct cfi_rule *r;

	if (!ef->rules)
		ef->rules = calloc(ELF_FILE_RULE_CACHE, sizeof(*ef->rules));
	if (!ef->rules) {
		rule_at(ef, vaddr, tmp);
		return tmp;
	}
	r = &ef->rules[(vaddr * 0x9E3779B97F4A7C15ULL) >> (64 - ELF_FILE_RULE_BITS)];
	if (!r->set || r->vaddr != vaddr)
		rule_at(ef, vaddr, r);
	return r;
}

static int read_stack_u64(const struct unwind_regs *regs, uint64_t addr, uint64_t *val)
{
	if (!regs->stack || regs->stack_len < sizeof(*val) || addr < regs->sp ||
	    addr - regs->sp > regs->stack_len - sizeof(*val))
		return -ERANGE;
	memcpy(val, regs->stack + (addr - regs->sp), sizeof(*val));
	return 0;
}

int elf_file__return_address(struct elf_file *ef, uint64_t vaddr,
			     const struct unwind_regs *regs, uint64_t *ra)
{
	struct cfi_rule tmp;
	const struct cfi_rule *r;
	uint64_t cfa;

	if (!ef->x86_64)
		return -ENOTSUP;
	if (elf_file__begin(ef))
		return -ENOENT;
	r = cached_rule(ef, vaddr, &tmp);
	if (r->err)
		return r->err;
	if (r->outermost)
		return -ENOENT;
	cfa = (r->cfa_reg == DWARF_REG_RSP ? regs->sp : regs->bp) + r->cfa_off;
	return read_stack_u64(regs, cfa + r->ra_off, ra);
}

int elf_file__unwind_rule(struct elf_file *ef, uint64_t vaddr, struct unwind_rule *out)
{
	struct cfi_rule tmp;
	const struct cfi_rule *r;

	if (!ef->x86_64)
		return -ENOTSUP;
	if (elf_file__begin(ef))	/* read again if the budget released it */
		return -ENOENT;
	r = cached_rule(ef, vaddr, &tmp);
	if (r->err)
		return r->err;
	memset(out, 0, sizeof(*out));
	out->outermost = r->outermost;
	out->cfa_base = r->cfa_reg == DWARF_REG_RBP ? UNWIND_CFA_BP : UNWIND_CFA_SP;
	out->cfa_off = r->cfa_off;
	out->ra_off = (int64_t)r->ra_off;
	out->bp = r->bp;
	out->bp_off = (int64_t)r->bp_off;
	return 0;
}
