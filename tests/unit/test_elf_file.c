#include <criterion/criterion.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "budget.h"
#include "elf_file.h"
#include "fixtures/symfix.h"

/* libc itself, not an interposer (ASan, preloads) that may shadow it. */
#define LIBC dlopen("libc.so.6", RTLD_LAZY | RTLD_NOLOAD)

static const char *const fixtures[] = { "build/fixtures/symfix", "build/fixtures/symfix.nopie" };
#define NFIXTURES (sizeof(fixtures) / sizeof(fixtures[0]))

static struct elf_file *open_path(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	cr_assert_geq(fd, 0, "cannot open %s (run `make build/fixtures/symfix`)", path);
	return elf_file__open_fd(fd);
}

/* An fd holding exactly these bytes, for corrupted copies of the fixture. */
static int fd_with(const void *buf, size_t len)
{
	int fd = memfd_create("elf_file_test", MFD_CLOEXEC);

	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, buf, len), (ssize_t)len);
	return fd;
}

static uint8_t *read_all(const char *path, size_t *len)
{
	struct stat st;
	uint8_t *buf;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	cr_assert_geq(fd, 0);
	cr_assert_eq(fstat(fd, &st), 0);
	buf = malloc(st.st_size);
	cr_assert_not_null(buf);
	cr_assert_eq(read(fd, buf, st.st_size), st.st_size);
	close(fd);
	*len = st.st_size;
	return buf;
}

static uint64_t sym_addr(struct elf_file *ef, const char *name)
{
	uint64_t addr = 0;

	cr_assert_eq(elf_file__symbol_addr(ef, name, &addr), 0, "no symbol %s", name);
	return addr;
}

Test(elf_file, rejects_bad_fds)
{
	char junk[4096];
	int fd;

	errno = 0;
	cr_assert_null(elf_file__open_fd(-1));
	cr_assert_eq(errno, EBADF);

	fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	cr_assert_null(elf_file__open_fd(fd));
	cr_assert_eq(errno, EINVAL);

	cr_assert_null(elf_file__open_fd(fd_with("", 0)));
	cr_assert_eq(errno, ENOEXEC);

	srand(1);
	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = (char)rand();
	cr_assert_null(elf_file__open_fd(fd_with(junk, sizeof(junk))));
	cr_assert_eq(errno, ENOEXEC);

	/* An ELF magic alone is not an ELF file either. */
	memcpy(junk, "\177ELF", 4);
	cr_assert_null(elf_file__open_fd(fd_with(junk, 16)));
	cr_assert_eq(errno, ENOEXEC);
}

Test(elf_file, rejects_huge_files)
{
	int fd = memfd_create("huge", MFD_CLOEXEC);

	cr_assert_geq(fd, 0);
	cr_assert_eq(ftruncate(fd, (off_t)ELF_FILE_SIZE_MAX + 4096), 0);	/* sparse */
	cr_assert_null(elf_file__open_fd(fd));
	cr_assert_eq(errno, EFBIG);
}

Test(elf_file, symbolizes_fixture_functions)
{
	static const char *const names[] = {
		"leak_fn", "churn_fn", "static_fn", "symfix_leaf", "symfix_bp_leaf",
	};

	for (size_t f = 0; f < NFIXTURES; f++) {
		struct elf_file *ef = open_path(fixtures[f]);
		uint64_t off = ~0ULL;

		cr_assert_not_null(ef, "%s: %s", fixtures[f], strerror(errno));
		cr_assert(elf_file__has_symtab(ef));
		for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
			uint64_t addr = sym_addr(ef, names[i]);

			cr_assert_str_eq(elf_file__symbolize(ef, addr, &off), names[i]);
			cr_assert_eq(off, 0);
			cr_assert_str_eq(elf_file__symbolize(ef, addr + 1, &off), names[i]);
			cr_assert_eq(off, 1);
		}
		/* symfix_leaf is 10 bytes of hand-written code, followed
		 * directly by symfix_bp_leaf: the symbol size is honoured. */
		cr_assert_str_eq(elf_file__symbolize(ef, sym_addr(ef, "symfix_leaf") + 9, NULL),
				 "symfix_leaf");
		cr_assert_str_eq(elf_file__symbolize(ef, sym_addr(ef, "symfix_leaf") + 10, NULL),
				 "symfix_bp_leaf");
		cr_assert_null(elf_file__symbolize(ef, 0x10, NULL));
		cr_assert_null(elf_file__symbolize(ef, ~0ULL, NULL));
		elf_file__close(ef);
	}
}

