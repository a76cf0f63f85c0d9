// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The real binary, .output/twinguard, as an operator runs it: start-up
 * errors and their exit codes, the attach/detach lifecycle, the JSON event
 * stream, SIGHUP reload and drop reporting.
 *
 *   test worker (this process; the agent does not ignore it)
 *     |-- agent = fork + exec .output/twinguard run ... (stdout, stderr to
 *     |           files in a temp dir; PDEATHSIG so it cannot outlive us)
 *     |     wait for "twinguard: attached N programs" on its stderr
 *     |-- child = fork (+ exec): the behaviour under test
 *     `-- signal the agent, reap it with a deadline, parse what it wrote
 *
 * Every wait is bounded (DEADLINE_MS): children are reaped through a pidfd
 * and files are polled in short slices until they hold the expected line.
 * The fixture's fini kills and reaps whatever is still running.
 */
#include <bpf/bpf.h>
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "helpers.h"
#include "preflight.h"

#define TG_BIN ".output/twinguard"   /* tests run from the repo root */
#define DEADLINE_MS 10000            /* every wait is bounded by this */
#define GONE_MS 5000                 /* programs freed after the agent exits */
#define SLICE_MS 20                  /* poll slice while waiting on a file */
#define NOBODY 65534
#define FLOOD 20000                  /* opens while the agent is stopped */
#define MAX_PROGS 4096

#if defined(__x86_64__)
#define TEST_AUDIT_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define TEST_AUDIT_ARCH AUDIT_ARCH_AARCH64
#else
#error "add the AUDIT_ARCH_* of this architecture"
#endif

/* Exit codes of a forked child whose setup failed before exec. */
enum child_fail {
	CHILD_REDIRECT = 100,
	CHILD_CREDS = 101,
	CHILD_SECCOMP = 102,
	CHILD_EXEC = 103,
	CHILD_CHDIR = 104,
	CHILD_OPEN = 105,
};

enum spawn_mode {
	SPAWN_ROOT,     /* as we are */
	SPAWN_NOBODY,   /* setgroups/setgid/setuid 65534 first */
	SPAWN_NO_BPF,   /* seccomp: bpf() fails with EPERM */
};

static char bin[PATH_MAX];
static char *dir;
static char conf[PATH_MAX], out[PATH_MAX], errf[PATH_MAX], outf[PATH_MAX];
static pid_t agent = -1;
static int agent_status;
static bool agent_reaped;

/* ---- time, files ---------------------------------------------------- */

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void nap(void)
{
	struct timespec ts = { 0, SLICE_MS * 1000000L };

	nanosleep(&ts, NULL);
}

/* Whole file, NUL-terminated; "" when it does not exist. *len may be NULL. */
static char *file_read(const char *path, size_t *len)
{
	FILE *f = fopen(path, "re");
	char *buf = NULL;
	size_t n = 0, cap = 0;

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

static void file_write(const char *path, const char *text)
{
	FILE *f = fopen(path, "we");

	cr_assert_not_null(f, "fopen %s: %s", path, strerror(errno));
	cr_assert_eq(fputs(text, f) == EOF, 0);
	cr_assert_eq(fclose(f), 0, "write %s: %s", path, strerror(errno));
}

static size_t count_lines(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

/* ---- the agent as a child process ---------------------------------- */

static void install_no_bpf_filter(void)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, TEST_AUDIT_ARCH, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_bpf, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA)),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { .len = sizeof(f) / sizeof(f[0]), .filter = f };

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) ||
	    syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog))
		_exit(CHILD_SECCOMP);
}

/* Fork and exec the binary with stdout/stderr in outf/errf. */
static pid_t spawn(enum spawn_mode mode, const char *const argv[])
{
	pid_t parent = getpid();
	pid_t pid;

	fflush(NULL);
	pid = fork();
	cr_assert_geq(pid, 0, "fork: %s", strerror(errno));
	if (pid)
		return pid;
	int o = open(outf, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	int e = open(errf, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	if (o < 0 || e < 0 || dup2(o, 1) < 0 || dup2(e, 2) < 0)
		_exit(CHILD_REDIRECT);
	if (mode == SPAWN_NOBODY &&
	    (setgroups(0, NULL) || setgid(NOBODY) || setuid(NOBODY)))
		_exit(CHILD_CREDS);
	/* after the uid change, which clears it */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(CHILD_EXEC);
	if (mode == SPAWN_NO_BPF)
		install_no_bpf_filter();
	execv(bin, (char *const *)argv);
	_exit(CHILD_EXEC);
}

/* Reap pid within ms. Returns the wait status, or -1 on timeout (the child
 * is then still running). */
static int reap_within(pid_t pid, int ms)
{
	int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	int status = -1;

	cr_assert_geq(pidfd, 0, "pidfd_open %d: %s", pid, strerror(errno));
	struct pollfd pfd = { .fd = pidfd, .events = POLLIN };
	int64_t deadline = now_ms() + ms;
	int r;

	do {
		int64_t left = deadline - now_ms();

		r = poll(&pfd, 1, left > 0 ? (int)left : 0);
	} while (r < 0 && errno == EINTR);
	close(pidfd);
	if (r <= 0)
		return -1;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return status;
}

static void agent_start(enum spawn_mode mode, const char *const argv[])
{
	agent = spawn(mode, argv);
	agent_reaped = false;
}

/* true once the agent exited (and was reaped; agent_status is set). */
static bool agent_exited(void)
{
	int st;

	if (agent_reaped)
		return true;
	if (agent > 0 && waitpid(agent, &st, WNOHANG) == agent) {
		agent_status = st;
		agent_reaped = true;
	}
	return agent_reaped;
}

/* Wait for the agent to exit on its own; returns its exit code. */
static int agent_wait_exit(void)
{
	if (!agent_reaped) {
		int st = reap_within(agent, DEADLINE_MS);

		cr_assert_neq(st, -1, "agent %d still running after %d ms", agent, DEADLINE_MS);
		agent_status = st;
		agent_reaped = true;
	}
	cr_assert(WIFEXITED(agent_status), "agent ended by signal %d",
		  WIFSIGNALED(agent_status) ? WTERMSIG(agent_status) : -1);
	return WEXITSTATUS(agent_status);
}

static int agent_stop(int sig)
{
	cr_assert(!agent_exited(), "agent exited early (status 0x%x); stderr:\n%s",
		  agent_status, file_read(errf, NULL));
	cr_assert_eq(kill(agent, sig), 0, "kill: %s", strerror(errno));
	return agent_wait_exit();
}

/* Run the binary to completion; returns the exit code, stderr in *err. */
static int run_to_exit(enum spawn_mode mode, const char *const argv[], char **err)
{
	int code;

	agent_start(mode, argv);
	code = agent_wait_exit();
	cr_assert(code < CHILD_REDIRECT || code > CHILD_OPEN,
		  "child setup failed before exec (exit %d)", code);
	*err = file_read(errf, NULL);
	return code;
}

/* Poll path until it contains needle; fails the test at the deadline or
 * when the agent exited first. Returns the file's text (caller frees). */
static char *wait_for_text(const char *path, const char *needle)
{
	int64_t deadline = now_ms() + DEADLINE_MS;

	for (;;) {
		bool gone = agent_exited(); /* before reading: nothing is lost */
		char *text = file_read(path, NULL);

		if (strstr(text, needle))
			return text;
		cr_assert(!gone, "agent exited (status 0x%x) before '%s' appeared in %s; stderr:\n%s",
			  agent_status, needle, path, file_read(errf, NULL));
		cr_assert(now_ms() < deadline, "'%s' not in %s after %d ms; it holds:\n%s", needle,
			  path, DEADLINE_MS, text);
		free(text);
		nap();
	}
}

/* Waits for the attach line and returns N of "attached N programs". */
static unsigned wait_attached(void)
{
	char *text = wait_for_text(errf, "twinguard: attached ");
	unsigned n = 0;
	double ms = -1;

	cr_assert_eq(sscanf(strstr(text, "twinguard: attached "),
			    "twinguard: attached %u programs in %lf ms", &n, &ms), 2,
		     "attach line malformed:\n%s", text);
	cr_assert_gt(n, 0);
	cr_assert_geq(ms, 0);
	free(text);
	return n;
}

static void agent_run_events(void)
{
	const char *argv[] = { bin, "run", "--config", conf, "--events", "--output", out, NULL };

	agent_start(SPAWN_ROOT, argv);
}

/* ---- JSON --------------------------------------------------------- */

/* o["a"]["b"]... for "a.b..."; NULL when any step is missing. */
static const cJSON *jget(const cJSON *o, const char *dotted)
{
	char key[128];
	const char *p = dotted;

	while (o && *p) {
		size_t n = strcspn(p, ".");

		cr_assert_lt(n, sizeof(key));
		memcpy(key, p, n);
		key[n] = 0;
		o = cJSON_GetObjectItemCaseSensitive(o, key);
		p += n + (p[n] == '.');
	}
	return o;
}

/* Element i of the array at "a.b..."; NULL when absent. */
static const cJSON *jitem(const cJSON *o, const char *dotted, int i)
{
	const cJSON *a = jget(o, dotted);

	return cJSON_IsArray(a) ? cJSON_GetArrayItem(a, i) : NULL;
}

/* jget(o, "") is o itself: jstr_is(jitem(...), "", want) tests an element. */
static bool jnum(const cJSON *o, const char *dotted, double *v)
{
	const cJSON *j = jget(o, dotted);

	if (!cJSON_IsNumber(j))
		return false;
	*v = j->valuedouble;
	return true;
}

static bool jnum_is(const cJSON *o, const char *dotted, double want)
{
	double v;

	return jnum(o, dotted, &v) && v == want;
}

static const char *jstr(const cJSON *o, const char *dotted)
{
	const cJSON *j = jget(o, dotted);

	return cJSON_IsString(j) ? j->valuestring : NULL;
}

static bool jstr_is(const cJSON *o, const char *dotted, const char *want)
{
	const char *s = jstr(o, dotted);

	return s && !strcmp(s, want);
}

/* The event stream, parsed incrementally: only complete lines, since a
 * full 64 KiB stdio buffer may be written out mid-line. */
struct stream {
	const char *path;
	size_t off;
	cJSON **ev;
	size_t n, cap;
	size_t bad;            /* lines that did not parse */
	char first_bad[256];
};

static struct stream st;

static void stream_reset(const char *path)
{
	memset(&st, 0, sizeof(st));
	st.path = path;
}

static void stream_free(void)
{
	for (size_t i = 0; i < st.n; i++)
		cJSON_Delete(st.ev[i]);
	free(st.ev);
	memset(&st, 0, sizeof(st));
}

static void stream_update(void)
{
	size_t len;
	char *text = file_read(st.path, &len);
	char *p = text + (st.off <= len ? st.off : len);
	char *nl;

	while ((nl = strchr(p, '\n'))) {
		*nl = 0;
		cJSON *j = cJSON_Parse(p);

		if (!cJSON_IsObject(j)) {
			if (!st.bad++)
				snprintf(st.first_bad, sizeof(st.first_bad), "%s", p);
			cJSON_Delete(j);
		} else {
			if (st.n == st.cap) {
				st.cap = st.cap ? st.cap * 2 : 1024;
				st.ev = realloc(st.ev, st.cap * sizeof(*st.ev));
				cr_assert_not_null(st.ev);
			}
			st.ev[st.n++] = j;
		}
		p = nl + 1;
	}
	st.off = (size_t)(p - text);
	free(text);
}

typedef bool (*ev_pred)(const cJSON *ev, const void *arg);

static const cJSON *stream_find(ev_pred pred, const void *arg)
{
	for (size_t i = 0; i < st.n; i++)
		if (pred(st.ev[i], arg))
			return st.ev[i];
	return NULL;
}

static size_t stream_count(ev_pred pred, const void *arg)
{
	size_t n = 0;

	for (size_t i = 0; i < st.n; i++)
		n += pred(st.ev[i], arg);
	return n;
}

/* Poll the output until an event matches; NULL at the deadline. */
static const cJSON *stream_wait(ev_pred pred, const void *arg)
{
	int64_t deadline = now_ms() + DEADLINE_MS;

	for (;;) {
		bool gone = agent_exited();
		const cJSON *ev;

		stream_update();
		ev = stream_find(pred, arg);
		if (ev || gone || now_ms() >= deadline)
			return ev;
		nap();
	}
}

/* event.action == action && process.pid == pid (pid 0: any) */
struct ev_key {
	const char *action;
	pid_t pid;
	const char *path;      /* file.path, when set */
	pid_t parent;          /* process.parent.pid, when > 0 */
	pid_t child;           /* twinguard.child.pid, when > 0 */
};

static bool ev_is(const cJSON *ev, const void *arg)
{
	const struct ev_key *k = arg;

	return jstr_is(ev, "event.kind", "event") && jstr_is(ev, "event.action", k->action) &&
	       (!k->pid || jnum_is(ev, "process.pid", k->pid)) &&
	       (!k->path || jstr_is(ev, "file.path", k->path)) &&
	       (k->parent <= 0 || jnum_is(ev, "process.parent.pid", k->parent)) &&
	       (k->child <= 0 || jnum_is(ev, "twinguard.child.pid", k->child));
}

static bool ev_stats(const cJSON *ev, const void *arg)
{
	(void)arg;
	return jstr_is(ev, "event.kind", "metric") && jstr_is(ev, "event.action", "agent-stats");
}

/* The "twinguard: stats {...}" line of stderr, parsed; every documented
 * counter must be a number. */
static cJSON *stats_line(const char *err)
{
	static const char *const keys[] = {
		"events", "drops", "drop_bytes", "flow_drops", "filtered", "path_truncated",
		"tail_call_failures", "user_filtered", "invalid_records", "output_lines",
		"output_errors", "proc_entries", "proc_evictions",
	};
	const char *p = strstr(err, "twinguard: stats ");
	char *line;
	cJSON *j;

	cr_assert_not_null(p, "no 'twinguard: stats' line on stderr:\n%s", err);
	p += strlen("twinguard: stats ");
	line = strndup(p, strcspn(p, "\n"));
	j = cJSON_Parse(line);
	cr_assert(cJSON_IsObject(j), "stats line is not a JSON object: %s", line);
	free(line);
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		double v;

		cr_assert(jnum(j, keys[i], &v), "stats has no numeric '%s'", keys[i]);
		cr_assert_geq(v, 0, "stats.%s = %g", keys[i], v);
	}
	return j;
}

/* ---- BPF programs --------------------------------------------------- */

static bool prog_name(uint32_t id, char name[BPF_OBJ_NAME_LEN])
{
	struct bpf_prog_info info;
	uint32_t len = sizeof(info);
	int fd = bpf_prog_get_fd_by_id(id);
	bool ok;

	if (fd < 0)
		return false;
	memset(&info, 0, sizeof(info));
	ok = bpf_obj_get_info_by_fd(fd, &info, &len) == 0;
	close(fd);
	if (ok)
		memcpy(name, info.name, BPF_OBJ_NAME_LEN);
	return ok;
}

static bool is_tg(uint32_t id)
{
	char name[BPF_OBJ_NAME_LEN] = "";

	return prog_name(id, name) && !strncmp(name, "tg_", 3);
}

static bool prog_exists(uint32_t id)
{
	int fd = bpf_prog_get_fd_by_id(id);

	if (fd < 0)
		return false;
	close(fd);
	return true;
}

/* Every loaded program named tg_*, whoever owns it (other tests may be
 * running their own probes or agents). */
static size_t tg_progs_loaded(uint32_t *ids, size_t max)
{
	uint32_t id = 0;
	size_t n = 0;

	while (bpf_prog_get_next_id(id, &id) == 0)
		if (is_tg(id) && n < max)
			ids[n++] = id;
	return n;
}

/* tg_* programs the agent holds: the prog_id of its program and link fds. */
static size_t tg_progs_held(pid_t pid, uint32_t *ids, size_t max)
{
	char path[64];
	DIR *d;
	struct dirent *de;
	size_t n = 0;

	snprintf(path, sizeof(path), "/proc/%d/fdinfo", pid);
	d = opendir(path);
	cr_assert_not_null(d, "%s: %s", path, strerror(errno));
	while ((de = readdir(d))) {
		char fpath[PATH_MAX];
		char *text, *p;
		unsigned long id;

		if (de->d_name[0] == '.')
			continue;
		snprintf(fpath, sizeof(fpath), "%s/%s", path, de->d_name);
		text = file_read(fpath, NULL);
		p = strstr(text, "prog_id:");
		if (p && sscanf(p, "prog_id: %lu", &id) == 1 && is_tg((uint32_t)id)) {
			bool dup = false;

			for (size_t i = 0; i < n; i++)
				dup |= ids[i] == id;
			if (!dup && n < max)
				ids[n++] = (uint32_t)id;
		}
		free(text);
	}
	closedir(d);
	return n;
}

static bool id_in(uint32_t id, const uint32_t *ids, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (ids[i] == id)
			return true;
	return false;
}

/* ---- processes, ids ------------------------------------------------- */

/* Field 22 of /proc/<pid>/stat: start time in clock ticks since boot. */
static unsigned long long start_ticks(pid_t pid)
{
	char path[64], *text, *p;
	unsigned long long v = 0;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	text = file_read(path, NULL);
	p = strrchr(text, ')');
	cr_assert_not_null(p, "%s: %s", path, text);
	p += 2; /* field 3 */
	for (int field = 3; field < 22 && p; field++) {
		p = strchr(p, ' ');
		if (p)
			p++;
	}
	cr_assert_not_null(p);
	cr_assert_eq(sscanf(p, "%llu", &v), 1);
	free(text);
	return v;
}

static void boot_id8(char out8[9])
{
	char *text = file_read("/proc/sys/kernel/random/boot_id", NULL);

	cr_assert_geq(strlen(text), 8);
	memcpy(out8, text, 8);
	out8[8] = 0;
	free(text);
}

/* entity_id = <boot_id8>-<pid hex>-<start ticks hex> (docs/events.md) */
static void expect_entity_id(const char *id, pid_t pid)
{
	char boot[9], want_pid[16];
	const char *d1, *d2;

	cr_assert_not_null(id, "no entity_id");
	boot_id8(boot);
	d1 = strchr(id, '-');
	d2 = d1 ? strchr(d1 + 1, '-') : NULL;
	cr_assert(d1 && d2 && !strchr(d2 + 1, '-'), "entity_id '%s' is not 3 dash-separated parts", id);
	cr_expect(d1 - id == 8 && !strncmp(id, boot, 8), "entity_id '%s': boot part, want %s", id, boot);
	snprintf(want_pid, sizeof(want_pid), "%x", (unsigned)pid);
	cr_expect(strlen(want_pid) == (size_t)(d2 - d1 - 1) && !strncmp(d1 + 1, want_pid, d2 - d1 - 1),
		  "entity_id '%s': pid part, want %s", id, want_pid);
	cr_expect_gt(strlen(d2 + 1), 0, "entity_id '%s': empty start part", id);
	for (const char *c = d2 + 1; *c; c++)
		cr_expect(isxdigit((unsigned char)*c) && !isupper((unsigned char)*c),
			  "entity_id '%s': start part not lower-case hex", id);
}

/* RFC 3339 UTC with exactly 9 fractional digits. */
static bool timestamp_ok(const char *s)
{
	static const char tmpl[] = "dddd-dd-ddTdd:dd:dd.dddddddddZ";

	if (!s || strlen(s) != sizeof(tmpl) - 1)
		return false;
	for (size_t i = 0; tmpl[i]; i++)
		if (tmpl[i] == 'd' ? !isdigit((unsigned char)s[i]) : s[i] != tmpl[i])
			return false;
	return true;
}

/* Fork a child that opens path read-only and exits; returns its pid. */
static pid_t child_open(const char *path)
{
	pid_t pid;
	int status;

	fflush(NULL);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		int fd = open(path, O_RDONLY);

		if (fd < 0)
			_exit(CHILD_OPEN);
		close(fd);
		_exit(0);
	}
	status = reap_within(pid, DEADLINE_MS);
	if (status == -1) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		cr_assert_fail("child %d did not exit", pid);
	}
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child open of %s failed: 0x%x",
		  path, status);
	return pid;
}

/* ---- fixture -------------------------------------------------------- */

static void need_root(void)
{
	if (geteuid() != 0)
		cr_skip_test("the agent needs root (euid %u)", (unsigned)geteuid());
}

static void setup(void)
{
	cr_assert_not_null(realpath(TG_BIN, bin),
			   "%s: %s; build it with 'make' and run from the repo root",
			   TG_BIN, strerror(errno));
	cr_assert_eq(access(bin, X_OK), 0, "%s is not executable", bin);
	dir = tmpdir_make();
	snprintf(conf, sizeof(conf), "%s/twinguard.conf", dir);
	snprintf(out, sizeof(out), "%s/events.json", dir);
	snprintf(errf, sizeof(errf), "%s/stderr", dir);
	snprintf(outf, sizeof(outf), "%s/stdout", dir);
	agent = -1;
	agent_reaped = false;
	stream_reset(out);
}

static void teardown(void)
{
	if (agent > 0 && !agent_exited()) {
		kill(agent, SIGKILL);
		if (reap_within(agent, DEADLINE_MS) == -1)
			fprintf(stderr, "test_cli: agent %d did not die on SIGKILL\n", agent);
	}
	agent = -1;
	stream_free();
	tmpdir_remove(dir);
	free(dir);
	dir = NULL;
}

TestSuite(cli, .init = setup, .fini = teardown, .timeout = 60);

/* ---- 1. start-up errors -------------------------------------------- */

/* One line on stderr, "twinguard: ..." */
static void expect_one_line(const char *err)
{
	cr_expect_eq(count_lines(err), 1, "want one line on stderr, got:\n%s", err);
	cr_expect_eq(strncmp(err, "twinguard: ", 11), 0, "stderr: %s", err);
}

Test(cli, config_missing)
{
	const char *argv[] = { bin, "run", "--config", conf, NULL };
	char *err;

	need_root();
	cr_assert_eq(run_to_exit(SPAWN_ROOT, argv, &err), TG_EXIT_CONFIG, "stderr:\n%s", err);
	expect_one_line(err);
	cr_expect_not_null(strstr(err, conf), "message does not name %s: %s", conf, err);
	cr_expect_not_null(strstr(err, "cannot open"), "stderr: %s", err);
	cr_expect_not_null(strstr(err, strerror(ENOENT)), "stderr: %s", err);
	free(err);
}

Test(cli, config_unknown_key_names_line)
{
	const char *argv[] = { bin, "run", "--config", conf, NULL };
	char want[PATH_MAX + 8], *err;

	need_root();
	file_write(conf, "events = all\nthreads = true\nno_such_key = 1\n");
	cr_assert_eq(run_to_exit(SPAWN_ROOT, argv, &err), TG_EXIT_CONFIG, "stderr:\n%s", err);
	expect_one_line(err);
	snprintf(want, sizeof(want), "%s:3:", conf);
	cr_expect_not_null(strstr(err, want), "no '%s' in: %s", want, err);
	cr_expect_not_null(strstr(err, "no_such_key"), "stderr: %s", err);
	cr_expect_not_null(strstr(err, "; expected "), "no fix ('; expected') in: %s", err);
	free(err);
}

Test(cli, config_bad_value)
{
	const char *argv[] = { bin, "run", "--config", conf, NULL };
	char want[PATH_MAX + 8], *err;

	need_root();
	file_write(conf, "ringbuf_kb = 1000\n");
	cr_assert_eq(run_to_exit(SPAWN_ROOT, argv, &err), TG_EXIT_CONFIG, "stderr:\n%s", err);
	expect_one_line(err);
	snprintf(want, sizeof(want), "%s:1:", conf);
	cr_expect_not_null(strstr(err, want), "no '%s' in: %s", want, err);
	cr_expect_not_null(strstr(err, "ringbuf_kb"), "stderr: %s", err);
	cr_expect_not_null(strstr(err, "; expected "), "no fix ('; expected') in: %s", err);
	free(err);
}

Test(cli, output_unopenable)
{
	const char *argv[] = { bin, "run", "--config", conf, "--events", "--output", NULL, NULL };
	char bad[PATH_MAX], *err;

	need_root();
	file_write(conf, "");
	snprintf(bad, sizeof(bad), "%s/no-such-dir/events.json", dir);
	argv[6] = bad;
	cr_assert_eq(run_to_exit(SPAWN_ROOT, argv, &err), TG_EXIT_CONFIG, "stderr:\n%s", err);
	expect_one_line(err);
	cr_expect_not_null(strstr(err, bad), "message does not name %s: %s", bad, err);
	cr_expect_not_null(strstr(err, strerror(ENOENT)), "stderr: %s", err);
	free(err);
}

Test(cli, not_root)
{
	const char *argv[] = { bin, "run", "--config", conf, NULL };
	char *err;

	need_root(); /* to become someone else */
	file_write(conf, "");
	cr_assert_eq(run_to_exit(SPAWN_NOBODY, argv, &err), TG_EXIT_NOT_ROOT, "stderr:\n%s", err);
	expect_one_line(err);
	cr_expect_not_null(strstr(err, "root"), "message does not mention root: %s", err);
	cr_expect_not_null(strstr(err, "fix"), "message has no fix: %s", err);
	free(err);
}

Test(cli, bpf_disabled)
{
	const char *argv[] = { bin, "run", "--config", conf, NULL };
	char *err;

	need_root();
	file_write(conf, "");
	cr_assert_eq(run_to_exit(SPAWN_NO_BPF, argv, &err), TG_EXIT_NO_BPF, "stderr:\n%s", err);
	expect_one_line(err);
	cr_expect_not_null(strstr(err, "BPF is disabled"), "stderr: %s", err);
	cr_expect_not_null(strstr(err, "fix"), "message has no fix: %s", err);
	free(err);
}

Test(cli, usage_bad_option)
{
	const char *argv[] = { bin, "run", "--bogus", NULL };
	char *err;

	cr_assert_eq(run_to_exit(SPAWN_ROOT, argv, &err), TG_EXIT_USAGE, "stderr:\n%s", err);
	cr_expect_not_null(strstr(err, "--bogus"), "stderr: %s", err);
	cr_expect_not_null(strstr(err, "Usage: twinguard run"), "stderr: %s", err);
	free(err);
}

Test(cli, usage_unknown_command)
{
	const char *argv[] = { bin, "nosuch", NULL };
	char *err;

	cr_assert_eq(run_to_exit(SPAWN_ROOT, argv, &err), TG_EXIT_USAGE, "stderr:\n%s", err);
	expect_one_line(err);
	cr_expect_not_null(strstr(err, "'nosuch'"), "stderr: %s", err);
	cr_expect_not_null(strstr(err, "twinguard help"), "stderr: %s", err);
	free(err);
}

/* ---- 2. lifecycle --------------------------------------------------- */

static void lifecycle(int sig)
{
	static uint32_t before[MAX_PROGS], loaded[MAX_PROGS], held[MAX_PROGS];
	size_t nbefore, nloaded, nheld;
	unsigned attached;
	cJSON *stats;
	const cJSON *rec;
	char *err;
	int64_t deadline;

	need_root();
	file_write(conf, "");
	nbefore = tg_progs_loaded(before, MAX_PROGS);
	agent_run_events();
	attached = wait_attached();

	/* The agent's programs: new, loaded, at least one per attachment. */
	nheld = tg_progs_held(agent, held, MAX_PROGS);
	nloaded = tg_progs_loaded(loaded, MAX_PROGS);
	cr_assert_geq(nheld, attached, "agent holds %zu tg_ programs but attached %u", nheld, attached);
	for (size_t i = 0; i < nheld; i++) {
		cr_expect(!id_in(held[i], before, nbefore), "prog %u existed before the agent", held[i]);
		cr_expect(id_in(held[i], loaded, nloaded), "prog %u held but not listed", held[i]);
	}

	cr_assert_eq(agent_stop(sig), 0, "exit code after %s; stderr:\n%s", strsignal(sig),
		     file_read(errf, NULL));
	err = file_read(errf, NULL);
	stats = stats_line(err);

	/* The stream ends with the same counters as the stderr line. */
	stream_update();
	cr_assert_eq(st.bad, 0, "unparsable line: %s", st.first_bad);
	cr_assert_gt(st.n, 0, "empty event stream");
	rec = st.ev[st.n - 1];
	cr_assert(ev_stats(rec, NULL), "last line is not agent-stats");
	cr_expect(jnum_is(rec, "twinguard.stats.events",
			  cJSON_GetObjectItem(stats, "events")->valuedouble));
	cr_expect(jnum_is(rec, "twinguard.stats.drops",
			  cJSON_GetObjectItem(stats, "drops")->valuedouble));

	/* Detached: every program it held is freed (prog arrays let go of
	 * their tail-call targets from a workqueue, hence the poll). */
	deadline = now_ms() + GONE_MS;
	for (size_t i = 0; i < nheld; i++) {
		while (prog_exists(held[i]) && now_ms() < deadline)
			nap();
		cr_expect(!prog_exists(held[i]), "prog %u still loaded %d ms after the agent exited",
			  held[i], GONE_MS);
	}
	cJSON_Delete(stats);
	free(err);
}

Test(cli, lifecycle_sigterm)
{
	lifecycle(SIGTERM);
}

Test(cli, lifecycle_sigint)
{
	lifecycle(SIGINT);
}

/* ---- 3. the event stream -------------------------------------------- */

#define SH_SCRIPT "cat /etc/hostname > /dev/null; exit 7"

static pid_t child_sh(const char *cwd)
{
	pid_t pid;
	int status;

	fflush(NULL);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		if (chdir(cwd))
			_exit(CHILD_CHDIR);
		execl("/bin/sh", "/bin/sh", "-c", SH_SCRIPT, (char *)NULL);
		_exit(CHILD_EXEC);
	}
	status = reap_within(pid, DEADLINE_MS);
	if (status == -1) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		cr_assert_fail("sh %d did not exit", pid);
	}
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 7, "sh: status 0x%x", status);
	return pid;
}

static void expect_args(const cJSON *ev, const char *const want[], int n)
{
	const cJSON *args = jget(ev, "process.args");

	cr_assert(cJSON_IsArray(args), "no process.args");
	cr_expect_eq(cJSON_GetArraySize(args), n, "args count");
	cr_expect(jnum_is(ev, "process.args_count", n));
	for (int i = 0; i < n && i < cJSON_GetArraySize(args); i++) {
		const cJSON *a = cJSON_GetArrayItem(args, i);

		cr_expect(cJSON_IsString(a) && !strcmp(a->valuestring, want[i]),
			  "args[%d] = %s, want %s", i, cJSON_IsString(a) ? a->valuestring : "?", want[i]);
	}
}

static double ancestor_pid(const cJSON *ev, int i)
{
	const cJSON *a = cJSON_GetArrayItem(jget(ev, "process.ancestors"), i);
	double v = -1;

	if (a)
		jnum(a, "pid", &v);
	return v;
}

Test(cli, event_stream)
{
	static const char *const sh_args[] = { "/bin/sh", "-c", SH_SCRIPT };
	char sh_exe[PATH_MAX], cat_exe[PATH_MAX], host[256], boot[9], self_id[64];
	const cJSON *exec, *open_ev, *exit_ev, *fork_ev;
	pid_t self = getpid(), shpid;
	struct ev_key k;
	double prev = 0, cat_pid;

	need_root();
	cr_assert_not_null(realpath("/bin/sh", sh_exe));
	cr_assert_not_null(realpath("/bin/cat", cat_exe));
	cr_assert_eq(gethostname(host, sizeof(host)), 0);
	boot_id8(boot);
	snprintf(self_id, sizeof(self_id), "%s-%x-%llx", boot, (unsigned)self, start_ticks(self));
	file_write(conf, ""); /* defaults: every class, no prefix filter */
	agent_run_events();
	wait_attached();

	shpid = child_sh(dir);
	/* Records are written by the time sh is reaped; a clean stop drains them. */
	cr_assert_eq(agent_stop(SIGINT), 0, "stderr:\n%s", file_read(errf, NULL));
	stream_update();
	cr_assert_eq(st.bad, 0, "%zu unparsable lines, first: %s", st.bad, st.first_bad);

	/* Every line: @timestamp; every event line: host, sequence 1, 2, 3... */
	for (size_t i = 0; i < st.n; i++) {
		const cJSON *ev = st.ev[i];
		double seq;

		cr_expect(timestamp_ok(jstr(ev, "@timestamp")), "line %zu: @timestamp '%s'", i + 1,
			  jstr(ev, "@timestamp") ? jstr(ev, "@timestamp") : "(none)");
		if (ev_stats(ev, NULL))
			continue;
		cr_assert(jstr_is(ev, "event.kind", "event"), "line %zu: event.kind", i + 1);
		cr_expect(jstr_is(ev, "host.hostname", host), "line %zu: host.hostname", i + 1);
		cr_assert(jnum(ev, "event.sequence", &seq), "line %zu: no event.sequence", i + 1);
		cr_expect_eq(seq, prev + 1, "line %zu: sequence %.0f after %.0f", i + 1, seq, prev);
		prev = seq;
	}
	cr_expect(st.n > 0 && ev_stats(st.ev[st.n - 1], NULL), "the stream does not end with agent-stats");

	/* Field: the fork of sh, made by this process, which the agent only
	 * knows from its /proc scan. */
	k = (struct ev_key){ .action = "fork", .pid = self, .child = shpid };
	fork_ev = stream_find(ev_is, &k);
	cr_assert_not_null(fork_ev, "no fork event of pid %d -> %d", self, shpid);
	cr_expect(cJSON_IsTrue(jget(fork_ev, "twinguard.from_scan")),
		  "fork: twinguard.from_scan not true");
	cr_expect(jstr_is(fork_ev, "process.entity_id", self_id), "fork: process.entity_id %s, want %s",
		  jstr(fork_ev, "process.entity_id"), self_id);
	expect_entity_id(jstr(fork_ev, "twinguard.child.entity_id"), shpid);

	/* exec of sh: the new image, its argv, cwd, parent. */
	k = (struct ev_key){ .action = "exec", .pid = shpid };
	cr_assert_eq(stream_count(ev_is, &k), 1, "want one exec of pid %d", shpid);
	exec = stream_find(ev_is, &k);
	cr_expect(jstr_is(exec, "process.executable", sh_exe), "exec: executable %s, want %s",
		  jstr(exec, "process.executable"), sh_exe);
	cr_expect(jstr_is(exec, "process.name", "sh"), "exec: name %s", jstr(exec, "process.name"));
	expect_args(exec, sh_args, 3);
	cr_expect(jstr_is(exec, "process.command_line", "/bin/sh -c " SH_SCRIPT));
	cr_expect(jstr_is(exec, "process.working_directory", dir), "exec: cwd %s, want %s",
		  jstr(exec, "process.working_directory"), dir);
	cr_expect(jnum_is(exec, "process.parent.pid", self), "exec: parent.pid, want %d", self);
	cr_expect(jstr_is(exec, "process.parent.entity_id", self_id), "exec: parent.entity_id %s, want %s",
		  jstr(exec, "process.parent.entity_id"), self_id);
	cr_expect_eq(ancestor_pid(exec, 0), self, "exec: ancestors[0]");
	expect_entity_id(jstr(exec, "process.entity_id"), shpid);
	cr_expect(jstr_is(exec, "process.entity_id", jstr(fork_ev, "twinguard.child.entity_id")),
		  "exec entity_id %s differs from the fork's child.entity_id %s",
		  jstr(exec, "process.entity_id"), jstr(fork_ev, "twinguard.child.entity_id"));
	cr_expect(jnum_is(exec, "process.thread.id", shpid));
	cr_expect(jnum_is(exec, "user.id", 0) && jnum_is(exec, "user.effective.id", 0));
	cr_expect(jstr_is(jitem(exec, "event.category", 0), "", "process"));
	cr_expect(jstr_is(jitem(exec, "event.type", 0), "", "start"));
	cr_expect(!jget(exec, "twinguard.from_scan"), "exec of a new process marked from_scan");

	/* open of /etc/hostname by cat, a child of sh. */
	k = (struct ev_key){ .action = "open", .path = "/etc/hostname", .parent = shpid };
	open_ev = stream_find(ev_is, &k);
	cr_assert_not_null(open_ev, "no open of /etc/hostname by a child of sh %d", shpid);
	cr_assert(jnum(open_ev, "process.pid", &cat_pid));
	cr_expect_neq(cat_pid, shpid, "cat ran in sh's process");
	cr_expect(jstr_is(open_ev, "process.executable", cat_exe), "open: executable %s, want %s",
		  jstr(open_ev, "process.executable"), cat_exe);
	cr_expect(jstr_is(open_ev, "process.name", "cat"));
	cr_expect(jstr_is(open_ev, "event.outcome", "success"));
	cr_expect(jstr_is(open_ev, "file.name", "hostname") && jstr_is(open_ev, "file.directory", "/etc"));
	cr_expect(jstr_is(jitem(open_ev, "twinguard.open_flags", 0), "", "O_RDONLY"));
	cr_expect_eq(ancestor_pid(open_ev, 0), shpid, "open: ancestors[0], want sh %d", shpid);
	cr_expect_eq(ancestor_pid(open_ev, 1), self, "open: ancestors[1], want the test %d", self);
	cr_expect(jstr_is(open_ev, "process.working_directory", dir));

	/* exit of sh with its code. */
	k = (struct ev_key){ .action = "exit", .pid = shpid };
	exit_ev = stream_find(ev_is, &k);
	cr_assert_not_null(exit_ev, "no exit of sh %d", shpid);
	cr_expect(jnum_is(exit_ev, "process.exit_code", 7), "exit_code");
	cr_expect(jstr_is(exit_ev, "process.executable", sh_exe));
	cr_expect(!cJSON_IsTrue(jget(exit_ev, "twinguard.thread")));
}

/* ---- 4. SIGHUP reload ------------------------------------------------ */

Test(cli, sighup_reload)
{
	char a[PATH_MAX], b[PATH_MAX], c[PATH_MAX], *err;
	struct ev_key k;
	pid_t pid;

	need_root();
	snprintf(a, sizeof(a), "%s/before-reload", dir);
	snprintf(b, sizeof(b), "%s/after-reload", dir);
	snprintf(c, sizeof(c), "%s/after-failed-reload", dir);
	file_write(a, "a");
	file_write(b, "b");
	file_write(c, "c");
	file_write(conf, "events = process\n");
	agent_run_events();
	wait_attached();

	/* process only: the child's exit shows up, its open before it does not */
	pid = child_open(a);
	k = (struct ev_key){ .action = "exit", .pid = pid };
	cr_assert_not_null(stream_wait(ev_is, &k), "no exit of child %d with events = process", pid);
	k = (struct ev_key){ .action = "open", .path = a };
	cr_expect_null(stream_find(ev_is, &k), "open reported with events = process");

	file_write(conf, "events = process, file\n");
	cr_assert_eq(kill(agent, SIGHUP), 0);
	err = wait_for_text(errf, "twinguard: reloaded");
	free(err);
	pid = child_open(b);
	k = (struct ev_key){ .action = "open", .pid = pid, .path = b };
	cr_assert_not_null(stream_wait(ev_is, &k), "no open of %s after reload to process, file", b);

	/* A bad file keeps the running config whole (its valid first line,
	 * which would switch file events off, is not applied either), and the
	 * agent keeps going. */
	file_write(conf, "events = process\nthreads = maybe\n");
	cr_assert_eq(kill(agent, SIGHUP), 0);
	err = wait_for_text(errf, "reload failed");
	cr_expect_not_null(strstr(err, ":2:"), "reload error without line: %s", err);
	free(err);
	cr_assert(!agent_exited(), "agent exited after a failed reload");
	pid = child_open(c);
	k = (struct ev_key){ .action = "open", .pid = pid, .path = c };
	cr_assert_not_null(stream_wait(ev_is, &k), "no open of %s after a failed reload", c);
	cr_assert_eq(agent_stop(SIGTERM), 0);
	stream_update();
	cr_expect_eq(st.bad, 0, "unparsable line: %s", st.first_bad);
}

/* ---- 5. drops ------------------------------------------------------- */

static void wait_stopped(pid_t pid)
{
	int64_t deadline = now_ms() + DEADLINE_MS;
	siginfo_t si;

	for (;;) {
		memset(&si, 0, sizeof(si));
		cr_assert_eq(waitid(P_PID, pid, &si, WSTOPPED | WNOHANG | WNOWAIT), 0, "waitid: %s",
			     strerror(errno));
		if (si.si_pid == pid) {
			cr_assert_eq(si.si_code, CLD_STOPPED, "agent did not stop: code %d", si.si_code);
			return;
		}
		cr_assert(now_ms() < deadline, "agent not stopped after %d ms", DEADLINE_MS);
		nap();
	}
}

Test(cli, drops)
{
	char flood[PATH_MAX], *err;
	cJSON *stats;
	const cJSON *rec;
	double drops = 0;
	pid_t pid;
	int status;

	need_root();
	snprintf(flood, sizeof(flood), "%s/flood", dir);
	file_write(flood, "");
	file_write(conf, "ringbuf_kb = 4\n"); /* one page; no prefix filter */
	agent_run_events();
	wait_attached();

	/* Nobody reads the ring while the child floods it. */
	cr_assert_eq(kill(agent, SIGSTOP), 0);
	wait_stopped(agent);
	fflush(NULL);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		for (int i = 0; i < FLOOD; i++) {
			int fd = open(flood, O_RDONLY);

			if (fd < 0)
				_exit(CHILD_OPEN);
			close(fd);
		}
		_exit(0);
	}
	status = reap_within(pid, DEADLINE_MS);
	if (status == -1) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
	cr_assert_eq(kill(agent, SIGCONT), 0);
	cr_assert(status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0, "flood child: 0x%x",
		  status);

	cr_assert_eq(agent_stop(SIGINT), 0, "stderr:\n%s", file_read(errf, NULL));
	err = file_read(errf, NULL);
	stats = stats_line(err);
	drops = cJSON_GetObjectItem(stats, "drops")->valuedouble;
	cr_expect_gt(drops, 0, "no drops counted after %d opens into a one-page ring", FLOOD);
	cr_expect_gt(cJSON_GetObjectItem(stats, "drop_bytes")->valuedouble, 0);
	cr_expect_not_null(strstr(err, "events dropped (ring buffer full)"),
			   "no drop warning on stderr:\n%s", err);

	stream_update();
	cr_expect_eq(st.bad, 0, "unparsable line: %s", st.first_bad);
	rec = stream_find(ev_stats, NULL);
	cr_assert_not_null(rec, "no agent-stats record in the stream");
	for (size_t i = 0; i < st.n; i++)
		if (ev_stats(st.ev[i], NULL))
			rec = st.ev[i]; /* the last one: final totals */
	cr_expect(jnum_is(rec, "twinguard.stats.drops", drops), "agent-stats drops differ from %.0f",
		  drops);
	cr_expect(jnum_is(rec, "twinguard.stats.drops", drops) && drops > 0);
	cJSON_Delete(stats);
	free(err);
}

/* ---- 6. rules: alerts by default, SIGHUP swaps rule sets ------------- */

struct alert_key {
	const char *rule;
	const char *path;      /* file.path of the triggering event */
};

static bool alert_is(const cJSON *ev, const void *arg)
{
	const struct alert_key *k = arg;

	return jstr_is(ev, "event.kind", "alert") && jstr_is(ev, "rule.name", k->rule) &&
	       (!k->path || jstr_is(ev, "file.path", k->path));
}

#define OPEN_RULE(name, file) \
	"[{\"rule\": \"" name "\", \"desc\": \"d\", \"priority\": \"warning\", " \
	"\"output\": \"opened %%file.path\", " \
	"\"condition\": \"event.action = open and file.path = '" file "'\"}]\n"

Test(cli, rules_alert_and_reload)
{
	char rdir[PATH_MAX], ldir[PATH_MAX], rfile[PATH_MAX + 16], a[PATH_MAX], b[PATH_MAX];
	char rule[PATH_MAX + 512];
	const char *argv[] = { bin, "run", "--config", conf, "--rules-dir", rdir, "--local-dir", ldir,
			       "--profile", "rules/profile/twin-profile.json", "--output", out, NULL };
	struct alert_key k;
	char *err;

	need_root();
	snprintf(rdir, sizeof(rdir), "%s/rules", dir);
	snprintf(ldir, sizeof(ldir), "%s/rules.d", dir);
	snprintf(rfile, sizeof(rfile), "%s/rules/pack.json", dir);
	snprintf(a, sizeof(a), "%s/watched-a", dir);
	snprintf(b, sizeof(b), "%s/watched-b", dir);
	cr_assert_eq(mkdir(rdir, 0755), 0);
	cr_assert_eq(mkdir(ldir, 0755), 0);
	file_write(a, "a");
	file_write(b, "b");
	file_write(conf, "");
	snprintf(rule, sizeof(rule), OPEN_RULE("open A", "%s"), a);
	file_write(rfile, rule);
	agent_start(SPAWN_ROOT, argv);
	wait_attached();

	/* no --events: the output holds alerts only */
	child_open(a);
	k = (struct alert_key){ .rule = "open A", .path = a };
	cr_assert_not_null(stream_wait(alert_is, &k), "no alert for the open of %s", a);
	cr_expect_null(stream_find(ev_is, &(struct ev_key){ .action = "open" }),
		       "events in the output without --events");

	/* a new rule set replaces the old one whole */
	snprintf(rule, sizeof(rule), OPEN_RULE("open B", "%s"), b);
	file_write(rfile, rule);
	cr_assert_eq(kill(agent, SIGHUP), 0);
	free(wait_for_text(errf, "1 rules loaded"));
	child_open(a);
	child_open(b);
	k = (struct alert_key){ .rule = "open B", .path = b };
	cr_assert_not_null(stream_wait(alert_is, &k), "no alert from the reloaded rule");
	k = (struct alert_key){ .rule = "open A", .path = a };
	cr_expect_eq(stream_count(alert_is, &k), 1, "the replaced rule still fired");

	/* a broken rule file: the error names file:line, the old rules stay */
	file_write(rfile, "[{\"rule\": \"broken\", \"desc\": \"d\", \"output\": \"o\", "
		   "\"priority\": \"warning\",\n \"condition\": \"file.path = \"}]\n");
	cr_assert_eq(kill(agent, SIGHUP), 0);
	err = wait_for_text(errf, "keeping the running rules");
	cr_expect_not_null(strstr(err, "pack.json:2:"), "rule error without file:line: %s", err);
	free(err);
	cr_assert(!agent_exited(), "agent exited after a failed rule reload");
	child_open(b);
	k = (struct alert_key){ .rule = "open B", .path = b };
	{
		int64_t deadline = now_ms() + DEADLINE_MS;

		while (stream_count(alert_is, &k) < 2 && now_ms() < deadline) {
			stream_update();
			nap();
		}
	}
	cr_expect_eq(stream_count(alert_is, &k), 2, "the running rules stopped after a bad reload");
	cr_assert_eq(agent_stop(SIGTERM), 0);
}

Test(cli, rule_errors_stop_start_up)
{
	char rdir[PATH_MAX], rfile[PATH_MAX + 16], *err;
	const char *argv[] = { bin, "run", "--config", conf, "--rules-dir", rdir, "--profile",
			       "rules/profile/twin-profile.json", NULL };

	need_root();
	snprintf(rdir, sizeof(rdir), "%s/rules", dir);
	snprintf(rfile, sizeof(rfile), "%s/rules/bad.json", dir);
	cr_assert_eq(mkdir(rdir, 0755), 0);
	file_write(conf, "");
	file_write(rfile, "[{\"rule\": \"x\", \"desc\": \"d\", \"output\": \"o\", \"priority\": \"loud\",\n"
		   " \"condition\": \"event.action = exec\"}]\n");
	cr_assert_eq(run_to_exit(SPAWN_ROOT, argv, &err), TG_EXIT_CONFIG, "stderr:\n%s", err);
	cr_expect_not_null(strstr(err, "bad.json:1:"), "no file:line in: %s", err);
	cr_expect_not_null(strstr(err, "priority"), "the bad key is not named: %s", err);
	free(err);
}
