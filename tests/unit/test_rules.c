/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Unit tests for user/rules_*.c and user/cmd_rules.c:
 * rule files -> compiled rule set, with every diagnostic at file:line:col.
 * Fixtures are in tests/unit/rules/; no root; run from the repository root.
 *
 * Positions below were counted in the fixture files: an edit there that
 * moves a line must move the number here.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "cmd_rules.h"
#include "cond.h"
#include "diag.h"
#include "fields.h"
#include "profile.h"
#include "rules.h"

#define DIR_ "tests/unit/rules/"
#define PACK DIR_ "pack.json"
#define LOCAL DIR_ "local.json"
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define PROFILE_LISTS 9

static struct tg_ruleset rs;
static struct tg_diag diag;
static char dump[16384];

static void setup(void)
{
	memset(&rs, 0, sizeof(rs));
	diag_init(&diag);
}

static void teardown(void)
{
	rules_free(&rs);
	rules_free(&rs);   /* idempotent */
	diag_free(&diag);
}

TestSuite(rules, .init = setup, .fini = teardown);

/* All diagnostics as text, for failure messages. */
static const char *diags(void)
{
	FILE *f = fmemopen(dump, sizeof(dump), "w");

	if (!f)
		return "(fmemopen failed)";
	diag_print(&diag, f);
	fclose(f);
	return dump;
}

static int load_prof(const char *const *files, size_t n, const struct tg_profile *prof)
{
	return rules_load(&rs, files, n, prof, &diag);
}

#define LOAD(...)                                                                        \
	({                                                                               \
		static const char *const files_[] = { __VA_ARGS__ };                     \
		load_prof(files_, ARRAY_SIZE(files_), NULL);                              \
	})

static const struct tg_rule *rule(const char *name)
{
	for (size_t i = 0; i < rs.n_rules; i++)
		if (!strcmp(rs.rules[i].name, name))
			return &rs.rules[i];
	return NULL;
}

static const struct tg_rule *must_rule(const char *name)
{
	const struct tg_rule *r = rule(name);

	cr_assert_not_null(r, "no rule '%s'; diagnostics:\n%s", name, diags());
	return r;
}

/* The one entry at file:line:col (col 0: any) of that severity. */
static const struct tg_diag_entry *at(int warning, const char *file, int line, int col)
{
	for (size_t i = 0; i < diag.n; i++) {
		const struct tg_diag_entry *e = &diag.v[i];

		if (e->warning == warning && e->file && !strcmp(e->file, file) && e->line == line &&
		    (!col || e->col == col))
			return e;
	}
	return NULL;
}

/* An error (or warning) at file:line:col naming item, whose message holds
 * needle and, for errors, says what was expected. */
static void expect_diag(int warning, const char *file, int line, int col, const char *item,
			const char *needle)
{
	const struct tg_diag_entry *e = at(warning, file, line, col);

	cr_assert_not_null(e, "no %s at %s:%d:%d; got:\n%s", warning ? "warning" : "error", file,
			   line, col, diags());
	if (item)
		cr_expect(e->item && !strcmp(e->item, item), "%s:%d:%d: item '%s', want '%s'", file,
			  line, col, e->item ? e->item : "(null)", item);
	cr_expect(strstr(e->msg, needle) != NULL, "%s:%d:%d: '%s' lacks '%s'", file, line, col,
		  e->msg, needle);
	if (!warning)
		cr_expect(strstr(e->msg, "; expected ") != NULL, "'%s' lacks '; expected '", e->msg);
	cr_expect(strchr(e->msg, '\n') == NULL, "message is not one line: '%s'", e->msg);
}

#define expect_error(...) expect_diag(0, __VA_ARGS__)
#define expect_warning(...) expect_diag(1, __VA_ARGS__)

static size_t count_msgs(const char *needle)
{
	size_t n = 0;

	for (size_t i = 0; i < diag.n; i++)
		n += strstr(diag.v[i].msg, needle) != NULL;
	return n;
}

/* cond_eval of c on one event given as JSON, twin.* derived from prof. */
static bool matches(const struct tg_cond *c, const char *json, const struct tg_profile *prof)
{
	cJSON *ev = cJSON_Parse(json);
	struct tg_view *v = malloc(sizeof(*v));
	bool r;

	cr_assert_not_null(ev, "bad test JSON: %s", json);
	cr_assert_not_null(v);
	cr_assert_not_null(c);
	view_init(v);
	cr_assert_eq(view_fill(v, ev, prof), 0, "view_fill: %s", json);
	r = cond_eval(c, v);
	free(v);
	cJSON_Delete(ev);
	return r;
}

