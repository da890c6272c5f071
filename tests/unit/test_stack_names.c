/* A recorder bucket named into frame structs: user frames through usyms
 * (this process's own code), kernel frames through a kallsyms text, the
 * tracing machinery at the top of a BPF kernel stack left out. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ksyms.h"
#include "model_build.h"
#include "record_ctx.h"
#include "recorder.h"
#include "stack_names.h"
#include "usyms.h"

static const char kallsyms[] =
	"ffffffff81000000 T bpf_trace_run2\n"
	"ffffffff81000100 T __traceiter_mm_page_alloc\n"
	"ffffffff81000200 T __alloc_pages\n"
	"ffffffff81000300 T asm_exc_page_fault\n";

__attribute__((noinline)) int stack_names_probe(int x)
{
	return x * 3 + 1;
}

static struct ksyms *parse_kallsyms(void)
{
	FILE *f = fmemopen((void *)kallsyms, sizeof(kallsyms) - 1, "r");
	struct ksyms *ks;

	cr_assert_not_null(f);
	ks = ksyms__parse(f);
	fclose(f);
	cr_assert_not_null(ks);
	return ks;
}

Test(stack_names, kernel_frames_root_first_without_the_machinery)
{
	struct record_ctx c = { .ksyms = parse_kallsyms(), .usyms = usyms__new() };
	struct rec_bucket b = { .cgid = 7, .comm = "leaker", .thread = "worker" };
	/* innermost first, as BPF records them; 0x1000 is below every symbol */
	uint64_t kips[] = { 0xffffffff81000008, 0xffffffff81000108, 0xffffffff81000208,
			    0xffffffff81000308, 0x1000 };
	struct recording *r = mb_new(true);
	struct rec_stack *s;

	cr_assert_not_null(c.usyms);
	cr_assert_eq(stack_names__bucket(r, &c, &b, kips, 5, &s), 0);
	cr_assert_eq(s->nframes, 3);
	cr_expect_str_eq(s->frames[0].name, "0x1000");
	cr_expect_str_eq(s->frames[1].name, "asm_exc_page_fault");
	cr_expect_eq(s->frames[1].addr, 0xffffffff81000308);
	cr_expect_str_eq(s->frames[2].name, "__alloc_pages");
	for (size_t i = 0; i < 3; i++)
		cr_expect_eq(s->frames[i].kind, FRAME_KERNEL);
	cr_expect_str_eq(s->container, "[cgroup 7]");
	cr_expect_str_eq(s->comm, "leaker");
	cr_expect_str_eq(s->thread, "worker");
	recording__free(r);
	ksyms__free(c.ksyms);
	usyms__free(c.usyms);
}

Test(stack_names, user_frames_name_their_mapping)
{
	struct record_ctx c = { .usyms = usyms__new() };
	struct uframe uf[3];
	struct rec_bucket b = { .cgid = 1, .comm = "t", .frames = uf, .nframes = 3 };
	struct recording *r = mb_new(true);
	struct rec_stack *s;
	char exe[4096];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	cr_assert(n > 0 && c.usyms);
	exe[n] = '\0';
	/* leaf first: this test's probe, a JIT placeholder, an unknown ip */
	cr_assert_eq(usyms__resolve(c.usyms, getpid(), (uint64_t)(uintptr_t)stack_names_probe,
				    &uf[0]), 0);
	uf[1] = (struct uframe){ .module = USYMS_JIT_MODULE, .vaddr = 1 };
	uf[2] = (struct uframe){ .module = 0, .vaddr = 0x42 };
	cr_assert_eq(stack_names__bucket(r, &c, &b, NULL, 0, &s), 0);
	cr_assert_eq(s->nframes, 3);
	cr_expect_str_eq(s->frames[0].name, "[unknown]");
	cr_expect_eq(s->frames[0].mapping, 0);
	cr_expect_eq(s->frames[0].addr, 0x42);
	cr_expect(s->frames[0].call);
	cr_expect_str_eq(s->frames[1].name, "[v8 jit]");
	cr_expect_eq(s->frames[1].kind, FRAME_USER);
	cr_expect_eq(s->frames[1].mapping, REC_MAPPING_JIT);
	cr_expect_str_eq(s->frames[2].name, "stack_names_probe");
	cr_expect_not(s->frames[2].call);
	cr_assert_neq(s->frames[2].mapping, 0);
	cr_expect_str_eq(r->mappings[s->frames[2].mapping].file, exe);
	recording__free(r);
	usyms__free(c.usyms);
}
