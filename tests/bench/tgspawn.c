// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * tgspawn: launch the agent for tests/bench/bench.sh and time its start-up.
 *
 *   tgspawn LOG -- PROG [ARG...]
 *
 * Runs PROG with its stderr on a pipe, copies everything that arrives there
 * to LOG (PROG's stdout goes straight to LOG), and reports on stdout, one
 * line each, as they happen:
 *
 *   pid N              PROG is running as pid N
 *   attached S         the "twinguard: attached " line arrived S seconds
 *                      after the fork (the start-up time the bench reports)
 *   exit N | signal N  PROG ended; tgspawn then exits with PROG's status
 *
 * The timing is taken here, next to the pipe, rather than in the shell,
 * which could only poll a log file for the line.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define ATTACHED_PREFIX "twinguard: attached "
/* Longest stderr line matched against ATTACHED_PREFIX; the rest still goes to LOG. */
#define MAX_LINE 4096

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void say(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	/* The bench polls this output while PROG runs: never leave it buffered. */
	fflush(stdout);
}

int main(int argc, char **argv)
{
	char buf[4096], line[MAX_LINE];
	size_t line_len = 0;
	int attached = 0, status, logfd, pipefd[2];
	double start;
	ssize_t n, i;
	pid_t pid;

	if (argc < 4 || strcmp(argv[2], "--") != 0) {
		fprintf(stderr, "usage: tgspawn LOG -- PROG [ARG...]\n");
		return 2;
	}
	logfd = open(argv[1], O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (logfd < 0) {
		fprintf(stderr, "tgspawn: failed to open %s: %s\n", argv[1], strerror(errno));
		return 2;
	}
	if (pipe2(pipefd, O_CLOEXEC) < 0) {
		fprintf(stderr, "tgspawn: failed to create pipe: %s\n", strerror(errno));
		return 2;
	}
	/* The bench stops PROG by signalling its pid; tgspawn just outlives it. */
	signal(SIGINT, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);

	start = now_s();
	pid = fork();
	if (pid < 0) {
		fprintf(stderr, "tgspawn: failed to fork: %s\n", strerror(errno));
		return 2;
	}
	if (pid == 0) {
		signal(SIGINT, SIG_DFL);
		signal(SIGPIPE, SIG_DFL);
		/* stdout is ours (the protocol above): PROG's goes to LOG. */
		dup2(logfd, STDOUT_FILENO);
		dup2(pipefd[1], STDERR_FILENO);
		execv(argv[3], &argv[3]);
		dprintf(pipefd[1], "tgspawn: failed to exec %s: %s\n", argv[3], strerror(errno));
		_exit(127);
	}
	close(pipefd[1]);
	say("pid %d\n", (int)pid);

	for (;;) {
		n = read(pipefd[0], buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (write(logfd, buf, n) != n)
			fprintf(stderr, "tgspawn: failed to write %s: %s\n", argv[1], strerror(errno));
		for (i = 0; i < n && !attached; i++) {
			if (buf[i] != '\n') {
				if (line_len < sizeof(line) - 1)
					line[line_len++] = buf[i];
				continue;
			}
			line[line_len] = '\0';
			line_len = 0;
			if (strncmp(line, ATTACHED_PREFIX, strlen(ATTACHED_PREFIX)) == 0) {
				attached = 1;
				say("attached %.6f\n", now_s() - start);
			}
		}
	}

	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			fprintf(stderr, "tgspawn: failed to wait for %d: %s\n", (int)pid, strerror(errno));
			return 2;
		}
	}
	if (WIFSIGNALED(status)) {
		say("signal %d\n", WTERMSIG(status));
		return 128 + WTERMSIG(status);
	}
	say("exit %d\n", WEXITSTATUS(status));
	return WEXITSTATUS(status);
}
