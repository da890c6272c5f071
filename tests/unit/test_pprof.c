/* The pprof builder: what it writes is decoded back with protobuf-c's own
 * decoder of the same .proto, after gunzipping it with zlib. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "pprof.h"
#include "pprof_decode.h"

/* Everything p writes, gunzipped and decoded. */
static pb_profile *round_trip(struct pprof *p)
{
	FILE *f = tmpfile();

	cr_assert_not_null(f);
	cr_assert_eq(pprof__write(p, f), 0);
	return pd_decode(f);
}

static struct pprof *two_types(void)
{
	struct pprof *p = pprof__new();

	cr_assert_not_null(p);
	cr_assert_eq(pprof__add_sample_type(p, "inuse_space", "bytes"), 0);
	cr_assert_eq(pprof__add_sample_type(p, "alloc_space", "bytes"), 0);
	return p;
}

Test(pprof, round_trip)
{
	struct pprof *p = two_types();
	uint64_t app, libc, leak, main_loc, memset_loc, orphan, stack[3];
	const pb_sample *s;
	const Perftools__Profiles__Mapping *m;
	const Perftools__Profiles__Label *l;
	pb_profile *prof;

	cr_assert_eq(pprof__set_default_sample_type(p, "alloc_space"), 0);
	cr_assert_eq(pprof__set_period(p, "space", "bytes", 1048576), 0);
	pprof__set_time(p, 1700000000000000000LL, 8000000000LL);
	cr_assert_eq(pprof__add_comment(p, "one page in 256"), 0);
	cr_assert_eq(pprof__mapping(p, "/usr/bin/leaker", "9f1c2e", &app), 0);
	cr_assert_eq(pprof__mapping(p, "/usr/lib/libc.so.6", NULL, &libc), 0);
	cr_assert_neq(app, libc);
	cr_assert_eq(pprof__location(p, libc, 0x9a000, "memset", &memset_loc), 0);
	cr_assert_eq(pprof__location(p, app, 0x1139, "leak_fn", &leak), 0);
	cr_assert_eq(pprof__location(p, app, 0x11a2, "main", &main_loc), 0);
	cr_assert_eq(pprof__location(p, 0, 0xdead, NULL, &orphan), 0);
	stack[0] = memset_loc;
	stack[1] = leak;
	stack[2] = main_loc;
	cr_assert_eq(pprof__add_sample(p, stack, 3, (int64_t[]){ 268435456, 300000000 }, 2,
				       (struct pprof_label[]){
					       { .key = "container", .str = "4f2a9c1d7e3b" },
					       { .key = "pid", .num = 4242 },
					       { .key = "comm", .str = "leaker" },
					       { .key = "class", .str = "native" },
				       }, 4), 0);
	cr_assert_eq(pprof__add_sample(p, &orphan, 1, (int64_t[]){ 0, 4096 }, 2, NULL, 0), 0);
	cr_assert_eq(pprof__sample_count(p), 2);

	prof = round_trip(p);
	cr_assert_str_eq(pd_str(prof, 0), "");
	cr_assert_eq(prof->n_sample_type, 2);
	cr_assert_str_eq(pd_str(prof, prof->sample_type[0]->type), "inuse_space");
	cr_assert_str_eq(pd_str(prof, prof->sample_type[0]->unit), "bytes");
	cr_assert_str_eq(pd_str(prof, prof->sample_type[1]->type), "alloc_space");
	cr_assert_str_eq(pd_str(prof, prof->default_sample_type), "alloc_space");
	cr_assert_not_null(prof->period_type);
	cr_assert_str_eq(pd_str(prof, prof->period_type->type), "space");
	cr_assert_eq(prof->period, 1048576);
	cr_assert_eq(prof->time_nanos, 1700000000000000000LL);
	cr_assert_eq(prof->duration_nanos, 8000000000LL);
	cr_assert_eq(prof->n_comment, 1);
	cr_assert_str_eq(pd_str(prof, prof->comment[0]), "one page in 256");

	cr_assert_eq(prof->n_sample, 2);
	s = prof->sample[0];
	cr_assert_eq(s->n_location_id, 3);
	cr_assert_str_eq(pd_function(prof, s->location_id[0]), "memset");
	cr_assert_str_eq(pd_function(prof, s->location_id[1]), "leak_fn");
	cr_assert_str_eq(pd_function(prof, s->location_id[2]), "main");
	cr_assert_eq(pd_loc(prof, s->location_id[1])->address, 0x1139);
	cr_assert_eq(pd_loc(prof, s->location_id[1])->mapping_id, app);
	cr_assert_eq(s->n_value, 2);
	cr_assert_eq(s->value[0], 268435456);
	cr_assert_eq(s->value[1], 300000000);
	cr_assert_eq(s->n_label, 4);
	cr_assert_str_eq(pd_str(prof, pd_label(prof, s, "container")->str), "4f2a9c1d7e3b");
	cr_assert_str_eq(pd_str(prof, pd_label(prof, s, "comm")->str), "leaker");
	cr_assert_str_eq(pd_str(prof, pd_label(prof, s, "class")->str), "native");
	l = pd_label(prof, s, "pid");
	cr_assert_eq(l->str, 0, "pid is a number label");
	cr_assert_eq(l->num, 4242);

	/* The orphan location: no mapping, no function, no line. */
	s = prof->sample[1];
	cr_assert_eq(pd_loc(prof, s->location_id[0])->mapping_id, 0);
	cr_assert_eq(pd_loc(prof, s->location_id[0])->n_line, 0);
	cr_assert_eq(s->n_label, 0);

	m = pd_mapping(prof, app);
	cr_assert_str_eq(pd_str(prof, m->filename), "/usr/bin/leaker");
	cr_assert_str_eq(pd_str(prof, m->build_id), "9f1c2e");
	cr_assert_eq(m->memory_start, 0x1139);
	cr_assert_eq(m->memory_limit, 0x11a3, "the range holds every address given in it");
	cr_assert(m->has_functions);
	m = pd_mapping(prof, libc);
	cr_assert_eq(m->build_id, 0, "no build id: the empty string");
	perftools__profiles__profile__free_unpacked(prof, NULL);
	pprof__free(p);
}

