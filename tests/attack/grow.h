/* What the budget attackers (elfbomb.c, jitmaps.c) share: the code they
 * copy into a file or anonymous memory, and the allocation they make through
 * it, so that memscope samples a stack with a frame in that code. */
#ifndef MEMSCOPE_ATTACK_GROW_H
#define MEMSCOPE_ATTACK_GROW_H

#include <string.h>
#include <sys/mman.h>

/* push rbp; mov rbp, rsp; call *rdi; pop rbp; ret: a frame-pointer frame
 * that calls its argument. */
static const unsigned char trampoline[] = { 0x55, 0x48, 0x89, 0xe5, 0xff, 0xd7, 0x5d, 0xc3 };

/* 1 MiB allocated, touched and freed. */
__attribute__((noinline)) static void grow(void)
{
	size_t len = 1u << 20;
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return;
	memset(p, 1, len);
	munmap(p, len);
}

#endif
