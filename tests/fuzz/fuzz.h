/* What the libFuzzer harnesses share. A harness is one file, tests/fuzz/NAME.c,
 * that defines LLVMFuzzerTestOneInput and hands the input to one parser the
 * way memscope gets it in production (a FILE, a NUL-terminated string, an fd),
 * then checks the invariants the parser's header promises with FUZZ_CHECK, so
 * a wrong answer counts as a crash just like a sanitizer report does.
 *
 * The Makefile builds it into build/fuzz/NAME; seeds go to
 * tests/fuzz/corpus/NAME/ and an optional dictionary to tests/fuzz/NAME.dict.
 */
#ifndef MEMSCOPE_FUZZ_H
#define MEMSCOPE_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A broken invariant: say which one and abort, so libFuzzer saves the input. */
#define FUZZ_CHECK(cond)							\
	do {									\
		if (!(cond)) {							\
			fprintf(stderr, "%s:%d: invariant failed: %s\n",	\
				__FILE__, __LINE__, #cond);			\
			abort();						\
		}								\
	} while (0)

/* The input as a read-only stream, NUL bytes included (glibc's fmemopen is
 * binary safe in read mode). Aborts when out of memory: that is the harness
 * failing, not the parser. */
static inline FILE *fuzz_stream(const uint8_t *data, size_t size)
{
	static const uint8_t empty[1];	/* a valid buffer even for no bytes */
	FILE *f = fmemopen((void *)(size ? data : empty), size, "r");

	FUZZ_CHECK(f);
	return f;
}

/* The input as a C string, cut at its first NUL, the way a path or a name
 * reaches memscope. Caller frees. */
static inline char *fuzz_string(const uint8_t *data, size_t size)
{
	char *s = strndup((const char *)data, size);

	FUZZ_CHECK(s);
	return s;
}

/* s holds a NUL within its first cap bytes. */
static inline int fuzz_terminated(const char *s, size_t cap)
{
	return memchr(s, '\0', cap) != NULL;
}

#endif
