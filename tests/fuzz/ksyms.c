/* /proc/kallsyms as the kernel formats it, or any garbage in its place. */
#include "fuzz.h"
#include "ksyms.h"

static void check_sym(const struct ksyms *ks, uint64_t addr)
{
	uint64_t off = 0;
	const struct ksym *s = ksyms__lookup(ks, addr, &off);

	if (!s)
		return;
	FUZZ_CHECK(s->addr <= addr && off == addr - s->addr);
	FUZZ_CHECK(s->name && s->name[0] && strlen(s->name) <= KSYMS_NAME_MAX);
	FUZZ_CHECK(!s->module || (s->module[0] && strlen(s->module) <= KSYMS_NAME_MAX));
	/* The symbol found is the one at its own address. */
	FUZZ_CHECK(ksyms__lookup(ks, s->addr, NULL) == s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint64_t probes[] = { 0, 1, 0xffffffff81000000ull, 0xffffffffc0000000ull,
					   UINT64_MAX };
	FILE *f = fuzz_stream(data, size);
	struct ksyms *ks = ksyms__parse(f);

	fclose(f);
	if (!ks)
		return 0;
	FUZZ_CHECK(ksyms__count(ks) > 0 && ksyms__count(ks) <= KSYMS_COUNT_MAX);
	/* Address 0 means "hidden" and is never a symbol. */
	FUZZ_CHECK(!ksyms__lookup(ks, 0, NULL));
	for (size_t i = 0; i < sizeof(probes) / sizeof(probes[0]); i++)
		check_sym(ks, probes[i]);
	ksyms__free(ks);
	return 0;
}
