#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "procname.h"
#include "procstat.h"
#include "readfile.h"

#define CMDLINE_MAX	4096	/* argv[0..2] are near its start */
#define ARGS_CHECKED	3

static const char *base_of(const char *path, size_t len, size_t *base_len)
{
	const char *slash = memrchr(path, '/', len);
	const char *b = slash ? slash + 1 : path;

	*base_len = len - (size_t)(b - path);
	return b;
}

/* Is comm what the kernel would make of this name (its first 15 bytes)? */
static bool comm_of(const char *comm, const char *name, size_t name_len)
{
	size_t n = strlen(comm);

	return n && (n == name_len || (n == PROCNAME_LEN - 1 && name_len > n)) &&
	       !memcmp(comm, name, n);
}

static void copy_name(const char *name, size_t len, char out[PROCNAME_LEN])
{
	if (len > PROCNAME_LEN - 1)
		len = PROCNAME_LEN - 1;
	memcpy(out, name, len);
	out[len] = '\0';
}

/* comm is the basename of one of the first ARGS_CHECKED arguments. */
static bool comm_in_args(const char *comm, const char *cmdline, size_t cmdline_len)
{
	size_t at = 0;

	for (int arg = 0; cmdline && at < cmdline_len && arg < ARGS_CHECKED; arg++) {
		const char *p = cmdline + at, *end = memchr(p, '\0', cmdline_len - at), *b;
		size_t len = end ? (size_t)(end - p) : cmdline_len - at, blen;

		b = base_of(p, len, &blen);
		if (comm_of(comm, b, blen))
			return true;
		at += len + 1;
	}
	return false;
}

void procname__choose(const char *comm, const char *exe, const char *cmdline,
		      size_t cmdline_len, const char *thread, char out[PROCNAME_LEN])
{
	const char *exe_base = NULL;
	size_t exe_len = 0;

	if (exe && exe[0] == '/')
		exe_base = base_of(exe, strlen(exe), &exe_len);
	if (!comm || !comm[0])
		copy_name(thread ? thread : "", thread ? strnlen(thread, PROCNAME_LEN - 1) : 0,
			  out);
	else if ((exe_base && comm_of(comm, exe_base, exe_len)) ||
		 comm_in_args(comm, cmdline, cmdline_len) || !exe_len)
		copy_name(comm, strlen(comm), out);
	else	/* the main thread was renamed: the executable says what runs */
		copy_name(exe_base, exe_len, out);
}

/* Is /proc/TGID the process that started at start_ns? */
static bool same_process(const char *proc_root, uint32_t tgid, uint64_t start_ns)
{
	uint64_t ticks;

	if (!start_ns)
		return false;	/* nothing to tell a reused pid by */
	return !procstat__start_ticks(proc_root, (int)tgid, &ticks) &&
	       procstat__same_start(ticks, start_ns);
}

static void read_and_choose(const char *proc_root, uint32_t tgid, const char *thread,
			    char out[PROCNAME_LEN])
{
	char path[PATH_MAX], comm[PROCNAME_LEN + 1] = "", exe[PATH_MAX] = "";
	char cmdline[CMDLINE_MAX];
	ssize_t n, cmd_len = 0;

	snprintf(path, sizeof(path), "%s/%u/comm", proc_root, tgid);
	if (readfile__at(AT_FDCWD, path, comm, sizeof(comm)) > 0)
		comm[strcspn(comm, "\n")] = '\0';
	snprintf(path, sizeof(path), "%s/%u/exe", proc_root, tgid);
	n = readlink(path, exe, sizeof(exe) - 1);
	exe[n > 0 ? n : 0] = '\0';
	/* A deleted executable still names what runs. */
	if (n > 10 && !strcmp(exe + n - 10, " (deleted)"))
		exe[n - 10] = '\0';
	snprintf(path, sizeof(path), "%s/%u/cmdline", proc_root, tgid);
	{
		int fd = open(path, O_RDONLY | O_CLOEXEC);

		if (fd >= 0) {
			cmd_len = read(fd, cmdline, sizeof(cmdline));
			close(fd);
		}
	}
	procname__choose(comm, exe, cmdline, cmd_len > 0 ? (size_t)cmd_len : 0, thread, out);
}

void procname__read(const char *proc_root, uint32_t tgid, uint64_t start_ns,
		    const char *thread, char out[PROCNAME_LEN])
{
	if (same_process(proc_root, tgid, start_ns))
		read_and_choose(proc_root, tgid, thread, out);
	else
		procname__choose(NULL, NULL, NULL, 0, thread, out);
}

void procname__read_now(const char *proc_root, uint32_t tgid, char out[PROCNAME_LEN])
{
	read_and_choose(proc_root, tgid, "", out);
}
