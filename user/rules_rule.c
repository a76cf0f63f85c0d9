// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * rules_rule: rule items (docs/rules.md): single-event, sequence and
 * threshold rules, their priorities, windows and output templates.
 *
 * Same name again, without "append": a rule item with a condition,
 * sequence or threshold replaces the old rule; one with only other keys
 * patches them (how an operator switches off a shipped rule). With
 * "append": true, rule conditions are and-ed and exceptions added.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fields.h"
#include "jsonsrc.h"
#include "rules.h"
#include "rules_priv.h"

#define PRIORITY_NAMES "emergency, alert, critical, error, warning, notice, informational (info), debug"
#define WINDOW_MAX_NS (24ull * 3600 * 1000000000ull)
#define FIELD_NAME_MAX 128

/* ---- priorities and windows ---- */

static const char *const priorities[] = {
	"emergency", "alert", "critical", "error", "warning", "notice", "informational", "debug",
};

const char *rules_priority_name(int priority)
{
	if (priority < 0 || priority >= (int)(sizeof(priorities) / sizeof(priorities[0])))
		return "unknown";
	return priorities[priority];
}

int rules_priority_parse(const char *name)
{
	if (!name)
		return -1;
	if (!strcasecmp(name, "info"))
		return 6;
	for (size_t i = 0; i < sizeof(priorities) / sizeof(priorities[0]); i++)
		if (!strcasecmp(name, priorities[i]))
			return (int)i;
	return -1;
}

/* "500ms", "60s", "5m", "1h": a positive integer and a unit, at most 24h. */
static int parse_window(const char *s, uint64_t *ns)
{
	static const struct { const char *unit; uint64_t ns; } units[] = {
		{ "ms", 1000000ull }, { "s", 1000000000ull }, { "m", 60000000000ull },
		{ "h", 3600000000000ull },
	};
	uint64_t v = 0;
	const char *p = s;

	for (; *p >= '0' && *p <= '9'; p++) {
		v = v * 10 + (uint64_t)(*p - '0');
		if (v > WINDOW_MAX_NS)
			return -1;
	}
	if (p == s || v == 0)
		return -1;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(p, units[i].unit))
			continue;
		if (v > WINDOW_MAX_NS / units[i].ns)
			return -1;
		*ns = v * units[i].ns;
		return 0;
	}
	return -1;
}

/* ---- output templates: %field.name, %% for a percent sign ---- */

/* Name characters as engine_render (alert.c) reads them. */
static bool name_char(char c, size_t pos)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
	       c == '[' || c == ']' || (c == '@' && pos == 0);
}

/* Next reference at or after *i: its name's start and length. A '%' not
 * followed by a name character is literal text; trailing dots end a
 * sentence, not the name ("by %process.executable."). */
static bool next_ref(const char *t, size_t *i, size_t *name, size_t *len)
{
	for (; t[*i]; (*i)++) {
		size_t s, e;

		if (t[*i] != '%')
			continue;
		if (t[*i + 1] == '%') {
			(*i)++;
			continue;
		}
		s = e = *i + 1;
		while (name_char(t[e], e - s))
			e++;
		while (e > s && t[e - 1] == '.')
			e--;
		if (e == s)
			continue;
		*i = e;
		*name = s;
		*len = e - s;
		return true;
	}
	return false;
}

static int ref_field(const char *t, size_t name, size_t len)
{
	char buf[FIELD_NAME_MAX];

	if (len >= sizeof(buf))
		return -1;
	memcpy(buf, t + name, len);
	buf[len] = 0;
	return fields_lookup(buf);
}

int *rl_output_fields(const char *tmpl)
{
	size_t i = 0, name, len, n = 0;
	int *ids = malloc((strlen(tmpl) / 2 + 1) * sizeof(*ids));

	if (!ids)
		return NULL;
	while (next_ref(tmpl, &i, &name, &len)) {
		int id = ref_field(tmpl, name, len);
		bool seen = false;

		for (size_t k = 0; k < n; k++)
			seen |= ids[k] == id;
		if (id >= 0 && !seen)
			ids[n++] = id;
	}
	ids[n] = -1;
	return ids;
}

/* ---- rule items ---- */

void rl_rule_free(struct tg_rrule *r)
{
	free(r->name);
	free(r->desc);
	free(r->output);
	rl_strs_free(r->tags, r->n_tags);
	rl_text_free(&r->cond);
	for (size_t i = 0; i < r->n_exc; i++) {
		free(r->exc[i].name);
		rl_text_free(&r->exc[i].cond);
	}
	free(r->exc);
	for (size_t i = 0; i < r->n_steps; i++)
		rl_text_free(&r->steps[i]);
	memset(r, 0, sizeof(*r));
}

