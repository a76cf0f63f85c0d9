// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Unit tests for user/fields.c: the field registry (every field of
 * docs/events.md plus the derived twin.* ones, in order, documented in
 * docs/fields.md) and event views filled from the JSON the agent writes
 * (the examples of docs/events.md). No root needed. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>

#include "fields.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* The exec example of docs/events.md, as the agent wrote it. */
static const char exec_json[] =
	"{\"@timestamp\":\"2026-11-26T02:03:08.964070874Z\",\"host\":{\"hostname\":\"vm\"},"
	"\"process\":{\"pid\":17165,\"entity_id\":\"41f48e04-430d-16299\","
	"\"executable\":\"/usr/bin/dash\",\"name\":\"sh\","
	"\"args\":[\"sh\",\"-c\",\"echo hi > /dev/null; exit 3\"],\"args_count\":3,"
	"\"command_line\":\"sh -c echo hi > /dev/null; exit 3\","
	"\"working_directory\":\"/tmp/tgdemo.OItPjk\","
	"\"parent\":{\"pid\":17160,\"entity_id\":\"41f48e04-4308-16296\","
	"\"executable\":\"/tmp/tgdoc/tgtrig\",\"name\":\"tgtrig\",\"args\":[\"/tmp/tgdoc/tgtrig\"],"
	"\"args_count\":1,\"command_line\":\"/tmp/tgdoc/tgtrig\"},"
	"\"ancestors\":["
	"{\"pid\":17160,\"entity_id\":\"41f48e04-4308-16296\",\"executable\":\"/tmp/tgdoc/tgtrig\","
	"\"name\":\"tgtrig\"},"
	"{\"pid\":17131,\"entity_id\":\"41f48e04-42eb-16272\",\"executable\":\"/usr/bin/bash\","
	"\"name\":\"bash\"},"
	"{\"pid\":17130,\"entity_id\":\"41f48e04-42ea-16271\",\"executable\":\"/usr/bin/bash\","
	"\"name\":\"bash\"},"
	"{\"pid\":20117,\"entity_id\":\"41f48e04-4e95-f2e9\",\"executable\":\"/usr/bin/bash\","
	"\"name\":\"bash\"},"
	"{\"pid\":20116,\"entity_id\":\"41f48e04-4e94-f2e9\","
	"\"executable\":\"/memfd:sealed-91173221a7ea\","
	"\"name\":\"memfd:sealed-91173221a7ea\"},"
	"{\"pid\":1,\"entity_id\":\"41f48e04-1-18\",\"name\":\"process_api\"}],"
	"\"thread\":{\"id\":17165},\"start\":\"2026-11-26T02:03:08.960281018Z\"},"
	"\"user\":{\"id\":0,\"name\":\"root\",\"effective\":{\"id\":0}},"
	"\"group\":{\"id\":0,\"effective\":{\"id\":0}},"
	"\"event\":{\"kind\":\"event\",\"category\":[\"process\"],\"type\":[\"start\"],"
	"\"action\":\"exec\",\"sequence\":9902},"
	"\"twinguard\":{\"cgroup_id\":1,\"exe_memfd\":false,\"exe_deleted\":false,"
	"\"args_truncated\":false}}";

/* The open example of docs/events.md. */
static const char open_json[] =
	"{\"@timestamp\":\"2026-11-26T02:03:08.938843676Z\",\"host\":{\"hostname\":\"vm\"},"
	"\"process\":{\"pid\":17160,\"entity_id\":\"41f48e04-4308-16296\","
	"\"executable\":\"/tmp/tgdoc/tgtrig\",\"name\":\"tgtrig\"},"
	"\"user\":{\"id\":0,\"name\":\"root\"},\"group\":{\"id\":0},"
	"\"event\":{\"kind\":\"event\",\"category\":[\"file\"],\"type\":[\"creation\"],"
	"\"action\":\"open\",\"sequence\":9084,\"outcome\":\"success\"},"
	"\"twinguard\":{\"syscall\":\"openat\",\"ret\":3,\"cgroup_id\":1,"
	"\"open_flags\":[\"O_WRONLY\",\"O_CREAT\",\"O_TRUNC\"]},"
	"\"file\":{\"path\":\"/tmp/tgdemo.OItPjk/notes.txt\",\"name\":\"notes.txt\","
	"\"directory\":\"/tmp/tgdemo.OItPjk\",\"inode\":10954579,\"mode\":\"0644\"}}";

