// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * cond_lex: tokens of the condition language, literal values, and the
 * parser's error and memory plumbing (cond_parse.h).
 *
 * A hand-written lexer driven by the parser, because what ends a bare word
 * depends on where it stands: a field stops at an operator character
 * (process.pid=1), a value only at space, parenthesis or comma (so
 * module_params = hide=1 and /usr/bin/[ need no quotes). Every token
 * keeps its byte offset for errors.
 */
#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cond_parse.h"

/* ---- errors and memory ---------------------------------------------- */

void cond_fail(struct cond_parser *p, size_t off, const char *fmt, ...)
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

void *cond_palloc(struct cond_parser *p, size_t size)
{
	void *m = cond_alloc(p->c, size);

	if (!m)
		cond_fail(p, p->pos, "out of memory; expected a smaller condition");
	return m;
}

char *cond_strndup(struct cond_parser *p, const char *s, size_t len)
{
	char *d = cond_palloc(p, len + 1);

	if (d)
		memcpy(d, s, len);
	return d;
}

/* Room for one more element in arena array v of n: v itself, or a copy
 * twice the size (the old one stays in the arena as garbage, at most as big
 * as the final array). NULL when out of memory. */
void *cond_grow(struct cond_parser *p, void *v, size_t n, size_t *cap, size_t size)
{
	void *nv;

	if (n < *cap)
		return v;
	*cap = *cap ? *cap * 2 : 4;
	nv = cond_palloc(p, *cap * size);
	if (nv && n)
		memcpy(nv, v, n * size);
	return nv;
}

/* ---- lexer ---------------------------------------------------------- */

static bool word_end(char ch, enum lex_mode m)
{
	if (!ch || isspace((unsigned char)ch) || ch == '(' || ch == ')' || ch == ',')
		return true;
	return m == LEX_EXPR && (ch == '=' || ch == '!' || ch == '<' || ch == '>');
}

void cond_lex(struct cond_parser *p, struct cond_token *t, enum lex_mode m)
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
			cond_fail(p, t->off, "unterminated string; expected a closing %c", q);
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
				cond_fail(p, i, "unexpected '!'; expected '!=' or 'not'");
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

void cond_peek(struct cond_parser *p, struct cond_token *t, enum lex_mode m)
{
	size_t pos = p->pos;

	cond_lex(p, t, m);
	p->pos = pos;
}

bool cond_tok_is(const struct cond_token *t, const char *word)
{
	return t->kind == TK_WORD && strlen(word) == t->len && !memcmp(t->s, word, t->len);
}

void cond_fail_unexpected(struct cond_parser *p, const struct cond_token *t, const char *expected)
{
	if (t->kind == TK_ERR)
		return;
	if (t->kind == TK_EOF)
		cond_fail(p, t->off, "unexpected end of %s; expected %s",
			  p->macro ? "macro" : "condition", expected);
	else
		cond_fail(p, t->off, "unexpected '" TOK_FMT "'; expected %s", TOK_ARG(t), expected);
}

/* A literal's text: strings decoded, bare words as they are. */
char *cond_tok_value(struct cond_parser *p, const struct cond_token *t, size_t *len)
{
	char *d, q;
	size_t n = 0;

	if (t->kind == TK_WORD) {
		*len = t->len;
		return cond_strndup(p, t->s, t->len);
	}
	q = t->s[0];
	d = cond_palloc(p, t->len);
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

/* Checks and converts v (s, len set) for field f. what: for the message. */
bool cond_convert(struct cond_parser *p, int f, struct tg_val *v, size_t off, const char *what)
{
	const struct tg_field *fd = fields_get(f);

	switch (fd->type) {
	case TG_FT_STR:
		return true;
	case TG_FT_NUM:
		if (parse_number(v->s, v->len, &v->n))
			return true;
		cond_fail(p, off, "%s'%.40s' is not a number; expected a number (%s is a number field)",
			  what, v->s, fd->name);
		return false;
	case TG_FT_BOOL:
		if (!strcmp(v->s, "true") || !strcmp(v->s, "false")) {
			v->n = v->s[0] == 't';
			return true;
		}
		cond_fail(p, off, "%s'%.40s' is not a boolean; expected true or false (%s is a "
			  "boolean field)", what, v->s, fd->name);
		return false;
	}
	return false;
}
