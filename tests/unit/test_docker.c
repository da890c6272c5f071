#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include "ctrnames.h"
#include "docker.h"
#include "fixture_tree.h"

#define ID_A "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define ID_B "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"
#define ID_C "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" /* not listed */

/* Shaped like Docker Engine API 1.43's answer, with the fields memscope skips. */
static const char containers_json[] =
	"[{\"Id\":\"" ID_B "\",\"Names\":[\"/web\",\"/proxy/web\"],\"Image\":\"nginx:1.25\","
	"\"ImageID\":\"sha256:aa\",\"Command\":\"nginx -g 'daemon off;'\",\"Created\":1700000000,"
	"\"Ports\":[{\"IP\":\"0.0.0.0\",\"PrivatePort\":80,\"PublicPort\":8080,\"Type\":\"tcp\"}],"
	"\"Labels\":{\"com.docker.compose.project\":\"shop\",\"empty\":\"\"},"
	"\"State\":\"running\",\"Status\":\"Up 2 hours\",\"HostConfig\":{\"NetworkMode\":\"default\"},"
	"\"NetworkSettings\":{\"Networks\":{\"bridge\":{\"IPAMConfig\":null,\"Links\":null,"
	"\"MacAddress\":\"02:42:ac:11:00:02\",\"GlobalIPv6PrefixLen\":0,\"Ratio\":-1.5e-3}}},"
	"\"Mounts\":[],\"Healthy\":true,\"Paused\":false},\n"
	" {\"Names\":[\"/caf\\u00e9-\\ud83d\\ude00\\t\"],\"Id\":\"" ID_A "\",\"Image\":\"a\\\"b\\\\c\\/d\"},"
	" {\"Id\":\"not-an-id\",\"Names\":[\"/bad\"],\"Image\":\"x\"},"
	" {\"Id\":\"" ID_A "0\",\"Names\":[\"/long\"]},"
	" 42, \"text\", null ]\n";

static struct docker_list parse_ok(const char *json)
{
	struct docker_list l;

	cr_assert_eq(docker__parse_containers(json, strlen(json), &l), 0, "%s", json);
	return l;
}

Test(docker, parse_containers)
{
	struct docker_list l = parse_ok(containers_json);
	const struct docker_ctr *c;

	cr_assert_eq(l.n, 2, "entries without a 64-hex id are skipped");
	c = docker__find(&l, ID_B);
	cr_assert_not_null(c);
	cr_assert_str_eq(c->name, "web");
	cr_assert_str_eq(c->image, "nginx:1.25");
	c = docker__find(&l, ID_A);
	cr_assert_not_null(c);
	cr_assert_str_eq(c->name, "caf\xc3\xa9-\xf0\x9f\x98\x80\t");
	cr_assert_str_eq(c->image, "a\"b\\c/d");
	cr_assert_null(docker__find(&l, "0123456789ab"));
	cr_assert_null(docker__find(&l, ID_A "0"));
	docker__list_free(&l);
	cr_assert_eq(l.n, 0);
}

Test(docker, parse_empty_and_missing_fields)
{
	struct docker_list l = parse_ok(" [ ] ");

	cr_assert_eq(l.n, 0);
	docker__list_free(&l);
	l = parse_ok("[{\"Id\":\"" ID_A "\"},{\"Id\":\"" ID_B "\",\"Names\":[],\"Image\":null}]");
	cr_assert_eq(l.n, 2);
	cr_assert_str_eq(docker__find(&l, ID_A)->name, "");
	cr_assert_str_eq(docker__find(&l, ID_B)->image, "");
	docker__list_free(&l);
}

Test(docker, long_names_are_cut_on_a_character)
{
	char json[1024], name[400];
	struct docker_list l;
	size_t len;

	/* 'x' then two-byte characters: the cut may not split one. */
	name[0] = 'x';
	for (len = 1; len + 2 < sizeof(name) - 1; len += 2)
		memcpy(name + len, "\xc3\xa9", 2);
	name[len] = '\0';
	snprintf(json, sizeof(json), "[{\"Id\":\"%s\",\"Names\":[\"/%s\"]}]", ID_A, name);
	l = parse_ok(json);
	len = strlen(l.ctrs[0].name);
	cr_assert_lt(len, DOCKER_NAME_MAX);
	cr_assert_eq(len % 2, 1, "ends on a whole character (x + 2-byte ones)");
	docker__list_free(&l);
}

