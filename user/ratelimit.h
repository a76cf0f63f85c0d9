/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * ratelimit: noise control between the engine and the sinks
 * (docs/delivery.md, "Noise control"). The agent asks ratelimit_admit()
 * before it renders an alert, so a suppressed alert costs one hash lookup.
 *
 * State, all bounded:
 *
 *   rule state (by rule name, so a reload keeps it)      at most TG_RATE_RULES
 *     window: start, alerts delivered in it     <- rule-wide cap: TG_RATE_RULE_FACTOR x max
 *     overflow entry: keys past TG_RATE_RULE_KEYS, and what evicted entries
 *                     had not reported yet (so no count is ever lost)
 *   key entries (rule, key values), hash + LRU list       at most max_keys
 *     window: start, alerts delivered in it     <- per key: max per per_s
 *     last delivered time                       <- dedup window
 *     pending suppressed: count, first, last, per reason (rate, dedup)
 *
 * Which alerts are limited: a rule with "rate": "off" never; a rule with
 * its own "rate" always; other rules get the config defaults, except
 * emergency, alert and critical ones, which are never limited by default.
 * The key is the rule's "rate" key, or TG_RATE_DEFAULT_KEY.
 */
#ifndef TG_RATELIMIT_H
#define TG_RATELIMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cjson/cJSON.h>

struct tg_alert;

/* From the config keys alert_rate_max, alert_rate_per_s, alert_dedup_s and
 * suppress_report_s (user/config.h). max 0 = no default rate limit, dedup_s
 * 0 = no default dedup; max_keys 0 = TG_RATE_DEFAULT_KEYS. */
struct tg_rate_defaults {
	unsigned max, per_s, dedup_s, report_s;
	size_t max_keys;
};

/* The key of rules without their own: who did it, to what, where. */
#define TG_RATE_DEFAULT_KEY { "process.executable", "user.id", "file.path", "destination.ip" }
#define TG_RATE_DEFAULT_KEYS 4096
/* Distinct keys one rule may hold; later keys share its overflow entry, so
 * an attacker varying paths gets one budget for all of them. */
#define TG_RATE_RULE_KEYS 64
/* A rule's alerts per window over all its keys: this many times its max. */
#define TG_RATE_RULE_FACTOR 10
/* Rule states; rules past it (only after thousands of renames by reload)
 * are delivered unlimited, never dropped. */
#define TG_RATE_RULES 4096

struct tg_ratelimit;

struct tg_ratelimit_stats {
	uint64_t suppressed;   /* alerts not delivered, since start */
	uint64_t keys;         /* key entries live now */
	uint64_t evictions;    /* key entries dropped at max_keys (their counts kept) */
};

struct tg_ratelimit *ratelimit_new(const struct tg_rate_defaults *d);
void ratelimit_free(struct tg_ratelimit *rl);
/* A reload's new config defaults; the state (by rule name) stays.
 * max_keys is fixed at ratelimit_new. */
void ratelimit_set_defaults(struct tg_ratelimit *rl, const struct tg_rate_defaults *d);
/* true = deliver a; false = suppressed and counted. now_ns: CLOCK_REALTIME
 * (time going backwards counts as no time passing). */
bool ratelimit_admit(struct tg_ratelimit *rl, const struct tg_alert *a, uint64_t now_ns);
/* When due (report_s after the first suppression not yet reported) or
 * final, one alert-suppressed record per (rule, key, reason) with pending
 * counts goes to fn, which owns rec (docs/alerts.md). */
void ratelimit_flush(struct tg_ratelimit *rl, uint64_t now_ns, bool final,
		     void (*fn)(void *ctx, cJSON *rec), void *ctx);
void ratelimit_stats(const struct tg_ratelimit *rl, struct tg_ratelimit_stats *st);
/* {"RULE": suppressed since start, ...} for every rule that had any. */
cJSON *ratelimit_by_rule_json(const struct tg_ratelimit *rl);

#endif
