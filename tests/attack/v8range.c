/* A process that lies to V8's uprobes (issue 13, item 4): linked against the
 * fake V8 file (tests/attack/fakev8.c), it calls the OS layer's
 * SetPermissions itself, every 100 ms, saying it made its whole address
 * space (0 to 1 << 47) readable and writable, and it maps a 64 TiB readable
 * region (MAP_NORESERVE: no memory) so that the range meets a real mapping
 * and the chunk scan has 2^28 chunk starts to probe.
 *
 * usage: v8range; says "ready", runs until killed. */
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#define HUGE_REGION	(64ULL << 40)

/* What fakev8.so exports under V8's name; its body ignores the arguments. */
int os_set_permissions(void *addr, unsigned long size, int perm)
	__asm__("_ZN2v84base2OS14SetPermissionsEPvmNS1_16MemoryPermissionE");

int main(void)
{
	void *region = mmap(NULL, HUGE_REGION, PROT_READ,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (region == MAP_FAILED) {
		perror("v8range: 64 TiB region");
		return 1;
	}
	printf("ready %p\n", region);
	fflush(stdout);
	for (;;) {
		os_set_permissions(NULL, 1ULL << 47, 2);	/* kReadWrite */
		usleep(100 * 1000);
	}
}
