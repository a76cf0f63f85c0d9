// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * cond_expand: lists and macros in conditions (cond_parse.h). Macros are
 * expanded in place by cond_parse.c, compiling their text with the same
 * parser (so errors inside them carry the macro's name and an offset in
 * its text); lists become the items of in/intersects/pmatch, and a list
 * may name other lists (Falco style). The names being expanded form a
 * stack, and meeting a name on it is a cycle. Expansion can grow
 * exponentially (m1 = m2 or m2, m2 = m3 or m3, ...), so the total of
 * predicates plus list items and the total of text compiled are capped.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "cond_parse.h"

/* ---- budgets -------------------------------------------------------- */

/* Counted against COND_MAX_WORK: every node and every set item. */
bool cond_spend(struct cond_parser *p, size_t off, size_t units)
{
	p->work += units;
	if (p->work <= COND_MAX_WORK)
		return true;
	cond_fail(p, off, "condition too large after macro and list expansion (over %u predicates or "
		  "%u list items); expected fewer or smaller macros and lists",
		  COND_MAX_WORK / NODE_COST, COND_MAX_WORK);
	return false;
}

bool cond_charge_text(struct cond_parser *p, size_t off, size_t bytes)
{
	p->text_bytes += bytes;
	if (p->text_bytes <= COND_MAX_TEXT)
		return true;
	cond_fail(p, off, "condition too large after macro and list expansion (over %u bytes); "
		  "expected fewer or smaller macros", COND_MAX_TEXT);
	return false;
}

/* ---- the environment and the expansion stack ------------------------ */

const char *const *cond_env_list(struct cond_parser *p, const char *name, size_t *n)
{
	*n = 0;
	if (!p->env || !p->env->list)
		return NULL;
	return p->env->list(p->env->ctx, name, n);
}

const char *cond_env_macro(struct cond_parser *p, const char *name)
{
	return p->env && p->env->macro ? p->env->macro(p->env->ctx, name) : NULL;
}

void cond_env_used(struct cond_parser *p, const char *name)
{
	if (p->env && p->env->used)
		p->env->used(p->env->ctx, name);
}

static int stack_find(const struct cond_parser *p, const char *name, const char *kind)
{
	for (int i = 0; i < p->n_stack; i++)
		if (p->stack[i].kind == kind && !strcmp(p->stack[i].name, name))
			return i;
	return -1;
}

/* "a -> b -> a" for a cycle that closes at name, found at stack[i] */
static void cycle_path(const struct cond_parser *p, int i, const char *name, char *out, size_t len)
{
	size_t used = 0;

	out[0] = 0;
	for (; i < p->n_stack && used < len; i++)
		used += (size_t)snprintf(out + used, len - used, "%.32s -> ", p->stack[i].name);
	if (used < len)
		snprintf(out + used, len - used, "%.32s", name);
}

const char COND_KIND_MACRO[] = "macro", COND_KIND_LIST[] = "list";

bool cond_push_name(struct cond_parser *p, size_t off, const char *name, const char *kind)
{
	int i = stack_find(p, name, kind);
	char path[160];

	if (i >= 0) {
		cycle_path(p, i, name, path, sizeof(path));
		cond_fail(p, off, "%s '%.64s' uses itself (%s); expected no cycle", kind, name, path);
		return false;
	}
	if (p->n_stack >= TG_COND_MAX_DEPTH) {
		cond_fail(p, off, "%ss nested deeper than %d; expected a flatter definition", kind,
			  TG_COND_MAX_DEPTH);
		return false;
	}
	p->stack[p->n_stack].name = name;
	p->stack[p->n_stack++].kind = kind;
	return true;
}

/* what: "" for a literal, "list 'x' item " for an item of a list. */
static bool add_item(struct cond_parser *p, struct cond_items *it, const char *s, size_t len,
		     size_t off, const char *what)
{
	struct tg_val v = { .s = s, .len = len };

	if (!cond_convert(p, it->field, &v, off, what) ||
	    !(it->v = cond_grow(p, it->v, it->n, &it->cap, sizeof(it->v[0]))))
		return false;
	it->v[it->n++] = v;
	return true;
}

/* Could be a list's name: paths, addresses and numbers are not, and are
 * not looked up (a 100k-item list must not cost 100k env lookups). */
static bool name_like(const char *s)
{
	if (!isalpha((unsigned char)*s) && *s != '_')
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr("_-.", *s))
			return false;
	return true;
}

/* Items of list name, nested list names expanded (Falco style: a list may
 * name other lists). off: where the name stands, for errors. */
static bool expand_list(struct cond_parser *p, struct cond_items *it, const char *name, size_t off)
{
	const char *const *v;
	char what[96];
	size_t n;
	bool ok = true;

	v = cond_env_list(p, name, &n);
	cond_env_used(p, name);
	if (!cond_push_name(p, off, name, COND_KIND_LIST) || !cond_spend(p, off, n))
		return false;
	snprintf(what, sizeof(what), "list '%.64s' item ", name);
	for (size_t i = 0; ok && i < n; i++) {
		size_t sub, len;
		char *s;

		if (!v[i])
			continue;
		len = strlen(v[i]);
		if (!cond_charge_text(p, off, len))
			ok = false;
		else if (name_like(v[i]) && strcmp(v[i], name) && cond_env_list(p, v[i], &sub))
			ok = expand_list(p, it, v[i], off);
		else
			ok = (s = cond_strndup(p, v[i], len)) && add_item(p, it, s, len, off, what);
	}
	p->n_stack--;
	return ok;
}

/* After in/intersects/pmatch: "(" item, ... ")" or a list name. */
bool cond_parse_items(struct cond_parser *p, struct cond_items *it, const char *op)
{
	struct cond_token t;
	size_t n;
	char *s;

	cond_lex(p, &t, LEX_VALUE);
	if (t.kind == TK_WORD) {
		s = cond_strndup(p, t.s, t.len);
		if (!s)
			return false;
		if (cond_env_list(p, s, &n))
			return expand_list(p, it, s, t.off);
		cond_fail(p, t.off, "unknown list '" TOK_FMT "'; expected a list name or '(' value, "
			  "... ')' after '%s'", TOK_ARG(&t), op);
		return false;
	}
	if (t.kind != TK_LPAREN) {
		cond_fail_unexpected(p, &t, "a list name or '(' value, ... ')'");
		return false;
	}
	cond_peek(p, &t, LEX_VALUE);
	if (t.kind == TK_RPAREN) {
		cond_lex(p, &t, LEX_VALUE);
		return true;   /* empty: matches nothing, like an empty list */
	}
	for (;;) {
		size_t len;

		cond_lex(p, &t, LEX_VALUE);
		if (t.kind != TK_WORD && t.kind != TK_STRING) {
			cond_fail_unexpected(p, &t, "a value or a list name");
			return false;
		}
		if (!cond_spend(p, t.off, 1) || !(s = cond_tok_value(p, &t, &len)))
			return false;
		if (t.kind == TK_WORD && cond_env_list(p, s, &n)) {
			if (!expand_list(p, it, s, t.off))
				return false;
		} else if (!add_item(p, it, s, len, t.off, "")) {
			return false;
		}
		cond_lex(p, &t, LEX_VALUE);
		if (t.kind == TK_RPAREN)
			return true;
		if (t.kind != TK_COMMA) {
			cond_fail_unexpected(p, &t, "',' or ')'");
			return false;
		}
	}
}