Test(elf_file, demangles_cxx_symbols)
{
	struct elf_file *ef = open_path(fixtures[0]);
	uint64_t addr = sym_addr(ef, SYMFIX_MANGLED);

	cr_assert_str_eq(elf_file__symbolize(ef, addr, NULL), SYMFIX_DEMANGLED);
	/* Cached: the same pointer comes back. */
	cr_assert_eq(elf_file__symbolize(ef, addr, NULL), elf_file__symbolize(ef, addr + 2, NULL));
	elf_file__close(ef);
}

Test(elf_file, build_id_is_lowercase_hex)
{
	struct elf_file *ef = open_path(fixtures[0]);
	const char *id = elf_file__build_id(ef);

	cr_assert_not_null(id, "the fixture has no build id (--build-id linker default)");
	cr_assert_geq(strlen(id), 16);
	cr_assert_eq(strspn(id, "0123456789abcdef"), strlen(id));
	cr_assert_eq(elf_file__build_id(ef), id);
	elf_file__close(ef);
}

Test(elf_file, offset_to_vaddr_uses_pt_load)
{
	/* Both variants map file offset 0 with their first PT_LOAD. */
	static const uint64_t first_vaddr[] = { 0, 0x400000 };

	for (size_t f = 0; f < NFIXTURES; f++) {
		struct elf_file *ef = open_path(fixtures[f]);
		uint64_t v = 1, text_off;

		cr_assert_eq(elf_file__offset_to_vaddr(ef, 0, &v), 0);
		cr_assert_eq(v, first_vaddr[f], "%s: %#lx", fixtures[f], (unsigned long)v);
		/* GNU ld keeps text at vaddr == offset + first vaddr. */
		text_off = sym_addr(ef, "leak_fn") - first_vaddr[f];
		cr_assert_eq(elf_file__offset_to_vaddr(ef, text_off, &v), 0);
		cr_assert_eq(v, sym_addr(ef, "leak_fn"));
		cr_assert_eq(elf_file__offset_to_vaddr(ef, 1ULL << 40, &v), -ENOENT);
		elf_file__close(ef);
	}
}

struct ra_case {
	const char *fn;
	uint64_t fn_off;
	uint64_t bp_from_sp;	/* regs.bp = sp + this */
	size_t ra_slot;		/* index of the return address in the stack words */
	int err;
};

static const struct ra_case ra_cases[] = {
	{ "symfix_leaf", 0, 0, 0, 0 },				/* CFA = rsp + 8 */
	{ "symfix_leaf", SYMFIX_LEAF_PUSHED, 0, 1, 0 },		/* CFA = rsp + 16 */
	{ "symfix_bp_leaf", SYMFIX_BP_LEAF_BODY, 16, 3, 0 },	/* CFA = rbp + 16 */
	{ "symfix_expr_leaf", 0, 0, 0, -ENOTSUP },
	{ "symfix_noret_leaf", 0, 0, 0, -ENOENT },
};

/* Run every ra_case against ef; sym_ef names the functions (ef may be a
 * patched copy whose symbols are the same). */
static void check_ra_cases(struct elf_file *ef, struct elf_file *sym_ef, const char *what)
{
	const uint64_t sp = 0x7ffd12340000ULL, ra_value = 0x55aa00001234ULL;

	for (size_t i = 0; i < sizeof(ra_cases) / sizeof(ra_cases[0]); i++) {
		const struct ra_case *c = &ra_cases[i];
		uint64_t stack[8], ra = 0;
		struct unwind_regs regs = {
			.sp = sp, .bp = sp + c->bp_from_sp,
			.stack = (const uint8_t *)stack, .stack_len = sizeof(stack),
		};
		uint64_t vaddr = sym_addr(sym_ef, c->fn) + c->fn_off;
		int err;

		for (size_t w = 0; w < 8; w++)
			stack[w] = 0xdead0000 + w;
		stack[c->ra_slot] = ra_value;
		regs.ip = vaddr;
		err = elf_file__return_address(ef, vaddr, &regs, &ra);
		cr_assert_eq(err, c->err, "%s %s+%lu: %d", what, c->fn, (unsigned long)c->fn_off,
			     err);
		if (!c->err)
			cr_assert_eq(ra, ra_value, "%s %s+%lu: %#lx", what, c->fn,
				     (unsigned long)c->fn_off, (unsigned long)ra);
	}
}

