#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "ksyms.h"

/* Parses a buffer that may hold NUL bytes, hence the explicit length. */
static struct ksyms *parse_buf(const char *buf, size_t len)
{
	FILE *f = fmemopen((void *)buf, len, "r");
	struct ksyms *ks;
	int err;

	cr_assert_not_null(f);
	ks = ksyms__parse(f);
	err = errno;
	fclose(f);
	errno = err;
	return ks;
}

static struct ksyms *parse_str(const char *s)
{
	return parse_buf(s, strlen(s));
}

static const char fixture[] =
	"ffffffff81000000 T _stext\n"
	"ffffffff81000100 t __pfx_helper\n"
	"ffffffff81000110 t helper\n"
	"ffffffff81000200 D some_data\n"
	"ffffffff81000300 W weak_fn\n"
	"ffffffff81000400 w weak_local\n"
	"ffffffff81002000 R ro_data\n"
	"ffffffffc0a01000 t foo_init\t[ext4]\n"
	"ffffffffc0a01100 T foo_exit\t[ext4]\n"
	"ffffffffc0b00000 t bar_fn\t[xfs]\n"
	"ffffffff81000500 T late_in_file\n";	/* the file is not sorted */

Test(ksyms, lookup_nearest_symbol)
{
	struct ksyms *ks = parse_str(fixture);
	const struct ksym *s;
	uint64_t off = 99;

	cr_assert_not_null(ks);
	cr_expect_eq(ksyms__count(ks), 8);	/* text only, no __pfx_ */

	s = ksyms__lookup(ks, 0xffffffff81000000, &off);
	cr_assert_not_null(s);
	cr_expect_str_eq(s->name, "_stext");
	cr_expect_null(s->module);
	cr_expect_eq(off, 0);

	s = ksyms__lookup(ks, 0xffffffff81000123, &off);
	cr_assert_not_null(s);
	cr_expect_str_eq(s->name, "helper");
	cr_expect_eq(off, 0x13);

	/* Inside the __pfx_ padding: it belongs to the previous function. */
	s = ksyms__lookup(ks, 0xffffffff81000104, NULL);
	cr_assert_not_null(s);
	cr_expect_str_eq(s->name, "_stext");

	/* Data symbols are not candidates. */
	s = ksyms__lookup(ks, 0xffffffff81000200, NULL);
	cr_assert_not_null(s);
	cr_expect_str_eq(s->name, "helper");

	s = ksyms__lookup(ks, 0xffffffff81000300, NULL);
	cr_expect_str_eq(s->name, "weak_fn");
	s = ksyms__lookup(ks, 0xffffffff81000401, NULL);
	cr_expect_str_eq(s->name, "weak_local");
	s = ksyms__lookup(ks, 0xffffffff81000500, NULL);
	cr_expect_str_eq(s->name, "late_in_file");

	cr_expect_null(ksyms__lookup(ks, 0xffffffff80ffffff, &off));
	cr_expect_null(ksyms__lookup(ks, 0, NULL));

	s = ksyms__lookup(ks, UINT64_MAX, &off);
	cr_assert_not_null(s);
	cr_expect_str_eq(s->name, "bar_fn");
	cr_expect_eq(off, UINT64_MAX - 0xffffffffc0b00000);
	ksyms__free(ks);
}

Test(ksyms, module_symbols)
{
	struct ksyms *ks = parse_str(fixture);
	const struct ksym *init, *exit, *bar;

	cr_assert_not_null(ks);
	init = ksyms__lookup(ks, 0xffffffffc0a01010, NULL);
	exit = ksyms__lookup(ks, 0xffffffffc0a01100, NULL);
	bar = ksyms__lookup(ks, 0xffffffffc0b00001, NULL);
	cr_assert(init && exit && bar);
	cr_expect_str_eq(init->name, "foo_init");
	cr_expect_str_eq(init->module, "ext4");
	cr_expect_str_eq(exit->name, "foo_exit");
	/* Consecutive symbols of one module share one interned string. */
	cr_expect_eq(init->module, exit->module);
	cr_expect_str_eq(bar->module, "xfs");
	ksyms__free(ks);
}

