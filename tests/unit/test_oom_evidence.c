/* An OOM report's evidence from the session's sources, without a tracer:
 * a recorder fed by hand, page records over an array, and a stack namer
 * that builds the frames the session would have named. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "memclass.h"
#include "model_build.h"
#include "oom_report.h"
#include "page_records.h"
#include "recorder.h"

#define PAGE		4096
#define VICTIM		3999999991u	/* no such process: nothing read from /proc */

static int name_stack(const void *c, struct recording *r, const struct rec_bucket *b,
		      struct rec_stack **out)
{
	static const struct frame frames[] = {
		MB_CALL("main", 0x1139, 1), MB_USER("leak_fn", 0x1150, 1),
		MB_KERNEL("clear_page_erms", 0xffffffff81000100),
	};

	(void)c;
	cr_assert_eq(b->slot, 2);
	*out = mb_stack(r, "4f2a9c1d7e3b", "leaker", VICTIM, MEM_CLASS_NONE, 0, 0, frames, 3);
	return 0;
}

static struct ms_sample sample(uint64_t id)
{
	struct ms_sample s;

	memset(&s, 0, sizeof(s));
	s.id = id;
	s.slot = 2;
	s.cgid = 100;
	s.kstack_id = 7;
	s.tgid = VICTIM;
	strcpy(s.comm, "leaker");
	return s;
}

Test(oom_evidence, stacks_named_by_the_session_in_folded_text)
{
	struct recorder *rec = recorder__new(1, PAGE, true, NULL);
	uint64_t pages[8] = { 0 };
	struct page_records *pr;
	char *folded;
	struct ms_oom_event e = { .victim_tgid = VICTIM, .victim_slot = 2, .frozen = 1,
				  .victim_comm = "leaker" };
	struct oom_sources src = { .sample_every = 1, .pages = NULL, .page_size = PAGE,
				   .oom_hook = "raw_tp", .name_stack = name_stack };
	struct oom_report *r;

	cr_assert_not_null(rec);
	for (uint64_t id = 1; id <= 3; id++) {
		struct ms_sample s = sample(id);

		recorder__on_sample(rec, &s);
	}
	pages[1] = ms_rec_make(2, 0, 1);
	pages[5] = ms_rec_make(2, 0, 3);
	pr = page_records__from_array(pages, 8);
	cr_assert_not_null(pr);
	src.recorder = rec;
	src.pages = pr;
	r = oom_report__collect(&src, &e);
	cr_assert_not_null(r);
	cr_expect_str_eq(r->hook, "raw_tp");
	cr_expect_eq(r->sample_every, 1);
	cr_expect(r->evidence);
	cr_expect_eq(r->evidence_bytes, 2 * PAGE);
	cr_assert_eq(r->n_stacks, 1);
	cr_expect_eq(r->stacks[0].bytes, 2 * PAGE);
	folded = oom_report__folded(&r->stacks[0]);
	cr_expect_str_eq(folded, "4f2a9c1d7e3b;leaker;main;leak_fn;clear_page_erms_[k]");
	cr_expect_eq(r->stacks[0].stack.frames[2].kind, FRAME_KERNEL);
	free(folded);
	oom_report__free(r);
	page_records__free(pr);
	recorder__free(rec);
}

Test(oom_evidence, no_stack_namer_no_stacks)
{
	struct ms_oom_event e = { .victim_tgid = VICTIM, .victim_slot = 2, .frozen = 1 };
	struct oom_sources src = { .sample_every = 64 };
	struct oom_report *r = oom_report__collect(&src, &e);

	cr_assert_not_null(r);
	cr_expect_str_eq(r->hook, "");
	cr_expect_eq(r->n_stacks, 0);
	oom_report__free(r);
}
