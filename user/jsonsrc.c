/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * jsonsrc: read, comment-blank, check and map JSON source files (see
 * jsonsrc.h for the pipeline). The scanners here run on text the strict
 * check or cJSON has already accepted, or stop at its end: none of them
 * reads past len.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonsrc.h"

#define JSON_MAX_DEPTH 64      /* our files are a few levels deep */

/* ------------------------------------------------------------------ */
/* Reading                                                            */

enum jsonsrc_read_err jsonsrc_read(const char *path, size_t max, char **text, size_t *len)
{
	enum jsonsrc_read_err ret = JSONSRC_READ_OK;
	FILE *f = fopen(path, "re");
	char *buf;
	size_t n;
	int err = 0;

	*text = NULL;
	*len = 0;
	if (!f)
		return JSONSRC_EOPEN;
	buf = malloc(max + 1);
	if (!buf) {
		fclose(f);
		errno = ENOMEM;
		return JSONSRC_ENOMEM;
	}
	n = fread(buf, 1, max + 1, f);
	if (ferror(f)) {
		err = errno ? errno : EIO;
		ret = JSONSRC_EREAD;
	} else if (n > max) {
		err = EFBIG;
		ret = JSONSRC_EBIG;
	}
	fclose(f);
	if (ret) {
		free(buf);
		errno = err;
		return ret;
	}
	buf[n] = '\0';
	/* the buffer lives as long as the loaded rules: keep only what was read */
	*text = realloc(buf, n + 1) ?: buf;
	*len = n;
	return JSONSRC_READ_OK;
}

/* ------------------------------------------------------------------ */
/* Comments                                                           */

/*
 * Blank comments with spaces, keeping newlines, outside strings. Returns
 * 0, or -1 with *bad at an unterminated block comment.
 */
static int blank_comments(char *s, size_t n, bool block, size_t *bad)
{
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '"') {
			for (i++; i < n && s[i] != '"'; i++)
				if (s[i] == '\\')
					i++;
			continue;
		}
		if (s[i] != '/' || i + 1 >= n)
			continue;
		if (s[i + 1] == '/') {
			for (; i < n && s[i] != '\n'; i++)
				s[i] = ' ';
		} else if (block && s[i + 1] == '*') {
			size_t start = i;

			s[i] = s[i + 1] = ' ';
			for (i += 2; i < n && !(s[i] == '*' && i + 1 < n && s[i + 1] == '/'); i++)
				if (s[i] != '\n')
					s[i] = ' ';
			if (i >= n) {
				*bad = start;
				return -1;
			}
			s[i] = s[i + 1] = ' ';
			i++;
		}
	}
	return 0;
}

enum jsonsrc_prep jsonsrc_prepare(const char *text, size_t len, unsigned flags, char **json,
				  size_t *bad)
{
	const char *nul = memchr(text, '\0', len);
	char *s;

	*json = NULL;
	if (nul) {
		*bad = (size_t)(nul - text);
		return JSONSRC_NUL;
	}
	s = malloc(len + 1);
	if (!s)
		return JSONSRC_NOMEM;
	memcpy(s, text, len);
	s[len] = '\0';
	if ((flags & JSONSRC_BOM) && len >= 3 && memcmp(s, "\xef\xbb\xbf", 3) == 0)
		memset(s, ' ', 3);
	if (blank_comments(s, len, flags & JSONSRC_BLOCK_COMMENTS, bad)) {
		free(s);
		return JSONSRC_OPEN_COMMENT;
	}
	*json = s;
	return JSONSRC_READY;
}

/* ------------------------------------------------------------------ */
/* Scanning helpers: bounded by n, stop at the end                    */

static size_t skip_ws(const char *s, size_t i, size_t n)
{
	while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r'))
		i++;
	return i;
}

/* From the opening quote to just past the closing one. */
static size_t skip_string(const char *s, size_t i, size_t n)
{
	for (i++; i < n && s[i] != '"'; i++)
		if (s[i] == '\\')
			i++;
	return i < n ? i + 1 : n;
}

/* ------------------------------------------------------------------ */
/* Strict syntax check                                                */

struct jcheck {
	const char *s;
	size_t n, i;
	const char *expected;  /* set on failure, with i at the culprit */
};

static bool jc_fail(struct jcheck *c, const char *expected)
{
	c->expected = expected;
	return false;
}

static bool jc_digit(const struct jcheck *c)
{
	return c->i < c->n && c->s[c->i] >= '0' && c->s[c->i] <= '9';
}