struct bad_json {
	char text[96];
};

static struct bad_json bad_jsons[] = {
	{ "" },
	{ "{}" },
	{ "[" },
	{ "[{\"Id\":\"abc\"" },
	{ "[{\"Id\" \"abc\"}]" },
	{ "[{\"Id\":\"abc}]" },
	{ "[{\"Id\":\"a\\u0000b\"}]" },
	{ "[{\"Id\":\"a\\x\"}]" },
	{ "[{\"Id\":\"a\\u12\"}]" },
	{ "[{\"Id\":\"a\nb\"}]" },
	{ "[1,]" },
	{ "[] []" },
	{ "[tru]" },
	{ "[{\"a\":}]" },
	{ "[{\"a\":1 \"b\":2}]" },
};

ParameterizedTestParameters(docker, parse_rejects)
{
	return cr_make_param_array(struct bad_json, bad_jsons,
				   sizeof(bad_jsons) / sizeof(bad_jsons[0]));
}

ParameterizedTest(struct bad_json *b, docker, parse_rejects)
{
	struct docker_list l = { .n = 99 };

	cr_assert_eq(docker__parse_containers(b->text, strlen(b->text), &l), -EPROTO, "%s",
		     b->text);
	cr_assert_eq(l.n, 0);
	cr_assert_null(l.ctrs);
}

Test(docker, parse_deep_nesting_is_bounded)
{
	size_t depth = 100000;
	char *json = malloc(2 * depth + 16), *p = json;
	struct docker_list l;

	p += sprintf(p, "[{\"x\":");
	memset(p, '[', depth);
	p += depth;
	memset(p, ']', depth);
	p += depth;
	strcpy(p, "}]");
	cr_assert_eq(docker__parse_containers(json, strlen(json), &l), -EPROTO);
	free(json);
}

/* ---- HTTP ------------------------------------------------------------------- */

Test(docker, http_content_length)
{
	static const char resp[] = "HTTP/1.1 200 OK\r\nApi-Version: 1.43\r\nContent-Type: "
				   "application/json\r\ncontent-length: 5\r\n\r\n[1,2]trailing";
	size_t len;
	char *body;
	int status;

	cr_assert_eq(docker__http_body(resp, sizeof(resp) - 1, &status, &body, &len), 0);
	cr_assert_eq(status, 200);
	cr_assert_eq(len, 5);
	cr_assert_str_eq(body, "[1,2]");
	free(body);
}

Test(docker, http_chunked)
{
	static const char resp[] = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
				   "4\r\n[{\"a\r\nB;ext=1\r\n\":1},{\"b\":2\r\n2\r\n}]\r\n0\r\n\r\n";
	size_t len;
	char *body;
	int status;

	cr_assert_eq(docker__http_body(resp, sizeof(resp) - 1, &status, &body, &len), 0);
	cr_assert_str_eq(body, "[{\"a\":1},{\"b\":2}]");
	cr_assert_eq(len, strlen(body));
	free(body);
}

Test(docker, http_until_close_and_errors)
{
	static const char plain[] = "HTTP/1.0 404 Not Found\r\n\r\n{\"message\":\"no\"}";
	size_t len;
	char *body;
	int status;

	cr_assert_eq(docker__http_body(plain, sizeof(plain) - 1, &status, &body, &len), 0);
	cr_assert_eq(status, 404);
	cr_assert_str_eq(body, "{\"message\":\"no\"}");
	free(body);
}

struct bad_http {
	char text[128];
};

static struct bad_http bad_https[] = {
	{ "" },
	{ "HTTP/1.1 200 OK\r\n" },				/* no end of headers */
	{ "HTTP/1.1 200 OK\n\n[]" },				/* bare newlines */
	{ "HTTP/2 200 OK\r\n\r\n[]" },
	{ "HTTP/1.1 2000 OK\r\n\r\n[]" },
	{ "HTTP/1.1 abc OK\r\n\r\n[]" },
	{ "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n[]" },	/* short body */
	{ "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10\r\n[]\r\n0\r\n\r\n" },
	{ "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n[]\r\n0\r\n\r\n" },
	{ "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n[]" },	/* no end */
	{ "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffff\r\n[]\r\n" },
};

