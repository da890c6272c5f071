#include <errno.h>
#include <json-c/json.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsheap.h"

#define NO_PARENT	UINT32_MAX

struct js_node {
	char *name;
	uint32_t parent;	/* index in nodes, NO_PARENT under the root */
	uint32_t depth;		/* 1 for the root's children */
	uint64_t bytes;
};

struct jsheap_profile {
	struct js_node *nodes;
	size_t n, cap;
	uint64_t total;
	size_t dropped_nodes;
	uint64_t dropped_bytes;
};

static uint64_t add_sat(uint64_t a, uint64_t b)
{
	return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

/* selfSize as a byte count: V8 writes an integer; anything else (negative,
 * fractional, not a number) counts as what it can mean at most. */
static uint64_t self_size(struct json_object *node)
{
	struct json_object *v;
	double d;

	if (!json_object_object_get_ex(node, "selfSize", &v))
		return 0;
	switch (json_object_get_type(v)) {
	case json_type_int: {
		int64_t i = json_object_get_int64(v);

		return i > 0 ? (uint64_t)i : 0;
	}
	case json_type_double:
		d = json_object_get_double(v);
		if (!isfinite(d) || d <= 0)
			return 0;
		return d >= 1.8e19 ? UINT64_MAX : (uint64_t)d;
	default:
		return 0;
	}
}

static struct json_object *children_of(struct json_object *node)
{
	struct json_object *c;

	if (!json_object_object_get_ex(node, "children", &c) ||
	    !json_object_is_type(c, json_type_array))
		return NULL;
	return c;
}

/* Bytes and node count of a subtree that is not kept. The recursion is as
 * deep as the JSON, which the tokener bounded. */
static void subtree(struct json_object *node, uint64_t *bytes, size_t *count)
{
	struct json_object *c = children_of(node);
	size_t n = c ? json_object_array_length(c) : 0;

	if (!json_object_is_type(node, json_type_object))
		return;
	*bytes = add_sat(*bytes, self_size(node));
	(*count)++;
	for (size_t i = 0; i < n; i++)
		subtree(json_object_array_get_idx(c, i), bytes, count);
}

static const char *str_field(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!o || !json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return "";
	return json_object_get_string(v);
}

/* Length of s cut to max bytes at a UTF-8 boundary. */
static int cut(const char *s, size_t max)
{
	size_t n = strnlen(s, max + 1);

	if (n > max) {
		n = max;
		while (n && ((unsigned char)s[n] & 0xc0) == 0x80)
			n--;
	}
	return (int)n;
}

static char *frame_name(struct json_object *node)
{
	struct json_object *cf = NULL, *line;
	const char *fn, *url, *file;
	long ln = -1;
	char buf[JSHEAP_FRAME_LEN];

	json_object_object_get_ex(node, "callFrame", &cf);
	if (cf && !json_object_is_type(cf, json_type_object))
		cf = NULL;
	fn = str_field(cf, "functionName");
	url = str_field(cf, "url");
	if (!fn[0])
		fn = "(anonymous)";
	file = strrchr(url, '/') ? strrchr(url, '/') + 1 : url;
	if (cf && json_object_object_get_ex(cf, "lineNumber", &line) &&
	    json_object_is_type(line, json_type_int)) {
		int64_t l = json_object_get_int64(line);

		ln = l >= 0 && l < 100000000 ? (long)l : -1;
	}
	if (!file[0])
		snprintf(buf, sizeof(buf), "%.*s", cut(fn, JSHEAP_NAME_MAX), fn);
	else if (ln < 0)
		snprintf(buf, sizeof(buf), "%.*s_%.*s", cut(fn, JSHEAP_NAME_MAX), fn,
			 cut(file, JSHEAP_NAME_MAX), file);
	else	/* V8's lines count from 0, an editor's from 1 */
		snprintf(buf, sizeof(buf), "%.*s_%.*s:%ld", cut(fn, JSHEAP_NAME_MAX), fn,
			 cut(file, JSHEAP_NAME_MAX), file, ln + 1);
	return strdup(buf);
}

static int push(struct jsheap_profile *p, char *name, uint32_t parent, uint32_t depth,
		uint64_t bytes, uint32_t *idx)
{
	if (!name)
		return -ENOMEM;
	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 256;
		struct js_node *nn = realloc(p->nodes, cap * sizeof(*nn));

		if (!nn) {
			free(name);
			return -ENOMEM;
		}
		p->nodes = nn;
		p->cap = cap;
	}
	p->nodes[p->n] = (struct js_node){ name, parent, depth, bytes };
	p->total = add_sat(p->total, bytes);
	*idx = (uint32_t)p->n++;
	return 0;
}

