/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Unit tests for user/ratelimit.c (budgets, keys, per-rule independence,
 * the critical bypass, dedup, eviction, the alert-suppressed summaries,
 * reloads) and for the rule loader's "rate" and "dedup" keys. No root.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "diag.h"
#include "engine.h"
#include "fields.h"
#include "ratelimit.h"
#include "rules.h"
#include "tmpdir.h"

#define S 1000000000ull
#define T0 (1700000000ull * S)
#define MAX_RECS 256

static struct tg_view g_view;
static cJSON *g_ev;
static cJSON *g_recs[MAX_RECS];
static size_t g_n_recs;

static void fini(void)
{
	for (size_t i = 0; i < g_n_recs; i++)
		cJSON_Delete(g_recs[i]);
	g_n_recs = 0;
	cJSON_Delete(g_ev);
	g_ev = NULL;
}

TestSuite(ratelimit, .fini = fini);

static void on_rec(void *ctx, cJSON *rec)
{
	(void)ctx;
	cr_assert_lt(g_n_recs, MAX_RECS, "too many summaries");
	g_recs[g_n_recs++] = rec;
}

/* The alert of rule r on an event of exe opening path as uid. */
static struct tg_alert alert_of(const struct tg_rule *r, const char *exe, const char *path, int uid)
{
	struct tg_alert a = { .rule = r, .view = &g_view };
	char js[1024];

	snprintf(js, sizeof(js),
		 "{\"event\":{\"action\":\"open\"},\"process\":{\"executable\":\"%s\"},"
		 "\"user\":{\"id\":%d},\"file\":{\"path\":\"%s\"}}", exe, uid, path);
	cJSON_Delete(g_ev);
	g_ev = cJSON_Parse(js);
	cr_assert_not_null(g_ev);
	view_init(&g_view);
	cr_assert_eq(view_fill(&g_view, g_ev, NULL), 0);
	return a;
}

static bool admit(struct tg_ratelimit *rl, const struct tg_rule *r, const char *exe,
		  const char *path, uint64_t now)
{
	struct tg_alert a = alert_of(r, exe, path, 65534);

	return ratelimit_admit(rl, &a, now);
}

static struct tg_rule rule_of(const char *name, int prio)
{
	struct tg_rule r = { .name = (char *)name, .priority = prio, .enabled = true };

	return r;
}

static const struct tg_rate_defaults defs = { .max = 3, .per_s = 60, .dedup_s = 0,
					      .report_s = 10, .max_keys = 100 };

static double num_at(const cJSON *j, const char *a, const char *b)
{
	const cJSON *o = cJSON_GetObjectItem(cJSON_GetObjectItem(j, a), b);

	return cJSON_IsNumber(o) ? o->valuedouble : -1;
}

static const cJSON *sup(size_t i)
{
	return cJSON_GetObjectItem(cJSON_GetObjectItem(g_recs[i], "twinguard"), "suppressed");
}

static uint64_t sum_counts(const char *rule, const char *reason)
{
	uint64_t n = 0;

	for (size_t i = 0; i < g_n_recs; i++) {
		const cJSON *s = sup(i);

		if ((!rule || !strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(s, "rule")), rule)) &&
		    (!reason || !strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(s, "reason")), reason)))
			n += (uint64_t)cJSON_GetNumberValue(cJSON_GetObjectItem(s, "count"));
	}
	return n;
}

Test(ratelimit, budget_per_key_then_new_window)
{
	struct tg_ratelimit *rl = ratelimit_new(&defs);
	struct tg_rule r = rule_of("noisy", 4);
	unsigned ok = 0;

	for (int i = 0; i < 10; i++)
		ok += admit(rl, &r, "/bin/cat", "/etc/shadow", T0 + (uint64_t)i * S);
	cr_expect_eq(ok, 3, "delivered %u of 10, want the budget of 3", ok);
	/* another key of the same rule has its own budget */
	cr_expect(admit(rl, &r, "/bin/cat", "/etc/gshadow", T0 + 11 * S));
	/* a new window refills it */
	cr_expect(admit(rl, &r, "/bin/cat", "/etc/shadow", T0 + 61 * S));
	struct tg_ratelimit_stats st;
	ratelimit_stats(rl, &st);
	cr_expect_eq(st.suppressed, 7);
	cr_expect_eq(st.keys, 2);
	ratelimit_free(rl);
}

