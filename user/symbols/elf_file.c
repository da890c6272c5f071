#include <byteswap.h>
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
#include "elf_file_int.h"
#include "log.h"
/* Aliases and labels inside functions: how many lower symbols to try when
 * the nearest one ends before the address. */
#define SYM_LOOKBACK	8

/* What libelf holds per section header (its Elf_Scn and the header) and per
 * program header, generously: charged before elf_begin allocates them. */
#define SCN_COST	256
#define PHDR_COST	64

#define NT_GNU_BUILD_ID_TYPE	3

/* Marks a symbol whose name is not mangled, so it is not tried again. */
static char not_mangled;

/* Bytes more for ef, or false (counted) when that would pass its limit. */
bool elf_file__charge(struct elf_file *ef, uint64_t bytes)
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
int elf_file__begin(struct elf_file *ef)
{
	GElf_Ehdr ehdr;
	uint64_t shnum, phnum;
	int err;

	if (ef->elf)
		return 0;
	err = header_counts(ef, &shnum, &phnum);
	if (err)
		return err;
	if (!elf_file__charge(ef, shnum * SCN_COST + phnum * PHDR_COST))
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
	err = -elf_file__begin(ef);
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
	if (!ef->build_id_done && !elf_file__begin(ef)) {
		ef->build_id_done = true;
		find_build_id(ef);
	}
	return ef->build_id[0] ? ef->build_id : NULL;
}

int elf_file__offset_to_vaddr(struct elf_file *ef, uint64_t off, uint64_t *vaddr)
{
	GElf_Phdr ph;
	size_t phnum;

	if (elf_file__begin(ef) || elf_getphdrnum(ef->elf, &phnum) != 0)
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
bool elf_file__scn_in_file(const struct elf_file *ef, const GElf_Shdr *sh)
{
	return sh->sh_type != SHT_NOBITS && sh->sh_offset <= ef->file_size &&
	       sh->sh_size <= ef->file_size - sh->sh_offset;
}

/* Data of section scn, which must be of type `type` and inside the file. */
static Elf_Data *scn_data(struct elf_file *ef, Elf_Scn *scn, GElf_Word type, GElf_Shdr *sh)
{
	Elf_Data *d;

	if (!scn || !gelf_getshdr(scn, sh) || sh->sh_type != type || !elf_file__scn_in_file(ef, sh) ||
	    !elf_file__charge(ef, sh->sh_size))
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

		if (!elf_file__charge(ef, (ncap - *cap) * sizeof(*n)))
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
	if (ef->sym_source == SYMS_UNLOADED && !elf_file__begin(ef)) {
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
		if (!elf_file__charge(ef, ef->nsyms * sizeof(*ef->demangled)))
			return s->name;
		ef->demangled = calloc(ef->nsyms, sizeof(*ef->demangled));
		if (!ef->demangled)
			return s->name;
	}
	if (!ef->demangled[i]) {
		d = demangle(s->name);
		if (d && !elf_file__charge(ef, strlen(d) + 1)) {
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
