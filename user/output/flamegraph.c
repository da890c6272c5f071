#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "flamegraph.h"
#include "safe_text.h"
#include "units.h"
#include "utf8.h"
#include "folded.h"
#include "hmap.h"

/* Geometry, px. Text is monospace so the script and this file agree on how
 * many characters fit in a frame without measuring glyphs. */
#define PAD		10
#define TOP		56	/* title and legend above the frames */
#define BOTTOM		28	/* details and "Matched" below them */
#define ROW		16	/* one stack level */
#define FONT_PX		11
#define CHAR_PX		6.7	/* advance of one monospace character at FONT_PX, rounded up */
#define TEXT_PAD	3
#define NAME_MAX_CHARS	400	/* frame names in tooltips and search are cut here */
#define EPS_PX		0.02	/* slack for coordinates printed with 2 decimals */
#define MIN_PX_FLOOR	0.05	/* below this, EPS_PX would confuse the zoom's geometry */

#define NODE_GROUP	1
#define NODE_SHRINK	2
#define NO_NODE		UINT32_MAX

struct node {
	uint64_t value;
	size_t name;		/* offset in names */
	uint32_t name_len;
	uint32_t first_child, next_sibling;
	uint8_t flags;
};

struct flamegraph {
	struct node *nodes;	/* [0] is the root, "all" */
	size_t n, cap;
	char *names;
	size_t names_len, names_cap;
	struct hmap *index;	/* key: parent index (4 bytes) + name; value: uint32_t index */
	char *key;		/* scratch for index keys */
	size_t key_cap;
	bool sorted;
};

enum kind {
	K_ROOT, K_CONTAINER, K_PROCESS, K_NATIVE, K_V8, K_FILE, K_SHMEM, K_KERNEL, K_JIT,
	K_GROW, K_SHRINK, K_COUNT
};

/* Colours are a hue per kind, varied a little per name so neighbours differ
 * but the same function gets the same colour in every graph. */
static const struct style {
	const char *label;	/* legend; NULL: not listed */
	double hue, hue_spread, sat, light, light_spread;
} styles[K_COUNT] = {
	[K_ROOT] = { NULL, 0, 0, 0, 0.80, 0 },
	[K_CONTAINER] = { "container", 215, 10, 0.20, 0.66, 0.10 },
	[K_PROCESS] = { "process", 262, 16, 0.45, 0.76, 0.08 },
	[K_NATIVE] = { "native", 18, 26, 0.85, 0.62, 0.10 },
	[K_V8] = { "v8-heap", 112, 30, 0.55, 0.56, 0.12 },
	[K_FILE] = { "file / page cache", 50, 10, 0.85, 0.57, 0.10 },
	[K_SHMEM] = { "shmem", 292, 14, 0.50, 0.72, 0.08 },
	[K_KERNEL] = { "kernel", 212, 16, 0.65, 0.66, 0.10 },
	[K_JIT] = { "JIT", 176, 12, 0.60, 0.48, 0.10 },
	[K_GROW] = { "grew", 0, 0, 0.75, 0.60, 0 },
	[K_SHRINK] = { "shrank", 225, 0, 0.75, 0.60, 0 },
};

/* Class frames memscope record puts after the process: they colour the user
 * frames stacked on them. */
static const struct {
	const char *name;
	enum kind kind;
} class_frames[] = {
	{ "[native]", K_NATIVE }, { "[v8-heap]", K_V8 }, { "[file]", K_FILE },
	{ "[shmem]", K_SHMEM }, { "[kernel]", K_KERNEL },
};

