/* Crafted ELF files a container can map (issue 13, item 2), each sparse: a
 * few real bytes, then a hole that section headers describe as a symbol
 * table and as 16 overlapping note sections. A parser that reads what the
 * headers claim reads the hole, many times over. Each file's first page
 * holds a trampoline (push rbp; mov rbp, rsp; call *rdi; pop rbp; ret) that
 * the process calls its allocations through, so memscope finds the file in
 * the stacks it samples and symbolizes it.
 *
 * usage: elfbomb DIR HOLE_MIB COUNT [BIG_HOLE_MIB]
 * Writes DIR/bomb-N.elf (COUNT files with a HOLE_MIB hole, and one more with
 * BIG_HOLE_MIB when given), maps them, says "ready", then allocates and
 * frees 1 MiB through each in turn until killed. */
#include <elf.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "grow.h"

#define FILES_MAX	16
#define NOTES		16
#define HOLE_AT		(1u << 20)
#define CODE_AT		0x800
#define NAMES_AT	0x900
#define STRTAB_AT	0xa00
#define SHDRS_AT	0x1000

static const char names[] = "\0.symtab\0.strtab\0.note\0.shstrtab";
enum { NAME_SYMTAB = 1, NAME_STRTAB = 9, NAME_NOTE = 17, NAME_SHSTRTAB = 23 };

static void put(int fd, const void *buf, size_t len, off_t off)
{
	if (pwrite(fd, buf, len, off) != (ssize_t)len) {
		perror("elfbomb: write");
		exit(1);
	}
}

static void craft(const char *path, unsigned long long hole)
{
	Elf64_Shdr sh[3 + NOTES + 1];
	Elf64_Ehdr eh = {
		.e_ident = { ELFMAG0, ELFMAG1, ELFMAG2, ELFMAG3, ELFCLASS64, ELFDATA2LSB, EV_CURRENT },
		.e_type = ET_DYN, .e_machine = EM_X86_64, .e_version = EV_CURRENT,
		.e_phoff = sizeof(Elf64_Ehdr), .e_shoff = SHDRS_AT, .e_ehsize = sizeof(Elf64_Ehdr),
		.e_phentsize = sizeof(Elf64_Phdr), .e_phnum = 1, .e_shentsize = sizeof(Elf64_Shdr),
		.e_shnum = sizeof(sh) / sizeof(sh[0]), .e_shstrndx = 3 + NOTES,
	};
	Elf64_Phdr ph = { .p_type = PT_LOAD, .p_flags = PF_R | PF_X, .p_filesz = 4096,
			  .p_memsz = 4096, .p_align = 4096 };
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);

	if (fd < 0 || ftruncate(fd, HOLE_AT + hole)) {
		perror("elfbomb: create");
		exit(1);
	}
	memset(sh, 0, sizeof(sh));
	sh[1] = (Elf64_Shdr){ .sh_name = NAME_SYMTAB, .sh_type = SHT_SYMTAB, .sh_offset = HOLE_AT,
			      .sh_size = hole / sizeof(Elf64_Sym) * sizeof(Elf64_Sym), .sh_link = 2,
			      .sh_entsize = sizeof(Elf64_Sym), .sh_addralign = 8 };
	sh[2] = (Elf64_Shdr){ .sh_name = NAME_STRTAB, .sh_type = SHT_STRTAB, .sh_offset = STRTAB_AT,
			      .sh_size = 3 };
	for (int i = 0; i < NOTES; i++)
		sh[3 + i] = (Elf64_Shdr){ .sh_name = NAME_NOTE, .sh_type = SHT_NOTE,
					  .sh_offset = HOLE_AT, .sh_size = hole, .sh_addralign = 4 };
	sh[3 + NOTES] = (Elf64_Shdr){ .sh_name = NAME_SHSTRTAB, .sh_type = SHT_STRTAB,
				      .sh_offset = NAMES_AT, .sh_size = sizeof(names) };
	put(fd, &eh, sizeof(eh), 0);
	put(fd, &ph, sizeof(ph), sizeof(eh));
	put(fd, trampoline, sizeof(trampoline), CODE_AT);
	put(fd, names, sizeof(names), NAMES_AT);
	put(fd, "\0x\0", 3, STRTAB_AT);
	put(fd, sh, sizeof(sh), SHDRS_AT);
	close(fd);
}

int main(int argc, char **argv)
{
	void (*through[FILES_MAX])(void (*)(void));
	int n = argc >= 4 ? atoi(argv[3]) : 0, total;
	char path[4096];

	if (argc < 4 || n < 1 || n > FILES_MAX - 1) {
		fprintf(stderr, "usage: elfbomb DIR HOLE_MIB COUNT [BIG_HOLE_MIB]\n");
		return 2;
	}
	total = n + (argc > 4);
	for (int i = 0; i < total; i++) {
		unsigned long long mib = strtoull(argv[i < n ? 2 : 4], NULL, 10);
		char *base;
		int fd;

		snprintf(path, sizeof(path), "%s/bomb-%d.elf", argv[1], i);
		craft(path, mib << 20);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		base = fd < 0 ? MAP_FAILED : mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE, fd, 0);
		if (base == MAP_FAILED) {
			perror("elfbomb: map");
			return 1;
		}
		close(fd);
		through[i] = (void (*)(void (*)(void)))(base + CODE_AT);
	}
	printf("ready\n");
	fflush(stdout);
	for (;;) {
		for (int i = 0; i < total; i++)
			through[i](grow);
		usleep(5000);
	}
}
