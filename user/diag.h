/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* diag: errors and warnings about input files, with file:line:col. */
#ifndef TG_DIAG_H
#define TG_DIAG_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

struct tg_diag_entry {
	char *file;
	int line, col;         /* 1-based; 0 = unknown */
	char *item;            /* "rule 'x'", "macro 'y'", ... or NULL */
	char *msg;             /* "...; expected ..." */
	int warning;           /* 0 = error */
};

struct tg_diag {
	struct tg_diag_entry *v;
	size_t n, cap;
	size_t errors, warnings;
};

void diag_init(struct tg_diag *d);
void diag_free(struct tg_diag *d);
void diag_error(struct tg_diag *d, const char *file, int line, int col, const char *item,
		const char *fmt, ...) __attribute__((format(printf, 6, 7)));
void diag_warn(struct tg_diag *d, const char *file, int line, int col, const char *item,
	       const char *fmt, ...) __attribute__((format(printf, 6, 7)));
/* "file:line:col: error: item: msg" per entry. */
void diag_print(const struct tg_diag *d, FILE *f);
/* 1-based line/col of byte offset off in text. */
void diag_position(const char *text, size_t off, int *line, int *col);

/* What the loaders' messages are cut to, "...; expected ..." included. */
#define DIAG_MSG_MAX 1024
/* An error (or warning) at byte off of text, by diag_position; with text
 * NULL, at no line (the input as a whole). The message is cut to fit
 * DIAG_MSG_MAX. */
void diag_vreport(struct tg_diag *d, int warning, const char *file, const char *text, size_t off,
		  const char *item, const char *fmt, va_list ap) __attribute__((format(printf, 7, 0)));
/* "a, b, c" into buf (cut to fit len), for "expected one of: ..." lists:
 * the name of each of n table entries, stride bytes apart, from
 * first = &table[0].name. */
void diag_names(char *buf, size_t len, const char *const *first, size_t n, size_t stride);

#endif
