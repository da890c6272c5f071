/* memscope flamegraph and diff on checked-in captures: the SVG is well-formed
 * XML (xmllint), a real browser renders it with its script working (headless
 * Chromium: the page is not blank and a search highlights the leak), and the
 * diff of the two captures is exactly the growth. No root needed. */
#include <criterion/criterion.h>
#include <dlfcn.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

#define BEFORE		"tests/fixtures/capture_before.folded"
#define AFTER		"tests/fixtures/capture_after.folded"
#define CHROMIUM	"/usr/bin/chromium"
#define XMLLINT		"/usr/bin/xmllint"
#define LEAK		"leakyHandler"
#define HIGHLIGHT	0xe600e6	/* rgb(230,0,230), the search highlight */
#define SHOT_W		1200
#define SHOT_H		800

/* Runs argv with stdout and stderr to files; its exit code, -1 if it did not
 * exit within timeout_s. */
static int run(char *const argv[], const char *out, const char *err, double timeout_s)
{
	int status = wait_exit(spawn(argv, out, err), timeout_s);

	return status >= 0 && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* memscope with the arguments up to a NULL. */
static int memscope(const char *out, const char *err, ...)
{
	char *argv[16] = { (char *)memscope_bin() };
	int n = 1;
	va_list ap;

	va_start(ap, err);
	while (n < 15 && (argv[n] = va_arg(ap, char *)))
		n++;
	va_end(ap);
	argv[n] = NULL;
	return run(argv, out, err, 30);
}

static void assert_well_formed(const char *svg)
{
	char *argv[] = { XMLLINT, "--noout", (char *)svg, NULL };
	const char *err = scratch_path("xmllint.err");

	cr_assert_eq(access(XMLLINT, X_OK), 0, "xmllint missing: run 'make deps' (libxml2-utils)");
	cr_assert_eq(run(argv, NULL, err, 30), 0, "%s is not well-formed XML:\n%s", svg,
		     read_text(err));
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	return remove(path);
}

/* Headless Chromium on file://svg?s=search, with a fresh profile each time
 * (removed afterwards: it is megabytes of caches). */
static void chromium(const char *svg, const char *search, const char *what, const char *out)
{
	char url[PATH_MAX + 64], profile[PATH_MAX], size[32], shot[PATH_MAX + 16], err[PATH_MAX];
	char *argv[16] = { CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
			   "--disable-quic", "--no-first-run", "--disable-background-networking",
			   "--disable-component-update", "--disable-sync" };
	int n = 9, rc;

	cr_assert_eq(access(CHROMIUM, X_OK), 0, "chromium missing: run 'make deps'");
	snprintf(profile, sizeof(profile), "--user-data-dir=%s", scratch_path("chromium-XXXXXX"));
	cr_assert_not_null(mkdtemp(profile + strlen("--user-data-dir=")));
	snprintf(size, sizeof(size), "--window-size=%d,%d", SHOT_W, SHOT_H);
	snprintf(url, sizeof(url), "file://%s%s%s", svg, search ? "?s=" : "", search ? search : "");
	argv[n++] = profile;
	argv[n++] = size;
	if (!strcmp(what, "screenshot")) {
		snprintf(shot, sizeof(shot), "--screenshot=%s", out);
		argv[n++] = shot;
		out = NULL;
	} else {
		argv[n++] = "--dump-dom";
	}
	argv[n++] = url;
	argv[n] = NULL;
	snprintf(err, sizeof(err), "%s", scratch_path("chromium.err"));
	rc = run(argv, out, err, 60);
	nftw(profile + strlen("--user-data-dir="), rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	cr_assert_eq(rc, 0, "chromium failed:\n%s", read_text(err));
}

/* ---- a small PNG reader: 8-bit RGB/RGBA, not interlaced, as Chromium writes ---- */

struct image {
	uint32_t w, h;
	unsigned bpp;		/* bytes per pixel */
	uint8_t *px;		/* rows of w * bpp bytes */
};

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* The test binary does not link zlib; the shared library is on every system
 * memscope runs on, so load its one-shot inflate at run time. */
typedef int (*uncompress_fn)(uint8_t *, unsigned long *, const uint8_t *, unsigned long);

static uncompress_fn zlib_uncompress(void)
{
	void *z = dlopen("libz.so.1", RTLD_NOW);

	cr_assert_not_null(z, "cannot load zlib: %s", dlerror());
	return (uncompress_fn)dlsym(z, "uncompress");
}

static uint8_t paeth(uint8_t a, uint8_t b, uint8_t c)
{
	int p = a + b - c, pa = abs(p - a), pb = abs(p - b), pc = abs(p - c);

	return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

static void unfilter(struct image *im, const uint8_t *raw)
{
	size_t stride = (size_t)im->w * im->bpp;

	for (uint32_t y = 0; y < im->h; y++) {
		const uint8_t *in = raw + y * (stride + 1) + 1;
		uint8_t *row = im->px + y * stride, *up = y ? row - stride : NULL;
		uint8_t type = in[-1];

		cr_assert_leq(type, 4, "bad PNG filter %u", type);
		for (size_t i = 0; i < stride; i++) {
			uint8_t a = i >= im->bpp ? row[i - im->bpp] : 0, b = up ? up[i] : 0;
			uint8_t c = up && i >= im->bpp ? up[i - im->bpp] : 0;
			uint8_t pred[] = { 0, a, b, (uint8_t)((a + b) / 2), paeth(a, b, c) };

			row[i] = in[i] + pred[type];
		}
	}
}

static struct image read_png(const char *path)
{
	static const uint8_t sig[8] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };
	struct image im = {};
	uint8_t *file, *idat = NULL, *raw;
	size_t idat_len = 0;
	unsigned long raw_len;
	struct stat st;
	FILE *f = fopen(path, "rb");

	cr_assert_not_null(f, "no screenshot %s", path);
	cr_assert_eq(fstat(fileno(f), &st), 0);
	file = malloc(st.st_size);
	cr_assert_eq(fread(file, 1, st.st_size, f), (size_t)st.st_size);
	fclose(f);
	cr_assert(st.st_size > 8 && !memcmp(file, sig, 8), "%s is not a PNG", path);
	for (size_t off = 8; off + 12 <= (size_t)st.st_size;) {
		uint32_t len = be32(file + off);
		const uint8_t *type = file + off + 4, *data = file + off + 8;

		cr_assert_leq(off + 12 + len, (size_t)st.st_size, "truncated PNG chunk");
		if (!memcmp(type, "IHDR", 4)) {
			im.w = be32(data);
			im.h = be32(data + 4);
			cr_assert(data[8] == 8 && (data[9] == 2 || data[9] == 6) && data[12] == 0,
				  "unexpected PNG format: depth %u, colour type %u, interlace %u",
				  data[8], data[9], data[12]);
			im.bpp = data[9] == 6 ? 4 : 3;
		} else if (!memcmp(type, "IDAT", 4)) {
			idat = realloc(idat, idat_len + len);
			memcpy(idat + idat_len, data, len);
			idat_len += len;
		}
		off += 12 + len;
	}
	cr_assert(im.w && im.h && idat, "PNG without header or data");
	raw_len = (unsigned long)im.h * (im.w * im.bpp + 1);
	raw = malloc(raw_len);
	im.px = malloc((size_t)im.w * im.h * im.bpp);
	cr_assert(raw && im.px);
	cr_assert_eq(zlib_uncompress()(raw, &raw_len, idat, idat_len), 0, "corrupt PNG data");
	cr_assert_eq(raw_len, (unsigned long)im.h * (im.w * im.bpp + 1));
	unfilter(&im, raw);
	free(raw);
	free(idat);
	free(file);
	return im;
}

/* Distinct colours, and pixels of colour rgb. */
static size_t colours(const struct image *im, uint32_t rgb, size_t *hits)
{
	uint8_t *seen = calloc(1 << 21, 1);	/* a bit per 24-bit colour */
	size_t n = 0;

	cr_assert_not_null(seen);
	*hits = 0;
	for (size_t i = 0; i < (size_t)im->w * im->h; i++) {
		const uint8_t *p = im->px + i * im->bpp;
		uint32_t c = (uint32_t)p[0] << 16 | p[1] << 8 | p[2];

		if (!(seen[c >> 3] & (1 << (c & 7)))) {
			seen[c >> 3] |= 1 << (c & 7);
			n++;
		}
		*hits += c == rgb;
	}
	free(seen);
	return n;
}

/* ---- the tests ---------------------------------------------------------- */

Test(flamegraph, renders_in_a_browser, .timeout = 90)
{
	char svg[PATH_MAX], png[PATH_MAX], dom[PATH_MAX], err[PATH_MAX];
	char *page, *m;
	struct image im;
	size_t n_colours, highlighted;
	double want, got;

	snprintf(err, sizeof(err), "%s", scratch_path("fg.err"));
	snprintf(svg, sizeof(svg), "%s", scratch_path("after.svg"));
	snprintf(png, sizeof(png), "%s", scratch_path("after.png"));
	snprintf(dom, sizeof(dom), "%s", scratch_path("after.dom"));
	cr_assert_eq(memscope(NULL, err, "flamegraph", AFTER, "-o", svg, "--title=after <soak>",
			      NULL),
		     0, "memscope flamegraph failed:\n%s", read_text(err));
	assert_well_formed(svg);

	chromium(svg, LEAK, "screenshot", png);
	im = read_png(png);
	cr_expect_eq(im.w, SHOT_W);
	cr_expect_eq(im.h, SHOT_H);
	n_colours = colours(&im, HIGHLIGHT, &highlighted);
	cr_expect_gt(n_colours, 20, "screenshot looks blank: %zu colours", n_colours);
	/* The leak is a 15 px high frame over most of the width: the script ran
	 * and painted it. */
	cr_expect_gt(highlighted, 3000, "search did not highlight the leak: %zu px", highlighted);
	free(im.px);

	/* The script's own sum of what matched, against the capture. */
	chromium(svg, LEAK, "dump-dom", dom);
	page = read_text(dom);
	cr_assert_not_null(page);
	m = strstr(page, "id=\"matched\"");
	m = m ? strchr(m, '>') : NULL;
	cr_assert(m && !strncmp(m, ">Matched: ", 10), "no search result in the rendered page");
	got = strtod(m + 10, NULL);
	want = 100.0 * folded_sum(AFTER, LEAK) / folded_sum(AFTER, NULL);
	cr_expect_float_eq(got, want, 0.006, "matched %.2f%%, want %.2f%%", got, want);
	cr_expect(strstr(page, "after &lt;soak&gt;") != NULL, "title escaped and shown");
	free(page);
}

/* Hostile frame names from stdin to stdout: still well-formed XML. */
Test(flamegraph, hostile_input_stays_well_formed)
{
	static const char hostile[] =
		"c;p;</title></g><script>alert(1)</script>;\"'&amp; 4096\n"
		"c;p;\xff\xfe\xc0\xaf\xed\xa0\x80;\x01\x02\x1b[31m;]]> 8192\n"
		"c;p;emoji_\xf0\x9f\x94\xa5;U+FFFF_\xef\xbf\xbf 4096\n"
		"not a folded line\n";
	const char *in = scratch_path("hostile.folded"), *out = scratch_path("hostile.svg");
	const char *err = scratch_path("hostile.err");
	char *svg, *argv[] = { "/bin/sh", "-c", NULL, NULL }, cmd[3 * PATH_MAX];
	FILE *f = fopen(in, "w");

	cr_assert_not_null(f);
	fputs(hostile, f);
	fclose(f);
	snprintf(cmd, sizeof(cmd), "exec %s flamegraph - < %s", memscope_bin(), in);
	argv[2] = cmd;
	cr_assert_eq(run(argv, out, err, 30), 0, "%s", read_text(err));
	cr_expect(strstr(read_text(err), "skipped 1 malformed") != NULL, "%s", read_text(err));
	assert_well_formed(out);
	svg = read_text(out);
	cr_expect(strstr(svg, "<script>alert") == NULL);
	free(svg);
}

Test(diff, growth_between_captures)
{
	static const char want[] =
		"4f2a9c1d7e3b;node;[v8-heap];_start;main;node::Start;"
		"v8::internal::Heap::AllocateRaw;Builtins_InterpreterEntryTrampoline_[j];"
		"LazyCompile:*leakyHandler_/app/server.js:42_[j] 104857600\n"
		"4f2a9c1d7e3b;node;[native];_start;main;node::Start;napi_create_buffer;"
		"\"lambda\"'s_helper;malloc 2097152\n";
	const char *out = scratch_path("growth.folded"), *err = scratch_path("growth.err");

	cr_assert_eq(memscope(NULL, err, "diff", BEFORE, AFTER, "-o", out, NULL), 0, "%s",
		     read_text(err));
	cr_expect_str_eq(read_text(out), want, "heaviest growth first, nothing else");
	cr_expect(strstr(read_text(err), "+102 MiB in 2 stacks that grew, -12.1 MiB in 2 that "
			 "shrank, 4 unchanged") != NULL, "%s", read_text(err));
}

Test(diff, all_and_two_column)
{
	const char *all = scratch_path("all.folded"), *two = scratch_path("two.folded");
	const char *svg = scratch_path("all.svg"), *err = scratch_path("diff.err");
	char *text;
	int bad;

	cr_assert_eq(memscope(all, err, "diff", "--all", BEFORE, AFTER, NULL), 0, "%s",
		     read_text(err));
	text = read_text(all);
	cr_expect(strstr(text, "filemap_read_[k] -12582912\n") != NULL, "%s", text);
	cr_expect(strstr(text, "operator_new(unsigned_long) -65536\n") != NULL, "%s", text);
	cr_expect_eq(strstr(text, "postgres"), NULL, "unchanged stacks are left out");
	free(text);

	/* memscope's own flame graph takes the signed file */
	cr_assert_eq(memscope(NULL, err, "flamegraph", all, "-o", svg, NULL), 0,
		     "%s", read_text(err));
	assert_well_formed(svg);
	text = read_text(svg);
	cr_expect(strstr(text, "<title>[shrank]&#10;-12.1 MiB") != NULL);
	cr_expect(strstr(text, "<title>[grew]&#10;102 MiB") != NULL);
	free(text);

	cr_assert_eq(memscope(two, err, "diff", "--two-column", BEFORE, NULL), 1,
		     "one file is not enough");
	cr_assert_eq(memscope(NULL, err, "diff", "--two-column", "-o", two, BEFORE, AFTER, NULL),
		     0, "%s", read_text(err));
	text = read_text(two);
	cr_expect(strstr(text, "leakyHandler_/app/server.js:42_[j] 52428800 157286400\n") != NULL);
	cr_expect(strstr(text, "operator_new(unsigned_long) 65536 0\n") != NULL);
	cr_expect(strstr(text, "shmem_fault_[k] 33554432 33554432\n") != NULL);
	cr_expect_eq(folded_lines(two, &bad), 8, "every stack of either capture");
	cr_expect_eq(bad, 0);
	free(text);
}

Test(diff, errors)
{
	const char *err = scratch_path("differr.err");

	cr_expect_eq(memscope(NULL, err, "diff", "/nonexistent.folded", AFTER, NULL), 1);
	cr_expect(strstr(read_text(err), "cannot open /nonexistent.folded") != NULL);
	cr_expect_eq(memscope(NULL, err, "diff", "-", "-", NULL), 1);
	cr_expect_eq(memscope(NULL, err, "flamegraph", "/nonexistent.folded", NULL), 1);
	cr_expect_eq(memscope(NULL, err, "flamegraph", AFTER, "--width", "5", NULL), 1);
	cr_expect(strstr(read_text(err), "--width wants") != NULL, "%s", read_text(err));
	cr_expect_eq(memscope(NULL, err, "flamegraph", AFTER, "-o", "/nonexistent/x.svg", NULL), 1);
}