static bool jc_string(struct jcheck *c)
{
	static const char hex[] = "0123456789abcdefABCDEF";

	for (c->i++; c->i < c->n; c->i++) {
		unsigned char ch = (unsigned char)c->s[c->i];

		if (ch == '"') {
			c->i++;
			return true;
		}
		if (ch < 0x20)
			return jc_fail(c, "a closing '\"' (control characters in a string must be "
					  "escaped, such as \\n)");
		if (ch != '\\')
			continue;
		if (++c->i >= c->n)
			break;
		if (strchr("\"\\/bfnrt", c->s[c->i]))
			continue;
		if (c->s[c->i] != 'u')
			return jc_fail(c, "an escape: \\\" \\\\ \\/ \\b \\f \\n \\r \\t or \\uXXXX");
		for (int k = 0; k < 4; k++) {
			if (++c->i >= c->n || !strchr(hex, c->s[c->i]))
				return jc_fail(c, "four hex digits after \\u");
		}
	}
	return jc_fail(c, "a closing '\"'");
}

static void jc_digits(struct jcheck *c)
{
	while (jc_digit(c))
		c->i++;
}

static bool jc_number(struct jcheck *c)
{
	if (c->s[c->i] == '-')
		c->i++;
	if (c->i < c->n && c->s[c->i] == '0')
		c->i++;
	else if (jc_digit(c))
		jc_digits(c);
	else
		return jc_fail(c, "a digit");
	if (c->i < c->n && c->s[c->i] == '.') {
		c->i++;
		if (!jc_digit(c))
			return jc_fail(c, "a digit after '.'");
		jc_digits(c);
	}
	if (c->i < c->n && (c->s[c->i] == 'e' || c->s[c->i] == 'E')) {
		c->i++;
		if (c->i < c->n && (c->s[c->i] == '+' || c->s[c->i] == '-'))
			c->i++;
		if (!jc_digit(c))
			return jc_fail(c, "a digit in the exponent");
		jc_digits(c);
	}
	return true;
}

/* At '{' or '[': true (past it and the blanks after) when close follows. */
static bool jc_open_empty(struct jcheck *c, char close)
{
	c->i = skip_ws(c->s, c->i + 1, c->n);
	if (c->i < c->n && c->s[c->i] == close) {
		c->i++;
		return true;
	}
	return false;
}

/* After a member or element: 1 past the closing bracket, 0 past a ','
 * with another to come, -1 on an error. */
static int jc_next(struct jcheck *c, char close, const char *sep, const char *another)
{
	if (c->i < c->n && c->s[c->i] == close) {
		c->i++;
		return 1;
	}
	if (c->i >= c->n || c->s[c->i] != ',') {
		jc_fail(c, sep);
		return -1;
	}
	c->i = skip_ws(c->s, c->i + 1, c->n);
	if (c->i < c->n && c->s[c->i] == close) {
		jc_fail(c, another);
		return -1;
	}
	return 0;
}

static bool jc_value(struct jcheck *c, int depth);

static bool jc_object(struct jcheck *c, int depth)
{
	int r;

	if (jc_open_empty(c, '}'))
		return true;
	do {
		if (c->i >= c->n || c->s[c->i] != '"')
			return jc_fail(c, "a \"key\" in double quotes");
		if (!jc_string(c))
			return false;
		c->i = skip_ws(c->s, c->i, c->n);
		if (c->i >= c->n || c->s[c->i] != ':')
			return jc_fail(c, "':' after the key");
		c->i++;
		if (!jc_value(c, depth))
			return false;
		r = jc_next(c, '}', "',' or '}'",
			    "another \"key\" after ',' (JSON has no trailing commas)");
	} while (r == 0);
	return r > 0;
}

static bool jc_array(struct jcheck *c, int depth)
{
	int r;

	if (jc_open_empty(c, ']'))
		return true;
	do {
		if (!jc_value(c, depth))
			return false;
		r = jc_next(c, ']', "',' or ']'",
			    "another value after ',' (JSON has no trailing commas)");
	} while (r == 0);
	return r > 0;
}

static bool jc_word(struct jcheck *c)
{
	static const char *const words[] = { "true", "false", "null" };

	for (size_t w = 0; w < sizeof(words) / sizeof(words[0]); w++) {
		size_t len = strlen(words[w]);

		if (c->n - c->i >= len && memcmp(c->s + c->i, words[w], len) == 0) {
			c->i += len;
			return true;
		}
	}
	return jc_fail(c, "a value: \"string\", number, [array], {object}, true, false or null");
}

/* A value and the whitespace after it. */
static bool jc_value(struct jcheck *c, int depth)
{
	bool ok;
	char ch;

	c->i = skip_ws(c->s, c->i, c->n);
	if (c->i >= c->n)
		return jc_fail(c, "a value");
	if (depth >= JSON_MAX_DEPTH)
		return jc_fail(c, "at most 64 levels of nesting");
	ch = c->s[c->i];
	if (ch == '{')
		ok = jc_object(c, depth + 1);
	else if (ch == '[')
		ok = jc_array(c, depth + 1);
	else if (ch == '"')
		ok = jc_string(c);
	else if (ch == '-' || (ch >= '0' && ch <= '9'))
		ok = jc_number(c);
	else
		ok = jc_word(c);
	if (ok)
		c->i = skip_ws(c->s, c->i, c->n);
	return ok;
}

