/* How full one of a process's BPF maps is, found by name among the maps the
 * process holds open (so another memscope running on the host is not
 * counted): /proc/PID/fdinfo/FD of a map fd reads
 *
 *	map_type:	1
 *	max_entries:	16384
 *	map_id:	412
 *
 * and the map itself is then opened by id and its keys walked. Root only. */
#ifndef MEMSCOPE_BENCH_MAPUSE_H
#define MEMSCOPE_BENCH_MAPUSE_H

#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

struct map_use {
	uint32_t entries;	/* keys present now */
	uint32_t max_entries;
};

/* The BPF map id of an fdinfo file, or 0 when it is not a BPF map. */
uint32_t mapuse__parse_fdinfo(FILE *f);
/* Use of the map named name held by process pid. 0; -ENOENT when it holds
 * no map of that name; -errno. */
int mapuse__read(const char *proc_root, pid_t pid, const char *name, struct map_use *out);

#endif
