// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The generic sink worker (user/deliver/worker.c) with a scripted
 * transport: order and exactly-once through failures, partial
 * acknowledgements and a spool across a restart; drops counted.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "deliver/worker.h"

#define WAIT_MS 10000
#define N_MAX 4096

struct fake {
	pthread_mutex_t mu;
	int got[N_MAX];
	size_t n;
	int open_fails;     /* open() fails this many more times (-1: always) */
	int send_fails;     /* send() delivers nothing this many more times */
	size_t ack_max;     /* reliable: at most this many acknowledged a call */
	bool reliable;
};

static struct fake fk;
static char dir[64];

static int rec_n(const struct tg_record *r)
{
	cJSON *j = cJSON_Parse(r->json);
	int n = (int)cJSON_GetObjectItem(j, "n")->valuedouble;

	cJSON_Delete(j);
	return n;
}

static int fake_open(struct tg_sink *s)
{
	struct fake *f = s->priv;
	int fail;

	pthread_mutex_lock(&f->mu);
	fail = f->open_fails != 0;
	if (f->open_fails > 0)
		f->open_fails--;
	pthread_mutex_unlock(&f->mu);
	if (fail)
		sink_error(s, "scripted open failure");
	return fail ? -1 : 0;
}

static size_t fake_send(struct tg_sink *s, struct tg_record *const *recs, size_t n)
{
	struct fake *f = s->priv;
	size_t done = n;

	pthread_mutex_lock(&f->mu);
	if (f->send_fails) {
		f->send_fails--;
		done = 0;
	} else if (f->ack_max && done > f->ack_max) {
		done = f->ack_max;
	}
	for (size_t i = 0; i < done && f->n < N_MAX; i++)
		f->got[f->n++] = rec_n(recs[i]);
	pthread_mutex_unlock(&f->mu);
	if (done < n)
		sink_error(s, "scripted send failure");
	return done;
}

static void fake_close(struct tg_sink *s)
{
	(void)s;
}

static const struct tg_sink_ops ops_plain = {
	.kind = "fake", .open = fake_open, .send = fake_send, .close = fake_close,
};
static const struct tg_sink_ops ops_reliable = {
	.kind = "fake", .reliable = true, .open = fake_open, .send = fake_send, .close = fake_close,
};

static void setup(void)
{
	memset(&fk, 0, sizeof(fk));
	pthread_mutex_init(&fk.mu, NULL);
	snprintf(dir, sizeof(dir), "/tmp/tg-deliver.XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
}

static void teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	cr_assert_eq(system(cmd), 0);
}

TestSuite(deliver, .init = setup, .fini = teardown, .timeout = 60);

static struct tg_sink_worker *start(bool reliable, size_t cap, const char *spool)
{
	struct tg_sink_worker *w = calloc(1, sizeof(*w));
	char err[256];

	cr_assert_not_null(w);
	w->sink.ops = reliable ? &ops_reliable : &ops_plain;
	w->sink.priv = &fk;
	w->sink.batch_max = 16;
	w->sink.kinds = TG_REC_ALERT;
	snprintf(w->sink.name, sizeof(w->sink.name), "fake");
	cr_assert_eq(worker_start(w, cap, spool, 1 << 20, err, sizeof(err)), 0, "%s", err);
	return w;
}

static void push_range(struct tg_sink_worker *w, int from, int to)
{
	for (int i = from; i < to; i++) {
		char buf[96];
		cJSON *j;
		struct tg_record *r;

		snprintf(buf, sizeof(buf), "{\"event\":{\"kind\":\"alert\"},\"n\":%d}", i);
		j = cJSON_Parse(buf);
		r = record_new(TG_REC_ALERT, j);
		cJSON_Delete(j);
		worker_push(w, r);
		record_put(r);
	}
}

static size_t fake_count(void)
{
	size_t n;

	pthread_mutex_lock(&fk.mu);
	n = fk.n;
	pthread_mutex_unlock(&fk.mu);
	return n;
}

/* Bounded wait for the transport to have n records. */
static void wait_for(size_t n)
{
	for (int i = 0; i < WAIT_MS / 5 && fake_count() < n; i++)
		usleep(5000);
	cr_assert_eq(fake_count(), n, "transport got %zu records, expected %zu", fake_count(), n);
}

/* The worker counts a batch after send() returns: wait for the count. */
static void wait_delivered(struct tg_sink_worker *w, uint64_t n)
{
	struct tg_sink_stats st;

	for (int i = 0; i < WAIT_MS / 5; i++) {
		worker_stats(w, &st);
		if (st.delivered >= n)
			return;
		usleep(5000);
	}
	cr_assert_fail("worker counted %lu delivered, expected %lu", (unsigned long)st.delivered,
		       (unsigned long)n);
}

static void expect_in_order(int from, size_t n)
{
	for (size_t i = 0; i < n; i++)
		cr_expect_eq(fk.got[i], from + (int)i, "record %zu is %d", i, fk.got[i]);
}

Test(deliver, failures_keep_order_and_exactly_once)
{
	struct tg_sink_worker *w;
	struct tg_sink_stats st;

	fk.open_fails = 1;
	fk.send_fails = 2;
	w = start(false, 1024, NULL);
	push_range(w, 0, 100);
	wait_for(100);
	wait_delivered(w, 100);
	expect_in_order(0, 100);
	worker_stats(w, &st);
	cr_expect_eq(st.delivered, 100);
	cr_expect_eq(st.dropped, 0);
	cr_expect_eq(st.errors, 3, "1 open + 2 send failures, got %lu", (unsigned long)st.errors);
	cr_expect_geq(st.retries, 3);
	cr_expect_str_eq(st.last_error, "scripted send failure");
	worker_stop(w, 1000);
	free(w);
}

Test(deliver, partial_acks_resend_the_rest)
{
	struct tg_sink_worker *w;

	fk.ack_max = 5; /* of each batch of 16, 5 are acknowledged */
	w = start(true, 1024, NULL);
	push_range(w, 0, 60);
	wait_for(60);
	expect_in_order(0, 60);
	worker_stop(w, 1000);
	free(w);
}

Test(deliver, full_queue_is_counted)
{
	struct tg_sink_worker *w;
	struct tg_sink_stats st;

	fk.open_fails = -1; /* never up */
	w = start(false, 16, NULL);
	push_range(w, 0, 100);
	worker_stats(w, &st);
	cr_expect_eq(st.queued, 16);
	cr_expect_eq(st.dropped, 84);
	worker_stop(w, 100);
	worker_stats(w, &st);
	cr_expect_eq(st.dropped, 100, "what was queued at the stop is counted too");
	free(w);
}

Test(deliver, spool_carries_records_across_a_restart)
{
	struct tg_sink_worker *w;
	struct tg_sink_stats st;

	fk.open_fails = -1; /* the collector is down the whole first run */
	w = start(true, 1024, dir);
	push_range(w, 0, 50);
	worker_stop(w, 200);
	worker_stats(w, &st);
	cr_expect_eq(st.dropped, 0, "nothing lost: it is in the spool");
	free(w);
	cr_assert_eq(fake_count(), 0);
	fk.open_fails = 0;
	fk.send_fails = 1; /* one more failure on the way */
	w = start(true, 1024, dir);
	push_range(w, 50, 70);
	wait_for(70);
	wait_delivered(w, 70);
	expect_in_order(0, 70);
	worker_stats(w, &st);
	cr_expect_eq(st.spooled, 0);
	cr_expect_eq(st.delivered, 70);
	worker_stop(w, 1000);
	free(w);
}