Test(elf_file, return_address_from_cfi)
{
	for (size_t f = 0; f < NFIXTURES; f++) {
		struct elf_file *ef = open_path(fixtures[f]);

		check_ra_cases(ef, ef, fixtures[f]);
		/* Again, now from the per-file rule cache: rules and errors alike. */
		check_ra_cases(ef, ef, fixtures[f]);
		elf_file__close(ef);
	}
}

/* The same rows from .debug_frame when .eh_frame is gone: the copy loses
 * PT_GNU_EH_FRAME and the names of .eh_frame and .eh_frame_hdr. */
Test(elf_file, return_address_from_debug_frame)
{
	size_t len, hidden = 0;
	uint8_t *img = read_all(fixtures[0], &len);
	Elf64_Ehdr *eh = (Elf64_Ehdr *)img;
	Elf64_Phdr *ph = (Elf64_Phdr *)(img + eh->e_phoff);
	Elf64_Shdr *sh = (Elf64_Shdr *)(img + eh->e_shoff);
	const char *names = (const char *)img + sh[eh->e_shstrndx].sh_offset;
	struct elf_file *orig = open_path(fixtures[0]), *ef;

	for (int i = 0; i < eh->e_phnum; i++) {
		if (ph[i].p_type == PT_GNU_EH_FRAME)
			ph[i].p_type = PT_NULL;
	}
	for (int i = 0; i < eh->e_shnum; i++) {
		if (strncmp(names + sh[i].sh_name, ".eh_frame", 9) == 0) {
			sh[i].sh_name = 0;
			hidden++;
		}
	}
	cr_assert_eq(hidden, 2);
	ef = elf_file__open_fd(fd_with(img, len));
	cr_assert_not_null(ef);
	check_ra_cases(ef, orig, "debug_frame");
	elf_file__close(ef);
	elf_file__close(orig);
	free(img);
}

Test(elf_file, return_address_must_lie_in_snapshot)
{
	struct elf_file *ef = open_path(fixtures[0]);
	uint64_t leaf = sym_addr(ef, "symfix_leaf"), bp_leaf = sym_addr(ef, "symfix_bp_leaf");
	uint64_t stack[2] = { 1, 2 }, ra;
	struct unwind_regs regs = {
		.sp = 0x1000, .bp = 0x1000, .stack = (const uint8_t *)stack, .stack_len = 7,
	};

	/* 7 bytes: not even one word. */
	cr_assert_eq(elf_file__return_address(ef, leaf, &regs, &ra), -ERANGE);
	/* The word after the push is past the 8 bytes we have. */
	regs.stack_len = 8;
	cr_assert_eq(elf_file__return_address(ef, leaf + SYMFIX_LEAF_PUSHED, &regs, &ra), -ERANGE);
	/* rbp below sp: slot below the snapshot; rbp near 2^64: the CFA wraps. */
	regs.bp = 0x100;
	cr_assert_eq(elf_file__return_address(ef, bp_leaf + SYMFIX_BP_LEAF_BODY, &regs, &ra),
		     -ERANGE);
	regs.bp = ~0ULL - 4;
	cr_assert_eq(elf_file__return_address(ef, bp_leaf + SYMFIX_BP_LEAF_BODY, &regs, &ra),
		     -ERANGE);
	regs.stack = NULL;
	cr_assert_eq(elf_file__return_address(ef, leaf, &regs, &ra), -ERANGE);
	/* No FDE covers these. */
	regs.stack = (const uint8_t *)stack;
	cr_assert_eq(elf_file__return_address(ef, 0x10, &regs, &ra), -ENOENT);
	cr_assert_eq(elf_file__return_address(ef, ~0ULL, &regs, &ra), -ENOENT);
	elf_file__close(ef);
}

/* The rules the whole-stack unwinder steps by (unwind.h): the CFA, the
 * return address and the caller's rbp, and the frame with no caller. */
