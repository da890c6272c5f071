#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include "httpd.h"

/* ---- routing and addresses ------------------------------------------------------ */

struct route_case {
	char method[16], url[64];
	enum httpd_route want;
};

static struct route_case route_cases[] = {
	{ "GET", "/metrics", HTTPD_METRICS },
	{ "HEAD", "/metrics", HTTPD_METRICS },
	{ "GET", "/", HTTPD_INDEX },
	{ "GET", "/healthz", HTTPD_HEALTHZ },
	{ "HEAD", "/healthz", HTTPD_HEALTHZ },
	{ "GET", "/healthz/", HTTPD_NOT_FOUND },
	{ "POST", "/metrics", HTTPD_NOT_FOUND },
	{ "PUT", "/", HTTPD_NOT_FOUND },
	{ "DELETE", "/metrics", HTTPD_NOT_FOUND },
	{ "get", "/metrics", HTTPD_NOT_FOUND },
	{ "GET", "/metrics/", HTTPD_NOT_FOUND },
	{ "GET", "/metricsx", HTTPD_NOT_FOUND },
	{ "GET", "/../etc/passwd", HTTPD_NOT_FOUND },
	{ "GET", "/proc/self/environ", HTTPD_NOT_FOUND },
	{ "GET", "", HTTPD_NOT_FOUND },
};

ParameterizedTestParameters(httpd, route)
{
	return cr_make_param_array(struct route_case, route_cases,
				   sizeof(route_cases) / sizeof(route_cases[0]));
}

ParameterizedTest(struct route_case *c, httpd, route)
{
	cr_expect_eq(httpd__route(c->method, c->url), c->want, "%s %s", c->method, c->url);
}

Test(httpd, route_null)
{
	cr_expect_eq(httpd__route(NULL, "/metrics"), HTTPD_NOT_FOUND);
	cr_expect_eq(httpd__route("GET", NULL), HTTPD_NOT_FOUND);
}

struct listen_case {
	char spec[64];
	bool ok;
	char canonical[64];	/* as httpd__format_addr prints it back */
};

static struct listen_case listen_cases[] = {
	{ "127.0.0.1:9464", true, "127.0.0.1:9464" },
	{ "0.0.0.0:80", true, "0.0.0.0:80" },
	{ "10.1.2.3:0", true, "10.1.2.3:0" },
	{ "[::1]:9464", true, "[::1]:9464" },
	{ "[::]:65535", true, "[::]:65535" },
	{ "[fe80::1:2]:1", true, "[fe80::1:2]:1" },
	{ "127.0.0.1", false, "" },
	{ ":9464", false, "" },
	{ "localhost:9464", false, "" },
	{ "127.0.0.1:65536", false, "" },
	{ "127.0.0.1:-1", false, "" },
	{ "127.0.0.1:+80", false, "" },
	{ "127.0.0.1:80x", false, "" },
	{ "127.0.0.1:", false, "" },
	{ "256.0.0.1:80", false, "" },
	{ "::1:9464", false, "" },
	{ "[::1]9464", false, "" },
	{ "[::1]:", false, "" },
	{ "[127.0.0.1]:80", false, "" },
	{ "[]:80", false, "" },
	{ "", false, "" },
};

ParameterizedTestParameters(httpd, parse_listen)
{
	return cr_make_param_array(struct listen_case, listen_cases,
				   sizeof(listen_cases) / sizeof(listen_cases[0]));
}

ParameterizedTest(struct listen_case *c, httpd, parse_listen)
{
	struct sockaddr_storage sa;
	socklen_t len = 0;
	char back[64];
	int rc = httpd__parse_listen(c->spec, &sa, &len);

	cr_assert_eq(rc == 0, c->ok, "'%s': %d", c->spec, rc);
	if (!c->ok) {
		cr_expect_eq(rc, -EINVAL);
		return;
	}
	cr_expect_eq(len, sa.ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) :
		     sizeof(struct sockaddr_in));
	httpd__format_addr((struct sockaddr *)&sa, back, sizeof(back));
	cr_expect_str_eq(back, c->canonical);
}

/* ---- a live server on a loopback port ------------------------------------------- */

/* One request on a fresh connection; the whole response (malloc'd). */
static char *request(uint16_t port, const char *req)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
	size_t len = 0, cap = 65536;
	char *buf = malloc(cap);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ssize_t n;

	cr_assert(buf && fd >= 0);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0, "%s", strerror(errno));
	cr_assert_eq(write(fd, req, strlen(req)), (ssize_t)strlen(req));
	while (len + 1 < cap) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };

		cr_assert_gt(poll(&pfd, 1, 5000), 0, "no answer within 5 s");
		n = read(fd, buf + len, cap - len - 1);
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	close(fd);
	return buf;
}

static struct httpd *start_loopback(void)
{
	struct sockaddr_storage sa;
	socklen_t len;
	struct httpd *h;

	cr_assert_eq(httpd__parse_listen("127.0.0.1:0", &sa, &len), 0);
	h = httpd__listen((struct sockaddr *)&sa, len);
	cr_assert_not_null(h, "cannot listen on loopback: %s", strerror(errno));
	cr_assert_gt(httpd__port(h), 0);
	cr_assert_eq(httpd__serve(h), 0);
	cr_assert_eq(httpd__serve(h), -EALREADY);
	return h;
}

