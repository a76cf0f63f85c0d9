// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * deliver: the set of sinks (deliver.h). Which sinks exist follows the
 * config: the stream (`output`) always, then alerts_file, syslog and
 * http_url when set. Each gets a worker (worker.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "deliver/deliver.h"
#include "deliver/worker.h"

struct tg_deliver {
	struct tg_config cfg;          /* sinks keep a pointer to it */
	struct tg_sink_worker *w[TG_SINK_MAX];
	size_t n;
	bool stopped;
};

typedef int (*sink_init_fn)(struct tg_sink *s, char *err, size_t errlen);

static int deliver_add(struct tg_deliver *d, const char *name, sink_init_fn init,
		       const struct tg_deliver_opts *o, char *err, size_t errlen)
{
	struct tg_sink_worker *w = calloc(1, sizeof(*w));
	struct tg_sink *s;
	int rc;

	if (!w) {
		snprintf(err, errlen, "%s: out of memory", name);
		return -1;
	}
	d->w[d->n++] = w;
	s = &w->sink;
	s->w = w;
	s->cfg = &d->cfg;
	s->kinds = TG_REC_ALERT_STREAM;
	snprintf(s->name, sizeof(s->name), "%s", name);
	if (init)
		rc = init(s, err, errlen);
	else
		rc = sink_stream_init(s, o->output ? o->output : d->cfg.output, o->events, o->json,
				      o->stdout_closed, err, errlen);
	if (rc)
		return -1;
	return worker_start(w, d->cfg.sink_queue_max ? d->cfg.sink_queue_max : 65536,
			    d->cfg.spool_dir, (uint64_t)d->cfg.spool_max_mb << 20, err, errlen);
}

struct tg_deliver *deliver_new(const struct tg_deliver_opts *o, char *err, size_t errlen)
{
	struct tg_deliver *d = calloc(1, sizeof(*d));
	const struct tg_config *c = o->cfg;

	if (!d || config_clone(&d->cfg, c)) {
		snprintf(err, errlen, "out of memory for the sinks");
		free(d);
		return NULL;
	}
	if (deliver_add(d, "output", NULL, o, err, errlen) ||
	    (c->alerts_file && deliver_add(d, "file", sink_file_init, o, err, errlen)) ||
	    (c->syslog && deliver_add(d, "syslog", sink_syslog_init, o, err, errlen)) ||
	    (c->http_url && deliver_add(d, "http", sink_http_init, o, err, errlen))) {
		deliver_free(d, 0);
		return NULL;
	}
	return d;
}

void deliver_submit(struct tg_deliver *d, struct tg_record *r)
{
	if (!d || !r)
		return;
	for (size_t i = 0; i < d->n; i++)
		if (d->w[i]->sink.kinds & r->kind)
			worker_push(d->w[i], r);
}

void deliver_reopen(struct tg_deliver *d)
{
	for (size_t i = 0; d && i < d->n; i++)
		worker_reopen(d->w[i]);
}

size_t deliver_stats(struct tg_deliver *d, struct tg_sink_stats *out, size_t max)
{
	size_t n = 0;

	for (size_t i = 0; d && i < d->n && n < max; i++)
		worker_stats(d->w[i], &out[n++]);
	return n;
}

uint64_t deliver_losses(struct tg_deliver *d)
{
	struct tg_sink_stats st;
	uint64_t sum = 0;

	for (size_t i = 0; d && i < d->n; i++) {
		worker_stats(d->w[i], &st);
		sum += st.dropped + st.spool_dropped;
	}
	return sum;
}

/* Stopped in parallel: every sink gets the same drain window, so a dead
 * collector cannot eat the others' share of it. */
void deliver_stop(struct tg_deliver *d, int drain_ms)
{
	if (!d || d->stopped)
		return;
	for (size_t i = 0; i < d->n; i++)
		worker_signal_stop(d->w[i], drain_ms);
	for (size_t i = 0; i < d->n; i++)
		worker_join(d->w[i]);
	d->stopped = true;
}

void deliver_free(struct tg_deliver *d, int drain_ms)
{
	if (!d)
		return;
	deliver_stop(d, drain_ms);
	for (size_t i = 0; i < d->n; i++) {
		worker_stop(d->w[i], drain_ms);
		free(d->w[i]);
	}
	config_free(&d->cfg);
	free(d);
}