static bool tags_are(const struct tg_rule *r, const char *const *want, size_t n)
{
	if (r->n_tags != n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (strcmp(r->tags[i], want[i]))
			return false;
	return true;
}

/* ------------------------------------------------------------------ */
/* A valid pack                                                       */

Test(rules, valid_pack_loads_clean)
{
	const struct tg_rule *r;
	static const char *const tags[] = { "twin", "T1059" };

	cr_assert_eq(LOAD(PACK), 0, "%s", diags());
	cr_expect_eq(diag.errors, 0);
	cr_expect_eq(diag.warnings, 0, "%s", diags());
	cr_assert_eq(rs.n_rules, 5);
	cr_expect_eq(rs.n_lists, PROFILE_LISTS + 1);
	cr_expect_eq(rs.n_macros, 1);
	/* File order is rule order. */
	cr_expect_str_eq(rs.rules[0].name, "Shell spawned by twin service");
	cr_expect_str_eq(rs.rules[4].name, "Deployer writes outside models");

	r = must_rule("Shell spawned by twin service");
	cr_expect_eq(r->kind, TG_RULE_EVENT);
	cr_expect_eq(r->priority, 2);
	cr_expect_str_eq(rules_priority_name(r->priority), "critical");
	cr_expect(r->enabled);
	cr_expect_eq(r->action, TG_ACT_ALERT);
	cr_expect(tags_are(r, tags, 2));
	cr_expect_str_eq(r->file, PACK);
	cr_expect_eq(r->line, 9);
	cr_expect_str_eq(r->desc, "a twin service started a shell // really");
	cr_expect_not_null(r->cond);
	cr_expect_eq(r->n_steps, 0);
	/* Output template: fields in order, "%%" and the sentence's dot are text. */
	cr_assert_not_null(r->out_fields);
	cr_expect_eq(r->out_fields[0], fields_lookup("process.executable"));
	cr_expect_eq(r->out_fields[1], fields_lookup("process.parent.executable"));
	cr_expect_eq(r->out_fields[2], fields_lookup("process.pid"));
	cr_expect_eq(r->out_fields[3], -1);
	/* Indexed by action: the macro's event.action reached the compiler. */
	{
		size_t n = 0;
		const char *const *acts = cond_actions(r->cond, &n);

		cr_assert_not_null(acts);
		cr_expect_eq(n, 1);
		cr_expect_str_eq(acts[0], "exec");
	}

	r = must_rule("Model read then sent");
	cr_expect_eq(r->kind, TG_RULE_SEQUENCE);
	cr_expect_eq(r->key, TG_KEY_LINEAGE);
	cr_expect_eq(r->window_ns, 60ull * 1000000000ull);
	cr_expect_eq(r->n_steps, 2);
	cr_expect_not_null(r->steps[0]);
	cr_expect_not_null(r->steps[1]);
	cr_expect_null(r->cond);
	cr_expect_eq(r->line, 15);

	r = must_rule("Large outbound volume");
	cr_expect_eq(r->kind, TG_RULE_THRESHOLD);
	cr_expect_eq(r->priority, 4);
	cr_expect_eq(r->window_ns, 5ull * 60 * 1000000000ull);
	cr_expect_eq(r->n_group_by, 2);
	cr_expect_eq(r->group_by[0], fields_lookup("process.entity_id"));
	cr_expect_eq(r->group_by[1], fields_lookup("destination.ip"));
	cr_expect_eq(r->sum_field, fields_lookup("network.bytes"));
	cr_expect_eq(r->limit, 104857600.0);
	cr_expect_not_null(r->cond);

	r = must_rule("Many failed opens");
	cr_expect_eq(r->priority, 6, "\"info\" is informational");
	cr_expect_eq(r->action, TG_ACT_KILL);
	cr_expect(!r->enabled);
	cr_expect_not_null(r->cond, "disabled rules are compiled too");
	cr_expect_eq(r->window_ns, 500ull * 1000000ull);
	cr_expect_eq(r->n_group_by, 0);
	cr_expect_eq(r->sum_field, -1, "no sum: count");
	cr_expect_eq(r->limit, 50.0);
	cr_expect_eq(r->n_tags, 0);

	r = must_rule("Deployer writes outside models");
	cr_expect_eq(r->priority, 5, "priority names are case-insensitive");
}

/* Exceptions are folded into the one compiled condition. */
Test(rules, exceptions_folded_into_condition)
{
	struct tg_profile prof;
	const struct tg_rule *r;

	profile_defaults(&prof);
	cr_assert_eq(LOAD(PACK), 0, "%s", diags());
	r = must_rule("Shell spawned by twin service");
	cr_expect(matches(r->cond, "{\"event\":{\"action\":\"exec\"},\"process\":{\"executable\":"
			  "\"/bin/sh\",\"parent\":{\"executable\":\"/opt/twin/bin/twin-engine\","
			  "\"args\":[\"twin-engine\",\"--serve\"]}}}", &prof));
	/* The appended list item counts. */
	cr_expect(matches(r->cond, "{\"event\":{\"action\":\"exec\"},\"process\":{\"executable\":"
			  "\"/usr/bin/zsh\",\"parent\":{\"executable\":\"/opt/twin/bin/twin-engine\"}}}",
			  &prof));
	/* The exception. */
	cr_expect(!matches(r->cond, "{\"event\":{\"action\":\"exec\"},\"process\":{\"executable\":"
			   "\"/bin/sh\",\"parent\":{\"executable\":\"/opt/twin/bin/twin-engine\","
			   "\"args\":[\"twin-engine\",\"--healthcheck\"]}}}", &prof));
	/* The condition itself. */
	cr_expect(!matches(r->cond, "{\"event\":{\"action\":\"exec\"},\"process\":{\"executable\":"
			   "\"/bin/ls\",\"parent\":{\"executable\":\"/opt/twin/bin/twin-engine\"}}}",
			   &prof));
	cr_expect(!matches(r->cond, "{\"event\":{\"action\":\"exec\"},\"process\":{\"executable\":"
			   "\"/bin/sh\",\"parent\":{\"executable\":\"/usr/bin/sshd\"}}}", &prof));
	cr_expect(!matches(r->cond, "{\"event\":{\"action\":\"fork\"},\"process\":{\"executable\":"
			   "\"/bin/sh\",\"parent\":{\"executable\":\"/opt/twin/bin/twin-engine\"}}}",
			   &prof));
	profile_free(&prof);
}

/* ------------------------------------------------------------------ */
/* Override, patch and append across files                            */

Test(rules, later_file_patches_appends_replaces)
{
	static const char *const shell_tags[] = { "twin", "T1059", "local" };
	static const char *const local_tags[] = { "local" };
	static const char *const svc_parent = "\"parent\":{\"executable\":\"/opt/twin/bin/twin-engine\"";
	struct tg_profile prof;
	const struct tg_rule *r;
	char ev[512];

	profile_defaults(&prof);
	cr_assert_eq(LOAD(PACK, LOCAL), 0, "%s", diags());
	cr_expect_eq(diag.warnings, 0, "%s", diags());
	cr_assert_eq(rs.n_rules, 5);
	cr_expect_eq(rs.n_lists, PROFILE_LISTS + 1);

	/* Patch: only the keys given change; it stays where it was defined. */
	r = must_rule("Large outbound volume");
	cr_expect(!r->enabled);
	cr_expect_eq(r->priority, 3);
	cr_expect(tags_are(r, local_tags, 1));
	cr_expect_eq(r->kind, TG_RULE_THRESHOLD);
	cr_expect_eq(r->sum_field, fields_lookup("network.bytes"));
	cr_expect_str_eq(r->file, PACK);
	cr_expect_eq(r->line, 21);

	/* Append: condition and-ed, exception and tags added; list and macro
	 * appends are seen by it. */
	r = must_rule("Shell spawned by twin service");
	cr_expect(tags_are(r, shell_tags, 3));
	snprintf(ev, sizeof(ev), "{\"event\":{\"action\":\"exec\"},\"user\":{\"id\":0},"
		 "\"process\":{\"executable\":\"/usr/bin/fish\",%s}}}", svc_parent);
	cr_expect(matches(r->cond, ev, &prof), "appended list item");
	snprintf(ev, sizeof(ev), "{\"event\":{\"action\":\"fork\"},\"user\":{\"id\":0},"
		 "\"process\":{\"executable\":\"/bin/sh\",%s}}}", svc_parent);
	cr_expect(matches(r->cond, ev, &prof), "appended macro: (exec) or (fork)");
	snprintf(ev, sizeof(ev), "{\"event\":{\"action\":\"exec\"},\"user\":{\"id\":1000},"
		 "\"process\":{\"executable\":\"/bin/sh\",%s}}}", svc_parent);
	cr_expect(!matches(r->cond, ev, &prof), "appended condition: user.id != 1000");
	snprintf(ev, sizeof(ev), "{\"event\":{\"action\":\"exec\"},\"user\":{\"id\":0},"
		 "\"process\":{\"executable\":\"/bin/sh\",%s,\"name\":\"twin-operator\"}}}",
		 svc_parent);
	cr_expect(!matches(r->cond, ev, &prof), "appended exception");
	snprintf(ev, sizeof(ev), "{\"event\":{\"action\":\"exec\"},\"user\":{\"id\":0},"
		 "\"process\":{\"executable\":\"/bin/sh\",%s,\"args\":[\"healthcheck\"]}}}",
		 svc_parent);
	cr_expect(!matches(r->cond, ev, &prof), "the shipped exception still holds");

	/* Replace: a whole new definition, keeping its place in the order. */
	r = must_rule("Many failed opens");
	cr_expect_eq(r, &rs.rules[3]);
	cr_expect_eq(r->kind, TG_RULE_EVENT);
	cr_expect_eq(r->priority, 7);
	cr_expect(r->enabled, "a replacement starts from the defaults");
	cr_expect_eq(r->action, TG_ACT_ALERT);
	cr_expect_str_eq(r->desc, "replaced");
	cr_expect_str_eq(r->file, LOCAL);
	cr_expect_eq(r->line, 15);
	cr_expect(matches(r->cond, "{\"event\":{\"action\":\"open\"},\"twinguard\":{\"errno\":"
			  "\"EACCES\"}}", &prof));

	/* A profile list appended to. */
	r = must_rule("Deployer writes outside models");
	cr_expect(matches(r->cond, "{\"event\":{\"action\":\"open\"},\"process\":{\"executable\":"
			  "\"/usr/local/bin/deploy\"},\"file\":{\"path\":\"/etc/passwd\"}}", &prof));
	cr_expect(!matches(r->cond, "{\"event\":{\"action\":\"open\"},\"process\":{\"executable\":"
			   "\"/usr/local/bin/deploy\"},\"file\":{\"path\":"
			   "\"/var/lib/twin/models/m.onnx\"}}", &prof));
	profile_free(&prof);
}

Test(rules, append_to_threshold_and_sequence_patch_exceptions)
{
	const char *f = DIR_ "append_more.json";
	struct tg_profile prof;
	const struct tg_rule *r;

	profile_defaults(&prof);
	cr_expect_eq(LOAD(PACK, DIR_ "append_more.json"), -1);
	expect_error(f, 11, 3, "rule 'Model read then sent'", "\"append\" cannot add a sequence");
	/* The sequence is still checked, like any value. */
	expect_error(f, 11, 104, "rule 'Model read then sent'", "sequence has 0 step(s)");
	cr_expect_eq(diag.errors, 2, "%s", diags());
	cr_assert_eq(rs.n_rules, 5, "the bad append is dropped, the rule stays");

	r = must_rule("Large outbound volume");
	cr_expect(matches(r->cond, "{\"event\":{\"action\":\"flow\"},\"destination\":{\"port\":80}}",
			  &prof));
	cr_expect(!matches(r->cond, "{\"event\":{\"action\":\"flow\"},\"destination\":{\"port\":"
			   "443}}", &prof));

	r = must_rule("Shell spawned by twin service");
	cr_expect(matches(r->cond, "{\"event\":{\"action\":\"exec\"},\"process\":{\"executable\":"
			  "\"/bin/sh\",\"parent\":{\"executable\":\"/opt/twin/bin/twin-engine\","
			  "\"args\":[\"--healthcheck\"]}}}", &prof), "exceptions patched away");

	r = must_rule("Model read then sent");
	cr_assert_eq(r->n_steps, 2);
	cr_expect(matches(r->steps[0], "{\"event\":{\"action\":\"open\"},\"file\":{\"path\":"
			  "\"/var/lib/twin/models/m.onnx\"},\"process\":{\"executable\":\"/bin/cp\"}}",
			  &prof));
	cr_expect(!matches(r->steps[0], "{\"event\":{\"action\":\"open\"},\"file\":{\"path\":"
			   "\"/var/lib/twin/models/m.onnx\"},\"process\":{\"executable\":"
			   "\"/usr/local/bin/backup\"}}", &prof), "exception in step 1");
	cr_expect(!matches(r->steps[1], "{\"event\":{\"action\":\"connect\"},\"destination\":"
			   "{\"ip\":\"203.0.113.9\"},\"network\":{\"direction\":\"egress\"},"
			   "\"process\":{\"executable\":\"/usr/local/bin/backup\"}}", &prof),
		  "exception in step 2");
	cr_expect(matches(r->steps[1], "{\"event\":{\"action\":\"connect\"},\"destination\":"
			  "{\"ip\":\"203.0.113.9\"},\"network\":{\"direction\":\"egress\"},"
			  "\"process\":{\"executable\":\"/bin/cp\"}}", &prof));
	profile_free(&prof);
}

Test(rules, duplicate_in_same_file)
{
	const char *f = DIR_ "dup.json";

	cr_expect_eq(LOAD(DIR_ "dup.json"), -1);
	cr_expect_eq(diag.errors, 1, "%s", diags());
	expect_error(f, 8, 3, "rule 'Twice'", "duplicate rule (first defined at " DIR_ "dup.json:4)");
	expect_warning(f, 7, 3, "list 'l'", "redefines the list from " DIR_ "dup.json:6");
	/* The patch on line 5 is fine; after an error no "unused" noise. */
	cr_expect_null(at(0, f, 5, 0));
	cr_expect_eq(count_msgs("never used"), 0, "%s", diags());
}

/* ------------------------------------------------------------------ */
/* Errors                                                             */

Test(rules, item_errors_located)
{
	static const struct {
		int line, col;
		const char *item, *needle;
	} want[] = {
		{ 4, 3, "item 1", "unknown item kind (first key \"rules\")" },
		{ 5, 3, "item 2", "item is a number" },
		{ 6, 3, "item 3", "more than one of \"rule\", \"macro\", \"list\"" },
		{ 7, 12, "list 'bad name'", "invalid name" },
		{ 8, 32, "list 'l_items'", "\"items\" is a string; expected an array" },
		{ 9, 37, "list 'l_elem'", "element 2 of \"items\" is a number; expected a string" },
		{ 10, 3, "macro 'm_nocond'", "missing key \"condition\"" },
		{ 11, 48, "list 'nolist'", "append to unknown list 'nolist'" },
		{ 12, 3, "rule 'No output'", "missing key \"output\"" },
		{ 13, 51, "rule 'Bad prio'", "unknown priority \"urgent\"; expected one of emergency" },
		{ 14, 72, "rule 'Bad action'", "unknown action \"block\"; expected alert or kill" },
		{ 15, 74, "rule 'Bad enabled'", "\"enabled\" is a string; expected a boolean" },
		{ 16, 41, "rule 'Bad output'", "unknown field 'process.pdi'" },
		{ 17, 77, "rule 'Bad by'", "unknown correlation \"session\"" },
		{ 18, 102, "rule 'Bad window'", "invalid window \"60\"" },
		{ 19, 123, "rule 'Long window'", "invalid window \"25h\"" },
		{ 20, 112, "rule 'One step'", "sequence has 1 step(s); expected 2 to 8" },
		{ 21, 136, "rule 'Bad limit'", "\"limit\" is 0; expected a positive number" },
		{ 22, 163, "rule 'Bad group'", "unknown field 'process.nope'" },
		{ 23, 144, "rule 'Bad sum'", "'process.name' is not numeric" },
		{ 24, 153, "rule 'Many groups'", "\"group_by\" has 5 fields; expected at most 4" },
		{ 25, 76, "rule 'No thr cond'", "missing key \"condition\"" },
		{ 26, 3, "rule 'Two bodies'", "more than one of \"condition\", \"sequence\", \"threshold\"" },
		{ 27, 3, "rule 'Not there'", "append to unknown rule" },
		{ 28, 3, "rule 'Not there either'", "no such rule to change" },
		{ 29, 116, "rule 'Bad exception'", "missing key \"name\"" },
		{ 30, 123, "rule 'Zero window'", "invalid window \"0s\"" },
		{ 31, 3, "item 28", "empty object" },
	};
	const char *f = DIR_ "errors.json";

	cr_expect_eq(LOAD(DIR_ "errors.json"), -1);
	for (size_t i = 0; i < ARRAY_SIZE(want); i++)
		expect_error(f, want[i].line, want[i].col, want[i].item, want[i].needle);
	cr_expect_eq(diag.errors, ARRAY_SIZE(want), "%s", diags());
	/* A bad item is dropped whole; the good one after it loads. */
	cr_expect_eq(rs.n_rules, 1);
	cr_expect_not_null(rule("Fine"));
}

Test(rules, condition_errors_point_into_the_string)
{
	const char *f = DIR_ "cond_errors.json";

	cr_expect_eq(LOAD(DIR_ "cond_errors.json"), -1);
	expect_error(f, 6, 103, "rule 'Unknown field'", "unknown field 'process.nope'");
	/* Inside a macro: at the macro's text, once for all its users. */
	expect_error(f, 4, 77, "macro 'bad_macro'", "(in macro 'bad_macro' used by rule 'Uses bad macro')");
	cr_expect_eq(count_msgs("in macro 'bad_macro'"), 1, "%s", diags());
	/* In the second exception, folded into the rule's condition. */
	expect_error(f, 10, 108, "rule 'Bad exception'", "is not a number");
	/* After JSON escapes (\" and \\ are 2 bytes in the file, 1 in the text). */
	expect_error(f, 11, 102, "rule 'Escapes'", "unknown field 'nope.field'");
	/* In a sequence step; at the end of the text: the closing quote. */
	expect_error(f, 13, 125, "rule 'Bad step'", "unexpected end of condition");
	/* Disabled rules are compiled, so their errors are reported. */
	expect_error(f, 14, 128, "rule 'Disabled but broken'", "unexpected end of condition");
	cr_expect_eq(diag.errors, 6, "%s", diags());
	cr_expect_eq(rs.n_rules, 0);
}

Test(rules, errors_in_appended_text)
{
	const char *f = DIR_ "append_bad.json";

	cr_expect_eq(LOAD(PACK, DIR_ "append_bad.json"), -1);
	/* The parenthesis after the appended text is the loader's: the user
	 * sees their text end too early, at its closing quote. */
	expect_error(f, 4, 69, "macro 'spawned_process'", "unexpected end of macro; expected");
	expect_error(f, 4, 69, NULL, "used by rule 'Shell spawned by twin service'");
	expect_error(f, 6, 3, "rule 'Model read then sent'",
		     "cannot append a condition to a sequence rule");
	expect_error(f, 7, 86, "rule 'Large outbound volume'", "'x80' is not a number");
	cr_expect_eq(diag.errors, 3, "%s", diags());
}

Test(rules, json_syntax_errors)
{
	cr_expect_eq(LOAD(DIR_ "syntax.json"), -1);
	/* The // comments (one with quotes and braces) did not shift it. */
	expect_error(DIR_ "syntax.json", 5, 3, NULL, "invalid JSON near '{\"list\": \"b\"");
	cr_expect_eq(diag.errors, 1, "%s", diags());
	diag_free(&diag);
	rules_free(&rs);

	cr_expect_eq(LOAD(DIR_ "not_array.json"), -1);
	expect_error(DIR_ "not_array.json", 2, 1, NULL, "top-level value is not an array");
	diag_free(&diag);
	rules_free(&rs);

	cr_expect_eq(LOAD(DIR_ "no-such-file.json"), -1);
	cr_assert_eq(diag.n, 1);
	cr_expect_str_eq(diag.v[0].file, DIR_ "no-such-file.json");
	cr_expect_eq(diag.v[0].line, 0);
	cr_expect(strstr(diag.v[0].msg, strerror(ENOENT)) != NULL, "%s", diag.v[0].msg);
}

Test(rules, empty_file_and_empty_array)
{
	char dir[] = "/tmp/tg-rules.XXXXXX", a[64], b[64];
	FILE *f;

	cr_assert_not_null(mkdtemp(dir));
	snprintf(a, sizeof(a), "%s/empty.json", dir);
	snprintf(b, sizeof(b), "%s/none.json", dir);
	f = fopen(a, "w");
	fclose(f);
	f = fopen(b, "w");
	fputs("// nothing yet\n[\n]\n", f);
	fclose(f);
	{
		const char *const files[] = { b };

		cr_expect_eq(load_prof(files, 1, NULL), 0, "%s", diags());
		cr_expect_eq(rs.n_rules, 0);
	}
	{
		const char *const files[] = { a };

		cr_expect_eq(load_prof(files, 1, NULL), -1);
		expect_error(a, 1, 1, NULL, "invalid JSON");
	}
	unlink(a);
	unlink(b);
	rmdir(dir);
}

/* ------------------------------------------------------------------ */
/* Warnings                                                           */

Test(rules, warnings_do_not_fail)
{
	const char *f = DIR_ "warnings.json";

	cr_expect_eq(LOAD(DIR_ "warnings.json"), 0, "%s", diags());
	cr_expect_eq(diag.errors, 0);
	expect_warning(f, 5, 3, "list 'unused_list'", "never used");
	expect_warning(f, 6, 3, "macro 'unused_macro'", "never used");
	expect_warning(f, 7, 99, "rule 'Unknown key'", "unknown key \"severity\" ignored");
	expect_warning(f, 8, 3, "rule 'Never'", "can never match");
	expect_warning(f, 9, 3, "rule 'Every event'", "evaluated for every event");
	expect_warning(f, 11, 27, "rule 'Every event'", "unknown key \"changes\"");
	expect_warning(f, 11, 3, "rule 'Every event'", "changes nothing");
	/* A disabled rule costs nothing at run time: no performance warning. */
	cr_expect_null(at(1, f, 10, 0), "%s", diags());
	cr_expect_eq(diag.warnings, 7, "%s", diags());
	cr_expect_eq(rs.n_rules, 4);
	/* Profile lists are never "unused". */
	cr_expect_eq(count_msgs("never used"), 2);
}

/* ------------------------------------------------------------------ */
/* Durations and priorities                                           */

Test(rules, durations)
{
	static const struct {
		const char *name;
		uint64_t ns;
	} ok[] = {
		{ "w1", 3600ull * 1000000000ull },  { "w2", 86400ull * 1000000000ull },
		{ "w3", 86400ull * 1000000000ull }, { "w4", 86400ull * 1000000000ull },
		{ "w5", 1000000ull },
	};
	const char *f = DIR_ "windows.json";

	cr_expect_eq(LOAD(DIR_ "windows.json"), -1);
	for (size_t i = 0; i < ARRAY_SIZE(ok); i++)
		cr_expect_eq(must_rule(ok[i].name)->window_ns, ok[i].ns, "%s", ok[i].name);
	cr_expect_eq(must_rule("w2")->limit, 1.5);
	expect_error(f, 9, 116, "rule 'bad1'", "invalid window \"86401s\"; expected a positive");
	expect_error(f, 10, 116, "rule 'bad2'", "invalid window \"1.5h\"");
	expect_error(f, 11, 116, "rule 'bad3'", "invalid window \"1d\"");
	expect_error(f, 12, 116, "rule 'bad4'", "invalid window \"-1s\"");
	expect_error(f, 13, 116, "rule 'bad5'", "\"window\" is a number; expected a string");
	expect_error(f, 14, 116, "rule 'bad6'", "invalid window");
	cr_expect_eq(diag.errors, 6, "%s", diags());
	cr_expect_eq(rs.n_rules, 5);
}

Test(rules, priorities)
{
	static const char *const names[] = { "emergency", "alert", "critical", "error",
					     "warning", "emergency", "informational", "debug" };

	for (int i = 0; i < 8; i++) {
		if (i != 5)
			cr_expect_eq(rules_priority_parse(names[i]), i, "%s", names[i]);
		cr_expect_eq(rules_priority_parse(rules_priority_name(i)), i);
	}
	cr_expect_str_eq(rules_priority_name(5), "notice");
	cr_expect_eq(rules_priority_parse("info"), 6);
	cr_expect_eq(rules_priority_parse("WARNING"), 4);
	cr_expect_eq(rules_priority_parse("Critical"), 2);
	cr_expect_eq(rules_priority_parse("warn"), -1);
	cr_expect_eq(rules_priority_parse(""), -1);
	cr_expect_eq(rules_priority_parse(NULL), -1);
	cr_expect_str_eq(rules_priority_name(-1), "unknown");
	cr_expect_str_eq(rules_priority_name(8), "unknown");
}

/* ------------------------------------------------------------------ */
/* The profile's lists                                                */

Test(rules, profile_lists)
{
	static const char *const files[] = { DIR_ "uses_profile.json" };
	const char *svc = "{\"event\":{\"action\":\"connect\"},\"process\":{\"executable\":"
			  "\"/opt/test/bin/svc\"},\"destination\":{\"port\":%d}}";
	const char *engine = "{\"event\":{\"action\":\"connect\"},\"process\":{\"executable\":"
			     "\"/opt/twin/bin/twin-engine\"},\"destination\":{\"port\":%d}}";
	struct tg_profile prof;
	const struct tg_rule *r;
	char ev[256];

	/* NULL: the built-in defaults. */
	cr_assert_eq(load_prof(files, 1, NULL), 0, "%s", diags());
	cr_expect_eq(rs.n_lists, PROFILE_LISTS + 1);
	r = must_rule("Service listens on control port");
	snprintf(ev, sizeof(ev), engine, 8080);
	cr_expect(matches(r->cond, ev, NULL), "default twin_services and twin_control_ports");
	snprintf(ev, sizeof(ev), svc, 8080);
	cr_expect(!matches(r->cond, ev, NULL));
	rules_free(&rs);

	/* A loaded profile. */
	profile_defaults(&prof);
	cr_assert_eq(profile_load(DIR_ "profile.json", &prof, &diag), 0, "%s", diags());
	cr_assert_eq(load_prof(files, 1, &prof), 0, "%s", diags());
	r = must_rule("Service listens on control port");
	snprintf(ev, sizeof(ev), svc, 9001);
	cr_expect(matches(r->cond, ev, &prof), "ports are list items as strings");
	snprintf(ev, sizeof(ev), svc, 8080);
	cr_expect(!matches(r->cond, ev, &prof));
	snprintf(ev, sizeof(ev), engine, 9000);
	cr_expect(!matches(r->cond, ev, &prof));
	snprintf(ev, sizeof(ev), svc, 7000);
	cr_expect(matches(r->cond, ev, &prof), "a number in a list");
	snprintf(ev, sizeof(ev), svc, 7001);
	cr_expect(matches(r->cond, ev, &prof));
	profile_free(&prof);
}

/* ------------------------------------------------------------------ */
/* rules_default_files                                                */

static void touch(const char *dir, const char *name)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	cr_assert_not_null(f, "%s: %s", path, strerror(errno));
	fputs("[]\n", f);
	fclose(f);
}

