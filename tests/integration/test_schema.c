// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Real alert lines against the alert schema (docs/alerts.md,
 * docs/alerts.schema.json): the agent runs the shipped packs, the test
 * fires a single-event rule, a sequence rule, a threshold rule and an
 * integrity rule (triggers as in test_rules_host.c and test_integrity.c),
 * floods a rate-limited rule so an alert-suppressed record is written at
 * stop, and then every line of the alert stream (event.kind "alert":
 * alerts, alert-suppressed, agent-loss, the harness's barrier alerts) goes
 * through tests/alerts_validate.py with /usr/bin/python3 (jsonschema).
 * Root, real BPF; run from the repository root.
 */
#include "rules_harness.h"

#define VALIDATOR "/usr/bin/python3 tests/alerts_validate.py docs/alerts.schema.json"
#define WAIT_MS 15000

static const char R_SHADOW[] = "Shadow file read by unexpected program";
static const char R_STDIN_SHELL[] = "Shell reading stdin after download tool";
static const char R_CONN_BURST[] = "Connection failure burst";
static const char R_MISMATCH[] = "Twin file integrity mismatch";

static struct rh_agent ag;

TestSuite(schema, .fini = rh_cleanup, .timeout = 120);

/* The stream's alert-kind lines into a file; how many of each action. */
static const char *alert_lines(struct rh_agent *a, size_t *n, size_t *suppressed, size_t *loss)
{
	const char *path = rh_path("alert-lines.json");
	char *text = rh_file_read(a->out), *save = NULL;
	FILE *f = fopen(path, "w");

	cr_assert_not_null(f, "%s: %s", path, strerror(errno));
	*n = *suppressed = *loss = 0;
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		cJSON *j = cJSON_Parse(line);
		const char *act = rh_jstr(j, "event.action");

		if (rh__is_alert(j)) {
			fprintf(f, "%s\n", line);
			(*n)++;
			*suppressed += act && !strcmp(act, "alert-suppressed");
			*loss += act && !strcmp(act, "agent-loss");
		} else if (!j) {
			/* a torn line is itself a failure of the stream */
			fprintf(f, "%s\n", line);
			(*n)++;
		}
		cJSON_Delete(j);
	}
	fclose(f);
	free(text);
	return path;
}

static void expect_valid(struct rh_agent *a, size_t want_suppressed, size_t want_loss)
{
	size_t n, sup, loss;
	const char *path = alert_lines(a, &n, &sup, &loss);
	char *out = NULL;
	int rc;

	cr_expect_geq(sup, want_suppressed, "alert-suppressed records: %zu, want %zu", sup,
		      want_suppressed);
	cr_expect_geq(loss, want_loss, "agent-loss records: %zu, want %zu", loss, want_loss);
	rc = rh_sh_q(&out, VALIDATOR " '%s'", path);
	cr_expect_eq(rc, 0, "%zu alert lines (%zu alert-suppressed, %zu agent-loss) vs the schema:\n%s",
		     n, sup, loss, out ? out : "(no output)");
	cr_log_info("schema: %s", out ? out : "");
	free(out);
}

/* A lone alert of rule in pid's tree, with its kind. */
static void expect_kind(const char *rule, pid_t pid, const char *kind)
{
	const cJSON *al = rh_expect_alert(&ag, rule, pid);

	rh_expect_str(al, "twinguard.alert.kind", kind);
	rh_expect_str(al, "schema_version", "1");
}