Test(ratelimit, rules_have_their_own_budgets)
{
	struct tg_ratelimit *rl = ratelimit_new(&defs);
	struct tg_rule a = rule_of("a", 4), b = rule_of("b", 4);

	for (int i = 0; i < 100; i++)
		admit(rl, &a, "/bin/x", "/p", T0 + (uint64_t)i);
	for (int i = 0; i < 3; i++)
		cr_expect(admit(rl, &b, "/bin/x", "/p", T0 + 100 + (uint64_t)i),
			  "rule b's alert %d suppressed by rule a's flood", i);
	cJSON *by = ratelimit_by_rule_json(rl);
	cr_expect_eq(cJSON_GetNumberValue(cJSON_GetObjectItem(by, "a")), 97);
	cr_expect_null(cJSON_GetObjectItem(by, "b"));
	cJSON_Delete(by);
	ratelimit_free(rl);
}

Test(ratelimit, critical_bypass_unless_own_rate)
{
	struct tg_ratelimit *rl = ratelimit_new(&defs);
	struct tg_rule crit = rule_of("crit", 2), emerg = rule_of("emerg", 0);
	struct tg_rule own = rule_of("own", 2);
	unsigned ok = 0;

	own.rate.mode = TG_RATE_OWN;
	own.rate.max = 2;
	own.rate.per_ns = 60 * S;
	for (int i = 0; i < 50; i++) {
		cr_expect(admit(rl, &crit, "/bin/x", "/p", T0 + (uint64_t)i));
		cr_expect(admit(rl, &emerg, "/bin/x", "/p", T0 + (uint64_t)i));
		ok += admit(rl, &own, "/bin/x", "/p", T0 + (uint64_t)i);
	}
	cr_expect_eq(ok, 2, "a critical rule with its own rate: %u delivered, want 2", ok);
	ratelimit_free(rl);
}

Test(ratelimit, rate_off_and_config_off)
{
	struct tg_rate_defaults d = defs;
	struct tg_ratelimit *rl = ratelimit_new(&defs), *rl0;
	struct tg_rule off = rule_of("off", 6), plain = rule_of("plain", 6);

	off.rate.mode = TG_RATE_OFF;
	off.rate.has_dedup = true;
	off.rate.dedup_ns = 60 * S;   /* "off" wins: never limited */
	for (int i = 0; i < 50; i++)
		cr_expect(admit(rl, &off, "/bin/x", "/p", T0 + (uint64_t)i));
	d.max = 0;
	rl0 = ratelimit_new(&d);
	for (int i = 0; i < 50; i++)
		cr_expect(admit(rl0, &plain, "/bin/x", "/p", T0 + (uint64_t)i));
	ratelimit_free(rl);
	ratelimit_free(rl0);
}

Test(ratelimit, own_key_fields)
{
	struct tg_ratelimit *rl = ratelimit_new(&defs);
	struct tg_rule r = rule_of("bykey", 4);
	unsigned ok = 0;

	r.rate.mode = TG_RATE_OWN;
	r.rate.max = 1;
	r.rate.per_ns = 60 * S;
	r.rate.key[0] = fields_lookup("process.executable");
	r.rate.n_key = 1;
	/* paths differ, but the key is the executable only */
	for (int i = 0; i < 20; i++) {
		char p[32];

		snprintf(p, sizeof(p), "/p/%d", i);
		ok += admit(rl, &r, "/bin/x", p, T0 + (uint64_t)i);
	}
	cr_expect_eq(ok, 1);
	cr_expect(admit(rl, &r, "/bin/y", "/p/0", T0 + 100));
	ratelimit_flush(rl, T0 + 200, true, on_rec, NULL);
	cr_assert_eq(g_n_recs, 1);
	const cJSON *key = cJSON_GetObjectItem(sup(0), "key");
	cr_expect_eq(cJSON_GetArraySize(key), 1);
	cr_expect_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(key, "process.executable")),
			 "/bin/x");
	ratelimit_free(rl);
}

