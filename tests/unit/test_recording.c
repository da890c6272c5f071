/* The settled recording's own bookkeeping: interned names, stacks, mappings. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "model_build.h"
#include "recording.h"

Test(recording, equal_names_are_one_string)
{
	struct recording *r = recording__new();
	char a[] = "leak_fn", b[] = "leak_fn";
	const char *x, *y;

	cr_assert_not_null(r);
	x = recording__intern(r, a);
	y = recording__intern(r, b);
	cr_assert_not_null(x);
	cr_expect_eq(x, y);
	cr_expect_neq(x, a);
	a[0] = 'X';	/* a copy, not the caller's buffer */
	cr_expect_str_eq(x, "leak_fn");
	cr_expect_neq(recording__intern(r, "other"), x);
	recording__free(r);
}

Test(recording, stacks_grow_and_keep_their_frames)
{
	struct recording *r = recording__new();

	cr_assert_not_null(r);
	for (size_t i = 0; i < 1000; i++) {
		struct rec_stack *s = recording__add_stack(r, i % 5);

		cr_assert_not_null(s);
		cr_assert_eq(s->nframes, 0);
		if (i % 5)
			cr_assert_not_null(s->frames);
	}
	cr_expect_eq(r->nstacks, 1000);
	recording__free(r);
}

Test(recording, a_mapping_is_named_once)
{
	struct recording *r = recording__new();

	cr_assert_not_null(r);
	cr_expect_eq(recording__set_mapping(r, 0, "/bin/x", NULL), -EINVAL);
	cr_expect_eq(recording__set_mapping(r, REC_MAPPINGS, "/bin/x", NULL), -EINVAL);
	cr_assert_eq(recording__set_mapping(r, 3, "/usr/lib/libc.so.6", "abcd"), 0);
	cr_assert_eq(recording__set_mapping(r, 3, "/other", NULL), 0);
	cr_expect_str_eq(r->mappings[3].file, "/usr/lib/libc.so.6");
	cr_expect_str_eq(r->mappings[3].build_id, "abcd");
	cr_assert_eq(recording__set_mapping(r, 4, NULL, NULL), 0);
	cr_expect_str_eq(r->mappings[4].file, "");
	cr_expect_null(r->mappings[4].build_id);
	recording__free(r);
}

Test(recording, procs_by_slot)
{
	struct recording *r = mb_new(true);

	mb_proc(r, 100, 5, 1, "a", 4096, 0);
	mb_proc(r, 200, 9, 1, "b", 8192, 4096);
	cr_expect_eq(recording__proc(r, 9)->key.tgid, 200);
	cr_expect_null(recording__proc(r, 7));
	recording__free(r);
}

Test(recording, free_null)
{
	recording__free(NULL);
}
