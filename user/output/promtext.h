/* A writer of the Prometheus text exposition format (version 0.0.4), the one
 * page `memscope serve` answers /metrics with:
 *
 *	# HELP memscope_container_resident_bytes Resident memory by class.
 *	# TYPE memscope_container_resident_bytes gauge
 *	memscope_container_resident_bytes{container="4f2a9c1d7e3b",class="file"} 8192
 *
 * It keeps a page valid whatever it is fed: names are checked against the
 * format's grammar, each family is written once with its samples together
 * (a scraper rejects a page that repeats one), label values and help text are
 * escaped, and bytes that are not UTF-8 (cgroup and process names come from
 * whoever created them) become U+FFFD, since one bad byte fails the whole
 * scrape. A sample or family it refuses is left out and remembered in err;
 * the rest of the page is still written.
 */
#ifndef MEMSCOPE_PROMTEXT_H
#define MEMSCOPE_PROMTEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define PROMTEXT_NAME_MAX	128	/* metric and label names, bytes */
#define PROMTEXT_VALUE_MAX	4096	/* label values: longer ones are cut (on a character) */
#define PROMTEXT_HELP_MAX	1024
#define PROMTEXT_LABELS_MAX	16	/* per sample */
#define PROMTEXT_FAMILIES_MAX	4096	/* per page */
#define PROMTEXT_CONTENT_TYPE	"text/plain; version=0.0.4; charset=utf-8"

enum promtext_type { PROMTEXT_GAUGE, PROMTEXT_COUNTER };

struct prom_label {
	const char *name;
	const char *value;	/* NULL writes "" */
};

struct hmap;

struct promtext {
	FILE *f;
	char family[PROMTEXT_NAME_MAX + 1];	/* "" before the first family */
	enum promtext_type type;
	struct hmap *seen;	/* families written */
	int err;		/* first refusal or write error, 0 while none */
};

/* 0, or -ENOMEM. */
int promtext__init(struct promtext *p, FILE *f);
/* The first error (0 when the page is complete), and frees what init made. */
int promtext__finish(struct promtext *p);

/* Starts a family: its HELP and TYPE lines. Counters must be named *_total.
 * 0; -EINVAL (bad name, a counter not ending in _total), -EEXIST (written
 * before on this page), -E2BIG (too many families). Samples that follow a
 * refused family are refused too. */
int promtext__family(struct promtext *p, const char *name, enum promtext_type type,
		     const char *help);
/* One sample of the current family. Counters refuse negative values; NaN
 * and infinities are written as the format spells them. 0 or -EINVAL. */
int promtext__sample(struct promtext *p, const struct prom_label *labels, size_t n,
		     double value);

/* ---- pure helpers ------------------------------------------------------------ */

/* [a-zA-Z_:][a-zA-Z0-9_:]*, at most PROMTEXT_NAME_MAX bytes. */
bool promtext__metric_name_ok(const char *name);
/* [a-zA-Z_][a-zA-Z0-9_]*, not starting with "__" (reserved), bounded the same. */
bool promtext__label_name_ok(const char *name);
/* A value as Go's ParseFloat reads it back exactly: "4096", "0.25", "1e+300",
 * "NaN", "+Inf", "-Inf". Returns buf. */
const char *promtext__format_value(double v, char *buf, size_t len);
/* s with \ and newline escaped, and " too when quoted (label values), bytes
 * that are not UTF-8 replaced by U+FFFD, at most max input bytes. */
void promtext__escape(FILE *f, const char *s, size_t max, bool quoted);

#endif
