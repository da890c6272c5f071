#include <ctype.h>
#include <errno.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "msreport.h"

static void init(struct msreport *r)
{
	memset(r, 0, sizeof(*r));
}

static void add(struct msr_counter *c, size_t *n, const char *name, size_t name_len, uint64_t v)
{
	if (*n == MSR_MAX_COUNTERS || !name_len)
		return;
	snprintf(c[*n].name, sizeof(c[*n].name), "%.*s", (int)name_len, name);
	c[*n].value = v;
	(*n)++;
}

static bool get_u64(struct json_object *o, uint64_t *v)
{
	if (!o || json_object_get_type(o) != json_type_int)
		return false;
	/* json-c keeps ints as int64 or uint64: a negative one is no counter. */
	if (json_object_get_int64(o) < 0)
		return false;
	*v = json_object_get_uint64(o);
	return true;
}

static void counters(struct json_object *root, const char *key, struct msr_counter *c, size_t *n)
{
	struct json_object *obj;

	if (!json_object_object_get_ex(root, key, &obj) ||
	    json_object_get_type(obj) != json_type_object)
		return;
	json_object_object_foreach(obj, name, val) {
		uint64_t v;

		if (get_u64(val, &v))
			add(c, n, name, strlen(name), v);
	}
}

static void container(struct json_object *o, struct msr_container *c)
{
	struct json_object *f;
	uint64_t v;

	memset(c, 0, sizeof(*c));
	if (json_object_object_get_ex(o, "cgroup_id", &f) && get_u64(f, &v))
		c->cgroup_id = v;
	if (json_object_object_get_ex(o, "cgroup", &f) && json_object_is_type(f, json_type_string))
		snprintf(c->cgroup, sizeof(c->cgroup), "%s", json_object_get_string(f));
	if (json_object_object_get_ex(o, "alloc_bytes", &f) && get_u64(f, &v))
		c->alloc_bytes = v;
	if (json_object_object_get_ex(o, "resident_bytes", &f) &&
	    json_object_is_type(f, json_type_int))
		c->resident_bytes = json_object_get_int64(f);
}

static int containers(struct json_object *root, struct msreport *r)
{
	struct json_object *arr;
	size_t n;

	if (!json_object_object_get_ex(root, "containers", &arr) ||
	    json_object_get_type(arr) != json_type_array)
		return 0;
	n = json_object_array_length(arr);
	if (n > MSR_MAX_CONTAINERS)
		n = MSR_MAX_CONTAINERS;
	r->containers = calloc(n ? n : 1, sizeof(*r->containers));
	if (!r->containers)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		struct json_object *o = json_object_array_get_idx(arr, i);

		if (json_object_get_type(o) == json_type_object)
			container(o, &r->containers[r->n_containers++]);
	}
	return 0;
}

int msreport__parse_json(const char *text, size_t len, struct msreport *r)
{
	struct json_tokener *tok;
	struct json_object *root, *d;
	int rc = 0;

	init(r);
	if (len > MSR_MAX_FILE)
		return -EFBIG;
	tok = json_tokener_new();
	if (!tok)
		return -ENOMEM;
	root = json_tokener_parse_ex(tok, text, (int)len);
	if (!root || json_tokener_get_error(tok) != json_tokener_success ||
	    json_object_get_type(root) != json_type_object) {
		rc = -EINVAL;
		goto out;
	}
	if (json_object_object_get_ex(root, "duration_s", &d) &&
	    (json_object_is_type(d, json_type_double) || json_object_is_type(d, json_type_int)))
		r->duration_s = json_object_get_double(d);
	counters(root, "events", r->events, &r->n_events);
	counters(root, "losses", r->losses, &r->n_losses);
	rc = containers(root, r);
	if (!rc && !r->n_events && !r->n_losses)
		rc = -EINVAL;
	r->from_json = !rc;
out:
	json_object_put(root);
	json_tokener_free(tok);
	return rc;
}

static size_t trimmed(const char *s, size_t len, const char **start)
{
	while (len && isspace((unsigned char)*s))
		s++, len--;
	while (len && isspace((unsigned char)s[len - 1]))
		len--;
	*start = s;
	return len;
}

