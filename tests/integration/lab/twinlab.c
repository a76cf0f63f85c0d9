// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * twinlab: the stand-in for every program of the twin lab, one multi-call
 * binary. The rule tests compile it at test time and copy it to whatever
 * path the twin profile gives a role (service, deployer, client, ingest
 * writer) or to a path with no role (an intruder's tool), so the same code
 * runs under each identity and only process.executable differs.
 *
 *   twinlab listen ADDR PORT READY [MODE]  bind+listen, write READY, then serve:
 *                                          read each connection to EOF and
 *                                          append a line to READY.conns once it
 *                                          is closed. MODE http: answer the
 *                                          request; serve=BYTES: send BYTES first
 *   twinlab connect ADDR PORT BYTES [N]    N connections, BYTES sent on each
 *   twinlab fetch ADDR PORT                connect and read until the peer closes
 *   twinlab udp ADDR PORT BYTES [N]        N datagrams of BYTES from one
 *                                          unconnected socket (sendto)
 *   twinlab read FILE                      read FILE to the end
 *   twinlab readsend FILE ADDR PORT        read FILE ("-": stdin), then send it over TCP
 *   twinlab append FILE TEXT               O_WRONLY|O_APPEND|O_CREAT write
 *   twinlab copy SRC DST                   read SRC, create DST (O_CREAT|O_TRUNC)
 *   twinlab rename SRC DST                 rename(SRC, DST)
 *   twinlab spawn PROG [ARG...]            fork + exec PROG, wait for it
 *   twinlab wait READY                     write READY, then block (a service)
 *   twinlab ptrace PID                     PTRACE_ATTACH, wait, PTRACE_DETACH
 *   twinlab pvread PID                     process_vm_readv of PID's first mapping
 *   twinlab procmem PID                    open /proc/PID/mem, pread the first mapping
 *   twinlab kill PID SIGNUM                kill(PID, SIGNUM)
 *   twinlab bpfload NAME                   bpf(BPF_PROG_LOAD) of "r0 = 0; exit"
 *   twinlab finit FILE PARAMS              finit_module(open(FILE), PARAMS, bad flags)
 *
 * Exit status: 0 done, 2 usage, 3 the operation failed (errno on stderr).
 * Every command is bounded by alarm(): nothing it starts can hang a test.
 * TWINLAB_ALARM_S (1..86400) changes the bound: the lab's outside sink
 * (tests/lab/lab.sh) lives as long as the lab.
 * The addresses it talks to are the ones the test passes: loopback or the
 * test's own network namespace.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#define LAB_ALARM_S 60          /* no command outlives this */
#define CHUNK (64 * 1024)       /* send/read slice */
#define MAX_CONNS 1000          /* bound on `connect N` */
#define MAX_DATAGRAMS 4000      /* bound on `udp N` */

static char buf[CHUNK];

static int fail(const char *what)
{
	fprintf(stderr, "twinlab: %s: %s\n", what, strerror(errno));
	return 3;
}

static int usage(void)
{
	fprintf(stderr, "twinlab: bad usage (see the header of twinlab.c)\n");
	return 2;
}

static int sockaddr_of(const char *addr, const char *port, struct sockaddr_in *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_port = htons((unsigned short)atoi(port));
	return inet_pton(AF_INET, addr, &sa->sin_addr) == 1 ? 0 : -1;
}

/* Write "pid\n" to path through a rename, so a reader never sees half. */
static int ready(const char *path)
{
	char tmp[4096];
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "we");
	if (!f)
		return -1;
	fprintf(f, "%d\n", getpid());
	if (fclose(f))
		return -1;
	return rename(tmp, path);
}

static int write_file(const char *path, int flags, const char *data, size_t len);

static int send_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Serve: read each connection to EOF; in http mode answer the first
 * request (a client such as curl waits for it) and close; with serve=N
 * send N bytes to the client first (a twin streaming results). */
