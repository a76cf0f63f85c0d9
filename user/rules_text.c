// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * rules_text: condition texts that remember where each piece came from
 * (struct tg_rtext). A rule's condition is composed from pieces of several
 * file strings ("(cond) and not (exception)", macros or-ed by "append"),
 * and an error offset inside the composed text maps back to the exact
 * file:line:col of the string it came from, JSON escapes included.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonsrc.h"
#include "rules_priv.h"

void rl_text_free(struct tg_rtext *t)
{
	free(t->s);
	free(t->seg);
	memset(t, 0, sizeof(*t));
}

static int text_cat(struct tg_rloader *L, struct tg_rtext *t, const char *s, size_t len)
{
	size_t have = t->s ? strlen(t->s) : 0;
	char *n = rl_grow(L, t->s, have + len + 1, 1);

	if (!n)
		return -1;
	memcpy(n + have, s, len);
	n[have + len] = 0;
	t->s = n;
	return 0;
}

int rl_text_lit(struct tg_rloader *L, struct tg_rtext *t, const char *s)
{
	return text_cat(L, t, s, strlen(s));
}

int rl_text_add(struct tg_rloader *L, struct tg_rtext *t, const struct tg_rtext *part)
{
	size_t at = t->s ? strlen(t->s) : 0;
	struct tg_rseg *seg;

	if (!part->n)
		return text_cat(L, t, part->s ? part->s : "", part->s ? strlen(part->s) : 0);
	seg = rl_grow(L, t->seg, t->n + part->n, sizeof(*seg));
	if (!seg)
		return -1;
	t->seg = seg;
	for (size_t i = 0; i < part->n; i++) {
		seg[t->n + i] = part->seg[i];
		seg[t->n + i].at += at;
	}
	t->n += part->n;
	return text_cat(L, t, part->s, strlen(part->s));
}

int rl_text_set(struct tg_rloader *L, struct tg_rtext *t, const char *s, struct tg_rwhere w)
{
	struct tg_rseg one = { .at = 0, .len = strlen(s), .src = w.src, .raw = w.off + 1 };
	struct tg_rtext part = { .s = (char *)s, .seg = &one, .n = 1 };

	memset(t, 0, sizeof(*t));
	return rl_text_add(L, t, &part);
}

/* "(a) OP (b)", each part keeping its origin. */
int rl_text_join(struct tg_rloader *L, struct tg_rtext *out, const struct tg_rtext *a,
		 const char *op, const struct tg_rtext *b)
{
	char mid[32];

	memset(out, 0, sizeof(*out));
	snprintf(mid, sizeof(mid), ") %s (", op);
	if (rl_text_lit(L, out, "(") || rl_text_add(L, out, a) || rl_text_lit(L, out, mid) ||
	    rl_text_add(L, out, b) || rl_text_lit(L, out, ")")) {
		rl_text_free(out);
		return -1;
	}
	return 0;
}

/* An offset in the glue between pieces ("(", ") and not (") belongs to the
 * piece before it. */
struct tg_rwhere rl_text_where(const struct tg_rloader *L, const struct tg_rtext *t, size_t off)
{
	const struct tg_rseg *best = NULL;

	for (size_t i = 0; i < t->n; i++)
		if (t->seg[i].at <= off && (!best || t->seg[i].at >= best->at))
			best = &t->seg[i];
	if (!best && t->n)
		best = &t->seg[0];
	if (!best || best->src < 0)
		return (struct tg_rwhere){ .src = -1 };
	if (off < best->at)
		off = best->at;
	if (off > best->at + best->len)
		off = best->at + best->len;
	return (struct tg_rwhere){ .src = best->src,
				   .off = jsonsrc_string_offset(L->src[best->src].text,
								 best->raw, off - best->at) };
}

bool rl_text_in_glue(const struct tg_rtext *t, size_t off)
{
	if (!t->n || off >= strlen(t->s))
		return false;
	for (size_t i = 0; i < t->n; i++)
		if (off >= t->seg[i].at && off < t->seg[i].at + t->seg[i].len)
			return false;
	return true;
}
