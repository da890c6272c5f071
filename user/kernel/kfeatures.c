#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "kfeatures.h"
#include "log.h"

#define VMLINUX_BTF "/sys/kernel/btf/vmlinux"

/* name is an item of the comma-separated list in environment variable env. */
static bool listed(const char *env, const char *name)
{
	const char *list = getenv(env);
	size_t len = strlen(name);

	for (const char *p = list; p && *p;) {
		const char *end = strchrnul(p, ',');

		if ((size_t)(end - p) == len && !strncmp(p, name, len))
			return true;
		p = *end ? end + 1 : end;
	}
	return false;
}

bool kfeatures__disabled(const char *name)
{
	return listed("MEMSCOPE_DISABLE", name);
}

bool kfeatures__refused_for_test(const char *name)
{
	return listed("MEMSCOPE_REFUSE", name);
}

int kfeatures__require_btf(void)
{
	if (!kfeatures__disabled("btf") && access(VMLINUX_BTF, R_OK) == 0)
		return 0;
	log_error("this kernel exposes no BTF (%s): memscope needs CONFIG_DEBUG_INFO_BTF=y "
		  "(Linux 5.4 or later)", VMLINUX_BTF);
	return -EOPNOTSUPP;
}

bool kfeatures__has_raw_tp(void)
{
	if (kfeatures__disabled("raw_tp"))
		return false;
	return libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_RAW_TRACEPOINT, NULL) == 1;
}

bool kfeatures__has_raw_tracepoint(const char *name)
{
	char type[128];
	struct btf *btf;
	bool found;

	if (kfeatures__disabled("raw_tp"))
		return false;
	snprintf(type, sizeof(type), "btf_trace_%s", name);
	btf = btf__load_vmlinux_btf();
	found = btf && btf__find_by_name_kind(btf, type, BTF_KIND_TYPEDEF) > 0;
	btf__free(btf);
	return found;
}

static bool tracepoint_exists(const char *root, const char *category, const char *name)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/events/%s/%s/id", root, category, name);
	return access(path, R_OK) == 0;
}

bool kfeatures__tracepoint_exists(const char *category, const char *name)
{
	return !kfeatures__disabled("tracepoint") &&
	       (tracepoint_exists("/sys/kernel/tracing", category, name) ||
		tracepoint_exists("/sys/kernel/debug/tracing", category, name));
}

int kfeatures__require_tracepoint(const char *category, const char *name)
{
	static const char *const roots[] = { "/sys/kernel/tracing", "/sys/kernel/debug/tracing" };

	if (!kfeatures__disabled("tracepoint")) {
		for (size_t i = 0; i < sizeof(roots) / sizeof(roots[0]); i++)
			if (tracepoint_exists(roots[i], category, name))
				return 0;
		/* libbpf finds tracepoint ids through tracefs; mount it where the
		 * kernel provides an empty mount point for it, as perf does. */
		if (access("/sys/kernel/tracing", F_OK) == 0 &&
		    mount("nodev", "/sys/kernel/tracing", "tracefs", 0, NULL) == 0) {
			log_notice("mounted tracefs on /sys/kernel/tracing");
			if (tracepoint_exists(roots[0], category, name))
				return 0;
		}
	}
	log_error("tracepoint %s:%s is not available (no tracefs, or the kernel lacks it)",
		  category, name);
	return -EOPNOTSUPP;
}
