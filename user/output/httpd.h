/* The HTTP side of `memscope serve`, on libmicrohttpd: one listening socket
 * (loopback unless told otherwise) serving the last published metrics page
 * at GET /metrics, liveness at GET /healthz and a one-link page at GET /;
 * anything else is 404, so the endpoint can never be made to show more than
 * the metrics. Clients get bounded shares (limits below).
 *
 * The page is rendered by the caller's loop and handed over whole with
 * httpd__publish; requests, answered from libmicrohttpd's own thread, copy
 * the current page under a lock and never wait for a reading of /proc or
 * cgroupfs. Binding and answering are two steps, so that the socket can be
 * bound with every privilege (a port under 1024) and the thread started
 * after the process dropped what it does not need: capabilities are per
 * thread, and a thread keeps those of the one that made it.
 *
 *	struct sockaddr_storage sa; socklen_t len;
 *	httpd__parse_listen("127.0.0.1:9464", &sa, &len);
 *	struct httpd *h = httpd__listen((struct sockaddr *)&sa, len);
 *	... drop privileges ...
 *	httpd__serve(h);
 *	httpd__publish(h, page, page_len);	each refresh; h owns page
 *	httpd__stop(h);
 */
#ifndef MEMSCOPE_HTTPD_H
#define MEMSCOPE_HTTPD_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* What one client, and all clients together, can hold: a client trickling
 * bytes on many sockets takes HTTPD_PER_CLIENT_MAX of them, not the server.
 * A connection is idle for HTTPD_TIMEOUT_S at most, and is cut
 * HTTPD_DEADLINE_S after it was accepted whatever it sends: bytes trickled
 * one by one reset an idle timeout, never the deadline. A scrape of a
 * page of a few MiB over a pod network takes well under a second. */
#define HTTPD_CONNECTIONS_MAX	64
#define HTTPD_PER_CLIENT_MAX	4
#define HTTPD_TIMEOUT_S		5
#define HTTPD_DEADLINE_S	10

enum httpd_route { HTTPD_NOT_FOUND, HTTPD_METRICS, HTTPD_INDEX, HTTPD_HEALTHZ };

/* Which page a request gets: GET or HEAD of "/metrics", "/healthz" or "/",
 * else none. */
enum httpd_route httpd__route(const char *method, const char *url);

/* "127.0.0.1:9464", "0.0.0.0:9464", "[::1]:9464", "[::]:9464" (numeric
 * addresses only; port 0 lets the kernel pick one). 0 or -EINVAL. */
int httpd__parse_listen(const char *spec, struct sockaddr_storage *out, socklen_t *len);

/* Prints the address as httpd__parse_listen reads it ("[::1]:9464"). */
void httpd__format_addr(const struct sockaddr *sa, char *buf, size_t len);

struct httpd;

/* Binds and listens (nobody is answered yet). NULL + errno: the errno of
 * bind (EADDRINUSE, EACCES, EADDRNOTAVAIL), EINVAL, ENOMEM. */
struct httpd *httpd__listen(const struct sockaddr *addr, socklen_t len);
/* Starts answering from a thread of its own (the metrics page is empty until
 * the first publish). 0, -EALREADY, or -EIO when libmicrohttpd refused. */
int httpd__serve(struct httpd *h);
/* The port bound (the one the kernel picked for port 0). */
uint16_t httpd__port(const struct httpd *h);
/* Replaces the metrics page; h owns page (malloc'd) from now on. */
void httpd__publish(struct httpd *h, char *page, size_t len);
/* Requests answered with a metrics page so far. */
uint64_t httpd__scrapes(struct httpd *h);
/* Connections cut at HTTPD_DEADLINE_S so far. */
uint64_t httpd__cut(struct httpd *h);
/* GET /healthz answers 503 once no page was published for max_age_s (0, the
 * default: never): the refresh loop is stuck. It reads nothing else, BPF
 * least of all, so a liveness probe cannot be starved by what starves it. */
void httpd__set_liveness(struct httpd *h, double max_age_s);
/* Stops answering, closes the socket, frees everything (h may be NULL). */
void httpd__stop(struct httpd *h);

#endif
