#include <criterion/criterion.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "elf_file.h"
#include "fixtures/symfix.h"
#include "procmaps.h"
#include "usyms.h"

/* libc itself, not an interposer (ASan, preloads) that may shadow it. */
#define LIBC dlopen("libc.so.6", RTLD_LAZY | RTLD_NOLOAD)

#define SYMFIX_PIE	"build/fixtures/symfix"
#define SYMFIX_NOPIE	"build/fixtures/symfix.nopie"
#define NAME_LEN	256

/* A running `symfix wait` and the runtime addresses it reported. */
struct child {
	pid_t pid;
	int to;
	FILE *from;
	uint64_t leak_fn, churn_fn, static_fn, leaf, mangled;
};

static void child_start(struct child *c, const char *path)
{
	char line[512];
	int in[2], out[2];

	memset(c, 0, sizeof(*c));
	cr_assert_eq(access(path, X_OK), 0, "%s missing: run `make build/fixtures/symfix`", path);
	cr_assert_eq(pipe2(in, O_CLOEXEC), 0);
	cr_assert_eq(pipe2(out, O_CLOEXEC), 0);
	c->pid = fork();
	cr_assert_geq(c->pid, 0);
	if (c->pid == 0) {
		dup2(in[0], STDIN_FILENO);
		dup2(out[1], STDOUT_FILENO);
		execl(path, path, "wait", (char *)NULL);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	c->to = in[1];
	c->from = fdopen(out[0], "r");
	cr_assert_not_null(c->from);
	cr_assert_not_null(fgets(line, sizeof(line), c->from), "%s did not start", path);
	cr_assert_eq(sscanf(line,
			    "ready leak_fn=%" SCNx64 " churn_fn=%" SCNx64 " static_fn=%" SCNx64
			    " leaf=%" SCNx64 " mangled=%" SCNx64,
			    &c->leak_fn, &c->churn_fn, &c->static_fn, &c->leaf, &c->mangled),
		     5, "bad line: %s", line);
}

static void child_stop(struct child *c)
{
	kill(c->pid, SIGKILL);
	waitpid(c->pid, NULL, 0);
	close(c->to);
	fclose(c->from);
}

static uint64_t fixture_vaddr(const char *path, const char *sym)
{
	struct elf_file *ef = elf_file__open_fd(open(path, O_RDONLY | O_CLOEXEC));
	uint64_t vaddr = 0;

	cr_assert_not_null(ef, "%s", path);
	cr_assert_eq(elf_file__symbol_addr(ef, sym, &vaddr), 0, "%s: no %s", path, sym);
	elf_file__close(ef);
	return vaddr;
}

static void assert_name(struct usyms *u, struct uframe f, bool is_ret, const char *want)
{
	char name[NAME_LEN];

	cr_assert_eq(usyms__frame_name(u, f, is_ret, name, sizeof(name)), 0);
	cr_assert_str_eq(name, want);
}

/* Resolve while the process lives, name after it is gone. */
static void check_live_fixture(const char *path)
{
	struct usyms *u = usyms__new();
	struct uframe leak, leak_ret, stat, mangled;
	struct child c;

	cr_assert_not_null(u);
	child_start(&c, path);
	cr_assert_eq(usyms__add_pid(u, c.pid), 0);
	cr_assert_eq(usyms__resolve(u, c.pid, c.leak_fn, &leak), 0);
	/* A return address just past a call at leak_fn's first byte. */
	cr_assert_eq(usyms__resolve(u, c.pid, c.leak_fn + 1, &leak_ret), 0);
	cr_assert_eq(usyms__resolve(u, c.pid, c.static_fn + 2, &stat), 0);
	cr_assert_eq(usyms__resolve(u, c.pid, c.mangled, &mangled), 0);
	child_stop(&c);

	cr_assert_neq(leak.module, 0);
	cr_assert_eq(leak.vaddr, fixture_vaddr(path, "leak_fn"));
	cr_assert_eq(stat.vaddr, fixture_vaddr(path, "static_fn") + 2);
	assert_name(u, leak, false, "leak_fn");
	assert_name(u, leak_ret, true, "leak_fn");
	assert_name(u, stat, false, "static_fn");
	assert_name(u, mangled, false, SYMFIX_DEMANGLED);
	cr_assert_str_eq(strrchr(usyms__module_path(u, leak.module), '/') + 1,
			 strrchr(path, '/') + 1);
	usyms__free(u);
}

Test(usyms, live_pie_process)
{
	check_live_fixture(SYMFIX_PIE);
}

Test(usyms, live_nopie_process)
{
	check_live_fixture(SYMFIX_NOPIE);
}

/* The libc the child mapped, through the child's own maps. */
static uint64_t child_exec_addr_of(pid_t pid, const char *path)
{
	struct procmaps maps;
	uint64_t addr = 0;

	cr_assert_eq(procmaps__read_pid(pid, &maps), 0);
	for (size_t i = 0; i < maps.n && !addr; i++) {
		if (maps.maps[i].path && procmap__is_exec(&maps.maps[i]) &&
		    strcmp(maps.maps[i].path, path) == 0)
			addr = maps.maps[i].start;
	}
	procmaps__free(&maps);
	cr_assert_neq(addr, 0, "child %d has no %s", pid, path);
	return addr;
}

Test(usyms, same_file_is_one_module)
{
	struct usyms *u = usyms__new();
	struct uframe a, b, libc_self, libc_child;
	void *qsort_fn = dlsym(LIBC, "qsort");
	struct child ca, cb;
	char libc_path[PATH_MAX];
	Dl_info info;

	cr_assert(dladdr(qsort_fn, &info));
	cr_assert_not_null(realpath(info.dli_fname, libc_path));
	child_start(&ca, SYMFIX_PIE);
	child_start(&cb, SYMFIX_PIE);
	cr_assert_eq(usyms__resolve(u, ca.pid, ca.leak_fn, &a), 0);
	cr_assert_eq(usyms__resolve(u, cb.pid, cb.leak_fn, &b), 0);
	cr_assert_eq(usyms__resolve(u, getpid(), (uintptr_t)qsort_fn, &libc_self), 0);
	cr_assert_eq(usyms__resolve(u, ca.pid, child_exec_addr_of(ca.pid, libc_path),
				    &libc_child), 0);
	child_stop(&ca);
	child_stop(&cb);

	cr_assert_neq(a.module, 0);
	cr_assert_eq(a.module, b.module);
	cr_assert_eq(a.vaddr, b.vaddr);
	/* The child's libc and ours are the same file. */
	cr_assert_neq(libc_self.module, 0);
	cr_assert_eq(libc_child.module, libc_self.module);
	cr_assert_neq(libc_child.module, a.module);
	assert_name(u, libc_self, false, "qsort");
	usyms__free(u);
}

/* memset is an IFUNC: dlsym returns the CPU-specific variant, which only
 * libc's separate debug file names (libc6-dbg). */
Test(usyms, libc_memset_in_self)
{
	struct usyms *u = usyms__new();
	void *impl = dlsym(LIBC, "memset");
	char name[NAME_LEN], debug[512];
	struct elf_file *ef;
	struct uframe f;
	Dl_info info;
	const char *bid;

	cr_assert(dladdr(impl, &info));
	ef = elf_file__open_fd(open(info.dli_fname, O_RDONLY | O_CLOEXEC));
	cr_assert_not_null(ef);
	bid = elf_file__build_id(ef);
	cr_assert_not_null(bid);
	snprintf(debug, sizeof(debug), "%s/%.2s/%s.debug", USYMS_DEBUG_DIR, bid, bid + 2);
	elf_file__close(ef);

	cr_assert_eq(usyms__resolve(u, getpid(), (uintptr_t)impl, &f), 0);
	cr_assert_neq(f.module, 0);
	cr_assert_eq(usyms__frame_name(u, f, false, name, sizeof(name)), 0);
	if (access(debug, R_OK) != 0) {
		/* Without debug symbols: at least the library. */
		cr_assert(strstr(name, "memset") || strstr(name, "[libc"), "%s", name);
		usyms__free(u);
		cr_skip_test("no %s (libc6-dbg): memset variant not named", debug);
	}
	cr_assert(strstr(name, "memset"), "%s", name);
	usyms__free(u);
}

static void copy_file(const char *from, const char *to)
{
	char buf[65536];
	ssize_t n;
	int in = open(from, O_RDONLY | O_CLOEXEC);
	int out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);

	cr_assert_geq(in, 0);
	cr_assert_geq(out, 0);
	while ((n = read(in, buf, sizeof(buf))) > 0)
		cr_assert_eq(write(out, buf, n), n);
	close(in);
	close(out);
}

