#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "hmap.h"
#include "pprof.h"
#include "safe_text.h"
#include "proto/pprof.pb-c.h"

typedef Perftools__Profiles__ValueType pb_value_type;
typedef Perftools__Profiles__Sample pb_sample;
typedef Perftools__Profiles__Label pb_label;
typedef Perftools__Profiles__Mapping pb_mapping;
typedef Perftools__Profiles__Location pb_location;
typedef Perftools__Profiles__Line pb_line;
typedef Perftools__Profiles__Function pb_function;
typedef Perftools__Profiles__Profile pb_profile;

#define GZ_CHUNK	(64 * 1024)

struct mapping {
	int64_t file, build_id;		/* string indexes */
	uint64_t lo, hi;		/* addresses of its locations */
	size_t nlocs, named;		/* locations, those with a function */
};

struct location {
	uint64_t mapping, address, function;	/* the interning key: no padding */
};

/* Where a sample's parts sit in the pools. */
struct sample {
	size_t locs, nlocs;
	size_t values;
	size_t labels, nlabels;
};

struct pprof {
	char **strings;			/* [0] is "" */
	size_t nstrings, strings_cap;
	struct hmap *string_ids;	/* text -> int64_t index */

	pb_value_type types[PPROF_SAMPLE_TYPES_MAX];
	size_t ntypes;
	int64_t default_type;
	pb_value_type period_type;
	bool have_period;
	int64_t period, time_ns, duration_ns;
	int64_t *comments;
	size_t ncomments, comments_cap;

	struct mapping *maps;
	size_t nmaps, maps_cap;
	struct hmap *map_ids;		/* int64_t[2] file, build id -> uint64_t id */
	int64_t *funcs;			/* name of function id i + 1 */
	size_t nfuncs, funcs_cap;
	struct hmap *func_ids;		/* int64_t name -> uint64_t id */
	struct location *locs;
	size_t nlocs, locs_cap;
	struct hmap *loc_ids;		/* struct location -> uint64_t id */

	struct sample *samples;
	size_t nsamples, samples_cap;
	uint64_t *loc_pool;
	size_t loc_pool_n, loc_pool_cap;
	int64_t *value_pool;
	size_t value_pool_n, value_pool_cap;
	pb_label *label_pool;
	size_t label_pool_n, label_pool_cap;
};

/* Room for need more elements in *arr. */
static int reserve(void *arr, size_t *cap, size_t n, size_t need, size_t elem)
{
	void **p = arr;
	size_t want = *cap ? *cap : 16;
	void *np;

	if (need > SIZE_MAX - n)
		return -ENOMEM;
	if (n + need <= *cap)
		return 0;
	while (want < n + need) {
		if (want > SIZE_MAX / 2 / elem)
			return -ENOMEM;
		want *= 2;
	}
	np = realloc(*p, want * elem);
	if (!np)
		return -ENOMEM;
	*p = np;
	*cap = want;
	return 0;
}

/* in made safe (safe_text.h) into out (PPROF_STRING_MAX + 1 bytes), cut at a
 * character boundary. Returns the length. */
static size_t clean_string(const char *in, char *out)
{
	return safe_text__copy(out, PPROF_STRING_MAX + 1, in, (size_t)-1);
}

/* Index of s in the string table, adding it; NULL and "" are 0. */
static int intern(struct pprof *p, const char *s, int64_t *idx)
{
	char clean[PPROF_STRING_MAX + 1];
	size_t len;
	bool created;
	int64_t *v;

	*idx = 0;
	if (!s || !*s)
		return 0;
	len = clean_string(s, clean);
	if (reserve(&p->strings, &p->strings_cap, p->nstrings, 1, sizeof(*p->strings)))
		return -ENOMEM;
	v = hmap__upsert(p->string_ids, clean, len, &created);
	if (!v)
		return -ENOMEM;
	if (created) {
		p->strings[p->nstrings] = strdup(clean);
		if (!p->strings[p->nstrings]) {
			hmap__delete(p->string_ids, clean, len);
			return -ENOMEM;
		}
		*v = (int64_t)p->nstrings++;
	}
	*idx = *v;
	return 0;
}