static inline uint64_t add_sat(uint64_t a, uint64_t b)
{
	return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

/* ---- escaping ------------------------------------------------------------ */

#define REPLACEMENT	0xfffd

/*
 * Decode one character of s (NUL-terminated, not at its end): bytes used, at
 * least 1. Strict UTF-8: overlongs, surrogates and values past U+10FFFF are
 * invalid, and an invalid sequence costs one byte and yields U+FFFD. A NUL is
 * never a continuation byte, so this never reads past the terminator.
 */
static size_t utf8_decode(const unsigned char *s, uint32_t *cp)
{
	static const unsigned char lead_mask[] = { 0, 0x7f, 0x1f, 0x0f, 0x07 };
	size_t len = utf8__seq_len(s, 4);

	if (!len) {
		*cp = REPLACEMENT;
		return 1;
	}
	*cp = s[0] & lead_mask[len];
	for (size_t i = 1; i < len; i++)
		*cp = (*cp << 6) | (s[i] & 0x3f);
	return len;
}

/* What XML 1.0 may carry and a reader can see: controls (C0, DEL, C1)
 * and the two non-characters XML forbids become U+FFFD. */
static inline uint32_t displayable(uint32_t cp)
{
	if (safe_text__is_control(cp) || cp == 0xfffe || cp == 0xffff)
		return REPLACEMENT;
	return cp;
}

static size_t char_count(const char *s)
{
	size_t n = 0;
	uint32_t cp;

	for (const unsigned char *p = (const unsigned char *)s; *p; n++)
		p += utf8_decode(p, &cp);
	return n;
}

size_t flamegraph__escape(FILE *out, const char *s, size_t max_chars)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = 0, keep = max_chars;
	uint32_t cp;

	if (!s)
		return 0;
	if (char_count(s) > max_chars) {
		if (max_chars < 3)
			return 0;
		keep = max_chars - 2;
	}
	for (; *p && n < keep; n++) {
		size_t len = utf8_decode(p, &cp);

		switch (displayable(cp)) {
		case '&': fputs("&amp;", out); break;
		case '<': fputs("&lt;", out); break;
		case '>': fputs("&gt;", out); break;
		case '"': fputs("&quot;", out); break;
		case '\'': fputs("&#39;", out); break;
		case REPLACEMENT: fputs("\xef\xbf\xbd", out); break;
		default: fwrite(p, 1, len, out); break;
		}
		p += len;
	}
	if (*p) {
		fputs("..", out);
		n += 2;
	}
	return n;
}

void flamegraph__format_bytes(uint64_t bytes, char *buf, size_t len)
{
	units__bytes(bytes, buf, len);
}

/* ---- the tree ------------------------------------------------------------ */

struct flamegraph *flamegraph__new(void)
{
	struct flamegraph *fg = calloc(1, sizeof(*fg));

	if (!fg)
		goto nomem;
	fg->index = hmap__new(sizeof(uint32_t));
	fg->cap = 1024;
	fg->nodes = malloc(fg->cap * sizeof(*fg->nodes));
	if (!fg->index || !fg->nodes)
		goto nomem;
	fg->n = 1;
	fg->nodes[0] = (struct node){ .first_child = NO_NODE, .next_sibling = NO_NODE };
	return fg;
nomem:
	flamegraph__free(fg);
	errno = ENOMEM;
	return NULL;
}

static int grow(void **buf, size_t *cap, size_t need, size_t elem)
{
	size_t cap2 = *cap ? *cap : 64;
	void *p;

	if (need <= *cap)
		return 0;
	if (need > SIZE_MAX / 2 / elem)
		return -ENOMEM;
	while (cap2 < need)
		cap2 *= 2;
	p = realloc(*buf, cap2 * elem);
	if (!p)
		return -ENOMEM;
	*buf = p;
	*cap = cap2;
	return 0;
}

/* Index of the child of parent named name[0..len), created when absent. */
static int child(struct flamegraph *fg, uint32_t parent, const char *name, size_t len,
		 uint8_t flags, uint32_t *out)
{
	size_t klen = sizeof(parent) + len;
	struct node *n;
	uint32_t *slot;
	bool created;

	if (fg->n >= NO_NODE || len > UINT32_MAX)
		return -EOVERFLOW;
	if (grow((void **)&fg->key, &fg->key_cap, klen, 1))
		return -ENOMEM;
	memcpy(fg->key, &parent, sizeof(parent));
	memcpy(fg->key + sizeof(parent), name, len);
	/* Make room first so a created index entry always gets its node. */
	if (grow((void **)&fg->nodes, &fg->cap, fg->n + 1, sizeof(*fg->nodes)) ||
	    grow((void **)&fg->names, &fg->names_cap, fg->names_len + len + 1, 1))
		return -ENOMEM;
	slot = hmap__upsert(fg->index, fg->key, klen, &created);
	if (!slot)
		return -ENOMEM;
	if (created) {
		*slot = fg->n;
		n = &fg->nodes[fg->n++];
		*n = (struct node){
			.name = fg->names_len, .name_len = len, .first_child = NO_NODE,
			.next_sibling = fg->nodes[parent].first_child,
		};
		fg->nodes[parent].first_child = *slot;
		memcpy(fg->names + fg->names_len, name, len);
		fg->names[fg->names_len + len] = '\0';
		fg->names_len += len + 1;
		fg->sorted = false;
	}
	*out = *slot;
	fg->nodes[*out].flags |= flags;
	return 0;
}

