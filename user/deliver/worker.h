/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * worker: one sink's thread, queue, backoff and counters (folder-private).
 *
 *   queue: a ring of record pointers, cap = sink_queue_max. The agent
 *   appends at the tail (worker_push, never blocks: full = dropped); the
 *   worker peeks a batch at the head, sends it, and only then removes
 *   what was done, so a failed send keeps its records in place and in
 *   order.
 *
 *   reliable sink with a spool: while the collector is down, or while
 *   the spool still holds older records, the queue is moved to the spool;
 *   once up, the spool is sent first (oldest first), then the queue.
 */
#ifndef TG_DELIVER_WORKER_H
#define TG_DELIVER_WORKER_H

#include <pthread.h>
#include <stdbool.h>

#include "deliver/deliver.h"
#include "deliver/sink.h"
#include "deliver/spool.h"

struct tg_sink_worker {
	struct tg_sink sink;
	pthread_t thread;
	bool started, joined;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	/* under mu */
	struct tg_record **q;
	size_t cap, head, len;
	bool stop, reopen;
	int drain_ms;
	char state[16], last_error[256];
	uint64_t delivered, dropped, errors, retries;
	uint64_t send_drops, said_at_ms;  /* sink_drop()s in this send; last stderr line */
	struct tg_spool_stats spool_st;
	/* the worker thread's own */
	struct tg_spool *spool;
	bool up;
	uint64_t backoff_ms, retry_at_ms, next_tick_ms;
	uint64_t abort_at_ms;   /* atomic: drain deadline once stopping, else 0 */
};

int worker_start(struct tg_sink_worker *w, size_t cap, const char *spool_dir, uint64_t spool_max,
		 char *err, size_t errlen);
/* false: the queue was full and r was counted dropped. */
bool worker_push(struct tg_sink_worker *w, struct tg_record *r);
void worker_reopen(struct tg_sink_worker *w);
void worker_stats(struct tg_sink_worker *w, struct tg_sink_stats *st);
/* Ask to stop (the drain deadline starts now); worker_stop joins. */
void worker_signal_stop(struct tg_sink_worker *w, int drain_ms);
/* Wait for a stopping worker's thread; its counters stay readable. */
void worker_join(struct tg_sink_worker *w);
/* Stop and join (drain_ms to deliver or spool what is queued); frees. */
void worker_stop(struct tg_sink_worker *w, int drain_ms);

#endif
