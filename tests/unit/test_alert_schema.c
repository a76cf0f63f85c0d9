/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Unit tests for the alert schema (docs/alerts.md): the fields every alert
 * carries (schema_version, host.id, host.hostname, event.id), the current
 * MITRE ids with their aliases, and the validator itself
 * (tests/alerts_validate.py with docs/alerts.schema.json): real lines pass,
 * deliberately wrong ones fail, so the integration check can fail.
 * Needs /usr/bin/python3 with python3-jsonschema; run from the repo root.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "alert.h"
#include "engine.h"
#include "fields.h"
#include "rules.h"

#define VALIDATE "/usr/bin/python3 tests/alerts_validate.py docs/alerts.schema.json "

static char g_tmp[64];
static cJSON *g_ev;
static struct tg_view g_view;

static void fini(void)
{
	if (g_tmp[0])
		unlink(g_tmp);
	cJSON_Delete(g_ev);
}

TestSuite(alert_schema, .fini = fini);

static const char *const g_tags[] = { "twin", "mitre:T0855", "mitre:T1692.002", "mitre:T1021",
				      "mitre:T1692.001" };

static cJSON *make_alert(const char *const *tags, size_t n_tags)
{
	static struct tg_rule r;
	struct tg_alert a = { .rule = &r, .view = &g_view };

	memset(&r, 0, sizeof(r));
	r.name = "Twin control port used by unauthorized process";
	r.desc = "test rule";
	r.file = "rules/twin.json";
	r.priority = 2;
	r.kind = TG_RULE_EVENT;
	r.action = TG_ACT_ALERT;
	r.tags = (char **)tags;
	r.n_tags = n_tags;
	snprintf(a.output, sizeof(a.output), "control port used");
	cJSON_Delete(g_ev);
	g_ev = cJSON_Parse("{\"@timestamp\":\"2026-11-26T02:03:08.938843676Z\","
			   "\"host\":{\"hostname\":\"vm\"},"
			   "\"event\":{\"kind\":\"event\",\"category\":[\"network\"],"
			   "\"type\":[\"connection\"],\"action\":\"connect\",\"sequence\":7,"
			   "\"outcome\":\"success\"},"
			   "\"process\":{\"pid\":42,\"executable\":\"/usr/bin/nc\",\"name\":\"nc\"},"
			   "\"user\":{\"id\":1000,\"name\":\"ops\"},"
			   "\"destination\":{\"ip\":\"127.0.0.1\",\"port\":502}}");
	cr_assert_not_null(g_ev);
	view_init(&g_view);
	cr_assert_eq(view_fill(&g_view, g_ev, NULL), 0);
	return engine_alert_json(&a);
}

static const char *str_at(const cJSON *j, const char *a, const char *b)
{
	const cJSON *o = cJSON_GetObjectItem(j, a);

	return cJSON_GetStringValue(b ? cJSON_GetObjectItem(o, b) : o);
}

static bool is_hex32(const char *s)
{
	if (!s || strlen(s) != 32)
		return false;
	return strspn(s, "0123456789abcdef") == 32;
}

static bool arr_has(const cJSON *arr, const char *s)
{
	const cJSON *c;

	cJSON_ArrayForEach(c, arr)
		if (cJSON_IsString(c) && !strcmp(c->valuestring, s))
			return true;
	return false;
}

Test(alert_schema, every_alert_is_stamped)
{
	cJSON *a = make_alert(g_tags, 1), *b = make_alert(g_tags, 1);
	char mid[64] = "";
	FILE *f = fopen("/etc/machine-id", "r");

	cr_expect_str_eq(str_at(a, "schema_version", NULL), "1");
	cr_expect_str_eq(str_at(a, "host", "hostname"), "vm", "the event's hostname stays");
	if (f && fgets(mid, sizeof(mid), f)) {
		mid[strcspn(mid, "\n")] = '\0';
		cr_expect_str_eq(str_at(a, "host", "id"), mid);
	} else {
		cr_expect_null(cJSON_GetObjectItem(cJSON_GetObjectItem(a, "host"), "id"),
			       "no machine-id: no host.id");
	}
	if (f)
		fclose(f);
	cr_expect(is_hex32(str_at(a, "event", "id")), "event.id '%s'", str_at(a, "event", "id"));
	cr_expect(is_hex32(str_at(b, "event", "id")));
	cr_expect_str_neq(str_at(a, "event", "id"), str_at(b, "event", "id"), "ids are unique");
	/* the run's random half is shared, the sequence half differs */
	cr_expect_eq(strncmp(str_at(a, "event", "id"), str_at(b, "event", "id"), 16), 0);
	cJSON_Delete(a);
	cJSON_Delete(b);
}

Test(alert_schema, stamp_on_in_band_records)
{
	cJSON *j = cJSON_CreateObject();

	cJSON_AddStringToObject(cJSON_AddObjectToObject(j, "event"), "action", "agent-loss");
	alert_stamp(j);
	cr_expect_str_eq(str_at(j, "schema_version", NULL), "1");
	cr_expect_not_null(str_at(j, "host", "hostname"), "hostname added when absent");
	cr_expect(is_hex32(str_at(j, "event", "id")));
	cr_expect_str_eq(str_at(j, "event", "action"), "agent-loss");
	alert_stamp(NULL);
	cJSON_Delete(j);
}

