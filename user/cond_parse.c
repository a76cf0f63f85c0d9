// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * cond_parse: condition text -> compiled tree (cond.h, cond_impl.h,
 * docs/fields.md for the language). Tokens come from cond_lex.c, lists and
 * macro bookkeeping from cond_expand.c (cond_parse.h).
 *
 * Recursive descent, one function per precedence level. Recursion is
 * bounded by depth, which counts open parentheses, "not"s and macro
 * expansions together and stops at TG_COND_MAX_DEPTH with an error; and/or
 * chains are loops. A macro is expanded in place by compiling its text
 * with this same parser.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cond_parse.h"

#define SUGGEST_MAX_LEN 128               /* longer words get no "did you mean" */

static const char *type_name(enum tg_ftype t)
{
	return t == TG_FT_NUM ? "number" : t == TG_FT_BOOL ? "boolean" : "string";
}

/* ---- fields --------------------------------------------------------- */

/* Levenshtein distance, or SIZE_MAX once it must exceed max (the caller's
 * best so far): most names are rejected after a row or two. */
static size_t edit_distance(const char *a, const char *b, size_t max)
{
	size_t la = strlen(a), lb = strlen(b), row[SUGGEST_MAX_LEN + 1];

	if (lb > SUGGEST_MAX_LEN || (la > lb ? la - lb : lb - la) > max)
		return SIZE_MAX;
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0], low;

		low = row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j], best = diag + (a[i - 1] != b[j - 1]);

			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			diag = up;
			row[j] = best;
			if (best < low)
				low = best;
		}
		if (low > max)
			return SIZE_MAX;
	}
	return row[lb] <= max ? row[lb] : SIZE_MAX;
}

/* The closest field name, or NULL when none is close enough. */
static const char *suggest_field(const char *word)
{
	size_t len = strlen(word), best = len / 3 > 2 ? len / 3 : 2;
	const char *name = NULL;

	if (len > SUGGEST_MAX_LEN)
		return NULL;
	for (size_t i = 0; i < fields_count(); i++) {
		size_t d = edit_distance(fields_get((int)i)->name, word, best);

		if (d < best || (d == best && !name)) {
			best = d;
			name = fields_get((int)i)->name;
		}
	}
	return name;
}

/* "a.b[2].c" -> field "a.b.c", index 2; a plain name: index -1. Returns
 * the field id, -1 for an unknown name, -2 after an error. */
static int resolve_field(struct cond_parser *p, const struct cond_token *t, const char *word,
			 int *index)
{
	const char *open = strchr(word, '[');
	const char *close;
	char name[256];
	unsigned long idx;
	int id;

	*index = -1;
	if (!open)
		return fields_lookup(word);
	close = strchr(open, ']');
	if (!close || close == open + 1 ||
	    strspn(open + 1, "0123456789") != (size_t)(close - open - 1) ||
	    (close[1] && close[1] != '.') || strchr(close + 1, '[') ||
	    (size_t)(open - word) + strlen(close + 1) >= sizeof(name))
		return -1;
	snprintf(name, sizeof(name), "%.*s%s", (int)(open - word), word, close + 1);
	id = fields_lookup(name);
	if (id < 0)
		return -1;
	if (!fields_get(id)->multi) {
		cond_fail(p, t->off, "field '%s' holds one value; expected an index only on a "
			  "multi-valued field (process.args, process.ancestors[N].*, ...)", name);
		return -2;
	}
	idx = strtoul(open + 1, NULL, 10);
	if (close - open > 5 || idx >= TG_VIEW_VALS_MAX) {
		cond_fail(p, t->off + (size_t)(open - word) + 1, "index out of range; expected 0 to %d",
			  TG_VIEW_VALS_MAX - 1);
		return -2;
	}
	*index = (int)idx;
	return id;
}

/* ---- expressions ---------------------------------------------------- */

static struct cond_node *parse_or(struct cond_parser *p);

static bool enter(struct cond_parser *p, size_t off)
{
	if (++p->depth <= TG_COND_MAX_DEPTH)
		return true;
	cond_fail(p, off, "nested deeper than %d levels (parentheses, not and macros); expected a "
		  "flatter condition", TG_COND_MAX_DEPTH);
	return false;
}

