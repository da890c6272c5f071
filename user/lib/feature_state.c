#include <stdio.h>
#include <string.h>

#include "feature_state.h"
#include "log.h"

#define WHY_LEN 160

static const char *const names[FEATURE_COUNT] = {
	[FEATURE_PAGE_ACCOUNTING] = "page_accounting",
	[FEATURE_KERNEL_STACKS] = "kernel_stacks",
	[FEATURE_KSTACK_CACHE] = "kstack_cache",
	[FEATURE_USER_STACKS] = "user_stacks",
	[FEATURE_STACK_COPY] = "stack_copy",
	[FEATURE_OOM] = "oom",
	[FEATURE_OOM_SNAPSHOT] = "oom_snapshot",
	[FEATURE_SPLIT_PAGES] = "split_pages",
	[FEATURE_MOVED_PAGES] = "moved_pages",
	[FEATURE_EXEC_NAMES] = "exec_names",
	[FEATURE_MEMCG_EVENTS] = "memcg_events",
	[FEATURE_V8] = "v8",
};

static struct {
	enum feature_state state;
	bool requested_off;
	char why[WHY_LEN];
} table[FEATURE_COUNT];

static bool valid(enum feature f)
{
	return (unsigned)f < FEATURE_COUNT;
}

const char *features__name(enum feature f)
{
	return valid(f) ? names[f] : NULL;
}

static void set(enum feature f, enum feature_state st, const char *why)
{
	table[f].state = st;
	snprintf(table[f].why, sizeof(table[f].why), "%s", why ? why : "");
}

void features__on(enum feature f, const char *detail)
{
	if (!valid(f))
		return;
	set(f, FEATURE_ON, detail);
	table[f].requested_off = false;
}

void features__off(enum feature f, const char *why)
{
	if (!valid(f))
		return;
	/* A loader may retry: say it once, not once per attempt. */
	if (table[f].state != FEATURE_OFF || strcmp(table[f].why, why ? why : ""))
		log_notice("%s off: %s", names[f], why ? why : "unavailable");
	set(f, FEATURE_OFF, why);
	table[f].requested_off = false;
}

void features__not_requested(enum feature f)
{
	if (!valid(f))
		return;
	set(f, FEATURE_OFF, "not requested");
	table[f].requested_off = true;
}

enum feature_state features__state(enum feature f)
{
	return valid(f) ? table[f].state : FEATURE_UNSET;
}

const char *features__why(enum feature f)
{
	return valid(f) ? table[f].why : "";
}

size_t features__refused(void)
{
	size_t n = 0;

	for (int f = 0; f < FEATURE_COUNT; f++)
		n += table[f].state == FEATURE_OFF && !table[f].requested_off;
	return n;
}

void features__reset(void)
{
	memset(table, 0, sizeof(table));
}
