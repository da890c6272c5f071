#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "procstatus.h"
#include "readfile.h"

/* "  1234 kB" -> bytes; false on anything else. */
static bool parse_kb(const char *s, size_t len, uint64_t *out)
{
	uint64_t v = 0;
	size_t i = 0;

	while (i < len && (s[i] == ' ' || s[i] == '\t'))
		i++;
	if (i == len || s[i] < '0' || s[i] > '9')
		return false;
	for (; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
		if (v > (UINT64_MAX / 1024 - 9) / 10)
			return false;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (len - i != 3 || memcmp(s + i, " kB", 3))
		return false;
	*out = v * 1024;
	return true;
}

/* Whitespace-separated pids in s[0..len): up to max into out; count or -1 if malformed. */
static int parse_pid_list(const char *s, size_t len, pid_t *out, int max)
{
	int n = 0;
	size_t i = 0;

	for (;;) {
		uint64_t v = 0;
		size_t start;

		while (i < len && (s[i] == ' ' || s[i] == '\t'))
			i++;
		if (i == len)
			return n;
		for (start = i; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
			v = v * 10 + (uint64_t)(s[i] - '0');
			if (v > INT_MAX)
				return -1;
		}
		if (i == start || (i < len && s[i] != ' ' && s[i] != '\t') || !v || n == max)
			return -1;
		out[n++] = (pid_t)v;
	}
}

static bool parse_one_pid(const char *s, size_t len, pid_t *out)
{
	return parse_pid_list(s, len, out, 1) == 1;
}

/* The value of a "Key:\tvalue" line, or NULL when the line is not key's. */
static const char *value_of(const char *line, size_t len, const char *key, size_t *vlen)
{
	size_t klen = strlen(key);

	if (len <= klen || memcmp(line, key, klen) || line[klen] != ':')
		return NULL;
	line += klen + 1;
	len -= klen + 1;
	/* Name has exactly one tab before it: what follows may start with blanks. */
	if (len && line[0] == '\t')
		line++, len--;
	*vlen = len;
	return line;
}

static void parse_line(const char *line, size_t len, struct procstatus *out)
{
	static const struct {
		const char *key;
		unsigned field;
		size_t off;
	} kb[] = {
		{ "VmRSS", PROCSTATUS_VMRSS, offsetof(struct procstatus, vm_rss) },
		{ "RssAnon", PROCSTATUS_RSSANON, offsetof(struct procstatus, rss_anon) },
		{ "RssFile", PROCSTATUS_RSSFILE, offsetof(struct procstatus, rss_file) },
		{ "RssShmem", PROCSTATUS_RSSSHMEM, offsetof(struct procstatus, rss_shmem) },
	};
	const char *v;
	size_t vlen;
	int n;

	if ((v = value_of(line, len, "Name", &vlen))) {
		if (vlen > PROCSTATUS_NAME_MAX)
			vlen = PROCSTATUS_NAME_MAX;
		memcpy(out->name, v, vlen);
		out->name[vlen] = '\0';
		out->have |= PROCSTATUS_NAME;
	} else if ((v = value_of(line, len, "Tgid", &vlen))) {
		if (parse_one_pid(v, vlen, &out->tgid))
			out->have |= PROCSTATUS_TGID;
	} else if ((v = value_of(line, len, "PPid", &vlen))) {
		/* The parent of init and of kthreadd is 0. */
		if (vlen == 1 && v[0] == '0') {
			out->ppid = 0;
			out->have |= PROCSTATUS_PPID;
		} else if (parse_one_pid(v, vlen, &out->ppid)) {
			out->have |= PROCSTATUS_PPID;
		}
	} else if ((v = value_of(line, len, "NSpid", &vlen))) {
		n = parse_pid_list(v, vlen, out->nspid, PROCSTATUS_NS_MAX);
		if (n > 0) {
			out->n_nspid = n;
			out->have |= PROCSTATUS_NSPID;
		}
	} else {
		for (size_t i = 0; i < sizeof(kb) / sizeof(kb[0]); i++) {
			uint64_t bytes;

			if ((v = value_of(line, len, kb[i].key, &vlen)) && parse_kb(v, vlen, &bytes)) {
				memcpy((char *)out + kb[i].off, &bytes, sizeof(bytes));
				out->have |= kb[i].field;
				break;
			}
		}
	}
}

int procstatus__parse(const char *text, size_t len, struct procstatus *out)
{
	const char *p = text, *end = text + len;

	if (!text || !out)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));

		if (!eol)
			eol = end;
		parse_line(p, (size_t)(eol - p), out);
		p = eol < end ? eol + 1 : end;
	}
	return out->have & (PROCSTATUS_NAME | PROCSTATUS_TGID) ? 0 : -EINVAL;
}

int procstatus__read(const char *proc_root, pid_t pid, struct procstatus *out)
{
	char path[PATH_MAX], buf[PROCSTATUS_FILE_MAX];
	ssize_t n;
	int r;

	if (!proc_root || pid <= 0 || !out)
		return -EINVAL;
	r = snprintf(path, sizeof(path), "%s/%d/status", proc_root, (int)pid);
	if (r < 0 || (size_t)r >= sizeof(path))
		return -ENAMETOOLONG;
	n = readfile__at(AT_FDCWD, path, buf, sizeof(buf));
	if (n < 0)
		return (int)n;
	return procstatus__parse(buf, (size_t)n, out);
}

pid_t procstatus__inner_pid(const struct procstatus *ps)
{
	if (!ps)
		return 0;
	return ps->n_nspid > 0 ? ps->nspid[ps->n_nspid - 1] : ps->tgid;
}
