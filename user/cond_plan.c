// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * cond_plan: a compiled condition rewritten for faster evaluation (cond.h).
 *
 * Two rewrites, both exact (the plan matches the same events, within what
 * it is specialised for, as the condition it came from):
 *
 *  1. Folding. Given "field holds exactly the one value V" (the engine's
 *     bucket: event.action = open), every predicate on that field is
 *     decided at plan time by evaluating it on a view holding only V, and
 *     and/or/not are simplified around the constants. A rule's own
 *     "event.action = open" disappears; "event.action in (rename, link)"
 *     inside an or is dropped from the open bucket's plan.
 *  2. Ordering. and/or are commutative here (evaluation has no side
 *     effects), so their members are sorted to stop early and cheaply: an
 *     and's by cost / P(false), an or's by cost / P(true), from a static
 *     estimate of each member's cost and probability (the order that
 *     minimises expected cost for independent members). Set lookups and
 *     equality on scalar fields come before string scans and globs, and the
 *     "not (exception)" members of a rule come last.
 *
 * The plan is a tree in its own arena; predicates are copied by value, so
 * their literal sets and prefix tables stay in the original's arena: the
 * original must outlive the plan.
 */
#include <stdlib.h>
#include <string.h>
#include "cond_impl.h"

/* Estimated cost of one predicate on one value, in rough comparisons. */
static double op_cost(const struct cond_pred *pr)
{
	switch (pr->op) {
	case OP_EXISTS:
		return 0;
	case OP_EQ:
	case OP_NE:
	case OP_LT:
	case OP_LE:
	case OP_GT:
	case OP_GE:
		return pr->type == TG_FT_STR ? 2 : 1;
	case OP_IN:
	case OP_INTERSECTS:
	case OP_STARTSWITH:
	case OP_ENDSWITH:
		return 3;
	case OP_PMATCH:
		return 10;
	case OP_CONTAINS:
		return 12;
	case OP_ICONTAINS:
		return 25;
	case OP_GLOB:
		return 30;
	}
	return 10;
}

/* Estimated probability that a predicate holds: tests for a value are
 * selective, their negations and existence tests are not. */
static double op_ptrue(const struct cond_pred *pr)
{
	switch (pr->op) {
	case OP_EXISTS:
		return 0.8;
	case OP_NE:
		return 0.9;
	case OP_LT:
	case OP_LE:
	case OP_GT:
	case OP_GE:
		return 0.5;
	default:
		return 0.1;
	}
}

/* Reading a field costs about as much as a cheap comparison; a multi-valued
 * field (process.args, ancestors) is compared several times. */
#define FIELD_COST 4.0
#define MULTI_VALUES 4.0

struct plan_est {
	double cost;                   /* expected, to an answer */
	double p;                      /* probability of true */
};

static struct plan_est pred_est(const struct cond_pred *pr)
{
	double n = pr->index < 0 && fields_get(pr->field) && fields_get(pr->field)->multi ?
		   MULTI_VALUES : 1;

	return (struct plan_est){ FIELD_COST + n * op_cost(pr), op_ptrue(pr) };
}

/* The estimate of a planned node, its members in their final order. */
static struct plan_est node_est(const struct cond_node *n)
{
	struct plan_est est = { 0, 1 }, k;
	double reach = 1;              /* probability the next member is evaluated */

	switch (n->kind) {
	case CN_AND:
	case CN_OR:
		for (size_t i = 0; i < n->list.n; i++) {
			k = node_est(n->list.kids[i]);
			est.cost += reach * k.cost;
			reach *= n->kind == CN_AND ? k.p : 1 - k.p;
		}
		est.p = n->kind == CN_AND ? reach : 1 - reach;
		return est;
	case CN_NOT:
		est = node_est(n->kid);
		est.p = 1 - est.p;
		return est;
	case CN_PRED:
		break;
	}
	return pred_est(&n->pred);
}

struct plan_kid {
	struct cond_node *n;
	double key;
	size_t pos;                    /* written order: ties keep it */
};

static int kid_cmp(const void *a, const void *b)
{
	const struct plan_kid *x = a, *y = b;

	if (x->key != y->key)
		return x->key < y->key ? -1 : 1;
	return x->pos < y->pos ? -1 : x->pos > y->pos;
}

