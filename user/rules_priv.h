/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * rules_priv: state shared by rules_load.c (files, positions, compilation)
 * and rules_items.c (one list/macro/rule item at a time). Nothing outside
 * those two files includes this; the public contract is rules.h.
 *
 * Everything here lives only while rules_load() runs: the file texts are
 * kept until compilation so that a condition error found after the last
 * file can still be placed at file:line:col.
 */
#ifndef TG_RULES_PRIV_H
#define TG_RULES_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <cjson/cJSON.h>

#include "rules.h"

#define TG_RLABEL_MAX 192      /* "rule 'NAME'" for messages; longer names are cut */

struct tg_diag;

/* A place in a file: src indexes tg_rloader.src; -1 = the profile. */
struct tg_rwhere {
	int src;
	size_t off;
};

/* Offsets of one JSON value (and of its key, in an object), parallel to
 * cJSON's tree: kid[i] is the i-th child of the cJSON node. */
struct tg_rpos {
	size_t off, key_off;
	struct tg_rpos *kid;
	size_t n;
};

/* A piece of a composed condition text: bytes [at, at+len) of the text
 * are the decoded JSON string whose contents start at raw in file src. */
struct tg_rseg {
	size_t at, len;
	int src;
	size_t raw;
};

/* A condition text and where its pieces came from. */
struct tg_rtext {
	char *s;
	struct tg_rseg *seg;
	size_t n;
};

struct tg_rsrc {
	char *path;
	char *text;            /* as read: comments and all */
};

struct tg_rlist {
	char *name;
	char **items;
	size_t n;
	struct tg_rwhere at;
	bool used, profile;
};

struct tg_rmacro {
	char *name;
	struct tg_rtext cond;  /* "(old) or (new)" after appends */
	struct tg_rwhere at;
	bool used, reported;
};

struct tg_rexc {
	char *name;
	struct tg_rtext cond;
};

/* A rule as the files say it, before compilation. */
struct tg_rrule {
	char *name, *desc, *output;
	struct tg_rwhere at;   /* the item of the last full definition */
	int priority;
	char **tags;
	size_t n_tags;
	bool enabled;
	enum tg_rule_action action;
	enum tg_rule_kind kind;
	struct tg_rtext cond;  /* event and threshold rules */
	struct tg_rexc *exc;
	size_t n_exc;
	struct tg_rtext steps[TG_SEQ_MAX_STEPS];
	size_t n_steps;
	enum tg_seq_key key;
	uint64_t window_ns;
	int group_by[TG_GROUP_MAX];
	size_t n_group_by;
	int sum_field;
	double limit;
	/* A definition with errors: kept so that later patches of the name do
	 * not cascade into "unknown rule" errors, but never compiled. */
	bool broken;
};

struct tg_rloader {
	struct tg_diag *diag;
	const char *profile_source;
	struct tg_rsrc *src;
	size_t n_src;
	struct tg_rlist *lists;
	size_t n_lists;
	struct tg_rmacro *macros;
	size_t n_macros;
	struct tg_rrule *rules;
	size_t n_rules;
	bool oom;
	size_t errors_before;  /* diag->errors when rules_load started */
};

/* rules_load.c */
void rl_oom(struct tg_rloader *L);
void *rl_grow(struct tg_rloader *L, void *p, size_t n, size_t size);
char *rl_strdup(struct tg_rloader *L, const char *s);
/* Position of decoded byte d of the JSON string value at value_off. */
struct tg_rwhere rl_string_where(const struct tg_rloader *L, int src, size_t value_off, size_t d);
void rl_error(struct tg_rloader *L, struct tg_rwhere w, const char *item, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
void rl_warn(struct tg_rloader *L, struct tg_rwhere w, const char *item, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
int rl_text_set(struct tg_rloader *L, struct tg_rtext *t, const char *s, struct tg_rwhere w);
int rl_text_lit(struct tg_rloader *L, struct tg_rtext *t, const char *s);
int rl_text_add(struct tg_rloader *L, struct tg_rtext *t, const struct tg_rtext *part);
int rl_text_join(struct tg_rloader *L, struct tg_rtext *out, const struct tg_rtext *a,
		 const char *op, const struct tg_rtext *b);
void rl_text_free(struct tg_rtext *t);
void rl_pos_free(struct tg_rpos *p);
ssize_t rl_find_list(const struct tg_rloader *L, const char *name);
ssize_t rl_find_macro(const struct tg_rloader *L, const char *name);
ssize_t rl_find_rule(const struct tg_rloader *L, const char *name);

/* rules_items.c */
void rl_load_item(struct tg_rloader *L, int src, cJSON *item, const struct tg_rpos *p, size_t idx);
void rl_list_free(struct tg_rlist *l);
void rl_macro_free(struct tg_rmacro *m);
void rl_rule_free(struct tg_rrule *r);
/* Field ids of an output template's %references, -1 terminated; NULL
 * only when out of memory. Unknown names are left out. */
int *rl_output_fields(const char *tmpl);

#endif