Test(pprof, interning)
{
	struct pprof *p = two_types();
	uint64_t m1, m2, m3, a, b, c, d;
	pb_profile *prof;

	cr_assert_eq(pprof__mapping(p, "/bin/x", "ab", &m1), 0);
	cr_assert_eq(pprof__mapping(p, "/bin/x", "ab", &m2), 0);
	cr_assert_eq(pprof__mapping(p, "/bin/x", "cd", &m3), 0);
	cr_assert_eq(m1, m2);
	cr_assert_neq(m1, m3, "another build of the same path is another mapping");
	cr_assert_eq(pprof__location(p, m1, 0x10, "f", &a), 0);
	cr_assert_eq(pprof__location(p, m1, 0x10, "f", &b), 0);
	cr_assert_eq(pprof__location(p, m3, 0x10, "f", &c), 0);
	cr_assert_eq(pprof__location(p, m1, 0x10, "g", &d), 0);
	cr_assert_eq(a, b);
	cr_assert_neq(a, c);
	cr_assert_neq(a, d);
	cr_assert_eq(pprof__add_sample(p, &a, 1, (int64_t[]){ 1, 1 }, 2, NULL, 0), 0);

	prof = round_trip(p);
	cr_assert_eq(prof->n_mapping, 2);
	cr_assert_eq(prof->n_location, 3);
	cr_assert_eq(prof->n_function, 2, "f and g, once each");
	for (size_t i = 0; i < prof->n_string_table; i++)
		for (size_t k = i + 1; k < prof->n_string_table; k++)
			cr_expect_str_neq(prof->string_table[i], prof->string_table[k],
					  "string %zu and %zu", i, k);
	perftools__profiles__profile__free_unpacked(prof, NULL);
	pprof__free(p);
}

/* A mapping with one location nothing names is not "has_functions": tools
 * may then symbolize it from the file. */
Test(pprof, has_functions_only_when_all_named)
{
	struct pprof *p = two_types();
	uint64_t m, a, b;
	pb_profile *prof;

	cr_assert_eq(pprof__mapping(p, "/bin/x", NULL, &m), 0);
	cr_assert_eq(pprof__location(p, m, 0x20, "f", &a), 0);
	cr_assert_eq(pprof__location(p, m, 0x30, NULL, &b), 0);
	cr_assert_eq(pprof__add_sample(p, (uint64_t[]){ b, a }, 2, (int64_t[]){ 1, 2 }, 2, NULL,
				       0), 0);
	prof = round_trip(p);
	cr_assert_not(prof->mapping[0]->has_functions);
	perftools__profiles__profile__free_unpacked(prof, NULL);
	pprof__free(p);
}

