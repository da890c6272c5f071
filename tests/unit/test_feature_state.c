#include <criterion/criterion.h>
#include <string.h>

#include "feature_state.h"

static void fresh(void)
{
	features__reset();
}

TestSuite(feature_state, .init = fresh);

Test(feature_state, unset_until_a_loader_says)
{
	for (int f = 0; f < FEATURE_COUNT; f++) {
		cr_expect_eq(features__state(f), FEATURE_UNSET);
		cr_expect(features__name(f) && features__name(f)[0], "feature %d has no name", f);
	}
	cr_expect_null(features__name(FEATURE_COUNT));
	cr_expect_eq(features__state(FEATURE_COUNT), FEATURE_UNSET);
	cr_expect_eq(features__refused(), 0);
}

Test(feature_state, off_keeps_why_and_counts_refusals_only)
{
	features__on(FEATURE_OOM, "raw_tp");
	features__off(FEATURE_KSTACK_CACHE, "refused by this kernel's verifier (x)");
	features__not_requested(FEATURE_KERNEL_STACKS);

	cr_expect_eq(features__state(FEATURE_OOM), FEATURE_ON);
	cr_expect_str_eq(features__why(FEATURE_OOM), "raw_tp");
	cr_expect_eq(features__state(FEATURE_KSTACK_CACHE), FEATURE_OFF);
	cr_expect_str_eq(features__why(FEATURE_KSTACK_CACHE), "refused by this kernel's verifier (x)");
	cr_expect_eq(features__state(FEATURE_KERNEL_STACKS), FEATURE_OFF);
	cr_expect_eq(features__refused(), 1, "a part the user turned off is no refusal");

	/* A later load that gets it back. */
	features__on(FEATURE_KSTACK_CACHE, NULL);
	cr_expect_eq(features__refused(), 0);
	cr_expect_str_eq(features__why(FEATURE_KSTACK_CACHE), "");
}

Test(feature_state, names_are_the_report_keys)
{
	cr_expect_str_eq(features__name(FEATURE_PAGE_ACCOUNTING), "page_accounting");
	cr_expect_str_eq(features__name(FEATURE_KSTACK_CACHE), "kstack_cache");
	cr_expect_str_eq(features__name(FEATURE_OOM_SNAPSHOT), "oom_snapshot");
	cr_expect_str_eq(features__name(FEATURE_MEMCG_EVENTS), "memcg_events");
	cr_expect_str_eq(features__name(FEATURE_V8), "v8");
}