static int cmd_listen(int argc, char **argv)
{
	static const char reply[] = "HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n";
	struct sockaddr_in sa;
	char log[4096];
	int one = 1, ls;
	int http = argc > 5 && !strcmp(argv[5], "http");
	long serve = argc > 5 && !strncmp(argv[5], "serve=", 6) ? atol(argv[5] + 6) : 0;

	if (argc < 5 || sockaddr_of(argv[2], argv[3], &sa))
		return usage();
	ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (ls < 0)
		return fail("socket");
	setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(ls, (struct sockaddr *)&sa, sizeof(sa)))
		return fail("bind");
	if (listen(ls, 128))
		return fail("listen");
	if (ready(argv[4]))
		return fail("ready file");
	snprintf(log, sizeof(log), "%s.conns", argv[4]);
	for (;;) {
		int c = accept4(ls, NULL, NULL, SOCK_CLOEXEC);
		ssize_t r;
		int seen_end = 0;

		if (c < 0) {
			if (errno == EINTR)
				continue;
			return fail("accept");
		}
		if (serve > 0) {
			/* bounded: serve / CHUNK + 1 slices */
			memset(buf, 's', sizeof(buf));
			for (long left = serve; left > 0; left -= CHUNK)
				if (send_all(c, buf, left < CHUNK ? (size_t)left : CHUNK))
					break;
			shutdown(c, SHUT_WR);
		}
		while ((r = read(c, buf, sizeof(buf) - 1)) > 0) {
			buf[r] = 0;
			if (http && strstr(buf, "\r\n\r\n"))
				seen_end = 1;
			if (seen_end)
				break;
		}
		if (seen_end)
			send_all(c, reply, sizeof(reply) - 1);
		close(c);
		/* after the accept and the close: a test that saw this line knows
		 * both syscalls are behind it */
		if (write_file(log, O_APPEND | O_CREAT, "conn\n", 5))
			return 3;
	}
}

static int tcp_send(const struct sockaddr_in *sa, const char *data, size_t len, long bytes)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return fail("socket");
	if (connect(fd, (const struct sockaddr *)sa, sizeof(*sa))) {
		close(fd);
		return fail("connect");
	}
	if (data && send_all(fd, data, len)) {
		close(fd);
		return fail("send");
	}
	/* bounded: bytes / CHUNK + 1 slices */
	while (bytes > 0) {
		size_t n = bytes < CHUNK ? (size_t)bytes : CHUNK;

		if (send_all(fd, buf, n)) {
			close(fd);
			return fail("send");
		}
		bytes -= (long)n;
	}
	shutdown(fd, SHUT_WR);
	close(fd);
	return 0;
}

static int cmd_connect(int argc, char **argv)
{
	struct sockaddr_in sa;
	long bytes, n = 1;

	if (argc < 5 || sockaddr_of(argv[2], argv[3], &sa))
		return usage();
	bytes = atol(argv[4]);
	if (argc > 5)
		n = atol(argv[5]);
	if (n < 1 || n > MAX_CONNS)
		return usage();
	memset(buf, 'x', sizeof(buf));
	for (long i = 0; i < n; i++) {
		int rc = tcp_send(&sa, NULL, 0, bytes);

		if (rc)
			return rc;
	}
	return 0;
}

static int cmd_udp(int argc, char **argv)
{
	struct sockaddr_in sa;
	long bytes, n = 1;
	int fd;

	if (argc < 5 || sockaddr_of(argv[2], argv[3], &sa))
		return usage();
	bytes = atol(argv[4]);
	if (argc > 5)
		n = atol(argv[5]);
	if (bytes < 1 || bytes > 60000 || n < 1 || n > MAX_DATAGRAMS)
		return usage();
	memset(buf, 'u', sizeof(buf));
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return fail("socket");
	for (long i = 0; i < n; i++)
		if (sendto(fd, buf, (size_t)bytes, 0, (struct sockaddr *)&sa, sizeof(sa)) < 0)
			return fail("sendto");
	close(fd);
	return 0;
}