Test(usyms, deleted_executable)
{
	char dir[] = "/tmp/usyms_test.XXXXXX", exe[64];
	struct usyms *u = usyms__new();
	struct uframe f;
	struct child c;
	const char *path;

	cr_assert_not_null(mkdtemp(dir));
	snprintf(exe, sizeof(exe), "%s/symfix", dir);
	copy_file(SYMFIX_PIE, exe);
	child_start(&c, exe);
	cr_assert_eq(unlink(exe), 0);
	cr_assert_eq(rmdir(dir), 0);

	cr_assert_eq(usyms__resolve(u, c.pid, c.leak_fn, &f), 0);
	child_stop(&c);
	assert_name(u, f, false, "leak_fn");
	path = usyms__module_path(u, f.module);
	cr_assert_not_null(path);
	cr_assert(strstr(path, "(deleted)"), "%s", path);
	usyms__free(u);
}

/* Mappings made after the snapshot: found by re-reading the maps. */
Test(usyms, rereads_maps_for_new_mappings)
{
	struct usyms *u = usyms__new();
	struct uframe leak, alias, anon;
	uint64_t anon_addr, alias_addr;
	char line[256];
	struct child c;

	child_start(&c, SYMFIX_PIE);
	cr_assert_eq(usyms__add_pid(u, c.pid), 0);
	cr_assert_eq(usyms__resolve(u, c.pid, c.leak_fn, &leak), 0);
	cr_assert_eq(write(c.to, "map\n", 4), 4);
	cr_assert_not_null(fgets(line, sizeof(line), c.from));
	cr_assert_eq(sscanf(line, "mapped anon=%" SCNx64 " alias_leak_fn=%" SCNx64, &anon_addr,
			    &alias_addr), 2, "%s", line);
	cr_assert(anon_addr && alias_addr, "%s", line);

	cr_assert_eq(usyms__resolve(u, c.pid, alias_addr, &alias), 0);
	cr_assert_eq(usyms__resolve(u, c.pid, anon_addr + 16, &anon), 0);
	child_stop(&c);

	/* Same file at another address and offset: same module and vaddr. */
	cr_assert_eq(alias.module, leak.module);
	cr_assert_eq(alias.vaddr, leak.vaddr);
	assert_name(u, alias, false, "leak_fn");
	cr_assert_eq(anon.module, 0);
	cr_assert_eq(anon.vaddr, anon_addr + 16);
	assert_name(u, anon, false, "[unknown]");
	usyms__free(u);
}

