// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * rules_items: one item of a rule file -> the loader's lists, macros and
 * rule definitions (docs/rules.md).
 *
 * Same name again, without "append": a rule item with a condition,
 * sequence or threshold replaces the old rule; one with only other keys
 * patches them (how an operator switches off a shipped rule). With
 * "append": true, list items are appended, macro conditions or-ed, rule
 * conditions and-ed and exceptions added.
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
#include <strings.h>

#include "diag.h"
#include "fields.h"
#include "rules.h"
#include "rules_priv.h"

#define PRIORITY_NAMES "emergency, alert, critical, error, warning, notice, informational (info), debug"
#define WINDOW_MAX_NS (24ull * 3600 * 1000000000ull)
#define FIELD_NAME_MAX 128

static const char *const priorities[] = {
	"emergency", "alert", "critical", "error", "warning", "notice", "informational", "debug",
};

const char *rules_priority_name(int priority)
{
	if (priority < 0 || priority >= (int)(sizeof(priorities) / sizeof(priorities[0])))
		return "unknown";
	return priorities[priority];
}

int rules_priority_parse(const char *name)
{
	if (!name)
		return -1;
	if (!strcasecmp(name, "info"))
		return 6;
	for (size_t i = 0; i < sizeof(priorities) / sizeof(priorities[0]); i++)
		if (!strcasecmp(name, priorities[i]))
			return (int)i;
	return -1;
}

/* "500ms", "60s", "5m", "1h": a positive integer and a unit, at most 24h. */
static int parse_window(const char *s, uint64_t *ns)
{
	static const struct { const char *unit; uint64_t ns; } units[] = {
		{ "ms", 1000000ull }, { "s", 1000000000ull }, { "m", 60000000000ull },
		{ "h", 3600000000000ull },
	};
	uint64_t v = 0;
	const char *p = s;

	for (; *p >= '0' && *p <= '9'; p++) {
		v = v * 10 + (uint64_t)(*p - '0');
		if (v > WINDOW_MAX_NS)
			return -1;
	}
	if (p == s || v == 0)
		return -1;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(p, units[i].unit))
			continue;
		if (v > WINDOW_MAX_NS / units[i].ns)
			return -1;
		*ns = v * units[i].ns;
		return 0;
	}
	return -1;
}

/* ---- output templates: %field.name, %% for a percent sign ---- */

/* Name characters as engine_render (alert.c) reads them. */
static bool name_char(char c, size_t pos)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
	       c == '[' || c == ']' || (c == '@' && pos == 0);
}

/* Next reference at or after *i: its name's start and length. A '%' not
 * followed by a name character is literal text; trailing dots end a
 * sentence, not the name ("by %process.executable."). */
static bool next_ref(const char *t, size_t *i, size_t *name, size_t *len)
{
	for (; t[*i]; (*i)++) {
		size_t s, e;

		if (t[*i] != '%')
			continue;
		if (t[*i + 1] == '%') {
			(*i)++;
			continue;
		}
		s = e = *i + 1;
		while (name_char(t[e], e - s))
			e++;
		while (e > s && t[e - 1] == '.')
			e--;
		if (e == s)
			continue;
		*i = e;
		*name = s;
		*len = e - s;
		return true;
	}
	return false;
}

static int ref_field(const char *t, size_t name, size_t len)
{
	char buf[FIELD_NAME_MAX];

	if (len >= sizeof(buf))
		return -1;
	memcpy(buf, t + name, len);
	buf[len] = 0;
	return fields_lookup(buf);
}

int *rl_output_fields(const char *tmpl)
{
	size_t i = 0, name, len, n = 0;
	int *ids = malloc((strlen(tmpl) / 2 + 1) * sizeof(*ids));

	if (!ids)
		return NULL;
	while (next_ref(tmpl, &i, &name, &len)) {
		int id = ref_field(tmpl, name, len);
		bool seen = false;

		for (size_t k = 0; k < n; k++)
			seen |= ids[k] == id;
		if (id >= 0 && !seen)
			ids[n++] = id;
	}
	ids[n] = -1;
	return ids;
}

