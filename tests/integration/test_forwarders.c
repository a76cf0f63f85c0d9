// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * packaging/forwarders/: the example configs are checked by the tool that
 * will run them, where Debian packages that tool.
 *
 *   rsyslog-*.conf     rsyslogd -N1 -f FILE (needs rsyslog-relp,
 *                      rsyslog-elasticsearch, rsyslog-kafka: the modules
 *                      are loaded, every parameter name is checked); a copy
 *                      with one misspelt parameter must be refused, so the
 *                      check is known to be able to fail
 *   twinguard-*.conf   the agent's own config parser (config_load)
 *   fluent-bit.yaml,   not Debian packages: well-formed YAML only, and the
 *   vector.yaml        file they tail is the alerts_file of
 *                      twinguard-relay.conf
 *   README.md          names every file of the folder
 *
 * And rsyslog-elasticsearch.conf end to end, as a relay would run it (only
 * its ports, server and file paths rewritten to this test's):
 *
 *   agent --RELP/TCP--> rsyslogd -f (example) --_bulk--> fake Elasticsearch
 *   (rh_sync: one             imrelp, mmjsonparse,      python3 http.server
 *    barrier alert each)      omelasticsearch           on 127.0.0.1:0, appends
 *                                                       each POST body to a file
 *
 * Each barrier alert must come out, in order, as one _bulk item into the
 * daily twinguard-alerts-YYYY.MM.DD index (no _type, which Elasticsearch 8
 * refuses) whose document is the alert itself.
 *
 * Run from the repository root, like every integration test. No network:
 * -N1 does not open the inputs' ports.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "helpers.h"
#include "rules_harness.h"

#define FW_DIR "packaging/forwarders"
#define PY "/usr/bin/python3" /* the pyenv python3 on PATH has no yaml */

static char *tmp;

static void fw_setup(void)
{
	tmp = tmpdir_make();
}

static void fw_teardown(void)
{
	if (tmp)
		tmpdir_remove(tmp);
	free(tmp);
	tmp = NULL;
}

TestSuite(forwarders, .init = fw_setup, .fini = fw_teardown, .timeout = 120);

/* The whole of a small file, NUL-terminated; "" when it cannot be read. */
static char *fw_slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = calloc(1, 65536);
	size_t n;

	cr_assert_not_null(buf);
	if (!f)
		return buf;
	n = fread(buf, 1, 65535, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

/* rsyslogd -N1 on path: its exit status; its output in *out (malloc'd). */
static int fw_rsyslog_check(const char *path, char **out)
{
	char log[4096];
	int rc;

	snprintf(log, sizeof(log), "%s/rsyslogd-N1.out", tmp);
	rc = sh("timeout 60 /usr/sbin/rsyslogd -N1 -f '%s' >'%s' 2>&1", path, log);
	*out = fw_slurp(log);
	return rc;
}

static void fw_expect_rsyslog_ok(const char *name)
{
	char path[512], *out;
	int rc;

	snprintf(path, sizeof(path), FW_DIR "/%s", name);
	rc = fw_rsyslog_check(path, &out);
	cr_expect_eq(rc, 0, "rsyslogd -N1 -f %s: exit %d:\n%s", path, rc, out);
	cr_expect_null(strstr(out, "error"), "rsyslogd -N1 -f %s reported:\n%s", path, out);
	free(out);
}

Test(forwarders, rsyslog_elasticsearch_validates)
{
	fw_expect_rsyslog_ok("rsyslog-elasticsearch.conf");
}

Test(forwarders, rsyslog_kafka_validates)
{
	fw_expect_rsyslog_ok("rsyslog-kafka.conf");
}

/* The check can fail: the same file with one parameter misspelt (what a
 * copy-paste edit typically breaks) is refused by -N1. */
Test(forwarders, rsyslog_check_refuses_a_typo)
{
	char *conf = fw_slurp(FW_DIR "/rsyslog-kafka.conf"), *at, path[512], *out;
	FILE *f;
	int rc;

	at = strstr(conf, "dynaKey=");
	cr_assert_not_null(at, "rsyslog-kafka.conf no longer sets dynaKey");
	at[3] = 'X'; /* dynXKey */
	snprintf(path, sizeof(path), "%s/typo.conf", tmp);
	f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs(conf, f);
	fclose(f);
	rc = fw_rsyslog_check(path, &out);
	cr_expect_neq(rc, 0, "rsyslogd -N1 accepted a misspelt parameter:\n%s", out);
	cr_expect_not_null(strstr(out, "dynXKey"), "the error does not name it:\n%s", out);
	free(out);
	free(conf);
}

static void fw_load(const char *name, struct tg_config *c)
{
	char path[512], err[512] = "";
	int rc;

	snprintf(path, sizeof(path), FW_DIR "/%s", name);
	config_defaults(c);
	rc = config_load(path, c, err, sizeof(err));
	cr_assert_eq(rc, 0, "%s: %s", path, err);
}

Test(forwarders, twinguard_splunk_hec_parses)
{
	struct tg_config c;

	fw_load("twinguard-splunk-hec.conf", &c);
	cr_assert_not_null(c.http_url);
	cr_expect_not_null(strstr(c.http_url, "/services/collector/event"), "%s", c.http_url);
	cr_expect_str_eq(c.http_format, "splunk_hec");
	cr_expect_not_null(c.http_token_file, "a HEC token file is required");
	cr_expect_not_null(c.spool_dir);
	config_free(&c);
}

Test(forwarders, twinguard_elastic_bulk_parses)
{
	struct tg_config c;
	size_t n;

	fw_load("twinguard-elastic-bulk.conf", &c);
	cr_assert_not_null(c.http_url);
	n = strlen(c.http_url);
	cr_expect(n >= 6 && !strcmp(c.http_url + n - 6, "/_bulk"), "not a _bulk URL: %s", c.http_url);
	cr_expect_str_eq(c.http_format, "elastic_bulk");
	config_free(&c);
}

Test(forwarders, twinguard_relay_parses)
{
	struct tg_config c;

	fw_load("twinguard-relay.conf", &c);
	cr_assert_not_null(c.syslog);
	/* the relay configs listen for RELP on 2514 */
	cr_expect_not_null(strstr(c.syslog, "relp://"), "%s", c.syslog);
	cr_expect_not_null(strstr(c.syslog, ":2514"), "%s", c.syslog);
	cr_expect_not_null(c.alerts_file);
	config_free(&c);
}

/* YAML well-formed, and the file it tails is the one twinguard writes. */
static void fw_expect_yaml_tails(const char *name, const char *expr)
{
	char out[512], *got;
	struct tg_config c;
	int rc;

	snprintf(out, sizeof(out), "%s/%s.path", tmp, name);
	rc = sh(PY " -c 'import yaml,sys; d=yaml.safe_load(open(sys.argv[1])); "
		   "print(%s, end=\"\")' '" FW_DIR "/%s' >'%s' 2>&1",
		expr, name, out);
	got = fw_slurp(out);
	cr_assert_eq(rc, 0, "%s is not well-formed YAML (or lost its input): %s", name, got);
	fw_load("twinguard-relay.conf", &c);
	cr_expect_str_eq(got, c.alerts_file, "%s tails %s, twinguard writes %s", name, got,
			 c.alerts_file);
	config_free(&c);
	free(got);
}

Test(forwarders, fluent_bit_yaml_tails_the_alerts_file)
{
	fw_expect_yaml_tails("fluent-bit.yaml",
			     "[i for i in d[\"pipeline\"][\"inputs\"] if i[\"name\"]==\"tail\"][0][\"path\"]");
}

Test(forwarders, vector_yaml_tails_the_alerts_file)
{
	fw_expect_yaml_tails("vector.yaml", "d[\"sources\"][\"twinguard_alerts_file\"][\"include\"][0]");
}

Test(forwarders, readme_names_every_file)
{
	char *readme = fw_slurp(FW_DIR "/README.md");
	DIR *d = opendir(FW_DIR);
	struct dirent *e;
	int files = 0;

	cr_assert_not_null(d);
	cr_assert(readme[0], "no README.md");
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.' || !strcmp(e->d_name, "README.md"))
			continue;
		files++;
		cr_expect_not_null(strstr(readme, e->d_name), "README.md does not mention %s",
				   e->d_name);
	}
	closedir(d);
	cr_expect_geq(files, 7, "examples went missing: %d files", files);
	free(readme);
}

/* ---- rsyslog-elasticsearch.conf end to end ------------------------------ */

#define E2E_ALERTS 3

static const char fake_es_py[] =
	"import http.server, sys\n"
	"out, portfile = sys.argv[1], sys.argv[2]\n"
	"class H(http.server.BaseHTTPRequestHandler):\n"
	"    protocol_version = 'HTTP/1.1'\n"
	"    def reply(self, body):\n"
	"        b = body.encode()\n"
	"        self.send_response(200)\n"
	"        self.send_header('Content-Type', 'application/json')\n"
	"        self.send_header('Content-Length', str(len(b)))\n"
	"        self.end_headers()\n"
	"        self.wfile.write(b)\n"
	"    def do_GET(self):\n"
	"        self.reply('{\"version\":{\"number\":\"7.17.0\"},\"status\":\"green\"}')\n"
	"    def do_POST(self):\n"
	"        n = int(self.headers.get('Content-Length', '0'))\n"
	"        body = self.rfile.read(n)\n"
	"        with open(out, 'ab') as f:\n"
	"            f.write(b'POST ' + self.path.encode() + b'\\n' + body)\n"
	"            if not body.endswith(b'\\n'): f.write(b'\\n')\n"
	"        self.reply('{\"took\":1,\"errors\":false,\"items\":[]}')\n"
	"    def log_message(self, *a): pass\n"
	"s = http.server.ThreadingHTTPServer(('127.0.0.1', 0), H)\n"
	"open(portfile + '.tmp', 'w').write(str(s.server_port))\n"
	"import os; os.rename(portfile + '.tmp', portfile)\n"
	"s.serve_forever()\n";

static pid_t e2e_es = -1, e2e_rs = -1;

static void e2e_kill(pid_t *pid)
{
	if (*pid <= 0)
		return;
	kill(*pid, SIGTERM);
	if (rh_reap_within(*pid, RH_DEADLINE_MS) == -1) {
		kill(*pid, SIGKILL);
		rh_reap_within(*pid, RH_DEADLINE_MS);
	}
	*pid = -1;
}

static void e2e_fini(void)
{
	e2e_kill(&e2e_rs);
	e2e_kill(&e2e_es);
	rh_cleanup();
}

TestSuite(forwarders_e2e, .fini = e2e_fini, .timeout = 120);

static pid_t e2e_spawn(char *const argv[])
{
	pid_t pid;

	fflush(NULL);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		execv(argv[0], argv);
		_exit(127);
	}
	return pid;
}

