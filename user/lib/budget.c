#include <stddef.h>

#include "budget.h"

struct budget_counts budget_counts;

void budget__init(struct budget *b, uint64_t limit, uint64_t *evicted)
{
	b->head.prev = b->head.next = &b->head;
	b->head.bytes = 0;
	b->used = 0;
	b->limit = limit;
	b->evicted = evicted;
}

static void unlink_node(struct budget *b, struct budget_node *n)
{
	n->prev->next = n->next;
	n->next->prev = n->prev;
	n->prev = n->next = NULL;
	b->used -= n->bytes;
	n->bytes = 0;
}

void budget__charge(struct budget *b, struct budget_node *n, uint64_t bytes)
{
	if (budget__charged(n))
		unlink_node(b, n);
	n->next = b->head.next;
	n->prev = &b->head;
	b->head.next->prev = n;
	b->head.next = n;
	n->bytes = bytes;
	b->used += bytes;
}

void budget__discharge(struct budget *b, struct budget_node *n)
{
	if (budget__charged(n))
		unlink_node(b, n);
}

uint64_t budget_work__grant(struct budget_work *w, uint64_t now_ns)
{
	if (!w->tick_ns || now_ns - w->tick_ns >= BUDGET_V8_TICK_NS) {
		w->tick_ns = now_ns ? now_ns : 1;
		w->left = w->per_tick;
	}
	return w->left < w->per_tick / 4 ? w->left : w->per_tick / 4;
}

void budget_work__spend(struct budget_work *w, uint64_t used)
{
	w->left -= used < w->left ? used : w->left;
}

unsigned budget__enforce(struct budget *b, const struct budget_node *keep,
			 void (*evict)(struct budget_node *n, void *ctx), void *ctx)
{
	struct budget_node *n = b->head.prev;
	unsigned evicted = 0;

	while (b->used > b->limit && n != &b->head) {
		struct budget_node *prev = n->prev;

		if (n != keep) {
			/* First: evict may free the node with its holder. */
			budget__discharge(b, n);
			evict(n, ctx);
			evicted++;
			if (b->evicted)
				(*b->evicted)++;
		}
		n = prev;
	}
	return evicted;
}
