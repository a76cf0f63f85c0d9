// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * ratelimit: per-rule, per-key rate limits and dedup of alerts, with
 * alert-suppressed summaries (the design is in ratelimit.h). Every
 * suppressed alert is counted in exactly one pending summary: entries
 * evicted at max_keys hand theirs to the rule's overflow entry first.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alert.h"
#include "engine.h"
#include "fields.h"
#include "ratelimit.h"
#include "rules.h"

#define NS_PER_S 1000000000ull
#define KEY_BUF 8192           /* longer keys compare on their first 8 KiB */
#define RULE_BUCKETS 1024
#define RATE_CRITICAL 2        /* emergency, alert, critical: not limited by default */

enum { R_RATE, R_DEDUP, R_REASONS };
static const char *const reason_name[R_REASONS] = { "rate", "dedup" };

struct rl_pend {
	uint64_t count, first, last;
};

struct rl_rule;

struct rl_entry {
	struct rl_entry *hnext;        /* hash chain */
	struct rl_entry *prev, *next;  /* LRU: head is the most recent */
	struct rl_rule *rule;
	uint64_t hash;
	char *kbuf;
	size_t klen;
	cJSON *key;                    /* {field: value} for the summaries */
	uint64_t win_start, last_ns;
	unsigned win_count;
	bool delivered;                /* last_ns is a delivery (dedup window) */
	struct rl_pend pend[R_REASONS];
};

struct rl_rule {
	struct rl_rule *hnext;
	char *name;
	int priority;
	uint64_t suppressed;
	unsigned n_keys;
	uint64_t win_start;
	uint64_t win_count;
	struct rl_entry over;          /* keys past TG_RATE_RULE_KEYS, evicted counts */
};

struct tg_ratelimit {
	struct tg_rate_defaults d;
	int def_key[TG_RATE_KEY_MAX];
	size_t n_def_key;
	struct rl_rule *rhash[RULE_BUCKETS];
	struct rl_rule **rules;
	size_t n_rules, cap_rules;
	struct rl_entry **khash;
	size_t khash_n;                /* a power of two */
	struct rl_entry *lru_head, *lru_tail;
	uint64_t n_keys, evictions, suppressed;
	uint64_t due_ns;               /* next summary; 0 = nothing pending */
	uint64_t last_now;
	char kbuf[KEY_BUF];
};

/* What applies to one alert. */
struct rl_lim {
	unsigned max;
	uint64_t per_ns, dedup_ns;
	const int *key;
	size_t n_key;
};

