/* `memscope top`'s table: which columns fit the terminal, and the rows (and
 * their processes) cut to it. The figures come from topview.c. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "topview.h"
#include "units.h"

#define LINE_MAX_BYTES	(PATH_MAX + 512)	/* a table line before it is cut */
#define PROC_LABEL_MAX	(PROCSTATUS_NAME_MAX + 32)

const char *topview__fmt_bytes(uint64_t bytes, char *buf, size_t len)
{
	return units__bytes_short(bytes, buf, len);
}

const char *topview__fmt_rate(double r, char *buf, size_t len)
{
	if (!isfinite(r))
		snprintf(buf, len, "-");
	else if (fabs(r) < 0.05)
		snprintf(buf, len, "0.0");
	else
		snprintf(buf, len, fabs(r) < 999.95 ? "%+.1f" : "%+.0f", r);
	return buf;
}

void topview__fit(const char *s, int width, char *buf, size_t len)
{
	size_t n, skip = 0, o = 0;

	if (!len)
		return;
	n = s ? strlen(s) : 0;
	if (width < 0)
		width = 0;
	if (n > (size_t)width) {
		if (width > 3) {
			memcpy(buf, "...", 3 < len - 1 ? 3 : len - 1);
			o = 3 < len - 1 ? 3 : len - 1;
		}
		skip = n - ((size_t)width - o);
	}
	for (size_t i = skip; i < n && o + 1 < len; i++) {
		unsigned char c = (unsigned char)s[i];

		buf[o++] = c >= 0x20 && c < 0x7f ? (char)c : '?';
	}
	buf[o] = '\0';
}


/* ---- the table ------------------------------------------------------------- */

static const struct column {
	const char *head;
	int width;
	int drop;	/* order in which narrow terminals drop it; 0: never */
} columns[TOP_COL_COUNT] = {
	[TOP_COL_LABEL] = { "CONTAINER", 0, 0 },
	[TOP_COL_PROCS] = { "PROCS", 5, 7 },
	[TOP_COL_MEM] = { "MEM", 6, 11 },
	[TOP_COL_RSS] = { "RSS", 6, 6 },
	[TOP_COL_ANON] = { "ANON", 6, 10 },
	[TOP_COL_FILE] = { "FILE", 6, 9 },
	[TOP_COL_SHMEM] = { "SHMEM", 6, 3 },
	[TOP_COL_KERNEL] = { "KERNEL", 6, 4 },
	[TOP_COL_V8] = { "V8", 6, 1 },
	[TOP_COL_NATIVE] = { "NATIVE", 6, 2 },
	[TOP_COL_GROWTH] = { "MiB/min", 8, 0 },
	[TOP_COL_MONO] = { "MONO", 4, 5 },
	[TOP_COL_OOM] = { "OOM", 4, 8 },
	[TOP_COL_VERDICT] = { "VERDICT", 14, 12 },
};

#define DROP_MAX	12
#define DROP_LATE	11	/* these go only when a TOP_LABEL_MIN label would not fit */

/* Width of the columns in cols other than the label, each with its separator. */
static int fixed_width(unsigned cols)
{
	int w = 0;

	for (int c = 1; c < TOP_COL_COUNT; c++)
		if (cols & (1u << c))
			w += columns[c].width + 1;
	return w;
}

void topview__layout(int width, size_t label_len, struct top_layout *out)
{
	int head = (int)strlen(columns[TOP_COL_LABEL].head);
	int need = label_len > (size_t)INT_MAX / 2 ? INT_MAX / 2 : (int)label_len;
	int target;

	if (need < head)
		need = head;
	out->cols = (1u << TOP_COL_COUNT) - 1;
	if (width <= 0) {
		out->label_w = need;
		return;
	}
	for (int order = 1; order <= DROP_MAX; order++) {
		/* The verdict is worth more than a long label, a long label more
		 * than the other columns. */
		target = order < DROP_LATE ? TOP_LABEL_WANT : TOP_LABEL_MIN;
		if (target > need)
			target = need;
		if (fixed_width(out->cols) + target <= width)
			break;
		for (int c = 1; c < TOP_COL_COUNT; c++)
			if (columns[c].drop == order)
				out->cols &= ~(1u << c);
	}
	out->label_w = width - fixed_width(out->cols);
	if (out->label_w > need)
		out->label_w = need;
	if (out->label_w < TOP_LABEL_MIN)
		out->label_w = TOP_LABEL_MIN < need ? TOP_LABEL_MIN : need;
}

