// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * metrics: the stats object (docs/control.md) as Prometheus text
 * exposition, version 0.0.4. Every family is written whole (HELP, TYPE,
 * samples) from one place of the stats object; a family with no samples
 * is left out. Labels carry only low-cardinality values the agent
 * already keys its counters by: event types, rule names, stages, sinks.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/ctl_priv.h"

#define NS "twinguard_"

/* Integers exactly; other values with as few digits as round-trip. */
static void put_value(struct ctl_buf *b, double v)
{
	char s[40];

	if (isnan(v)) {
		buf_puts(b, "NaN");
	} else if (isinf(v)) {
		buf_puts(b, v > 0 ? "+Inf" : "-Inf");
	} else if (v == floor(v) && fabs(v) < 9007199254740992.0) {
		buf_printf(b, "%.0f", v);
	} else {
		snprintf(s, sizeof(s), "%.15g", v);
		if (strtod(s, NULL) != v)
			snprintf(s, sizeof(s), "%.17g", v);
		buf_puts(b, s);
	}
}

/* Label values: backslash, double quote and newline escaped (0.0.4). */
static void put_label(struct ctl_buf *b, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\')
			buf_puts(b, "\\\\");
		else if (*s == '"')
			buf_puts(b, "\\\"");
		else if (*s == '\n')
			buf_puts(b, "\\n");
		else
			buf_put(b, s, 1);
	}
}

static void put_head(struct ctl_buf *b, const char *name, const char *type, const char *help)
{
	buf_printf(b, "# HELP " NS "%s %s\n# TYPE " NS "%s %s\n", name, help, name, type);
}

static void put_sample(struct ctl_buf *b, const char *name, const char *label,
		       const char *lvalue, double v)
{
	buf_printf(b, NS "%s", name);
	if (label) {
		buf_printf(b, "{%s=\"", label);
		put_label(b, lvalue);
		buf_puts(b, "\"}");
	}
	buf_puts(b, " ");
	put_value(b, v);
	buf_puts(b, "\n");
}

static const cJSON *get(const cJSON *o, const char *k)
{
	return cJSON_IsObject(o) ? cJSON_GetObjectItemCaseSensitive(o, k) : NULL;
}

/* One unlabelled sample, if the number is there. */
static void family_one(struct ctl_buf *b, const cJSON *o, const char *key, const char *name,
		       const char *type, const char *help)
{
	const cJSON *v = get(o, key);

	if (!cJSON_IsNumber(v))
		return;
	put_head(b, name, type, help);
	put_sample(b, name, NULL, NULL, v->valuedouble);
}

/* One sample per numeric member of obj, labelled by the member's name. */
static void family_map(struct ctl_buf *b, const cJSON *obj, const char *name, const char *label,
		       const char *type, const char *help)
{
	const cJSON *it;
	bool head = false;

	cJSON_ArrayForEach(it, (cJSON_IsObject(obj) ? obj : NULL)) {
		if (!cJSON_IsNumber(it) || !it->string)
			continue;
		if (!head)
			put_head(b, name, type, help);
		head = true;
		put_sample(b, name, label, it->string, it->valuedouble);
	}
}

struct sink_metric {
	const char *key, *name, *type, *help;
};

static const struct sink_metric sink_metrics[] = {
	{ "delivered", "sink_delivered_total", "counter", "Records the sink delivered." },
	{ "queued", "sink_queued", "gauge", "Records waiting in the sink's memory queue." },
	{ "spooled", "sink_spooled", "gauge", "Records waiting in the sink's on-disk spool." },
	{ "spool_bytes", "sink_spool_bytes", "gauge", "Bytes of the sink's on-disk spool." },
	{ "spool_dropped", "sink_spool_dropped_total", "counter",
	  "Spooled records dropped past spool_max_mb, oldest first." },
	{ "dropped", "sink_dropped_total", "counter", "Records the sink dropped." },
	{ "errors", "sink_errors_total", "counter", "Transport errors of the sink." },
	{ "retries", "sink_retries_total", "counter", "Reconnects and resends of the sink." },
};

