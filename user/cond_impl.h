/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * cond_impl: what the compiler (cond_parse.c, cond_lex.c, cond_expand.c:
 * text -> tree) and cond_eval.c (tree -> answers) share. Not for other
 * modules: use cond.h.
 *
 * A compiled condition is a tree of nodes in one arena owned by the
 * tg_cond, so cond_free() is a walk over arena chunks, never over nodes,
 * and an error half-way through compiling leaks nothing:
 *
 *   tg_cond ── root ─> AND/OR { kids[n] }  (flattened: no AND under AND)
 *                      NOT    { kid }
 *                      PRED   { field, index, op, literal | items + set | prefixes }
 *
 * Literals are struct tg_val, like view values, so one matcher serves
 * both evaluation and the contradiction checks of cond_never_matches().
 */
#ifndef TG_COND_IMPL_H
#define TG_COND_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "cond.h"
#include "fields.h"

enum cond_op {
	OP_EQ = 1, OP_NE, OP_LT, OP_LE, OP_GT, OP_GE,
	OP_CONTAINS, OP_ICONTAINS, OP_STARTSWITH, OP_ENDSWITH, OP_GLOB,
	OP_IN, OP_INTERSECTS, OP_PMATCH, OP_EXISTS,
};

/* pmatch prefix: s without trailing '/'; below: it had one, so it matches
 * only paths strictly below s ("/etc/" matches "/etc/x", not "/etc"). */
struct cond_prefix {
	const char *s;
	size_t len;
	bool below;
};

struct cond_pred {
	int field;
	int index;                    /* -1, or the one value compared */
	enum cond_op op;
	enum tg_ftype type;           /* the field's */
	struct tg_val lit;            /* scalar ops: s as written (decoded), n parsed */
	const char *fold;             /* icontains: lit.s in lower case */
	/* in, intersects, pmatch: every item as written, in order (cond_walk) */
	struct tg_val *items;
	size_t n_items;
	uint32_t *set;                /* in, intersects: open addressing, items[] index + 1 */
	size_t set_mask;
	struct cond_prefix *pfx;      /* pmatch: sorted by (s, len), unique */
	size_t n_pfx;
};

enum cond_kind { CN_AND = 1, CN_OR, CN_NOT, CN_PRED };

struct cond_node {
	enum cond_kind kind;
	bool never;                   /* cond_analyze(): shown never to match */
	union {
		struct {
			struct cond_node **kids;
			size_t n;
		} list;
		struct cond_node *kid;
		struct cond_pred pred;
	};
};

struct cond_chunk;

struct tg_cond {
	struct cond_node *root;
	struct cond_chunk *arena;
	bool never;                   /* cond_never_matches() */
	bool any_action;              /* cond_actions() is NULL */
	const char **actions;
	size_t n_actions;
};

/* Zeroed, max_align_t aligned; NULL when out of memory. */
void *cond_alloc(struct tg_cond *c, size_t size);
/* What cond_alloc(size) takes from the arena. */
size_t cond_alloc_size(size_t size);
/* Starts the arena with one chunk of size bytes, for a caller that knows
 * what it will allocate (cond_plan.c: small trees, many of them). 0 or -1. */
int cond_reserve(struct tg_cond *c, size_t size);
/* in/intersects: hash set of pr->items; pmatch: sorted prefixes. -1 on ENOMEM. */
int cond_build_set(struct tg_cond *c, struct cond_pred *pr);
int cond_build_prefixes(struct tg_cond *c, struct cond_pred *pr);
/* never and actions, once the tree is complete. -1 on ENOMEM. */
int cond_analyze(struct tg_cond *c);
const char *cond_op_name(enum cond_op op);
/* One node of a tree against a view (cond_plan.c folds with it). */
bool cond_node_eval(const struct cond_node *n, const struct tg_view *v);

#endif