struct line {
	char buf[LINE_MAX_BYTES];
	size_t len;
};

static void cell(struct line *l, const char *text, int width, bool left)
{
	int n = snprintf(l->buf + l->len, sizeof(l->buf) - l->len, left ? "%s%-*s" : "%s%*s",
			 l->len ? " " : "", width, text);

	if (n > 0)
		l->len = (size_t)n < sizeof(l->buf) - l->len ? l->len + (size_t)n
							      : sizeof(l->buf) - 1;
}

/* Trailing blanks cut, then the line cut to width. */
static void emit(struct line *l, const struct top_print *p, const char *eol, FILE *f)
{
	while (l->len && l->buf[l->len - 1] == ' ')
		l->len--;
	if (p->width > 0 && l->len > (size_t)p->width)
		l->len = (size_t)p->width;
	fwrite(l->buf, 1, l->len, f);
	fputs(eol, f);
	l->len = 0;
}

struct cells {
	const char *text[TOP_COL_COUNT];	/* NULL: blank */
	char buf[TOP_COL_COUNT][32];
};

static void put_bytes(struct cells *c, enum top_col col, uint64_t v)
{
	c->text[col] = topview__fmt_bytes(v, c->buf[col], sizeof(c->buf[col]));
}

static void row_cells(const struct top_row *r, struct cells *c)
{
	uint64_t native = r->own.anon;

	memset(c->text, 0, sizeof(c->text));
	snprintf(c->buf[TOP_COL_PROCS], sizeof(c->buf[0]), "%zu", r->n_procs);
	c->text[TOP_COL_PROCS] = c->buf[TOP_COL_PROCS];
	put_bytes(c, TOP_COL_MEM, r->own.usage);
	put_bytes(c, TOP_COL_RSS, r->rss);
	put_bytes(c, TOP_COL_ANON, r->own.anon);
	put_bytes(c, TOP_COL_FILE, r->own.file);
	put_bytes(c, TOP_COL_SHMEM, r->own.shmem);
	put_bytes(c, TOP_COL_KERNEL, r->own.kernel + r->own.sock);
	if (isfinite(r->v8) && r->v8 >= 0) {
		put_bytes(c, TOP_COL_V8, (uint64_t)r->v8);
		native = native > (uint64_t)r->v8 ? native - (uint64_t)r->v8 : 0;
	} else {
		c->text[TOP_COL_V8] = "-";
	}
	put_bytes(c, TOP_COL_NATIVE, native);
	c->text[TOP_COL_GROWTH] = topview__fmt_rate(r->slope, c->buf[TOP_COL_GROWTH],
						    sizeof(c->buf[0]));
	c->text[TOP_COL_MONO] = !topview__row_growing(r) ? "-" : r->monotonic ? "yes" : "no";
	snprintf(c->buf[TOP_COL_OOM], sizeof(c->buf[0]), "%llu", (unsigned long long)r->oom_kills);
	c->text[TOP_COL_OOM] = c->buf[TOP_COL_OOM];
	c->text[TOP_COL_VERDICT] = isfinite(r->slope) ? r->verdict_text : "-";
}

static void proc_label(const struct top_proc *p, char *buf, size_t len)
{
	if (p->inner_pid && p->inner_pid != p->pid)
		snprintf(buf, len, "  %d/%d %s", (int)p->pid, (int)p->inner_pid, p->name);
	else
		snprintf(buf, len, "  %d %s", (int)p->pid, p->name);
}

