#include <stddef.h>

#include "drops.h"

static const struct {
	const char *key;
	const char *text;
} drop_names[MS_NR_DROPS] = {
	[MS_DROP_PROCS_FULL] = { "procs_full", "process table full (counted in [overflow])" },
	[MS_DROP_PFN_RANGE] = { "pfn_out_of_range", "pfn out of range (hot-added memory)" },
	[MS_DROP_RINGBUF] = { "ringbuf_full", "samples lost, ring buffer full (raise --ringbuf)" },
	[MS_DROP_USTACK] = { "ustack_missing", "user stacks not walkable" },
	[MS_DROP_KSTACK] = { "kstack_missing", "kernel stacks not stored (raise --kstacks)" },
	[MS_DROP_SNAP] = { "stack_snapshot_missing", "user stack bytes unreadable" },
	[MS_DROP_LINKS_FULL] = { "sample_ids_full", "samples not taken, every sample id held (raise --sample)" },
};

const char *drops__key(int drop)
{
	return drop >= 0 && drop < MS_NR_DROPS ? drop_names[drop].key : NULL;
}

const char *drops__text(int drop)
{
	return drop >= 0 && drop < MS_NR_DROPS ? drop_names[drop].text : NULL;
}
