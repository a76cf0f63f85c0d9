// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The twin lab under the real agent: every scenario of tests/lab/scenarios
 * (the same scripts `make demo` runs) against a lab of its own
 * (tests/lab/lab.sh: mosquitto, the twin engine, a namespace as the outside
 * host), with the lab's profile and integrity manifest.
 *
 *   attack   every rule its header expects is raised, by a process of the
 *            script's tree (chain: script) or by a child of the twin engine
 *            started after the script began (chain: engine); integrity
 *            alerts carry the manifest's digest of the file its header
 *            names (digest:) and the digest of the file as the attack left
 *            it;
 *   benign   no alert at all for the script's tree nor the engine's, once
 *            the integrity checker has caught up (settle: FILE waits until
 *            the manifest holds FILE's new digest) and the flows are
 *            drained (the agent is stopped before judging).
 *
 * Every scenario file must have a test here (lab.every_scenario_has_a_test).
 */
#include <dirent.h>

#include "rules_harness.h"

#define LAB_SH "tests/lab/lab.sh"
#define SCEN_DIR "tests/lab/scenarios"
#define WAIT_MS 20000
#define MAX_EXPECT 8

struct scen {
	char file[PATH_MAX];
	bool attack, engine_chain;
	char expect[MAX_EXPECT][128];
	int n_expect;
	char digest[128], settle[128];
};

static struct rh_agent ag;
static char lab[64];
static char lab_sh[PATH_MAX];

static void lab_down(void)
{
	if (lab[0] && lab_sh[0]) {
		char cmd[2 * PATH_MAX];

		snprintf(cmd, sizeof(cmd), "'%s' down '%s' >/dev/null 2>&1", lab_sh, lab);
		if (system(cmd) != 0)
			fprintf(stderr, "lab: down %s failed\n", lab);
		lab[0] = '\0';
	}
}

static void lab_fini(void)
{
	rh_cleanup();
	lab_down();
}

TestSuite(lab, .fini = lab_fini, .timeout = 180);

static void scen_load(const char *name, struct scen *s)
{
	char line[120];
	FILE *f;

	memset(s, 0, sizeof(*s));
	cr_assert_not_null(realpath(SCEN_DIR, s->file), "%s: %s", SCEN_DIR, strerror(errno));
	strncat(s->file, "/", sizeof(s->file) - strlen(s->file) - 1);
	strncat(s->file, name, sizeof(s->file) - strlen(s->file) - 1);
	f = fopen(s->file, "r");
	cr_assert_not_null(f, "%s: %s", s->file, strerror(errno));
	while (fgets(line, sizeof(line), f) && (line[0] == '#' || line[0] == '\n')) {
		line[strcspn(line, "\n")] = '\0';
		if (!strcmp(line, "# kind: attack"))
			s->attack = true;
		else if (!strcmp(line, "# chain: engine"))
			s->engine_chain = true;
		else if (!strncmp(line, "# expect: ", 10) && s->n_expect < MAX_EXPECT)
			snprintf(s->expect[s->n_expect++], sizeof(s->expect[0]), "%s", line + 10);
		else if (!strncmp(line, "# digest: ", 10))
			snprintf(s->digest, sizeof(s->digest), "%s", line + 10);
		else if (!strncmp(line, "# settle: ", 10))
			snprintf(s->settle, sizeof(s->settle), "%s", line + 10);
	}
	fclose(f);
	cr_assert(!s->attack || s->n_expect, "%s: an attack without 'expect:' lines", name);
}

/* The lab (ports of this test worker) and an agent on its profile. */
static void lab_start(void)
{
	char tmpl[] = "/var/lib/tglab-test.XXXXXX", conf[256], *profile;

	cr_assert_not_null(realpath(LAB_SH, lab_sh), "%s: %s", LAB_SH, strerror(errno));
	cr_assert_not_null(mkdtemp(tmpl));
	cr_assert_eq(rmdir(tmpl), 0);
	snprintf(lab, sizeof(lab), "%s", tmpl);
	rh_setup_sh("'%s' up '%s' %d %d %d", lab_sh, lab, rh_lo_port(0), rh_lo_port(1), rh_lo_port(2));
	snprintf(conf, sizeof(conf), "%s/profile.json", lab);
	profile = rh_file_read(conf);
	cr_assert_not_null(profile, "%s/profile.json", lab);
	snprintf(conf, sizeof(conf), "manifest = %s/manifest.json\nflow_flush_ms = 100\n", lab);
	rh_start_with(&ag, profile, conf);
	free(profile);
}

static pid_t lab_pid(const char *what)
{
	char path[128];
	char *s;
	pid_t pid;

	snprintf(path, sizeof(path), "%s/run/%s.pid", lab, what);
	s = rh_file_read(path);
	cr_assert_not_null(s, "%s", path);
	pid = (pid_t)atoi(s);
	free(s);
	return pid;
}

/* Until the manifest holds the digest of the file now (bounded). */
static void settle(const char *rel)
{
	char path[256], mpath[128], sha[65];
	int64_t deadline = rh_now_ms() + WAIT_MS;

	snprintf(path, sizeof(path), "%s/%s", lab, rel);
	snprintf(mpath, sizeof(mpath), "%s/manifest.json", lab);
	rh_sha256(path, sha);
	for (;;) {
		char *m = rh_file_read(mpath);
		bool has = m && strstr(m, sha);

		free(m);
		if (has)
			return;
		cr_assert(rh_now_ms() < deadline, "%s never reached the manifest (digest %s)", rel, sha);
		rh_nap();
	}
}

static void judge_attack(const struct scen *s, pid_t pid, pid_t engine, const char *before,
			 const char *after)
{
	for (int i = 0; i < s->n_expect; i++) {
		const cJSON *al = rh_wait_alert(&ag, s->expect[i], s->engine_chain ? engine : pid, WAIT_MS);

		if (!al)
			continue;
		rh_expect_alert_shape(al, s->expect[i]);
		if (s->engine_chain) {
			/* code the engine ran: a child of the engine, not the script */
			rh_expect_num(al, "process.parent.pid", engine);
			rh_expect_str(al, "twin.parent.role", "service");
		}
		if (s->digest[0] && !strcmp(s->expect[i], "Twin file integrity mismatch")) {
			char path[256];

			snprintf(path, sizeof(path), "%s/%s", lab, s->digest);
			rh_expect_str(al, "file.path", path);
			rh_expect_str(al, "twinguard.integrity.expected_sha256", before);
			rh_expect_str(al, "file.hash.sha256", after);
		}
	}
}

static void run_scenario(const char *name)
{
	char before[65] = "", after[65] = "", dpath[256];
	struct scen s;
	pid_t pid, engine;

	scen_load(name, &s);
	lab_start();
	engine = lab_pid("engine");
	snprintf(dpath, sizeof(dpath), "%s/%s", lab, s.digest);
	if (s.digest[0])
		rh_sha256(dpath, before);
	pid = rh_runf("LAB_ENV='%s/lab.env' bash '%s'", lab, s.file);
	rh_assert_ok(name);
	if (s.digest[0])
		rh_sha256(dpath, after);
	if (s.attack) {
		judge_attack(&s, pid, engine, before, after);
		rh_stop(&ag);
	} else {
		if (s.settle[0])
			settle(s.settle);
		rh_sync(&ag);
		rh_stop(&ag);   /* drains the flows: nothing is left to come */
		rh_expect_no_alert(&ag, NULL, pid);
		rh_expect_no_alert(&ag, NULL, engine);
		rh_expect_no_alert(&ag, NULL, lab_pid("broker"));
	}
	lab_down();
}

#define LAB_TEST(id, file) \
	Test(lab, id) { run_scenario(file); }

static const char *const scenarios[] = {
	"a01-forged-sensor-data.sh", "a02-data-file-write.sh", "a03-model-overwrite.sh",
	"a04-model-rename-over.sh", "a05-model-truncate.sh", "a06-model-chmod.sh",
	"a07-model-silent-edit.sh", "a08-control-api-intruder.sh", "a09-command-topic-publish.sh",
	"a10-command-injection-shell.sh", "a11-ptrace-engine.sh", "a12-procmem-engine.sh",
	"a13-archive-and-send.sh", "a14-slow-exfil.sh", "a15-stage-then-send.sh",
	"a16-read-and-send.sh", "b01-sensor-publishing.sh", "b02-deploy-model.sh",
	"b03-operator-commands.sh", "b04-backup-models.sh", "b05-log-rotation.sh",
};

LAB_TEST(forged_sensor_data, "a01-forged-sensor-data.sh")
LAB_TEST(data_file_write, "a02-data-file-write.sh")
LAB_TEST(model_overwrite, "a03-model-overwrite.sh")
LAB_TEST(model_rename_over, "a04-model-rename-over.sh")
LAB_TEST(model_truncate, "a05-model-truncate.sh")
LAB_TEST(model_chmod, "a06-model-chmod.sh")
LAB_TEST(model_silent_edit, "a07-model-silent-edit.sh")
LAB_TEST(control_api_intruder, "a08-control-api-intruder.sh")
LAB_TEST(command_topic_publish, "a09-command-topic-publish.sh")
LAB_TEST(command_injection_shell, "a10-command-injection-shell.sh")
LAB_TEST(ptrace_engine, "a11-ptrace-engine.sh")
LAB_TEST(procmem_engine, "a12-procmem-engine.sh")
LAB_TEST(archive_and_send, "a13-archive-and-send.sh")
LAB_TEST(slow_exfil, "a14-slow-exfil.sh")
LAB_TEST(stage_then_send, "a15-stage-then-send.sh")
LAB_TEST(read_and_send, "a16-read-and-send.sh")
LAB_TEST(benign_sensor_publishing, "b01-sensor-publishing.sh")
LAB_TEST(benign_deploy_model, "b02-deploy-model.sh")
LAB_TEST(benign_operator_commands, "b03-operator-commands.sh")
LAB_TEST(benign_backup_models, "b04-backup-models.sh")
LAB_TEST(benign_log_rotation, "b05-log-rotation.sh")

/* The directory and the list above agree: a new scenario needs a test. */
Test(lab, every_scenario_has_a_test)
{
	size_t n = sizeof(scenarios) / sizeof(scenarios[0]), found = 0;
	struct dirent *de;
	DIR *d = opendir(SCEN_DIR);

	cr_assert_not_null(d, "%s: %s", SCEN_DIR, strerror(errno));
	while ((de = readdir(d))) {
		bool listed = false;

		if (!strstr(de->d_name, ".sh"))
			continue;
		found++;
		for (size_t i = 0; i < n; i++)
			listed |= !strcmp(scenarios[i], de->d_name);
		cr_expect(listed, "scenario %s has no LAB_TEST in %s", de->d_name, __FILE__);
	}
	closedir(d);
	cr_expect_eq(found, n, "%zu scenario files, %zu tests", found, n);
}
