// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Unit tests for user/engine.c, engine_state.c and alert.c: rules built by
 * hand with conditions from cond_compile(), events written as JSON lines
 * (the shape docs/events.md describes), parsed and filled into views the
 * way the agent does, then evaluated at explicit times. docs/engine.md is
 * the behaviour these tests hold the code to. No root needed. */
#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cjson/cJSON.h>

#include "cond.h"
#include "engine.h"
#include "fields.h"
#include "rules.h"

#define SEC 1000000000ull
#define MAX_RULES 8
#define MAX_EVENTS 64
#define MAX_GOT 64

/* ---- fixture: rules, events, collected alerts -------------------------- */

static struct tg_rule g_rules[MAX_RULES];
static struct tg_ruleset g_rs;
static struct tg_engine *g_eng;

static cJSON *g_json[MAX_EVENTS];
static struct tg_view *g_views[MAX_EVENTS];
static size_t g_nev;

struct got {
	char rule[64];
	char output[1024];
	cJSON *details;        /* copy, NULL for single-event rules */
	cJSON *line;           /* engine_alert_json() */
};
static struct got g_got[MAX_GOT];
static size_t g_ngot;

static void fixture_fini(void)
{
	size_t i, k;

	engine_free(g_eng);
	g_eng = NULL;
	for (i = 0; i < g_rs.n_rules; i++) {
		cond_free(g_rules[i].cond);
		for (k = 0; k < g_rules[i].n_steps; k++)
			cond_free(g_rules[i].steps[k]);
	}
	memset(g_rules, 0, sizeof(g_rules));
	memset(&g_rs, 0, sizeof(g_rs));
	for (i = 0; i < g_nev; i++) {
		cJSON_Delete(g_json[i]);
		free(g_views[i]);
	}
	g_nev = 0;
	for (i = 0; i < g_ngot; i++) {
		cJSON_Delete(g_got[i].details);
		cJSON_Delete(g_got[i].line);
	}
	g_ngot = 0;
}

TestSuite(engine, .fini = fixture_fini);

static const char *no_macro(void *ctx, const char *name)
{
	(void)ctx;
	(void)name;
	return NULL;
}

static const char *const *no_list(void *ctx, const char *name, size_t *n)
{
	(void)ctx;
	(void)name;
	*n = 0;
	return NULL;
}

static void no_used(void *ctx, const char *name)
{
	(void)ctx;
	(void)name;
}

static struct tg_cond *C(const char *text)
{
	static const struct tg_cond_env env = { no_macro, no_list, no_used, NULL };
	struct tg_cond_error err = { 0 };
	struct tg_cond *c = cond_compile(text, &env, &err);

	cr_assert_not_null(c, "cond_compile(%s): %s at %zu", text, err.msg, err.offset);
	return c;
}

static int F(const char *name)
{
	int id = fields_lookup(name);

	cr_assert_geq(id, 0, "field %s unknown", name);
	return id;
}

static struct tg_rule *rule_base(const char *name, enum tg_rule_kind kind)
{
	struct tg_rule *r;

	cr_assert_lt(g_rs.n_rules, MAX_RULES);
	r = &g_rules[g_rs.n_rules++];
	g_rs.rules = g_rules;
	r->name = (char *)name;
	r->desc = (char *)"test rule";
	r->output = (char *)"%rule-less %process.executable";
	r->priority = 4;
	r->enabled = true;
	r->action = TG_ACT_ALERT;
	r->kind = kind;
	r->file = (char *)"rules/test.json";
	r->line = 1;
	r->sum_field = -1;
	return r;
}

static struct tg_rule *rule_event(const char *name, const char *cond)
{
	struct tg_rule *r = rule_base(name, TG_RULE_EVENT);

	r->cond = C(cond);
	return r;
}

/* Steps are given as condition texts, NULL-terminated. */
static struct tg_rule *rule_seq(const char *name, enum tg_seq_key key, uint64_t window_ns, ...)
{
	struct tg_rule *r = rule_base(name, TG_RULE_SEQUENCE);
	const char *text;
	va_list ap;

	r->key = key;
	r->window_ns = window_ns;
	va_start(ap, window_ns);
	while ((text = va_arg(ap, const char *)))
		r->steps[r->n_steps++] = C(text);
	va_end(ap);
	return r;
}

static struct tg_rule *rule_thr(const char *name, const char *cond, uint64_t window_ns,
				double limit, const char *group, const char *sum)
{
	struct tg_rule *r = rule_base(name, TG_RULE_THRESHOLD);

	r->cond = C(cond);
	r->window_ns = window_ns;
	r->limit = limit;
	if (group)
		r->group_by[r->n_group_by++] = F(group);
	r->sum_field = sum ? F(sum) : -1;
	return r;
}

static void engine_start(size_t max_states)
{
	struct tg_engine_limits lim = { .max_states = max_states };

	g_eng = engine_new(&g_rs, &lim);
	cr_assert_not_null(g_eng);
}

/* An event line from JSON text; the view lives until the test ends. */
static struct tg_view *view_of(const char *fmt, ...)
{
	char text[4096];
	struct tg_view *v;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	cr_assert_lt(g_nev, MAX_EVENTS);
	g_json[g_nev] = cJSON_Parse(text);
	cr_assert_not_null(g_json[g_nev], "bad test JSON: %s", text);
	v = g_views[g_nev] = malloc(sizeof(*v));
	cr_assert_not_null(v);
	view_init(v);
	cr_assert_eq(view_fill(v, g_json[g_nev], NULL), 0, "view_fill(%s)", text);
	g_nev++;
	return v;
}

/* A process event: action, pid, entity id, ancestors' entity ids ("A,B",
 * nearest first, may be ""), uid, executable, and more members of the top
 * object ("" or ",\"file\":{...}"). */
