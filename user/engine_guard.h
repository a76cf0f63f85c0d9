/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* engine_guard: private to engine*.c. */
#ifndef TG_ENGINE_GUARD_H
#define TG_ENGINE_GUARD_H

#include <stdbool.h>
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

#endif