/* ---- one item ---- */

struct item {
	struct tg_rloader *L;
	int src;
	char label[TG_RLABEL_MAX];
	bool bad;
};

enum want { W_STR, W_BOOL, W_NUM, W_ARR, W_OBJ };
static const char *const want_name[] = {
	"a string", "a boolean (true or false)", "a number", "an array", "an object",
};

static struct tg_rwhere at(const struct item *it, size_t off)
{
	return (struct tg_rwhere){ it->src, off };
}

__attribute__((format(printf, 3, 4)))
static void ierr(struct item *it, size_t off, const char *fmt, ...)
{
	char msg[768];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	rl_error(it->L, at(it, off), it->label, "%s", msg);
	it->bad = true;
}

__attribute__((format(printf, 3, 4)))
static void iwarn(struct item *it, size_t off, const char *fmt, ...)
{
	char msg[768];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	rl_warn(it->L, at(it, off), it->label, "%s", msg);
}

static const char *type_name(const cJSON *v)
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

static bool is(const cJSON *v, enum want w)
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

static const struct tg_rpos *kid(const struct tg_rpos *p, size_t i)
{
	return i < p->n ? &p->kid[i] : p;
}

/* Keys are case-sensitive (cJSON_GetObjectItem is not). */
static cJSON *member(cJSON *obj, const struct tg_rpos *p, const char *key, const struct tg_rpos **kp)
{
	size_t i = 0;

	for (cJSON *c = obj->child; c; c = c->next, i++) {
		if (c->string && !strcmp(c->string, key)) {
			*kp = kid(p, i);
			return c;
		}
	}
	*kp = p;
	return NULL;
}

/* key's value when present and of type w; an error when mistyped, or when
 * missing and hint (what to write) is given. */
static cJSON *get(struct item *it, cJSON *obj, const struct tg_rpos *p, const char *key, enum want w,
		  const char *hint, const struct tg_rpos **kp)
{
	cJSON *v = member(obj, p, key, kp);

	if (!v) {
		if (hint)
			ierr(it, p->off, "missing key \"%s\"; expected %s", key, hint);
		return NULL;
	}
	if (!is(v, w)) {
		ierr(it, (*kp)->off, "\"%s\" is %s; expected %s", key, type_name(v), want_name[w]);
		return NULL;
	}
	return v;
}

static void check_keys(struct item *it, cJSON *obj, const struct tg_rpos *p,
		       const char *const *keys, const char *what)
{
	size_t i = 0;

	for (cJSON *c = obj->child; c; c = c->next, i++) {
		bool known = false;

		for (const char *const *k = keys; *k; k++)
			known |= !strcmp(*k, c->string);
		if (!known) {
			iwarn(it, kid(p, i)->key_off, "unknown key \"%s\" ignored; expected %s",
			      c->string, what);
			continue;
		}
		for (cJSON *d = obj->child; d != c; d = d->next) {
			if (!strcmp(d->string, c->string)) {
				ierr(it, kid(p, i)->key_off, "duplicate key \"%s\"; expected each key "
				     "once", c->string);
				break;
			}
		}
	}
}

static void where_str(const struct tg_rloader *L, struct tg_rwhere w, char *buf, size_t len)
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

static void free_strs(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* An array of strings (numbers allowed when nums: ports) -> v. */
static int get_strs(struct item *it, cJSON *arr, const struct tg_rpos *p, const char *key, bool nums,
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
		} else if (is(e, W_STR)) {
			v[i] = rl_strdup(it->L, e->valuestring);
		} else {
			ierr(it, kid(p, i)->off, "element %zu of \"%s\" is %s; expected a string", i + 1,
			     key, type_name(e));
		}
		if (!v[i]) {
			free_strs(v, cnt);
			it->bad = true;
		return -1;
		}
	}
	*out = v;
	*n = cnt;
	return 0;
}