/* The fake Elasticsearch's port, once it is listening. */
static int e2e_start_es(const char *bodies)
{
	const char *py = rh_path("fake_es.py"), *portfile = rh_path("fake_es.port");
	char *argv[] = { PY, (char *)py, (char *)bodies, (char *)portfile, NULL };
	int64_t deadline = rh_now_ms() + RH_DEADLINE_MS;

	rh_file_write(py, fake_es_py);
	e2e_es = e2e_spawn(argv);
	for (;;) {
		struct stat sb;

		if (!stat(portfile, &sb)) {
			char *p = rh_file_read(portfile);
			int port = atoi(p);

			free(p);
			cr_assert_gt(port, 0);
			return port;
		}
		cr_assert(rh_reap_within(e2e_es, 0) == -1, "the fake Elasticsearch exited at start");
		cr_assert_lt(rh_now_ms(), deadline, "the fake Elasticsearch did not start");
		rh_nap();
	}
}

/* s with the first "from" replaced by "to" (s is realloc'd); asserts that
 * the example still holds "from", since the test relies on it. */
static char *e2e_subst(char *s, const char *from, const char *to)
{
	char *at = strstr(s, from), *r;
	size_t pre;

	cr_assert_not_null(at, "rsyslog-elasticsearch.conf no longer has %s", from);
	pre = (size_t)(at - s);
	r = malloc(strlen(s) - strlen(from) + strlen(to) + 1);
	cr_assert_not_null(r);
	memcpy(r, s, pre);
	strcpy(r + pre, to);
	strcat(r, at + strlen(from));
	free(s);
	return r;
}

