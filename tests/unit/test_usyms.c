#include <criterion/criterion.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "budget.h"
#include "elf_file.h"
#include "fixtures/symfix.h"
#include "perfmap.h"
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

/* With no room at all, every module in use evicts the others: the names are
 * the same, read again each time, and a module is never released under the
 * caller (resolve, then name, then unwind through the same one). */
Test(usyms, names_survive_eviction)
{
	struct usyms *u = usyms__new();
	void *memset_impl = dlsym(LIBC, "memset");
	struct uframe leak, mset;
	char first_leak[NAME_LEN], first_mset[NAME_LEN], name[NAME_LEN];
	uint64_t evicted;
	struct child c;

	cr_assert_not_null(u);
	child_start(&c, SYMFIX_PIE);
	cr_assert_eq(usyms__resolve(u, c.pid, c.leak_fn, &leak), 0);
	cr_assert_eq(usyms__resolve(u, getpid(), (uintptr_t)memset_impl, &mset), 0);
	child_stop(&c);
	cr_assert_eq(usyms__frame_name(u, leak, false, first_leak, sizeof(first_leak)), 0);
	cr_assert_eq(usyms__frame_name(u, mset, false, first_mset, sizeof(first_mset)), 0);
	cr_assert_str_eq(first_leak, "leak_fn");

	usyms__set_budgets(u, 1, 1);
	evicted = budget_counts.elf_evicted;
	for (int i = 0; i < 4; i++) {
		cr_assert_eq(usyms__frame_name(u, leak, false, name, sizeof(name)), 0);
		cr_expect_str_eq(name, first_leak);
		cr_assert_eq(usyms__frame_name(u, mset, false, name, sizeof(name)), 0);
		cr_expect_str_eq(name, first_mset);
	}
	cr_expect_geq(budget_counts.elf_evicted - evicted, 7, "%llu evictions",
		      (unsigned long long)(budget_counts.elf_evicted - evicted));
	usyms__free(u);
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
	char name[NAME_LEN], debug[512], libc_bid[2 * ELF_FILE_BUILD_ID_MAX + 1];
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
	snprintf(libc_bid, sizeof(libc_bid), "%s", bid);
	elf_file__close(ef);

	cr_assert_eq(usyms__resolve(u, getpid(), (uintptr_t)impl, &f), 0);
	cr_assert_neq(f.module, 0);
	cr_assert_str_eq(usyms__module_build_id(u, f.module), libc_bid);
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
	/* Anonymous executable memory is JIT code; symfix has no V8. */
	cr_assert_eq(anon.module, USYMS_JIT_MODULE);
	assert_name(u, anon, false, "[jit]");
	usyms__free(u);
}

/* A process maps its libraries a few milliseconds after the miss that made
 * us re-read its maps (ld.so after exec): a later miss re-reads them again
 * well before a second has passed. */
Test(usyms, reread_again_soon_after_a_miss)
{
	struct usyms *u = usyms__new();
	struct uframe none, alias;
	uint64_t anon_addr, alias_addr;
	char line[256];
	struct child c;

	child_start(&c, SYMFIX_PIE);
	cr_assert_eq(usyms__add_pid(u, c.pid), 0);
	/* A miss: the maps are re-read now, and the next re-read waits. */
	cr_assert_eq(usyms__resolve(u, c.pid, 0x1000, &none), -ENOENT);
	cr_assert_eq(write(c.to, "map\n", 4), 4);
	cr_assert_not_null(fgets(line, sizeof(line), c.from));
	cr_assert_eq(sscanf(line, "mapped anon=%" SCNx64 " alias_leak_fn=%" SCNx64, &anon_addr,
			    &alias_addr), 2, "%s", line);
	usleep(100 * 1000);	/* past the first gaps, far below one second */
	cr_assert_eq(usyms__resolve(u, c.pid, alias_addr, &alias), 0);
	child_stop(&c);
	assert_name(u, alias, false, "leak_fn");
	usyms__free(u);
}

