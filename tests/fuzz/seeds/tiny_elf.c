/* Source of the elf_file fuzzer's seeds: the Makefile builds it without libc
 * into a few small ELF files (static, shared, with and without .symtab or
 * .eh_frame), so every reader path starts from a valid file of a few KiB. */

/* A C++ name, so symbolization goes through the demangler. */
int leaf(int x) __asm__("_ZN4fuzz4leafEi");

__attribute__((noinline)) int leaf(int x)
{
	return x * 3 + 1;
}

__attribute__((noinline)) int framed(int x)
{
	volatile int a[4] = { x, 1, 2, 3 };

	return leaf(a[0]) + a[3];
}

void _start(void)
{
	framed(2);
	for (;;)
		;
}