Test(rules, default_files_sorted_packs_then_local)
{
	char top[] = "/tmp/tg-rules.XXXXXX", packs[64], local[64], sub[80], missing[80];
	char **files = NULL;
	size_t n = 99;

	cr_assert_not_null(mkdtemp(top));
	snprintf(packs, sizeof(packs), "%s/packs", top);
	snprintf(local, sizeof(local), "%s/rules.d", top);
	snprintf(sub, sizeof(sub), "%s/dir.json", packs);
	snprintf(missing, sizeof(missing), "%s/nope", top);
	cr_assert_eq(mkdir(packs, 0755), 0);
	cr_assert_eq(mkdir(local, 0755), 0);
	cr_assert_eq(mkdir(sub, 0755), 0);
	touch(packs, "20-net.json");
	touch(packs, "10-proc.json");
	touch(packs, ".hidden.json");
	touch(packs, "README.txt");
	touch(packs, "x.json.bak");
	touch(local, "a-local.json");

	cr_assert_eq(rules_default_files(packs, local, &files, &n), 0);
	cr_assert_eq(n, 3);
	cr_expect(strstr(files[0], "/packs/10-proc.json") != NULL, "%s", files[0]);
	cr_expect(strstr(files[1], "/packs/20-net.json") != NULL, "%s", files[1]);
	cr_expect(strstr(files[2], "/rules.d/a-local.json") != NULL, "%s", files[2]);
	for (size_t i = 0; i < n; i++)
		free(files[i]);
	free(files);

	/* Missing dirs are empty, not errors. */
	cr_assert_eq(rules_default_files(missing, missing, &files, &n), 0);
	cr_expect_eq(n, 0);
	cr_expect_null(files);
	cr_assert_eq(rules_default_files(missing, local, &files, &n), 0);
	cr_expect_eq(n, 1);
	for (size_t i = 0; i < n; i++)
		free(files[i]);
	free(files);

	{
		char cmd[128];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", top);
		cr_expect_eq(system(cmd), 0);
	}
}

