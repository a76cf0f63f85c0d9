// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * ctl: the query socket's listener and clients (docs/control.md). Every
 * fd is non-blocking and every step is bounded, so a hostile client costs
 * the agent's main thread a few syscalls per poll round, never a wait.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "ctl/ctl_priv.h"

uint64_t ctl_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* mkdir -p of path's parent, 0755: /run/twinguard may not exist yet. */
static int ctl_mkparent(const char *path)
{
	char dir[PATH_MAX];
	char *p;

	if (snprintf(dir, sizeof(dir), "%s", path) >= (int)sizeof(dir))
		return -1;
	p = strrchr(dir, '/');
	if (!p || p == dir)
		return 0;
	*p = '\0';
	for (p = dir + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(dir, 0755) && errno != EEXIST)
			return -1;
		*p = '/';
	}
	if (mkdir(dir, 0755) && errno != EEXIST)
		return -1;
	return 0;
}

/* An old socket file: replace it if nobody answers, refuse if an agent does. */
static int ctl_check_stale(const struct sockaddr_un *sa, char *err, size_t errlen)
{
	struct stat st;
	int fd, rc, e;

	if (lstat(sa->sun_path, &st))
		return errno == ENOENT ? 0 : -1;
	if (!S_ISSOCK(st.st_mode)) {
		snprintf(err, errlen, "twinguard: failed to open control socket %s: it exists and is "
			 "not a socket (control_socket: expected a free path)", sa->sun_path);
		errno = EEXIST;
		return -2;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	rc = connect(fd, (const struct sockaddr *)sa, sizeof(*sa));
	e = errno;
	close(fd);
	if (rc == 0) {
		snprintf(err, errlen, "twinguard: failed to open control socket %s: another agent "
			 "is running (it answers there)", sa->sun_path);
		errno = EADDRINUSE;
		return -2;
	}
	if (e == ECONNREFUSED || e == ENOENT)
		return unlink(sa->sun_path) && errno != ENOENT ? -1 : 0;
	errno = e;
	return -1;
}

static int ctl_listen(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, rc;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "twinguard: failed to open control socket %s: path longer "
			 "than %zu bytes (control_socket)", path, sizeof(sa.sun_path) - 1);
		return -1;
	}
	strcpy(sa.sun_path, path);
	if (ctl_mkparent(path))
		goto fail;
	rc = ctl_check_stale(&sa, err, errlen);
	if (rc == -2)
		return -1;
	if (rc)
		goto fail;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		goto fail;
	/* The socket inode's mode is what bind() gives the file (less the
	 * umask), so 0600 holds from the first instant, without touching the
	 * process-wide umask that the sink threads rely on. */
	if (fchmod(fd, 0600) || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    chmod(path, 0600) || listen(fd, 64)) {
		int e = errno;

		close(fd);
		errno = e;
		goto fail;
	}
	return fd;
fail:
	snprintf(err, errlen, "twinguard: failed to open control socket %s: %s (control_socket)",
		 path, strerror(errno));
	return -1;
}

struct tg_ctl *ctl_open(const char *path, const struct tg_ctl_ops *ops, void *ctx,
			size_t ring_max, char *err, size_t errlen)
{
	struct tg_ctl *c = calloc(1, sizeof(*c));

	if (!c || !ops || !path) {
		snprintf(err, errlen, "twinguard: failed to open control socket: %s",
			 c ? "no path or ops" : strerror(ENOMEM));
		free(c);
		return NULL;
	}
	c->ring_max = ring_max ? ring_max : 1;
	c->ring = calloc(c->ring_max, sizeof(*c->ring));
	if (!c->ring) {
		snprintf(err, errlen, "twinguard: failed to allocate the alerts ring: %s",
			 strerror(ENOMEM));
		free(c);
		return NULL;
	}
	c->ops = *ops;
	c->ctx = ctx;
	c->lfd = ctl_listen(path, err, errlen);
	if (c->lfd < 0) {
		free(c->ring);
		free(c);
		return NULL;
	}
	snprintf(c->path, sizeof(c->path), "%s", path);
	return c;
}

int ctl_pollfds(struct tg_ctl *c, struct pollfd *fds, int max)
{
	int n = 0;

	if (!c || max < 1)
		return 0;
	fds[n++] = (struct pollfd){ .fd = c->lfd, .events = POLLIN };
	for (size_t i = 0; i < CTL_CLIENTS_MAX && n < max; i++) {
		struct ctl_client *cl = c->cl[i];
		short ev = 0;

		if (!cl)
			continue;
		if (cl->state == CTL_READ || cl->state == CTL_FOLLOW)
			ev |= POLLIN;   /* FOLLOW: to see the client go away */
		if (cl->out.len > cl->out_off)
			ev |= POLLOUT;
		fds[n++] = (struct pollfd){ .fd = cl->fd, .events = ev };
	}
	return n;
}

static void client_free(struct tg_ctl *c, size_t i)
{
	struct ctl_client *cl = c->cl[i];

	c->out_total -= cl->out.len - cl->out_off;
	close(cl->fd);
	buf_free(&cl->out);
	free(cl->in);
	free(cl->rule);
	free(cl);
	c->cl[i] = NULL;
}

