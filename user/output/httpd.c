#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "httpd.h"
#include "log.h"
#include "promtext.h"

#define LISTEN_BACKLOG	64

static const char index_page[] =
	"<!DOCTYPE html>\n<html><head><title>memscope</title></head><body>\n"
	"<h1>memscope</h1>\n<p><a href=\"/metrics\">Metrics</a></p>\n</body></html>\n";
static const char not_found_page[] = "404 not found: memscope serves /metrics\n";
static const char live_page[] = "ok\n";
static const char stale_page[] = "stale: no metrics published lately\n";

#define REAP_PERIOD_MS	250

/* An open connection, as the reaper sees it. */
struct conn_slot {
	int fd;			/* -1: free */
	double accepted;	/* monotonic seconds */
};

struct httpd {
	struct MHD_Daemon *daemon;	/* NULL until httpd__serve */
	int fd;				/* the listening socket */
	int family;
	uint16_t port;
	pthread_mutex_t lock;	/* everything below */
	char *page;
	size_t len;
	uint64_t scrapes, cut;
	double published, live_max_age;
	struct conn_slot slots[HTTPD_CONNECTIONS_MAX];
	pthread_t reaper;
	bool reaping, stopping;
	pthread_cond_t wake;
};

static double mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

enum httpd_route httpd__route(const char *method, const char *url)
{
	if (!method || !url || (strcmp(method, "GET") && strcmp(method, "HEAD")))
		return HTTPD_NOT_FOUND;
	if (!strcmp(url, "/metrics"))
		return HTTPD_METRICS;
	if (!strcmp(url, "/healthz"))
		return HTTPD_HEALTHZ;
	if (!strcmp(url, "/"))
		return HTTPD_INDEX;
	return HTTPD_NOT_FOUND;
}

int httpd__parse_listen(const char *spec, struct sockaddr_storage *out, socklen_t *len)
{
	char host[INET6_ADDRSTRLEN + 1];
	const char *colon, *h = spec;
	size_t host_len;
	uint64_t port;

	if (!spec || !out || !len)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	if (spec[0] == '[') {
		const char *close = strchr(spec, ']');

		if (!close || close[1] != ':')
			return -EINVAL;
		h = spec + 1;
		host_len = (size_t)(close - h);
		colon = close + 1;
	} else {
		colon = strchr(spec, ':');
		/* A bare IPv6 address would be ambiguous about where the port starts. */
		if (!colon || strchr(colon + 1, ':'))
			return -EINVAL;
		host_len = (size_t)(colon - spec);
	}
	if (!host_len || host_len >= sizeof(host) || cli_u64(colon + 1, 0, 65535, &port))
		return -EINVAL;
	memcpy(host, h, host_len);
	host[host_len] = '\0';
	if (spec[0] == '[') {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)out;

		if (inet_pton(AF_INET6, host, &s6->sin6_addr) != 1)
			return -EINVAL;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		*len = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)out;

		if (inet_pton(AF_INET, host, &s4->sin_addr) != 1)
			return -EINVAL;
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		*len = sizeof(*s4);
	}
	return 0;
}

void httpd__format_addr(const struct sockaddr *sa, char *buf, size_t len)
{
	char host[INET6_ADDRSTRLEN];

	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;

		inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof(host));
		snprintf(buf, len, "[%s]:%u", host, ntohs(s6->sin6_port));
	} else if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;

		inet_ntop(AF_INET, &s4->sin_addr, host, sizeof(host));
		snprintf(buf, len, "%s:%u", host, ntohs(s4->sin_port));
	} else {
		snprintf(buf, len, "?");
	}
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];

	(void)cls;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	msg[strcspn(msg, "\n")] = '\0';
	log_debug("http: %s", msg);
}

static enum MHD_Result reply(struct MHD_Connection *conn, unsigned status, const char *type,
			     struct MHD_Response *resp)
{
	enum MHD_Result ret;

