#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "rangeset.h"
#include "v8.h"

#define K	1024ULL
#define CHUNK	(256 * K)
#define HEAP_A	0x3a4d1360ULL
#define HEAP_B	0x7f00deadbee8ULL

/* A regular chunk's header as node 20 lays it out (seen in a live process). */
static struct v8_chunk chunk(uint64_t addr, uint64_t size, uint64_t heap, uint64_t mapping_end)
{
	return (struct v8_chunk){
		.addr = addr, .mapping_end = mapping_end,
		.h = { .size = size, .flags = 4, .heap = heap, .area_start = addr + 0x1148,
		       .area_end = addr + size },
	};
}

Test(v8, runtime_names)
{
	cr_assert_str_eq(v8__runtime_name(V8_RUNTIME_V8), "v8");
	cr_assert_str_eq(v8__runtime_name(V8_RUNTIME_UNKNOWN), "unknown runtime");
	cr_assert_not_null(strstr(v8__runtime_name(V8_RUNTIME_NO_PROBES), "unknown runtime"));
	cr_assert_not_null(strstr(v8__runtime_name(V8_RUNTIME_NO_SYMBOLS), "unknown runtime"));
	cr_assert_str_eq(v8__runtime_name((enum v8_runtime)99), "unknown runtime");
}

Test(v8, chunk_header_checks)
{
	uint64_t a = 0x18f9640000ULL, end = a + 4 * CHUNK;
	struct v8_chunk c = chunk(a, CHUNK, HEAP_A, end);
	const struct {
		const char *what;
		size_t off;	/* of the field in the header */
		uint64_t value;
	} bad[] = {
		{ "size zero", offsetof(struct v8_chunk_header, size), 0 },
		{ "size not in pages", offsetof(struct v8_chunk_header, size), CHUNK + 100 },
		{ "size past the mapping", offsetof(struct v8_chunk_header, size), 5 * CHUNK },
		{ "size wraps", offsetof(struct v8_chunk_header, size), UINT64_MAX - 4095 },
		{ "no heap", offsetof(struct v8_chunk_header, heap), 0 },
		{ "heap unaligned", offsetof(struct v8_chunk_header, heap), HEAP_A + 3 },
		{ "heap a kernel pointer", offsetof(struct v8_chunk_header, heap), 0xffff888000000000ULL },
		{ "area before the chunk", offsetof(struct v8_chunk_header, area_start), 0x1000 },
		{ "area at the chunk start", offsetof(struct v8_chunk_header, area_start), a },
		{ "header too big", offsetof(struct v8_chunk_header, area_start), a + 128 * K },
		{ "area ends past the chunk", offsetof(struct v8_chunk_header, area_end), a + CHUNK + 8 },
		{ "area ends before it starts", offsetof(struct v8_chunk_header, area_end), a + 0x100 },
	};

	cr_assert(v8__chunk_header_ok(c.addr, c.mapping_end, &c.h));
	c.h.size = 0x42000;	/* a large object's chunk */
	c.h.area_end = a + 0x41158;
	cr_assert(v8__chunk_header_ok(c.addr, c.mapping_end, &c.h));
	c.h.area_end = c.h.area_start;	/* fresh, empty */
	cr_assert(v8__chunk_header_ok(c.addr, c.mapping_end, &c.h));

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		c = chunk(a, CHUNK, HEAP_A, end);
		memcpy((char *)&c.h + bad[i].off, &bad[i].value, sizeof(uint64_t));
		cr_expect_not(v8__chunk_header_ok(c.addr, c.mapping_end, &c.h), "%s", bad[i].what);
	}
	c = chunk(a + 4096, CHUNK, HEAP_A, end + 4096);
	cr_assert_not(v8__chunk_header_ok(c.addr, c.mapping_end, &c.h), "unaligned start");
	c = chunk(a, CHUNK, HEAP_A, a);
	cr_assert_not(v8__chunk_header_ok(c.addr, c.mapping_end, &c.h), "empty mapping");
	memset(&c.h, 0, sizeof(c.h));
	cr_assert_not(v8__chunk_header_ok(a, end, &c.h), "unreadable: zeroed");
}

Test(v8, select_chunks_by_shared_heap)
{
	uint64_t base = 0x20000000000ULL, end = base + 64 * CHUNK;
	struct v8_chunk c[] = {
		chunk(base, CHUNK, HEAP_A, end),
		chunk(base + CHUNK, 3 * CHUNK, HEAP_A, end),		/* large object */
		chunk(base + 2 * CHUNK, CHUNK, HEAP_A, end),		/* inside it: payload */
		chunk(base + 4 * CHUNK, CHUNK, HEAP_B, end),		/* lone heap pointer */
		chunk(base + 5 * CHUNK, CHUNK, HEAP_A, end),
		chunk(base + 6 * CHUNK, CHUNK + 1, HEAP_A, end),	/* bad header */
	};

	cr_assert_eq(v8__select_chunks(c, 6), 3);
	cr_assert(c[0].valid);
	cr_assert(c[1].valid);
	cr_assert_not(c[2].valid, "starts inside an accepted large chunk");
	cr_assert_not(c[3].valid, "a heap pointer no other chunk shares");
	cr_assert(c[4].valid);
	cr_assert_not(c[5].valid);

	/* Two isolates (a worker) each with their chunks. */
	c[3] = chunk(base + 4 * CHUNK, CHUNK, HEAP_B, end);
	c[5] = chunk(base + 6 * CHUNK, CHUNK, HEAP_B, end);
	cr_assert_eq(v8__select_chunks(c, 6), 5);
	cr_assert_eq(v8__select_chunks(c, 0), 0);
}

