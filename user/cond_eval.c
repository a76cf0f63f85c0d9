// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * cond_eval: everything done with a compiled condition (cond_impl.h):
 * evaluation, introspection (cond_walk, cond_actions, cond_never_matches)
 * and the arena and lookup tables the compiler builds for it.
 *
 * Evaluation allocates nothing and reads nothing but the view: a predicate
 * is one view_get() and a loop over the field's values, AND and OR stop at
 * the first value that decides them.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE   /* memmem(); the Makefile defines it, a fuzz build may not */
#endif
#include <fnmatch.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "cond_impl.h"

/* ---- arena ---------------------------------------------------------- */

#define CHUNK_MIN 4096
#define CHUNK_MAX (1u << 20)

struct cond_chunk {
	struct cond_chunk *next;
	size_t used, cap;
	max_align_t data[];
};

size_t cond_alloc_size(size_t size)
{
	const size_t align = _Alignof(max_align_t);

	return size ? (size + align - 1) & ~(align - 1) : align;
}

static struct cond_chunk *chunk_new(struct tg_cond *c, size_t cap)
{
	struct cond_chunk *ch = calloc(1, sizeof(*ch) + cap);

	if (!ch)
		return NULL;
	ch->cap = cap;
	ch->next = c->arena;
	c->arena = ch;
	return ch;
}

int cond_reserve(struct tg_cond *c, size_t size)
{
	return size > SIZE_MAX / 2 || !chunk_new(c, cond_alloc_size(size)) ? -1 : 0;
}

void *cond_alloc(struct tg_cond *c, size_t size)
{
	struct cond_chunk *ch = c->arena;
	void *p;

	if (size > SIZE_MAX / 2)
		return NULL;
	size = cond_alloc_size(size);
	if (!ch || ch->cap - ch->used < size) {
		size_t cap = ch ? ch->cap * 2 : CHUNK_MIN;

		if (cap > CHUNK_MAX)
			cap = CHUNK_MAX;
		if (cap < size)
			cap = size;
		if (!(ch = chunk_new(c, cap)))
			return NULL;
	}
	p = (char *)ch->data + ch->used;
	ch->used += size;
	return p;
}

void cond_free(struct tg_cond *c)
{
	struct cond_chunk *ch, *next;

	if (!c)
		return;
	for (ch = c->arena; ch; ch = next) {
		next = ch->next;
		free(ch);
	}
	free(c);
}

const char *cond_op_name(enum cond_op op)
{
	static const char *const names[] = {
		[OP_EQ] = "=", [OP_NE] = "!=", [OP_LT] = "<", [OP_LE] = "<=", [OP_GT] = ">",
		[OP_GE] = ">=", [OP_CONTAINS] = "contains", [OP_ICONTAINS] = "icontains",
		[OP_STARTSWITH] = "startswith", [OP_ENDSWITH] = "endswith", [OP_GLOB] = "glob",
		[OP_IN] = "in", [OP_INTERSECTS] = "intersects", [OP_PMATCH] = "pmatch",
		[OP_EXISTS] = "exists",
	};

	return op >= OP_EQ && op <= OP_EXISTS ? names[op] : "?";
}

/* ---- literal sets --------------------------------------------------- */

