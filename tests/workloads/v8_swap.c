/* The attacker of tests/integration/test_attack.c: maps a V8-looking file
 * executable at X (what memscope inspects) and again read-only at Y, prints
 * "X Y SIZE", then on SIGUSR1 maps the decoy over X (MAP_FIXED, same range)
 * and creates the done file. A uprobe memscope places in the V8 file shows
 * as a changed byte at Y; one placed in the decoy, at X.
 * usage: v8_swap FAKE_V8 DECOY DONE_FILE */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct stat st;
	sigset_t set;
	char *x, *y;
	int fa, fb, sig;

	if (argc != 4)
		return 2;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, NULL);
	fa = open(argv[1], O_RDONLY);
	fb = open(argv[2], O_RDONLY);
	if (fa < 0 || fb < 0 || fstat(fa, &st))
		return 1;
	x = mmap(NULL, st.st_size, PROT_READ | PROT_EXEC, MAP_PRIVATE, fa, 0);
	y = mmap(NULL, st.st_size, PROT_READ, MAP_PRIVATE, fa, 0);
	if (x == MAP_FAILED || y == MAP_FAILED)
		return 1;
	printf("%lx %lx %lld\n", (unsigned long)x, (unsigned long)y, (long long)st.st_size);
	fflush(stdout);
	if (sigwait(&set, &sig))
		return 1;
	if (mmap(x, st.st_size, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_FIXED, fb, 0) != x)
		return 1;
	close(open(argv[3], O_WRONLY | O_CREAT, 0600));
	for (;;)
		pause();
}
