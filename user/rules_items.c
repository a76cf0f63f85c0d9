// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * rules_items: one item of a rule file -> the loader's lists, macros and
 * rule definitions (docs/rules.md; rule items are rules_rule.c), and the
 * helpers every item kind uses to read its keys.
 *
 * Same name again, without "append": a list or macro item replaces the old
 * one. With "append": true, list items are appended and macro conditions
 * or-ed.
 *
 * Every problem is reported where it is, and an item with an error is
 * dropped whole: half an item is worse than none.
 */
#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "jsonsrc.h"
#include "rules.h"
#include "rules_priv.h"

/* ---- reading an item's keys ---- */

static const char *const want_name[] = {
	"a string", "a boolean (true or false)", "a number", "an array", "an object",
};

struct tg_rwhere rl_item_at(const struct rl_item *it, size_t off)
{
	return (struct tg_rwhere){ it->src, off };
}

static void item_report(struct rl_item *it, bool warning, size_t off, const char *fmt, va_list ap)
	__attribute__((format(printf, 4, 0)));

static void item_report(struct rl_item *it, bool warning, size_t off, const char *fmt, va_list ap)
{
	char msg[768];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (warning)
		rl_warn(it->L, rl_item_at(it, off), it->label, "%s", msg);
	else
		rl_error(it->L, rl_item_at(it, off), it->label, "%s", msg);
}

void rl_ierr(struct rl_item *it, size_t off, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	item_report(it, false, off, fmt, ap);
	va_end(ap);
	it->bad = true;
}

void rl_iwarn(struct rl_item *it, size_t off, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	item_report(it, true, off, fmt, ap);
	va_end(ap);
}

bool rl_is(const cJSON *v, enum rl_want w)
{
	switch (w) {
	case W_STR: return cJSON_IsString(v) && v->valuestring;
	case W_BOOL: return cJSON_IsBool(v);
	case W_NUM: return cJSON_IsNumber(v);
	case W_ARR: return cJSON_IsArray(v);
	case W_OBJ: return cJSON_IsObject(v);
	}
	return false;
}

const struct jsonsrc_pos *rl_kid(const struct jsonsrc_pos *p, size_t i)
{
	return i < p->n ? &p->kid[i] : p;
}

/* Keys are case-sensitive (cJSON_GetObjectItem is not). */
cJSON *rl_member(cJSON *obj, const struct jsonsrc_pos *p, const char *key,
		     const struct jsonsrc_pos **kp)
{
	size_t i = 0;

	for (cJSON *c = obj->child; c; c = c->next, i++) {
		if (c->string && !strcmp(c->string, key)) {
			*kp = rl_kid(p, i);
			return c;
		}
	}
	*kp = p;
	return NULL;
}

/* key's value when present and of type w; an error when mistyped, or when
 * missing and hint (what to write) is given. */
cJSON *rl_get(struct rl_item *it, cJSON *obj, const struct jsonsrc_pos *p, const char *key,
	      enum rl_want w, const char *hint, const struct jsonsrc_pos **kp)
{
	cJSON *v = rl_member(obj, p, key, kp);

	if (!v) {
		if (hint)
			rl_ierr(it, p->off, "missing key \"%s\"; expected %s", key, hint);
		return NULL;
	}
	if (!rl_is(v, w)) {
		rl_ierr(it, (*kp)->off, "\"%s\" is %s; expected %s", key, jsonsrc_kind(v),
			want_name[w]);
		return NULL;
	}
	return v;
}

void rl_check_keys(struct rl_item *it, cJSON *obj, const struct jsonsrc_pos *p,
		   const char *const *keys, const char *what)
{
	size_t i = 0;

	for (cJSON *c = obj->child; c; c = c->next, i++) {
		bool known = false;

		for (const char *const *k = keys; *k; k++)
			known |= !strcmp(*k, c->string);
		if (!known) {
			rl_iwarn(it, rl_kid(p, i)->key_off, "unknown key \"%s\" ignored; expected %s",
				 c->string, what);
			continue;
		}
		for (cJSON *d = obj->child; d != c; d = d->next) {
			if (!strcmp(d->string, c->string)) {
				rl_ierr(it, rl_kid(p, i)->key_off,
					"duplicate key \"%s\"; expected each key once", c->string);
				break;
			}
		}
	}
}

void rl_where_str(const struct tg_rloader *L, struct tg_rwhere w, char *buf, size_t len)
{
	int line = 0;

	if (w.src < 0) {
		snprintf(buf, len, "the profile");
		return;
	}
	diag_position(L->src[w.src].text, w.off, &line, NULL);
	snprintf(buf, len, "%s:%d", L->src[w.src].path, line);
}

static bool is_ident(const char *s)
{
	if (!isalpha((unsigned char)*s) && *s != '_')
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '_')
			return false;
	return true;
}

