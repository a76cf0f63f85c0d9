// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Model integrity against the real agent (docs/integrity.md): a manifest
 * made by `twinguard baseline`, real writes, renames, chmods and deletes of
 * the twin's files, and the three integrity rules of rules/twin.json:
 *
 *   /var/lib/rh-ig.XXXXXX/models/grid.onnx, config/engine.yaml
 *                         bin/twin-deploy   the deployer (a copy of timeout:
 *                                           what it runs are its children)
 *                         bin/twin-engine   a service (a copy of cat)
 *                         incoming/         new model versions
 *
 * The checker hashes off the event path, so alerts come asynchronously:
 * triggers are awaited with rh_wait_alert(); near-misses are judged once
 * the manifest on disk shows that the checker has handled them.
 */
#include "rules_harness.h"

#define WAIT_MS 15000

static const char R_MISMATCH[] = "Twin file integrity mismatch";
static const char R_UNKNOWN[] = "Unknown file in twin model or config directory";
static const char R_MISSING[] = "Twin file from the manifest missing";

static struct rh_agent ag;

static struct {
	char root[64], models[128], config[128], incoming[128];
	char model[160], conffile[160], deploy[128], engine[128];
	char profile[4096], profile_path[PATH_MAX], manifest[PATH_MAX], conf[PATH_MAX + 32];
	char bin[PATH_MAX], rules[PATH_MAX];
} ig;

TestSuite(integrity, .fini = rh_cleanup, .timeout = 180);

static void ig_setup(void)
{
	char tmpl[] = "/var/lib/rh-ig.XXXXXX";
	FILE *f;

	cr_assert_not_null(realpath(RH_BIN, ig.bin), "%s: %s (build with make, run from the repo root)",
			   RH_BIN, strerror(errno));
	cr_assert_not_null(realpath("rules", ig.rules), "rules: %s", strerror(errno));
	cr_assert_not_null(mkdtemp(tmpl), "mkdtemp: %s", strerror(errno));
	snprintf(ig.root, sizeof(ig.root), "%s", tmpl);
	rh_defer_rm(ig.root);
	chmod(ig.root, 0755);
	snprintf(ig.models, sizeof(ig.models), "%s/models", ig.root);
	snprintf(ig.config, sizeof(ig.config), "%s/config", ig.root);
	snprintf(ig.incoming, sizeof(ig.incoming), "%s/incoming", ig.root);
	snprintf(ig.model, sizeof(ig.model), "%s/grid.onnx", ig.models);
	snprintf(ig.conffile, sizeof(ig.conffile), "%s/engine.yaml", ig.config);
	snprintf(ig.deploy, sizeof(ig.deploy), "%s/bin/twin-deploy", ig.root);
	snprintf(ig.engine, sizeof(ig.engine), "%s/bin/twin-engine", ig.root);
	rh_setup_sh("set -e; cd '%s'; mkdir -m 0755 models config bin incoming; "
		    "cp /usr/bin/timeout bin/twin-deploy; cp /usr/bin/cat bin/twin-engine; "
		    "printf 'onnx-weights-v1\\n' > models/grid.onnx; "
		    "printf 'setpoint: 50\\n' > config/engine.yaml; "
		    "printf 'onnx-weights-v2\\n' > incoming/grid-v2.onnx; "
		    "printf 'backdoored\\n' > incoming/evil.onnx; "
		    "chmod 0644 models/* config/* incoming/*", ig.root);
	snprintf(ig.profile, sizeof(ig.profile),
		 "{\"name\": \"rh-ig\", \"services\": [\"%s\"], \"deployers\": [\"%s\"],\n"
		 " \"model_dirs\": [\"%s\"], \"config_dirs\": [\"%s\"], \"data_dirs\": [],\n"
		 " \"manifest_auto_update\": true}\n",
		 ig.engine, ig.deploy, ig.models, ig.config);
	snprintf(ig.profile_path, sizeof(ig.profile_path), "%s", rh_path("ig-profile.json"));
	snprintf(ig.manifest, sizeof(ig.manifest), "%s", rh_path("state/manifest.json"));
	f = fopen(ig.profile_path, "w");
	cr_assert_not_null(f);
	fputs(ig.profile, f);
	fclose(f);
	rh_setup_sh("'%s' baseline --config /dev/null --profile '%s' --manifest '%s'", ig.bin,
		    ig.profile_path, ig.manifest);
	snprintf(ig.conf, sizeof(ig.conf), "manifest = %s\n", ig.manifest);
}

/* sha256sum of path (a ring of 8 results, so a test can hold several). */
static const char *sha_of(const char *path)
{
	static char hex[8][65];
	static int k;
	char *out = hex[k++ % 8];

	rh_sha256(path, out);
	return out;
}

