#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "folded.h"
#include "safe_text.h"
#include "textio.h"
#include "hmap.h"

#define UNKNOWN_FRAME	"[unknown]"
/* Longest stack text: a line also needs " ", up to 20 digits and "\n". */
#define STACK_MAX	(FOLDED_LINE_MAX - 22)

struct folded {
	struct hmap *stacks;	/* key: stack text with its NUL, value: uint64_t weight */
	uint64_t total;
	/* Stack being built by stack_push(); scratch, so adds need no big locals. */
	size_t stack_len;
	bool stack_full;
	char frame[FOLDED_FRAME_MAX];
	char stack[STACK_MAX + 1];
};

static inline uint64_t add_sat(uint64_t a, uint64_t b)
{
	return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

/* Frames are separated by ';' and the count by a space: both, and every
 * control (safe_text.h), become '_'; malformed UTF-8 becomes U+FFFD. Cut at
 * a character boundary. */
void folded__sanitize(const char *in, char *out, size_t len)
{
	size_t n = in ? strlen(in) : 0, o = 0;

	if (!len)
		return;
	for (size_t i = 0; i < n;) {
		uint32_t cp;
		size_t used = safe_text__next(in + i, n - i, &cp), blen = used;
		const char *bytes = in + i;

		if (cp <= ' ' || cp == ';' || safe_text__is_control(cp)) {
			bytes = "_";
			blen = 1;
		} else if (cp == SAFE_TEXT_REPLACEMENT) {
			bytes = SAFE_TEXT_REPLACEMENT_UTF8;
			blen = sizeof(SAFE_TEXT_REPLACEMENT_UTF8) - 1;
		}
		if (o + blen > len - 1)
			break;
		memcpy(out + o, bytes, blen);
		o += blen;
		i += used;
	}
	out[o] = '\0';
	if (!o)
		snprintf(out, len, "%s", UNKNOWN_FRAME);
}

struct folded *folded__new(void)
{
	struct folded *f = calloc(1, sizeof(*f));

	if (!f)
		return NULL;
	f->stacks = hmap__new(sizeof(uint64_t));
	if (!f->stacks) {
		free(f);
		errno = ENOMEM;
		return NULL;
	}
	return f;
}

static void stack_reset(struct folded *f)
{
	f->stack_len = 0;
	f->stack_full = false;
	f->stack[0] = '\0';
}

static void stack_append(struct folded *f, const char *frame, size_t len)
{
	if (f->stack_len)
		f->stack[f->stack_len++] = ';';
	memcpy(f->stack + f->stack_len, frame, len);
	f->stack_len += len;
	f->stack[f->stack_len] = '\0';
}

/*
 * Append one frame, sanitized. Room for ";" FOLDED_TRUNCATED is always kept,
 * so when a frame does not fit the stack can still say it was cut, and the
 * weight is still counted rather than the sample being lost.
 */
static void stack_push(struct folded *f, const char *frame)
{
	const size_t mark = sizeof(FOLDED_TRUNCATED);	/* its ';' counts as the NUL */
	size_t len;

	if (f->stack_full)
		return;
	folded__sanitize(frame, f->frame, sizeof(f->frame));
	len = strlen(f->frame);
	if (f->stack_len + 1 + len + mark > STACK_MAX) {
		stack_append(f, FOLDED_TRUNCATED, mark - 1);
		f->stack_full = true;
		return;
	}
	stack_append(f, f->frame, len);
}

static int stack_commit(struct folded *f, uint64_t value)
{
	uint64_t *weight = hmap__upsert(f->stacks, f->stack, f->stack_len + 1, NULL);

	if (!weight)
		return -ENOMEM;
	*weight = add_sat(*weight, value);
	f->total = add_sat(f->total, value);
	return 0;
}

int folded__add(struct folded *f, const char *const *frames, size_t n, uint64_t value)
{
	if (!n || !frames)
		return -EINVAL;
	stack_reset(f);
	for (size_t i = 0; i < n; i++)
		stack_push(f, frames[i]);
	return stack_commit(f, value);
}

struct row {
	const char *stack;
	uint64_t value;
};

static int row_cmp(const void *a, const void *b)
{
	const struct row *x = a, *y = b;

	if (x->value != y->value)
		return x->value > y->value ? -1 : 1;
	return strcmp(x->stack, y->stack);
}

static int write_error(void)
{
	return errno ? -errno : -EIO;
}

int folded__write(const struct folded *f, FILE *out)
{
	size_t n = folded__count(f), i = 0, iter = 0;
	struct row *rows = calloc(n ? n : 1, sizeof(*rows));
	int err = 0;

	if (!rows)
		return -ENOMEM;
	while (i < n && folded__next(f, &iter, &rows[i].stack, &rows[i].value))
		i++;
	qsort(rows, i, sizeof(*rows), row_cmp);

	errno = 0;
	for (size_t j = 0; j < i && !err; j++)
		if (fprintf(out, "%s %" PRIu64 "\n", rows[j].stack, rows[j].value) < 0)
			err = write_error();
	if (!err && (fflush(out) || ferror(out)))
		err = write_error();
	free(rows);
	return err;
}

static bool parse_u64(const char *s, uint64_t *out)
{
	uint64_t v = 0;

	if (!*s)
		return false;
	for (; *s; s++) {
		unsigned d = (unsigned char)*s - '0';

		if (d > 9 || v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*out = v;
	return true;
}

static inline bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

/* 0 (added or blank), 1 for a bad line, -ENOMEM. line is modified. */
static int parse_line(struct folded *f, char *line, size_t len)
{
	char *sp, *frame;
	uint64_t value;

	while (len && is_blank(line[len - 1]))
		line[--len] = '\0';
	if (!len)
		return 0;
	sp = memrchr(line, ' ', len);
	if (!sp || !parse_u64(sp + 1, &value))
		return 1;
	while (sp > line && is_blank(sp[-1]))
		sp--;
	if (sp == line)
		return 1;
	*sp = '\0';

	stack_reset(f);
	for (frame = line;;) {
		char *semi = strchr(frame, ';');

		if (semi)
			*semi = '\0';
		stack_push(f, frame);
		if (!semi)
			break;
		frame = semi + 1;
	}
	return stack_commit(f, value);
}

int folded__read(struct folded *f, FILE *in, size_t *bad_lines)
{
	char *line = malloc(FOLDED_LINE_MAX);
	size_t bad = 0;
	ssize_t len;
	int err = 0;

	if (!line)
		return -ENOMEM;
	flockfile(in);
	/* Overlong lines and lines holding NUL are consumed and counted bad. */
	while (!err && (len = textio__read_line(in, line, FOLDED_LINE_MAX)) != TEXTIO_EOF &&
	       len != TEXTIO_ERROR) {
		if (len == TEXTIO_SKIP) {
			bad++;
			continue;
		}
		err = parse_line(f, line, (size_t)len);
		if (err > 0) {
			bad++;
			err = 0;
		}
	}
	if (!err && ferror(in))
		err = -EIO;
	funlockfile(in);
	free(line);
	if (bad_lines)
		*bad_lines = bad;
	return err;
}

size_t folded__count(const struct folded *f)
{
	return hmap__count(f->stacks);
}

uint64_t folded__total(const struct folded *f)
{
	return f->total;
}

bool folded__next(const struct folded *f, size_t *iter, const char **stack, uint64_t *value)
{
	const void *key;
	void *val;

	if (!hmap__next(f->stacks, iter, &key, NULL, &val))
		return false;
	if (stack)
		*stack = key;
	if (value)
		memcpy(value, val, sizeof(*value));
	return true;
}

void folded__free(struct folded *f)
{
	if (!f)
		return;
	hmap__free(f->stacks);
	free(f);
}
