// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * engine: evaluates a compiled rule set against event views.
 *
 * Every condition (a single-event rule, a threshold rule, or one step of a
 * sequence) is indexed at engine_new() by the event.action values it can
 * match (cond_actions()); a condition that can match any action goes into
 * every bucket. So an event runs only the conditions that name its action,
 * in rule order, and an unknown action runs only the "any" list.
 *
 * Sequence and threshold rules keep state per (rule, key) in a bounded
 * table (engine_state.c). docs/engine.md describes the semantics.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alert.h"
#include "cond.h"
#include "engine.h"
#include "engine_guard.h"
#include "engine_index.h"
#include "engine_state.h"
#include "fields.h"
#include "rules.h"

/* Timed-out states dropped from the LRU end per event, so the table does
 * not fill with dead states between evictions. */
#define SWEEP_BUDGET 2

struct tg_engine {
	const struct tg_ruleset *rs;
	struct tg_index ix;
	struct tg_states st;
	struct tg_engine_fields f;
	uint64_t last_ns;
	uint64_t events, alerts;
};

/* One engine_eval() call. */
struct tg_ev {
	struct tg_engine *e;
	const struct tg_view *v;
	uint64_t now;
	const char *action;            /* interned bucket name, NULL if none */
	tg_alert_fn fn;
	void *ctx;
};

static int field_id(const char *name, const char *alt)
{
	int id = fields_lookup(name);

	return id >= 0 || !alt ? id : fields_lookup(alt);
}

static void fields_resolve(struct tg_engine_fields *f)
{
	f->action = field_id("event.action", NULL);
	f->entity = field_id("process.entity_id", NULL);
	f->anc_entity = field_id("process.ancestors.entity_id", "process.ancestors[].entity_id");
	f->user = field_id("user.id", NULL);
	f->container = field_id("container.id", NULL);
	f->pid = field_id("process.pid", NULL);
	f->exe = field_id("process.executable", NULL);
	f->path = field_id("file.path", NULL);
	f->dip = field_id("destination.ip", NULL);
	f->dport = field_id("destination.port", NULL);
	f->daddr = field_id("destination.address", NULL);
	f->old_path = field_id("file.old_path", NULL);
	f->target_path = field_id("file.target_path", NULL);
}

struct tg_engine *engine_new(const struct tg_ruleset *rs, const struct tg_engine_limits *lim)
{
	struct tg_engine *e;
	size_t max = lim && lim->max_states ? lim->max_states : TG_ENGINE_DEFAULT_STATES;

	if (!rs)
		return NULL;
	e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	e->rs = rs;
	fields_resolve(&e->f);
	if (states_init(&e->st, max, rs->n_rules) || engine_index_build(&e->ix, rs, &e->f)) {
		engine_free(e);
		return NULL;
	}
	return e;
}

void engine_free(struct tg_engine *e)
{
	if (!e)
		return;
	engine_index_free(&e->ix);
	states_free(&e->st);
	free(e);
}

void engine_stats(const struct tg_engine *e, struct tg_engine_stats *st)
{
	memset(st, 0, sizeof(*st));
	if (!e)
		return;
	st->events = e->events;
	st->alerts = e->alerts;
	st->states = e->st.n;
	st->evictions = e->st.evictions;
	st->expired = e->st.expired;
}

/* ---- alerts ------------------------------------------------------------ */

static void emit(const struct tg_ev *ev, const struct tg_rule *rule, cJSON *details)
{
	struct tg_alert a;

	ev->e->alerts++;
	if (ev->fn) {
		a.rule = rule;
		a.view = ev->v;
		a.details = details;
		engine_render(rule->output ? rule->output : "", ev->v, a.output, sizeof(a.output));
		ev->fn(ev->ctx, &a);
	}
	cJSON_Delete(details);
}

static const char *view_str(const struct tg_view *v, int field)
{
	const struct tg_val *vals;

	if (field < 0 || !view_get(v, field, &vals) || !vals[0].s)
		return NULL;
	return vals[0].s;
}

static bool view_num(const struct tg_view *v, int field, double *n)
{
	const struct tg_val *vals;

	if (field < 0 || !view_get(v, field, &vals))
		return false;
	*n = vals[0].n;
	return true;
}

static const char *event_ts(const struct tg_view *v)
{
	const cJSON *ts = v->json ? cJSON_GetObjectItemCaseSensitive(v->json, "@timestamp") : NULL;

	return cJSON_IsString(ts) ? ts->valuestring : NULL;
}

