// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Noise control against the real agent with the shipped packs and the
 * default config (docs/delivery.md, "Noise control"; docs/rules.md):
 *
 *   flood     as nobody, failing opens of /etc/shadow: a C loop of open(2)
 *             in a fork of this worker (ROUNDS bursts of FLOOD_BURST) and a
 *             shell loop of `cat` (CAT_MAX): the alert lines stay bounded
 *             (kilobytes), and delivered + suppressed (alert-suppressed
 *             counts) = the attempts, unless the kernel ring dropped events
 *             (then at most the attempts, at least the attempts less the
 *             drops);
 *   meanwhile rh_sync markers (a rule with "rate": "off") and another rule
 *             (Executable run from temporary directory, default limits)
 *             from other processes: every one arrives;
 *   summaries with suppress_report_s = 1, alert-suppressed records come
 *             while the flood goes on, not only at stop.
 *
 * A burst fits the default 8 MiB ring, and the marker after it means the
 * agent caught up: this tests the limiter, not the kernel's share of the
 * ring, which is the typed-data-path issue's (a tight endless loop still
 * outruns the ring; those drops are counted as kernel_ring).
 * Every agent on the host sees every test's events, so counts are taken
 * for this test's processes (pid trees) and for the C loop's own key (its
 * executable is this test binary) only.
 * Root, real BPF; run from the repository root.
 */
#include <grp.h>
#include <poll.h>

#include "rules_harness.h"

#define NOBODY 65534
#define FLOOD_BURST 20000     /* the C loop's opens per round: they fit the default ring */
#define FLOOD_BURSTS 64       /* the C loop's bound on rounds */
#define SMALL_BURST 200       /* the summaries test: light beside the other test */
#define CAT_MAX 2000          /* the shell loop's bound */
#define ROUNDS 10             /* markers and other-rule alerts during the flood */
#define SHADOW_RATE_MAX 10    /* rules/host.json: the shadow rule's "rate" */
#define LINES_MAX_BYTES (256 * 1024)

static const char R_SHADOW[] = "Shadow file read by unexpected program";
static const char R_TMP_EXEC[] = "Executable run from temporary directory";

static struct rh_agent ag;
static pid_t g_kids[2];

static void kill_kids(void)
{
	for (size_t i = 0; i < 2; i++)
		if (g_kids[i] > 0 && kill(g_kids[i], SIGKILL) == 0)
			waitpid(g_kids[i], NULL, 0);
}

static void fini(void)
{
	kill_kids();
	rh_cleanup();
}

TestSuite(noise, .fini = fini, .timeout = 180);

static void drop_to_nobody(void)
{
	if (setgroups(0, NULL) || setgid(NOBODY) || setuid(NOBODY))
		_exit(126);
}

/* Pipe ends a child must not keep open (the parent's ends). */
static int g_parent_fds[8];
static size_t g_n_parent_fds;

static void close_parent_fds(void)
{
	for (size_t i = 0; i < g_n_parent_fds; i++)
		close(g_parent_fds[i]);
}

/* The C loop: for every byte read from go_fd, burst failing opens of
 * path (a shadow file), then one byte to out_fd; at EOF of go_fd, "TOTAL\n". */
static pid_t flood_c(const char *path, int burst, int go_fd, int out_fd)
{
	pid_t pid = fork();

	cr_assert_geq(pid, 0);
	if (pid == 0) {
		unsigned long n = 0;
		char buf[64];

		close_parent_fds();
		drop_to_nobody();
		prctl(PR_SET_PDEATHSIG, SIGKILL);   /* after: a uid change clears it */
		for (int b = 0; b < FLOOD_BURSTS && read(go_fd, buf, 1) == 1; b++) {
			for (int i = 0; i < burst; i++, n++) {
				int fd = open(path, O_RDONLY);

				if (fd >= 0)
					close(fd);
			}
			if (write(out_fd, "b", 1) != 1)
				_exit(125);
		}
		snprintf(buf, sizeof(buf), "%lu\n", n);
		if (write(out_fd, buf, strlen(buf)) < 0)
			_exit(125);
		_exit(0);
	}
	return pid;
}