void rl_strs_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* An array of strings (numbers allowed when nums: ports) -> v. */
int rl_strs_get(struct rl_item *it, cJSON *arr, const struct jsonsrc_pos *p, const char *key, bool nums,
		char ***out, size_t *n)
{
	size_t cnt = (size_t)cJSON_GetArraySize(arr), i = 0;
	char **v = cnt ? calloc(cnt, sizeof(*v)) : NULL;

	*out = NULL;
	*n = 0;
	if (cnt && !v) {
		rl_oom(it->L);
		return -1;
	}
	for (cJSON *e = arr->child; e; e = e->next, i++) {
		char num[32];

		if (nums && cJSON_IsNumber(e) && fabs(e->valuedouble) < 1e15 &&
		    e->valuedouble == (double)(long long)e->valuedouble) {
			snprintf(num, sizeof(num), "%lld", (long long)e->valuedouble);
			v[i] = rl_strdup(it->L, num);
		} else if (rl_is(e, W_STR)) {
			v[i] = rl_strdup(it->L, e->valuestring);
		} else {
			rl_ierr(it, rl_kid(p, i)->off, "element %zu of \"%s\" is %s; expected a string",
				i + 1, key, jsonsrc_kind(e));
		}
		if (!v[i]) {
			rl_strs_free(v, cnt);
			it->bad = true;
		return -1;
		}
	}
	*out = v;
	*n = cnt;
	return 0;
}

int rl_strs_add(struct rl_item *it, char ***v, size_t *n, char **more, size_t n_more)
{
	char **nv = n_more ? rl_grow(it->L, *v, *n + n_more, sizeof(*nv)) : *v;

	if (n_more && !nv) {
		rl_strs_free(more, n_more);
		return -1;
	}
	if (n_more)
		memcpy(nv + *n, more, n_more * sizeof(*more));
	free(more);
	*v = nv;
	*n += n_more;
	return 0;
}

/* ---- names shared by lists and macros ---- */

/* A condition names lists and macros alike: one name, one kind. */
static void name_taken(struct rl_item *it, size_t off, const char *name, const char *kind,
		       struct tg_rwhere at)
{
	char other[512];

	rl_where_str(it->L, at, other, sizeof(other));
	rl_ierr(it, off, "name already used by %s '%s' (%s); expected distinct names for lists and "
		"macros", kind, name, other);
}

/* A redefinition in the file of the first definition is probably a slip. */
static void check_redefined(struct rl_item *it, size_t off, const char *kind, struct tg_rwhere at)
{
	char other[512];

	if (at.src != it->src)
		return;
	rl_where_str(it->L, at, other, sizeof(other));
	rl_iwarn(it, off, "redefines the %s from %s in the same file", kind, other);
}

/* ---- list ---- */

void rl_list_free(struct tg_rlist *l)
{
	free(l->name);
	rl_strs_free(l->items, l->n);
	memset(l, 0, sizeof(*l));
}

static void load_list(struct rl_item *it, cJSON *obj, const struct jsonsrc_pos *p, const char *name)
{
	static const char *const keys[] = { "list", "items", "append", NULL };
	struct tg_rloader *L = it->L;
	const struct jsonsrc_pos *ip, *ap;
	cJSON *items, *app;
	struct tg_rlist *l;
	char **v = NULL;
	size_t n = 0;
	ssize_t i;

	rl_check_keys(it, obj, p, keys, "\"list\", \"items\", \"append\"");
	items = rl_get(it, obj, p, "items", W_ARR, "\"items\": [\"...\", ...]", &ip);
	app = rl_get(it, obj, p, "append", W_BOOL, NULL, &ap);
	if (items)
		rl_strs_get(it, items, ip, "items", true, &v, &n);
	if ((i = rl_find_macro(L, name)) >= 0)
		name_taken(it, p->off, name, "macro", L->macros[i].at);
	i = rl_find_list(L, name);
	if (cJSON_IsTrue(app) && i < 0)
		rl_ierr(it, ap->off, "append to unknown list '%s'; expected a list of that name in an "
			"earlier file or the profile", name);
	if (it->bad) {
		rl_strs_free(v, n);
		return;
	}
	if (i >= 0 && cJSON_IsTrue(app)) {
		rl_strs_add(it, &L->lists[i].items, &L->lists[i].n, v, n);
		return;
	}
	if (i >= 0) {
		check_redefined(it, p->off, "list", L->lists[i].at);
		rl_strs_free(L->lists[i].items, L->lists[i].n);
		l = &L->lists[i];
	} else {
		l = rl_grow(L, L->lists, L->n_lists + 1, sizeof(*l));
		if (!l) {
			rl_strs_free(v, n);
			return;
		}
		L->lists = l;
		l = &l[L->n_lists];
		memset(l, 0, sizeof(*l));
		if (!(l->name = rl_strdup(L, name))) {
			rl_strs_free(v, n);
			return;
		}
		L->n_lists++;
	}
	l->items = v;
	l->n = n;
	l->at = rl_item_at(it, p->off);
	l->profile = false;
}

