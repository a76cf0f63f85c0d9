// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The agent's side of the query socket and the metrics listener
 * (user/ctl/ctl.h): the callbacks answer from the agent's own thread,
 * so they read its state directly.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/agent_priv.h"

static cJSON *agent_ctl_status(void *ctx)
{
	return agent_status_json(ctx);
}

static cJSON *agent_ctl_stats(void *ctx)
{
	return agent_stats_json(ctx);
}

static cJSON *agent_ctl_ps(void *ctx, pid_t pid)
{
	return agent_ps_json(ctx, pid > 0 ? (uint32_t)pid : 0);
}

static cJSON *agent_ctl_reload(void *ctx)
{
	return agent_reload_json(ctx);
}

static const struct tg_ctl_ops agent_ctl_ops = {
	.status = agent_ctl_status,
	.stats = agent_ctl_stats,
	.ps = agent_ctl_ps,
	.reload = agent_ctl_reload,
};

/* A socket that cannot be served is not worth stopping detection for:
 * the agent runs on, degraded, and says so. */
void agent_ctl_start(struct tg_agent *a)
{
	const char *path = a->cfg.control_socket;
	char err[512];

	if (path && strcmp(path, "off")) {
		a->ctl = ctl_open(path, &agent_ctl_ops, a, a->cfg.alerts_ring_max, err, sizeof(err));
		if (!a->ctl) {
			snprintf(a->ctl_error, sizeof(a->ctl_error), "control socket %s: %s", path, err);
			fprintf(stderr, "twinguard: warning: failed to open the control socket %s: %s; "
				"status, stats and reload are not served\n", path, err);
		}
	}
	if (a->cfg.metrics_listen) {
		a->metrics = metrics_http_start(a->cfg.metrics_listen, err, sizeof(err));
		if (!a->metrics) {
			snprintf(a->metrics_error, sizeof(a->metrics_error), "metrics_listen %s: %s",
				 a->cfg.metrics_listen, err);
			fprintf(stderr, "twinguard: warning: failed to serve metrics on %s: %s\n",
				a->cfg.metrics_listen, err);
		}
	}
}

/* About once a second: a fresh exposition for the HTTP listener. */
void agent_metrics_publish(struct tg_agent *a)
{
	cJSON *stats;
	char *text;
	size_t len = 0;

	if (!a->metrics)
		return;
	stats = agent_stats_json(a);
	text = metrics_render(stats, &len);
	if (text)
		metrics_http_publish(a->metrics, text, len);
	free(text);
	cJSON_Delete(stats);
}

void agent_ctl_stop(struct tg_agent *a)
{
	ctl_close(a->ctl);
	a->ctl = NULL;
	metrics_http_stop(a->metrics);
	a->metrics = NULL;
}

/*
 * Until user/ctl/ is in the build these keep the agent linkable: the
 * socket reports itself missing. The real definitions override them.
 */
__attribute__((weak)) struct tg_ctl *ctl_open(const char *path, const struct tg_ctl_ops *ops,
					      void *ctx, size_t ring_max, char *err, size_t errlen)
{
	(void)path, (void)ops, (void)ctx, (void)ring_max;
	snprintf(err, errlen, "this build has no control socket");
	return NULL;
}

__attribute__((weak)) int ctl_pollfds(struct tg_ctl *c, struct pollfd *fds, int max)
{
	(void)c, (void)fds, (void)max;
	return 0;
}

__attribute__((weak)) void ctl_service(struct tg_ctl *c, const struct pollfd *fds, int n)
{
	(void)c, (void)fds, (void)n;
}

__attribute__((weak)) void ctl_alert(struct tg_ctl *c, struct tg_record *r)
{
	(void)c, (void)r;
}

__attribute__((weak)) cJSON *ctl_stats_json(const struct tg_ctl *c)
{
	(void)c;
	return cJSON_CreateObject();
}

__attribute__((weak)) void ctl_close(struct tg_ctl *c)
{
	(void)c;
}

__attribute__((weak)) char *metrics_render(const cJSON *stats, size_t *len)
{
	(void)stats;
	*len = 0;
	return NULL;
}

__attribute__((weak)) struct tg_metrics_http *metrics_http_start(const char *listen, char *err,
								 size_t errlen)
{
	(void)listen;
	snprintf(err, errlen, "this build has no metrics listener");
	return NULL;
}

__attribute__((weak)) void metrics_http_publish(struct tg_metrics_http *m, const char *text,
						size_t len)
{
	(void)m, (void)text, (void)len;
}

__attribute__((weak)) void metrics_http_stop(struct tg_metrics_http *m)
{
	(void)m;
}
