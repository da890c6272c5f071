/* The class split as people and programs read it: the table on stderr and
 * the "growth" object of --report. */
#include <math.h>
#include <stdio.h>

#include "json.h"
#include "memsplit.h"
#include "memsplit_int.h"
#include "units.h"
#include "v8.h"
#include "verdict.h"

static const struct {
	enum mem_class cls;
	const char *key;	/* JSON */
	const char *head;	/* stderr */
} columns[] = {
	{ MEM_CLASS_V8_HEAP, "v8_heap", "V8_HEAP" },
	{ MEM_CLASS_NATIVE, "native", "NATIVE" },
	{ MEM_CLASS_FILE, "file", "FILE" },
	{ MEM_CLASS_SHMEM, "shmem", "SHMEM" },
	{ MEM_CLASS_KERNEL, "kernel", "KERNEL" },
};
#define NCOLUMNS (sizeof(columns) / sizeof(columns[0]))

static int v8_pid_of(const struct memsplit *s, const struct row *r)
{
	double best = -INFINITY;
	int pid = 0;

	if (!r->container)
		return s->procs[r->idx].pid;
	for (size_t i = 0; i < s->nrows; i++) {
		const struct row *x = &s->rows[i];

		if (!x->container && s->procs[x->idx].cont == r->idx &&
		    x->growth[MEM_CLASS_V8_HEAP] > best) {
			best = x->growth[MEM_CLASS_V8_HEAP];
			pid = s->procs[x->idx].pid;
		}
	}
	return pid;
}

static void hint(const struct memsplit *s, const struct row *r, char *buf, size_t len)
{
	switch (r->j.verdict) {
	case GROWTH_V8:
		/* --js-heap first: heap snapshots need the restart that loses the leak */
		snprintf(buf, len, "retained JS objects: memscope record --js-heap -p %d names the "
			 "JS code that holds them, with no restart (or compare two heap snapshots: "
			 "node --heapsnapshot-signal=SIGUSR2, then kill -USR2 %d twice)",
			 v8_pid_of(s, r), v8_pid_of(s, r));
		break;
	case GROWTH_NATIVE:
		snprintf(buf, len, "outside the JS heap (Buffers, addons, C/C++ libraries, "
			 "fragmentation): heap snapshots will look normal; see the top native "
			 "stacks");
		break;
	case GROWTH_PAGE_CACHE:
		snprintf(buf, len, "file pages the kernel reclaims under pressure");
		break;
	default:
		buf[0] = '\0';
		break;
	}
}

/* Stop times count from the window's start, whenever the row was first seen. */
static void verdict_text(const struct memsplit *s, const struct row *r, char *buf, size_t len)
{
	verdict__text(&r->j, VERDICT_SINCE, s->start, buf, len);
}

static const char *signed_mib(char *buf, size_t len, double bytes)
{
	if (!isfinite(bytes))
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, "%+.1f", bytes / MIB);
	return buf;
}

void memsplit__print(const struct memsplit *s, FILE *out)
{
	size_t shown = 0;
	char num[32], name[LABEL_LEN + 64], v[64], h[512];

	if (!s->nrows)
		return;
	fprintf(out, "memscope: growth by class over %.1f s (MiB) and verdict:\n", s->end - s->start);
	fprintf(out, "%-40s", "CONTAINER / PID COMM (RUNTIME)");
	for (size_t k = 0; k < NCOLUMNS; k++)
		fprintf(out, " %8s", columns[k].head);
	fprintf(out, "  VERDICT\n");
	for (size_t i = 0; i < s->nrows; i++) {
		const struct row *r = &s->rows[i];

		if (!r->container && shown++ == MEMSPLIT_SHOWN) {
			fprintf(out, "(%zu more processes in --report)\n", s->nrows - i);
			break;
		}
		if (r->container) {
			snprintf(name, sizeof(name), "%s", s->conts[r->idx].label);
		} else {
			const struct sproc *p = &s->procs[r->idx];

			snprintf(name, sizeof(name), "  %d %s (%s)", p->pid, p->comm,
				 p->rt == V8_RUNTIME_V8 ? "v8" : v8__runtime_name(p->rt));
		}
		fprintf(out, "%-40.40s", name);
		for (size_t k = 0; k < NCOLUMNS; k++)
			fprintf(out, " %8s", signed_mib(num, sizeof(num), r->growth[columns[k].cls]));
		verdict_text(s, r, v, sizeof(v));
		hint(s, r, h, sizeof(h));
		fprintf(out, "  %s%s%s\n", v, h[0] ? ": " : "", h);
		/* A container's stacks are its processes': shown under them. */
		for (size_t k = 0; !r->container && k < r->n_stacks; k++)
			fprintf(out, "      native %3.0f%%  %s\n", r->stacks[k].share * 100,
				r->stacks[k].text);
	}
}

