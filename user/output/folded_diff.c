#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "folded.h"
#include "folded_diff.h"
#include "textio.h"
#include "hmap.h"

/* Signed input is handed to folded__read() in batches of about this size, so
 * a big file is never held twice in memory. */
#define BATCH_BYTES	(1 << 20)

struct sides {
	uint64_t before, after;
};

struct row {
	const char *stack;
	uint64_t before, after;
};

static inline uint64_t add_sat(uint64_t a, uint64_t b)
{
	return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

static inline uint64_t magnitude(const struct row *r)
{
	return r->after >= r->before ? r->after - r->before : r->before - r->after;
}

static int row_cmp(const void *a, const void *b)
{
	const struct row *x = a, *y = b;
	uint64_t mx = magnitude(x), my = magnitude(y);
	bool gx = x->after >= x->before, gy = y->after >= y->before;

	if (mx != my)
		return mx > my ? -1 : 1;
	if (gx != gy)
		return gx ? -1 : 1;
	return strcmp(x->stack, y->stack);
}

/* Record one side's weights in the union map. */
static int merge_side(struct hmap *m, const struct folded *f, bool after)
{
	const char *stack;
	uint64_t value;
	size_t iter = 0;

	while (folded__next(f, &iter, &stack, &value)) {
		struct sides *s = hmap__upsert(m, stack, strlen(stack) + 1, NULL);

		if (!s)
			return -ENOMEM;
		if (after)
			s->after = value;
		else
			s->before = value;
	}
	return 0;
}

/* Sorted rows of the union; pointers into m. NULL + errno on ENOMEM. */
static struct row *sorted_rows(const struct hmap *m, size_t *n)
{
	struct row *rows = calloc(hmap__count(m) + 1, sizeof(*rows));
	const void *key;
	size_t iter = 0;
	void *val;

	if (!rows)
		return NULL;
	*n = 0;
	while (hmap__next(m, &iter, &key, NULL, &val)) {
		const struct sides *s = val;

		rows[(*n)++] = (struct row){ .stack = key, .before = s->before, .after = s->after };
	}
	qsort(rows, *n, sizeof(*rows), row_cmp);
	return rows;
}

static void count_row(const struct row *r, struct folded_diff_stats *st)
{
	uint64_t d = magnitude(r);

	if (r->after > r->before) {
		st->grown++;
		st->growth = add_sat(st->growth, d);
	} else if (r->after < r->before) {
		st->shrunk++;
		st->shrinkage = add_sat(st->shrinkage, d);
	} else {
		st->unchanged++;
	}
}

/* 1 if written, 0 if this mode leaves the row out, <0 on a write error. */
static int write_row(const struct row *r, enum folded_diff_mode mode, FILE *out)
{
	int rc;

	if (mode == FOLDED_DIFF_TWO_COLUMN)
		rc = fprintf(out, "%s %" PRIu64 " %" PRIu64 "\n", r->stack, r->before, r->after);
	else if (r->after > r->before)
		rc = fprintf(out, "%s %" PRIu64 "\n", r->stack, r->after - r->before);
	else if (r->after < r->before && mode == FOLDED_DIFF_ALL)
		rc = fprintf(out, "%s -%" PRIu64 "\n", r->stack, r->before - r->after);
	else
		return 0;
	return rc < 0 ? -1 : 1;
}

static int write_error(void)
{
	return errno ? -errno : -EIO;
}

int folded_diff__write(const struct folded *before, const struct folded *after,
		       enum folded_diff_mode mode, FILE *out, struct folded_diff_stats *stats)
{
	struct folded_diff_stats st = {};
	struct hmap *m = hmap__new(sizeof(struct sides));
	struct row *rows = NULL;
	size_t n = 0;
	int err;

	if (!m)
		return -ENOMEM;
	err = merge_side(m, before, false);
	if (!err)
		err = merge_side(m, after, true);
	if (!err && !(rows = sorted_rows(m, &n)))
		err = -ENOMEM;

	errno = 0;
	for (size_t i = 0; i < n && !err; i++) {
		int rc = write_row(&rows[i], mode, out);

		count_row(&rows[i], &st);
		if (rc < 0)
			err = write_error();
		st.written += rc > 0;
	}
	if (!err && (fflush(out) || ferror(out)))
		err = write_error();
	if (stats)
		*stats = st;
	free(rows);
	hmap__free(m);
	return err;
}

/* Lines bound for one folded set, fed to it a batch at a time. */
struct batch {
	struct folded *dst;
	char *buf;
	size_t len;
	size_t bad;
};

static int batch_flush(struct batch *b)
{
	size_t bad = 0;
	FILE *in;
	int err;

	if (!b->len)
		return 0;
	in = fmemopen(b->buf, b->len, "r");
	if (!in)
		return -errno;
	err = folded__read(b->dst, in, &bad);
	fclose(in);
	b->bad += bad;
	b->len = 0;
	return err;
}

/* Append the line a[0..alen) c[0..clen) '\n', shorter than FOLDED_LINE_MAX.
 * buf holds BATCH_BYTES + FOLDED_LINE_MAX and is flushed once past
 * BATCH_BYTES, so a line always fits. */
static int batch_add(struct batch *b, const char *a, size_t alen, const char *c, size_t clen)
{
	memcpy(b->buf + b->len, a, alen);
	memcpy(b->buf + b->len + alen, c, clen);
	b->len += alen + clen;
	b->buf[b->len++] = '\n';
	return b->len >= BATCH_BYTES ? batch_flush(b) : 0;
}

/* Offset of the '-' of a negative weight at the end of line, or -1. */
static ssize_t minus_sign(const char *line, size_t len)
{
	const char *sp;

	while (len && (line[len - 1] == ' ' || line[len - 1] == '\t' || line[len - 1] == '\r'))
		len--;
	/* The last byte is not blank, so sp[1] is inside the line. */
	sp = memrchr(line, ' ', len);
	if (!sp || sp[1] != '-')
		return -1;
	return sp + 1 - line;
}

int folded_diff__read_signed(FILE *in, struct folded *pos, struct folded *neg,
			     size_t *bad_lines)
{
	struct batch side[2] = { { .dst = pos }, { .dst = neg } };
	char *line = malloc(FOLDED_LINE_MAX);
	size_t bad = 0;
	ssize_t len;
	int err = 0;

	side[0].buf = malloc(BATCH_BYTES + FOLDED_LINE_MAX);
	side[1].buf = malloc(BATCH_BYTES + FOLDED_LINE_MAX);
	if (!line || !side[0].buf || !side[1].buf) {
		err = -ENOMEM;
		goto out;
	}
	flockfile(in);
	while (!err && (len = textio__read_line(in, line, FOLDED_LINE_MAX)) != TEXTIO_EOF &&
	       len != TEXTIO_ERROR) {
		ssize_t minus = len >= 0 ? minus_sign(line, len) : -1;

		if (len == TEXTIO_SKIP)
			bad++;
		else if (minus < 0)
			err = batch_add(&side[0], line, len, "", 0);
		else
			err = batch_add(&side[1], line, minus, line + minus + 1, len - minus - 1);
	}
	if (!err && ferror(in))
		err = -EIO;
	funlockfile(in);
	for (int i = 0; i < 2 && !err; i++)
		err = batch_flush(&side[i]);
out:
	if (bad_lines)
		*bad_lines = bad + side[0].bad + side[1].bad;
	free(side[0].buf);
	free(side[1].buf);
	free(line);
	return err;
}
