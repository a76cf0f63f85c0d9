// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * rules/agent.json (self-protection) against the real agent: every rule's
 * real trigger, aimed at the test's own running agent or at the agent's
 * real paths, must raise the alert with the right fields, and the benign
 * near-misses of docs/packs/agent.md must not. Harness: rules_harness.h.
 *
 * The agent under test is .output/twinguard (its executable ends in
 * /twinguard, which is how the pack recognises the agent). Its process is
 * signalled with SIGSTOP and SIGCONT (it keeps running), traced and
 * detached, and read with process_vm_readv; a failed SIGKILL comes from a
 * uid that may not signal it.
 *
 * System paths (/usr/local/sbin/twinguard, /etc/twinguard, /etc/systemd/
 * system/twinguard.service*, /var/log/twinguard) are only touched where
 * nothing of a real installation is there: files get names carrying the
 * test's pid and are removed in the fini even when the test fails;
 * directories the test had to create are removed with rmdir (only when
 * empty); a test whose path is taken by a real file is skipped with the
 * reason. Modules and BPF: finit_module() is always refused (bad flags),
 * and the BPF programs loaded are trivial socket filters nobody attaches.
 */
#include "rules_harness.h"

#define LAB_SRC "tests/integration/lab/twinlab.c"
#define MAX_BG 4

static const char R_KILL[] = "Agent killed or stopped";
static const char R_TRACE[] = "Agent traced or memory accessed";
static const char R_BINARY[] = "Agent binary modified";
static const char R_CONFIG[] = "Agent configuration or rules modified";
static const char R_LOG[] = "Agent event log tampered";
static const char R_SYSTEMCTL[] = "Agent service stopped through systemctl";
static const char R_BPF[] = "BPF program loaded by unexpected process";
static const char R_MODULE[] = "Kernel module loaded unexpectedly";

static const char *const covered[] = {
	R_KILL, R_TRACE, R_BINARY, R_CONFIG, R_LOG, R_SYSTEMCTL, R_BPF, R_MODULE,
};

static struct rh_agent ag;
static char lab[PATH_MAX], implant[PATH_MAX], agent_exe[PATH_MAX];

/* Background processes (targets that are not the agent). */
static struct {
	pid_t pid;
	char log[PATH_MAX];
} bg[MAX_BG];
static int nbg;
/* System directories a test had to create: removed (rmdir) in the fini. */
static char *dirs[8];
static size_t ndirs;

static void agent_fini(void)
{
	for (int i = 0; i < nbg; i++) {
		if (bg[i].pid > 0) {
			kill(bg[i].pid, SIGKILL);
			waitpid(bg[i].pid, NULL, 0);
			bg[i].pid = 0;
		}
	}
	nbg = 0;
	rh_cleanup();
	/* after rh_cleanup() removed the files in them; children first */
	while (ndirs) {
		rmdir(dirs[--ndirs]);
		free(dirs[ndirs]);
	}
}

TestSuite(agent, .fini = agent_fini, .timeout = 120);

/* Compile the lab tool (tests/integration/lab/twinlab.c) and copy it to
 * rh_tmpdir()/implant: a program with no special standing. Before rh_start. */
static void lab_setup(void)
{
	char src[PATH_MAX];

	cr_assert_not_null(realpath(LAB_SRC, src), "%s: %s (run from the repo root)", LAB_SRC,
			   strerror(errno));
	cr_assert_not_null(realpath(RH_BIN, agent_exe), "%s: %s", RH_BIN, strerror(errno));
	snprintf(lab, sizeof(lab), "%s/.twinlab", rh_tmpdir());
	snprintf(implant, sizeof(implant), "%s/implant", rh_tmpdir());
	rh_setup_sh("gcc -O1 -Wall -Wextra -Werror -o '%1$s' '%2$s' && cp '%1$s' '%3$s'", lab, src,
		    implant);
}