/* What one rule item says; has.* tell which keys it had. */
struct rule_in {
	struct tg_rrule r;
	struct {
		bool desc, output, priority, tags, enabled, action, exc, cond, seq, thr, append;
		bool rate, dedup;
	} has;
};

static void get_window(struct rl_item *it, cJSON *obj, const struct jsonsrc_pos *p, uint64_t *ns)
{
	const struct jsonsrc_pos *wp;
	cJSON *w = rl_get(it, obj, p, "window", W_STR,
			  "\"window\": \"60s\" (ms, s, m or h; at most 24h)", &wp);

	if (w && parse_window(w->valuestring, ns))
		rl_ierr(it, wp->off, "invalid window \"%s\"; expected a positive whole number and a "
			"unit: 500ms, 60s, 5m or 1h (at most 24h)", w->valuestring);
}

static void load_sequence(struct rl_item *it, cJSON *obj, const struct jsonsrc_pos *p,
			  struct tg_rrule *r)
{
	static const char *const keys[] = { "by", "window", "steps", NULL };
	static const char *const step_keys[] = { "condition", NULL };
	static const char *const by[] = { "process", "lineage", "user", "container" };
	const struct jsonsrc_pos *bp, *sp, *cp;
	cJSON *b, *steps, *c;
	size_t i = 0, n;

	rl_check_keys(it, obj, p, keys, "\"by\", \"window\", \"steps\"");
	b = rl_get(it, obj, p, "by", W_STR, "\"by\": one of process, lineage, user, container", &bp);
	for (size_t k = 0; b && k < sizeof(by) / sizeof(by[0]); k++)
		if (!strcmp(b->valuestring, by[k]))
			r->key = (enum tg_seq_key)(TG_KEY_PROCESS + k);
	if (b && !r->key)
		rl_ierr(it, bp->off, "unknown correlation \"%s\" in \"by\"; expected process, lineage, "
			"user or container", b->valuestring);
	get_window(it, obj, p, &r->window_ns);
	steps = rl_get(it, obj, p, "steps", W_ARR, "\"steps\": [{\"condition\": \"...\"}, ...]", &sp);
	if (!steps)
		return;
	n = (size_t)cJSON_GetArraySize(steps);
	if (n < 2 || n > TG_SEQ_MAX_STEPS) {
		rl_ierr(it, sp->off, "sequence has %zu step(s); expected 2 to %d", n, TG_SEQ_MAX_STEPS);
		return;
	}
	for (cJSON *s = steps->child; s; s = s->next, i++) {
		const struct jsonsrc_pos *p1 = rl_kid(sp, i);

		if (!rl_is(s, W_OBJ)) {
			rl_ierr(it, p1->off, "step %zu is %s; expected {\"condition\": \"...\"}", i + 1,
				jsonsrc_kind(s));
			continue;
		}
		rl_check_keys(it, s, p1, step_keys, "\"condition\"");
		c = rl_get(it, s, p1, "condition", W_STR, "\"condition\": \"...\"", &cp);
		if (c && !rl_text_set(it->L, &r->steps[r->n_steps], c->valuestring,
				      rl_item_at(it, cp->off)))
			r->n_steps++;
	}
}

static void load_threshold(struct rl_item *it, cJSON *obj, const struct jsonsrc_pos *p,
			   struct tg_rrule *r)
{
	static const char *const keys[] = { "condition", "window", "group_by", "sum", "limit", NULL };
	const struct jsonsrc_pos *cp, *gp, *sp, *lp;
	cJSON *c, *g, *s, *l;
	size_t i = 0;