static int add_strs(struct item *it, char ***v, size_t *n, char **more, size_t n_more)
{
	char **nv = n_more ? rl_grow(it->L, *v, *n + n_more, sizeof(*nv)) : *v;

	if (n_more && !nv) {
		free_strs(more, n_more);
		return -1;
	}
	if (n_more)
		memcpy(nv + *n, more, n_more * sizeof(*more));
	free(more);
	*v = nv;
	*n += n_more;
	return 0;
}

/* ---- list ---- */

void rl_list_free(struct tg_rlist *l)
{
	free(l->name);
	free_strs(l->items, l->n);
	memset(l, 0, sizeof(*l));
}

static void load_list(struct item *it, cJSON *obj, const struct tg_rpos *p, const char *name)
{
	static const char *const keys[] = { "list", "items", "append", NULL };
	struct tg_rloader *L = it->L;
	const struct tg_rpos *ip, *ap;
	cJSON *items, *app;
	struct tg_rlist *l;
	char **v = NULL, other[512];
	size_t n = 0;
	ssize_t i;

	check_keys(it, obj, p, keys, "\"list\", \"items\", \"append\"");
	items = get(it, obj, p, "items", W_ARR, "\"items\": [\"...\", ...]", &ip);
	app = get(it, obj, p, "append", W_BOOL, NULL, &ap);
	if (items)
		get_strs(it, items, ip, "items", true, &v, &n);
	if ((i = rl_find_macro(L, name)) >= 0) {
		where_str(L, L->macros[i].at, other, sizeof(other));
		ierr(it, p->off, "name already used by macro '%s' (%s); expected distinct names for "
		     "lists and macros", name, other);
	}
	i = rl_find_list(L, name);
	if (cJSON_IsTrue(app) && i < 0)
		ierr(it, ap->off, "append to unknown list '%s'; expected a list of that name in an "
		     "earlier file or the profile", name);
	if (it->bad) {
		free_strs(v, n);
		return;
	}
	if (i >= 0 && cJSON_IsTrue(app)) {
		add_strs(it, &L->lists[i].items, &L->lists[i].n, v, n);
		return;
	}
	if (i >= 0) {
		if (L->lists[i].at.src == it->src) {
			where_str(L, L->lists[i].at, other, sizeof(other));
			iwarn(it, p->off, "redefines the list from %s in the same file", other);
		}
		free_strs(L->lists[i].items, L->lists[i].n);
		l = &L->lists[i];
	} else {
		l = rl_grow(L, L->lists, L->n_lists + 1, sizeof(*l));
		if (!l) {
			free_strs(v, n);
			return;
		}
		L->lists = l;
		l = &l[L->n_lists];
		memset(l, 0, sizeof(*l));
		if (!(l->name = rl_strdup(L, name))) {
			free_strs(v, n);
			return;
		}
		L->n_lists++;
	}
	l->items = v;
	l->n = n;
	l->at = at(it, p->off);
	l->profile = false;
}

/* ---- macro ---- */

void rl_macro_free(struct tg_rmacro *m)
{
	free(m->name);
	rl_text_free(&m->cond);
	memset(m, 0, sizeof(*m));
}

static void load_macro(struct item *it, cJSON *obj, const struct tg_rpos *p, const char *name)
{
	static const char *const keys[] = { "macro", "condition", "append", NULL };
	struct tg_rloader *L = it->L;
	const struct tg_rpos *cp, *ap;
	struct tg_rtext t = { 0 }, joined;
	struct tg_rmacro *m;
	cJSON *cond, *app;
	char other[512];
	ssize_t i;

	check_keys(it, obj, p, keys, "\"macro\", \"condition\", \"append\"");
	cond = get(it, obj, p, "condition", W_STR, "\"condition\": \"...\"", &cp);
	app = get(it, obj, p, "append", W_BOOL, NULL, &ap);
	if ((i = rl_find_list(L, name)) >= 0) {
		where_str(L, L->lists[i].at, other, sizeof(other));
		ierr(it, p->off, "name already used by list '%s' (%s); expected distinct names for "
		     "lists and macros", name, other);
	}
	i = rl_find_macro(L, name);
	if (cJSON_IsTrue(app) && i < 0)
		ierr(it, ap->off, "append to unknown macro '%s'; expected a macro of that name in an "
		     "earlier file", name);
	if (it->bad || rl_text_set(L, &t, cond->valuestring, at(it, cp->off)))
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
		if (L->macros[i].at.src == it->src) {
			where_str(L, L->macros[i].at, other, sizeof(other));
			iwarn(it, p->off, "redefines the macro from %s in the same file", other);
		}
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
	m->at = at(it, p->off);
}