static struct tg_view *g_view;
static cJSON *g_json;

static void setup(void)
{
	g_view = malloc(sizeof(*g_view));
	cr_assert_not_null(g_view);
	view_init(g_view);
}

static void teardown(void)
{
	free(g_view);
	cJSON_Delete(g_json);
	g_json = NULL;
}

TestSuite(fields);
TestSuite(view, .init = setup, .fini = teardown);

static int id(const char *name)
{
	int f = fields_lookup(name);

	cr_assert_geq(f, 0, "field %s is not registered", name);
	return f;
}

static void fill(const char *json)
{
	cJSON_Delete(g_json);
	g_json = cJSON_Parse(json);
	cr_assert_not_null(g_json, "test JSON does not parse");
	cr_assert_eq(view_fill(g_view, g_json, NULL), 0);
}

static size_t get(const char *name, const struct tg_val **vals)
{
	return view_get(g_view, id(name), vals);
}

static void expect_str(const char *name, size_t i, const char *want)
{
	const struct tg_val *vals;
	size_t n = get(name, &vals);

	cr_assert_gt(n, i, "%s has %zu values, wanted value %zu", name, n, i);
	cr_assert_str_eq(vals[i].s, want, "%s[%zu]", name, i);
	cr_assert_eq(vals[i].len, strlen(want), "%s[%zu] length", name, i);
}

static void expect_num(const char *name, size_t i, double want)
{
	const struct tg_val *vals;
	size_t n = get(name, &vals);

	cr_assert_gt(n, i, "%s has %zu values, wanted value %zu", name, n, i);
	cr_assert_eq(vals[i].n, want, "%s[%zu] = %g, wanted %g", name, i, vals[i].n, want);
}

static void expect_count(const char *name, size_t want)
{
	size_t n = get(name, NULL);

	cr_assert_eq(n, want, "%s has %zu values, wanted %zu", name, n, want);
}

/* ---- registry ------------------------------------------------------- */

Test(fields, table_sorted_and_complete)
{
	size_t n = fields_count();

	cr_assert_gt(n, 100);
	cr_assert_leq(n, TG_FIELDS_MAX);
	for (size_t i = 0; i < n; i++) {
		const struct tg_field *f = fields_get((int)i);

		cr_assert_not_null(f);
		cr_assert(f->type == TG_FT_STR || f->type == TG_FT_NUM || f->type == TG_FT_BOOL);
		cr_assert(f->doc && f->doc[0], "%s has no doc", f->name);
		cr_assert(f->example && f->example[0], "%s has no example", f->name);
		if (i)
			cr_assert_lt(strcmp(fields_get((int)i - 1)->name, f->name), 0,
				     "fields.c table out of order at %s (bsearch needs strcmp order)",
				     f->name);
		cr_assert_eq(fields_lookup(f->name), (int)i, "lookup of %s", f->name);
	}
	cr_assert_null(fields_get(-1));
	cr_assert_null(fields_get((int)n));
}

Test(fields, lookup_unknown)
{
	cr_assert_eq(fields_lookup("proces.pid"), -1);
	cr_assert_eq(fields_lookup("process"), -1);
	cr_assert_eq(fields_lookup("process.ancestors"), -1);
	cr_assert_eq(fields_lookup(""), -1);
	cr_assert_eq(fields_lookup(NULL), -1);
	cr_assert_eq(fields_lookup("twinguard.stats.drops"), -1, "stats are not rule fields");
}

