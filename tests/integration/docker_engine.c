/* The tests' private Docker engine: docker_engine.h. */
#include <criterion/criterion.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "docker_engine.h"
#include "harness.h"

#define DOCKERD		"/usr/sbin/dockerd"
#define START_S		90

/* $MEMSCOPE_TEST_DOCKERD, else Debian's. */
static const char *dockerd_bin(void)
{
	const char *d = getenv("MEMSCOPE_TEST_DOCKERD");

	return d && *d ? d : DOCKERD;
}

int engine_docker(const struct docker_engine *e, const char *out, char *const args[])
{
	char *argv[32] = { DOCKER, "-H", (char *)e->host };
	int n = 3;

	for (; *args && n < 31; args++)
		argv[n++] = *args;
	argv[n] = NULL;
	return wait_exit(spawn(argv, out, scratch_path("docker.err")), 120);
}

bool engine_docker_ok(const struct docker_engine *e, const char *out, char *const args[])
{
	int status = engine_docker(e, out, args);

	return status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

const char *first_line(const char *file, char *buf, size_t len)
{
	char *text = read_text(file);

	snprintf(buf, len, "%s", text ? text : "");
	buf[strcspn(buf, "\r\n")] = '\0';
	free(text);
	return buf;
}

void engine_start(struct docker_engine *e, const char *what)
{
	char sock[96], data[96], exec_root[96], pidfile[96], ns[48], nsp[48], last[512];
	char *log_text;
	char *argv[] = { (char *)dockerd_bin(), "--iptables=false", "--ip6tables=false", "--bridge=none",
			 "--storage-driver=vfs", "--data-root", data, "--exec-root", exec_root,
			 "--pidfile", pidfile, "-H", e->host, "--containerd-namespace", ns,
			 "--containerd-plugins-namespace", nsp, NULL };

	if (access(dockerd_bin(), X_OK) || access(DOCKER, X_OK))
		SKIP("docker.io is not installed (sudo make deps installs it): %s skipped", what);
	/* Short: unix socket paths end at 108 bytes. */
	snprintf(e->dir, sizeof(e->dir), "/tmp/msdk-XXXXXX");
	cr_assert_not_null(mkdtemp(e->dir), "mkdtemp: %s", strerror(errno));
	snprintf(sock, sizeof(sock), "%s/d.sock", e->dir);
	snprintf(e->host, sizeof(e->host), "unix://%s", sock);
	snprintf(data, sizeof(data), "%s/data", e->dir);
	snprintf(exec_root, sizeof(exec_root), "%s/exec", e->dir);
	snprintf(pidfile, sizeof(pidfile), "%s/dockerd.pid", e->dir);
	snprintf(e->log, sizeof(e->log), "%s/dockerd.log", e->dir);
	snprintf(ns, sizeof(ns), "msdk%d", getpid());
	snprintf(nsp, sizeof(nsp), "msdk%d-plugins", getpid());
	e->pid = spawn(argv, e->log, e->log);
	cr_assert_gt(e->pid, 0, "cannot fork");
	for (int i = 0; i < START_S * 2; i++) {
		if (waitpid(e->pid, NULL, WNOHANG) == e->pid) {
			e->pid = 0;
			break;
		}
		if (engine_docker_ok(e, "/dev/null", (char *[]){ "version", NULL }))
			return;
		usleep(500 * 1000);
	}
	log_text = read_text(e->log);
	/* Its last words say why. */
	snprintf(last, sizeof(last), "%s",
		 log_text && strlen(log_text) > 400 ? log_text + strlen(log_text) - 400 :
		 log_text ? log_text : "");
	free(log_text);
	/* A skip in .init runs no .fini: clean up here. */
	engine_stop(e);
	SKIP("dockerd cannot run here (its log: %.400s): %s skipped", last, what);
}

void engine_stop(struct docker_engine *e)
{
	/* dockerd leaves mounts behind (exec/netns/default once a container
	 * used --network host): lazily unmounted, deepest first. */
	static const char umount_all[] =
		"awk -v d=\"$1/\" 'index($2, d) == 1 { print $2 }' /proc/self/mounts | "
		"sort -r | xargs -r -n 1 umount -l";
	char *umount[] = { "/bin/sh", "-c", (char *)umount_all, "sh", e->dir, NULL };
	char *rm[] = { "/bin/rm", "-rf", "--one-file-system", e->dir, NULL };

	if (e->pid > 0) {
		kill(e->pid, SIGTERM);
		if (wait_exit(e->pid, 30) == -1)
			kill(e->pid, SIGKILL);
	}
	e->pid = 0;
	if (e->dir[0]) {
		wait_exit(spawn(umount, NULL, NULL), 30);
		wait_exit(spawn(rm, NULL, NULL), 120);
	}
	e->dir[0] = '\0';
}

void engine_import(const struct docker_engine *e, const char *image, char *const paths[])
{
	static const char script[] =
		"set -e; R=$1; shift; mkdir -p \"$R/tmp\" \"$R/etc\"\n"
		"for b in \"$@\"; do cp -R -L --parents \"$b\" \"$R\"\n"
		"  [ -f \"$b\" ] || continue\n"
		"  for l in $(ldd \"$b\" 2>/dev/null | grep -o '/[^ ]*'); do cp --parents -L \"$l\" \"$R\"; done\n"
		"done\n"
		"tar -C \"$R\" -cf \"$R.tar\" .\n";
	char root[128], tar[140], *argv[16] = { "/bin/sh", "-c", (char *)script, "sh", root };
	int n = 5, status;

	snprintf(root, sizeof(root), "%s/rootfs", e->dir);
	snprintf(tar, sizeof(tar), "%s.tar", root);
	for (; *paths && n < 15; paths++)
		argv[n++] = *paths;
	argv[n] = NULL;
	status = wait_exit(spawn(argv, NULL, scratch_path("rootfs.err")), 120);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "cannot build the rootfs:\n%s",
		  read_text(scratch_path("rootfs.err")));
	cr_assert(engine_docker_ok(e, "/dev/null", (char *[]){ "import", tar, (char *)image, NULL }),
		  "docker import failed:\n%s", read_text(scratch_path("docker.err")));
}

pid_t engine_run(const struct docker_engine *e, char *const args[], char *id, size_t id_len)
{
	char *argv[32] = { "run", "-d" }, pid_text[32];
	int n = 2;
	pid_t pid;

	for (; *args && n < 31; args++)
		argv[n++] = *args;
	argv[n] = NULL;
	cr_assert(engine_docker_ok(e, scratch_path("run.out"), argv), "docker run failed:\n%s",
		  read_text(scratch_path("docker.err")));
	first_line(scratch_path("run.out"), id, id_len);
	cr_assert_eq(strlen(id), 64, "no container id from docker run: '%s'", id);
	cr_assert(engine_docker_ok(e, scratch_path("pid.out"),
				   (char *[]){ "inspect", "-f", "{{.State.Pid}}", id, NULL }),
		  "docker inspect failed");
	pid = atoi(first_line(scratch_path("pid.out"), pid_text, sizeof(pid_text)));
	cr_assert_gt(pid, 0, "no pid for the container");
	return pid;
}
