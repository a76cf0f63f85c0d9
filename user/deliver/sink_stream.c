// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The stream sink: the `output` key, stdout or an appended file, as it
 * always was, but behind its own queue. Writes are non-blocking (a FIFO
 * or pipe is reopened through /proc/self/fd with O_NONBLOCK, which gives
 * a file description of our own, so the terminal or parent is not
 * changed), so a reader that stops reading stalls this thread only.
 * On a terminal, alerts are one readable line each (--json: JSON lines).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "deliver/sink.h"
#include "rules.h"

#define POLL_SLICE_MS 200
#define TTY_LINE_MAX 2048

struct stream {
	char path[256];     /* "" = stdout */
	int fd;
	bool own, sock, reg, tty, json, closed;
	char *buf;
	size_t cap;
};

static int stream_open_stdout(struct tg_sink *s, struct stream *st)
{
	struct stat sb;

	if (st->closed) {
		sink_error(s, "stdout was closed at start: records are counted as dropped");
		return 0;
	}
	if (fstat(1, &sb)) {
		sink_error(s, "stdout: %s", strerror(errno));
		return -1;
	}
	st->fd = 1;
	st->own = false;
	st->sock = S_ISSOCK(sb.st_mode);
	st->reg = S_ISREG(sb.st_mode);
	st->tty = isatty(1) && !st->json;
	if (S_ISFIFO(sb.st_mode) || S_ISCHR(sb.st_mode)) {
		int fd = open("/proc/self/fd/1", O_WRONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);

		if (fd >= 0) {
			st->fd = fd;
			st->own = true;
		}
	}
	return 0;
}

static int stream_open(struct tg_sink *s)
{
	struct stream *st = s->priv;
	struct stat sb;

	if (!st->path[0])
		return stream_open_stdout(s, st);
	st->fd = open(st->path, O_WRONLY | O_CREAT | O_APPEND | O_NONBLOCK | O_CLOEXEC, 0640);
	if (st->fd < 0) {
		sink_error(s, "failed to open %s: %s", st->path, strerror(errno));
		return -1;
	}
	st->own = true;
	st->reg = !fstat(st->fd, &sb) && S_ISREG(sb.st_mode);
	st->sock = false;
	st->tty = isatty(st->fd) && !st->json;
	return 0;
}

static void stream_close(struct tg_sink *s)
{
	struct stream *st = s->priv;

	if (st->own && st->fd >= 0)
		close(st->fd);
	st->fd = -1;
	st->own = false;
}

/* Terminal text must not carry the terminal's own control sequences: a
 * file name can hold ESC. Control bytes are shown as \xNN. */
static size_t stream_escape(char *out, size_t len, const char *s)
{
	size_t n = 0;

	for (; s && *s && n + 5 < len; s++) {
		unsigned char c = (unsigned char)*s;

		if (c < 0x20 || c == 0x7f)
			n += (size_t)snprintf(out + n, len - n, "\\x%02x", c);
		else
			out[n++] = (char)c;
	}
	out[n] = '\0';
	return n;
}

static const char *stream_colour(int prio)
{
	if (prio <= 2)
		return "\033[1;31m"; /* emergency, alert, critical */
	if (prio == 3)
		return "\033[31m";
	if (prio == 4)
		return "\033[33m";
	if (prio == 5)
		return "\033[36m";
	return prio == 6 ? "\033[32m" : "\033[2m";
}

/* "2026-12-07 06:10:11 CRITICAL rule: message" */
static size_t stream_tty_line(const struct tg_record *r, char *out, size_t len)
{
	char when[32], rule[256], msg[TTY_LINE_MAX - 320], prio[16];
	time_t t = (time_t)(r->time_ns / 1000000000ull);
	const char *pn = rules_priority_name(r->priority);
	struct tm tm;
	size_t i;

	localtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
	for (i = 0; pn && pn[i] && i + 1 < sizeof(prio); i++)
		prio[i] = (char)(pn[i] >= 'a' && pn[i] <= 'z' ? pn[i] - 32 : pn[i]);
	prio[i] = '\0';
	stream_escape(rule, sizeof(rule), r->rule ? r->rule : "-");
	stream_escape(msg, sizeof(msg), r->message ? r->message : "");
	return (size_t)snprintf(out, len, "%s %s%-8s\033[0m %s: %s\n", when,
				stream_colour(r->priority), prio, rule, msg);
}

static int stream_reserve(struct stream *st, size_t need)
{
	char *b;
	size_t cap = st->cap ? st->cap : 65536;

	if (need <= st->cap)
		return 0;
	while (cap < need)
		cap *= 2;
	b = realloc(st->buf, cap);
	if (!b)
		return -1;
	st->buf = b;
	st->cap = cap;
	return 0;
}

