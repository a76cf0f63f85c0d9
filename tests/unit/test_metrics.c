// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Unit tests for user/ctl/metrics.c and metrics_http.c: the exact text
 * exposition of a hand-made stats object (docs/control.md's shape), label
 * escaping, lenient reading of odd shapes, `promtool check metrics` on the
 * output, and the HTTP listener (200 /metrics, 404, 405, 503 before the
 * first snapshot) over loopback with libcurl.
 */
#include <criterion/criterion.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ctl/ctl.h"
#include "tmpdir.h"

static const char *STATS =
	"{\"uptime_s\": 12.5, \"health\": \"degraded\","
	" \"events\": {\"total\": 7, \"by_type\": {\"exec\": 5, \"open\": 2}},"
	" \"alerts\": {\"total\": 3, \"by_rule\": {\"shell in twin\": 3}},"
	" \"suppressed\": {\"total\": 9, \"by_rule\": {\"noisy\": 9}},"
	" \"drops\": {\"kernel_ring\": 4, \"rate_limit\": 9},"
	" \"sinks\": [{\"name\": \"syslog\", \"kind\": \"tcp\", \"state\": \"up\","
	"   \"target\": \"tcp://127.0.0.1:514\", \"reliable\": false, \"delivered\": 3,"
	"   \"queued\": 0, \"spooled\": 0, \"spool_bytes\": 0, \"spool_dropped\": 0,"
	"   \"dropped\": 1, \"errors\": 2, \"retries\": 2, \"last_error\": \"reset\"},"
	"  {\"name\": \"http\", \"kind\": \"http\", \"state\": \"down\", \"delivered\": 0,"
	"   \"queued\": 5, \"spooled\": 10, \"spool_bytes\": 4096, \"spool_dropped\": 0,"
	"   \"dropped\": 0, \"errors\": 1, \"retries\": 4}],"
	" \"rule_eval\": {\"count\": 7, \"sum_s\": 0.0123,"
	"   \"buckets\": [[1e-06, 1], [2.5e-06, 5], [\"+Inf\", 7]]},"
	" \"kernel\": {\"events\": 10, \"filtered\": 3, \"path_truncated\": 0,"
	"   \"tail_call_failures\": 0, \"drop_bytes\": 512},"
	" \"proc\": {\"entries\": 120, \"evictions\": 0},"
	" \"rules\": {\"loaded\": 40, \"states\": 2, \"state_evictions\": 0},"
	" \"integrity\": {\"checked\": 8, \"mismatches\": 1, \"queued\": 0},"
	" \"control\": {\"requests\": 2, \"errors\": 1, \"timeouts\": 0, \"clients_dropped\": 0,"
	"   \"clients_rejected\": 0, \"follow_lost\": 0, \"clients\": 1}}";

static const char *EXPECTED =
	"# HELP twinguard_uptime_seconds Seconds since the agent started.\n"
	"# TYPE twinguard_uptime_seconds gauge\n"
	"twinguard_uptime_seconds 12.5\n"
	"# HELP twinguard_health 1 when the agent is healthy, 0 when degraded.\n"
	"# TYPE twinguard_health gauge\n"
	"twinguard_health 0\n"
	"# HELP twinguard_events_total Events handled, by type.\n"
	"# TYPE twinguard_events_total counter\n"
	"twinguard_events_total{type=\"exec\"} 5\n"
	"twinguard_events_total{type=\"open\"} 2\n"
	"# HELP twinguard_alerts_total Alerts raised, by rule.\n"
	"# TYPE twinguard_alerts_total counter\n"
	"twinguard_alerts_total{rule=\"shell in twin\"} 3\n"
	"# HELP twinguard_alerts_suppressed_total Alerts suppressed by rate limits and "
	"deduplication, by rule.\n"
	"# TYPE twinguard_alerts_suppressed_total counter\n"
	"twinguard_alerts_suppressed_total{rule=\"noisy\"} 9\n"
	"# HELP twinguard_drops_total Records dropped, by the stage that dropped them.\n"
	"# TYPE twinguard_drops_total counter\n"
	"twinguard_drops_total{stage=\"kernel_ring\"} 4\n"
	"twinguard_drops_total{stage=\"rate_limit\"} 9\n"
	"# HELP twinguard_sink_delivered_total Records the sink delivered.\n"
	"# TYPE twinguard_sink_delivered_total counter\n"
	"twinguard_sink_delivered_total{sink=\"syslog\"} 3\n"
	"twinguard_sink_delivered_total{sink=\"http\"} 0\n"
	"# HELP twinguard_sink_queued Records waiting in the sink's memory queue.\n"
	"# TYPE twinguard_sink_queued gauge\n"
	"twinguard_sink_queued{sink=\"syslog\"} 0\n"
	"twinguard_sink_queued{sink=\"http\"} 5\n"
	"# HELP twinguard_sink_spooled Records waiting in the sink's on-disk spool.\n"
	"# TYPE twinguard_sink_spooled gauge\n"
	"twinguard_sink_spooled{sink=\"syslog\"} 0\n"
	"twinguard_sink_spooled{sink=\"http\"} 10\n"
	"# HELP twinguard_sink_spool_bytes Bytes of the sink's on-disk spool.\n"
	"# TYPE twinguard_sink_spool_bytes gauge\n"
	"twinguard_sink_spool_bytes{sink=\"syslog\"} 0\n"
	"twinguard_sink_spool_bytes{sink=\"http\"} 4096\n"
	"# HELP twinguard_sink_spool_dropped_total Spooled records dropped past spool_max_mb, "
	"oldest first.\n"
	"# TYPE twinguard_sink_spool_dropped_total counter\n"
	"twinguard_sink_spool_dropped_total{sink=\"syslog\"} 0\n"
	"twinguard_sink_spool_dropped_total{sink=\"http\"} 0\n"
	"# HELP twinguard_sink_dropped_total Records the sink dropped.\n"
	"# TYPE twinguard_sink_dropped_total counter\n"
	"twinguard_sink_dropped_total{sink=\"syslog\"} 1\n"
	"twinguard_sink_dropped_total{sink=\"http\"} 0\n"
	"# HELP twinguard_sink_errors_total Transport errors of the sink.\n"
	"# TYPE twinguard_sink_errors_total counter\n"
	"twinguard_sink_errors_total{sink=\"syslog\"} 2\n"
	"twinguard_sink_errors_total{sink=\"http\"} 1\n"
	"# HELP twinguard_sink_retries_total Reconnects and resends of the sink.\n"
	"# TYPE twinguard_sink_retries_total counter\n"
	"twinguard_sink_retries_total{sink=\"syslog\"} 2\n"
	"twinguard_sink_retries_total{sink=\"http\"} 4\n"
	"# HELP twinguard_sink_up 1 when the sink is connected or open, else 0.\n"
	"# TYPE twinguard_sink_up gauge\n"
	"twinguard_sink_up{sink=\"syslog\"} 1\n"
	"twinguard_sink_up{sink=\"http\"} 0\n"
	"# HELP twinguard_rule_eval_seconds Time to evaluate the rules for one event.\n"
	"# TYPE twinguard_rule_eval_seconds histogram\n"
	"twinguard_rule_eval_seconds_bucket{le=\"1e-06\"} 1\n"
	"twinguard_rule_eval_seconds_bucket{le=\"2.5e-06\"} 5\n"
	"twinguard_rule_eval_seconds_bucket{le=\"+Inf\"} 7\n"
	"twinguard_rule_eval_seconds_sum 0.0123\n"
	"twinguard_rule_eval_seconds_count 7\n"
	"# HELP twinguard_kernel_events_total Events the kernel side emitted.\n"
	"# TYPE twinguard_kernel_events_total counter\n"
	"twinguard_kernel_events_total 10\n"
	"# HELP twinguard_kernel_filtered_total Events the kernel filters kept out.\n"
	"# TYPE twinguard_kernel_filtered_total counter\n"
	"twinguard_kernel_filtered_total 3\n"
	"# HELP twinguard_kernel_path_truncated_total Paths cut at the kernel's bound.\n"
	"# TYPE twinguard_kernel_path_truncated_total counter\n"
	"twinguard_kernel_path_truncated_total 0\n"
	"# HELP twinguard_kernel_tail_call_failures_total Failed BPF tail calls.\n"
	"# TYPE twinguard_kernel_tail_call_failures_total counter\n"
	"twinguard_kernel_tail_call_failures_total 0\n"
	"# HELP twinguard_kernel_drop_bytes_total Bytes of events the kernel ring could not take.\n"
	"# TYPE twinguard_kernel_drop_bytes_total counter\n"
	"twinguard_kernel_drop_bytes_total 512\n"
	"# HELP twinguard_proc_entries Processes in the process table.\n"
	"# TYPE twinguard_proc_entries gauge\n"
	"twinguard_proc_entries 120\n"
	"# HELP twinguard_proc_evictions_total Process table entries evicted at proc_table_max.\n"
	"# TYPE twinguard_proc_evictions_total counter\n"
	"twinguard_proc_evictions_total 0\n"
	"# HELP twinguard_rules_loaded Rules loaded.\n"
	"# TYPE twinguard_rules_loaded gauge\n"
	"twinguard_rules_loaded 40\n"
	"# HELP twinguard_rule_states Live per-key rule states (sequences, counts).\n"
	"# TYPE twinguard_rule_states gauge\n"
	"twinguard_rule_states 2\n"
	"# HELP twinguard_rule_state_evictions_total Rule states evicted at their bound.\n"
	"# TYPE twinguard_rule_state_evictions_total counter\n"
	"twinguard_rule_state_evictions_total 0\n"
	"# HELP twinguard_control_requests_total Requests on the control socket.\n"
	"# TYPE twinguard_control_requests_total counter\n"
	"twinguard_control_requests_total 2\n"
	"# HELP twinguard_control_errors_total Control requests answered with an error.\n"
	"# TYPE twinguard_control_errors_total counter\n"
	"twinguard_control_errors_total 1\n"
	"# HELP twinguard_control_timeouts_total Control clients that sent no request line in "
	"time.\n"
	"# TYPE twinguard_control_timeouts_total counter\n"
	"twinguard_control_timeouts_total 0\n"
	"# HELP twinguard_control_clients_dropped_total Control clients cut off for not reading "
	"their answer.\n"
	"# TYPE twinguard_control_clients_dropped_total counter\n"
	"twinguard_control_clients_dropped_total 0\n"
	"# HELP twinguard_control_clients_rejected_total Control clients turned away over the "
	"client cap.\n"
	"# TYPE twinguard_control_clients_rejected_total counter\n"
	"twinguard_control_clients_rejected_total 0\n"
	"# HELP twinguard_control_follow_lost_total Alert lines a slow --follow client lost.\n"
	"# TYPE twinguard_control_follow_lost_total counter\n"
	"twinguard_control_follow_lost_total 0\n"
	"# HELP twinguard_control_clients Connected control clients.\n"
	"# TYPE twinguard_control_clients gauge\n"
	"twinguard_control_clients 1\n"
	"# HELP twinguard_integrity_checked_total Integrity checker counter (docs/integrity.md).\n"
	"# TYPE twinguard_integrity_checked_total counter\n"
	"twinguard_integrity_checked_total 8\n"
	"# HELP twinguard_integrity_mismatches_total Integrity checker counter "
	"(docs/integrity.md).\n"
	"# TYPE twinguard_integrity_mismatches_total counter\n"
	"twinguard_integrity_mismatches_total 1\n"
	"# HELP twinguard_integrity_queued Integrity checker value (docs/integrity.md).\n"
	"# TYPE twinguard_integrity_queued gauge\n"
	"twinguard_integrity_queued 0\n";

static char *render_text(const char *json, size_t *len)
{
	cJSON *j = cJSON_Parse(json);
	char *t;

	cr_assert_not_null(j, "test JSON does not parse: %s", json);
	t = metrics_render(j, len);
	cJSON_Delete(j);
	cr_assert_not_null(t);
	cr_assert_eq(strlen(t), *len);
	return t;
}

Test(metrics, exact_exposition)
{
	size_t len;
	char *t = render_text(STATS, &len);

	cr_expect_str_eq(t, EXPECTED);
	free(t);
}

Test(metrics, label_values_escaped)
{
	size_t len;
	char *t = render_text("{\"alerts\":{\"by_rule\":{\"a\\\\b \\\"q\\\"\\nx\": 1}}}", &len);

	cr_expect(strstr(t, "twinguard_alerts_total{rule=\"a\\\\b \\\"q\\\"\\nx\"} 1\n") != NULL,
		  "escaped sample missing in:\n%s", t);
	free(t);
}

Test(metrics, histogram_gets_inf_bucket)
{
	size_t len;
	char *t = render_text("{\"rule_eval\":{\"count\":4,\"sum_s\":0.5,"
			      "\"buckets\":[[0.001,3]]}}", &len);

	cr_expect(strstr(t, "twinguard_rule_eval_seconds_bucket{le=\"0.001\"} 3\n"
			    "twinguard_rule_eval_seconds_bucket{le=\"+Inf\"} 4\n"
			    "twinguard_rule_eval_seconds_sum 0.5\n"
			    "twinguard_rule_eval_seconds_count 4\n") != NULL, "%s", t);
	free(t);
}

Test(metrics, odd_shapes_are_skipped)
{
	size_t len;
	char *t = render_text("{\"uptime_s\":\"x\",\"events\":[1,2],\"drops\":{\"a\":\"b\"},"
			      "\"sinks\":{\"name\":1},\"rule_eval\":{\"count\":1},"
			      "\"integrity\":{\"Weird-Key\":3}}", &len);

	cr_expect_str_eq(t, "# HELP twinguard_integrity_weird_key_total Integrity checker counter "
			    "(docs/integrity.md).\n"
			    "# TYPE twinguard_integrity_weird_key_total counter\n"
			    "twinguard_integrity_weird_key_total 3\n");
	free(t);
	t = render_text("[]", &len);
	cr_expect_str_eq(t, "");
	cr_expect_eq(len, 0);
	free(t);
}

Test(metrics, large_counters_exact)
{
	size_t len;
	char *t = render_text("{\"drops\":{\"kernel_ring\":9007199254740991,\"spool\":1e300,"
			      "\"output\":0.1}}", &len);

	cr_expect(strstr(t, "{stage=\"kernel_ring\"} 9007199254740991\n") != NULL, "%s", t);
	cr_expect(strstr(t, "{stage=\"spool\"} 1e+300\n") != NULL, "%s", t);
	cr_expect(strstr(t, "{stage=\"output\"} 0.1\n") != NULL, "%s", t);
	free(t);
}

TestSuite(promtool, .init = tmp_setup, .fini = tmp_teardown, .timeout = 60);

/* promtool check metrics reads stdin; exit 0 means it parsed and linted. */
Test(promtool, check_metrics_passes)
{
	size_t len;
	char *t = render_text(STATS, &len), cmd[PATH_MAX + 64];
	char *out;
	int st;

	tmp_write_n("m.prom", t, len);
	snprintf(cmd, sizeof(cmd), "promtool check metrics < %s > %s 2>&1", tmp_path("m.prom"),
		 tmp_path("out"));
	st = system(cmd);
	out = tmp_read(tmp_path("out"));
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "promtool failed: %s", out);
	free(out);
	free(t);
}