	if (!resp)
		return MHD_NO;
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	ret = MHD_queue_response(conn, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static bool is_live(struct httpd *h)
{
	bool live;

	pthread_mutex_lock(&h->lock);
	live = !h->live_max_age || mono_now() - h->published <= h->live_max_age;
	pthread_mutex_unlock(&h->lock);
	return live;
}

/* libmicrohttpd tells of every connection accepted and closed (CLOSED before
 * it closes the fd), so the reaper never touches an fd reused since. */
static void on_connection(void *cls, struct MHD_Connection *conn, void **ctx,
			  enum MHD_ConnectionNotificationCode code)
{
	const union MHD_ConnectionInfo *ci;
	struct httpd *h = cls;
	struct conn_slot *slot = *ctx;

	pthread_mutex_lock(&h->lock);
	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
		for (size_t i = 0; ci && i < HTTPD_CONNECTIONS_MAX && !*ctx; i++)
			if (h->slots[i].fd < 0) {
				h->slots[i] = (struct conn_slot){ ci->connect_fd, mono_now() };
				*ctx = &h->slots[i];
			}
	} else if (slot) {
		slot->fd = -1;
		*ctx = NULL;
	}
	pthread_mutex_unlock(&h->lock);
}

/* Cuts connections past their deadline. shutdown() and not close(): the fd
 * stays libmicrohttpd's, which sees the end of the stream and cleans up. */
static void *reap(void *arg)
{
	struct httpd *h = arg;
	struct timespec until;

	pthread_mutex_lock(&h->lock);
	while (!h->stopping) {
		double now = mono_now();

		for (size_t i = 0; i < HTTPD_CONNECTIONS_MAX; i++) {
			struct conn_slot *s = &h->slots[i];

			if (s->fd >= 0 && now - s->accepted > HTTPD_DEADLINE_S && s->accepted) {
				shutdown(s->fd, SHUT_RDWR);
				s->accepted = 0;	/* once */
				h->cut++;
			}
		}
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_nsec += REAP_PERIOD_MS * 1000000L;
		until.tv_sec += until.tv_nsec / 1000000000L;
		until.tv_nsec %= 1000000000L;
		pthread_cond_timedwait(&h->wake, &h->lock, &until);
	}
	pthread_mutex_unlock(&h->lock);
	return NULL;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version, const char *upload,
				  size_t *upload_size, void **req)
{
	struct httpd *h = cls;
	struct MHD_Response *resp;

	(void)version;
	(void)upload;
	(void)upload_size;
	(void)req;
	switch (httpd__route(method, url)) {
	case HTTPD_METRICS:
		pthread_mutex_lock(&h->lock);
		resp = MHD_create_response_from_buffer(h->len, h->page ? h->page : (char *)"",
						       MHD_RESPMEM_MUST_COPY);
		h->scrapes++;
		pthread_mutex_unlock(&h->lock);
		return reply(conn, MHD_HTTP_OK, PROMTEXT_CONTENT_TYPE, resp);
	case HTTPD_INDEX:
		resp = MHD_create_response_from_buffer(sizeof(index_page) - 1, (char *)index_page,
						       MHD_RESPMEM_PERSISTENT);
		return reply(conn, MHD_HTTP_OK, "text/html; charset=utf-8", resp);
	case HTTPD_HEALTHZ:
		if (!is_live(h)) {
			resp = MHD_create_response_from_buffer(sizeof(stale_page) - 1,
							       (char *)stale_page,
							       MHD_RESPMEM_PERSISTENT);
			return reply(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "text/plain; charset=utf-8",
				     resp);
		}
		resp = MHD_create_response_from_buffer(sizeof(live_page) - 1, (char *)live_page,
						       MHD_RESPMEM_PERSISTENT);
		return reply(conn, MHD_HTTP_OK, "text/plain; charset=utf-8", resp);
	case HTTPD_NOT_FOUND:
		break;
	}
	/* Any method, any body: answered at once, the body is never read. */
	resp = MHD_create_response_from_buffer(sizeof(not_found_page) - 1, (char *)not_found_page,
					       MHD_RESPMEM_PERSISTENT);
	return reply(conn, MHD_HTTP_NOT_FOUND, "text/plain; charset=utf-8", resp);
}

/* Our own socket, so a failed bind says why (libmicrohttpd only returns NULL). */
static int listen_on(const struct sockaddr *addr, socklen_t len, uint16_t *port)
{
	struct sockaddr_storage bound;
	socklen_t blen = sizeof(bound);
	int one = 1, err;
	int fd = socket(addr->sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	/* A restart must not wait out the old socket's TIME_WAIT. */
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (addr->sa_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, addr, len) || listen(fd, LISTEN_BACKLOG) ||
	    getsockname(fd, (struct sockaddr *)&bound, &blen)) {
		err = -errno;
		close(fd);
		return err;
	}
	*port = ntohs(bound.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&bound)->sin6_port :
						      ((struct sockaddr_in *)&bound)->sin_port);
	return fd;
}