/* ---- rule ---- */

void rl_rule_free(struct tg_rrule *r)
{
	free(r->name);
	free(r->desc);
	free(r->output);
	free_strs(r->tags, r->n_tags);
	rl_text_free(&r->cond);
	for (size_t i = 0; i < r->n_exc; i++) {
		free(r->exc[i].name);
		rl_text_free(&r->exc[i].cond);
	}
	free(r->exc);
	for (size_t i = 0; i < r->n_steps; i++)
		rl_text_free(&r->steps[i]);
	memset(r, 0, sizeof(*r));
}

/* What one rule item says; has.* tell which keys it had. */
struct rule_in {
	struct tg_rrule r;
	struct {
		bool desc, output, priority, tags, enabled, action, exc, cond, seq, thr, append;
	} has;
};

static void get_window(struct item *it, cJSON *obj, const struct tg_rpos *p, uint64_t *ns)
{
	const struct tg_rpos *wp;
	cJSON *w = get(it, obj, p, "window", W_STR, "\"window\": \"60s\" (ms, s, m or h; at most 24h)",
		       &wp);

	if (w && parse_window(w->valuestring, ns))
		ierr(it, wp->off, "invalid window \"%s\"; expected a positive whole number and a unit: "
		     "500ms, 60s, 5m or 1h (at most 24h)", w->valuestring);
}

static void load_sequence(struct item *it, cJSON *obj, const struct tg_rpos *p, struct tg_rrule *r)
{
	static const char *const keys[] = { "by", "window", "steps", NULL };
	static const char *const step_keys[] = { "condition", NULL };
	static const char *const by[] = { "process", "lineage", "user", "container" };
	const struct tg_rpos *bp, *sp, *cp;
	cJSON *b, *steps, *c;
	size_t i = 0, n;

	check_keys(it, obj, p, keys, "\"by\", \"window\", \"steps\"");
	b = get(it, obj, p, "by", W_STR, "\"by\": one of process, lineage, user, container", &bp);
	for (size_t k = 0; b && k < sizeof(by) / sizeof(by[0]); k++)
		if (!strcmp(b->valuestring, by[k]))
			r->key = (enum tg_seq_key)(TG_KEY_PROCESS + k);
	if (b && !r->key)
		ierr(it, bp->off, "unknown correlation \"%s\" in \"by\"; expected process, lineage, "
		     "user or container", b->valuestring);
	get_window(it, obj, p, &r->window_ns);
	steps = get(it, obj, p, "steps", W_ARR, "\"steps\": [{\"condition\": \"...\"}, ...]", &sp);
	if (!steps)
		return;
	n = (size_t)cJSON_GetArraySize(steps);
	if (n < 2 || n > TG_SEQ_MAX_STEPS) {
		ierr(it, sp->off, "sequence has %zu step(s); expected 2 to %d", n, TG_SEQ_MAX_STEPS);
		return;
	}
	for (cJSON *s = steps->child; s; s = s->next, i++) {
		const struct tg_rpos *p1 = kid(sp, i);

		if (!is(s, W_OBJ)) {
			ierr(it, p1->off, "step %zu is %s; expected {\"condition\": \"...\"}", i + 1,
			     type_name(s));
			continue;
		}
		check_keys(it, s, p1, step_keys, "\"condition\"");
		c = get(it, s, p1, "condition", W_STR, "\"condition\": \"...\"", &cp);
		if (c && !rl_text_set(it->L, &r->steps[r->n_steps], c->valuestring, at(it, cp->off)))
			r->n_steps++;
	}
}

