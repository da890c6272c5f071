#include <byteswap.h>
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <errno.h>
#include <gelf.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "budget.h"
#include "demangle.h"
#include "elf_file.h"
#include "log.h"

/* x86_64 DWARF register numbers. */
#define DWARF_REG_RBP	6
#define DWARF_REG_RSP	7

/* Aliases and labels inside functions: how many lower symbols to try when
 * the nearest one ends before the address. */
#define SYM_LOOKBACK	8

/* libdw reads every debug section when it opens the DWARF; only do that for
 * .debug_frame when the whole set is reasonably small. */
#define DEBUG_SECTIONS_BUDGET	(256ULL << 20)

/* What libelf holds per section header (its Elf_Scn and the header) and per
 * program header, generously: charged before elf_begin allocates them. */
#define SCN_COST	256
#define PHDR_COST	64

#define NT_GNU_BUILD_ID_TYPE	3

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

/* Marks a symbol whose name is not mangled, so it is not tried again. */
static char not_mangled;

/* Bytes more for ef, or false (counted) when that would pass its limit. */
static bool charge(struct elf_file *ef, uint64_t bytes)
{
	if (bytes > ef->limit || ef->bytes > ef->limit - bytes) {
		ef->refused++;
		budget_counts.elf_refused++;
		return false;
	}
	ef->bytes += bytes;
	return true;
}

static uint64_t field(const unsigned char *p, size_t size, bool swap)
{
	uint64_t v = 0;
	uint32_t v32 = 0;
	uint16_t v16 = 0;

	switch (size) {
	case 2:
		memcpy(&v16, p, 2);
		return swap ? bswap_16(v16) : v16;
	case 4:
		memcpy(&v32, p, 4);
		return swap ? bswap_32(v32) : v32;
	default:
		memcpy(&v, p, 8);
		return swap ? bswap_64(v) : v;
	}
}

/*
 * Section and program header counts, read before libelf sees the file:
 * elf_begin allocates its state for every section the header claims (up to
 * a file's size / 64 of them), and the real counts of big tables are in
 * section 0. -ENOEXEC when not ELF, -EFBIG over ELF_FILE_SECTIONS_MAX.
 */
static int header_counts(struct elf_file *ef, uint64_t *shnum, uint64_t *phnum)
{
	unsigned char eh[64], sh0[64];
	bool is64;
	uint64_t shoff;

	if (pread(ef->fd, eh, sizeof(eh), 0) < 52 || memcmp(eh, ELFMAG, SELFMAG) != 0 ||
	    (eh[EI_CLASS] != ELFCLASS32 && eh[EI_CLASS] != ELFCLASS64) ||
	    (eh[EI_DATA] != ELFDATA2LSB && eh[EI_DATA] != ELFDATA2MSB))
		return -ENOEXEC;
	is64 = eh[EI_CLASS] == ELFCLASS64;
	ef->swap = eh[EI_DATA] != (__BYTE_ORDER == __LITTLE_ENDIAN ? ELFDATA2LSB : ELFDATA2MSB);
	shoff = is64 ? field(eh + 0x28, 8, ef->swap) : field(eh + 0x20, 4, ef->swap);
	*phnum = field(eh + (is64 ? 0x38 : 0x2c), 2, ef->swap);
	*shnum = field(eh + (is64 ? 0x3c : 0x30), 2, ef->swap);
	if (shoff && (*shnum == 0 || *phnum == PN_XNUM)) {
		if (pread(ef->fd, sh0, sizeof(sh0), (off_t)shoff) != sizeof(sh0))
			return -ENOEXEC;
		if (*shnum == 0)
			*shnum = is64 ? field(sh0 + 0x20, 8, ef->swap) : field(sh0 + 0x14, 4, ef->swap);
		if (*phnum == PN_XNUM)
			*phnum = field(sh0 + (is64 ? 0x2c : 0x1c), 4, ef->swap);
	}
	return *shnum > ELF_FILE_SECTIONS_MAX || *phnum > ELF_FILE_SECTIONS_MAX ? -EFBIG : 0;
}