/* Whether 127.0.0.1:port is listening (TCP) in /proc/net/tcp. */
static bool e2e_listening(int port)
{
	char want[32], line[512];
	FILE *f = fopen("/proc/net/tcp", "r");
	bool found = false;

	if (!f)
		return false;
	snprintf(want, sizeof(want), "0100007F:%04X", port);
	while (!found && fgets(line, sizeof(line), f)) {
		char local[64], st[8];

		if (sscanf(line, "%*s %63s %*s %7s", local, st) == 2)
			found = !strcmp(local, want) && !strcmp(st, "0A");
	}
	fclose(f);
	return found;
}

static void e2e_start_relay(int relp_port, int tcp_port, int es_port)
{
	char *conf = fw_slurp(FW_DIR "/rsyslog-elasticsearch.conf"), buf[PATH_MAX + 64];
	const char *path = rh_path("relay.conf");
	char *argv[] = { "/usr/sbin/rsyslogd", "-n", "-f", (char *)path, "-i",
			 (char *)rh_path("relay.pid"), NULL };
	int64_t deadline = rh_now_ms() + RH_DEADLINE_MS;

	snprintf(buf, sizeof(buf), "port=\"%d\"", relp_port);
	conf = e2e_subst(conf, "port=\"2514\"", buf);
	snprintf(buf, sizeof(buf), "port=\"%d\"", tcp_port);
	conf = e2e_subst(conf, "port=\"10514\"", buf);
	snprintf(buf, sizeof(buf), "server=\"127.0.0.1\" serverport=\"%d\"", es_port);
	conf = e2e_subst(conf, "server=\"localhost\" serverport=\"9200\"", buf);
	conf = e2e_subst(conf, "/var/log/twinguard/relay-unparsed.log", rh_path("unparsed.log"));
	conf = e2e_subst(conf, "/var/log/twinguard/relay-es-errors.json", rh_path("es-errors.json"));
	/* the imrelp/imtcp inputs listen on every address: only loopback here */
	conf = e2e_subst(conf, "input(type=\"imrelp\"", "input(type=\"imrelp\" address=\"127.0.0.1\"");
	conf = e2e_subst(conf, "input(type=\"imtcp\"", "input(type=\"imtcp\" address=\"127.0.0.1\"");
	snprintf(buf, sizeof(buf), "global(workDirectory=\"%s\")\n", rh_tmpdir());
	rh_file_write(path, buf);
	{
		FILE *f = fopen(path, "a");

		cr_assert_not_null(f);
		fputs(conf, f);
		fclose(f);
	}
	free(conf);
	e2e_rs = e2e_spawn(argv);
	while (!e2e_listening(relp_port) || !e2e_listening(tcp_port)) {
		cr_assert(rh_reap_within(e2e_rs, 0) == -1, "rsyslogd exited at start (%s)", path);
		cr_assert_lt(rh_now_ms(), deadline, "rsyslogd did not listen on %d and %d", relp_port, tcp_port);
		rh_nap();
	}
}