static void family_sinks(struct ctl_buf *b, const cJSON *sinks)
{
	const cJSON *s;
	bool head = false;

	for (size_t m = 0; m < sizeof(sink_metrics) / sizeof(sink_metrics[0]); m++) {
		const struct sink_metric *sm = &sink_metrics[m];
		head = false;
		cJSON_ArrayForEach(s, (cJSON_IsArray(sinks) ? sinks : NULL)) {
			const cJSON *name = get(s, "name"), *v = get(s, sm->key);

			if (!cJSON_IsString(name) || !cJSON_IsNumber(v))
				continue;
			if (!head)
				put_head(b, sm->name, sm->type, sm->help);
			head = true;
			put_sample(b, sm->name, "sink", name->valuestring, v->valuedouble);
		}
	}
	head = false;
	cJSON_ArrayForEach(s, (cJSON_IsArray(sinks) ? sinks : NULL)) {
		const cJSON *name = get(s, "name"), *st = get(s, "state");

		if (!cJSON_IsString(name))
			continue;
		if (!head)
			put_head(b, "sink_up", "gauge", "1 when the sink is connected or open, else 0.");
		head = true;
		put_sample(b, "sink_up", "sink", name->valuestring,
			   cJSON_IsString(st) && !strcmp(st->valuestring, "up"));
	}
}

/* Buckets are [le, cumulative count] pairs; "+Inf" is added if missing. */
static void family_histogram(struct ctl_buf *b, const cJSON *h)
{
	const cJSON *count = get(h, "count"), *sum = get(h, "sum_s"), *bk;
	bool inf = false;

	if (!cJSON_IsNumber(count) || !cJSON_IsNumber(sum))
		return;
	put_head(b, "rule_eval_seconds", "histogram", "Time to evaluate the rules for one event.");
	cJSON_ArrayForEach(bk, (cJSON_IsArray(get(h, "buckets")) ? get(h, "buckets") : NULL)) {
		const cJSON *le = cJSON_GetArrayItem(bk, 0), *n = cJSON_GetArrayItem(bk, 1);

		if (!cJSON_IsNumber(n) || !(cJSON_IsNumber(le) || cJSON_IsString(le)))
			continue;
		buf_puts(b, NS "rule_eval_seconds_bucket{le=\"");
		if (cJSON_IsNumber(le)) {
			put_value(b, le->valuedouble);
		} else {
			inf = inf || !strcmp(le->valuestring, "+Inf");
			put_label(b, le->valuestring);
		}
		buf_puts(b, "\"} ");
		put_value(b, n->valuedouble);
		buf_puts(b, "\n");
	}
	if (!inf) {
		buf_puts(b, NS "rule_eval_seconds_bucket{le=\"+Inf\"} ");
		put_value(b, count->valuedouble);
		buf_puts(b, "\n");
	}
	put_sample(b, "rule_eval_seconds_sum", NULL, NULL, sum->valuedouble);
	put_sample(b, "rule_eval_seconds_count", NULL, NULL, count->valuedouble);
}

struct plain_metric {
	const char *section, *key, *name, *type, *help;
};

