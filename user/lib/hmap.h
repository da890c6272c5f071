/* General hash map for user space: stack interning, sample tables, aggregation
 * buckets. Keys are byte strings of any length (copied into the map); values
 * are fixed-size blobs, stored with the key and zeroed when created.
 *
 * Keys can come from untrusted processes (symbol names, container ids), so
 * every map hashes with SipHash under its own random key: nobody can precompute
 * colliding keys to turn lookups linear.
 *
 * Values are aligned like malloc() memory. A value pointer stays valid until
 * the next hmap__upsert() or the deletion of its key: treat any insert as
 * invalidating every value pointer you hold.
 *
 * Iteration: size_t iter = 0; while (hmap__next(m, &iter, &k, &klen, &v)) ...
 * Order is unspecified and differs between maps. Deleting entries (the current
 * one or others) while iterating is allowed; inserting is not.
 *
 * Not thread safe.
 */
#ifndef MEMSCOPE_HMAP_H
#define MEMSCOPE_HMAP_H

#include <stdbool.h>
#include <stddef.h>

struct hmap;

/* NULL + errno (ENOMEM, or the errno of getrandom()). value_size may be 0 for
 * a set. */
struct hmap *hmap__new(size_t value_size);

/* Value of key, or NULL when absent. */
void *hmap__find(const struct hmap *m, const void *key, size_t key_len);

/* Value of key, inserting it (value zeroed) when absent; *created, when not
 * NULL, tells which. NULL + errno ENOMEM when the key could not be inserted. */
void *hmap__upsert(struct hmap *m, const void *key, size_t key_len, bool *created);

/* 0, or -ENOENT when the key is absent. */
int hmap__delete(struct hmap *m, const void *key, size_t key_len);

size_t hmap__count(const struct hmap *m);

/* Next entry at or after *iter (start with 0); false when done. Any of key,
 * key_len and val may be NULL. */
bool hmap__next(const struct hmap *m, size_t *iter, const void **key, size_t *key_len,
		void **val);

void hmap__free(struct hmap *m);

#endif