/* Wait until the manifest on disk does (want) or does not contain needle:
 * the checker has handled the change. */
static void wait_manifest(const char *needle, bool want)
{
	int64_t deadline = rh_now_ms() + WAIT_MS;

	for (;;) {
		char *m = rh_file_read(ig.manifest);
		bool has = m && strstr(m, needle);

		free(m);
		if (has == want)
			return;
		cr_assert(rh_now_ms() < deadline, "manifest %s %s '%s' after %d ms", ig.manifest,
			  want ? "still lacks" : "still has", needle, WAIT_MS);
		rh_nap();
	}
}

static void expect_digests(const cJSON *al, const char *expected, const char *actual)
{
	if (expected)
		rh_expect_str(al, "twinguard.integrity.expected_sha256", expected);
	if (actual)
		rh_expect_str(al, "file.hash.sha256", actual);
	rh_expect_str(al, "twinguard.integrity.manifest", ig.manifest);
}

Test(integrity, baseline_check_and_update_commands)
{
	ig_setup();
	rh_setup_sh("'%s' baseline --check --config /dev/null --profile '%s' --manifest '%s'", ig.bin,
		    ig.profile_path, ig.manifest);
	rh_runf("printf x >> '%s'; '%s' baseline --check --config /dev/null --profile '%s' "
		"--manifest '%s'", ig.model, ig.bin, ig.profile_path, ig.manifest);
	cr_expect_eq(rh_last_exit(), 1, "--check after a change must exit 1: %s", rh_last_output());
	cr_expect_not_null(strstr(rh_last_output(), "mismatch"), "%s", rh_last_output());
	rh_runf("'%s' baseline --update --config /dev/null --profile '%s' --manifest '%s' '%s'",
		ig.bin, ig.profile_path, ig.manifest, ig.model);
	rh_assert_ok("baseline --update FILE");
	wait_manifest(sha_of(ig.model), true);
	rh_runf("'%s' baseline --update --config /dev/null --profile '%s' --manifest '%s' /etc/passwd",
		ig.bin, ig.profile_path, ig.manifest);
	cr_expect_neq(rh_last_exit(), 0, "a file outside the twin dirs must be refused");
	rh_runf("printf '{broken' > '%1$s.bad'; '%3$s' run --config /dev/null "
		"--manifest '%1$s.bad' --rules-dir '%4$s' --profile '%2$s'", ig.manifest,
		ig.profile_path, ig.bin, ig.rules);
	cr_expect_eq(rh_last_exit(), 2, "a malformed manifest must stop the agent: %s", rh_last_output());
	cr_expect_not_null(strstr(rh_last_output(), ".bad:1:"), "names file:line: %s", rh_last_output());
}

Test(integrity, deployer_updates_the_manifest_quietly)
{
	char v2path[PATH_MAX], staged[PATH_MAX];
	const char *v2;
	pid_t cp, mv, rd;

	ig_setup();
	snprintf(v2path, sizeof(v2path), "%s/grid-v2.onnx", ig.incoming);
	snprintf(staged, sizeof(staged), "%s/grid.onnx.new", ig.models);
	v2 = sha_of(v2path);
	rh_start_with(&ag, ig.profile, ig.conf);

	/* The approved way, run by the deployer (a copy of timeout, so cp
	 * and mv are its children): write model.new, rename it over. */
	cp = rh_runf("'%s' 20 cp '%s' '%s'", ig.deploy, v2path, staged);
	rh_assert_ok("deployer writes model.new");
	mv = rh_runf("'%s' 20 mv '%s' '%s'", ig.deploy, staged, ig.model);
	rh_assert_ok("deployer renames it over the model");
	wait_manifest(v2, true);
	wait_manifest("grid.onnx.new\"", false);
	rd = rh_runf("'%s' '%s' > /dev/null", ig.engine, ig.model);
	rh_assert_ok("the engine reads the model");
	/* a tampering after it, to know the checker has caught up */
	rh_runf("printf x >> '%s'", ig.conffile);
	rh_wait_alert(&ag, R_MISMATCH, 0, WAIT_MS);
	rh_expect_no_alert(&ag, R_MISMATCH, cp);
	rh_expect_no_alert(&ag, R_UNKNOWN, cp);
	rh_expect_no_alert(&ag, R_MISSING, cp);
	rh_expect_no_alert(&ag, R_MISMATCH, mv);
	rh_expect_no_alert(&ag, R_MISSING, mv);
	rh_expect_no_alert(&ag, R_MISMATCH, rd);
	rh_stop(&ag);
}

/* The name stays, the content changes: caught at the writer's close, with
 * both digests and the writer; the writer still runs when it is seen. */
