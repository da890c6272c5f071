#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "hmap.h"
#include "promtext.h"
#include "safe_text.h"

int promtext__init(struct promtext *p, FILE *f)
{
	memset(p, 0, sizeof(*p));
	p->f = f;
	p->seen = hmap__new(0);
	return p->seen ? 0 : -ENOMEM;
}

int promtext__finish(struct promtext *p)
{
	hmap__free(p->seen);
	p->seen = NULL;
	if (!p->err && (!p->f || ferror(p->f)))
		p->err = -EIO;
	return p->err;
}

static int refuse(struct promtext *p, int err)
{
	if (!p->err)
		p->err = err;
	return err;
}

static bool name_ok(const char *s, bool colon)
{
	size_t n = s ? strnlen(s, PROMTEXT_NAME_MAX + 1) : 0;

	if (!n || n > PROMTEXT_NAME_MAX || (s[0] >= '0' && s[0] <= '9'))
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || (colon && c == ':')))
			return false;
	}
	return true;
}

bool promtext__metric_name_ok(const char *name)
{
	return name_ok(name, true);
}

bool promtext__label_name_ok(const char *name)
{
	return name_ok(name, false) && strncmp(name, "__", 2);
}

const char *promtext__format_value(double v, char *buf, size_t len)
{
	if (isnan(v)) {
		snprintf(buf, len, "NaN");
	} else if (isinf(v)) {
		snprintf(buf, len, v > 0 ? "+Inf" : "-Inf");
	} else if (v == trunc(v) && fabs(v) < 1e15) {
		/* Byte counts read best as plain integers. */
		snprintf(buf, len, "%.0f", v == 0 ? 0.0 : v);
	} else {
		/* The shortest of the two that reads back as the same double. */
		snprintf(buf, len, "%.15g", v);
		if (strtod(buf, NULL) != v)
			snprintf(buf, len, "%.17g", v);
	}
	return buf;
}

void promtext__escape(FILE *f, const char *s, size_t max, bool quoted)
{
	const char *u = s ? s : "";
	size_t n = strnlen(u, max);

	for (size_t i = 0; i < n;) {
		uint32_t cp;
		size_t used = safe_text__next(u + i, n - i, &cp);
		bool malformed = cp == SAFE_TEXT_REPLACEMENT && used == 1;

		/* A cut at max may split a character: drop its start, do not mangle it. */
		if (malformed && n == max && strnlen(u + i, 4) > n - i)
			break;
		if (cp == '\\')
			fputs("\\\\", f);
		else if (cp == '\n')
			fputs("\\n", f);
		else if (cp == '"' && quoted)
			fputs("\\\"", f);
		else if (malformed || safe_text__is_control(cp))
			/* ESC, CR, C1...: nothing a label should carry to a terminal. */
			fputs(SAFE_TEXT_REPLACEMENT_UTF8, f);
		else
			fwrite(u + i, 1, used, f);
		i += used;
	}
}

int promtext__family(struct promtext *p, const char *name, enum promtext_type type,
		     const char *help)
{
	size_t n;
	bool created = false;

	p->family[0] = '\0';
	if (!promtext__metric_name_ok(name))
		return refuse(p, -EINVAL);
	n = strlen(name);
	if (type == PROMTEXT_COUNTER && (n < 6 || strcmp(name + n - 6, "_total")))
		return refuse(p, -EINVAL);
	if (hmap__find(p->seen, name, n))
		return refuse(p, -EEXIST);
	if (hmap__count(p->seen) >= PROMTEXT_FAMILIES_MAX)
		return refuse(p, -E2BIG);
	if (!hmap__upsert(p->seen, name, n, &created))
		return refuse(p, -ENOMEM);
	fprintf(p->f, "# HELP %s ", name);
	promtext__escape(p->f, help, PROMTEXT_HELP_MAX, false);
	fprintf(p->f, "\n# TYPE %s %s\n", name, type == PROMTEXT_COUNTER ? "counter" : "gauge");
	memcpy(p->family, name, n + 1);
	p->type = type;
	return 0;
}

static bool labels_ok(const struct prom_label *labels, size_t n)
{
	if (n > PROMTEXT_LABELS_MAX || (n && !labels))
		return false;
	for (size_t i = 0; i < n; i++) {
		if (!promtext__label_name_ok(labels[i].name))
			return false;
		for (size_t k = 0; k < i; k++)
			if (!strcmp(labels[i].name, labels[k].name))
				return false;
	}
	return true;
}

int promtext__sample(struct promtext *p, const struct prom_label *labels, size_t n,
		     double value)
{
	char num[64];

	if (!p->family[0] || !labels_ok(labels, n) ||
	    (p->type == PROMTEXT_COUNTER && value < 0))
		return refuse(p, -EINVAL);
	fputs(p->family, p->f);
	for (size_t i = 0; i < n; i++) {
		fprintf(p->f, "%s%s=\"", i ? "," : "{", labels[i].name);
		promtext__escape(p->f, labels[i].value, PROMTEXT_VALUE_MAX, true);
		fputc('"', p->f);
	}
	fprintf(p->f, "%s %s\n", n ? "}" : "", promtext__format_value(value, num, sizeof(num)));
	return 0;
}