bool ctl_queue(struct tg_ctl *c, struct ctl_client *cl, const void *data, size_t n)
{
	size_t cap = cl->state == CTL_FOLLOW ? CTL_FOLLOW_BUF : CTL_ANSWER_MAX;
	size_t pending = cl->out.len - cl->out_off;

	if (pending + n > cap || c->out_total + n > CTL_OUT_TOTAL_MAX)
		return false;
	if (cl->out_off && cl->out_off == cl->out.len) {
		cl->out.len = 0;   /* drained: reuse the buffer from its start */
		cl->out_off = 0;
	}
	buf_put(&cl->out, data, n);
	if (cl->out.failed) {
		cl->out.failed = false;
		if (cl->out.p)
			cl->out.p[cl->out.len] = '\0';
		return false;
	}
	c->out_total += n;
	return true;
}

/* Not counted: the caller counts it as an error or a timeout. */
static void answer_error_uncounted(struct tg_ctl *c, struct ctl_client *cl, const char *msg)
{
	cJSON *j = cJSON_CreateObject();

	if (j && !cJSON_AddStringToObject(j, "error", msg)) {
		cJSON_Delete(j);
		j = NULL;
	}
	cl->state = CTL_WRITE;
	cl->deadline_ms = ctl_now_ms() + CTL_WRITE_MS;
	if (j)
		ctl_answer_json(c, cl, j);
}

void ctl_answer_error(struct tg_ctl *c, struct ctl_client *cl, const char *msg)
{
	c->n.errors++;
	answer_error_uncounted(c, cl, msg);
}

void ctl_answer_json(struct tg_ctl *c, struct ctl_client *cl, cJSON *j)
{
	char *s = j ? cJSON_PrintUnformatted(j) : NULL;
	size_t n = s ? strlen(s) : 0;
	char *line = s ? realloc(s, n + 2) : NULL;

	cJSON_Delete(j);
	cl->state = CTL_WRITE;
	cl->deadline_ms = ctl_now_ms() + CTL_WRITE_MS;
	if (line) {
		line[n++] = '\n';
		line[n] = '\0';
	}
	if (!line || !ctl_queue(c, cl, line, n)) {
		/* No recursion here: a fixed line, or nothing if even it fails
		 * (the client then sees the connection close). */
		static const char big[] = "{\"error\":\"answer too large for the control "
					  "socket's buffers\"}\n";

		c->n.errors++;
		ctl_queue(c, cl, big, sizeof(big) - 1);
	}
	free(line ? line : s);
}

/* Over the cap: one short error straight into the new socket's buffer. */
static void ctl_reject(struct tg_ctl *c, int fd)
{
	static const char msg[] = "{\"error\":\"too many clients (32 at once): try again\"}\n";

	c->n.rejected++;
	c->n.errors++;
	if (write(fd, msg, sizeof(msg) - 1) < 0) {
		/* nothing more to do for a client we cannot even tell */
	}
	close(fd);
}

