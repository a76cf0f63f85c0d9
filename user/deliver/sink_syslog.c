// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The syslog sink (`syslog = URL`, docs/delivery.md "Syslog"): RFC 5424
 * messages (fmt_syslog.c) over a unix socket, UDP or TCP; relp:// is
 * handed to sink_relp.c. None of these is reliable: a record is done once
 * the kernel took it (datagram sent, bytes in the TCP send buffer).
 *
 *   unix   SOCK_DGRAM to the path (/dev/log); a stream-only socket
 *          (EPROTOTYPE) gets SOCK_STREAM, each message ended by LF
 *   udp    one datagram per record; larger than UDP_MAX: dropped, counted
 *   tcp    octet-counting frames "LEN SP MSG" (RFC 6587 §3.4.1)
 *
 * Every socket is non-blocking; waits are poll() slices bounded by
 * IO_TIMEOUT_MS without progress and by sink_stopping().
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "deliver/fmt_syslog.h"
#include "deliver/sink.h"

#define IO_TIMEOUT_MS 10000
#define POLL_SLICE_MS 200
/* The largest UDP payload over IPv4 (65535 - 20 - 8). A larger record is
 * dropped, not cut: a cut JSON or CEF body would not parse either. */
#define UDP_MAX 65507

struct syslog_sink {
	struct tg_syslog_url url;
	struct tg_syslog_opts opts;
	char hostname[256];
	int fd;
	int type;          /* SOCK_DGRAM or SOCK_STREAM */
	char *buf;         /* one batch of TCP frames */
	size_t cap;
};

/* Wait for fd to be ready for ev; 0 ready, -1 timed out or stopping. */
static int syslog_wait(struct tg_sink *s, int fd, short ev, int timeout_ms)
{
	for (int waited = 0; waited < timeout_ms; waited += POLL_SLICE_MS) {
		struct pollfd p = { .fd = fd, .events = ev };
		int n = poll(&p, 1, POLL_SLICE_MS);

		if (n > 0)
			return 0;
		if (n < 0 && errno != EINTR)
			return -1;
		if (sink_stopping(s))
			return -1;
	}
	errno = ETIMEDOUT;
	return -1;
}

static int syslog_open_unix(struct tg_sink *s, struct syslog_sink *ss)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int types[2] = { SOCK_DGRAM, SOCK_STREAM };

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", ss->url.path);
	for (int i = 0; i < 2; i++) {
		int fd = socket(AF_UNIX, types[i] | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

		if (fd < 0)
			break;
		if (!connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
			ss->fd = fd;
			ss->type = types[i];
			return 0;
		}
		close(fd);
		if (errno != EPROTOTYPE)
			break;
	}
	sink_error(s, "failed to connect to %s: %s", ss->url.path, strerror(errno));
	return -1;
}

/* Connect one address: non-blocking, bounded by IO_TIMEOUT_MS. */
static int syslog_connect_ai(struct tg_sink *s, const struct addrinfo *ai)
{
	int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	int soerr = 0;
	socklen_t sl = sizeof(soerr);

	if (fd < 0)
		return -1;
	if (!connect(fd, ai->ai_addr, ai->ai_addrlen))
		return fd;
	if (errno == EINPROGRESS && !syslog_wait(s, fd, POLLOUT, IO_TIMEOUT_MS) &&
	    !getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl)) {
		if (!soerr)
			return fd;
		errno = soerr;
	}
	soerr = errno;
	close(fd);
	errno = soerr;
	return -1;
}

