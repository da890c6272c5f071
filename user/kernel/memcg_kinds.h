/* The kinds of memory a cgroup is charged for, as the kernel's memcg
 * counters split them: memcg_events.c maps each counter it watches to one,
 * and the timeline (timeline.h) keeps one series per kind. Here, below both,
 * so that the kernel side does not include the model. */
#ifndef MEMSCOPE_MEMCG_KINDS_H
#define MEMSCOPE_MEMCG_KINDS_H

enum timeline_kind {
	TIMELINE_ANON,
	TIMELINE_FILE,
	TIMELINE_KERNEL,	/* slab, stacks, page tables */
	TIMELINE_SOCK,
	TIMELINE_SHMEM,
	TIMELINE_KINDS,
};

#endif
