/* Names of JIT-compiled code from the perf map a runtime writes for profilers
 * (node --perf-basic-prof, Java's perf-map-agent, ...): one line per code
 * object, hex start and size without "0x", then the name, which may hold
 * spaces:
 *
 *	3a2f0c0e4a40 6c LazyCompile:*processReport /app/server.js:42
 *	7f3a88006a40 5cc JS:*memscopeJitProbeRetain /app/jsfuncs.js:21:32
 *
 * The runtime appends as it compiles and reuses freed code space, so a
 * later line covering an address wins over earlier ones (as perf does).
 *
 * The file lives in the process's /tmp, named by its pid in its own pid
 * namespace, and is written by the process: untrusted. Reading is bounded
 * (PERFMAP_FILE_MAX bytes, PERFMAP_ENTRIES_MAX entries, lines longer than
 * PERFMAP_LINE_MAX skipped), malformed lines are skipped, and the file is
 * opened only inside the process's root (see perfmap__open_in_root).
 */
#ifndef MEMSCOPE_PERFMAP_H
#define MEMSCOPE_PERFMAP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define PERFMAP_FILE_MAX	(64u << 20)	/* bytes of one file read, the rest ignored */
#define PERFMAP_LINE_MAX	4096		/* longer lines (without '\n') are skipped */
#define PERFMAP_ENTRIES_MAX	(2u << 20)	/* later lines are ignored */
/* A code object bigger than this is not code: the line is skipped, so one
 * bogus line cannot name a whole address space. */
#define PERFMAP_SIZE_MAX	(256ULL << 20)
/* A loaded map looks at its file again at most this often. */
#define PERFMAP_REFRESH_NS	1000000000ULL
/* A file that shrank (truncated and written anew) is parsed from its start
 * again at most this often: in between, the names read before stay, and only
 * appends are read. */
#define PERFMAP_RESET_NS	(16 * PERFMAP_REFRESH_NS)

struct perfmap;

/* An empty map, for perfmap__parse. NULL + errno ENOMEM. */
struct perfmap *perfmap__new(void);

/* Add the lines of text[0..len) (need not be NUL-terminated; a last line
 * without '\n' counts) after those already in pm. Returns the number of
 * lines skipped as malformed, too long or over PERFMAP_ENTRIES_MAX, or
 * -ENOMEM (pm then holds what it held before). */
long perfmap__parse(struct perfmap *pm, const char *text, size_t len);

/* Name of the code holding addr, or NULL; *start (may be NULL) gets the
 * start of that code. The name lives until pm changes. */
const char *perfmap__lookup(const struct perfmap *pm, uint64_t addr, uint64_t *start);

/* Entries kept (lines that parsed). */
size_t perfmap__count(const struct perfmap *pm);

/*
 * Open tmp/perf-<nspid>.map inside the root directory rootfd (the process's
 * / as /proc/PID/root gives it), for reading. Absolute symlinks and ".." are
 * resolved against rootfd, never against memscope's own root, and no /proc
 * magic link is followed, so a planted symlink cannot reach a host file. The
 * file must be a regular file owned by uid and lie on the mount of the root
 * or of its /tmp (a path into /proc, /sys or /dev is refused; RESOLVE_NO_XDEV
 * would also refuse a /tmp that is a tmpfs or a volume of its own), and is
 * never opened for reading before those checks (no FIFO or device open).
 * fd, or -errno: ENOENT, EACCES (other owner), EXDEV (other mount), EINVAL
 * (not a regular file), ELOOP (a magic link, or a symlink loop), ...
 */
int perfmap__open_in_root(int rootfd, pid_t nspid, uid_t uid);

/*
 * The perf map of process pid, as proc_root ("/proc", or a fixture tree with
 * PID/status and PID/root) shows it: its pid namespace pid from PID/status,
 * its root from PID/root, and the owner the file must have is PID's owner
 * (the process's effective uid; root for a process that is not dumpable).
 * NULL + errno (ENOENT: no map).
 */
struct perfmap *perfmap__load(const char *proc_root, pid_t pid);
struct perfmap *perfmap__load_pid(pid_t pid);	/* from /proc */

/* The map file of pid as proc_root shows it, opened now (as perfmap__load
 * does). fd or -errno. */
int perfmap__open(const char *proc_root, pid_t pid);

/* A map read from fd (not consumed), which perfmap__open gave for pid of
 * proc_root: it is refreshed through pid. NULL + errno. */
struct perfmap *perfmap__load_fd(const char *proc_root, pid_t pid, int fd);

/* Device and inode of the file the map was read from (0 for perfmap__new). */
void perfmap__file(const struct perfmap *pm, uint64_t *dev, uint64_t *ino);

/* Bytes the map holds (its entries, names and index). */
uint64_t perfmap__bytes(const struct perfmap *pm);

/* Read what was appended to fd, the map's file opened by the caller now
 * (perfmap__open), at most once per PERFMAP_REFRESH_NS (and a reset at most
 * once per PERFMAP_RESET_NS). As perfmap__refresh otherwise. */
int perfmap__update_fd(struct perfmap *pm, int fd, uint64_t now_ns);

/*
 * Read what the process appended since the last look, if PERFMAP_REFRESH_NS
 * passed since then (now_ns: CLOCK_MONOTONIC, or a test's clock). A file that
 * was replaced or shrank is read again from its start (a shrunk one once per
 * PERFMAP_RESET_NS at most). 1 when entries were
 * added, 0 when nothing changed or it is too early, -errno when the file
 * cannot be opened now (what was read stays). -EINVAL for a map made by
 * perfmap__new.
 */
int perfmap__refresh(struct perfmap *pm, uint64_t now_ns);

void perfmap__free(struct perfmap *pm);

#endif
