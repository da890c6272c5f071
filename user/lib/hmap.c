#include <endian.h>
#include <errno.h>
#include <stdalign.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/types.h>

#include "hmap.h"

/*
 * Layout: an array of slots (linear probing), each holding the full 64-bit
 * hash and a pointer to a malloc'd entry:
 *
 *	entry: [ value (value_size, rounded up) | size_t key_len | key bytes ]
 *
 * The value comes first so it inherits malloc's alignment. Keeping the full
 * hash in the slot means probing and rehashing almost never touch an entry,
 * and 16-byte slots plus one small allocation per entry keep 10M 16-byte keys
 * well under 1 GiB.
 *
 * Deletion leaves a tombstone so that neither probe chains nor a running
 * iteration see entries move. Tombstones count towards the 70% load that
 * triggers a rehash, which drops them all.
 */

#define HMAP_MIN_SLOTS	16

struct slot {
	uint64_t hash;
	void *entry;	/* NULL: empty; TOMBSTONE: deleted */
};

struct hmap {
	struct slot *slots;
	size_t mask;		/* number of slots - 1; slots == NULL while empty */
	size_t count;
	size_t tombstones;
	size_t value_size;
	size_t key_len_off;	/* offset of key_len in an entry */
	uint64_t seed[2];
};

static char tombstone_marker;
#define TOMBSTONE ((void *)&tombstone_marker)

static inline bool slot_live(const struct slot *s)
{
	return s->entry && s->entry != TOMBSTONE;
}

static inline size_t slot_count(const struct hmap *m)
{
	return m->slots ? m->mask + 1 : 0;
}

/* ---- SipHash-1-3 (Aumasson & Bernstein), a keyed hash that resists chosen keys ---- */

static inline uint64_t rotl64(uint64_t x, int b)
{
	return (x << b) | (x >> (64 - b));
}

static inline void sip_round(uint64_t v[4])
{
	v[0] += v[1]; v[1] = rotl64(v[1], 13); v[1] ^= v[0]; v[0] = rotl64(v[0], 32);
	v[2] += v[3]; v[3] = rotl64(v[3], 16); v[3] ^= v[2];
	v[0] += v[3]; v[3] = rotl64(v[3], 21); v[3] ^= v[0];
	v[2] += v[1]; v[1] = rotl64(v[1], 17); v[1] ^= v[2]; v[2] = rotl64(v[2], 32);
}

static inline void sip_absorb(uint64_t v[4], uint64_t word, int rounds)
{
	v[3] ^= word;
	for (int i = 0; i < rounds; i++)
		sip_round(v);
	v[0] ^= word;
}

/* Round counts are parameters so a test can check the published 2-4 vectors. */
static inline uint64_t siphash(const uint64_t key[2], const void *data, size_t len,
			       int c_rounds, int d_rounds)
{
	const unsigned char *p = data;
	uint64_t v[4] = {
		key[0] ^ 0x736f6d6570736575ULL, key[1] ^ 0x646f72616e646f6dULL,
		key[0] ^ 0x6c7967656e657261ULL, key[1] ^ 0x7465646279746573ULL,
	};
	uint64_t last = (uint64_t)len << 56;
	size_t off = 0;

	for (; len - off >= 8; off += 8) {
		uint64_t word;

		memcpy(&word, p + off, sizeof(word));
		sip_absorb(v, le64toh(word), c_rounds);
	}
	for (size_t i = 0; off + i < len; i++)
		last |= (uint64_t)p[off + i] << (8 * i);
	sip_absorb(v, last, c_rounds);

	v[2] ^= 0xff;
	for (int i = 0; i < d_rounds; i++)
		sip_round(v);
	return v[0] ^ v[1] ^ v[2] ^ v[3];
}

static inline uint64_t hash_key(const struct hmap *m, const void *key, size_t key_len)
{
	return siphash(m->seed, key, key_len, 1, 3);
}

/* ---- entries ---- */

static inline size_t entry_key_len(const struct hmap *m, const void *entry)
{
	size_t len;

	memcpy(&len, (const char *)entry + m->key_len_off, sizeof(len));
	return len;
}

static inline void *entry_key(const struct hmap *m, void *entry)
{
	return (char *)entry + m->key_len_off + sizeof(size_t);
}

static void *entry_new(const struct hmap *m, const void *key, size_t key_len)
{
	size_t head = m->key_len_off + sizeof(size_t);
	void *entry;

	if (key_len > SIZE_MAX - head) {
		errno = ENOMEM;
		return NULL;
	}
	entry = malloc(head + key_len);
	if (!entry)
		return NULL;
	memset(entry, 0, m->value_size);
	memcpy((char *)entry + m->key_len_off, &key_len, sizeof(key_len));
	if (key_len)
		memcpy(entry_key(m, entry), key, key_len);
	return entry;
}

static bool entry_matches(const struct hmap *m, void *entry, const void *key, size_t key_len)
{
	return entry_key_len(m, entry) == key_len &&
	       (key_len == 0 || memcmp(entry_key(m, entry), key, key_len) == 0);
}

/* ---- table ---- */

/*
 * Slot holding key, or when absent the slot an insert should use (the first
 * tombstone on the probe chain, else the empty slot ending it). The load limit
 * guarantees an empty slot, so the probe terminates.
 */
