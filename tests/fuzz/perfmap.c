/* /tmp/perf-PID.map, written by the JIT runtime inside a container: the
 * whole file is the process's to choose. Parsed in two pieces, as a refresh
 * appends what the runtime wrote since the last look. Not NUL-terminated:
 * libFuzzer's buffer is exactly the input, so a read past it is reported. */
#include "fuzz.h"
#include "perfmap.h"

static void check_lookup(const struct perfmap *pm, uint64_t addr)
{
	uint64_t start = 0;
	const char *name = perfmap__lookup(pm, addr, &start);

	if (name)
		FUZZ_CHECK(start <= addr && addr - start < PERFMAP_SIZE_MAX &&
			   strlen(name) < PERFMAP_LINE_MAX);
}

/* Each line's start address: where lookups find entries, if the line held one. */
static void probe_line_starts(const struct perfmap *pm, const char *text, size_t size)
{
	const char *p = text, *end = text + size;
	char hex[17];

	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		size_t n = (size_t)((eol ? eol : end) - p);

		n = n < sizeof(hex) - 1 ? n : sizeof(hex) - 1;
		memcpy(hex, p, n);
		hex[n] = '\0';
		check_lookup(pm, strtoull(hex, NULL, 16));
		p = eol ? eol + 1 : end;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint64_t probes[] = { 0, 0x3a2f0c0e4a40ull, 0x7f3a88006a40ull,
					   0x7f3a88006b00ull, UINT64_MAX };
	struct perfmap *pm = perfmap__new();
	size_t cut = size ? data[0] % (size + 1) : 0;
	const char *text = (const char *)data;

	FUZZ_CHECK(pm);
	FUZZ_CHECK(perfmap__parse(pm, text, cut) >= 0);
	FUZZ_CHECK(perfmap__parse(pm, text + cut, size - cut) >= 0);
	FUZZ_CHECK(perfmap__count(pm) <= size / 4 + 1);
	for (size_t i = 0; i < sizeof(probes) / sizeof(probes[0]); i++)
		check_lookup(pm, probes[i]);
	probe_line_starts(pm, text, size);
	perfmap__free(pm);
	return 0;
}