struct pprof *pprof__new(void)
{
	struct pprof *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->string_ids = hmap__new(sizeof(int64_t));
	p->map_ids = hmap__new(sizeof(uint64_t));
	p->func_ids = hmap__new(sizeof(uint64_t));
	p->loc_ids = hmap__new(sizeof(uint64_t));
	p->strings = calloc(16, sizeof(*p->strings));
	p->strings_cap = 16;
	if (!p->string_ids || !p->map_ids || !p->func_ids || !p->loc_ids || !p->strings ||
	    !(p->strings[0] = strdup(""))) {
		pprof__free(p);
		errno = ENOMEM;
		return NULL;
	}
	p->nstrings = 1;
	return p;
}

void pprof__free(struct pprof *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->nstrings; i++)
		free(p->strings[i]);
	free(p->strings);
	hmap__free(p->string_ids);
	hmap__free(p->map_ids);
	hmap__free(p->func_ids);
	hmap__free(p->loc_ids);
	free(p->comments);
	free(p->maps);
	free(p->funcs);
	free(p->locs);
	free(p->samples);
	free(p->loc_pool);
	free(p->value_pool);
	free(p->label_pool);
	free(p);
}

static int value_type(struct pprof *p, const char *type, const char *unit, pb_value_type *out)
{
	pb_value_type vt = PERFTOOLS__PROFILES__VALUE_TYPE__INIT;
	int err;

	if ((err = intern(p, type, &vt.type)) || (err = intern(p, unit, &vt.unit)))
		return err;
	*out = vt;
	return 0;
}

int pprof__add_sample_type(struct pprof *p, const char *type, const char *unit)
{
	int err;

	if (p->nsamples)
		return -EBUSY;
	if (p->ntypes == PPROF_SAMPLE_TYPES_MAX)
		return -E2BIG;
	err = value_type(p, type, unit, &p->types[p->ntypes]);
	if (!err)
		p->ntypes++;
	return err;
}

int pprof__set_default_sample_type(struct pprof *p, const char *type)
{
	int64_t idx;
	int err = intern(p, type, &idx);

	if (err)
		return err;
	for (size_t i = 0; i < p->ntypes; i++) {
		if (p->types[i].type == idx) {
			p->default_type = idx;
			return 0;
		}
	}
	return -ENOENT;
}

int pprof__set_period(struct pprof *p, const char *type, const char *unit, int64_t period)
{
	int err = value_type(p, type, unit, &p->period_type);

	if (err)
		return err;
	p->have_period = true;
	p->period = period;
	return 0;
}

void pprof__set_time(struct pprof *p, int64_t time_ns, int64_t duration_ns)
{
	p->time_ns = time_ns;
	p->duration_ns = duration_ns;
}

int pprof__add_comment(struct pprof *p, const char *text)
{
	int64_t idx;
	int err = intern(p, text, &idx);

	if (err)
		return err;
	if (reserve(&p->comments, &p->comments_cap, p->ncomments, 1, sizeof(*p->comments)))
		return -ENOMEM;
	p->comments[p->ncomments++] = idx;
	return 0;
}

/* The id under key in ids, or a new one (next) when created says so. */
static int interned_id(struct hmap *ids, const void *key, size_t len, uint64_t next,
		       bool *created, uint64_t *id)
{
	uint64_t *v = hmap__upsert(ids, key, len, created);

	if (!v)
		return -ENOMEM;
	if (*created)
		*v = next;
	*id = *v;
	return 0;
}

int pprof__mapping(struct pprof *p, const char *file, const char *build_id, uint64_t *id)
{
	int64_t key[2];
	bool created;
	int err;

	if ((err = intern(p, file, &key[0])) || (err = intern(p, build_id, &key[1])))
		return err;
	if (reserve(&p->maps, &p->maps_cap, p->nmaps, 1, sizeof(*p->maps)))
		return -ENOMEM;
	err = interned_id(p->map_ids, key, sizeof(key), p->nmaps + 1, &created, id);
	if (!err && created)
		p->maps[p->nmaps++] = (struct mapping){ .file = key[0], .build_id = key[1] };
	return err;
}

