/* What changed between two folded captures of the same target, as folded
 * stacks again, so the growth can be fed to any flame graph tool:
 *
 *	before:  web;nginx;main;ngx_palloc 4096       after:  web;nginx;main;ngx_palloc 12288
 *	         web;nginx;main;cache_add 8192                web;nginx;main;ssl_init 4096
 *
 *	growth:  web;nginx;main;ngx_palloc 8192
 *	         web;nginx;main;ssl_init 4096
 *	all:     ... as above, then  web;nginx;main;cache_add -8192
 *	two-column (difffolded.pl style, every stack of either capture):
 *	         web;nginx;main;cache_add 8192 0
 *	         web;nginx;main;ngx_palloc 4096 12288
 *	         web;nginx;main;ssl_init 0 4096
 *
 * Rows are heaviest change first; ties put growth first, then byte order of
 * the stack. Signed files ("-8192") are read back with
 * folded_diff__read_signed(), e.g. by `memscope flamegraph`.
 */
#ifndef MEMSCOPE_FOLDED_DIFF_H
#define MEMSCOPE_FOLDED_DIFF_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct folded;

enum folded_diff_mode {
	FOLDED_DIFF_GROWTH,	/* "stack DELTA" for stacks that grew */
	FOLDED_DIFF_ALL,	/* "stack DELTA" / "stack -DELTA" for every stack that changed */
	FOLDED_DIFF_TWO_COLUMN,	/* "stack BEFORE AFTER" for every stack of either side */
};

struct folded_diff_stats {
	size_t grown, shrunk, unchanged;	/* stacks, over the union of both sides */
	size_t written;				/* lines written */
	uint64_t growth, shrinkage;		/* bytes, saturating at UINT64_MAX */
};

/*
 * Write what changed from before to after to out, flushed. stats may be NULL.
 * 0, -ENOMEM, or -errno of the failed write.
 */
int folded_diff__write(const struct folded *before, const struct folded *after,
		       enum folded_diff_mode mode, FILE *out, struct folded_diff_stats *stats);

/*
 * Read folded text whose weights may carry a leading '-' (what `diff --all`
 * writes): stacks with a negative weight are merged into neg with the
 * magnitude of their weight, the others into pos. Bad lines are skipped and
 * counted as folded__read() does. 0, -ENOMEM, or -EIO on a read error.
 */
int folded_diff__read_signed(FILE *in, struct folded *pos, struct folded *neg,
			     size_t *bad_lines);

#endif
