// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * worker: the generic sink thread (worker.h). Transports only open, send
 * and close; everything about queues, retries, spooling and counting is
 * here, once, so every transport loses nothing in the same way.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>

#include "deliver/worker.h"

#define BATCH_MAX 1024
#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 30000
#define TICK_MS 1000

static uint64_t worker_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* The operator hears of a failing sink on stderr too: when the error
 * changes, and while it lasts at most once a minute. */
void sink_error(struct tg_sink *s, const char *fmt, ...)
{
	struct tg_sink_worker *w = s->w;
	char msg[sizeof(w->last_error)];
	uint64_t now = worker_now_ms();
	bool say;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	pthread_mutex_lock(&w->mu);
	say = strcmp(msg, w->last_error) || now >= w->said_at_ms + 60000;
	if (say)
		w->said_at_ms = now;
	memcpy(w->last_error, msg, sizeof(msg));
	w->errors++;
	pthread_mutex_unlock(&w->mu);
	if (say)
		fprintf(stderr, "twinguard: warning: sink %s: %s\n", s->name, msg);
}

void sink_drop(struct tg_sink *s, uint64_t n)
{
	pthread_mutex_lock(&s->w->mu);
	s->w->dropped += n;
	s->w->send_drops += n;
	pthread_mutex_unlock(&s->w->mu);
}

/* send(), minus what the transport dropped itself: those count as done
 * (they are off the queue) but were not delivered. */
static size_t worker_send(struct tg_sink_worker *w, struct tg_record *const *recs, size_t n,
			  size_t *delivered)
{
	size_t done, dropped;

	pthread_mutex_lock(&w->mu);
	w->send_drops = 0;
	pthread_mutex_unlock(&w->mu);
	done = w->sink.ops->send(&w->sink, recs, n);
	pthread_mutex_lock(&w->mu);
	dropped = w->send_drops < done ? (size_t)w->send_drops : done;
	pthread_mutex_unlock(&w->mu);
	*delivered = done - dropped;
	return done;
}

/* Only after the drain deadline: until then a stopping agent still wants
 * every record delivered. */
bool sink_stopping(const struct tg_sink *s)
{
	uint64_t deadline = __atomic_load_n(&s->w->abort_at_ms, __ATOMIC_RELAXED);

	return deadline && worker_now_ms() >= deadline;
}

static void worker_state(struct tg_sink_worker *w, const char *state)
{
	pthread_mutex_lock(&w->mu);
	snprintf(w->state, sizeof(w->state), "%s", state);
	if (w->spool)
		spool_stats(w->spool, &w->spool_st);
	pthread_mutex_unlock(&w->mu);
}

/* 100 ms doubling to 30 s, each wait +-25 %, so a fleet of agents does
 * not reconnect to a restarted collector in lockstep. */
static void worker_backoff(struct tg_sink_worker *w)
{
	unsigned rnd = 0;
	uint64_t wait;

	w->backoff_ms = w->backoff_ms ? w->backoff_ms * 2 : BACKOFF_MIN_MS;
	if (w->backoff_ms > BACKOFF_MAX_MS)
		w->backoff_ms = BACKOFF_MAX_MS;
	if (getrandom(&rnd, sizeof(rnd), GRND_NONBLOCK) != sizeof(rnd))
		rnd = (unsigned)worker_now_ms() * 2654435761u;
	wait = w->backoff_ms * 3 / 4 + (uint64_t)rnd % (w->backoff_ms / 2 + 1);
	w->retry_at_ms = worker_now_ms() + wait;
	pthread_mutex_lock(&w->mu);
	w->retries++;
	pthread_mutex_unlock(&w->mu);
	worker_state(w, "backoff");
}

static void worker_connect(struct tg_sink_worker *w)
{
	struct tg_sink *s = &w->sink;

	if (s->ops->open(s) == 0) {
		w->up = true;
		worker_state(w, "up");
		return;
	}
	worker_backoff(w);
}

static void worker_fail(struct tg_sink_worker *w);

/* done records of a batch went through: progress resets the backoff, so
 * a transport that fails after partial progress retries soon. */
static void worker_fail_after(struct tg_sink_worker *w, size_t done)
{
	if (done)
		w->backoff_ms = 0;
	worker_fail(w);
}

static void worker_fail(struct tg_sink_worker *w)
{
	if (w->up)
		w->sink.ops->close(&w->sink);
	w->up = false;
	worker_backoff(w);
}

/* The head of the queue, without removing it: only this thread removes. */
static size_t worker_peek(struct tg_sink_worker *w, struct tg_record **out, size_t max)
{
	size_t n;

	pthread_mutex_lock(&w->mu);
	n = w->len < max ? w->len : max;
	for (size_t i = 0; i < n; i++)
		out[i] = w->q[(w->head + i) % w->cap];
	pthread_mutex_unlock(&w->mu);
	return n;
}

