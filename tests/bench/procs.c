// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * procs: hold N idle processes alive for the bench's process-table test.
 *
 *   procs N
 *
 * Forks N children that only pause(), prints "ready N" on stdout once all
 * exist, then waits for SIGTERM or SIGINT, kills and reaps every child, and
 * exits 0. A child costs a few pages of kernel memory and no CPU, so ten
 * thousand of them stand in for a busy host's process table. Children also
 * die on their own if procs is killed outright (PR_SET_PDEATHSIG), so a
 * crashed bench never leaves them behind.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

static void kill_all(pid_t *kids, long n)
{
	long i;

	for (i = 0; i < n; i++)
		kill(kids[i], SIGKILL);
	for (i = 0; i < n; i++)
		while (waitpid(kids[i], NULL, 0) < 0 && errno == EINTR)
			;
}

int main(int argc, char **argv)
{
	sigset_t stop;
	pid_t *kids, parent = getpid();
	long i, n;
	char *end;
	int sig;

	if (argc != 2) {
		fprintf(stderr, "usage: procs N\n");
		return 2;
	}
	n = strtol(argv[1], &end, 10);
	if (*end || n <= 0 || n > 1000000) {
		fprintf(stderr, "procs: bad count '%s'; expected 1..1000000\n", argv[1]);
		return 2;
	}
	kids = calloc(n, sizeof(*kids));
	if (!kids) {
		fprintf(stderr, "procs: failed to allocate %ld pids\n", n);
		return 1;
	}

	/* Blocked before forking, so a stop request that races the forks waits for sigwait(). */
	sigemptyset(&stop);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGINT);
	sigprocmask(SIG_BLOCK, &stop, NULL);

	for (i = 0; i < n; i++) {
		kids[i] = fork();
		if (kids[i] < 0) {
			fprintf(stderr, "procs: failed to fork child %ld of %ld: %s\n", i + 1, n,
				strerror(errno));
			kill_all(kids, i);
			return 1;
		}
		if (kids[i] == 0) {
			sigprocmask(SIG_UNBLOCK, &stop, NULL);
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			if (getppid() != parent)
				_exit(0);
			for (;;)
				pause();
		}
	}
	printf("ready %ld\n", n);
	fflush(stdout);

	sigwait(&stop, &sig);
	kill_all(kids, n);
	free(kids);
	return 0;
}