static const struct {
	const char *name;
	enum tg_ftype type;
	bool multi;
} expected[] = {
	{ "@timestamp", TG_FT_STR, false }, { "host.hostname", TG_FT_STR, false },
	{ "event.kind", TG_FT_STR, false }, { "event.category", TG_FT_STR, true },
	{ "event.type", TG_FT_STR, true }, { "event.action", TG_FT_STR, false },
	{ "event.sequence", TG_FT_NUM, false }, { "event.outcome", TG_FT_STR, false },
	{ "event.start", TG_FT_STR, false }, { "event.end", TG_FT_STR, false },
	{ "process.pid", TG_FT_NUM, false }, { "process.entity_id", TG_FT_STR, false },
	{ "process.executable", TG_FT_STR, false }, { "process.name", TG_FT_STR, false },
	{ "process.args", TG_FT_STR, true }, { "process.args_count", TG_FT_NUM, false },
	{ "process.command_line", TG_FT_STR, false },
	{ "process.working_directory", TG_FT_STR, false }, { "process.start", TG_FT_STR, false },
	{ "process.exit_code", TG_FT_NUM, false }, { "process.thread.id", TG_FT_NUM, false },
	{ "process.parent.pid", TG_FT_NUM, false }, { "process.parent.entity_id", TG_FT_STR, false },
	{ "process.parent.executable", TG_FT_STR, false }, { "process.parent.name", TG_FT_STR, false },
	{ "process.parent.args", TG_FT_STR, true }, { "process.parent.args_count", TG_FT_NUM, false },
	{ "process.parent.command_line", TG_FT_STR, false },
	{ "process.ancestors.pid", TG_FT_NUM, true },
	{ "process.ancestors.entity_id", TG_FT_STR, true },
	{ "process.ancestors.executable", TG_FT_STR, true },
	{ "process.ancestors.name", TG_FT_STR, true },
	{ "process.ancestors_truncated", TG_FT_BOOL, false },
	{ "user.id", TG_FT_NUM, false }, { "user.name", TG_FT_STR, false },
	{ "user.effective.id", TG_FT_NUM, false }, { "user.audit.id", TG_FT_NUM, false },
	{ "group.id", TG_FT_NUM, false }, { "group.effective.id", TG_FT_NUM, false },
	{ "container.id", TG_FT_STR, false },
	{ "file.path", TG_FT_STR, false }, { "file.name", TG_FT_STR, false },
	{ "file.directory", TG_FT_STR, false }, { "file.old_path", TG_FT_STR, false },
	{ "file.target_path", TG_FT_STR, false }, { "file.mode", TG_FT_STR, false },
	{ "file.uid", TG_FT_NUM, false }, { "file.gid", TG_FT_NUM, false },
	{ "file.size", TG_FT_NUM, false }, { "file.inode", TG_FT_NUM, false },
	{ "file.type", TG_FT_STR, false },
	{ "source.ip", TG_FT_STR, false }, { "source.port", TG_FT_NUM, false },
	{ "source.bytes", TG_FT_NUM, false }, { "source.address", TG_FT_STR, false },
	{ "destination.ip", TG_FT_STR, false }, { "destination.port", TG_FT_NUM, false },
	{ "destination.address", TG_FT_STR, false },
	{ "network.type", TG_FT_STR, false }, { "network.transport", TG_FT_STR, false },
	{ "network.direction", TG_FT_STR, false }, { "network.bytes", TG_FT_NUM, false },
	{ "target.process.pid", TG_FT_NUM, false }, { "target.process.entity_id", TG_FT_STR, false },
	{ "target.process.executable", TG_FT_STR, false }, { "target.process.name", TG_FT_STR, false },
	{ "target.process.args", TG_FT_STR, true }, { "target.process.args_count", TG_FT_NUM, false },
	{ "target.process.command_line", TG_FT_STR, false },
	{ "twinguard.syscall", TG_FT_STR, false }, { "twinguard.ret", TG_FT_NUM, false },
	{ "twinguard.errno", TG_FT_STR, false }, { "twinguard.cgroup_id", TG_FT_NUM, false },
	{ "twinguard.path_truncated", TG_FT_BOOL, false }, { "twinguard.compat32", TG_FT_BOOL, false },
	{ "twinguard.from_scan", TG_FT_BOOL, false }, { "twinguard.raw_path", TG_FT_STR, false },
	{ "twinguard.mnt_ns", TG_FT_NUM, false }, { "twinguard.host_mnt_ns", TG_FT_BOOL, false },
	{ "twinguard.open_flags", TG_FT_STR, true }, { "twinguard.exe_memfd", TG_FT_BOOL, false },
	{ "twinguard.exe_deleted", TG_FT_BOOL, false }, { "twinguard.args_truncated", TG_FT_BOOL, false },
	{ "twinguard.cgroup", TG_FT_STR, false }, { "twinguard.child.pid", TG_FT_NUM, false },
	{ "twinguard.child.tid", TG_FT_NUM, false }, { "twinguard.child.entity_id", TG_FT_STR, false },
	{ "twinguard.child.thread", TG_FT_BOOL, false }, { "twinguard.thread", TG_FT_BOOL, false },
	{ "twinguard.signal", TG_FT_STR, false }, { "twinguard.target_tid", TG_FT_NUM, false },
	{ "twinguard.ptrace_request", TG_FT_STR, false }, { "twinguard.access", TG_FT_STR, false },
	{ "twinguard.setid.call", TG_FT_STR, false }, { "twinguard.setid.id", TG_FT_NUM, false },
	{ "twinguard.setid.real", TG_FT_NUM, false }, { "twinguard.setid.effective", TG_FT_NUM, false },
	{ "twinguard.setid.saved", TG_FT_NUM, false }, { "twinguard.setid.fs", TG_FT_NUM, false },
	{ "twinguard.module_params", TG_FT_STR, false },
	{ "twinguard.bpf_prog_type", TG_FT_STR, false }, { "twinguard.bpf_prog_name", TG_FT_STR, false },
	{ "twinguard.mount_target", TG_FT_STR, false }, { "twinguard.mount_source", TG_FT_STR, false },
	{ "twinguard.mount_fstype", TG_FT_STR, false }, { "twinguard.mount_flags", TG_FT_NUM, false },
	{ "twinguard.sends", TG_FT_NUM, false }, { "twinguard.messages", TG_FT_NUM, false },
	{ "twinguard.backlog", TG_FT_NUM, false }, { "twinguard.fd", TG_FT_NUM, false },
	{ "twin.name", TG_FT_STR, false }, { "twin.process.role", TG_FT_STR, false },
	{ "twin.parent.role", TG_FT_STR, false }, { "twin.file.role", TG_FT_STR, false },
	{ "twin.file.old_role", TG_FT_STR, false },
	{ "twin.destination.port_role", TG_FT_STR, false },
	{ "twin.destination.egress_allowed", TG_FT_BOOL, false },
	{ "twin.source.client_allowed", TG_FT_BOOL, false },
};