static void ctl_accept(struct tg_ctl *c)
{
	for (int k = 0; k < CTL_ACCEPT_BURST; k++) {
		int fd = accept4(c->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct ctl_client *cl;
		size_t i;

		if (fd < 0)
			return;   /* EAGAIN, or an aborted connection: next round */
		for (i = 0; i < CTL_CLIENTS_MAX && c->cl[i]; i++)
			;
		cl = i < CTL_CLIENTS_MAX ? calloc(1, sizeof(*cl)) : NULL;
		if (cl)
			cl->in = malloc(CTL_REQUEST_MAX + 1);
		if (!cl || !cl->in) {
			if (cl)
				free(cl);
			ctl_reject(c, fd);
			continue;
		}
		cl->fd = fd;
		cl->state = CTL_READ;
		cl->deadline_ms = ctl_now_ms() + CTL_REQUEST_MS;
		c->cl[i] = cl;
	}
}

/* READ: take what is there; a full line is handled at once. */
static void client_read(struct tg_ctl *c, struct ctl_client *cl)
{
	ssize_t r = read(cl->fd, cl->in + cl->in_len, CTL_REQUEST_MAX + 1 - cl->in_len);
	char *nl;

	if (r < 0) {
		if (errno != EAGAIN && errno != EINTR)
			cl->state = CTL_WRITE;   /* reset: nothing to answer, closed below */
		return;
	}
	if (r == 0) {
		/* Half-closed: a complete object without its newline is still a
		 * request (echo -n ... | socat); anything else is an error. */
		if (cl->in_len) {
			ctl_request(c, cl, cl->in, cl->in_len);
		} else {
			cl->state = CTL_WRITE;
		}
		return;
	}
	cl->in_len += (size_t)r;
	nl = memchr(cl->in, '\n', cl->in_len);
	if (nl) {
		ctl_request(c, cl, cl->in, (size_t)(nl - cl->in));
		return;
	}
	if (cl->in_len > CTL_REQUEST_MAX)
		ctl_answer_error(c, cl, "request larger than 65536 bytes: expected one JSON "
				 "object on one line");
}

/* Send what the socket takes; false when the client is gone. */
static bool client_write(struct tg_ctl *c, struct ctl_client *cl)
{
	while (cl->out.len > cl->out_off) {
		ssize_t w = send(cl->fd, cl->out.p + cl->out_off, cl->out.len - cl->out_off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (w < 0)
			return errno == EAGAIN || errno == EINTR;
		cl->out_off += (size_t)w;
		c->out_total -= (size_t)w;
		cl->deadline_ms = ctl_now_ms() + CTL_WRITE_MS;
	}
	if (cl->state == CTL_FOLLOW)
		ctl_tell_lost(c, cl);
	return true;
}

bool ctl_tell_lost(struct tg_ctl *c, struct ctl_client *cl)
{
	cJSON *j;
	char *s, *line;
	size_t n;

	if (!cl->lost)
		return true;
	j = cJSON_CreateObject();
	if (j)
		cJSON_AddNumberToObject(j, "lost", (double)cl->lost);
	s = j ? cJSON_PrintUnformatted(j) : NULL;
	cJSON_Delete(j);
	n = s ? strlen(s) : 0;
	line = s ? realloc(s, n + 2) : NULL;
	if (line) {
		line[n++] = '\n';
		if (ctl_queue(c, cl, line, n))
			cl->lost = 0;
	}
	free(line ? line : s);
	return !cl->lost;
}

/* One client after poll: its events, then its deadline. */
static void client_service(struct tg_ctl *c, size_t i, short rev, uint64_t now)
{
	struct ctl_client *cl = c->cl[i];

	if (cl->state == CTL_READ && (rev & (POLLIN | POLLHUP | POLLERR)))
		client_read(c, cl);
	if (cl->state == CTL_FOLLOW && (rev & (POLLIN | POLLHUP | POLLERR))) {
		char junk[512];
		ssize_t r = read(cl->fd, junk, sizeof(junk));

		if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) {
			client_free(c, i);
			return;
		}
	}
	if (cl->out.len > cl->out_off && !client_write(c, cl)) {
		client_free(c, i);
		return;
	}
	if (cl->state == CTL_WRITE && cl->out.len == cl->out_off) {
		client_free(c, i);
		return;
	}
	if (cl->state == CTL_FOLLOW && cl->out.len == cl->out_off)
		cl->deadline_ms = now + CTL_WRITE_MS;   /* idle follower: fine */
	if (now < cl->deadline_ms)
		return;
	if (cl->state == CTL_READ) {
		c->n.timeouts++;
		answer_error_uncounted(c, cl, "timeout: expected one JSON request line within 2 s");
		return;
	}
	if (cl->state == CTL_WRITE) {
		c->n.clients_dropped++;
		client_free(c, i);
	}
}

void ctl_service(struct tg_ctl *c, const struct pollfd *fds, int n)
{
	uint64_t now = ctl_now_ms();

	if (!c)
		return;
	for (int k = 0; k < n; k++)
		if (fds[k].fd == c->lfd && (fds[k].revents & POLLIN))
			ctl_accept(c);
	for (size_t i = 0; i < CTL_CLIENTS_MAX; i++) {
		short rev = 0;

		if (!c->cl[i])
			continue;
		for (int k = 0; k < n; k++)
			if (fds[k].fd == c->cl[i]->fd)
				rev = fds[k].revents;
		client_service(c, i, rev, now);
	}
}

cJSON *ctl_stats_json(const struct tg_ctl *c)
{
	cJSON *j = cJSON_CreateObject();
	size_t clients = 0, followers = 0;

	if (!j || !c)
		return j;
	for (size_t i = 0; i < CTL_CLIENTS_MAX; i++) {
		clients += c->cl[i] != NULL;
		followers += c->cl[i] && c->cl[i]->state == CTL_FOLLOW;
	}
	cJSON_AddNumberToObject(j, "requests", (double)c->n.requests);
	cJSON_AddNumberToObject(j, "errors", (double)c->n.errors);
	cJSON_AddNumberToObject(j, "timeouts", (double)c->n.timeouts);
	cJSON_AddNumberToObject(j, "clients_dropped", (double)c->n.clients_dropped);
	cJSON_AddNumberToObject(j, "clients_rejected", (double)c->n.rejected);
	cJSON_AddNumberToObject(j, "follow_lost", (double)c->n.follow_lost);
	cJSON_AddNumberToObject(j, "clients", (double)clients);
	cJSON_AddNumberToObject(j, "followers", (double)followers);
	cJSON_AddNumberToObject(j, "alerts_kept", (double)c->ring_n);
	return j;
}

void ctl_close(struct tg_ctl *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < CTL_CLIENTS_MAX; i++)
		if (c->cl[i])
			client_free(c, i);
	if (c->lfd >= 0) {
		close(c->lfd);
		unlink(c->path);
	}
	ctl_ring_free(c);
	free(c);
}