static void step_view(const struct tg_ev *ev, struct tg_alert_step *sv)
{
	const struct tg_engine_fields *f = &ev->e->f;
	const char *ip = view_str(ev->v, f->dip), *addr = view_str(ev->v, f->daddr);
	double port = 0;

	memset(sv, 0, sizeof(*sv));
	sv->action = ev->action ? ev->action : view_str(ev->v, f->action);
	sv->exe = view_str(ev->v, f->exe);
	sv->path = view_str(ev->v, f->path);
	sv->ts = event_ts(ev->v);
	sv->has_pid = view_num(ev->v, f->pid, &sv->pid);
	view_num(ev->v, f->dport, &port);
	if (ip && port > 0)
		snprintf(sv->dest, sizeof(sv->dest), strchr(ip, ':') ? "[%s]:%.0f" : "%s:%.0f", ip,
			 port);
	else if (ip || addr)
		snprintf(sv->dest, sizeof(sv->dest), "%s", ip ? ip : addr);
}

/* ---- sequences --------------------------------------------------------- */

static const char *const seq_key_names[] = {
	[TG_KEY_PROCESS] = "process",
	[TG_KEY_LINEAGE] = "lineage",
	[TG_KEY_USER] = "user",
	[TG_KEY_CONTAINER] = "container",
};

static int seq_key_field(const struct tg_engine *e, enum tg_seq_key key)
{
	switch (key) {
	case TG_KEY_PROCESS:
	case TG_KEY_LINEAGE:
		return e->f.entity;
	case TG_KEY_USER:
		return e->f.user;
	case TG_KEY_CONTAINER:
		return e->f.container;
	}
	return -1;
}

/* The key of value i of field; false when absent or empty. */
static bool key_from(struct tg_key *k, const struct tg_view *v, int field, size_t i)
{
	const struct tg_val *vals;
	char buf[64];
	size_t n;

	key_reset(k);
	if (field < 0 || view_get(v, field, &vals) <= i)
		return false;
	n = alert_fmt_val(field, &vals[i], buf, sizeof(buf));
	if (fields_get(field)->type == TG_FT_STR)
		key_add(k, vals[i].s ? vals[i].s : "", vals[i].s ? vals[i].len : 0);
	else
		key_add(k, buf, n);
	key_done(k);
	return k->len > 0;
}

/* Copy str into the step's text; TG_NO_TEXT when absent or no room. */
static uint16_t seq_text(struct tg_seq_step *st, const char *str)
{
	size_t room = TG_SEQ_STEP_TEXT - st->used, n;
	uint16_t off = st->used;

	if (!str || room < 2)
		return TG_NO_TEXT;
	n = strlen(str);
	if (n > TG_SEQ_STR_MAX)
		n = TG_SEQ_STR_MAX;
	if (n > room - 1)
		n = room - 1;
	memcpy(st->text + off, str, n);
	st->text[off + n] = '\0';
	st->used += (uint16_t)(n + 1);
	return off;
}

static const char *seq_str(const struct tg_seq_step *st, uint16_t off)
{
	return off == TG_NO_TEXT ? NULL : st->text + off;
}

static void seq_record(struct tg_seq_state *s, uint32_t k, const struct tg_ev *ev)
{
	struct tg_seq_step *st = &s->step[k];
	struct tg_alert_step sv;

	step_view(ev, &sv);
	st->used = 0;
	st->time_ns = ev->now;
	st->pid = sv.pid;
	st->has_pid = sv.has_pid;
	/* Bucket names live as long as the engine; others are copied. The
	 * path goes before the executable: it is what a step is about. */
	st->action = ev->action;
	st->action_txt = ev->action ? TG_NO_TEXT : seq_text(st, sv.action);
	st->path = seq_text(st, sv.path);
	st->dest = sv.dest[0] ? seq_text(st, sv.dest) : TG_NO_TEXT;
	st->exe = seq_text(st, sv.exe);
	snprintf(st->ts, sizeof(st->ts), "%s", sv.ts ? sv.ts : "");
}

static void seq_start(struct tg_seq_state *s, const struct tg_rule *rule, const struct tg_ev *ev)
{
	s->start_ns = ev->now;
	s->reached = 1;
	s->h.expires_ns = ev->now + rule->window_ns;
	if (s->h.expires_ns < ev->now)
		s->h.expires_ns = UINT64_MAX;
	seq_record(s, 0, ev);
}