static uint64_t hash_bytes(const char *s, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ull;   /* FNV-1a */

	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

static uint64_t hash_num(double d)
{
	uint64_t u;

	if (d == 0)
		d = 0;   /* -0.0 == 0.0: one hash */
	memcpy(&u, &d, sizeof(u));
	u ^= u >> 33;   /* murmur3 finaliser: doubles differ in high bits */
	u *= 0xff51afd7ed558ccdull;
	u ^= u >> 33;
	return u;
}

static uint64_t val_hash(enum tg_ftype type, const struct tg_val *x)
{
	uint64_t h;

	if (type != TG_FT_STR)
		return hash_num(type == TG_FT_BOOL ? x->n != 0 : x->n);
	if (x->hash)
		return x->hash;
	h = hash_bytes(x->s, x->len);
	h += !h; /* 0 means "not computed" */
	/* the cache lives in the value: views and literal sets are only ever
	 * evaluated by the thread that owns them */
	((struct tg_val *)x)->hash = h;
	return h;
}

static bool val_eq(enum tg_ftype type, const struct tg_val *a, const struct tg_val *b)
{
	switch (type) {
	case TG_FT_STR:
		return a->len == b->len && !memcmp(a->s, b->s, a->len);
	case TG_FT_NUM:
		return a->n == b->n;
	case TG_FT_BOOL:
		return (a->n != 0) == (b->n != 0);
	}
	return false;
}

int cond_build_set(struct tg_cond *c, struct cond_pred *pr)
{
	size_t cap = 4;

	if (!pr->n_items)
		return 0;
	while (cap < pr->n_items * 2)
		cap *= 2;
	pr->set = cond_alloc(c, cap * sizeof(pr->set[0]));
	if (!pr->set)
		return -1;
	pr->set_mask = cap - 1;
	for (size_t i = 0; i < pr->n_items; i++) {
		size_t h = val_hash(pr->type, &pr->items[i]) & pr->set_mask;

		while (pr->set[h] && !val_eq(pr->type, &pr->items[pr->set[h] - 1], &pr->items[i]))
			h = (h + 1) & pr->set_mask;
		if (!pr->set[h])
			pr->set[h] = (uint32_t)i + 1;
	}
	return 0;
}

static bool set_has(const struct cond_pred *pr, const struct tg_val *x)
{
	uint64_t hx;
	size_t h;

	if (!pr->set)
		return false;
	hx = val_hash(pr->type, x);
	h = hx & pr->set_mask;
	while (pr->set[h]) {
		const struct tg_val *it = &pr->items[pr->set[h] - 1];

		/* items were hashed when the set was built: compare hashes first */
		if ((pr->type != TG_FT_STR || it->hash == hx) && val_eq(pr->type, it, x))
			return true;
		h = (h + 1) & pr->set_mask;
	}
	return false;
}

static int pfx_cmp(const void *a, const void *b)
{
	const struct cond_prefix *x = a, *y = b;
	int r = memcmp(x->s, y->s, x->len < y->len ? x->len : y->len);

	if (r)
		return r;
	return x->len < y->len ? -1 : x->len > y->len;
}

int cond_build_prefixes(struct tg_cond *c, struct cond_pred *pr)
{
	size_t n = 0;

	if (!pr->n_items)
		return 0;
	pr->pfx = cond_alloc(c, pr->n_items * sizeof(pr->pfx[0]));
	if (!pr->pfx)
		return -1;
	for (size_t i = 0; i < pr->n_items; i++) {
		struct cond_prefix *p = &pr->pfx[i];

		p->s = pr->items[i].s;
		p->len = pr->items[i].len;
		while (p->len && p->s[p->len - 1] == '/') {
			p->len--;
			p->below = true;
		}
	}
	qsort(pr->pfx, pr->n_items, sizeof(pr->pfx[0]), pfx_cmp);
	/* "/etc" and "/etc/" both given: "/etc" matches more, keep it */
	for (size_t i = 0; i < pr->n_items; i++) {
		if (n && !pfx_cmp(&pr->pfx[n - 1], &pr->pfx[i]))
			pr->pfx[n - 1].below &= pr->pfx[i].below;
		else
			pr->pfx[n++] = pr->pfx[i];
	}
	pr->n_pfx = n;
	return 0;
}

/* Component-wise: each prefix of s that ends at a '/' or at the end of s is
 * looked up, so "/etc" matches "/etc" and "/etc/x" but never "/etcx". */
static bool pfx_match(const struct cond_pred *pr, const char *s, size_t len)
{
	for (size_t i = 0; pr->n_pfx && i <= len; i++) {
		struct cond_prefix key = { .s = s, .len = i };
		const struct cond_prefix *p;

		if (i < len && s[i] != '/')
			continue;
		p = bsearch(&key, pr->pfx, pr->n_pfx, sizeof(*p), pfx_cmp);
		if (p && (!p->below || i < len))
			return true;
	}
	return false;
}

/* ---- matching ------------------------------------------------------- */

static char ascii_lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* pat is already in lower case */
static bool icontains(const char *s, size_t len, const char *pat, size_t plen)
{
	for (size_t i = 0; i + plen <= len; i++) {
		size_t j = 0;

		while (j < plen && ascii_lower(s[i + j]) == pat[j])
			j++;
		if (j == plen)
			return true;
	}
	return false;
}

static bool str_match(const struct cond_pred *pr, const struct tg_val *x)
{
	const struct tg_val *l = &pr->lit;

	switch (pr->op) {
	case OP_EQ:
	case OP_NE:
		return val_eq(TG_FT_STR, x, l);
	case OP_CONTAINS:
		return !l->len || memmem(x->s, x->len, l->s, l->len);
	case OP_ICONTAINS:
		return icontains(x->s, x->len, pr->fold, l->len);
	case OP_STARTSWITH:
		return x->len >= l->len && !memcmp(x->s, l->s, l->len);
	case OP_ENDSWITH:
		return x->len >= l->len && !memcmp(x->s + x->len - l->len, l->s, l->len);
	case OP_GLOB:
		return !fnmatch(l->s, x->s, 0);
	case OP_IN:
	case OP_INTERSECTS:
		return set_has(pr, x);
	case OP_PMATCH:
		return pfx_match(pr, x->s, x->len);
	default:
		return false;
	}
}

static bool num_match(const struct cond_pred *pr, const struct tg_val *x)
{
	switch (pr->op) {
	case OP_EQ:
	case OP_NE:
		return val_eq(pr->type, x, &pr->lit);
	case OP_LT:
		return x->n < pr->lit.n;
	case OP_LE:
		return x->n <= pr->lit.n;
	case OP_GT:
		return x->n > pr->lit.n;
	case OP_GE:
		return x->n >= pr->lit.n;
	case OP_IN:
	case OP_INTERSECTS:
		return set_has(pr, x);
	default:
		return false;
	}
}

/* One value; "!=" is matched as "=" and negated by the caller. */
static bool val_match(const struct cond_pred *pr, const struct tg_val *x)
{
	return pr->type == TG_FT_STR ? str_match(pr, x) : num_match(pr, x);
}

static bool pred_eval(const struct cond_pred *pr, const struct tg_view *v)
{
	const struct tg_val *vals;
	size_t n = view_get(v, pr->field, &vals);
	bool any = false;

	if (pr->index >= 0) {
		if ((size_t)pr->index < n) {
			vals += pr->index;
			n = 1;
		} else {
			n = 0;
		}
	}
	if (pr->op == OP_EXISTS)
		return n > 0;
	for (size_t i = 0; i < n && !any; i++)
		any = val_match(pr, &vals[i]);
	return pr->op == OP_NE ? !any : any;
}

static bool node_eval(const struct cond_node *n, const struct tg_view *v)
{
	switch (n->kind) {
	case CN_AND:
		for (size_t i = 0; i < n->list.n; i++)
			if (!node_eval(n->list.kids[i], v))
				return false;
		return true;
	case CN_OR:
		for (size_t i = 0; i < n->list.n; i++)
			if (node_eval(n->list.kids[i], v))
				return true;
		return false;
	case CN_NOT:
		return !node_eval(n->kid, v);
	case CN_PRED:
		return pred_eval(&n->pred, v);
	}
	return false;
}

bool cond_node_eval(const struct cond_node *n, const struct tg_view *v)
{
	return node_eval(n, v);
}

bool cond_eval(const struct tg_cond *c, const struct tg_view *v)
{
	return c && v && node_eval(c->root, v);
}

/* ---- introspection -------------------------------------------------- */

static void node_walk(const struct cond_node *n, tg_cond_field_fn fn, void *ctx)
{
	const struct cond_pred *pr;

	switch (n->kind) {
	case CN_AND:
	case CN_OR:
		for (size_t i = 0; i < n->list.n; i++)
			node_walk(n->list.kids[i], fn, ctx);
		return;
	case CN_NOT:
		node_walk(n->kid, fn, ctx);
		return;
	case CN_PRED:
		break;
	}
	pr = &n->pred;
	switch (pr->op) {
	case OP_EXISTS:
		fn(ctx, pr->field, cond_op_name(pr->op), NULL);
		break;
	case OP_IN:
	case OP_INTERSECTS:
	case OP_PMATCH:
		for (size_t i = 0; i < pr->n_items; i++)
			fn(ctx, pr->field, cond_op_name(pr->op), pr->items[i].s);
		break;
	default:
		fn(ctx, pr->field, cond_op_name(pr->op), pr->lit.s);
		break;
	}
}

void cond_walk(const struct tg_cond *c, tg_cond_field_fn fn, void *ctx)
{
	if (c && fn)
		node_walk(c->root, fn, ctx);
}

bool cond_never_matches(const struct tg_cond *c)
{
	return c && c->never;
}

const char *const *cond_actions(const struct tg_cond *c, size_t *n)
{
	if (n)
		*n = c && !c->any_action ? c->n_actions : 0;
	return c && !c->any_action ? c->actions : NULL;
}

/* ---- analysis: never and actions ------------------------------------- */

/* Steps (node visits) cond_never_matches() may take at compile time. The
 * pairwise checks are quadratic in an AND's members times the size of
 * what they compare; past the budget the answer is "not shown". */
#define NEVER_BUDGET (1u << 20)
/* More event.action values than this: as good as any action. */
#define ACTIONS_MAX 256

struct never_ctx {
	size_t steps;
};

static bool step(struct never_ctx *nc)
{
	return ++nc->steps <= NEVER_BUDGET;
}

static bool node_equal(struct never_ctx *nc, const struct cond_node *a, const struct cond_node *b)
{
	const struct cond_pred *x, *y;

	if (!step(nc) || a->kind != b->kind)
		return false;
	switch (a->kind) {
	case CN_AND:
	case CN_OR:
		if (a->list.n != b->list.n)
			return false;
		for (size_t i = 0; i < a->list.n; i++)
			if (!node_equal(nc, a->list.kids[i], b->list.kids[i]))
				return false;
		return true;
	case CN_NOT:
		return node_equal(nc, a->kid, b->kid);
	case CN_PRED:
		break;
	}
	x = &a->pred;
	y = &b->pred;
	if (x->field != y->field || x->index != y->index || x->op != y->op)
		return false;
	if (x->op == OP_EXISTS)
		return true;
	if (x->op != OP_IN && x->op != OP_INTERSECTS && x->op != OP_PMATCH)
		return val_eq(x->type, &x->lit, &y->lit);
	if (x->n_items != y->n_items)
		return false;
	for (size_t i = 0; i < x->n_items; i++)
		if (!val_eq(x->type, &x->items[i], &y->items[i]))
			return false;
	return true;
}

/* The field holds at most one value the predicate can see. */
static bool pred_single(const struct cond_pred *pr)
{
	return pr->index >= 0 || !fields_get(pr->field)->multi;
}

static bool pred_is_valset(const struct cond_pred *pr)
{
	return pr->op == OP_EQ || pr->op == OP_IN || pr->op == OP_INTERSECTS;
}

static bool valset_has(const struct cond_pred *pr, const struct tg_val *x)
{
	return pr->op == OP_EQ ? val_eq(pr->type, &pr->lit, x) : set_has(pr, x);
}

static bool valsets_meet(const struct cond_pred *a, const struct cond_pred *b)
{
	if (a->op == OP_EQ)
		return valset_has(b, &a->lit);
	for (size_t i = 0; i < a->n_items; i++)
		if (valset_has(b, &a->items[i]))
			return true;
	return false;
}

struct interval {
	double lo, hi;
	bool lo_open, hi_open;
};

static bool pred_interval(const struct cond_pred *pr, struct interval *r)
{
	double x = pr->lit.n;

	*r = (struct interval){ -INFINITY, INFINITY, false, false };
	switch (pr->op) {
	case OP_EQ: r->lo = r->hi = x; return true;
	case OP_LT: r->hi = x; r->hi_open = true; return true;
	case OP_LE: r->hi = x; return true;
	case OP_GT: r->lo = x; r->lo_open = true; return true;
	case OP_GE: r->lo = x; return true;
	default: return false;
	}
}

static bool below(const struct interval *a, const struct interval *b)
{
	return a->hi < b->lo || (a->hi == b->lo && (a->hi_open || b->lo_open));
}

static bool preds_contradict(const struct cond_pred *x, const struct cond_pred *y)
{
	struct interval ix, iy;

	if (x->field != y->field || x->index != y->index)
		return false;
	/* "!=" is "not =": on any field, whatever its values */
	if ((x->op == OP_EQ && y->op == OP_NE) || (x->op == OP_NE && y->op == OP_EQ))
		return val_eq(x->type, &x->lit, &y->lit);
	/* a multi-valued field can hold both values */
	if (!pred_single(x))
		return false;
	if (pred_is_valset(x) && pred_is_valset(y))
		return !valsets_meet(x, y);
	if (x->type == TG_FT_NUM && pred_interval(x, &ix) && pred_interval(y, &iy))
		return below(&ix, &iy) || below(&iy, &ix);
	return false;
}

/* a and b can never both hold. Kids' never flags are already set. */
static bool contradicts(struct never_ctx *nc, const struct cond_node *a, const struct cond_node *b)
{
	if (!step(nc))
		return false;
	if ((b->kind == CN_NOT && node_equal(nc, b->kid, a)) ||
	    (a->kind == CN_NOT && node_equal(nc, a->kid, b)))
		return true;
	/* a against an or: against each member that can match */
	if (a->kind == CN_OR || b->kind == CN_OR) {
		const struct cond_node *o = a->kind == CN_OR ? a : b, *x = o == a ? b : a;

		for (size_t i = 0; i < o->list.n; i++)
			if (!o->list.kids[i]->never && !contradicts(nc, x, o->list.kids[i]))
				return false;
		return true;
	}
	/* a against an and: against any member */
	if (a->kind == CN_AND || b->kind == CN_AND) {
		const struct cond_node *o = a->kind == CN_AND ? a : b, *x = o == a ? b : a;

		for (size_t i = 0; i < o->list.n; i++)
			if (contradicts(nc, x, o->list.kids[i]))
				return true;
		return false;
	}
	return a->kind == CN_PRED && b->kind == CN_PRED && preds_contradict(&a->pred, &b->pred);
}

/* Post-order: each node's never flag from its kids' (computed once). */
static void mark_never(struct never_ctx *nc, struct cond_node *n)
{
	switch (n->kind) {
	case CN_PRED:
		n->never = (n->pred.op == OP_IN || n->pred.op == OP_INTERSECTS ||
			    n->pred.op == OP_PMATCH) && !n->pred.n_items;
		return;
	case CN_NOT:
		mark_never(nc, n->kid);
		n->never = false;
		return;
	case CN_OR:
		n->never = true;
		for (size_t i = 0; i < n->list.n; i++) {
			mark_never(nc, n->list.kids[i]);
			n->never &= n->list.kids[i]->never;
		}
		return;
	case CN_AND:
		break;
	}
	n->never = false;
	for (size_t i = 0; i < n->list.n; i++) {
		mark_never(nc, n->list.kids[i]);
		n->never |= n->list.kids[i]->never;
	}
	for (size_t i = 0; !n->never && i < n->list.n; i++)
		for (size_t j = i + 1; !n->never && j < n->list.n; j++)
			n->never = contradicts(nc, n->list.kids[i], n->list.kids[j]);
}

/* Actions a node can match: any, or a (possibly empty) list. */
struct aset {
	bool any;
	const char **v;
	size_t n;
};

static bool aset_has(const struct aset *s, const char *a)
{
	for (size_t i = 0; i < s->n; i++)
		if (!strcmp(s->v[i], a))
			return true;
	return false;
}

/* Adds a unless present; room for it was allocated by the caller. */
static void aset_add(struct aset *s, const char *a)
{
	if (!aset_has(s, a))
		s->v[s->n++] = a;
}

static int node_actions(struct tg_cond *c, const struct cond_node *n, int action_field,
			struct aset *out)
{
	struct aset acc = { .any = n->kind != CN_OR }, r;
	const struct cond_pred *pr;

	switch (n->kind) {
	case CN_NOT:
		*out = acc;
		return 0;
	case CN_AND:
	case CN_OR:
		for (size_t i = 0; i < n->list.n; i++) {
			if (node_actions(c, n->list.kids[i], action_field, &r))
				return -1;
			if (n->kind == CN_OR && (r.any || acc.n + r.n > ACTIONS_MAX)) {
				acc = (struct aset){ .any = true };
				break;
			}
			if (r.any)
				continue;   /* AND with an unconstrained member */
			if (n->kind == CN_AND && acc.any) {
				acc = r;
				continue;
			}
			const char **v = cond_alloc(c, (acc.n + r.n + 1) * sizeof(*v));
			struct aset next = { .v = v };

			if (!v)
				return -1;
			if (n->kind == CN_OR) {
				for (size_t j = 0; j < acc.n; j++)
					aset_add(&next, acc.v[j]);
				for (size_t j = 0; j < r.n; j++)
					aset_add(&next, r.v[j]);
			} else {
				for (size_t j = 0; j < acc.n; j++)
					if (aset_has(&r, acc.v[j]))
						aset_add(&next, acc.v[j]);
			}
			acc = next;
		}
		*out = acc;
		return 0;
	case CN_PRED:
		break;
	}
	pr = &n->pred;
	*out = acc;
	if (pr->field != action_field || pr->index > 0 ||
	    (pr->op != OP_EQ && pr->op != OP_IN && pr->op != OP_INTERSECTS))
		return 0;
	if (pr->op != OP_EQ && pr->n_items > ACTIONS_MAX)
		return 0;
	out->any = false;
	out->v = cond_alloc(c, (pr->n_items + 1) * sizeof(*out->v));
	if (!out->v)
		return -1;
	if (pr->op == OP_EQ)
		aset_add(out, pr->lit.s);
	for (size_t i = 0; pr->op != OP_EQ && i < pr->n_items; i++)
		aset_add(out, pr->items[i].s);
	return 0;
}

int cond_analyze(struct tg_cond *c)
{
	struct never_ctx nc = { 0 };
	struct aset a;

	mark_never(&nc, c->root);
	c->never = c->root->never;
	if (node_actions(c, c->root, fields_lookup("event.action"), &a))
		return -1;
	c->any_action = a.any;
	c->n_actions = a.n;
	/* an empty list is "no action": never NULL, that means any */
	c->actions = a.v ? a.v : cond_alloc(c, sizeof(*c->actions));
	return a.any || c->actions ? 0 : -1;
}