Test(fields, schema_fields_and_types)
{
	for (size_t i = 0; i < ARRAY_SIZE(expected); i++) {
		const struct tg_field *f = fields_get(id(expected[i].name));

		cr_assert_eq(f->type, expected[i].type, "type of %s", f->name);
		cr_assert_eq(f->multi, expected[i].multi, "multi flag of %s", f->name);
	}
}

/* docs/fields.md is the reference rule writers read: one row per field,
 * "| `name` | type | multi |". Tests run from the repository root. */
Test(fields, documented_in_fields_md)
{
	FILE *f = fopen("docs/fields.md", "r");
	char *doc;
	long len;

	cr_assert_not_null(f, "docs/fields.md missing (tests run from the repo root)");
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	fseek(f, 0, SEEK_SET);
	doc = calloc(1, (size_t)len + 1);
	cr_assert_eq(fread(doc, 1, (size_t)len, f), (size_t)len);
	fclose(f);
	for (size_t i = 0; i < fields_count(); i++) {
		const struct tg_field *fd = fields_get((int)i);
		const char *type = fd->type == TG_FT_STR ? "string" :
				   fd->type == TG_FT_NUM ? "number" : "bool";
		char row[160];

		snprintf(row, sizeof(row), "| `%s` | %s | %s |", fd->name, type,
			 fd->multi ? "yes" : "no");
		cr_expect_not_null(strstr(doc, row), "docs/fields.md lacks the row %s", row);
	}
	free(doc);
}

/* ---- view_fill ------------------------------------------------------ */

