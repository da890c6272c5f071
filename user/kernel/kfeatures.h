/* What this kernel offers, probed at start so memscope can pick the best hook
 * and say, in one line, what a missing feature costs. MEMSCOPE_DISABLE
 * (comma-separated feature names, e.g. "raw_tp") pretends a feature is
 * missing, so tests can exercise every fallback on a kernel that has it all. */
#ifndef MEMSCOPE_KFEATURES_H
#define MEMSCOPE_KFEATURES_H

#include <stdbool.h>

bool kfeatures__disabled(const char *name);
/* MEMSCOPE_REFUSE (same form, feature names as --report gives them) makes
 * the named BPF parts fail verification on purpose, so the tests can watch
 * the loader give up exactly those on a kernel that would accept them. */
bool kfeatures__refused_for_test(const char *name);
/* 0, or -EOPNOTSUPP after printing why memscope cannot run. */
int kfeatures__require_btf(void);
bool kfeatures__has_raw_tp(void);
/* The kernel's BTF has the tracepoint `name` (what a raw_tp program attaches to). */
bool kfeatures__has_raw_tracepoint(const char *name);
/* The tracepoint is listed in tracefs (only looks; does not mount). */
bool kfeatures__tracepoint_exists(const char *category, const char *name);
/* Makes sure tracefs is mounted and the tracepoint exists; prints on failure. */
int kfeatures__require_tracepoint(const char *category, const char *name);

#endif