	rl_check_keys(it, obj, p, keys, "\"condition\", \"window\", \"group_by\", \"sum\", \"limit\"");
	c = rl_get(it, obj, p, "condition", W_STR, "\"condition\": \"...\"", &cp);
	/* With a "condition" beside the threshold (an error already), keep one. */
	rl_text_free(&r->cond);
	if (c)
		rl_text_set(it->L, &r->cond, c->valuestring, rl_item_at(it, cp->off));
	get_window(it, obj, p, &r->window_ns);
	g = rl_get(it, obj, p, "group_by", W_ARR, NULL, &gp);
	if (g && cJSON_GetArraySize(g) > TG_GROUP_MAX)
		rl_ierr(it, gp->off, "\"group_by\" has %d fields; expected at most %d",
			cJSON_GetArraySize(g), TG_GROUP_MAX);
	for (cJSON *f = g ? g->child : NULL; f && i < TG_GROUP_MAX; f = f->next, i++) {
		int id = rl_is(f, W_STR) ? fields_lookup(f->valuestring) : -1;

		if (id >= 0)
			r->group_by[r->n_group_by++] = id;
		else if (rl_is(f, W_STR))
			rl_ierr(it, rl_kid(gp, i)->off, "element %zu of \"group_by\" is the unknown "
				"field '%s'; expected a field name (docs/fields.md)", i + 1,
				f->valuestring);
		else
			rl_ierr(it, rl_kid(gp, i)->off, "element %zu of \"group_by\" is %s; expected a "
				"field name (docs/fields.md)", i + 1, jsonsrc_kind(f));
	}
	s = rl_get(it, obj, p, "sum", W_STR, NULL, &sp);
	if (s) {
		int id = fields_lookup(s->valuestring);
		const struct tg_field *f = id >= 0 ? fields_get(id) : NULL;

		if (!f)
			rl_ierr(it, sp->off, "\"sum\" names the unknown field '%s'; expected a numeric "
				"field such as network.bytes", s->valuestring);
		else if (f->type != TG_FT_NUM)
			rl_ierr(it, sp->off, "\"sum\" field '%s' is not numeric; expected a numeric "
				"field such as network.bytes", s->valuestring);
		else
			r->sum_field = id;
	}
	l = rl_get(it, obj, p, "limit", W_NUM, "\"limit\": a positive number", &lp);
	if (l && !(isfinite(l->valuedouble) && l->valuedouble > 0))
		rl_ierr(it, lp->off, "\"limit\" is %g; expected a positive number", l->valuedouble);
	else if (l)
		r->limit = l->valuedouble;
}

/* "rate": "off" or {"per": "1m", "max": 10, "key": ["field", ...]} */
static void load_rate(struct rl_item *it, cJSON *v, const struct jsonsrc_pos *p, struct tg_rrule *r)
{
	static const char *const keys[] = { "per", "max", "key", NULL };
	const struct jsonsrc_pos *wp, *mp, *kp;
	cJSON *w, *m, *k;
	size_t i = 0;

	if (cJSON_IsString(v) && !strcmp(v->valuestring, "off")) {
		r->rate.mode = TG_RATE_OFF;
		return;
	}
	if (!cJSON_IsObject(v)) {
		rl_ierr(it, p->off, "\"rate\" is %s; expected \"off\" or {\"per\": \"1m\", \"max\": 10, "
			"\"key\": [\"process.executable\", ...]}", cJSON_IsString(v) ? "an unknown string" :
			jsonsrc_kind(v));
		return;
	}
	r->rate.mode = TG_RATE_OWN;
	rl_check_keys(it, v, p, keys, "\"per\", \"max\", \"key\"");
	w = rl_get(it, v, p, "per", W_STR, "\"per\": \"1m\" (ms, s, m or h; at most 24h)", &wp);
	if (w && parse_window(w->valuestring, &r->rate.per_ns))
		rl_ierr(it, wp->off, "invalid \"per\" \"%s\"; expected a positive whole number and a "
			"unit: 500ms, 30s, 1m or 1h (at most 24h)", w->valuestring);
	m = rl_get(it, v, p, "max", W_NUM, "\"max\": alerts per key per window, a whole number "
		   "from 1 to 1000000", &mp);
	if (m && !(m->valuedouble >= 1 && m->valuedouble <= 1000000 &&
		   m->valuedouble == (double)(unsigned)m->valuedouble))
		rl_ierr(it, mp->off, "\"max\" is %g; expected a whole number from 1 to 1000000",
			m->valuedouble);
	else if (m)
		r->rate.max = (unsigned)m->valuedouble;
	k = rl_get(it, v, p, "key", W_ARR, NULL, &kp);
	if (k && (cJSON_GetArraySize(k) < 1 || cJSON_GetArraySize(k) > TG_RATE_KEY_MAX))
		rl_ierr(it, kp->off, "\"key\" has %d fields; expected 1 to %d", cJSON_GetArraySize(k),
			TG_RATE_KEY_MAX);
	for (cJSON *f = k ? k->child : NULL; f && i < TG_RATE_KEY_MAX; f = f->next, i++) {
		int id = rl_is(f, W_STR) ? fields_lookup(f->valuestring) : -1;

		if (id >= 0)
			r->rate.key[r->rate.n_key++] = id;
		else
			rl_ierr(it, rl_kid(kp, i)->off, "element %zu of \"key\" is %s%s%s; expected a "
				"field name (docs/fields.md)", i + 1, rl_is(f, W_STR) ? "the unknown field '" :
				jsonsrc_kind(f), rl_is(f, W_STR) ? f->valuestring : "",
				rl_is(f, W_STR) ? "'" : "");
	}
}