Test(schema, host_pack_alerts_and_summaries_validate)
{
	const char *dumper = rh_path("hashdump");
	const char *scan = rh_tool("probe");
	pid_t pid;

	rh_setup_sh("cp /usr/bin/cat '%s'", dumper);
	rh_start(&ag, NULL);

	/* single event */
	pid = rh_runf("'%s' /etc/shadow > /dev/null", dumper);
	rh_assert_ok("read shadow");
	expect_kind(R_SHADOW, pid, "event");
	/* sequence, by user: a downloader, then a shell reading stdin under a shell */
	pid = rh_run_as(rh_uid(1), "bash -c 'curl -fsS file:///dev/null; echo true | sh'");
	rh_assert_ok("curl, then sh from stdin");
	expect_kind(R_STDIN_SHELL, pid, "sequence");
	/* threshold: 250 refused connects (closed loopback ports) */
	pid = rh_runf("'%s' --scan 127.0.0.1 40001 40250", scan);
	expect_kind(R_CONN_BURST, pid, "threshold");
	/* the shadow rule allows 10 a minute per program, user and file: 15
	 * tries leave 5 for an alert-suppressed summary, written at stop */
	pid = rh_run_as(65534, "for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15; do "
			       "cat /etc/gshadow 2>/dev/null; done; true");
	rh_assert_ok("gshadow tries");
	rh_sync(&ag);
	rh_stop(&ag);
	expect_valid(&ag, 1, 0);
}

Test(schema, integrity_alert_validates)
{
	char root[] = "/var/lib/rh-schema.XXXXXX", profile[1024], conf[PATH_MAX + 32];
	const char *prof_path = rh_path("profile.json"), *manifest = rh_path("manifest.json");
	char model[PATH_MAX], bin[PATH_MAX];
	pid_t pid;

	cr_assert_not_null(realpath(RH_BIN, bin), "%s: %s", RH_BIN, strerror(errno));

	cr_assert_not_null(mkdtemp(root));
	rh_defer_rm(root);
	chmod(root, 0755);
	rh_setup_sh("set -e; mkdir -m 0755 '%s/models'; printf 'weights-v1\\n' > '%s/models/m.onnx'; "
		    "chmod 0644 '%s/models/m.onnx'", root, root, root);
	snprintf(model, sizeof(model), "%s/models/m.onnx", root);
	snprintf(profile, sizeof(profile), "{\"name\": \"rh-schema\", \"model_dirs\": [\"%s/models\"], "
		 "\"config_dirs\": [], \"data_dirs\": []}\n", root);
	rh_file_write(prof_path, profile);
	rh_setup_sh("'%s' baseline --config /dev/null --profile '%s' --manifest '%s'", bin,
		    prof_path, manifest);
	snprintf(conf, sizeof(conf), "manifest = %s\n", manifest);
	rh_start_with(&ag, profile, conf);
	pid = rh_runf("exec 3>>'%s'; printf 'implant\\n' >&3; exec 3>&-; sleep 0.3", model);
	rh_assert_ok("in-place append");
	const cJSON *al = rh_wait_alert(&ag, R_MISMATCH, pid, WAIT_MS);
	rh_expect_alert_shape(al, R_MISMATCH);
	rh_stop(&ag);
	expect_valid(&ag, 0, 0);
}

/* Lost records and held-back alerts, as the agent reports them in band: a
 * 4 KiB ring and an unprivileged flood of failing opens of /etc/shadow
 * (rate-limited: the shadow rule allows 10 a minute per key) until an
 * agent-loss record is in the stream (bounded), with summaries every 1 s. */
Test(schema, agent_loss_and_suppressed_records_validate)
{
	static const char flood[] =
		"/usr/bin/python3 -c 'import os\n"
		"for i in range(20000):\n"
		"  try: os.close(os.open(\"/etc/shadow\", os.O_RDONLY))\n"
		"  except OSError: pass'";
	bool lost = false;

	rh_start_with(&ag, NULL, "ringbuf_kb = 4\nloss_report_s = 1\nsuppress_report_s = 1\n");
	for (int round = 0; round < 20 && !lost; round++) {
		char *text;

		rh_run_as(65534, flood);
		rh_assert_ok("flood");
		/* no rh_sync: with a 4 KiB ring the marker itself may be lost
		 * (the tests beside this one fill it too); poll for the record */
		for (int64_t end = rh_now_ms() + 3000; !lost && rh_now_ms() < end;) {
			text = rh_file_read(ag.out);
			lost = text && strstr(text, "\"agent-loss\"");
			free(text);
			if (!lost)
				rh_nap();
		}
	}
	cr_expect(lost, "no agent-loss record after 20 floods of 20000 opens");
	rh_stop_q(&ag, true);
	expect_valid(&ag, 1, 1);
}