/* The documents of the _bulk bodies that hold this worker's barrier tags,
 * checked item by item; how many there were. */
static size_t e2e_check_bulk(const char *bodies, char tags[][48], size_t ntags, bool final)
{
	char *all = rh_file_read(bodies), *save = NULL, *prev = NULL, want[32];
	size_t found = 0;
	snprintf(want, sizeof(want), "rh-sync-%d-", (int)getpid());
	for (char *l = strtok_r(all, "\n", &save); l; prev = l, l = strtok_r(NULL, "\n", &save)) {
		cJSON *doc;

		if (!strstr(l, want))
			continue;
		doc = cJSON_Parse(l);
		if (final) {
			cr_assert_not_null(doc, "a _bulk document is not JSON: %s", l);
			const char *rule = rh_jstr(doc, "rule.name"), *msg = rh_jstr(doc, "message");
			const char *ts = rh_jstr(doc, "@timestamp");
			char day[16] = "?";

			/* the index is the day of the alert's own time (UTC) */
			if (ts && strlen(ts) >= 10)
				snprintf(day, sizeof(day), "%.4s.%.2s.%.2s", ts, ts + 5, ts + 8);

			cr_expect(rule && !strcmp(rule, RH_BARRIER_RULE), "rule.name: %s", l);
			cr_expect_not_null(prev, "a document without its action line");
			/* the action line before it names the daily index */
			cr_expect(prev && strstr(prev, "\"_index\"") && strstr(prev, "twinguard-alerts-"),
				  "action line: %s", prev ? prev : "(none)");
			/* Elasticsearch 8 refuses a _type in an action line */
			cr_expect(prev && !strstr(prev, "_type"), "action line has a _type: %s",
				  prev ? prev : "");
			cr_expect(prev && strstr(prev, day) != NULL, "index is not the alert's day (%s): %s", day,
				  prev ? prev : "");
			cr_expect_lt(found, ntags, "more documents than alerts: %s", l);
			if (found < ntags)
				cr_expect(msg && strstr(msg, tags[found]),
						   "document %zu is not alert %s: %s", found, tags[found], l);
		}
		cJSON_Delete(doc);
		found++;
	}
	free(all);
	return found;
}

