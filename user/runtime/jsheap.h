/* V8's sampling heap profile (the JSON HeapProfiler.getSamplingProfile
 * returns) as stacks of JS frames with the bytes still alive under each:
 *
 *   {"profile":{"head":{"callFrame":{"functionName":"(root)","url":"",
 *      "lineNumber":-1,...},"selfSize":0,"id":1,"children":[{...}]},
 *    "samples":[...]}}
 *
 * becomes, per tree node with selfSize > 0, its frames root first:
 *
 *   app.get_api.js:19, cacheResponse_api.js:14: 1048576 bytes
 *
 * a frame being FUNCTION_FILE:LINE (FILE the url's last component, LINE
 * 1-based; "(anonymous)" for a function without a name; just FUNCTION for
 * V8's own nodes without a url). Every frame but JSHEAP_DEEPER is JIT code:
 * the folded output marks it _[j], as it does the JIT frames of native
 * stacks, so flame graphs and pprof treat JS frames alike whichever way
 * they were named.
 *
 * The inspector's whole response, {"id":N,"result":{"profile":...}}, is
 * read as well.
 *
 * The profile comes from the profiled process, which may lie: the text is
 * bounded (JSHEAP_TEXT_MAX), so are the nodes kept (JSHEAP_NODES_MAX), the
 * frames of a stack (JSHEAP_DEPTH_MAX: deeper frames' bytes go to a last
 * frame "[deeper]"), every name (JSHEAP_NAME_MAX) and the sum of the sizes
 * (saturating). Nodes past the limit are counted with their bytes, not kept.
 */
#ifndef MEMSCOPE_JSHEAP_H
#define MEMSCOPE_JSHEAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JSHEAP_TEXT_MAX		(32u << 20)
#define JSHEAP_NODES_MAX	200000
#define JSHEAP_DEPTH_MAX	128
#define JSHEAP_JSON_DEPTH	2200	/* nesting json-c accepts: a deeper text is refused */
#define JSHEAP_NAME_MAX		160	/* bytes of a function name or file kept */
#define JSHEAP_FRAME_LEN	(2 * JSHEAP_NAME_MAX + 32)
#define JSHEAP_DEEPER		"[deeper]"

struct jsheap_profile;

/* Parses text[len] (not necessarily NUL-terminated): the response of
 * HeapProfiler.getSamplingProfile ({"profile":{...}}) or its "profile" object
 * alone. -EINVAL: not such a profile; -E2BIG: text over JSHEAP_TEXT_MAX or
 * nested deeper than JSHEAP_JSON_DEPTH; -ENOMEM. */
int jsheap__parse(const char *text, size_t len, struct jsheap_profile **out);

/* Sum of the kept stacks' bytes (saturating), and what was dropped. */
uint64_t jsheap__total(const struct jsheap_profile *p);
size_t jsheap__nodes(const struct jsheap_profile *p);
size_t jsheap__dropped_nodes(const struct jsheap_profile *p);
uint64_t jsheap__dropped_bytes(const struct jsheap_profile *p);

/* fn for each node with bytes, frames root first (the "(root)" node left
 * out). Stops at fn's first non-zero return, which it returns. */
typedef int (*jsheap_stack_fn)(void *ctx, const char *const *frames, size_t n, uint64_t bytes);
int jsheap__each(const struct jsheap_profile *p, jsheap_stack_fn fn, void *ctx);

void jsheap__free(struct jsheap_profile *p);

#endif