struct httpd *httpd__listen(const struct sockaddr *addr, socklen_t len)
{
	struct httpd *h;
	int fd;

	if (!addr || (addr->sa_family != AF_INET && addr->sa_family != AF_INET6)) {
		errno = EINVAL;
		return NULL;
	}
	h = calloc(1, sizeof(*h));
	if (!h)
		return NULL;
	if ((fd = listen_on(addr, len, &h->port)) < 0) {
		free(h);
		errno = -fd;
		return NULL;
	}
	h->fd = fd;
	h->family = addr->sa_family;
	for (size_t i = 0; i < HTTPD_CONNECTIONS_MAX; i++)
		h->slots[i].fd = -1;
	pthread_mutex_init(&h->lock, NULL);
	{
		pthread_condattr_t ca;

		pthread_condattr_init(&ca);
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		pthread_cond_init(&h->wake, &ca);
		pthread_condattr_destroy(&ca);
	}
	h->published = mono_now();
	return h;
}

/* One internal thread polling every connection (epoll on Linux): answers
 * are copies of a page in memory, so a slow client costs a socket and a
 * slot, never a thread, and cannot hold up the others. A thread per
 * connection would give each slow client a thread (and its stack); a pool
 * would not answer faster what never waits. */
int httpd__serve(struct httpd *h)
{
	unsigned flags = MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG;
	int err;

	if (!h)
		return -EINVAL;
	if (h->daemon)
		return -EALREADY;
	if (h->family == AF_INET6)
		flags |= MHD_USE_IPv6;
	h->daemon = MHD_start_daemon(flags, 0, NULL, NULL, on_request, h,
				     MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
				     MHD_OPTION_LISTEN_SOCKET, h->fd,
				     MHD_OPTION_CONNECTION_LIMIT, (unsigned)HTTPD_CONNECTIONS_MAX,
				     MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)HTTPD_PER_CLIENT_MAX,
				     MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)HTTPD_TIMEOUT_S,
				     MHD_OPTION_NOTIFY_CONNECTION, on_connection, h,
				     MHD_OPTION_END);
	if (!h->daemon)
		return -EIO;
	if ((err = pthread_create(&h->reaper, NULL, reap, h))) {
		MHD_stop_daemon(h->daemon);
		h->daemon = NULL;
		return -err;
	}
	h->reaping = true;
	return 0;
}

uint16_t httpd__port(const struct httpd *h)
{
	return h ? h->port : 0;
}

void httpd__publish(struct httpd *h, char *page, size_t len)
{
	char *old;

	if (!h) {
		free(page);
		return;
	}
	pthread_mutex_lock(&h->lock);
	old = h->page;
	h->page = page;
	h->len = page ? len : 0;
	h->published = mono_now();
	pthread_mutex_unlock(&h->lock);
	free(old);
}

uint64_t httpd__scrapes(struct httpd *h)
{
	uint64_t n;

	if (!h)
		return 0;
	pthread_mutex_lock(&h->lock);
	n = h->scrapes;
	pthread_mutex_unlock(&h->lock);
	return n;
}

uint64_t httpd__cut(struct httpd *h)
{
	uint64_t n;

	if (!h)
		return 0;
	pthread_mutex_lock(&h->lock);
	n = h->cut;
	pthread_mutex_unlock(&h->lock);
	return n;
}

void httpd__set_liveness(struct httpd *h, double max_age_s)
{
	if (!h)
		return;
	pthread_mutex_lock(&h->lock);
	h->live_max_age = max_age_s;
	pthread_mutex_unlock(&h->lock);
}

void httpd__stop(struct httpd *h)
{
	if (!h)
		return;
	if (h->reaping) {
		pthread_mutex_lock(&h->lock);
		h->stopping = true;
		pthread_cond_signal(&h->wake);
		pthread_mutex_unlock(&h->lock);
		pthread_join(h->reaper, NULL);
	}
	/* A running daemon closes the listening socket too, though we opened it. */
	if (h->daemon)
		MHD_stop_daemon(h->daemon);
	else
		close(h->fd);
	pthread_cond_destroy(&h->wake);
	pthread_mutex_destroy(&h->lock);
	free(h->page);
	free(h);
}