struct string_case {
	char in[80];
	char want[80];
};

/* Names from a container's symbol tables and process names: whatever the
 * bytes, the string table holds well-formed UTF-8 without controls. */
ParameterizedTestParameters(pprof, hostile_strings)
{
	static struct string_case cases[] = {
		{ "leak_fn", "leak_fn" },
		{ "caf\xc3\xa9", "caf\xc3\xa9" },
		{ "\xf0\x9f\x94\xa5 fire", "\xf0\x9f\x94\xa5 fire" },
		{ "bad\xff\xfe", "bad\xef\xbf\xbd\xef\xbf\xbd" },
		{ "\xc3", "\xef\xbf\xbd" },				/* truncated sequence */
		{ "\xc0\xaf", "\xef\xbf\xbd\xef\xbf\xbd" },				/* overlong '/' */
		{ "\xe0\x80\xaf", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" },			/* overlong, 3 bytes */
		{ "\xed\xa0\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" },			/* UTF-16 surrogate */
		{ "\xf4\x90\x80\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" },			/* past U+10FFFF */
		{ "\xe2\x82", "\xef\xbf\xbd\xef\xbf\xbd" },
		{ "a\x80z", "a\xef\xbf\xbdz" },				/* lone continuation */
		{ "esc\x1b[2J\n\xc2\x9b", "esc\xef\xbf\xbd[2J\xef\xbf\xbd\xef\xbf\xbd" },
	};

	return cr_make_param_array(struct string_case, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct string_case *c, pprof, hostile_strings)
{
	struct pprof *p = two_types();
	uint64_t m, l;
	pb_profile *prof;

	cr_assert_eq(pprof__mapping(p, c->in, NULL, &m), 0);
	cr_assert_eq(pprof__location(p, m, 1, c->in, &l), 0);
	cr_assert_eq(pprof__add_sample(p, &l, 1, (int64_t[]){ 1, 1 }, 2,
				       &(struct pprof_label){ .key = "comm", .str = c->in }, 1), 0);
	prof = round_trip(p);
	cr_assert_str_eq(pd_function(prof, l), c->want);
	cr_assert_str_eq(pd_str(prof, prof->mapping[0]->filename), c->want);
	cr_assert_str_eq(pd_str(prof, prof->sample[0]->label[0]->str), c->want);
	perftools__profiles__profile__free_unpacked(prof, NULL);
	pprof__free(p);
}

Test(pprof, long_strings_cut_at_a_character)
{
	struct pprof *p = two_types();
	size_t n = PPROF_STRING_MAX * 2;
	char *name = malloc(n + 1);
	uint64_t l;
	pb_profile *prof;
	const char *got;

	cr_assert_not_null(name);
	/* 'x' then two-byte characters: PPROF_STRING_MAX falls inside one. */
	name[0] = 'x';
	for (size_t i = 1; i + 1 < n; i += 2) {
		name[i] = '\xc3';
		name[i + 1] = '\xa9';
	}
	name[n - 1] = '\0';
	cr_assert_eq(pprof__location(p, 0, 1, name, &l), 0);
	cr_assert_eq(pprof__add_sample(p, &l, 1, (int64_t[]){ 1, 1 }, 2, NULL, 0), 0);
	prof = round_trip(p);
	got = pd_function(prof, l);
	cr_assert_eq(strlen(got), PPROF_STRING_MAX - 1, "cut before the character that crosses");
	cr_assert_eq(strncmp(got, name, strlen(got)), 0);
	perftools__profiles__profile__free_unpacked(prof, NULL);
	pprof__free(p);
	free(name);
}

Test(pprof, bad_calls)
{
	struct pprof *p = pprof__new();
	struct pprof_label labels[PPROF_LABELS_MAX + 1];
	uint64_t m, l, unknown = 99;
	FILE *f = tmpfile();

	cr_assert_not_null(p);
	cr_assert_eq(pprof__write(p, f), -EINVAL, "no sample type");
	cr_assert_eq(pprof__add_sample_type(p, "inuse_space", "bytes"), 0);
	cr_assert_eq(pprof__set_default_sample_type(p, "alloc_space"), -ENOENT);
	cr_assert_eq(pprof__location(p, 7, 1, "f", &l), -ENOENT, "no mapping 7");
	cr_assert_eq(pprof__mapping(p, "/bin/x", NULL, &m), 0);
	cr_assert_eq(pprof__location(p, m, 1, "f", &l), 0);
	cr_assert_eq(pprof__add_sample(p, &l, 1, (int64_t[]){ 1, 2 }, 2, NULL, 0), -EINVAL,
		     "two values for one sample type");
	cr_assert_eq(pprof__add_sample(p, &unknown, 1, (int64_t[]){ 1 }, 1, NULL, 0), -EINVAL);
	cr_assert_eq(pprof__add_sample(p, (uint64_t[]){ 0 }, 1, (int64_t[]){ 1 }, 1, NULL, 0),
		     -EINVAL);
	cr_assert_eq(pprof__add_sample(p, &l, 1, NULL, 1, NULL, 0), -EINVAL);
	for (size_t i = 0; i <= PPROF_LABELS_MAX; i++)
		labels[i] = (struct pprof_label){ .key = "k", .str = "v" };
	cr_assert_eq(pprof__add_sample(p, &l, 1, (int64_t[]){ 1 }, 1, labels, PPROF_LABELS_MAX + 1),
		     -EINVAL);
	cr_assert_eq(pprof__add_sample(p, &l, 1, (int64_t[]){ 1 }, 1,
				       &(struct pprof_label){ .key = "", .str = "v" }, 1), -EINVAL);
	cr_assert_eq(pprof__sample_count(p), 0, "nothing was added by the bad calls");
	cr_assert_eq(pprof__add_sample(p, &l, 1, (int64_t[]){ 1 }, 1, labels, PPROF_LABELS_MAX), 0);
	cr_assert_eq(pprof__add_sample_type(p, "alloc_space", "bytes"), -EBUSY,
		     "samples already have one value");
	fclose(f);
	pprof__free(p);

	p = pprof__new();
	for (int i = 0; i < PPROF_SAMPLE_TYPES_MAX; i++)
		cr_assert_eq(pprof__add_sample_type(p, "t", "u"), 0);
	cr_assert_eq(pprof__add_sample_type(p, "t", "u"), -E2BIG);
	pprof__free(p);
}

Test(pprof, write_error)
{
	struct pprof *p = two_types();
	char small[16];
	FILE *f = fmemopen(small, sizeof(small), "w");
	uint64_t l;

	cr_assert_not_null(f);
	setvbuf(f, NULL, _IONBF, 0);
	cr_assert_eq(pprof__location(p, 0, 1, "a function with a long enough name", &l), 0);
	cr_assert_eq(pprof__add_sample(p, &l, 1, (int64_t[]){ 1, 1 }, 2, NULL, 0), 0);
	cr_assert_eq(pprof__write(p, f), -EIO);
	fclose(f);
	pprof__free(p);
}

/* Enough samples, locations and strings to make every pool grow many times
 * and the gzip stream span many output chunks. */
Test(pprof, many_samples)
{
	enum { NSAMPLES = 20000, DEPTH = 24 };
	struct pprof *p = two_types();
	uint64_t m, stack[DEPTH];
	int64_t total = 0;
	pb_profile *prof;
	char name[32], comm[32];

	cr_assert_eq(pprof__mapping(p, "/bin/big", "00", &m), 0);
	for (int i = 0; i < NSAMPLES; i++) {
		for (int d = 0; d < DEPTH; d++) {
			snprintf(name, sizeof(name), "fn_%d", (i * 7 + d * 13) % 5000);
			cr_assert_eq(pprof__location(p, m, (uint64_t)(i % 5000) * DEPTH + d, name,
						     &stack[d]), 0);
		}
		snprintf(comm, sizeof(comm), "worker-%d", i % 100);
		cr_assert_eq(pprof__add_sample(p, stack, DEPTH, (int64_t[]){ i, 2 * i }, 2,
					       &(struct pprof_label){ .key = "comm", .str = comm },
					       1), 0);
		total += i;
	}
	prof = round_trip(p);
	cr_assert_eq(prof->n_sample, NSAMPLES);
	for (size_t i = 0; i < prof->n_sample; i++) {
		cr_assert_eq(prof->sample[i]->n_location_id, DEPTH);
		total -= prof->sample[i]->value[0];
		cr_assert_eq(prof->sample[i]->value[1], 2 * prof->sample[i]->value[0]);
	}
	cr_assert_eq(total, 0);
	perftools__profiles__profile__free_unpacked(prof, NULL);
	pprof__free(p);
}
