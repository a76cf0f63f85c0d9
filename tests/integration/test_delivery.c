// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The stream's bad days (docs/delivery.md), with the real agent: a closed
 * stdout, a FIFO whose reader stops, a full disk, an output file deleted
 * under the agent. Each must end with the agent up (or stopping cleanly
 * when asked), every record either written whole or counted, and the
 * loss reported in band.
 *
 *   test worker
 *     |-- agent   .output/twinguard run --config DIR/conf --events
 *     |           stdout/--output as the test sets them; stderr to DIR/err
 *     `-- child   opens DIR/watched/f N times: N open events
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cjson/cJSON.h>

#include "helpers.h"

#define DEADLINE_MS 10000
#define BIN ".output/twinguard"

static char *dir;
static char conf[512], errf[512], watched[512];
static pid_t agent = -1;
static bool mounted;

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void file_put(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	cr_assert_not_null(f, "%s: %s", path, strerror(errno));
	fputs(text, f);
	fclose(f);
}

static char *file_get(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t len = 0;

	if (!f)
		return strdup("");
	if (getdelim(&buf, &len, '\0', f) < 0) {
		free(buf);
		buf = strdup("");
	}
	fclose(f);
	return buf;
}

static void setup(void)
{
	if (geteuid() != 0)
		cr_skip_test("the agent needs root");
	dir = tmpdir_make();
	snprintf(conf, sizeof(conf), "%s/conf", dir);
	snprintf(errf, sizeof(errf), "%s/err", dir);
	snprintf(watched, sizeof(watched), "%s/watched", dir);
	cr_assert_eq(mkdir(watched, 0755), 0);
	char text[1024];

	snprintf(text, sizeof(text), "events = file\nwatch_rw = %s/\ncontrol_socket = off\n"
		 "loss_report_s = 1\n", watched);
	file_put(conf, text);
}

static void teardown(void)
{
	if (agent > 0) {
		kill(agent, SIGKILL);
		waitpid(agent, NULL, 0);
		agent = -1;
	}
	if (mounted) {
		char m[600];

		snprintf(m, sizeof(m), "%s/tmpfs", dir);
		umount2(m, MNT_DETACH);
		mounted = false;
	}
	if (dir)
		tmpdir_remove(dir);
	free(dir);
	dir = NULL;
}

TestSuite(delivery, .init = setup, .fini = teardown, .timeout = 90);

static const char *rules_argv[8];

/* Start the agent: stdout_fd -1 = closed, else dup'd to 1. */
static void agent_spawn(int stdout_fd, const char *output)
{
	const char *argv[16] = { BIN, "run", "--config", conf };
	size_t n = 4;

	if (rules_argv[0]) {
		for (size_t i = 0; rules_argv[i]; i++)
			argv[n++] = rules_argv[i];
	} else {
		argv[n++] = "--no-rules";
		argv[n++] = "--events";
	}
	if (output) {
		argv[n++] = "--output";
		argv[n++] = output;
	}
	int e = open(errf, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	cr_assert_geq(e, 0);
	fflush(NULL);
	agent = fork();
	cr_assert_geq(agent, 0);
	if (agent == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		dup2(e, 2);
		if (stdout_fd < 0)
			close(1);
		else
			dup2(stdout_fd, 1);
		execv(BIN, (char *const *)argv);
		_exit(127);
	}
	close(e);
	/* ready once stderr says "attached" */
	for (uint64_t end = now_ms() + DEADLINE_MS; now_ms() < end;) {
		char *err = file_get(errf);
		bool up = strstr(err, "attached") != NULL;

		free(err);
		if (up)
			return;
		if (waitpid(agent, NULL, WNOHANG) == agent) {
			agent = -1;
			break;
		}
		usleep(10000);
	}
	cr_assert_fail("agent did not attach:\n%s", file_get(errf));
}

/* SIGTERM; the agent must be gone within the deadline. Returns stderr. */
static char *agent_stop(void)
{
	int st = -1;

	cr_assert_gt(agent, 0);
	kill(agent, SIGTERM);
	st = harness_reap(agent, DEADLINE_MS);
	if (st == -1)
		kill(agent, SIGKILL);
	agent = -1;
	cr_assert_neq(st, -1, "the agent did not stop within %d ms of SIGTERM", DEADLINE_MS);
	cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 0, "agent exit status 0x%x", st);
	return file_get(errf);
}

static void open_n(int n)
{
	char path[600];

	snprintf(path, sizeof(path), "%s/f", watched);
	for (int i = 0; i < n; i++) {
		int fd = open(path, O_WRONLY | O_CREAT, 0644);

		if (fd >= 0)
			close(fd);
	}
}

static void child_open_n(void *arg)
{
	open_n((int)(intptr_t)arg);
}

/* The final "twinguard: stats {...}" line. */
static cJSON *stats_of(const char *err)
{
	const char *p = strstr(err, "twinguard: stats ");
	cJSON *j;

	cr_assert_not_null(p, "no stats line:\n%s", err);
	p += strlen("twinguard: stats ");
	j = cJSON_ParseWithLength(p, strcspn(p, "\n"));
	cr_assert_not_null(j);
	return j;
}

static double jnum_at(const cJSON *j, const char *a, const char *b)
{
	const cJSON *o = cJSON_GetObjectItem(j, a);

	if (b)
		o = cJSON_GetObjectItem(o, b);
	return cJSON_IsNumber(o) ? o->valuedouble : -1;
}

Test(delivery, closed_stdout_counts_and_warns)
{
	char *err;
	cJSON *st;

	agent_spawn(-1, NULL);
	harness_child_ok(child_open_n, (void *)(intptr_t)200);
	err = agent_stop();
	cr_expect_not_null(strstr(err, "stdout was closed at start"), "no warning:\n%s", err);
	cr_expect_not_null(strstr(err, "records at stage output"), "no agent-loss warning:\n%s", err);
	st = stats_of(err);
	cr_expect_eq(jnum_at(st, "output_lines", NULL), 0, "nothing may claim to be written");
	cr_expect_geq(jnum_at(st, "drops_by_stage", "output"), 200,
		      "the open events were not counted as dropped:\n%s", err);
	cJSON_Delete(st);
	free(err);
}

/* A reader that opens the FIFO and never reads: the pipe fills, intake
 * goes on, and SIGTERM still stops the agent within the deadline. */
Test(delivery, stalled_fifo_reader_blocks_nothing)
{
	char fifo[600], *err;
	int rd;
	cJSON *st;

	snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
	cr_assert_eq(mkfifo(fifo, 0600), 0);
	rd = open(fifo, O_RDONLY | O_NONBLOCK);
	cr_assert_geq(rd, 0);
	agent_spawn(2, fifo);
	harness_child_ok(child_open_n, (void *)(intptr_t)20000);
	harness_child_ok(child_open_n, (void *)(intptr_t)10);
	err = agent_stop();
	close(rd);
	st = stats_of(err);
	/* every event either went into the pipe or was counted */
	cr_expect_gt(jnum_at(st, "output_errors", NULL), 0, "a full pipe must show as drops:\n%s", err);
	cr_expect_eq(jnum_at(st, "drops", NULL), 0, "the kernel ring must not drop: intake "
		     "was blocked by the output");
	cJSON_Delete(st);
	free(err);
}

/* Every line in path parses; returns how many. */
static int lines_all_json(const char *path)
{
	char *text = file_get(path), *save = NULL;
	int n = 0;

	for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		cJSON *j = cJSON_Parse(l);

		cr_expect_not_null(j, "line %d is not JSON (cut or glued): %.120s", n + 1, l);
		cJSON_Delete(j);
		n++;
	}
	free(text);
	return n;
}

Test(delivery, full_disk_never_leaves_half_a_line)
{
	char mnt[600], out[700], *err;
	cJSON *st;
	int n;

	snprintf(mnt, sizeof(mnt), "%s/tmpfs", dir);
	cr_assert_eq(mkdir(mnt, 0755), 0);
	cr_assert_eq(mount("tmpfs", mnt, "tmpfs", 0, "size=48k"), 0, "mount: %s", strerror(errno));
	mounted = true;
	snprintf(out, sizeof(out), "%s/events.json", mnt);
	agent_spawn(2, out);
	harness_child_ok(child_open_n, (void *)(intptr_t)500);
	err = agent_stop();
	n = lines_all_json(out);
	st = stats_of(err);
	cr_expect_gt(n, 0, "nothing was written before the disk filled");
	cr_expect_eq(jnum_at(st, "output_lines", NULL), n, "output_lines %.0f, file has %d lines",
		     jnum_at(st, "output_lines", NULL), n);
	cr_expect_gt(jnum_at(st, "output_errors", NULL), 0, "the full disk was not counted:\n%s", err);
	cJSON_Delete(st);
	free(err);
}

Test(delivery, deleted_output_file_is_recreated)
{
	char out[600], *err;
	struct stat sb;
	int n = 0;

	snprintf(out, sizeof(out), "%s/events.json", dir);
	agent_spawn(2, out);
	harness_child_ok(child_open_n, (void *)(intptr_t)5);
	cr_assert_eq(unlink(out), 0, "%s: %s", out, strerror(errno));
	/* the stream notices within about a second; events keep coming */
	for (uint64_t end = now_ms() + DEADLINE_MS; now_ms() < end && stat(out, &sb); )
		harness_child_ok(child_open_n, (void *)(intptr_t)5);
	cr_assert_eq(stat(out, &sb), 0, "%s was not recreated", out);
	harness_child_ok(child_open_n, (void *)(intptr_t)5);
	err = agent_stop();
	n = lines_all_json(out);
	cr_expect_gt(n, 0, "the recreated file is empty");
	cr_expect_not_null(strstr(err, "removed or moved away"), "no word of it:\n%s", err);
	free(err);
}

/* On a terminal: one readable line per alert, and a hostile name's
 * escape sequence is shown, not obeyed. */
Test(delivery, terminal_gets_readable_escaped_lines)
{
	char rules[600], empty[600], rule[700], mark[700], cmd[1600], *err;
	char screen[8192];
	size_t got = 0;
	int master, slave;

	snprintf(empty, sizeof(empty), "%s/packs", dir);
	snprintf(rules, sizeof(rules), "%s/rules.d", dir);
	cr_assert_eq(mkdir(empty, 0755), 0);
	cr_assert_eq(mkdir(rules, 0755), 0);
	snprintf(rule, sizeof(rule), "%s/mark.json", rules);
	file_put(rule, "[{\"rule\": \"tg-dlv-mark\", \"desc\": \"test marker\",\n"
		 " \"condition\": \"event.action = exec and process.name = tg-dlv-mark\",\n"
		 " \"output\": \"marked %process.args\", \"priority\": \"critical\"}]\n");
	snprintf(mark, sizeof(mark), "%s/tg-dlv-mark", dir);
	cr_assert_eq(symlink("/bin/true", mark), 0);
	rules_argv[0] = "--rules-dir";
	rules_argv[1] = empty;
	rules_argv[2] = "--local-dir";
	rules_argv[3] = rules;
	rules_argv[4] = NULL;
	cr_assert_eq(openpty(&master, &slave, NULL, NULL, NULL), 0, "openpty: %s", strerror(errno));
	agent_spawn(slave, NULL);
	close(slave);
	snprintf(cmd, sizeof(cmd), "'%s' \"$(printf 'x\\033[2Jy')\"", mark);
	cr_assert_eq(sh("%s", cmd), 0);
	for (uint64_t end = now_ms() + DEADLINE_MS; now_ms() < end && !strstr(screen, "\n");) {
		struct pollfd p = { .fd = master, .events = POLLIN };
		ssize_t n;

		screen[got] = '\0';
		if (poll(&p, 1, 100) <= 0)
			continue;
		n = read(master, screen + got, sizeof(screen) - 1 - got);
		if (n > 0)
			got += (size_t)n;
		screen[got] = '\0';
	}
	err = agent_stop();
	close(master);
	rules_argv[0] = NULL;
	cr_assert_not_null(strstr(screen, "tg-dlv-mark: marked"), "no readable alert line on the "
			   "terminal: '%s'\nstderr:\n%s", screen, err);
	cr_expect_not_null(strstr(screen, "CRITICAL"), "no priority: %s", screen);
	cr_expect_not_null(strstr(screen, "x\\x1b[2Jy"), "the ESC was not escaped: %s", screen);
	cr_expect_null(strstr(screen, "x\033[2Jy"), "a raw escape reached the terminal");
	cr_expect_null(strstr(screen, "{\"@timestamp\""), "JSON on a terminal: %s", screen);
	free(err);
}

static bool is_loss(const cJSON *j, const char *stage)
{
	const cJSON *ev = cJSON_GetObjectItem(j, "event");
	const cJSON *loss = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "twinguard"), "loss");

	return cJSON_IsString(cJSON_GetObjectItem(ev, "action")) &&
	       !strcmp(cJSON_GetObjectItem(ev, "action")->valuestring, "agent-loss") &&
	       cJSON_IsString(cJSON_GetObjectItem(loss, "stage")) &&
	       !strcmp(cJSON_GetObjectItem(loss, "stage")->valuestring, stage);
}

/* Kernel ring drops reach the alert stream as agent-loss records, while
 * the agent runs, with counts that add up to the final total. */
Test(delivery, ring_drops_are_reported_in_band)
{
	char out[600], text[1024], *err, *lines, *save = NULL;
	double total = 0, last_total = 0, drops;
	int found = 0;
	cJSON *st;

	snprintf(text, sizeof(text), "events = file\nwatch_rw = %s/\ncontrol_socket = off\n"
		 "loss_report_s = 1\nringbuf_kb = 4\n", watched);
	file_put(conf, text);
	snprintf(out, sizeof(out), "%s/events.json", dir);
	agent_spawn(2, out);
	/* flood until a loss record is in the stream (bounded) */
	for (uint64_t end = now_ms() + DEADLINE_MS; now_ms() < end && !found;) {
		harness_child_ok(child_open_n, (void *)(intptr_t)20000);
		lines = file_get(out);
		found = strstr(lines, "\"agent-loss\"") != NULL;
		free(lines);
	}
	cr_assert(found, "no agent-loss record in the stream within %d ms", DEADLINE_MS);
	err = agent_stop();
	st = stats_of(err);
	drops = jnum_at(st, "drops", NULL);
	lines = file_get(out);
	for (char *l = strtok_r(lines, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		cJSON *j = cJSON_Parse(l);
		const cJSON *loss = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "twinguard"), "loss");

		if (j && is_loss(j, "kernel_ring")) {
			total += cJSON_GetObjectItem(loss, "count")->valuedouble;
			last_total = cJSON_GetObjectItem(loss, "total")->valuedouble;
			cr_expect_str_eq(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "rule"), "name")
						 ->valuestring, "agent-loss");
		}
		cJSON_Delete(j);
	}
	cr_expect_gt(drops, 0);
	cr_expect_eq(total, last_total, "counts %.0f do not add up to the last total %.0f", total,
		     last_total);
	cr_expect_eq(last_total, drops, "the stream's last total %.0f != the final drops %.0f",
		     last_total, drops);
	free(lines);
	cJSON_Delete(st);
	free(err);
}
