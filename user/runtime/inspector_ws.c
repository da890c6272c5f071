#include <errno.h>
#include <json-c/json.h>
#include <libwebsockets.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "cli.h"
#include "inspector.h"
#include "inspector_ws.h"
#include "log.h"

static int append(struct ws *w, const void *in, size_t len)
{
	if (w->rx_over || w->rx_len + len > w->rx_max) {
		w->rx_over = true;
		return -1;
	}
	if (w->rx_len + len + 1 > w->rx_cap) {
		size_t cap = w->rx_cap ? w->rx_cap : 4096;
		char *n;

		while (cap < w->rx_len + len + 1)
			cap *= 2;
		n = realloc(w->rx, cap);
		if (!n)
			return -1;
		w->rx = n;
		w->rx_cap = cap;
	}
	memcpy(w->rx + w->rx_len, in, len);
	w->rx_len += len;
	w->rx[w->rx_len] = '\0';
	return 0;
}

static void take_message(struct ws *w)
{
	free(w->msg);
	w->msg = w->rx;
	w->msg_len = w->rx_len;
	w->rx = NULL;
	w->rx_len = w->rx_cap = 0;
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
		    size_t len)
{
	struct ws *w = lws_context_user(lws_get_context(wsi));
	char buf[LWS_PRE + 4096], *p = buf + LWS_PRE;
	int n = sizeof(buf) - LWS_PRE;

	(void)user;
	switch (reason) {
	case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
		w->failed = w->closed = true;
		w->wsi = NULL;
		break;
	case LWS_CALLBACK_ESTABLISHED_CLIENT_HTTP:
	case LWS_CALLBACK_CLIENT_ESTABLISHED:
		w->connected = true;
		break;
	case LWS_CALLBACK_RECEIVE_CLIENT_HTTP:
		return lws_http_client_read(wsi, &p, &n) < 0 ? -1 : 0;
	case LWS_CALLBACK_RECEIVE_CLIENT_HTTP_READ:
		return append(w, in, len);
	case LWS_CALLBACK_COMPLETED_CLIENT_HTTP:
		take_message(w);
		w->closed = true;
		break;
	case LWS_CALLBACK_CLIENT_RECEIVE:
		if (append(w, in, len))
			return -1;
		if (lws_is_final_fragment(wsi) && !lws_remaining_packet_payload(wsi))
			take_message(w);
		break;
	case LWS_CALLBACK_CLIENT_WRITEABLE:
		if (w->tx_len) {
			size_t l = w->tx_len;

			w->tx_len = 0;
			if (lws_write(wsi, (unsigned char *)w->tx + LWS_PRE, l, LWS_WRITE_TEXT) < (int)l)
				return -1;
		}
		break;
	case LWS_CALLBACK_CLIENT_CLOSED:
	case LWS_CALLBACK_CLOSED_CLIENT_HTTP:
		w->closed = true;
		w->wsi = NULL;
		break;
	default:
		break;
	}
	return 0;
}

static const struct lws_protocols protocols[] = {
	{ "memscope-inspector", callback, 0, 65536, 0, NULL, 0 },
	{ NULL, NULL, 0, 0, 0, NULL, 0 }
};

/* One turn of the event loop, waiting at most ms for the socket (or for
 * extra_fd, when >= 0). lws_service's own timeout is not honoured in lws 4
 * (it sleeps until its next timer, up to 30 s): memscope polls, and lets lws
 * service without waiting. True when extra_fd is readable. */
bool inspector_ws__pump(struct ws *w, int ms, int extra_fd)
{
	struct pollfd pf[2];
	int n = 0, fd = w->wsi ? lws_get_socket_fd(w->wsi) : -1;
	bool extra = false;

	if (fd >= 0)
		pf[n++] = (struct pollfd){ fd, POLLIN | POLLOUT * (w->tx_len > 0), 0 };
	if (extra_fd >= 0)
		pf[n++] = (struct pollfd){ extra_fd, POLLIN, 0 };
	/* lws may hold bytes already read: then no waiting */
	if (lws_service_adjust_timeout(w->ctx, ms, 0) != 0 && poll(pf, n, ms) > 0 &&
	    extra_fd >= 0)
		extra = pf[n - 1].revents != 0;
	lws_service(w->ctx, -1);
	return extra;
}

void inspector_ws__close(struct ws *w)
{
	if (w->ctx)
		lws_context_destroy(w->ctx);
	free(w->rx);
	free(w->msg);
	free(w->tx);
	*w = (struct ws){ 0 };
}

/* Connects to path on 127.0.0.1:port: a plain GET when http, else the
 * WebSocket. Waits for the connection (or, for GET, the whole answer). */
static int ws_open(struct ws *w, uint16_t port, const char *path, bool http, size_t max)
{
	struct lws_context_creation_info ci = { 0 };
	struct lws_client_connect_info cc = { 0 };
	char host[32];
	double deadline = cli_now() + INSPECTOR_CALL_WAIT_S;

	*w = (struct ws){ .http = http, .rx_max = max };
	ci.port = CONTEXT_PORT_NO_LISTEN;
	ci.protocols = protocols;
	ci.user = w;
	ci.gid = -1;
	ci.uid = -1;
	w->ctx = lws_create_context(&ci);
	if (!w->ctx)
		return -ENOMEM;
	/* node accepts a Host that is an IP address (DNS rebinding check) */
	snprintf(host, sizeof(host), "127.0.0.1:%u", port);
	cc.context = w->ctx;
	cc.address = "127.0.0.1";
	cc.port = port;
	cc.path = path;
	cc.host = host;
	cc.origin = NULL;
	cc.protocol = http ? NULL : protocols[0].name;
	cc.method = http ? "GET" : NULL;
	cc.ietf_version_or_minus_one = -1;
	cc.pwsi = &w->wsi;
	if (!lws_client_connect_via_info(&cc))
		return -ECONNREFUSED;
	while (!(http ? w->closed : w->connected || w->closed) && cli_now() < deadline)
		inspector_ws__pump(w, 20, -1);
	if (http)
		return w->msg ? 0 : w->rx_over ? -E2BIG : w->failed ? -ECONNREFUSED : -ETIMEDOUT;
	return w->connected && !w->closed ? 0 : w->failed ? -ECONNREFUSED : -ETIMEDOUT;
}

