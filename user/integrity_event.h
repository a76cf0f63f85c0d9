/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * integrity_event: the ECS record of one integrity verdict (fields in
 * docs/fields.md, "Integrity events"). Internal to user/integrity*.c.
 */
#ifndef TG_INTEGRITY_EVENT_H
#define TG_INTEGRITY_EVENT_H

#include <cjson/cJSON.h>
#include "manifest.h"

struct tg_integrity_verdict {
	const char *action;                  /* integrity-mismatch, -unknown, ... */
	const char *path;
	const struct tg_hash_result *found;  /* the file as hashed */
	const struct tg_manifest_entry *expected;  /* NULL: not in the manifest */
	const char *trigger;                 /* NULL: "rescan" */
	const char *manifest;
	const char *hostname;
	const cJSON *writer;                 /* {"process":..,"user":..} or NULL */
};

/* The event, or NULL when out of memory. */
cJSON *integrity_event_new(const struct tg_integrity_verdict *v);

#endif