static struct tg_view *proc_ev(const char *action, int pid, const char *ent, const char *anc,
			       int uid, const char *exe, const char *extra)
{
	char ancs[1024] = "", *p = ancs;
	const char *a = anc;
	int apid = pid - 1;

	while (a && *a) {
		size_t n = strcspn(a, ",");

		p += snprintf(p, sizeof(ancs) - (size_t)(p - ancs),
			      "%s{\"pid\":%d,\"entity_id\":\"%.*s\",\"name\":\"x\"}",
			      p == ancs ? "" : ",", apid--, (int)n, a);
		a += n + (a[n] == ',');
	}
	return view_of("{\"@timestamp\":\"2026-11-26T02:03:08.938843676Z\","
		       "\"event\":{\"kind\":\"event\",\"action\":\"%s\",\"sequence\":1},"
		       "\"process\":{\"pid\":%d,\"entity_id\":\"%s\",\"executable\":\"%s\","
		       "\"name\":\"x\",\"ancestors\":[%s]},"
		       "\"user\":{\"id\":%d,\"name\":\"u\"}%s}",
		       action, pid, ent, exe, ancs, uid, extra ? extra : "");
}

static void on_alert(void *ctx, const struct tg_alert *a)
{
	struct got *g;

	(void)ctx;
	cr_assert_lt(g_ngot, MAX_GOT);
	g = &g_got[g_ngot++];
	snprintf(g->rule, sizeof(g->rule), "%s", a->rule->name);
	snprintf(g->output, sizeof(g->output), "%s", a->output);
	g->details = a->details ? cJSON_Duplicate(a->details, true) : NULL;
	g->line = engine_alert_json(a);
	cr_assert_not_null(g->line);
}

/* Test times are seconds after T0 (now_ns 0 would mean "read @timestamp").
 * T0 is a multiple of every window/16 used here, so bucket edges fall on
 * round test times. */
#define T0 1000.0

static void eval_at(struct tg_view *v, double sec)
{
	engine_eval(g_eng, v, (uint64_t)((T0 + sec) * 1e9 + 0.5), on_alert, NULL);
}

static const cJSON *jget(const cJSON *o, const char *path)
{
	char buf[256], *save = NULL, *tok;

	snprintf(buf, sizeof(buf), "%s", path);
	for (tok = strtok_r(buf, ".", &save); tok && o; tok = strtok_r(NULL, ".", &save)) {
		if (cJSON_IsArray(o))
			o = cJSON_GetArrayItem(o, atoi(tok));
		else
			o = cJSON_GetObjectItemCaseSensitive(o, tok);
	}
	return o;
}

static const char *jstr(const cJSON *o, const char *path)
{
	const cJSON *x = jget(o, path);

	cr_assert(cJSON_IsString(x), "%s is not a string", path);
	return x->valuestring;
}

static double jnum(const cJSON *o, const char *path)
{
	const cJSON *x = jget(o, path);

	cr_assert(cJSON_IsNumber(x), "%s is not a number", path);
	return x->valuedouble;
}

static struct tg_engine_stats stats(void)
{
	struct tg_engine_stats st;

	engine_stats(g_eng, &st);
	return st;
}

/* ---- single-event rules and the action index ---------------------------- */

Test(engine, single_rules_fire_only_on_their_action)
{
	struct tg_view *ex, *op;

	rule_event("exec_rule", "event.action = exec and process.executable = /usr/bin/curl");
	rule_event("open_rule", "event.action = open and file.path startswith /etc/");
	engine_start(16);
	ex = proc_ev("exec", 10, "E10", "", 0, "/usr/bin/curl", NULL);
	op = proc_ev("open", 10, "E10", "", 0, "/usr/bin/curl",
		     ",\"file\":{\"path\":\"/etc/shadow\"}");

	eval_at(ex, 1);
	cr_assert_eq(g_ngot, 1);
	cr_assert_str_eq(g_got[0].rule, "exec_rule");
	cr_assert_null(g_got[0].details);
	eval_at(op, 2);
	cr_assert_eq(g_ngot, 2);
	cr_assert_str_eq(g_got[1].rule, "open_rule");
	cr_assert_eq(stats().events, 2);
	cr_assert_eq(stats().alerts, 2);
}

/* A view whose event.action holds "open" and then "exec": the engine
 * dispatches on the first value, while "event.action = exec" would match
 * it (any value matches). So the exec rule firing here would mean the
 * index let it run on an open. */
Test(engine, index_does_not_run_exec_rule_on_open)
{
	struct tg_view *v = malloc(sizeof(*v));
	int act = F("event.action"), pid = F("process.pid");

	cr_assert_not_null(v);
	g_views[g_nev] = v;
	g_json[g_nev++] = NULL;
	rule_event("exec_rule", "event.action = exec");
	rule_event("any_rule", "process.pid = 7");
	engine_start(16);
	view_init(v);
	cr_assert_eq(view_add_str(v, act, "open", 4), 0);
	cr_assert_eq(view_add_str(v, act, "exec", 4), 0);
	cr_assert_eq(view_add_num(v, pid, 7), 0);
	{
		const struct tg_val *vals;

		cr_assert_eq(view_get(v, act, &vals), 2, "the view should hold both actions");
		cr_assert(cond_eval(g_rules[0].cond, v), "the exec condition matches the view");
	}
	eval_at(v, 1);
	cr_assert_eq(g_ngot, 1);
	cr_assert_str_eq(g_got[0].rule, "any_rule");
}