/* Lines of recs[0..n) into st->buf; ends[i] = end offset of line i. */
static size_t stream_render(struct stream *st, struct tg_record *const *recs, size_t n,
			    size_t *ends)
{
	size_t off = 0;

	for (size_t i = 0; i < n; i++) {
		const struct tg_record *r = recs[i];
		bool text = st->tty && r->kind != TG_REC_EVENT && r->kind != TG_REC_STATS;

		if (stream_reserve(st, off + (text ? TTY_LINE_MAX : r->json_len + 1)))
			return i ? ends[i - 1] : 0;
		if (text) {
			size_t w = stream_tty_line(r, st->buf + off, TTY_LINE_MAX);

			off += w < TTY_LINE_MAX ? w : TTY_LINE_MAX - 1;
		} else {
			memcpy(st->buf + off, r->json, r->json_len);
			off += r->json_len;
			st->buf[off++] = '\n';
		}
		ends[i] = off;
	}
	return off;
}

/* Write all of buf[0..len), waiting in slices while the reader is slow.
 * Returns bytes written. */
static size_t stream_write(struct tg_sink *s, struct stream *st, size_t len)
{
	size_t off = 0;

	while (off < len) {
		ssize_t n = st->sock ? send(st->fd, st->buf + off, len - off, MSG_DONTWAIT | MSG_NOSIGNAL)
				     : write(st->fd, st->buf + off, len - off);

		if (n > 0) {
			off += (size_t)n;
			continue;
		}
		if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
			struct pollfd p = { .fd = st->fd, .events = POLLOUT };

			if (sink_stopping(s))
				break;
			poll(&p, 1, POLL_SLICE_MS);
			continue;
		}
		sink_error(s, "failed to write %s: %s", st->path[0] ? st->path : "stdout",
			   n < 0 ? strerror(errno) : "no progress");
		break;
	}
	return off;
}

static size_t stream_send(struct tg_sink *s, struct tg_record *const *recs, size_t n)
{
	struct stream *st = s->priv;
	size_t ends[1024], len, wrote, done = 0;
	off_t before = 0;

	if (st->closed) {
		sink_drop(s, n);
		return n;
	}
	if (n > 1024)
		n = 1024;
	len = stream_render(st, recs, n, ends);
	if (st->reg)
		before = lseek(st->fd, 0, SEEK_END);
	wrote = stream_write(s, st, len);
	while (done < n && ends[done] <= wrote)
		done++;
	/* a regular file never keeps half a line (disk full): cut it back */
	if (wrote < len && st->reg && before >= 0 &&
	    ftruncate(st->fd, before + (off_t)(done ? ends[done - 1] : 0)))
		sink_error(s, "failed to truncate %s after a short write: %s",
			   st->path[0] ? st->path : "stdout", strerror(errno));
	return done;
}

/* A file deleted or moved away under us is recreated at its path. */
static int stream_tick(struct tg_sink *s)
{
	struct stream *st = s->priv;
	struct stat a, b;

	if (!st->path[0] || !st->reg)
		return 0;
	if (fstat(st->fd, &a) || stat(st->path, &b) || a.st_ino != b.st_ino || a.st_dev != b.st_dev) {
		sink_error(s, "%s was removed or moved away: recreating it", st->path);
		return -1;
	}
	return 0;
}

static void stream_reopen(struct tg_sink *s)
{
	struct stream *st = s->priv;

	if (!st->path[0])
		return;
	stream_close(s);
	if (stream_open(s))
		st->fd = -1;
}

static void stream_destroy(struct tg_sink *s)
{
	struct stream *st = s->priv;

	if (st)
		free(st->buf);
	free(st);
	s->priv = NULL;
}

static const struct tg_sink_ops stream_ops = {
	.kind = "stream",
	.reliable = false,
	.open = stream_open,
	.send = stream_send,
	.close = stream_close,
	.reopen = stream_reopen,
	.tick = stream_tick,
	.destroy = stream_destroy,
};

int sink_stream_init(struct tg_sink *s, const char *target, bool events, bool json,
		     bool stdout_closed, char *err, size_t errlen)
{
	struct stream *st = calloc(1, sizeof(*st));

	if (!st) {
		snprintf(err, errlen, "output: out of memory");
		return -1;
	}
	st->fd = -1;
	st->json = json;
	if (target && strcmp(target, "-")) {
		if (strlen(target) >= sizeof(st->path)) {
			snprintf(err, errlen, "output: path '%s' is longer than %zu bytes", target,
				 sizeof(st->path) - 1);
			free(st);
			return -1;
		}
		snprintf(st->path, sizeof(st->path), "%s", target);
		/* a path that can never be opened is a config error; a FIFO
		 * without a reader yet (ENXIO) is retried */
		int fd = open(st->path, O_WRONLY | O_CREAT | O_APPEND | O_NONBLOCK | O_CLOEXEC, 0640);

		if (fd < 0 && errno != ENXIO) {
			snprintf(err, errlen, "output: failed to open %s: %s", st->path, strerror(errno));
			free(st);
			return -1;
		}
		if (fd >= 0)
			close(fd);
	}
	st->closed = !st->path[0] && stdout_closed;
	s->ops = &stream_ops;
	s->priv = st;
	s->batch_max = 256;
	s->kinds = TG_REC_ALERT_STREAM | (events ? TG_REC_EVENT | TG_REC_STATS : 0);
	snprintf(s->target, sizeof(s->target), "%s", st->path[0] ? st->path : "stdout");
	return 0;
}
