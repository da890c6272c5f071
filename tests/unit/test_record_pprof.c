/* record --format pprof from recordings built by hand, decoded back. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "memclass.h"
#include "model_build.h"
#include "pprof_decode.h"
#include "record_pprof.h"

static pb_profile *write_and_decode(const struct recording *r)
{
	FILE *f = tmpfile();

	cr_assert_not_null(f);
	cr_assert_eq(record_pprof__write(r, f), 0);
	return pd_decode(f);
}

static const char *loc_file(const pb_profile *prof, uint64_t id)
{
	return pd_str(prof, pd_mapping(prof, pd_loc(prof, id)->mapping_id)->filename);
}

static const struct frame leak[] = {
	MB_CALL("main", 0x1139, 1), MB_CALL("leak_fn", 0x1150, 1), MB_USER("memset", 0x2000, 2),
	MB_KERNEL("asm_exc_page_fault", 0xffffffff81000000),
	MB_KERNEL("clear_page_erms", 0xffffffff81000100),
};

static struct recording *leaker(bool outstanding)
{
	struct recording *r = mb_new(outstanding);

	cr_assert_eq(recording__set_mapping(r, 1, "/usr/bin/leaker", "beef"), 0);
	cr_assert_eq(recording__set_mapping(r, 2, "/usr/lib/libc.so.6", NULL), 0);
	mb_stack(r, "4f2a9c1d7e3b", "leaker", 42, MEM_CLASS_NATIVE, 300 << 12, 200 << 12, leak, 5);
	return r;
}

Test(record_pprof, header_follows_the_mode)
{
	struct recording *r = leaker(true);
	pb_profile *prof = write_and_decode(r);

	cr_assert_eq(prof->n_sample_type, 2);
	cr_expect_str_eq(pd_str(prof, prof->sample_type[0]->type), "inuse_space");
	cr_expect_str_eq(pd_str(prof, prof->sample_type[1]->type), "alloc_space");
	cr_expect_str_eq(pd_str(prof, prof->default_sample_type), "inuse_space");
	cr_expect_eq(prof->period, 64 * 4096);
	cr_expect_eq(prof->duration_nanos, 8000000000LL);
	cr_assert_eq(prof->n_comment, 1);
	cr_expect_not_null(strstr(pd_str(prof, prof->comment[0]), "--mode outstanding: one page "
							      "in 64"));
	perftools__profiles__profile__free_unpacked(prof, NULL);
	recording__free(r);
	r = leaker(false);
	prof = write_and_decode(r);
	cr_expect_str_eq(pd_str(prof, prof->default_sample_type), "alloc_space");
	perftools__profiles__profile__free_unpacked(prof, NULL);
	recording__free(r);
}

Test(record_pprof, native_stack_leaf_first_in_its_mappings)
{
	struct recording *r = leaker(true);
	pb_profile *prof = write_and_decode(r);
	const pb_sample *s;

	cr_assert_eq(prof->n_sample, 1);
	s = prof->sample[0];
	cr_assert_eq(s->n_value, 2);
	cr_expect_eq(s->value[0], 200 << 12);
	cr_expect_eq(s->value[1], 300 << 12);
	cr_assert_eq(s->n_location_id, 5);
	/* Kernel frames first, unmarked, at their address. */
	cr_expect_str_eq(pd_function(prof, s->location_id[0]), "clear_page_erms");
	cr_expect_eq(pd_loc(prof, s->location_id[0])->address, 0xffffffff81000100);
	cr_expect_str_eq(loc_file(prof, s->location_id[0]), RECORD_PPROF_KERNEL);
	cr_expect_str_eq(pd_function(prof, s->location_id[1]), "asm_exc_page_fault");
	/* The leaf at its own address; callers inside their call. */
	cr_expect_str_eq(pd_function(prof, s->location_id[2]), "memset");
	cr_expect_eq(pd_loc(prof, s->location_id[2])->address, 0x2000);
	cr_expect_str_eq(loc_file(prof, s->location_id[2]), "/usr/lib/libc.so.6");
	cr_expect_str_eq(pd_function(prof, s->location_id[3]), "leak_fn");
	cr_expect_eq(pd_loc(prof, s->location_id[3])->address, 0x114f);
	cr_expect_str_eq(pd_function(prof, s->location_id[4]), "main");
	cr_expect_eq(pd_loc(prof, s->location_id[4])->address, 0x1138);
	cr_expect_str_eq(loc_file(prof, s->location_id[4]), "/usr/bin/leaker");
	cr_expect_str_eq(pd_str(prof, pd_mapping(prof, pd_loc(prof, s->location_id[4])->mapping_id)
					      ->build_id), "beef");
	/* The first mapping, which pprof takes for the main binary, is a user one. */
	cr_expect_str_eq(pd_str(prof, prof->mapping[0]->filename), "/usr/lib/libc.so.6");
	cr_expect_str_eq(pd_str(prof, pd_label(prof, s, "container")->str), "4f2a9c1d7e3b");
	cr_expect_eq(pd_label(prof, s, "pid")->num, 42);
	cr_expect_str_eq(pd_str(prof, pd_label(prof, s, "comm")->str), "leaker");
	cr_expect_str_eq(pd_str(prof, pd_label(prof, s, "class")->str), "native");
	cr_expect_null(pd_label(prof, s, "thread"));
	perftools__profiles__profile__free_unpacked(prof, NULL);
	recording__free(r);
}