Test(engine, any_bucket_runs_on_every_action_in_rule_order)
{
	struct tg_view *ex, *op, *odd, *none;

	rule_event("any1", "process.executable = /usr/bin/python3");
	rule_event("exec_only", "event.action = exec");
	rule_event("any2", "user.id = 1000");
	engine_start(16);
	ex = proc_ev("exec", 10, "E10", "", 1000, "/usr/bin/python3", NULL);
	op = proc_ev("open", 10, "E10", "", 1000, "/usr/bin/python3", NULL);
	odd = proc_ev("no-such-action", 10, "E10", "", 1000, "/usr/bin/python3", NULL);
	none = view_of("{\"process\":{\"pid\":3,\"executable\":\"/usr/bin/python3\"}}");

	eval_at(ex, 1);
	cr_assert_eq(g_ngot, 3);
	cr_assert_str_eq(g_got[0].rule, "any1");
	cr_assert_str_eq(g_got[1].rule, "exec_only");
	cr_assert_str_eq(g_got[2].rule, "any2");
	eval_at(op, 2);
	eval_at(odd, 3);
	cr_assert_eq(g_ngot, 7);
	cr_assert_str_eq(g_got[3].rule, "any1");
	cr_assert_str_eq(g_got[4].rule, "any2");
	cr_assert_str_eq(g_got[5].rule, "any1");
	cr_assert_str_eq(g_got[6].rule, "any2");
	eval_at(none, 4);
	cr_assert_eq(g_ngot, 8);
	cr_assert_str_eq(g_got[7].rule, "any1");
}

Test(engine, disabled_rule_never_fires)
{
	struct tg_rule *r = rule_event("off", "event.action = exec");

	r->enabled = false;
	rule_event("on", "event.action = exec");
	engine_start(16);
	eval_at(proc_ev("exec", 1, "E1", "", 0, "/bin/true", NULL), 1);
	cr_assert_eq(g_ngot, 1);
	cr_assert_str_eq(g_got[0].rule, "on");
}

Test(engine, no_callback_still_counts)
{
	rule_event("r", "event.action = exec");
	engine_start(16);
	engine_eval(g_eng, proc_ev("exec", 1, "E1", "", 0, "/bin/true", NULL), SEC, NULL, NULL);
	cr_assert_eq(stats().alerts, 1);
	cr_assert_eq(g_ngot, 0);
}

/* ---- sequences ----------------------------------------------------------- */

#define STEP_CURL "event.action = exec and process.executable = /usr/bin/curl"
#define STEP_MODEL "event.action = open and file.path startswith /opt/twin/models/"
#define MODEL_FILE ",\"file\":{\"path\":\"/opt/twin/models/grid.onnx\"}"

Test(engine, sequence_by_process)
{
	rule_seq("seq", TG_KEY_PROCESS, 10 * SEC, STEP_CURL, STEP_MODEL, NULL);
	engine_start(16);

	eval_at(proc_ev("exec", 20, "E20", "", 0, "/usr/bin/curl", NULL), 1);
	cr_assert_eq(g_ngot, 0);
	cr_assert_eq(stats().states, 1);
	/* Another process: no match. */
	eval_at(proc_ev("open", 21, "E21", "E20", 0, "/usr/bin/curl", MODEL_FILE), 2);
	cr_assert_eq(g_ngot, 0);
	eval_at(proc_ev("open", 20, "E20", "", 0, "/usr/bin/curl", MODEL_FILE), 3);
	cr_assert_eq(g_ngot, 1);
	cr_assert_str_eq(g_got[0].rule, "seq");
	cr_assert_str_eq(jstr(g_got[0].details, "key"), "E20");
	cr_assert_str_eq(jstr(g_got[0].details, "by"), "process");
	cr_assert_eq(cJSON_GetArraySize(jget(g_got[0].details, "steps")), 2);
	cr_assert_str_eq(jstr(g_got[0].details, "steps.0.action"), "exec");
	cr_assert_eq(jnum(g_got[0].details, "steps.0.pid"), 20);
	cr_assert_str_eq(jstr(g_got[0].details, "steps.0.executable"), "/usr/bin/curl");
	cr_assert_null(jget(g_got[0].details, "steps.0.path"));
	cr_assert_str_eq(jstr(g_got[0].details, "steps.0.time"), "2026-11-26T02:03:08.938843676Z");
	cr_assert_str_eq(jstr(g_got[0].details, "steps.1.action"), "open");
	cr_assert_str_eq(jstr(g_got[0].details, "steps.1.path"), "/opt/twin/models/grid.onnx");
	/* The completed state is reset: a second open alone does nothing. */
	cr_assert_eq(stats().states, 0);
	eval_at(proc_ev("open", 20, "E20", "", 0, "/usr/bin/curl", MODEL_FILE), 4);
	cr_assert_eq(g_ngot, 1);
}

Test(engine, sequence_window_expires)
{
	rule_seq("seq", TG_KEY_PROCESS, 10 * SEC, STEP_CURL, STEP_MODEL, NULL);
	engine_start(16);

	eval_at(proc_ev("exec", 20, "E20", "", 0, "/usr/bin/curl", NULL), 1);
	eval_at(proc_ev("open", 20, "E20", "", 0, "/usr/bin/curl", MODEL_FILE), 11.5);
	cr_assert_eq(g_ngot, 0);
	cr_assert_eq(stats().expired, 1);
	cr_assert_eq(stats().states, 0);
	/* Exactly at the end of the window still counts. */
	eval_at(proc_ev("exec", 20, "E20", "", 0, "/usr/bin/curl", NULL), 20);
	eval_at(proc_ev("open", 20, "E20", "", 0, "/usr/bin/curl", MODEL_FILE), 30);
	cr_assert_eq(g_ngot, 1);
}