ParameterizedTestParameters(docker, http_rejects)
{
	return cr_make_param_array(struct bad_http, bad_https,
				   sizeof(bad_https) / sizeof(bad_https[0]));
}

ParameterizedTest(struct bad_http *b, docker, http_rejects)
{
	char *body = (char *)1;
	size_t len;
	int status;

	cr_assert_eq(docker__http_body(b->text, strlen(b->text), &status, &body, &len), -EPROTO,
		     "%s", b->text);
	cr_assert_null(body);
}

Test(docker, socket_path)
{
	char buf[64];

	cr_assert_eq(docker__socket_path(NULL, buf, sizeof(buf)), 0);
	cr_assert_str_eq(buf, DOCKER_SOCK_DEFAULT);
	cr_assert_eq(docker__socket_path("", buf, sizeof(buf)), 0);
	cr_assert_str_eq(buf, DOCKER_SOCK_DEFAULT);
	cr_assert_eq(docker__socket_path("unix:///run/user/1000/docker.sock", buf, sizeof(buf)), 0);
	cr_assert_str_eq(buf, "/run/user/1000/docker.sock");
	cr_assert_eq(docker__socket_path("tcp://10.0.0.1:2376", buf, sizeof(buf)), -ENOTSUP);
	cr_assert_eq(docker__socket_path("unix://relative.sock", buf, sizeof(buf)), -ENOTSUP);
	cr_assert_eq(docker__socket_path("unix:///a/very/long/path/that/does/not/fit/in/the/buffer"
					 "/given/here.sock", buf, 32), -ENAMETOOLONG);
}

/* ---- the client against a fake engine ----------------------------------------- */

static struct fixture_tree t;
static char sock_path[108];
static int listen_fd = -1;