Test(alert_schema, mitre_current_ids_and_aliases)
{
	cJSON *a = make_alert(g_tags, sizeof(g_tags) / sizeof(g_tags[0]));
	const cJSON *tags = cJSON_GetObjectItem(a, "tags");
	const cJSON *ids = cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(a, "threat"),
								   "technique"), "id");
	const cJSON *al = cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(a, "twinguard"),
								  "alert"), "mitre_aliases");

	/* old ids are written as current ones, each once */
	cr_expect_eq(cJSON_GetArraySize(tags), 4, "tags: %s", cJSON_PrintUnformatted(tags));
	cr_expect(arr_has(tags, "twin"));
	cr_expect(arr_has(tags, "mitre:T1692.001"));
	cr_expect(arr_has(tags, "mitre:T1692.002"));
	cr_expect(arr_has(tags, "mitre:T1021"));
	cr_expect_not(arr_has(tags, "mitre:T0855"));
	cr_expect_str_eq(str_at(cJSON_GetObjectItem(a, "threat"), "framework", NULL), "MITRE ATT&CK");
	cr_expect_eq(cJSON_GetArraySize(ids), 3);
	cr_expect_str_eq(cJSON_GetStringValue(cJSON_GetArrayItem(ids, 0)), "T1692.001");
	cr_expect(arr_has(ids, "T1692.002") && arr_has(ids, "T1021"));
	cr_expect_eq(cJSON_GetArraySize(al), 2, "aliases: %s", cJSON_PrintUnformatted(al));
	cr_expect(arr_has(al, "T0855") && arr_has(al, "T0856"));
	cJSON_Delete(a);
	/* no MITRE tag: no threat, no aliases */
	a = make_alert(g_tags, 1);
	cr_expect_null(cJSON_GetObjectItem(a, "threat"));
	cr_expect_null(cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(a, "twinguard"),
							       "alert"), "mitre_aliases"));
	cJSON_Delete(a);
}

/* Exit status of the validator on lines. */
static int validate(const char *const *lines, size_t n)
{
	char cmd[256];
	int fd, st;
	FILE *f;

	snprintf(g_tmp, sizeof(g_tmp), "/tmp/tg-alert-schema-XXXXXX");
	fd = mkstemp(g_tmp);
	cr_assert_geq(fd, 0);
	f = fdopen(fd, "w");
	cr_assert_not_null(f);
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%s\n", lines[i]);
	fclose(f);
	snprintf(cmd, sizeof(cmd), VALIDATE "%s >/dev/null", g_tmp);
	st = system(cmd);
	unlink(g_tmp);
	g_tmp[0] = '\0';
	cr_assert(WIFEXITED(st), "validator did not run");
	return WEXITSTATUS(st);
}

/* An alert line with one change made by edit (NULL: none). */
static char *alert_line(void (*edit)(cJSON *))
{
	cJSON *a = make_alert(g_tags, sizeof(g_tags) / sizeof(g_tags[0]));
	char *s;

	if (edit)
		edit(a);
	s = cJSON_PrintUnformatted(a);
	cJSON_Delete(a);
	return s;
}

static void drop_event_id(cJSON *a)
{
	cJSON_DeleteItemFromObject(cJSON_GetObjectItem(a, "event"), "id");
}

static void wrong_severity(cJSON *a)
{
	cJSON_ReplaceItemInObject(cJSON_GetObjectItem(a, "event"), "severity", cJSON_CreateNumber(6));
}

static void wrong_version(cJSON *a)
{
	cJSON_ReplaceItemInObject(a, "schema_version", cJSON_CreateNumber(1));
}

static void bad_mitre(cJSON *a)
{
	cJSON_AddItemToArray(cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(a, "threat"),
								     "technique"), "id"),
			     cJSON_CreateString("mitre:T1021"));
}

Test(alert_schema, validator_accepts_real_lines_and_rejects_wrong_ones)
{
	static const char *const loss =
		"{\"@timestamp\":\"2026-12-07T06:00:00.000000000Z\",\"schema_version\":\"1\","
		"\"host\":{\"hostname\":\"h\"},\"event\":{\"kind\":\"alert\",\"action\":\"agent-loss\","
		"\"severity\":3,\"id\":\"0123456789abcdef0123456789abcdef\"},\"rule\":{\"name\":"
		"\"agent-loss\"},\"message\":\"m\",\"twinguard\":{\"alert\":{\"priority\":\"error\"},"
		"\"loss\":{\"stage\":\"sink_queue\",\"sink\":\"syslog\",\"count\":5,\"total\":9,"
		"\"interval_s\":5}}}";
	static const char *const loss_no_sink =
		"{\"@timestamp\":\"2026-12-07T06:00:00.000000000Z\",\"schema_version\":\"1\","
		"\"host\":{\"hostname\":\"h\"},\"event\":{\"kind\":\"alert\",\"action\":\"agent-loss\","
		"\"severity\":3,\"id\":\"0123456789abcdef0123456789abcdef\"},\"rule\":{\"name\":"
		"\"agent-loss\"},\"message\":\"m\",\"twinguard\":{\"alert\":{\"priority\":\"error\"},"
		"\"loss\":{\"stage\":\"sink_queue\",\"count\":5,\"total\":9,\"interval_s\":5}}}";
	void (*edits[])(cJSON *) = { drop_event_id, wrong_severity, wrong_version, bad_mitre };
	char *good = alert_line(NULL);
	const char *lines[2] = { good, loss };

	cr_assert_eq(validate(lines, 2), 0, "a real alert and an agent-loss record: %s", good);
	for (size_t i = 0; i < sizeof(edits) / sizeof(edits[0]); i++) {
		char *bad = alert_line(edits[i]);
		const char *one[1] = { bad };

		cr_expect_eq(validate(one, 1), 1, "wrong line %zu passed: %s", i, bad);
		free(bad);
	}
	lines[1] = loss_no_sink;
	cr_expect_eq(validate(lines, 2), 1, "a sink stage without its sink passed");
	lines[0] = "{\"not\": \"an alert\"}";
	cr_expect_eq(validate(lines, 1), 1);
	lines[0] = "not json";
	cr_expect_eq(validate(lines, 1), 1);
	free(good);
}
