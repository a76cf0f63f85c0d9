// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The syslog sink (unix/udp/tcp) driven through its ops as the worker
 * drives it, against sockets the test holds: the exact bytes on the wire
 * (octet-counting frames, one datagram per record, LF on a unix stream),
 * the oversized UDP record dropped and counted, a collector that closed,
 * a refused connection, and the config errors naming their keys.
 * sink_error()/sink_drop() count into a real worker struct (no thread).
 */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "deliver/fmt_syslog.h"
#include "deliver/sink.h"
#include "deliver/worker.h"
#include "tmpdir.h"

static struct tg_sink_worker wk;
static struct tg_config cfg;
static int srv = -1, conn = -1;

static void ss_setup(void)
{
	tmp_setup();
}

static void ss_teardown(void)
{
	if (wk.sink.ops) {
		wk.sink.ops->close(&wk.sink);
		wk.sink.ops->destroy(&wk.sink);
	}
	free(cfg.syslog);
	free(cfg.syslog_format);
	free(cfg.syslog_facility);
	if (conn >= 0)
		close(conn);
	if (srv >= 0)
		close(srv);
	tmp_teardown();
}

TestSuite(sink_syslog, .init = ss_setup, .fini = ss_teardown, .timeout = 60);

static int ss_init(const char *url, const char *format, const char *facility, char *err,
		   size_t errlen)
{
	memset(&cfg, 0, sizeof(cfg));
	memset(&wk, 0, sizeof(wk));
	pthread_mutex_init(&wk.mu, NULL);
	wk.sink.w = &wk;
	cfg.syslog = url ? strdup(url) : NULL;
	cfg.syslog_format = format ? strdup(format) : NULL;
	cfg.syslog_facility = facility ? strdup(facility) : NULL;
	snprintf(wk.sink.name, sizeof(wk.sink.name), "syslog");
	wk.sink.cfg = &cfg;
	return sink_syslog_init(&wk.sink, err, errlen);
}

static void ss_start(const char *url)
{
	char err[512] = "";

	cr_assert_eq(ss_init(url, NULL, NULL, err, sizeof(err)), 0, "init %s: %s", url, err);
}

static struct tg_record *mk(size_t json_len, unsigned i)
{
	struct tg_record *r = calloc(1, sizeof(*r));

	cr_assert_not_null(r);
	r->kind = TG_REC_ALERT;
	r->priority = 2;
	r->time_ns = 1796624234000000000ull + i;
	r->rule = "r";
	r->json = malloc(json_len + 1);
	cr_assert_not_null(r->json);
	memset(r->json, 'j', json_len);
	snprintf(r->json, json_len + 1, "{\"i\":%u", i);
	r->json[strlen(r->json)] = 'j';
	r->json[json_len - 1] = '}';
	r->json[json_len] = '\0';
	r->json_len = json_len;
	return r;
}

static void rec_free(struct tg_record *r)
{
	free(r->json);
	free(r);
}

/* What the sink renders for r (same host, pid, facility, format). */
static char *expected(const struct tg_record *r, size_t *len)
{
	static char host[256];
	struct tg_syslog_opts o = { .facility = 16, .format = TG_SYSLOG_JSON, .pid = getpid() };

	if (gethostname(host, sizeof(host) - 1))
		host[0] = '\0';
	o.hostname = host;
	return fmt_syslog_render(&o, r, len);
}

static int inet_server(int type, int *port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof(sa);
	int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);

	cr_assert_geq(fd, 0);
	cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	if (type == SOCK_STREAM)
		cr_assert_eq(listen(fd, 4), 0);
	cr_assert_eq(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
	*port = ntohs(sa.sin_port);
	return fd;
}

/* Read exactly len bytes within a deadline. */
static void read_exact(int fd, char *buf, size_t len)
{
	size_t off = 0;

	for (int tries = 0; off < len && tries < 100; tries++) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t n;

		if (poll(&p, 1, 100) <= 0)
			continue;
		n = recv(fd, buf + off, len - off, 0);
		cr_assert_gt(n, 0, "peer closed after %zu of %zu bytes", off, len);
		off += (size_t)n;
	}
	cr_assert_eq(off, len, "%zu of %zu bytes arrived", off, len);
}

