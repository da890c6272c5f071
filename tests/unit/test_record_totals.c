/* The exact side of a recording (table and --report JSON), from recordings
 * built by hand: processes, containers, losses, hooks. */
#include <criterion/criterion.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "model_build.h"
#include "record_totals.h"

/* pids no process has, so names come from the kernel's table */
#define PID_A	3999999991u
#define PID_B	3999999992u

static struct json_object *report(const struct recording *r)
{
	struct record_totals *t = record_totals__collect(r);
	FILE *f = tmpfile();
	struct json_object *o;
	char *text;

	cr_assert(t && f);
	record_totals__json(t, f);
	record_totals__free(t);
	text = mb_slurp(f);
	o = json_tokener_parse(text);
	cr_assert_not_null(o, "not JSON: %s", text);
	free(text);
	return o;
}

static struct json_object *get(struct json_object *o, const char *key)
{
	struct json_object *v = NULL;

	cr_assert(json_object_object_get_ex(o, key, &v), "no \"%s\"", key);
	return v;
}

static int64_t num(struct json_object *o, const char *key)
{
	return json_object_get_int64(get(o, key));
}

static struct recording *two_containers(void)
{
	struct recording *r = mb_new(true);

	mb_proc(r, PID_A, 1, 11, "leaker", 10 << 20, 2 << 20);
	mb_proc(r, PID_B, 2, 22, "quiet", 1 << 20, 1 << 20);
	mb_proc(r, PID_B + 1, 3, 11, "helper", 4 << 20, 0);
	r->overflow.alloc_bytes = 12345;
	r->drops.kernel[MS_DROP_RINGBUF] = 7;
	r->drops.healed_frees = 3;
	r->hook = "tracepoint";
	return r;
}

Test(record_totals, json_header_and_losses)
{
	struct recording *r = two_containers();
	struct json_object *o = report(r);

	cr_expect_str_eq(json_object_get_string(get(o, "mode")), "outstanding");
	cr_expect_eq(num(o, "sample_every"), 64);
	cr_expect_str_eq(json_object_get_string(get(o, "hook")), "tracepoint");
	cr_expect_eq(num(get(o, "losses"), "ringbuf_full"), 7);
	cr_expect_eq(num(get(o, "losses"), "procs_full"), 0);
	cr_expect_eq(num(get(o, "losses"), "missed_frees_settled"), 3);
	cr_expect_eq(num(get(o, "losses"), "overflow_alloc_bytes"), 12345);
	json_object_put(o);
	recording__free(r);
}

Test(record_totals, processes_and_containers_largest_resident_first)
{
	struct recording *r = two_containers();
	struct json_object *o = report(r), *procs = get(o, "processes"),
			   *conts = get(o, "containers"), *first;

	cr_assert_eq(json_object_array_length(procs), 3);
	first = json_object_array_get_idx(procs, 0);
	cr_expect_eq(num(first, "pid"), PID_A);
	cr_expect_str_eq(json_object_get_string(get(first, "comm")), "leaker");
	cr_expect_str_eq(json_object_get_string(get(first, "container")), "[cgroup 11]");
	cr_expect_eq(num(first, "resident_bytes"), 8 << 20);
	cr_assert_eq(json_object_array_length(conts), 2);
	first = json_object_array_get_idx(conts, 0);
	cr_expect_str_eq(json_object_get_string(get(first, "label")), "[cgroup 11]");
	cr_expect_eq(num(first, "processes"), 2);
	cr_expect_eq(num(first, "alloc_bytes"), 14 << 20);
	cr_expect_eq(num(first, "resident_bytes"), 12 << 20);
	cr_expect_eq(num(json_object_array_get_idx(conts, 1), "resident_bytes"), 0);
	json_object_put(o);
	recording__free(r);
}

/* Cgroups are named from the recording, as the session settled them: the
 * totals read no live cgroup table. */
Test(record_totals, cgroups_named_by_the_recording)
{
	struct recording *r = two_containers();
	struct json_object *o, *first;

	cr_assert_eq(recording__set_cgroup(r, 11, "/docker/3f4e5a6b7c8d9e", "3f4e5a6b7c8d"), 0);
	cr_assert_eq(recording__set_cgroup(r, 22, NULL, "[cgroup 22]"), 0);
	cr_expect_str_eq(recording__cgroup(r, 11)->path, "/docker/3f4e5a6b7c8d9e");
	cr_expect_null(recording__cgroup(r, 33));
	o = report(r);
	first = json_object_array_get_idx(get(o, "processes"), 0);
	cr_expect_str_eq(json_object_get_string(get(first, "container")), "3f4e5a6b7c8d");
	first = json_object_array_get_idx(get(o, "containers"), 0);
	cr_expect_str_eq(json_object_get_string(get(first, "label")), "3f4e5a6b7c8d");
	cr_expect_str_eq(json_object_get_string(get(first, "cgroup")), "/docker/3f4e5a6b7c8d9e");
	first = json_object_array_get_idx(get(o, "containers"), 1);
	cr_expect(json_object_is_type(get(first, "cgroup"), json_type_null));
	json_object_put(o);
	recording__free(r);
}

Test(record_totals, allocated_mode_has_no_resident_bytes)
{
	struct recording *r = two_containers();
	struct json_object *o, *first, *v;

	r->outstanding = false;
	o = report(r);
	first = json_object_array_get_idx(get(o, "processes"), 0);
	cr_expect_str_eq(json_object_get_string(get(o, "mode")), "allocated");
	cr_expect_not(json_object_object_get_ex(first, "resident_bytes", &v));
	json_object_put(o);
	recording__free(r);
}

Test(record_totals, a_process_without_counters_is_left_out)
{
	struct recording *r = two_containers();
	struct json_object *o;

	r->procs[1].have_stats = false;
	o = report(r);
	cr_expect_eq(json_object_array_length(get(o, "processes")), 2);
	json_object_put(o);
	recording__free(r);
}

Test(record_totals, table_names_the_losses)
{
	struct recording *r = two_containers();
	struct record_totals *t = record_totals__collect(r);
	FILE *f = tmpfile();
	char *text;

	cr_assert(t && f);
	record_totals__print(t, f);
	record_totals__free(t);
	text = mb_slurp(f);
	cr_expect_not_null(strstr(text, "memscope: 8.0 s, "), "%s", text);
	cr_expect_not_null(strstr(text, "[cgroup 11]"), "%s", text);
	cr_expect_not_null(strstr(text, "samples lost, ring buffer full (raise --ringbuf)=7"),
			   "%s", text);
	free(text);
	recording__free(r);
}