/* ------------------------------------------------------------------ */
/* twinguard rules check|list                                         */

static char out[16384], err[16384];

static void slurp(int fd, char *buf, size_t len)
{
	ssize_t n;

	lseek(fd, 0, SEEK_SET);
	n = read(fd, buf, len - 1);
	buf[n > 0 ? n : 0] = 0;
	close(fd);
}

/* cmd_rules(argv...) with stdout and stderr captured into out and err. */
static int run_(char **argv, int argc)
{
	FILE *fo = tmpfile(), *fe = tmpfile();
	int so, se, rc;

	cr_assert(fo && fe);
	fflush(stdout);
	fflush(stderr);
	so = dup(1);
	se = dup(2);
	dup2(fileno(fo), 1);
	dup2(fileno(fe), 2);
	rc = cmd_rules(argc, argv);
	fflush(stdout);
	fflush(stderr);
	dup2(so, 1);
	dup2(se, 2);
	close(so);
	close(se);
	slurp(dup(fileno(fo)), out, sizeof(out));
	slurp(dup(fileno(fe)), err, sizeof(err));
	fclose(fo);
	fclose(fe);
	return rc;
}

#define RUN(...)                                                                  \
	({                                                                        \
		char *argv_[] = { "rules", __VA_ARGS__, NULL };                   \
		run_(argv_, (int)ARRAY_SIZE(argv_) - 1);                          \
	})