Test(ratelimit, dedup_window)
{
	struct tg_rate_defaults d = defs;
	struct tg_ratelimit *rl;
	struct tg_rule r = rule_of("dup", 4);

	d.max = 0;
	rl = ratelimit_new(&d);
	r.rate.has_dedup = true;
	r.rate.dedup_ns = 30 * S;
	cr_expect(admit(rl, &r, "/bin/x", "/p", T0));
	cr_expect_not(admit(rl, &r, "/bin/x", "/p", T0 + 10 * S));
	cr_expect_not(admit(rl, &r, "/bin/x", "/p", T0 + 29 * S));
	cr_expect(admit(rl, &r, "/bin/x", "/q", T0 + 29 * S), "another key is no duplicate");
	cr_expect(admit(rl, &r, "/bin/x", "/p", T0 + 30 * S), "the window is over");
	ratelimit_flush(rl, T0 + 31 * S, true, on_rec, NULL);
	cr_assert_eq(g_n_recs, 1);
	cr_expect_eq(sum_counts("dup", "dedup"), 2);
	ratelimit_free(rl);
}

Test(ratelimit, summaries_content_and_timing)
{
	struct tg_ratelimit *rl = ratelimit_new(&defs);
	struct tg_rule r = rule_of("Shadow read", 2);
	const cJSON *s, *ev;

	r.rate.mode = TG_RATE_OWN;
	r.rate.max = 1;
	r.rate.per_ns = 3600 * S;
	for (int i = 0; i < 5; i++)
		admit(rl, &r, "/bin/cat", "/etc/shadow", T0 + (uint64_t)i * S);
	ratelimit_flush(rl, T0 + 5 * S, false, on_rec, NULL);
	cr_expect_eq(g_n_recs, 0, "due report_s (10 s) after the first suppression, not before");
	ratelimit_flush(rl, T0 + 11 * S, false, on_rec, NULL);
	cr_assert_eq(g_n_recs, 1);
	ev = cJSON_GetObjectItem(g_recs[0], "event");
	cr_expect_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(ev, "kind")), "alert");
	cr_expect_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(ev, "action")), "alert-suppressed");
	cr_expect_eq(num_at(g_recs[0], "event", "severity"), 2, "the rule's own priority");
	cr_expect_not_null(cJSON_GetStringValue(cJSON_GetObjectItem(ev, "id")));
	cr_expect_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(g_recs[0], "schema_version")), "1");
	cr_expect_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(
				 cJSON_GetObjectItem(g_recs[0], "rule"), "name")), "Shadow read");
	cr_expect_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(
				 cJSON_GetObjectItem(g_recs[0], "twinguard"), "alert"), "priority")),
			 "critical");
	cr_expect(strstr(cJSON_GetStringValue(cJSON_GetObjectItem(g_recs[0], "message")),
			 "4 alerts of Shadow read suppressed") != NULL);
	s = sup(0);
	cr_expect_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(s, "rule")), "Shadow read");
	cr_expect_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(s, "reason")), "rate");
	cr_expect_eq(cJSON_GetNumberValue(cJSON_GetObjectItem(s, "count")), 4);
	cr_expect_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(s, "first")),
			 "2023-11-14T22:13:21.000000000Z");
	cr_expect_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(s, "last")),
			 "2023-11-14T22:13:24.000000000Z");
	const cJSON *key = cJSON_GetObjectItem(s, "key");
	cr_expect_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(key, "file.path")), "/etc/shadow");
	cr_expect_eq(cJSON_GetNumberValue(cJSON_GetObjectItem(key, "user.id")), 65534);
	cr_expect(cJSON_IsNull(cJSON_GetObjectItem(key, "destination.ip")));
	/* reported once: nothing more until new suppressions */
	ratelimit_flush(rl, T0 + 100 * S, true, on_rec, NULL);
	cr_expect_eq(g_n_recs, 1);
	admit(rl, &r, "/bin/cat", "/etc/shadow", T0 + 101 * S);
	ratelimit_flush(rl, T0 + 102 * S, true, on_rec, NULL);
	cr_expect_eq(g_n_recs, 2, "final reports what is pending at once");
	ratelimit_free(rl);
}