Test(view, exec_event_fields)
{
	const struct tg_val *vals;

	fill(exec_json);
	cr_assert_eq(g_view->json, g_json);
	cr_assert_not(g_view->truncated);
	expect_str("@timestamp", 0, "2026-11-26T02:03:08.964070874Z");
	expect_str("host.hostname", 0, "vm");
	expect_num("process.pid", 0, 17165);
	expect_str("process.executable", 0, "/usr/bin/dash");
	expect_str("process.command_line", 0, "sh -c echo hi > /dev/null; exit 3");
	expect_num("process.args_count", 0, 3);
	expect_num("process.thread.id", 0, 17165);
	expect_num("process.parent.pid", 0, 17160);
	expect_str("process.parent.name", 0, "tgtrig");
	expect_str("process.parent.args", 0, "/tmp/tgdoc/tgtrig");
	expect_count("process.parent.args", 1);
	expect_num("user.id", 0, 0);
	expect_num("user.effective.id", 0, 0);
	expect_num("group.effective.id", 0, 0);
	expect_str("event.action", 0, "exec");
	expect_num("event.sequence", 0, 9902);
	expect_num("twinguard.cgroup_id", 0, 1);
	/* strings are not copied: they point into the JSON */
	get("process.executable", &vals);
	cr_assert_eq(vals[0].s,
		     cJSON_GetObjectItem(cJSON_GetObjectItem(g_json, "process"), "executable")->valuestring);
	/* bools are 0/1 with a printable string */
	get("twinguard.exe_memfd", &vals);
	cr_assert_eq(vals[0].n, 0);
	cr_assert_str_eq(vals[0].s, "false");
	/* absent */
	expect_count("file.path", 0);
	expect_count("event.outcome", 0);
	expect_count("twinguard.path_truncated", 0);
	expect_count("twin.name", 0);
}

Test(view, multi_values_in_order)
{
	fill(exec_json);
	expect_count("process.args", 3);
	expect_str("process.args", 0, "sh");
	expect_str("process.args", 1, "-c");
	expect_str("process.args", 2, "echo hi > /dev/null; exit 3");
	expect_count("event.category", 1);
	expect_str("event.category", 0, "process");
	expect_str("event.type", 0, "start");

	fill(open_json);
	expect_count("twinguard.open_flags", 3);
	expect_str("twinguard.open_flags", 0, "O_WRONLY");
	expect_str("twinguard.open_flags", 1, "O_CREAT");
	expect_str("twinguard.open_flags", 2, "O_TRUNC");
	expect_str("file.path", 0, "/tmp/tgdemo.OItPjk/notes.txt");
	expect_str("file.mode", 0, "0644");
	expect_num("file.inode", 0, 10954579);
	expect_num("twinguard.ret", 0, 3);
}

/* process.ancestors is an array of objects: each member becomes one
 * multi-valued field, nearest ancestor first, each field's values together
 * although the JSON interleaves them. */
Test(view, ancestors_flattened_and_contiguous)
{
	static const double pids[] = { 17160, 17131, 17130, 20117, 20116, 1 };
	const struct tg_val *vals;
	size_t n;

	fill(exec_json);
	n = get("process.ancestors.pid", &vals);
	cr_assert_eq(n, 6);
	for (size_t i = 0; i < n; i++)
		cr_assert_eq(vals[i].n, pids[i], "ancestor %zu", i);
	expect_count("process.ancestors.name", 6);
	expect_str("process.ancestors.name", 0, "tgtrig");
	expect_str("process.ancestors.name", 5, "process_api");
	expect_str("process.ancestors.entity_id", 3, "41f48e04-4e95-f2e9");
	/* pid 1 has no executable: five values, the last ancestor's missing */
	expect_count("process.ancestors.executable", 5);
	expect_str("process.ancestors.executable", 1, "/usr/bin/bash");
	expect_str("process.ancestors.executable", 4, "/memfd:sealed-91173221a7ea");
	/* every slot lies inside vals[] and no two runs overlap */
	for (size_t f = 0; f < fields_count(); f++) {
		const struct tg_val *a;
		size_t na = view_get(g_view, (int)f, &a);

		if (!na)
			continue;
		cr_assert_leq((size_t)(a - g_view->vals) + na, g_view->nvals);
		for (size_t g = f + 1; g < fields_count(); g++) {
			const struct tg_val *b;
			size_t nb = view_get(g_view, (int)g, &b);

			if (nb)
				cr_assert(a + na <= b || b + nb <= a, "runs of %s and %s overlap",
					  fields_get((int)f)->name, fields_get((int)g)->name);
		}
	}
}