static void expect_nothing_more(int fd)
{
	char c;

	cr_expect_eq(recv(fd, &c, 1, MSG_DONTWAIT), -1, "more bytes than the frames");
}

Test(sink_syslog, tcp_octet_counting_exact)
{
	struct tg_record *r[3] = { mk(20, 0), mk(300, 1), mk(5000, 2) };
	char url[64], want[16384], got[16384];
	size_t wl = 0;
	int port;

	srv = inet_server(SOCK_STREAM, &port);
	snprintf(url, sizeof(url), "tcp://127.0.0.1:%d", port);
	ss_start(url);
	cr_assert_eq(wk.sink.ops->open(&wk.sink), 0, "%s", wk.last_error);
	conn = accept(srv, NULL, NULL);
	cr_assert_geq(conn, 0);
	cr_expect_eq(wk.sink.ops->send(&wk.sink, r, 3), 3, "%s", wk.last_error);
	for (int i = 0; i < 3; i++) {
		size_t len;
		char *m = expected(r[i], &len);

		wl += (size_t)snprintf(want + wl, sizeof(want) - wl, "%zu %s", len, m);
		free(m);
	}
	read_exact(conn, got, wl);
	cr_expect_eq(memcmp(got, want, wl), 0, "frames differ:\n%.*s\n%.*s", (int)wl, got, (int)wl,
		     want);
	expect_nothing_more(conn);
	cr_expect_eq(wk.errors, 0);
	cr_expect_eq(wk.dropped, 0);
	for (int i = 0; i < 3; i++)
		rec_free(r[i]);
}

Test(sink_syslog, tcp_peer_closed_is_noticed)
{
	struct tg_record *r = mk(20, 0);
	char url[64];
	int port;

	srv = inet_server(SOCK_STREAM, &port);
	snprintf(url, sizeof(url), "tcp://127.0.0.1:%d", port);
	ss_start(url);
	cr_assert_eq(wk.sink.ops->open(&wk.sink), 0);
	conn = accept(srv, NULL, NULL);
	close(conn);
	conn = -1;
	for (int i = 0; i < 100 && wk.sink.ops->tick(&wk.sink) == 0; i++)
		poll(NULL, 0, 10);
	cr_expect_eq(wk.sink.ops->tick(&wk.sink), -1, "tick did not see the close");
	cr_expect_eq(wk.sink.ops->send(&wk.sink, &r, 1), 0, "sent into a closed connection");
	cr_expect_geq(wk.errors, 1);
	cr_expect_not_null(strstr(wk.last_error, "closed the connection"), "%s", wk.last_error);
	rec_free(r);
}

Test(sink_syslog, tcp_refused)
{
	char url[64];
	int port;

	srv = inet_server(SOCK_STREAM, &port);
	close(srv); /* a port nobody listens on now */
	srv = -1;
	snprintf(url, sizeof(url), "tcp://127.0.0.1:%d", port);
	ss_start(url);
	cr_expect_eq(wk.sink.ops->open(&wk.sink), -1);
	cr_expect_eq(wk.errors, 1);
	cr_expect_not_null(strstr(wk.last_error, "refused"), "%s", wk.last_error);
}

Test(sink_syslog, udp_datagrams_and_oversized_drop)
{
	struct tg_record *r[3] = { mk(100, 0), mk(70000, 1), mk(200, 2) };
	static char got[70000];
	char url[64];
	int port;

	srv = inet_server(SOCK_DGRAM, &port);
	snprintf(url, sizeof(url), "udp://127.0.0.1:%d", port);
	ss_start(url);
	cr_assert_eq(wk.sink.ops->open(&wk.sink), 0);
	cr_expect_eq(wk.sink.ops->send(&wk.sink, r, 3), 3, "%s", wk.last_error);
	cr_expect_eq(wk.dropped, 1, "the 70000-byte record is dropped, counted");
	for (int i = 0; i < 3; i += 2) {
		size_t len;
		char *m = expected(r[i], &len);
		struct pollfd p = { .fd = srv, .events = POLLIN };
		ssize_t n;

		cr_assert_eq(poll(&p, 1, 5000), 1, "datagram %d did not come", i);
		n = recv(srv, got, sizeof(got), 0);
		cr_expect_eq((size_t)n, len, "datagram %d: %zd bytes, want %zu", i, n, len);
		cr_expect_eq(memcmp(got, m, len), 0, "datagram %d differs", i);
		free(m);
	}
	expect_nothing_more(srv);
	for (int i = 0; i < 3; i++)
		rec_free(r[i]);
}