#define PROF "--profile", DIR_ "profile.json"

Test(rules_cmd, check_exit_codes)
{
	cr_expect_eq(RUN("check", PROF, PACK), 0, "%s", err);
	cr_expect_str_eq(out, "5 rules (4 enabled), 10 lists, 1 macros: 0 errors, 0 warnings\n");
	cr_expect_str_eq(err, "");

	cr_expect_eq(RUN("check", PROF, PACK, LOCAL), 0, "%s", err);
	cr_expect_str_eq(out, "5 rules (4 enabled), 10 lists, 1 macros: 0 errors, 0 warnings\n");

	/* Warnings alone pass. */
	cr_expect_eq(RUN("check", PROF, DIR_ "warnings.json"), 0);
	cr_expect(strstr(out, ": 0 errors, 7 warnings\n") != NULL, "%s", out);
	cr_expect(strstr(err, DIR_ "warnings.json:8:3: warning: rule 'Never': ") != NULL, "%s", err);

	/* Errors fail, printed as file:line:col: error: item: message. */
	cr_expect_eq(RUN("check", PROF, DIR_ "errors.json"), 1);
	cr_expect(strstr(out, "1 rules (1 enabled), 9 lists, 0 macros: 28 errors, 0 warnings\n") != NULL,
		  "%s", out);
	cr_expect(strstr(err, DIR_ "errors.json:13:51: error: rule 'Bad prio': unknown priority") !=
		  NULL, "%s", err);

	cr_expect_eq(RUN("check", PROF, DIR_ "no-such-file.json"), 1);
	/* A broken profile is an error too. */
	cr_expect_eq(RUN("check", "--profile", DIR_ "no-such-profile.json", PACK), 1);
	cr_expect(strstr(out, ": 1 errors") != NULL, "%s", out);
}