/* A process that is not the agent, blocked until killed (twinlab wait). */
static pid_t sleeper(void)
{
	const char *ready = rh_path(".wait-%d.ready", nbg);
	pid_t parent = getpid(), pid;
	int64_t deadline;
	int i = nbg;

	cr_assert_lt(nbg, MAX_BG);
	snprintf(bg[i].log, sizeof(bg[i].log), "%s/.bg-%d.log", rh_tmpdir(), i);
	fflush(NULL);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		int out = open(bg[i].log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

		if (out < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0)
			_exit(125);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(125);
		execl(lab, lab, "wait", ready, (char *)NULL);
		_exit(127);
	}
	bg[i].pid = pid;
	nbg++;
	deadline = rh_now_ms() + RH_DEADLINE_MS;
	while (access(ready, F_OK) != 0) {
		cr_assert(waitpid(pid, NULL, WNOHANG) == 0, "sleeper exited:\n%s",
			  rh_file_read(bg[i].log));
		cr_assert(rh_now_ms() < deadline, "sleeper not ready after %d ms", RH_DEADLINE_MS);
		rh_nap();
	}
	return pid;
}

/* Create dir (and its parents) when missing; each directory this created
 * is removed in the fini with rmdir, so only while it is empty. */
static void make_dir(const char *dir)
{
	char p[PATH_MAX];

	snprintf(p, sizeof(p), "%s", dir);
	for (char *s = p + 1; ; s++) {
		if (*s == '/' || *s == 0) {
			char c = *s;

			*s = 0;
			if (mkdir(p, 0755) == 0) {
				cr_assert_lt(ndirs, sizeof(dirs) / sizeof(dirs[0]));
				dirs[ndirs++] = strdup(p);
			} else {
				cr_assert_eq(errno, EEXIST, "mkdir %s: %s", p, strerror(errno));
			}
			*s = c;
			if (!c)
				break;
		}
	}
}


/* path must not exist (a real installation's file); removed at cleanup. */
static void claim_path(const char *path)
{
	struct stat st;

	if (lstat(path, &st) == 0)
		cr_skip_test("%s exists (a real installation?): not touching it", path);
	rh_defer_rm(path);
}

/* ---- the pack ---------------------------------------------------------------- */


Test(agent, every_rule_has_a_test)
{
	rh_expect_pack_covered(RH_RULES_DIR "/agent.json", covered, sizeof(covered) / sizeof(covered[0]),
			       __FILE__);
}

/* ======================================================================== */
/* The agent's process                                                      */
/* ======================================================================== */

Test(agent, agent_killed_or_stopped)
{
	uid_t u = rh_uid(0);
	const cJSON *al;
	int64_t deadline;
	pid_t other, pid;

	lab_setup();
	rh_start(&ag, NULL);
	other = sleeper();

	/* Near-misses: SIGCONT and SIGHUP (reload) to the agent; SIGTERM to a
	 * process that is not the agent. */
	pid = rh_runf("kill -CONT %d", ag.pid);
	rh_assert_ok("kill -CONT");
	rh_expect_no_alert(&ag, R_KILL, pid);
	pid = rh_runf("kill -HUP %d", ag.pid);
	rh_assert_ok("kill -HUP");
	deadline = rh_now_ms() + RH_DEADLINE_MS;
	for (;;) { /* the reload is done before the barrier can be trusted again */
		char *err = rh_file_read(ag.errf);
		bool done = strstr(err, "twinguard: reloaded") != NULL;

		free(err);
		if (done)
			break;
		cr_assert(rh_now_ms() < deadline, "no reload after SIGHUP within %d ms", RH_DEADLINE_MS);
		rh_nap();
	}
	rh_expect_no_alert(&ag, R_KILL, pid);
	pid = rh_runf("kill -TERM %d", other);
	rh_assert_ok("kill another process");
	rh_expect_no_alert(&ag, R_KILL, pid);

	/* Stopped (and resumed, so it keeps running for the rest). */
	pid = rh_runf("kill -STOP %1$d; kill -CONT %1$d", ag.pid);
	rh_assert_ok("kill -STOP");
	al = rh_expect_alert(&ag, R_KILL, pid);
	rh_expect_alert_shape(al, R_KILL);
	rh_expect_str(al, "event.action", "kill");
	rh_expect_str(al, "twinguard.signal", "SIGSTOP");
	rh_expect_num(al, "target.process.pid", ag.pid);
	rh_expect_str(al, "target.process.executable", agent_exe);
	rh_expect_str(al, "process.executable", "/usr/bin/dash");
	rh_expect_str(al, "event.outcome", "success");
	cr_expect_eq(rh_alerts(&ag, R_KILL, pid, NULL), 1, "SIGSTOP alerts, SIGCONT does not");

	/* An unprivileged SIGKILL: refused (EPERM), reported all the same. */
	pid = rh_run_asf(u, "kill -KILL %d", ag.pid);
	cr_expect_neq(rh_last_exit(), 0, "uid %u could signal the agent", u);
	al = rh_expect_alert(&ag, R_KILL, pid);
	rh_expect_str(al, "twinguard.signal", "SIGKILL");
	rh_expect_str(al, "event.outcome", "failure");
	rh_expect_str(al, "twinguard.errno", "EPERM");
	rh_expect_num(al, "user.id", u);
	rh_expect_contains(al, "message", "outcome=failure");
	rh_stop(&ag);
}

