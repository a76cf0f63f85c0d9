/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* engine_guard: private to engine*.c. */
#ifndef TG_ENGINE_GUARD_H
#define TG_ENGINE_GUARD_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include "cond.h"

/* Field ids looked up once. -1 when the registry lacks the field. */
struct tg_engine_fields {
	int action, entity, anc_entity, user, container;
	int pid, exe, path, dip, dport, daddr;
	int old_path, target_path;
};

/* The field a bucket's guards test (file.path for open, process.executable
 * for exec), -1 for other actions. */
int engine_guard_field(const struct tg_engine_fields *f, const char *action);
/* A condition's prefix bound, lengths precomputed: the check runs for
 * every candidate of every open and exec. */
struct tg_guard {
	char **v;
	size_t *len;
	size_t n;
};

/* The prefix bound of c on that field, NULL when there is none. */
struct tg_guard *engine_guard_for(const struct tg_engine_fields *f, const char *action,
				  const struct tg_cond *c);
void engine_guard_free(struct tg_guard *g);
/* False only when value (len bytes) is outside every prefix of g. */
static inline bool engine_guard_pass(const struct tg_guard *g, const char *value, size_t len)
{
	if (!g || !value)
		return true;
	for (size_t i = 0; i < g->n; i++)
		if (g->len[i] <= len && value[0] == g->v[i][0] && !memcmp(value, g->v[i], g->len[i]))
			return true;
	return false;
}

/*
 * A bucket's guards indexed by the byte after the leading '/', so an event
 * compares only the prefixes that can match it, once each, instead of
 * every prefix of every candidate (measured: that loop was half the engine
 * time on opens).
 */
struct tg_guard_entry {
	const char *pfx;
	uint32_t len;
	uint32_t cand;
};

struct tg_guard_index {
	struct tg_guard_entry *e;      /* grouped by key byte */
	uint32_t start[258];           /* entries of key b: [start[b], start[b+1]); 256 = any */
	uint8_t *base;                 /* per candidate: 1 = no guard, always passes */
	uint8_t *pass;                 /* scratch, one event at a time */
	size_t n_cands;
};

/* NULL when no candidate has a guard (or out of memory: then no skipping). */
struct tg_guard_index *engine_guard_index(struct tg_guard *const *guards, size_t n);
void engine_guard_index_free(struct tg_guard_index *gi);
/* Fills gi->pass for value (len bytes); returns it. */
const uint8_t *engine_guard_eval(struct tg_guard_index *gi, const char *value, size_t len);

#endif