static int cmd_fetch(int argc, char **argv)
{
	struct sockaddr_in sa;
	ssize_t r;
	int fd;

	if (argc < 4 || sockaddr_of(argv[2], argv[3], &sa))
		return usage();
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return fail("socket");
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)))
		return fail("connect");
	shutdown(fd, SHUT_WR);
	/* ends at the server's close; alarm() bounds a server that never does */
	while ((r = read(fd, buf, sizeof(buf))) > 0)
		;
	close(fd);
	return r < 0 ? fail("read") : 0;
}

/* Read a whole file into a malloc'd buffer. */
static char *slurp(const char *path, size_t *len)
{
	int fd = strcmp(path, "-") ? open(path, O_RDONLY | O_CLOEXEC) : dup(0);
	char *p = NULL;
	size_t n = 0;
	ssize_t r;

	if (fd < 0)
		return NULL;
	for (;;) {
		char *q = realloc(p, n + CHUNK);

		if (!q) {
			free(p);
			close(fd);
			return NULL;
		}
		p = q;
		r = read(fd, p + n, CHUNK);
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	if (r < 0) {
		free(p);
		return NULL;
	}
	*len = n;
	return p;
}

static int cmd_read(int argc, char **argv)
{
	size_t n;
	char *p;

	if (argc < 3)
		return usage();
	p = slurp(argv[2], &n);
	if (!p)
		return fail("read");
	free(p);
	return 0;
}

static int cmd_readsend(int argc, char **argv)
{
	struct sockaddr_in sa;
	size_t n;
	char *p;
	int rc;

	if (argc < 5 || sockaddr_of(argv[3], argv[4], &sa))
		return usage();
	p = slurp(argv[2], &n);
	if (!p)
		return fail("read");
	rc = tcp_send(&sa, p, n, 0);
	free(p);
	return rc;
}

static int write_file(const char *path, int flags, const char *data, size_t len)
{
	int fd = open(path, flags | O_WRONLY | O_CLOEXEC, 0644);

	if (fd < 0)
		return fail("open");
	if (write(fd, data, len) != (ssize_t)len) {
		close(fd);
		return fail("write");
	}
	return close(fd) ? fail("close") : 0;
}

static int cmd_append(int argc, char **argv)
{
	if (argc < 4)
		return usage();
	return write_file(argv[2], O_APPEND | O_CREAT, argv[3], strlen(argv[3]));
}

static int cmd_copy(int argc, char **argv)
{
	size_t n;
	char *p;
	int rc;

	if (argc < 4)
		return usage();
	p = slurp(argv[2], &n);
	if (!p)
		return fail("read");
	rc = write_file(argv[3], O_CREAT | O_TRUNC, p, n);
	free(p);
	return rc;
}

static int cmd_rename(int argc, char **argv)
{
	if (argc < 4)
		return usage();
	return rename(argv[2], argv[3]) ? fail("rename") : 0;
}

static int cmd_spawn(int argc, char **argv)
{
	int st;
	pid_t pid;

	if (argc < 3)
		return usage();
	pid = fork();
	if (pid < 0)
		return fail("fork");
	if (pid == 0) {
		execv(argv[2], argv + 2);
		_exit(127);
	}
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return fail("waitpid");
	return WIFEXITED(st) ? WEXITSTATUS(st) : 3;
}

static void on_term(int sig)
{
	(void)sig;
	_exit(0);
}

/* A long-running service: blocks until SIGTERM/SIGINT (exit 0) or the
 * alarm. Signals that do not stop a service (SIGUSR1, SIGHUP) are ignored. */
static int cmd_wait(int argc, char **argv)
{
	struct sigaction sa;

	if (argc < 3)
		return usage();
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_term;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGUSR1, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	if (ready(argv[2]))
		return fail("ready file");
	for (;;)
		pause();
}

/* Start address of the first mapping of pid (its executable). */
static unsigned long first_mapping(pid_t pid)
{
	char path[64];
	unsigned long start = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	if (fscanf(f, "%lx-", &start) != 1)
		start = 0;
	fclose(f);
	return start;
}

static int cmd_ptrace(int argc, char **argv)
{
	pid_t pid;
	int st;

	if (argc < 3)
		return usage();
	pid = atoi(argv[2]);
	if (ptrace(PTRACE_ATTACH, pid, NULL, NULL))
		return fail("PTRACE_ATTACH");
	while (waitpid(pid, &st, __WALL) < 0)
		if (errno != EINTR)
			return fail("waitpid");
	if (ptrace(PTRACE_DETACH, pid, NULL, NULL))
		return fail("PTRACE_DETACH");
	return 0;
}

static int cmd_pvread(int argc, char **argv)
{
	struct iovec local, remote;
	char word[16];
	pid_t pid;

	if (argc < 3)
		return usage();
	pid = atoi(argv[2]);
	local.iov_base = word;
	local.iov_len = sizeof(word);
	remote.iov_base = (void *)first_mapping(pid);
	remote.iov_len = sizeof(word);
	if (process_vm_readv(pid, &local, 1, &remote, 1, 0) < 0)
		return fail("process_vm_readv");
	return 0;
}

static int cmd_procmem(int argc, char **argv)
{
	char path[64], word[16];
	pid_t pid;
	int fd;

	if (argc < 3)
		return usage();
	pid = atoi(argv[2]);
	snprintf(path, sizeof(path), "/proc/%d/mem", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return fail("open mem");
	if (pread(fd, word, sizeof(word), (off_t)first_mapping(pid)) < 0) {
		close(fd);
		return fail("pread mem");
	}
	close(fd);
	return 0;
}

static int cmd_kill(int argc, char **argv)
{
	if (argc < 4)
		return usage();
	return kill(atoi(argv[2]), atoi(argv[3])) ? fail("kill") : 0;
}

static int cmd_bpfload(int argc, char **argv)
{
	struct bpf_insn insns[2] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	union bpf_attr attr;
	int fd;

	if (argc < 3)
		return usage();
	memset(&attr, 0, sizeof(attr));
	attr.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
	attr.insns = (unsigned long)insns;
	attr.insn_cnt = 2;
	attr.license = (unsigned long)"GPL";
	strncpy(attr.prog_name, argv[2], sizeof(attr.prog_name) - 1);
	fd = (int)syscall(__NR_bpf, BPF_PROG_LOAD, &attr, sizeof(attr));
	if (fd < 0)
		return fail("BPF_PROG_LOAD");
	close(fd);
	return 0;
}

/*
 * finit_module() with flags no kernel accepts: it fails with EINVAL before
 * reading the file, so nothing is ever loaded, yet the syscall (and so the
 * module_load event, whose file.path comes from the fd) happens.
 */
static int cmd_finit(int argc, char **argv)
{
	int fd;
	long r;

	if (argc < 4)
		return usage();
	fd = open(argv[2], O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return fail("open module");
	r = syscall(__NR_finit_module, fd, argv[3], 0x40000000);
	close(fd);
	if (r == 0) {
		fprintf(stderr, "twinlab: finit_module unexpectedly succeeded\n");
		return 3;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(int, char **);
	} cmds[] = {
		{ "listen", cmd_listen }, { "connect", cmd_connect }, { "udp", cmd_udp },
		{ "fetch", cmd_fetch },
		{ "read", cmd_read }, { "readsend", cmd_readsend }, { "append", cmd_append },
		{ "copy", cmd_copy }, { "rename", cmd_rename }, { "spawn", cmd_spawn }, { "wait", cmd_wait },
		{ "ptrace", cmd_ptrace }, { "pvread", cmd_pvread }, { "procmem", cmd_procmem },
		{ "kill", cmd_kill }, { "bpfload", cmd_bpfload }, { "finit", cmd_finit },
	};

	const char *al = getenv("TWINLAB_ALARM_S");
	long secs = al ? atol(al) : LAB_ALARM_S;

	alarm(secs >= 1 && secs <= 86400 ? (unsigned)secs : LAB_ALARM_S);
	if (argc < 2)
		return usage();
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (!strcmp(argv[1], cmds[i].name))
			return cmds[i].fn(argc, argv);
	return usage();
}