static cJSON *seq_details(const struct tg_seq_state *s, const struct tg_rule *rule,
			  const struct tg_ev *ev)
{
	cJSON *d = cJSON_CreateObject(), *steps = cJSON_AddArrayToObject(d, "steps");
	struct tg_alert_step sv;
	uint32_t i;

	for (i = 0; s && i < s->reached; i++) {
		const struct tg_seq_step *st = &s->step[i];

		memset(&sv, 0, sizeof(sv));
		sv.action = st->action ? st->action : seq_str(st, st->action_txt);
		sv.exe = seq_str(st, st->exe);
		sv.path = seq_str(st, st->path);
		sv.ts = st->ts[0] ? st->ts : NULL;
		sv.pid = st->pid;
		sv.has_pid = st->has_pid;
		if (st->dest != TG_NO_TEXT)
			snprintf(sv.dest, sizeof(sv.dest), "%s", seq_str(st, st->dest));
		cJSON_AddItemToArray(steps, alert_step_json(&sv, st->time_ns));
	}
	step_view(ev, &sv);
	cJSON_AddItemToArray(steps, alert_step_json(&sv, ev->now));
	if (s) {
		cJSON_AddStringToObject(d, "key", s->h.key);
	} else {
		struct tg_key k;

		key_from(&k, ev->v, seq_key_field(ev->e, rule->key), 0);
		cJSON_AddStringToObject(d, "key", k.s);
	}
	if (rule->key >= TG_KEY_PROCESS && rule->key <= TG_KEY_CONTAINER)
		cJSON_AddStringToObject(d, "by", seq_key_names[rule->key]);
	return d;
}

/* One sequence rule against one event: the steps the event's bucket holds
 * (bit k: step k) and their conditions; each step's result is computed at
 * most once: 0 unknown, 1 true, 2 false. */
struct tg_seq_run {
	uint32_t mask;
	const struct tg_cond *cond[TG_SEQ_MAX_STEPS];   /* NULL: always true */
	uint8_t memo[TG_SEQ_MAX_STEPS];
};

static bool step_eval(struct tg_seq_run *run, uint32_t k, const struct tg_view *v)
{
	if (!run->memo[k])
		run->memo[k] = !run->cond[k] || cond_eval(run->cond[k], v) ? 1 : 2;
	return run->memo[k] == 1;
}

/* Try to advance an existing state with this event. The candidate keys
 * are the event's own key and, by lineage, its ancestors' entity ids,
 * nearest first: the first state that can advance does. */
static bool seq_advance(const struct tg_ev *ev, uint32_t ri, struct tg_seq_run *run)
{
	struct tg_engine *e = ev->e;
	const struct tg_rule *rule = &e->rs->rules[ri];
	int field = seq_key_field(e, rule->key);
	size_t i, n = 1;
	struct tg_key k;

	if (rule->key == TG_KEY_LINEAGE && e->f.anc_entity >= 0)
		n += view_get(ev->v, e->f.anc_entity, NULL);
	for (i = 0; i < n; i++) {
		bool have = i ? key_from(&k, ev->v, e->f.anc_entity, i - 1)
			      : key_from(&k, ev->v, field, 0);
		struct tg_seq_state *s;
		uint32_t step;

		if (!have)
			continue;
		s = (struct tg_seq_state *)states_find(&e->st, ri, &k);
		if (!s)
			continue;
		if (s->h.expires_ns < ev->now) {
			states_remove(&e->st, &s->h, true);
			continue;
		}
		step = s->reached;
		if (step >= rule->n_steps || !(run->mask & (1u << step)) ||
		    !step_eval(run, step, ev->v))
			continue;
		if (step + 1 == rule->n_steps) {
			cJSON *d = seq_details(s, rule, ev);

			states_remove(&e->st, &s->h, false);
			emit(ev, rule, d);
			return true;
		}
		seq_record(s, step, ev);
		s->reached++;
		states_touch(&e->st, &s->h);
		return true;
	}
	return false;
}

static void seq_event(const struct tg_ev *ev, uint32_t ri, struct tg_seq_run *run)
{
	struct tg_engine *e = ev->e;
	const struct tg_rule *rule = &e->rs->rules[ri];
	struct tg_seq_state *s;
	struct tg_key k;

	/* Later steps need a state: skip them while the rule has none. */
	if ((run->mask & ~1u) && e->st.per_rule[ri] && seq_advance(ev, ri, run))
		return;
	if (!(run->mask & 1u) || !step_eval(run, 0, ev->v))
		return;
	if (rule->n_steps == 1) {
		emit(ev, rule, seq_details(NULL, rule, ev));
		return;
	}
	if (!key_from(&k, ev->v, seq_key_field(e, rule->key), 0))
		return;
	s = (struct tg_seq_state *)states_find(&e->st, ri, &k);
	if (s && s->h.expires_ns < ev->now) {
		/* Timed out: count it, then start over in the same memory. */
		e->st.expired++;
	} else if (s && s->reached > 1) {
		/* Progress past step 1 is kept until its window ends. */
		return;
	}
	if (!s)
		s = (struct tg_seq_state *)states_add(
			&e->st, ri, TG_ST_SEQ,
			sizeof(*s) + (rule->n_steps - 1) * sizeof(s->step[0]), &k, ev->now);
	if (!s)
		return;
	seq_start(s, rule, ev);
	states_touch(&e->st, &s->h);
}