int jsonsrc_check(const char *json, size_t len, size_t *off, char *msg, size_t msglen)
{
	struct jcheck c = { .s = json, .n = len };
	unsigned char ch;

	c.i = skip_ws(c.s, 0, c.n);
	if (c.i >= c.n) {
		*off = c.n;
		return 1;
	}
	if (jc_value(&c, 0)) {
		if (c.i >= c.n)
			return 0;
		c.expected = "the end of the file after the JSON object";
	}
	*off = c.i;
	if (c.i >= c.n) {
		snprintf(msg, msglen, "invalid JSON: the file ends; expected %s", c.expected);
		return -1;
	}
	ch = (unsigned char)c.s[c.i];
	if (ch > ' ' && ch < 0x7f && ch != '\'')
		snprintf(msg, msglen, "invalid JSON: found '%c'; expected %s", ch, c.expected);
	else if (ch == '\'')
		snprintf(msg, msglen, "invalid JSON: found a single quote; expected %s (JSON strings "
			 "use double quotes)", c.expected);
	else
		snprintf(msg, msglen, "invalid JSON: found byte 0x%02x; expected %s", ch, c.expected);
	return -1;
}

/* ------------------------------------------------------------------ */
/* Positions                                                          */

void jsonsrc_pos_free(struct jsonsrc_pos *p)
{
	for (size_t i = 0; i < p->n; i++)
		jsonsrc_pos_free(&p->kid[i]);
	free(p->kid);
	p->kid = NULL;
	p->n = 0;
}

static struct jsonsrc_pos *pos_add(struct jsonsrc_pos *p)
{
	struct jsonsrc_pos *kid = realloc(p->kid, (p->n + 1) * sizeof(*kid));

	if (!kid) {
		errno = ENOMEM;
		return NULL;
	}
	p->kid = kid;
	kid = &p->kid[p->n++];
	memset(kid, 0, sizeof(*kid));
	return kid;
}

/* Mirror of cJSON's tree with offsets: p gets the value at *i, *i ends
 * just past it. */
static int scan_value(const char *t, size_t n, size_t *i, struct jsonsrc_pos *p)
{
	char close;

	*i = skip_ws(t, *i, n);
	p->off = *i;
	if (*i < n && t[*i] == '"') {
		*i = skip_string(t, *i, n);
		return 0;
	}
	if (*i >= n || (t[*i] != '{' && t[*i] != '[')) {
		while (*i < n && !strchr(",]} \t\r\n", t[*i]))
			(*i)++;
		return 0;
	}
	close = t[*i] == '{' ? '}' : ']';
	for ((*i)++;;) {
		struct jsonsrc_pos *kid;

		*i = skip_ws(t, *i, n);
		if (*i >= n) {
			errno = EINVAL;
			return -1;
		}
		if (t[*i] == close) {
			(*i)++;
			return 0;
		}
		if (t[*i] == ',') {
			(*i)++;
			continue;
		}
		size_t start = *i;

		kid = pos_add(p);
		if (!kid)
			return -1;
		if (close == '}') {
			kid->key_off = *i;
			*i = skip_ws(t, skip_string(t, *i, n), n);
			if (*i < n && t[*i] == ':')
				(*i)++;
		}
		if (scan_value(t, n, i, kid))
			return -1;
		/* a byte cJSON skips as whitespace but we do not (a raw control
		 * character): stop instead of adding positions forever */
		if (*i == start) {
			errno = EINVAL;
			return -1;
		}
	}
}

int jsonsrc_scan(const char *json, size_t len, struct jsonsrc_pos *root)
{
	size_t i = 0;

	memset(root, 0, sizeof(*root));
	return scan_value(json, len, &i, root);
}

size_t jsonsrc_string_offset(const char *text, size_t raw, size_t d)
{
	size_t k = 0;

	while (k < d && text[raw] && text[raw] != '"') {
		if (text[raw] != '\\') {
			raw++;
			k++;
		} else if (text[raw + 1] == 'u') {
			unsigned cp = (unsigned)strtoul((char[]){ text[raw + 2], text[raw + 3],
								   text[raw + 4], text[raw + 5], 0 },
							NULL, 16);

			/* A surrogate pair: one 4-byte UTF-8 character. */
			if (cp >= 0xd800 && cp < 0xdc00 && text[raw + 6] == '\\' && text[raw + 7] == 'u') {
				raw += 12;
				k += 4;
			} else {
				raw += 6;
				k += cp < 0x80 ? 1 : cp < 0x800 ? 2 : 3;
			}
		} else {
			raw += text[raw + 1] ? 2 : 1;
			k++;
		}
	}
	return raw;
}

const char *jsonsrc_kind(const cJSON *v)
{
	if (cJSON_IsString(v))
		return "a string";
	if (cJSON_IsBool(v))
		return "a boolean";
	if (cJSON_IsNumber(v))
		return "a number";
	if (cJSON_IsArray(v))
		return "an array";
	if (cJSON_IsObject(v))
		return "an object";
	return "null";
}