Test(elf_file, unwind_rules)
{
	struct elf_file *ef = open_path(fixtures[0]);
	uint64_t leaf = sym_addr(ef, "symfix_leaf"), bp_leaf = sym_addr(ef, "symfix_bp_leaf");
	struct unwind_rule r;

	cr_assert_eq(elf_file__unwind_rule(ef, leaf + SYMFIX_LEAF_PUSHED, &r), 0);
	cr_assert_eq(r.cfa_base, UNWIND_CFA_SP);
	cr_assert_eq(r.cfa_off, 16);
	cr_assert_eq(r.ra_off, -8);
	cr_assert_eq(r.bp, UNWIND_BP_SAME, "symfix_leaf saves rbx, not rbp");
	cr_assert_not(r.outermost);

	cr_assert_eq(elf_file__unwind_rule(ef, bp_leaf + SYMFIX_BP_LEAF_BODY, &r), 0);
	cr_assert_eq(r.cfa_base, UNWIND_CFA_BP);
	cr_assert_eq(r.cfa_off, 16);
	cr_assert_eq(r.bp, UNWIND_BP_SAVED);
	cr_assert_eq(r.bp_off, -16);

	/* .cfi_undefined rip: the outermost frame, not an error. */
	cr_assert_eq(elf_file__unwind_rule(ef, sym_addr(ef, "symfix_noret_leaf"), &r), 0);
	cr_assert(r.outermost);
	cr_assert_eq(elf_file__unwind_rule(ef, sym_addr(ef, "symfix_expr_leaf"), &r), -ENOTSUP);
	cr_assert_eq(elf_file__unwind_rule(ef, 0x10, &r), -ENOENT);
	elf_file__close(ef);
}

/* libc is stripped (.dynsym only) on most distributions; its memset is the
 * real-world frameless leaf this whole exercise is about. */
Test(elf_file, libc_dynsym_and_memset_cfi)
{
	void *impl = dlsym(LIBC, "memset");
	const uint64_t ra_value = 0x401234;
	uint64_t stack[1] = { ra_value }, ra = 0, addr;
	struct unwind_regs regs = { .sp = 0x7000, .stack = (const uint8_t *)stack,
				    .stack_len = sizeof(stack) };
	struct elf_file *ef;
	Dl_info info;

	cr_assert_not_null(impl);
	cr_assert(dladdr(impl, &info));
	ef = open_path(info.dli_fname);
	cr_assert_not_null(ef);

	addr = sym_addr(ef, "qsort");
	cr_assert_str_eq(elf_file__symbolize(ef, addr, NULL), "qsort");

	/* libc's first PT_LOAD is at vaddr 0, so vaddr = address - base. */
	regs.ip = (uintptr_t)impl;
	regs.load_bias = (uintptr_t)info.dli_fbase;
	cr_assert_eq(elf_file__return_address(ef, regs.ip - regs.load_bias, &regs, &ra), 0);
	cr_assert_eq(ra, ra_value);
	elf_file__close(ef);
}

/* vaddr of a symbol of the intact fixture. */
static uint64_t fixture_sym(const char *name)
{
	struct elf_file *ef = open_path(fixtures[0]);
	uint64_t addr = sym_addr(ef, name);

	elf_file__close(ef);
	return addr;
}

/* Every entry point on a damaged file: errors are fine, crashes are not. */
static void exercise(int fd)
{
	uint64_t stack[4] = { 0 }, v, ra;
	struct unwind_regs regs = { .sp = 0x1000, .bp = 0x1000, .stack = (const uint8_t *)stack,
				    .stack_len = sizeof(stack) };
	struct elf_file *ef = elf_file__open_fd(fd);

	if (!ef)
		return;
	elf_file__build_id(ef);
	elf_file__has_symtab(ef);
	for (uint64_t a = 0; a < 0x3000; a += 0x101) {
		elf_file__offset_to_vaddr(ef, a, &v);
		elf_file__symbolize(ef, a, &v);
		elf_file__return_address(ef, a, &regs, &ra);
	}
	elf_file__symbol_addr(ef, "leak_fn", &v);
	elf_file__close(ef);
}