Test(agent, agent_traced_or_memory_accessed)
{
	const cJSON *al;
	pid_t other, pid;

	lab_setup();
	rh_start(&ag, NULL);
	other = sleeper();

	/* Near-misses: tracing and reading another process; gdb attached to
	 * it. */
	pid = rh_runf("'%1$s' ptrace %2$d && '%1$s' pvread %2$d", implant, other);
	rh_assert_ok("trace another process");
	rh_expect_no_alert(&ag, R_TRACE, pid);
	if (access("/usr/bin/gdb", X_OK) == 0) {
		pid = rh_runf("gdb -batch -nx -p %d -ex 'info registers' > /dev/null 2>&1", other);
		rh_assert_ok("gdb");
		rh_expect_no_alert(&ag, R_TRACE, pid);
	} else {
		cr_log_warn("no /usr/bin/gdb: the debugger near-miss is not exercised");
	}

	/* PTRACE_ATTACH then DETACH: the agent is stopped for a moment only. */
	pid = rh_runf("'%s' ptrace %d", implant, ag.pid);
	rh_assert_ok("PTRACE_ATTACH to the agent");
	al = rh_expect_alert_where(&ag, R_TRACE, pid, "event.action", "ptrace");
	rh_expect_alert_shape(al, R_TRACE);
	rh_expect_str(al, "twinguard.ptrace_request", "PTRACE_ATTACH");
	rh_expect_num(al, "target.process.pid", ag.pid);
	rh_expect_str(al, "target.process.executable", agent_exe);
	rh_expect_str(al, "process.executable", implant);
	pid = rh_runf("'%s' pvread %d", implant, ag.pid);
	rh_assert_ok("process_vm_readv of the agent");
	al = rh_expect_alert_where(&ag, R_TRACE, pid, "event.action", "process_vm");
	rh_expect_str(al, "twinguard.access", "read");
	rh_expect_num(al, "target.process.pid", ag.pid);
	rh_stop(&ag);
}

/* ======================================================================== */
/* The agent's files                                                        */
/* ======================================================================== */