static void load_threshold(struct item *it, cJSON *obj, const struct tg_rpos *p, struct tg_rrule *r)
{
	static const char *const keys[] = { "condition", "window", "group_by", "sum", "limit", NULL };
	const struct tg_rpos *cp, *gp, *sp, *lp;
	cJSON *c, *g, *s, *l;
	size_t i = 0;

	check_keys(it, obj, p, keys, "\"condition\", \"window\", \"group_by\", \"sum\", \"limit\"");
	c = get(it, obj, p, "condition", W_STR, "\"condition\": \"...\"", &cp);
	/* With a "condition" beside the threshold (an error already), keep one. */
	rl_text_free(&r->cond);
	if (c)
		rl_text_set(it->L, &r->cond, c->valuestring, at(it, cp->off));
	get_window(it, obj, p, &r->window_ns);
	g = get(it, obj, p, "group_by", W_ARR, NULL, &gp);
	if (g && cJSON_GetArraySize(g) > TG_GROUP_MAX)
		ierr(it, gp->off, "\"group_by\" has %d fields; expected at most %d",
		     cJSON_GetArraySize(g), TG_GROUP_MAX);
	for (cJSON *f = g ? g->child : NULL; f && i < TG_GROUP_MAX; f = f->next, i++) {
		int id = is(f, W_STR) ? fields_lookup(f->valuestring) : -1;

		if (id < 0)
			ierr(it, kid(gp, i)->off, "element %zu of \"group_by\" is %s%s%s; expected a "
			     "field name (docs/fields.md)", i + 1, is(f, W_STR) ? "the unknown field '" :
			     type_name(f), is(f, W_STR) ? f->valuestring : "", is(f, W_STR) ? "'" : "");
		else
			r->group_by[r->n_group_by++] = id;
	}
	s = get(it, obj, p, "sum", W_STR, NULL, &sp);
	if (s) {
		int id = fields_lookup(s->valuestring);
		const struct tg_field *f = id >= 0 ? fields_get(id) : NULL;

		if (!f)
			ierr(it, sp->off, "\"sum\" names the unknown field '%s'; expected a numeric field "
			     "such as network.bytes", s->valuestring);
		else if (f->type != TG_FT_NUM)
			ierr(it, sp->off, "\"sum\" field '%s' is not numeric; expected a numeric field "
			     "such as network.bytes", s->valuestring);
		else
			r->sum_field = id;
	}
	l = get(it, obj, p, "limit", W_NUM, "\"limit\": a positive number", &lp);
	if (l && !(isfinite(l->valuedouble) && l->valuedouble > 0))
		ierr(it, lp->off, "\"limit\" is %g; expected a positive number", l->valuedouble);
	else if (l)
		r->limit = l->valuedouble;
}

static void load_exceptions(struct item *it, cJSON *arr, const struct tg_rpos *p, struct tg_rrule *r)
{
	static const char *const keys[] = { "name", "condition", NULL };
	size_t n = (size_t)cJSON_GetArraySize(arr), i = 0;
	const struct tg_rpos *np, *cp;

	r->exc = n ? calloc(n, sizeof(*r->exc)) : NULL;
	if (n && !r->exc) {
		rl_oom(it->L);
		return;
	}
	for (cJSON *e = arr->child; e; e = e->next, i++) {
		const struct tg_rpos *ep = kid(p, i);
		struct tg_rexc *x = &r->exc[r->n_exc];
		cJSON *name, *cond;

		if (!is(e, W_OBJ)) {
			ierr(it, ep->off, "exception %zu is %s; expected {\"name\": \"...\", "
			     "\"condition\": \"...\"}", i + 1, type_name(e));
			continue;
		}
		check_keys(it, e, ep, keys, "\"name\", \"condition\"");
		name = get(it, e, ep, "name", W_STR, "\"name\": \"...\"", &np);
		cond = get(it, e, ep, "condition", W_STR, "\"condition\": \"...\"", &cp);
		if (!name || !cond)
			continue;
		x->name = rl_strdup(it->L, name->valuestring);
		if (x->name && !rl_text_set(it->L, &x->cond, cond->valuestring, at(it, cp->off)))
			r->n_exc++;
	}
}

