/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* diag: errors and warnings about input files, with file:line:col. */
#ifndef TG_DIAG_H
#define TG_DIAG_H

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

#endif
