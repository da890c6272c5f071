/* ELF files from a container's image: symbols, build id, program headers and
 * CFI are all read from them. The input goes through a memfd, the way a real
 * file descriptor reaches elf_file__open_fd. */
#include <errno.h>
#include <sys/mman.h>
#include <unistd.h>

#include "budget.h"
#include "elf_file.h"
#include "fuzz.h"

#define STACK_BYTES	256
#define STACK_SP	0x7ffc00001000ull

/* libelf and libdw have no frame pointers: without the slow unwinder a leak
 * inside them has no stack past libelf, and tests/lsan.supp, which names the
 * libelf function that leaks, could not match it. */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
	return "fast_unwind_on_malloc=0";
}

static int memfd_with(const uint8_t *data, size_t size)
{
	int fd = memfd_create("fuzz_elf", MFD_CLOEXEC);
	size_t off = 0;

	FUZZ_CHECK(fd >= 0);
	while (off < size) {
		ssize_t n = write(fd, data + off, size - off);

		FUZZ_CHECK(n > 0);
		off += (size_t)n;
	}
	return fd;
}

/* Symbolize and unwind at vaddr, over a stack snapshot of known bytes. */
static void probe(struct elf_file *ef, uint64_t vaddr)
{
	static uint8_t stack[STACK_BYTES];
	struct unwind_regs regs = {
		.ip = vaddr, .sp = STACK_SP, .bp = STACK_SP + 64,
		.stack = stack, .stack_len = sizeof(stack),
	};
	uint64_t off = 0, ra = 0, va;
	const char *name;
	int err;

	for (size_t i = 0; i < sizeof(stack); i++)
		stack[i] = (uint8_t)i;
	name = elf_file__symbolize(ef, vaddr, &off);
	if (name) {
		FUZZ_CHECK(name[0] && off <= vaddr);
		/* The address the name stands for is the one symbol_addr
		 * finds, unless the name shown is a demangled one. */
		if (elf_file__symbol_addr(ef, name, &va) == 0)
			FUZZ_CHECK(va <= vaddr);
	}
	err = elf_file__return_address(ef, vaddr, &regs, &ra);
	FUZZ_CHECK(err == 0 || err == -ENOENT || err == -ENOTSUP || err == -ERANGE ||
		   err == -EINVAL);
	if (!err) {
		/* Read from the snapshot: eight consecutive byte values. */
		FUZZ_CHECK((ra & 0xff) + 7 < STACK_BYTES);
	}
	elf_file__offset_to_vaddr(ef, vaddr, &va);
}

/* ELF64 e_entry, so probes land on code the file describes. */
static uint64_t entry_of(const uint8_t *data, size_t size)
{
	uint64_t e = 0;

	if (size >= 32)
		memcpy(&e, data + 24, sizeof(e));
	return e;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const names[] = { "main", "_start", "framed", "_ZN4fuzz4leafEi" };
	struct elf_file *ef = elf_file__open_fd(memfd_with(data, size));
	const char *id;
	uint64_t entry = entry_of(data, size), va;

	if (!ef)
		return 0;
	id = elf_file__build_id(ef);
	FUZZ_CHECK(!id || (id[0] && strlen(id) <= 2 * ELF_FILE_BUILD_ID_MAX));
	/* Twice: as read first, then released and read again (an eviction)
	 * under a limit the input chooses, so refusals are reached too. */
	for (int round = 0; round < 2; round++) {
		elf_file__has_symtab(ef);
		probe(ef, entry);
		probe(ef, entry + 1);
		probe(ef, 0x1000);
		for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
			if (elf_file__symbol_addr(ef, names[i], &va) == 0) {
				probe(ef, va);
				probe(ef, va + 4);
			}
		}
		FUZZ_CHECK(elf_file__bytes(ef) <= BUDGET_ELF_FILE_BYTES + 65536);
		elf_file__release(ef);
		FUZZ_CHECK(elf_file__bytes(ef) == 0);
		elf_file__set_limit(ef, size ? (uint64_t)data[size - 1] * size / 16 : 0);
	}
	FUZZ_CHECK(!id || (elf_file__build_id(ef) && !strcmp(id, elf_file__build_id(ef))));
	elf_file__close(ef);
	return 0;
}