Test(record_pprof, thread_label_only_when_it_differs_and_empty_stacks_skipped)
{
	struct recording *r = mb_new(true);
	struct rec_stack *s = mb_stack(r, "c", "java", 9, MEM_CLASS_NONE, 4096, 0, leak, 1);
	pb_profile *prof;

	s->thread = recording__intern(r, "GC Thread#0");
	s->have_pid = false;
	mb_stack(r, "c", "idle", 10, MEM_CLASS_NONE, 0, 0, leak, 1);
	prof = write_and_decode(r);
	cr_assert_eq(prof->n_sample, 1);
	cr_expect_str_eq(pd_str(prof, pd_label(prof, prof->sample[0], "thread")->str),
			 "GC Thread#0");
	cr_expect_null(pd_label(prof, prof->sample[0], "pid"));
	cr_expect_null(pd_label(prof, prof->sample[0], "class"));
	perftools__profiles__profile__free_unpacked(prof, NULL);
	recording__free(r);
}

Test(record_pprof, jit_and_js_heap_frames_in_the_jit_mapping)
{
	static const struct frame native[] = {
		MB_CALL("main", 0x1139, 1), MB_JIT("JS:*handler /app/server.js:42"),
		{ .name = "[jit]", .mapping = REC_MAPPING_JIT, .kind = FRAME_USER },
	};
	static const struct frame js[] = {
		MB_LABEL("js-heap"), MB_JIT("app.get_api.js:19"),
		MB_JIT("cacheResponse_api.js:14"),
		{ .name = "[deeper]", .mapping = REC_MAPPING_JIT, .kind = FRAME_USER },
	};
	struct recording *r = mb_new(true);
	struct rec_stack *s;
	pb_profile *prof;
	const pb_sample *n, *j;

	cr_assert_eq(recording__set_mapping(r, 1, "/usr/bin/node", NULL), 0);
	mb_stack(r, "web", "node", 7, MEM_CLASS_NATIVE, 8192, 4096, native, 3);
	s = mb_stack(r, "web", "node", 7, MEM_CLASS_V8_HEAP, 0, 65536, js, 4);
	s->js = true;
	prof = write_and_decode(r);
	cr_assert_eq(prof->n_sample, 2);
	n = prof->sample[0];
	j = prof->sample[1];
	cr_assert_eq(n->n_location_id, 3);
	cr_expect_str_eq(pd_function(prof, n->location_id[0]), "[jit]");
	cr_expect_str_eq(loc_file(prof, n->location_id[0]), RECORD_PPROF_JIT);
	cr_expect_eq(pd_loc(prof, n->location_id[0])->address, 0);
	cr_expect_str_eq(pd_function(prof, n->location_id[1]), "JS:*handler /app/server.js:42");
	cr_assert_eq(j->n_location_id, 3);
	cr_expect_str_eq(pd_function(prof, j->location_id[0]), "[deeper]");
	cr_expect_str_eq(pd_function(prof, j->location_id[1]), "cacheResponse_api.js:14");
	cr_expect_str_eq(pd_function(prof, j->location_id[2]), "app.get_api.js:19");
	cr_expect_str_eq(loc_file(prof, j->location_id[2]), RECORD_PPROF_JIT);
	cr_expect_eq(j->value[0], 65536);
	cr_expect_eq(j->value[1], 0);
	cr_expect_str_eq(pd_str(prof, pd_label(prof, j, "class")->str), "v8-heap");
	cr_expect_str_eq(pd_str(prof, pd_label(prof, j, "source")->str), "js-heap");
	cr_expect_eq(pd_label(prof, j, "pid")->num, 7);
	perftools__profiles__profile__free_unpacked(prof, NULL);
	recording__free(r);
}

Test(record_pprof, js_names_cut_as_their_folded_text_was)
{
	char longname[300];
	struct frame js[] = { MB_LABEL("js-heap"), MB_JIT(longname), MB_JIT("short") };
	struct recording *r = mb_new(true);
	struct rec_stack *s;
	pb_profile *prof;
	const char *name;

	memset(longname, 'f', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	s = mb_stack(r, "web", "node", 7, MEM_CLASS_NONE, 0, 4096, js, 3);
	s->js = true;
	prof = write_and_decode(r);
	cr_assert_eq(prof->sample[0]->n_location_id, 2);
	cr_expect_str_eq(pd_function(prof, prof->sample[0]->location_id[0]), "short");
	name = pd_function(prof, prof->sample[0]->location_id[1]);
	cr_expect_eq(strlen(name), FRAME_LEN - 1);
	cr_expect_eq(strspn(name, "f"), FRAME_LEN - 1);
	perftools__profiles__profile__free_unpacked(prof, NULL);
	recording__free(r);
}