/* "dedup": "30s" (identical alerts within it are one) or "off" */
static void load_dedup(struct rl_item *it, cJSON *v, const struct jsonsrc_pos *p, struct tg_rrule *r)
{
	r->rate.has_dedup = true;
	r->rate.dedup_ns = 0;
	if (!strcmp(v->valuestring, "off"))
		return;
	if (parse_window(v->valuestring, &r->rate.dedup_ns))
		rl_ierr(it, p->off, "invalid \"dedup\" \"%s\"; expected \"off\" or a positive whole "
			"number and a unit: 500ms, 30s, 5m or 1h (at most 24h)", v->valuestring);
}

static void load_exceptions(struct rl_item *it, cJSON *arr, const struct jsonsrc_pos *p,
			    struct tg_rrule *r)
{
	static const char *const keys[] = { "name", "condition", NULL };
	size_t n = (size_t)cJSON_GetArraySize(arr), i = 0;
	const struct jsonsrc_pos *np, *cp;

	r->exc = n ? calloc(n, sizeof(*r->exc)) : NULL;
	if (n && !r->exc) {
		rl_oom(it->L);
		return;
	}
	for (cJSON *e = arr->child; e; e = e->next, i++) {
		const struct jsonsrc_pos *ep = rl_kid(p, i);
		struct tg_rexc *x = &r->exc[r->n_exc];
		cJSON *name, *cond;

		if (!rl_is(e, W_OBJ)) {
			rl_ierr(it, ep->off, "exception %zu is %s; expected {\"name\": \"...\", "
				"\"condition\": \"...\"}", i + 1, jsonsrc_kind(e));
			continue;
		}
		rl_check_keys(it, e, ep, keys, "\"name\", \"condition\"");
		name = rl_get(it, e, ep, "name", W_STR, "\"name\": \"...\"", &np);
		cond = rl_get(it, e, ep, "condition", W_STR, "\"condition\": \"...\"", &cp);
		if (!name || !cond)
			continue;
		x->name = rl_strdup(it->L, name->valuestring);
		if (x->name &&
		    !rl_text_set(it->L, &x->cond, cond->valuestring, rl_item_at(it, cp->off)))
			r->n_exc++;
	}
}

static void check_output(struct rl_item *it, const char *tmpl, const struct jsonsrc_pos *op)
{
	size_t i = 0, name, len;

	while (next_ref(tmpl, &i, &name, &len)) {
		if (ref_field(tmpl, name, len) >= 0)
			continue;
		rl_error(it->L, rl_string_where(it->L, it->src, op->off, name - 1), it->label,
			 "output references unknown field '%.*s'; expected %%field.name with a field "
			 "from docs/fields.md, or %%%% for a percent sign", (int)len, tmpl + name);
		it->bad = true;
	}
}

