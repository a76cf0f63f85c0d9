// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * exec_rate: run PROG N times at RATE per second (an absolute schedule,
 * so a slow start does not slow the rest), each reaped before the next
 * slot. For the alert latency bench: one alert per exec.
 *
 *   exec_rate PROG RATE N     prints the achieved rate on stdout
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct timespec t, start, end;
	long rate, n, step;

	if (argc != 4 || (rate = atol(argv[2])) <= 0 || (n = atol(argv[3])) <= 0) {
		fprintf(stderr, "usage: exec_rate PROG RATE N\n");
		return 64;
	}
	step = 1000000000L / rate;
	clock_gettime(CLOCK_MONOTONIC, &t);
	start = t;
	for (long i = 0; i < n; i++) {
		pid_t pid = fork();

		if (pid < 0)
			return 1;
		if (pid == 0) {
			execl(argv[1], argv[1], (char *)NULL);
			_exit(127);
		}
		waitpid(pid, NULL, 0);
		t.tv_nsec += step;
		while (t.tv_nsec >= 1000000000L) {
			t.tv_nsec -= 1000000000L;
			t.tv_sec++;
		}
		clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &t, NULL);
	}
	clock_gettime(CLOCK_MONOTONIC, &end);
	printf("%.1f\n", (double)n / ((double)(end.tv_sec - start.tv_sec) +
				     (double)(end.tv_nsec - start.tv_nsec) / 1e9));
	return 0;
}
