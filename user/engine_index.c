// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * engine_index: which conditions an event runs (engine_index.h). Every
 * condition the engine evaluates (a single-event rule, a threshold rule,
 * one step of a sequence) goes into a bucket per event.action value it can
 * match (cond_actions()); one that can match any action goes into every
 * bucket and the "any" list. In a bucket, each condition is planned for
 * that action (cond_plan(): its event.action tests decided, its and/or
 * members reordered) and carries its guard.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cond.h"
#include "engine_index.h"
#include "rules.h"

static uint64_t str_hash(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
	return h ^ (h >> 29);
}

/* The conditions the engine evaluates, in rule then step order. */
struct tg_cond_ref {
	uint32_t rule, step;
	const struct tg_cond *cond;
};

static bool rule_active(const struct tg_rule *r)
{
	if (!r->enabled)
		return false;
	switch (r->kind) {
	case TG_RULE_EVENT:
	case TG_RULE_THRESHOLD:
		return true;
	case TG_RULE_SEQUENCE:
		return r->n_steps > 0 && r->n_steps <= TG_SEQ_MAX_STEPS;
	}
	return false;
}

static struct tg_cond_ref *collect_conds(const struct tg_ruleset *rs, size_t *n)
{
	struct tg_cond_ref *refs;
	size_t cap = 0, i, k;

	for (i = 0; i < rs->n_rules; i++)
		if (rule_active(&rs->rules[i]))
			cap += rs->rules[i].kind == TG_RULE_SEQUENCE ? rs->rules[i].n_steps : 1;
	refs = calloc(cap ? cap : 1, sizeof(*refs));
	if (!refs)
		return NULL;
	*n = 0;
	for (i = 0; i < rs->n_rules; i++) {
		const struct tg_rule *r = &rs->rules[i];

		if (!rule_active(r))
			continue;
		if (r->kind != TG_RULE_SEQUENCE) {
			refs[(*n)++] = (struct tg_cond_ref){ (uint32_t)i, 0, r->cond };
			continue;
		}
		for (k = 0; k < r->n_steps; k++)
			refs[(*n)++] =
				(struct tg_cond_ref){ (uint32_t)i, (uint32_t)k, r->steps[k] };
	}
	return refs;
}

/* NULL cond (none compiled) is read as "any action, always true". */
static const char *const *ref_actions(const struct tg_cond_ref *r, size_t *n)
{
	*n = 0;
	return r->cond ? cond_actions(r->cond, n) : NULL;
}

struct tg_bucket *engine_index_find(const struct tg_index *e, const char *action)
{
	size_t i;

	if (!e->bk)
		return NULL;
	for (i = str_hash(action) & e->bk_mask; e->bk[i].action; i = (i + 1) & e->bk_mask)
		if (strcmp(e->bk[i].action, action) == 0)
			return &e->bk[i];
	return NULL;
}

static int bucket_insert(struct tg_index *e, const char *action)
{
	size_t i;

	for (i = str_hash(action) & e->bk_mask; e->bk[i].action; i = (i + 1) & e->bk_mask)
		if (strcmp(e->bk[i].action, action) == 0)
			return 0;
	e->bk[i].action = strdup(action);
	return e->bk[i].action ? 0 : -ENOMEM;
}

static bool ref_matches_action(const struct tg_cond_ref *r, const char *action)
{
	const char *const *acts;
	size_t n, i;

	acts = ref_actions(r, &n);
	if (!acts)
		return true;
	for (i = 0; i < n; i++)
		if (acts[i] && strcmp(acts[i], action) == 0)
			return true;
	return false;
}

static void cands_free(struct tg_cand *c, size_t n)
{
	for (size_t k = 0; c && k < n; k++) {
		engine_guard_free(c[k].guard);
		cond_free(c[k].plan);
	}
	free(c);
}

struct req_ctx {
	struct tg_req *r;
	uint64_t mask;
};

