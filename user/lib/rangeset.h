/* A set of address ranges: sorted, disjoint, half-open [start, end), with
 * touching ranges merged. memscope keeps V8's committed ranges of each
 * process in one, from commit/decommit events that may overlap, repeat or
 * arrive for ranges never seen (committed before memscope attached).
 *
 * Bounded: a set holds at most the count given to rangeset__new; an add or
 * remove that would need more entries fails with -E2BIG and leaves the set
 * unchanged, so a process that fragments its address space cannot make the
 * tool grow without limit.
 */
#ifndef MEMSCOPE_RANGESET_H
#define MEMSCOPE_RANGESET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RANGESET_MAX	(1u << 20)	/* largest bound rangeset__new accepts */

struct range {
	uint64_t start, end;
};

struct rangeset;

/* At most max_ranges (1..RANGESET_MAX) disjoint ranges. NULL + errno. */
struct rangeset *rangeset__new(size_t max_ranges);
void rangeset__free(struct rangeset *s);

/* Adds [start, end), merging with what it overlaps or touches. 0, -EINVAL
 * (start >= end), -E2BIG (full), -ENOMEM. */
int rangeset__add(struct rangeset *s, uint64_t start, uint64_t end);
/* Removes [start, end), splitting a range it falls inside. 0, -EINVAL,
 * -E2BIG (a split needs an entry and the set is full), -ENOMEM. */
int rangeset__remove(struct rangeset *s, uint64_t start, uint64_t end);
void rangeset__clear(struct rangeset *s);

bool rangeset__contains(const struct rangeset *s, uint64_t addr);
/* Total length of the ranges. */
uint64_t rangeset__bytes(const struct rangeset *s);
size_t rangeset__count(const struct rangeset *s);
/* The i-th range in address order, NULL past the end. Valid until the set
 * changes. */
const struct range *rangeset__get(const struct rangeset *s, size_t i);

#endif
