#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "docker.h"

#define HEADERS_MAX	65536	/* status line + headers */
#define KEY_MAX		16	/* the keys we want are shorter */

/* all=1: a container that just stopped (an OOM kill's victim was its main
 * process) is still named. */
static const char request[] =
	"GET /containers/json?all=1 HTTP/1.1\r\n"
	"Host: docker\r\n"
	"User-Agent: memscope\r\n"
	"Accept: application/json\r\n"
	"Connection: close\r\n"
	"\r\n";

int docker__socket_path(const char *docker_host, char *buf, size_t len)
{
	static const char scheme[] = "unix://";
	const char *path = DOCKER_SOCK_DEFAULT;
	int n;

	if (!buf || !len)
		return -EINVAL;
	if (docker_host && docker_host[0]) {
		if (strncmp(docker_host, scheme, sizeof(scheme) - 1) ||
		    docker_host[sizeof(scheme) - 1] != '/')
			return -ENOTSUP;
		path = docker_host + sizeof(scheme) - 1;
	}
	n = snprintf(buf, len, "%s", path);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/* ---- HTTP ------------------------------------------------------------------ */

/* The line at p (ending "\r\n" before end): its length, or -1 without one. */
static long line_len(const char *p, const char *end)
{
	const char *nl = memchr(p, '\n', (size_t)(end - p));

	if (!nl || nl == p || nl[-1] != '\r')
		return -1;
	return nl - 1 - p;
}

static bool header_is(const char *line, size_t len, const char *name, const char **val,
		      size_t *vlen)
{
	size_t nlen = strlen(name);

	if (len <= nlen || strncasecmp(line, name, nlen) || line[nlen] != ':')
		return false;
	*val = line + nlen + 1;
	*vlen = len - nlen - 1;
	while (*vlen && (**val == ' ' || **val == '\t'))
		(*val)++, (*vlen)--;
	while (*vlen && ((*val)[*vlen - 1] == ' ' || (*val)[*vlen - 1] == '\t'))
		(*vlen)--;
	return true;
}

/* Whole number in base (10 or 16) from s[0..len), bounded by max. */
static bool parse_num(const char *s, size_t len, int base, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (!len || len > 16)
		return false;
	for (size_t i = 0; i < len; i++) {
		int d = isdigit((unsigned char)s[i]) ? s[i] - '0'
			: base == 16 && isxdigit((unsigned char)s[i])
				? tolower((unsigned char)s[i]) - 'a' + 10 : -1;

		if (d < 0)
			return false;
		v = v * (uint64_t)base + (uint64_t)d;
		if (v > max)
			return false;
	}
	*out = v;
	return true;
}

/* Undo chunked coding of p[0..end) into out (at least as large). */
static int dechunk(const char *p, const char *end, char *out, size_t *out_len)
{
	size_t o = 0;

	for (;;) {
		long n = line_len(p, end);
		const char *semi;
		uint64_t size;

		if (n < 0)
			return -EPROTO;
		/* Chunk extensions (";name=value") carry nothing we need. */
		semi = memchr(p, ';', (size_t)n);
		if (!parse_num(p, semi ? (size_t)(semi - p) : (size_t)n, 16, DOCKER_RESPONSE_MAX,
			       &size))
			return -EPROTO;
		p += n + 2;
		if (!size)
			break;
		if ((uint64_t)(end - p) < size + 2 || p[size] != '\r' || p[size + 1] != '\n')
			return -EPROTO;
		memcpy(out + o, p, size);
		o += size;
		p += size + 2;
	}
	*out_len = o;
	return 0;
}

int docker__http_body(const char *resp, size_t len, int *status, char **body, size_t *body_len)
{
	const char *p = resp, *end = resp + len, *val;
	bool chunked = false, have_length = false;
	uint64_t length = 0, code;
	size_t vlen, out_len;
	long n;
	int err;

	if (!resp || !status || !body || !body_len)
		return -EINVAL;
	*body = NULL;
	n = line_len(p, end);
	/* "HTTP/1.1 200 OK" */
	if (n < 12 || memcmp(p, "HTTP/1.", 7) || !isdigit((unsigned char)p[7]) || p[8] != ' ' ||
	    !parse_num(p + 9, 3, 10, 999, &code) || (n > 12 && p[12] != ' '))
		return -EPROTO;
	*status = (int)code;
	for (p += n + 2; (n = line_len(p, end)) != 0; p += n + 2) {
		if (n < 0 || p - resp > HEADERS_MAX)
			return -EPROTO;
		if (header_is(p, (size_t)n, "Transfer-Encoding", &val, &vlen))
			chunked = vlen >= 7 && !strncasecmp(val + vlen - 7, "chunked", 7);
		else if (header_is(p, (size_t)n, "Content-Length", &val, &vlen))
			have_length = parse_num(val, vlen, 10, DOCKER_RESPONSE_MAX, &length);
	}
	p += 2;
	if (!chunked && have_length && (uint64_t)(end - p) < length)
		return -EPROTO;
	if (!chunked && have_length)
		end = p + length;
	*body = malloc((size_t)(end - p) + 1);
	if (!*body)
		return -ENOMEM;
	if (chunked) {
		err = dechunk(p, end, *body, &out_len);
		if (err) {
			free(*body);
			*body = NULL;
			return err;
		}
	} else {
		out_len = (size_t)(end - p);
		memcpy(*body, p, out_len);
	}
	(*body)[out_len] = '\0';
	*body_len = out_len;
	return 0;
}

/* ---- a JSON reader for what /containers/json holds ------------------------- */

struct jr {
	const char *p, *end;
	int depth;
};

static void ws(struct jr *j)
{
	while (j->p < j->end && strchr(" \t\r\n", *j->p) && *j->p)
		j->p++;
}

/* Consumes c (after blanks) if it is next. */
static bool eat(struct jr *j, char c)
{
	ws(j);
	if (j->p < j->end && *j->p == c) {
		j->p++;
		return true;
	}
	return false;
}

static int hex4(const char *p)
{
	uint64_t v;

	return parse_num(p, 4, 16, 0xffff, &v) ? (int)v : -1;
}

/* Appends n bytes to out[*o..cap - 1), or marks the string cut once they do not fit. */
static void put(char *out, size_t cap, size_t *o, const char *b, size_t n, bool *cut)
{
	if (!out || *cut || *o + n >= cap) {
		*cut = out != NULL;
		return;
	}
	memcpy(out + *o, b, n);
	*o += n;
}

static void put_utf8(char *out, size_t cap, size_t *o, unsigned cp, bool *cut)
{
	char u[4];
	size_t n;

	if (cp < 0x80) {
		u[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		u[0] = (char)(0xc0 | cp >> 6);
		u[1] = (char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		u[0] = (char)(0xe0 | cp >> 12);
		u[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		u[2] = (char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		u[0] = (char)(0xf0 | cp >> 18);
		u[1] = (char)(0x80 | (cp >> 12 & 0x3f));
		u[2] = (char)(0x80 | (cp >> 6 & 0x3f));
		u[3] = (char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	put(out, cap, o, u, n, cut);
}

/* A cut string must not end inside a multibyte character. */
static size_t drop_partial_utf8(const char *s, size_t len)
{
	size_t i = len, need;

	while (i > 0 && ((unsigned char)s[i - 1] & 0xc0) == 0x80 && len - i < 3)
		i--;
	if (i == 0 || (unsigned char)s[i - 1] < 0xc0)
		return len;
	need = (unsigned char)s[i - 1] >= 0xf0 ? 4 : (unsigned char)s[i - 1] >= 0xe0 ? 3 : 2;
	return len - (i - 1) >= need ? len : i - 1;
}

/* "\uXXXX" after the "\u", with a following low surrogate for a pair; 0 when
 * malformed, U+FFFD for a lone surrogate. */
static unsigned unicode_escape(struct jr *j)
{
	int hi = j->end - j->p >= 4 ? hex4(j->p) : -1, lo;

	if (hi <= 0)
		return 0;
	j->p += 4;
	if (hi < 0xd800 || hi > 0xdfff)
		return (unsigned)hi;
	if (hi < 0xdc00 && j->end - j->p >= 6 && j->p[0] == '\\' && j->p[1] == 'u' &&
	    (lo = hex4(j->p + 2)) >= 0xdc00 && lo <= 0xdfff) {
		j->p += 6;
		return 0x10000 + ((unsigned)(hi - 0xd800) << 10) + (unsigned)(lo - 0xdc00);
	}
	return 0xfffd;
}

/* A string into out[cap] (NULL: skip it); *cut when it did not fit. 0 or -EPROTO.
 * "\u0000" is refused: C strings could not hold it. */
static int string(struct jr *j, char *out, size_t cap, bool *cut)
{
	static const char esc_in[] = "\"\\/bfnrt", esc_out[] = "\"\\/\b\f\n\r\t";
	size_t o = 0;

	*cut = false;
	if (!eat(j, '"'))
		return -EPROTO;
	while (j->p < j->end && *j->p != '"') {
		char c = *j->p++;
		const char *e;

		if ((unsigned char)c < 0x20)
			return -EPROTO;
		if (c != '\\') {
			put(out, cap, &o, &c, 1, cut);
			continue;
		}
		if (j->p >= j->end)
			return -EPROTO;
		c = *j->p++;
		if (c == 'u') {
			unsigned cp = unicode_escape(j);

			if (!cp)
				return -EPROTO;
			put_utf8(out, cap, &o, cp, cut);
			continue;
		}
		e = c ? strchr(esc_in, c) : NULL;
		if (!e)
			return -EPROTO;
		put(out, cap, &o, &esc_out[e - esc_in], 1, cut);
	}
	if (j->p >= j->end)
		return -EPROTO;
	j->p++;
	if (out) {
		if (*cut)
			o = drop_partial_utf8(out, o);
		out[o] = '\0';
	}
	return 0;
}

static int skip_value(struct jr *j);

/* The members of an object or elements of an array after its opener, each
 * handed to fn (which must consume one value; key is NULL in arrays). */
static int members(struct jr *j, char closer, int (*fn)(struct jr *, const char *key, void *),
		   void *ctx)
{
	char key[KEY_MAX];
	bool cut;
	int err;

	if (++j->depth > DOCKER_JSON_DEPTH)
		return -EPROTO;
	if (eat(j, closer)) {
		j->depth--;
		return 0;
	}
	do {
		if (closer == '}') {
			if ((err = string(j, key, sizeof(key), &cut)))
				return err;
			if (cut)
				key[0] = '\0';	/* not one we want */
			if (!eat(j, ':'))
				return -EPROTO;
		}
		err = fn ? fn(j, closer == '}' ? key : NULL, ctx) : skip_value(j);
		if (err)
			return err;
	} while (eat(j, ','));
	if (!eat(j, closer))
		return -EPROTO;
	j->depth--;
	return 0;
}

static int skip_value(struct jr *j)
{
	static const char *const words[] = { "true", "false", "null" };
	bool cut;

	ws(j);
	if (j->p >= j->end)
		return -EPROTO;
	switch (*j->p) {
	case '"':
		return string(j, NULL, 0, &cut);
	case '{':
		j->p++;
		return members(j, '}', NULL, NULL);
	case '[':
		j->p++;
		return members(j, ']', NULL, NULL);
	}
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		size_t n = strlen(words[i]);

		if ((size_t)(j->end - j->p) >= n && !memcmp(j->p, words[i], n)) {
			j->p += n;
			return 0;
		}
	}
	/* A number: its characters, checked loosely (we never use one). */
	if (!strchr("-0123456789", *j->p) || !*j->p)
		return -EPROTO;
	while (j->p < j->end && *j->p && strchr("-+.eE0123456789", *j->p))
		j->p++;
	return 0;
}

/* "Names": ["/web", "/other/alias"]: the first one, without the '/'. */
static int first_name(struct jr *j, const char *key, void *ctx)
{
	struct docker_ctr *c = ctx;
	bool cut;
	int err;

	(void)key;
	ws(j);
	if (c->name[0] || j->p >= j->end || *j->p != '"')
		return skip_value(j);
	if ((err = string(j, c->name, sizeof(c->name), &cut)))
		return err;
	if (c->name[0] == '/' && c->name[1])
		memmove(c->name, c->name + 1, strlen(c->name));
	return 0;
}

static bool all_lower_hex(const char *s)
{
	size_t n = strspn(s, "0123456789abcdef");

	return n == DOCKER_ID_LEN && !s[n];
}

/* One member of a container object. */
static int container_member(struct jr *j, const char *key, void *ctx)
{
	struct docker_ctr *c = ctx;
	char id[DOCKER_ID_LEN + 2];
	bool cut;
	int err;

	ws(j);
	if (!strcmp(key, "Id") && j->p < j->end && *j->p == '"') {
		if ((err = string(j, id, sizeof(id), &cut)))
			return err;
		if (!cut && all_lower_hex(id))
			memcpy(c->id, id, sizeof(c->id));
		return 0;
	}
	if (!strcmp(key, "Image") && j->p < j->end && *j->p == '"')
		return string(j, c->image, sizeof(c->image), &cut);
	if (!strcmp(key, "Names") && eat(j, '['))
		return members(j, ']', first_name, c);
	return skip_value(j);
}

struct parse_ctx {
	struct docker_list *out;
	size_t cap;
};

static int container(struct jr *j, const char *key, void *ctx)
{
	struct parse_ctx *pc = ctx;
	struct docker_ctr c = {};
	int err;

	(void)key;
	if (!eat(j, '{'))
		return skip_value(j);
	if ((err = members(j, '}', container_member, &c)))
		return err;
	if (!c.id[0] || pc->out->n >= DOCKER_CONTAINERS_MAX)
		return 0;
	if (pc->out->n == pc->cap) {
		size_t cap = pc->cap ? pc->cap * 2 : 16;
		struct docker_ctr *grown = realloc(pc->out->ctrs, cap * sizeof(*grown));

		if (!grown)
			return -ENOMEM;
		pc->out->ctrs = grown;
		pc->cap = cap;
	}
	pc->out->ctrs[pc->out->n++] = c;
	return 0;
}

static int cmp_id(const void *a, const void *b)
{
	return strcmp(((const struct docker_ctr *)a)->id, ((const struct docker_ctr *)b)->id);
}

int docker__parse_containers(const char *json, size_t len, struct docker_list *out)
{
	struct jr j = { .p = json, .end = json + len };
	struct parse_ctx pc = { .out = out };
	int err;

	if (!json || !out)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	err = eat(&j, '[') ? members(&j, ']', container, &pc) : -EPROTO;
	ws(&j);
	if (!err && j.p != j.end)
		err = -EPROTO;
	if (err) {
		docker__list_free(out);
		return err;
	}
	if (out->n)
		qsort(out->ctrs, out->n, sizeof(*out->ctrs), cmp_id);
	return 0;
}

const struct docker_ctr *docker__find(const struct docker_list *l, const char *id)
{
	struct docker_ctr key;

	if (!l || !l->n || !id || strlen(id) != DOCKER_ID_LEN)
		return NULL;
	memcpy(key.id, id, sizeof(key.id));
	return bsearch(&key, l->ctrs, l->n, sizeof(*l->ctrs), cmp_id);
}

void docker__list_free(struct docker_list *l)
{
	if (!l)
		return;
	free(l->ctrs);
	l->ctrs = NULL;
	l->n = 0;
}

/* ---- the request ------------------------------------------------------------ */

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* Waits for events on fd until the deadline: 0, -ETIMEDOUT or -errno. */
static int wait_fd(int fd, short events, long long deadline)
{
	for (;;) {
		long long left = deadline - now_ms();
		struct pollfd pfd = { .fd = fd, .events = events };
		int r;

		if (left <= 0)
			return -ETIMEDOUT;
		r = poll(&pfd, 1, (int)(left > 60000 ? 60000 : left));
		if (r > 0)
			return 0;
		if (r < 0 && errno != EINTR)
			return -errno;
	}
}

static int connect_unix(const char *path, long long deadline, int *fd_out)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	socklen_t elen = sizeof(int);
	int fd, err = 0, soerr = 0;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		err = -errno;
		/* A full backlog: wait for the engine to accept, up to the deadline. */
		if (err == -EAGAIN || err == -EINPROGRESS) {
			err = wait_fd(fd, POLLOUT, deadline);
			if (!err && !getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &elen))
				err = -soerr;
		}
	}
	if (err) {
		close(fd);
		return err;
	}
	*fd_out = fd;
	return 0;
}

static int send_all(int fd, const char *buf, size_t len, long long deadline)
{
	while (len) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
		int err;

		if (n > 0) {
			buf += n;
			len -= (size_t)n;
			continue;
		}
		if (n < 0 && errno != EAGAIN && errno != EINTR)
			return -errno;
		if ((err = wait_fd(fd, POLLOUT, deadline)))
			return err;
	}
	return 0;
}

/* The whole response (the engine closes after it: Connection: close). */
static int recv_all(int fd, long long deadline, char **buf, size_t *len)
{
	size_t cap = 0, off = 0;

	*buf = NULL;
	for (;;) {
		ssize_t n;
		int err;

		if (off + 1 >= cap) {
			size_t ncap = cap ? cap * 2 : 16384;
			char *grown;

			if (cap >= DOCKER_RESPONSE_MAX)
				return -EFBIG;
			if (ncap > DOCKER_RESPONSE_MAX)
				ncap = DOCKER_RESPONSE_MAX;
			grown = realloc(*buf, ncap);
			if (!grown)
				return -ENOMEM;
			*buf = grown;
			cap = ncap;
		}
		n = recv(fd, *buf + off, cap - 1 - off, 0);
		if (n > 0) {
			off += (size_t)n;
			continue;
		}
		if (n == 0)
			break;
		if (errno != EAGAIN && errno != EINTR)
			return -errno;
		if ((err = wait_fd(fd, POLLIN, deadline)))
			return err;
	}
	(*buf)[off] = '\0';
	*len = off;
	return 0;
}

int docker__fetch(const char *sock_path, int timeout_ms, struct docker_list *out)
{
	long long deadline = now_ms() + (timeout_ms > 0 ? timeout_ms : 1);
	char *resp = NULL, *body = NULL;
	size_t len = 0, body_len = 0;
	int fd = -1, status = 0, err;

	if (!sock_path || !out)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	err = connect_unix(sock_path, deadline, &fd);
	if (!err)
		err = send_all(fd, request, sizeof(request) - 1, deadline);
	if (!err)
		err = recv_all(fd, deadline, &resp, &len);
	if (!err)
		err = docker__http_body(resp, len, &status, &body, &body_len);
	if (!err && status != 200)
		err = -EIO;
	if (!err)
		err = docker__parse_containers(body, body_len, out);
	if (fd >= 0)
		close(fd);
	free(resp);
	free(body);
	return err;
}