/* Everything a rule item says, checked, into in. */
static void parse_rule(struct rl_item *it, cJSON *obj, const struct jsonsrc_pos *p, struct rule_in *in)
{
	static const char *const keys[] = { "rule", "desc", "condition", "output", "priority", "tags",
					    "enabled", "action", "exceptions", "append", "sequence",
					    "threshold", "rate", "dedup", NULL };
	struct tg_rrule *r = &in->r;
	const struct jsonsrc_pos *kp;
	cJSON *v;

	rl_check_keys(it, obj, p, keys, "rule, desc, condition, output, priority, tags, enabled, "
		      "action, exceptions, append, sequence, threshold, rate or dedup");
	if ((v = rl_get(it, obj, p, "desc", W_STR, NULL, &kp))) {
		in->has.desc = true;
		r->desc = rl_strdup(it->L, v->valuestring);
	}
	if ((v = rl_get(it, obj, p, "output", W_STR, NULL, &kp))) {
		in->has.output = true;
		check_output(it, v->valuestring, kp);
		r->output = rl_strdup(it->L, v->valuestring);
	}
	if ((v = rl_get(it, obj, p, "priority", W_STR, NULL, &kp))) {
		in->has.priority = true;
		r->priority = rules_priority_parse(v->valuestring);
		if (r->priority < 0)
			rl_ierr(it, kp->off, "unknown priority \"%s\"; expected one of " PRIORITY_NAMES,
				v->valuestring);
	}
	if ((v = rl_get(it, obj, p, "tags", W_ARR, NULL, &kp))) {
		in->has.tags = true;
		rl_strs_get(it, v, kp, "tags", false, &r->tags, &r->n_tags);
	}
	if ((v = rl_get(it, obj, p, "enabled", W_BOOL, NULL, &kp))) {
		in->has.enabled = true;
		r->enabled = cJSON_IsTrue(v);
	}
	if ((v = rl_get(it, obj, p, "action", W_STR, NULL, &kp))) {
		in->has.action = true;
		if (!strcmp(v->valuestring, "alert") || !strcmp(v->valuestring, "kill"))
			r->action = v->valuestring[0] == 'k' ? TG_ACT_KILL : TG_ACT_ALERT;
		else
			rl_ierr(it, kp->off, "unknown action \"%s\"; expected alert or kill",
				v->valuestring);
	}
	if ((v = rl_get(it, obj, p, "exceptions", W_ARR, NULL, &kp))) {
		in->has.exc = true;
		load_exceptions(it, v, kp, r);
	}
	if ((v = rl_get(it, obj, p, "condition", W_STR, NULL, &kp))) {
		in->has.cond = true;
		rl_text_set(it->L, &r->cond, v->valuestring, rl_item_at(it, kp->off));
	}
	if ((v = rl_get(it, obj, p, "sequence", W_OBJ, NULL, &kp))) {
		in->has.seq = true;
		load_sequence(it, v, kp, r);
	}
	if ((v = rl_get(it, obj, p, "threshold", W_OBJ, NULL, &kp))) {
		in->has.thr = true;
		load_threshold(it, v, kp, r);
	}
	if ((v = rl_member(obj, p, "rate", &kp))) {
		in->has.rate = true;
		load_rate(it, v, kp, r);
	}
	if ((v = rl_get(it, obj, p, "dedup", W_STR, NULL, &kp))) {
		in->has.dedup = true;
		load_dedup(it, v, kp, r);
	}
	if ((v = rl_get(it, obj, p, "append", W_BOOL, NULL, &kp)))
		in->has.append = cJSON_IsTrue(v);
	if (in->has.cond + in->has.seq + in->has.thr > 1)
		rl_ierr(it, p->off, "has more than one of \"condition\", \"sequence\", \"threshold\"; "
			"expected exactly one");
}

static void move_str(char **dst, char **src)
{
	free(*dst);
	*dst = *src;
	*src = NULL;
}

/* Keys that a patch or an append overwrite. */
static void patch_keys(struct rule_in *in, struct tg_rrule *old)
{
	if (in->has.desc)
		move_str(&old->desc, &in->r.desc);
	if (in->has.output)
		move_str(&old->output, &in->r.output);
	if (in->has.priority)
		old->priority = in->r.priority;
	if (in->has.enabled)
		old->enabled = in->r.enabled;
	if (in->has.action)
		old->action = in->r.action;
	if (in->has.rate) {
		bool has_dedup = old->rate.has_dedup;
		uint64_t dedup_ns = old->rate.dedup_ns;

		old->rate = in->r.rate;
		if (!in->has.dedup) {
			old->rate.has_dedup = has_dedup;
			old->rate.dedup_ns = dedup_ns;
		}
	} else if (in->has.dedup) {
		old->rate.has_dedup = true;
		old->rate.dedup_ns = in->r.rate.dedup_ns;
	}
}

static void append_rule(struct rl_item *it, size_t off, struct rule_in *in, struct tg_rrule *old)
{
	struct tg_rexc *exc;
	struct tg_rtext joined;
	struct tg_rtext *base = &old->cond;

	if (in->has.seq || in->has.thr)
		rl_ierr(it, off, "\"append\" cannot add a sequence or threshold; expected only "
			"\"condition\", \"exceptions\" or keys to change (desc, output, priority, "
			"tags, enabled, action, rate, dedup)");
	if (in->has.cond && old->kind == TG_RULE_SEQUENCE)
		rl_ierr(it, off, "cannot append a condition to a sequence rule; expected "
			"\"exceptions\" (they apply to every step)");
	if (it->bad)
		return;
	patch_keys(in, old);
	if (in->has.tags) {
		rl_strs_add(it, &old->tags, &old->n_tags, in->r.tags, in->r.n_tags);
		in->r.tags = NULL;
		in->r.n_tags = 0;
	}
	if (in->has.cond && !rl_text_join(it->L, &joined, base, "and", &in->r.cond)) {
		rl_text_free(base);
		*base = joined;
	}
	if (in->r.n_exc) {
		exc = rl_grow(it->L, old->exc, old->n_exc + in->r.n_exc, sizeof(*exc));
		if (!exc)
			return;
		memcpy(exc + old->n_exc, in->r.exc, in->r.n_exc * sizeof(*exc));
		old->exc = exc;
		old->n_exc += in->r.n_exc;
		in->r.n_exc = 0;
	}
}

