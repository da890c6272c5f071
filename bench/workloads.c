#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "workloads.h"

/* Sized for about two seconds each untraced on a 2-CPU VM: long enough that
 * fork/exec and tracer wake-ups are noise, short enough for five rounds of
 * five configurations. */
const struct workload workloads[] = {
	{
		.name = "pagestorm",
		.what = "map 16 MiB, touch every page, unmap; 160 times",
		.run = { "build/workloads/pagestorm", "-n", "160", "-m", "16" },
	},
	{
		.name = "mallocchurn",
		.what = "250k mallocs of 64 B..1 MiB, touched and freed, 1 in 1000 leaked",
		.run = { "build/bench/mallocchurn", "-n", "250000", "-k", "1000" },
	},
	{
		.name = "pagecache",
		.what = "read a 1 GiB file dropped from the page cache before each run",
		.setup = { "build/bench/pagecache", "-c", "-f", "@DIR@/pagecache.data", "-m",
			   "1024" },
		.prep = { "build/bench/pagecache", "-d", "-f", "@DIR@/pagecache.data" },
		.run = { "build/bench/pagecache", "-f", "@DIR@/pagecache.data" },
	},
	{
		.name = "node",
		.what = "node 20 retaining 1M JS objects in a Map (V8 heap ~370 MiB)",
		.needs = "node",
		.run = { "node", "bench/node/retain.js", "1000000" },
	},
	{
		.name = "service",
		.what = "the incident's Express API (LRU cache) under autocannon, 8 connections, 8 s",
		.needs = "node",
		.needs_file = "build/express/api.js",
		.run = { "node", "bench/node/service.js", "--seconds", "8", "--connections", "8" },
		.compared = { "requests_per_sec", "latency_p50_ms", "latency_p99_ms" },
	},
};
const size_t n_workloads = sizeof(workloads) / sizeof(workloads[0]);

const struct workload *workload__find(const char *name)
{
	for (size_t i = 0; i < n_workloads; i++)
		if (!strcmp(workloads[i].name, name))
			return &workloads[i];
	return NULL;
}

int workload__argv(const char *const *tmpl, const char *dir, struct wl_argv *out)
{
	size_t n = 0;

	for (; n < WL_MAX_ARGS && tmpl[n]; n++) {
		const char *at = strstr(tmpl[n], "@DIR@");
		int len;

		if (at)
			len = snprintf(out->buf[n], WL_ARG_LEN, "%.*s%s%s", (int)(at - tmpl[n]),
				       tmpl[n], dir, at + 5);
		else
			len = snprintf(out->buf[n], WL_ARG_LEN, "%s", tmpl[n]);
		if (len < 0 || len >= WL_ARG_LEN)
			return -ENAMETOOLONG;
		out->argv[n] = out->buf[n];
	}
	out->argv[n] = NULL;
	return n ? 0 : -ENOENT;
}

/* Pairs of one line; 0 when it has none. */
static size_t line_metrics(char *line, struct wl_metric *m, size_t max)
{
	char *save = NULL, *key, *val;
	size_t n = 0;

	for (key = strtok_r(line, " \t\n", &save); key && n < max;
	     key = strtok_r(NULL, " \t\n", &save)) {
		char *end;
		double v;

		val = strtok_r(NULL, " \t\n", &save);
		if (!val)
			break;
		v = strtod(val, &end);
		if (*end || end == val || !isfinite(v))
			continue;
		snprintf(m[n].name, sizeof(m[n].name), "%s", key);
		m[n++].value = v;
	}
	return n;
}

size_t workload__metrics(FILE *f, struct wl_metric *m, size_t max)
{
	struct wl_metric tmp[WL_MAX_METRICS];
	char line[1024];
	size_t n = 0;

	if (max > WL_MAX_METRICS)
		max = WL_MAX_METRICS;
	while (fgets(line, sizeof(line), f)) {
		size_t got = line_metrics(line, tmp, max);

		if (got) {
			memcpy(m, tmp, got * sizeof(*m));
			n = got;
		}
	}
	return n;
}

double workload__metric(const struct wl_metric *m, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(m[i].name, name))
			return m[i].value;
	return NAN;
}
