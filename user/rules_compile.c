// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * rules_compile: the loader's rule definitions -> struct tg_rule, once
 * every file is read (a later file may change a macro or list that an
 * earlier rule uses). A condition and its exceptions are compiled as one
 * text; a compile error is placed through the text's origins
 * (rules_text.c) at the file:line:col the user wrote, and an error inside
 * a macro is reported once, on the macro.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cond.h"
#include "diag.h"
#include "rules.h"
#include "rules_priv.h"

/* ---- the condition environment: the loader's macros and lists ---- */

static const char *env_macro(void *ctx, const char *name)
{
	ssize_t i = rl_find_macro(ctx, name);

	return i < 0 ? NULL : ((struct tg_rloader *)ctx)->macros[i].cond.s;
}

static const char *const *env_list(void *ctx, const char *name, size_t *n)
{
	struct tg_rloader *L = ctx;
	ssize_t i = rl_find_list(L, name);
	/* An empty list is still a list: hand out a non-NULL, empty array. */
	static const char *const none[1] = { NULL };

	if (i < 0)
		return NULL;
	*n = L->lists[i].n;
	return L->lists[i].n ? (const char *const *)L->lists[i].items : none;
}

static void env_used(void *ctx, const char *name)
{
	struct tg_rloader *L = ctx;
	ssize_t i;

	if ((i = rl_find_macro(L, name)) >= 0)
		L->macros[i].used = true;
	if ((i = rl_find_list(L, name)) >= 0)
		L->lists[i].used = true;
}

/* ---- compiling one rule ---- */

static void cond_error(struct tg_rloader *L, const struct tg_rrule *r, const struct tg_rtext *t,
		       const struct tg_cond_error *e)
{
	char item[TG_RLABEL_MAX], msg[sizeof(e->msg) + 64];
	ssize_t m = e->macro[0] ? rl_find_macro(L, e->macro) : -1;
	const struct tg_rtext *where = m < 0 ? t : &L->macros[m].cond;
	const char *expected = strstr(e->msg, "; expected");

	/* "unexpected ')'" about a parenthesis the user never wrote: to them,
	 * their text just ended too early. */
	if (rl_text_in_glue(where, e->offset))
		snprintf(msg, sizeof(msg), "unexpected end of %s%s", m < 0 ? "condition" : "macro",
			 expected ? expected : "");
	else
		snprintf(msg, sizeof(msg), "%s", e->msg);
	if (m < 0) {
		snprintf(item, sizeof(item), "rule '%s'", r->name);
		rl_error(L, rl_text_where(L, t, e->offset), item, "%s", msg);
		return;
	}
	/* One report per broken macro, however many rules use it. */
	if (L->macros[m].reported)
		return;
	L->macros[m].reported = true;
	snprintf(item, sizeof(item), "macro '%s'", L->macros[m].name);
	rl_error(L, rl_text_where(L, where, e->offset), item, "%s (in macro '%s' used by rule '%s')",
		 msg, L->macros[m].name, r->name);
}

/* "(cond) and not (e1) and not (e2)": one text, so that the condition
 * compiler sees (and optimises, and indexes by action) the whole thing. */
static struct tg_cond *compile(struct tg_rloader *L, const struct tg_rrule *r,
			       const struct tg_rtext *cond)
{
	struct tg_cond_env env = { env_macro, env_list, env_used, L };
	struct tg_cond_error e;
	struct tg_rtext t = { 0 };
	struct tg_cond *c = NULL;

	if (!r->n_exc) {
		t = *cond;
	} else if (!rl_text_lit(L, &t, "(") && !rl_text_add(L, &t, cond) && !rl_text_lit(L, &t, ")")) {
		for (size_t i = 0; i < r->n_exc; i++)
			if (rl_text_lit(L, &t, " and not (") || rl_text_add(L, &t, &r->exc[i].cond) ||
			    rl_text_lit(L, &t, ")"))
				goto out;
	} else {
		goto out;
	}
	memset(&e, 0, sizeof(e));
	c = cond_compile(t.s, &env, &e);
	if (!c)
		cond_error(L, r, &t, &e);
out:
	if (r->n_exc)
		rl_text_free(&t);
	return c;
}

static void check_cond(struct tg_rloader *L, const struct tg_rrule *r, const struct tg_cond *c,
		       const char *what)
{
	char item[TG_RLABEL_MAX];
	size_t n = 0;

	snprintf(item, sizeof(item), "rule '%s'", r->name);
	if (cond_never_matches(c))
		rl_warn(L, r->at, item, "%scondition can never match", what);
	else if (!cond_actions(c, &n))
		rl_warn(L, r->at, item, "%scondition does not restrict event.action, so it is evaluated "
			"for every event; add e.g. 'event.action = exec' if it is meant for one kind",
			what);
}