static struct cond_node *new_node(struct cond_parser *p, enum cond_kind kind, size_t off)
{
	struct cond_node *n;

	if (!cond_spend(p, off, NODE_COST) || !(n = cond_palloc(p, sizeof(*n))))
		return NULL;
	n->kind = kind;
	return n;
}

static const struct {
	const char *name;
	enum cond_op op;
} ops[] = {
	{ "=", OP_EQ }, { "==", OP_EQ }, { "!=", OP_NE }, { "<", OP_LT }, { "<=", OP_LE },
	{ ">", OP_GT }, { ">=", OP_GE }, { "contains", OP_CONTAINS },
	{ "icontains", OP_ICONTAINS }, { "startswith", OP_STARTSWITH },
	{ "endswith", OP_ENDSWITH }, { "glob", OP_GLOB }, { "in", OP_IN },
	{ "intersects", OP_INTERSECTS }, { "pmatch", OP_PMATCH }, { "exists", OP_EXISTS },
};

#define OPS_EXPECTED "an operator (=, !=, <, <=, >, >=, contains, icontains, startswith, " \
	"endswith, glob, in, intersects, pmatch or exists)"

static enum cond_op op_of(const struct cond_token *t)
{
	if (t->kind != TK_OP && t->kind != TK_WORD)
		return 0;
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		if (strlen(ops[i].name) == t->len && !memcmp(ops[i].name, t->s, t->len))
			return ops[i].op;
	return 0;
}

/* The operator suits the field's type. */
static bool check_op(struct cond_parser *p, const struct cond_pred *pr, const struct cond_token *t)
{
	const struct tg_field *f = fields_get(pr->field);

	switch (pr->op) {
	case OP_LT:
	case OP_LE:
	case OP_GT:
	case OP_GE:
		if (f->type == TG_FT_NUM)
			return true;
		cond_fail(p, t->off, "operator '%s' compares numbers but %s is a %s field; expected a "
			  "number field", cond_op_name(pr->op), f->name, type_name(f->type));
		return false;
	case OP_CONTAINS:
	case OP_ICONTAINS:
	case OP_STARTSWITH:
	case OP_ENDSWITH:
	case OP_GLOB:
	case OP_PMATCH:
		if (f->type == TG_FT_STR)
			return true;
		cond_fail(p, t->off, "operator '%s' needs a string field but %s is a %s field; "
			  "expected =, !=, %sin or exists", cond_op_name(pr->op), f->name, type_name(f->type),
			  f->type == TG_FT_NUM ? "<, <=, >, >=, " : "");
		return false;
	default:
		return true;
	}
}

static bool parse_set(struct cond_parser *p, struct cond_pred *pr)
{
	struct cond_items it = { .field = pr->field };
	size_t off = p->pos;

	if (!cond_parse_items(p, &it, cond_op_name(pr->op)))
		return false;
	pr->items = it.v;
	pr->n_items = it.n;
	if ((pr->op == OP_PMATCH ? cond_build_prefixes(p->c, pr) : cond_build_set(p->c, pr))) {
		cond_fail(p, off, "out of memory; expected a smaller condition");
		return false;
	}
	return true;
}

static bool parse_scalar(struct cond_parser *p, struct cond_pred *pr)
{
	struct cond_token t;
	char *s;

	cond_lex(p, &t, LEX_VALUE);
	if (t.kind == TK_LPAREN) {
		cond_fail(p, t.off, "operator '%s' takes one value; expected one value (a list needs "
			  "'in')", cond_op_name(pr->op));
		return false;
	}
	if (t.kind != TK_WORD && t.kind != TK_STRING) {
		cond_fail_unexpected(p, &t, "a value");
		return false;
	}
	if (cond_tok_is(&t, "and") || cond_tok_is(&t, "or") || cond_tok_is(&t, "not")) {
		cond_fail(p, t.off, "missing value before '" TOK_FMT "'; expected a value (quote it to "
			  "compare with the word)", TOK_ARG(&t));
		return false;
	}
	if (!(s = cond_tok_value(p, &t, &pr->lit.len)))
		return false;
	pr->lit.s = s;
	if (!cond_convert(p, pr->field, &pr->lit, t.off, ""))
		return false;
	if (pr->op == OP_ICONTAINS) {
		char *fold = cond_strndup(p, s, pr->lit.len);

		if (!fold)
			return false;
		for (size_t i = 0; i < pr->lit.len; i++)
			fold[i] = (char)tolower((unsigned char)fold[i]);
		pr->fold = fold;
	}
	return true;
}