Test(agent, agent_binary_modified)
{
	const char *bin = "/usr/local/sbin/twinguard";
	char moved[64], cmd[PATH_MAX + 256];
	const char *stage = rh_path("stage");
	const cJSON *al;
	pid_t pid;

	lab_setup();
	snprintf(moved, sizeof(moved), "%s.rh-%d", bin, (int)getpid());
	make_dir("/usr/local/sbin");
	claim_path(bin);
	claim_path(moved);
	claim_path("/usr/local/sbin/twinguard.dpkg-new");
	rh_start(&ag, NULL);

	/* Near-misses: an install into a staging root (make install
	 * DESTDIR=); the package manager installing it (dpkg writes
	 * .dpkg-new and renames it into place). */
	pid = rh_runf("install -D -m 0755 '%s' '%s%s'", agent_exe, stage, bin);
	rh_assert_ok("staged install");
	rh_expect_no_alert(&ag, R_BINARY, pid);
	snprintf(cmd, sizeof(cmd), "cp %1$s %2$s.dpkg-new && chmod 0755 %2$s.dpkg-new && mv %2$s.dpkg-new %2$s",
		 lab, bin);
	pid = rh_run_under_dpkg(cmd);
	rh_expect_no_alert(&ag, R_BINARY, pid);

	/* An unpackaged install (the doc's "plain make install"). */
	pid = rh_runf("cp '%s' '%s'", lab, bin);
	rh_assert_ok("cp to /usr/local/sbin");
	al = rh_expect_alert_where(&ag, R_BINARY, pid, "event.action", "open");
	rh_expect_alert_shape(al, R_BINARY);
	rh_expect_str(al, "file.path", bin);
	rh_expect_str(al, "process.executable", "/usr/bin/cp");

	/* Near-misses: checksum, listing, running it. */
	pid = rh_runf("sha256sum '%1$s' > /dev/null && ls -l '%1$s' > /dev/null && '%1$s' read /dev/null",
		      bin);
	rh_assert_ok("read and run the binary");
	rh_expect_no_alert(&ag, R_BINARY, pid);

	pid = rh_runf("chmod 0700 '%s'", bin);
	rh_assert_ok("chmod");
	al = rh_expect_alert_where(&ag, R_BINARY, pid, "event.action", "chmod");
	rh_expect_str(al, "file.path", bin);
	pid = rh_runf("mv '%s' '%s'", bin, moved);
	rh_assert_ok("moved away");
	al = rh_expect_alert_where(&ag, R_BINARY, pid, "event.action", "rename");
	rh_expect_str(al, "file.old_path", bin);
	rh_expect_str(al, "file.path", moved);
	pid = rh_runf("mv '%s' '%s'", moved, bin);
	rh_assert_ok("moved back");
	al = rh_expect_alert_where(&ag, R_BINARY, pid, "event.action", "rename");
	rh_expect_str(al, "file.path", bin);
	pid = rh_runf("rm '%s'", bin);
	rh_assert_ok("rm");
	al = rh_expect_alert_where(&ag, R_BINARY, pid, "event.action", "unlink");
	rh_expect_str(al, "file.path", bin);
	rh_stop(&ag);
}

