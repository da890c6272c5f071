/* pprof profiles read back for tests: gunzipped with zlib, decoded with
 * protobuf-c's own decoder of the same .proto, and looked up by id. */
#ifndef MEMSCOPE_TEST_PPROF_DECODE_H
#define MEMSCOPE_TEST_PPROF_DECODE_H

#include <stdint.h>
#include <stdio.h>

#include "proto/pprof.pb-c.h"

typedef Perftools__Profiles__Profile pb_profile;
typedef Perftools__Profiles__Sample pb_sample;

/* Everything written to f (still open), decoded; f is closed. */
pb_profile *pd_decode(FILE *f);
const char *pd_str(const pb_profile *prof, int64_t idx);
const Perftools__Profiles__Location *pd_loc(const pb_profile *prof, uint64_t id);
const Perftools__Profiles__Mapping *pd_mapping(const pb_profile *prof, uint64_t id);
/* Name of the function of a location with one line. */
const char *pd_function(const pb_profile *prof, uint64_t id);
/* The sample's label with this key, or NULL. */
const Perftools__Profiles__Label *pd_label(const pb_profile *prof, const pb_sample *s,
					   const char *key);

#endif