Test(engine, sequence_out_of_order_does_not_complete)
{
	rule_seq("seq", TG_KEY_PROCESS, 10 * SEC, STEP_CURL, STEP_MODEL, NULL);
	engine_start(16);

	eval_at(proc_ev("open", 20, "E20", "", 0, "/usr/bin/curl", MODEL_FILE), 1);
	eval_at(proc_ev("exec", 20, "E20", "", 0, "/usr/bin/curl", NULL), 2);
	cr_assert_eq(g_ngot, 0);
	cr_assert_eq(stats().states, 1);
	eval_at(proc_ev("open", 20, "E20", "", 0, "/usr/bin/curl", MODEL_FILE), 3);
	cr_assert_eq(g_ngot, 1);
}

Test(engine, sequence_three_steps_in_order_only)
{
	rule_seq("seq3", TG_KEY_PROCESS, 10 * SEC, "event.action = exec", "event.action = open",
		 "event.action = connect", NULL);
	engine_start(16);

	eval_at(proc_ev("exec", 5, "E5", "", 0, "/bin/a", NULL), 1);
	eval_at(proc_ev("connect", 5, "E5", "", 0, "/bin/a", NULL), 2);   /* step 3 too early */
	cr_assert_eq(g_ngot, 0);
	eval_at(proc_ev("open", 5, "E5", "", 0, "/bin/a", NULL), 3);
	/* step 1 again does not throw away progress made inside the window */
	eval_at(proc_ev("exec", 5, "E5", "", 0, "/bin/a", NULL), 4);
	eval_at(proc_ev("connect", 5, "E5", "", 0, "/bin/a",
			",\"destination\":{\"ip\":\"10.1.2.3\",\"port\":502}"), 5);
	cr_assert_eq(g_ngot, 1);
	cr_assert_eq(cJSON_GetArraySize(jget(g_got[0].details, "steps")), 3);
	cr_assert_str_eq(jstr(g_got[0].details, "steps.2.destination"), "10.1.2.3:502");
}

Test(engine, sequence_step_strings_are_bounded)
{
	char path[700], extra[800];

	memset(path, 'p', sizeof(path) - 1);
	path[0] = '/';
	path[sizeof(path) - 1] = '\0';
	snprintf(extra, sizeof(extra), ",\"file\":{\"path\":\"%s\"}", path);
	rule_seq("seq", TG_KEY_PROCESS, 10 * SEC, "event.action = open", "event.action = exec",
		 NULL);
	engine_start(16);
	eval_at(proc_ev("open", 5, "E5", "", 0, "/usr/bin/cp", extra), 1);
	eval_at(proc_ev("exec", 5, "E5", "", 0, "/usr/bin/nc", NULL), 2);
	cr_assert_eq(g_ngot, 1);
	/* An earlier step keeps at most 255 bytes per string... */
	cr_assert_eq(strlen(jstr(g_got[0].details, "steps.0.path")), 255);
	cr_assert_eq(strncmp(jstr(g_got[0].details, "steps.0.path"), path, 255), 0);
	cr_assert_str_eq(jstr(g_got[0].details, "steps.0.executable"), "/usr/bin/cp");
	/* ...the last step is the event itself: whole. */
	cr_assert_str_eq(jstr(g_got[0].details, "steps.1.executable"), "/usr/bin/nc");
}

#define STEP_SHELL "event.action = exec and process.executable = /usr/bin/bash"
#define STEP_C2 "event.action = connect and destination.port = 4444"
#define C2_DEST ",\"destination\":{\"ip\":\"203.0.113.9\",\"port\":4444}"

Test(engine, sequence_by_lineage)
{
	rule_seq("lin", TG_KEY_LINEAGE, 60 * SEC, STEP_SHELL, STEP_C2, NULL);
	engine_start(16);

	eval_at(proc_ev("exec", 100, "ROOT", "INIT", 0, "/usr/bin/bash", NULL), 1);
	/* Unrelated process: its ancestry does not contain ROOT. */
	eval_at(proc_ev("connect", 300, "OTHER", "X,INIT", 0, "/usr/bin/nc", C2_DEST), 2);
	cr_assert_eq(g_ngot, 0);
	/* A grandchild of ROOT. */
	eval_at(proc_ev("connect", 102, "GRAND", "CHILD,ROOT,INIT", 0, "/usr/bin/nc", C2_DEST), 3);
	cr_assert_eq(g_ngot, 1);
	cr_assert_str_eq(jstr(g_got[0].details, "key"), "ROOT");
	cr_assert_str_eq(jstr(g_got[0].details, "by"), "lineage");
	cr_assert_eq(jnum(g_got[0].details, "steps.0.pid"), 100);
	cr_assert_eq(jnum(g_got[0].details, "steps.1.pid"), 102);
	cr_assert_str_eq(jstr(g_got[0].details, "steps.1.destination"), "203.0.113.9:4444");

	/* The root process itself may take the later step too. */
	eval_at(proc_ev("exec", 100, "ROOT", "INIT", 0, "/usr/bin/bash", NULL), 4);
	eval_at(proc_ev("connect", 100, "ROOT", "INIT", 0, "/usr/bin/bash", C2_DEST), 5);
	cr_assert_eq(g_ngot, 2);
}

Test(engine, sequence_by_user)
{
	rule_seq("usr", TG_KEY_USER, 60 * SEC, "event.action = open and file.path = /etc/shadow",
		 "event.action = exec and process.executable = /usr/bin/nc", NULL);
	engine_start(16);

	eval_at(proc_ev("open", 1, "A", "", 1000, "/usr/bin/cat",
			",\"file\":{\"path\":\"/etc/shadow\"}"), 1);
	eval_at(proc_ev("exec", 2, "B", "", 1001, "/usr/bin/nc", NULL), 2);
	cr_assert_eq(g_ngot, 0);
	eval_at(proc_ev("exec", 3, "C", "", 1000, "/usr/bin/nc", NULL), 3);
	cr_assert_eq(g_ngot, 1);
	cr_assert_str_eq(jstr(g_got[0].details, "key"), "1000");
	cr_assert_str_eq(jstr(g_got[0].details, "by"), "user");
}