static int function_id(struct pprof *p, const char *name, uint64_t *id)
{
	int64_t idx;
	bool created;
	int err;

	*id = 0;
	if (!name)
		return 0;
	if ((err = intern(p, name, &idx)))
		return err;
	if (reserve(&p->funcs, &p->funcs_cap, p->nfuncs, 1, sizeof(*p->funcs)))
		return -ENOMEM;
	err = interned_id(p->func_ids, &idx, sizeof(idx), p->nfuncs + 1, &created, id);
	if (!err && created)
		p->funcs[p->nfuncs++] = idx;
	return err;
}

int pprof__location(struct pprof *p, uint64_t mapping, uint64_t address, const char *function,
		    uint64_t *id)
{
	struct location key = { .mapping = mapping, .address = address };
	struct mapping *m;
	bool created;
	int err;

	if (mapping > p->nmaps)
		return -ENOENT;
	if ((err = function_id(p, function, &key.function)))
		return err;
	if (reserve(&p->locs, &p->locs_cap, p->nlocs, 1, sizeof(*p->locs)))
		return -ENOMEM;
	err = interned_id(p->loc_ids, &key, sizeof(key), p->nlocs + 1, &created, id);
	if (err || !created)
		return err;
	p->locs[p->nlocs++] = key;
	if (!mapping)
		return 0;
	m = &p->maps[mapping - 1];
	if (!m->nlocs || address < m->lo)
		m->lo = address;
	if (!m->nlocs || address > m->hi)
		m->hi = address;
	m->nlocs++;
	m->named += key.function != 0;
	return 0;
}

static int check_sample(const struct pprof *p, const uint64_t *locs, size_t nlocs,
			const int64_t *values, size_t nvalues, const struct pprof_label *labels,
			size_t nlabels)
{
	if (!p->ntypes || nvalues != p->ntypes || nlocs > PPROF_STACK_MAX ||
	    nlabels > PPROF_LABELS_MAX || (nlocs && !locs) || !values || (nlabels && !labels))
		return -EINVAL;
	for (size_t i = 0; i < nlocs; i++)
		if (!locs[i] || locs[i] > p->nlocs)
			return -EINVAL;
	for (size_t i = 0; i < nlabels; i++)
		if (!labels[i].key || !*labels[i].key)
			return -EINVAL;
	return 0;
}

int pprof__add_sample(struct pprof *p, const uint64_t *locs, size_t nlocs, const int64_t *values,
		      size_t nvalues, const struct pprof_label *labels, size_t nlabels)
{
	struct sample *s;
	int err = check_sample(p, locs, nlocs, values, nvalues, labels, nlabels);

	if (err)
		return err;
	if (reserve(&p->samples, &p->samples_cap, p->nsamples, 1, sizeof(*p->samples)) ||
	    reserve(&p->loc_pool, &p->loc_pool_cap, p->loc_pool_n, nlocs, sizeof(*p->loc_pool)) ||
	    reserve(&p->value_pool, &p->value_pool_cap, p->value_pool_n, nvalues,
		    sizeof(*p->value_pool)) ||
	    reserve(&p->label_pool, &p->label_pool_cap, p->label_pool_n, nlabels,
		    sizeof(*p->label_pool)))
		return -ENOMEM;
	/* Strings first: a failure leaves the pools as they were. */
	for (size_t i = 0; i < nlabels; i++) {
		const struct pprof_label *l = &labels[i];
		pb_label *pl = &p->label_pool[p->label_pool_n + i];

		*pl = (pb_label)PERFTOOLS__PROFILES__LABEL__INIT;
		if ((err = intern(p, l->key, &pl->key)) ||
		    (l->str && (err = intern(p, l->str, &pl->str))) ||
		    (!l->str && (err = intern(p, l->unit, &pl->num_unit))))
			return err;
		if (!l->str)
			pl->num = l->num;
	}
	s = &p->samples[p->nsamples++];
	*s = (struct sample){
		.locs = p->loc_pool_n, .nlocs = nlocs, .values = p->value_pool_n,
		.labels = p->label_pool_n, .nlabels = nlabels,
	};
	if (nlocs)
		memcpy(p->loc_pool + p->loc_pool_n, locs, nlocs * sizeof(*locs));
	memcpy(p->value_pool + p->value_pool_n, values, nvalues * sizeof(*values));
	p->loc_pool_n += nlocs;
	p->value_pool_n += nvalues;
	p->label_pool_n += nlabels;
	return 0;
}

