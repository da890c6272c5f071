#include <criterion/criterion.h>
#include <stdlib.h>

#include "overhead_int.h"

static const struct workload wl = { .name = "pagestorm" };
static const struct workload service = { .name = "service", .compared = { "requests_per_sec" } };
static const struct tracer_def tr = { "memscope", "test", TRACER_MEMSCOPE, { NULL }, NULL };

/* A workload with one traced configuration whose pairs alternate
 * base-spread/2 and base+spread/2 (n of them). */
static struct ov_workload *workload(size_t n, double base, double spread)
{
	struct ov_workload *ow = calloc(1, sizeof(*ow));

	cr_assert_not_null(ow);
	ow->w = &wl;
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

Test(overhead, a_service_waits_for_its_compared_metrics)
{
	struct ov_workload *ow = workload(6, 1.10, 0.01);

	ow->w = &service;
	for (size_t i = 0; i < 6; i++)	/* requests/s far noisier than the times */
		ow->cfg[1].pair_metric[0][i] = i % 2 ? 1.3 : 0.9;
	cr_assert_not(ov_converged(ow, 2));
	for (size_t i = 0; i < 6; i++)
		ow->cfg[1].pair_metric[0][i] = 0.99;
	cr_assert(ov_converged(ow, 2));
	free(ow);
}
