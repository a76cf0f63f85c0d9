/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * jsonsrc: JSON source files as twinguard's loaders read them (the twin
 * profile, rule files): JSON with comments, read whole, every error placed
 * at file:line:col. Shared by profile_load.c and rules_load.c.
 *
 *   file --jsonsrc_read--> text (as read: positions are counted here)
 *        --jsonsrc_prepare--> json (comments blanked: same offsets as text)
 *        --[jsonsrc_check: strict syntax]--> cJSON tree
 *        --jsonsrc_scan--> offsets of every value and key
 *
 * Comments are blanked with spaces, newlines kept, rather than removed, so
 * a byte offset in json is the same offset in text. cJSON keeps no
 * positions: jsonsrc_scan walks the (by then accepted) text into a tree
 * parallel to cJSON's, kid[i] being the i-th child of the cJSON node, so a
 * bad value is reported where it is even when the same string also stands
 * in a comment or earlier in the file (a text search would find those).
 */
#ifndef TG_JSONSRC_H
#define TG_JSONSRC_H

#include <stddef.h>

#include <cjson/cJSON.h>

/* jsonsrc_read: 0, or which step failed (errno says why). */
enum jsonsrc_read_err {
	JSONSRC_READ_OK = 0,
	JSONSRC_EOPEN,         /* fopen's errno */
	JSONSRC_ENOMEM,
	JSONSRC_EREAD,         /* the read's errno, EIO when it left none */
	JSONSRC_EBIG,          /* EFBIG: more than max bytes */
};

/* The whole file, NUL-terminated, in a malloc'ed *text of *len bytes (the
 * file may hold NUL bytes: see jsonsrc_prepare). max bounds the read so
 * that /dev/zero cannot read forever. */
enum jsonsrc_read_err jsonsrc_read(const char *path, size_t max, char **text, size_t *len);

/* What a format allows besides RFC 8259 (flags of jsonsrc_prepare). */
enum {
	JSONSRC_LINE_COMMENTS = 0,         /* // to the end of the line: always */
	JSONSRC_BLOCK_COMMENTS = 1u << 0,  /* slash-star ... star-slash too */
	JSONSRC_BOM = 1u << 1,             /* a leading UTF-8 byte order mark, blanked */
};

enum jsonsrc_prep {
	JSONSRC_READY = 0,
	JSONSRC_NOMEM,
	JSONSRC_NUL,           /* *bad: the first NUL byte */
	JSONSRC_OPEN_COMMENT,  /* *bad: where the unterminated block comment starts */
};

/* *json: a malloc'ed, NUL-terminated copy of text (len bytes, need not be
 * NUL-terminated) for the parser, comments blanked. */
enum jsonsrc_prep jsonsrc_prepare(const char *text, size_t len, unsigned flags, char **json,
				  size_t *bad);

/*
 * Strict RFC 8259 check of json (len bytes), for loaders that want a
 * syntax error at its exact line:col: cJSON's error offset is sometimes one
 * past the culprit (a trailing comma is reported after the '}'), and it is
 * lenient where a config file should not be (leading zeros, raw control
 * characters in strings). Returns 0 for one valid value; 1 for an empty
 * (or blank) text, *off = len; -1 for a syntax error, *off at the culprit
 * and msg "invalid JSON: found ...; expected ...".
 */
int jsonsrc_check(const char *json, size_t len, size_t *off, char *msg, size_t msglen);

/* Offsets of one JSON value (and of its key, in an object); kid[i] is the
 * i-th child of the matching cJSON node. */
struct jsonsrc_pos {
	size_t off, key_off;
	struct jsonsrc_pos *kid;
	size_t n;
};

/* The position tree of json (len bytes), which cJSON must have accepted.
 * 0, or -1 with errno ENOMEM (or EINVAL where the text ended early); what
 * was built is left in root either way, for jsonsrc_pos_free. */
int jsonsrc_scan(const char *json, size_t len, struct jsonsrc_pos *root);
void jsonsrc_pos_free(struct jsonsrc_pos *p);

/* Offset in text of decoded byte d of the JSON string whose contents start
 * at raw (just after the opening quote): escapes count as the bytes they
 * decode to, so an error inside a string points at the right character. */
size_t jsonsrc_string_offset(const char *text, size_t raw, size_t d);

/* "a string", "a boolean", "a number", "an array", "an object" or "null":
 * for "is X; expected Y" messages. */
const char *jsonsrc_kind(const cJSON *v);

#endif