Test(view, unknown_paths_and_wrong_types_ignored)
{
	fill("{\"process\":{\"pid\":\"12\",\"name\":7,\"bogus\":\"x\",\"args\":[\"a\",1,\"b\",null]},"
	     "\"user\":{\"id\":true},\"twinguard\":{\"exe_memfd\":1,\"stats\":{\"drops\":3}},"
	     "\"twin\":{\"name\":\"forged\",\"process\":{\"role\":\"service\"}},"
	     "\"twin.file.role\":\"model\","
	     "\"event\":{\"action\":\"open\",\"category\":\"file\"}}");
	expect_count("process.pid", 0);
	expect_count("process.name", 0);
	expect_count("user.id", 0);
	expect_count("twinguard.exe_memfd", 0);
	expect_count("process.args", 2);
	expect_str("process.args", 1, "b");
	/* a scalar where ECS has an array is still one value */
	expect_str("event.category", 0, "file");
	/* twin.* only ever come from twin_derive() */
	expect_count("twin.name", 0);
	expect_count("twin.process.role", 0);
	expect_count("twin.file.role", 0);
	cr_assert_eq(g_view->nvals, 4);
}

/* The walk's path index: a dotted key reaches the same field as nesting;
 * an object where a field's value belongs, and subtrees no field lies
 * under, add nothing. */
Test(view, dotted_keys_and_objects_in_place_of_values)
{
	fill("{\"process.pid\":12,\"process\":{\"parent.pid\":7,\"name\":{\"x\":\"y\"},"
	     "\"executable\":\"/bin/sh\"},\"file\":{\"path\":{\"path\":\"/etc\"}},"
	     "\"rule\":{\"name\":\"r\"},\"destination\":{\"port\":[1883,8883]}}");
	expect_count("process.pid", 1);
	expect_count("process.parent.pid", 1);
	expect_count("process.name", 0);
	expect_count("file.path", 0);
	expect_str("process.executable", 0, "/bin/sh");
	expect_count("destination.port", 2);
	cr_assert_eq(g_view->nvals, 5);
}

Test(view, fill_resets_previous_event)
{
	fill(exec_json);
	expect_count("process.args", 3);
	fill(open_json);
	expect_count("process.args", 0);
	expect_count("process.ancestors.pid", 0);
	expect_str("event.action", 0, "open");
}

Test(view, fill_rejects_non_objects)
{
	cJSON *a = cJSON_Parse("[1,2]");

	cr_assert_eq(view_fill(g_view, a, NULL), -1);
	cr_assert_eq(view_fill(g_view, NULL, NULL), -1);
	cr_assert_eq(g_view->nvals, 0);
	cJSON_Delete(a);
}

Test(view, truncated_past_max_values)
{
	cJSON *root = cJSON_CreateObject();
	cJSON *proc = cJSON_AddObjectToObject(root, "process");
	cJSON *args = cJSON_AddArrayToObject(proc, "args");
	char buf[16];
	const struct tg_val *vals;

	for (int i = 0; i < TG_VIEW_VALS_MAX + 100; i++) {
		snprintf(buf, sizeof(buf), "a%d", i);
		cJSON_AddItemToArray(args, cJSON_CreateString(buf));
	}
	cJSON_AddNumberToObject(proc, "pid", 42);
	g_json = root;
	cr_assert_eq(view_fill(g_view, root, NULL), 0);
	cr_assert(g_view->truncated);
	cr_assert_eq(g_view->nvals, TG_VIEW_VALS_MAX);
	cr_assert_eq(get("process.args", &vals), TG_VIEW_VALS_MAX);
	cr_assert_str_eq(vals[0].s, "a0");
	cr_assert_str_eq(vals[TG_VIEW_VALS_MAX - 1].s, "a511");
	expect_count("process.pid", 0);   /* came after the cut */
	cr_assert_eq(view_add_num(g_view, id("process.pid"), 1), -1);
}

Test(view, deep_json_is_skipped_not_followed)
{
	char json[4096] = "{\"process\":{\"pid\":3,\"x\":";
	size_t len = strlen(json);

	for (int i = 0; i < 500; i++)
		json[len++] = '[';
	json[len++] = '1';
	for (int i = 0; i < 500; i++)
		json[len++] = ']';
	strcpy(json + len, "}}");
	fill(json);
	expect_num("process.pid", 0, 3);
	cr_assert_eq(g_view->nvals, 1);
}

/* ---- view_add_* and reset ------------------------------------------- */

