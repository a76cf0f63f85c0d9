/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * ctl: the query socket (docs/control.md). The agent's main thread polls
 * the socket's fds with the ring buffer's and calls ctl_service(); every
 * request is answered from that thread, so the callbacks read the agent's
 * state without locks. All I/O is non-blocking and bounded: a bad, huge,
 * slow or half-closed request gets an error or a timeout, and a client
 * that reads slowly is cut off, never waited for.
 *
 * Protocol: one JSON request per connection, '\n'-terminated, e.g.
 * {"cmd":"stats"}; one JSON answer; then close (or, for
 * {"cmd":"alerts","follow":true}, one JSON line per new alert).
 */
#ifndef TG_CTL_H
#define TG_CTL_H

#include <poll.h>
#include <stddef.h>
#include <sys/types.h>
#include <cjson/cJSON.h>

#include "deliver/record.h"

struct tg_ctl;

/* Provided by the agent; each returns a new object the caller frees. */
struct tg_ctl_ops {
	cJSON *(*status)(void *ctx);
	cJSON *(*stats)(void *ctx);
	cJSON *(*ps)(void *ctx, pid_t pid);   /* pid 0: the whole table as a tree */
	/* Same as SIGHUP: {"ok":true,"rules":N} or {"ok":false,"errors":["file:line: ..."]} */
	cJSON *(*reload)(void *ctx);
};

/* Bind path (mode 0600; a stale socket is replaced, a live agent's is
 * not). NULL with err set on failure. ring_max: recent alerts kept. */
struct tg_ctl *ctl_open(const char *path, const struct tg_ctl_ops *ops, void *ctx,
			size_t ring_max, char *err, size_t errlen);
/* The fds to poll now (listener and clients); returns how many. */
int ctl_pollfds(struct tg_ctl *c, struct pollfd *fds, int max);
/* After poll(): accept, read, answer, time out, with bounded work. */
void ctl_service(struct tg_ctl *c, const struct pollfd *fds, int n);
/* A new alert: into the recent ring, and to every --follow client. */
void ctl_alert(struct tg_ctl *c, struct tg_record *r);
/* Counters for stats: requests, errors, timeouts, follow drops. */
cJSON *ctl_stats_json(const struct tg_ctl *c);
void ctl_close(struct tg_ctl *c);

/* Prometheus text exposition of a stats object (shape: docs/control.md). */
char *metrics_render(const cJSON *stats, size_t *len);

/* Optional HTTP listener (libmicrohttpd, its own thread) serving the last
 * published exposition at /metrics. */
struct tg_metrics_http;
struct tg_metrics_http *metrics_http_start(const char *listen, char *err, size_t errlen);
void metrics_http_publish(struct tg_metrics_http *m, const char *text, size_t len);
void metrics_http_stop(struct tg_metrics_http *m);

/* The CLI side: `twinguard status|stats|ps|alerts|reload|metrics`. */
int cmd_ctl(int argc, char **argv);

#endif