static const struct plain_metric plain_metrics[] = {
	{ "kernel", "events", "kernel_events_total", "counter", "Events the kernel side emitted." },
	{ "kernel", "filtered", "kernel_filtered_total", "counter",
	  "Events the kernel filters kept out." },
	{ "kernel", "path_truncated", "kernel_path_truncated_total", "counter",
	  "Paths cut at the kernel's bound." },
	{ "kernel", "tail_call_failures", "kernel_tail_call_failures_total", "counter",
	  "Failed BPF tail calls." },
	{ "kernel", "drop_bytes", "kernel_drop_bytes_total", "counter",
	  "Bytes of events the kernel ring could not take." },
	{ "proc", "entries", "proc_entries", "gauge", "Processes in the process table." },
	{ "proc", "evictions", "proc_evictions_total", "counter",
	  "Process table entries evicted at proc_table_max." },
	{ "rules", "loaded", "rules_loaded", "gauge", "Rules loaded." },
	{ "rules", "states", "rule_states", "gauge", "Live per-key rule states (sequences, counts)." },
	{ "rules", "state_evictions", "rule_state_evictions_total", "counter",
	  "Rule states evicted at their bound." },
	{ "control", "requests", "control_requests_total", "counter",
	  "Requests on the control socket." },
	{ "control", "errors", "control_errors_total", "counter",
	  "Control requests answered with an error." },
	{ "control", "timeouts", "control_timeouts_total", "counter",
	  "Control clients that sent no request line in time." },
	{ "control", "clients_dropped", "control_clients_dropped_total", "counter",
	  "Control clients cut off for not reading their answer." },
	{ "control", "clients_rejected", "control_clients_rejected_total", "counter",
	  "Control clients turned away over the client cap." },
	{ "control", "follow_lost", "control_follow_lost_total", "counter",
	  "Alert lines a slow --follow client lost." },
	{ "control", "clients", "control_clients", "gauge", "Connected control clients." },
};

/* Integrity's members are counters (checked, mismatches, ...) but for the
 * hash queue's length; new ones get a metric without a code change. */
static void family_integrity(struct ctl_buf *b, const cJSON *integ)
{
	const cJSON *it;

	cJSON_ArrayForEach(it, (cJSON_IsObject(integ) ? integ : NULL)) {
		char name[96];
		size_t k = 0;

		if (!cJSON_IsNumber(it) || !it->string)
			continue;
		k = (size_t)snprintf(name, sizeof(name), "integrity_");
		for (const char *p = it->string; *p && k + 8 < sizeof(name); p++)
			name[k++] = (*p >= 'A' && *p <= 'Z') ? (char)(*p - 'A' + 'a') : ((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ? *p : '_');
		name[k] = '\0';
		if (strcmp(it->string, "queued")) {
			snprintf(name + k, sizeof(name) - k, "_total");
			put_head(b, name, "counter", "Integrity checker counter (docs/integrity.md).");
		} else {
			put_head(b, name, "gauge", "Integrity checker value (docs/integrity.md).");
		}
		put_sample(b, name, NULL, NULL, it->valuedouble);
	}
}

char *metrics_render(const cJSON *st, size_t *len)
{
	struct ctl_buf b = { 0 };
	const cJSON *health = get(st, "health");

	family_one(&b, st, "uptime_s", "uptime_seconds", "gauge", "Seconds since the agent started.");
	if (cJSON_IsString(health)) {
		put_head(&b, "health", "gauge", "1 when the agent is healthy, 0 when degraded.");
		put_sample(&b, "health", NULL, NULL, !strcmp(health->valuestring, "ok"));
	}
	family_map(&b, get(get(st, "events"), "by_type"), "events_total", "type", "counter",
		   "Events handled, by type.");
	family_map(&b, get(get(st, "alerts"), "by_rule"), "alerts_total", "rule", "counter",
		   "Alerts raised, by rule.");
	family_map(&b, get(get(st, "suppressed"), "by_rule"), "alerts_suppressed_total", "rule",
		   "counter", "Alerts suppressed by rate limits and deduplication, by rule.");
	family_map(&b, get(st, "drops"), "drops_total", "stage", "counter",
		   "Records dropped, by the stage that dropped them.");
	family_sinks(&b, get(st, "sinks"));
	family_histogram(&b, get(st, "rule_eval"));
	for (size_t i = 0; i < sizeof(plain_metrics) / sizeof(plain_metrics[0]); i++) {
		const struct plain_metric *pm = &plain_metrics[i];

		family_one(&b, get(st, pm->section), pm->key, pm->name, pm->type, pm->help);
	}
	family_integrity(&b, get(st, "integrity"));
	if (b.failed || !b.p) {
		buf_free(&b);
		b.p = b.failed ? NULL : strdup("");
	}
	if (len)
		*len = b.p ? b.len : 0;
	return b.p;
}