static int add_stack(struct flamegraph *fg, const char *stack, uint64_t value, const char *group,
		     bool shrink)
{
	uint8_t flags = shrink ? NODE_SHRINK : 0;
	uint32_t at = 0;
	int err;

	fg->nodes[0].value = add_sat(fg->nodes[0].value, value);
	if (group) {
		if ((err = child(fg, at, group, strlen(group), flags | NODE_GROUP, &at)))
			return err;
		fg->nodes[at].value = add_sat(fg->nodes[at].value, value);
	}
	for (const char *frame = stack;;) {
		const char *semi = strchr(frame, ';');
		size_t len = semi ? (size_t)(semi - frame) : strlen(frame);

		if ((err = child(fg, at, frame, len, flags, &at)))
			return err;
		fg->nodes[at].value = add_sat(fg->nodes[at].value, value);
		if (!semi)
			return 0;
		frame = semi + 1;
	}
}

int flamegraph__add_folded(struct flamegraph *fg, const struct folded *f, const char *group,
			   bool shrink)
{
	const char *stack;
	uint64_t value;
	size_t iter = 0;
	int err;

	while (folded__next(f, &iter, &stack, &value))
		if (value && (err = add_stack(fg, stack, value, group, shrink)))
			return err;
	return 0;
}

static int name_cmp(const void *a, const void *b, void *arg)
{
	const struct flamegraph *fg = arg;

	return strcmp(fg->names + fg->nodes[*(const uint32_t *)a].name,
		      fg->names + fg->nodes[*(const uint32_t *)b].name);
}

/* Siblings in name order: the same frames land in the same place in every
 * graph, which is what makes two graphs comparable by eye. */
static int sort_children(struct flamegraph *fg)
{
	uint32_t *kids;

	if (fg->sorted)
		return 0;
	kids = malloc(fg->n * sizeof(*kids));
	if (!kids)
		return -ENOMEM;
	for (size_t i = 0; i < fg->n; i++) {
		size_t k = 0;

		for (uint32_t c = fg->nodes[i].first_child; c != NO_NODE;
		     c = fg->nodes[c].next_sibling)
			kids[k++] = c;
		if (k < 2)
			continue;
		qsort_r(kids, k, sizeof(*kids), name_cmp, fg);
		fg->nodes[i].first_child = kids[0];
		for (size_t j = 0; j + 1 < k; j++)
			fg->nodes[kids[j]].next_sibling = kids[j + 1];
		fg->nodes[kids[k - 1]].next_sibling = NO_NODE;
	}
	free(kids);
	fg->sorted = true;
	return 0;
}

void flamegraph__free(struct flamegraph *fg)
{
	if (!fg)
		return;
	hmap__free(fg->index);
	free(fg->nodes);
	free(fg->names);
	free(fg->key);
	free(fg);
}

/* ---- rendering ----------------------------------------------------------- */

struct visit {
	uint32_t node;
	uint32_t depth;
	uint32_t pos;		/* index of the frame in its stack, group frames left out */
	uint8_t cls;		/* kind user frames get here: that of the class frame below */
	double offset;		/* bytes left of this frame */
};

struct render {
	const struct flamegraph *fg;
	const struct flamegraph_opts *o;
	FILE *out;		/* NULL: only measure */
	unsigned width;
	double scale;		/* px per byte */
	double min_px;
	unsigned rows;		/* layout height in stack levels, from the measuring walk */
	/* measured */
	size_t rects;
	unsigned depth;
	unsigned kinds;		/* bit per enum kind drawn */
	struct visit *stack;
};

static bool has_suffix(const char *s, size_t len, const char *suffix)
{
	size_t n = strlen(suffix);

	return len >= n && !memcmp(s + len - n, suffix, n);
}