Test(ksyms, garbage_lines_are_skipped)
{
	static const char text[] =
		"\n"
		"garbage\n"
		"ffffffff81000000\n"
		"ffffffff81000000 T\n"
		"ffffffff81000000 T \n"
		"ffffffff81000000  T two_spaces\n"
		"ffffffff81000000 TT type_too_long\n"
		"zzzzffff81000000 T bad_hex\n"
		"-ffffffff8100000 T negative\n"
		"1ffffffff81000000 T seventeen_digits_overflow\n"
		"ffffffff81000000 T name\twith_trailing_junk\n"
		"ffffffff81000000 T unterminated\t[ext4\n"
		"ffffffff81000000 T empty_module\t[]\n"
		"ffffffff81000000 T two_modules\t[a] [b]\n"
		"ffffffff81000000 T bad]name\n"
		"ffffffff81000000 T\tname_after_tab\n"
		"ffffffff81001000 T good\n"
		"ffffffff81002000 t also_good\t[mod]   \n"
		"ffffffff81003000 T no_newline_at_eof";
	struct ksyms *ks = parse_str(text);
	const struct ksym *s;

	cr_assert_not_null(ks);
	cr_expect_eq(ksyms__count(ks), 3);
	cr_expect_null(ksyms__lookup(ks, 0xffffffff81000fff, NULL));
	s = ksyms__lookup(ks, 0xffffffff81001000, NULL);
	cr_expect_str_eq(s->name, "good");
	s = ksyms__lookup(ks, 0xffffffff81002000, NULL);
	cr_expect_str_eq(s->name, "also_good");
	cr_expect_str_eq(s->module, "mod");
	s = ksyms__lookup(ks, 0xffffffff81003000, NULL);
	cr_expect_str_eq(s->name, "no_newline_at_eof");
	ksyms__free(ks);
}

/* Appends n bytes (NULs included) to a test buffer, failing the test rather
 * than overflowing it. */
static void put(char *buf, size_t *len, size_t cap, const void *data, size_t n)
{
	cr_assert_leq(n, cap - *len);
	memcpy(buf + *len, data, n);
	*len += n;
}

#define PUT_STR(buf, len, s) put(buf, len, sizeof(buf), s, strlen(s))

Test(ksyms, nul_bytes_and_long_lines_are_skipped)
{
	char buf[4 * KSYMS_LINE_MAX], xs[2 * KSYMS_LINE_MAX];
	size_t len = 0;
	struct ksyms *ks;

	PUT_STR(buf, &len, "ffffffff81000000 T before_nul");
	put(buf, &len, sizeof(buf), "", 1);
	PUT_STR(buf, &len, "_hidden\n");
	PUT_STR(buf, &len, "ffffffff81000100 T ");
	memset(xs, 'x', sizeof(xs));
	put(buf, &len, sizeof(buf), xs, sizeof(xs));
	PUT_STR(buf, &len, "\nffffffff81000200 T after\n");

	ks = parse_buf(buf, len);
	cr_assert_not_null(ks);
	cr_expect_eq(ksyms__count(ks), 1);
	cr_expect_str_eq(ksyms__lookup(ks, 0xffffffff81000200, NULL)->name, "after");
	ksyms__free(ks);
}

Test(ksyms, name_length_limit)
{
	char text[2 * KSYMS_LINE_MAX];
	char name_max[KSYMS_NAME_MAX + 1], name_long[KSYMS_NAME_MAX + 2];
	struct ksyms *ks;
	int n;

	memset(name_max, 'a', KSYMS_NAME_MAX);
	name_max[KSYMS_NAME_MAX] = '\0';
	memset(name_long, 'b', KSYMS_NAME_MAX + 1);
	name_long[KSYMS_NAME_MAX + 1] = '\0';
	n = snprintf(text, sizeof(text), "ffffffff81000000 T %s\nffffffff81000100 T %s\n",
		     name_max, name_long);
	cr_assert(n > 0 && (size_t)n < sizeof(text));

	ks = parse_str(text);
	cr_assert_not_null(ks);
	cr_expect_eq(ksyms__count(ks), 1);
	cr_expect_str_eq(ksyms__lookup(ks, 0xffffffff81000100, NULL)->name, name_max);
	ksyms__free(ks);
}