/* ef->elf, opened again after elf_file__release. 0, -ENOEXEC, -EFBIG. */
static int begin(struct elf_file *ef)
{
	GElf_Ehdr ehdr;
	uint64_t shnum, phnum;
	int err;

	if (ef->elf)
		return 0;
	err = header_counts(ef, &shnum, &phnum);
	if (err)
		return err;
	if (!charge(ef, shnum * SCN_COST + phnum * PHDR_COST))
		return -EFBIG;
	ef->header_bytes = shnum * SCN_COST + phnum * PHDR_COST;
	/* ELF_C_READ, not _MMAP: a process in a container can truncate a file
	 * we have mapped, and a SIGBUS would kill the tool. Reads are also
	 * limited to the sections actually used. */
	ef->elf = elf_begin(ef->fd, ELF_C_READ, NULL);
	if (!ef->elf || elf_kind(ef->elf) != ELF_K_ELF || !gelf_getehdr(ef->elf, &ehdr)) {
		elf_end(ef->elf);
		ef->elf = NULL;
		ef->bytes -= ef->header_bytes;
		return -ENOEXEC;
	}
	ef->x86_64 = ehdr.e_machine == EM_X86_64 && ehdr.e_ident[EI_CLASS] == ELFCLASS64;
	return 0;
}

struct elf_file *elf_file__open_fd(int fd)
{
	struct elf_file *ef = NULL;
	struct stat st;
	int err;

	if (fd < 0) {
		errno = EBADF;
		return NULL;
	}
	if (fstat(fd, &st) != 0) {
		err = errno;
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		err = EINVAL;
		goto fail;
	}
	if ((uint64_t)st.st_size > ELF_FILE_SIZE_MAX) {
		err = EFBIG;
		goto fail;
	}
	if (elf_version(EV_CURRENT) == EV_NONE) {
		err = ENOSYS;
		goto fail;
	}
	ef = calloc(1, sizeof(*ef));
	if (!ef) {
		err = ENOMEM;
		goto fail;
	}
	ef->fd = fd;
	ef->file_size = (uint64_t)st.st_size;
	ef->limit = BUDGET_ELF_FILE_BYTES;
	err = -begin(ef);
	if (err)
		goto fail;
	return ef;

fail:
	free(ef);
	close(fd);
	errno = err;
	return NULL;
}

uint64_t elf_file__bytes(const struct elf_file *ef)
{
	return ef->bytes + (ef->rules ? ELF_FILE_RULE_CACHE * sizeof(*ef->rules) : 0);
}

void elf_file__set_limit(struct elf_file *ef, uint64_t limit)
{
	ef->limit = limit;
}

uint64_t elf_file__refused(const struct elf_file *ef)
{
	return ef->refused;
}

void elf_file__release(struct elf_file *ef)
{
	if (ef->demangled) {
		for (size_t i = 0; i < ef->nsyms; i++)
			if (ef->demangled[i] != &not_mangled)
				free(ef->demangled[i]);
		free(ef->demangled);
		ef->demangled = NULL;
	}
	free(ef->syms);
	ef->syms = NULL;
	ef->nsyms = 0;
	ef->sym_source = SYMS_UNLOADED;
	free(ef->rules);
	ef->rules = NULL;
	if (ef->eh_cfi)
		dwarf_cfi_end(ef->eh_cfi);
	ef->eh_cfi = NULL;
	elf_end(ef->cfi_elf);
	ef->cfi_elf = NULL;
	ef->eh_cfi_done = false;
	if (ef->dwarf)
		dwarf_end(ef->dwarf);
	ef->dwarf = NULL;
	ef->debug_cfi = NULL;
	ef->dwarf_done = false;
	elf_end(ef->elf);
	ef->elf = NULL;
	ef->bytes = 0;
	ef->shstrtab_bytes = 0;
}

void elf_file__close(struct elf_file *ef)
{
	if (!ef)
		return;
	elf_file__release(ef);
	close(ef->fd);
	free(ef);
}

/* The GNU build id among the notes at [off, off + size) of the file, into
 * ef->build_id. Each area is read by itself and bounded, so overlapping or
 * huge note sections cost at most ELF_FILE_NOTE_MAX each. */
static bool build_id_in(struct elf_file *ef, uint64_t off, uint64_t size, uint64_t align)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char *buf;
	size_t pos = 0;
	bool found = false;

	if (size < 12 || size > ELF_FILE_NOTE_MAX || off > ef->file_size ||
	    size > ef->file_size - off)
		return false;
	align = align == 8 ? 8 : 4;
	buf = malloc(size);
	if (!buf || pread(ef->fd, buf, size, (off_t)off) != (ssize_t)size) {
		free(buf);
		return false;
	}
	while (!found && size - pos >= 12) {
		uint64_t namesz = field(buf + pos, 4, ef->swap);
		uint64_t descsz = field(buf + pos + 4, 4, ef->swap);
		uint64_t type = field(buf + pos + 8, 4, ef->swap);
		uint64_t name_at = pos + 12;
		uint64_t desc_at = name_at + (namesz + align - 1) / align * align;

		if (desc_at > size || descsz > size - desc_at)
			break;
		if (type == NT_GNU_BUILD_ID_TYPE && namesz == 4 && !memcmp(buf + name_at, "GNU", 4) &&
		    descsz && descsz <= ELF_FILE_BUILD_ID_MAX) {
			for (uint64_t i = 0; i < descsz; i++) {
				ef->build_id[2 * i] = hex[buf[desc_at + i] >> 4];
				ef->build_id[2 * i + 1] = hex[buf[desc_at + i] & 0xf];
			}
			ef->build_id[2 * descsz] = '\0';
			found = true;
		}
		pos = desc_at + (descsz + align - 1) / align * align;
	}
	free(buf);
	return found;
}