Test(agent, agent_configuration_or_rules_modified)
{
	char rule_file[96], sibling[64], dropin_dir[] = "/etc/systemd/system/twinguard.service.d";
	char dropin[128], other_unit[96], unit[] = "/etc/systemd/system/twinguard.service";
	char pkg_file[96];
	bool systemd_dir = access("/etc/systemd/system", F_OK) == 0, unit_free = false;
	struct stat st;
	const cJSON *al;
	pid_t pid;

	lab_setup();
	snprintf(rule_file, sizeof(rule_file), "/etc/twinguard/rules.d/rh-%d.json", (int)getpid());
	snprintf(sibling, sizeof(sibling), "/etc/twinguard.rh-%d", (int)getpid());
	snprintf(pkg_file, sizeof(pkg_file), "/etc/twinguard/rules.d/rh-%d-pkg.json", (int)getpid());
	snprintf(dropin, sizeof(dropin), "%s/rh-%d.conf", dropin_dir, (int)getpid());
	snprintf(other_unit, sizeof(other_unit), "/etc/systemd/system/rh-%d.service", (int)getpid());
	make_dir("/etc/twinguard/rules.d");
	claim_path(rule_file);
	claim_path(sibling);
	claim_path(pkg_file);
	if (systemd_dir) {
		make_dir(dropin_dir);
		claim_path(dropin);
		claim_path(other_unit);
		/* a real unit is left alone: only that case is not exercised */
		unit_free = lstat(unit, &st) != 0;
		if (unit_free)
			rh_defer_rm(unit);
	}
	rh_start(&ag, NULL);

	/* A rules.d file written (a rule switched off), then removed. */
	pid = rh_runf("printf '[{\"rule\": \"%s\", \"enabled\": false}]\\n' > '%s'", R_KILL, rule_file);
	rh_assert_ok("write rules.d file");
	al = rh_expect_alert_where(&ag, R_CONFIG, pid, "event.action", "open");
	rh_expect_alert_shape(al, R_CONFIG);
	rh_expect_str(al, "file.path", rule_file);
	rh_expect_str(al, "process.executable", "/usr/bin/dash");

	/* Near-misses: reading it; the package manager writing a file there;
	 * a path that only shares the prefix. */
	pid = rh_runf("cat '%s' > /dev/null && ls -la /etc/twinguard > /dev/null", rule_file);
	rh_assert_ok("read rules.d file");
	rh_expect_no_alert(&ag, R_CONFIG, pid);
	{
		char cmd[256];

		snprintf(cmd, sizeof(cmd), "echo \"[]\" > %1$s && rm %1$s", pkg_file);
		pid = rh_run_under_dpkg(cmd);
		rh_expect_no_alert(&ag, R_CONFIG, pid);
	}
	pid = rh_runf("echo x > '%1$s' && rm '%1$s'", sibling);
	rh_assert_ok("write /etc/twinguard.*");
	rh_expect_no_alert(&ag, R_CONFIG, pid);

	pid = rh_runf("rm '%s'", rule_file);
	rh_assert_ok("rm rules.d file");
	al = rh_expect_alert_where(&ag, R_CONFIG, pid, "event.action", "unlink");
	rh_expect_str(al, "file.path", rule_file);

	if (!systemd_dir) {
		cr_log_warn("no /etc/systemd/system: the unit and drop-in cases are not exercised");
		rh_stop(&ag);
		return;
	}
	/* Near-miss: another unit written. */
	pid = rh_runf("printf '[Unit]\\n' > '%1$s' && rm '%1$s'", other_unit);
	rh_assert_ok("other unit");
	rh_expect_no_alert(&ag, R_CONFIG, pid);
	/* The unit's ExecStart= replaced by a drop-in; the unit itself. */
	pid = rh_runf("printf '[Service]\\nExecStart=\\nExecStart=/bin/true\\n' > '%s'", dropin);
	rh_assert_ok("drop-in");
	al = rh_expect_alert_where(&ag, R_CONFIG, pid, "event.action", "open");
	rh_expect_str(al, "file.path", dropin);
	pid = rh_runf("rm '%s'", dropin);
	rh_assert_ok("rm drop-in");
	al = rh_expect_alert_where(&ag, R_CONFIG, pid, "event.action", "unlink");
	rh_expect_str(al, "file.path", dropin);
	if (!unit_free) {
		cr_log_warn("%s exists: the unit case is not exercised", unit);
		rh_stop(&ag);
		return;
	}
	pid = rh_runf("printf '[Service]\\nExecStart=/bin/true\\n' > '%1$s' && rm '%1$s'", unit);
	rh_assert_ok("unit");
	al = rh_expect_alert_where(&ag, R_CONFIG, pid, "event.action", "open");
	rh_expect_str(al, "file.path", unit);
	al = rh_expect_alert_where(&ag, R_CONFIG, pid, "event.action", "unlink");
	rh_expect_str(al, "file.path", unit);
	rh_stop(&ag);
}

