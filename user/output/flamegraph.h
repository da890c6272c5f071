/* Interactive flame graph of folded stacks, as one self-contained SVG file
 * (styles and script inline, nothing fetched) that a browser opens directly:
 * click a frame to zoom into it, "Reset zoom" or Escape to go back, "Search"
 * (or Ctrl-F, or "?s=REGEX" in the URL) highlights matching frames and shows
 * the share of bytes they hold; each frame's tooltip gives its name, bytes and
 * percent of the total.
 *
 * Frames are coloured by what they are. With memscope's layout the first two
 * frames of a stack name the container and the process:
 *
 *	CONTAINER;COMM;[class];user frames root->leaf;kernel frames_[k] BYTES
 *
 * A class frame ([v8-heap], [native], [file], [shmem], [kernel]) colours the
 * user frames above it; "_[k]" frames are kernel code, "_[j]" JIT code.
 *
 * Frame names come from untrusted processes: every string is written as
 * valid UTF-8 (bad bytes and control characters become U+FFFD) with XML
 * markup escaped. Frames narrower than a fraction of a pixel or deeper than
 * FLAMEGRAPH_MAX_DEPTH are not drawn (their bytes stay in their parent's
 * width), and the width threshold grows until the graph has at most max_rects
 * frames, so huge inputs give small files.
 */
#ifndef MEMSCOPE_FLAMEGRAPH_H
#define MEMSCOPE_FLAMEGRAPH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define FLAMEGRAPH_WIDTH	1200	/* default image width, px */
#define FLAMEGRAPH_WIDTH_MIN	200
#define FLAMEGRAPH_WIDTH_MAX	32768
#define FLAMEGRAPH_MIN_PX	0.1	/* default: narrower frames are merged */
#define FLAMEGRAPH_MAX_RECTS	30000	/* default bound on drawn frames */
#define FLAMEGRAPH_MAX_DEPTH	1024	/* deeper frames are not drawn */
#define FLAMEGRAPH_GROW_FRAME	"[grew]"	/* roots of a signed diff */
#define FLAMEGRAPH_SHRINK_FRAME	"[shrank]"

struct folded;
struct flamegraph;

struct flamegraph_opts {
	const char *title;	/* NULL: a default */
	unsigned width;		/* px; 0: FLAMEGRAPH_WIDTH, else clamped to the bounds */
	bool inverted;		/* icicle: roots at the top */
	bool plain;		/* no container/process frames (other tools' files) */
	double min_px;		/* 0: FLAMEGRAPH_MIN_PX */
	size_t max_rects;	/* 0: FLAMEGRAPH_MAX_RECTS */
};

struct flamegraph_stats {
	size_t frames;		/* distinct frames (tree nodes, with the root) */
	size_t rects;		/* frames drawn */
	unsigned depth;		/* deepest frame drawn; the root is depth 0 */
	double min_px;		/* threshold finally used */
	uint64_t total;		/* bytes (magnitudes for a signed diff) */
};

/* NULL + errno ENOMEM. */
struct flamegraph *flamegraph__new(void);

/*
 * Add every stack of f. With group, the stacks go under one extra root-most
 * frame of that name (FLAMEGRAPH_GROW_FRAME or FLAMEGRAPH_SHRINK_FRAME for a
 * signed diff); shrink marks the values as decreases, shown negative.
 * 0, -ENOMEM, or -EOVERFLOW past 2^32 frames.
 */
int flamegraph__add_folded(struct flamegraph *fg, const struct folded *f, const char *group,
			   bool shrink);

/* Render to out, flushed. stats may be NULL. 0, -ENOMEM or -errno of the write. */
int flamegraph__write_svg(struct flamegraph *fg, const struct flamegraph_opts *o, FILE *out,
			  struct flamegraph_stats *stats);

void flamegraph__free(struct flamegraph *fg);

/*
 * Write s as XML character data, safe in text and in quoted attributes: valid
 * UTF-8 only (invalid sequences, C0 controls, DEL, U+FFFE and U+FFFF become
 * U+FFFD) and & < > " ' as entities. At most max_chars characters; a longer
 * s is cut to max_chars - 2 followed by "..". Returns characters written.
 */
size_t flamegraph__escape(FILE *out, const char *s, size_t max_chars);

/* "512 B", "4.00 KiB", "1.50 MiB", "12.3 GiB", "100 TiB": three significant
 * digits, binary units. */
void flamegraph__format_bytes(uint64_t bytes, char *buf, size_t len);

#endif