Test(elf_file, truncated_copies)
{
	size_t len;
	uint8_t *img = read_all(fixtures[0], &len);
	const size_t cuts[] = { 4, 52, 64, 65, 200, 1000, 4096, len / 2, len - 1 };

	for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++)
		exercise(fd_with(img, cuts[i]));
	/* The symbol table sits at the end: half a file has no names. */
	{
		struct elf_file *ef = elf_file__open_fd(fd_with(img, len / 2));

		cr_assert_not_null(ef);
		cr_assert_null(elf_file__symbolize(ef, fixture_sym("leak_fn"), NULL));
		elf_file__close(ef);
	}
	free(img);
}

/*
 * Found by fuzzing: with the section name table outside the file libdw finds
 * no .eh_frame section, takes PT_GNU_EH_FRAME and reads the whole file into
 * the handle; libelf then never freed the symbol tables read through it
 * earlier. Unwinding must still work, and repeated opens leave nothing behind.
 */
Test(elf_file, eh_frame_by_phdr_leaks_nothing)
{
	const int warmup = 4, rounds = 52;
	size_t len, used = 0;
	uint8_t *img = read_all(fixtures[0], &len);
	Elf64_Ehdr *eh = (Elf64_Ehdr *)img;
	Elf64_Shdr *sh = (Elf64_Shdr *)(img + eh->e_shoff);
	uint64_t leaf = fixture_sym("symfix_leaf");

	sh[eh->e_shstrndx].sh_offset = 0x7fffffffffff0000ULL;
	for (int round = 0; round < rounds; round++) {
		struct elf_file *ef = elf_file__open_fd(fd_with(img, len));

		cr_assert_not_null(ef);
		cr_assert_str_eq(elf_file__symbolize(ef, leaf, NULL), "symfix_leaf");
		check_ra_cases(ef, ef, "no section names");
		elf_file__close(ef);
		/* Rounds before this set up libelf's and libdw's own state and
		 * fill malloc's per-thread caches, which mallinfo counts as used. */
		if (round == warmup - 1)
			used = mallinfo2().uordblks;
	}
	/* The leak was the .symtab and .strtab: 2 KiB a round, 100 KiB in all. */
	cr_expect_leq(mallinfo2().uordblks, used + 16384, "%zu bytes kept",
		      mallinfo2().uordblks - used);
	free(img);
}

/* Section headers claiming sizes and offsets far beyond the file. */
Test(elf_file, huge_section_headers)
{
	size_t len;
	uint8_t *img = read_all(fixtures[0], &len);
	Elf64_Ehdr *eh = (Elf64_Ehdr *)img;
	uint64_t leak = fixture_sym("leak_fn");

	for (int variant = 0; variant < 3; variant++) {
		uint8_t *copy = malloc(len);
		Elf64_Ehdr *ceh = (Elf64_Ehdr *)copy;
		Elf64_Shdr *sh;
		struct elf_file *ef;

		memcpy(copy, img, len);
		sh = (Elf64_Shdr *)(copy + eh->e_shoff);
		for (int i = 0; i < eh->e_shnum; i++) {
			if (variant == 0)
				sh[i].sh_size = 0xffffffffffff0000ULL;
			else if (variant == 1)
				sh[i].sh_offset = 0x7fffffffffff0000ULL;
			else
				sh[i].sh_link = 0xfffff;
		}
		if (variant == 2)
			ceh->e_shnum = 0xffff;
		exercise(fd_with(copy, len));
		ef = elf_file__open_fd(fd_with(copy, len));
		if (ef) {
			cr_assert_null(elf_file__symbolize(ef, leak, NULL), "variant %d", variant);
			elf_file__close(ef);
		}
		free(copy);
	}
	free(img);
}

Test(elf_file, random_corruption)
{
	size_t len;
	uint8_t *img = read_all(fixtures[0], &len), *copy = malloc(len);
	Elf64_Ehdr *eh = (Elf64_Ehdr *)img;

	srand(42);
	for (int round = 0; round < 300; round++) {
		memcpy(copy, img, len);
		for (int i = 0; i < 24; i++) {
			/* Half the hits go to the headers, where damage matters most. */
			size_t at = rand() % 2 ? (size_t)rand() % len
					       : eh->e_shoff + (size_t)rand() % (eh->e_shnum * 64u);
			if (at < len)
				copy[at] = (uint8_t)rand();
		}
		exercise(fd_with(copy, len));
	}
	free(copy);
	free(img);
}

/* ---- budgets ------------------------------------------------------------- */

