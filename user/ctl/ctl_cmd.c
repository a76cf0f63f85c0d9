// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * ctl_cmd: one request line to one answer, and the recent-alerts ring
 * (docs/control.md). Runs in the agent's main thread like the rest of ctl,
 * so the ops read the agent's state directly.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctl/ctl_priv.h"

#define CMD_LIST "status, stats, ps, alerts, reload or metrics"

/* An op that returned NULL: the agent could not build its answer. */
static void answer_op(struct tg_ctl *c, struct ctl_client *cl, cJSON *j, const char *what)
{
	char msg[128];

	if (j) {
		ctl_answer_json(c, cl, j);
		return;
	}
	snprintf(msg, sizeof(msg), "the agent could not answer '%s'", what);
	ctl_answer_error(c, cl, msg);
}

static void cmd_ps(struct tg_ctl *c, struct ctl_client *cl, const cJSON *req)
{
	const cJSON *pid = cJSON_GetObjectItemCaseSensitive(req, "pid");
	char msg[128];
	cJSON *j;

	if (pid && !cJSON_IsNull(pid) &&
	    (!cJSON_IsNumber(pid) || pid->valuedouble < 0 || pid->valuedouble > 4194304 ||
	     pid->valuedouble != floor(pid->valuedouble))) {
		ctl_answer_error(c, cl, "ps: \"pid\" must be a process id (an integer "
				 "0..4194304, 0 or absent for the whole tree)");
		return;
	}
	j = c->ops.ps ? c->ops.ps(c->ctx, pid && cJSON_IsNumber(pid) ? (pid_t)pid->valuedouble : 0)
		      : NULL;
	if (!j && pid && cJSON_IsNumber(pid) && pid->valuedouble > 0) {
		snprintf(msg, sizeof(msg), "ps: no process %d in the process table",
			 (int)pid->valuedouble);
		ctl_answer_error(c, cl, msg);
		return;
	}
	answer_op(c, cl, j, "ps");
}

static void cmd_metrics(struct tg_ctl *c, struct ctl_client *cl)
{
	cJSON *stats = c->ops.stats ? c->ops.stats(c->ctx) : NULL;
	size_t len = 0;
	char *text = stats ? metrics_render(stats, &len) : NULL;

	cJSON_Delete(stats);
	if (!text) {
		ctl_answer_error(c, cl, "the agent could not answer 'metrics'");
		return;
	}
	cl->state = CTL_WRITE;
	cl->deadline_ms = ctl_now_ms() + CTL_WRITE_MS;
	if (!ctl_queue(c, cl, text, len))
		ctl_answer_error(c, cl, "answer too large for the control socket's buffers");
	free(text);
}

static uint64_t realtime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static bool alert_matches(const struct tg_record *r, const char *rule, uint64_t since_ns)
{
	if (rule && (!r->rule || strcmp(r->rule, rule)))
		return false;
	return r->time_ns >= since_ns;
}

/* The record's own line, as in the alert stream; false when it did not fit. */
static bool queue_record(struct tg_ctl *c, struct ctl_client *cl, const struct tg_record *r)
{
	size_t n = r->json_len;
	char *line = malloc(n + 1);
	bool ok;

	if (!line)
		return false;
	memcpy(line, r->json, n);
	line[n] = '\n';
	ok = ctl_queue(c, cl, line, n + 1);
	free(line);
	return ok;
}

/* Parse since_s/rule/follow; NULL, or the error to answer. */
static const char *alerts_args(const cJSON *req, double *since_s, const char **rule, bool *follow)
{
	const cJSON *s = cJSON_GetObjectItemCaseSensitive(req, "since_s");
	const cJSON *r = cJSON_GetObjectItemCaseSensitive(req, "rule");
	const cJSON *f = cJSON_GetObjectItemCaseSensitive(req, "follow");

	*since_s = -1;
	*rule = NULL;
	*follow = false;
	if (s && !cJSON_IsNull(s)) {
		if (!cJSON_IsNumber(s) || !(s->valuedouble >= 0) || s->valuedouble > 1e9)
			return "alerts: \"since_s\" must be a number of seconds >= 0";
		*since_s = s->valuedouble;
	}
	if (r && !cJSON_IsNull(r)) {
		if (!cJSON_IsString(r) || !r->valuestring[0] || strlen(r->valuestring) > 256)
			return "alerts: \"rule\" must be a rule name (a non-empty string)";
		*rule = r->valuestring;
	}
	if (f && !cJSON_IsNull(f)) {
		if (!cJSON_IsBool(f))
			return "alerts: \"follow\" must be true or false";
		*follow = cJSON_IsTrue(f);
	}
	return NULL;
}