Test(rules_cmd, list_table)
{
	cr_expect_eq(RUN("list", PROF, PACK, LOCAL), 0, "%s", err);
	cr_expect(strncmp(out, "NAME ", 5) == 0, "%s", out);
	cr_expect(strstr(out, "PRIORITY") && strstr(out, "ENABLED") && strstr(out, "TAGS") &&
		  strstr(out, "SOURCE"), "%s", out);
	cr_expect(strstr(out, "Model read then sent") && strstr(out, " sequence ") &&
		  strstr(out, " threshold ") && strstr(out, "twin,T1059,local"), "%s", out);
	cr_expect(strstr(out, DIR_ "local.json:15\n") != NULL, "%s", out);
	cr_expect(strstr(out, DIR_ "pack.json:21\n") != NULL, "%s", out);
	cr_expect(strstr(out, "\n5 rules (4 enabled)") != NULL, "%s", out);

	cr_expect_eq(RUN("list", PROF, DIR_ "cond_errors.json"), 1);
}

Test(rules_cmd, usage)
{
	char *none[] = { "rules", NULL };

	cr_expect_eq(run_(none, 1), 64);
	cr_expect(strstr(err, "Usage: twinguard rules") != NULL, "%s", err);
	cr_expect_eq(RUN("--help"), 0);
	cr_expect(strstr(out, "Usage: twinguard rules check") != NULL, "%s", out);
	cr_expect_eq(RUN("check", "--help"), 0);
	cr_expect(strstr(out, "Usage:") != NULL);
	cr_expect_eq(RUN("list", "-h"), 0);
	cr_expect_eq(RUN("verify", PACK), 64);
	cr_expect(strstr(err, "unknown rules command 'verify'") != NULL, "%s", err);
	cr_expect_eq(RUN("check", "--bogus", PACK), 64);
	cr_expect_eq(RUN("check", "--profile"), 64);
	/* Options may follow the files (getopt permutes), and it still works
	 * after the calls above left getopt's state behind. */
	cr_expect_eq(RUN("check", PACK, PROF), 0, "%s", err);
}

/* cJSON skips a raw control byte as whitespace, the position scanner did
 * not, and used to loop until memory ran out: now a clean error. */
Test(rules, control_byte_between_values_is_an_error)
{
	char path[] = "/tmp/tg-rules-ctl-XXXXXX";
	const char *files[] = { path };
	int fd = mkstemp(path);

	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, "[\x01{\"rule\": \"x\"}]", 16), 16);
	close(fd);
	cr_expect_neq(rules_load(&rs, files, 1, NULL, &diag), 0);
	cr_expect_gt(diag.errors, 0);
	cr_expect(strstr(diags(), "control character"), "%s", diags());
	unlink(path);
}
