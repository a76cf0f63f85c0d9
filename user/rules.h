/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * rules: rule files (JSON with // comments) -> a compiled rule set.
 * Items: list, macro, rule (single event), sequence rules and threshold
 * rules (docs/rules.md). Later files append to or override earlier items by
 * name; shipped packs load first, then /etc/twinguard/rules.d/ in name order.
 */
#ifndef TG_RULES_H
#define TG_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct tg_cond;
struct tg_diag;
struct tg_profile;

enum tg_rule_kind { TG_RULE_EVENT = 1, TG_RULE_SEQUENCE, TG_RULE_THRESHOLD };
enum tg_rule_action { TG_ACT_ALERT = 1, TG_ACT_KILL };
/* Sequence correlation keys */
enum tg_seq_key { TG_KEY_PROCESS = 1, TG_KEY_LINEAGE, TG_KEY_USER, TG_KEY_CONTAINER };

#define TG_SEQ_MAX_STEPS 8
#define TG_GROUP_MAX 4
#define TG_RATE_KEY_MAX 4

/* Noise control, "rate" and "dedup" (docs/rules.md; user/ratelimit.h) */
enum tg_rate_mode {
	TG_RATE_DEFAULT = 0,   /* the config's defaults (not for critical and above) */
	TG_RATE_OWN,           /* the rule's own "rate": always applies */
	TG_RATE_OFF,           /* "rate": "off": never limited */
};

struct tg_rule_rate {
	enum tg_rate_mode mode;
	unsigned max;                 /* TG_RATE_OWN: alerts per key per window */
	uint64_t per_ns;              /* TG_RATE_OWN: the window */
	int key[TG_RATE_KEY_MAX];     /* field ids; n_key 0 = TG_RATE_DEFAULT_KEY */
	size_t n_key;
	bool has_dedup;               /* false: the config's alert_dedup_s */
	uint64_t dedup_ns;            /* 0 = off */
};

struct tg_rule {
	char *name;
	char *desc;
	char *output;          /* template with %field references */
	int priority;          /* syslog: 0 emergency .. 7 debug */
	char **tags;
	size_t n_tags;
	bool enabled;
	enum tg_rule_action action;
	enum tg_rule_kind kind;
	char *file;            /* where it was (last) defined */
	int line;
	/* TG_RULE_EVENT and TG_RULE_THRESHOLD: condition, exceptions folded in */
	struct tg_cond *cond;
	/* TG_RULE_SEQUENCE */
	struct tg_cond *steps[TG_SEQ_MAX_STEPS];
	size_t n_steps;
	enum tg_seq_key key;
	/* TG_RULE_SEQUENCE and TG_RULE_THRESHOLD */
	uint64_t window_ns;
	/* TG_RULE_THRESHOLD: count events, or sum sum_field, per group */
	int group_by[TG_GROUP_MAX];   /* field ids */
	size_t n_group_by;
	int sum_field;                /* -1 = count */
	double limit;                 /* alert when the count/sum exceeds it */
	/* output template compiled: field ids referenced, -1 terminated */
	int *out_fields;
	struct tg_rule_rate rate;
};

struct tg_ruleset {
	struct tg_rule *rules;
	size_t n_rules;
	/* lists and macros, kept for `rules list` and warnings */
	size_t n_lists, n_macros;
	void *priv;            /* loader-owned state */
};

/* Load files in order (each may append to/override earlier items). Errors
 * and warnings go to diag; returns 0 when there was no error. The profile
 * (may be NULL) contributes the twin_* lists. */
int rules_load(struct tg_ruleset *rs, const char *const *files, size_t n_files,
	       const struct tg_profile *prof, struct tg_diag *diag);
void rules_free(struct tg_ruleset *rs);
/* Shipped packs, then the local dir's .json files, each in name order (a missing dir is empty). */
int rules_default_files(const char *pack_dir, const char *local_dir, char ***files, size_t *n);
const char *rules_priority_name(int priority);
/* -1 for an unknown name */
int rules_priority_parse(const char *name);

#endif