static void check_output(struct item *it, const char *tmpl, const struct tg_rpos *op)
{
	size_t i = 0, name, len;

	while (next_ref(tmpl, &i, &name, &len)) {
		if (ref_field(tmpl, name, len) >= 0)
			continue;
		rl_error(it->L, rl_string_where(it->L, it->src, op->off, name - 1), it->label,
			 "output references unknown field '%.*s'; expected %%field.name with a field "
			 "from docs/fields.md, or %%%% for a percent sign", (int)len, tmpl + name);
		it->bad = true;
	}
}

/* Everything a rule item says, checked, into in. */
static void parse_rule(struct item *it, cJSON *obj, const struct tg_rpos *p, struct rule_in *in)
{
	static const char *const keys[] = { "rule", "desc", "condition", "output", "priority", "tags",
					    "enabled", "action", "exceptions", "append", "sequence",
					    "threshold", NULL };
	struct tg_rrule *r = &in->r;
	const struct tg_rpos *kp;
	cJSON *v;

	check_keys(it, obj, p, keys, "rule, desc, condition, output, priority, tags, enabled, action, "
		   "exceptions, append, sequence or threshold");
	if ((v = get(it, obj, p, "desc", W_STR, NULL, &kp))) {
		in->has.desc = true;
		r->desc = rl_strdup(it->L, v->valuestring);
	}
	if ((v = get(it, obj, p, "output", W_STR, NULL, &kp))) {
		in->has.output = true;
		check_output(it, v->valuestring, kp);
		r->output = rl_strdup(it->L, v->valuestring);
	}
	if ((v = get(it, obj, p, "priority", W_STR, NULL, &kp))) {
		in->has.priority = true;
		r->priority = rules_priority_parse(v->valuestring);
		if (r->priority < 0)
			ierr(it, kp->off, "unknown priority \"%s\"; expected one of " PRIORITY_NAMES,
			     v->valuestring);
	}
	if ((v = get(it, obj, p, "tags", W_ARR, NULL, &kp))) {
		in->has.tags = true;
		get_strs(it, v, kp, "tags", false, &r->tags, &r->n_tags);
	}
	if ((v = get(it, obj, p, "enabled", W_BOOL, NULL, &kp))) {
		in->has.enabled = true;
		r->enabled = cJSON_IsTrue(v);
	}
	if ((v = get(it, obj, p, "action", W_STR, NULL, &kp))) {
		in->has.action = true;
		if (!strcmp(v->valuestring, "alert") || !strcmp(v->valuestring, "kill"))
			r->action = v->valuestring[0] == 'k' ? TG_ACT_KILL : TG_ACT_ALERT;
		else
			ierr(it, kp->off, "unknown action \"%s\"; expected alert or kill", v->valuestring);
	}
	if ((v = get(it, obj, p, "exceptions", W_ARR, NULL, &kp))) {
		in->has.exc = true;
		load_exceptions(it, v, kp, r);
	}
	if ((v = get(it, obj, p, "condition", W_STR, NULL, &kp))) {
		in->has.cond = true;
		rl_text_set(it->L, &r->cond, v->valuestring, at(it, kp->off));
	}
	if ((v = get(it, obj, p, "sequence", W_OBJ, NULL, &kp))) {
		in->has.seq = true;
		load_sequence(it, v, kp, r);
	}
	if ((v = get(it, obj, p, "threshold", W_OBJ, NULL, &kp))) {
		in->has.thr = true;
		load_threshold(it, v, kp, r);
	}
	if ((v = get(it, obj, p, "append", W_BOOL, NULL, &kp)))
		in->has.append = cJSON_IsTrue(v);
	if (in->has.cond + in->has.seq + in->has.thr > 1)
		ierr(it, p->off, "has more than one of \"condition\", \"sequence\", \"threshold\"; "
		     "expected exactly one");
}

