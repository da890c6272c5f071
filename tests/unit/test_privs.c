#include <criterion/criterion.h>
#include <unistd.h>

#include "privs.h"

/* Root has every capability: it may trace. Anyone else is answered, not
 * failed (the answer depends on the file capabilities of the test binary). */
Test(privs, may_trace_answers)
{
	int may = privs__may_trace();

	cr_assert(may == 0 || may == 1, "got %d", may);
	if (geteuid() == 0)
		cr_assert_eq(may, 1);
}
