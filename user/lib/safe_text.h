/* The one sanitiser for names a container controls (process names, cgroup
 * and container names, symbol names from its binaries and perf maps) on
 * their way to any output: a terminal, a log line, JSON, folded stacks,
 * Prometheus labels, SVG, pprof.
 *
 * A name may hold anything but NUL. What no output shows as it is: bytes
 * that are not UTF-8 (U+FFFD, one per byte, as the Unicode standard
 * suggests) and control characters: C0 (newline, ESC, ...), DEL and C1
 * (U+0080..U+009F: U+009B is CSI on terminals that read 8-bit controls).
 * Each output escapes what its own syntax needs on top (JSON's \u001b,
 * XML's &lt;, Prometheus's \n), decoding with safe_text__next().
 *
 *	"a\nb\x1b[2Jc\xff" -> "a\uFFFDb\uFFFD[2Jc\uFFFD"
 */
#ifndef MEMSCOPE_SAFE_TEXT_H
#define MEMSCOPE_SAFE_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define SAFE_TEXT_REPLACEMENT	0xfffdu
#define SAFE_TEXT_REPLACEMENT_UTF8	"\xef\xbf\xbd"

/* The character at s (n > 0 bytes readable): bytes it takes (1 for a byte
 * that starts no well-formed sequence, which gives U+FFFD) and its code
 * point in *cp. */
size_t safe_text__next(const char *s, size_t n, uint32_t *cp);

/* C0, DEL or C1. */
static inline bool safe_text__is_control(uint32_t cp)
{
	return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f);
}

/* in (len bytes, or up to its NUL when len is (size_t)-1) made safe into
 * out (cap > 0 bytes, NUL-terminated), cut at a character boundary.
 * Returns the length written. */
size_t safe_text__copy(char *out, size_t cap, const char *in, size_t len);

/* s made safe, written to f (NULL writes nothing). */
void safe_text__fput(const char *s, FILE *f);
/* The same for text of several lines formatted around names: its newlines
 * stay, so a name with one would start a line of its own. Only for names
 * that cannot hold one: cgroupfs refuses them in cgroup names, comm is cut
 * to printable ASCII, Docker allows [a-zA-Z0-9_.-] in container names. */
void safe_text__fput_lines(const char *s, FILE *f);

#endif