Test(engine, sequence_by_container)
{
	const char *ctr = ",\"container\":{\"id\":\"c0ffee\"}";
	const char *ctr2 = ",\"container\":{\"id\":\"beef\"}";

	rule_seq("ctr", TG_KEY_CONTAINER, 60 * SEC, "event.action = exec",
		 "event.action = mount", NULL);
	engine_start(16);

	/* No container: no state, no match. */
	eval_at(proc_ev("exec", 1, "A", "", 0, "/bin/sh", NULL), 1);
	eval_at(proc_ev("mount", 1, "A", "", 0, "/bin/sh", NULL), 2);
	cr_assert_eq(g_ngot, 0);
	cr_assert_eq(stats().states, 0);
	eval_at(proc_ev("exec", 2, "B", "", 0, "/bin/sh", ctr), 3);
	eval_at(proc_ev("mount", 3, "C", "", 0, "/bin/mount", ctr2), 4);
	cr_assert_eq(g_ngot, 0);
	eval_at(proc_ev("mount", 4, "D", "", 0, "/bin/mount", ctr), 5);
	cr_assert_eq(g_ngot, 1);
	cr_assert_str_eq(jstr(g_got[0].details, "key"), "c0ffee");
}

Test(engine, time_going_backwards_is_no_time_passing)
{
	rule_seq("seq", TG_KEY_PROCESS, 10 * SEC, STEP_CURL, STEP_MODEL, NULL);
	engine_start(16);

	eval_at(proc_ev("exec", 20, "E20", "", 0, "/usr/bin/curl", NULL), 100);
	eval_at(proc_ev("open", 20, "E20", "", 0, "/usr/bin/curl", MODEL_FILE), 50);
	cr_assert_eq(g_ngot, 1);
	eval_at(proc_ev("exec", 20, "E20", "", 0, "/usr/bin/curl", NULL), 0.000000001);
	cr_assert_eq(stats().states, 1);
}

Test(engine, time_from_timestamp_when_zero)
{
	struct tg_view *a, *b, *c;

	rule_seq("seq", TG_KEY_PROCESS, 10 * SEC, "event.action = exec", "event.action = open",
		 NULL);
	engine_start(16);
	a = view_of("{\"@timestamp\":\"2026-11-26T02:00:00.000000000Z\","
		    "\"event\":{\"action\":\"exec\"},\"process\":{\"pid\":1,\"entity_id\":\"P\"}}");
	b = view_of("{\"@timestamp\":\"2026-11-26T02:00:30.000000000Z\","
		    "\"event\":{\"action\":\"open\"},\"process\":{\"pid\":1,\"entity_id\":\"P\"}}");
	c = view_of("{\"@timestamp\":\"2026-11-26T02:00:35.5Z\",\"event\":{\"action\":\"open\"},"
		    "\"process\":{\"pid\":1,\"entity_id\":\"P\"}}");
	engine_eval(g_eng, a, 0, on_alert, NULL);
	engine_eval(g_eng, b, 0, on_alert, NULL);   /* 30 s later: expired */
	cr_assert_eq(g_ngot, 0);
	engine_eval(g_eng, a, 0, on_alert, NULL);   /* backwards: counts as 02:00:30 */
	engine_eval(g_eng, c, 0, on_alert, NULL);   /* 5.5 s after that */
	cr_assert_eq(g_ngot, 1);
}

Test(engine, parse_rfc3339)
{
	struct tm tm = { .tm_year = 2026 - 1900, .tm_mon = 10, .tm_mday = 26, .tm_hour = 2,
			 .tm_min = 3, .tm_sec = 8 };
	uint64_t base = (uint64_t)timegm(&tm) * SEC;

	cr_assert_eq(engine_time_ns("2026-11-26T02:03:08.938843676Z"), base + 938843676);
	cr_assert_eq(engine_time_ns("2026-11-26T02:03:08Z"), base);
	cr_assert_eq(engine_time_ns("2026-11-26T03:03:08.5+01:00"), base + 500000000);
	cr_assert_eq(engine_time_ns("2026-11-26T02:03:08.1234567891Z"), base + 123456789);
	cr_assert_eq(engine_time_ns("2026-11-26"), 0);
	cr_assert_eq(engine_time_ns("yesterday"), 0);
	cr_assert_eq(engine_time_ns("2026-11-26T02:03:08.Z"), 0);
	cr_assert_eq(engine_time_ns(NULL), 0);
}

Test(engine, one_step_sequence_and_default_limits)
{
	struct tg_rule *r = rule_seq("one", TG_KEY_PROCESS, 10 * SEC, "event.action = exec", NULL);

	cr_assert_eq(r->n_steps, 1);
	g_eng = engine_new(&g_rs, NULL);
	cr_assert_not_null(g_eng);
	eval_at(proc_ev("exec", 9, "E9", "", 0, "/bin/true", NULL), 1);
	cr_assert_eq(g_ngot, 1);
	cr_assert_eq(cJSON_GetArraySize(jget(g_got[0].details, "steps")), 1);
	cr_assert_str_eq(jstr(g_got[0].details, "key"), "E9");
	cr_assert_eq(stats().states, 0);
}

/* ---- thresholds ---------------------------------------------------------- */

#define CONNECT "event.action = connect"

