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

static unsigned guard_key(const char *p, size_t len)
{
	return len >= 2 ? (unsigned char)p[1] : 256;
}

struct tg_guard_index *engine_guard_index(struct tg_guard *const *guards, size_t n)
{
	struct tg_guard_index *gi;
	uint32_t count[258] = { 0 }, fill[258];
	size_t total = 0;
	bool any = false;

	for (size_t k = 0; k < n; k++) {
		for (size_t j = 0; guards[k] && j < guards[k]->n; j++)
			count[guard_key(guards[k]->v[j], guards[k]->len[j])]++;
		total += guards[k] ? guards[k]->n : 0;
		any |= guards[k] != NULL;
	}
	if (!any || !(gi = calloc(1, sizeof(*gi))))
		return NULL;
	gi->e = calloc(total ? total : 1, sizeof(*gi->e));
	gi->base = calloc(n ? n : 1, 1);
	gi->pass = calloc(n ? n : 1, 1);
	if (!gi->e || !gi->base || !gi->pass) {
		engine_guard_index_free(gi);
		return NULL;
	}
	for (unsigned b = 0; b < 257; b++)
		gi->start[b + 1] = gi->start[b] + count[b];
	memcpy(fill, gi->start, sizeof(fill));
	for (size_t k = 0; k < n; k++) {
		gi->base[k] = guards[k] == NULL;
		for (size_t j = 0; guards[k] && j < guards[k]->n; j++) {
			unsigned b = guard_key(guards[k]->v[j], guards[k]->len[j]);

			gi->e[fill[b]++] = (struct tg_guard_entry){ guards[k]->v[j],
								    (uint32_t)guards[k]->len[j],
								    (uint32_t)k };
		}
	}
	gi->n_cands = n;
	return gi;
}

void engine_guard_index_free(struct tg_guard_index *gi)
{
	if (!gi)
		return;
	free(gi->e);
	free(gi->base);
	free(gi->pass);
	free(gi);
}

static void guard_scan(struct tg_guard_index *gi, unsigned b, const char *v, size_t len)
{
	for (uint32_t i = gi->start[b]; i < gi->start[b + 1]; i++) {
		const struct tg_guard_entry *e = &gi->e[i];

		if (!gi->pass[e->cand] && e->len <= len && !memcmp(v, e->pfx, e->len))
			gi->pass[e->cand] = 1;
	}
}

const uint8_t *engine_guard_eval(struct tg_guard_index *gi, const char *value, size_t len)
{
	memcpy(gi->pass, gi->base, gi->n_cands);
	if (!value) {
		memset(gi->pass, 1, gi->n_cands);
		return gi->pass;
	}
	if (len >= 2)
		guard_scan(gi, (unsigned char)value[1], value, len);
	guard_scan(gi, 256, value, len);
	return gi->pass;
}