Test(usyms, leaf_caller_from_cfi)
{
	const uint64_t ra_value = 0x7f0000401234ULL;
	struct usyms *u = usyms__new();
	uint64_t stack[4] = { 0x1111, ra_value, 0x3333, 0x4444 }, ra = 0;
	struct unwind_regs r = { .sp = 0x7ffc00001000ULL, .stack = (const uint8_t *)stack,
				 .stack_len = sizeof(stack) };
	struct child c;

	child_start(&c, SYMFIX_PIE);
	cr_assert_eq(usyms__add_pid(u, c.pid), 0);
	child_stop(&c);

	/* After the push, the return address is the second word. */
	r.ip = c.leaf + SYMFIX_LEAF_PUSHED;
	cr_assert_eq(usyms__leaf_caller(u, c.pid, &r, &ra), 0);
	cr_assert_eq(ra, ra_value);
	/* At entry it is the first word. */
	r.ip = c.leaf;
	cr_assert_eq(usyms__leaf_caller(u, c.pid, &r, &ra), 0);
	cr_assert_eq(ra, 0x1111);
	r.stack_len = 4;
	cr_assert_eq(usyms__leaf_caller(u, c.pid, &r, &ra), -ERANGE);
	/* Not in any mapping. */
	r.ip = 0x10;
	cr_assert_eq(usyms__leaf_caller(u, c.pid, &r, &ra), -ENOENT);
	usyms__free(u);
}

Test(usyms, unknown_and_bad_input)
{
	struct usyms *u = usyms__new();
	struct uframe f = { .module = 7, .vaddr = 7 }, bogus = { .module = 9999, .vaddr = 1 };
	char name[NAME_LEN];
	struct child c;

	cr_assert_eq(usyms__resolve(u, getpid(), 0x10, &f), -ENOENT);
	cr_assert_eq(f.module, 0);
	assert_name(u, f, false, "[unknown]");
	assert_name(u, bogus, true, "[unknown]");
	cr_assert_null(usyms__module_path(u, 0));
	cr_assert_null(usyms__module_path(u, 9999));

	/* pid_max is at most 2^22: this pid never exists. */
	cr_assert_eq(usyms__add_pid(u, 0x7ffffff0), -ESRCH);
	cr_assert_eq(usyms__resolve(u, 0x7ffffff0, 0x401000, &f), -ESRCH);

	cr_assert_eq(usyms__frame_name(u, bogus, false, name, 4), -ENOSPC);
	cr_assert_str_eq(name, "[un");
	cr_assert_eq(usyms__frame_name(u, bogus, false, name, 0), -EINVAL);

	/* Forgotten and exited: nothing left to resolve against. */
	child_start(&c, SYMFIX_PIE);
	cr_assert_eq(usyms__add_pid(u, c.pid), 0);
	usyms__forget_pid(u, c.pid);
	usyms__forget_pid(u, c.pid);
	child_stop(&c);
	cr_assert_eq(usyms__resolve(u, c.pid, c.leak_fn, &f), -ESRCH);
	usyms__free(u);
}

/* A frame resolved before forget_pid still names fine: modules stay. */
Test(usyms, frames_outlive_forget)
{
	struct usyms *u = usyms__new();
	struct uframe f;
	struct child c;

	child_start(&c, SYMFIX_NOPIE);
	cr_assert_eq(usyms__resolve(u, c.pid, c.churn_fn + 3, &f), 0);
	usyms__forget_pid(u, c.pid);
	child_stop(&c);
	assert_name(u, f, false, "churn_fn");
	usyms__free(u);
}
