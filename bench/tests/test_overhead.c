#include <criterion/criterion.h>
#include <stdlib.h>

#include "overhead_int.h"

static const struct tracer_def tr = { "memscope", "test", TRACER_MEMSCOPE, { NULL } };

/* A workload with one traced configuration whose pairs alternate
 * base-spread/2 and base+spread/2 (n of them). */
static struct ov_workload *workload(size_t n, double base, double spread)
{
	struct ov_workload *ow = calloc(1, sizeof(*ow));

	cr_assert_not_null(ow);
	ow->n_cfg = 2;
	ow->cfg[0].usable = ow->cfg[1].usable = true;
	ow->cfg[1].tracer = &tr;
	for (size_t i = 0; i < n; i++) {
		double r = base + (i % 2 ? spread : -spread) / 2;

		ow->cfg[1].pair_wall[i] = ow->cfg[1].pair_cpu[i] = r;
	}
	ow->cfg[1].n_pairs = n;
	return ow;
}

Test(overhead, converged_when_the_interval_is_narrow)
{
	struct ov_workload *tight = workload(6, 1.10, 0.01), *wide = workload(6, 1.10, 0.20);

	cr_assert(ov_converged(tight, 2));
	cr_assert_not(ov_converged(wide, 2));
	cr_assert(ov_converged(wide, 50));
	free(tight);
	free(wide);
}

Test(overhead, one_pair_has_no_interval)
{
	struct ov_workload *ow = workload(1, 1.10, 0);

	cr_assert_not(ov_converged(ow, 2));
	ow->cfg[1].usable = false;	/* a tracer that cannot run is not waited for */
	cr_assert(ov_converged(ow, 2));
	free(ow);
}