static uint64_t hash_bytes(uint64_t h, const void *p, size_t n)
{
	const unsigned char *s = p;

	for (size_t i = 0; i < n; i++) {
		h ^= s[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

void ratelimit_set_defaults(struct tg_ratelimit *rl, const struct tg_rate_defaults *d)
{
	size_t max_keys = rl->d.max_keys;

	memset(&rl->d, 0, sizeof(rl->d));
	if (d)
		rl->d = *d;
	rl->d.max_keys = max_keys ? max_keys : rl->d.max_keys;
	if (!rl->d.max_keys)
		rl->d.max_keys = TG_RATE_DEFAULT_KEYS;
	if (!rl->d.per_s)
		rl->d.per_s = 60;
	if (!rl->d.report_s)
		rl->d.report_s = 60;
}

struct tg_ratelimit *ratelimit_new(const struct tg_rate_defaults *d)
{
	static const char *const def_key[] = TG_RATE_DEFAULT_KEY;
	struct tg_ratelimit *rl = calloc(1, sizeof(*rl));

	if (!rl)
		return NULL;
	ratelimit_set_defaults(rl, d);
	for (size_t i = 0; i < sizeof(def_key) / sizeof(def_key[0]) && i < TG_RATE_KEY_MAX; i++) {
		int id = fields_lookup(def_key[i]);

		if (id >= 0)
			rl->def_key[rl->n_def_key++] = id;
	}
	for (rl->khash_n = 64; rl->khash_n < rl->d.max_keys; rl->khash_n <<= 1)
		;
	rl->khash = calloc(rl->khash_n, sizeof(*rl->khash));
	if (!rl->khash) {
		free(rl);
		return NULL;
	}
	return rl;
}

static void entry_free(struct rl_entry *e)
{
	free(e->kbuf);
	cJSON_Delete(e->key);
	free(e);
}

void ratelimit_free(struct tg_ratelimit *rl)
{
	if (!rl)
		return;
	for (struct rl_entry *e = rl->lru_head, *n; e; e = n) {
		n = e->next;
		entry_free(e);
	}
	for (size_t i = 0; i < rl->n_rules; i++) {
		free(rl->rules[i]->name);
		free(rl->rules[i]);
	}
	free(rl->rules);
	free(rl->khash);
	free(rl);
}

/* ---- what limits an alert ---- */

static bool lim_of(const struct tg_ratelimit *rl, const struct tg_rule *r, struct rl_lim *L)
{
	const struct tg_rule_rate *rr = &r->rate;
	bool exempt = rr->mode == TG_RATE_DEFAULT && r->priority <= RATE_CRITICAL;

	memset(L, 0, sizeof(*L));
	if (rr->mode == TG_RATE_OFF)
		return false;
	if (rr->mode == TG_RATE_OWN) {
		L->max = rr->max;
		L->per_ns = rr->per_ns;
	} else if (!exempt) {
		L->max = rl->d.max;
		L->per_ns = (uint64_t)rl->d.per_s * NS_PER_S;
	}
	if (rr->has_dedup)
		L->dedup_ns = rr->dedup_ns;
	else if (!exempt)
		L->dedup_ns = (uint64_t)rl->d.dedup_s * NS_PER_S;
	if (!L->per_ns)
		L->per_ns = 1;
	L->key = rr->n_key ? rr->key : rl->def_key;
	L->n_key = rr->n_key ? rr->n_key : rl->n_def_key;
	return L->max || L->dedup_ns;
}

/* ---- rule states, by name ---- */

static struct rl_rule *rule_get(struct tg_ratelimit *rl, const char *name)
{
	uint64_t h = hash_bytes(0xcbf29ce484222325ull, name, strlen(name)) % RULE_BUCKETS;
	struct rl_rule *rs;

	for (rs = rl->rhash[h]; rs; rs = rs->hnext)
		if (!strcmp(rs->name, name))
			return rs;
	if (rl->n_rules >= TG_RATE_RULES)
		return NULL;
	if (rl->n_rules == rl->cap_rules) {
		size_t cap = rl->cap_rules ? rl->cap_rules * 2 : 64;
		struct rl_rule **v = realloc(rl->rules, cap * sizeof(*v));

		if (!v)
			return NULL;
		rl->rules = v;
		rl->cap_rules = cap;
	}
	rs = calloc(1, sizeof(*rs));
	if (!rs || !(rs->name = strdup(name))) {
		free(rs);
		return NULL;
	}
	rs->over.rule = rs;
	rs->hnext = rl->rhash[h];
	rl->rhash[h] = rs;
	rl->rules[rl->n_rules++] = rs;
	return rs;
}

/* ---- keys ---- */

static void key_put(char *buf, size_t *used, const char *s, size_t n)
{
	if (n > KEY_BUF - *used)
		n = KEY_BUF - *used;
	memcpy(buf + *used, s, n);
	*used += n;
}

/* The key's values as length-prefixed bytes, so no value can fake another. */
static size_t key_build(const struct tg_view *v, const struct rl_lim *L, char *buf)
{
	size_t used = 0;
	char num[64];
	int w;

	for (size_t i = 0; i < L->n_key; i++) {
		const struct tg_val *vals;
		size_t nv = v ? view_get(v, L->key[i], &vals) : 0;

		w = snprintf(num, sizeof(num), "%d#%zu:", L->key[i], nv);
		key_put(buf, &used, num, (size_t)w);
		for (size_t k = 0; k < nv; k++) {
			char val[64];
			const char *s = vals[k].s;
			size_t sl = vals[k].len;

			if (fields_get(L->key[i])->type != TG_FT_STR) {
				sl = alert_fmt_val(L->key[i], &vals[k], val, sizeof(val));
				s = val;
			} else if (!s) {
				sl = 0;
			}
			w = snprintf(num, sizeof(num), "%zu:", sl);
			key_put(buf, &used, num, (size_t)w);
			key_put(buf, &used, s ? s : "", sl);
		}
	}
	return used;
}

static cJSON *key_json(const struct tg_view *v, const struct rl_lim *L)
{
	cJSON *o = cJSON_CreateObject();

	for (size_t i = 0; o && i < L->n_key; i++) {
		cJSON *val = v ? alert_field_json(v, L->key[i]) : NULL;

		cJSON_AddItemToObject(o, fields_get(L->key[i])->name, val ? val : cJSON_CreateNull());
	}
	return o;
}

static void lru_unlink(struct tg_ratelimit *rl, struct rl_entry *e)
{
	if (e->prev)
		e->prev->next = e->next;
	else
		rl->lru_head = e->next;
	if (e->next)
		e->next->prev = e->prev;
	else
		rl->lru_tail = e->prev;
	e->prev = e->next = NULL;
}

static void lru_push(struct tg_ratelimit *rl, struct rl_entry *e)
{
	e->next = rl->lru_head;
	e->prev = NULL;
	if (rl->lru_head)
		rl->lru_head->prev = e;
	rl->lru_head = e;
	if (!rl->lru_tail)
		rl->lru_tail = e;
}

static void pend_merge(struct rl_pend *dst, const struct rl_pend *src)
{
	if (!src->count)
		return;
	if (!dst->count || src->first < dst->first)
		dst->first = src->first;
	if (src->last > dst->last)
		dst->last = src->last;
	dst->count += src->count;
}

/* The least recently used entry goes; its pending counts go to its rule's
 * overflow entry, so the summaries still add up. */
static void evict_oldest(struct tg_ratelimit *rl)
{
	struct rl_entry *e = rl->lru_tail, **pp;

	if (!e)
		return;
	for (pp = &rl->khash[e->hash & (rl->khash_n - 1)]; *pp && *pp != e; pp = &(*pp)->hnext)
		;
	if (*pp)
		*pp = e->hnext;
	lru_unlink(rl, e);
	for (int i = 0; i < R_REASONS; i++)
		pend_merge(&e->rule->over.pend[i], &e->pend[i]);
	e->rule->n_keys--;
	rl->n_keys--;
	rl->evictions++;
	entry_free(e);
}

static struct rl_entry *entry_get(struct tg_ratelimit *rl, struct rl_rule *rs,
				  const struct tg_view *v, const struct rl_lim *L)
{
	size_t klen = key_build(v, L, rl->kbuf);
	uint64_t h = hash_bytes(hash_bytes(0xcbf29ce484222325ull, &rs, sizeof(rs)), rl->kbuf, klen);
	struct rl_entry **b = &rl->khash[h & (rl->khash_n - 1)], *e;

	for (e = *b; e; e = e->hnext) {
		if (e->rule == rs && e->hash == h && e->klen == klen && !memcmp(e->kbuf, rl->kbuf, klen)) {
			lru_unlink(rl, e);
			lru_push(rl, e);
			return e;
		}
	}
	if (rs->n_keys >= TG_RATE_RULE_KEYS)
		return &rs->over;
	if (rl->n_keys >= rl->d.max_keys)
		evict_oldest(rl);
	e = calloc(1, sizeof(*e));
	if (!e || !(e->kbuf = malloc(klen ? klen : 1)) || !(e->key = key_json(v, L))) {
		if (e)
			free(e->kbuf);
		free(e);
		return &rs->over;
	}
	memcpy(e->kbuf, rl->kbuf, klen);
	e->klen = klen;
	e->hash = h;
	e->rule = rs;
	b = &rl->khash[h & (rl->khash_n - 1)];   /* the eviction may have changed it */
	e->hnext = *b;
	*b = e;
	lru_push(rl, e);
	rs->n_keys++;
	rl->n_keys++;
	return e;
}

/* ---- admit ---- */

/* -1 = deliver, else the reason to suppress. */
static int judge(struct rl_entry *e, struct rl_rule *rs, const struct rl_lim *L, uint64_t now)
{
	bool over = e == &rs->over;

	/* dedup is about identical keys: the overflow entry holds many */
	if (L->dedup_ns && !over && e->delivered && now - e->last_ns < L->dedup_ns)
		return R_DEDUP;
	if (!L->max)
		return -1;
	if (!e->win_count || now - e->win_start >= L->per_ns) {
		e->win_start = now;
		e->win_count = 0;
	}
	if (!rs->win_count || now - rs->win_start >= L->per_ns) {
		rs->win_start = now;
		rs->win_count = 0;
	}
	if (e->win_count >= L->max || rs->win_count >= (uint64_t)L->max * TG_RATE_RULE_FACTOR)
		return R_RATE;
	return -1;
}

bool ratelimit_admit(struct tg_ratelimit *rl, const struct tg_alert *a, uint64_t now_ns)
{
	const struct tg_rule *r = a ? a->rule : NULL;
	struct rl_lim L;
	struct rl_rule *rs;
	struct rl_entry *e;
	struct rl_pend *p;
	int why;

	if (!rl || !r || !r->name || !lim_of(rl, r, &L))
		return true;
	if (now_ns < rl->last_now)
		now_ns = rl->last_now;
	rl->last_now = now_ns;
	rs = rule_get(rl, r->name);
	if (!rs)
		return true;
	rs->priority = r->priority;
	e = entry_get(rl, rs, a->view, &L);
	why = judge(e, rs, &L, now_ns);
	if (why < 0) {
		e->win_count++;
		rs->win_count++;
		e->last_ns = now_ns;
		e->delivered = true;
		return true;
	}
	p = &e->pend[why];
	if (!p->count)
		p->first = now_ns;
	p->last = now_ns;
	p->count++;
	rs->suppressed++;
	rl->suppressed++;
	if (!rl->due_ns)
		rl->due_ns = now_ns + (uint64_t)rl->d.report_s * NS_PER_S;
	return false;
}

/* ---- summaries ---- */

static cJSON *summary_json(const struct rl_rule *rs, const struct rl_entry *e, int why, uint64_t now)
{
	const struct rl_pend *p = &e->pend[why];
	const char *prio = rules_priority_name(rs->priority);
	char ts[48], first[48], last[48], msg[640];
	cJSON *j = cJSON_CreateObject(), *ev, *tg, *s;

	if (!j)
		return NULL;
	alert_timestamp(now, ts, sizeof(ts));
	alert_timestamp(p->first, first, sizeof(first));
	alert_timestamp(p->last, last, sizeof(last));
	cJSON_AddStringToObject(j, "@timestamp", ts);
	ev = cJSON_AddObjectToObject(j, "event");
	cJSON_AddStringToObject(ev, "kind", "alert");
	cJSON_AddStringToObject(ev, "action", "alert-suppressed");
	cJSON_AddNumberToObject(ev, "severity", rs->priority);
	cJSON_AddStringToObject(ev, "created", ts);
	cJSON_AddStringToObject(cJSON_AddObjectToObject(j, "rule"), "name", rs->name);
	snprintf(msg, sizeof(msg), "%" PRIu64 " alerts of %.300s suppressed (%s) from %s to %s%s",
		 p->count, rs->name, why == R_RATE ? "rate limit" : "duplicates", first, last,
		 e == &rs->over ? " (keys past the rule's key cap, or evicted)" : "");
	cJSON_AddStringToObject(j, "message", msg);
	tg = cJSON_AddObjectToObject(j, "twinguard");
	cJSON_AddStringToObject(cJSON_AddObjectToObject(tg, "alert"), "priority",
				prio ? prio : "unknown");
	s = cJSON_AddObjectToObject(tg, "suppressed");
	cJSON_AddStringToObject(s, "rule", rs->name);
	cJSON_AddItemToObject(s, "key", e->key ? cJSON_Duplicate(e->key, true) : cJSON_CreateObject());
	cJSON_AddNumberToObject(s, "count", (double)p->count);
	cJSON_AddStringToObject(s, "first", first);
	cJSON_AddStringToObject(s, "last", last);
	cJSON_AddStringToObject(s, "reason", reason_name[why]);
	if (e == &rs->over)
		cJSON_AddBoolToObject(s, "overflow", true);
	alert_stamp(j);
	return j;
}

static void flush_entry(const struct rl_rule *rs, struct rl_entry *e, uint64_t now,
			void (*fn)(void *ctx, cJSON *rec), void *ctx)
{
	for (int why = 0; why < R_REASONS; why++) {
		cJSON *j;

		if (!e->pend[why].count)
			continue;
		j = summary_json(rs, e, why, now);
		memset(&e->pend[why], 0, sizeof(e->pend[why]));
		if (j && fn)
			fn(ctx, j);
		else
			cJSON_Delete(j);
	}
}

void ratelimit_flush(struct tg_ratelimit *rl, uint64_t now_ns, bool final,
		     void (*fn)(void *ctx, cJSON *rec), void *ctx)
{
	if (!rl || (!final && (!rl->due_ns || now_ns < rl->due_ns)))
		return;
	rl->due_ns = 0;
	/* oldest first: the order the suppressions began in, roughly */
	for (struct rl_entry *e = rl->lru_tail; e; e = e->prev)
		flush_entry(e->rule, e, now_ns, fn, ctx);
	for (size_t i = 0; i < rl->n_rules; i++)
		flush_entry(rl->rules[i], &rl->rules[i]->over, now_ns, fn, ctx);
}

void ratelimit_stats(const struct tg_ratelimit *rl, struct tg_ratelimit_stats *st)
{
	memset(st, 0, sizeof(*st));
	if (!rl)
		return;
	st->suppressed = rl->suppressed;
	st->keys = rl->n_keys;
	st->evictions = rl->evictions;
}

cJSON *ratelimit_by_rule_json(const struct tg_ratelimit *rl)
{
	cJSON *o = cJSON_CreateObject();

	for (size_t i = 0; o && rl && i < rl->n_rules; i++)
		if (rl->rules[i]->suppressed)
			cJSON_AddNumberToObject(o, rl->rules[i]->name, (double)rl->rules[i]->suppressed);
	return o;
}