static void worker_remove(struct tg_sink_worker *w, size_t n, uint64_t delivered, uint64_t dropped)
{
	struct tg_record *gone[BATCH_MAX];

	pthread_mutex_lock(&w->mu);
	for (size_t i = 0; i < n; i++) {
		gone[i] = w->q[w->head];
		w->head = (w->head + 1) % w->cap;
	}
	w->len -= n;
	w->delivered += delivered;
	w->dropped += dropped;
	pthread_mutex_unlock(&w->mu);
	for (size_t i = 0; i < n; i++)
		record_put(gone[i]);
}

static size_t worker_batch(const struct tg_sink_worker *w)
{
	size_t max = w->sink.batch_max ? w->sink.batch_max : 64;

	return max < BATCH_MAX ? max : BATCH_MAX;
}

/* Move what is queued to the spool; what the spool cannot take is lost,
 * counted. Returns whether anything moved. */
static bool worker_spool_queue(struct tg_sink_worker *w)
{
	struct tg_record *batch[BATCH_MAX];
	size_t n = worker_peek(w, batch, BATCH_MAX), done;

	if (!n)
		return false;
	done = spool_append(w->spool, batch, n);
	worker_remove(w, n, 0, n - done);
	pthread_mutex_lock(&w->mu);
	spool_stats(w->spool, &w->spool_st);
	pthread_mutex_unlock(&w->mu);
	return true;
}

static bool worker_send_spool(struct tg_sink_worker *w)
{
	struct tg_record *batch[BATCH_MAX];
	size_t n = spool_peek(w->spool, batch, worker_batch(w)), done, delivered;

	if (!n)
		return false;
	done = worker_send(w, batch, n, &delivered);
	if (done)
		spool_ack(w->spool, done);
	for (size_t i = 0; i < n; i++)
		record_put(batch[i]);
	pthread_mutex_lock(&w->mu);
	w->delivered += delivered;
	spool_stats(w->spool, &w->spool_st);
	pthread_mutex_unlock(&w->mu);
	if (done < n)
		worker_fail_after(w, done);
	else
		w->backoff_ms = 0;
	return true;
}

/* One batch of work; false when there was nothing to do. */
static bool worker_step(struct tg_sink_worker *w)
{
	struct tg_record *batch[BATCH_MAX];
	bool did = false;
	size_t n, done, delivered;

	if (w->spool && (!w->up || spool_pending(w->spool)))
		did = worker_spool_queue(w); /* keep the order: older ones are there */
	if (!w->up)
		return did;
	if (w->spool && spool_pending(w->spool))
		return worker_send_spool(w) || did;
	n = worker_peek(w, batch, worker_batch(w));
	if (!n)
		return did;
	done = worker_send(w, batch, n, &delivered);
	worker_remove(w, done, delivered, 0);
	if (done < n)
		worker_fail_after(w, done);
	else
		w->backoff_ms = 0;
	return true;
}

static void worker_wait(struct tg_sink_worker *w)
{
	uint64_t now = worker_now_ms(), until = w->next_tick_ms;
	struct timespec ts;

	if (!w->up && w->retry_at_ms < until)
		until = w->retry_at_ms;
	if (until <= now)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += (time_t)((until - now) / 1000);
	ts.tv_nsec += (long)((until - now) % 1000) * 1000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&w->mu);
	if (!w->stop && !w->reopen && (!w->len || (!w->up && !w->spool)))
		pthread_cond_timedwait(&w->cv, &w->mu, &ts);
	pthread_mutex_unlock(&w->mu);
}

/* Stopping: deliver what is held until the deadline, then spool it
 * (reliable) or count it dropped. */
static void worker_drain(struct tg_sink_worker *w)
{
	while (w->up && !sink_stopping(&w->sink) && worker_step(w))
		;
	while (w->spool && worker_spool_queue(w))
		;
	pthread_mutex_lock(&w->mu);
	size_t left = w->len;
	pthread_mutex_unlock(&w->mu);
	while (left) {
		size_t n = left < BATCH_MAX ? left : BATCH_MAX;

		worker_remove(w, n, 0, n);
		left -= n;
	}
	if (w->up)
		w->sink.ops->close(&w->sink);
	w->up = false;
	worker_state(w, "stopped");
}

static void worker_tick(struct tg_sink_worker *w)
{
	struct tg_sink *s = &w->sink;

	w->next_tick_ms = worker_now_ms() + TICK_MS;
	if (w->up && s->ops->tick && s->ops->tick(s))
		worker_fail(w);
	worker_state(w, w->up ? "up" : "backoff");
}

