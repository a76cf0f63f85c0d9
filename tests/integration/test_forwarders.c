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