static void move_str(char **dst, char **src)
{
	free(*dst);
	*dst = *src;
	*src = NULL;
}

/* Keys that a patch or an append overwrite. */
static void patch_keys(struct rule_in *in, struct tg_rrule *old)
{
	if (in->has.desc)
		move_str(&old->desc, &in->r.desc);
	if (in->has.output)
		move_str(&old->output, &in->r.output);
	if (in->has.priority)
		old->priority = in->r.priority;
	if (in->has.enabled)
		old->enabled = in->r.enabled;
	if (in->has.action)
		old->action = in->r.action;
}

static void append_rule(struct item *it, size_t off, struct rule_in *in, struct tg_rrule *old)
{
	struct tg_rexc *exc;
	struct tg_rtext joined;
	struct tg_rtext *base = &old->cond;

	if (in->has.seq || in->has.thr)
		ierr(it, off, "\"append\" cannot add a sequence or threshold; expected only "
		     "\"condition\", \"exceptions\" or keys to change (desc, output, priority, tags, "
		     "enabled, action)");
	if (in->has.cond && old->kind == TG_RULE_SEQUENCE)
		ierr(it, off, "cannot append a condition to a sequence rule; expected \"exceptions\" "
		     "(they apply to every step)");
	if (it->bad)
		return;
	patch_keys(in, old);
	if (in->has.tags) {
		add_strs(it, &old->tags, &old->n_tags, in->r.tags, in->r.n_tags);
		in->r.tags = NULL;
		in->r.n_tags = 0;
	}
	if (in->has.cond && !rl_text_join(it->L, &joined, base, "and", &in->r.cond)) {
		rl_text_free(base);
		*base = joined;
	}
	if (in->r.n_exc) {
		exc = rl_grow(it->L, old->exc, old->n_exc + in->r.n_exc, sizeof(*exc));
		if (!exc)
			return;
		memcpy(exc + old->n_exc, in->r.exc, in->r.n_exc * sizeof(*exc));
		old->exc = exc;
		old->n_exc += in->r.n_exc;
		in->r.n_exc = 0;
	}
}

static void patch_rule(struct rule_in *in, struct tg_rrule *old)
{
	patch_keys(in, old);
	if (in->has.tags) {
		free_strs(old->tags, old->n_tags);
		old->tags = in->r.tags;
		old->n_tags = in->r.n_tags;
		in->r.tags = NULL;
		in->r.n_tags = 0;
	}
	if (in->has.exc) {
		struct tg_rrule tmp = { .exc = old->exc, .n_exc = old->n_exc };

		rl_rule_free(&tmp);
		old->exc = in->r.exc;
		old->n_exc = in->r.n_exc;
		in->r.exc = NULL;
		in->r.n_exc = 0;
	}
}

/* A full definition: replaces a rule of the same name, or adds one. */
static void define_rule(struct item *it, const struct tg_rpos *p, struct rule_in *in, ssize_t i)
{
	struct tg_rloader *L = it->L;
	struct tg_rrule *r = &in->r;
	char other[512];

	if (!in->has.output)
		ierr(it, p->off, "missing key \"output\"; expected an output template such as "
		     "\"shell %%process.executable spawned\"");
	if (!in->has.priority)
		ierr(it, p->off, "missing key \"priority\"; expected one of " PRIORITY_NAMES);
	if (i >= 0 && L->rules[i].at.src == it->src) {
		where_str(L, L->rules[i].at, other, sizeof(other));
		ierr(it, p->off, "duplicate rule (first defined at %s); expected unique rule names "
		     "in a file, or \"append\": true to extend it", other);
	}
	r->kind = in->has.cond ? TG_RULE_EVENT : in->has.seq ? TG_RULE_SEQUENCE : TG_RULE_THRESHOLD;
	r->broken = it->bad;
	if (!r->desc)
		r->desc = rl_strdup(L, "");
	if (i >= 0) {
		rl_rule_free(&L->rules[i]);
		L->rules[i] = *r;
	} else {
		struct tg_rrule *v = rl_grow(L, L->rules, L->n_rules + 1, sizeof(*v));

		if (!v)
			return;
		L->rules = v;
		v[L->n_rules++] = *r;
	}
	memset(r, 0, sizeof(*r));
}

