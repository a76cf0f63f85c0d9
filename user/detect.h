/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * detect: profile + rule set + engine as one unit that can be built, checked
 * and swapped whole (start-up, SIGHUP reload, replay). The live agent and
 * `twinguard replay` feed it the same ECS JSON, so both see the same alerts.
 */
#ifndef TG_DETECT_H
#define TG_DETECT_H

#include <stdbool.h>
#include <stdint.h>
#include <cjson/cJSON.h>
#include "engine.h"
#include "fields.h"
#include "profile.h"
#include "rules.h"

#define TG_DEFAULT_RULES_DIR "/usr/share/twinguard/rules"
#define TG_DEFAULT_RULES_LOCAL_DIR "/etc/twinguard/rules.d"
#define TG_DEFAULT_PROFILE "/etc/twinguard/twin-profile.json"
#define TG_DEFAULT_MAX_STATES 0 /* engine default (TG_ENGINE_DEFAULT_STATES) */

struct tg_detect {
	struct tg_profile prof;
	struct tg_ruleset rs;
	struct tg_engine *eng;
	struct tg_view *view;
	bool loaded;
};

struct tg_detect_paths {
	const char *rules_dir;        /* NULL = TG_DEFAULT_RULES_DIR */
	const char *rules_local_dir;  /* NULL = TG_DEFAULT_RULES_LOCAL_DIR */
	const char *profile;          /* NULL = TG_DEFAULT_PROFILE; missing = defaults */
	const char *const *files;     /* explicit rule files instead of the dirs */
	size_t n_files;
	size_t max_states;            /* 0 = TG_DEFAULT_MAX_STATES */
};

/* Build everything. Errors and warnings go to diag; NULL when there was an
 * error. Heap-allocated and never copied: the engine points into the rule
 * set, so the three live and die together. */
struct tg_detect *detect_new(const struct tg_detect_paths *paths, struct tg_diag *diag);
void detect_free(struct tg_detect *d);
/* Evaluate one event; alerts go to fn. */
void detect_event(struct tg_detect *d, const cJSON *event, uint64_t ts_ns, tg_alert_fn fn, void *ctx);
/* "2026-11-26T01:58:01.461755526Z" -> ns since the epoch; 0 when invalid. */
uint64_t detect_parse_time(const char *ts);

#endif
