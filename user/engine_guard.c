// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * engine_guard: cheap pre-checks for the engine's open and exec buckets.
 * Each condition there carries the prefixes its file.path / process.
 * executable must start with (cond_prefix_bound), so conditions that
 * cannot match are skipped with a prefix compare instead of an evaluation.
 */
#include <stdlib.h>
#include <string.h>
#include "cond.h"
#include "engine_guard.h"

struct guard_ctx {
	const struct tg_engine_fields *f;
	const char *action;
};

/* What a predicate on another field says about the guarded field of
 * action's events: only that they are not another action, and that opens
 * and execs have no rename/link paths. */
static int guard_map(void *ctx, int field, const char *op, const char *value,
		     struct tg_prefixes *out)
{
	const struct guard_ctx *g = ctx;

	(void)out;
	if (field == g->f->old_path || field == g->f->target_path)
		return TG_MAP_NEVER;
	if (field == g->f->action && value && !strcmp(op, "="))
		return strcmp(value, g->action) ? TG_MAP_NEVER : TG_MAP_NONE;
	return TG_MAP_NONE;
}

/* The field a bucket's guards test: most opens touch paths no rule names,
 * most execs run programs no rule names. */
int engine_guard_field(const struct tg_engine_fields *f, const char *action)
{
	if (!action)
		return -1;
	if (!strcmp(action, "open"))
		return f->path;
	if (!strcmp(action, "exec"))
		return f->exe;
	return -1;
}

/* Most opens that reach the rules touch paths no rule names: a path guard
 * per condition skips those conditions with a prefix compare instead of an
 * evaluation (measured: the open bucket dominates replay time). */
struct tg_guard *engine_guard_for(const struct tg_engine_fields *f, const char *action,
				  const struct tg_cond *c)
{
	struct guard_ctx gc = { f, action };
	int field = engine_guard_field(f, action);
	struct tg_prefixes p = { 0 };
	struct tg_guard *g;

	if (!c || field < 0 || !cond_prefix_bound(c, field, guard_map, &gc, &p))
		goto none;
	g = calloc(1, sizeof(*g));
	if (!g || !(g->len = calloc(p.n ? p.n : 1, sizeof(*g->len)))) {
		free(g);
		goto none;
	}
	/* an empty prefix matches everything: no guard at all */
	for (size_t i = 0; i < p.n; i++)
		if (!(g->len[i] = strlen(p.v[i]))) {
			free(g->len);
			free(g);
			goto none;
		}
	g->v = p.v;
	g->n = p.n;
	return g;
none:
	cond_prefixes_free(&p);
	return NULL;
}

void engine_guard_free(struct tg_guard *g)
{
	if (!g)
		return;
	for (size_t i = 0; i < g->n; i++)
		free(g->v[i]);
	free(g->v);
	free(g->len);
	free(g);
}