Test(ratelimit, eviction_keeps_counts)
{
	struct tg_rate_defaults d = defs;
	struct tg_ratelimit *rl;
	struct tg_ratelimit_stats st;
	struct tg_rule r[8];
	char name[8][8];
	uint64_t ok = 0, total = 0;

	d.max = 1;
	d.max_keys = 4;
	rl = ratelimit_new(&d);
	for (int k = 0; k < 8; k++) {
		snprintf(name[k], sizeof(name[k]), "r%d", k);
		r[k] = rule_of(name[k], 4);
	}
	for (int round = 0; round < 3; round++)
		for (int k = 0; k < 8; k++, total++)
			ok += admit(rl, &r[k], "/bin/x", "/p", T0 + total);
	ratelimit_stats(rl, &st);
	cr_expect_leq(st.keys, 4, "max_keys bounds the state: %lu", (unsigned long)st.keys);
	cr_expect_gt(st.evictions, 0);
	ratelimit_flush(rl, T0 + total, true, on_rec, NULL);
	cr_expect_eq(ok + sum_counts(NULL, NULL), total, "delivered %lu + summarised %lu != %lu",
		     (unsigned long)ok, (unsigned long)sum_counts(NULL, NULL), (unsigned long)total);
	cr_expect_eq(st.suppressed, total - ok);
	ratelimit_free(rl);
}

Test(ratelimit, key_cap_and_rule_cap_bound_a_varying_flood)
{
	struct tg_ratelimit *rl = ratelimit_new(&(struct tg_rate_defaults){
		.max = 2, .per_s = 60, .report_s = 10, .max_keys = 10000 });
	struct tg_ratelimit_stats st;
	struct tg_rule r = rule_of("varying", 4);
	uint64_t ok = 0, n = 2000;
	bool overflow = false;

	for (uint64_t i = 0; i < n; i++) {
		char p[32];

		snprintf(p, sizeof(p), "/tmp/f%lu", (unsigned long)i);
		ok += admit(rl, &r, "/bin/x", p, T0 + i);
	}
	cr_expect_leq(ok, 2 * TG_RATE_RULE_FACTOR, "rule-wide cap: %lu delivered", (unsigned long)ok);
	ratelimit_stats(rl, &st);
	cr_expect_leq(st.keys, TG_RATE_RULE_KEYS);
	ratelimit_flush(rl, T0 + n, true, on_rec, NULL);
	cr_expect_leq(g_n_recs, TG_RATE_RULE_KEYS + 1, "%zu summaries", g_n_recs);
	cr_expect_eq(ok + sum_counts("varying", "rate"), n);
	for (size_t i = 0; i < g_n_recs; i++)
		overflow |= cJSON_IsTrue(cJSON_GetObjectItem(sup(i), "overflow"));
	cr_expect(overflow, "keys past the cap are summarised together");
	ratelimit_free(rl);
}