Test(engine, threshold_count_sliding_window)
{
	double t;

	/* More than 5 connects by one user within 10 s. */
	rule_thr("burst", CONNECT, 10 * SEC, 5, "user.id", NULL);
	engine_start(16);

	/* Every 2 s: at most 5 in any 10 s window, never above the limit. */
	for (t = 0; t <= 30; t += 2)
		eval_at(proc_ev("connect", 1, "A", "", 1000, "/bin/c", NULL), t);
	cr_assert_eq(g_ngot, 0);
	/* Every 1.5 s: the 6th within 9 s crosses it. */
	for (t = 100; t < 100 + 9; t += 1.5)
		eval_at(proc_ev("connect", 1, "A", "", 1000, "/bin/c", NULL), t);
	cr_assert_eq(g_ngot, 1);
	cr_assert_eq(jnum(g_got[0].details, "count"), 6);
	cr_assert_eq(jnum(g_got[0].details, "limit"), 5);
	cr_assert_eq(jnum(g_got[0].details, "window_s"), 10);
	cr_assert_eq(cJSON_GetObjectItemCaseSensitive(jget(g_got[0].details, "group"), "user.id")
			     ->valuedouble, 1000);
}

Test(engine, threshold_groups_are_separate)
{
	int i;

	rule_thr("burst", CONNECT, 10 * SEC, 2, "user.id", NULL);
	engine_start(16);
	for (i = 0; i < 3; i++) {
		eval_at(proc_ev("connect", 1, "A", "", 1000, "/bin/c", NULL), 1 + i);
		eval_at(proc_ev("connect", 2, "B", "", 2000, "/bin/c", NULL), 1 + i);
	}
	/* Non-matching actions do not count. */
	eval_at(proc_ev("open", 3, "C", "", 3000, "/bin/c", NULL), 4);
	cr_assert_eq(g_ngot, 2);
	cr_assert_eq(stats().states, 2);
	{
		const cJSON *g0 = jget(g_got[0].details, "group");
		const cJSON *g1 = jget(g_got[1].details, "group");

		cr_assert_eq(cJSON_GetObjectItemCaseSensitive(g0, "user.id")->valuedouble, 1000);
		cr_assert_eq(cJSON_GetObjectItemCaseSensitive(g1, "user.id")->valuedouble, 2000);
	}
}

Test(engine, threshold_sum)
{
	const char *fmt = ",\"destination\":{\"ip\":\"10.0.0.1\",\"port\":80},"
			  "\"network\":{\"bytes\":%d}";
	char extra[128];

	rule_thr("exfil", "event.action = sendto", 10 * SEC, 1000, "process.entity_id",
		 "network.bytes");
	engine_start(16);

	/* 400 + 400 + 300 over 11 s: the first has left the window. */
	snprintf(extra, sizeof(extra), fmt, 400);
	eval_at(proc_ev("sendto", 1, "A", "", 0, "/bin/x", extra), 0);
	eval_at(proc_ev("sendto", 1, "A", "", 0, "/bin/x", extra), 5);
	snprintf(extra, sizeof(extra), fmt, 300);
	eval_at(proc_ev("sendto", 1, "A", "", 0, "/bin/x", extra), 11);
	cr_assert_eq(g_ngot, 0);
	/* An event without the field adds nothing. */
	eval_at(proc_ev("sendto", 1, "A", "", 0, "/bin/x", NULL), 11.5);
	cr_assert_eq(g_ngot, 0);
	/* 400 (t=5) + 300 (t=11) + 301 (t=12) = 1001 > 1000. */
	snprintf(extra, sizeof(extra), fmt, 301);
	eval_at(proc_ev("sendto", 1, "A", "", 0, "/bin/x", extra), 12);
	cr_assert_eq(g_ngot, 1);
	cr_assert_eq(jnum(g_got[0].details, "sum"), 1001);
	cr_assert_null(jget(g_got[0].details, "count"));
	cr_assert_str_eq(cJSON_GetObjectItemCaseSensitive(jget(g_got[0].details, "group"),
							  "process.entity_id")->valuestring, "A");
}

Test(engine, threshold_rearms_after_window)
{
	int t;

	rule_thr("burst", CONNECT, 10 * SEC, 5, NULL, NULL);
	engine_start(16);
	/* One per second: the 6th (t=5) alerts, then quiet until t=15. */
	for (t = 0; t <= 14; t++)
		eval_at(proc_ev("connect", 1, "A", "", 0, "/bin/c", NULL), t);
	cr_assert_eq(g_ngot, 1);
	eval_at(proc_ev("connect", 1, "A", "", 0, "/bin/c", NULL), 15);
	cr_assert_eq(g_ngot, 2);
	cr_assert_eq(jnum(g_got[1].details, "count"), 10);
	/* After a long gap the group starts from zero. */
	eval_at(proc_ev("connect", 1, "A", "", 0, "/bin/c", NULL), 100);
	cr_assert_eq(g_ngot, 2);
	cr_assert_eq(stats().expired, 1);
}

Test(engine, long_keys_stay_distinct)
{
	char a[1500], b[1500], ea[1700], eb[1700];

	memset(a, 'x', sizeof(a) - 1);
	a[sizeof(a) - 1] = '\0';
	memcpy(b, a, sizeof(b));
	b[sizeof(b) - 2] = 'y';   /* differs only at the end */
	snprintf(ea, sizeof(ea), ",\"file\":{\"path\":\"/%s\"}", a);
	snprintf(eb, sizeof(eb), ",\"file\":{\"path\":\"/%s\"}", b);
	rule_thr("per_path", "event.action = open", 10 * SEC, 1, "file.path", NULL);
	engine_start(16);
	eval_at(proc_ev("open", 1, "A", "", 0, "/bin/c", ea), 1);
	eval_at(proc_ev("open", 1, "A", "", 0, "/bin/c", eb), 2);
	cr_assert_eq(g_ngot, 0);
	cr_assert_eq(stats().states, 2);
	eval_at(proc_ev("open", 1, "A", "", 0, "/bin/c", eb), 3);
	cr_assert_eq(g_ngot, 1);
	cr_assert_str_eq(cJSON_GetObjectItemCaseSensitive(jget(g_got[0].details, "group"),
							  "file.path")->valuestring + 1, b);
}