size_t pprof__sample_count(const struct pprof *p)
{
	return p->nsamples;
}

/* ---- writing ---------------------------------------------------------------- */

/* A protobuf-c output buffer that deflates what it is given into a gzip
 * stream: the encoded profile is never held whole in memory. */
struct gz_sink {
	ProtobufCBuffer base;
	z_stream z;
	FILE *out;
	int err;
	unsigned char buf[GZ_CHUNK];
};

static void gz_run(struct gz_sink *g, int flush)
{
	int rc;

	do {
		g->z.next_out = g->buf;
		g->z.avail_out = sizeof(g->buf);
		rc = deflate(&g->z, flush);
		if (rc == Z_STREAM_ERROR) {
			g->err = -EIO;
			return;
		}
		if (fwrite(g->buf, 1, sizeof(g->buf) - g->z.avail_out, g->out) !=
		    sizeof(g->buf) - g->z.avail_out) {
			g->err = -EIO;
			return;
		}
	} while (g->z.avail_out == 0 || (flush == Z_FINISH && rc != Z_STREAM_END));
}

static void gz_append(ProtobufCBuffer *b, size_t len, const uint8_t *data)
{
	struct gz_sink *g = (struct gz_sink *)b;

	while (len && !g->err) {
		uInt n = len > UINT_MAX ? UINT_MAX : (uInt)len;

		g->z.next_in = (Bytef *)data;
		g->z.avail_in = n;
		gz_run(g, Z_NO_FLUSH);
		data += n;
		len -= n;
	}
}

/* The protobuf-c view of everything, pointing into p and into arrays made
 * here (freed by free_view). */
struct view {
	pb_profile prof;
	pb_value_type *type_ptrs[PPROF_SAMPLE_TYPES_MAX];
	pb_sample *samples, **sample_ptrs;
	pb_label **label_ptrs;
	pb_mapping *maps, **map_ptrs;
	pb_location *locs, **loc_ptrs;
	pb_line *lines, **line_ptrs;
	pb_function *funcs, **func_ptrs;
};

static void free_view(struct view *v)
{
	free(v->samples);
	free(v->sample_ptrs);
	free(v->label_ptrs);
	free(v->maps);
	free(v->map_ptrs);
	free(v->locs);
	free(v->loc_ptrs);
	free(v->lines);
	free(v->line_ptrs);
	free(v->funcs);
	free(v->func_ptrs);
}

static void view_samples(struct pprof *p, struct view *v)
{
	for (size_t i = 0; i < p->label_pool_n; i++)
		v->label_ptrs[i] = &p->label_pool[i];
	for (size_t i = 0; i < p->nsamples; i++) {
		const struct sample *s = &p->samples[i];
		pb_sample *ps = &v->samples[i];

		*ps = (pb_sample)PERFTOOLS__PROFILES__SAMPLE__INIT;
		ps->n_location_id = s->nlocs;
		ps->location_id = p->loc_pool + s->locs;
		ps->n_value = p->ntypes;
		ps->value = p->value_pool + s->values;
		ps->n_label = s->nlabels;
		ps->label = v->label_ptrs + s->labels;
		v->sample_ptrs[i] = ps;
	}
}

static void view_code(struct pprof *p, struct view *v)
{
	for (size_t i = 0; i < p->nmaps; i++) {
		const struct mapping *m = &p->maps[i];
		pb_mapping *pm = &v->maps[i];

		*pm = (pb_mapping)PERFTOOLS__PROFILES__MAPPING__INIT;
		pm->id = i + 1;
		pm->memory_start = m->nlocs ? m->lo : 0;
		pm->memory_limit = m->nlocs ? (m->hi == UINT64_MAX ? m->hi : m->hi + 1) : 0;
		pm->filename = m->file;
		pm->build_id = m->build_id;
		pm->has_functions = m->nlocs && m->named == m->nlocs;
		v->map_ptrs[i] = pm;
	}
	for (size_t i = 0; i < p->nfuncs; i++) {
		pb_function *pf = &v->funcs[i];

		*pf = (pb_function)PERFTOOLS__PROFILES__FUNCTION__INIT;
		pf->id = i + 1;
		pf->name = pf->system_name = p->funcs[i];
		v->func_ptrs[i] = pf;
	}
	for (size_t i = 0; i < p->nlocs; i++) {
		const struct location *l = &p->locs[i];
		pb_location *pl = &v->locs[i];

		*pl = (pb_location)PERFTOOLS__PROFILES__LOCATION__INIT;
		pl->id = i + 1;
		pl->mapping_id = l->mapping;
		pl->address = l->address;
		if (l->function) {
			v->lines[i] = (pb_line)PERFTOOLS__PROFILES__LINE__INIT;
			v->lines[i].function_id = l->function;
			v->line_ptrs[i] = &v->lines[i];
			pl->n_line = 1;
			pl->line = &v->line_ptrs[i];
		}
		v->loc_ptrs[i] = pl;
	}
}

