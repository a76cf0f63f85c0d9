// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * cond_bound: which path prefixes a condition needs (cond.h). Used to
 * compile rules into the kernel's open filter, so opens no rule can match
 * never leave the kernel. Conservative by construction: whenever a bound
 * cannot be shown the answer is "unbounded" and the filter stays open.
 */
#include <stdlib.h>
#include <string.h>
#include "cond_impl.h"

int cond_prefixes_add(struct tg_prefixes *p, const char *s, size_t len)
{
	char *copy;

	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 8;
		char **v = realloc(p->v, cap * sizeof(*v));

		if (!v)
			return -1;
		p->v = v;
		p->cap = cap;
	}
	copy = strndup(s, len);
	if (!copy)
		return -1;
	p->v[p->n++] = copy;
	return 0;
}

void cond_prefixes_free(struct tg_prefixes *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n; i++)
		free(p->v[i]);
	free(p->v);
	memset(p, 0, sizeof(*p));
}

/* The literal head of a glob: "/home/" for "/home/ * /.ssh/id_*". */
static size_t glob_head(const char *s)
{
	return strcspn(s, "*?[\\");
}

struct bound_ctx {
	int field;
	tg_cond_prefix_map map;
	void *ctx;
};

enum bound { B_NONE, B_NEVER, B_BOUND };

static enum bound bound_own_field(const struct cond_pred *pr, struct tg_prefixes *out)
{
	switch (pr->op) {
	case OP_EQ:
	case OP_STARTSWITH:
		return pr->lit.s && !cond_prefixes_add(out, pr->lit.s, pr->lit.len) ? B_BOUND : B_NONE;
	case OP_GLOB:
		return pr->lit.s && glob_head(pr->lit.s) > 0 &&
		       !cond_prefixes_add(out, pr->lit.s, glob_head(pr->lit.s)) ? B_BOUND : B_NONE;
	case OP_IN:
	case OP_INTERSECTS:
		for (size_t i = 0; i < pr->n_items; i++)
			if (!pr->items[i].s || cond_prefixes_add(out, pr->items[i].s, pr->items[i].len))
				return B_NONE;
		return pr->n_items > 0 ? B_BOUND : B_NONE;
	case OP_PMATCH:
		for (size_t i = 0; i < pr->n_pfx; i++)
			if (cond_prefixes_add(out, pr->pfx[i].s, pr->pfx[i].len))
				return B_NONE;
		return pr->n_pfx > 0 ? B_BOUND : B_NONE;
	default:
		return B_NONE; /* contains, endswith, !=, exists... bound nothing */
	}
}

static enum bound bound_map_one(const struct bound_ctx *b, int field, const char *op,
				const char *value, struct tg_prefixes *out)
{
	int r = b->map(b->ctx, field, op, value, out);

	return r == TG_MAP_BOUND ? B_BOUND : r == TG_MAP_NEVER ? B_NEVER : B_NONE;
}

/* A predicate on another field, through the caller's map. An in-list is
 * an OR of its members. */
static enum bound bound_mapped(const struct bound_ctx *b, const struct cond_pred *pr,
			       struct tg_prefixes *out)
{
	enum bound all = B_NEVER;

	if (!b->map || pr->op == OP_NE)
		return B_NONE; /* "!=" holds on an absent field: it bounds nothing */
	if (pr->op != OP_IN && pr->op != OP_INTERSECTS)
		return bound_map_one(b, pr->field, pr->op == OP_EQ ? "=" : cond_op_name(pr->op),
				     pr->lit.s, out);
	for (size_t i = 0; i < pr->n_items; i++) {
		enum bound r = bound_map_one(b, pr->field, "=", pr->items[i].s, out);

		if (r == B_NONE)
			return B_NONE;
		if (r == B_BOUND)
			all = B_BOUND;
	}
	return all;
}

static enum bound bound_node(const struct bound_ctx *b, const struct cond_node *n,
			     struct tg_prefixes *out);

/* OR: never if every member is; unbounded if any member is; else the
 * union of the bounded members. */
static enum bound bound_or(const struct bound_ctx *b, const struct cond_node *n,
			   struct tg_prefixes *out)
{
	enum bound all = B_NEVER;

	for (size_t i = 0; i < n->list.n; i++) {
		enum bound r = bound_node(b, n->list.kids[i], out);

		if (r == B_NONE)
			return B_NONE;
		if (r == B_BOUND)
			all = B_BOUND;
	}
	return all;
}

/* AND: never if any member is; else the tightest bounded member. */
static enum bound bound_and(const struct bound_ctx *b, const struct cond_node *n,
			    struct tg_prefixes *out)
{
	struct tg_prefixes best = { 0 };
	enum bound res = B_NONE;

	for (size_t i = 0; i < n->list.n && res != B_NEVER; i++) {
		struct tg_prefixes cur = { 0 };
		enum bound r = bound_node(b, n->list.kids[i], &cur);

		if (r == B_NEVER) {
			res = B_NEVER;
		} else if (r == B_BOUND && (res == B_NONE || cur.n < best.n)) {
			cond_prefixes_free(&best);
			best = cur;
			cur = (struct tg_prefixes){ 0 };
			res = B_BOUND;
		}
		cond_prefixes_free(&cur);
	}
	for (size_t i = 0; res == B_BOUND && i < best.n; i++)
		if (cond_prefixes_add(out, best.v[i], strlen(best.v[i])))
			res = B_NONE;
	cond_prefixes_free(&best);
	return res;
}

static enum bound bound_node(const struct bound_ctx *b, const struct cond_node *n,
			     struct tg_prefixes *out)
{
	switch (n->kind) {
	case CN_PRED:
		if (n->pred.field == b->field)
			return bound_own_field(&n->pred, out);
		return bound_mapped(b, &n->pred, out);
	case CN_OR:
		return bound_or(b, n, out);
	case CN_AND:
		return bound_and(b, n, out);
	default:
		return B_NONE; /* NOT bounds nothing */
	}
}

bool cond_prefix_bound(const struct tg_cond *c, int field, tg_cond_prefix_map map, void *ctx,
		       struct tg_prefixes *out)
{
	struct bound_ctx b = { .field = field, .map = map, .ctx = ctx };
	struct tg_prefixes tmp = { 0 };
	enum bound r;

	if (!c || !c->root)
		return false;
	r = bound_node(&b, c->root, &tmp);
	if (r == B_BOUND) {
		for (size_t i = 0; i < tmp.n; i++)
			if (cond_prefixes_add(out, tmp.v[i], strlen(tmp.v[i])))
				r = B_NONE;
	}
	cond_prefixes_free(&tmp);
	return r != B_NONE;
}
