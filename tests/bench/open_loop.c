// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * open_loop: the open+close workload of tests/bench/bench.sh.
 *
 *   open_loop PATH N    open(PATH, O_RDONLY) + close(), N times
 *   open_loop PATH N -f the same, failing opens included (a flood of
 *                       EACCES, as an unprivileged attacker would)
 *
 * Prints the elapsed wall time in seconds on stdout. PATH should lie under
 * no watched prefix, so the number shows what every unwatched open pays for
 * the agent's in-kernel prefix filter: the common case on a real host.
 */
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
	const char *path;
	double start;
	long i, n;
	char *end;
	int fd;

	bool failing = argc == 4 && !strcmp(argv[3], "-f");

	if (argc != 3 && !failing) {
		fprintf(stderr, "usage: open_loop PATH N [-f]\n");
		return 2;
	}
	path = argv[1];
	n = strtol(argv[2], &end, 10);
	if (*end || n <= 0) {
		fprintf(stderr, "open_loop: bad count '%s'; expected a positive integer\n", argv[2]);
		return 2;
	}

	start = now_s();
	for (i = 0; i < n; i++) {
		fd = open(path, O_RDONLY);
		if (fd < 0 && failing)
			continue;
		if (fd < 0) {
			fprintf(stderr, "open_loop: failed to open %s: %s\n", path, strerror(errno));
			return 1;
		}
		close(fd);
	}
	printf("%.6f\n", now_s() - start);
	return 0;
}