static struct slot *probe(const struct hmap *m, uint64_t hash, const void *key, size_t key_len,
			  bool *found)
{
	struct slot *reuse = NULL;

	for (size_t i = hash & m->mask;; i = (i + 1) & m->mask) {
		struct slot *s = &m->slots[i];

		if (!s->entry) {
			*found = false;
			return reuse ? reuse : s;
		}
		if (s->entry == TOMBSTONE) {
			if (!reuse)
				reuse = s;
		} else if (s->hash == hash && entry_matches(m, s->entry, key, key_len)) {
			*found = true;
			return s;
		}
	}
}

/* used / slots > 70%; slots is bounded far below SIZE_MAX / 10 by rehash_for_insert(). */
static bool over_load(size_t used, size_t slots)
{
	return used * 10 > slots * 7;
}

/*
 * Rehash so one more entry fits. Doubles until live entries fill at most half
 * the table, so a table clogged with tombstones is just cleaned at its size and
 * a growing one gets headroom before the next rehash.
 */
static int rehash_for_insert(struct hmap *m)
{
	size_t n = slot_count(m) ? slot_count(m) : HMAP_MIN_SLOTS;
	struct slot *slots;

	while (m->count + 1 > n / 2) {
		if (n > SIZE_MAX / 2 / sizeof(*slots))
			return -ENOMEM;
		n *= 2;
	}
	slots = calloc(n, sizeof(*slots));
	if (!slots)
		return -ENOMEM;

	for (size_t i = 0; i < slot_count(m); i++) {
		const struct slot *old = &m->slots[i];
		size_t j;

		if (!slot_live(old))
			continue;
		for (j = old->hash & (n - 1); slots[j].entry; j = (j + 1) & (n - 1))
			;
		slots[j] = *old;
	}
	free(m->slots);
	m->slots = slots;
	m->mask = n - 1;
	m->tombstones = 0;
	return 0;
}

struct hmap *hmap__new(size_t value_size)
{
	struct hmap *m;
	size_t align = alignof(size_t);
	ssize_t got;

	if (value_size > SIZE_MAX / 2) {
		errno = ENOMEM;
		return NULL;
	}
	m = calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	m->value_size = value_size;
	m->key_len_off = (value_size + align - 1) / align * align;

	do
		got = getrandom(m->seed, sizeof(m->seed), 0);
	while (got < 0 && errno == EINTR);
	if (got != (ssize_t)sizeof(m->seed)) {
		if (got >= 0)
			errno = EIO;
		free(m);
		return NULL;
	}
	return m;
}

void *hmap__find(const struct hmap *m, const void *key, size_t key_len)
{
	struct slot *s;
	bool found;

	if (!m->count)
		return NULL;
	s = probe(m, hash_key(m, key, key_len), key, key_len, &found);
	return found ? s->entry : NULL;
}

void *hmap__upsert(struct hmap *m, const void *key, size_t key_len, bool *created)
{
	uint64_t hash = hash_key(m, key, key_len);
	struct slot *s = NULL;
	bool found = false;
	void *entry;
	int err;

	if (m->slots) {
		s = probe(m, hash, key, key_len, &found);
		if (found) {
			if (created)
				*created = false;
			return s->entry;
		}
	}
	/* A reused tombstone does not raise the load; only a fresh slot does. */
	if (!m->slots || (!s->entry && over_load(m->count + m->tombstones + 1, slot_count(m)))) {
		err = rehash_for_insert(m);
		if (err) {
			errno = -err;
			return NULL;
		}
		s = probe(m, hash, key, key_len, &found);
	}

	entry = entry_new(m, key, key_len);
	if (!entry)
		return NULL;
	if (s->entry == TOMBSTONE)
		m->tombstones--;
	s->hash = hash;
	s->entry = entry;
	m->count++;
	if (created)
		*created = true;
	return entry;
}

int hmap__delete(struct hmap *m, const void *key, size_t key_len)
{
	struct slot *s;
	size_t i;
	bool found;

	if (!m->count)
		return -ENOENT;
	s = probe(m, hash_key(m, key, key_len), key, key_len, &found);
	if (!found)
		return -ENOENT;
	free(s->entry);
	s->entry = TOMBSTONE;
	m->count--;
	m->tombstones++;

	/*
	 * A tombstone followed by an empty slot ends no probe chain that an
	 * empty slot would not end too: turn such trailing tombstones back into
	 * empty slots so delete-heavy use rarely needs a rehash.
	 */
	i = (size_t)(s - m->slots);
	if (m->slots[(i + 1) & m->mask].entry)
		return 0;
	while (m->slots[i].entry == TOMBSTONE) {
		m->slots[i].entry = NULL;
		m->tombstones--;
		i = (i - 1) & m->mask;
	}
	return 0;
}

size_t hmap__count(const struct hmap *m)
{
	return m->count;
}

bool hmap__next(const struct hmap *m, size_t *iter, const void **key, size_t *key_len,
		void **val)
{
	for (size_t i = *iter; i < slot_count(m); i++) {
		struct slot *s = &m->slots[i];

		if (!slot_live(s))
			continue;
		*iter = i + 1;
		if (key)
			*key = entry_key(m, s->entry);
		if (key_len)
			*key_len = entry_key_len(m, s->entry);
		if (val)
			*val = s->entry;
		return true;
	}
	*iter = slot_count(m);
	return false;
}

void hmap__free(struct hmap *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < slot_count(m); i++)
		if (slot_live(&m->slots[i]))
			free(m->slots[i].entry);
	free(m->slots);
	free(m);
}