/* Cheapest per chance of deciding first: an and stops at a false member,
 * an or at a true one. */
static void order_kids(enum cond_kind kind, struct plan_kid *kids, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct plan_est est = node_est(kids[i].n);
		double stop = kind == CN_AND ? 1 - est.p : est.p;

		kids[i].key = est.cost / (stop > 1e-6 ? stop : 1e-6);
		kids[i].pos = i;
	}
	qsort(kids, n, sizeof(*kids), kid_cmp);
}

struct plan_ctx {
	struct tg_cond *out;
	int field;                     /* folded field, -1 = none */
	struct tg_view *v;             /* holds only the folded value */
	bool nomem;
};

/* A node's plan: the new node with *k = -1, or NULL with *k = 0 / 1 when
 * the node is always false / true for the planned events (NULL with *k =
 * -1: out of memory). */
static struct cond_node *plan_node(struct plan_ctx *pc, const struct cond_node *n, int *k);

static struct cond_node *new_node(struct plan_ctx *pc, enum cond_kind kind)
{
	struct cond_node *n = cond_alloc(pc->out, sizeof(*n));

	if (!n)
		pc->nomem = true;
	else
		n->kind = kind;
	return n;
}

static struct cond_node *plan_pred(struct plan_ctx *pc, const struct cond_node *n, int *k)
{
	struct cond_node *p;

	*k = -1;
	if (n->pred.field == pc->field && n->pred.index <= 0) {
		*k = cond_node_eval(n, pc->v);
		return NULL;
	}
	if ((p = new_node(pc, CN_PRED)))
		p->pred = n->pred;
	return p;
}

static struct cond_node *plan_not(struct plan_ctx *pc, const struct cond_node *n, int *k)
{
	struct cond_node *kid = plan_node(pc, n->kid, k), *p;

	if (*k >= 0) {
		*k = !*k;
		return NULL;
	}
	if (!kid || !(p = new_node(pc, CN_NOT)))
		return NULL;
	p->kid = kid;
	return p;
}

/* Appends the plan of kid to kids (splicing in the members of one that
 * became the same kind); returns the list's value when kid decides it
 * (false in an and, true in an or), else -1. */
static int plan_member(struct plan_ctx *pc, enum cond_kind kind, const struct cond_node *kid,
		       struct plan_kid *kids, size_t *nk)
{
	int k;
	struct cond_node *p = plan_node(pc, kid, &k);

	if (k >= 0)
		return k == (kind == CN_OR) ? k : -1;
	if (!p)
		return -1;
	if (p->kind != kind) {
		kids[(*nk)++].n = p;
		return -1;
	}
	for (size_t i = 0; i < p->list.n; i++)
		kids[(*nk)++].n = p->list.kids[i];
	return -1;
}

/* Leaves (count) or the arena a plan of n can take at most (!count):
 * folding and splicing only ever drop nodes and list members. */
static size_t node_size(const struct cond_node *n, bool count)
{
	size_t s = count ? 0 : cond_alloc_size(sizeof(*n));

	switch (n->kind) {
	case CN_AND:
	case CN_OR:
		for (size_t i = 0; i < n->list.n; i++)
			s += node_size(n->list.kids[i], count);
		return s + (count ? 0 : cond_alloc_size(node_size(n, true) * sizeof(n)));
	case CN_NOT:
		return s + node_size(n->kid, count);
	case CN_PRED:
		break;
	}
	return count ? 1 : s;
}

static struct cond_node *plan_list(struct plan_ctx *pc, const struct cond_node *n, int *k)
{
	struct plan_kid *kids = calloc(node_size(n, true) + 1, sizeof(*kids));
	struct cond_node *p = NULL;
	size_t nk = 0;

