/* What a stripped V8 embedder looks like to memscope: it exports the V8 API
 * (v8::Isolate::GetCurrent, as node does for its addons) but not V8's OS
 * layer, so its heap cannot be told from native memory.
 *
 *	v8_stripped MIB READY_FILE
 *
 * Touches MIB MiB of anonymous memory, creates READY_FILE, then sleeps until
 * it is killed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* v8::Isolate::GetCurrent(), by its mangled name. */
void *_ZN2v87Isolate10GetCurrentEv(void);
void *_ZN2v87Isolate10GetCurrentEv(void)
{
	return NULL;
}

int main(int argc, char **argv)
{
	size_t bytes;
	FILE *f;
	char *p;

	if (argc != 3) {
		fprintf(stderr, "usage: v8_stripped MIB READY_FILE\n");
		return 2;
	}
	bytes = strtoul(argv[1], NULL, 10) << 20;
	p = malloc(bytes);
	if (!p || _ZN2v87Isolate10GetCurrentEv())
		return 1;
	memset(p, 1, bytes);
	f = fopen(argv[2], "w");
	if (!f)
		return 1;
	fclose(f);
	for (;;)
		pause();
}