/* Note sections first, else PT_NOTE segments (a file without section
 * headers), at most ELF_FILE_NOTES_MAX of each. */
static void find_build_id(struct elf_file *ef)
{
	unsigned tried = 0;
	Elf_Scn *scn = NULL;
	size_t phnum;
	GElf_Shdr sh;
	GElf_Phdr ph;

	while ((scn = elf_nextscn(ef->elf, scn)) != NULL && tried < ELF_FILE_NOTES_MAX) {
		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_NOTE)
			continue;
		tried++;
		if (build_id_in(ef, sh.sh_offset, sh.sh_size, sh.sh_addralign))
			return;
	}
	if (tried || elf_getphdrnum(ef->elf, &phnum))
		return;
	for (size_t i = 0; i < phnum && tried < ELF_FILE_NOTES_MAX; i++) {
		if (!gelf_getphdr(ef->elf, (int)i, &ph) || ph.p_type != PT_NOTE)
			continue;
		tried++;
		if (build_id_in(ef, ph.p_offset, ph.p_filesz, ph.p_align))
			return;
	}
}

const char *elf_file__build_id(struct elf_file *ef)
{
	if (!ef->build_id_done && !begin(ef)) {
		ef->build_id_done = true;
		find_build_id(ef);
	}
	return ef->build_id[0] ? ef->build_id : NULL;
}

int elf_file__offset_to_vaddr(struct elf_file *ef, uint64_t off, uint64_t *vaddr)
{
	GElf_Phdr ph;
	size_t phnum;

	if (begin(ef) || elf_getphdrnum(ef->elf, &phnum) != 0)
		return -ENOEXEC;
	for (size_t i = 0; i < phnum; i++) {
		if (!gelf_getphdr(ef->elf, (int)i, &ph))
			return -ENOEXEC;
		if (ph.p_type != PT_LOAD || off < ph.p_offset || off - ph.p_offset >= ph.p_filesz)
			continue;
		*vaddr = ph.p_vaddr + (off - ph.p_offset);
		return 0;
	}
	return -ENOENT;
}

/* The section's bytes lie inside the file (libelf checks too, but a section
 * header claiming terabytes should not even be attempted). */
static bool scn_in_file(const struct elf_file *ef, const GElf_Shdr *sh)
{
	return sh->sh_type != SHT_NOBITS && sh->sh_offset <= ef->file_size &&
	       sh->sh_size <= ef->file_size - sh->sh_offset;
}

/* Data of section scn, which must be of type `type` and inside the file. */
static Elf_Data *scn_data(struct elf_file *ef, Elf_Scn *scn, GElf_Word type, GElf_Shdr *sh)
{
	Elf_Data *d;

	if (!scn || !gelf_getshdr(scn, sh) || sh->sh_type != type || !scn_in_file(ef, sh) ||
	    !charge(ef, sh->sh_size))
		return NULL;
	d = elf_getdata(scn, NULL);
	return d && d->d_buf && d->d_size ? d : NULL;
}

/* NUL-terminated name at off in strtab, or NULL if it runs off the table,
 * is empty or longer than ELF_FILE_NAME_MAX. */
static const char *strtab_name(const Elf_Data *strtab, GElf_Word off)
{
	const char *s;
	size_t avail, len;

	if (off >= strtab->d_size)
		return NULL;
	s = (const char *)strtab->d_buf + off;
	avail = strtab->d_size - off;
	if (avail > ELF_FILE_NAME_MAX + 1)
		avail = ELF_FILE_NAME_MAX + 1;
	len = strnlen(s, avail);
	return len == 0 || len == avail ? NULL : s;
}

/* End of the section holding a zero-size symbol at addr, or 0 if unknown:
 * the symbol can not extend past it. */
static uint64_t section_end(Elf *elf, GElf_Half shndx, uint64_t addr)
{
	GElf_Shdr sh;
	Elf_Scn *scn;

	if (shndx == SHN_UNDEF || shndx >= SHN_LORESERVE)
		return 0;
	scn = elf_getscn(elf, shndx);
	if (!scn || !gelf_getshdr(scn, &sh))
		return 0;
	if (addr < sh.sh_addr || addr - sh.sh_addr >= sh.sh_size)
		return 0;
	return sh.sh_addr + sh.sh_size;
}

