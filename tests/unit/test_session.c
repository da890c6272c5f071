/* The session's options without a tracer: what session__open makes of
 * them, and that close frees whatever open left half done. */
#include <criterion/criterion.h>
#include <errno.h>

#include "session.h"

Test(session, opens_and_closes_without_a_tracer)
{
	struct session s;

	cr_assert_eq(session__open(&s, &(struct session_opts){ .sample_every = 64,
							       .outstanding = true }), 0);
	cr_expect_eq(s.rc.sample_every, 64);
	cr_expect(s.rc.outstanding);
	cr_expect_not_null(s.rc.recorder);
	cr_expect_eq(s.n_cgids, 0);
	/* Nothing traced: nothing to settle, no model. */
	cr_expect_eq(session__settle(&s), 0);
	cr_expect_null(s.model);
	session__close(&s);
}

Test(session, a_cgroup_that_is_not_there_is_one_error)
{
	static const char *const specs[] = { "/memscope-test/not-a-cgroup" };
	struct session s;

	cr_expect_eq(session__open(&s, &(struct session_opts){
		.sample_every = 64, .cgroups = specs, .n_cgroups = 1 }), -EINVAL);
	cr_expect_eq(s.n_cgids, 0);
	session__close(&s);
}