Test(ksyms, aliases_and_duplicates_keep_one_per_address)
{
	static const char text[] =
		"ffffffff81000000 t local_first\n"
		"ffffffff81000000 T __global_underscored\n"
		"ffffffff81000000 T global\n"
		"ffffffff81000000 W weak\n"
		"ffffffff81000000 T global_later\n"
		"ffffffff81000100 T dup\n"
		"ffffffff81000100 T dup\n"
		"ffffffff81000200 w weak_b\n"
		"ffffffff81000200 W weak_a\n"
		"ffffffff81000300 t local\n"
		"ffffffff81000300 w weak\n";
	struct ksyms *ks = parse_str(text);

	cr_assert_not_null(ks);
	cr_expect_eq(ksyms__count(ks), 4);
	/* Global beats local and weak; no leading underscore beats some; then
	 * the first in the file. */
	cr_expect_str_eq(ksyms__lookup(ks, 0xffffffff81000000, NULL)->name, "global");
	cr_expect_str_eq(ksyms__lookup(ks, 0xffffffff81000180, NULL)->name, "dup");
	cr_expect_str_eq(ksyms__lookup(ks, 0xffffffff81000200, NULL)->name, "weak_b");
	cr_expect_str_eq(ksyms__lookup(ks, 0xffffffff81000300, NULL)->name, "local");
	ksyms__free(ks);
}

Test(ksyms, hidden_addresses_fail_with_eperm)
{
	static const char text[] =
		"0000000000000000 T _stext\n"
		"0000000000000000 t helper\n"
		"0000000000000000 D data\n"
		"0000000000000000 t foo_init\t[ext4]\n";

	errno = 0;
	cr_expect_null(parse_str(text));
	cr_expect_eq(errno, EPERM);
}

Test(ksyms, no_text_symbol_fails_with_enodata)
{
	static const char *const inputs[] = {
		"",
		"\n\n\n",
		"garbage\n",
		"ffffffff81000000 D data_only\nffffffff81000100 t __pfx_x\n",
	};

	for (size_t i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++) {
		errno = 0;
		cr_expect_null(parse_str(inputs[i]), "input %zu", i);
		cr_expect_eq(errno, ENODATA, "input %zu", i);
	}
}

Test(ksyms, load_errors)
{
	char dir[] = "/tmp/test_ksyms.XXXXXX";
	char missing[sizeof(dir) + 16];

	cr_assert_not_null(mkdtemp(dir));
	snprintf(missing, sizeof(missing), "%s/missing", dir);
	errno = 0;
	cr_expect_null(ksyms__load(missing));
	cr_expect_eq(errno, ENOENT);
	/* A directory opens but cannot be read. */
	errno = 0;
	cr_expect_null(ksyms__load(dir));
	cr_expect_eq(errno, EISDIR);
	rmdir(dir);
}

static size_t heap_in_use(void)
{
	struct mallinfo2 mi = mallinfo2();

	return mi.uordblks + mi.hblkhd;
}

/* Finds `name`'s address with an independent, naive scan of the file. */
static uint64_t kallsyms_addr_of(const char *name)
{
	char line[1024], sym[600];
	unsigned long long addr;
	uint64_t found = 0;
	char type;
	FILE *f = fopen("/proc/kallsyms", "re");

	cr_assert_not_null(f);
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%llx %c %599s", &addr, &type, sym) == 3 && !strcmp(sym, name)) {
			found = addr;
			break;
		}
	}
	fclose(f);
	return found;
}

Test(ksyms, real_kallsyms)
{
	uint64_t do_exit = kallsyms_addr_of("do_exit");
	uint64_t stext = kallsyms_addr_of("_stext");
	size_t heap_before = heap_in_use();
	const struct ksym *s;
	struct ksyms *ks;
	uint64_t off;

	ks = ksyms__load("/proc/kallsyms");
	if (!do_exit) {
		/* kptr_restrict hides addresses from us: the load must say so. */
		cr_expect_null(ks);
		cr_expect_eq(errno, EPERM);
		return;
	}
	cr_assert_not_null(ks, "load: %s", strerror(errno));
	cr_expect_lt(heap_in_use() - heap_before, 16u << 20, "load used %zu bytes",
		     heap_in_use() - heap_before);
	cr_expect_gt(ksyms__count(ks), 1000);

	s = ksyms__lookup(ks, do_exit, &off);
	cr_assert_not_null(s);
	cr_expect_str_eq(s->name, "do_exit");
	cr_expect_null(s->module);
	cr_expect_eq(off, 0);
	s = ksyms__lookup(ks, do_exit + 1, &off);
	cr_expect_str_eq(s->name, "do_exit");
	cr_expect_eq(off, 1);

	/* _stext has aliases; whichever is chosen must sit exactly there. */
	s = ksyms__lookup(ks, stext, &off);
	cr_assert_not_null(s);
	cr_expect_eq(s->addr, stext);
	cr_expect_eq(kallsyms_addr_of(s->name), stext, "%s", s->name);
	ksyms__free(ks);
}