/* "name one=N, name, with comma=N, ...": an item ends at "=digits". */
static void parse_losses(const char *p, struct msreport *r)
{
	while (*p) {
		const char *eq = strchr(p, '='), *name;
		char *end;
		uint64_t v;
		size_t len;

		while (eq && !isdigit((unsigned char)eq[1]))
			eq = strchr(eq + 1, '=');
		if (!eq)
			return;
		errno = 0;
		v = strtoull(eq + 1, &end, 10);
		if (errno)
			return;
		len = trimmed(p, eq - p, &name);
		add(r->losses, &r->n_losses, name, len, v);
		p = end;
		while (*p == ',' || isspace((unsigned char)*p))
			p++;
	}
}

/* "N allocations, N frees, N samples (...)": stderr's names, mapped to the
 * report's keys so both sources read the same. */
static void parse_events(const char *p, struct msreport *r)
{
	static const struct { const char *word, *key; } keys[] = {
		{ "allocations", "alloc_events" }, { "frees", "free_events" },
		{ "samples", "samples" },
	};

	while (*p && *p != '(') {
		const char *name;
		char *end;
		uint64_t v;
		size_t len;

		while (isspace((unsigned char)*p))
			p++;
		if (!isdigit((unsigned char)*p))
			return;
		v = strtoull(p, &end, 10);
		len = trimmed(end, strcspn(end, ",("), &name);
		for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
			if (len == strlen(keys[i].word) && !strncmp(name, keys[i].word, len))
				name = keys[i].key, len = strlen(keys[i].key);
		add(r->events, &r->n_events, name, len, v);
		p = end + strcspn(end, ",(");
		if (*p == ',')
			p++;
	}
}

int msreport__parse_stderr(FILE *f, struct msreport *r)
{
	char line[4096];
	bool long_line = false;

	init(r);
	while (fgets(line, sizeof(line), f)) {
		bool cut = !strchr(line, '\n') && !feof(f);

		/* The tail of a line too long for the buffer is not a line start. */
		if (!long_line) {
			if (!strncmp(line, "losses:", 7))
				parse_losses(line + 7, r);
			else if (!strncmp(line, "events:", 7))
				parse_events(line + 7, r);
		}
		long_line = cut;
	}
	return r->n_events || r->n_losses ? 0 : -EINVAL;
}

static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "re");
	char *buf;

	if (!f)
		return NULL;
	buf = malloc(MSR_MAX_FILE + 1);
	if (buf) {
		*len = fread(buf, 1, MSR_MAX_FILE + 1, f);
		buf[*len > MSR_MAX_FILE ? MSR_MAX_FILE : *len] = 0;
	}
	fclose(f);
	return buf;
}

int msreport__load(const char *json_path, const char *stderr_path, struct msreport *r)
{
	size_t len = 0;
	char *text = json_path ? read_file(json_path, &len) : NULL;
	FILE *f;
	int rc = -ENOENT;

	if (text) {
		rc = msreport__parse_json(text, len, r);
		free(text);
		if (!rc)
			return 0;
		msreport__free(r);
	}
	f = stderr_path ? fopen(stderr_path, "re") : NULL;
	if (!f) {
		init(r);
		return rc;
	}
	rc = msreport__parse_stderr(f, r);
	fclose(f);
	return rc;
}

bool msreport__get(const struct msr_counter *c, size_t n, const char *name, uint64_t *v)
{
	for (size_t i = 0; i < n; i++) {
		if (!strcmp(c[i].name, name)) {
			*v = c[i].value;
			return true;
		}
	}
	return false;
}

const struct msr_container *msreport__container(const struct msreport *r, uint64_t cgroup_id)
{
	for (size_t i = 0; i < r->n_containers; i++)
		if (r->containers[i].cgroup_id == cgroup_id)
			return &r->containers[i];
	return NULL;
}

void msreport__free(struct msreport *r)
{
	free(r->containers);
	r->containers = NULL;
	r->n_containers = 0;
}
