/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * cond_parse: what the condition compiler's files share. Not for other
 * modules: use cond.h (and cond_impl.h for the compiled tree).
 *
 *   cond_lex.c     tokens, literal values, the parser's errors and memory
 *   cond_expand.c  lists and macros: names being expanded, size budgets
 *   cond_parse.c   fields and expressions, recursive descent; cond_compile()
 *
 * All state of one compilation is in struct cond_parser, on the stack of
 * cond_compile(): two threads may compile at once.
 */
#ifndef TG_COND_PARSE_H
#define TG_COND_PARSE_H

#include <stdbool.h>
#include <stddef.h>

#include "cond_impl.h"

/* Size after expansion, in work units: a node (predicate, and, or, not)
 * costs NODE_COST, a list item 1, so 2^18 nodes (~30 MiB) or 2^20 items. */
#define COND_MAX_WORK (1u << 20)
#define NODE_COST 4
#define COND_MAX_TEXT (16u << 20)         /* bytes of condition and macro text compiled */

enum tok_kind { TK_EOF = 1, TK_LPAREN, TK_RPAREN, TK_COMMA, TK_WORD, TK_STRING, TK_OP, TK_ERR };

/* LEX_EXPR: where a field, keyword or operator is expected. LEX_VALUE: a
 * literal; '=', '!', '<', '>' are then ordinary characters. */
enum lex_mode { LEX_EXPR, LEX_VALUE };

struct cond_token {
	enum tok_kind kind;
	size_t off;            /* in the text being parsed */
	const char *s;         /* raw text, quotes included */
	size_t len;
};

struct cond_parser {
	struct tg_cond *c;
	const struct tg_cond_env *env;
	struct tg_cond_error *err;
	const char *text;      /* the condition, or the macro being expanded */
	size_t pos;
	const char *macro;     /* name of the macro text is from; NULL: the condition */
	/* macros and lists being expanded, innermost last; kind: "macro" or
	 * "list" (separate name spaces: a list may share a macro's name) */
	struct {
		const char *name, *kind;
	} stack[TG_COND_MAX_DEPTH];
	int n_stack;
	int depth;
	size_t work, text_bytes;
	bool failed;
};

/* For messages: the token as written, cut at 40 bytes. */
#define TOK_FMT "%.*s%s"
#define TOK_ARG(t) (int)((t)->len > 40 ? 40 : (t)->len), (t)->s, (t)->len > 40 ? "..." : ""

/* ---- cond_lex.c ---- */

/* The first error wins: the ones after it are consequences. */
void cond_fail(struct cond_parser *p, size_t off, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* "unexpected X; expected <expected>" about t (nothing after a lexer error). */
void cond_fail_unexpected(struct cond_parser *p, const struct cond_token *t, const char *expected);
/* From the condition's arena; NULL (failed) when out of memory. */
void *cond_palloc(struct cond_parser *p, size_t size);
char *cond_strndup(struct cond_parser *p, const char *s, size_t len);
/* Room for one more element in arena array v of n (see cond_lex.c). */
void *cond_grow(struct cond_parser *p, void *v, size_t n, size_t *cap, size_t size);
/* The next token, past it (cond_lex) or not (cond_peek). */
void cond_lex(struct cond_parser *p, struct cond_token *t, enum lex_mode m);
void cond_peek(struct cond_parser *p, struct cond_token *t, enum lex_mode m);
bool cond_tok_is(const struct cond_token *t, const char *word);
/* A literal's text: strings decoded, bare words as they are. */
char *cond_tok_value(struct cond_parser *p, const struct cond_token *t, size_t *len);
/* Checks and converts v (s, len set) for field f. what: for the message. */
bool cond_convert(struct cond_parser *p, int f, struct tg_val *v, size_t off, const char *what);

/* ---- cond_expand.c ---- */

/* What a stack entry is: compared by address. */
extern const char COND_KIND_MACRO[], COND_KIND_LIST[];

/* Items of an in/intersects/pmatch set, converted to field's type. */
struct cond_items {
	int field;
	struct tg_val *v;
	size_t n, cap;
};

/* Counted against COND_MAX_WORK: every node and every set item. */
bool cond_spend(struct cond_parser *p, size_t off, size_t units);
/* Counted against COND_MAX_TEXT: every macro and list item text. */
bool cond_charge_text(struct cond_parser *p, size_t off, size_t bytes);
const char *const *cond_env_list(struct cond_parser *p, const char *name, size_t *n);
const char *cond_env_macro(struct cond_parser *p, const char *name);
void cond_env_used(struct cond_parser *p, const char *name);
/* Onto the expansion stack; false (failed) on a cycle or when too deep. */
bool cond_push_name(struct cond_parser *p, size_t off, const char *name, const char *kind);
/* After in/intersects/pmatch (op): "(" item, ... ")" or a list name. */
bool cond_parse_items(struct cond_parser *p, struct cond_items *it, const char *op);

#endif
