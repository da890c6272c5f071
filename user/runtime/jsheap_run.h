/* record --js-heap: V8's sampling heap profiler in each node process of the
 * recording, for its window (inspector.h), the profiles read into stacks
 * (jsheap.h) when it closes, for the folded, pprof and --report outputs:
 *
 *   CONTAINER;COMM;[v8-heap];[js-heap];app.get_api.js:19_[j];cacheResponse_api.js:14_[j] BYTES
 *
 * Which processes: every -p process, or each process in the -c cgroups, whose
 * executable is named node* (SIGUSR1 means other things to other programs),
 * at most JSHEAP_RUN_MAX. They are chosen when
 * the window opens, not by the V8 growth the window will show: the sampler
 * only sees what is allocated after it starts, and growth is known at the
 * window's end. One line on stderr per process says what was done to it.
 */
#ifndef MEMSCOPE_JSHEAP_RUN_H
#define MEMSCOPE_JSHEAP_RUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JSHEAP_RUN_MAX		16
#define JSHEAP_INTERVAL		32768	/* bytes between samples: V8's default */
/* The label the folded output shows as "[js-heap]" after "[v8-heap]". */
#define JSHEAP_LABEL		"js-heap"

struct cg_hier;
struct json;
struct jsheap_run;

/* Starts sampling (every interval bytes) in the processes pids, or, when
 * n_pids is 0, in the node processes under the cgroup paths; TurboFan
 * inlining off for the window and optimized code dropped at its start and
 * end unless
 * keep_inlining (inspector.h). NULL only when out of memory; a process
 * refused is said on stderr and kept as such. */
struct jsheap_run *jsheap_run__start(const uint32_t *pids, size_t n_pids,
				     const char *const *cg_paths, size_t n_paths,
				     const struct cg_hier *hier, uint32_t interval,
				     bool keep_inlining);
/* Reads every profile and closes every inspector; says on stderr what was
 * done to each process. */
void jsheap_run__finish(struct jsheap_run *r);
/* The stacks of each process: its container label and name, then its JS
 * frames root first, as jsheap.h names them. */
typedef int (*jsheap_run_fn)(void *ctx, uint32_t pid, const char *label, const char *comm,
			     const char *const *frames, size_t n, uint64_t bytes);
int jsheap_run__each(const struct jsheap_run *r, jsheap_run_fn fn, void *ctx);
/* "js_heap":[{"pid":..,"comm":..,"container":..,"sampling_interval":..,
 *   "inspector":"opened and closed"|"refused"|"left open",
 *   "inlining":"off for the window, restored"|"kept"|..,"optimized_code_dropped":..,
 *   "optimized_code_dropped_at_end":..,
 *   "why":..,"bytes":..,"stacks":..,"dropped_nodes":..}] */
void jsheap_run__json(const struct jsheap_run *r, struct json *j);
void jsheap_run__free(struct jsheap_run *r);

#endif