/* ---- bounds -------------------------------------------------------------- */

Test(engine, state_cap_evicts_least_recently_updated)
{
	rule_seq("seq", TG_KEY_PROCESS, 60 * SEC, STEP_CURL, STEP_MODEL, NULL);
	engine_start(2);

	eval_at(proc_ev("exec", 1, "P1", "", 0, "/usr/bin/curl", NULL), 1);
	eval_at(proc_ev("exec", 2, "P2", "", 0, "/usr/bin/curl", NULL), 2);
	eval_at(proc_ev("exec", 3, "P3", "", 0, "/usr/bin/curl", NULL), 3);
	cr_assert_eq(stats().states, 2);
	cr_assert_eq(stats().evictions, 1);
	cr_assert_eq(stats().expired, 0);
	/* P1 was the least recently updated: its partial match is gone. */
	eval_at(proc_ev("open", 1, "P1", "", 0, "/usr/bin/curl", MODEL_FILE), 4);
	cr_assert_eq(g_ngot, 0);
	eval_at(proc_ev("open", 2, "P2", "", 0, "/usr/bin/curl", MODEL_FILE), 5);
	eval_at(proc_ev("open", 3, "P3", "", 0, "/usr/bin/curl", MODEL_FILE), 6);
	cr_assert_eq(g_ngot, 2);
	cr_assert_eq(stats().states, 0);
}

Test(engine, state_cap_is_shared_and_prefers_timed_out)
{
	rule_seq("seq", TG_KEY_PROCESS, 1 * SEC, STEP_CURL, STEP_MODEL, NULL);
	rule_thr("burst", CONNECT, 100 * SEC, 50, "process.entity_id", NULL);
	engine_start(2);

	eval_at(proc_ev("exec", 1, "P1", "", 0, "/usr/bin/curl", NULL), 1);
	eval_at(proc_ev("connect", 2, "P2", "", 0, "/bin/c", NULL), 1.5);
	cr_assert_eq(stats().states, 2);
	/* At t=5 the sequence state has timed out: the sweep takes it. */
	eval_at(proc_ev("connect", 3, "P3", "", 0, "/bin/c", NULL), 5);
	cr_assert_eq(stats().states, 2);
	cr_assert_eq(stats().expired, 1);
	cr_assert_eq(stats().evictions, 0);
	eval_at(proc_ev("connect", 4, "P4", "", 0, "/bin/c", NULL), 6);
	cr_assert_eq(stats().states, 2);
	cr_assert_eq(stats().evictions, 1);
}

Test(engine, many_states_churn)
{
	char ent[32];
	int i;

	rule_thr("burst", CONNECT, 100 * SEC, 2, "process.entity_id", NULL);
	engine_start(64);
	for (i = 0; i < 2000; i++) {
		struct tg_view *v;

		snprintf(ent, sizeof(ent), "E%d", i % 97);
		v = proc_ev("connect", i, ent, "", 0, "/bin/c", NULL);
		eval_at(v, 1 + i * 0.001);
		/* views are not needed after eval: recycle the slots */
		cJSON_Delete(g_json[--g_nev]);
		free(g_views[g_nev]);
		while (g_ngot) {
			g_ngot--;
			cJSON_Delete(g_got[g_ngot].details);
			cJSON_Delete(g_got[g_ngot].line);
		}
	}
	cr_assert_eq(stats().states, 64);
	cr_assert_gt(stats().evictions, 0);
	cr_assert_eq(stats().events, 2000);
}

/* ---- output ---------------------------------------------------------------- */

Test(engine, render_template)
{
	struct tg_view *v;
	char out[256];

	v = view_of("{\"event\":{\"action\":\"exec\"},"
		    "\"process\":{\"pid\":42,\"executable\":\"/bin/sh\","
		    "\"args\":[\"sh\",\"-c\",\"id\"]},\"user\":{\"id\":0},"
		    "\"file\":{\"path\":\"/etc/x\"}}");
	engine_render("%process.executable (pid %process.pid, uid %user.id) ran %process.args "
		      "in %container.id: 100%% sure, path %file.path. %nosuch.field %",
		      v, out, sizeof(out));
	cr_assert_str_eq(out, "/bin/sh (pid 42, uid 0) ran sh,-c,id in <NA>: 100% sure, path "
			      "/etc/x. %nosuch.field %");
	/* One value, picked as conditions pick it. */
	engine_render("%process.args[1]|%process.args[7]|%process.args[]", v, out, sizeof(out));
	cr_assert_str_eq(out, "-c|<NA>|sh,-c,id[]");
	engine_render("%process.executable%process.pid", v, out, 8);
	cr_assert_str_eq(out, "/bin/sh");
	engine_render("abc", v, out, 1);
	cr_assert_str_eq(out, "");
	engine_render("%process.executable", NULL, out, sizeof(out));
	cr_assert_str_eq(out, "<NA>");
}

