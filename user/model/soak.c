#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "growth.h"
#include "soak.h"

struct soak {
	double warmup;
	struct growth *judged;		/* readings at or after the warm-up */
	double first, last, last_t;
	size_t n;			/* readings taken, warm-up included */
};

/* The longest unit name and its '\0'. */
#define UNIT_LEN	8

static int unit_scale(const char *unit, const char *const *names, const double *scales,
		      size_t n, double *out)
{
	for (size_t i = 0; i < n; i++) {
		if (!strcmp(unit, names[i])) {
			*out = scales[i];
			return 0;
		}
	}
	return -EINVAL;
}

int soak__parse_rate(const char *text, double *bytes_per_s)
{
	static const char *const sizes[] = { "", "B", "KiB", "MiB", "GiB", "TiB" };
	static const double size_scale[] = { 1, 1, 1024.0, 1048576.0, 1073741824.0,
					     1099511627776.0 };
	static const char *const times[] = { "s", "sec", "m", "min", "h", "hour" };
	static const double time_scale[] = { 1, 1, 60, 60, 3600, 3600 };
	char size[UNIT_LEN];
	const char *end, *slash;
	size_t digits = 0, dots = 0;
	double v, per_size, per_time;

	if (!text)
		return -EINVAL;
	/* Plain decimals only: strtod would also take signs, exponents, hex
	 * and "inf". */
	for (end = text; (*end >= '0' && *end <= '9') || *end == '.'; end++) {
		digits += *end != '.';
		dots += *end == '.';
	}
	slash = strchr(end, '/');
	if (!digits || dots > 1 || !slash || (size_t)(slash - end) >= sizeof(size))
		return -EINVAL;
	v = strtod(text, NULL);
	memcpy(size, end, slash - end);
	size[slash - end] = '\0';
	if (unit_scale(size, sizes, size_scale, sizeof(sizes) / sizeof(sizes[0]), &per_size) ||
	    unit_scale(slash + 1, times, time_scale, sizeof(times) / sizeof(times[0]), &per_time))
		return -EINVAL;
	v = v * per_size / per_time;
	if (!isfinite(v))
		return -EINVAL;
	*bytes_per_s = v;
	return 0;
}

struct soak *soak__new(double warmup_s, size_t max_readings)
{
	struct soak *s;

	if (!isfinite(warmup_s) || warmup_s < 0 || max_readings < 2 ||
	    max_readings > GROWTH_CAP_MAX) {
		errno = EINVAL;
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->warmup = warmup_s;
	s->judged = growth__new(max_readings);
	if (!s->judged) {
		free(s);
		return NULL;
	}
	return s;
}

void soak__free(struct soak *s)
{
	if (!s)
		return;
	growth__free(s->judged);
	free(s);
}

void soak__add(struct soak *s, double t, double bytes)
{
	if (!isfinite(t) || !isfinite(bytes) || (s->n && t < s->last_t))
		return;
	if (!s->n++)
		s->first = bytes;
	s->last = bytes;
	s->last_t = t;
	if (t >= s->warmup)
		growth__add(s->judged, t, bytes);
}

int soak__judge(const struct soak *s, double bound_bytes_per_s, struct soak_result *out)
{
	*out = (struct soak_result){
		.slope = NAN,
		.bound = bound_bytes_per_s * 60.0 / (1024.0 * 1024.0),
		.judged = growth__count(s->judged),
		.first = s->n ? s->first : NAN,
		.last = s->n ? s->last : NAN,
	};
	if (out->judged < SOAK_MIN_READINGS)
		return -ENODATA;
	out->to = s->last_t;
	out->from = s->last_t - growth__span(s->judged);
	out->slope = growth__slope(s->judged);
	if (isnan(out->slope))
		return -ENODATA;
	out->grew = out->slope > out->bound;
	return 0;
}
