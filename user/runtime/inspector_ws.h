/* The inspector child's WebSocket client, on libwebsockets: it finds the
 * target's WebSocket in node's /json/list, opens it, sends one method call
 * at a time and waits for its answer. Only inspector.c's child process uses
 * it; the process on the other end is untrusted, so every message is bounded.
 */
#ifndef MEMSCOPE_INSPECTOR_WS_H
#define MEMSCOPE_INSPECTOR_WS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct lws;
struct lws_context;

struct ws {
	struct lws_context *ctx;
	struct lws *wsi;
	bool http;		/* this connection is the GET of /json/list */
	bool connected, closed, failed;
	char *rx;		/* the message being received */
	size_t rx_len, rx_cap, rx_max;
	bool rx_over;		/* over rx_max: dropped, and the session with it */
	char *msg;		/* the last whole message, taken by the waiter */
	size_t msg_len;
	char *tx;		/* LWS_PRE bytes, then the message */
	size_t tx_len;
};
/* GET /json/list on 127.0.0.1:port, then opens the WebSocket of the one
 * target it names. 0 or -errno (-ECONNREFUSED: nothing listening). */
int inspector_ws__session(struct ws *w, uint16_t port);
/* Sends {"id":id,"method":method,"params":params} and waits up to wait
 * seconds for the answer with that id, at most max bytes. *reply: the
 * message, owned by w until the next call. 0 or -errno. */
int inspector_ws__call(struct ws *w, int id, const char *method, const char *params, double wait,
		       size_t max, char **reply, size_t *rlen);
/* One turn of the event loop, at most ms long; true when extra_fd (>= 0) is
 * readable. */
bool inspector_ws__pump(struct ws *w, int ms, int extra_fd);
void inspector_ws__close(struct ws *w);

#endif
