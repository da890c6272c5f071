/* V8 sampling heap profiles as a profiled node process sends them, which it
 * controls: whatever the bytes, jsheap__parse either refuses them or keeps
 * stacks within its bounds, and the kept bytes add up to the total. */
#include <errno.h>

#include "fuzz.h"
#include "jsheap.h"

struct sums {
	uint64_t bytes;
	size_t stacks;
};

static int check(void *ctx, const char *const *frames, size_t n, uint64_t bytes)
{
	struct sums *s = ctx;

	FUZZ_CHECK(n >= 1 && n <= JSHEAP_DEPTH_MAX + 1);
	FUZZ_CHECK(bytes > 0);
	for (size_t i = 0; i < n; i++)
		FUZZ_CHECK(frames[i] && strlen(frames[i]) < JSHEAP_FRAME_LEN);
	s->bytes = s->bytes > UINT64_MAX - bytes ? UINT64_MAX : s->bytes + bytes;
	s->stacks++;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct jsheap_profile *p;
	struct sums s = { 0 };
	int err = jsheap__parse((const char *)data, size, &p);

	FUZZ_CHECK(err == 0 || err == -EINVAL || err == -E2BIG || err == -ENOMEM);
	if (err) {
		FUZZ_CHECK(p == NULL);
		return 0;
	}
	FUZZ_CHECK(jsheap__each(p, check, &s) == 0);
	FUZZ_CHECK(s.bytes == jsheap__total(p));
	FUZZ_CHECK(s.stacks <= jsheap__nodes(p) && jsheap__nodes(p) <= JSHEAP_NODES_MAX);
	jsheap__free(p);
	return 0;
}
