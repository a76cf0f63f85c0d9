// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The HTTP sink against a real HTTP server (tests/integration/http_collector.py,
 * stdlib http.server on 127.0.0.1, port by bind(0)) with the real agent
 * (rules_harness.h). Each rh_sync() raises one barrier alert; the test's
 * own are told apart from other tests' by their tag (rh-sync-PID-AGENT-N).
 *
 *   test worker ---- rh_start_with(config: http_url, http_format, spool_dir)
 *        |                 agent --POST--> collector (scripted: 503, stall,
 *        |                                  reset, 429 items, TLS) --> out, log
 *        `-- reads the agent's stream output (what was raised, in order) and
 *            the collector's out (what was indexed) and log (what it did)
 *
 * Verdicts: every raised alert is indexed exactly once (in order where HTTP
 * allows it), every envelope field is right, the faults were really served
 * (the log), the token never shows in the agent's stderr or stats.
 */
#include "http_harness.h"

TestSuite(http, .fini = http_fini, .timeout = 240);

/* ---- tests -------------------------------------------------------------- */

#define NSYNC 12

/*
 * Splunk HEC: 503, 503 (with Retry-After: 1), two stalls past the client's
 * timeout, two reset connections, then a healthy collector. Every alert
 * once, in order, in HEC's envelope; the URL's userinfo and query stay out
 * of stats.
 */
Test(http, hec_fails_stalls_resets_then_recovers_exactly_once)
{
	struct rh_agent *a = &ag;
	struct coll *c;
	struct got_list *l = calloc(1, sizeof(*l));
	const cJSON *want[64];
	char conf[3 * PATH_MAX], pw[32], *err;
	size_t n;
	cJSON *log;

	token_make();
	snprintf(pw, sizeof(pw), "urlpw%d", (int)getpid());
	c = coll_start("splunk_hec", "Splunk", "--script", "503*2,stall*2,reset*2", "--stall-s", "3",
		       "--retry-after", "1", NULL);
	snprintf(conf, sizeof(conf),
		 "http_url = http://tg:%s@127.0.0.1:%d/services/collector/event?channel=c1\n"
		 "http_format = splunk_hec\nhttp_token_file = %s\nhttp_index = twinguard\n"
		 "http_timeout_ms = 1000\nhttp_batch_max = 4\nspool_dir = %s\n",
		 pw, c->port, token_file, rh_path("spool"));
	rh_start_with(a, NULL, conf);
	for (int i = 0; i < NSYNC; i++)
		rh_sync(a);
	n = raised((struct rh_agent *[]){ a }, 1, want, 64);
	cr_assert_eq(n, NSYNC, "the stream has %zu of our %d alerts", n, NSYNC);
	cr_assert(wait_delivered(c, want, n, NULL, 0, l));
	expect_no_secret(a, pw, 6);
	rh_stop(a);
	coll_got(c, l); /* after the drain: nothing arrived twice since */
	expect_once(l, want, n, true);
	for (size_t i = 0; i < n; i++) {
		const struct got *g = got_find(l, tag_of(want[i]));

		if (g)
			expect_hec(g, want[i], "twinguard");
	}
	log = coll_log(c, NULL);
	cr_expect_eq(log_count(log, "503", 503), 2, "the 503s were served");
	cr_expect_eq(log_count(log, "stall", -1), 2, "the stalls were served");
	cr_expect_eq(log_count(log, "reset", -1), 2, "the resets were served");
	expect_log_clean(log, "/services/collector/event", "application/json");
	expect_keep_alive(log);
	expect_no_secret(a, pw, 0);
	err = rh_file_read(a->errf);
	cr_expect(strstr(err, "Server is busy") && strstr(err, "waiting 1 s (Retry-After)"),
		  "the 503's reason and Retry-After are not reported:\n%s", err);
	free(err);
	cJSON_Delete(log);
	got_free(l);
	free(l);
}

/* The _bulk _id of a raised alert: the digest of its line as sent. */
static void alert_id(const cJSON *alert, char id[33])
{
	char *line = cJSON_PrintUnformatted(alert);
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;

	cr_assert(line && EVP_Digest(line, strlen(line), md, &mdlen, EVP_sha256(), NULL));
	for (int i = 0; i < 16; i++)
		snprintf(id + 2 * i, 3, "%02x", md[i]);
	free(line);
}

/* The raised alerts whose _id the collector refused for good. */
static size_t rejected_tags(const cJSON *log, const cJSON *const *want, size_t n,
			    const char **skip, size_t max)
{
	const cJSON *e, *id;
	size_t k = 0;
	char mine[33];

	cJSON_ArrayForEach(e, log)
		cJSON_ArrayForEach(id, cJSON_GetObjectItem(e, "rejected_ids"))
			for (size_t i = 0; i < n && k < max; i++) {
				alert_id(want[i], mine);
				if (cJSON_IsString(id) && !strcmp(id->valuestring, mine))
					skip[k++] = tag_of(want[i]);
			}
	return k;
}

/* No document the collector refused for good is in its index. */
static void expect_not_indexed(const struct got_list *l, const cJSON *log, const struct coll *c)
{
	const cJSON *e, *id;

	cJSON_ArrayForEach(e, log)
		cJSON_ArrayForEach(id, cJSON_GetObjectItem(e, "rejected_ids"))
			for (size_t i = 0; i < l->n; i++)
				cr_expect(strcmp(rh_s(rh_jstr(l->g[i].env, "create._id")), id->valuestring),
					  "refused document %s was sent again and indexed; log:\n%s",
					  id->valuestring, rh_file_read(c->log));
}

static cJSON *wait_log_action(const struct coll *c, const char *action)
{
	int64_t deadline = rh_now_ms() + DELIVER_MS;

	for (;;) {
		cJSON *log = coll_log(c, NULL);

		if (log_count(log, action, -1))
			return log;
		cJSON_Delete(log);
		cr_assert(rh_now_ms() < deadline, "the collector never served '%s'; log:\n%s", action,
			  rh_file_read(c->log));
		rh_nap();
	}
}

/*
 * Elasticsearch _bulk: the first batch is indexed but its answer never
 * comes (stall_accept), then the collector is down until the alerts are
 * spooled; on recovery one batch has its second new document refused
 * with 429 (the items after it are indexed all the same) and the next has
 * its first new document refused for good (400). The _id makes every
 * resend a 409, not a duplicate; the 400 is dropped and counted, never
 * retried. Order is not asserted: a real Elasticsearch also indexes the
 * items after a 429 before its retry.
 */
Test(http, elastic_bulk_items_retry_and_mapping_errors_drop)
{
	struct rh_agent *a = &ag;
	struct coll *c;
	struct got_list *l = calloc(1, sizeof(*l));
	const cJSON *want[64];
	const char *skip[8];
	size_t n, nskip;
	char conf[3 * PATH_MAX];
	cJSON *log, *st;
	double dropped = -1;

	token_make();
	c = coll_start("elastic_bulk", "ApiKey", "--script",
		   "stall_accept,503*99999,recover,items:1=429,items:0=400", "--stall-s", "3", NULL);
	snprintf(conf, sizeof(conf),
		 "http_url = http://127.0.0.1:%d/_bulk\nhttp_format = elastic_bulk\n"
		 "http_token_file = %s\nhttp_index = twinguard-alerts\nhttp_timeout_ms = 1000\n"
		 "http_batch_max = 4\nspool_dir = %s\n", c->port, token_file, rh_path("spool"));
	rh_start_with(a, NULL, conf);
	for (int i = 0; i < NSYNC; i++)
		rh_sync(a);
	n = raised((struct rh_agent *[]){ a }, 1, want, 64);
	cr_assert_eq(n, NSYNC);
	log = wait_log_action(c, "503");
	cJSON_Delete(log);
	kill(c->pid, SIGUSR1); /* recover: the spooled alerts go in batches of 4 */
	log = wait_log_action(c, "items:0=400");
	/* the refused record may be another test's alert (every agent sees
	 * every marker): ours or not, it is dropped once and never indexed */
	nskip = rejected_tags(log, want, n, skip, 8);
	cr_expect_eq(log_sum(log, "items.rejected"), 1, "one document was refused for good");
	cr_expect_leq(nskip, 1);
	cr_assert(wait_delivered(c, want, n, skip, nskip, l));
	st = ctl_stats(a);
	if (st)
		cr_expect(rh_jnum(http_sink(st), "dropped", &dropped) && dropped == 1,
			  "http dropped %g, want 1", dropped);
	cJSON_Delete(st);
	expect_no_secret(a, NULL, 3);
	rh_stop(a);
	cJSON_Delete(log);
	log = coll_log(c, NULL);
	coll_got(c, l);
	for (size_t i = 0; i < n; i++) {
		const struct got *g = got_find(l, tag_of(want[i]));
		bool skipped = nskip && !strcmp(skip[0], tag_of(want[i]));

		cr_expect_eq(got_count(l, tag_of(want[i])), skipped ? 0u : 1u, "%s indexed %zu times",
			     tag_of(want[i]), got_count(l, tag_of(want[i])));
		if (g)
			expect_bulk(g, want[i], "twinguard-alerts");
	}
	cr_expect_geq(log_sum(log, "items.conflict"), 1, "a resend met its own _id (409)");
	cr_expect_eq(log_sum(log, "items.failed"), 1, "an item was refused with 429");
	cr_expect_eq(log_sum(log, "items.rejected"), 1, "the refused document was not sent again");
	expect_not_indexed(l, log, c);
	expect_log_clean(log, "/_bulk", "application/x-ndjson");
	cJSON_Delete(log);
	got_free(l);
	free(l);
}

/*
 * NDJSON: the collector is down (503) for a whole agent run; the agent
 * stops with its alerts in the spool; a second agent on the same spool
 * delivers them, then its own, once each and in order, when the
 * collector recovers. Its body limit (413 past 5000 bytes) halves the
 * batches on the way. The token file is 0644: a warning, not an error.
 */
Test(http, ndjson_spool_survives_an_agent_restart_while_down)
{
	struct got_list *l = calloc(1, sizeof(*l));
	const cJSON *want[64];
	char conf[3 * PATH_MAX];
	struct coll *c;
	size_t n;
	cJSON *log;

	token_make();
	cr_assert_eq(chmod(token_file, 0644), 0);
	c = coll_start("ndjson", "Bearer", "--script", "503*99999", "--max-body", "5000", NULL);
	snprintf(conf, sizeof(conf),
		 "http_url = http://127.0.0.1:%d/ingest\nhttp_token_file = %s\n"
		 "http_timeout_ms = 1000\nhttp_batch_max = 3\nspool_dir = %s\n",
		 c->port, token_file, rh_path("spool"));
	rh_start_with(&ag, NULL, conf);
	for (int i = 0; i < 5; i++)
		rh_sync(&ag);
	cJSON_Delete(wait_log_action(c, "503"));
	expect_no_secret(&ag, NULL, 1);
	{
		char *err = rh_file_read(ag.errf);

		cr_expect(strstr(err, "warning: http_token_file") && strstr(err, "mode 0644"),
			  "no warning about a token others may read:\n%s", err);
		free(err);
	}
	rh_stop(&ag); /* the collector is down: what is held goes to the spool */
	kill(c->pid, SIGUSR1);
	rh_start_with(&ag2, NULL, conf);
	for (int i = 0; i < 4; i++)
		rh_sync(&ag2);
	n = raised((struct rh_agent *[]){ &ag, &ag2 }, 2, want, 64);
	cr_assert_eq(n, 9, "the streams have %zu of our 9 alerts", n);
	cr_assert(wait_delivered(c, want, n, NULL, 0, l));
	rh_stop(&ag2);
	coll_got(c, l);
	expect_once(l, want, n, true);
	for (size_t i = 0; i < n; i++) {
		const struct got *g = got_find(l, tag_of(want[i]));

		cr_expect(!g || cJSON_Compare(g->alert, want[i], true), "%s: line differs", tag_of(want[i]));
	}
	log = coll_log(c, NULL);
	cr_expect_geq(log_count(log, "503", 503), 1);
	cr_expect_geq(log_count(log, "ok", 413), 1, "3 alerts (~6 KB) are over --max-body 5000");
	expect_log_clean(log, "/ingest", "application/x-ndjson");
	expect_no_secret(&ag2, NULL, 0);
	cJSON_Delete(log);
	got_free(l);
	free(l);
}

/*
 * TLS is verified by default: a self-signed collector is refused (the
 * handshake fails, the agent counts it and stays up, the alerts wait in
 * the spool); with http_ca_file naming that certificate, the next agent
 * delivers all of them.
 */
Test(http, tls_self_signed_refused_by_default_passes_with_ca_file)
{
	struct got_list *l = calloc(1, sizeof(*l));
	const char *cert = rh_path("cert.pem"), *key = rh_path("key.pem");
	const cJSON *want[64];
	char conf[4 * PATH_MAX], conf2[5 * PATH_MAX];
	struct coll *c;
	int tls_errors = 0;
	int64_t deadline;
	char *out = NULL;
	size_t n;
	cJSON *log;

	token_make();
	cr_assert_eq(rh_sh_q(&out, "openssl req -x509 -newkey rsa:2048 -nodes -keyout '%s' -out '%s' "
			     "-days 2 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1", key, cert),
		     0, "openssl: %s", out);
	free(out);
	c = coll_start("splunk_hec", "Splunk", "--tls-cert", cert, "--tls-key", key, NULL);
	snprintf(conf, sizeof(conf),
		 "http_url = https://127.0.0.1:%d/services/collector/event\nhttp_format = splunk_hec\n"
		 "http_token_file = %s\nhttp_index = main\nhttp_timeout_ms = 2000\nspool_dir = %s\n",
		 c->port, token_file, rh_path("spool"));
	rh_start_with(&ag, NULL, conf);
	for (int i = 0; i < 3; i++)
		rh_sync(&ag);
	deadline = rh_now_ms() + DELIVER_MS;
	do {
		cJSON_Delete(coll_log(c, &tls_errors));
		if (!tls_errors)
			rh_nap();
	} while (!tls_errors && rh_now_ms() < deadline);
	cr_expect_geq(tls_errors, 1, "the agent never tried the TLS collector");
	log = coll_log(c, NULL);
	cr_expect_eq(cJSON_GetArraySize(log), 0, "a request passed an unverified TLS peer");
	cJSON_Delete(log);
	cr_expect(!rh_agent_exited(&ag), "the agent died on a TLS failure");
	expect_no_secret(&ag, NULL, 1);
	rh_stop(&ag);
	snprintf(conf2, sizeof(conf2), "%shttp_ca_file = %s\n", conf, cert);
	rh_start_with(&ag2, NULL, conf2);
	for (int i = 0; i < 3; i++)
		rh_sync(&ag2);
	n = raised((struct rh_agent *[]){ &ag, &ag2 }, 2, want, 64);
	cr_assert_eq(n, 6);
	cr_assert(wait_delivered(c, want, n, NULL, 0, l));
	rh_stop(&ag2);
	coll_got(c, l);
	expect_once(l, want, n, true);
	for (size_t i = 0; i < n; i++) {
		const struct got *g = got_find(l, tag_of(want[i]));

		if (g)
			expect_hec(g, want[i], "main");
	}
	log = coll_log(c, NULL);
	expect_log_clean(log, "/services/collector/event", "application/json");
	expect_no_secret(&ag2, NULL, 0);
	cJSON_Delete(log);
	got_free(l);
	free(l);
}

/*
 * A collector that stalls for a minute against a 30 s client timeout: a
 * stopping agent aborts the POST at its drain deadline (the progress
 * callback), exits cleanly and spools; nothing was indexed, so the next
 * agent delivers each alert once.
 */
Test(http, stop_aborts_a_stalled_post_and_spools)
{
	struct got_list *l = calloc(1, sizeof(*l));
	const cJSON *want[64];
	char conf[3 * PATH_MAX];
	struct coll *c;
	size_t n;

	token_make();
	c = coll_start("splunk_hec", "Splunk", "--script", "stall*99999", "--stall-s", "60", NULL);
	snprintf(conf, sizeof(conf),
		 "http_url = http://127.0.0.1:%d/services/collector/event\nhttp_format = splunk_hec\n"
		 "http_token_file = %s\nhttp_index = main\nhttp_timeout_ms = 30000\nspool_dir = %s\n",
		 c->port, token_file, rh_path("spool"));
	rh_start_with(&ag, NULL, conf);
	rh_sync(&ag);
	rh_sync(&ag);
	wait_begun(c, "stall"); /* its log line comes only when the stall ends */
	rh_stop(&ag); /* asserts a clean exit within the harness's deadline */
	kill(c->pid, SIGUSR1);
	rh_start_with(&ag2, NULL, conf);
	rh_sync(&ag2);
	n = raised((struct rh_agent *[]){ &ag, &ag2 }, 2, want, 64);
	cr_assert_eq(n, 3);
	cr_assert(wait_delivered(c, want, n, NULL, 0, l));
	rh_stop(&ag2);
	coll_got(c, l);
	expect_once(l, want, n, true);
	expect_no_secret(&ag, NULL, 0);
	got_free(l);
	free(l);
}

/*
 * A wrong token: the collector answers 401 and the alerts are kept (they
 * would all be lost if a 4xx meant "drop"); once the operator puts the
 * right token in the file, the next reconnect reads it and delivers every
 * alert once, in order. Neither token shows in stderr.
 */
Test(http, wrong_token_keeps_alerts_until_the_file_is_fixed)
{
	struct got_list *l = calloc(1, sizeof(*l));
	const char *agent_tok = rh_path("agent-token"), *tmp = rh_path("agent-token.new");
	const cJSON *want[64];
	char conf[3 * PATH_MAX], wrong[64];
	struct coll *c;
	size_t n;
	cJSON *log;
	char *err;

	token_make(); /* the collector's: the right one */
	snprintf(wrong, sizeof(wrong), "wrong-%d-Kp3", (int)getpid());
	rh_file_write(agent_tok, wrong);
	cr_assert_eq(chmod(agent_tok, 0600), 0);
	c = coll_start("splunk_hec", "Splunk", NULL);
	snprintf(conf, sizeof(conf),
		 "http_url = http://127.0.0.1:%d/services/collector/event\nhttp_format = splunk_hec\n"
		 "http_token_file = %s\nhttp_index = main\nhttp_timeout_ms = 1000\nspool_dir = %s\n",
		 c->port, agent_tok, rh_path("spool"));
	rh_start_with(&ag, NULL, conf);
	for (int i = 0; i < 3; i++)
		rh_sync(&ag);
	log = wait_log_action(c, "ok");
	cr_expect_geq(log_count(log, "ok", 401), 1, "the wrong token was refused");
	cr_expect_eq(log_count(log, "ok", 200), 0, "the wrong token was accepted");
	cJSON_Delete(log);
	rh_file_write(tmp, token); /* replaced as a whole, as a secret manager does */
	cr_assert_eq(chmod(tmp, 0600), 0);
	cr_assert_eq(rename(tmp, agent_tok), 0);
	for (int i = 0; i < 2; i++)
		rh_sync(&ag);
	n = raised((struct rh_agent *[]){ &ag }, 1, want, 64);
	cr_assert_eq(n, 5);
	cr_assert(wait_delivered(c, want, n, NULL, 0, l));
	expect_no_secret(&ag, NULL, 1);
	rh_stop(&ag);
	coll_got(c, l);
	expect_once(l, want, n, true);
	err = rh_file_read(ag.errf);
	cr_expect_null(strstr(err, wrong), "the wrong token is in stderr:\n%s", err);
	free(err);
	got_free(l);
	free(l);
}
