#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "budget.h"
#include "hmap.h"
#include "log.h"
#include "perfmap.h"
#include "procmaps.h"
#include "safe_open.h"
#include "usyms.h"

/* Mappings of one file are adjacent: how far back to look for a sibling
 * mapping already resolved in the same snapshot. */
#define SIBLING_LOOKBACK	8
#define DELETED_SUFFIX		" (deleted)"
/* Room kept for the "_[j]" the folded writer adds to a JIT name. */
#define JIT_MARK_LEN		4

/* Name ids of JIT frames without a name of their own. */
enum { JIT_ANON, JIT_V8, JIT_FIRST_NAME };
static const char *const jit_unnamed[JIT_FIRST_NAME] = { "[jit]", "[v8 jit]" };

/* A public V8 API function every embedder calls: exported even by stripped
 * builds (addons link against it), stable across V8 versions. */
static const char *const v8_markers[] = { "_ZN2v82V818InitializePlatformEPNS_8PlatformE" };

enum tristate { TRI_UNKNOWN, TRI_NO, TRI_YES };

struct module {
	struct budget_node node;	/* bytes of ef and debug, in u->elf_budget */
	struct elf_file *ef;	/* NULL when the file could not be opened or parsed */
	struct elf_file *debug;	/* separate debug file, found lazily by build id */
	bool debug_done;
	enum tristate v8;
	char *path;
};

/* Index key: fixed size and zero-filled, so it can be hashed as bytes. */
struct module_key {
	uint64_t ino;
	uint32_t dev_major, dev_minor;
	char build_id[2 * ELF_FILE_BUILD_ID_MAX + 1];	/* "" when none */
};

struct proc {
	struct procmaps maps;
	uint32_t *modules;	/* per mapping: module id, 0 = none */
	uint64_t reread_ns;	/* last re-read after a miss, 0 = none yet */
	uint64_t reread_gap_ns;	/* wait before the next one; 0 = none yet */
	bool gone;		/* a re-read found the process exited */
};

/* A perf map file, parsed once for every process that has it (hard links,
 * or one /tmp shared by several processes). */
struct pm_key {
	uint64_t dev, ino;
};

struct shared_map {
	struct budget_node node;	/* in u->pm_budget while pm is loaded */
	struct pm_key key;
	struct perfmap *pm;	/* NULL: evicted, read again when needed */
	uint32_t refs;		/* jit_procs using it */
	uint64_t loaded_ns;	/* last (re)load */
};

/* JIT state of a process; it outlives the snapshots of its maps. */
struct jit_proc {
	struct shared_map *map;	/* NULL: none found (yet) */
	uint64_t tried_ns;	/* last attempt to find or check its map */
	uint64_t switched_ns;	/* last move to another file */
	enum tristate v8;
};

struct usyms {
	struct module *modules;	/* [0] is unused: id 0 means unknown */
	uint32_t nmodules;
	struct hmap *module_ids;	/* struct module_key -> uint32_t */
	struct hmap *procs;		/* int pid -> struct proc */
	struct hmap *jit_procs;		/* int pid -> struct jit_proc */
	struct hmap *jit_ids;		/* name -> uint32_t id */
	char **jit_names;		/* by id; [0, JIT_FIRST_NAME) unused */
	uint32_t njit, jit_cap;
	size_t jit_bytes;
	struct hmap *maps;		/* struct pm_key -> struct shared_map * */
	struct budget elf_budget;	/* modules' parsed ELF data */
	struct budget pm_budget;	/* loaded perf maps */
	const char *proc_root;
};

struct usyms *usyms__new(void)
{
	struct usyms *u = calloc(1, sizeof(*u));

	if (!u)
		return NULL;
	u->modules = calloc(USYMS_MODULES_MAX, sizeof(*u->modules));
	u->module_ids = hmap__new(sizeof(uint32_t));
	u->procs = hmap__new(sizeof(struct proc));
	u->jit_procs = hmap__new(sizeof(struct jit_proc));
	u->jit_ids = hmap__new(sizeof(uint32_t));
	u->maps = hmap__new(sizeof(struct shared_map *));
	if (!u->modules || !u->module_ids || !u->procs || !u->jit_procs || !u->jit_ids ||
	    !u->maps) {
		usyms__free(u);
		errno = ENOMEM;
		return NULL;
	}
	u->nmodules = 1;
	u->njit = JIT_FIRST_NAME;
	u->proc_root = "/proc";
	budget__init(&u->elf_budget, BUDGET_ELF_BYTES, &budget_counts.elf_evicted);
	budget__init(&u->pm_budget, BUDGET_PERFMAP_BYTES, &budget_counts.perfmap_evicted);
	return u;
}