/*
 * The answer is JSON lines, not one object: each alert exactly as the
 * alert stream has it, oldest first, so `twinguard alerts | jq` works and
 * --follow just goes on with the same lines.
 */
static void cmd_alerts(struct tg_ctl *c, struct ctl_client *cl, const cJSON *req)
{
	const char *rule, *err;
	double since_s;
	bool follow;
	uint64_t since_ns = 0, now = realtime_ns();

	err = alerts_args(req, &since_s, &rule, &follow);
	if (err) {
		ctl_answer_error(c, cl, err);
		return;
	}
	if (since_s >= 0 && since_s * 1e9 < (double)now)
		since_ns = now - (uint64_t)(since_s * 1e9);
	cl->state = follow ? CTL_FOLLOW : CTL_WRITE;
	cl->deadline_ms = ctl_now_ms() + CTL_WRITE_MS;
	if (follow && rule && !(cl->rule = strdup(rule))) {
		ctl_answer_error(c, cl, "out of memory");
		return;
	}
	for (size_t k = 0; k < c->ring_n; k++) {
		size_t i = (c->ring_head + c->ring_max - c->ring_n + k) % c->ring_max;

		if (!alert_matches(c->ring[i], rule, since_ns))
			continue;
		if (!queue_record(c, cl, c->ring[i])) {
			/* A follower is told in band; a one-shot answer is cut, so
			 * say so rather than end as if complete. */
			if (follow) {
				cl->lost++;
				c->n.follow_lost++;
			} else {
				ctl_answer_error(c, cl, "alerts: the answer is too large: "
						 "narrow it with since_s or rule");
				return;
			}
		}
	}
}

static void dispatch(struct tg_ctl *c, struct ctl_client *cl, const cJSON *req, const char *cmd)
{
	char msg[160];

	if (!strcmp(cmd, "status"))
		answer_op(c, cl, c->ops.status ? c->ops.status(c->ctx) : NULL, "status");
	else if (!strcmp(cmd, "stats"))
		answer_op(c, cl, c->ops.stats ? c->ops.stats(c->ctx) : NULL, "stats");
	else if (!strcmp(cmd, "ps"))
		cmd_ps(c, cl, req);
	else if (!strcmp(cmd, "alerts"))
		cmd_alerts(c, cl, req);
	else if (!strcmp(cmd, "reload"))
		answer_op(c, cl, c->ops.reload ? c->ops.reload(c->ctx) : NULL, "reload");
	else if (!strcmp(cmd, "metrics"))
		cmd_metrics(c, cl);
	else {
		snprintf(msg, sizeof(msg), "unknown cmd '%.40s': expected " CMD_LIST, cmd);
		ctl_answer_error(c, cl, msg);
	}
}

void ctl_request(struct tg_ctl *c, struct ctl_client *cl, const char *line, size_t len)
{
	cJSON *req = cJSON_ParseWithLength(line, len);
	const cJSON *cmd = cJSON_GetObjectItemCaseSensitive(req, "cmd");

	c->n.requests++;
	if (!req)
		ctl_answer_error(c, cl, "bad request: expected one JSON object on one line, "
				 "e.g. {\"cmd\":\"status\"}");
	else if (!cJSON_IsObject(req) || !cJSON_IsString(cmd))
		ctl_answer_error(c, cl, "bad request: expected an object with a string \"cmd\": "
				 CMD_LIST);
	else
		dispatch(c, cl, req, cmd->valuestring);
	cJSON_Delete(req);
}

void ctl_alert(struct tg_ctl *c, struct tg_record *r)
{
	if (!c || !r)
		return;
	c->n.alerts++;
	if (c->ring_n == c->ring_max) {
		record_put(c->ring[c->ring_head]);
		c->ring_n--;
	}
	c->ring[c->ring_head] = record_get(r);
	c->ring_head = (c->ring_head + 1) % c->ring_max;
	c->ring_n++;
	for (size_t i = 0; i < CTL_CLIENTS_MAX; i++) {
		struct ctl_client *cl = c->cl[i];

		if (!cl || cl->state != CTL_FOLLOW || !alert_matches(r, cl->rule, 0))
			continue;
		/* Lost lines are told before the next one that fits, so the
		 * client sees where the gap is. */
		if (!ctl_tell_lost(c, cl) || !queue_record(c, cl, r)) {
			cl->lost++;
			c->n.follow_lost++;
		}
	}
}

void ctl_ring_free(struct tg_ctl *c)
{
	for (size_t k = 0; k < c->ring_n; k++)
		record_put(c->ring[(c->ring_head + c->ring_max - c->ring_n + k) % c->ring_max]);
	free(c->ring);
	c->ring = NULL;
	c->ring_n = 0;
}
