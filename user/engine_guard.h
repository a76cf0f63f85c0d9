/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* engine_guard: private to engine*.c. */
#ifndef TG_ENGINE_GUARD_H
#define TG_ENGINE_GUARD_H

#include <stdbool.h>
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
/* The prefix bound of c on that field, NULL when there is none. */
struct tg_prefixes *engine_guard_for(const struct tg_engine_fields *f, const char *action,
				     const struct tg_cond *c);
/* False only when value is outside every prefix of g. */
bool engine_guard_pass(const struct tg_prefixes *g, const char *value);

#endif
