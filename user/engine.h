/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * engine: evaluates a rule set against event views. Single-event rules are
 * indexed by event.action; sequence and threshold rules keep bounded state
 * (docs/rules.md): at the cap the oldest state is evicted and counted.
 */
#ifndef TG_ENGINE_H
#define TG_ENGINE_H

#include <stdint.h>
#include <cjson/cJSON.h>

struct tg_ruleset;
struct tg_rule;
struct tg_view;

struct tg_engine_limits {
	size_t max_states;     /* sequence + threshold states together */
};

/* max_states used when limits are NULL or max_states is 0 (docs/engine.md). */
#define TG_ENGINE_DEFAULT_STATES 16384

struct tg_engine_stats {
	uint64_t events;
	uint64_t alerts;
	uint64_t states;       /* live now */
	uint64_t evictions;    /* states dropped at the cap */
	uint64_t expired;      /* states that timed out */
};

/* One alert: the rule, the triggering event view, and for sequences and
 * thresholds the correlated details (steps seen, count/sum). */
struct tg_alert {
	const struct tg_rule *rule;
	const struct tg_view *view;     /* the event that completed the match */
	char output[1024];              /* rendered template */
	cJSON *details;                 /* owned by the engine until the callback returns */
};

typedef void (*tg_alert_fn)(void *ctx, const struct tg_alert *a);

struct tg_engine *engine_new(const struct tg_ruleset *rs, const struct tg_engine_limits *lim);
void engine_free(struct tg_engine *e);
/* now_ns: event time (boot or wall clock, monotonic within one stream).
 * 0 = take it from the event's @timestamp. Time going backwards is read
 * as no time passing. fn may be NULL (state and counters only); it must
 * not call back into e. */
void engine_eval(struct tg_engine *e, const struct tg_view *v, uint64_t now_ns, tg_alert_fn fn,
		 void *ctx);
void engine_stats(const struct tg_engine *e, struct tg_engine_stats *st);
/* Render an output template: %field.name -> value(s), %% -> %. */
void engine_render(const char *tmpl, const struct tg_view *v, char *out, size_t len);
/* The alert as one JSON line object (rule, priority, tags, output, event). */
cJSON *engine_alert_json(const struct tg_alert *a);
/* Nanoseconds since the epoch of an RFC 3339 time such as @timestamp
 * ("2026-11-26T02:03:08.938843676Z", or with a +hh:mm offset); 0 when it
 * cannot be parsed. */
uint64_t engine_time_ns(const char *rfc3339);

#endif
