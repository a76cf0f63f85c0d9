// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * libFuzzer target for the condition compiler (user/cond_*.c): arbitrary
 * bytes as condition text, compiled against an environment with macros
 * (one valid, one that uses itself, one pair that uses each other, one
 * with an error inside) and lists (plain, nested, numeric, cyclic); what
 * compiles is evaluated against a fixed event view, walked and analysed,
 * then freed. ASan/UBSan report the rest.
 *
 *   clang -g -O1 -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined \
 *       -fno-sanitize-recover=all -Iinclude -Iuser -I.output tests/fuzz/fuzz_cond.c \
 *       user/cond_lex.c user/cond_expand.c user/cond_parse.c user/cond_eval.c user/fields.c \
 *       user/twin.c user/profile.c user/diag.c user/path.c -lcjson -o /tmp/fuzz_cond
 *   mkdir -p /tmp/corpus && /tmp/fuzz_cond -max_total_time=60 -max_len=512 \
 *       /tmp/corpus tests/fuzz/corpus_cond
 *
 * (the first directory receives new inputs: keep the seed corpus small.)
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>

#include "cond.h"
#include "fields.h"

static const char *const macros[][2] = {
	{ "is_shell", "process.name in (shells) or process.executable endswith /sh" },
	{ "spawned_by_shell", "process.parent.name in (shells) and not is_shell" },
	{ "self_loop", "process.pid = 1 or self_loop" },
	{ "ping", "event.action = exec and pong" },
	{ "pong", "(ping)" },
	{ "broken", "process.pid startswith 1" },
	{ "exec", "event.action = exec" },
};

static const char *const shells[] = { "sh", "bash", "dash" };
static const char *const all_shells[] = { "shells", "zsh", "busybox" };
static const char *const ports[] = { "1883", "8883", "502" };
static const char *const cycle_a[] = { "x", "cycle_b" };
static const char *const cycle_b[] = { "cycle_a" };
static const char *const dirs[] = { "/etc", "/var/lib/twin/", "/" };

static const struct {
	const char *name;
	const char *const *items;
	size_t n;
} lists[] = {
	{ "shells", shells, 3 },
	{ "all_shells", all_shells, 3 },
	{ "ports", ports, 3 },
	{ "cycle_a", cycle_a, 2 },
	{ "cycle_b", cycle_b, 1 },
	{ "dirs", dirs, 3 },
	{ "empty", NULL, 0 },
};

static const char *env_macro(void *ctx, const char *name)
{
	(void)ctx;
	for (size_t i = 0; i < sizeof(macros) / sizeof(macros[0]); i++)
		if (!strcmp(macros[i][0], name))
			return macros[i][1];
	return NULL;
}

static const char *const *env_list(void *ctx, const char *name, size_t *n)
{
	static const char *const none[1];

	(void)ctx;
	for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
		if (!strcmp(lists[i].name, name)) {
			*n = lists[i].n;
			return lists[i].items ? lists[i].items : none;
		}
	}
	return NULL;
}

static void env_used(void *ctx, const char *name)
{
	(void)ctx;
	(void)name;
}

static void on_field(void *ctx, int field, const char *op, const char *value)
{
	size_t *n = ctx;

	*n += (size_t)field + strlen(op) + (value ? strlen(value) : 0);
}

static const char event_json[] =
	"{\"@timestamp\":\"2026-11-26T02:03:08.964070874Z\",\"host\":{\"hostname\":\"vm\"},"
	"\"process\":{\"pid\":17165,\"entity_id\":\"41f48e04-430d-16299\","
	"\"executable\":\"/usr/bin/dash\","
	"\"name\":\"sh\",\"args\":[\"sh\",\"-c\",\"echo hi\"],\"args_count\":3,"
	"\"parent\":{\"pid\":17160,\"name\":\"tgtrig\",\"executable\":\"/tmp/tgdoc/tgtrig\"},"
	"\"ancestors\":[{\"pid\":17160,\"executable\":\"/tmp/tgdoc/tgtrig\",\"name\":\"tgtrig\"},"
	"{\"pid\":1,\"name\":\"init\"}]},"
	"\"user\":{\"id\":0,\"name\":\"root\"},"
	"\"event\":{\"kind\":\"event\",\"category\":[\"process\"],\"type\":[\"start\"],"
	"\"action\":\"exec\"},"
	"\"twinguard\":{\"exe_memfd\":false,\"open_flags\":[\"O_RDONLY\",\"O_CLOEXEC\"]},"
	"\"file\":{\"path\":\"/etc/passwd\"},\"destination\":{\"ip\":\"10.0.0.5\",\"port\":1883}}";

static struct tg_view view;
static cJSON *event;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct tg_cond_env env = { env_macro, env_list, env_used, NULL };
	struct tg_cond_error err;
	struct tg_cond *c;
	char *text;

	if (!event) {
		event = cJSON_Parse(event_json);
		if (!event)
			abort();
		view_init(&view);
		if (view_fill(&view, event, NULL))
			abort();
	}
	text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = 0;
	c = cond_compile(text, &env, &err);
	if (c) {
		size_t n = 0, walked = 0;
		const char *const *a = cond_actions(c, &n);

		(void)cond_eval(c, &view);
		(void)cond_never_matches(c);
		cond_walk(c, on_field, &walked);
		for (size_t i = 0; a && i < n; i++)
			walked += strlen(a[i]);
		cond_free(c);
	} else if (err.offset > (err.macro[0] ? 4096 : size) || !memchr(err.msg, 0, sizeof(err.msg))) {
		abort();   /* an error must point into the text it is about */
	}
	free(text);
	return 0;
}