static int syslog_open_inet(struct tg_sink *s, struct syslog_sink *ss)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC }, *res = NULL, *ai;
	int rc;

	ss->type = ss->url.scheme == TG_SYSLOG_UDP ? SOCK_DGRAM : SOCK_STREAM;
	hints.ai_socktype = ss->type;
	rc = getaddrinfo(ss->url.host, ss->url.port, &hints, &res);
	if (rc) {
		sink_error(s, "failed to resolve %s: %s", ss->url.host, gai_strerror(rc));
		return -1;
	}
	errno = ECONNREFUSED;
	for (ai = res; ai && ss->fd < 0; ai = ai->ai_next)
		ss->fd = syslog_connect_ai(s, ai);
	freeaddrinfo(res);
	if (ss->fd < 0) {
		sink_error(s, "failed to connect to %s: %s", s->target, strerror(errno));
		return -1;
	}
	return 0;
}

static int syslog_open(struct tg_sink *s)
{
	struct syslog_sink *ss = s->priv;

	ss->fd = -1;
	return ss->url.scheme == TG_SYSLOG_UNIX ? syslog_open_unix(s, ss) : syslog_open_inet(s, ss);
}

static void syslog_close(struct tg_sink *s)
{
	struct syslog_sink *ss = s->priv;

	if (ss->fd >= 0)
		close(ss->fd);
	ss->fd = -1;
}

/* Write all of p[0..len) to the stream; returns bytes written. */
static size_t syslog_write(struct tg_sink *s, struct syslog_sink *ss, const char *p, size_t len)
{
	size_t off = 0;

	while (off < len) {
		ssize_t n = send(ss->fd, p + off, len - off, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n > 0) {
			off += (size_t)n;
			continue;
		}
		if (n < 0 && (errno == EAGAIN || errno == EINTR) &&
		    !syslog_wait(s, ss->fd, POLLOUT, IO_TIMEOUT_MS))
			continue;
		sink_error(s, "failed to send to %s: %s", s->target, n < 0 ? strerror(errno) : "no progress");
		break;
	}
	return off;
}

/* A collector never writes on a syslog stream: readable means it closed
 * (FIN or RST). Checked before each batch, so a batch is not written into
 * a connection the peer already gave up (those bytes would vanish). */
static int syslog_peer_gone(struct tg_sink *s, struct syslog_sink *ss)
{
	struct pollfd p = { .fd = ss->fd, .events = POLLIN };
	char c;

	if (ss->type != SOCK_STREAM || poll(&p, 1, 0) <= 0)
		return 0;
	if (recv(ss->fd, &c, 1, MSG_DONTWAIT | MSG_PEEK) > 0)
		return 0; /* it talks: not a syslog collector, but not gone */
	sink_error(s, "%s closed the connection", s->target);
	return -1;
}

static int syslog_reserve(struct syslog_sink *ss, size_t need)
{
	size_t cap = ss->cap ? ss->cap : 65536;
	char *b;

	if (need <= ss->cap)
		return 0;
	while (cap < need)
		cap *= 2;
	b = realloc(ss->buf, cap);
	if (!b)
		return -1;
	ss->buf = b;
	ss->cap = cap;
	return 0;
}

/* One datagram; 1 = done (sent or dropped), 0 = failed. */
static int syslog_send_dgram(struct tg_sink *s, struct syslog_sink *ss, const char *m, size_t len)
{
	if (ss->url.scheme == TG_SYSLOG_UDP && len > UDP_MAX) {
		sink_drop(s, 1);
		return 1;
	}
	for (;;) {
		if (send(ss->fd, m, len, MSG_NOSIGNAL | MSG_DONTWAIT) == (ssize_t)len)
			return 1;
		if (errno == EMSGSIZE) {
			sink_drop(s, 1);
			return 1;
		}
		if ((errno == EAGAIN || errno == EINTR) && !syslog_wait(s, ss->fd, POLLOUT, IO_TIMEOUT_MS))
			continue;
		sink_error(s, "failed to send to %s: %s", s->target, strerror(errno));
		return 0;
	}
}

static size_t syslog_send_stream(struct tg_sink *s, struct syslog_sink *ss,
				 struct tg_record *const *recs, size_t n)
{
	size_t ends[256], off = 0, wrote, done = 0, i;