static int append_sym(struct elf_file *ef, size_t *cap, const struct elf_sym *s)
{
	struct elf_sym *n;

	if (ef->nsyms == *cap) {
		size_t ncap = *cap ? *cap * 2 : 1024;

		if (!charge(ef, (ncap - *cap) * sizeof(*n)))
			return -EFBIG;
		*cap = ncap;
		n = reallocarray(ef->syms, *cap, sizeof(*n));
		if (!n)
			return -ENOMEM;
		ef->syms = n;
	}
	ef->syms[ef->nsyms++] = *s;
	return 0;
}

/* Function symbols of the first section of type `type` into ef->syms. */
static int collect_syms(struct elf_file *ef, GElf_Word type)
{
	Elf_Data *symtab = NULL, *strtab;
	GElf_Shdr sh, str_sh;
	Elf_Scn *scn = NULL;
	size_t cap = 0, count, entsize;
	GElf_Sym sym;

	while ((scn = elf_nextscn(ef->elf, scn)) != NULL) {
		if (gelf_getshdr(scn, &sh) && sh.sh_type == type)
			break;
	}
	symtab = scn_data(ef, scn, type, &sh);
	if (!symtab)
		return -ENOENT;
	strtab = scn_data(ef, elf_getscn(ef->elf, sh.sh_link), SHT_STRTAB, &str_sh);
	if (!strtab)
		return -ENOENT;

	entsize = gelf_fsize(ef->elf, ELF_T_SYM, 1, EV_CURRENT);
	if (!entsize)
		return -ENOENT;
	count = symtab->d_size / entsize;
	for (size_t i = 1; i < count && ef->nsyms < ELF_FILE_SYMS_MAX; i++) {
		struct elf_sym s = { 0 };
		int stype, bind;

		if (!gelf_getsym(symtab, (int)i, &sym))
			break;
		stype = GELF_ST_TYPE(sym.st_info);
		bind = GELF_ST_BIND(sym.st_info);
		if ((stype != STT_FUNC && stype != STT_GNU_IFUNC) || sym.st_shndx == SHN_UNDEF ||
		    sym.st_shndx == SHN_ABS || sym.st_value == 0)
			continue;
		s.name = strtab_name(strtab, sym.st_name);
		if (!s.name)
			continue;
		s.start = sym.st_value;
		s.sized = sym.st_size != 0;
		if (s.sized)
			s.end = sym.st_size > UINT64_MAX - s.start ? UINT64_MAX
								   : s.start + sym.st_size;
		else
			s.end = section_end(ef->elf, sym.st_shndx, s.start);
		s.bind_rank = bind == STB_GLOBAL ? 0 : bind == STB_WEAK ? 1 : 2;
		if (append_sym(ef, &cap, &s))
			return -ENOMEM;	/* or over the limit: .dynsym may fit */
	}
	if (ef->nsyms == ELF_FILE_SYMS_MAX)
		log_debug("elf: symbol table cut at %u function symbols", ELF_FILE_SYMS_MAX);
	return 0;
}

static int cmp_sym(const void *a, const void *b)
{
	const struct elf_sym *x = a, *y = b;
	size_t ux, uy, lx, ly;

	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	if (x->bind_rank != y->bind_rank)
		return x->bind_rank - y->bind_rank;
	/* "memcpy" over "__memcpy", "malloc" over "__libc_malloc". */
	ux = strspn(x->name, "_");
	uy = strspn(y->name, "_");
	if (ux != uy)
		return ux < uy ? -1 : 1;
	lx = strlen(x->name);
	ly = strlen(y->name);
	if (lx != ly)
		return lx < ly ? -1 : 1;
	return strcmp(x->name, y->name);
}

/* Sort, keep the preferred alias per address, and give every symbol an end. */
static void finish_syms(struct elf_file *ef)
{
	size_t n = 0;

	qsort(ef->syms, ef->nsyms, sizeof(*ef->syms), cmp_sym);
	for (size_t i = 0; i < ef->nsyms; i++) {
		struct elf_sym *s = &ef->syms[i], *last = n ? &ef->syms[n - 1] : NULL;

		if (last && last->start == s->start) {
			/* An alias may be the only one with a size. */
			if (s->sized && (!last->sized || s->end > last->end)) {
				last->end = s->end;
				last->sized = true;
			}
			continue;
		}
		ef->syms[n++] = *s;
	}
	ef->nsyms = n;
	for (size_t i = 0; i < n; i++) {
		struct elf_sym *s = &ef->syms[i];
		uint64_t next = i + 1 < n ? ef->syms[i + 1].start : UINT64_MAX;

		if (s->sized)
			continue;
		if (!s->end || s->end > next)
			s->end = next;
		if (s->end == UINT64_MAX)	/* last symbol, section unknown */
			s->end = s->start + 1;
	}
}