static void req_add(void *ctx, int field)
{
	struct req_ctx *rc = ctx;
	size_t k;

	for (k = 0; k < rc->r->n && rc->r->field[k] != field; k++)
		;
	if (k == rc->r->n) {
		if (k == TG_REQ_MAX)
			return;   /* not required, as far as the engine knows */
		rc->r->field[rc->r->n++] = field;
	}
	rc->mask |= 1ull << k;
}

/* Candidates of one bucket (action != NULL) or of the "any" list, each
 * with its plan and the fields that requires (into req); NULL when out of
 * memory. */
static struct tg_cand *cands_for(const struct tg_engine_fields *f, const struct tg_cond_ref *refs,
				 size_t n_refs, const char *action, size_t *n, struct tg_req *req)
{
	struct tg_cand *c = calloc(n_refs ? n_refs : 1, sizeof(*c));
	size_t i;

	*n = 0;
	if (!c)
		return NULL;
	for (i = 0; i < n_refs; i++) {
		struct tg_cand *k = &c[*n];
		struct req_ctx rc = { req, 0 };
		size_t na;

		if (!(action ? ref_matches_action(&refs[i], action) : !ref_actions(&refs[i], &na)))
			continue;
		*k = (struct tg_cand){ refs[i].rule, refs[i].step, NULL, refs[i].cond, NULL, 0 };
		(*n)++;
		k->guard = engine_guard_for(f, action, refs[i].cond);
		if (refs[i].cond && !(k->plan = cond_plan(refs[i].cond, f->action, action))) {
			cands_free(c, *n);
			return NULL;
		}
		cond_required(k->plan, req_add, &rc);
		k->req = rc.mask;
	}
	return c;
}

int engine_index_build(struct tg_index *e, const struct tg_ruleset *rs,
		       const struct tg_engine_fields *f)
{
	struct tg_cond_ref *refs;
	size_t n_refs = 0, n_names = 0, slots = 16, i, j;
	int err = -ENOMEM;

	refs = collect_conds(rs, &n_refs);
	if (!refs)
		return -ENOMEM;
	for (i = 0; i < n_refs; i++) {
		size_t n;

		ref_actions(&refs[i], &n);
		n_names += n;
	}
	while (slots < 2 * n_names)
		slots <<= 1;
	e->bk = calloc(slots, sizeof(*e->bk));
	if (!e->bk)
		goto cleanup;
	e->bk_mask = slots - 1;
	for (i = 0; i < n_refs; i++) {
		const char *const *acts;
		size_t n;

		acts = ref_actions(&refs[i], &n);
		for (j = 0; acts && j < n; j++)
			if (acts[j] && bucket_insert(e, acts[j]))
				goto cleanup;
	}
	for (i = 0; i <= e->bk_mask; i++) {
		if (!e->bk[i].action)
			continue;
		e->bk[i].c = cands_for(f, refs, n_refs, e->bk[i].action, &e->bk[i].n,
				       &e->bk[i].req);
		e->bk[i].guard_field = engine_guard_field(f, e->bk[i].action);
		if (!e->bk[i].c)
			goto cleanup;
		if (e->bk[i].guard_field >= 0) {
			struct tg_guard **g = calloc(e->bk[i].n ? e->bk[i].n : 1, sizeof(*g));

			if (!g)
				goto cleanup;
			for (j = 0; j < e->bk[i].n; j++)
				g[j] = e->bk[i].c[j].guard;
			e->bk[i].gi = engine_guard_index(g, e->bk[i].n);
			free(g);
		}
	}
	e->any = cands_for(f, refs, n_refs, NULL, &e->n_any, &e->any_req);
	if (!e->any)
		goto cleanup;
	err = 0;
cleanup:
	free(refs);
	return err;
}

void engine_index_free(struct tg_index *ix)
{
	for (size_t i = 0; ix->bk && i <= ix->bk_mask; i++) {
		free(ix->bk[i].action);
		cands_free(ix->bk[i].c, ix->bk[i].n);
		engine_guard_index_free(ix->bk[i].gi);
	}
	free(ix->bk);
	cands_free(ix->any, ix->n_any);
	memset(ix, 0, sizeof(*ix));
}
