#include <criterion/criterion.h>
#include <stdlib.h>

#include "budget.h"

struct holder {
	struct budget_node node;
	int id;
	bool evicted;
};

static int order[16], n_order;

static void evict(struct budget_node *n, void *ctx)
{
	struct holder *h = (struct holder *)n;

	(void)ctx;
	cr_assert(!budget__charged(n), "evict is called on a discharged node");
	h->evicted = true;
	order[n_order++] = h->id;
}

Test(budget, evicts_least_recently_used_first)
{
	struct holder h[4] = { { .id = 0 }, { .id = 1 }, { .id = 2 }, { .id = 3 } };
	struct budget b;
	uint64_t evicted = 0;

	n_order = 0;
	budget__init(&b, 100, &evicted);
	for (int i = 0; i < 4; i++)
		budget__charge(&b, &h[i].node, 30);
	cr_expect_eq(b.used, 120);
	/* 0 used again: 1 is now the oldest. */
	budget__charge(&b, &h[0].node, 30);
	cr_expect_eq(budget__enforce(&b, &h[0].node, evict, NULL), 1);
	cr_expect_eq(n_order, 1);
	cr_expect_eq(order[0], 1);
	cr_expect_eq(b.used, 90);
	cr_expect_eq(evicted, 1);
	cr_expect(!budget__charged(&h[1].node));
}

Test(budget, never_evicts_the_node_in_use)
{
	struct holder h[2] = { { .id = 0 }, { .id = 1 } };
	struct budget b;

	n_order = 0;
	budget__init(&b, 100, NULL);
	budget__charge(&b, &h[0].node, 10);
	budget__charge(&b, &h[1].node, 500);	/* alone over the limit */
	cr_expect_eq(budget__enforce(&b, &h[1].node, evict, NULL), 1);
	cr_expect(h[0].evicted);
	cr_expect(!h[1].evicted);
	cr_expect_eq(b.used, 500, "the one in use stays charged");
	cr_expect_eq(budget__enforce(&b, &h[1].node, evict, NULL), 0);
}

Test(budget, recharging_replaces_the_bytes)
{
	struct holder h = { .id = 0 };
	struct budget b;

	budget__init(&b, 100, NULL);
	budget__charge(&b, &h.node, 40);
	budget__charge(&b, &h.node, 70);
	cr_expect_eq(b.used, 70);
	budget__discharge(&b, &h.node);
	budget__discharge(&b, &h.node);
	cr_expect_eq(b.used, 0);
	cr_expect(!budget__charged(&h.node));
}

static void evict_and_free(struct budget_node *n, void *ctx)
{
	(*(int *)ctx)++;
	free(n);
}

/* A holder freed by its own eviction (a process dropped with its state). */
Test(budget, evict_may_free_the_node)
{
	struct budget b;
	int freed = 0;

	budget__init(&b, 3, NULL);
	for (int i = 0; i < 10; i++) {
		struct budget_node *n = calloc(1, sizeof(*n));

		cr_assert(n);
		budget__charge(&b, n, 1);
		budget__enforce(&b, n, evict_and_free, &freed);
	}
	cr_expect_eq(freed, 7);
	cr_expect_eq(b.used, 3);
	while (b.head.next != &b.head) {
		struct budget_node *n = b.head.next;

		budget__discharge(&b, n);
		free(n);
	}
}

/* A quarter of a tick per call, the tick's total shared by all calls, and a
 * full allowance again once the tick is over. */
Test(budget, work_per_tick)
{
	struct budget_work w = { .per_tick = 100 };
	uint64_t t = 5 * BUDGET_V8_TICK_NS;

	cr_expect_eq(budget_work__grant(&w, t), 25);
	for (int i = 0; i < 4; i++) {
		cr_expect_eq(budget_work__grant(&w, t + i), 25, "call %d", i);
		budget_work__spend(&w, 25);
	}
	cr_expect_eq(budget_work__grant(&w, t + 10), 0, "the tick is spent");
	budget_work__spend(&w, 7);	/* over: stays at 0 */
	cr_expect_eq(w.left, 0);
	cr_expect_eq(budget_work__grant(&w, t + BUDGET_V8_TICK_NS - 1), 0);
	cr_expect_eq(budget_work__grant(&w, t + BUDGET_V8_TICK_NS), 25, "a new tick");
	budget_work__spend(&w, 10);
	cr_expect_eq(budget_work__grant(&w, t + BUDGET_V8_TICK_NS), 25);
	cr_expect_eq(w.left, 90);
}
