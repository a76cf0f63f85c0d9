// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * cond_parse: condition text -> compiled tree (cond.h, cond_impl.h,
 * docs/fields.md for the language).
 *
 * A hand-written lexer driven by the parser, because what ends a bare word
 * depends on where it stands: a field stops at an operator character
 * (process.pid=1), a value only at space, parenthesis or comma (so
 * module_params = hide=1 and /usr/bin/[ need no quotes). Every token
 * keeps its byte offset for errors.
 *
 * Recursive descent, one function per precedence level. Recursion is
 * bounded by depth, which counts open parentheses, "not"s and macro
 * expansions together and stops at TG_COND_MAX_DEPTH with an error; and/or
 * chains are loops. Macros are expanded in place by compiling their text
 * with the same parser (so errors inside them carry the macro's name and an
 * offset in its text); the names being expanded form a stack, and meeting a
 * name on it is a cycle. Expansion can grow exponentially (m1 = m2 or m2,
 * m2 = m3 or m3, ...), so the total of predicates plus list items and the
 * total of text compiled are capped too.
 */
#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cond_impl.h"

/* Size after expansion, in work units: a node (predicate, and, or, not)
 * costs NODE_COST, a list item 1, so 2^18 nodes (~30 MiB) or 2^20 items. */
#define COND_MAX_WORK (1u << 20)
#define NODE_COST 4
#define COND_MAX_TEXT (16u << 20)         /* bytes of condition and macro text compiled */
#define SUGGEST_MAX_LEN 128               /* longer words get no "did you mean" */

enum tok_kind { TK_EOF = 1, TK_LPAREN, TK_RPAREN, TK_COMMA, TK_WORD, TK_STRING, TK_OP, TK_ERR };

/* LEX_EXPR: where a field, keyword or operator is expected. LEX_VALUE: a
 * literal; '=', '!', '<', '>' are then ordinary characters. */
enum lex_mode { LEX_EXPR, LEX_VALUE };

struct token {
	enum tok_kind kind;
	size_t off;            /* in the text being parsed */
	const char *s;         /* raw text, quotes included */
	size_t len;
};

struct parser {
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

/* ---- errors --------------------------------------------------------- */

static void fail(struct parser *p, size_t off, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* The first error wins: the ones after it are consequences. */
static void fail(struct parser *p, size_t off, const char *fmt, ...)
{
	va_list ap;

	if (p->failed)
		return;
	p->failed = true;
	p->err->offset = off;
	if (p->macro)
		snprintf(p->err->macro, sizeof(p->err->macro), "%s", p->macro);
	va_start(ap, fmt);
	vsnprintf(p->err->msg, sizeof(p->err->msg), fmt, ap);
	va_end(ap);
}

static void *palloc(struct parser *p, size_t size)
{
	void *m = cond_alloc(p->c, size);

	if (!m)
		fail(p, p->pos, "out of memory; expected a smaller condition");
	return m;
}

static char *pstrndup(struct parser *p, const char *s, size_t len)
{
	char *d = palloc(p, len + 1);

	if (d)
		memcpy(d, s, len);
	return d;
}

/* Room for one more element in arena array v of n: v itself, or a copy
 * twice the size (the old one stays in the arena as garbage, at most as big
 * as the final array). NULL when out of memory. */
static void *grow(struct parser *p, void *v, size_t n, size_t *cap, size_t size)
{
	void *nv;

	if (n < *cap)
		return v;
	*cap = *cap ? *cap * 2 : 4;
	nv = palloc(p, *cap * size);
	if (nv && n)
		memcpy(nv, v, n * size);
	return nv;
}

/* Counted against COND_MAX_WORK: every node and every set item. */
static bool spend(struct parser *p, size_t off, size_t units)
{
	p->work += units;
	if (p->work <= COND_MAX_WORK)
		return true;
	fail(p, off, "condition too large after macro and list expansion (over %u predicates or "
	     "%u list items); expected fewer or smaller macros and lists",
	     COND_MAX_WORK / NODE_COST, COND_MAX_WORK);
	return false;
}

/* ---- lexer ---------------------------------------------------------- */

static bool word_end(char ch, enum lex_mode m)
{
	if (!ch || isspace((unsigned char)ch) || ch == '(' || ch == ')' || ch == ',')
		return true;
	return m == LEX_EXPR && (ch == '=' || ch == '!' || ch == '<' || ch == '>');
}

static void lex(struct parser *p, struct token *t, enum lex_mode m)
{
	const char *s = p->text;
	size_t i = p->pos;

	while (s[i] && isspace((unsigned char)s[i]))
		i++;
	t->off = i;
	t->s = s + i;
	switch (s[i]) {
	case 0:
		t->kind = TK_EOF;
		break;
	case '(':
	case ')':
	case ',':
		t->kind = s[i] == '(' ? TK_LPAREN : s[i] == ')' ? TK_RPAREN : TK_COMMA;
		i++;
		break;
	case '"':
	case '\'': {
		char q = s[i++];

		/* "..." knows \" and \\; '...' is raw */
		while (s[i] && s[i] != q)
			i += q == '"' && s[i] == '\\' && s[i + 1] ? 2 : 1;
		if (!s[i]) {
			fail(p, t->off, "unterminated string; expected a closing %c", q);
			t->kind = TK_ERR;
			break;
		}
		i++;
		t->kind = TK_STRING;
		break;
	}
	default:
		if (m == LEX_EXPR && strchr("=!<>", s[i])) {
			t->kind = TK_OP;
			if (s[i] == '!' && s[i + 1] != '=') {
				fail(p, i, "unexpected '!'; expected '!=' or 'not'");
				t->kind = TK_ERR;
			}
			i += s[i + 1] == '=' ? 2 : 1;
			break;
		}
		while (!word_end(s[i], m))
			i++;
		t->kind = TK_WORD;
		break;
	}
	t->len = i - t->off;
	p->pos = i;
}

static void peek(struct parser *p, struct token *t, enum lex_mode m)
{
	size_t pos = p->pos;

	lex(p, t, m);
	p->pos = pos;
}

static bool tok_is(const struct token *t, const char *word)
{
	return t->kind == TK_WORD && strlen(word) == t->len && !memcmp(t->s, word, t->len);
}

/* For messages: the token as written, cut at 40 bytes. */
#define TOK_FMT "%.*s%s"
#define TOK_ARG(t) (int)((t)->len > 40 ? 40 : (t)->len), (t)->s, (t)->len > 40 ? "..." : ""

static void fail_unexpected(struct parser *p, const struct token *t, const char *expected)
{
	if (t->kind == TK_ERR)
		return;
	if (t->kind == TK_EOF)
		fail(p, t->off, "unexpected end of %s; expected %s",
		     p->macro ? "macro" : "condition", expected);
	else
		fail(p, t->off, "unexpected '" TOK_FMT "'; expected %s", TOK_ARG(t), expected);
}

/* A literal's text: strings decoded, bare words as they are. */
static char *tok_value(struct parser *p, const struct token *t, size_t *len)
{
	char *d, q;
	size_t n = 0;

	if (t->kind == TK_WORD) {
		*len = t->len;
		return pstrndup(p, t->s, t->len);
	}
	q = t->s[0];
	d = palloc(p, t->len);
	if (!d)
		return NULL;
	for (size_t i = 1; i + 1 < t->len; i++) {
		/* other backslashes stay: "a\*" is fnmatch's literal '*' */
		if (q == '"' && t->s[i] == '\\' && (t->s[i + 1] == '"' || t->s[i + 1] == '\\'))
			i++;
		d[n++] = t->s[i];
	}
	*len = n;
	return d;
}

/* ---- literals ------------------------------------------------------- */

static bool parse_number(const char *s, size_t len, double *out)
{
	char *end;

	if (!len || len > 64 || strspn(s, "0123456789+-.eE") != len)
		return false;
	*out = strtod(s, &end);
	return end == s + len && isfinite(*out);
}

static const char *type_name(enum tg_ftype t)
{
	return t == TG_FT_NUM ? "number" : t == TG_FT_BOOL ? "boolean" : "string";
}

/* Checks and converts v (s, len set) for field f. what: for the message. */
static bool convert(struct parser *p, int f, struct tg_val *v, size_t off, const char *what)
{
	const struct tg_field *fd = fields_get(f);

	switch (fd->type) {
	case TG_FT_STR:
		return true;
	case TG_FT_NUM:
		if (parse_number(v->s, v->len, &v->n))
			return true;
		fail(p, off, "%s'%.40s' is not a number; expected a number (%s is a number field)",
		     what, v->s, fd->name);
		return false;
	case TG_FT_BOOL:
		if (!strcmp(v->s, "true") || !strcmp(v->s, "false")) {
			v->n = v->s[0] == 't';
			return true;
		}
		fail(p, off, "%s'%.40s' is not a boolean; expected true or false (%s is a boolean field)",
		     what, v->s, fd->name);
		return false;
	}
	return false;
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
static int resolve_field(struct parser *p, const struct token *t, const char *word, int *index)
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
		fail(p, t->off, "field '%s' holds one value; expected an index only on a multi-valued "
		     "field (process.args, process.ancestors[N].*, ...)", name);
		return -2;
	}
	idx = strtoul(open + 1, NULL, 10);
	if (close - open > 5 || idx >= TG_VIEW_VALS_MAX) {
		fail(p, t->off + (size_t)(open - word) + 1, "index out of range; expected 0 to %d",
		     TG_VIEW_VALS_MAX - 1);
		return -2;
	}
	*index = (int)idx;
	return id;
}

/* ---- lists ---------------------------------------------------------- */

struct items {
	int field;             /* items are converted to its type as they come */
	struct tg_val *v;
	size_t n, cap;
};

static const char *const *env_list(struct parser *p, const char *name, size_t *n)
{
	*n = 0;
	if (!p->env || !p->env->list)
		return NULL;
	return p->env->list(p->env->ctx, name, n);
}

static const char *env_macro(struct parser *p, const char *name)
{
	return p->env && p->env->macro ? p->env->macro(p->env->ctx, name) : NULL;
}

static void env_used(struct parser *p, const char *name)
{
	if (p->env && p->env->used)
		p->env->used(p->env->ctx, name);
}

static int stack_find(const struct parser *p, const char *name, const char *kind)
{
	for (int i = 0; i < p->n_stack; i++)
		if (p->stack[i].kind == kind && !strcmp(p->stack[i].name, name))
			return i;
	return -1;
}

/* "a -> b -> a" for a cycle that closes at name, found at stack[i] */
static void cycle_path(const struct parser *p, int i, const char *name, char *out, size_t len)
{
	size_t used = 0;

	out[0] = 0;
	for (; i < p->n_stack && used < len; i++)
		used += (size_t)snprintf(out + used, len - used, "%.32s -> ", p->stack[i].name);
	if (used < len)
		snprintf(out + used, len - used, "%.32s", name);
}

static const char KIND_MACRO[] = "macro", KIND_LIST[] = "list";

static bool push_name(struct parser *p, size_t off, const char *name, const char *kind)
{
	int i = stack_find(p, name, kind);
	char path[160];

	if (i >= 0) {
		cycle_path(p, i, name, path, sizeof(path));
		fail(p, off, "%s '%.64s' uses itself (%s); expected no cycle", kind, name, path);
		return false;
	}
	if (p->n_stack >= TG_COND_MAX_DEPTH) {
		fail(p, off, "%ss nested deeper than %d; expected a flatter definition", kind,
		     TG_COND_MAX_DEPTH);
		return false;
	}
	p->stack[p->n_stack].name = name;
	p->stack[p->n_stack++].kind = kind;
	return true;
}

/* what: "" for a literal, "list 'x' item " for an item of a list. */
static bool add_item(struct parser *p, struct items *it, const char *s, size_t len, size_t off,
		     const char *what)
{
	struct tg_val v = { .s = s, .len = len };

	if (!convert(p, it->field, &v, off, what) ||
	    !(it->v = grow(p, it->v, it->n, &it->cap, sizeof(it->v[0]))))
		return false;
	it->v[it->n++] = v;
	return true;
}

static bool charge_text(struct parser *p, size_t off, size_t bytes)
{
	p->text_bytes += bytes;
	if (p->text_bytes <= COND_MAX_TEXT)
		return true;
	fail(p, off, "condition too large after macro and list expansion (over %u bytes); "
	     "expected fewer or smaller macros", COND_MAX_TEXT);
	return false;
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
static bool expand_list(struct parser *p, struct items *it, const char *name, size_t off)
{
	const char *const *v;
	char what[96];
	size_t n;
	bool ok = true;

	v = env_list(p, name, &n);
	env_used(p, name);
	if (!push_name(p, off, name, KIND_LIST) || !spend(p, off, n))
		return false;
	snprintf(what, sizeof(what), "list '%.64s' item ", name);
	for (size_t i = 0; ok && i < n; i++) {
		size_t sub, len;
		char *s;

		if (!v[i])
			continue;
		len = strlen(v[i]);
		if (!charge_text(p, off, len))
			ok = false;
		else if (name_like(v[i]) && strcmp(v[i], name) && env_list(p, v[i], &sub))
			ok = expand_list(p, it, v[i], off);
		else
			ok = (s = pstrndup(p, v[i], len)) && add_item(p, it, s, len, off, what);
	}
	p->n_stack--;
	return ok;
}

/* After in/intersects/pmatch: "(" item, ... ")" or a list name. */
static bool parse_items(struct parser *p, struct items *it, const char *op)
{
	struct token t;
	size_t n;
	char *s;

	lex(p, &t, LEX_VALUE);
	if (t.kind == TK_WORD) {
		s = pstrndup(p, t.s, t.len);
		if (!s)
			return false;
		if (env_list(p, s, &n))
			return expand_list(p, it, s, t.off);
		fail(p, t.off, "unknown list '" TOK_FMT "'; expected a list name or '(' value, ... ')' "
		     "after '%s'", TOK_ARG(&t), op);
		return false;
	}
	if (t.kind != TK_LPAREN) {
		fail_unexpected(p, &t, "a list name or '(' value, ... ')'");
		return false;
	}
	peek(p, &t, LEX_VALUE);
	if (t.kind == TK_RPAREN) {
		lex(p, &t, LEX_VALUE);
		return true;   /* empty: matches nothing, like an empty list */
	}
	for (;;) {
		size_t len;

		lex(p, &t, LEX_VALUE);
		if (t.kind != TK_WORD && t.kind != TK_STRING) {
			fail_unexpected(p, &t, "a value or a list name");
			return false;
		}
		if (!spend(p, t.off, 1) || !(s = tok_value(p, &t, &len)))
			return false;
		if (t.kind == TK_WORD && env_list(p, s, &n)) {
			if (!expand_list(p, it, s, t.off))
				return false;
		} else if (!add_item(p, it, s, len, t.off, "")) {
			return false;
		}
		lex(p, &t, LEX_VALUE);
		if (t.kind == TK_RPAREN)
			return true;
		if (t.kind != TK_COMMA) {
			fail_unexpected(p, &t, "',' or ')'");
			return false;
		}
	}
}

/* ---- expressions ---------------------------------------------------- */

static struct cond_node *parse_or(struct parser *p);

static bool enter(struct parser *p, size_t off)
{
	if (++p->depth <= TG_COND_MAX_DEPTH)
		return true;
	fail(p, off, "nested deeper than %d levels (parentheses, not and macros); expected a "
	     "flatter condition", TG_COND_MAX_DEPTH);
	return false;
}

static struct cond_node *new_node(struct parser *p, enum cond_kind kind, size_t off)
{
	struct cond_node *n;

	if (!spend(p, off, NODE_COST) || !(n = palloc(p, sizeof(*n))))
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

static enum cond_op op_of(const struct token *t)
{
	if (t->kind != TK_OP && t->kind != TK_WORD)
		return 0;
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		if (strlen(ops[i].name) == t->len && !memcmp(ops[i].name, t->s, t->len))
			return ops[i].op;
	return 0;
}

/* The operator suits the field's type. */
static bool check_op(struct parser *p, const struct cond_pred *pr, const struct token *t)
{
	const struct tg_field *f = fields_get(pr->field);

	switch (pr->op) {
	case OP_LT:
	case OP_LE:
	case OP_GT:
	case OP_GE:
		if (f->type == TG_FT_NUM)
			return true;
		fail(p, t->off, "operator '%s' compares numbers but %s is a %s field; expected a "
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
		fail(p, t->off, "operator '%s' needs a string field but %s is a %s field; expected "
		     "=, !=, %sin or exists", cond_op_name(pr->op), f->name, type_name(f->type),
		     f->type == TG_FT_NUM ? "<, <=, >, >=, " : "");
		return false;
	default:
		return true;
	}
}

static bool parse_set(struct parser *p, struct cond_pred *pr)
{
	struct items it = { .field = pr->field };
	size_t off = p->pos;

	if (!parse_items(p, &it, cond_op_name(pr->op)))
		return false;
	pr->items = it.v;
	pr->n_items = it.n;
	if ((pr->op == OP_PMATCH ? cond_build_prefixes(p->c, pr) : cond_build_set(p->c, pr))) {
		fail(p, off, "out of memory; expected a smaller condition");
		return false;
	}
	return true;
}

static bool parse_scalar(struct parser *p, struct cond_pred *pr)
{
	struct token t;
	char *s;

	lex(p, &t, LEX_VALUE);
	if (t.kind == TK_LPAREN) {
		fail(p, t.off, "operator '%s' takes one value; expected one value (a list needs 'in')",
		     cond_op_name(pr->op));
		return false;
	}
	if (t.kind != TK_WORD && t.kind != TK_STRING) {
		fail_unexpected(p, &t, "a value");
		return false;
	}
	if (tok_is(&t, "and") || tok_is(&t, "or") || tok_is(&t, "not")) {
		fail(p, t.off, "missing value before '" TOK_FMT "'; expected a value (quote it to "
		     "compare with the word)", TOK_ARG(&t));
		return false;
	}
	if (!(s = tok_value(p, &t, &pr->lit.len)))
		return false;
	pr->lit.s = s;
	if (!convert(p, pr->field, &pr->lit, t.off, ""))
		return false;
	if (pr->op == OP_ICONTAINS) {
		char *fold = pstrndup(p, s, pr->lit.len);

		if (!fold)
			return false;
		for (size_t i = 0; i < pr->lit.len; i++)
			fold[i] = (char)tolower((unsigned char)fold[i]);
		pr->fold = fold;
	}
	return true;
}

static struct cond_node *parse_pred(struct parser *p, int field, int index, const struct token *ft)
{
	struct cond_node *n = new_node(p, CN_PRED, ft->off);
	struct cond_pred *pr;
	struct token t;
	bool ok;

	if (!n)
		return NULL;
	pr = &n->pred;
	pr->field = field;
	pr->index = index;
	pr->type = fields_get(field)->type;
	lex(p, &t, LEX_EXPR);
	pr->op = op_of(&t);
	if (!pr->op) {
		if (t.kind != TK_ERR)
			fail(p, t.off, "missing operator after field '" TOK_FMT "'; expected "
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

static struct cond_node *expand_macro(struct parser *p, const char *name, const char *text,
				      size_t off)
{
	const char *saved_text = p->text, *saved_macro = p->macro;
	size_t saved_pos = p->pos;
	struct cond_node *n = NULL;
	struct token t;

	env_used(p, name);
	if (!charge_text(p, off, strlen(text)) || !enter(p, off) ||
	    !push_name(p, off, name, KIND_MACRO))
		return NULL;
	p->text = text;
	p->pos = 0;
	p->macro = name;
	n = parse_or(p);
	if (n) {
		lex(p, &t, LEX_EXPR);
		if (t.kind != TK_EOF) {
			fail_unexpected(p, &t, "'and', 'or' or the end of the macro");
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
static struct cond_node *parse_name(struct parser *p, const struct token *t)
{
	const char *word = pstrndup(p, t->s, t->len), *text, *close;
	int index, id;
	size_t n;

	if (!word)
		return NULL;
	if (tok_is(t, "and") || tok_is(t, "or")) {
		fail_unexpected(p, t, PRIMARY_EXPECTED);
		return NULL;
	}
	id = resolve_field(p, t, word, &index);
	if (id >= 0)
		return parse_pred(p, id, index, t);
	if (id == -2)
		return NULL;
	if (!strchr(word, '[') && (text = env_macro(p, word)))
		return expand_macro(p, word, text, t->off);
	if (env_list(p, word, &n)) {
		fail(p, t->off, "'" TOK_FMT "' is a list, not a condition; expected %s (a list goes "
		     "after in, intersects or pmatch)", TOK_ARG(t), PRIMARY_EXPECTED);
		return NULL;
	}
	/* suggest for the field part of an indexed name */
	close = strchr(word, ']');
	if (strchr(word, '[') && close) {
		char *plain = palloc(p, strlen(word) + 1);

		if (!plain)
			return NULL;
		snprintf(plain, strlen(word) + 1, "%.*s%s", (int)(strchr(word, '[') - word), word,
			 close + 1);
		text = suggest_field(plain);
	} else {
		text = suggest_field(word);
	}
	if (text)
		fail(p, t->off, "unknown field '" TOK_FMT "' (did you mean '%s'?); expected a field "
		     "from docs/fields.md or a macro name", TOK_ARG(t), text);
	else
		fail(p, t->off, "unknown field '" TOK_FMT "'; expected a field from docs/fields.md "
		     "or a macro name", TOK_ARG(t));
	return NULL;
}

static struct cond_node *parse_not(struct parser *p)
{
	struct cond_node *n, *kid;
	struct token t, close;

	lex(p, &t, LEX_EXPR);
	if (t.kind == TK_LPAREN) {
		if (!enter(p, t.off))
			return NULL;
		n = parse_or(p);
		p->depth--;
		if (!n)
			return NULL;
		lex(p, &close, LEX_EXPR);
		if (close.kind != TK_RPAREN) {
			fail_unexpected(p, &close, "'and', 'or' or ')'");
			return NULL;
		}
		return n;
	}
	if (tok_is(&t, "not")) {
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
	fail_unexpected(p, &t, PRIMARY_EXPECTED);
	return NULL;
}

/* and/or chains: n-ary nodes, with members of the same kind spliced in so
 * "(a and b) and c" and macros give one flat AND (cond_never_matches()
 * compares its members pairwise). */
static struct cond_node *parse_chain(struct parser *p, enum cond_kind kind)
{
	const char *word = kind == CN_AND ? "and" : "or";
	struct cond_node **kids = NULL, *n, *k;
	size_t nk = 0, cap = 0;
	struct token t;
	size_t off = p->pos;

	for (;;) {
		k = kind == CN_AND ? parse_not(p) : parse_chain(p, CN_AND);
		if (!k)
			return NULL;
		if (k->kind == kind) {
			for (size_t i = 0; i < k->list.n; i++) {
				if (!(kids = grow(p, kids, nk, &cap, sizeof(*kids))))
					return NULL;
				kids[nk++] = k->list.kids[i];
			}
		} else {
			if (!(kids = grow(p, kids, nk, &cap, sizeof(*kids))))
				return NULL;
			kids[nk++] = k;
		}
		peek(p, &t, LEX_EXPR);
		if (!tok_is(&t, word))
			break;
		lex(p, &t, LEX_EXPR);
	}
	if (nk == 1)
		return kids[0];
	if (!(n = new_node(p, kind, off)))
		return NULL;
	n->list.kids = kids;
	n->list.n = nk;
	return n;
}

static struct cond_node *parse_or(struct parser *p)
{
	return parse_chain(p, CN_OR);
}

struct tg_cond *cond_compile(const char *text, const struct tg_cond_env *env,
			     struct tg_cond_error *err)
{
	struct tg_cond_error dummy;
	struct parser p = { .env = env, .err = err ? err : &dummy, .text = text };
	struct token t;

	memset(p.err, 0, sizeof(*p.err));
	if (!text) {
		fail(&p, 0, "no condition; expected a condition");
		return NULL;
	}
	p.c = calloc(1, sizeof(*p.c));
	if (!p.c) {
		fail(&p, 0, "out of memory; expected a smaller condition");
		return NULL;
	}
	p.text_bytes = strlen(text);
	p.c->root = parse_or(&p);
	if (p.c->root) {
		lex(&p, &t, LEX_EXPR);
		if (t.kind != TK_EOF)
			fail_unexpected(&p, &t, "'and', 'or' or the end of the condition");
	}
	if (!p.failed && cond_analyze(p.c))
		fail(&p, 0, "out of memory; expected a smaller condition");
	if (p.failed || !p.c->root) {
		cond_free(p.c);
		return NULL;
	}
	return p.c;
}
