/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * rules_harness.h: integration tests of the shipped rule packs against the
 * real agent. HEADER-ONLY: every function is static inline, so a test file
 * just does
 *
 *     #include "rules_harness.h"
 *     TestSuite(rules_x, .init = ..., .fini = rh_cleanup, .timeout = 60);
 *
 * and the Makefile's rule for tests/integration/test_*.c (helpers.c and
 * libtwinguard.a only) builds it as is. There is deliberately no
 * rules_harness.c: the Makefile builds every .c file of tests/integration
 * but helpers.c as a test binary of its own. The Makefile does not list this
 * header as a prerequisite either, so after editing it remove the test
 * binaries (or touch the test files) before `make`.
 *
 *   test worker (Criterion runs each test in its own process)
 *     |-- agent   .output/twinguard run --config CONF (empty: defaults, every
 *     |           class, no configured prefix filter; the agent then derives
 *     |           its kernel filters from the loaded rules, docs/design.md)
 *     |           --rules-dir rules --local-dir LOCAL --profile PROFILE
 *     |           --output ALERTS; PDEATHSIG so it cannot outlive the worker;
 *     |           ready once stderr says "attached"
 *     |-- rh_run("cmd")  fork, /bin/sh -c cmd in its own process group,
 *     |                  reaped with a deadline; returns its pid, the key
 *     |                  alerts are filtered by (the process or an ancestor)
 *     |-- sink    (rh_netns_up) a fork of the worker inside netns rhtest<pid>
 *     |           serving TCP on 198.51.100.2
 *     `-- rh_expect_alert / rh_expect_no_alert: rh_sync() first, then read
 *
 * API, in the order a test uses it:
 *   set-up    rh_tmpdir() rh_path(fmt..) rh_home_dir() rh_uid(k) rh_lo_port(k) rh_sha256()
 *             rh_tool(name) rh_setup_sh(fmt..) rh_defer_rm(path) rh_defer_sh(cmd)
 *             rh_netns_up(ports) / rh_netns_down()
 *   agent     rh_start(&a, profile_json or NULL) or rh_start_with(&a, profile,
 *             config_text) ... rh_stop(&a)
 *   activity  rh_run(cmd) rh_runf(fmt..) rh_run_as(uid, cmd) rh_run_asf(uid, fmt..)
 *             rh_run_under_dpkg(cmd); rh_last_status() rh_last_exit()
 *             rh_last_output() rh_assert_ok(what)
 *   verdicts  rh_expect_alert(&a, rule, pid) -> first alert or NULL
 *             rh_expect_alert_where(&a, rule, pid, field, value)
 *             rh_expect_no_alert(&a, rule, pid)
 *             rh_wait_alert(&a, rule, pid, ms) (flow-driven alerts)
 *             rh_alerts(&a, rule, pid, &v) rh_alert_where(...) (no assertion)
 *             rh_expect_str / _contains / _num / _alert_shape (alert may be NULL)
 *             rh_jget / rh_jstr / rh_jnum on any line
 *   cleanup   TestSuite(..., .fini = rh_cleanup)
 * The expect helpers are non-fatal (cr_expect), so one run reports every
 * trigger and near-miss of a test; their messages name the caller's line
 * and list what the agent did report for that process tree.
 *
 * Synchronisation without sleeps: the agent buffers its output until its
 * next poll round, so a test cannot tell "no alert" from "not written yet"
 * by reading the file. rh_sync() runs a marker process (a symlink named
 * rh-barrier-mark to /usr/bin/true, so its comm is the marker name) and
 * waits, with a deadline, for the alert of a harness-only rule that matches
 * it (RH_BARRIER_RULE, the only rule in the otherwise empty --local-dir),
 * recognised by its pid and a tag naming the worker and the agent (every
 * agent on the host sees every test's markers). The ring buffer is ordered
 * and every process started by rh_run() was reaped before the marker
 * started, so once the marker's alert is in the file every alert of those
 * processes is there too. Flow lines (drained from a map every
 * flow_flush_ms) are the exception; no host rule uses them. The expect
 * helpers sync only when an rh_run*() happened since the last sync: after
 * activity of the worker itself, call rh_sync() yourself.
 *
 * Every wait is bounded (RH_DEADLINE_MS, RH_RUN_MS); polls nap RH_SLICE_MS.
 * Cleanup (rh_cleanup, also registered with atexit): stop the agents, kill
 * the sink, delete the namespace, run the deferred commands (rh_defer_sh)
 * and remove the deferred paths (rh_defer_rm) and the temp dirs.
 *
 * Environment knobs: RH_EVENTS=1 also records the event stream (--events;
 * it widens the kernel filters, so use it to explain a failure, not to
 * judge one): failure messages then list the events of the process tree.
 * RH_KEEP=1 keeps the agents' directories (output, stderr). RH_RULES_DIR
 * runs the agent on another rules directory (e.g. a copy with a fix).
 */
#ifndef TG_RULES_HARNESS_H
#define TG_RULES_HARNESS_H

#include <cjson/cJSON.h>
#include "diag.h"
#include "rules.h"
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <limits.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define RH_API static inline __attribute__((unused))

#define RH_BIN ".output/twinguard"            /* tests run from the repo root */
#define RH_RULES_DIR "rules"
#define RH_DEFAULT_PROFILE "rules/profile/twin-profile.json"
#define RH_TOOL_SRC "tests/integration/lab/rh_tool.c"
#define RH_DEADLINE_MS 10000   /* agent start/stop, sync, netns */
#define RH_RUN_MS 20000        /* one rh_run() command */
#define RH_LOCK_MS 120000      /* waiting for another test's namespace */
#define RH_SLICE_MS 10         /* poll slice */
#define RH_NS_HOST "198.51.100.1"
#define RH_NS_PEER "198.51.100.2"
#define RH_NS_LOCK "/run/lock/twinguard-rh-netns.lock"
#define RH_BARRIER_RULE "rh-barrier"
#define RH_BARRIER_NAME "rh-barrier-mark" /* 15 bytes: the whole comm */
#define RH_SINK_BODY "echo rh-downloaded\n"  /* what GET returns */
#define RH_MAX_AGENTS 4
#define RH_MAX_DEFER 64
#define RH_DUMP_MAX 40         /* alerts/events listed in a failure message */

struct rh_agent {
	pid_t pid;                 /* > 0 once started */
	bool reaped;
	int status;                /* wait status once reaped */
	bool events;               /* --events (RH_EVENTS=1) */
	char dir[256];             /* /tmp/rh-agent.XXXXXX */
	char conf[PATH_MAX], profile[PATH_MAX], local[PATH_MAX];
	char out[PATH_MAX], errf[PATH_MAX], barrier[PATH_MAX];
	char ctl[PATH_MAX];       /* its control socket (control_socket key) */
	unsigned barrier_seq;
	unsigned synced_gen;       /* rh_g.gen at the last rh_sync() */
	double drops;              /* from the stats line at rh_stop(); -1 unknown */
	/* every parsed line of out (alerts, and events with RH_EVENTS=1) */
	size_t off;
	cJSON **lines;
	size_t n, cap, bad;
};

/* Process-wide state: one test per process, so one of these per test. */
static struct {
	bool atexit_set;
	struct rh_agent *agents[RH_MAX_AGENTS];
	size_t nagents;
	char tmpdir[256];          /* rh_tmpdir(), "" until asked for */
	char tool[PATH_MAX];       /* compiled rh_tool, "" until asked for */
	char *defer_rm[RH_MAX_DEFER];
	size_t ndefer_rm;
	char *defer_sh[RH_MAX_DEFER];
	size_t ndefer_sh;
	unsigned nrun;
	unsigned gen;              /* bumped by every rh_run*(): work to sync */
	int last_status;
	char last_log[PATH_MAX];
	char last_cmd[1024];
	/* network namespace */
	int lock_fd;               /* held while the namespace exists; 0 = none */
	char ns[32], veth_h[16], veth_n[16];
	pid_t sink;
} rh_g;

RH_API void rh_cleanup(void);
struct rh_agent;
RH_API bool rh_stop_q(struct rh_agent *a, bool quiet);

/* ---- time, files, JSON ------------------------------------------------ */

RH_API int64_t rh_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

RH_API void rh_nap(void)
{
	struct timespec ts = { 0, RH_SLICE_MS * 1000000L };

	nanosleep(&ts, NULL);
}

/* Whole file from offset off, NUL-terminated ("" when absent); *len may be
 * NULL. The caller frees. */
RH_API char *rh_file_read_from(const char *path, size_t off, size_t *len)
{
	FILE *f = fopen(path, "re");
	char *buf = NULL;
	size_t n = 0, cap = 0;

	if (f && off && fseek(f, (long)off, SEEK_SET) != 0) {
		fclose(f);
		f = NULL;
	}
	if (f) {
		for (;;) {
			if (cap - n < 65536) {
				cap = cap ? cap * 2 : 65536;
				buf = realloc(buf, cap + 1);
				cr_assert_not_null(buf);
			}
			size_t r = fread(buf + n, 1, cap - n, f);

			n += r;
			if (r == 0)
				break;
		}
		fclose(f);
	}
	if (!buf) {
		buf = malloc(1);
		cr_assert_not_null(buf);
	}
	buf[n] = 0;
	if (len)
		*len = n;
	return buf;
}

RH_API char *rh_file_read(const char *path)
{
	return rh_file_read_from(path, 0, NULL);
}

/* SHA-256 of a file as 64 hex digits, by sha256sum(1): the integrity
 * tests compare the agent's digests with an independent tool's. */
RH_API void rh_sha256(const char *path, char out[65])
{
	char cmd[PATH_MAX + 32];
	FILE *p;

	snprintf(cmd, sizeof(cmd), "sha256sum '%s'", path);
	p = popen(cmd, "r");
	cr_assert_not_null(p, "popen sha256sum: %s", strerror(errno));
	cr_assert_eq(fscanf(p, "%64s", out), 1, "sha256sum %s", path);
	pclose(p);
}

RH_API void rh_file_write(const char *path, const char *text)
{
	FILE *f = fopen(path, "we");

	cr_assert_not_null(f, "fopen %s: %s", path, strerror(errno));
	cr_assert_neq(fputs(text, f), EOF, "write %s", path);
	cr_assert_eq(fclose(f), 0, "write %s: %s", path, strerror(errno));
}

/* o["a"]["b"]... for "a.b..."; NULL when a step is missing. */
RH_API const cJSON *rh_jget(const cJSON *o, const char *dotted)
{
	char key[128];
	const char *p = dotted;

	while (o && *p) {
		size_t n = strcspn(p, ".");

		if (n >= sizeof(key))
			return NULL;
		memcpy(key, p, n);
		key[n] = 0;
		o = cJSON_GetObjectItemCaseSensitive(o, key);
		p += n + (p[n] == '.');
	}
	return o;
}

RH_API const char *rh_jstr(const cJSON *o, const char *dotted)
{
	const cJSON *j = rh_jget(o, dotted);

	return cJSON_IsString(j) ? j->valuestring : NULL;
}

RH_API bool rh_jnum(const cJSON *o, const char *dotted, double *v)
{
	const cJSON *j = rh_jget(o, dotted);

	if (!cJSON_IsNumber(j))
		return false;
	*v = j->valuedouble;
	return true;
}

/* "%s" of a maybe-NULL string. */
RH_API const char *rh_s(const char *s)
{
	return s ? s : "(absent)";
}

/* ---- deferred cleanup, temp dir ----------------------------------------- */

RH_API void rh_atexit(void)
{
	if (!rh_g.atexit_set) {
		rh_g.atexit_set = true;
		atexit(rh_cleanup);
	}
}

/* Remove path (a file or a whole tree) at cleanup, last registered first. */
RH_API void rh_defer_rm(const char *path)
{
	cr_assert(path[0] == '/' && strlen(path) > 4, "refusing to defer removal of '%s'", path);
	cr_assert_lt(rh_g.ndefer_rm, RH_MAX_DEFER);
	rh_g.defer_rm[rh_g.ndefer_rm++] = strdup(path);
	rh_atexit();
}

/* Run cmd (/bin/sh -c) at cleanup, last registered first: userdel, ... */
RH_API void rh_defer_sh(const char *cmd)
{
	cr_assert_lt(rh_g.ndefer_sh, RH_MAX_DEFER);
	rh_g.defer_sh[rh_g.ndefer_sh++] = strdup(cmd);
	rh_atexit();
}

static __attribute__((unused)) int rh__rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)ftw;
	if (flag == FTW_DP)
		rmdir(p);
	else
		unlink(p);
	return 0;
}

RH_API void rh_rm_tree(const char *path)
{
	struct stat sb;

	if (!path || strlen(path) < 5 || path[0] != '/' || lstat(path, &sb) != 0)
		return;
	if (S_ISDIR(sb.st_mode))
		nftw(path, rh__rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	else
		unlink(path);
}

/* The test's own directory: /tmp/rh.XXXXXX (realpath'd, mode 0755 so
 * rh_run_as() users can enter it), created on first use, removed at cleanup.
 * rh_run() commands run with it as cwd and HOME. */
RH_API const char *rh_tmpdir(void)
{
	if (!rh_g.tmpdir[0]) {
		char tmpl[] = "/tmp/rh.XXXXXX";

		cr_assert_not_null(mkdtemp(tmpl), "mkdtemp: %s", strerror(errno));
		cr_assert_not_null(realpath(tmpl, rh_g.tmpdir), "realpath %s", tmpl);
		chmod(rh_g.tmpdir, 0755);
		rh_atexit();
	}
	return rh_g.tmpdir;
}

/* rh_tmpdir()/name, in a static ring of buffers (valid for 16 calls). */
RH_API const char *rh_path(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
RH_API const char *rh_path(const char *fmt, ...)
{
	static char ring[16][PATH_MAX];
	static unsigned i;
	char name[PATH_MAX - 300];
	char *p = ring[i++ % 16];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(name, sizeof(name), fmt, ap);
	va_end(ap);
	snprintf(p, PATH_MAX, "%s/%s", rh_tmpdir(), name);
	return p;
}

/* A fake home under /home (rules about per-user files are bounded to the
 * home_dirs list, /home and /root): /home/rh.XXXXXX, mode 0755, removed at
 * cleanup. Up to 4 per test; the path stays valid for the test. */
RH_API const char *rh_home_dir(void)
{
	static char dirs[4][64];
	static int n;
	char tmpl[] = "/home/rh.XXXXXX";
	char *d;

	cr_assert_lt(n, 4, "more than 4 rh_home_dir() in one test");
	d = dirs[n++];
	mkdir("/home", 0755);
	cr_assert_not_null(mkdtemp(tmpl), "mkdtemp %s: %s", tmpl, strerror(errno));
	snprintf(d, 64, "%s", tmpl);
	chmod(d, 0755);
	rh_defer_rm(d);
	return d;
}

/* A uid (k = 0..3) no other test process uses and no account has, for
 * rules keyed by user (sequence by: user) and rh_run_as(). */
RH_API uid_t rh_uid(unsigned k)
{
	return 100000 + (uid_t)getpid() * 4 + (k & 3);
}

/* A loopback TCP port (k = 0..7) for this test process: tests run in
 * parallel, so fixed ports would collide. */
RH_API int rh_lo_port(unsigned k)
{
	return 10000 + (int)(getpid() % 2800) * 8 + (int)(k & 7); /* below the ephemeral range */
}

/* ---- running commands --------------------------------------------------- */

/* Reap pid within ms; the wait status, or -1 on timeout (still running). */
RH_API int rh_reap_within(pid_t pid, int ms)
{
	int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	int status = -1, r;

	cr_assert_geq(pidfd, 0, "pidfd_open %d: %s", pid, strerror(errno));
	struct pollfd pfd = { .fd = pidfd, .events = POLLIN };
	int64_t deadline = rh_now_ms() + ms;

	do {
		int64_t left = deadline - rh_now_ms();

		r = poll(&pfd, 1, left > 0 ? (int)left : 0);
	} while (r < 0 && errno == EINTR);
	close(pidfd);
	if (r <= 0)
		return -1;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return status;
}

/* Run /bin/sh -c cmd, as uid/gid (setgroups(0)) when as_user, in its own
 * process group, cwd and HOME rh_tmpdir(), a fixed PATH (no pyenv shims),
 * stdin /dev/null, stdout+stderr to a log (rh_last_output()). Waits up to
 * RH_RUN_MS (fails the test past it), then SIGKILLs whatever is left in
 * its process group. Returns the shell's pid; rh_last_status() its status. */
RH_API pid_t rh_run_full(bool as_user, uid_t uid, const char *cmd)
{
	const char *dir = rh_tmpdir();
	pid_t pid;
	int st;

	snprintf(rh_g.last_log, sizeof(rh_g.last_log), "%s/.rh-run-%u.log", dir, rh_g.nrun++);
	snprintf(rh_g.last_cmd, sizeof(rh_g.last_cmd), "%s", cmd);
	rh_g.gen++;
	fflush(NULL);
	pid = fork();
	cr_assert_geq(pid, 0, "fork: %s", strerror(errno));
	if (pid == 0) {
		int in = open("/dev/null", O_RDONLY | O_CLOEXEC);
		int out = open(rh_g.last_log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

		setpgid(0, 0);
		if (in < 0 || out < 0 || dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0)
			_exit(125);
		if (as_user && (setgroups(0, NULL) || setgid(uid) || setuid(uid)))
			_exit(126);
		prctl(PR_SET_PDEATHSIG, SIGKILL); /* after setuid, which clears it */
		if (chdir(dir))
			(void)!chdir("/");
		clearenv();
		setenv("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", 1);
		setenv("HOME", dir, 1);
		setenv("LANG", "C", 1);
		setenv("RH_DIR", dir, 1);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	setpgid(pid, pid); /* also here: no race with killpg below */
	st = rh_reap_within(pid, RH_RUN_MS);
	if (st == -1) {
		killpg(pid, SIGKILL);
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		cr_assert_fail("command still running after %d ms (killed): %s\noutput:\n%s",
			       RH_RUN_MS, cmd, rh_file_read(rh_g.last_log));
	}
	killpg(pid, SIGKILL); /* background leftovers; ESRCH when none */
	cr_assert(!(WIFEXITED(st) && (WEXITSTATUS(st) == 125 || WEXITSTATUS(st) == 126)),
		  "rh_run setup failed (exit %d) for: %s", WEXITSTATUS(st), cmd);
	rh_g.last_status = st;
	return pid;
}

RH_API pid_t rh_run(const char *cmd)
{
	return rh_run_full(false, 0, cmd);
}

RH_API pid_t rh_run_as(uid_t uid, const char *cmd)
{
	return rh_run_full(true, uid, cmd);
}

RH_API pid_t rh_runf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
RH_API pid_t rh_runf(const char *fmt, ...)
{
	char cmd[8192];
	va_list ap;

	va_start(ap, fmt);
	cr_assert_lt(vsnprintf(cmd, sizeof(cmd), fmt, ap), (int)sizeof(cmd));
	va_end(ap);
	return rh_run_full(false, 0, cmd);
}

RH_API pid_t rh_run_asf(uid_t uid, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
RH_API pid_t rh_run_asf(uid_t uid, const char *fmt, ...)
{
	char cmd[8192];
	va_list ap;

	va_start(ap, fmt);
	cr_assert_lt(vsnprintf(cmd, sizeof(cmd), fmt, ap), (int)sizeof(cmd));
	va_end(ap);
	return rh_run_full(true, uid, cmd);
}

/* Wait status of the last rh_run*(), and its exit code (-1: signalled). */
RH_API int rh_last_status(void)
{
	return rh_g.last_status;
}

RH_API int rh_last_exit(void)
{
	return WIFEXITED(rh_g.last_status) ? WEXITSTATUS(rh_g.last_status) : -1;
}

/* stdout+stderr of the last rh_run*() (caller frees). */
RH_API char *rh_last_output(void)
{
	return rh_file_read(rh_g.last_log);
}

/* Assert the last command exited 0, with its output in the message. */
#define rh_assert_ok(what)                                                                 \
	cr_assert_eq(rh_last_exit(), 0, "%s: '%s' exited with status 0x%x; output:\n%s", what, \
		     rh_g.last_cmd, rh_last_status(), rh_last_output())

/* Run cmd (as root, before or outside the agent's view) for set-up: must
 * exit 0. Returns nothing; output in the failure message. */
RH_API void rh_setup_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
RH_API void rh_setup_sh(const char *fmt, ...)
{
	char cmd[8192];
	va_list ap;

	va_start(ap, fmt);
	cr_assert_lt(vsnprintf(cmd, sizeof(cmd), fmt, ap), (int)sizeof(cmd));
	va_end(ap);
	rh_run_full(false, 0, cmd);
	rh_assert_ok("set-up");
}

/* Run cmd the way package maintainer scripts run: as a child of dpkg
 * itself (dpkg --pre-invoke runs it with "sh -c" before a configure run
 * that has nothing to do), so process.ancestors holds /usr/bin/dpkg. cmd
 * must not contain single quotes. Asserts exit 0; returns the pid. */
RH_API pid_t rh_run_under_dpkg(const char *cmd)
{
	/* serialised: dpkg takes its frontend lock and fails at once when a
	 * parallel test holds it; the flock goes with the fd */
	int fd = open("/run/lock/rh-dpkg.lock", O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	int64_t deadline = rh_now_ms() + RH_LOCK_MS;
	char buf[4096];
	pid_t pid;

	cr_assert_null(strchr(cmd, '\''), "rh_run_under_dpkg: no single quotes: %s", cmd);
	cr_assert_geq(fd, 0, "open /run/lock/rh-dpkg.lock: %s", strerror(errno));
	while (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		cr_assert(rh_now_ms() < deadline, "dpkg lock busy for %d ms", RH_LOCK_MS);
		rh_nap();
	}
	snprintf(buf, sizeof(buf), "dpkg --pre-invoke='%s' --configure -a", cmd);
	pid = rh_run(buf);
	close(fd);
	rh_assert_ok("dpkg hook");
	return pid;
}

/*
 * The lab tool (tests/integration/lab/rh_tool.c: a small netcat / miner /
 * scanner), compiled with gcc on first use into rh_tmpdir(), then copied to
 * rh_tmpdir()/name so that its comm (process.name) is name. Call it before
 * rh_start(): the compiler's own activity need not be seen by the agent.
 * Returns the copy's path (static ring of rh_path()).
 */
RH_API const char *rh_tool(const char *name)
{
	const char *dst;

	if (!rh_g.tool[0]) {
		char src[PATH_MAX];

		cr_assert_not_null(realpath(RH_TOOL_SRC, src), "%s: %s (run from the repo root)",
				   RH_TOOL_SRC, strerror(errno));
		snprintf(rh_g.tool, sizeof(rh_g.tool), "%s/.rh_tool", rh_tmpdir());
		rh_setup_sh("gcc -O1 -Wall -Wextra -Werror -o '%s' '%s'", rh_g.tool, src);
	}
	dst = rh_path("%s", name);
	rh_setup_sh("cp '%s' '%s' && chmod 0755 '%s'", rh_g.tool, dst, dst);
	return dst;
}

/* ---- the agent ---------------------------------------------------------- */

RH_API bool rh_agent_exited(struct rh_agent *a)
{
	int st;

	if (a->reaped)
		return true;
	if (a->pid > 0 && waitpid(a->pid, &st, WNOHANG) == a->pid) {
		a->status = st;
		a->reaped = true;
	}
	return a->reaped;
}

/*
 * Start the agent on the shipped packs (rules/, or $RH_RULES_DIR), an empty
 * config (defaults: every event class, no configured prefix filter; the
 * kernel filters are then the ones the agent derives from the rules, as in
 * production) and profile_json written to a temp file (NULL:
 * rules/profile/twin-profile.json).
 * The --local-dir holds only the harness's barrier rule (see the top).
 * Waits for "attached" on stderr; fails the test with stderr otherwise.
 * rh_start_with() writes config_text (docs/config.md) instead of the empty
 * config, e.g. "flow_flush_ms = 100\n" for tests of flow thresholds.
 */
RH_API void rh_start_with(struct rh_agent *a, const char *profile_json, const char *config_text)
{
	static const char barrier_rules[] =
		"[{\"rule\": \"" RH_BARRIER_RULE "\",\n"
		"  \"desc\": \"test harness synchronisation marker (rules_harness.h)\",\n"
		"  \"condition\": \"event.action = exec and process.name = " RH_BARRIER_NAME "\",\n"
		"  \"output\": \"barrier %process.args\", \"priority\": \"debug\", \"tags\": [\"test\"],\n"
		"  \"rate\": \"off\"}]\n";
	char bin[PATH_MAX], rules[PATH_MAX], tmpl[] = "/tmp/rh-agent.XXXXXX", true_bin[PATH_MAX];
	const char *ev = getenv("RH_EVENTS");
	int64_t deadline;
	bool known = false;

	if (geteuid() != 0)
		cr_skip_test("the agent needs root (euid %u)", (unsigned)geteuid());
	for (size_t i = 0; i < rh_g.nagents; i++)
		known = known || rh_g.agents[i] == a;
	if (known) { /* started again: retire the previous run first */
		rh_stop_q(a, true);
		for (size_t k = 0; k < a->n; k++)
			cJSON_Delete(a->lines[k]);
		free(a->lines);
		rh_rm_tree(a->dir);
	}
	memset(a, 0, sizeof(*a));
	a->events = ev && *ev && strcmp(ev, "0");
	cr_assert_not_null(realpath(RH_BIN, bin), "%s: %s; build it with 'make' and run from the repo root",
			   RH_BIN, strerror(errno));
	const char *rd = getenv("RH_RULES_DIR"); /* a scratch copy, when trying a fix */

	rd = rd && *rd ? rd : RH_RULES_DIR;
	cr_assert_not_null(realpath(rd, rules), "%s: %s", rd, strerror(errno));
	cr_assert_not_null(realpath("/bin/true", true_bin));
	cr_assert_not_null(mkdtemp(tmpl), "mkdtemp: %s", strerror(errno));
	cr_assert_not_null(realpath(tmpl, a->dir));
	chmod(a->dir, 0755);
	if (!known) {
		cr_assert_lt(rh_g.nagents, RH_MAX_AGENTS, "more than %d agents in one test",
			     RH_MAX_AGENTS);
		rh_g.agents[rh_g.nagents++] = a;
	}
	rh_atexit();

	snprintf(a->conf, sizeof(a->conf), "%s/twinguard.conf", a->dir);
	snprintf(a->local, sizeof(a->local), "%s/rules.d", a->dir);
	snprintf(a->out, sizeof(a->out), "%s/alerts.json", a->dir);
	snprintf(a->errf, sizeof(a->errf), "%s/stderr", a->dir);
	snprintf(a->barrier, sizeof(a->barrier), "%s/" RH_BARRIER_NAME, a->dir);
	snprintf(a->ctl, sizeof(a->ctl), "%s/ctl.sock", a->dir);
	{
		/* each agent gets its own control socket unless the test names one */
		char *conf = NULL;
		const char *text = config_text ? config_text : "";

		if (strstr(text, "control_socket"))
			rh_file_write(a->conf, text);
		else {
			cr_assert_gt(asprintf(&conf, "control_socket = %s\n%s", a->ctl, text), 0);
			rh_file_write(a->conf, conf);
			free(conf);
		}
	}
	cr_assert_eq(mkdir(a->local, 0755), 0, "mkdir %s: %s", a->local, strerror(errno));
	{
		char p[PATH_MAX + 32];

		snprintf(p, sizeof(p), "%s/zz-rh-barrier.json", a->local);
		rh_file_write(p, barrier_rules);
	}
	cr_assert_eq(symlink(true_bin, a->barrier), 0, "symlink %s: %s", a->barrier, strerror(errno));
	if (profile_json) {
		snprintf(a->profile, sizeof(a->profile), "%s/twin-profile.json", a->dir);
		rh_file_write(a->profile, profile_json);
	} else {
		cr_assert_not_null(realpath(RH_DEFAULT_PROFILE, a->profile), "%s: %s",
				   RH_DEFAULT_PROFILE, strerror(errno));
	}

	const char *argv[] = { bin, "run", "--config", a->conf, "--rules-dir", rules,
			       "--local-dir", a->local, "--profile", a->profile,
			       "--output", a->out, a->events ? "--events" : NULL, NULL };
	pid_t parent = getpid();

	fflush(NULL);
	a->pid = fork();
	cr_assert_geq(a->pid, 0, "fork: %s", strerror(errno));
	if (a->pid == 0) {
		int in = open("/dev/null", O_RDONLY | O_CLOEXEC);
		int o = open(a->errf, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

		if (in < 0 || o < 0 || dup2(in, 0) < 0 || dup2(o, 1) < 0 || dup2(o, 2) < 0)
			_exit(125);
		prctl(PR_SET_PDEATHSIG, SIGTERM); /* detaches cleanly if we die */
		if (getppid() != parent)
			_exit(125);
		execv(bin, (char *const *)argv);
		_exit(127);
	}

	deadline = rh_now_ms() + RH_DEADLINE_MS;
	for (;;) {
		bool gone = rh_agent_exited(a); /* before reading: nothing is lost */
		char *err = rh_file_read(a->errf);
		bool ok = strstr(err, "twinguard: attached ") != NULL;

		if (ok) {
			free(err);
			return;
		}
		cr_assert(!gone, "agent exited (status 0x%x) before attaching; stderr:\n%s", a->status,
			  err);
		cr_assert(rh_now_ms() < deadline, "agent not attached after %d ms; stderr:\n%s",
			  RH_DEADLINE_MS, err);
		free(err);
		rh_nap();
	}
}

RH_API void rh_start(struct rh_agent *a, const char *profile_json)
{
	rh_start_with(a, profile_json, "");
}

/* Read the complete lines added to the output since the last call. */
RH_API void rh_update(struct rh_agent *a)
{
	size_t len;
	char *text, *p, *nl;

	if (!a->out[0])
		return;
	text = rh_file_read_from(a->out, a->off, &len);
	p = text;
	while ((nl = strchr(p, '\n'))) {
		cJSON *j;

		*nl = 0;
		j = cJSON_Parse(p);
		if (!cJSON_IsObject(j)) {
			a->bad++;
			cJSON_Delete(j);
		} else {
			if (a->n == a->cap) {
				a->cap = a->cap ? a->cap * 2 : 256;
				a->lines = realloc(a->lines, a->cap * sizeof(*a->lines));
				cr_assert_not_null(a->lines);
			}
			a->lines[a->n++] = j;
		}
		p = nl + 1;
	}
	a->off += (size_t)(p - text);
	free(text);
}

/* SIGINT, reap within RH_DEADLINE_MS (SIGKILL past it), read the rest of
 * the output. Idempotent; the output file stays for rh_alerts(). Returns
 * false when the agent did not exit cleanly (0 on SIGINT). quiet: no
 * assertions (for cleanup). */
RH_API bool rh_stop_q(struct rh_agent *a, bool quiet)
{
	bool clean = true;

	if (a->pid <= 0)
		return true;
	if (!rh_agent_exited(a)) {
		kill(a->pid, SIGINT);
		int st = rh_reap_within(a->pid, RH_DEADLINE_MS);

		if (st == -1) {
			kill(a->pid, SIGKILL);
			waitpid(a->pid, &st, 0);
			clean = false;
		}
		a->status = st;
		a->reaped = true;
	}
	clean = clean && WIFEXITED(a->status) && WEXITSTATUS(a->status) == 0;
	rh_update(a);
	{
		/* "twinguard: stats {...}": lost records make any verdict unsure */
		char *err = rh_file_read(a->errf);
		const char *p = strstr(err, "twinguard: stats ");
		cJSON *j = p ? cJSON_Parse(p + strlen("twinguard: stats ")) : NULL;

		a->drops = -1;
		if (!j && p) {
			char *line = strndup(p + strlen("twinguard: stats "),
					     strcspn(p + strlen("twinguard: stats "), "\n"));

			j = cJSON_Parse(line);
			free(line);
		}
		if (j && !rh_jnum(j, "drops", &a->drops))
			a->drops = -1;
		if (!quiet && a->drops > 0)
			cr_log_warn("agent lost %.0f records (ring buffer full): alerts may be missing;"
				    " stats: %.*s",
				    a->drops, (int)strcspn(p, "\n"), p);
		cJSON_Delete(j);
		free(err);
	}
	if (!quiet)
		cr_expect(clean, "agent did not exit cleanly (status 0x%x); stderr:\n%s", a->status,
			  rh_file_read(a->errf));
	return clean;
}

RH_API void rh_stop(struct rh_agent *a)
{
	rh_stop_q(a, false);
}

RH_API bool rh__is_alert(const cJSON *j)
{
	const char *k = rh_jstr(j, "event.kind");

	return k && !strcmp(k, "alert");
}

/* The process of a line is pid, or pid is its parent or an ancestor. */
RH_API bool rh__in_tree(const cJSON *j, pid_t pid)
{
	double v;
	const cJSON *anc, *e;

	if (pid == 0)
		return true;
	if (rh_jnum(j, "process.pid", &v) && v == pid)
		return true;
	if (rh_jnum(j, "process.parent.pid", &v) && v == pid)
		return true;
	anc = rh_jget(j, "process.ancestors");
	cJSON_ArrayForEach(e, anc)
		if (rh_jnum(e, "pid", &v) && v == pid)
			return true;
	return false;
}

/* Run the marker and wait for its alert: afterwards every alert caused by
 * anything that finished before this call is in a->lines. No-op once the
 * agent was stopped (then everything was drained). */
RH_API void rh_sync(struct rh_agent *a)
{
	char tag[64];
	int64_t deadline;
	pid_t pid;
	int st;

	if (a->pid <= 0 || a->reaped) {
		rh_update(a);
		return;
	}
	/* Every agent sees every test's markers: the tag names this worker and
	 * agent, and the marker's pid must match too. */
	snprintf(tag, sizeof(tag), "rh-sync-%d-%d-%u", (int)getpid(), (int)a->pid, ++a->barrier_seq);
	fflush(NULL);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		execl(a->barrier, RH_BARRIER_NAME, tag, (char *)NULL);
		_exit(127);
	}
	st = rh_reap_within(pid, RH_DEADLINE_MS);
	cr_assert(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0, "barrier %s failed: 0x%x",
		  a->barrier, st);
	a->synced_gen = rh_g.gen;
	deadline = rh_now_ms() + RH_DEADLINE_MS;
	for (;;) {
		bool gone = rh_agent_exited(a);

		rh_update(a);
		for (size_t i = a->n; i-- > 0;) {
			const cJSON *j = a->lines[i], *args = rh_jget(j, "process.args");
			const char *rule = rh_jstr(j, "rule.name");
			double mpid = 0;

			if (rh__is_alert(j) && rule && !strcmp(rule, RH_BARRIER_RULE) &&
			    rh_jnum(j, "process.pid", &mpid) && mpid == pid &&
			    cJSON_GetArraySize(args) > 1 &&
			    cJSON_IsString(cJSON_GetArrayItem(args, 1)) &&
			    !strcmp(cJSON_GetArrayItem(args, 1)->valuestring, tag))
				return;
		}
		cr_assert(!gone, "agent exited (status 0x%x) before the barrier; stderr:\n%s",
			  a->status, rh_file_read(a->errf));
		cr_assert(rh_now_ms() < deadline,
			  "barrier alert '%s' not seen after %d ms (is the agent alive? stderr:\n%s)",
			  tag, RH_DEADLINE_MS, rh_file_read(a->errf));
		rh_nap();
	}
}

/* rh_sync() unless nothing was run with rh_run*() since the last one: the
 * rh_expect_* helpers use this. After activity of the worker itself (a
 * fork without rh_run, a syscall), call rh_sync() explicitly. */
RH_API void rh_sync_if_needed(struct rh_agent *a)
{
	if (a->pid <= 0 || a->reaped || a->barrier_seq == 0 || a->synced_gen != rh_g.gen)
		rh_sync(a);
	else
		rh_update(a);
}

/*
 * Alerts of rule rule_name (NULL: any rule but the barrier) whose triggering
 * process is pid or has pid as parent or ancestor (pid 0: any process),
 * among what the agent wrote so far (rh_sync() or rh_stop() first). When out
 * is not NULL, *out gets a malloc'd array of the matches (the caller frees
 * the array, not its elements, which live as long as the agent's output).
 */
RH_API size_t rh_alerts(struct rh_agent *a, const char *rule_name, pid_t pid, cJSON ***out)
{
	size_t n = 0;

	rh_update(a);
	if (out)
		*out = NULL;
	for (size_t i = 0; i < a->n; i++) {
		const cJSON *j = a->lines[i];
		const char *rule = rh_jstr(j, "rule.name");

		if (!rh__is_alert(j) || !rule || !rh__in_tree(j, pid))
			continue;
		if (rule_name ? strcmp(rule, rule_name) != 0 : !strcmp(rule, RH_BARRIER_RULE))
			continue;
		if (out) {
			*out = realloc(*out, (n + 1) * sizeof(**out));
			cr_assert_not_null(*out);
			(*out)[n] = a->lines[i];
		}
		n++;
	}
	return n;
}

/* Text listing the alerts (and, with RH_EVENTS=1, the events) of pid's
 * tree, for failure messages. The caller frees. */
RH_API char *rh_dump(struct rh_agent *a, pid_t pid)
{
	char *buf = NULL;
	size_t len = 0, na = 0, ne = 0;
	FILE *f = open_memstream(&buf, &len);

	cr_assert_not_null(f);
	for (size_t i = 0; i < a->n; i++) {
		const cJSON *j = a->lines[i];
		const char *rule = rh_jstr(j, "rule.name");
		double p = 0;

		if (!rh__in_tree(j, pid) || (rule && !strcmp(rule, RH_BARRIER_RULE)))
			continue;
		rh_jnum(j, "process.pid", &p);
		if (rh__is_alert(j)) {
			if (na++ < RH_DUMP_MAX)
				fprintf(f, "  alert [%s] pid %.0f: %s\n", rule, p,
					rh_s(rh_jstr(j, "message")));
		} else if (a->events && ne++ < 4 * RH_DUMP_MAX) {
			const char *path = rh_jstr(j, "file.path");
			const char *dip = rh_jstr(j, "destination.ip");
			double port = 0;

			rh_jnum(j, "destination.port", &port);
			fprintf(f, "  event %s pid %.0f %s%s%s", rh_s(rh_jstr(j, "event.action")), p,
				rh_s(rh_jstr(j, "process.executable")),
				path ? " file=" : "", path ? path : "");
			if (dip)
				fprintf(f, " dst=%s:%.0f", dip, port);
			if (rh_jstr(j, "twinguard.errno"))
				fprintf(f, " errno=%s", rh_jstr(j, "twinguard.errno"));
			if (!strcmp(rh_s(rh_jstr(j, "event.action")), "exec"))
				fprintf(f, " cmd=%s", rh_s(rh_jstr(j, "process.command_line")));
			fputc('\n', f);
		}
	}
	if (na > RH_DUMP_MAX)
		fprintf(f, "  ... %zu alerts in all\n", na);
	if (!na)
		fprintf(f, "  (no alert at all for pid %d and its descendants; %zu lines read)\n",
			(int)pid, a->n);
	if (!a->events)
		fprintf(f, "  (run with RH_EVENTS=1 to record and list the events too)\n");
	fclose(f);
	return buf;
}

/* Assert at least one alert of rule for pid's tree (rh_sync_if_needed() first when
 * the agent runs); returns the first one, or NULL after a (non-fatal)
 * failure that lists what was seen. */
RH_API const cJSON *rh__expect_alert(struct rh_agent *a, const char *rule, pid_t pid,
				     const char *file, int line)
{
	cJSON **v;
	const cJSON *first;
	size_t n;

	rh_sync_if_needed(a);
	n = rh_alerts(a, rule, pid, &v);
	if (!n) {
		char *d = rh_dump(a, pid);

		cr_expect_fail("%s:%d: no alert '%s' for pid %d (last command: %s); seen for that "
			       "process tree:\n%s",
			       file, line, rule, (int)pid, rh_g.last_cmd, d);
		free(d);
		return NULL;
	}
	first = v[0];
	free(v);
	return first;
}

RH_API size_t rh__expect_no_alert(struct rh_agent *a, const char *rule, pid_t pid,
				  const char *file, int line)
{
	cJSON **v;
	size_t n;

	rh_sync_if_needed(a);
	n = rh_alerts(a, rule, pid, &v);
	if (n) {
		char *d = rh_dump(a, pid);
		const cJSON *f = v[0];
		double p = 0, pp = 0;

		rh_jnum(f, "process.pid", &p);
		rh_jnum(f, "process.parent.pid", &pp);
		cr_expect_fail("%s:%d: unexpected alert '%s' (%zu) for pid %d (last command: %s); "
			       "first one: action=%s pid=%.0f exe=%s cmd=%s parent=%.0f %s "
			       "file=%s dst=%s\nseen for that process tree:\n%s",
			       file, line, rule, n, (int)pid, rh_g.last_cmd,
			       rh_s(rh_jstr(f, "event.action")), p, rh_s(rh_jstr(f, "process.executable")),
			       rh_s(rh_jstr(f, "process.command_line")), pp,
			       rh_s(rh_jstr(f, "process.parent.executable")), rh_s(rh_jstr(f, "file.path")),
			       rh_s(rh_jstr(f, "destination.ip")), d);
		free(d);
	}
	free(v);
	return n;
}

/* The first alert of rule for pid's tree whose string field equals value
 * (e.g. "process.executable"), NULL when none (no assertion). */
RH_API const cJSON *rh_alert_where(struct rh_agent *a, const char *rule, pid_t pid,
				   const char *field, const char *value)
{
	cJSON **v;
	const cJSON *hit = NULL;
	size_t n = rh_alerts(a, rule, pid, &v);

	for (size_t i = 0; i < n && !hit; i++) {
		const char *s = rh_jstr(v[i], field);

		if (s && !strcmp(s, value))
			hit = v[i];
	}
	free(v);
	return hit;
}

/* rh_expect_alert narrowed to alerts whose field equals value. */
RH_API const cJSON *rh__expect_alert_where(struct rh_agent *a, const char *rule, pid_t pid,
					   const char *field, const char *value, const char *file,
					   int line)
{
	const cJSON *hit;

	rh_sync_if_needed(a);
	hit = rh_alert_where(a, rule, pid, field, value);
	if (!hit) {
		char *d = rh_dump(a, pid);

		cr_expect_fail("%s:%d: no alert '%s' with %s = '%s' for pid %d (last command: %s); "
			       "seen for that process tree:\n%s",
			       file, line, rule, field, value, (int)pid, rh_g.last_cmd, d);
		free(d);
	}
	return hit;
}

#define rh_expect_alert_where(a, rule, pid, field, value) \
	rh__expect_alert_where((a), (rule), (pid), (field), (value), __FILE__, __LINE__)
#define rh_expect_alert(a, rule, pid) rh__expect_alert((a), (rule), (pid), __FILE__, __LINE__)
/* For alerts from asynchronous sources the barrier does not order (flow
 * lines, drained every flow_flush_ms): poll until an alert of rule for
 * pid's tree is there, up to ms. Returns it, or NULL after a non-fatal
 * failure listing what was seen. */
RH_API const cJSON *rh__wait_alert(struct rh_agent *a, const char *rule, pid_t pid, int ms,
				   const char *file, int line)
{
	int64_t deadline = rh_now_ms() + ms;

	for (;;) {
		cJSON **v;
		bool gone = rh_agent_exited(a);
		size_t n = rh_alerts(a, rule, pid, &v);

		if (n) {
			const cJSON *first = v[0];

			free(v);
			return first;
		}
		if (gone || rh_now_ms() >= deadline) {
			char *d = rh_dump(a, pid);

			cr_expect_fail("%s:%d: no alert '%s' for pid %d within %d ms%s; seen for that "
				       "process tree:\n%s",
				       file, line, rule, (int)pid, ms, gone ? " (agent exited)" : "", d);
			free(d);
			return NULL;
		}
		rh_nap();
	}
}

#define rh_wait_alert(a, rule, pid, ms) rh__wait_alert((a), (rule), (pid), (ms), __FILE__, __LINE__)
#define rh_expect_no_alert(a, rule, pid) rh__expect_no_alert((a), (rule), (pid), __FILE__, __LINE__)

/* Field checks on an alert that may be NULL (after a failed expect). */
#define rh_expect_str(al, field, want)                                                        \
	do {                                                                                   \
		const cJSON *rh__al = (al);                                                    \
		const char *rh__v = rh__al ? rh_jstr(rh__al, field) : NULL;                    \
		if (rh__al)                                                                    \
			cr_expect(rh__v && !strcmp(rh__v, (want)), "%s: %s is '%s', want '%s'", \
				  rh_s(rh_jstr(rh__al, "rule.name")), field, rh_s(rh__v), (want)); \
	} while (0)

#define rh_expect_contains(al, field, needle)                                                 \
	do {                                                                                   \
		const cJSON *rh__al = (al);                                                    \
		const char *rh__v = rh__al ? rh_jstr(rh__al, field) : NULL;                    \
		if (rh__al)                                                                    \
			cr_expect(rh__v && strstr(rh__v, (needle)),                            \
				  "%s: %s is '%s', want it to contain '%s'",                   \
				  rh_s(rh_jstr(rh__al, "rule.name")), field, rh_s(rh__v), (needle)); \
	} while (0)

#define rh_expect_num(al, field, want)                                                        \
	do {                                                                                   \
		const cJSON *rh__al = (al);                                                    \
		double rh__v = -1;                                                             \
		if (rh__al)                                                                    \
			cr_expect(rh_jnum(rh__al, field, &rh__v) && rh__v == (double)(want),   \
				  "%s: %s is %g, want %g", rh_s(rh_jstr(rh__al, "rule.name")), \
				  field, rh__v, (double)(want));                               \
	} while (0)

/* The common alert fields every alert line must carry. */
#define rh_expect_alert_shape(al, rule)                                                       \
	do {                                                                                   \
		const cJSON *rh__a2 = (al);                                                    \
		rh_expect_str(rh__a2, "event.kind", "alert");                                  \
		rh_expect_str(rh__a2, "rule.name", (rule));                                    \
		if (rh__a2)                                                                    \
			cr_expect(rh_jstr(rh__a2, "message") && *rh_jstr(rh__a2, "message"),   \
				  "%s: empty message", (rule));                                \
	} while (0)

/* ---- network namespace with a TCP sink -------------------------------- */

/*
 * The sink: a fork of the worker that entered the namespace. Per accepted
 * connection: when the peer's first bytes are an HTTP request, answer
 * 200 with RH_SINK_BODY; otherwise (a shell prompt, a miner's login, or
 * nothing within 300 ms) send "exit\n" (which ends a reverse shell). Then
 * shut the write side and close once the peer closes or 2 s passed. Lives
 * at most 300 s.
 */
#define RH_SINK_MAXC 1024
static __attribute__((unused)) void rh__sink_main(int ready_fd, const char *ns_path, const int *ports)
{
	struct pollfd pf[64 + RH_SINK_MAXC];
	struct {
		int fd;
		int64_t t0;
		bool answered;
	} c[RH_SINK_MAXC];
	int nl = 0, nc = 0, nsfd = open(ns_path, O_RDONLY | O_CLOEXEC);
	int64_t end = rh_now_ms() + 300000;

	if (nsfd < 0 || setns(nsfd, CLONE_NEWNET))
		_exit(2);
	signal(SIGPIPE, SIG_IGN);
	for (; ports && ports[nl] && nl < 64; nl++) {
		struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(ports[nl]) };
		int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

		sa.sin_addr.s_addr = htonl(INADDR_ANY);
		if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
		    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 1024))
			_exit(3);
		pf[nl] = (struct pollfd){ .fd = fd, .events = POLLIN };
	}
	if (write(ready_fd, "R", 1) != 1)
		_exit(4);
	close(ready_fd);
	while (rh_now_ms() < end) {
		int64_t now;

		for (int i = 0; i < nc; i++)
			pf[nl + i] = (struct pollfd){ .fd = c[i].fd, .events = POLLIN };
		if (poll(pf, (nfds_t)(nl + nc), 50) < 0 && errno != EINTR)
			_exit(5);
		now = rh_now_ms();
		for (int i = 0; i < nl; i++) {
			if (!(pf[i].revents & POLLIN))
				continue;
			for (int k = 0; k < 256; k++) {
				int fd = accept4(pf[i].fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

				if (fd < 0)
					break;
				if (nc == RH_SINK_MAXC) {
					close(fd);
					continue;
				}
				c[nc].fd = fd;
				c[nc].t0 = now;
				c[nc++].answered = false;
			}
		}
		for (int i = 0; i < nc; i++) {
			char buf[512];
			bool drop = false;
			/* a moved entry's slot is stale until the next poll */
			short rev = pf[nl + i].fd == c[i].fd ? pf[nl + i].revents : 0;
			ssize_t r = 0;

			if (rev & (POLLIN | POLLHUP | POLLERR)) {
				r = recv(c[i].fd, buf, sizeof(buf), 0);
				if (r < 0 && errno != EAGAIN)
					drop = true;
				if (r == 0)
					drop = true; /* peer closed */
			}
			if (!drop && !c[i].answered && (r > 0 || now - c[i].t0 > 300)) {
				if (r >= 4 && (!memcmp(buf, "GET ", 4) || !memcmp(buf, "HEAD", 4))) {
					char resp[256];
					int n = snprintf(resp, sizeof(resp),
							 "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n"
							 "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
							 strlen(RH_SINK_BODY), RH_SINK_BODY);

					(void)!send(c[i].fd, resp, (size_t)n, MSG_NOSIGNAL);
					shutdown(c[i].fd, SHUT_WR);
				} else {
					(void)!send(c[i].fd, "exit\n", 5, MSG_NOSIGNAL);
					shutdown(c[i].fd, SHUT_WR);
				}
				c[i].answered = true;
			}
			if (drop || now - c[i].t0 > 2000) {
				close(c[i].fd);
				c[i--] = c[--nc];
			}
		}
	}
	_exit(0);
}

/* Quiet shell command for set-up/teardown; returns its exit code and
 * stores its output in *out when out is not NULL (caller frees). */
RH_API int rh_sh_q(char **out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
RH_API int rh_sh_q(char **out, const char *fmt, ...)
{
	char cmd[4096], *buf = NULL;
	size_t len = 0;
	va_list ap;
	FILE *p, *m;
	int st, ch;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd) - 8, fmt, ap);
	va_end(ap);
	strcat(cmd, " 2>&1");
	fflush(NULL);
	p = popen(cmd, "re");
	if (!p)
		return -1;
	m = open_memstream(&buf, &len);
	while ((ch = fgetc(p)) != EOF)
		if (m)
			fputc(ch, m);
	st = pclose(p);
	if (m)
		fclose(m);
	if (out)
		*out = buf ? buf : strdup("");
	else
		free(buf);
	return st != -1 && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

RH_API void rh_netns_down(void)
{
	if (rh_g.sink > 0) {
		kill(rh_g.sink, SIGKILL);
		waitpid(rh_g.sink, NULL, 0);
		rh_g.sink = 0;
	}
	if (rh_g.ns[0]) {
		rh_sh_q(NULL, "ip netns del %s", rh_g.ns); /* takes the veth pair with it */
		rh_sh_q(NULL, "ip link del %s", rh_g.veth_h); /* normally gone already */
		rh_g.ns[0] = 0;
	}
	if (rh_g.lock_fd > 0) {
		close(rh_g.lock_fd); /* releases the flock */
		rh_g.lock_fd = 0;
	}
}

/*
 * Create netns rhtest<pid> with a veth pair, RH_NS_HOST/24 on the host side
 * and RH_NS_PEER/24 inside, and a sink listening on ports (0-terminated,
 * NULL = none) of RH_NS_PEER. Addresses are fixed, so namespaces of tests
 * running in parallel (this binary's or another's) are serialised by an
 * flock on RH_NS_LOCK, held until rh_netns_down() (or the worker's death);
 * a namespace rhtest* found while holding the lock is a dead test's and is
 * deleted. Returns the namespace's name.
 */
RH_API const char *rh_netns_up(const int *ports)
{
	char *out = NULL, nspath[64];
	int64_t deadline = rh_now_ms() + RH_LOCK_MS;
	int pfd[2];
	pid_t parent = getpid();

	cr_assert_eq(rh_g.ns[0], 0, "rh_netns_up called twice");
	rh_atexit();
	rh_g.lock_fd = open(RH_NS_LOCK, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	cr_assert_gt(rh_g.lock_fd, 0, "open %s: %s", RH_NS_LOCK, strerror(errno));
	while (flock(rh_g.lock_fd, LOCK_EX | LOCK_NB) != 0) {
		cr_assert(errno == EWOULDBLOCK || errno == EINTR, "flock: %s", strerror(errno));
		cr_assert(rh_now_ms() < deadline, "%s still locked after %d ms", RH_NS_LOCK,
			  RH_LOCK_MS);
		rh_nap();
	}
	/* stale namespaces of dead tests */
	if (rh_sh_q(&out, "ip netns list") == 0) {
		char *save = NULL;

		for (char *l = strtok_r(out, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
			char name[64];

			if (sscanf(l, "%63s", name) == 1 && !strncmp(name, "rhtest", 6))
				rh_sh_q(NULL, "ip netns del %s", name);
		}
	}
	free(out);
	snprintf(rh_g.ns, sizeof(rh_g.ns), "rhtest%d", (int)getpid());
	snprintf(rh_g.veth_h, sizeof(rh_g.veth_h), "rhh%d", (int)getpid() % 10000000);
	snprintf(rh_g.veth_n, sizeof(rh_g.veth_n), "rhn%d", (int)getpid() % 10000000);
	rh_sh_q(NULL, "ip link del %s", rh_g.veth_h);
	int rc = rh_sh_q(&out,
			 "set -e; ip netns add %1$s; "
			 "ip link add %2$s type veth peer name %3$s netns %1$s; "
			 "ip addr add " RH_NS_HOST "/24 dev %2$s; ip link set %2$s up; "
			 "ip -n %1$s addr add " RH_NS_PEER "/24 dev %3$s; "
			 "ip -n %1$s link set %3$s up; ip -n %1$s link set lo up",
			 rh_g.ns, rh_g.veth_h, rh_g.veth_n);

	cr_assert_eq(rc, 0, "setting up netns %s failed (%d):\n%s", rh_g.ns, rc, out);
	free(out);
	if (!ports)
		return rh_g.ns;

	snprintf(nspath, sizeof(nspath), "/run/netns/%s", rh_g.ns);
	cr_assert_eq(pipe2(pfd, O_CLOEXEC), 0);
	fflush(NULL);
	rh_g.sink = fork();
	cr_assert_geq(rh_g.sink, 0);
	if (rh_g.sink == 0) {
		close(pfd[0]);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(1);
		rh__sink_main(pfd[1], nspath, ports);
		_exit(0);
	}
	close(pfd[1]);
	{
		struct pollfd p = { .fd = pfd[0], .events = POLLIN };
		char c = 0;
		int r = poll(&p, 1, RH_DEADLINE_MS);

		cr_assert(r == 1 && read(pfd[0], &c, 1) == 1 && c == 'R',
			  "sink in %s did not start (poll %d)", rh_g.ns, r);
		close(pfd[0]);
	}
	return rh_g.ns;
}

/* ---- cleanup ------------------------------------------------------------ */

/* Idempotent; the suite's .fini and atexit. Never asserts. RH_KEEP=1 in
 * the environment keeps the agents' directories (output, stderr). */
RH_API void rh_cleanup(void)
{
	const char *keep = getenv("RH_KEEP");

	for (size_t i = 0; i < rh_g.nagents; i++) {
		struct rh_agent *a = rh_g.agents[i];

		rh_stop_q(a, true);
		for (size_t k = 0; k < a->n; k++)
			cJSON_Delete(a->lines[k]);
		free(a->lines);
		a->lines = NULL;
		a->n = a->cap = 0;
		if (keep && *keep && strcmp(keep, "0"))
			fprintf(stderr, "rules_harness: kept %s\n", a->dir);
		else
			rh_rm_tree(a->dir);
	}
	rh_g.nagents = 0;
	rh_netns_down();
	while (rh_g.ndefer_sh) {
		char *c = rh_g.defer_sh[--rh_g.ndefer_sh];

		rh_sh_q(NULL, "%s", c);
		free(c);
	}
	while (rh_g.ndefer_rm) {
		char *p = rh_g.defer_rm[--rh_g.ndefer_rm];

		rh_rm_tree(p);
		free(p);
	}
	if (rh_g.tmpdir[0]) {
		rh_rm_tree(rh_g.tmpdir);
		rh_g.tmpdir[0] = 0;
	}
	rh_g.tool[0] = 0;
}

/*
 * Every rule of the pack has a test in this file, and every tested rule
 * exists. The names come from the real loader, not from a second JSON
 * reader: what the agent loads is what the tests cover.
 */
RH_API void rh_expect_pack_covered(const char *pack, const char *const *covered, size_t n,
				   const char *test_file)
{
	const char *files[] = { pack };
	struct tg_ruleset rs;
	struct tg_diag d;
	bool *seen = calloc(n ? n : 1, sizeof(*seen));

	cr_assert_not_null(seen);
	memset(&rs, 0, sizeof(rs));
	diag_init(&d);
	cr_assert_eq(rules_load(&rs, files, 1, NULL, &d), 0, "%s does not load", pack);
	for (size_t r = 0; r < rs.n_rules; r++) {
		bool found = false;

		for (size_t i = 0; i < n; i++)
			if (!strcmp(rs.rules[r].name, covered[i]))
				found = seen[i] = true;
		cr_expect(found, "rule '%s' of %s has no test in %s", rs.rules[r].name, pack, test_file);
	}
	for (size_t i = 0; i < n; i++)
		cr_expect(seen[i], "tested rule '%s' is not in %s", covered[i], pack);
	cr_expect_eq(rs.n_rules, n, "%s has %zu rules, %s tests %zu", pack, rs.n_rules, test_file, n);
	rules_free(&rs);
	diag_free(&d);
	free(seen);
}

#endif /* TG_RULES_HARNESS_H */