static char **copy_strs(struct tg_rloader *L, char *const *v, size_t n)
{
	char **out = n ? calloc(n, sizeof(*out)) : NULL;

	if (n && !out) {
		rl_oom(L);
		return NULL;
	}
	for (size_t i = 0; i < n; i++)
		if (!(out[i] = rl_strdup(L, v[i])))
			break;
	return out;
}

static void rule_free(struct tg_rule *r)
{
	free(r->name);
	free(r->desc);
	free(r->output);
	for (size_t i = 0; i < r->n_tags; i++)
		free(r->tags[i]);
	free(r->tags);
	free(r->file);
	cond_free(r->cond);
	for (size_t i = 0; i < r->n_steps; i++)
		cond_free(r->steps[i]);
	free(r->out_fields);
	memset(r, 0, sizeof(*r));
}

/* Compile one definition into out; false (out freed) when it failed. */
static bool build_rule(struct tg_rloader *L, const struct tg_rrule *d, struct tg_rule *out)
{
	char what[32];
	bool ok = true;
	int line = 0;

	memset(out, 0, sizeof(*out));
	out->kind = d->kind;
	out->priority = d->priority;
	out->enabled = d->enabled;
	out->action = d->action;
	out->n_tags = d->n_tags;
	out->key = d->key;
	out->window_ns = d->window_ns;
	memcpy(out->group_by, d->group_by, sizeof(out->group_by));
	out->n_group_by = d->n_group_by;
	out->sum_field = d->sum_field;
	out->limit = d->limit;
	out->rate = d->rate;
	diag_position(L->src[d->at.src].text, d->at.off, &line, NULL);
	out->line = line;
	out->name = rl_strdup(L, d->name);
	out->desc = rl_strdup(L, d->desc);
	out->output = rl_strdup(L, d->output);
	out->file = rl_strdup(L, L->src[d->at.src].path);
	out->tags = copy_strs(L, d->tags, d->n_tags);
	out->out_fields = rl_output_fields(d->output);
	if (!out->out_fields)
		rl_oom(L);
	if (d->kind == TG_RULE_SEQUENCE) {
		for (size_t i = 0; i < d->n_steps; i++) {
			out->steps[i] = compile(L, d, &d->steps[i]);
			if (!out->steps[i])
				ok = false;
			out->n_steps = i + 1;
		}
	} else {
		out->cond = compile(L, d, &d->cond);
		ok = out->cond != NULL;
	}
	if (!ok || L->oom) {
		rule_free(out);
		return false;
	}
	if (!d->enabled)
		return true;
	if (d->kind != TG_RULE_SEQUENCE)
		check_cond(L, d, out->cond, "");
	for (size_t i = 0; i < out->n_steps; i++) {
		snprintf(what, sizeof(what), "step %zu: ", i + 1);
		check_cond(L, d, out->steps[i], what);
	}
	return true;
}

void rl_build(struct tg_rloader *L, struct tg_ruleset *rs)
{
	char item[TG_RLABEL_MAX];

	rs->rules = L->n_rules ? calloc(L->n_rules, sizeof(*rs->rules)) : NULL;
	if (L->n_rules && !rs->rules) {
		rl_oom(L);
		return;
	}
	for (size_t i = 0; i < L->n_rules && !L->oom; i++)
		if (!L->rules[i].broken && build_rule(L, &L->rules[i], &rs->rules[rs->n_rules]))
			rs->n_rules++;
	/* After an error, what was used is unreliable (a condition stops at
	 * its first error, a broken rule is not compiled): no "unused" noise. */
	if (L->diag->errors > L->errors_before)
		goto counts;
	for (size_t i = 0; i < L->n_lists; i++) {
		if (L->lists[i].used || L->lists[i].profile)
			continue;
		snprintf(item, sizeof(item), "list '%s'", L->lists[i].name);
		rl_warn(L, L->lists[i].at, item, "defined but never used by a rule or macro");
	}
	for (size_t i = 0; i < L->n_macros; i++) {
		if (L->macros[i].used)
			continue;
		snprintf(item, sizeof(item), "macro '%s'", L->macros[i].name);
		rl_warn(L, L->macros[i].at, item, "defined but never used by a rule or macro");
	}
counts:
	rs->n_lists = L->n_lists;
	rs->n_macros = L->n_macros;
}

void rules_free(struct tg_ruleset *rs)
{
	if (!rs)
		return;
	for (size_t i = 0; i < rs->n_rules; i++)
		rule_free(&rs->rules[i]);
	free(rs->rules);
	memset(rs, 0, sizeof(*rs));
}
