#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "fixture_tree.h"
#include "readfile.h"

static struct fixture_tree t;

static void setup(void) { ftree_init(&t); }
static void teardown(void) { ftree_remove(&t); }

TestSuite(readfile, .init = setup, .fini = teardown);

Test(readfile, whole_small_file)
{
	char buf[64];

	ftree_write(&t, "/f", "a 1\nb 2\n", (size_t)-1);
	cr_assert_eq(readfile__at(AT_FDCWD, ftree_path(&t, "/f"), buf, sizeof(buf)), 8);
	cr_assert_str_eq(buf, "a 1\nb 2\n");
}

Test(readfile, exact_fit_is_not_cut)
{
	char buf[9];

	ftree_write(&t, "/f", "a 1\nb 22", (size_t)-1);
	cr_assert_eq(readfile__at(AT_FDCWD, ftree_path(&t, "/f"), buf, sizeof(buf)), 8);
	cr_assert_str_eq(buf, "a 1\nb 22");
}

Test(readfile, longer_file_keeps_whole_lines_only)
{
	char buf[10];

	/* "b 12345" would be cut to "b 12": a smaller number that looks valid. */
	ftree_write(&t, "/f", "a 1\nb 12345\nc 3\n", (size_t)-1);
	cr_assert_eq(readfile__at(AT_FDCWD, ftree_path(&t, "/f"), buf, sizeof(buf)), 4);
	cr_assert_str_eq(buf, "a 1\n");
}

Test(readfile, one_long_line_gives_nothing)
{
	char buf[8];

	ftree_write(&t, "/f", "123456789012345", (size_t)-1);
	cr_assert_eq(readfile__at(AT_FDCWD, ftree_path(&t, "/f"), buf, sizeof(buf)), 0);
	cr_assert_str_eq(buf, "");
}

Test(readfile, errors)
{
	char buf[8];
	size_t len;

	cr_assert_eq(readfile__at(AT_FDCWD, ftree_path(&t, "/missing"), buf, sizeof(buf)),
		     -ENOENT);
	cr_assert_eq(readfile__at(AT_FDCWD, ftree_path(&t, ""), buf, sizeof(buf)), -EISDIR);
	cr_assert_eq(readfile__at(AT_FDCWD, "x", buf, 1), -EINVAL);
	cr_assert_null(readfile__alloc(AT_FDCWD, ftree_path(&t, "/missing"), 100, &len));
	cr_assert_eq(errno, ENOENT);
}

Test(readfile, alloc_grows_and_bounds)
{
	size_t n = 100000, len;
	char *text = malloc(n + 1), *got;

	for (size_t i = 0; i < n; i++)
		text[i] = i % 10 == 9 ? '\n' : (char)('0' + i % 10);
	text[n] = '\0';
	ftree_write(&t, "/big", text, n);
	got = readfile__alloc(AT_FDCWD, ftree_path(&t, "/big"), n + 1, &len);
	cr_assert_not_null(got);
	cr_assert_eq(len, n);
	cr_assert_str_eq(got, text);
	free(got);
	/* Bounded: cut after the last whole line that fits. */
	got = readfile__alloc(AT_FDCWD, ftree_path(&t, "/big"), 5006, &len);
	cr_assert_not_null(got);
	cr_assert_eq(len, 5000);
	cr_assert_eq(got[len - 1], '\n');
	cr_assert_eq(got[len], '\0');
	free(got);
	free(text);
}
