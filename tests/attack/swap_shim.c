/* LD_PRELOADed into memscope by tests/integration/test_attack.c: the moment
 * memscope has inspected a binary and is about to place its first uprobe,
 * the attacker (pid $MEMSCOPE_ATTACK_PID) is told to swap its mapping, and
 * the attach goes on once it has ($MEMSCOPE_ATTACK_DONE exists). This is
 * the race a container can win by looping, played at its worst moment. */
#include <dlfcn.h>
#include <signal.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include <bpf/libbpf.h>

typedef struct bpf_link *(*attach_fn)(const struct bpf_program *, pid_t, const char *, size_t,
				      const struct bpf_uprobe_opts *);

struct bpf_link *bpf_program__attach_uprobe_opts(const struct bpf_program *prog, pid_t pid,
						 const char *path, size_t off,
						 const struct bpf_uprobe_opts *opts)
{
	static attach_fn real;
	static int swapped;
	const char *victim = getenv("MEMSCOPE_ATTACK_PID"), *done = getenv("MEMSCOPE_ATTACK_DONE");

	if (!real)
		real = (attach_fn)dlsym(RTLD_NEXT, "bpf_program__attach_uprobe_opts");
	if (!swapped && victim && done) {
		swapped = 1;
		kill(atoi(victim), SIGUSR1);
		for (int i = 0; i < 1000 && access(done, F_OK); i++)
			nanosleep(&(struct timespec){ 0, 10 * 1000 * 1000 }, NULL);
	}
	return real(prog, pid, path, off, opts);
}