static int make_view(struct pprof *p, struct view *v)
{
	pb_profile *pr = &v->prof;

	memset(v, 0, sizeof(*v));
	/* +1: calloc(0) may return NULL. */
	v->samples = calloc(p->nsamples + 1, sizeof(*v->samples));
	v->sample_ptrs = calloc(p->nsamples + 1, sizeof(*v->sample_ptrs));
	v->label_ptrs = calloc(p->label_pool_n + 1, sizeof(*v->label_ptrs));
	v->maps = calloc(p->nmaps + 1, sizeof(*v->maps));
	v->map_ptrs = calloc(p->nmaps + 1, sizeof(*v->map_ptrs));
	v->locs = calloc(p->nlocs + 1, sizeof(*v->locs));
	v->loc_ptrs = calloc(p->nlocs + 1, sizeof(*v->loc_ptrs));
	v->lines = calloc(p->nlocs + 1, sizeof(*v->lines));
	v->line_ptrs = calloc(p->nlocs + 1, sizeof(*v->line_ptrs));
	v->funcs = calloc(p->nfuncs + 1, sizeof(*v->funcs));
	v->func_ptrs = calloc(p->nfuncs + 1, sizeof(*v->func_ptrs));
	if (!v->samples || !v->sample_ptrs || !v->label_ptrs || !v->maps || !v->map_ptrs ||
	    !v->locs || !v->loc_ptrs || !v->lines || !v->line_ptrs || !v->funcs || !v->func_ptrs) {
		free_view(v);
		return -ENOMEM;
	}
	view_samples(p, v);
	view_code(p, v);
	*pr = (pb_profile)PERFTOOLS__PROFILES__PROFILE__INIT;
	for (size_t i = 0; i < p->ntypes; i++)
		v->type_ptrs[i] = &p->types[i];
	pr->n_sample_type = p->ntypes;
	pr->sample_type = v->type_ptrs;
	pr->n_sample = p->nsamples;
	pr->sample = v->sample_ptrs;
	pr->n_mapping = p->nmaps;
	pr->mapping = v->map_ptrs;
	pr->n_location = p->nlocs;
	pr->location = v->loc_ptrs;
	pr->n_function = p->nfuncs;
	pr->function = v->func_ptrs;
	pr->n_string_table = p->nstrings;
	pr->string_table = p->strings;
	pr->time_nanos = p->time_ns;
	pr->duration_nanos = p->duration_ns;
	pr->period_type = p->have_period ? &p->period_type : NULL;
	pr->period = p->period;
	pr->n_comment = p->ncomments;
	pr->comment = p->comments;
	pr->default_sample_type = p->default_type;
	return 0;
}

int pprof__write(struct pprof *p, FILE *out)
{
	struct gz_sink *g;
	struct view v;
	int err;

	if (!p->ntypes)
		return -EINVAL;
	if ((err = make_view(p, &v)))
		return err;
	g = calloc(1, sizeof(*g));
	/* windowBits 15 + 16: a gzip header and trailer around the deflate data. */
	if (!g || deflateInit2(&g->z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8,
			       Z_DEFAULT_STRATEGY) != Z_OK) {
		free(g);
		free_view(&v);
		return -ENOMEM;
	}
	g->base.append = gz_append;
	g->out = out;
	perftools__profiles__profile__pack_to_buffer(&v.prof, &g->base);
	if (!g->err)
		gz_run(g, Z_FINISH);
	err = g->err;
	if (!err && fflush(out))
		err = -EIO;
	deflateEnd(&g->z);
	free(g);
	free_view(&v);
	return err;
}