/* Sends {"id":id,"method":method,"params":params} and waits for the answer
 * with that id (events in between are dropped). *reply: the message, owned
 * by w until the next call. */
int inspector_ws__call(struct ws *w, int id, const char *method, const char *params, double wait,
		       size_t max, char **reply, size_t *rlen)
{
	double deadline = cli_now() + wait;
	size_t cap = strlen(method) + strlen(params) + 64;
	char prefix[32];
	int n;

	free(w->tx);
	w->tx = malloc(LWS_PRE + cap);
	if (!w->tx)
		return -ENOMEM;
	n = snprintf(w->tx + LWS_PRE, cap, "{\"id\":%d,\"method\":\"%s\",\"params\":%s}", id,
		     method, params);
	w->tx_len = (size_t)n;
	w->rx_max = max;
	snprintf(prefix, sizeof(prefix), "{\"id\":%d,", id);
	log_debug("inspector: %s", method);
	if (!w->wsi)
		return -ECONNRESET;
	lws_callback_on_writable(w->wsi);
	while (cli_now() < deadline && !w->closed) {
		inspector_ws__pump(w, 20, -1);
		/* V8 writes the id first in every answer */
		if (w->msg && !strncmp(w->msg, prefix, strlen(prefix))) {
			*reply = w->msg;
			*rlen = w->msg_len;
			return strstr(w->msg, "\"error\":{") == w->msg + strlen(prefix) ? -EPROTO : 0;
		}
		if (w->msg) {
			free(w->msg);
			w->msg = NULL;
		}
	}
	return w->rx_over ? -E2BIG : w->closed ? -ECONNRESET : -ETIMEDOUT;
}

/* The WebSocket path of the one target /json/list names, checked to be a
 * plain id on the same address and port. */
static int target_path(const char *list, size_t len, uint16_t port, char *path, size_t plen)
{
	struct json_object *root = json_tokener_parse(list), *t, *u;
	const char *url;
	char prefix[48];
	int err = -EPROTO;

	(void)len;
	if (!root || !json_object_is_type(root, json_type_array) ||
	    json_object_array_length(root) < 1)
		goto out;
	t = json_object_array_get_idx(root, 0);
	if (!json_object_object_get_ex(t, "webSocketDebuggerUrl", &u) ||
	    !json_object_is_type(u, json_type_string))
		goto out;
	url = json_object_get_string(u);
	snprintf(prefix, sizeof(prefix), "ws://127.0.0.1:%u/", port);
	if (strncmp(url, prefix, strlen(prefix)))
		goto out;
	url += strlen(prefix) - 1;
	if (strlen(url) < 2 || strlen(url) >= plen || strspn(url + 1,
	    "0123456789abcdefABCDEF-") != strlen(url + 1))
		goto out;
	snprintf(path, plen, "%s", url);
	err = 0;
out:
	json_object_put(root);
	return err;
}

/* GET /json/list: one small request on a plain socket (HTTP/1.0 from node,
 * closed after the answer), bounded to INSPECTOR_LIST_MAX. */
static char *get_list(uint16_t port, size_t *len)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct timeval tv = { .tv_sec = (time_t)INSPECTOR_CALL_WAIT_S };
	char req[128], *buf = malloc(INSPECTOR_LIST_MAX + 1), *body;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), n;
	size_t got = 0;

	if (fd < 0 || !buf)
		goto fail;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	n = snprintf(req, sizeof(req), "GET /json/list HTTP/1.0\r\nHost: 127.0.0.1:%u\r\n\r\n",
		     port);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) || write(fd, req, n) != n)
		goto fail;
	/* node keeps the connection open after its answer: read up to the end
	 * its Content-Length gives, or to EOF when it gives none */
	while (got < INSPECTOR_LIST_MAX) {
		ssize_t r = read(fd, buf + got, INSPECTOR_LIST_MAX - got);
		const char *cl;

		if (r <= 0)
			break;
		got += r;
		buf[got] = '\0';
		body = strstr(buf, "\r\n\r\n");
		cl = body ? strcasestr(buf, "\r\nContent-Length:") : NULL;
		if (cl && cl < body &&
		    got - (size_t)(body + 4 - buf) >= strtoul(cl + 17, NULL, 10))
			break;
	}
	buf[got] = '\0';
	body = strstr(buf, "\r\n\r\n");
	if (strncmp(buf, "HTTP/1.", 7) || strncmp(buf + 8, " 200", 4) || !body)
		goto fail;
	close(fd);
	*len = got - (body + 4 - buf);
	memmove(buf, body + 4, *len + 1);
	return buf;
fail:
	if (fd >= 0)
		close(fd);
	free(buf);
	return NULL;
}

int inspector_ws__session(struct ws *w, uint16_t port)
{
	char path[128];
	size_t len;
	char *list = get_list(port, &len);
	int err = list ? target_path(list, len, port, path, sizeof(path)) : -ECONNREFUSED;

	free(list);
	return err ? err : ws_open(w, port, path, false, INSPECTOR_MSG_MAX);
}
