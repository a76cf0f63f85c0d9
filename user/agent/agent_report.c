// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * What the agent says about itself: the stats and status objects that the
 * control socket and the metrics serve (shapes: docs/control.md), the
 * process tree for `twinguard ps`, and the in-band agent-loss and
 * agent-stats records (docs/alerts.md).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agent/agent_priv.h"
#include "alert.h"
#include "event.h"
#include "manifest.h"
#include "rules.h"
#include "version.h"

const double tg_eval_bounds[TG_EVAL_BUCKETS] = {
	1e-6, 2.5e-6, 5e-6, 1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 1e-3, 1e-2, 1e-1, 1.0,
};

uint64_t agent_now_ns(int clock_id)
{
	struct timespec ts;

	clock_gettime((clockid_t)clock_id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void agent_count_rule(struct tg_agent *a, const char *rule)
{
	for (size_t i = 0; i < a->n_rules; i++)
		if (!strcmp(a->rules[i].name, rule)) {
			a->rules[i].n++;
			return;
		}
	if (a->n_rules < TG_AGENT_RULE_COUNTS && (a->rules[a->n_rules].name = strdup(rule))) {
		a->rules[a->n_rules++].n = 1;
		return;
	}
	a->rules_other++;
}

void agent_count_eval(struct tg_agent *a, uint64_t ns)
{
	double s = (double)ns / 1e9;

	a->eval_count++;
	a->eval_ns += ns;
	for (size_t i = 0; i < TG_EVAL_BUCKETS; i++)
		if (s <= tg_eval_bounds[i]) {
			a->eval_buckets[i]++;
			break;
		}
}

void agent_free_counts(struct tg_agent *a)
{
	for (size_t i = 0; i < a->n_rules; i++)
		free(a->rules[i].name);
	a->n_rules = 0;
}

static void add_u64(cJSON *o, const char *k, uint64_t v)
{
	cJSON_AddNumberToObject(o, k, (double)v);
}

static cJSON *agent_sinks_json(struct tg_agent *a)
{
	struct tg_sink_stats st[TG_SINK_MAX];
	size_t n = deliver_stats(a->out, st, TG_SINK_MAX);
	cJSON *arr = cJSON_CreateArray();

	for (size_t i = 0; i < n; i++) {
		cJSON *s = cJSON_CreateObject();

		cJSON_AddStringToObject(s, "name", st[i].name);
		cJSON_AddStringToObject(s, "kind", st[i].kind);
		cJSON_AddStringToObject(s, "state", st[i].state);
		cJSON_AddStringToObject(s, "target", st[i].target);
		cJSON_AddBoolToObject(s, "reliable", st[i].reliable);
		add_u64(s, "delivered", st[i].delivered);
		add_u64(s, "queued", st[i].queued);
		add_u64(s, "spooled", st[i].spooled);
		add_u64(s, "spool_bytes", st[i].spool_bytes);
		add_u64(s, "spool_dropped", st[i].spool_dropped);
		add_u64(s, "dropped", st[i].dropped);
		add_u64(s, "errors", st[i].errors);
		add_u64(s, "retries", st[i].retries);
		cJSON_AddStringToObject(s, "last_error", st[i].last_error);
		cJSON_AddItemToArray(arr, s);
	}
	return arr;
}

static cJSON *agent_events_json(const struct tg_agent *a, const struct tg_stats *st)
{
	cJSON *ev = cJSON_CreateObject(), *by = cJSON_AddObjectToObject(ev, "by_type");
	uint64_t total = 0;

	for (unsigned t = 0; t < TG_EV_TYPE_MAX; t++) {
		const char *name = a->by_type[t] ? event_type_name(t) : NULL;

		total += a->by_type[t];
		if (name)
			add_u64(by, name, a->by_type[t]);
	}
	add_u64(ev, "total", total);
	(void)st;
	return ev;
}

static cJSON *agent_alerts_json(const struct tg_agent *a)
{
	cJSON *al = cJSON_CreateObject(), *by = cJSON_AddObjectToObject(al, "by_rule");

	add_u64(al, "total", a->alerts);
	for (size_t i = 0; i < a->n_rules; i++)
		add_u64(by, a->rules[i].name, a->rules[i].n);
	if (a->rules_other)
		add_u64(by, "other", a->rules_other);
	return al;
}

static cJSON *agent_eval_json(const struct tg_agent *a)
{
	cJSON *ev = cJSON_CreateObject(), *b = cJSON_AddArrayToObject(ev, "buckets");
	uint64_t cum = 0;

	add_u64(ev, "count", a->eval_count);
	cJSON_AddNumberToObject(ev, "sum_s", (double)a->eval_ns / 1e9);
	for (size_t i = 0; i < TG_EVAL_BUCKETS; i++) {
		cJSON *pair = cJSON_CreateArray();

		cum += a->eval_buckets[i];
		cJSON_AddItemToArray(pair, cJSON_CreateNumber(tg_eval_bounds[i]));
		cJSON_AddItemToArray(pair, cJSON_CreateNumber((double)cum));
		cJSON_AddItemToArray(b, pair);
	}
	cJSON *inf = cJSON_CreateArray();

	cJSON_AddItemToArray(inf, cJSON_CreateString("+Inf"));
	cJSON_AddItemToArray(inf, cJSON_CreateNumber((double)a->eval_count));
	cJSON_AddItemToArray(b, inf);
	return ev;
}

/* Losses per stage: the same numbers agent-loss reports. */
static void agent_losses(struct tg_agent *a, uint64_t out[TG_LOSS_MAX])
{
	struct tg_sink_stats st[TG_SINK_MAX];
	struct tg_stats ks;
	size_t n = deliver_stats(a->out, st, TG_SINK_MAX);

	memset(out, 0, sizeof(uint64_t) * TG_LOSS_MAX);
	probe_stats(a->probe, &ks);
	out[TG_LOSS_KERNEL_RING] = ks.drops;
	out[TG_LOSS_FLOW_MAP] = ks.flow_drops;
	out[TG_LOSS_INVALID] = a->invalid;
	if (a->rl) {
		struct tg_ratelimit_stats rs;

		ratelimit_stats(a->rl, &rs);
		out[TG_LOSS_RATE_LIMIT] = rs.suppressed;
	}
	if (a->ctl) {
		cJSON *c = ctl_stats_json(a->ctl);
		const cJSON *lost = cJSON_GetObjectItem(c, "follow_lost");

		out[TG_LOSS_CONTROL] = cJSON_IsNumber(lost) ? (uint64_t)lost->valuedouble : 0;
		cJSON_Delete(c);
	}
	for (size_t i = 0; i < n; i++) {
		out[TG_LOSS_SINK0 + i] = st[i].dropped;
		out[TG_LOSS_SPOOL0 + i] = st[i].spool_dropped;
	}
}

static cJSON *agent_drops_json(struct tg_agent *a)
{
	uint64_t l[TG_LOSS_MAX], output = 0, queue = 0, spool = 0;
	struct tg_sink_stats st[TG_SINK_MAX];
	size_t n = deliver_stats(a->out, st, TG_SINK_MAX);
	cJSON *d = cJSON_CreateObject();

	agent_losses(a, l);
	for (size_t i = 0; i < n; i++) {
		if (!strcmp(st[i].name, "output"))
			output += l[TG_LOSS_SINK0 + i];
		else
			queue += l[TG_LOSS_SINK0 + i];
		spool += l[TG_LOSS_SPOOL0 + i];
	}
	add_u64(d, "kernel_ring", l[TG_LOSS_KERNEL_RING]);
	add_u64(d, "flow_map", l[TG_LOSS_FLOW_MAP]);
	add_u64(d, "invalid_records", l[TG_LOSS_INVALID]);
	add_u64(d, "sink_queue", queue);
	add_u64(d, "spool", spool);
	add_u64(d, "rate_limit", l[TG_LOSS_RATE_LIMIT]);
	add_u64(d, "output", output);
	add_u64(d, "control", l[TG_LOSS_CONTROL]);
	return d;
}

/* The rate limiter: {"total": N, "by_rule": {RULE: N}, "keys", "evictions"} */
static cJSON *agent_suppressed_json(struct tg_agent *a)
{
	struct tg_ratelimit_stats rs;
	cJSON *o = cJSON_CreateObject();

	ratelimit_stats(a->rl, &rs);
	add_u64(o, "total", rs.suppressed);
	cJSON_AddItemToObject(o, "by_rule", ratelimit_by_rule_json(a->rl));
	add_u64(o, "keys", rs.keys);
	add_u64(o, "evictions", rs.evictions);
	return o;
}

cJSON *agent_stats_json(struct tg_agent *a)
{
	struct tg_proctable_stats ps;
	struct tg_stats ks;
	cJSON *j = cJSON_CreateObject(), *o;

	probe_stats(a->probe, &ks);
	proctable_stats(a->pt, &ps);
	cJSON_AddNumberToObject(j, "uptime_s",
				(double)(agent_now_ns(CLOCK_MONOTONIC) - a->start_mono_ns) / 1e9);
	cJSON_AddItemToObject(j, "events", agent_events_json(a, &ks));
	cJSON_AddItemToObject(j, "alerts", agent_alerts_json(a));
	cJSON_AddItemToObject(j, "drops", agent_drops_json(a));
	cJSON_AddItemToObject(j, "suppressed", agent_suppressed_json(a));
	cJSON_AddItemToObject(j, "sinks", agent_sinks_json(a));
	cJSON_AddItemToObject(j, "rule_eval", agent_eval_json(a));
	o = cJSON_AddObjectToObject(j, "kernel");
	add_u64(o, "events", ks.events);
	add_u64(o, "filtered", ks.filtered);
	add_u64(o, "path_truncated", ks.path_trunc);
	add_u64(o, "tail_call_failures", ks.tail_fail);
	add_u64(o, "drop_bytes", ks.drop_bytes);
	add_u64(o, "user_filtered", a->user_filtered);
	add_u64(o, "rounds_at_budget", a->rounds_full);
	o = cJSON_AddObjectToObject(j, "proc");
	add_u64(o, "entries", ps.entries);
	add_u64(o, "evictions", ps.evictions);
	o = cJSON_AddObjectToObject(j, "rules");
	add_u64(o, "loaded", a->det ? a->det->rs.n_rules : 0);
	if (a->det) {
		struct tg_engine_stats es;

		engine_stats(a->det->eng, &es);
		add_u64(o, "states", es.states);
		add_u64(o, "state_evictions", es.evictions);
	}
	if (a->ctl)
		cJSON_AddItemToObject(j, "control", ctl_stats_json(a->ctl));
	if (a->ig) {
		struct tg_integrity_stats is;

		integrity_stats(a->ig, &is);
		o = cJSON_AddObjectToObject(j, "integrity");
		add_u64(o, "checked", is.checked);
		add_u64(o, "mismatches", is.mismatches);
		add_u64(o, "unknown", is.unknown);
		add_u64(o, "missing", is.missing);
		add_u64(o, "updated", is.updated);
		add_u64(o, "errors", is.errors);
		add_u64(o, "overflows", is.overflows);
		add_u64(o, "rescans", is.rescans);
		add_u64(o, "repeats", is.repeats);
		add_u64(o, "queued", is.queued);
	}
	return j;
}

/* The packs and local files with their digests, so an operator can tell
 * which rules a host runs. */
static cJSON *agent_rule_files_json(struct tg_agent *a)
{
	const struct tg_agent_opts *o = a->opts;
	const char *dir = o->rules_dir ? o->rules_dir : a->cfg.rules_dir;
	const char *local = o->rules_local_dir ? o->rules_local_dir : a->cfg.rules_local_dir;
	cJSON *arr = cJSON_CreateArray();
	char **files = NULL;
	size_t n = 0;

	if (rules_default_files(dir ? dir : TG_DEFAULT_RULES_DIR,
				local ? local : TG_DEFAULT_RULES_LOCAL_DIR, &files, &n))
		return arr;
	for (size_t i = 0; i < n; i++) {
		struct tg_hash_result h;
		char hex[TG_SHA256_HEX];
		cJSON *f = cJSON_CreateObject();

		manifest_hash_file(files[i], NULL, &h);
		cJSON_AddStringToObject(f, "path", files[i]);
		if (h.status == TG_HASH_OK) {
			manifest_hex(h.sha256, hex);
			cJSON_AddStringToObject(f, "sha256", hex);
		}
		cJSON_AddItemToArray(arr, f);
		free(files[i]);
	}
	free(files);
	return arr;
}

/* "degraded" with reasons: drops, failing sinks, a full spool, programs off. */
static void agent_health(struct tg_agent *a, cJSON *status)
{
	uint64_t l[TG_LOSS_MAX], lost = 0;
	cJSON *reasons = cJSON_CreateArray(), *sinks = cJSON_GetObjectItem(status, "sinks"), *s;
	char why[384];

	agent_losses(a, l);
	for (size_t i = 0; i < TG_LOSS_MAX; i++)
		lost += l[i];
	if (lost) {
		snprintf(why, sizeof(why), "%" PRIu64 " records lost since start (see stats.drops)",
			 lost);
		cJSON_AddItemToArray(reasons, cJSON_CreateString(why));
	}
	cJSON_ArrayForEach(s, sinks) {
		const char *state = cJSON_GetStringValue(cJSON_GetObjectItem(s, "state"));
		const char *name = cJSON_GetStringValue(cJSON_GetObjectItem(s, "name"));
		const char *err = cJSON_GetStringValue(cJSON_GetObjectItem(s, "last_error"));

		if (state && strcmp(state, "up")) {
			snprintf(why, sizeof(why), "sink %s is %s: %s", name ? name : "?", state,
				 err && *err ? err : "no error recorded");
			cJSON_AddItemToArray(reasons, cJSON_CreateString(why));
		}
	}
	if (a->ctl_error[0])
		cJSON_AddItemToArray(reasons, cJSON_CreateString(a->ctl_error));
	if (a->metrics_error[0])
		cJSON_AddItemToArray(reasons, cJSON_CreateString(a->metrics_error));
	if (probe_switched_off(a->probe)) {
		snprintf(why, sizeof(why), "%u BPF programs switched off", probe_switched_off(a->probe));
		cJSON_AddItemToArray(reasons, cJSON_CreateString(why));
	}
	cJSON_AddStringToObject(status, "health", cJSON_GetArraySize(reasons) ? "degraded" : "ok");
	cJSON_AddItemToObject(status, "reasons", reasons);
}

cJSON *agent_status_json(struct tg_agent *a)
{
	cJSON *j = cJSON_CreateObject(), *o;

	cJSON_AddStringToObject(j, "version", TG_VERSION);
	cJSON_AddNumberToObject(j, "pid", (double)getpid());
	cJSON_AddNumberToObject(j, "uptime_s",
				(double)(agent_now_ns(CLOCK_MONOTONIC) - a->start_mono_ns) / 1e9);
	o = cJSON_AddObjectToObject(j, "programs");
	add_u64(o, "attached", probe_attached(a->probe));
	add_u64(o, "switched_off", probe_switched_off(a->probe));
	o = cJSON_AddObjectToObject(j, "rules");
	add_u64(o, "count", a->det ? a->det->rs.n_rules : 0);
	cJSON_AddItemToObject(o, "files", agent_rule_files_json(a));
	o = cJSON_AddObjectToObject(j, "profile");
	if (a->det && a->det->prof.name)
		cJSON_AddStringToObject(o, "name", a->det->prof.name);
	if (a->det && a->det->prof.source)
		cJSON_AddStringToObject(o, "path", a->det->prof.source);
	if (a->ig) {
		o = cJSON_AddObjectToObject(j, "manifest");
		cJSON_AddStringToObject(o, "path", a->opts->manifest ? a->opts->manifest :
					a->cfg.manifest ? a->cfg.manifest : TG_DEFAULT_MANIFEST);
	} else {
		cJSON_AddNullToObject(j, "manifest");
	}
	cJSON_AddItemToObject(j, "sinks", agent_sinks_json(a));
	cJSON_AddStringToObject(j, "control_socket", a->cfg.control_socket ? a->cfg.control_socket : "off");
	agent_health(a, j);
	return j;
}

/* The flat summary of docs/events.md (agent-stats, the final stderr line). */
static cJSON *agent_summary_json(struct tg_agent *a)
{
	struct tg_sink_stats st[TG_SINK_MAX];
	struct tg_proctable_stats ps;
	struct tg_stats ks;
	size_t n = deliver_stats(a->out, st, TG_SINK_MAX);
	cJSON *j = cJSON_CreateObject();

	probe_stats(a->probe, &ks);
	proctable_stats(a->pt, &ps);
	add_u64(j, "events", ks.events);
	add_u64(j, "drops", ks.drops);
	add_u64(j, "drop_bytes", ks.drop_bytes);
	add_u64(j, "flow_drops", ks.flow_drops);
	add_u64(j, "filtered", ks.filtered);
	add_u64(j, "path_truncated", ks.path_trunc);
	add_u64(j, "tail_call_failures", ks.tail_fail);
	add_u64(j, "user_filtered", a->user_filtered);
	add_u64(j, "invalid_records", a->invalid);
	/* the stream sink is always first (deliver.c) */
	add_u64(j, "output_lines", n ? st[0].delivered : 0);
	add_u64(j, "output_errors", n ? st[0].errors + st[0].dropped : 0);
	add_u64(j, "proc_entries", ps.entries);
	add_u64(j, "proc_evictions", ps.evictions);
	add_u64(j, "alerts", a->alerts);
	if (a->det) {
		struct tg_engine_stats es;

		engine_stats(a->det->eng, &es);
		add_u64(j, "rule_states", es.states);
		add_u64(j, "rule_state_evictions", es.evictions);
	}
	cJSON_AddItemToObject(j, "drops_by_stage", agent_drops_json(a));
	return j;
}

static void agent_submit(struct tg_agent *a, unsigned kind, cJSON *j)
{
	struct tg_record *r = record_new(kind, j);

	deliver_submit(a->out, r);
	record_put(r);
	cJSON_Delete(j);
}

/* The head every in-band record shares. */
static cJSON *agent_record_head(struct tg_agent *a, const char *action, const char *kind)
{
	cJSON *j = cJSON_CreateObject(), *ev;
	char ts[64];

	ecs_timestamp(&a->ecs, agent_now_ns(CLOCK_BOOTTIME), ts, sizeof(ts));
	cJSON_AddStringToObject(j, "@timestamp", ts);
	cJSON_AddStringToObject(j, "schema_version", "1");
	ev = cJSON_AddObjectToObject(j, "event");
	cJSON_AddStringToObject(ev, "kind", kind);
	cJSON_AddStringToObject(ev, "action", action);
	cJSON_AddStringToObject(ev, "created", ts);
	alert_stamp(j);   /* host.id, host.hostname, event.id */
	return j;
}

void agent_report_stats(struct tg_agent *a, bool final)
{
	cJSON *sum = agent_summary_json(a), *rec;
	char *line;

	if (a->events && !final) {
		rec = agent_record_head(a, "agent-stats", "metric");
		cJSON_AddItemToObject(cJSON_AddObjectToObject(rec, "twinguard"), "stats",
				      cJSON_Duplicate(sum, true));
		agent_submit(a, TG_REC_STATS, rec);
	}
	if (final) {
		line = cJSON_PrintUnformatted(sum);
		fprintf(stderr, "twinguard: stats %s\n", line ? line : "{}");
		free(line);
	}
	cJSON_Delete(sum);
}

static void agent_loss_record(struct tg_agent *a, const char *stage, const char *sink,
			      uint64_t count, uint64_t total)
{
	cJSON *j = agent_record_head(a, "agent-loss", "alert"), *tg, *loss;
	char msg[384];

	cJSON_AddNumberToObject(cJSON_GetObjectItem(j, "event"), "severity", 3);
	cJSON_AddStringToObject(cJSON_AddObjectToObject(j, "rule"), "name", "agent-loss");
	snprintf(msg, sizeof(msg), "twinguard lost %" PRIu64 " records at stage %s%s%s in the last "
		 "%u s (%" PRIu64 " since start)", count, stage, sink ? " of sink " : "",
		 sink ? sink : "", a->cfg.loss_report_s, total);
	cJSON_AddStringToObject(j, "message", msg);
	tg = cJSON_AddObjectToObject(j, "twinguard");
	cJSON_AddStringToObject(cJSON_AddObjectToObject(tg, "alert"), "priority", "error");
	loss = cJSON_AddObjectToObject(tg, "loss");
	cJSON_AddStringToObject(loss, "stage", stage);
	if (sink)
		cJSON_AddStringToObject(loss, "sink", sink);
	add_u64(loss, "count", count);
	add_u64(loss, "total", total);
	add_u64(loss, "interval_s", a->cfg.loss_report_s);
	if (!strcmp(stage, "kernel_ring"))
		fprintf(stderr, "twinguard: warning: %" PRIu64 " events dropped (ring buffer full); "
			"raise ringbuf_kb or narrow the watched prefixes\n", count);
	else
		fprintf(stderr, "twinguard: warning: %s\n", msg);
	agent_submit(a, TG_REC_LOSS, j);
}

void agent_on_suppressed(void *ctx, cJSON *rec)
{
	agent_submit(ctx, TG_REC_SUPPRESSED, rec);
}

void agent_report_losses(struct tg_agent *a)
{
	static const char *const fixed[] = { "kernel_ring", "flow_map", "invalid_records",
					     "rate_limit", "control" };
	struct tg_sink_stats st[TG_SINK_MAX];
	size_t n = deliver_stats(a->out, st, TG_SINK_MAX);
	uint64_t l[TG_LOSS_MAX];

	agent_losses(a, l);
	for (size_t i = 0; i < TG_LOSS_MAX; i++) {
		const char *stage, *sink = NULL;
		size_t k;

		if (l[i] <= a->loss_reported[i])
			continue;
		if (i < TG_LOSS_SINK0) {
			stage = fixed[i];
		} else if (i < TG_LOSS_SPOOL0) {
			k = i - TG_LOSS_SINK0;
			sink = k < n ? st[k].name : "?";
			stage = !strcmp(sink, "output") ? "output" : "sink_queue";
		} else {
			k = i - TG_LOSS_SPOOL0;
			sink = k < n ? st[k].name : "?";
			stage = "spool";
		}
		agent_loss_record(a, stage, sink, l[i] - a->loss_reported[i], l[i]);
		a->loss_reported[i] = l[i];
	}
}