static void proc_cells(const struct top_proc *p, struct cells *c)
{
	memset(c->text, 0, sizeof(c->text));
	put_bytes(c, TOP_COL_RSS, p->rss);
	put_bytes(c, TOP_COL_ANON, p->anon);
	put_bytes(c, TOP_COL_FILE, p->file);
	put_bytes(c, TOP_COL_SHMEM, p->shmem);
}

/* What one table print works with. */
struct table {
	const struct top_print *p;
	struct top_layout lay;
	const char *eol;
	FILE *f;
	struct line line;
	char fitted[PATH_MAX];
};

static void emit_cells(struct table *t, const char *label, const struct cells *c)
{
	topview__fit(label, t->lay.label_w, t->fitted, sizeof(t->fitted));
	cell(&t->line, t->fitted, t->lay.label_w, true);
	for (int col = 1; col < TOP_COL_COUNT; col++)
		if (t->lay.cols & (1u << col))
			cell(&t->line, c->text[col] ? c->text[col] : "", columns[col].width,
			     col == TOP_COL_VERDICT);
	emit(&t->line, t->p, t->eol, t->f);
}

static size_t longest_label(struct top_row *const *rows, size_t n, bool procs)
{
	char buf[PROC_LABEL_MAX];
	size_t longest = 0;

	for (size_t i = 0; i < n; i++) {
		if (!rows[i]->shown)
			continue;
		if (strlen(rows[i]->label) > longest)
			longest = strlen(rows[i]->label);
		for (size_t j = 0; procs && j < rows[i]->n_proc_list; j++) {
			proc_label(&rows[i]->procs[j], buf, sizeof(buf));
			if (strlen(buf) > longest)
				longest = strlen(buf);
		}
	}
	return longest;
}

void topview__print_table(struct top_row *const *rows, size_t n, const struct top_print *p,
			  const char *eol, FILE *f)
{
	int max_lines = p->height > 0 ? p->height : INT_MAX, lines = 0;
	struct table *t = calloc(1, sizeof(*t));
	size_t shown = 0, done = 0;
	char label[PROC_LABEL_MAX];
	struct cells c = {};

	/* A line is PATH_MAX and more: off the stack. */
	if (!t)
		return;
	*t = (struct table){ .p = p, .eol = eol, .f = f };
	for (size_t i = 0; i < n; i++)
		shown += rows[i]->shown;
	topview__layout(p->width, longest_label(rows, n, p->procs), &t->lay);
	if (p->title && lines < max_lines) {
		/* Only sanitized here; emit() cuts it to width, keeping its start. */
		topview__fit(p->title, (int)sizeof(t->line.buf) - 1, t->line.buf,
			     sizeof(t->line.buf));
		t->line.len = strlen(t->line.buf);
		emit(&t->line, p, eol, f);
		lines++;
	}
	if (lines < max_lines) {
		for (int col = 0; col < TOP_COL_COUNT; col++)
			c.text[col] = columns[col].head;
		emit_cells(t, columns[TOP_COL_LABEL].head, &c);
		lines++;
	}
	for (size_t i = 0; i < n && lines < max_lines; i++) {
		const struct top_row *r = rows[i];

		if (!r->shown)
			continue;
		/* The last line left says what did not fit rather than one more row. */
		if (lines == max_lines - 1 && shown - done > 1) {
			snprintf(label, sizeof(label), "... %zu more", shown - done);
			memset(c.text, 0, sizeof(c.text));
			emit_cells(t, label, &c);
			break;
		}
		row_cells(r, &c);
		emit_cells(t, r->label, &c);
		lines++;
		done++;
		for (size_t j = 0; p->procs && j < r->n_proc_list && lines < max_lines - 1; j++) {
			proc_label(&r->procs[j], label, sizeof(label));
			proc_cells(&r->procs[j], &c);
			emit_cells(t, label, &c);
			lines++;
		}
	}
	free(t);
}