static void proc_release(struct proc *p)
{
	procmaps__free(&p->maps);
	free(p->modules);
	p->modules = NULL;
}

void usyms__free(struct usyms *u)
{
	size_t iter = 0;
	void *val;

	if (!u)
		return;
	if (u->procs) {
		while (hmap__next(u->procs, &iter, NULL, NULL, &val))
			proc_release(val);
		hmap__free(u->procs);
	}
	hmap__free(u->jit_procs);
	iter = 0;
	if (u->maps) {
		while (hmap__next(u->maps, &iter, NULL, NULL, &val)) {
			perfmap__free((*(struct shared_map **)val)->pm);
			free(*(struct shared_map **)val);
		}
		hmap__free(u->maps);
	}
	hmap__free(u->jit_ids);
	for (uint32_t i = JIT_FIRST_NAME; i < u->njit; i++)
		free(u->jit_names[i]);
	free(u->jit_names);
	hmap__free(u->module_ids);
	for (uint32_t i = 1; i < u->nmodules; i++) {
		elf_file__close(u->modules[i].ef);
		elf_file__close(u->modules[i].debug);
		free(u->modules[i].path);
	}
	free(u->modules);
	free(u);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static bool is_file_mapping(const struct procmap *m)
{
	return m->path && m->inode && procmap__is_exec(m);
}

static char *display_path(const struct procmap *m)
{
	size_t len = strlen(m->path) + (m->deleted ? strlen(DELETED_SUFFIX) : 0) + 1;
	char *s = malloc(len);

	if (s)
		snprintf(s, len, "%s%s", m->path, m->deleted ? DELETED_SUFFIX : "");
	return s;
}

static void evict_module(struct budget_node *n, void *ctx)
{
	struct module *mod = (struct module *)((char *)n - offsetof(struct module, node));

	(void)ctx;
	if (mod->ef)
		elf_file__release(mod->ef);
	if (mod->debug)
		elf_file__release(mod->debug);
}

/* Module id was just used: charge what its files hold now and make room
 * under the budget among the others, never id itself (its names and CFI are
 * in use by the caller). */
static void module_used(struct usyms *u, uint32_t id)
{
	struct module *mod = &u->modules[id];
	uint64_t bytes = 0;

	if (mod->ef)
		bytes += elf_file__bytes(mod->ef);
	if (mod->debug)
		bytes += elf_file__bytes(mod->debug);
	budget__charge(&u->elf_budget, &mod->node, bytes);
	budget__enforce(&u->elf_budget, &mod->node, evict_module, NULL);
}

/* Module id for the file of mapping m (opened now), 0 when it can not be
 * recorded. The file is kept even if it is not a usable ELF, for its name. */
static uint32_t open_module(struct usyms *u, int pid, const struct procmap *m)
{
	struct module_key key;
	struct elf_file *ef = NULL;
	const char *bid;
	uint32_t *id;
	bool created;
	int fd;

	fd = procmaps__open(pid, m);
	if (fd >= 0)
		ef = elf_file__open_fd(fd);
	else
		log_debug("usyms: pid %d: cannot open %s: %s", pid, m->path, strerror(-fd));

	memset(&key, 0, sizeof(key));
	key.ino = m->inode;
	key.dev_major = m->dev_major;
	key.dev_minor = m->dev_minor;
	bid = ef ? elf_file__build_id(ef) : NULL;
	if (bid)
		snprintf(key.build_id, sizeof(key.build_id), "%s", bid);

	id = hmap__find(u->module_ids, &key, sizeof(key));
	if (id) {
		struct module *mod = &u->modules[*id];

		if (!mod->ef && ef)	/* an earlier open failed */
			mod->ef = ef;
		else
			elf_file__close(ef);
		module_used(u, *id);
		return *id;
	}
	if (u->nmodules == USYMS_MODULES_MAX) {
		log_debug("usyms: more than %u modules, %s is unknown", USYMS_MODULES_MAX, m->path);
		elf_file__close(ef);
		return 0;
	}
	id = hmap__upsert(u->module_ids, &key, sizeof(key), &created);
	u->modules[u->nmodules].path = display_path(m);
	if (!id || !u->modules[u->nmodules].path) {
		free(u->modules[u->nmodules].path);
		u->modules[u->nmodules].path = NULL;
		if (id)
			hmap__delete(u->module_ids, &key, sizeof(key));
		elf_file__close(ef);
		return 0;
	}
	u->modules[u->nmodules].ef = ef;
	*id = u->nmodules++;
	module_used(u, *id);
	return *id;
}

/* Module of mapping i of snapshot p, reusing what an older snapshot of the
 * same process, or a sibling mapping of the same file, already opened. */
static uint32_t module_for_map(struct usyms *u, int pid, const struct proc *old,
			       const struct proc *p, size_t i)
{
	const struct procmap *m = &p->maps.maps[i], *o;

	if (old && (o = procmaps__find(&old->maps, m->start)) != NULL && o->start == m->start &&
	    o->end == m->end && o->pgoff == m->pgoff && o->inode == m->inode &&
	    o->dev_major == m->dev_major && o->dev_minor == m->dev_minor &&
	    old->modules[o - old->maps.maps])
		return old->modules[o - old->maps.maps];
	for (size_t k = i; k > 0 && i - k < SIBLING_LOOKBACK; k--) {
		const struct procmap *s = &p->maps.maps[k - 1];

		if (p->modules[k - 1] && s->inode == m->inode && s->dev_major == m->dev_major &&
		    s->dev_minor == m->dev_minor)
			return p->modules[k - 1];
	}
	return open_module(u, pid, m);
}

/* A fresh snapshot of pid into *p. */
static int snapshot(struct usyms *u, int pid, const struct proc *old, struct proc *p)
{
	int err;

	memset(p, 0, sizeof(*p));
	err = procmaps__read_pid(pid, &p->maps);
	if (err)
		return err;
	p->modules = calloc(p->maps.n ? p->maps.n : 1, sizeof(*p->modules));
	if (!p->modules) {
		procmaps__free(&p->maps);
		return -ENOMEM;
	}
	for (size_t i = 0; i < p->maps.n; i++) {
		if (is_file_mapping(&p->maps.maps[i]))
			p->modules[i] = module_for_map(u, pid, old, p, i);
	}
	return 0;
}

int usyms__add_pid(struct usyms *u, int pid)
{
	struct proc fresh, *p;
	bool created;
	int err;

	p = hmap__find(u->procs, &pid, sizeof(pid));
	err = snapshot(u, pid, p, &fresh);
	if (err)
		return err;
	if (!p) {
		p = hmap__upsert(u->procs, &pid, sizeof(pid), &created);
		if (!p) {
			proc_release(&fresh);
			return -ENOMEM;
		}
	} else {
		proc_release(p);
	}
	*p = fresh;
	return 0;
}

static void unref_map(struct usyms *u, struct shared_map *sm)
{
	if (!sm || --sm->refs)
		return;
	budget__discharge(&u->pm_budget, &sm->node);
	hmap__delete(u->maps, &sm->key, sizeof(sm->key));
	perfmap__free(sm->pm);
	free(sm);
}

void usyms__forget_pid(struct usyms *u, int pid)
{
	struct proc *p = hmap__find(u->procs, &pid, sizeof(pid));
	struct jit_proc *jp = hmap__find(u->jit_procs, &pid, sizeof(pid));

	if (jp) {
		unref_map(u, jp->map);
		hmap__delete(u->jit_procs, &pid, sizeof(pid));
	}
	if (!p)
		return;
	proc_release(p);
	hmap__delete(u->procs, &pid, sizeof(pid));
}

/* Re-read the maps of a known pid after a miss, if allowed now. */
static void reread(struct usyms *u, int pid, struct proc *p)
{
	struct proc fresh;
	int err;

	uint64_t gap = p->reread_gap_ns;

	if (p->gone || now_ns() - p->reread_ns < gap)
		return;
	err = snapshot(u, pid, p, &fresh);
	if (err) {
		p->gone = err == -ESRCH;
	} else {
		proc_release(p);
		*p = fresh;
	}
	p->reread_ns = now_ns();
	gap = gap ? gap * 2 : USYMS_REREAD_MIN_NS;
	p->reread_gap_ns = gap < USYMS_REREAD_NS ? gap : USYMS_REREAD_NS;
}

/* The executable mapping of pid holding ip, re-reading the maps once on a
 * miss; NULL if none. *pp is pid's snapshot. */
static const struct procmap *find_exec_map(struct usyms *u, int pid, uint64_t ip,
					   struct proc **pp, int *err)
{
	const struct procmap *m;
	struct proc *p;

	*err = 0;
	p = hmap__find(u->procs, &pid, sizeof(pid));
	if (!p) {
		*err = usyms__add_pid(u, pid);
		if (*err == -ESRCH) {
			/* Exited before its first sample was read: remember that,
			 * or each of its queued samples would try /proc again. */
			bool created;

			p = hmap__upsert(u->procs, &pid, sizeof(pid), &created);
			if (p && created) {
				memset(p, 0, sizeof(*p));
				p->gone = true;
			}
			return NULL;
		}
		if (*err)
			return NULL;
		p = hmap__find(u->procs, &pid, sizeof(pid));
		if (!p) {
			*err = -ENOMEM;
			return NULL;
		}
	}
	m = procmaps__find(&p->maps, ip);
	if (!m || !procmap__is_exec(m)) {
		reread(u, pid, p);
		m = procmaps__find(&p->maps, ip);
	}
	*pp = p;
	if (!m || !procmap__is_exec(m)) {
		*err = -ENOENT;
		return NULL;
	}
	return m;
}

static bool module_has_v8(struct module *mod)
{
	uint64_t addr;

	if (mod->v8 == TRI_UNKNOWN) {
		mod->v8 = TRI_NO;
		for (size_t i = 0; mod->ef && i < sizeof(v8_markers) / sizeof(v8_markers[0]); i++)
			if (!elf_file__symbol_addr(mod->ef, v8_markers[i], &addr))
				mod->v8 = TRI_YES;
	}
	return mod->v8 == TRI_YES;
}

static bool proc_has_v8(struct usyms *u, const struct proc *p, struct jit_proc *jp)
{
	if (jp->v8 == TRI_UNKNOWN) {
		jp->v8 = TRI_NO;
		for (size_t i = 0; i < p->maps.n && jp->v8 == TRI_NO; i++) {
			uint32_t id = p->modules[i];

			/* Mappings of one file are adjacent: test each file once. */
			if (!id || (i && p->modules[i - 1] == id))
				continue;
			if (module_has_v8(&u->modules[id]))
				jp->v8 = TRI_YES;
			module_used(u, id);	/* its symbols were read */
		}
	}
	return jp->v8 == TRI_YES;
}

/* Id of a copy of name; 0 when over the limits or out of memory. */
static uint32_t intern_jit_name(struct usyms *u, const char *name)
{
	size_t len = strlen(name);
	uint32_t *id;
	bool created;

	id = hmap__find(u->jit_ids, name, len);
	if (id)
		return *id;
	if (u->njit >= USYMS_JIT_NAMES_MAX || u->jit_bytes + len + 1 > USYMS_JIT_BYTES_MAX)
		return 0;
	if (u->njit >= u->jit_cap) {
		uint32_t cap = u->jit_cap ? u->jit_cap * 2 : 256;
		char **names = realloc(u->jit_names, cap * sizeof(*names));

		if (!names)
			return 0;
		u->jit_names = names;
		u->jit_cap = cap;
	}
	u->jit_names[u->njit] = strdup(name);
	if (!u->jit_names[u->njit])
		return 0;
	id = hmap__upsert(u->jit_ids, name, len, &created);
	if (!id) {
		free(u->jit_names[u->njit]);
		return 0;
	}
	u->jit_bytes += len + 1;
	*id = u->njit++;
	return *id;
}

/* Perf maps of processes that exited: their frames are named already, and
 * a map can take tens of MiB. */
static void drop_dead_perfmaps(struct usyms *u)
{
	const void *key;
	size_t iter = 0;
	void *val;

	while (hmap__next(u->jit_procs, &iter, &key, NULL, &val)) {
		struct jit_proc *jp = val;

		if (jp->map && kill(*(const int *)key, 0) && errno == ESRCH) {
			unref_map(u, jp->map);
			jp->map = NULL;
		}
	}
}

static void evict_map(struct budget_node *n, void *ctx)
{
	struct shared_map *sm = (struct shared_map *)((char *)n - offsetof(struct shared_map, node));

	(void)ctx;
	perfmap__free(sm->pm);
	sm->pm = NULL;
}

/* sm's map was loaded or grew: charge it, and make room among the others.
 * A map over the whole budget by itself is not kept. */
static void map_used(struct usyms *u, struct shared_map *sm)
{
	uint64_t bytes = perfmap__bytes(sm->pm);

	if (bytes > u->pm_budget.limit) {
		budget_counts.perfmap_refused++;
		budget__discharge(&u->pm_budget, &sm->node);
		perfmap__free(sm->pm);
		sm->pm = NULL;
		return;
	}
	budget__charge(&u->pm_budget, &sm->node, bytes);
	budget__enforce(&u->pm_budget, &sm->node, evict_map, NULL);
}

/* The shared map of the file fd (pid's perf map), found or loaded. */
static struct shared_map *map_of_file(struct usyms *u, int pid, int fd, uint64_t now)
{
	struct shared_map **slot, *sm;
	struct pm_key key;
	struct stat st;
	bool created;

	if (fstat(fd, &st))
		return NULL;
	key = (struct pm_key){ (uint64_t)st.st_dev, (uint64_t)st.st_ino };
	slot = hmap__upsert(u->maps, &key, sizeof(key), &created);
	if (!slot)
		return NULL;
	if (!created) {
		(*slot)->refs++;
		budget_counts.perfmap_shared++;
		return *slot;
	}
	sm = calloc(1, sizeof(*sm));
	if (!sm) {
		hmap__delete(u->maps, &key, sizeof(key));
		return NULL;
	}
	*slot = sm;
	sm->key = key;
	sm->refs = 1;
	sm->loaded_ns = now;
	sm->pm = perfmap__load_fd(u->proc_root, pid, fd);
	if (!sm->pm)
		log_debug("usyms: pid %d: cannot read its perf map: %s", pid, strerror(errno));
	else
		map_used(u, sm);
	return sm;
}

/* Brings sm up to date through pid's file fd, or reads it again after an
 * eviction (at most once per PERFMAP_REFRESH_NS). */
static void map_update(struct usyms *u, int pid, struct shared_map *sm, int fd, uint64_t now)
{
	int err;

	if (!sm->pm) {
		if (now - sm->loaded_ns < PERFMAP_REFRESH_NS)
			return;
		sm->loaded_ns = now;
		sm->pm = perfmap__load_fd(u->proc_root, pid, fd);
		if (sm->pm)
			map_used(u, sm);
		return;
	}
	err = perfmap__update_fd(sm->pm, fd, now);
	if (err < 0)
		log_debug("usyms: pid %d: cannot re-read its perf map: %s", pid, strerror(-err));
	else if (err > 0)
		map_used(u, sm);
	else
		budget__charge(&u->pm_budget, &sm->node, sm->node.bytes);	/* most recent */
}

/* The perf map of pid, found, loaded or brought up to date (each process's
 * file looked at, and each map read, at most once per PERFMAP_REFRESH_NS);
 * NULL when it has none. A process whose file was replaced by another moves
 * to that file's map, at most once per PERFMAP_RESET_NS. */
static struct perfmap *jit_perfmap(struct usyms *u, int pid, struct jit_proc *jp)
{
	uint64_t now = now_ns();
	struct stat st;
	int fd;

	if (jp->tried_ns && now - jp->tried_ns < PERFMAP_REFRESH_NS)
		return jp->map ? jp->map->pm : NULL;
	jp->tried_ns = now;
	fd = perfmap__open(u->proc_root, pid);
	if (fd < 0) {
		if (!jp->map)
			log_debug("usyms: pid %d: no perf map for its JIT code: %s", pid,
				  strerror(-fd));
		return jp->map ? jp->map->pm : NULL;
	}
	if (fstat(fd, &st)) {
		close(fd);
		return jp->map ? jp->map->pm : NULL;
	}
	if (jp->map && ((uint64_t)st.st_dev != jp->map->key.dev ||
			(uint64_t)st.st_ino != jp->map->key.ino)) {
		/* Another file: a new map to read whole, so not every second. */
		if (jp->switched_ns && now - jp->switched_ns < PERFMAP_RESET_NS) {
			close(fd);
			return jp->map->pm;
		}
		jp->switched_ns = now;
		unref_map(u, jp->map);
		jp->map = NULL;
	}
	if (!jp->map) {
		jp->map = map_of_file(u, pid, fd, now);
		if (jp->map)
			drop_dead_perfmaps(u);
	} else {
		map_update(u, pid, jp->map, fd, now);
	}
	close(fd);
	return jp->map ? jp->map->pm : NULL;
}

/* Name id of the JIT code at ip in pid. */
static uint32_t jit_name_id(struct usyms *u, int pid, const struct proc *p, uint64_t ip)
{
	struct jit_proc *jp = hmap__upsert(u->jit_procs, &pid, sizeof(pid), NULL);
	struct perfmap *pm;
	const char *name = NULL;
	uint32_t id;

	if (!jp)
		return JIT_ANON;
	pm = jit_perfmap(u, pid, jp);
	if (pm) {
		name = perfmap__lookup(pm, ip, NULL);
		if (!name && ip)
			name = perfmap__lookup(pm, ip - 1, NULL);
	}
	if (name && (id = intern_jit_name(u, name)))
		return id;
	return proc_has_v8(u, p, jp) ? JIT_V8 : JIT_ANON;
}

int usyms__resolve(struct usyms *u, int pid, uint64_t ip, struct uframe *out)
{
	const struct procmap *m;
	struct module *mod;
	struct proc *p;
	uint64_t off;
	uint32_t id;
	int err;

	out->module = 0;
	out->vaddr = ip;
	m = find_exec_map(u, pid, ip, &p, &err);
	if (!m)
		return err;
	id = p->modules[m - p->maps.maps];
	if (!id) {
		/* Anonymous executable memory is JIT code (and [vdso], which
		 * never allocates memory). */
		if (!m->path && !m->inode) {
			out->module = USYMS_JIT_MODULE;
			out->vaddr = jit_name_id(u, pid, p, ip);
		}
		return 0;	/* else a file we could not record */
	}
	mod = &u->modules[id];
	off = ip - m->start + m->pgoff;
	if (!mod->ef) {
		/* Only the name is known: keep the file offset. */
		out->module = id;
		out->vaddr = off;
		return 0;
	}
	err = elf_file__offset_to_vaddr(mod->ef, off, &out->vaddr);
	module_used(u, id);
	if (err) {
		/* The mapping does not match the file's segments: any name
		 * would be a guess. */
		out->vaddr = ip;
		return err;
	}
	out->module = id;
	return 0;
}

int usyms__unwind_rule(struct usyms *u, int pid, uint64_t addr, struct unwind_rule *rule)
{
	const struct procmap *m;
	struct module *mod;
	struct proc *p;
	uint64_t vaddr;
	uint32_t id;
	int err;

	/* Not usyms__resolve: an address in JIT code would be named (the perf
	 * map read) only to learn that it has no CFI. */
	m = find_exec_map(u, pid, addr, &p, &err);
	if (!m)
		return err ? err : -ENOENT;
	id = p->modules[m - p->maps.maps];
	if (!id || id >= u->nmodules || !(mod = &u->modules[id])->ef)
		return -ENOENT;
	err = elf_file__offset_to_vaddr(mod->ef, addr - m->start + m->pgoff, &vaddr);
	if (err)
		return err;
	err = elf_file__unwind_rule(mod->ef, vaddr, rule);
	module_used(u, id);
	return err;
}

/* The debug file of a stripped module, verified to carry the same build id. */
static struct elf_file *module_debug(struct module *mod)
{
	const char *bid, *dbg_bid;
	char path[sizeof(USYMS_DEBUG_DIR) + 2 * ELF_FILE_BUILD_ID_MAX + 16];
	struct stat st;
	int fd;

	if (mod->debug_done)
		return mod->debug;
	mod->debug_done = true;
	bid = mod->ef ? elf_file__build_id(mod->ef) : NULL;
	if (!bid || strlen(bid) < 3)
		return NULL;
	snprintf(path, sizeof(path), "%s/%.2s/%s.debug", USYMS_DEBUG_DIR, bid, bid + 2);
	/* The host's debug directory: its build-id links are symlinks by
	 * design, but what they lead to must still be a regular file. */
	fd = open(path, SAFE_OPEN_READ_FLAGS);
	if (fd >= 0 && !fstat(fd, &st) && !S_ISREG(st.st_mode)) {
		close(fd);
		fd = -1;
	}
	if (fd < 0)
		return NULL;
	mod->debug = elf_file__open_fd(fd);
	dbg_bid = mod->debug ? elf_file__build_id(mod->debug) : NULL;
	if (!dbg_bid || strcmp(dbg_bid, bid) != 0) {
		elf_file__close(mod->debug);
		mod->debug = NULL;
	}
	return mod->debug;
}

static const char *module_symbolize(struct module *mod, uint64_t vaddr)
{
	struct elf_file *debug;
	const char *name;

	if (!mod->ef)
		return NULL;
	/* A full .symtab in the file itself beats looking for a debug file;
	 * .dynsym alone misses static and internal functions (memset's
	 * variants in libc), so the debug file goes first then. */
	if (!elf_file__has_symtab(mod->ef)) {
		debug = module_debug(mod);
		name = debug ? elf_file__symbolize(debug, vaddr, NULL) : NULL;
		if (name)
			return name;
	}
	return elf_file__symbolize(mod->ef, vaddr, NULL);
}

/* A JIT function's name into buf[len], without the "_[j]" mark the folded
 * writer adds: cut (at a UTF-8 boundary) so that the name and its mark still
 * fit len, when len allows it at all. */
static int jit_frame_name(const struct usyms *u, uint64_t id, char *buf, size_t len)
{
	size_t room, nlen;
	const char *name;
	int n;

	if (id < JIT_FIRST_NAME)
		n = snprintf(buf, len, "%s", jit_unnamed[id]);
	else if (id >= u->njit)
		n = snprintf(buf, len, "[unknown]");
	else if (len <= JIT_MARK_LEN + 1)
		n = snprintf(buf, len, "%s", u->jit_names[id]);
	else {
		name = u->jit_names[id];
		room = len - 1 - JIT_MARK_LEN;
		nlen = strlen(name);
		if (nlen > room) {
			nlen = room;
			while (nlen && ((unsigned char)name[nlen] & 0xc0) == 0x80)
				nlen--;
			snprintf(buf, len, "%.*s", (int)nlen, name);
			return -ENOSPC;
		}
		n = snprintf(buf, len, "%s", name);
	}
	return n < 0 || (size_t)n >= len ? -ENOSPC : 0;
}

bool usyms__jit_named(const struct usyms *u, struct uframe f)
{
	return f.module == USYMS_JIT_MODULE && f.vaddr >= JIT_FIRST_NAME && f.vaddr < u->njit;
}

int usyms__frame_name(struct usyms *u, struct uframe f, bool is_return_addr, char *buf,
		      size_t len)
{
	const char *name, *base;
	struct module *mod;
	int n;

	if (!len)
		return -EINVAL;
	if (f.module == USYMS_JIT_MODULE)
		return jit_frame_name(u, f.vaddr, buf, len);
	if (f.module == 0 || f.module >= u->nmodules) {
		n = snprintf(buf, len, "[unknown]");
	} else {
		mod = &u->modules[f.module];
		name = module_symbolize(mod, is_return_addr && f.vaddr ? f.vaddr - 1 : f.vaddr);
		if (name) {
			n = snprintf(buf, len, "%s", name);
		} else {
			base = strrchr(mod->path, '/');
			n = snprintf(buf, len, "[%s]", base ? base + 1 : mod->path);
		}
		/* Only now: name may point into what an eviction frees. */
		module_used(u, f.module);
	}
	return n < 0 || (size_t)n >= len ? -ENOSPC : 0;
}

void usyms__set_budgets(struct usyms *u, uint64_t elf_bytes, uint64_t perfmap_bytes)
{
	u->elf_budget.limit = elf_bytes;
	u->pm_budget.limit = perfmap_bytes;
}

const char *usyms__module_path(struct usyms *u, uint32_t module)
{
	return module && module < u->nmodules ? u->modules[module].path : NULL;
}

const char *usyms__module_build_id(struct usyms *u, uint32_t module)
{
	struct elf_file *ef = module && module < u->nmodules ? u->modules[module].ef : NULL;

	return ef ? elf_file__build_id(ef) : NULL;
}