static void load_rule(struct item *it, cJSON *obj, const struct tg_rpos *p, const char *name)
{
	struct tg_rloader *L = it->L;
	struct rule_in in = { .r = { .sum_field = -1, .enabled = true, .action = TG_ACT_ALERT } };
	ssize_t i = rl_find_rule(L, name);

	in.r.name = rl_strdup(L, name);
	in.r.at = at(it, p->off);
	parse_rule(it, obj, p, &in);
	if (!in.r.name) {
		/* out of memory: reported */
	} else if (in.has.append) {
		if (i < 0)
			ierr(it, p->off, "append to unknown rule; expected a rule of that name in an "
			     "earlier file");
		else
			append_rule(it, p->off, &in, &L->rules[i]);
	} else if (in.has.cond || in.has.seq || in.has.thr) {
		define_rule(it, p, &in, i);
	} else if (i < 0) {
		ierr(it, p->off, "no such rule to change; expected \"condition\", \"sequence\" or "
		     "\"threshold\" for a new rule");
	} else if (!it->bad) {
		if (!(in.has.desc || in.has.output || in.has.priority || in.has.tags ||
		      in.has.enabled || in.has.action || in.has.exc))
			iwarn(it, p->off, "changes nothing; expected keys to change (enabled, priority, "
			      "output, desc, tags, action, exceptions)");
		patch_rule(&in, &L->rules[i]);
	}
	rl_rule_free(&in.r);
}

void rl_load_item(struct tg_rloader *L, int src, cJSON *obj, const struct tg_rpos *p, size_t idx)
{
	static const char *const kinds[] = { "rule", "macro", "list" };
	struct item it = { .L = L, .src = src };
	const struct tg_rpos *kp;
	const char *kind = NULL;
	cJSON *name = NULL;
	int n = 0;

	snprintf(it.label, sizeof(it.label), "item %zu", idx);
	if (!cJSON_IsObject(obj)) {
		ierr(&it, p->off, "item is %s; expected an object with a \"rule\", \"macro\" or "
		     "\"list\" key", type_name(obj));
		return;
	}
	for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
		if (member(obj, p, kinds[k], &kp) && n++ == 0)
			kind = kinds[k];
	}
	if (n > 1) {
		ierr(&it, p->off, "has more than one of \"rule\", \"macro\", \"list\"; expected "
		     "exactly one per item");
		return;
	}
	if (!n && !obj->child) {
		ierr(&it, p->off, "empty object; expected an object with a \"rule\", \"macro\" or "
		     "\"list\" key");
		return;
	}
	if (!n) {
		ierr(&it, p->off, "unknown item kind (first key \"%s\"); expected an object with a "
		     "\"rule\", \"macro\" or \"list\" key", obj->child->string);
		return;
	}
	name = get(&it, obj, p, kind, W_STR, NULL, &kp);
	if (!name)
		return;
	snprintf(it.label, sizeof(it.label), "%s '%s'", kind, name->valuestring);
	if (!name->valuestring[0]) {
		ierr(&it, kp->off, "empty name; expected a %s name", kind);
		return;
	}
	if (kind[0] != 'r' && !is_ident(name->valuestring)) {
		ierr(&it, kp->off, "invalid name; expected letters, digits and _ (not first a digit), "
		     "as a condition refers to it");
		return;
	}
	if (kind[0] == 'r')
		load_rule(&it, obj, p, name->valuestring);
	else if (kind[0] == 'm')
		load_macro(&it, obj, p, name->valuestring);
	else
		load_list(&it, obj, p, name->valuestring);
}