	*k = -1;
	if (!kids) {
		pc->nomem = true;
		return NULL;
	}
	for (size_t i = 0; i < n->list.n && *k < 0 && !pc->nomem; i++)
		*k = plan_member(pc, n->kind, n->list.kids[i], kids, &nk);
	if (*k >= 0 || pc->nomem) {
		p = NULL;
	} else if (nk < 2) {
		/* none left: an and is true, an or false; one: it stands alone */
		if (!nk)
			*k = n->kind == CN_AND;
		p = nk ? kids[0].n : NULL;
	} else if ((p = new_node(pc, n->kind))) {
		order_kids(n->kind, kids, nk);
		p->list.n = nk;
		p->list.kids = cond_alloc(pc->out, nk * sizeof(*p->list.kids));
		for (size_t i = 0; p->list.kids && i < nk; i++)
			p->list.kids[i] = kids[i].n;
		if (!p->list.kids)
			pc->nomem = true;
	}
	free(kids);
	return pc->nomem ? NULL : p;
}

static struct cond_node *plan_node(struct plan_ctx *pc, const struct cond_node *n, int *k)
{
	switch (n->kind) {
	case CN_AND:
	case CN_OR:
		return plan_list(pc, n, k);
	case CN_NOT:
		return plan_not(pc, n, k);
	case CN_PRED:
		break;
	}
	return plan_pred(pc, n, k);
}

/* The view the folded field is evaluated on: that one value, nothing else. */
static struct tg_view *fold_view(int field, const char *value)
{
	struct tg_view *v = malloc(sizeof(*v));

	if (!v)
		return NULL;
	view_init(v);
	if (field >= 0 && view_add_str(v, field, value, strlen(value))) {
		free(v);
		return NULL;
	}
	return v;
}

struct tg_cond *cond_plan(const struct tg_cond *c, int field, const char *value)
{
	struct plan_ctx pc = { .field = value ? field : -1 };
	struct tg_cond *out;
	int k;

	if (!c || !(out = calloc(1, sizeof(*out))))
		return NULL;
	pc.out = out;
	out->any_action = true;
	/* one chunk for the whole plan, room for a constant root included */
	if (cond_reserve(out, node_size(c->root, false) + cond_alloc_size(sizeof(*c->root))))
		goto fail;
	if (pc.field >= 0 && fields_get(pc.field)->type != TG_FT_STR)
		pc.field = -1;
	if (!(pc.v = fold_view(pc.field, value)))
		goto fail;
	out->root = plan_node(&pc, c->root, &k);
	if (pc.nomem)
		goto fail;
	if (k >= 0) {
		/* constant: an empty and is true, an empty or false */
		out->root = new_node(&pc, k ? CN_AND : CN_OR);
		if (!out->root)
			goto fail;
		out->never = !k;
	}
	free(pc.v);
	return out;
fail:
	free(pc.v);
	cond_free(out);
	return NULL;
}

/* Fields a node can only hold with: every predicate but "!=" is false on an
 * absent field; an and needs what any member needs, an or what all need,
 * a not nothing. At most PLAN_REQ_MAX are kept (fewer is weaker, not
 * wrong). */
#define PLAN_REQ_MAX 16

struct plan_req {
	int f[PLAN_REQ_MAX];
	size_t n;
};

static bool req_has(const struct plan_req *r, int field)
{
	for (size_t i = 0; i < r->n; i++)
		if (r->f[i] == field)
			return true;
	return false;
}

static void node_required(const struct cond_node *n, struct plan_req *out)
{
	struct plan_req k;

	out->n = 0;
	switch (n->kind) {
	case CN_AND:
	case CN_OR:
		for (size_t i = 0; i < n->list.n; i++) {
			node_required(n->list.kids[i], &k);
			if (n->kind == CN_AND) {
				for (size_t j = 0; j < k.n && out->n < PLAN_REQ_MAX; j++)
					if (!req_has(out, k.f[j]))
						out->f[out->n++] = k.f[j];
				continue;
			}
			if (!i) {
				*out = k;
				continue;
			}
			for (size_t j = out->n; j-- > 0;)
				if (!req_has(&k, out->f[j]))
					out->f[j] = out->f[--out->n];
		}
		return;
	case CN_NOT:
		return;
	case CN_PRED:
		break;
	}
	if (n->pred.op != OP_NE)
		out->f[out->n++] = n->pred.field;
}

void cond_required(const struct tg_cond *c, void (*fn)(void *ctx, int field), void *ctx)
{
	struct plan_req r;

	if (!c || !c->root)
		return;
	node_required(c->root, &r);
	for (size_t i = 0; i < r.n; i++)
		fn(ctx, r.f[i]);
}