/* ---- thresholds -------------------------------------------------------- */

/* Group key: the group_by fields' values in order; values are joined by
 * 0x1f, fields by 0x1e, and an absent field is 0x1d, so ("a b", "") and
 * ("a", "b") never share a group. */
static void group_key(const struct tg_rule *rule, const struct tg_view *v, struct tg_key *k)
{
	size_t g, i, n;

	key_reset(k);
	for (g = 0; g < rule->n_group_by && g < TG_GROUP_MAX; g++) {
		const struct tg_val *vals;
		int field = rule->group_by[g];

		if (g)
			key_add(k, "\x1e", 1);
		n = field >= 0 ? view_get(v, field, &vals) : 0;
		if (!n)
			key_add(k, "\x1d", 1);
		for (i = 0; i < n; i++) {
			char buf[64];

			if (i)
				key_add(k, "\x1f", 1);
			if (fields_get(field)->type == TG_FT_STR)
				key_add(k, vals[i].s ? vals[i].s : "", vals[i].s ? vals[i].len : 0);
			else
				key_add(k, buf, alert_fmt_val(field, &vals[i], buf, sizeof(buf)));
		}
	}
	key_done(k);
}

/* What this event adds: 1, or the sum of sum_field's values (false when
 * the event has none, so it does not touch the group). */
static bool thr_amount(const struct tg_rule *rule, const struct tg_view *v, double *amount)
{
	const struct tg_val *vals;
	size_t n, i;

	*amount = 1;
	if (rule->sum_field < 0)
		return true;
	n = view_get(v, rule->sum_field, &vals);
	*amount = 0;
	for (i = 0; i < n; i++) {
		double x = vals[i].n;

		if (fields_get(rule->sum_field)->type == TG_FT_STR)
			x = vals[i].s ? strtod(vals[i].s, NULL) : 0;
		if (isfinite(x))
			*amount += x;
	}
	return n > 0;
}

static void thr_event(const struct tg_ev *ev, uint32_t ri)
{
	struct tg_engine *e = ev->e;
	const struct tg_rule *rule = &e->rs->rules[ri];
	uint64_t width = rule->window_ns / TG_THR_BUCKETS, slot, end;
	struct tg_thr_bucket *b;
	struct tg_thr_state *s;
	struct tg_key k;
	double amount, total = 0;
	size_t i;

	if (!thr_amount(rule, ev->v, &amount))
		return;
	if (!width)
		width = 1;
	group_key(rule, ev->v, &k);
	s = (struct tg_thr_state *)states_find(&e->st, ri, &k);
	if (s && s->h.expires_ns < ev->now) {
		/* Timed out: count it, then start over in the same memory. */
		e->st.expired++;
		s->quiet_until = 0;
		memset(s->b, 0, sizeof(s->b));
	}
	if (!s)
		s = (struct tg_thr_state *)states_add(&e->st, ri, TG_ST_THR, sizeof(*s), &k,
						      ev->now);
	if (!s)
		return;
	slot = ev->now / width;
	b = &s->b[slot % TG_THR_BUCKETS];
	if (b->slot != slot) {
		b->slot = slot;
		b->amount = 0;
	}
	b->amount += amount;
	for (i = 0; i < TG_THR_BUCKETS; i++)
		if (s->b[i].slot + TG_THR_BUCKETS > slot)
			total += s->b[i].amount;
	if (total > rule->limit && ev->now >= s->quiet_until) {
		s->quiet_until = ev->now + rule->window_ns;
		emit(ev, rule, alert_thr_details(rule, ev->v, total));
	}
	/* Dead once every bucket left the window and alerts are re-armed. */
	end = ev->now + rule->window_ns;
	s->h.expires_ns = end < ev->now ? UINT64_MAX : end;
	if (s->quiet_until > s->h.expires_ns)
		s->h.expires_ns = s->quiet_until;
	states_touch(&e->st, &s->h);
}

