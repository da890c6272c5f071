/* Folded stacks, the text format flamegraph.pl, inferno and speedscope read:
 * one line per distinct stack, frames root first joined by ';', then a space
 * and the weight (bytes for memscope):
 *
 *	[container:web];nginx;main;ngx_palloc;malloc 1310720
 *	[container:web];nginx;main;[unknown] 8192
 *
 * A folded set merges identical stacks (weights add, saturating at
 * UINT64_MAX), writes them heaviest first, and reads such files back for
 * `memscope diff` / `flamegraph`. Frames are normalized with folded__sanitize()
 * both when added and when read, so files from other tools compare equal to
 * memscope's own.
 */
#ifndef MEMSCOPE_FOLDED_H
#define MEMSCOPE_FOLDED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define FOLDED_LINE_MAX		65536	/* longest line with its '\n'; longer: bad */
#define FOLDED_FRAME_MAX	4096	/* frame buffer size: longer frames are cut */
#define FOLDED_TRUNCATED	"[truncated]"	/* last frame of a stack cut to a line */

struct folded;

/*
 * Copy frame `in` into out[len] fit for a folded line: ';', ' ', newline and
 * other control bytes become '_'; NULL or "" becomes "[unknown]"; a cut never
 * splits a UTF-8 sequence. out is always NUL-terminated when len > 0.
 */
void folded__sanitize(const char *in, char *out, size_t len);

/* NULL + errno ENOMEM. */
struct folded *folded__new(void);

/*
 * Add value to the stack frames[0] (root) .. frames[n - 1] (leaf). Frames are
 * sanitized; a stack that would not fit in FOLDED_LINE_MAX keeps its root-most
 * frames and ends with FOLDED_TRUNCATED. -EINVAL when n == 0, -ENOMEM.
 */
int folded__add(struct folded *f, const char *const *frames, size_t n, uint64_t value);

/* All stacks, heaviest first, ties by byte order of the stack text; flushed.
 * 0 or -errno of the failed write. */
int folded__write(const struct folded *f, FILE *out);

/*
 * Merge folded text into f. The weight is the last space-separated field, an
 * unsigned decimal; blank lines are ignored. Lines without a valid weight or
 * stack, holding NUL bytes or longer than FOLDED_LINE_MAX are skipped and
 * counted in *bad_lines (when not NULL). 0, -ENOMEM, or -EIO on a read error.
 */
int folded__read(struct folded *f, FILE *in, size_t *bad_lines);

size_t folded__count(const struct folded *f);
uint64_t folded__total(const struct folded *f);

/* Unordered iteration (size_t iter = 0 to start); stack lives as long as f
 * is not modified. */
bool folded__next(const struct folded *f, size_t *iter, const char **stack, uint64_t *value);

void folded__free(struct folded *f);

#endif
