/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * rules_priv: state shared by the rule loader's files. Nothing outside
 * them includes this; the public contract is rules.h.
 *
 *   rules_load.c     files, positions, lookups, the profile's lists, rules_load()
 *   rules_items.c    one item of a file: its keys, lists, macros
 *   rules_rule.c     rule items (event, sequence, threshold), priorities,
 *                    output templates
 *   rules_text.c     condition texts that remember where each piece came from
 *   rules_compile.c  item definitions -> struct tg_rule
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

#include "jsonsrc.h"
#include "rules.h"

#define TG_RLABEL_MAX 192      /* "rule 'NAME'" for messages; longer names are cut */

struct tg_diag;

/* A place in a file: src indexes tg_rloader.src; -1 = the profile. */
struct tg_rwhere {
	int src;
	size_t off;
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
	struct tg_rule_rate rate;
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
ssize_t rl_find_list(const struct tg_rloader *L, const char *name);
ssize_t rl_find_macro(const struct tg_rloader *L, const char *name);
ssize_t rl_find_rule(const struct tg_rloader *L, const char *name);

/* rules_text.c */
int rl_text_set(struct tg_rloader *L, struct tg_rtext *t, const char *s, struct tg_rwhere w);
int rl_text_lit(struct tg_rloader *L, struct tg_rtext *t, const char *s);
int rl_text_add(struct tg_rloader *L, struct tg_rtext *t, const struct tg_rtext *part);
int rl_text_join(struct tg_rloader *L, struct tg_rtext *out, const struct tg_rtext *a,
		 const char *op, const struct tg_rtext *b);
void rl_text_free(struct tg_rtext *t);
/* Where offset off of a composed text came from. */
struct tg_rwhere rl_text_where(const struct tg_rloader *L, const struct tg_rtext *t, size_t off);
/* True when offset off of a composed text is in the glue the loader added
 * ("(", ") and not (", ...), not in any text from a file. */
bool rl_text_in_glue(const struct tg_rtext *t, size_t off);

/* rules_items.c: one item, and the helpers every item kind uses */
struct rl_item {
	struct tg_rloader *L;
	int src;
	char label[TG_RLABEL_MAX];     /* "rule 'x'": the item in messages */
	bool bad;                      /* an error: the item is dropped */
};

enum rl_want { W_STR, W_BOOL, W_NUM, W_ARR, W_OBJ };

void rl_load_item(struct tg_rloader *L, int src, cJSON *item, const struct jsonsrc_pos *p,
		  size_t idx);
void rl_list_free(struct tg_rlist *l);
void rl_macro_free(struct tg_rmacro *m);
struct tg_rwhere rl_item_at(const struct rl_item *it, size_t off);
/* An error (it->bad set) or a warning at offset off of the item's file. */
void rl_ierr(struct rl_item *it, size_t off, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void rl_iwarn(struct rl_item *it, size_t off, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
bool rl_is(const cJSON *v, enum rl_want w);
/* Child i's position, or p itself when the scan has none. */
const struct jsonsrc_pos *rl_kid(const struct jsonsrc_pos *p, size_t i);
/* obj's member key of any type (case-sensitive), *kp its position (or p). */
cJSON *rl_member(cJSON *obj, const struct jsonsrc_pos *p, const char *key,
		 const struct jsonsrc_pos **kp);
/* key's value when present and of type w; an error when mistyped, or when
 * missing and hint (what to write) is given. *kp: the value's position. */
cJSON *rl_get(struct rl_item *it, cJSON *obj, const struct jsonsrc_pos *p, const char *key,
	      enum rl_want w, const char *hint, const struct jsonsrc_pos **kp);
/* A warning per unknown key (keys: NULL-terminated; what: them, for the
 * message), an error per repeated one. */
void rl_check_keys(struct rl_item *it, cJSON *obj, const struct jsonsrc_pos *p,
		   const char *const *keys, const char *what);
/* "file:line" of w, or "the profile". */
void rl_where_str(const struct tg_rloader *L, struct tg_rwhere w, char *buf, size_t len);
void rl_strs_free(char **v, size_t n);
/* An array of strings (numbers allowed when nums: ports) -> *out. */
int rl_strs_get(struct rl_item *it, cJSON *arr, const struct jsonsrc_pos *p, const char *key,
		bool nums, char ***out, size_t *n);
/* Appends more (taking it over) to *v. */
int rl_strs_add(struct rl_item *it, char ***v, size_t *n, char **more, size_t n_more);

/* rules_rule.c */
void rl_load_rule(struct rl_item *it, cJSON *obj, const struct jsonsrc_pos *p, const char *name);
void rl_rule_free(struct tg_rrule *r);
/* Field ids of an output template's %references, -1 terminated; NULL
 * only when out of memory. Unknown names are left out. */
int *rl_output_fields(const char *tmpl);

/* rules_compile.c */
/* Every rule definition into rs, then the "unused" warnings. */
void rl_build(struct tg_rloader *L, struct tg_ruleset *rs);

#endif