static int unix_server(int type, const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	cr_assert_geq(fd, 0);
	cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0, "%s", strerror(errno));
	if (type == SOCK_STREAM)
		cr_assert_eq(listen(fd, 4), 0);
	return fd;
}

Test(sink_syslog, unix_datagram)
{
	struct tg_record *r = mk(64, 7);
	char url[PATH_MAX + 16], got[4096];
	size_t len;
	char *m = expected(r, &len);
	ssize_t n;

	srv = unix_server(SOCK_DGRAM, tmp_path("log"));
	snprintf(url, sizeof(url), "unix://%s", tmp_path("log"));
	ss_start(url);
	cr_assert_eq(wk.sink.ops->open(&wk.sink), 0, "%s", wk.last_error);
	cr_expect_eq(wk.sink.ops->send(&wk.sink, &r, 1), 1);
	n = recv(srv, got, sizeof(got), MSG_DONTWAIT);
	cr_expect_eq((size_t)n, len);
	cr_expect_eq(memcmp(got, m, len), 0);
	free(m);
	rec_free(r);
}

Test(sink_syslog, unix_stream_fallback_ends_with_lf)
{
	struct tg_record *r[2] = { mk(64, 1), mk(65, 2) };
	char url[PATH_MAX + 16], got[4096], want[4096];
	size_t wl = 0;

	srv = unix_server(SOCK_STREAM, tmp_path("log"));
	snprintf(url, sizeof(url), "unix://%s", tmp_path("log"));
	ss_start(url);
	cr_assert_eq(wk.sink.ops->open(&wk.sink), 0, "%s", wk.last_error);
	conn = accept(srv, NULL, NULL);
	cr_assert_geq(conn, 0);
	cr_expect_eq(wk.sink.ops->send(&wk.sink, r, 2), 2);
	for (int i = 0; i < 2; i++) {
		size_t len;
		char *m = expected(r[i], &len);

		wl += (size_t)snprintf(want + wl, sizeof(want) - wl, "%s\n", m);
		free(m);
	}
	read_exact(conn, got, wl);
	cr_expect_eq(memcmp(got, want, wl), 0);
	for (int i = 0; i < 2; i++)
		rec_free(r[i]);
}

Test(sink_syslog, unix_missing_socket)
{
	char url[PATH_MAX + 16];

	snprintf(url, sizeof(url), "unix://%s", tmp_path("nothing"));
	ss_start(url);
	cr_expect_eq(wk.sink.ops->open(&wk.sink), -1);
	cr_expect_not_null(strstr(wk.last_error, "nothing"), "%s", wk.last_error);
}

Test(sink_syslog, config_errors_name_their_key)
{
	char err[512];

	cr_expect_eq(ss_init("tcp://host", NULL, NULL, err, sizeof(err)), -1);
	cr_expect_eq(strncmp(err, "syslog: bad URL 'tcp://host'", 28), 0, "%s", err);
	free(cfg.syslog);
	cr_expect_eq(ss_init("tcp://h:1", NULL, "local9", err, sizeof(err)), -1);
	cr_expect_eq(strncmp(err, "syslog_facility:", 16), 0, "%s", err);
	free(cfg.syslog);
	free(cfg.syslog_facility);
	cr_expect_eq(ss_init("tcp://h:1", "xml", NULL, err, sizeof(err)), -1);
	cr_expect_eq(strncmp(err, "syslog_format:", 14), 0, "%s", err);
	free(cfg.syslog);
	free(cfg.syslog_format);
	memset(&cfg, 0, sizeof(cfg));
	cr_expect_eq(ss_init("relp://127.0.0.1:1", "cef", "auth", err, sizeof(err)), 0, "%s", err);
	cr_expect_str_eq(wk.sink.ops->kind, "relp");
	cr_expect(wk.sink.ops->reliable);
	cr_expect_str_eq(wk.sink.target, "relp://127.0.0.1:1");
}