static uint64_t heap_used(void)
{
	struct mallinfo2 mi = mallinfo2();

	return mi.uordblks + mi.hblkhd;
}

/* A limit below what the symbol tables need refuses them; after a release
 * with room again, the file reads them and names as before. */
Test(elf_file, limit_refuses_and_release_reads_again)
{
	struct elf_file *ef = open_path(fixtures[0]);
	uint64_t leak = fixture_sym("leak_fn"), bytes, opened;
	const char *name;

	cr_assert_not_null(ef);
	opened = elf_file__bytes(ef);
	elf_file__set_limit(ef, opened + 64);
	cr_expect_null(elf_file__symbolize(ef, leak, NULL));
	cr_expect_gt(elf_file__refused(ef), 0);
	cr_expect_leq(elf_file__bytes(ef), opened + 64);

	elf_file__set_limit(ef, BUDGET_ELF_FILE_BYTES);
	elf_file__release(ef);
	cr_expect_eq(elf_file__bytes(ef), 0);
	name = elf_file__symbolize(ef, leak, NULL);
	cr_expect(name && !strcmp(name, "leak_fn"), "got %s", name ? name : "(null)");
	bytes = elf_file__bytes(ef);
	cr_expect_gt(bytes, 0, "what was read is charged");
	elf_file__release(ef);
	name = elf_file__symbolize(ef, leak, NULL);
	cr_expect(name && !strcmp(name, "leak_fn"));
	cr_expect_eq(elf_file__bytes(ef), bytes, "the same bytes read again");
	elf_file__close(ef);
}

/* The fixture with its .symtab and its first note moved into a 1 GiB hole at
 * the end of the file: nothing of the hole is read, the build id still comes
 * from the other notes. */
Test(elf_file, sparse_tables_are_refused_unread)
{
	size_t len;
	uint8_t *img = read_all(fixtures[0], &len);
	Elf64_Ehdr *eh = (Elf64_Ehdr *)img;
	Elf64_Shdr *sh = (Elf64_Shdr *)(img + eh->e_shoff);
	struct elf_file *orig = open_path(fixtures[0]), *ef;
	char want_id[2 * ELF_FILE_BUILD_ID_MAX + 1];
	bool note_moved = false;
	uint64_t before;
	int fd;

	cr_assert_not_null(orig);
	cr_assert_not_null(elf_file__build_id(orig));
	snprintf(want_id, sizeof(want_id), "%s", elf_file__build_id(orig));
	elf_file__close(orig);
	for (int i = 0; i < eh->e_shnum; i++) {
		if (sh[i].sh_type == SHT_SYMTAB || (sh[i].sh_type == SHT_NOTE && !note_moved)) {
			note_moved |= sh[i].sh_type == SHT_NOTE;
			sh[i].sh_offset = len;
			sh[i].sh_size = 1ULL << 30;
		}
	}
	cr_assert(note_moved, "the fixture has no note section");
	fd = fd_with(img, len);
	cr_assert_eq(ftruncate(fd, len + (1ULL << 30)), 0);
	before = heap_used();
	ef = elf_file__open_fd(fd);
	cr_assert_not_null(ef);
	cr_expect_str_eq(elf_file__build_id(ef), want_id);
	cr_expect(!elf_file__has_symtab(ef), "a 1 GiB .symtab was taken");
	cr_expect_gt(elf_file__refused(ef), 0);
	cr_expect_lt(elf_file__bytes(ef), BUDGET_ELF_FILE_BYTES);
	cr_expect_lt(heap_used() - before, 16 << 20, "%llu bytes kept",
		     (unsigned long long)(heap_used() - before));
	elf_file__close(ef);
	free(img);
}

/* Section counts libelf would allocate for, checked before it does. */
Test(elf_file, too_many_sections_is_efbig)
{
	size_t len;
	uint8_t *img = read_all(fixtures[0], &len);
	Elf64_Ehdr *eh = (Elf64_Ehdr *)img;
	Elf64_Shdr *sh = (Elf64_Shdr *)(img + eh->e_shoff);

	eh->e_shnum = 0;
	sh[0].sh_size = ELF_FILE_SECTIONS_MAX + 1;	/* the extended count */
	errno = 0;
	cr_expect_null(elf_file__open_fd(fd_with(img, len)));
	cr_expect_eq(errno, EFBIG);
	free(img);
}
