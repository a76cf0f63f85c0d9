/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The agent's state, shared by its files (folder-private):
 *   agent.c         lifecycle: set-up, the poll loop, reload, shut-down
 *   agent_report.c  what the agent says about itself: stats, status,
 *                   agent-loss and agent-stats records
 *   agent_ps.c      the process tree for `twinguard ps`
 *   agent_ctl.c     the query socket's callbacks, the metrics listener
 */
#ifndef TG_AGENT_PRIV_H
#define TG_AGENT_PRIV_H

#include <stdbool.h>
#include <stdint.h>
#include <twinguard/events.h>
#include <cjson/cJSON.h>

#include "agent/agent.h"
#include "config.h"
#include "ctl/ctl.h"
#include "deliver/deliver.h"
#include "detect.h"
#include "ecs.h"
#include "integrity.h"
#include "probe.h"
#include "proctable.h"
#include "ratelimit.h"

#define TG_AGENT_RULE_COUNTS 512   /* distinct rule names counted; more share "other" */
#define TG_EVAL_BUCKETS 12

/* Losses are reported per stage (docs/delivery.md, "Every loss is visible"). */
enum tg_loss_stage {
	TG_LOSS_KERNEL_RING,
	TG_LOSS_FLOW_MAP,
	TG_LOSS_INVALID,
	TG_LOSS_RATE_LIMIT,
	TG_LOSS_CONTROL,
	TG_LOSS_SINK0,             /* + sink index: queue drops (stage output/sink_queue) */
	TG_LOSS_SPOOL0 = TG_LOSS_SINK0 + TG_SINK_MAX,
	TG_LOSS_MAX = TG_LOSS_SPOOL0 + TG_SINK_MAX,
};

struct tg_rule_count {
	char *name;
	uint64_t n;
};

struct tg_agent {
	struct tg_config cfg;
	struct tg_config kcfg;    /* what the kernel filters: cfg + what the rules need */
	const char *config_path;
	struct tg_probe *probe;
	struct tg_proctable *pt;
	struct tg_ecs ecs;
	struct tg_deliver *out;
	const struct tg_agent_opts *opts;
	struct tg_detect *det;    /* profile + rules + engine, swapped whole on reload */
	struct tg_integrity *ig;  /* model/config integrity; NULL when off */
	struct tg_ctl *ctl;       /* the query socket; NULL when off or failed */
	struct tg_ratelimit *rl;  /* noise control; kept across reloads (state by rule name) */
	struct tg_metrics_http *metrics;
	char ctl_error[600], metrics_error[600];  /* why they are not served */
	bool events;
	bool stdout_closed;
	uint64_t start_mono_ns;
	/* counters */
	uint64_t alerts;
	uint64_t user_filtered;   /* name-based file events outside the prefixes */
	uint64_t invalid;         /* malformed records (ABI mismatch) */
	uint64_t rounds_full;     /* poll rounds that hit the intake budget */
	uint64_t by_type[TG_EV_TYPE_MAX];
	struct tg_rule_count rules[TG_AGENT_RULE_COUNTS];
	size_t n_rules;
	uint64_t rules_other;
	uint64_t eval_count, eval_ns;
	uint64_t eval_buckets[TG_EVAL_BUCKETS];
	/* loss reporting */
	uint64_t loss_reported[TG_LOSS_MAX];
	uint64_t next_loss_ns;
	uint64_t last_drops;
};

/* agent.c */
cJSON *agent_reload_json(struct tg_agent *a);
/* agent_ctl.c */
void agent_ctl_start(struct tg_agent *a);
void agent_metrics_publish(struct tg_agent *a);
void agent_ctl_stop(struct tg_agent *a);
/* agent_report.c */
extern const double tg_eval_bounds[TG_EVAL_BUCKETS];
void agent_count_rule(struct tg_agent *a, const char *rule);
void agent_count_eval(struct tg_agent *a, uint64_t ns);
cJSON *agent_stats_json(struct tg_agent *a);
cJSON *agent_status_json(struct tg_agent *a);
cJSON *agent_ps_json(struct tg_agent *a, uint32_t pid);
/* Submit an agent-loss record for every stage whose loss grew. */
void agent_report_losses(struct tg_agent *a);
/* ratelimit_flush's callback: an alert-suppressed record into the stream. */
void agent_on_suppressed(void *ctx, cJSON *rec);
/* The agent-stats record (stream with --events), or with final the last
 * stderr line only (the sinks are stopped by then). */
void agent_report_stats(struct tg_agent *a, bool final);
uint64_t agent_now_ns(int clock_id);
void agent_free_counts(struct tg_agent *a);

#endif
