/* Maps FILE (any file: tests map device nodes) executable and private, as
 * a library would be, says "mapped", then waits to be killed.
 * usage: map_exec FILE */
#include <fcntl.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	int fd = argc == 2 ? open(argv[1], O_RDONLY) : -1;

	if (fd < 0 || mmap(NULL, 65536, PROT_READ | PROT_EXEC, MAP_PRIVATE, fd, 0) == MAP_FAILED) {
		perror("map_exec");
		return 1;
	}
	printf("mapped\n");
	fflush(stdout);
	for (;;)
		pause();
}