static int apply(struct rangeset *s, uint32_t op, uint64_t addr, uint64_t size, uint32_t perm)
{
	struct v8_event e = { .addr = addr, .size = size, .pid = 1, .op = op, .perm = perm };

	return v8__apply_event(s, &e);
}

Test(v8, events_keep_committed_ranges)
{
	struct rangeset *s = rangeset__new(64);
	uint64_t a = 0x100000000ULL;

	cr_assert_not_null(s);
	/* A reservation is address space, not memory. */
	cr_assert_eq(apply(s, V8_OP_SET_PERMISSIONS, a, 8 * CHUNK, V8_PERM_NO_ACCESS), 0);
	cr_assert_eq(rangeset__bytes(s), 0);
	/* Commits of four chunks, one of them code. */
	apply(s, V8_OP_SET_PERMISSIONS, a, CHUNK, V8_PERM_READ_WRITE);
	apply(s, V8_OP_SET_PERMISSIONS, a + CHUNK, CHUNK, V8_PERM_READ_WRITE);
	apply(s, V8_OP_SET_PERMISSIONS, a + 2 * CHUNK, CHUNK, V8_PERM_READ_EXECUTE);
	apply(s, V8_OP_ALLOCATE, a + 4 * CHUNK, CHUNK, V8_PERM_READ_WRITE);
	cr_assert_eq(rangeset__bytes(s), 4 * CHUNK);
	/* Flipping code between RW and RX keeps it committed. */
	apply(s, V8_OP_SET_PERMISSIONS, a + 2 * CHUNK, CHUNK, V8_PERM_READ_WRITE_EXECUTE);
	cr_assert_eq(rangeset__bytes(s), 4 * CHUNK);
	/* Discarded pages stay V8's. */
	apply(s, V8_OP_DISCARD, a, CHUNK, 0);
	cr_assert_eq(rangeset__bytes(s), 4 * CHUNK);
	apply(s, V8_OP_DECOMMIT, a + CHUNK, CHUNK / 2, 0);
	cr_assert_eq(rangeset__bytes(s), 3 * CHUNK + CHUNK / 2);
	apply(s, V8_OP_SET_PERMISSIONS, a, CHUNK, V8_PERM_NO_ACCESS_JIT_LATER);
	cr_assert_eq(rangeset__bytes(s), 2 * CHUNK + CHUNK / 2);
	apply(s, V8_OP_RECOMMIT, a, CHUNK, V8_PERM_READ_WRITE);
	cr_assert_eq(rangeset__bytes(s), 3 * CHUNK + CHUNK / 2);
	apply(s, V8_OP_RELEASE, a + 4 * CHUNK + CHUNK / 4, CHUNK / 4, 0);
	apply(s, V8_OP_FREE, a, 3 * CHUNK, 0);
	cr_assert_eq(rangeset__bytes(s), CHUNK - CHUNK / 4);
	cr_assert(rangeset__contains(s, a + 4 * CHUNK));
	cr_assert_not(rangeset__contains(s, a + 4 * CHUNK + CHUNK / 4));

	/* Garbage from a hostile or confused process changes nothing. */
	cr_assert_eq(apply(s, V8_OP_SET_PERMISSIONS, UINT64_MAX - 10, 100, V8_PERM_READ_WRITE), 0);
	cr_assert_eq(apply(s, V8_OP_SET_PERMISSIONS, a, 0, V8_PERM_READ_WRITE), 0);
	cr_assert_eq(apply(s, 77, a, CHUNK, V8_PERM_READ_WRITE), 0);
	cr_assert_eq(apply(s, V8_OP_SET_PERMISSIONS, a + 4 * CHUNK, CHUNK, 99), 0,
		     "unknown permission");
	cr_assert_eq(rangeset__bytes(s), CHUNK - CHUNK / 4);
	rangeset__free(s);
}

Test(v8, events_past_the_range_bound)
{
	struct rangeset *s = rangeset__new(2);
	uint64_t a = 0x100000000ULL;

	apply(s, V8_OP_SET_PERMISSIONS, a, CHUNK, V8_PERM_READ_WRITE);
	apply(s, V8_OP_SET_PERMISSIONS, a + 2 * CHUNK, CHUNK, V8_PERM_READ_WRITE);
	cr_assert_eq(apply(s, V8_OP_SET_PERMISSIONS, a + 4 * CHUNK, CHUNK, V8_PERM_READ_WRITE),
		     -E2BIG);
	cr_assert_eq(rangeset__bytes(s), 2 * CHUNK);
	rangeset__free(s);
}