/* ---- macro ---- */

void rl_macro_free(struct tg_rmacro *m)
{
	free(m->name);
	rl_text_free(&m->cond);
	memset(m, 0, sizeof(*m));
}

static void load_macro(struct rl_item *it, cJSON *obj, const struct jsonsrc_pos *p, const char *name)
{
	static const char *const keys[] = { "macro", "condition", "append", NULL };
	struct tg_rloader *L = it->L;
	const struct jsonsrc_pos *cp, *ap;
	struct tg_rtext t = { 0 }, joined;
	struct tg_rmacro *m;
	cJSON *cond, *app;
	ssize_t i;

	rl_check_keys(it, obj, p, keys, "\"macro\", \"condition\", \"append\"");
	cond = rl_get(it, obj, p, "condition", W_STR, "\"condition\": \"...\"", &cp);
	app = rl_get(it, obj, p, "append", W_BOOL, NULL, &ap);
	if ((i = rl_find_list(L, name)) >= 0)
		name_taken(it, p->off, name, "list", L->lists[i].at);
	i = rl_find_macro(L, name);
	if (cJSON_IsTrue(app) && i < 0)
		rl_ierr(it, ap->off, "append to unknown macro '%s'; expected a macro of that name in "
			"an earlier file", name);
	if (it->bad || rl_text_set(L, &t, cond->valuestring, rl_item_at(it, cp->off)))
		return;
	if (i >= 0 && cJSON_IsTrue(app)) {
		if (!rl_text_join(L, &joined, &L->macros[i].cond, "or", &t)) {
			rl_text_free(&L->macros[i].cond);
			L->macros[i].cond = joined;
		}
		rl_text_free(&t);
		return;
	}
	if (i >= 0) {
		check_redefined(it, p->off, "macro", L->macros[i].at);
		rl_text_free(&L->macros[i].cond);
		m = &L->macros[i];
	} else {
		m = rl_grow(L, L->macros, L->n_macros + 1, sizeof(*m));
		if (!m) {
			rl_text_free(&t);
			return;
		}
		L->macros = m;
		m = &m[L->n_macros];
		memset(m, 0, sizeof(*m));
		if (!(m->name = rl_strdup(L, name))) {
			rl_text_free(&t);
			return;
		}
		L->n_macros++;
	}
	m->cond = t;
	m->at = rl_item_at(it, p->off);
}

/* ---- any item ---- */

void rl_load_item(struct tg_rloader *L, int src, cJSON *obj, const struct jsonsrc_pos *p,
		  size_t idx)
{
	static const char *const kinds[] = { "rule", "macro", "list" };
	struct rl_item it = { .L = L, .src = src };
	const struct jsonsrc_pos *kp;
	const char *kind = NULL;
	cJSON *name = NULL;
	int n = 0;

	snprintf(it.label, sizeof(it.label), "item %zu", idx);
	if (!cJSON_IsObject(obj)) {
		rl_ierr(&it, p->off, "item is %s; expected an object with a \"rule\", \"macro\" or "
			"\"list\" key", jsonsrc_kind(obj));
		return;
	}
	for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
		if (rl_member(obj, p, kinds[k], &kp) && n++ == 0)
			kind = kinds[k];
	}
	if (n > 1) {
		rl_ierr(&it, p->off, "has more than one of \"rule\", \"macro\", \"list\"; expected "
			"exactly one per item");
		return;
	}
	if (!n && !obj->child) {
		rl_ierr(&it, p->off, "empty object; expected an object with a \"rule\", \"macro\" or "
			"\"list\" key");
		return;
	}
	if (!n) {
		rl_ierr(&it, p->off, "unknown item kind (first key \"%s\"); expected an object with a "
			"\"rule\", \"macro\" or \"list\" key", obj->child->string);
		return;
	}
	name = rl_get(&it, obj, p, kind, W_STR, NULL, &kp);
	if (!name)
		return;
	snprintf(it.label, sizeof(it.label), "%s '%s'", kind, name->valuestring);
	if (!name->valuestring[0]) {
		rl_ierr(&it, kp->off, "empty name; expected a %s name", kind);
		return;
	}
	if (kind[0] != 'r' && !is_ident(name->valuestring)) {
		rl_ierr(&it, kp->off, "invalid name; expected letters, digits and _ (not first a "
			"digit), as a condition refers to it");
		return;
	}
	if (kind[0] == 'r')
		rl_load_rule(&it, obj, p, name->valuestring);
	else if (kind[0] == 'm')
		load_macro(&it, obj, p, name->valuestring);
	else
		load_list(&it, obj, p, name->valuestring);
}
