// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * exec_storm: the process-churn workload of tests/bench/bench.sh.
 *
 *   exec_storm PROG M    fork + exec PROG (no arguments) M times, one at a
 *                        time, waiting for each
 *
 * Prints the elapsed wall time in seconds on stdout. Each iteration is a
 * fork, an exec and an exit: the three process events an agent reports, at
 * the highest rate one shell-like parent can produce them.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	char *child_argv[2];
	int status;
	double start;
	long i, m;
	char *end;
	pid_t pid;

	if (argc != 3) {
		fprintf(stderr, "usage: exec_storm PROG M\n");
		return 2;
	}
	m = strtol(argv[2], &end, 10);
	if (*end || m <= 0) {
		fprintf(stderr, "exec_storm: bad count '%s'; expected a positive integer\n", argv[2]);
		return 2;
	}
	child_argv[0] = argv[1];
	child_argv[1] = NULL;

	start = now_s();
	for (i = 0; i < m; i++) {
		pid = fork();
		if (pid < 0) {
			fprintf(stderr, "exec_storm: failed to fork: %s\n", strerror(errno));
			return 1;
		}
		if (pid == 0) {
			execv(argv[1], child_argv);
			_exit(127);
		}
		if (waitpid(pid, &status, 0) < 0) {
			fprintf(stderr, "exec_storm: failed to wait for %d: %s\n", (int)pid, strerror(errno));
			return 1;
		}
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
			fprintf(stderr, "exec_storm: %s failed (wait status 0x%x)\n", argv[1], status);
			return 1;
		}
	}
	printf("%.6f\n", now_s() - start);
	return 0;
}