Test(view, add_keeps_runs_contiguous)
{
	int role = id("twin.process.role"), name = id("twin.name"), pid = id("process.pid");
	const struct tg_val *vals;

	fill(open_json);
	cr_assert_eq(view_add_str(g_view, role, "service", 7), 0);
	cr_assert_eq(view_add_strcopy(g_view, name, "grid", 4), 0);
	/* role's run is no longer last: inserted, name's run shifted */
	cr_assert_eq(view_add_str(g_view, role, "client", 6), 0);
	cr_assert_eq(view_get(g_view, role, &vals), 2);
	cr_assert_str_eq(vals[0].s, "service");
	cr_assert_str_eq(vals[1].s, "client");
	expect_str("twin.name", 0, "grid");
	/* and a field filled from JSON, at the start of vals[] */
	cr_assert_eq(view_add_num(g_view, pid, 99), 0);
	cr_assert_eq(view_get(g_view, pid, &vals), 2);
	cr_assert_eq(vals[0].n, 17160);
	cr_assert_eq(vals[1].n, 99);
	expect_str("twinguard.open_flags", 2, "O_TRUNC");
	expect_str("twin.process.role", 1, "client");
	expect_str("twin.name", 0, "grid");
	expect_str("file.mode", 0, "0644");
}

Test(view, add_checks_types)
{
	const struct tg_val *vals;

	cr_assert_eq(view_add_str(g_view, id("process.pid"), "1", 1), -1);
	cr_assert_eq(view_add_num(g_view, id("process.name"), 1), -1);
	cr_assert_eq(view_add_bool(g_view, id("process.pid"), true), -1);
	cr_assert_eq(view_add_str(g_view, id("process.name"), NULL, 0), -1);
	cr_assert_eq(view_add_str(g_view, -1, "x", 1), -1);
	cr_assert_eq(view_add_str(g_view, TG_FIELDS_MAX, "x", 1), -1);
	cr_assert_eq(g_view->nvals, 0);
	/* a number on a boolean field becomes a boolean */
	cr_assert_eq(view_add_num(g_view, id("twin.destination.egress_allowed"), 2), 0);
	cr_assert_eq(view_add_bool(g_view, id("twin.source.client_allowed"), false), 0);
	get("twin.destination.egress_allowed", &vals);
	cr_assert_eq(vals[0].n, 1);
	cr_assert_str_eq(vals[0].s, "true");
	get("twin.source.client_allowed", &vals);
	cr_assert_eq(vals[0].n, 0);
	cr_assert_str_eq(vals[0].s, "false");
}

Test(view, strcopy_uses_arena)
{
	char src[8] = "model";
	char big[sizeof(g_view->arena)];
	int role = id("twin.file.role");

	cr_assert_eq(view_add_strcopy(g_view, role, src, 5), 0);
	src[0] = 'X';
	expect_str("twin.file.role", 0, "model");
	memset(big, 'a', sizeof(big));
	cr_assert_eq(view_add_strcopy(g_view, role, big, sizeof(big) - 6), -1, "arena overflow");
	cr_assert_eq(view_add_strcopy(g_view, role, big, sizeof(big) - 7), 0, "exactly full");
	cr_assert_eq(g_view->arena_used, sizeof(g_view->arena));
	view_reset(g_view);
	cr_assert_eq(g_view->arena_used, 0);
}

Test(view, reset_is_generation_bump)
{
	int pid = id("process.pid");
	uint32_t gen;

	cr_assert_eq(view_add_num(g_view, pid, 1), 0);
	gen = g_view->gen;
	view_reset(g_view);
	cr_assert_eq(g_view->gen, gen + 1);
	cr_assert_eq(view_get(g_view, pid, NULL), 0);
	cr_assert_eq(g_view->nvals, 0);
	/* wrap-around: a stale slot must not come back to life */
	cr_assert_eq(view_add_num(g_view, pid, 2), 0);
	g_view->gen = UINT32_MAX;
	g_view->slot[pid].gen = UINT32_MAX;
	view_reset(g_view);
	cr_assert_eq(g_view->gen, 1);
	cr_assert_eq(view_get(g_view, pid, NULL), 0);
}

Test(view, get_bad_ids)
{
	const struct tg_val *vals = (const struct tg_val *)1;

	cr_assert_eq(view_get(g_view, -1, &vals), 0);
	cr_assert_null(vals);
	cr_assert_eq(view_get(g_view, TG_FIELDS_MAX + 3, NULL), 0);
}