Test(engine, alert_json_line)
{
	struct tg_rule *r;
	char *tags[] = { "mitre.T1105", "twin" };
	const cJSON *line;
	char created[64];

	r = rule_seq("curl_then_model", TG_KEY_PROCESS, 10 * SEC, STEP_CURL, STEP_MODEL, NULL);
	r->desc = (char *)"a downloader touched the models";
	r->output = (char *)"%process.executable opened %file.path";
	r->priority = 2;
	r->tags = tags;
	r->n_tags = 2;
	r->action = TG_ACT_KILL;
	engine_start(16);
	eval_at(proc_ev("exec", 20, "E20", "", 0, "/usr/bin/curl", NULL), 1);
	eval_at(proc_ev("open", 20, "E20", "", 0, "/usr/bin/curl",
			MODEL_FILE ",\"twinguard\":{\"syscall\":\"openat\",\"ret\":3}"), 2);
	cr_assert_eq(g_ngot, 1);
	line = g_got[0].line;
	cr_assert_str_eq(g_got[0].output, "/usr/bin/curl opened /opt/twin/models/grid.onnx");

	cr_assert_str_eq(jstr(line, "@timestamp"), "2026-11-26T02:03:08.938843676Z");
	cr_assert_str_eq(jstr(line, "event.kind"), "alert");
	cr_assert_str_eq(jstr(line, "event.action"), "open");
	cr_assert_eq(jnum(line, "event.sequence"), 1);
	cr_assert_eq(jnum(line, "event.severity"), 2);
	snprintf(created, sizeof(created), "%s", jstr(line, "event.created"));
	cr_assert_eq(strlen(created), 30, "created %s", created);
	cr_assert_neq(engine_time_ns(created), 0);
	cr_assert_str_eq(jstr(line, "rule.name"), "curl_then_model");
	cr_assert_str_eq(jstr(line, "rule.id"), "curl_then_model");
	cr_assert_str_eq(jstr(line, "rule.description"), "a downloader touched the models");
	cr_assert_str_eq(jstr(line, "rule.ruleset"), "rules/test.json");
	cr_assert_str_eq(jstr(line, "message"), g_got[0].output);
	cr_assert_eq(cJSON_GetArraySize(jget(line, "tags")), 2);
	cr_assert_str_eq(jstr(line, "tags.0"), "mitre.T1105");
	cr_assert_str_eq(jstr(line, "tags.1"), "twin");
	/* the event's own fields are kept */
	cr_assert_eq(jnum(line, "process.pid"), 20);
	cr_assert_str_eq(jstr(line, "file.path"), "/opt/twin/models/grid.onnx");
	cr_assert_str_eq(jstr(line, "twinguard.syscall"), "openat");
	cr_assert_eq(jnum(line, "twinguard.ret"), 3);
	cr_assert_str_eq(jstr(line, "twinguard.alert.priority"), rules_priority_name(2));
	cr_assert_str_eq(jstr(line, "twinguard.alert.action"), "kill");
	cr_assert_str_eq(jstr(line, "twinguard.alert.kind"), "sequence");
	cr_assert_str_eq(jstr(line, "twinguard.alert.details.key"), "E20");
	cr_assert_eq(cJSON_GetArraySize(jget(line, "twinguard.alert.details.steps")), 2);
	/* the source event is untouched */
	cr_assert_str_eq(jstr(g_json[1], "event.kind"), "event");
	cr_assert_null(jget(g_json[1], "rule"));
}

Test(engine, alert_json_single_event_rule)
{
	const cJSON *line;

	rule_event("plain", "event.action = exec");
	engine_start(16);
	eval_at(proc_ev("exec", 1, "E1", "", 0, "/bin/true", NULL), 1);
	cr_assert_eq(g_ngot, 1);
	line = g_got[0].line;
	cr_assert_str_eq(jstr(line, "twinguard.alert.kind"), "event");
	cr_assert_str_eq(jstr(line, "twinguard.alert.action"), "alert");
	cr_assert_null(jget(line, "twinguard.alert.details"));
	cr_assert_eq(cJSON_GetArraySize(jget(line, "tags")), 0);
	cr_assert_str_eq(jstr(line, "message"), "%rule-less /bin/true");
}

/* The open bucket's path guard (cond_prefix_bound) only skips conditions
 * that could not match: a bounded rule stays quiet elsewhere, an unbounded
 * alternative still fires anywhere, and a guarded sequence step still
 * advances its state. */
Test(engine, open_path_guard_skips_only_impossible_conditions)
{
	struct tg_view *in, *out;

	rule_event("bounded", "event.action = open and file.path pmatch ('/srv/models')");
	rule_event("unbounded", "event.action = open and (file.path startswith '/srv/' or "
				"process.executable = /usr/bin/curl)");
	rule_seq("seq", TG_KEY_PROCESS, 60 * SEC, "event.action = open and file.path pmatch ('/srv/models')",
		 "event.action = exec", NULL);
	engine_start(16);
	in = proc_ev("open", 10, "E10", "", 0, "/usr/bin/cat", ",\"file\":{\"path\":\"/srv/models/m.bin\"}");
	out = proc_ev("open", 11, "E11", "", 0, "/usr/bin/curl", ",\"file\":{\"path\":\"/etc/hosts\"}");
	eval_at(out, 1);
	cr_assert_eq(g_ngot, 1, "only the unbounded rule may fire outside /srv");
	cr_assert_str_eq(g_got[0].rule, "unbounded");
	eval_at(in, 2);
	cr_assert_eq(g_ngot, 3);
	cr_assert_str_eq(g_got[1].rule, "bounded");
	cr_assert_str_eq(g_got[2].rule, "unbounded");
	eval_at(proc_ev("exec", 10, "E10", "", 0, "/usr/bin/cat", NULL), 3);
	cr_assert_eq(g_ngot, 4, "the guarded first step did not start the sequence");
	cr_assert_str_eq(g_got[3].rule, "seq");
}

/* The derived twin.* fields a rule saw travel with the alert: the event
 * stream does not carry them, the SIEM would not see them otherwise. */
Test(engine, alert_carries_derived_twin_fields)
{
	struct tg_view *v;

	rule_event("svc", "event.action = exec and twin.process.role = service");
	engine_start(16);
	v = proc_ev("exec", 10, "E10", "", 0, "/opt/twin/bin/engine", NULL);
	cr_assert_eq(view_add_str(v, F("twin.process.role"), "service", 7), 0);
	eval_at(v, 1);
	cr_assert_eq(g_ngot, 1);
	cr_expect_str_eq(jstr(g_got[0].line, "twin.process.role"), "service");
	cr_expect_str_eq(jstr(g_got[0].line, "event.kind"), "alert");
}