Test(agent, agent_event_log_tampered)
{
	char log[64], rotated[80], conf[PATH_MAX], state[PATH_MAX];
	const cJSON *al;
	pid_t pid;

	lab_setup();
	snprintf(log, sizeof(log), "/var/log/twinguard/rh-%d.json", (int)getpid());
	snprintf(rotated, sizeof(rotated), "%s.1", log);
	make_dir("/var/log/twinguard");
	claim_path(log);
	claim_path(rotated);
	{
		char gz[96];

		snprintf(gz, sizeof(gz), "%s.1.gz", log);
		claim_path(gz);
	}
	snprintf(conf, sizeof(conf), "%s", rh_path("logrotate.conf"));
	snprintf(state, sizeof(state), "%s", rh_path("logrotate.state"));
	rh_file_write(log, "{\"event\":{\"kind\":\"alert\"}}\n");
	{
		char text[512];

		snprintf(text, sizeof(text), "%s {\n  rotate 1\n  compress\n  missingok\n}\n", log);
		rh_file_write(conf, text);
	}
	rh_start(&ag, NULL);

	/* Near-misses: a forwarder appending and tailing. */
	pid = rh_runf("echo '{}' >> '%1$s' && tail -n 1 '%1$s' > /dev/null && cat '%1$s' > /dev/null",
		      log);
	rh_assert_ok("append, tail");
	rh_expect_no_alert(&ag, R_LOG, pid);

	/* Truncated (shell O_TRUNC, truncate), chmod'ed, renamed, deleted. */
	pid = rh_runf(": > '%s'", log);
	rh_assert_ok("> log");
	al = rh_expect_alert_where(&ag, R_LOG, pid, "event.action", "open");
	rh_expect_alert_shape(al, R_LOG);
	rh_expect_str(al, "file.path", log);
	pid = rh_runf("truncate -s 0 '%s'", log);
	rh_assert_ok("truncate");
	al = rh_expect_alert_where(&ag, R_LOG, pid, "event.action", "truncate");
	rh_expect_str(al, "process.executable", "/usr/bin/truncate");
	pid = rh_runf("chmod 0666 '%s'", log);
	rh_assert_ok("chmod");
	rh_expect_alert_where(&ag, R_LOG, pid, "event.action", "chmod");
	pid = rh_runf("mv '%s' '%s'", log, rotated);
	rh_assert_ok("mv");
	al = rh_expect_alert_where(&ag, R_LOG, pid, "event.action", "rename");
	rh_expect_str(al, "file.path", rotated);
	pid = rh_runf("rm '%s'", rotated);
	rh_assert_ok("rm");
	al = rh_expect_alert_where(&ag, R_LOG, pid, "event.action", "unlink");
	rh_expect_str(al, "file.path", rotated);

	/* Near-miss: logrotate renaming the log and its gzip child removing
	 * the uncompressed copy. */
	if (access("/usr/sbin/logrotate", X_OK) == 0) {
		rh_file_write(log, "{\"event\":{\"kind\":\"alert\"}}\n");
		pid = rh_runf("/usr/sbin/logrotate -f -s '%s' '%s'", state, conf);
		rh_assert_ok("logrotate");
		cr_expect_eq(access(log, F_OK), -1, "logrotate did not rotate %s", log);
		rh_expect_no_alert(&ag, R_LOG, pid);
	} else {
		cr_log_warn("no /usr/sbin/logrotate: the log rotation near-miss is not exercised");
	}
	rh_stop(&ag);
}

/* ======================================================================== */
/* Stopping the service, blinding the kernel side                           */
/* ======================================================================== */

Test(agent, agent_service_stopped_through_systemctl)
{
	const char *systemctl = rh_path("bin/systemctl");
	static const char *const stops[] = {
		"stop twinguard.service", "disable --now twinguard", "mask twinguard",
	};
	static const char *const benign[] = {
		"status twinguard", "restart twinguard.service", "reload twinguard", "stop nginx",
	};
	const cJSON *al;
	char cmd[256];
	pid_t pid;

	lab_setup();
	/* a stand-in named systemctl (its comm): nothing is really stopped */
	rh_setup_sh("mkdir -p '%1$s/bin' && cp /usr/bin/true '%2$s'", rh_tmpdir(), systemctl);
	rh_start(&ag, NULL);

	for (size_t i = 0; i < sizeof(benign) / sizeof(benign[0]); i++) {
		pid = rh_runf("'%s' %s", systemctl, benign[i]);
		rh_assert_ok("systemctl");
		rh_expect_no_alert(&ag, R_SYSTEMCTL, pid);
	}
	/* Near-miss: the package's prerm stopping the service during an
	 * upgrade (run as dpkg's child). */
	snprintf(cmd, sizeof(cmd), "%s stop twinguard.service", systemctl);
	pid = rh_run_under_dpkg(cmd);
	rh_expect_no_alert(&ag, R_SYSTEMCTL, pid);

	for (size_t i = 0; i < sizeof(stops) / sizeof(stops[0]); i++) {
		snprintf(cmd, sizeof(cmd), "%s %s", systemctl, stops[i]);
		pid = rh_run(cmd);
		rh_assert_ok("systemctl");
		al = rh_expect_alert(&ag, R_SYSTEMCTL, pid);
		rh_expect_alert_shape(al, R_SYSTEMCTL);
		rh_expect_str(al, "event.action", "exec");
		rh_expect_str(al, "process.name", "systemctl");
		rh_expect_str(al, "process.command_line", cmd);
	}
	rh_stop(&ag);
}