/* Wait (bounded) for one byte from fd. */
static bool read_byte_within(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	char c;

	return poll(&p, 1, ms) > 0 && read(fd, &c, 1) == 1;
}

/* The shell loop of `cat /etc/shadow` as nobody; prints its count. */
static pid_t flood_cat(int out_fd)
{
	pid_t pid = fork();

	cr_assert_geq(pid, 0);
	if (pid == 0) {
		char cmd[256];

		dup2(out_fd, 1);
		close_parent_fds();
		drop_to_nobody();
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		snprintf(cmd, sizeof(cmd), "i=0; while [ $i -lt %d ]; do cat /etc/shadow 2>/dev/null; "
			 "i=$((i+1)); done; echo $i", CAT_MAX);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	return pid;
}

/* Reap pid within RH_RUN_MS and read its one line from fd. */
static void reap_line(pid_t pid, int fd, char *buf, size_t len, const char *what)
{
	int st = rh_reap_within(pid, RH_RUN_MS * 3);
	ssize_t n;

	cr_assert(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s: status 0x%x", what, st);
	for (size_t i = 0; i < 2; i++)
		if (g_kids[i] == pid)
			g_kids[i] = 0;
	n = read(fd, buf, len - 1);
	cr_assert_gt(n, 0, "%s wrote no count", what);
	buf[n] = '\0';
}

/* The key's process.executable of an alert-suppressed record (the key's
 * members are flat field names, not nested objects). */
static const char *key_str(const cJSON *j, const char *field)
{
	const cJSON *k = rh_jget(j, "twinguard.suppressed.key");
	const cJSON *e = cJSON_GetObjectItemCaseSensitive(k, field);

	return cJSON_IsString(e) ? e->valuestring : NULL;
}

static const char *key_exe(const cJSON *j)
{
	return key_str(j, "process.executable");
}

/* Sums over the alert-suppressed records of rule: all, and those whose key
 * is (exe, /etc/shadow) (exe NULL: none); and over every rule. */
static void suppressed_counts(struct rh_agent *a, const char *rule, const char *exe,
			      double *all, double *of_exe, double *every_rule)
{
	*all = *of_exe = *every_rule = 0;
	for (size_t i = 0; i < a->n; i++) {
		const cJSON *j = a->lines[i];
		const char *act = rh_jstr(j, "event.action"), *r = rh_jstr(j, "twinguard.suppressed.rule");
		const char *kexe = key_exe(j);
		double c = 0;

		if (!act || strcmp(act, "alert-suppressed") || !rh_jnum(j, "twinguard.suppressed.count", &c))
			continue;
		*every_rule += c;
		if (!r || strcmp(r, rule))
			continue;
		*all += c;
		if (exe && kexe && !strcmp(kexe, exe) && rh_s(key_str(j, "file.path")) &&
		    !strcmp(rh_s(key_str(j, "file.path")), "/etc/shadow"))
			*of_exe += c;
	}
}

/* The rate-limit loss from the final stats line (-1 when absent). */
static double final_rate_limit(struct rh_agent *a)
{
	char *err = rh_file_read(a->errf);
	const char *p = strstr(err, "twinguard: stats ");
	char *line = p ? strndup(p + 17, strcspn(p + 17, "\n")) : NULL;
	cJSON *j = line ? cJSON_Parse(line) : NULL;
	double v = -1;

	if (!rh_jnum(j, "drops_by_stage.rate_limit", &v))
		v = -1;
	cJSON_Delete(j);
	free(line);
	free(err);
	return v;
}

static size_t lines_bytes(cJSON **v, size_t n)
{
	size_t bytes = 0;

	for (size_t i = 0; i < n; i++) {
		char *s = cJSON_PrintUnformatted(v[i]);

		bytes += s ? strlen(s) + 1 : 0;
		free(s);
	}
	return bytes;
}

/* After rh_stop: bounded lines, and every alert of the C loop's key either
 * delivered or counted in an alert-suppressed record. */
static void expect_flood_accounted(const char *exe, unsigned long c_count, unsigned long cat_count,
				   int64_t t0)
{
	/* this test's two keys: (this binary, nobody) and (cat, nobody) */
	cJSON **cv = NULL;
	double sup_all, sup_c, sup_every, rl_total = final_rate_limit(&ag);
	double windows = (double)((rh_now_ms() - t0) / 60000 + 1);
	size_t n_all = rh_alerts(&ag, R_SHADOW, 0, &cv), n_c = 0, n_cat = 0;

	for (size_t i = 0; i < n_all; i++) {
		const char *pe = rh_jstr(cv[i], "process.executable");
		double uid = -1;

		rh_jnum(cv[i], "user.id", &uid);
		if (pe && !strcmp(pe, exe) && uid == NOBODY &&
		    !strcmp(rh_s(rh_jstr(cv[i], "file.path")), "/etc/shadow"))
			n_c++;
		else if (pe && !strcmp(pe, "/usr/bin/cat") && uid == NOBODY)
			n_cat++;
	}
	suppressed_counts(&ag, R_SHADOW, exe, &sup_all, &sup_c, &sup_every);
	cr_log_info("noise: C loop %lu opens, %zu delivered, %.0f suppressed; cat loop %lu, %zu "
		    "delivered; kernel drops %.0f; rate_limit %.0f; %zu shadow lines, %zu bytes",
		    c_count, n_c, sup_c, cat_count, n_cat, ag.drops, rl_total, n_all,
		    lines_bytes(cv, n_all));
	cr_expect_eq(c_count, (unsigned long)ROUNDS * FLOOD_BURST);
	cr_expect_eq(cat_count, CAT_MAX);
	/* bounded: per key (program, user, file) SHADOW_RATE_MAX per minute */
	cr_expect_leq(n_c, SHADOW_RATE_MAX * windows, "C loop: %zu alert lines over %.0f window(s)",
		      n_c, windows);
	cr_expect_leq(n_cat, SHADOW_RATE_MAX * windows, "cat loop: %zu alert lines", n_cat);
	cr_expect_gt(n_c, 0, "the C loop raised no alert at all");
	cr_expect_leq(lines_bytes(cv, n_all), LINES_MAX_BYTES, "%zu shadow alert lines", n_all);
	/* nothing lost silently: what was not delivered is in a summary */
	if (ag.drops == 0) {
		cr_expect_eq((double)n_c + sup_c, (double)c_count,
			     "C loop: %zu delivered + %.0f suppressed != %lu attempts", n_c, sup_c, c_count);
		cr_expect_geq((double)n_cat + sup_all - sup_c, (double)cat_count,
			      "cat loop: %zu delivered + %.0f suppressed < %lu attempts", n_cat,
			      sup_all - sup_c, cat_count);
	} else {
		cr_expect_leq((double)n_c + sup_c, (double)c_count);
		cr_expect_geq((double)n_c + sup_c + ag.drops, (double)c_count,
			      "C loop: %zu + %.0f + %.0f drops < %lu", n_c, sup_c, ag.drops, c_count);
	}
	cr_expect_eq(sup_every, rl_total, "alert-suppressed counts %.0f, stats rate_limit %.0f",
		     sup_every, rl_total);
	free(cv);
}

Test(noise, unprivileged_flood_is_bounded_and_other_alerts_arrive)
{
	int go[2], cout[2], sout[2];
	pid_t tmp_pids[ROUNDS];
	char exe[PATH_MAX], tmp_true[PATH_MAX], line[128];
	unsigned long c_count = 0, cat_count = 0;
	ssize_t el = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	int64_t t0;

	cr_assert_gt(el, 0);
	exe[el] = '\0';
	snprintf(tmp_true, sizeof(tmp_true), "%s", rh_path("noise-true"));
	cr_assert_eq(strncmp(tmp_true, "/tmp/", 5), 0, "the temp-exec trigger must live in /tmp: %s",
		     tmp_true);
	rh_setup_sh("cp /usr/bin/true '%s' && chmod 0755 '%s'", tmp_true, tmp_true);
	rh_start_with(&ag, NULL, "");
	cr_assert(!pipe(go) && !pipe(cout) && !pipe(sout));
	g_parent_fds[0] = go[1];
	g_parent_fds[1] = cout[0];
	g_parent_fds[2] = sout[0];
	g_n_parent_fds = 3;
	t0 = rh_now_ms();
	g_kids[0] = flood_c("/etc/shadow", FLOOD_BURST, go[0], cout[1]);
	g_kids[1] = flood_cat(sout[1]);
	close(cout[1]);
	close(sout[1]);
	close(go[0]);
	/* each round: a burst of the C loop, and while it runs a marker and
	 * the other rule from other processes; the marker's arrival also
	 * means the agent caught up, so the next burst fits the ring */
	for (int i = 0; i < ROUNDS; i++) {
		cr_assert_eq(write(go[1], "g", 1), 1);
		tmp_pids[i] = rh_run(tmp_true);
		rh_assert_ok("temp exec");
		rh_sync(&ag);
		cr_assert(read_byte_within(cout[0], RH_RUN_MS), "C flood burst %d did not end", i);
	}
	close(go[1]);   /* EOF: the C loop ends */
	reap_line(g_kids[0], cout[0], line, sizeof(line), "C flood");
	cr_assert_eq(sscanf(line, "%lu", &c_count), 1, "C flood said '%s'", line);
	reap_line(g_kids[1], sout[0], line, sizeof(line), "cat flood");
	cr_assert_eq(sscanf(line, "%lu", &cat_count), 1, "cat flood said '%s'", line);
	for (int i = 0; i < ROUNDS; i++)
		rh_expect_alert(&ag, R_TMP_EXEC, tmp_pids[i]);
	rh_sync(&ag);
	rh_stop(&ag);

	expect_flood_accounted(exe, c_count, cat_count, t0);
}

/* An alert-suppressed record for the key (exe, path) among the lines so
 * far; *n: how many alert-suppressed records there are. */
static bool summary_seen(struct rh_agent *a, const char *exe, const char *path, size_t *n)
{
	bool seen = false;

	*n = 0;
	for (size_t i = 0; i < a->n; i++) {
		const char *act = rh_jstr(a->lines[i], "event.action");
		const char *kexe = key_exe(a->lines[i]);

		if (act && !strcmp(act, "alert-suppressed")) {
			(*n)++;
			seen = seen || (kexe && !strcmp(kexe, exe) &&
					!strcmp(rh_s(key_str(a->lines[i], "file.path")), path));
		}
	}
	return seen;
}

/* While suppression goes on, summaries come every suppress_report_s, not
 * only at stop. */
Test(noise, summaries_while_the_flood_lasts)
{
	int go[2], cout[2];
	char exe[PATH_MAX], line[128];
	ssize_t el = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	size_t n_sup = 0;
	bool seen = false;

	cr_assert_gt(el, 0);
	exe[el] = '\0';
	rh_start_with(&ag, NULL, "suppress_report_s = 1\n");
	cr_assert(!pipe(go) && !pipe(cout));
	g_parent_fds[0] = go[1];
	g_parent_fds[1] = cout[0];
	g_n_parent_fds = 2;
	/* another file than the other test's flood: Criterion may run both at
	 * once, and each agent sees both floods; the path keeps the keys apart */
	g_kids[0] = flood_c("/etc/gshadow", SMALL_BURST, go[0], cout[1]);
	close(cout[1]);
	close(go[0]);
	/* bursts until a summary of this test's key is in while the agent
	 * runs; no markers (a ring filled by the test beside this one may drop
	 * them): the output is polled, each wait and the count bounded */
	for (int b = 0; b < FLOOD_BURSTS && !seen; b++) {
		int64_t end = rh_now_ms() + 1500;

		cr_assert_eq(write(go[1], "g", 1), 1);
		cr_assert(read_byte_within(cout[0], RH_RUN_MS), "C flood burst %d did not end", b);
		while (!seen && rh_now_ms() < end) {
			rh_update(&ag);
			seen = summary_seen(&ag, exe, "/etc/gshadow", &n_sup);
			if (!seen)
				rh_nap();
		}
	}
	close(go[1]);
	reap_line(g_kids[0], cout[0], line, sizeof(line), "C flood");
	cr_expect(seen, "no alert-suppressed record for %s while flooding (%zu others)", exe, n_sup);
	rh_stop(&ag);
}