Test(usyms, unwind_rule_from_cfi)
{
	struct usyms *u = usyms__new();
	struct unwind_rule r;
	struct child c;

	child_start(&c, SYMFIX_PIE);
	cr_assert_eq(usyms__add_pid(u, c.pid), 0);
	child_stop(&c);

	/* After the push, the return address is the second word above sp. */
	cr_assert_eq(usyms__unwind_rule(u, c.pid, c.leaf + SYMFIX_LEAF_PUSHED, &r), 0);
	cr_assert_eq(r.cfa_base, UNWIND_CFA_SP);
	cr_assert_eq(r.cfa_off, 16);
	cr_assert_eq(r.ra_off, -8);
	cr_assert_not(r.outermost);
	/* At entry it is the first word. */
	cr_assert_eq(usyms__unwind_rule(u, c.pid, c.leaf, &r), 0);
	cr_assert_eq(r.cfa_off, 8);
	cr_assert_eq(r.ra_off, -8);
	/* Not in any mapping. */
	cr_assert_eq(usyms__unwind_rule(u, c.pid, 0x10, &r), -ENOENT);
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
	cr_assert_null(usyms__module_build_id(u, 0));
	cr_assert_null(usyms__module_build_id(u, 9999));

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

/* ---- JIT code ---------------------------------------------------------------- */

#define JITFIX		"build/fixtures/jitfix"
#define JITFIX_SIZE	8192

struct jit_child {
	pid_t pid;
	int to;
	FILE *from;
	uint64_t code;
	char map[64];	/* its perf map, in our /tmp (it shares our root) */
};

static void jit_child_start(struct jit_child *c)
{
	char line[128];
	int in[2], out[2];

	memset(c, 0, sizeof(*c));
	cr_assert_eq(access(JITFIX, X_OK), 0, "%s missing: run `make %s`", JITFIX, JITFIX);
	cr_assert_eq(pipe2(in, O_CLOEXEC), 0);
	cr_assert_eq(pipe2(out, O_CLOEXEC), 0);
	c->pid = fork();
	cr_assert_geq(c->pid, 0);
	if (c->pid == 0) {
		dup2(in[0], STDIN_FILENO);
		dup2(out[1], STDOUT_FILENO);
		execl(JITFIX, JITFIX, (char *)NULL);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	c->to = in[1];
	c->from = fdopen(out[0], "r");
	cr_assert_not_null(c->from);
	cr_assert_not_null(fgets(line, sizeof(line), c->from), "jitfix did not start");
	cr_assert_eq(sscanf(line, "ready jit=%" SCNx64, &c->code), 1, "bad line: %s", line);
	snprintf(c->map, sizeof(c->map), "/tmp/perf-%d.map", (int)c->pid);
}

static void jit_child_write_map(const struct jit_child *c, const char *fmt, ...)
{
	FILE *f = fopen(c->map, "a");
	va_list ap;

	cr_assert_not_null(f, "%s: %s", c->map, strerror(errno));
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	cr_assert_eq(fclose(f), 0);
}

static void jit_child_stop(struct jit_child *c)
{
	kill(c->pid, SIGKILL);
	waitpid(c->pid, NULL, 0);
	close(c->to);
	fclose(c->from);
	unlink(c->map);
}

/* Named from the perf map while the process lives; the names outlive it. */
Test(usyms, jit_frames_named_from_perf_map)
{
	struct usyms *u = usyms__new();
	struct uframe hot, second, ret_at_end, unnamed, again;
	struct jit_child c;

	jit_child_start(&c);
	unlink(c.map);
	jit_child_write_map(&c,
			    "%" PRIx64 " 40 JS:*hotLoop /app/server.js:42:7\n"
			    "%" PRIx64 " 40 LazyCompile:~second\n"
			    "%" PRIx64 " 40 JS:^endsInCall\n",
			    c.code, c.code + 0x40, c.code + 0x100);
	cr_assert_eq(usyms__resolve(u, c.pid, c.code + 8, &hot), 0);
	cr_assert_eq(usyms__resolve(u, c.pid, c.code + 0x40, &second), 0);
	/* A return address just past the last byte of a function. */
	cr_assert_eq(usyms__resolve(u, c.pid, c.code + 0x140, &ret_at_end), 0);
	cr_assert_eq(usyms__resolve(u, c.pid, c.code + 0x1000, &unnamed), 0);
	cr_assert_eq(usyms__resolve(u, c.pid, c.code + 0x10, &again), 0);
	usyms__forget_pid(u, c.pid);
	jit_child_stop(&c);

	cr_assert_eq(hot.module, USYMS_JIT_MODULE);
	cr_assert_eq(unnamed.module, USYMS_JIT_MODULE);
	cr_assert_eq(hot.vaddr, again.vaddr, "one name, one id");
	cr_assert_neq(hot.vaddr, second.vaddr);
	assert_name(u, hot, false, "JS:*hotLoop /app/server.js:42:7");
	assert_name(u, hot, true, "JS:*hotLoop /app/server.js:42:7");
	assert_name(u, second, true, "LazyCompile:~second");
	assert_name(u, ret_at_end, true, "JS:^endsInCall");
	/* No entry in a process that has V8. */
	assert_name(u, unnamed, false, "[v8 jit]");
	cr_assert_null(usyms__module_path(u, USYMS_JIT_MODULE));
	usyms__free(u);
}

/* Code compiled later is appended to the map: read again after a second. */
Test(usyms, jit_map_appended_later)
{
	struct usyms *u = usyms__new();
	struct uframe before, after;
	struct jit_child c;

	jit_child_start(&c);
	unlink(c.map);
	jit_child_write_map(&c, "%" PRIx64 " 40 JS:*early\n", c.code);
	cr_assert_eq(usyms__resolve(u, c.pid, c.code + 0x800, &before), 0);
	jit_child_write_map(&c, "%" PRIx64 " 40 JS:*compiledLater\n", c.code + 0x800);
	usleep(PERFMAP_REFRESH_NS / 1000 + 100 * 1000);
	cr_assert_eq(usyms__resolve(u, c.pid, c.code + 0x800, &after), 0);
	jit_child_stop(&c);
	assert_name(u, before, false, "[v8 jit]");
	assert_name(u, after, false, "JS:*compiledLater");
	usyms__free(u);
}

/* No perf map and no V8: "[jit]"; the leaf unwinder does not treat JIT
 * frames as modules. */
Test(usyms, jit_without_v8)
{
	struct usyms *u = usyms__new();
	struct unwind_rule r;
	struct uframe f;
	void *code = mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	cr_assert_neq(code, MAP_FAILED);
	cr_assert_eq(usyms__resolve(u, getpid(), (uint64_t)code + 4, &f), 0);
	cr_assert_eq(f.module, USYMS_JIT_MODULE);
	assert_name(u, f, false, "[jit]");
	cr_assert_eq(usyms__unwind_rule(u, getpid(), (uint64_t)code + 4, &r), -ENOENT);
	munmap(code, 4096);
	usyms__free(u);
}

/* A long name is cut to the buffer, leaving room for the "_[j]" the folded
 * writer adds, at a whole UTF-8 character. */
Test(usyms, jit_name_cut_keeps_suffix)
{
	struct usyms *u = usyms__new();
	struct uframe f, bogus = { .module = USYMS_JIT_MODULE, .vaddr = 1u << 30 };
	char name[NAME_LEN];
	struct jit_child c;

	jit_child_start(&c);
	unlink(c.map);
	/* "JS:*" then 'é' (2 bytes) repeated. */
	jit_child_write_map(&c, "%" PRIx64 " 40 JS:*", c.code);
	for (int i = 0; i < 40; i++)
		jit_child_write_map(&c, "\xc3\xa9");
	jit_child_write_map(&c, "\n");
	cr_assert_eq(usyms__resolve(u, c.pid, c.code, &f), 0);
	jit_child_stop(&c);

	cr_assert_eq(usyms__frame_name(u, f, false, name, 16), -ENOSPC);
	/* 15 bytes of room: "JS:*" + 3 x 'é' (6) + "_[j]" = 14; a 4th would split. */
	cr_assert_str_eq(name, "JS:*\xc3\xa9\xc3\xa9\xc3\xa9");
	cr_assert(usyms__jit_named(u, f));
	cr_assert_eq(usyms__frame_name(u, f, false, name, 17), -ENOSPC);
	cr_assert_str_eq(name, "JS:*\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9");
	cr_assert_eq(usyms__frame_name(u, f, false, name, 3), -ENOSPC);
	cr_assert_str_eq(name, "JS");
	cr_assert_eq(usyms__frame_name(u, f, false, name, sizeof(name)), 0);
	cr_assert_eq(strlen(name), 4 + 80);
	assert_name(u, bogus, false, "[unknown]");
	usyms__free(u);
}

/* Loading a map drops those of processes that exited: frames resolved
 * before keep their names, later ones of the dead process are unnamed. */
Test(usyms, jit_maps_of_exited_processes_dropped)
{
	struct usyms *u = usyms__new();
	struct uframe a_before, a_after, b;
	struct jit_child a, c;

	jit_child_start(&a);
	jit_child_start(&c);
	unlink(a.map);
	unlink(c.map);
	jit_child_write_map(&a, "%" PRIx64 " 40 JS:*inA\n", a.code);
	jit_child_write_map(&c, "%" PRIx64 " 40 JS:*inB\n", c.code);
	cr_assert_eq(usyms__resolve(u, a.pid, a.code, &a_before), 0);
	jit_child_stop(&a);
	cr_assert_eq(usyms__resolve(u, c.pid, c.code, &b), 0);
	cr_assert_eq(usyms__resolve(u, a.pid, a.code, &a_after), 0);
	jit_child_stop(&c);
	assert_name(u, a_before, false, "JS:*inA");
	assert_name(u, b, false, "JS:*inB");
	assert_name(u, a_after, false, "[v8 jit]");
	usyms__free(u);
}