Test(integrity, content_change_caught_at_close)
{
	const char *old, *now;
	const cJSON *al;
	pid_t pid;

	ig_setup();
	old = sha_of(ig.model);
	rh_start_with(&ag, ig.profile, ig.conf);
	/* the shell opens the model for writing on fd 3, writes, closes it,
	 * and lives on: the alert names it, the writer */
	pid = rh_runf("exec 3>>'%s'; printf 'implant\\n' >&3; exec 3>&-; sleep 0.3", ig.model);
	rh_assert_ok("in-place append");
	now = sha_of(ig.model);
	al = rh_wait_alert(&ag, R_MISMATCH, pid, WAIT_MS);
	rh_expect_alert_shape(al, R_MISMATCH);
	expect_digests(al, old, now);
	rh_expect_str(al, "file.path", ig.model);
	rh_expect_str(al, "twinguard.integrity.trigger", "close");
	rh_expect_num(al, "process.pid", pid);
	rh_expect_str(al, "twin.file.role", "model");
	rh_stop(&ag);
}

Test(integrity, replaced_chmoded_planted_and_deleted)
{
	char planted[PATH_MAX], evil[PATH_MAX];
	const char *model_sha, *evil_sha, *conf_sha;
	const cJSON *al;
	pid_t pid;

	ig_setup();
	snprintf(planted, sizeof(planted), "%s/extra.onnx", ig.models);
	snprintf(evil, sizeof(evil), "%s/evil.onnx", ig.incoming);
	model_sha = sha_of(ig.model);
	conf_sha = sha_of(ig.conffile);
	evil_sha = sha_of(evil);
	rh_start_with(&ag, ig.profile, ig.conf);

	/* renamed over by a non-deployer */
	pid = rh_runf("cp '%s/evil.onnx' /var/tmp/rh-ig-evil.$$ && mv /var/tmp/rh-ig-evil.$$ '%s'",
		      ig.incoming, ig.model);
	rh_assert_ok("mv over the model");
	al = rh_wait_alert(&ag, R_MISMATCH, pid, WAIT_MS);
	expect_digests(al, model_sha, evil_sha);
	rh_expect_str(al, "twinguard.integrity.trigger", "rename");
	rh_expect_str(al, "process.executable", "/usr/bin/mv");
	/* the manifest is not changed by an intruder */
	wait_manifest(model_sha, true);

	/* permissions only: same digest, mode differs */
	pid = rh_runf("chmod 0600 '%s'", ig.conffile);
	rh_assert_ok("chmod");
	al = rh_wait_alert(&ag, R_MISMATCH, pid, WAIT_MS);
	expect_digests(al, conf_sha, conf_sha);
	rh_expect_str(al, "file.mode", "0600");
	rh_expect_str(al, "twinguard.integrity.expected_mode", "0644");
	rh_expect_str(al, "twinguard.integrity.trigger", "chmod");

	/* a file the manifest does not know */
	pid = rh_runf("cp '%s/evil.onnx' '%s'", ig.incoming, planted);
	rh_assert_ok("plant a model");
	al = rh_wait_alert(&ag, R_UNKNOWN, pid, WAIT_MS);
	rh_expect_alert_shape(al, R_UNKNOWN);
	rh_expect_str(al, "file.path", planted);
	rh_expect_str(al, "file.hash.sha256", evil_sha);
	rh_expect_str(al, "process.executable", "/usr/bin/cp");

	/* deleted */
	pid = rh_runf("rm -f '%s'", ig.conffile);
	rh_assert_ok("rm");
	al = rh_wait_alert(&ag, R_MISSING, pid, WAIT_MS);
	rh_expect_alert_shape(al, R_MISSING);
	rh_expect_str(al, "file.path", ig.conffile);
	rh_expect_str(al, "twinguard.integrity.expected_sha256", conf_sha);
	rh_expect_str(al, "process.executable", "/usr/bin/rm");
	rh_stop(&ag);
}

/* Changed while the agent was down: found by the check at start. */
Test(integrity, change_while_down_found_at_start)
{
	const char *old, *now;
	const cJSON *al;

	ig_setup();
	old = sha_of(ig.model);
	rh_setup_sh("printf 'swapped offline\\n' > '%s'", ig.model);
	now = sha_of(ig.model);
	rh_start_with(&ag, ig.profile, ig.conf);
	al = rh_wait_alert(&ag, R_MISMATCH, 0, WAIT_MS);
	expect_digests(al, old, now);
	rh_expect_str(al, "twinguard.integrity.trigger", "start");
	cr_expect_null(rh_jget(al, "process.pid"), "no writer is known for a change found at start");
	rh_stop(&ag);
}
