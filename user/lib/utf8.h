/* Strict UTF-8: names from processes and containers reach JSON, XML,
 * protobuf and Prometheus output, each of which rejects malformed text. */
#ifndef MEMSCOPE_UTF8_H
#define MEMSCOPE_UTF8_H

#include <stddef.h>

/* Length of the well-formed UTF-8 sequence at s (n bytes readable), 0 if
 * there is none: overlong forms, surrogates and code points past U+10FFFF
 * are malformed. Reads stop at the first byte that breaks the sequence, so
 * on NUL-terminated text n may exceed what is left. */
size_t utf8__seq_len(const unsigned char *s, size_t n);

#endif
