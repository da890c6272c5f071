/* A pprof profile (profile.proto, user/output/pprof.proto), built in memory and
 * written gzip-compressed, the way go tool pprof, Pyroscope and Parca read
 * it. Knows nothing about recordings: it is a builder of the format.
 *
 *	struct pprof *p = pprof__new();
 *	pprof__add_sample_type(p, "inuse_space", "bytes");
 *	pprof__mapping(p, "/usr/bin/app", "9f1c...", &m);
 *	pprof__location(p, m, 0x1139, "leak_fn", &loc[0]);	leaf first
 *	pprof__location(p, m, 0x11a2, "main", &loc[1]);
 *	pprof__add_sample(p, loc, 2, (int64_t[]){ 268435456 }, 1,
 *			  (struct pprof_label[]){ { "comm", "app" } }, 1);
 *	pprof__write(p, file);
 *	pprof__free(p);
 *
 * Strings, mappings, functions and locations are interned: adding the same
 * one again gives the same id. Strings come from untrusted places (symbol
 * tables and process names of containers): each is cut to PPROF_STRING_MAX
 * bytes and every byte that is not part of well-formed UTF-8 becomes '?',
 * since protobuf strings must be UTF-8 and strict readers reject the file
 * otherwise.
 */
#ifndef MEMSCOPE_PPROF_H
#define MEMSCOPE_PPROF_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define PPROF_SAMPLE_TYPES_MAX	8
#define PPROF_LABELS_MAX	16	/* per sample */
#define PPROF_STACK_MAX		4096	/* locations per sample */
#define PPROF_STRING_MAX	4096	/* bytes, longer strings are cut */

struct pprof;

struct pprof_label {
	const char *key;
	const char *str;	/* NULL: a numeric label, num in unit */
	int64_t num;
	const char *unit;	/* may be NULL */
};

/* NULL + errno ENOMEM. */
struct pprof *pprof__new(void);
void pprof__free(struct pprof *p);

/* What each sample value is, in order ("inuse_space", "bytes"). Before the
 * first sample only: -EBUSY after it, -E2BIG past PPROF_SAMPLE_TYPES_MAX. */
int pprof__add_sample_type(struct pprof *p, const char *type, const char *unit);
/* The sample type tools show first; -ENOENT when no sample type has it. */
int pprof__set_default_sample_type(struct pprof *p, const char *type);
/* One sample stands for period units of type (e.g. 1 MiB of "space"). */
int pprof__set_period(struct pprof *p, const char *type, const char *unit, int64_t period);
/* When the profiled window started (ns since the epoch) and its length. */
void pprof__set_time(struct pprof *p, int64_t time_ns, int64_t duration_ns);
/* A free-form note (pprof -comments). */
int pprof__add_comment(struct pprof *p, const char *text);

/* The id of the mapping of file (build_id may be NULL or ""). Its address
 * range is that of the locations given in it. 0 or -ENOMEM. */
int pprof__mapping(struct pprof *p, const char *file, const char *build_id, uint64_t *id);
/*
 * The id of the location at address in mapping (0: none) running function
 * (NULL: none, e.g. an address nothing names). A mapping whose locations all
 * have functions is marked so (has_functions): tools then do not look for
 * the file to symbolize it. 0, -ENOENT (no such mapping), -ENOMEM.
 */
int pprof__location(struct pprof *p, uint64_t mapping, uint64_t address, const char *function,
		    uint64_t *id);
/* A sample: its stack (location ids, leaf first), one value per sample type,
 * labels. 0, -EINVAL (nvalues is not the number of sample types, a location
 * id is unknown, too many locations or labels, a label without key), -ENOMEM. */
int pprof__add_sample(struct pprof *p, const uint64_t *locs, size_t nlocs, const int64_t *values,
		      size_t nvalues, const struct pprof_label *labels, size_t nlabels);
size_t pprof__sample_count(const struct pprof *p);

/* The profile, gzip-compressed, to out. 0, -EINVAL (no sample type), -EIO
 * (write error), -ENOMEM. */
int pprof__write(struct pprof *p, FILE *out);

#endif