/* ---- evaluation -------------------------------------------------------- */

/* The condition a candidate runs: its plan for the bucket, or as compiled
 * when the event's action is not exactly one value (the plan assumes it). */
static const struct tg_cond *cand_cond(const struct tg_cand *c, bool planned)
{
	return planned ? c->plan : c->cond;
}

/* The candidates of one event: its bucket's, or the "any" list; which of
 * them the guards let through (pass NULL: all); and, with plans, which of
 * their required fields (req) the event has. */
struct tg_cands {
	const struct tg_cand *c;
	size_t n;
	const uint8_t *pass;
	bool planned;
	const struct tg_req *req;
	uint64_t have;                 /* bit k: req->field[k] has a value */
};

/* True when candidate i cannot match: its guard failed, or a field its
 * plan requires is absent. */
static bool cand_skip(const struct tg_cands *cs, size_t i)
{
	return (cs->pass && !cs->pass[i]) || (cs->planned && (cs->c[i].req & ~cs->have));
}

/* Looks up every field the candidates require, once, all together: the
 * loads are independent, so on a cold view their misses overlap (measured:
 * better than looking each up when a candidate first needs it). */
static void cands_fields(struct tg_cands *cs, const struct tg_view *v)
{
	for (size_t k = 0; k < cs->req->n; k++)
		if (view_get(v, cs->req->field[k], NULL))
			cs->have |= 1ull << k;
}

static void cands_select(struct tg_ev *ev, struct tg_cands *cs)
{
	const struct tg_engine *e = ev->e;
	const struct tg_val *av, *gv;
	const struct tg_bucket *bk = NULL;
	size_t na = view_get(ev->v, e->f.action, &av);

	*cs = (struct tg_cands){ e->ix.any, e->ix.n_any, NULL, true, &e->ix.any_req, 0 };
	if (na && av[0].s)
		bk = engine_index_find(&e->ix, av[0].s);
	if (bk) {
		cs->c = bk->c;
		cs->n = bk->n;
		cs->req = &bk->req;
		cs->planned = na == 1;
		ev->action = bk->action;
	}
	if (cs->planned)
		cands_fields(cs, ev->v);
	if (bk && bk->gi)
		cs->pass = view_get(ev->v, bk->guard_field, &gv) ?
			   engine_guard_eval(bk->gi, gv[0].s, gv[0].len) :
			   engine_guard_eval(bk->gi, NULL, 0);
}

/* A sequence rule's candidates are adjacent, from cs->c[i] on: runs the
 * rule once with all of its steps not skipped (a skipped step is false).
 * Returns the index past them. */
static size_t seq_cands(const struct tg_ev *ev, const struct tg_cands *cs, size_t i)
{
	uint32_t ri = cs->c[i].rule;
	struct tg_seq_run run = { 0 };

	for (; i < cs->n && cs->c[i].rule == ri; i++) {
		if (cand_skip(cs, i))
			continue;
		run.mask |= 1u << cs->c[i].step;
		run.cond[cs->c[i].step] = cand_cond(&cs->c[i], cs->planned);
	}
	if (run.mask)
		seq_event(ev, ri, &run);
	return i;
}

void engine_eval(struct tg_engine *e, const struct tg_view *v, uint64_t now_ns, tg_alert_fn fn,
		 void *ctx)
{
	struct tg_ev ev = { .e = e, .v = v, .fn = fn, .ctx = ctx };
	struct tg_cands cs;
	size_t i;

	if (!e || !v)
		return;
	e->events++;
	if (!now_ns && event_ts(v))
		now_ns = engine_time_ns(event_ts(v));
	if (now_ns < e->last_ns)
		now_ns = e->last_ns;
	e->last_ns = now_ns;
	ev.now = now_ns;
	states_sweep(&e->st, now_ns, SWEEP_BUDGET);

	cands_select(&ev, &cs);
	for (i = 0; i < cs.n; i++) {
		const struct tg_cand *c = &cs.c[i];
		const struct tg_rule *rule = &e->rs->rules[c->rule];
		const struct tg_cond *cond = cand_cond(c, cs.planned);

		if (rule->kind == TG_RULE_SEQUENCE) {
			i = seq_cands(&ev, &cs, i) - 1;
			continue;
		}
		if (cand_skip(&cs, i) || (cond && !cond_eval(cond, v)))
			continue;
		if (rule->kind == TG_RULE_THRESHOLD)
			thr_event(&ev, c->rule);
		else
			emit(&ev, rule, NULL);
	}
}
