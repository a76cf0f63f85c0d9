/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * diag: a growable list of errors and warnings about input files (rule
 * files, the twin profile), printed one per line as
 *
 *   FILE:LINE:COL: error: ITEM: MSG
 *
 * so that editors and CI annotators can jump to the spot. ":COL" is left
 * out when the column is unknown (0), "LINE:COL" when the line is, and
 * "ITEM: " when there is no item.
 *
 * Memory: if an entry cannot be allocated it is still counted in
 * errors/warnings (a loader must never accept a bad file because the
 * message could not be stored), and diag_print says how many were lost.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"

void diag_init(struct tg_diag *d)
{
	memset(d, 0, sizeof(*d));
}

void diag_free(struct tg_diag *d)
{
	if (!d)
		return;
	for (size_t i = 0; i < d->n; i++) {
		free(d->v[i].file);
		free(d->v[i].item);
		free(d->v[i].msg);
	}
	free(d->v);
	memset(d, 0, sizeof(*d));
}

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

static void diag_add(struct tg_diag *d, int warning, const char *file, int line, int col,
		     const char *item, const char *fmt, va_list ap)
{
	struct tg_diag_entry e = { 0 };

	if (warning)
		d->warnings++;
	else
		d->errors++;
	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 8;
		struct tg_diag_entry *v = realloc(d->v, cap * sizeof(*v));

		if (!v)
			return;
		d->v = v;
		d->cap = cap;
	}
	e.line = line > 0 ? line : 0;
	e.col = e.line && col > 0 ? col : 0;
	e.warning = warning;
	e.file = dup_or_null(file);
	e.item = dup_or_null(item);
	if (vasprintf(&e.msg, fmt, ap) < 0)
		e.msg = NULL;
	if ((file && !e.file) || (item && !e.item) || !e.msg) {
		free(e.file);
		free(e.item);
		free(e.msg);
		return;
	}
	d->v[d->n++] = e;
}

void diag_error(struct tg_diag *d, const char *file, int line, int col, const char *item,
		const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	diag_add(d, 0, file, line, col, item, fmt, ap);
	va_end(ap);
}

void diag_warn(struct tg_diag *d, const char *file, int line, int col, const char *item,
	       const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	diag_add(d, 1, file, line, col, item, fmt, ap);
	va_end(ap);
}

void diag_print(const struct tg_diag *d, FILE *f)
{
	size_t lost;

	for (size_t i = 0; i < d->n; i++) {
		const struct tg_diag_entry *e = &d->v[i];

		fputs(e->file ? e->file : "<input>", f);
		if (e->line) {
			fprintf(f, ":%d", e->line);
			if (e->col)
				fprintf(f, ":%d", e->col);
		}
		fprintf(f, ": %s: ", e->warning ? "warning" : "error");
		if (e->item)
			fprintf(f, "%s: ", e->item);
		fprintf(f, "%s\n", e->msg);
	}
	lost = d->errors + d->warnings - d->n;
	if (lost)
		fprintf(f, "twinguard: %zu more diagnostic(s) lost: out of memory\n", lost);
}

/*
 * Columns count characters, not bytes: a UTF-8 continuation byte
 * (10xxxxxx) does not start a new column, so a path with "é" before the
 * error still points at the right character. A tab is one column, as in
 * most editors' "go to column". An offset past the end of text points just
 * after its last character.
 */
void diag_position(const char *text, size_t off, int *line, int *col)
{
	int l = 1, c = 1;

	for (size_t i = 0; text && i < off && text[i]; i++) {
		unsigned char b = (unsigned char)text[i];

		if (b == '\n') {
			l++;
			c = 1;
		} else if ((b & 0xc0) != 0x80) {
			c++;
		}
	}
	if (line)
		*line = l;
	if (col)
		*col = c;
}

void diag_vreport(struct tg_diag *d, int warning, const char *file, const char *text, size_t off,
		  const char *item, const char *fmt, va_list ap)
{
	char msg[DIAG_MSG_MAX];
	int line = 0, col = 0;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (text)
		diag_position(text, off, &line, &col);
	if (warning)
		diag_warn(d, file, line, col, item, "%s", msg);
	else
		diag_error(d, file, line, col, item, "%s", msg);
}

void diag_names(char *buf, size_t len, const char *const *first, size_t n, size_t stride)
{
	size_t used = 0;

	if (!len)
		return;
	buf[0] = '\0';
	for (size_t i = 0; i < n && used < len; i++) {
		const char *const *name = (const void *)((const char *)first + i * stride);

		used += (size_t)snprintf(buf + used, len - used, "%s%s", i ? ", " : "", *name);
	}
}