/* A port nobody listens on now (bind 0, close): the listener takes it. */
static int free_port(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	cr_assert_geq(fd, 0);
	cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	cr_assert_eq(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
	port = ntohs(sa.sin_port);
	close(fd);
	return port;
}

static size_t take(char *p, size_t sz, size_t n, void *ud)
{
	struct { char buf[4096]; size_t len; } *b = ud;
	size_t k = sz * n;

	if (k > sizeof(b->buf) - 1 - b->len)
		k = sizeof(b->buf) - 1 - b->len;
	memcpy(b->buf + b->len, p, k);
	b->len += k;
	b->buf[b->len] = '\0';
	return sz * n;
}

static long http(const char *url, const char *method, char *body, size_t cap, char *ctype)
{
	struct { char buf[4096]; size_t len; } b = { .len = 0 };
	CURL *cu = curl_easy_init();
	long code = 0;
	char *ct = NULL;

	cr_assert_not_null(cu);
	curl_easy_setopt(cu, CURLOPT_URL, url);
	curl_easy_setopt(cu, CURLOPT_TIMEOUT, 10L);
	curl_easy_setopt(cu, CURLOPT_WRITEFUNCTION, take);
	curl_easy_setopt(cu, CURLOPT_WRITEDATA, &b);
	if (method)
		curl_easy_setopt(cu, CURLOPT_POSTFIELDS, "x=1");
	cr_assert_eq(curl_easy_perform(cu), CURLE_OK);
	curl_easy_getinfo(cu, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_getinfo(cu, CURLINFO_CONTENT_TYPE, &ct);
	if (ctype)
		snprintf(ctype, 128, "%s", ct ? ct : "");
	snprintf(body, cap, "%s", b.buf);
	curl_easy_cleanup(cu);
	return code;
}

Test(metrics_http, serves_the_snapshot)
{
	char listen[64], url[128], body[4096], ctype[128], err[256];
	struct tg_metrics_http *m;
	int port = free_port();

	snprintf(listen, sizeof(listen), "127.0.0.1:%d", port);
	m = metrics_http_start(listen, err, sizeof(err));
	cr_assert_not_null(m, "%s", err);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/metrics", port);
	cr_expect_eq(http(url, NULL, body, sizeof(body), ctype), 503);
	metrics_http_publish(m, "twinguard_uptime_seconds 1\n", 27);
	cr_expect_eq(http(url, NULL, body, sizeof(body), ctype), 200);
	cr_expect_str_eq(body, "twinguard_uptime_seconds 1\n");
	cr_expect_str_eq(ctype, "text/plain; version=0.0.4; charset=utf-8");
	metrics_http_publish(m, "twinguard_uptime_seconds 2\n", 27);
	cr_expect_eq(http(url, NULL, body, sizeof(body), NULL), 200);
	cr_expect_str_eq(body, "twinguard_uptime_seconds 2\n");
	cr_expect_eq(http(url, "POST", body, sizeof(body), NULL), 405);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/other", port);
	cr_expect_eq(http(url, NULL, body, sizeof(body), NULL), 404);
	metrics_http_stop(m);
}

Test(metrics_http, bad_listen_named)
{
	char err[256];

	cr_expect_null(metrics_http_start("localhost", err, sizeof(err)));
	cr_expect(strstr(err, "metrics_listen") && strstr(err, "HOST:PORT"), "%s", err);
	cr_expect_null(metrics_http_start("[::1:80", err, sizeof(err)));
	cr_expect(strstr(err, "[IPV6]:PORT"), "%s", err);
	cr_expect_null(metrics_http_start("1.2.3.4.5:x", err, sizeof(err)));
	cr_expect(strstr(err, "metrics_listen"), "%s", err);
}

Test(metrics_http, ipv6_loopback)
{
	char err[256];
	struct tg_metrics_http *m = metrics_http_start("[::1]:0", err, sizeof(err));

	/* Hosts without IPv6 cannot bind ::1; that is their limit, not ours. */
	if (!m) {
		cr_log_warn("no IPv6 loopback here: %s", err);
		return;
	}
	metrics_http_stop(m);
}
