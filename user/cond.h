/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * cond: the condition language (docs/rules.md).
 *
 *   expr    := or ; or := and ("or" and)* ; and := not ("and" not)*
 *   not     := "not" not | "(" expr ")" | pred | macro-name
 *   pred    := field op value | field "exists"
 *   op      := = != < <= > >= contains icontains startswith endswith glob
 *              in intersects pmatch
 *   value   := "str" | 'str' | bare-word | number | "(" value, ... ")" | list-name
 *   field   := dotted name, optionally indexed: process.ancestors[1].executable
 *
 * Compiled once at load: fields resolve to ids, macros are expanded
 * (cycles and depth > TG_COND_MAX_DEPTH are errors), lists and "(...)"
 * become hash sets, pmatch prefixes a sorted table. Evaluation never parses.
 * Multi-valued fields match if any value matches; "!=" is "not =".
 */
#ifndef TG_COND_H
#define TG_COND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct tg_view;

#define TG_COND_MAX_DEPTH 64   /* nesting of parentheses, not and macros */

/* What a condition may reference besides fields. */
struct tg_cond_env {
	/* Condition text of a macro, NULL when name is not a macro. */
	const char *(*macro)(void *ctx, const char *name);
	/* Items of a list, NULL when name is not a list. */
	const char *const *(*list)(void *ctx, const char *name, size_t *n);
	/* Told about every macro and list used (for "unused" warnings). */
	void (*used)(void *ctx, const char *name);
	void *ctx;
};

struct tg_cond_error {
	char msg[512];         /* "...; expected ..." */
	size_t offset;         /* byte offset in the text that was compiled */
	char macro[128];       /* set when the error is inside a macro's text */
};

struct tg_cond;

/* NULL on error, with err filled. */
struct tg_cond *cond_compile(const char *text, const struct tg_cond_env *env,
			     struct tg_cond_error *err);
bool cond_eval(const struct tg_cond *c, const struct tg_view *v);
void cond_free(struct tg_cond *c);

/*
 * A faster equivalent of c for the events whose `field` (a string field)
 * holds exactly the one value `value` (the engine: one event.action):
 * predicates on that field are decided now, and every and/or is reordered
 * to stop early and cheaply (cond_plan.c). field -1 or value NULL: reorder
 * only, for any event. NULL when out of memory. Evaluate with cond_eval(),
 * free with cond_free(); cond_never_matches() is true when it folded to
 * false. c must outlive the plan. Not for cond_actions().
 */
struct tg_cond *cond_plan(const struct tg_cond *c, int field, const char *value);
/* Calls fn with fields c cannot match without: an event lacking one of them
 * (no value at all) is certainly not matched. Some, not necessarily all. */
void cond_required(const struct tg_cond *c, void (*fn)(void *ctx, int field), void *ctx);

/* Introspection, for kernel filter compilation and warnings. */
typedef void (*tg_cond_field_fn)(void *ctx, int field, const char *op, const char *value);
/* Every (field, operator, literal value) compared in c, value NULL for exists. */
void cond_walk(const struct tg_cond *c, tg_cond_field_fn fn, void *ctx);
/* True when c can be shown never to match (e.g. "a = 1 and a = 2" on a
 * single-valued field, or "x and not x"). Best effort. */
bool cond_never_matches(const struct tg_cond *c);
/* Event actions (event.action values) c can match; NULL = any. The engine
 * indexes rules by these. Returned array is owned by c. */
const char *const *cond_actions(const struct tg_cond *c, size_t *n);

/*
 * Prefix bounds, for compiling rules into the kernel's open filter: a list
 * of strings such that every event c matches has a value of `field` that
 * starts with one of them. AND needs one bounded member, OR all of them;
 * NOT and substring tests bound nothing. map (may be NULL) is asked about
 * each predicate on another field except "!=" (op "=" for every member of
 * an in-list; value NULL for exists and pmatch):
 * it returns TG_MAP_BOUND after appending prefixes of `field` (twin.file.role
 * = model -> the profile's model dirs), TG_MAP_NEVER when the predicate
 * cannot hold for the events being compiled for (event.action = rename when
 * compiling the open filter), or TG_MAP_NONE when it says nothing.
 */
enum { TG_MAP_NONE = -1, TG_MAP_NEVER = 0, TG_MAP_BOUND = 1 };
struct tg_prefixes {
	char **v;
	size_t n, cap;
};

typedef int (*tg_cond_prefix_map)(void *ctx, int field, const char *op, const char *value,
				  struct tg_prefixes *out);

/* true and *out filled when c bounds field (an empty list: c can never
 * match those events); false when it does not. */
bool cond_prefix_bound(const struct tg_cond *c, int field, tg_cond_prefix_map map, void *ctx,
		       struct tg_prefixes *out);
int cond_prefixes_add(struct tg_prefixes *p, const char *s, size_t len);
void cond_prefixes_free(struct tg_prefixes *p);

#endif