static void server_setup(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	ftree_init(&t);
	snprintf(sock_path, sizeof(sock_path), "%s/docker.sock", t.root);
	strcpy(sa.sun_path, sock_path);
	listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert_geq(listen_fd, 0);
	cr_assert_eq(bind(listen_fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	cr_assert_eq(listen(listen_fd, 4), 0);
}

static void server_teardown(void)
{
	if (listen_fd >= 0)
		close(listen_fd);
	listen_fd = -1;
	ftree_remove(&t);
}

enum behaviour { ANSWER, SILENT, HANG_UP };

/* A child that accepts one connection, checks the request and answers. */
static pid_t serve(enum behaviour how, const char *status, const char *body)
{
	pid_t pid = fork();
	char req[4096];
	size_t got = 0;
	int fd;

	cr_assert_geq(pid, 0);
	if (pid)
		return pid;
	fd = accept(listen_fd, NULL, NULL);
	while (fd >= 0 && got < sizeof(req) - 1 && !memmem(req, got, "\r\n\r\n", 4)) {
		ssize_t n = read(fd, req + got, sizeof(req) - 1 - got);

		if (n <= 0)
			_exit(1);
		got += (size_t)n;
	}
	req[got] = '\0';
	if (how == SILENT)
		pause();
	if (how == ANSWER) {
		char head[256];
		bool good = !strncmp(req, "GET /containers/json?all=1 HTTP/1.1\r\n", 37) &&
			    strstr(req, "\r\nHost: ");
		size_t blen = strlen(body);

		/* Two chunks, the way the engine streams a long list. */
		snprintf(head, sizeof(head), "HTTP/1.1 %s\r\nContent-Type: application/json\r\n"
			 "Transfer-Encoding: chunked\r\n\r\n%zx\r\n", good ? status : "400 Bad Request",
			 blen / 2);
		if (write(fd, head, strlen(head)) < 0 || write(fd, body, blen / 2) < 0)
			_exit(1);
		snprintf(head, sizeof(head), "\r\n%zx\r\n", blen - blen / 2);
		if (write(fd, head, strlen(head)) < 0 || write(fd, body + blen / 2, blen - blen / 2) < 0 ||
		    write(fd, "\r\n0\r\n\r\n", 7) < 0)
			_exit(1);
	}
	close(fd);
	_exit(0);
}

static void reap(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

Test(docker, fetch_from_fake_engine, .init = server_setup, .fini = server_teardown)
{
	pid_t srv = serve(ANSWER, "200 OK", containers_json);
	struct docker_list l;

	cr_assert_eq(docker__fetch(sock_path, 5000, &l), 0);
	reap(srv);
	cr_assert_eq(l.n, 2);
	cr_assert_str_eq(docker__find(&l, ID_B)->name, "web");
	docker__list_free(&l);
}

Test(docker, fetch_http_error, .init = server_setup, .fini = server_teardown)
{
	pid_t srv = serve(ANSWER, "500 Internal Server Error", "{\"message\":\"boom\"}");
	struct docker_list l;

	cr_assert_eq(docker__fetch(sock_path, 5000, &l), -EIO);
	reap(srv);
	cr_assert_eq(l.n, 0);
}

Test(docker, fetch_times_out, .init = server_setup, .fini = server_teardown)
{
	pid_t srv = serve(SILENT, NULL, NULL);
	struct docker_list l;
	struct timespec a, b;
	double took;

	clock_gettime(CLOCK_MONOTONIC, &a);
	cr_assert_eq(docker__fetch(sock_path, 300, &l), -ETIMEDOUT);
	clock_gettime(CLOCK_MONOTONIC, &b);
	reap(srv);
	took = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
	cr_assert_geq(took, 0.25);
	cr_assert_lt(took, 3.0);
}

Test(docker, fetch_engine_hangs_up, .init = server_setup, .fini = server_teardown)
{
	pid_t srv = serve(HANG_UP, NULL, NULL);
	struct docker_list l;

	cr_assert_eq(docker__fetch(sock_path, 5000, &l), -EPROTO);
	reap(srv);
}

Test(docker, fetch_without_engine, .init = server_setup, .fini = server_teardown)
{
	struct docker_list l;

	cr_assert_eq(docker__fetch(ftree_path(&t, "/absent.sock"), 500, &l), -ENOENT);
	ftree_write(&t, "/file.sock", "", 0);
	cr_assert_eq(docker__fetch(ftree_path(&t, "/file.sock"), 500, &l), -ECONNREFUSED);
	/* A socket nobody listens on any more. */
	close(listen_fd);
	listen_fd = -1;
	cr_assert_eq(docker__fetch(sock_path, 500, &l), -ECONNREFUSED);
}

/* The resolver every command uses: asks the engine on the first lookup, not
 * again for a container it knows, at most once a second for one it does not,
 * and keeps what it knew when the engine stops answering. */
Test(docker, names_resolver, .init = server_setup, .fini = server_teardown)
{
	pid_t srv = serve(ANSWER, "200 OK", containers_json);
	struct ctrnames nm = {};
	char host[PATH_MAX + 8];
	const char *name;

	snprintf(host, sizeof(host), "unix://%s", sock_path);
	setenv("DOCKER_HOST", host, 1);
	name = ctrnames__name(&nm, "/docker/" ID_B, 100.0);
	reap(srv);
	cr_assert_not_null(name);
	cr_expect_str_eq(name, "web");
	/* Known: no question to the engine (nobody would answer it now). */
	cr_expect_str_eq(ctrnames__name(&nm, "/system.slice/docker-" ID_B ".scope", 100.5), "web");
	cr_expect_null(ctrnames__name(&nm, "/user.slice", 100.5), "not a container");
	/* Unknown within the second: not asked again, so no wait either. */
	cr_expect_null(ctrnames__name(&nm, "/docker/" ID_C, 100.6));
	/* Later, the engine is asked and does not answer: what was known stays. */
	cr_expect_null(ctrnames__name(&nm, "/docker/" ID_C, 102.0));
	cr_expect_str_eq(ctrnames__name(&nm, "/docker/" ID_B, 102.0), "web");
	unsetenv("DOCKER_HOST");
	ctrnames__free(&nm);
}
