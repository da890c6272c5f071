#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "ksyms.h"
#include "textio.h"

/* Names live in a chain of fixed chunks rather than one realloc'd buffer so
 * the pointers handed out in struct ksym never move while parsing. */
#define ARENA_CHUNK	(64 * 1024)

struct arena_chunk {
	struct arena_chunk *next;
	size_t used;
	char data[ARENA_CHUNK];
};

/* The public ksym comes first so lookups can return a pointer into this
 * array; the rest only orders aliases while sorting. */
struct ksym_entry {
	struct ksym sym;
	uint32_t seq;		/* position in the file: last tie-breaker */
	uint16_t rank;		/* lower is the better alias at one address */
};

struct ksyms {
	struct ksym_entry *ents;
	size_t n, cap;
	struct arena_chunk *chunks;
	const char *last_module;	/* modules come in runs: intern by the last one */
};

static const char *arena_strndup(struct ksyms *ks, const char *s, size_t len)
{
	struct arena_chunk *c = ks->chunks;
	char *dst;

	if (!c || ARENA_CHUNK - c->used < len + 1) {
		c = malloc(sizeof(*c));
		if (!c)
			return NULL;
		c->used = 0;
		c->next = ks->chunks;
		ks->chunks = c;
	}
	dst = c->data + c->used;
	memcpy(dst, s, len);
	dst[len] = '\0';
	c->used += len + 1;
	return dst;
}

/* Several names can share an address (_stext, _text, ...). Stack traces read
 * best with the global, strong, least-underscored one. */
static uint16_t alias_rank(char type, const char *name)
{
	unsigned int bind = type == 'T' ? 0 : type == 't' ? 1 : 2;
	unsigned int under = strspn(name, "_");

	return bind << 8 | (under > 255 ? 255 : under);
}

static bool is_text_type(char t)
{
	return t == 't' || t == 'T' || t == 'w' || t == 'W';
}

/* A name or module token: 1..KSYMS_NAME_MAX bytes up to one of `stop`. */
static size_t token_len(const char *s, const char *stop)
{
	size_t len = strcspn(s, stop);

	return len > KSYMS_NAME_MAX ? 0 : len;
}

enum parse_res { SYM_OK, SYM_IGNORED, SYM_ZERO_ADDR, SYM_GARBAGE };

struct raw_sym {
	uint64_t addr;
	char type;
	const char *name, *module;
	size_t name_len, module_len;
};

/* Splits "ADDR TYPE NAME[\t[MODULE]]" into pointers into line, without
 * copying: most lines are filtered out before anything is stored. */
static enum parse_res parse_line(const char *line, struct raw_sym *rs)
{
	const char *p = textio__parse_num(line, 16, &rs->addr);

	if (!p || p[0] != ' ' || !p[1] || p[2] != ' ')
		return SYM_GARBAGE;
	rs->type = p[1];
	rs->name = p + 3;
	rs->name_len = token_len(rs->name, " \t[]");
	if (!rs->name_len)
		return SYM_GARBAGE;
	p = rs->name + rs->name_len;
	p += strspn(p, " \t");
	rs->module = NULL;
	rs->module_len = 0;
	if (*p == '[') {
		rs->module = p + 1;
		rs->module_len = token_len(rs->module, " \t[]");
		p = rs->module + rs->module_len;
		if (!rs->module_len || *p != ']')
			return SYM_GARBAGE;
		p++;
		p += strspn(p, " \t");
	}
	if (*p)
		return SYM_GARBAGE;
	if (!is_text_type(rs->type) || !strncmp(rs->name, "__pfx_", 6))
		return SYM_IGNORED;
	return rs->addr ? SYM_OK : SYM_ZERO_ADDR;
}

static bool same_module(const char *interned, const struct raw_sym *rs)
{
	return interned && !strncmp(interned, rs->module, rs->module_len) &&
	       !interned[rs->module_len];
}

