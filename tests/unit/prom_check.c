#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "prom_check.h"

#define MAX_FAMILIES	512
#define MAX_SERIES	4096

struct checker {
	char families[MAX_FAMILIES][160];
	int n_families;
	char family[160];
	char type[16];
	bool have_help;
	char *series[MAX_SERIES];	/* of the current family */
	int n_series;
	int samples;
	char *err;
	size_t errlen;
};

static int fail(struct checker *c, const char *line, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(c->err, c->errlen, fmt, ap);
	va_end(ap);
	if (n >= 0 && (size_t)n < c->errlen)
		snprintf(c->err + n, c->errlen - n, " in line: %.200s", line);
	return -1;
}

static size_t name_len(const char *s, bool colon)
{
	size_t n = 0;

	if (!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z') || s[0] == '_' ||
	      (colon && s[0] == ':')))
		return 0;
	while ((s[n] >= 'a' && s[n] <= 'z') || (s[n] >= 'A' && s[n] <= 'Z') ||
	       (s[n] >= '0' && s[n] <= '9') || s[n] == '_' || (colon && s[n] == ':'))
		n++;
	return n;
}

/* Strict UTF-8 (as Go's utf8.ValidString); returns bytes of the character, 0 if invalid. */
static size_t utf8_char(const unsigned char *s)
{
	unsigned cp;
	size_t len;

	if (s[0] < 0x80)
		return 1;
	if ((s[0] & 0xe0) == 0xc0) {
		len = 2;
		cp = s[0] & 0x1f;
	} else if ((s[0] & 0xf0) == 0xe0) {
		len = 3;
		cp = s[0] & 0x0f;
	} else if ((s[0] & 0xf8) == 0xf0) {
		len = 4;
		cp = s[0] & 0x07;
	} else {
		return 0;
	}
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

static bool value_ok(const char *s, double *v)
{
	char *end;

	if (!strcmp(s, "NaN")) {
		*v = NAN;
		return true;
	}
	if (!strcmp(s, "+Inf") || !strcmp(s, "-Inf")) {
		*v = s[0] == '+' ? INFINITY : -INFINITY;
		return true;
	}
	if (!*s || strchr(s, ' ') || strpbrk(s, "xXpP"))
		return false;
	*v = strtod(s, &end);
	return !*end && isfinite(*v);
}

static void new_family(struct checker *c)
{
	for (int i = 0; i < c->n_series; i++)
		free(c->series[i]);
	c->n_series = 0;
}

static int comment(struct checker *c, const char *line)
{
	const char *p = line + 2, *name;
	size_t n;
	bool help = !strncmp(p, "HELP ", 5), type = !strncmp(p, "TYPE ", 5);

	if (!help && !type)
		return 0;	/* other comments are allowed */
	name = p + 5;
	n = name_len(name, true);
	if (!n || n >= sizeof(c->family) || name[n] != ' ')
		return fail(c, line, "bad metric name");
	if (help) {
		for (int i = 0; i < c->n_families; i++)
			if (strlen(c->families[i]) == n && !strncmp(c->families[i], name, n))
				return fail(c, line, "family written twice");
		if (c->n_families == MAX_FAMILIES)
			return fail(c, line, "too many families for the checker");
		snprintf(c->families[c->n_families++], sizeof(c->families[0]), "%.*s", (int)n,
			 name);
		snprintf(c->family, sizeof(c->family), "%.*s", (int)n, name);
		c->have_help = true;
		c->type[0] = '\0';
		new_family(c);
		for (const char *h = name + n + 1; *h; h++)
			if (*h == '\\' && h[1] != '\\' && h[1] != 'n')
				return fail(c, line, "bad escape in HELP");
			else if (*h == '\\')
				h++;
		return 0;
	}
	if (!c->have_help || strlen(c->family) != n || strncmp(c->family, name, n) || c->type[0])
		return fail(c, line, "TYPE not right after its HELP");
	snprintf(c->type, sizeof(c->type), "%s", name + n + 1);
	if (strcmp(c->type, "gauge") && strcmp(c->type, "counter"))
		return fail(c, line, "unexpected type");
	if (!strcmp(c->type, "counter") &&
	    (n < 6 || strncmp(name + n - 6, "_total", 6)))
		return fail(c, line, "counter not named _total");
	return 0;
}

static int sample(struct checker *c, const char *line)
{
	size_t n = name_len(line, true);
	const char *p = line + n, *labels_end;
	char names[32][160];
	int n_names = 0;
	double v;

	if (!n || !c->type[0] || strlen(c->family) != n || strncmp(line, c->family, n))
		return fail(c, line, "sample outside its family");
	if (*p == '{') {
		p++;
		while (*p != '}') {
			size_t ln = name_len(p, false);

			if (!ln || p[ln] != '=' || p[ln + 1] != '"' || !strncmp(p, "__", 2))
				return fail(c, line, "bad label name");
			for (int i = 0; i < n_names; i++)
				if (strlen(names[i]) == ln && !strncmp(names[i], p, ln))
					return fail(c, line, "label twice");
			if (n_names == 32)
				return fail(c, line, "too many labels");
			snprintf(names[n_names++], sizeof(names[0]), "%.*s", (int)ln, p);
			p += ln + 2;
			while (*p != '"') {
				size_t cl;

				if (!*p)
					return fail(c, line, "unterminated label value");
				if (*p == '\\') {
					if (p[1] != '\\' && p[1] != '"' && p[1] != 'n')
						return fail(c, line, "bad escape in label value");
					p += 2;
					continue;
				}
				if (!(cl = utf8_char((const unsigned char *)p)))
					return fail(c, line, "label value not UTF-8");
				p += cl;
			}
			p++;
			if (*p == ',')
				p++;
			else if (*p != '}')
				return fail(c, line, "expected , or }");
		}
		p++;
	}
	labels_end = p;
	if (*p != ' ' || !value_ok(p + 1, &v))
		return fail(c, line, "bad value");
	if (!strcmp(c->type, "counter") && v < 0)
		return fail(c, line, "negative counter");
	for (int i = 0; i < c->n_series; i++)
		if (strlen(c->series[i]) == (size_t)(labels_end - line) &&
		    !strncmp(c->series[i], line, (size_t)(labels_end - line)))
			return fail(c, line, "series twice");
	if (c->n_series == MAX_SERIES)
		return fail(c, line, "too many series for the checker");
	c->series[c->n_series++] = strndup(line, (size_t)(labels_end - line));
	c->samples++;
	return 0;
}

int prom_check(const char *page, char *err, size_t errlen)
{
	struct checker *c = calloc(1, sizeof(*c));
	const char *p = page;
	int rc = 0;

	c->err = err;
	c->errlen = errlen;
	err[0] = '\0';
	if (*page && page[strlen(page) - 1] != '\n')
		rc = fail(c, "", "page does not end in a newline");
	while (!rc && *p) {
		const char *nl = strchr(p, '\n');
		char *line = strndup(p, nl ? (size_t)(nl - p) : strlen(p));

		if (!line[0])
			rc = fail(c, line, "empty line");
		else if (line[0] == '#')
			rc = line[1] == ' ' ? comment(c, line) : 0;
		else
			rc = sample(c, line);
		free(line);
		p = nl ? nl + 1 : p + strlen(p);
	}
	new_family(c);
	if (!rc)
		rc = c->samples;
	free(c);
	return rc;
}

bool prom_value(const char *page, const char *series, double *out)
{
	size_t n = strlen(series);

	for (const char *p = page; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		if (!strncmp(p, series, n) && p[n] == ' ') {
			char buf[64];
			const char *nl = strchr(p + n + 1, '\n');
			size_t len = nl ? (size_t)(nl - p - n - 1) : strlen(p + n + 1);

			snprintf(buf, sizeof(buf), "%.*s", (int)len, p + n + 1);
			return value_ok(buf, out);
		}
	}
	return false;
}
