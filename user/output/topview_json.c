/* `memscope top --json`: one document a refresh, on one line. */
#include <math.h>

#include "json.h"
#include "topview.h"

/* ---- JSON -------------------------------------------------------------------- */

static void json_rate(struct json *j, const char *key, double v)
{
	if (isfinite(v))
		json_double(j, key, round(v * 1000) / 1000);
	else
		json_null(j, key);
}

static void json_row(struct json *j, const struct top_row *r, bool procs)
{
	uint64_t native = r->own.anon;

	json_obj(j, NULL);
	json_str(j, "label", r->label);
	json_str(j, "cgroup", r->path);
	json_u64(j, "cgroup_id", r->cgid);
	json_str(j, "runtime", container__runtime_name(r->ctr.runtime));
	json_str(j, "container_id", r->ctr.id[0] ? r->ctr.id : NULL);
	json_str(j, "name", r->name[0] ? r->name : NULL);
	json_str(j, "image", r->image[0] ? r->image : NULL);
	json_str(j, "pod_uid", r->ctr.pod_uid[0] ? r->ctr.pod_uid : NULL);
	json_str(j, "qos", r->ctr.pod_uid[0] ? container__qos_name(r->ctr.qos) : NULL);
	json_u64(j, "procs", r->n_procs);
	json_u64(j, "usage", r->own.usage);
	if (r->limit == CGSTAT_UNLIMITED)
		json_null(j, "limit");
	else
		json_u64(j, "limit", r->limit);
	json_u64(j, "rss", r->rss);
	json_u64(j, "anon", r->own.anon);
	json_u64(j, "file", r->own.file);
	json_u64(j, "shmem", r->own.shmem);
	json_u64(j, "kernel", r->own.kernel);
	json_u64(j, "sock", r->own.sock);
	if (isfinite(r->v8) && r->v8 >= 0) {
		json_u64(j, "v8_heap", (uint64_t)r->v8);
		native = native > (uint64_t)r->v8 ? native - (uint64_t)r->v8 : 0;
	} else {
		json_null(j, "v8_heap");
	}
	json_u64(j, "native", native);
	json_rate(j, "growth_mib_per_min", r->slope);
	json_bool(j, "monotonic", r->monotonic);
	json_u64(j, "oom_kills", r->oom_kills);
	json_str(j, "verdict", isfinite(r->slope) ? growth__verdict_name(r->verdict.verdict) : NULL);
	json_str(j, "summary", isfinite(r->slope) ? r->verdict_text : NULL);
	json_u64(j, "samples", growth__count(r->series[TOP_S_USAGE]));
	json_rate(j, "sampled_s", growth__span(r->series[TOP_S_USAGE]));
	json_obj(j, "class_growth_mib_per_min");
	json_rate(j, "anon", r->split.anon);
	json_rate(j, "file", r->split.file);
	json_rate(j, "shmem", r->split.shmem);
	json_rate(j, "kernel", r->split.kernel);
	json_rate(j, "v8_heap", r->split.v8);
	json_end(j);
	if (procs) {
		json_arr(j, "processes");
		for (size_t i = 0; i < r->n_proc_list; i++) {
			const struct top_proc *p = &r->procs[i];

			json_obj(j, NULL);
			json_i64(j, "pid", p->pid);
			json_i64(j, "container_pid", p->inner_pid);
			json_str(j, "name", p->name);
			json_u64(j, "rss", p->rss);
			json_u64(j, "anon", p->anon);
			json_u64(j, "file", p->file);
			json_u64(j, "shmem", p->shmem);
			json_end(j);
		}
		json_end(j);
	}
	json_end(j);
}

void topview__print_json(struct top_row *const *rows, size_t n, const struct top_print *p,
			 FILE *f)
{
	struct json j;

	json_init(&j, f, false);
	json_obj(&j, NULL);
	json_i64(&j, "time", p->time);
	json_str(&j, "hierarchy", p->hier ? p->hier->mount : NULL);
	if (p->hier)
		json_i64(&j, "cgroup_version", p->hier->version);
	json_double(&j, "window_s", p->window);
	json_double(&j, "interval_s", p->interval);
	json_arr(&j, "cgroups");
	for (size_t i = 0; i < n; i++)
		if (rows[i]->shown)
			json_row(&j, rows[i], p->procs);
	json_end(&j);
	json_end(&j);
}