Test(httpd, serves_the_published_page_and_nothing_else)
{
	struct httpd *h = start_loopback();
	uint16_t port = httpd__port(h);
	char *r;

	r = request(port, "GET /metrics HTTP/1.0\r\n\r\n");
	cr_expect(!strncmp(r, "HTTP/1.0 200", 12) || !strncmp(r, "HTTP/1.1 200", 12), "%s", r);
	cr_expect(strstr(r, "\r\n\r\n") && !strstr(r, "\r\n\r\n")[4], "empty before publish: %s",
		  r);
	free(r);

	httpd__publish(h, strdup("m 1\n"), 4);
	httpd__publish(h, strdup("m 2\n"), 4);
	r = request(port, "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
	cr_expect_not_null(strstr(r, "Content-Type: text/plain; version=0.0.4; charset=utf-8"), "%s",
			   r);
	cr_expect_not_null(strstr(r, "\r\n\r\nm 2\n"), "the last page published: %s", r);
	free(r);

	r = request(port, "GET /metrics?x=1 HTTP/1.0\r\n\r\n");
	cr_expect_not_null(strstr(r, "\r\n\r\nm 2\n"), "query strings are ignored: %s", r);
	free(r);

	r = request(port, "GET / HTTP/1.0\r\n\r\n");
	cr_expect_not_null(strstr(r, "href=\"/metrics\""), "%s", r);
	free(r);

	r = request(port, "HEAD /metrics HTTP/1.0\r\n\r\n");
	cr_expect_not_null(strstr(r, " 200 "), "%s", r);
	cr_expect_null(strstr(r, "m 2"), "HEAD has no body: %s", r);
	free(r);

	r = request(port, "GET /etc/passwd HTTP/1.0\r\n\r\n");
	cr_expect_not_null(strstr(r, " 404 "), "%s", r);
	free(r);
	r = request(port, "POST /metrics HTTP/1.0\r\nContent-Length: 5\r\n\r\nhello");
	cr_expect_not_null(strstr(r, " 404 "), "%s", r);
	cr_expect_null(strstr(r, "m 2"), "%s", r);
	free(r);

	/* Three GET/HEAD of /metrics so far, plus this one. */
	r = request(port, "GET /metrics HTTP/1.0\r\n\r\n");
	free(r);
	cr_expect_eq(httpd__scrapes(h), 5);
	httpd__stop(h);
}

/* /healthz: 200 while pages keep coming, 503 once none came for the age set. */
Test(httpd, healthz_fails_when_publishing_stops)
{
	struct httpd *h = start_loopback();
	uint16_t port = httpd__port(h);
	char *r;

	r = request(port, "GET /healthz HTTP/1.0\r\n\r\n");
	cr_expect(strstr(r, " 200 ") && strstr(r, "\r\n\r\nok\n"), "no age set: %s", r);
	free(r);
	httpd__set_liveness(h, 0.2);
	httpd__publish(h, strdup("m 1\n"), 4);
	r = request(port, "GET /healthz HTTP/1.0\r\n\r\n");
	cr_expect_not_null(strstr(r, " 200 "), "just published: %s", r);
	free(r);
	usleep(400000);
	r = request(port, "GET /healthz HTTP/1.0\r\n\r\n");
	cr_expect_not_null(strstr(r, " 503 "), "nothing published for 0.4 s: %s", r);
	free(r);
	httpd__publish(h, strdup("m 2\n"), 4);
	r = request(port, "GET /healthz HTTP/1.0\r\n\r\n");
	cr_expect_not_null(strstr(r, " 200 "), "published again: %s", r);
	free(r);
	cr_expect_eq(httpd__scrapes(h), 0, "/healthz is not a scrape");
	httpd__stop(h);
}

Test(httpd, a_busy_port_says_so)
{
	struct httpd *h = start_loopback(), *again;
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(httpd__port(h)) };

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	again = httpd__listen((struct sockaddr *)&sa, sizeof(sa));
	cr_expect_null(again);
	cr_expect_eq(errno, EADDRINUSE);
	httpd__stop(again);
	httpd__stop(h);
}

Test(httpd, stop_frees_the_port_served_or_not)
{
	struct httpd *h = start_loopback();
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(httpd__port(h)) };

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	httpd__stop(h);
	/* Bound, never served: the socket is still ours to close. */
	h = httpd__listen((struct sockaddr *)&sa, sizeof(sa));
	cr_assert_not_null(h, "port still held after stop: %s", strerror(errno));
	httpd__stop(h);
	h = httpd__listen((struct sockaddr *)&sa, sizeof(sa));
	cr_expect_not_null(h, "port still held after a stop without serving: %s", strerror(errno));
	httpd__stop(h);
	httpd__stop(NULL);
	cr_expect_eq(httpd__serve(NULL), -EINVAL);
	httpd__publish(NULL, strdup("x"), 1);	/* no server: the page is freed */
	cr_expect_eq(httpd__scrapes(NULL), 0);
}

Test(httpd, refuses_other_address_families)
{
	struct sockaddr sa = { .sa_family = AF_UNIX };

	cr_expect_null(httpd__listen(&sa, sizeof(sa)));
	cr_expect_eq(errno, EINVAL);
	cr_expect_null(httpd__listen(NULL, 0));
}