	for (i = 0; i < n && i < 256; i++) {
		size_t len;
		char *m = fmt_syslog_render(&ss->opts, recs[i], &len);

		if (!m || syslog_reserve(ss, off + len + 24)) {
			free(m);
			break;
		}
		if (ss->url.scheme == TG_SYSLOG_TCP)
			off += (size_t)snprintf(ss->buf + off, 24, "%zu ", len);
		memcpy(ss->buf + off, m, len);
		off += len;
		if (ss->url.scheme == TG_SYSLOG_UNIX)
			ss->buf[off++] = '\n';
		ends[i] = off;
		free(m);
	}
	if (i < n && !i)
		sink_error(s, "out of memory for a syslog message");
	wrote = syslog_write(s, ss, ss->buf, off);
	while (done < i && ends[done] <= wrote)
		done++;
	return done;
}

static size_t syslog_send(struct tg_sink *s, struct tg_record *const *recs, size_t n)
{
	struct syslog_sink *ss = s->priv;
	size_t i;

	if (ss->fd < 0 || syslog_peer_gone(s, ss))
		return 0;
	if (ss->type == SOCK_STREAM)
		return syslog_send_stream(s, ss, recs, n);
	for (i = 0; i < n; i++) {
		size_t len;
		char *m = fmt_syslog_render(&ss->opts, recs[i], &len);
		int ok = m && syslog_send_dgram(s, ss, m, len);

		if (!m)
			sink_error(s, "out of memory for a syslog message");
		free(m);
		if (!ok)
			break;
	}
	return i;
}

static int syslog_tick(struct tg_sink *s)
{
	struct syslog_sink *ss = s->priv;

	return ss->fd >= 0 && syslog_peer_gone(s, ss) ? -1 : 0;
}

static void syslog_destroy(struct tg_sink *s)
{
	struct syslog_sink *ss = s->priv;

	if (ss)
		free(ss->buf);
	free(ss);
	s->priv = NULL;
}

static const struct tg_sink_ops syslog_ops = {
	.kind = "syslog",
	.reliable = false,
	.open = syslog_open,
	.send = syslog_send,
	.close = syslog_close,
	.tick = syslog_tick,
	.destroy = syslog_destroy,
};

int sink_syslog_init(struct tg_sink *s, char *err, size_t errlen)
{
	const struct tg_config *c = s->cfg;
	struct syslog_sink *ss = calloc(1, sizeof(*ss));
	int fac = fmt_syslog_facility(c->syslog_facility);

	if (!ss) {
		snprintf(err, errlen, "syslog: out of memory");
		return -1;
	}
	if (fmt_syslog_url(c->syslog, &ss->url, err, errlen) ||
	    (fac < 0 && snprintf(err, errlen, "syslog_facility: unknown facility '%s'; expected "
				 "kern, user, ..., local0 .. local7", c->syslog_facility) > 0) ||
	    (c->syslog_format && strcmp(c->syslog_format, "json") && strcmp(c->syslog_format, "cef") &&
	     snprintf(err, errlen, "syslog_format: unknown format '%s'; expected json or cef",
		      c->syslog_format) > 0)) {
		free(ss);
		return -1;
	}
	if (gethostname(ss->hostname, sizeof(ss->hostname) - 1))
		ss->hostname[0] = '\0';
	ss->opts.facility = fac;
	ss->opts.format = c->syslog_format && !strcmp(c->syslog_format, "cef") ? TG_SYSLOG_CEF
									       : TG_SYSLOG_JSON;
	ss->opts.hostname = ss->hostname;
	ss->opts.pid = getpid();
	ss->fd = -1;
	snprintf(s->target, sizeof(s->target), "%s", c->syslog);
	if (ss->url.scheme == TG_SYSLOG_RELP) {
		int rc = sink_relp_init(s, &ss->url, &ss->opts, err, errlen);

		free(ss);
		return rc;
	}
	s->ops = &syslog_ops;
	s->priv = ss;
	s->batch_max = 256;
	return 0;
}
