// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * metrics_http: GET /metrics for Prometheus (libmicrohttpd, its own
 * polling thread). The agent's thread renders and publishes a snapshot
 * about once a second; a scrape copies the last one under the mutex, so
 * a scraper never touches the agent's state nor waits for its thread.
 */
#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "ctl/ctl.h"

#define METRICS_TYPE "text/plain; version=0.0.4; charset=utf-8"

struct tg_metrics_http {
	struct MHD_Daemon *d;
	pthread_mutex_t mu;
	char *text;           /* the last published exposition, or NULL */
	size_t len;
};

static enum MHD_Result reply(struct MHD_Connection *conn, unsigned code, const char *type,
			     const char *body, size_t len, const char *allow)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(len, (void *)body,
								 MHD_RESPMEM_MUST_COPY);
	enum MHD_Result ret;

	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	if (allow)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, allow);
	ret = MHD_queue_response(conn, code, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url,
			      const char *method, const char *version, const char *upload,
			      size_t *upload_len, void **state)
{
	struct tg_metrics_http *m = cls;
	enum MHD_Result ret;

	(void)version;
	(void)upload;
	if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD)) {
		/* Answer at once; MHD discards a body we never read. */
		*upload_len = 0;
		return reply(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain",
			     "method not allowed: GET /metrics\n", 33, "GET, HEAD");
	}
	if (!*state) {
		*state = m;   /* the first call only sees the headers */
		return MHD_YES;
	}
	if (strcmp(url, "/metrics"))
		return reply(conn, MHD_HTTP_NOT_FOUND, "text/plain", "not found: GET /metrics\n", 24,
			     NULL);
	pthread_mutex_lock(&m->mu);
	if (m->text)
		ret = reply(conn, MHD_HTTP_OK, METRICS_TYPE, m->text, m->len, NULL);
	else
		ret = reply(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "text/plain",
			    "no metrics published yet\n", 25, NULL);
	pthread_mutex_unlock(&m->mu);
	return ret;
}

/* "HOST:PORT" or "[V6]:PORT" into an address; NULL or the error. */
static const char *parse_listen(const char *listen, struct addrinfo **res)
{
	char host[256];
	const char *colon, *h = listen;
	size_t hl;
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV };

	if (listen[0] == '[') {
		const char *end = strchr(listen, ']');

		if (!end || end[1] != ':')
			return "expected [IPV6]:PORT";
		h = listen + 1;
		hl = (size_t)(end - h);
		colon = end + 1;
	} else {
		colon = strrchr(listen, ':');
		if (!colon || strchr(listen, ':') != colon)
			return "expected HOST:PORT (IPv6 as [ADDR]:PORT)";
		hl = (size_t)(colon - listen);
	}
	if (!hl || hl >= sizeof(host) || !colon[1])
		return "expected HOST:PORT with a host and a port";
	memcpy(host, h, hl);
	host[hl] = '\0';
	if (getaddrinfo(host, colon + 1, &hints, res))
		return "expected a resolvable host and a numeric port";
	return NULL;
}

struct tg_metrics_http *metrics_http_start(const char *listen, char *err, size_t errlen)
{
	struct tg_metrics_http *m;
	struct addrinfo *ai = NULL;
	const char *why = listen ? parse_listen(listen, &ai) : "no address";
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;

	if (why) {
		snprintf(err, errlen, "twinguard: failed to parse metrics_listen '%s': %s",
			 listen ? listen : "", why);
		return NULL;
	}
	m = calloc(1, sizeof(*m));
	if (!m) {
		freeaddrinfo(ai);
		snprintf(err, errlen, "twinguard: failed to start metrics listener: %s",
			 strerror(ENOMEM));
		return NULL;
	}
	pthread_mutex_init(&m->mu, NULL);
	if (ai->ai_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	m->d = MHD_start_daemon(flags, 0, NULL, NULL, handle, m,
				MHD_OPTION_SOCK_ADDR, ai->ai_addr,
				MHD_OPTION_CONNECTION_LIMIT, 16u,
				MHD_OPTION_CONNECTION_TIMEOUT, 5u,
				MHD_OPTION_END);
	freeaddrinfo(ai);
	if (!m->d) {
		snprintf(err, errlen, "twinguard: failed to listen on metrics_listen %s: %s", listen,
			 errno ? strerror(errno) : "libmicrohttpd could not start");
		pthread_mutex_destroy(&m->mu);
		free(m);
		return NULL;
	}
	return m;
}

void metrics_http_publish(struct tg_metrics_http *m, const char *text, size_t len)
{
	char *copy;

	if (!m || !text)
		return;
	copy = malloc(len + 1);
	if (!copy)
		return;   /* the last snapshot stays; next second tries again */
	memcpy(copy, text, len);
	copy[len] = '\0';
	pthread_mutex_lock(&m->mu);
	free(m->text);
	m->text = copy;
	m->len = len;
	pthread_mutex_unlock(&m->mu);
}

void metrics_http_stop(struct tg_metrics_http *m)
{
	if (!m)
		return;
	MHD_stop_daemon(m->d);
	pthread_mutex_destroy(&m->mu);
	free(m->text);
	free(m);
}