Test(agent, bpf_program_loaded_by_unexpected_process)
{
	const char *obj = rh_path("rh_prog.o"), *src = rh_path("rh_prog.c"), *mnt = rh_path("bpffs");
	bool have_clang = access("/usr/bin/clang", X_OK) == 0;
	const cJSON *al;
	pid_t pid;

	lab_setup();
	if (have_clang)
		rh_setup_sh("printf '__attribute__((section(\"socket\"), used)) int rh_ok(void *c) "
			    "{ return 0; }\\nchar _license[] __attribute__((section(\"license\"), used)) "
			    "= \"GPL\";\\n' > '%1$s' && clang -O2 -target bpf -c '%1$s' -o '%2$s' && "
			    "mkdir '%3$s'",
			    src, obj, mnt);
	rh_start(&ag, NULL);

	/* Near-misses: listing programs (no load); bpftool loading one (an
	 * allowlisted loader; pinned in a private bpffs, freed with it). */
	pid = rh_run("bpftool prog show > /dev/null");
	rh_assert_ok("bpftool prog show");
	rh_expect_no_alert(&ag, R_BPF, pid);
	if (have_clang) {
		pid = rh_runf("unshare -m --propagation private sh -c "
			      "\"mount -t bpf none '%1$s' && bpftool prog load '%2$s' '%1$s/p'\"",
			      mnt, obj);
		rh_assert_ok("bpftool prog load");
		rh_expect_no_alert(&ag, R_BPF, pid);
	} else {
		cr_log_warn("no clang: the 'bpftool prog load' near-miss is not exercised");
	}

	pid = rh_runf("'%s' bpfload rh_probe", implant);
	rh_assert_ok("BPF_PROG_LOAD");
	al = rh_expect_alert(&ag, R_BPF, pid);
	rh_expect_alert_shape(al, R_BPF);
	rh_expect_str(al, "event.action", "bpf_prog_load");
	rh_expect_str(al, "twinguard.bpf_prog_type", "socket_filter");
	rh_expect_str(al, "twinguard.bpf_prog_name", "rh_probe");
	rh_expect_str(al, "event.outcome", "success");
	rh_expect_str(al, "process.executable", implant);
	rh_stop(&ag);
}

/* finit_module() of a file outside the module tree by an unknown program.
 * The call is refused (flags no kernel accepts: EINVAL, nothing is read or
 * loaded), but the rule is about the attempt: the module_load event, with
 * the file from the fd, is reported whatever the outcome. */
Test(agent, kernel_module_loaded_unexpectedly)
{
	const char *ko = rh_path("rh_rootkit.ko");
	const cJSON *al;
	pid_t pid;

	lab_setup();
	rh_setup_sh("printf 'not a module\\n' > '%s'", ko);
	rh_start(&ag, NULL);

	pid = rh_runf("'%s' finit '%s' hide=1", implant, ko);
	rh_assert_ok("finit_module");
	al = rh_expect_alert(&ag, R_MODULE, pid);
	rh_expect_alert_shape(al, R_MODULE);
	rh_expect_str(al, "event.action", "module_load");
	rh_expect_str(al, "file.path", ko);
	rh_expect_str(al, "twinguard.module_params", "hide=1");
	rh_expect_str(al, "event.outcome", "failure");
	rh_expect_str(al, "process.executable", implant);
	rh_stop(&ag);
}

/* The near-miss of the module rule: kmod (insmod) loading a module from
 * the module tree. Re-inserting a module that is already loaded fails with
 * EEXIST and changes nothing, yet is a real module_load by kmod. Needs kmod
 * and a loaded module with a file under /lib/modules/$(uname -r). */
Test(agent, module_load_by_kmod_from_module_tree_is_quiet)
{
	char *out = NULL, ko[PATH_MAX] = "";
	pid_t pid;

	if (access("/usr/bin/kmod", X_OK) != 0)
		cr_skip_test("no /usr/bin/kmod on this host");
	if (rh_sh_q(&out, "for m in $(cut -d' ' -f1 /proc/modules); do "
			  "f=$(modinfo -n $m 2>/dev/null) && case $f in /lib/modules/*|/usr/lib/modules/*) "
			  "echo $f; break;; esac; done") != 0 || !out || sscanf(out, "%4095s", ko) != 1) {
		free(out);
		cr_skip_test("no loaded module with a file under /lib/modules here (built-in kernel)");
	}
	free(out);
	rh_start(&ag, NULL);
	pid = rh_runf("/usr/bin/kmod insmod '%s'; true", ko);
	rh_expect_no_alert(&ag, R_MODULE, pid);
	rh_stop(&ag);
}
