/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * deliver: the agent's sinks (docs/delivery.md). Each configured sink has
 * its own thread and its own bounded queue; deliver_submit() only queues,
 * so a slow or dead sink never blocks event intake and never delays the
 * others. Reliable sinks (RELP, HTTP) spill to an on-disk spool while
 * their collector is down.
 *
 *   agent (main thread)            sink threads
 *   deliver_submit(rec) --+--> [queue] --> output  (stdout / file stream)
 *                         +--> [queue] --> file    (alerts_file, rotated)
 *                         +--> [queue] --> syslog  (unix/udp/tcp/relp)
 *                         `--> [queue] --> http    ---> spool (while down)
 *
 * Every record that does not reach a sink is counted against that sink:
 * dropped (queue full, spool cap, shutdown deadline) or errors.
 */
#ifndef TG_DELIVER_H
#define TG_DELIVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "deliver/record.h"

struct tg_deliver;

#define TG_SINK_MAX 8

struct tg_sink_stats {
	char name[32];        /* "output", "file", "syslog", "http" */
	char kind[16];        /* transport: stream, file, unix, udp, tcp, relp, http */
	char state[16];       /* up, down, backoff */
	char target[256];     /* path or URL, without credentials */
	char last_error[256]; /* "" when none */
	bool reliable;
	uint64_t delivered;   /* written, sent, or acknowledged (reliable) */
	uint64_t queued;      /* in the memory queue now */
	uint64_t spooled;     /* records in the spool now */
	uint64_t spool_bytes;
	uint64_t spool_dropped; /* oldest removed at spool_max_mb */
	uint64_t dropped;     /* queue full, shutdown deadline, unwritable */
	uint64_t errors;      /* failed attempts (connects, writes, requests) */
	uint64_t retries;
};

struct tg_deliver_opts {
	const struct tg_config *cfg;  /* copied; sinks are those whose key is set */
	const char *output;           /* stream target, overrides cfg->output */
	bool events;                  /* the stream also takes TG_REC_EVENT/STATS */
	bool json;                    /* stream on a TTY: JSON lines, not text */
	bool stdout_closed;           /* fd 1 was closed at start: the stream counts drops */
};

/* Start every configured sink. NULL with a message naming the key and
 * what was expected when a sink cannot be configured at all (a collector
 * that is merely down is not an error: it is retried). */
struct tg_deliver *deliver_new(const struct tg_deliver_opts *o, char *err, size_t errlen);
/* Queue r for each sink whose kinds include r->kind. Never blocks. Takes
 * its own references; the caller keeps its own. */
void deliver_submit(struct tg_deliver *d, struct tg_record *r);
/* SIGUSR1/SIGHUP: files are reopened (external rotation). */
void deliver_reopen(struct tg_deliver *d);
/* Snapshot of every sink; returns how many were written. */
size_t deliver_stats(struct tg_deliver *d, struct tg_sink_stats *out, size_t max);
/* Sum of every sink's losses (dropped + spool_dropped), for agent-loss. */
uint64_t deliver_losses(struct tg_deliver *d);
/* Stop every sink (each gets drain_ms, in parallel) and keep the counters
 * readable for a last report. deliver_free() does this when not done. */
void deliver_stop(struct tg_deliver *d, int drain_ms);
/* Stop: each sink gets drain_ms to deliver what it holds; what is left
 * goes to the spool (reliable sinks) or is counted dropped. NULL ok. */
void deliver_free(struct tg_deliver *d, int drain_ms);

#endif
