/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Unit tests for user/diag.c: entries, printing, positions. No root. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"

/* Everything diag_print writes, as one heap string. */
static char *printed(const struct tg_diag *d)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	cr_assert_not_null(f);
	diag_print(d, f);
	cr_assert_eq(fclose(f), 0);
	return buf;
}

Test(diag, init_is_empty_and_free_is_idempotent)
{
	struct tg_diag d;
	char *out;

	diag_init(&d);
	cr_expect_eq(d.n, 0);
	cr_expect_eq(d.errors, 0);
	cr_expect_eq(d.warnings, 0);
	out = printed(&d);
	cr_expect_str_eq(out, "");
	free(out);
	diag_free(&d);
	diag_free(&d);
	cr_expect_null(d.v);
	cr_expect_eq(d.n, 0);
}

Test(diag, entries_keep_every_part)
{
	struct tg_diag d;

	diag_init(&d);
	diag_error(&d, "a.json", 3, 7, "rule 'x'", "bad %s %d; expected %s", "thing", 42, "y");
	diag_warn(&d, "b.json", 0, 0, NULL, "just %s", "saying");
	cr_assert_eq(d.n, 2);
	cr_expect_eq(d.errors, 1);
	cr_expect_eq(d.warnings, 1);
	cr_expect_str_eq(d.v[0].file, "a.json");
	cr_expect_eq(d.v[0].line, 3);
	cr_expect_eq(d.v[0].col, 7);
	cr_expect_str_eq(d.v[0].item, "rule 'x'");
	cr_expect_str_eq(d.v[0].msg, "bad thing 42; expected y");
	cr_expect_eq(d.v[0].warning, 0);
	cr_expect_str_eq(d.v[1].file, "b.json");
	cr_expect_null(d.v[1].item);
	cr_expect_eq(d.v[1].warning, 1);
	diag_free(&d);
}

Test(diag, print_format)
{
	struct tg_diag d;
	char *out;

	diag_init(&d);
	diag_error(&d, "r.json", 12, 5, "macro 'm'", "unknown field 'x'; expected a field");
	diag_error(&d, "r.json", 12, 0, NULL, "no column");
	diag_warn(&d, "r.json", 2, 9, NULL, "unused list 'l'");
	diag_warn(&d, "p.json", 0, 0, "name", "no line");
	diag_error(&d, NULL, 0, 0, NULL, "no file");
	out = printed(&d);
	cr_expect_str_eq(out, "r.json:12:5: error: macro 'm': unknown field 'x'; expected a field\n"
			      "r.json:12: error: no column\n"
			      "r.json:2:9: warning: unused list 'l'\n"
			      "p.json: warning: name: no line\n"
			      "<input>: error: no file\n");
	free(out);
	diag_free(&d);
}

Test(diag, a_column_without_a_line_is_dropped)
{
	struct tg_diag d;

	diag_init(&d);
	diag_error(&d, "f", 0, 4, NULL, "m");
	diag_error(&d, "f", -3, -1, NULL, "m");
	cr_expect_eq(d.v[0].line, 0);
	cr_expect_eq(d.v[0].col, 0);
	cr_expect_eq(d.v[1].line, 0);
	cr_expect_eq(d.v[1].col, 0);
	diag_free(&d);
}

Test(diag, grows_past_its_first_block)
{
	struct tg_diag d;

	diag_init(&d);
	for (int i = 0; i < 1000; i++) {
		if (i % 3)
			diag_error(&d, "f", i + 1, 1, NULL, "error %d", i);
		else
			diag_warn(&d, "f", i + 1, 1, NULL, "warning %d", i);
	}
	cr_assert_eq(d.n, 1000);
	cr_expect_eq(d.errors + d.warnings, 1000);
	cr_expect_eq(d.warnings, 334);
	cr_expect_geq(d.cap, d.n);
	cr_expect_str_eq(d.v[999].msg, "warning 999");
	cr_expect_eq(d.v[998].line, 999);
	diag_free(&d);
}

Test(diag, long_messages_are_not_cut)
{
	struct tg_diag d;
	char big[5000];

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	diag_init(&d);
	diag_error(&d, "f", 1, 1, NULL, "%s", big);
	cr_expect_eq(strlen(d.v[0].msg), sizeof(big) - 1);
	diag_free(&d);
}

static void expect_pos(const char *text, size_t off, int line, int col)
{
	int l = -1, c = -1;

	diag_position(text, off, &l, &c);
	cr_expect(l == line && c == col, "offset %zu of '%s': got %d:%d, want %d:%d", off, text, l,
		  c, line, col);
}

Test(diag, position_is_one_based)
{
	const char *t = "ab\ncd\n\nxyz";

	expect_pos(t, 0, 1, 1);
	expect_pos(t, 1, 1, 2);
	expect_pos(t, 2, 1, 3);   /* the '\n' itself */
	expect_pos(t, 3, 2, 1);
	expect_pos(t, 4, 2, 2);
	expect_pos(t, 6, 3, 1);   /* empty line */
	expect_pos(t, 7, 4, 1);
	expect_pos(t, 9, 4, 3);
	expect_pos(t, 10, 4, 4);  /* one past the end */
	expect_pos(t, 1000, 4, 4); /* far past the end stops at the NUL */
	expect_pos("", 0, 1, 1);
	expect_pos("", 5, 1, 1);
}

Test(diag, position_counts_characters_not_bytes)
{
	/* "é" is two bytes, "€" three: the 'x' after them is column 3. */
	expect_pos("\xc3\xa9\xe2\x82\xacx", 5, 1, 3);
	expect_pos("\t\tx", 2, 1, 3);
	/* CRLF: the '\r' is the last column of its line. */
	expect_pos("a\r\nb", 3, 2, 1);
}

Test(diag, position_outputs_are_optional)
{
	int l = 0;

	diag_position("a\nb", 2, &l, NULL);
	cr_expect_eq(l, 2);
	diag_position("a\nb", 2, NULL, NULL);
}
