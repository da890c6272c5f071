/* A private Docker engine for the integration tests that need real
 * containers (test_oom_docker.c, test_express.c): dockerd with its own data,
 * exec root, socket and containerd namespace under a fresh /tmp directory,
 * no iptables and no bridge, the vfs storage driver (works on any
 * filesystem), and images imported from tarballs of host files (no
 * registry). Where dockerd is missing or cannot run, the test skips and
 * says why. */
#ifndef MEMSCOPE_TEST_DOCKER_ENGINE_H
#define MEMSCOPE_TEST_DOCKER_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

/* docker.io's client: /usr/local/bin may hold another one. */
#define DOCKER		"/usr/bin/docker"

/* Skipped tests are easy to miss in a long run: the reason also goes to
 * stderr, which `make test` shows. */
#define SKIP(...)							\
	do {								\
		fprintf(stderr, "memscope tests: " __VA_ARGS__);	\
		fputc('\n', stderr);					\
		cr_skip_test(__VA_ARGS__);				\
	} while (0)

struct docker_engine {
	char dir[64];
	char host[128];		/* unix://DIR/d.sock */
	char log[128];
	pid_t pid;
};

/* Skips the test (naming `what`) when docker.io is missing or dockerd
 * cannot run; stops what it started before skipping. */
void engine_start(struct docker_engine *e, const char *what);
void engine_stop(struct docker_engine *e);
/* `docker -H ENGINE args...`, stdout to out: the exit status as wait_exit's. */
int engine_docker(const struct docker_engine *e, const char *out, char *const args[]);
bool engine_docker_ok(const struct docker_engine *e, const char *out, char *const args[]);
/* `docker run -d args...`: the container's full id into id, its main
 * process's host pid as the return value (asserted). */
pid_t engine_run(const struct docker_engine *e, char *const args[], char *id, size_t id_len);
/* A root filesystem of the given files and directories (at their host
 * paths) and the libraries ldd names for the files, imported as image. */
void engine_import(const struct docker_engine *e, const char *image, char *const paths[]);

/* The first line of a file, trimmed, into buf. */
const char *first_line(const char *file, char *buf, size_t len);

#endif