static int walk(struct jsheap_profile *p, struct json_object *node, uint32_t parent,
		uint32_t depth)
{
	struct json_object *c;
	uint64_t bytes = 0;
	size_t count = 0, n;
	uint32_t idx;
	int err;

	if (!json_object_is_type(node, json_type_object))
		return 0;
	if (p->n >= JSHEAP_NODES_MAX) {
		subtree(node, &bytes, &count);
		p->dropped_nodes += count;
		p->dropped_bytes = add_sat(p->dropped_bytes, bytes);
		return 0;
	}
	if (depth > JSHEAP_DEPTH_MAX) {
		subtree(node, &bytes, &count);
		return bytes ? push(p, strdup(JSHEAP_DEEPER), parent, depth, bytes, &idx) : 0;
	}
	if ((err = push(p, frame_name(node), parent, depth, self_size(node), &idx)))
		return err;
	c = children_of(node);
	n = c ? json_object_array_length(c) : 0;
	for (size_t i = 0; i < n; i++)
		if ((err = walk(p, json_object_array_get_idx(c, i), idx, depth + 1)))
			return err;
	return 0;
}

static int from_json(struct jsheap_profile *p, struct json_object *root)
{
	struct json_object *prof = root, *head, *c;
	size_t n;
	int err;

	if (!json_object_is_type(root, json_type_object))
		return -EINVAL;
	/* The inspector's whole response: {"id":N,"result":{"profile":...}} */
	if (json_object_object_get_ex(root, "result", &prof)) {
		if (!json_object_is_type(prof, json_type_object))
			return -EINVAL;
		root = prof;
	}
	prof = NULL;
	if (json_object_object_get_ex(root, "profile", &prof) &&
	    !json_object_is_type(prof, json_type_object))
		return -EINVAL;
	if (!prof)
		prof = root;
	if (!json_object_object_get_ex(prof, "head", &head) ||
	    !json_object_is_type(head, json_type_object))
		return -EINVAL;
	/* The head is V8's "(root)": its children are the outermost frames. */
	c = children_of(head);
	n = c ? json_object_array_length(c) : 0;
	for (size_t i = 0; i < n; i++)
		if ((err = walk(p, json_object_array_get_idx(c, i), NO_PARENT, 1)))
			return err;
	return 0;
}

int jsheap__parse(const char *text, size_t len, struct jsheap_profile **out)
{
	struct json_tokener *tok;
	struct json_object *root;
	struct jsheap_profile *p;
	enum json_tokener_error jerr;
	int err;

	*out = NULL;
	if (len > JSHEAP_TEXT_MAX)
		return -E2BIG;
	tok = json_tokener_new_ex(JSHEAP_JSON_DEPTH);
	if (!tok)
		return -ENOMEM;
	/* The whole text or nothing: a profile cut short is not one. */
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	root = json_tokener_parse_ex(tok, text, (int)len);
	jerr = json_tokener_get_error(tok);
	if (root && jerr == json_tokener_success && json_tokener_get_parse_end(tok) < len) {
		/* trailing bytes after the value: only whitespace is fine */
		for (size_t i = json_tokener_get_parse_end(tok); i < len; i++)
			if (!strchr(" \t\r\n", text[i]))
				jerr = json_tokener_error_parse_unexpected;
	}
	json_tokener_free(tok);
	if (!root || jerr != json_tokener_success) {
		json_object_put(root);
		return jerr == json_tokener_error_depth ? -E2BIG : -EINVAL;
	}
	p = calloc(1, sizeof(*p));
	err = p ? from_json(p, root) : -ENOMEM;
	json_object_put(root);
	if (err) {
		jsheap__free(p);
		return err;
	}
	*out = p;
	return 0;
}

uint64_t jsheap__total(const struct jsheap_profile *p)
{
	return p ? p->total : 0;
}

size_t jsheap__nodes(const struct jsheap_profile *p)
{
	return p ? p->n : 0;
}

size_t jsheap__dropped_nodes(const struct jsheap_profile *p)
{
	return p ? p->dropped_nodes : 0;
}

uint64_t jsheap__dropped_bytes(const struct jsheap_profile *p)
{
	return p ? p->dropped_bytes : 0;
}

int jsheap__each(const struct jsheap_profile *p, jsheap_stack_fn fn, void *ctx)
{
	const char *frames[JSHEAP_DEPTH_MAX + 1];
	int err;

	for (size_t i = 0; p && i < p->n; i++) {
		size_t n = 0;

		if (!p->nodes[i].bytes)
			continue;
		/* Parents come before their children, and depth bounds the chain. */
		for (uint32_t j = (uint32_t)i; j != NO_PARENT && n < JSHEAP_DEPTH_MAX + 1;
		     j = p->nodes[j].parent)
			n++;
		for (uint32_t j = (uint32_t)i, k = n; j != NO_PARENT && k > 0; j = p->nodes[j].parent)
			frames[--k] = p->nodes[j].name;
		if ((err = fn(ctx, frames, n, p->nodes[i].bytes)))
			return err;
	}
	return 0;
}

void jsheap__free(struct jsheap_profile *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n; i++)
		free(p->nodes[i].name);
	free(p->nodes);
	free(p);
}