static int add_sym(struct ksyms *ks, const struct raw_sym *rs)
{
	struct ksym_entry *e;
	const char *name;

	if (ks->n >= KSYMS_COUNT_MAX)
		return -E2BIG;
	if (ks->n == ks->cap) {
		size_t cap = ks->cap ? ks->cap * 2 : 16384;

		if (cap > KSYMS_COUNT_MAX)
			cap = KSYMS_COUNT_MAX;
		e = realloc(ks->ents, cap * sizeof(*e));
		if (!e)
			return -ENOMEM;
		ks->ents = e;
		ks->cap = cap;
	}
	name = arena_strndup(ks, rs->name, rs->name_len);
	if (!name)
		return -ENOMEM;
	if (rs->module && !same_module(ks->last_module, rs)) {
		ks->last_module = arena_strndup(ks, rs->module, rs->module_len);
		if (!ks->last_module)
			return -ENOMEM;
	}
	e = &ks->ents[ks->n];
	e->sym.addr = rs->addr;
	e->sym.name = name;
	e->sym.module = rs->module ? ks->last_module : NULL;
	e->seq = ks->n;
	e->rank = alias_rank(rs->type, name);
	ks->n++;
	return 0;
}

static int cmp_entry(const void *a, const void *b)
{
	const struct ksym_entry *x = a, *y = b;

	if (x->sym.addr != y->sym.addr)
		return x->sym.addr < y->sym.addr ? -1 : 1;
	if (x->rank != y->rank)
		return x->rank < y->rank ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Sorts and keeps the best-ranked alias of each address. */
static void sort_dedup(struct ksyms *ks)
{
	size_t i, out = 0;

	qsort(ks->ents, ks->n, sizeof(*ks->ents), cmp_entry);
	for (i = 0; i < ks->n; i++) {
		if (out && ks->ents[out - 1].sym.addr == ks->ents[i].sym.addr)
			continue;
		ks->ents[out++] = ks->ents[i];
	}
	ks->n = out;
	if (out < ks->cap) {
		struct ksym_entry *e = realloc(ks->ents, out * sizeof(*e));

		if (e) {
			ks->ents = e;
			ks->cap = out;
		}
	}
}

struct ksyms *ksyms__parse(FILE *f)
{
	char line[KSYMS_LINE_MAX];
	struct ksyms *ks;
	bool zero_seen = false;
	ssize_t len;
	int err = 0;

	ks = calloc(1, sizeof(*ks));
	if (!ks)
		return NULL;
	while ((len = textio__read_line(f, line, sizeof(line))) != TEXTIO_EOF) {
		struct raw_sym rs;

		if (len == TEXTIO_SKIP)
			continue;
		if (len == TEXTIO_ERROR) {
			err = -errno;
			break;
		}
		switch (parse_line(line, &rs)) {
		case SYM_OK:
			err = add_sym(ks, &rs);
			break;
		case SYM_ZERO_ADDR:
			zero_seen = true;
			break;
		default:
			break;
		}
		if (err)
			break;
	}
	if (!err && !ks->n)
		err = zero_seen ? -EPERM : -ENODATA;
	if (err) {
		ksyms__free(ks);
		errno = -err;
		return NULL;
	}
	sort_dedup(ks);
	return ks;
}

struct ksyms *ksyms__load(const char *path)
{
	struct ksyms *ks;
	FILE *f;
	int err;

	f = fopen(path, "re");
	if (!f)
		return NULL;
	ks = ksyms__parse(f);
	err = errno;
	fclose(f);
	errno = err;
	return ks;
}

const struct ksym *ksyms__lookup(const struct ksyms *ks, uint64_t addr, uint64_t *offset)
{
	size_t lo = 0, hi = ks->n;
	const struct ksym *sym;

	/* First entry above addr; the one before it is the answer. */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (ks->ents[mid].sym.addr <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo)
		return NULL;
	sym = &ks->ents[lo - 1].sym;
	if (offset)
		*offset = addr - sym->addr;
	return sym;
}

size_t ksyms__count(const struct ksyms *ks)
{
	return ks->n;
}

void ksyms__free(struct ksyms *ks)
{
	struct arena_chunk *c, *next;

	if (!ks)
		return;
	for (c = ks->chunks; c; c = next) {
		next = c->next;
		free(c);
	}
	free(ks->ents);
	free(ks);
}
