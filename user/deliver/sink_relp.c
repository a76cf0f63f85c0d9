// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The RELP transport (`syslog = relp://HOST:PORT`), by librelp: the one
 * reliable syslog transport. send() returns only records the collector
 * acknowledged, so what is not acknowledged stays queued or spooled and
 * is offered again (docs/delivery.md "Syslog").
 *
 * What librelp tells a client: relpCltSendSyslog() returns once the frame
 * is written, blocking first while WINDOW frames are unacknowledged; the
 * unacknowledged list itself is not visible through its API, and there
 * is no per-frame callback. What it does expose is the close handshake:
 * destroying a client sends "close" and waits (RELP_TIMEOUT_S) for its
 * "rsp"; the server answers frames of a session in order, so the close
 * rsp arrives only after the rsp of every syslog frame before it. A
 * failed or timed-out handshake is reported through the engine's onErr
 * callback. So one batch is one session:
 *
 *   connect+open -> syslog x n (pipelined, window WINDOW) -> close -> rsp
 *     no onErr from connect to close rsp: all n acknowledged, return n
 *     any error: return 0 (none is known acknowledged); the worker backs
 *     off, reconnects, and the whole batch is sent again
 *
 * So RELP here is at-least-once: frames that the collector took but whose
 * rsp was lost with the session are sent again (at most one batch), and
 * so is a batch the collector takes longer than RELP_TIMEOUT_S to answer.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <librelp.h>

#include "deliver/fmt_syslog.h"
#include "deliver/sink.h"

#define RELP_TIMEOUT_S 5   /* each wait for the server (rsp, window) */
#define RELP_CONN_TIMEOUT_S 5
#define WINDOW 1024        /* frames in flight (about 2 MiB of alerts) */
/* Records per session: below WINDOW, so the window is never full when the
 * close is sent (librelp waits only 1 s for room before it, and a timeout
 * there would fail a batch the collector is merely slow to answer), and
 * relpCltSendSyslog() never blocks on the window. */
#define BATCH 512

struct relp_sink {
	struct tg_syslog_url url;
	struct tg_syslog_opts opts;
	char hostname[256];
	relpEngine_t *engine;
	relpClt_t *clt;
	struct tg_sink *s;
	bool failed;        /* onErr since the batch began */
	char why[256];
};

static void relp_on_err(void *usr, char *objinfo, char *errmsg, relpRetVal code)
{
	struct relp_sink *rs = usr;

	if (!rs)
		return;
	rs->failed = true;
	snprintf(rs->why, sizeof(rs->why), "%s: %s (librelp %d)", objinfo ? objinfo : "relp",
		 errmsg ? errmsg : "error", code);
}

/* librelp calls its debug hook unconditionally; it has none by default. */
static void relp_dbg(char *fmt, ...)
{
	(void)fmt;
}

/* Ends the session: the close handshake is the acknowledgement barrier. */
static void relp_drop_clt(struct relp_sink *rs)
{
	if (rs->clt)
		relpEngineCltDestruct(rs->engine, &rs->clt);
	rs->clt = NULL;
}

static int relp_connect(struct tg_sink *s, struct relp_sink *rs)
{
	relpRetVal rc;

	rs->failed = false;
	if (relpEngineCltConstruct(rs->engine, &rs->clt) != RELP_RET_OK) {
		sink_error(s, "failed to create a RELP client for %s", s->target);
		rs->clt = NULL;
		return -1;
	}
	relpCltSetUsrPtr(rs->clt, rs);
	relpCltSetTimeout(rs->clt, RELP_TIMEOUT_S);
	relpCltSetConnTimeout(rs->clt, RELP_CONN_TIMEOUT_S);
	relpCltSetWindowSize(rs->clt, WINDOW);
	rc = relpCltConnect(rs->clt, AF_UNSPEC, (unsigned char *)rs->url.port,
			    (unsigned char *)rs->url.host);
	if (rc != RELP_RET_OK) {
		sink_error(s, "failed to connect to %s: %s", s->target,
			   rs->failed ? rs->why : "RELP open refused");
		relp_drop_clt(rs);
		return -1;
	}
	return 0;
}

static int relp_open(struct tg_sink *s)
{
	return relp_connect(s, s->priv);
}

static void relp_close(struct tg_sink *s)
{
	struct relp_sink *rs = s->priv;

	relp_drop_clt(rs);
}

static size_t relp_send(struct tg_sink *s, struct tg_record *const *recs, size_t n)
{
	struct relp_sink *rs = s->priv;
	size_t i;

	if (!rs->clt && relp_connect(s, rs))
		return 0;
	rs->failed = false;
	for (i = 0; i < n && i < BATCH && !rs->failed; i++) {
		size_t len;
		char *m = fmt_syslog_render(&rs->opts, recs[i], &len);
		relpRetVal rc = m ? relpCltSendSyslog(rs->clt, (unsigned char *)m, len) : RELP_RET_OK;

		free(m);
		if (!m || rc != RELP_RET_OK) {
			if (!m)
				snprintf(rs->why, sizeof(rs->why), "out of memory for a message");
			else if (!rs->failed)
				snprintf(rs->why, sizeof(rs->why), "send failed (librelp %d)", rc);
			rs->failed = true;
		}
	}
	relp_drop_clt(rs); /* waits for the close rsp, after all the others */
	if (rs->failed) {
		sink_error(s, "%s: none of %zu records is known acknowledged: %s", s->target, i,
			   rs->why);
		return 0;
	}
	return i;
}

static void relp_destroy(struct tg_sink *s)
{
	struct relp_sink *rs = s->priv;

	if (rs) {
		relp_drop_clt(rs);
		if (rs->engine)
			relpEngineDestruct(&rs->engine);
	}
	free(rs);
	s->priv = NULL;
}

static const struct tg_sink_ops relp_ops = {
	.kind = "relp",
	.reliable = true,
	.open = relp_open,
	.send = relp_send,
	.close = relp_close,
	.destroy = relp_destroy,
};

int sink_relp_init(struct tg_sink *s, const struct tg_syslog_url *u,
		   const struct tg_syslog_opts *o, char *err, size_t errlen)
{
	struct relp_sink *rs = calloc(1, sizeof(*rs));

	if (!rs || relpEngineConstruct(&rs->engine) != RELP_RET_OK) {
		snprintf(err, errlen, "syslog: failed to set up librelp: out of memory");
		free(rs);
		return -1;
	}
	rs->url = *u;
	rs->opts = *o;
	snprintf(rs->hostname, sizeof(rs->hostname), "%s", o->hostname ? o->hostname : "");
	rs->opts.hostname = rs->hostname;
	rs->s = s;
	relpEngineSetDbgprint(rs->engine, relp_dbg);
	relpEngineSetEnableCmd(rs->engine, (unsigned char *)"syslog", eRelpCmdState_Required);
	relpEngineSetOnErr(rs->engine, relp_on_err);
	relpEngineSetDnsLookupMode(rs->engine, 0);
	s->ops = &relp_ops;
	s->priv = rs;
	s->batch_max = BATCH;
	return 0;
}
