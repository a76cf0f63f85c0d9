/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * fields: the one vocabulary of the event stream, rule conditions, outputs
 * and replay. A field is a dotted ECS path of the event JSON
 * (docs/events.md) or a derived twin.* field (docs/fields.md).
 *
 * A view holds one event's values by field id, so a compiled condition
 * reads a field in O(1). Every field may hold several values: arrays
 * (process.args, process.ancestors[].executable) are flattened in order and
 * operators match if any value matches.
 */
#ifndef TG_FIELDS_H
#define TG_FIELDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cjson/cJSON.h>

enum tg_ftype {
	TG_FT_STR = 1,
	TG_FT_NUM,
	TG_FT_BOOL,
};

struct tg_field {
	const char *name;      /* "process.executable" */
	enum tg_ftype type;
	bool multi;            /* may hold several values (array in JSON) */
	const char *doc;       /* one line */
	const char *example;   /* as it would appear in a condition */
};

#define TG_FIELDS_MAX 256
#define TG_VIEW_VALS_MAX 512  /* values per event, all fields together */

struct tg_val {
	const char *s;         /* TG_FT_STR: NUL-terminated, owned by the view's JSON or arena */
	size_t len;
	double n;              /* TG_FT_NUM; TG_FT_BOOL as 0/1 */
	/* TG_FT_STR: hash of s, 0 until cond_eval first needs it. Many rules
	 * test the same value against sets; it is hashed once per event. */
	uint64_t hash;
};

struct tg_view {
	uint32_t gen;          /* slots with another gen are empty: O(1) reset */
	struct {
		uint32_t gen;
		uint16_t first;
		uint16_t count;
	} slot[TG_FIELDS_MAX];
	struct tg_val vals[TG_VIEW_VALS_MAX];
	uint16_t nvals;
	bool truncated;        /* more values than TG_VIEW_VALS_MAX */
	const cJSON *json;     /* the event the view was filled from */
	char arena[4096];      /* derived strings (twin.* fields) */
	size_t arena_used;
};

struct tg_profile;

size_t fields_count(void);
const struct tg_field *fields_get(int id);
/* Field id of a name, -1 when unknown. */
int fields_lookup(const char *name);

void view_init(struct tg_view *v);
/* Fill from one event's JSON (not copied: must outlive the view's use) and
 * derive the twin.* fields from prof (NULL = no profile). */
int view_fill(struct tg_view *v, const cJSON *event, const struct tg_profile *prof);
/* Values of a field; returns their count (0 = absent). Inline: every
 * predicate of every rule calls it. */
static inline size_t view_get(const struct tg_view *v, int field, const struct tg_val **vals)
{
	if (field < 0 || field >= TG_FIELDS_MAX || v->slot[field].gen != v->gen) {
		if (vals)
			*vals = NULL;
		return 0;
	}
	if (vals)
		*vals = &v->vals[v->slot[field].first];
	return v->slot[field].count;
}
/* Set a field (used by view_fill and by derived fields). */
int view_add_str(struct tg_view *v, int field, const char *s, size_t len);
int view_add_num(struct tg_view *v, int field, double n);

/* Additions (fields.c). All view_add_* return 0, or -1 when field is not a
 * valid id or the view is full (truncated is then set). A field's values
 * stay contiguous in vals[] whatever the order of the calls. */
/* Empty the view in O(1) (gen bump); view_fill does it first. */
void view_reset(struct tg_view *v);
/* TG_FT_BOOL: n = 0/1, s = "false"/"true" (for rendering). view_add_num on a
 * TG_FT_BOOL field does the same. */
int view_add_bool(struct tg_view *v, int field, bool b);
/* Like view_add_str, but s is copied into the view's arena first (for
 * derived strings that do not outlive the call); -1 when the arena is full. */
int view_add_strcopy(struct tg_view *v, int field, const char *s, size_t len);

/* Derived twin.* fields: implemented in user/twin.c, called by view_fill
 * after the JSON walk (prof may be NULL). Returns 0 or -1. */
int twin_derive(struct tg_view *v, const struct tg_profile *prof);

#endif