static enum kind classify(const struct render *r, const struct visit *v, uint8_t *cls)
{
	const struct node *n = &r->fg->nodes[v->node];
	const char *name = r->fg->names + n->name;

	if (v->node == 0)
		return K_ROOT;
	if (n->flags & NODE_GROUP)
		return n->flags & NODE_SHRINK ? K_SHRINK : K_GROW;
	if (!r->o->plain && v->pos < 2)
		return v->pos == 0 ? K_CONTAINER : K_PROCESS;
	if (has_suffix(name, n->name_len, "_[k]"))
		return K_KERNEL;
	if (has_suffix(name, n->name_len, "_[j]"))
		return K_JIT;
	for (size_t i = 0; i < sizeof(class_frames) / sizeof(class_frames[0]); i++)
		if (!strcmp(name, class_frames[i].name))
			return *cls = class_frames[i].kind;
	return v->cls;
}

static uint32_t hash_name(const char *s)
{
	uint32_t h = 2166136261u;	/* FNV-1a */

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

static double hue_to_rgb(double p, double q, double t)
{
	t -= floor(t);
	if (t < 1.0 / 6)
		return p + (q - p) * 6 * t;
	if (t < 0.5)
		return q;
	if (t < 2.0 / 3)
		return p + (q - p) * (2.0 / 3 - t) * 6;
	return p;
}

static void write_color(FILE *out, enum kind k, const char *name)
{
	const struct style *s = &styles[k];
	uint32_t h = hash_name(name);
	double hue = (s->hue + ((h & 0xffff) / 65535.0 - 0.5) * s->hue_spread) / 360;
	double l = s->light + ((h >> 16) / 65535.0 - 0.5) * s->light_spread;
	double q = l < 0.5 ? l * (1 + s->sat) : l + s->sat - l * s->sat, p = 2 * l - q;

	fprintf(out, "rgb(%d,%d,%d)", (int)lround(255 * hue_to_rgb(p, q, hue + 1.0 / 3)),
		(int)lround(255 * hue_to_rgb(p, q, hue)),
		(int)lround(255 * hue_to_rgb(p, q, hue - 1.0 / 3)));
}

static unsigned fit_chars(double w)
{
	double n = floor((w - 2 * TEXT_PAD) / CHAR_PX);

	return n < 3 ? 0 : n > NAME_MAX_CHARS ? NAME_MAX_CHARS : (unsigned)n;
}

static void write_frame(const struct render *r, const struct visit *v, enum kind k)
{
	const struct node *n = &r->fg->nodes[v->node];
	const char *name = v->node ? r->fg->names + n->name : "all";
	double x = PAD + v->offset * r->scale, w = n->value * r->scale;
	unsigned row = r->o->inverted ? v->depth : r->rows - 1 - v->depth;
	double y = TOP + (double)row * ROW;
	char size[32];

	flamegraph__format_bytes(n->value, size, sizeof(size));
	fprintf(r->out, "<g class=\"f\" data-v=\"%" PRIu64 "\" data-d=\"%u\"><title>", n->value,
		v->depth);
	flamegraph__escape(r->out, name, NAME_MAX_CHARS);
	fprintf(r->out, "&#10;%s%s (%.2f%%)</title><rect x=\"%.2f\" y=\"%.0f\" width=\"%.2f\" "
		"height=\"%d\" fill=\"", n->flags & NODE_SHRINK ? "-" : "", size,
		100.0 * n->value / r->fg->nodes[0].value, x, y, w, ROW - 1);
	write_color(r->out, k, name);
	fprintf(r->out, "\"/><text x=\"%.2f\" y=\"%.1f\">", x + TEXT_PAD, y + ROW - 4.5);
	flamegraph__escape(r->out, name, fit_chars(w));
	fputs("</text></g>\n", r->out);
}

/*
 * Depth-first over the frames at least min_px wide and at most
 * FLAMEGRAPH_MAX_DEPTH deep: counts them (and the depth and kinds drawn) and,
 * with out set, writes them. A frame left out takes everything above it
 * along; its bytes still widen its parent.
 */
static void walk(struct render *r)
{
	const struct node *nodes = r->fg->nodes;
	size_t top = 0;

	r->rects = 0;
	r->depth = 0;
	r->kinds = 0;
	if (!nodes[0].value)
		return;
	r->stack[top++] = (struct visit){ .cls = K_NATIVE };
	while (top) {
		struct visit v = r->stack[--top];
		const struct node *n = &nodes[v.node];
		double offset = v.offset;
		uint8_t cls = v.cls;
		enum kind k = classify(r, &v, &cls);
		uint32_t pos = v.node == 0 || (n->flags & NODE_GROUP) ? 0 : v.pos + 1;
		bool deeper = v.depth < FLAMEGRAPH_MAX_DEPTH;

		r->rects++;
		r->kinds |= 1u << k;
		if (v.depth > r->depth)
			r->depth = v.depth;
		if (r->out)
			write_frame(r, &v, k);
		for (uint32_t c = n->first_child; c != NO_NODE; c = nodes[c].next_sibling) {
			if (deeper && nodes[c].value * r->scale >= r->min_px)
				r->stack[top++] = (struct visit){
					.node = c, .depth = v.depth + 1, .pos = pos, .cls = cls,
					.offset = offset,
				};
			offset += nodes[c].value;
		}
	}
}

static const char style_sheet[] =
"text{font-family:monospace;font-size:11px;fill:#000}\n"
"#title{font-size:17px;text-anchor:middle}\n"
".btn{cursor:pointer;fill:#1a4fa0}\n"
".btn:hover{text-decoration:underline}\n"
".f{cursor:pointer}\n"
".f text{pointer-events:none}\n"
".f:hover rect{stroke:#000;stroke-width:0.6}\n"
".m rect{fill:rgb(230,0,230)}\n"
".anc rect{opacity:0.55}\n";

/* The viewer: zoom, search, tooltips in the details line. Geometry comes
 * from the rects themselves, names from the first line of each <title>. */
static const char script[] =
"(function () {\n"
"'use strict';\n"
"var svg = document.documentElement;\n"
"var W = +svg.getAttribute('width'), PAD = +svg.getAttribute('data-pad');\n"
"var CW = +svg.getAttribute('data-cw'), TP = +svg.getAttribute('data-tp');\n"
"var MAXC = +svg.getAttribute('data-maxc'), TOTAL = +svg.getAttribute('data-total');\n"
"var EPS = +svg.getAttribute('data-eps');\n"
"var details = document.getElementById('details');\n"
"var matched = document.getElementById('matched');\n"
"var resetBtn = document.getElementById('reset');\n"
"var searchBtn = document.getElementById('search');\n"
"var frames = [], byG = new Map(), lastSearch = '';\n"
"document.querySelectorAll('#frames > g').forEach(function (g) {\n"
"  var r = g.querySelector('rect'), info = g.querySelector('title').textContent;\n"
"  var nl = info.indexOf('\\n');\n"
"  var f = { g: g, r: r, t: g.querySelector('text'), info: info,\n"
"            name: nl < 0 ? info : info.slice(0, nl),\n"
"            x: +r.getAttribute('x'), w: +r.getAttribute('width'),\n"
"            d: +g.getAttribute('data-d'), v: +g.getAttribute('data-v') };\n"
"  frames.push(f);\n"
"  byG.set(g, f);\n"
"});\n"
"function human(b) {\n"
"  var u = ['KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'], i = 0;\n"
"  if (b < 1024) return b + ' B';\n"
"  for (b /= 1024; b >= 1023.95 && i < u.length - 1; i++) b /= 1024;\n"
"  return b.toFixed(b < 9.995 ? 2 : b < 99.95 ? 1 : 0) + ' ' + u[i];\n"
"}\n"
"function fit(name, w) {\n"
"  var n = Math.min(Math.floor((w - 2 * TP) / CW), MAXC), c = Array.from(name);\n"
"  if (n < 3) return '';\n"
"  return c.length <= n ? name : c.slice(0, n - 2).join('') + '..';\n"
"}\n"
"function place(f, x, w) {\n"
"  f.r.setAttribute('x', x.toFixed(2));\n"
"  f.r.setAttribute('width', w.toFixed(2));\n"
"  f.t.setAttribute('x', (x + TP).toFixed(2));\n"
"  f.t.textContent = fit(f.name, w);\n"
"}\n"
"function zoom(z) {\n"
"  var scale = (W - 2 * PAD) / z.w, end = z.x + z.w;\n"
"  frames.forEach(function (f) {\n"
"    var inside = f.x >= z.x - EPS && f.x + f.w <= end + EPS;\n"
"    var covers = f.x <= z.x + EPS && f.x + f.w >= end - EPS;\n"
"    f.g.classList.remove('anc');\n"
"    f.g.style.display = '';\n"
"    if (f.d >= z.d && inside) {\n"
"      place(f, PAD + (f.x - z.x) * scale, f.w * scale);\n"
"    } else if (f.d < z.d && covers) {\n"
"      place(f, PAD, W - 2 * PAD);\n"
"      f.g.classList.add('anc');\n"
"    } else {\n"
"      f.g.style.display = 'none';\n"
"    }\n"
"  });\n"
"  resetBtn.style.display = z.d ? '' : 'none';\n"
"}\n"
"function search(text) {\n"
"  var re = null, hits = [], sum = 0, end = -Infinity;\n"
"  lastSearch = text || '';\n"
"  if (lastSearch) {\n"
"    try { re = new RegExp(lastSearch); } catch (e) {\n"
"      matched.textContent = 'bad regular expression';\n"
"      return;\n"
"    }\n"
"  }\n"
"  frames.forEach(function (f) {\n"
"    var m = !!re && re.test(f.name);\n"
"    f.g.classList.toggle('m', m);\n"
"    if (m) hits.push(f);\n"
"  });\n"
"  /* A hit inside an earlier, wider hit is already counted in it. */\n"
"  hits.sort(function (a, b) { return a.x - b.x || a.d - b.d; });\n"
"  hits.forEach(function (f) {\n"
"    if (f.x < end - EPS) return;\n"
"    sum += f.v;\n"
"    end = f.x + f.w;\n"
"  });\n"
"  matched.textContent = re ? 'Matched: ' + (TOTAL ? 100 * sum / TOTAL : 0).toFixed(2) +\n"
"                        '% (' + human(sum) + ')' : '';\n"
"}\n"
"function ask() {\n"
"  var s = window.prompt('Highlight frames matching (regular expression):', lastSearch);\n"
"  if (s !== null) search(s);\n"
"}\n"
"var box = document.getElementById('frames');\n"
"box.addEventListener('click', function (e) {\n"
"  var g = e.target.closest('g.f');\n"
"  if (g) zoom(byG.get(g));\n"
"});\n"
"box.addEventListener('mouseover', function (e) {\n"
"  var g = e.target.closest('g.f');\n"
"  if (g) details.textContent = byG.get(g).info.replace('\\n', '  ');\n"
"});\n"
"box.addEventListener('mouseout', function () { details.textContent = ' '; });\n"
"resetBtn.addEventListener('click', function () { if (frames.length) zoom(frames[0]); });\n"
"searchBtn.addEventListener('click', ask);\n"
"document.addEventListener('keydown', function (e) {\n"
"  if (e.key === 'f' && (e.ctrlKey || e.metaKey)) {\n"
"    e.preventDefault();\n"
"    ask();\n"
"  } else if (e.key === 'Escape') {\n"
"    search('');\n"
"    if (frames.length) zoom(frames[0]);\n"
"  }\n"
"});\n"
"frames.sort(function (a, b) { return a.d - b.d; });\n"
"var q = new URLSearchParams(window.location.search).get('s');\n"
"if (q) search(q);\n"
"})();\n";

static void write_legend(const struct render *r)
{
	double x = PAD;
	char total[32];

	for (int k = 0; k < K_COUNT; k++) {
		if (!styles[k].label || !(r->kinds & (1u << k)))
			continue;
		fprintf(r->out, "<rect x=\"%.1f\" y=\"34\" width=\"10\" height=\"10\" fill=\"", x);
		write_color(r->out, k, "");
		fprintf(r->out, "\"/><text x=\"%.1f\" y=\"43\">%s</text>\n", x + 14,
			styles[k].label);
		x += 14 + strlen(styles[k].label) * CHAR_PX + 16;
	}
	flamegraph__format_bytes(r->fg->nodes[0].value, total, sizeof(total));
	fprintf(r->out, "<text x=\"%u\" y=\"43\" text-anchor=\"end\">total %s</text>\n",
		r->width - PAD, total);
}

static void write_document(struct render *r)
{
	const char *title = r->o->title ? r->o->title : "Memory flame graph";
	unsigned height;

	r->rows = r->rects ? r->depth + 1 : 2;
	height = TOP + r->rows * ROW + BOTTOM;

	fprintf(r->out,
		"<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\"?>\n"
		"<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"%u\" "
		"height=\"%u\" viewBox=\"0 0 %u %u\" data-pad=\"%d\" data-cw=\"%.2f\" "
		"data-tp=\"%d\" data-maxc=\"%d\" data-eps=\"%.3f\" data-total=\"%" PRIu64 "\">\n",
		r->width, height, r->width, height, PAD, CHAR_PX, TEXT_PAD, NAME_MAX_CHARS, EPS_PX,
		r->fg->nodes[0].value);
	fprintf(r->out, "<style type=\"text/css\"><![CDATA[\n%s]]></style>\n", style_sheet);
	fprintf(r->out, "<rect x=\"0\" y=\"0\" width=\"%u\" height=\"%u\" fill=\"#f6f6f0\"/>\n",
		r->width, height);
	fprintf(r->out, "<text id=\"title\" x=\"%u\" y=\"22\">", r->width / 2);
	flamegraph__escape(r->out, title, NAME_MAX_CHARS);
	fputs("</text>\n", r->out);
	fprintf(r->out, "<text id=\"reset\" class=\"btn\" x=\"%d\" y=\"22\" style=\"display:none\">"
		"Reset zoom</text>\n", PAD);
	fprintf(r->out, "<text id=\"search\" class=\"btn\" x=\"%u\" y=\"22\" text-anchor=\"end\">"
		"Search</text>\n", r->width - PAD);
	write_legend(r);
	fprintf(r->out, "<text id=\"details\" x=\"%d\" y=\"%u\"> </text>\n", PAD, height - 10);
	fprintf(r->out, "<text id=\"matched\" x=\"%u\" y=\"%u\" text-anchor=\"end\"></text>\n",
		r->width - PAD, height - 10);
	if (!r->rects)
		fprintf(r->out, "<text x=\"%u\" y=\"%u\" text-anchor=\"middle\">no stacks in the "
			"input</text>\n", r->width / 2, TOP + ROW);
	fputs("<g id=\"frames\">\n", r->out);
	walk(r);
	fputs("</g>\n", r->out);
	fprintf(r->out, "<script type=\"text/ecmascript\"><![CDATA[\n%s]]></script>\n</svg>\n",
		script);
}

int flamegraph__write_svg(struct flamegraph *fg, const struct flamegraph_opts *o, FILE *out,
			  struct flamegraph_stats *stats)
{
	struct render r = { .fg = fg, .o = o };
	size_t max_rects = o->max_rects ? o->max_rects : FLAMEGRAPH_MAX_RECTS;
	uint64_t total = fg->nodes[0].value;
	int err;

	if ((err = sort_children(fg)))
		return err;
	r.stack = malloc(fg->n * sizeof(*r.stack));
	if (!r.stack)
		return -ENOMEM;
	r.width = o->width ? o->width : FLAMEGRAPH_WIDTH;
	if (r.width < FLAMEGRAPH_WIDTH_MIN)
		r.width = FLAMEGRAPH_WIDTH_MIN;
	if (r.width > FLAMEGRAPH_WIDTH_MAX)
		r.width = FLAMEGRAPH_WIDTH_MAX;
	r.scale = total ? (double)(r.width - 2 * PAD) / total : 0;
	r.min_px = !o->min_px ? FLAMEGRAPH_MIN_PX : fmax(o->min_px, MIN_PX_FLOOR);
	/* Only the root is drawn once min_px passes the width, so this ends. */
	for (walk(&r); r.rects > max_rects && r.min_px <= r.width; walk(&r))
		r.min_px *= 1.5;

	r.out = out;
	errno = 0;
	write_document(&r);
	free(r.stack);
	if (stats)
		*stats = (struct flamegraph_stats){
			.frames = fg->n, .rects = r.rects, .depth = r.depth, .min_px = r.min_px,
			.total = total,
		};
	if (fflush(out) || ferror(out))
		return errno ? -errno : -EIO;
	return 0;
}