static void patch_rule(struct rule_in *in, struct tg_rrule *old)
{
	patch_keys(in, old);
	if (in->has.tags) {
		rl_strs_free(old->tags, old->n_tags);
		old->tags = in->r.tags;
		old->n_tags = in->r.n_tags;
		in->r.tags = NULL;
		in->r.n_tags = 0;
	}
	if (in->has.exc) {
		struct tg_rrule tmp = { .exc = old->exc, .n_exc = old->n_exc };

		rl_rule_free(&tmp);
		old->exc = in->r.exc;
		old->n_exc = in->r.n_exc;
		in->r.exc = NULL;
		in->r.n_exc = 0;
	}
}

/* A full definition: replaces a rule of the same name, or adds one. */
static void define_rule(struct rl_item *it, const struct jsonsrc_pos *p, struct rule_in *in, ssize_t i)
{
	struct tg_rloader *L = it->L;
	struct tg_rrule *r = &in->r;
	char other[512];

	if (!in->has.output)
		rl_ierr(it, p->off, "missing key \"output\"; expected an output template such as "
			"\"shell %%process.executable spawned\"");
	if (!in->has.priority)
		rl_ierr(it, p->off, "missing key \"priority\"; expected one of " PRIORITY_NAMES);
	if (i >= 0 && L->rules[i].at.src == it->src) {
		rl_where_str(L, L->rules[i].at, other, sizeof(other));
		rl_ierr(it, p->off, "duplicate rule (first defined at %s); expected unique rule names "
			"in a file, or \"append\": true to extend it", other);
	}
	r->kind = in->has.cond ? TG_RULE_EVENT : in->has.seq ? TG_RULE_SEQUENCE : TG_RULE_THRESHOLD;
	r->broken = it->bad;
	if (!r->desc)
		r->desc = rl_strdup(L, "");
	if (i >= 0) {
		rl_rule_free(&L->rules[i]);
		L->rules[i] = *r;
	} else {
		struct tg_rrule *v = rl_grow(L, L->rules, L->n_rules + 1, sizeof(*v));

		if (!v)
			return;
		L->rules = v;
		v[L->n_rules++] = *r;
	}
	memset(r, 0, sizeof(*r));
}

void rl_load_rule(struct rl_item *it, cJSON *obj, const struct jsonsrc_pos *p, const char *name)
{
	struct tg_rloader *L = it->L;
	struct rule_in in = { .r = { .sum_field = -1, .enabled = true, .action = TG_ACT_ALERT } };
	ssize_t i = rl_find_rule(L, name);

	in.r.name = rl_strdup(L, name);
	in.r.at = rl_item_at(it, p->off);
	parse_rule(it, obj, p, &in);
	if (!in.r.name) {
		/* out of memory: reported */
	} else if (in.has.append) {
		if (i < 0)
			rl_ierr(it, p->off, "append to unknown rule; expected a rule of that name in "
				"an earlier file");
		else
			append_rule(it, p->off, &in, &L->rules[i]);
	} else if (in.has.cond || in.has.seq || in.has.thr) {
		define_rule(it, p, &in, i);
	} else if (i < 0) {
		rl_ierr(it, p->off, "no such rule to change; expected \"condition\", \"sequence\" or "
			"\"threshold\" for a new rule");
	} else if (!it->bad) {
		if (!(in.has.desc || in.has.output || in.has.priority || in.has.tags ||
		      in.has.enabled || in.has.action || in.has.exc || in.has.rate || in.has.dedup))
			rl_iwarn(it, p->off, "changes nothing; expected keys to change (enabled, "
				 "priority, output, desc, tags, action, exceptions, rate, dedup)");
		patch_rule(&in, &L->rules[i]);
	}
	rl_rule_free(&in.r);
}