static void *worker_main(void *arg)
{
	struct tg_sink_worker *w = arg;
	struct tg_sink *s = &w->sink;

	w->next_tick_ms = worker_now_ms() + TICK_MS;
	worker_connect(w);
	for (;;) {
		bool stop, reopen;

		pthread_mutex_lock(&w->mu);
		stop = w->stop;
		reopen = w->reopen;
		w->reopen = false;
		pthread_mutex_unlock(&w->mu);
		if (stop)
			break;
		if (reopen && w->up && s->ops->reopen)
			s->ops->reopen(s);
		if (!w->up && worker_now_ms() >= w->retry_at_ms)
			worker_connect(w);
		if (worker_now_ms() >= w->next_tick_ms)
			worker_tick(w);
		if (!worker_step(w))
			worker_wait(w);
	}
	worker_drain(w);
	return NULL;
}

int worker_start(struct tg_sink_worker *w, size_t cap, const char *spool_dir, uint64_t spool_max,
		 char *err, size_t errlen)
{
	int rc;

	w->sink.w = w;
	w->cap = cap;
	w->q = calloc(cap, sizeof(*w->q));
	snprintf(w->state, sizeof(w->state), "down");
	if (!w->q) {
		snprintf(err, errlen, "%s: out of memory for a queue of %zu", w->sink.name, cap);
		return -1;
	}
	if (spool_dir && w->sink.ops->reliable) {
		char dir[4096], why[512];

		snprintf(dir, sizeof(dir), "%s/%s", spool_dir, w->sink.name);
		/* the spool's own directory is created, 0700 (its parent must exist) */
		if (mkdir(spool_dir, 0700) && errno != EEXIST) {
			snprintf(err, errlen, "spool_dir: failed to create %s: %s", spool_dir,
				 strerror(errno));
			return -1;
		}
		w->spool = spool_open(dir, spool_max, why, sizeof(why));
		if (!w->spool) {
			snprintf(err, errlen, "spool_dir: failed to open %s", why);
			return -1;
		}
		spool_stats(w->spool, &w->spool_st);
	}
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	rc = pthread_create(&w->thread, NULL, worker_main, w);
	if (rc) {
		snprintf(err, errlen, "%s: failed to start its thread: %s", w->sink.name, strerror(rc));
		return -1;
	}
	w->started = true;
	return 0;
}

bool worker_push(struct tg_sink_worker *w, struct tg_record *r)
{
	bool ok;

	pthread_mutex_lock(&w->mu);
	ok = w->len < w->cap && !w->stop;
	if (ok) {
		w->q[(w->head + w->len) % w->cap] = record_get(r);
		w->len++;
		pthread_cond_signal(&w->cv);
	} else {
		w->dropped++;
	}
	pthread_mutex_unlock(&w->mu);
	return ok;
}

void worker_reopen(struct tg_sink_worker *w)
{
	pthread_mutex_lock(&w->mu);
	w->reopen = true;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

void worker_stats(struct tg_sink_worker *w, struct tg_sink_stats *st)
{
	memset(st, 0, sizeof(*st));
	snprintf(st->name, sizeof(st->name), "%s", w->sink.name);
	snprintf(st->kind, sizeof(st->kind), "%s", w->sink.ops->kind);
	snprintf(st->target, sizeof(st->target), "%s", w->sink.target);
	st->reliable = w->sink.ops->reliable;
	pthread_mutex_lock(&w->mu);
	snprintf(st->state, sizeof(st->state), "%s", w->state);
	snprintf(st->last_error, sizeof(st->last_error), "%s", w->last_error);
	st->delivered = w->delivered;
	st->queued = w->len;
	st->spooled = w->spool_st.pending;
	st->spool_bytes = w->spool_st.bytes;
	st->spool_dropped = w->spool_st.dropped;
	st->dropped = w->dropped;
	st->errors = w->errors + w->spool_st.errors;
	st->retries = w->retries;
	pthread_mutex_unlock(&w->mu);
}

void worker_signal_stop(struct tg_sink_worker *w, int drain_ms)
{
	if (!w->started || __atomic_load_n(&w->abort_at_ms, __ATOMIC_RELAXED))
		return;
	__atomic_store_n(&w->abort_at_ms, worker_now_ms() + (uint64_t)(drain_ms > 0 ? drain_ms : 1),
			 __ATOMIC_RELAXED);
	pthread_mutex_lock(&w->mu);
	w->stop = true;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

void worker_join(struct tg_sink_worker *w)
{
	if (w->started && !w->joined) {
		pthread_join(w->thread, NULL);
		w->joined = true;
	}
}

void worker_stop(struct tg_sink_worker *w, int drain_ms)
{
	if (w->started) {
		worker_signal_stop(w, drain_ms);
		worker_join(w);
		pthread_mutex_destroy(&w->mu);
		pthread_cond_destroy(&w->cv);
	}
	for (size_t i = 0; i < w->len; i++)
		record_put(w->q[(w->head + i) % w->cap]);
	free(w->q);
	spool_close(w->spool);
	if (w->sink.ops && w->sink.ops->destroy)
		w->sink.ops->destroy(&w->sink);
}
