// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The query socket and the metrics with the real agent (docs/control.md):
 * every CLI command, reload with errors, hostile clients, promtool, and a
 * real Prometheus server scraping metrics_listen.
 *
 *   test worker
 *     |-- agent       rules_harness.h: control_socket = DIR/ctl.sock
 *     |-- twinguard   status|stats|ps|alerts|reload|metrics --socket DIR/ctl.sock
 *     `-- prometheus  (one test) scraping metrics_listen on 127.0.0.1
 */
#include "rules_harness.h"
#include <sys/un.h>

static struct rh_agent ag;

TestSuite(ctl, .fini = rh_cleanup, .timeout = 120);

/* Run the CLI; returns its exit status, *out its stdout (malloc'd). */
static int cli(char **out, const char *fmt, ...)
{
	char cmd[2048], *buf = NULL;
	size_t len = 0;
	va_list ap;
	FILE *p;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	p = popen(cmd, "r");
	cr_assert_not_null(p, "%s", cmd);
	if (getdelim(&buf, &len, '\0', p) < 0) {
		free(buf);
		buf = strdup("");
	}
	st = pclose(p);
	if (out)
		*out = buf;
	else
		free(buf);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static cJSON *cli_json(const char *what)
{
	char *out;
	cJSON *j;

	cr_assert_eq(cli(&out, RH_BIN " %s --socket %s", what, ag.ctl), 0, "%s: %s", what, out);
	j = cJSON_Parse(out);
	cr_assert_not_null(j, "%s is not JSON: %.300s", what, out);
	free(out);
	return j;
}

static int ctl_connect(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	cr_assert_lt(strlen(ag.ctl), sizeof(sa.sun_path));
	memcpy(sa.sun_path, ag.ctl, strlen(ag.ctl) + 1);
	cr_assert_geq(fd, 0);
	cr_assert_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0, "connect %s: %s", ag.ctl,
		     strerror(errno));
	return fd;
}

Test(ctl, status_stats_ps_and_alerts)
{
	struct stat sb;
	cJSON *st, *stats, *ps, *al;
	char *out;

	rh_start_with(&ag, NULL, NULL);
	rh_sync(&ag);
	cr_assert_eq(stat(ag.ctl, &sb), 0);
	cr_expect_eq(sb.st_mode & 0777, 0600, "socket mode %o", sb.st_mode & 0777);
	st = cli_json("status");
	cr_expect_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(st, "health")), "ok");
	cr_expect_eq(cJSON_GetObjectItem(st, "pid")->valuedouble, ag.pid);
	cr_expect_gt(cJSON_GetObjectItem(cJSON_GetObjectItem(st, "programs"), "attached")->valuedouble, 0);
	cr_expect_gt(cJSON_GetArraySize(cJSON_GetObjectItem(cJSON_GetObjectItem(st, "rules"), "files")), 0);
	stats = cli_json("stats");
	cr_expect_geq(cJSON_GetObjectItem(cJSON_GetObjectItem(stats, "alerts"), "total")->valuedouble, 1);
	cr_expect_not_null(cJSON_GetObjectItem(cJSON_GetObjectItem(stats, "drops"), "kernel_ring"));
	cr_expect(cJSON_IsArray(cJSON_GetObjectItem(stats, "sinks")));
	/* this worker is in the table, with its parent as first ancestor */
	cr_assert_eq(cli(&out, RH_BIN " ps %d --socket %s", (int)getpid(), ag.ctl), 0, "%s", out);
	ps = cJSON_Parse(out);
	free(out);
	cr_assert_not_null(ps);
	cr_expect_eq(cJSON_GetObjectItem(cJSON_GetObjectItem(ps, "process"), "pid")->valuedouble, getpid());
	cr_expect_eq(cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(
			     cJSON_GetObjectItem(ps, "process"), "ancestors"), 0), "pid")->valuedouble,
		     getppid());
	cr_assert_eq(cli(&out, RH_BIN " ps --table --socket %s", ag.ctl), 0);
	cr_expect_not_null(strstr(out, "PID"), "%.200s", out);
	free(out);
	/* the barrier alert is in the recent ring, filtered by rule */
	cr_assert_eq(cli(&out, RH_BIN " alerts --since 10m --rule " RH_BARRIER_RULE " --socket %s",
			 ag.ctl), 0, "%s", out);
	al = cJSON_Parse(strtok(out, "\n"));
	cr_expect_not_null(al, "no alert line: %.300s", out);
	cr_expect_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(al, "rule"), "name")),
			 RH_BARRIER_RULE);
	free(out);
	cr_expect_eq(cli(&out, RH_BIN " alerts --rule no-such-rule --socket %s", ag.ctl), 0);
	cr_expect_eq(strlen(out), 0, "alerts of another rule: %.200s", out);
	free(out);
	cJSON_Delete(al);
	cJSON_Delete(ps);
	cJSON_Delete(stats);
	cJSON_Delete(st);
	cr_expect_eq(cli(NULL, RH_BIN " status --socket %s/nope.sock 2>/dev/null", rh_tmpdir()), 2,
		     "an unreachable agent is exit 2");
	rh_stop(&ag);
}

Test(ctl, follow_streams_new_alerts)
{
	char path[1024], cmd[8192], *text = NULL;

	rh_start_with(&ag, NULL, NULL);
	snprintf(path, sizeof(path), "%s/follow.out", rh_tmpdir());
	snprintf(cmd, sizeof(cmd), "timeout 20 " RH_BIN " alerts --follow --rule " RH_BARRIER_RULE
		 " --socket %s > %s 2>&1 & echo $! > %s.pid", ag.ctl, path, path);
	cr_assert_eq(system(cmd), 0);
	snprintf(cmd, sizeof(cmd), "kill $(cat %s.pid) 2>/dev/null", path);
	rh_defer_sh(cmd);
	/* the follower is connected once a first sync alert reaches it */
	for (int64_t end = rh_now_ms() + RH_DEADLINE_MS; rh_now_ms() < end;) {
		rh_sync(&ag);
		free(text);
		text = rh_file_read(path);
		if (text && strstr(text, RH_BARRIER_RULE))
			break;
	}
	cr_expect(text && strstr(text, RH_BARRIER_RULE), "the follower saw no alert: %s",
		  text ? text : "");
	free(text);
	rh_stop(&ag);
}

Test(ctl, reload_answers_errors_and_keeps_rules)
{
	char bad[PATH_MAX + 32], *out;
	double before, after;
	cJSON *st;

	rh_start_with(&ag, NULL, NULL);
	st = cli_json("status");
	before = cJSON_GetObjectItem(cJSON_GetObjectItem(st, "rules"), "count")->valuedouble;
	cJSON_Delete(st);
	cr_expect_eq(cli(&out, RH_BIN " reload --socket %s", ag.ctl), 0, "%s", out);
	free(out);
	snprintf(bad, sizeof(bad), "%s/broken.json", ag.local);
	rh_file_write(bad, "[{\"rule\": \"x\",\n  \"condition\": \"event.action = = exec\"}]\n");
	cr_expect_eq(cli(&out, RH_BIN " reload --socket %s 2>&1", ag.ctl), 1, "%s", out);
	cr_expect_not_null(strstr(out, "broken.json:"), "no file:line in: %s", out);
	free(out);
	st = cli_json("status");
	after = cJSON_GetObjectItem(cJSON_GetObjectItem(st, "rules"), "count")->valuedouble;
	cJSON_Delete(st);
	cr_expect_eq(after, before, "the old rules must stay");
	unlink(bad);
	rh_sync(&ag);
	rh_stop(&ag);
}

/* Garbage, a 10 MB request, a client that never sends, clients that never
 * read a big answer: the agent stays up and answers the next client. */
Test(ctl, hostile_clients_do_not_stall_the_agent)
{
	int idle = -1, readers[40], big;
	char *chunk = calloc(1, 1 << 20), buf[512];
	cJSON *st;
	ssize_t n;

	rh_start_with(&ag, NULL, NULL);
	int g = ctl_connect();

	cr_assert_eq(write(g, "\x01\x02garbage{{{\n", 13), 13);
	n = read(g, buf, sizeof(buf) - 1);
	cr_expect_gt(n, 0, "no error answer to garbage");
	if (n > 0) {
		buf[n] = '\0';
		cr_expect_not_null(strstr(buf, "error"), "%s", buf);
	}
	close(g);
	big = ctl_connect();
	memset(chunk, 'a', 1 << 20);
	for (int i = 0; i < 10; i++)
		if (send(big, chunk, 1 << 20, MSG_NOSIGNAL) < 0)
			break; /* the agent cut it off: fine */
	close(big);
	idle = ctl_connect();
	for (size_t i = 0; i < sizeof(readers) / sizeof(readers[0]); i++) {
		readers[i] = ctl_connect();
		if (write(readers[i], "{\"cmd\":\"ps\"}\n", 13) != 13)
			break;
	}
	st = cli_json("status");
	cr_expect_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(st, "version")), "0.1.0");
	cJSON_Delete(st);
	rh_sync(&ag);
	cr_expect(!rh_agent_exited(&ag), "the agent died");
	for (size_t i = 0; i < sizeof(readers) / sizeof(readers[0]); i++)
		close(readers[i]);
	close(idle);
	free(chunk);
	rh_stop(&ag);
}

Test(ctl, metrics_pass_promtool_and_prometheus_scrapes_them)
{
	char conf[512], prom[1024], text[2048], cmd[8192], *out = NULL;
	int port = rh_lo_port(0), pport = rh_lo_port(1);
	bool found = false;

	snprintf(conf, sizeof(conf), "metrics_listen = 127.0.0.1:%d\n", port);
	rh_start_with(&ag, NULL, conf);
	rh_sync(&ag);
	cr_expect_eq(cli(&out, RH_BIN " metrics --socket %s | promtool check metrics 2>&1", ag.ctl), 0,
		     "promtool: %s", out);
	free(out);
	out = NULL;
	snprintf(prom, sizeof(prom), "%s/prom", rh_tmpdir());
	mkdir(prom, 0755);
	snprintf(text, sizeof(text), "global:\n  scrape_interval: 1s\nscrape_configs:\n"
		 "  - job_name: twinguard\n    static_configs:\n      - targets: ['127.0.0.1:%d']\n", port);
	snprintf(cmd, sizeof(cmd), "%s/prometheus.yml", prom);
	rh_file_write(cmd, text);
	snprintf(cmd, sizeof(cmd), "prometheus --config.file=%s/prometheus.yml --storage.tsdb.path=%s/data "
		 "--web.listen-address=127.0.0.1:%d > %s/log 2>&1 & echo $! > %s/pid", prom, prom, pport,
		 prom, prom);
	cr_assert_eq(system(cmd), 0);
	snprintf(cmd, sizeof(cmd), "kill $(cat %s/pid) 2>/dev/null", prom);
	rh_defer_sh(cmd);
	for (int64_t end = rh_now_ms() + 30000; rh_now_ms() < end && !found; usleep(200000)) {
		free(out);
		out = NULL;
		cli(&out, "curl -s 'http://127.0.0.1:%d/api/v1/query?query=twinguard_uptime_seconds'", pport);
		found = out && strstr(out, "\"twinguard_uptime_seconds\"") && strstr(out, "\"value\"");
	}
	cr_expect(found, "prometheus returned no twinguard series: %s", out ? out : "");
	free(out);
	rh_stop(&ag);
}