static void json_classes(struct json *j, const char *key, const double *v, bool bytes)
{
	json_obj(j, key);
	for (size_t k = 0; k < NCOLUMNS; k++) {
		double x = v[columns[k].cls];

		if (bytes && isfinite(x))
			json_i64(j, columns[k].key, (int64_t)x);
		else
			json_double(j, columns[k].key, x);
	}
	json_end(j);
}

/* The rule's figures: how far each class's floor rose, how much it swings,
 * and when growth stopped (seconds into the window, null: still growing). */
static void json_verdict(const struct memsplit *s, struct json *j, const struct verdict *v)
{
	double rise[MEM_NR_CLASSES], swing[MEM_NR_CLASSES];

	for (int c = 0; c < MEM_NR_CLASSES; c++) {
		rise[c] = v->cls[c].known ? v->cls[c].rise : NAN;
		swing[c] = v->cls[c].known ? v->cls[c].swing : NAN;
	}
	json_classes(j, "floor_rise_bytes", rise, true);
	json_classes(j, "swing_bytes", swing, true);
	json_str(j, "verdict", growth__verdict_name(v->verdict));
	json_bool(j, "still_growing", verdict__is_growth(v) && !isfinite(v->stopped_at));
	json_double(j, "stopped_growing_at_s", verdict__is_growth(v) ? v->stopped_at - s->start : NAN);
}

static void json_row(const struct memsplit *s, const struct row *r, struct json *j)
{
	char v[64], h[512];

	verdict_text(s, r, v, sizeof(v));
	hint(s, r, h, sizeof(h));
	json_obj(j, NULL);
	if (r->container) {
		const struct scont *c = &s->conts[r->idx];

		json_str(j, "label", c->label);
		json_str(j, "cgroup", c->path);
		json_u64(j, "cgroup_id", c->cgid);
	} else {
		const struct sproc *p = &s->procs[r->idx];

		json_u64(j, "pid", p->pid);
		json_str(j, "comm", p->comm);
		json_str(j, "container", p->cont != SIZE_MAX ? s->conts[p->cont].label : NULL);
		json_str(j, "runtime", v8__runtime_name(p->rt));
		json_u64(j, "v8_committed_bytes", s->v8 ? v8__committed(s->v8, p->pid) : 0);
	}
	json_classes(j, "growth_bytes", r->growth, true);
	json_verdict(s, j, &r->j);
	json_str(j, "summary", v);
	json_str(j, "hint", h[0] ? h : NULL);
	json_arr(j, "top_native_stacks");
	for (size_t k = 0; k < r->n_stacks; k++) {
		json_obj(j, NULL);
		json_str(j, "stack", r->stacks[k].text);
		json_u64(j, "sampled_bytes", r->stacks[k].bytes);
		json_double(j, "share", r->stacks[k].share);
		json_end(j);
	}
	json_end(j);
	json_end(j);
}

void memsplit__json(const struct memsplit *s, struct json *j)
{
	struct v8_stats st = {};

	if (s->v8)
		v8__stats(s->v8, &st);
	json_obj(j, "growth");
	json_double(j, "window_s", s->end - s->start);
	json_bool(j, "v8_probes", s->v8 != NULL);
	json_u64(j, "v8_binaries_probed", st.binaries_probed);
	json_u64(j, "v8_events_lost", st.events_lost + st.ranges_full);
	json_arr(j, "containers");
	for (size_t i = 0; i < s->nrows; i++)
		if (s->rows[i].container)
			json_row(s, &s->rows[i], j);
	json_end(j);
	json_arr(j, "processes");
	for (size_t i = 0; i < s->nrows; i++)
		if (!s->rows[i].container)
			json_row(s, &s->rows[i], j);
	json_end(j);
	json_end(j);
}