static struct cond_node *parse_pred(struct cond_parser *p, int field, int index,
				    const struct cond_token *ft)
{
	struct cond_node *n = new_node(p, CN_PRED, ft->off);
	struct cond_pred *pr;
	struct cond_token t;
	bool ok;

	if (!n)
		return NULL;
	pr = &n->pred;
	pr->field = field;
	pr->index = index;
	pr->type = fields_get(field)->type;
	cond_lex(p, &t, LEX_EXPR);
	pr->op = op_of(&t);
	if (!pr->op) {
		if (t.kind != TK_ERR)
			cond_fail(p, t.off, "missing operator after field '" TOK_FMT "'; expected "
				  OPS_EXPECTED, TOK_ARG(ft));
		return NULL;
	}
	if (!check_op(p, pr, &t))
		return NULL;
	if (pr->op == OP_EXISTS)
		return n;
	if (pr->op == OP_IN || pr->op == OP_INTERSECTS || pr->op == OP_PMATCH)
		ok = parse_set(p, pr);
	else
		ok = parse_scalar(p, pr);
	return ok ? n : NULL;
}

static struct cond_node *expand_macro(struct cond_parser *p, const char *name, const char *text,
				      size_t off)
{
	const char *saved_text = p->text, *saved_macro = p->macro;
	size_t saved_pos = p->pos;
	struct cond_node *n = NULL;
	struct cond_token t;

	cond_env_used(p, name);
	if (!cond_charge_text(p, off, strlen(text)) || !enter(p, off) ||
	    !cond_push_name(p, off, name, COND_KIND_MACRO))
		return NULL;
	p->text = text;
	p->pos = 0;
	p->macro = name;
	n = parse_or(p);
	if (n) {
		cond_lex(p, &t, LEX_EXPR);
		if (t.kind != TK_EOF) {
			cond_fail_unexpected(p, &t, "'and', 'or' or the end of the macro");
			n = NULL;
		}
	}
	p->text = saved_text;
	p->pos = saved_pos;
	p->macro = saved_macro;
	p->n_stack--;
	p->depth--;
	return n;
}

#define PRIMARY_EXPECTED "a field, a macro name, 'not' or '('"

/* A word in expression position: field (then a predicate) or macro. */
static struct cond_node *parse_name(struct cond_parser *p, const struct cond_token *t)
{
	const char *word = cond_strndup(p, t->s, t->len), *text, *close;
	int index, id;
	size_t n;

	if (!word)
		return NULL;
	if (cond_tok_is(t, "and") || cond_tok_is(t, "or")) {
		cond_fail_unexpected(p, t, PRIMARY_EXPECTED);
		return NULL;
	}
	id = resolve_field(p, t, word, &index);
	if (id >= 0)
		return parse_pred(p, id, index, t);
	if (id == -2)
		return NULL;
	if (!strchr(word, '[') && (text = cond_env_macro(p, word)))
		return expand_macro(p, word, text, t->off);
	if (cond_env_list(p, word, &n)) {
		cond_fail(p, t->off, "'" TOK_FMT "' is a list, not a condition; expected %s (a list "
			  "goes after in, intersects or pmatch)", TOK_ARG(t), PRIMARY_EXPECTED);
		return NULL;
	}
	/* suggest for the field part of an indexed name */
	close = strchr(word, ']');
	if (strchr(word, '[') && close) {
		char *plain = cond_palloc(p, strlen(word) + 1);

		if (!plain)
			return NULL;
		snprintf(plain, strlen(word) + 1, "%.*s%s", (int)(strchr(word, '[') - word), word,
			 close + 1);
		text = suggest_field(plain);
	} else {
		text = suggest_field(word);
	}
	if (text)
		cond_fail(p, t->off, "unknown field '" TOK_FMT "' (did you mean '%s'?); expected a "
			  "field from docs/fields.md or a macro name", TOK_ARG(t), text);
	else
		cond_fail(p, t->off, "unknown field '" TOK_FMT "'; expected a field from "
			  "docs/fields.md or a macro name", TOK_ARG(t));
	return NULL;
}

