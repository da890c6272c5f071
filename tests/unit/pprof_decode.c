#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "pprof_decode.h"

pb_profile *pd_decode(FILE *f)
{
	unsigned char magic[2] = { 0 }, *buf = NULL;
	size_t len = 0, cap = 0;
	pb_profile *prof;
	gzFile gz;
	int n;

	cr_assert_not_null(f);
	fflush(f);
	rewind(f);
	cr_assert_eq(fread(magic, 1, 2, f), 2);
	cr_assert(magic[0] == 0x1f && magic[1] == 0x8b, "not gzip: %02x %02x", magic[0], magic[1]);
	/* The stream buffered ahead: the descriptor's offset is not 0. */
	cr_assert_eq(lseek(fileno(f), 0, SEEK_SET), 0);
	gz = gzdopen(dup(fileno(f)), "rb");
	cr_assert_not_null(gz);
	do {
		if (cap - len < 65536) {
			cap = cap ? cap * 2 : 65536;
			buf = realloc(buf, cap);
			cr_assert_not_null(buf);
		}
		n = gzread(gz, buf + len, (unsigned)(cap - len));
		cr_assert_geq(n, 0, "gzread failed");
		len += (size_t)n;
	} while (n > 0);
	cr_assert_eq(gzclose(gz), Z_OK, "gzip stream is not complete");
	fclose(f);
	prof = perftools__profiles__profile__unpack(NULL, len, buf);
	free(buf);
	cr_assert_not_null(prof, "protobuf-c cannot decode what was written");
	return prof;
}

const char *pd_str(const pb_profile *prof, int64_t idx)
{
	cr_assert(idx >= 0 && (size_t)idx < prof->n_string_table, "string index %ld", (long)idx);
	return prof->string_table[idx];
}

const Perftools__Profiles__Location *pd_loc(const pb_profile *prof, uint64_t id)
{
	for (size_t i = 0; i < prof->n_location; i++)
		if (prof->location[i]->id == id)
			return prof->location[i];
	cr_assert_fail("no location %lu", (unsigned long)id);
	return NULL;
}

const Perftools__Profiles__Mapping *pd_mapping(const pb_profile *prof, uint64_t id)
{
	for (size_t i = 0; i < prof->n_mapping; i++)
		if (prof->mapping[i]->id == id)
			return prof->mapping[i];
	cr_assert_fail("no mapping %lu", (unsigned long)id);
	return NULL;
}

/* Name of the function of a location with one line. */
const char *pd_function(const pb_profile *prof, uint64_t id)
{
	const Perftools__Profiles__Location *l = pd_loc(prof, id);

	cr_assert_eq(l->n_line, 1);
	for (size_t i = 0; i < prof->n_function; i++)
		if (prof->function[i]->id == l->line[0]->function_id)
			return pd_str(prof, prof->function[i]->name);
	cr_assert_fail("no function %lu", (unsigned long)l->line[0]->function_id);
	return NULL;
}

const Perftools__Profiles__Label *pd_label(const pb_profile *prof, const pb_sample *s,
					       const char *key)
{
	for (size_t i = 0; i < s->n_label; i++)
		if (!strcmp(pd_str(prof, s->label[i]->key), key))
			return s->label[i];
	return NULL;
}

