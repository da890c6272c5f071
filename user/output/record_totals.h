/* The exact side of a recording: per-process and per-container byte counts
 * from the kernel's counters (not from samples), and every loss counter.
 * Printed as a table on stderr and as JSON for --report:
 *
 *   {"duration_s":8.0,"mode":"outstanding","sample_every":64,"hook":"raw_tp",
 *    "events":{"alloc_events":..,"free_events":..,"samples":..},
 *    "losses":{"procs_full":0,...},
 *    "budgets":{"elf_evicted":0,"elf_refused":0,"perfmap_evicted":0,...},
 *    "containers":[{"label":"/docker/..","name":"web","cgroup":"/docker/..","cgroup_id":..,"processes":3,
 *                   "exited_processes":1,"alloc_bytes":..,"free_bytes":..,"resident_bytes":..}],
 *    "exited":{"processes":..,"alloc_bytes":..,"free_bytes":..,"resident_bytes":0},
 *    "processes":[{"pid":..,"comm":"..","container":"..","container_name":"web","cgroup_id":..,
 *                  "alloc_bytes":..,"free_bytes":..,"resident_bytes":..}],
 *    "oom_kills":[{...one object as memscope oom --json writes...}]}
 *
 * Processes whose slots were recycled during the window (recording.exits)
 * count in their container's totals and in "exited", not in "processes".
 */
#ifndef MEMSCOPE_RECORD_TOTALS_H
#define MEMSCOPE_RECORD_TOTALS_H

#include <stdio.h>

#include "recording.h"

struct record_totals;
struct oom_report;

struct record_totals *record_totals__collect(const struct recording *r);
/* OOM kills of the window, for the JSON's "oom_kills" array; not copied:
 * they must outlive t. */
void record_totals__set_kills(struct record_totals *t, struct oom_report *const *kills, size_t n);
/* The engine's names of the containers (and of the processes' containers),
 * for the table and the JSON ("name"); labels keep the short id. */
struct ctrnames;
void record_totals__name_containers(struct record_totals *t, struct ctrnames *nm, double now);
void record_totals__print(const struct record_totals *t, FILE *out);
void record_totals__json(const struct record_totals *t, FILE *out);
void record_totals__free(struct record_totals *t);

#endif