static struct cond_node *parse_not(struct cond_parser *p)
{
	struct cond_node *n, *kid;
	struct cond_token t, close;

	cond_lex(p, &t, LEX_EXPR);
	if (t.kind == TK_LPAREN) {
		if (!enter(p, t.off))
			return NULL;
		n = parse_or(p);
		p->depth--;
		if (!n)
			return NULL;
		cond_lex(p, &close, LEX_EXPR);
		if (close.kind != TK_RPAREN) {
			cond_fail_unexpected(p, &close, "'and', 'or' or ')'");
			return NULL;
		}
		return n;
	}
	if (cond_tok_is(&t, "not")) {
		if (!enter(p, t.off))
			return NULL;
		kid = parse_not(p);
		p->depth--;
		if (!kid || !(n = new_node(p, CN_NOT, t.off)))
			return NULL;
		n->kid = kid;
		return n;
	}
	if (t.kind == TK_WORD)
		return parse_name(p, &t);
	cond_fail_unexpected(p, &t, PRIMARY_EXPECTED);
	return NULL;
}

/* and/or chains: n-ary nodes, with members of the same kind spliced in so
 * "(a and b) and c" and macros give one flat AND (cond_never_matches()
 * compares its members pairwise). */
static struct cond_node *parse_chain(struct cond_parser *p, enum cond_kind kind)
{
	const char *word = kind == CN_AND ? "and" : "or";
	struct cond_node **kids = NULL, *n, *k;
	size_t nk = 0, cap = 0;
	struct cond_token t;
	size_t off = p->pos;

	for (;;) {
		k = kind == CN_AND ? parse_not(p) : parse_chain(p, CN_AND);
		if (!k)
			return NULL;
		if (k->kind == kind) {
			for (size_t i = 0; i < k->list.n; i++) {
				if (!(kids = cond_grow(p, kids, nk, &cap, sizeof(*kids))))
					return NULL;
				kids[nk++] = k->list.kids[i];
			}
		} else {
			if (!(kids = cond_grow(p, kids, nk, &cap, sizeof(*kids))))
				return NULL;
			kids[nk++] = k;
		}
		cond_peek(p, &t, LEX_EXPR);
		if (!cond_tok_is(&t, word))
			break;
		cond_lex(p, &t, LEX_EXPR);
	}
	if (nk == 1)
		return kids[0];
	if (!(n = new_node(p, kind, off)))
		return NULL;
	n->list.kids = kids;
	n->list.n = nk;
	return n;
}

static struct cond_node *parse_or(struct cond_parser *p)
{
	return parse_chain(p, CN_OR);
}

struct tg_cond *cond_compile(const char *text, const struct tg_cond_env *env,
			     struct tg_cond_error *err)
{
	struct tg_cond_error dummy;
	struct cond_parser p = { .env = env, .err = err ? err : &dummy, .text = text };
	struct cond_token t;

	memset(p.err, 0, sizeof(*p.err));
	if (!text) {
		cond_fail(&p, 0, "no condition; expected a condition");
		return NULL;
	}
	p.c = calloc(1, sizeof(*p.c));
	if (!p.c) {
		cond_fail(&p, 0, "out of memory; expected a smaller condition");
		return NULL;
	}
	p.text_bytes = strlen(text);
	p.c->root = parse_or(&p);
	if (p.c->root) {
		cond_lex(&p, &t, LEX_EXPR);
		if (t.kind != TK_EOF)
			cond_fail_unexpected(&p, &t, "'and', 'or' or the end of the condition");
	}
	if (!p.failed && cond_analyze(p.c))
		cond_fail(&p, 0, "out of memory; expected a smaller condition");
	if (p.failed || !p.c->root) {
		cond_free(p.c);
		return NULL;
	}
	return p.c;
}
