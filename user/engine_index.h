/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * engine_index: private to engine*.c. The conditions of a rule set by the
 * event.action values they can match (docs/engine.md#indexing), each with
 * its plan for the bucket (cond_plan) and its guard (engine_guard.c).
 */
#ifndef TG_ENGINE_INDEX_H
#define TG_ENGINE_INDEX_H

#include <stddef.h>
#include <stdint.h>
#include "engine_guard.h"

struct tg_ruleset;

struct tg_cand {
	uint32_t rule;
	uint32_t step;                 /* sequence step; 0 for other kinds */
	/* open and exec buckets: file.path / process.executable must start
	 * with one of these for the condition to have a chance
	 * (cond_prefix_bound); NULL = no guard */
	struct tg_guard *guard;
	/* the condition as compiled (NULL: always true), and its plan for
	 * events whose only event.action is the bucket's (the "any" list:
	 * reordered only) */
	const struct tg_cond *cond;
	struct tg_cond *plan;
	/* bit k: the plan cannot match without a value of the list's
	 * req.field[k] (cond_required), so it is skipped when that is absent */
	uint64_t req;
};

/* The fields a candidate list's plans require, at most 64. */
#define TG_REQ_MAX 64
struct tg_req {
	int field[TG_REQ_MAX];
	size_t n;
};

struct tg_bucket {
	char *action;                  /* NULL = empty slot */
	int guard_field;               /* field the candidates' guards test, -1 = none */
	struct tg_guard_index *gi;     /* the candidates' guards, indexed; NULL = none */
	struct tg_cand *c;             /* own candidates merged with "any", in rule order */
	size_t n;
	struct tg_req req;
};

struct tg_index {
	struct tg_bucket *bk;
	size_t bk_mask;
	struct tg_cand *any;
	size_t n_any;
	struct tg_req any_req;
};

/* 0, or -ENOMEM (then engine_index_free() what was built). */
int engine_index_build(struct tg_index *ix, const struct tg_ruleset *rs,
		       const struct tg_engine_fields *f);
void engine_index_free(struct tg_index *ix);
/* The bucket of action, NULL when no condition names it. */
struct tg_bucket *engine_index_find(const struct tg_index *ix, const char *action);

#endif