Test(ratelimit, reload_keeps_state_by_name)
{
	struct tg_ratelimit *rl = ratelimit_new(&defs);
	struct tg_rule *old = calloc(1, sizeof(*old)), *cur;
	unsigned ok = 0;

	*old = rule_of("kept", 4);
	for (int i = 0; i < 3; i++)
		ok += admit(rl, old, "/bin/x", "/p", T0 + (uint64_t)i);
	free(old);
	/* the reloaded rule set: a new struct, the same name */
	cur = calloc(1, sizeof(*cur));
	*cur = rule_of(strdup("kept"), 4);
	ok += admit(rl, cur, "/bin/x", "/p", T0 + 10);
	cr_expect_eq(ok, 3, "the budget survived the reload");
	free(cur->name);
	free(cur);
	ratelimit_flush(rl, T0 + 20, true, on_rec, NULL);
	cr_expect_eq(sum_counts("kept", "rate"), 1);
	ratelimit_free(rl);
}

Test(ratelimit, time_backwards_and_null_inputs)
{
	struct tg_ratelimit *rl = ratelimit_new(NULL);
	struct tg_rule r = rule_of("t", 4);
	struct tg_alert none = { 0 };

	cr_expect(ratelimit_admit(NULL, &none, T0));
	cr_expect(ratelimit_admit(rl, &none, T0));
	/* NULL defaults: no default limit */
	for (int i = 0; i < 10; i++)
		cr_expect(admit(rl, &r, "/bin/x", "/p", T0 - (uint64_t)i * S));
	ratelimit_flush(NULL, T0, true, on_rec, NULL);
	ratelimit_free(rl);
	ratelimit_free(NULL);
}

/* ---- the loader ---- */

TestSuite(rate_rules, .init = tmp_setup, .fini = tmp_teardown);

static int load_text(const char *text, struct tg_ruleset *rs, struct tg_diag *d, char *path,
		     size_t len)
{
	const char *files[1] = { path };
	FILE *f;

	snprintf(path, len, "%s/r.json", tmp_root);
	f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs(text, f);
	fclose(f);
	diag_init(d);
	memset(rs, 0, sizeof(*rs));
	return rules_load(rs, files, 1, NULL, d);
}

static const struct tg_diag_entry *find_diag(const struct tg_diag *d, int line, const char *needle)
{
	for (size_t i = 0; i < d->n; i++)
		if (!d->v[i].warning && d->v[i].line == line && strstr(d->v[i].msg, needle) &&
		    strstr(d->v[i].msg, "; expected "))
			return &d->v[i];
	return NULL;
}

#define RULE_HEAD "{\"rule\": \"r\", \"condition\": \"event.action = open\", \"output\": \"o\", " \
		  "\"priority\": \"warning\""

Test(rate_rules, rate_and_dedup_parse)
{
	struct tg_ruleset rs;
	struct tg_diag d;
	char path[4200];
	const struct tg_rule *r;

	cr_assert_eq(load_text("[" RULE_HEAD ",\n \"rate\": {\"per\": \"1m\", \"max\": 10, "
			       "\"key\": [\"process.executable\", \"file.path\"]},\n"
			       " \"dedup\": \"30s\"},\n"
			       "{\"rule\": \"q\", \"condition\": \"event.action = exec\", \"output\": \"o\","
			       " \"priority\": \"notice\", \"rate\": \"off\"}]\n",
			       &rs, &d, path, sizeof(path)), 0);
	cr_assert_eq(rs.n_rules, 2);
	r = &rs.rules[0];
	cr_expect_eq(r->rate.mode, TG_RATE_OWN);
	cr_expect_eq(r->rate.max, 10);
	cr_expect_eq(r->rate.per_ns, 60 * S);
	cr_expect_eq(r->rate.n_key, 2);
	cr_expect_eq(r->rate.key[0], fields_lookup("process.executable"));
	cr_expect_eq(r->rate.key[1], fields_lookup("file.path"));
	cr_expect(r->rate.has_dedup);
	cr_expect_eq(r->rate.dedup_ns, 30 * S);
	cr_expect_eq(rs.rules[1].rate.mode, TG_RATE_OFF);
	cr_expect_not(rs.rules[1].rate.has_dedup);
	rules_free(&rs);
	diag_free(&d);
}

