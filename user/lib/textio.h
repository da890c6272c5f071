/* Reading kernel- and container-formatted text safely: bounded lines and
 * overflow-checked numbers, shared by every line parser. */
#ifndef MEMSCOPE_TEXTIO_H
#define MEMSCOPE_TEXTIO_H

#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

enum { TEXTIO_EOF = -1, TEXTIO_SKIP = -2, TEXTIO_ERROR = -3 };

/* One line without its '\n' into buf. A line that does not fit or holds a
 * NUL is consumed and reported as TEXTIO_SKIP, so a hostile file can neither
 * overflow buf nor make us allocate. Returns the length, TEXTIO_EOF,
 * TEXTIO_SKIP or TEXTIO_ERROR (errno set). */
ssize_t textio__read_line(FILE *f, char *buf, size_t size);

/* Digits of `base` (10 or 16) at s into *out; returns the text after them,
 * NULL when there are none or they overflow. */
const char *textio__parse_num(const char *s, unsigned int base, uint64_t *out);

#endif
