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

#endif
