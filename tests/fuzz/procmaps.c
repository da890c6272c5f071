/* /proc/PID/maps of a process in a container: the paths are the container's,
 * and a crafted file must give sorted, disjoint mappings or none. */
#include <stdbool.h>

#include "fuzz.h"
#include "procmaps.h"

static bool valid_map(const struct procmap *m)
{
	return m->start < m->end && m->perms[4] == '\0' && strlen(m->perms) == 4 &&
	       (!m->path || (m->path[0] == '/' && strlen(m->path) < PROCMAPS_LINE_MAX)) &&
	       (m->path || !m->deleted);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	FILE *f = fuzz_stream(data, size);
	struct procmaps maps;
	int err = procmaps__parse(f, &maps);

	fclose(f);
	if (err) {
		FUZZ_CHECK(!maps.maps && !maps.n);
		return 0;
	}
	for (size_t i = 0; i < maps.n; i++) {
		const struct procmap *m = &maps.maps[i];

		FUZZ_CHECK(valid_map(m));
		FUZZ_CHECK(!i || maps.maps[i - 1].end <= m->start);
		FUZZ_CHECK(procmaps__find(&maps, m->start) == m);
		FUZZ_CHECK(procmaps__find(&maps, m->end - 1) == m);
		procmap__is_exec(m);
	}
	FUZZ_CHECK(!maps.n || procmaps__find(&maps, maps.maps[maps.n - 1].end) == NULL);
	FUZZ_CHECK(!procmaps__find(&maps, 0) || maps.maps[0].start == 0);
	procmaps__free(&maps);
	FUZZ_CHECK(!maps.maps && !maps.n);
	return 0;
}