static int load_syms(struct elf_file *ef)
{
	if (ef->sym_source == SYMS_UNLOADED && !begin(ef)) {
		ef->sym_source = SYMS_NONE;
		if (collect_syms(ef, SHT_SYMTAB) == 0 && ef->nsyms) {
			ef->sym_source = SYMS_SYMTAB;
		} else {
			ef->nsyms = 0;
			if (collect_syms(ef, SHT_DYNSYM) == 0 && ef->nsyms)
				ef->sym_source = SYMS_DYNSYM;
		}
		if (ef->sym_source == SYMS_NONE) {
			free(ef->syms);
			ef->syms = NULL;
			ef->nsyms = 0;
		} else {
			finish_syms(ef);
		}
	}
	return ef->nsyms ? 0 : -ENOENT;
}

bool elf_file__has_symtab(struct elf_file *ef)
{
	load_syms(ef);
	return ef->sym_source == SYMS_SYMTAB;
}

static const struct elf_sym *find_sym(const struct elf_file *ef, uint64_t vaddr)
{
	size_t lo = 0, hi = ef->nsyms;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (ef->syms[mid].start <= vaddr)
			lo = mid + 1;
		else
			hi = mid;
	}
	/* lo symbols start at or below vaddr; the closest containing one wins. */
	for (size_t i = lo; i > 0 && lo - i < SYM_LOOKBACK; i--) {
		if (vaddr < ef->syms[i - 1].end)
			return &ef->syms[i - 1];
	}
	return NULL;
}

static const char *sym_display_name(struct elf_file *ef, const struct elf_sym *s)
{
	size_t i = (size_t)(s - ef->syms);
	char *d;

	if (strncmp(s->name, "_Z", 2) != 0)
		return s->name;
	if (!ef->demangled) {
		if (!charge(ef, ef->nsyms * sizeof(*ef->demangled)))
			return s->name;
		ef->demangled = calloc(ef->nsyms, sizeof(*ef->demangled));
		if (!ef->demangled)
			return s->name;
	}
	if (!ef->demangled[i]) {
		d = demangle(s->name);
		if (d && !charge(ef, strlen(d) + 1)) {
			free(d);
			return s->name;	/* tried again after a release */
		}
		ef->demangled[i] = d ? d : &not_mangled;
	}
	return ef->demangled[i] == &not_mangled ? s->name : ef->demangled[i];
}

const char *elf_file__symbolize(struct elf_file *ef, uint64_t vaddr, uint64_t *sym_off)
{
	const struct elf_sym *s;

	if (load_syms(ef))
		return NULL;
	s = find_sym(ef, vaddr);
	if (!s)
		return NULL;
	if (sym_off)
		*sym_off = vaddr - s->start;
	return sym_display_name(ef, s);
}

int elf_file__symbol_addr(struct elf_file *ef, const char *name, uint64_t *vaddr)
{
	if (load_syms(ef))
		return -ENOENT;
	for (size_t i = 0; i < ef->nsyms; i++) {
		if (strcmp(ef->syms[i].name, name) == 0) {
			*vaddr = ef->syms[i].start;
			return 0;
		}
	}
	return -ENOENT;
}

/* Section names are read whole by libelf on the first elf_strptr: charge
 * them once, or refuse. */
static bool section_names_readable(struct elf_file *ef, size_t *shstrndx)
{
	GElf_Shdr sh;

	if (elf_getshdrstrndx(ef->elf, shstrndx) != 0)
		return false;
	if (ef->shstrtab_bytes)
		return true;
	if (!gelf_getshdr(elf_getscn(ef->elf, *shstrndx), &sh) || !scn_in_file(ef, &sh) ||
	    !charge(ef, sh.sh_size + 1))
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
		if ((sh.sh_flags & SHF_COMPRESSED) || !scn_in_file(ef, &sh))
			return false;
		total += sh.sh_size;
		has_frame |= strcmp(name, ".debug_frame") == 0;
	}
	return has_frame && total <= DEBUG_SECTIONS_BUDGET && charge(ef, total);
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
		if (!charge(ef, bytes))
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
	if (begin(ef))
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
	if (begin(ef))	/* read again if the budget released it */
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