/* scheme "relp" (the relay's imrelp) or "tcp" (its imtcp, octet-counted). */
static void e2e_run(const char *scheme)
{
	const char *bodies = rh_path("bulk.bodies");
	int relp = rh_lo_port(0), tcp = rh_lo_port(1), es_port;
	char cfg[128], tags[E2E_ALERTS][48];
	static struct rh_agent a; /* rh_cleanup() (fini) still reads it */
	int64_t deadline;
	size_t n = 0;

	rh_file_write(bodies, "");
	es_port = e2e_start_es(bodies);
	e2e_start_relay(relp, tcp, es_port);
	snprintf(cfg, sizeof(cfg), "syslog = %s://127.0.0.1:%d\n", scheme,
		 !strcmp(scheme, "relp") ? relp : tcp);
	rh_start_with(&a, NULL, cfg);
	for (size_t i = 0; i < E2E_ALERTS; i++) {
		rh_sync(&a);
		snprintf(tags[i], sizeof(tags[i]), "rh-sync-%d-%d-%u", (int)getpid(), (int)a.pid,
			 a.barrier_seq);
	}
	/* omelasticsearch batches: wait, bounded, for every alert's document */
	deadline = rh_now_ms() + 3 * RH_DEADLINE_MS;
	while ((n = e2e_check_bulk(bodies, tags, E2E_ALERTS, false)) < E2E_ALERTS &&
	       rh_now_ms() < deadline)
		rh_nap();
	rh_stop(&a);
	cr_expect_eq(n, E2E_ALERTS, "%zu of %d alerts reached the fake Elasticsearch", n, E2E_ALERTS);
	e2e_check_bulk(bodies, tags, E2E_ALERTS, true);
	{
		char *body = rh_file_read(bodies);

		cr_expect_not_null(strstr(body, "POST /_bulk"), "not a _bulk request:\n%.2000s", body);
		free(body);
	}
}

Test(forwarders_e2e, rsyslog_elasticsearch_relay_over_relp)
{
	e2e_run("relp");
}

Test(forwarders_e2e, rsyslog_elasticsearch_relay_over_tcp)
{
	e2e_run("tcp");
}