Test(rate_rules, patch_changes_rate_of_an_earlier_rule)
{
	struct tg_ruleset rs;
	struct tg_diag d;
	char path[4200];

	cr_assert_eq(load_text("[" RULE_HEAD "},\n{\"rule\": \"r\", \"rate\": \"off\", \"dedup\": \"off\"}]\n",
			       &rs, &d, path, sizeof(path)), 0);
	cr_assert_eq(rs.n_rules, 1);
	cr_expect_eq(rs.rules[0].rate.mode, TG_RATE_OFF);
	cr_expect(rs.rules[0].rate.has_dedup);
	cr_expect_eq(rs.rules[0].rate.dedup_ns, 0);
	cr_expect_eq(d.warnings, 0);
	rules_free(&rs);
	diag_free(&d);
}

Test(rate_rules, errors_name_line_and_expectation)
{
	static const struct {
		const char *text, *needle;
	} cases[] = {
		{ "\"rate\": \"sometimes\"", "expected \"off\" or {" },
		{ "\"rate\": 5", "\"rate\" is a number" },
		{ "\"rate\": {\"per\": \"1y\", \"max\": 1}", "invalid \"per\" \"1y\"" },
		{ "\"rate\": {\"max\": 1}", "missing key \"per\"" },
		{ "\"rate\": {\"per\": \"1m\"}", "missing key \"max\"" },
		{ "\"rate\": {\"per\": \"1m\", \"max\": 0}", "\"max\" is 0" },
		{ "\"rate\": {\"per\": \"1m\", \"max\": 1.5}", "\"max\" is 1.5" },
		{ "\"rate\": {\"per\": \"1m\", \"max\": 2, \"key\": [\"no.such\"]}", "unknown field 'no.such'" },
		{ "\"rate\": {\"per\": \"1m\", \"max\": 2, \"key\": [3]}", "element 1 of \"key\" is a number" },
		{ "\"rate\": {\"per\": \"1m\", \"max\": 2, \"key\": []}", "\"key\" has 0 fields" },
		{ "\"dedup\": \"forever\"", "invalid \"dedup\" \"forever\"" },
		{ "\"dedup\": 30", "\"dedup\" is a number" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct tg_ruleset rs;
		struct tg_diag d;
		char path[4200], text[1024];
		const struct tg_diag_entry *e;

		snprintf(text, sizeof(text), "[" RULE_HEAD ",\n  %s}]\n", cases[i].text);
		cr_expect_neq(load_text(text, &rs, &d, path, sizeof(path)), 0, "case %zu loaded", i);
		e = find_diag(&d, 2, cases[i].needle);
		cr_expect_not_null(e, "case %zu: no error on line 2 with '%s'", i, cases[i].needle);
		if (e)
			cr_expect_str_eq(e->file, path);
		cr_expect_eq(rs.n_rules, 0, "case %zu: the broken rule is dropped", i);
		rules_free(&rs);
		diag_free(&d);
	}
}

Test(rate_rules, shipped_packs_load)
{
	static const char *const files[] = { "rules/host.json", "rules/twin.json", "rules/agent.json" };
	struct tg_ruleset rs = { 0 };
	struct tg_diag d;

	diag_init(&d);
	cr_assert_eq(rules_load(&rs, files, 3, NULL, &d), 0);
	for (size_t i = 0; i < rs.n_rules; i++)
		if (!strcmp(rs.rules[i].name, "Shadow file read by unexpected program"))
			cr_expect_eq(rs.rules[i].rate.mode, TG_RATE_OWN,
				     "the flood's rule is critical: it needs its own rate");
	rules_free(&rs);
	diag_free(&d);
}
