/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * sink: what one transport implements (folder-private to user/deliver/).
 * The generic worker in deliver.c owns the thread, the queue, the spool,
 * the counters and the reconnect backoff; a transport only opens,
 * sends and closes. Every op runs in the sink's own thread, so an op may
 * block, but never longer than its timeout (a stop waits for it).
 *
 *   worker loop (deliver.c)
 *     down --open()==0--> up --send() < n--> close() --> backoff --> open()
 *     backoff: 100 ms doubling to 30 s, +-25 % jitter; reset after a success
 */
#ifndef TG_DELIVER_SINK_H
#define TG_DELIVER_SINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "deliver/record.h"

struct tg_sink;

struct tg_sink_ops {
	const char *kind;    /* transport name for stats: "file", "tcp", "relp", ... */
	/*
	 * Reliable: send() returns only what the collector acknowledged, so
	 * records not acknowledged are kept (spool) and sent again. Others
	 * count what they wrote to the socket or file.
	 */
	bool reliable;
	/* Connect or open; 0 = up, -1 = down with sink_error() said why. */
	int (*open)(struct tg_sink *s);
	/*
	 * Deliver recs[0..n) in order. Returns how many are done, from the
	 * front: n on success; fewer means the transport failed (sink_error()
	 * said why) and the worker closes, backs off, reopens and offers the
	 * rest again. A record the transport can never take (e.g. larger than
	 * a UDP datagram) is counted with sink_drop() and counted as done.
	 */
	size_t (*send)(struct tg_sink *s, struct tg_record *const *recs, size_t n);
	void (*close)(struct tg_sink *s);
	/* Optional: reopen files now (SIGUSR1); runs in the sink thread. */
	void (*reopen)(struct tg_sink *s);
	/* Optional: called about once a second while up (e.g. check that the
	 * file still exists; flush). Returns -1 to force a reconnect. */
	int (*tick)(struct tg_sink *s);
	/* Free priv; the sink is closed already. */
	void (*destroy)(struct tg_sink *s);
};

struct tg_sink {
	const struct tg_sink_ops *ops;
	char name[32];                /* config name: "file", "syslog", "http", "output" */
	char target[256];             /* for stats and messages, no credentials */
	unsigned kinds;               /* TG_REC_* it takes */
	size_t batch_max;             /* records per send() */
	const struct tg_config *cfg;  /* the agent's config (deliver's copy) */
	void *priv;                   /* the transport's state */
	struct tg_sink_worker *w;     /* deliver.c's state: counters, queue */
};

/*
 * Constructors, one per transport, called by deliver_new() in the agent's
 * thread: parse and check the config (err names the key and what was
 * expected), set ops/priv/target/batch_max, but do not connect yet.
 * Returns 0 or -1.
 */
int sink_stream_init(struct tg_sink *s, const char *target, bool events, bool json,
		     bool stdout_closed, char *err, size_t errlen);
int sink_file_init(struct tg_sink *s, char *err, size_t errlen);
int sink_syslog_init(struct tg_sink *s, char *err, size_t errlen);
int sink_http_init(struct tg_sink *s, char *err, size_t errlen);

/* For transports: the last error (shown in stats), counted as an error. */
void sink_error(struct tg_sink *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A record this transport can never deliver: counted dropped. */
void sink_drop(struct tg_sink *s, uint64_t n);
/* True once the agent is stopping: blocking ops should give up soon. */
bool sink_stopping(const struct tg_sink *s);

#endif
