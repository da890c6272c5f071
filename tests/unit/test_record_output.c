/* The folded writer, from recordings built by hand: the one place frames
 * get their marks ([class], _[j], _[k], [label]). */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "folded.h"
#include "memclass.h"
#include "model_build.h"
#include "record_output.h"
#include "stack_text.h"

static char *folded_text(const struct recording *r)
{
	struct folded *f = folded__new();
	FILE *out = tmpfile();

	cr_assert(f && out);
	cr_assert_eq(record_output__folded(r, f), 0);
	cr_assert_eq(folded__write(f, out), 0);
	folded__free(f);
	return mb_slurp(out);
}

static const struct frame leak[] = {
	MB_CALL("main", 0x1139, 1), MB_CALL("leak_fn", 0x1150, 1), MB_USER("memset", 0x2000, 2),
	MB_KERNEL("asm_exc_page_fault", 0xffffffff81000000),
	MB_KERNEL("clear_page_erms", 0xffffffff81000100),
};

Test(record_output, native_stack_with_class_and_kernel_marks)
{
	struct recording *r = mb_new(true);
	char *text;

	mb_stack(r, "4f2a9c1d7e3b", "leaker", 42, MEM_CLASS_NATIVE, 300, 268435456, leak, 5);
	text = folded_text(r);
	cr_expect_str_eq(text, "4f2a9c1d7e3b;leaker;[native];main;leak_fn;memset;"
			       "asm_exc_page_fault_[k];clear_page_erms_[k] 268435456\n");
	free(text);
	recording__free(r);
}

Test(record_output, mode_picks_the_value_and_zero_stacks_are_left_out)
{
	struct recording *r = mb_new(false);
	char *text;

	mb_stack(r, "c1", "a", 1, MEM_CLASS_NONE, 4096, 0, leak, 2);
	mb_stack(r, "c1", "b", 2, MEM_CLASS_NONE, 0, 8192, leak, 2);	/* nothing allocated */
	text = folded_text(r);
	cr_expect_str_eq(text, "c1;a;main;leak_fn 4096\n");
	free(text);
	recording__free(r);
}

Test(record_output, equal_stacks_add_up)
{
	struct recording *r = mb_new(true);
	char *text;

	mb_stack(r, "c1", "a", 1, MEM_CLASS_NATIVE, 0, 100, leak, 3);
	mb_stack(r, "c1", "a", 1, MEM_CLASS_NATIVE, 0, 23, leak, 3);
	mb_stack(r, "c1", "a", 1, MEM_CLASS_FILE, 0, 7, leak, 3);
	text = folded_text(r);
	cr_expect_str_eq(text, "c1;a;[native];main;leak_fn;memset 123\n"
			       "c1;a;[file];main;leak_fn;memset 7\n");
	free(text);
	recording__free(r);
}

Test(record_output, js_heap_stacks_show_live_bytes_in_any_mode)
{
	static const struct frame js[] = {
		MB_LABEL("js-heap"), MB_JIT("app.get_api.js:19"),
		MB_JIT("cacheResponse_api.js:14"),
	};
	struct recording *r = mb_new(false);
	struct rec_stack *s = mb_stack(r, "web", "node", 7, MEM_CLASS_V8_HEAP, 0, 1048576, js, 3);
	char *text;

	s->js = true;
	text = folded_text(r);
	cr_expect_str_eq(text, "web;node;[v8-heap];[js-heap];app.get_api.js:19_[j];"
			       "cacheResponse_api.js:14_[j] 1048576\n");
	free(text);
	recording__free(r);
}

Test(record_output, frame_text_marks_and_cuts_kernel_names)
{
	char big[400], out[512];
	struct frame f = MB_KERNEL(big, 0);

	memset(big, 'k', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	cr_expect_eq(stack_text__frame(&f, out, sizeof(out)), FRAME_LEN - 1);
	cr_expect_eq(strlen(out), FRAME_LEN - 1);
	f = (struct frame)MB_JIT("fn");
	stack_text__frame(&f, out, sizeof(out));
	cr_expect_str_eq(out, "fn_[j]");
	f = (struct frame)MB_LABEL("js-heap");
	stack_text__frame(&f, out, sizeof(out));
	cr_expect_str_eq(out, "[js-heap]");
	f = (struct frame)MB_USER("[unknown]", 0, 0);
	stack_text__frame(&f, out, sizeof(out));
	cr_expect_str_eq(out, "[unknown]");
}

Test(record_output, frames_reuse_one_buffer)
{
	struct recording *r = mb_new(true);
	struct rec_stack *a = mb_stack(r, "c", "p", 1, MEM_CLASS_NONE, 1, 1, leak, 5);
	struct stack_text t = { 0 };

	cr_assert_eq(stack_text__stack(a, &t), 0);
	cr_assert_eq(t.n, 7);
	cr_expect_str_eq(t.frames[0], "c");
	cr_expect_str_eq(t.frames[1], "p");
	cr_expect_str_eq(t.frames[6], "clear_page_erms_[k]");
	a->nframes = 1;
	cr_assert_eq(stack_text__stack(a, &t), 0);
	cr_expect_eq(t.n, 3);
	cr_expect_str_eq(t.frames[2], "main");
	stack_text__free(&t);
	recording__free(r);
}
