// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * engine_api: twin-engine's HTTP/1.0 control API on 127.0.0.1:api_port.
 * One request per connection, JSON in and out.
 *
 *   GET  /state   the state document                          no token
 *   POST /cmd     {"op":"setpoint","value":N} | {"op":"reload"}  X-Twin-Token
 *   POST /diag    {"target":"-a"}: runs `uname <target>`       NO TOKEN (BUG)
 *
 * Requests are served in the main thread, one at a time: at most 8 KiB,
 * read within 2 s (socket timeouts plus a deadline), so a slow client delays
 * the next by at most that. /diag alone runs in a detached thread (at most
 * four at once), because the command it starts may take long.
 *
 * #########################################################################
 * # PLANTED VULNERABILITY, ON PURPOSE: POST /diag is the twin lab's bug.   #
 * # It needs no token and hands the client's "target" unsanitised to      #
 * # popen("uname <target>"), so {"target":"-a; id"} makes the engine      #
 * # spawn /bin/sh and run `id`: command injection, the lab's way to get a #
 * # shell under the twin service. Benign lab clients never call /diag.    #
 * # NEVER copy this code anywhere else.                                   #
 * #########################################################################
 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "twin-engine.h"

#define API_REQ_MAX 8192
#define API_BACKLOG 16
#define API_ACCEPT_BURST 8           /* connections taken per wake-up */
#define PEER_MAX 48
#define DIAG_TARGET_MAX 256
#define DIAG_OUTPUT_MAX (16 * 1024)  /* output kept; the rest is drained */
#define DIAG_TIMEOUT_MS 5000
#define DIAG_MAX_RUNNING 4

struct http_req {
	char method[8];
	char path[64];
	bool has_token;
	char token[LAB_TOKEN_MAX];
	size_t content_length;
	const char *body;            /* NUL terminated, content_length bytes */
};

struct diag_job {
	struct engine *eng;
	int fd;
	char peer[PEER_MAX];
	char target[DIAG_TARGET_MAX + 1];
};

/* ---- responses -------------------------------------------------------- */

static const char *reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 400: return "Bad Request";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 413: return "Payload Too Large";
	case 503: return "Service Unavailable";
	default: return "Internal Server Error";
	}
}

/* Send status and body (may be NULL: an out-of-memory reply). */
static void respond(int fd, int status, const cJSON *body)
{
	char *text = body ? cJSON_PrintUnformatted(body) : NULL;
	size_t len = text ? strlen(text) + 1 : 0;   /* + the trailing newline */
	char head[256];
	int n;

	n = snprintf(head, sizeof(head),
		     "HTTP/1.0 %d %s\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
		     "Connection: close\r\n\r\n", status, reason(status), len);
	/* A client that went away is not an error worth a log line. */
	if (lab_write_all(fd, head, (size_t)n, true) == 0 && text &&
	    lab_write_all(fd, text, len - 1, true) == 0)
		lab_write_all(fd, "\n", 1, true);
	cJSON_free(text);
}

static void respond_error(int fd, int status, const char *msg)
{
	cJSON *body = cJSON_CreateObject();

	cJSON_AddBoolToObject(body, "ok", false);
	cJSON_AddStringToObject(body, "error", msg);
	respond(fd, status, body);
	cJSON_Delete(body);
}

/* ---- requests --------------------------------------------------------- */

/* Copy a header's value, spaces trimmed; false when it does not fit. */
static bool header_value(const char *v, const char *eol, char *dst, size_t cap)
{
	size_t len;

	while (v < eol && (*v == ' ' || *v == '\t'))
		v++;
	while (eol > v && (eol[-1] == ' ' || eol[-1] == '\t'))
		eol--;
	len = (size_t)(eol - v);
	if (len >= cap)
		return false;
	memcpy(dst, v, len);
	dst[len] = '\0';
	return true;
}

/* Parse the request line and the headers in buf[0..end). 0 or a status. */
static int parse_head(char *buf, const char *end, struct http_req *req)
{
	char *line, *eol, *q, num[24];
	long clen;
	int minor;

	if (sscanf(buf, "%7s %63s HTTP/1.%d", req->method, req->path, &minor) != 3)
		return 400;
	q = strchr(req->path, '?');
	if (q)
		*q = '\0';
	line = strstr(buf, "\r\n") + 2;
	/* Bounded: each pass moves past one header line. */
	while (line < end && (eol = strstr(line, "\r\n")) != NULL && eol <= end) {
		if (!strncasecmp(line, "Content-Length:", 15)) {
			if (!header_value(line + 15, eol, num, sizeof(num)) ||
			    lab_parse_long(num, 0, LONG_MAX, &clen) < 0)
				return 400;
			if (clen > API_REQ_MAX)
				return 413;
			req->content_length = (size_t)clen;
		} else if (!strncasecmp(line, "X-Twin-Token:", 13)) {
			req->has_token = true;
			if (!header_value(line + 13, eol, req->token, sizeof(req->token)))
				req->token[0] = '\0';   /* too long: cannot match */
		}
		line = eol + 2;
	}
	return 0;
}

/* Read one request into buf (cap + 1 bytes). 0, or the status to answer. */
static int read_request(int fd, char *buf, size_t cap, struct http_req *req)
{
	long long deadline = lab_now_ms() + LAB_IO_TIMEOUT_MS;
	size_t got = 0, need = 0, head_len = 0;
	char *end;
	ssize_t n;
	int status;

	while (!need || got < need) {
		if (got == cap)
			return 413;
		if (lab_now_ms() >= deadline)
			return 408;
		n = recv(fd, buf + got, cap - got, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return 408;          /* SO_RCVTIMEO expired */
		if (n == 0)
			return 400;          /* closed before the request was whole */
		got += (size_t)n;
		buf[got] = '\0';
		if (need || !(end = strstr(buf, "\r\n\r\n")))
			continue;
		status = parse_head(buf, end, req);
		if (status)
			return status;
		head_len = (size_t)(end - buf) + 4;
		if (req->content_length > cap - head_len)
			return 413;
		need = head_len + req->content_length;
	}
	buf[need] = '\0';
	req->body = buf + head_len;
	return 0;
}

static cJSON *parse_body(const struct http_req *req)
{
	cJSON *o = cJSON_ParseWithLength(req->body, req->content_length);

	if (cJSON_IsObject(o))
		return o;
	cJSON_Delete(o);
	return NULL;
}

/* ---- routes ----------------------------------------------------------- */

static void api_state(struct engine *eng, int fd)
{
	cJSON *state = engine_state_json(eng);

	respond(fd, state ? 200 : 500, state);
	cJSON_Delete(state);
}

static void api_cmd(struct engine *eng, int fd, const struct http_req *req, const char *peer)
{
	cJSON *cmd, *reply;
	char source[PEER_MAX + 8];
	int status;

	snprintf(source, sizeof(source), "api %s", peer);
	if (!req->has_token || !lab_token_ok(req->token, eng->cfg.token)) {
		engine_count_bad(eng, &eng->rejected, "command rejected", source,
				 "bad or missing X-Twin-Token");
		respond_error(fd, 403, "forbidden: bad or missing X-Twin-Token");
		return;
	}
	cmd = parse_body(req);
	if (!cmd) {
		respond_error(fd, 400, "the body must be a JSON object such as "
			      "{\"op\":\"setpoint\",\"value\":42} or {\"op\":\"reload\"}");
		return;
	}
	reply = cJSON_CreateObject();
	status = reply ? engine_command(eng, cmd, source, reply) : 500;
	respond(fd, status, reply);
	cJSON_Delete(reply);
	cJSON_Delete(cmd);
}

/* Read the command's output until EOF or the deadline. Past cap bytes the
 * output is drained, not kept, so the child never blocks on a full pipe. */
static size_t diag_read(int pfd, char *out, size_t cap, bool *truncated, bool *timed_out)
{
	long long deadline = lab_now_ms() + DIAG_TIMEOUT_MS, left;
	struct pollfd p = { .fd = pfd, .events = POLLIN };
	char sink[4096];
	size_t got = 0;
	ssize_t n;
	int rc;

	*truncated = *timed_out = false;
	/* Bounded by the deadline: read only what poll says is there. */
	for (;;) {
		left = deadline - lab_now_ms();
		rc = left > 0 ? poll(&p, 1, (int)left) : 0;
		if (rc < 0 && errno == EINTR)
			continue;
		if (rc == 0) {
			*timed_out = true;
			break;
		}
		if (rc < 0)
			break;
		if (got < cap)
			n = read(pfd, out + got, cap - got);
		else
			n = read(pfd, sink, sizeof(sink));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (got < cap)
			got += (size_t)n;
		else
			*truncated = true;
	}
	out[got] = '\0';
	return got;
}

static void diag_reply(struct diag_job *job, const char *cmd, const char *out, bool truncated,
		       bool timed_out, int wstatus)
{
	cJSON *body = cJSON_CreateObject();

	cJSON_AddStringToObject(body, "target", job->target);
	cJSON_AddStringToObject(body, "command", cmd);
	cJSON_AddStringToObject(body, "output", out);
	if (timed_out || wstatus < 0 || !WIFEXITED(wstatus))
		cJSON_AddNullToObject(body, "exit_status");
	else
		cJSON_AddNumberToObject(body, "exit_status", WEXITSTATUS(wstatus));
	cJSON_AddBoolToObject(body, "truncated", truncated);
	cJSON_AddBoolToObject(body, "timed_out", timed_out);
	respond(job->fd, 200, body);
	cJSON_Delete(body);
}

/* !!! THE PLANTED BUG: the client's target goes to the shell unsanitised. */
static void *diag_thread(void *arg)
{
	struct diag_job *job = arg;
	char cmd[DIAG_TARGET_MAX + 16], *out = malloc(DIAG_OUTPUT_MAX + 1);
	bool truncated = false, timed_out = false;
	int wstatus = -1;
	FILE *p = NULL;

	snprintf(cmd, sizeof(cmd), "uname %s", job->target);
	engine_log(job->eng, "diag from %s: running \"%s\" (no token, not sanitised: the lab's "
		   "planted bug)", job->peer, cmd);
	if (out)
		p = popen(cmd, "r");   /* VULNERABLE ON PURPOSE: /bin/sh -c "uname <target>" */
	if (!p) {
		respond_error(job->fd, 500, out ? "popen failed" : "out of memory");
	} else {
		diag_read(fileno(p), out, DIAG_OUTPUT_MAX, &truncated, &timed_out);
		/* After a timeout pclose may wait long: answer first. */
		if (!timed_out)
			wstatus = pclose(p);
		diag_reply(job, cmd, out, truncated, timed_out, wstatus);
		if (timed_out)
			pclose(p);
	}
	close(job->fd);
	atomic_fetch_sub(&job->eng->diag_running, 1);
	free(out);
	free(job);
	return NULL;
}

/* True when the connection was handed to a /diag thread. */
static bool api_diag(struct engine *eng, int fd, const struct http_req *req, const char *peer)
{
	const cJSON *target;
	struct diag_job *job;
	pthread_attr_t attr;
	pthread_t tid;
	cJSON *body = parse_body(req);
	int rc;

	target = cJSON_GetObjectItemCaseSensitive(body, "target");
	if (!cJSON_IsString(target) || strlen(target->valuestring) > DIAG_TARGET_MAX) {
		respond_error(fd, 400, "the body must be {\"target\":\"...\"}, at most 256 bytes");
		cJSON_Delete(body);
		return false;
	}
	if (atomic_fetch_add(&eng->diag_running, 1) >= DIAG_MAX_RUNNING) {
		atomic_fetch_sub(&eng->diag_running, 1);
		respond_error(fd, 503, "too many diagnostics running");
		cJSON_Delete(body);
		return false;
	}
	job = calloc(1, sizeof(*job));
	if (job) {
		*job = (struct diag_job){ .eng = eng, .fd = fd };
		snprintf(job->peer, sizeof(job->peer), "%s", peer);
		strcpy(job->target, target->valuestring);
	}
	cJSON_Delete(body);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	rc = job ? pthread_create(&tid, &attr, diag_thread, job) : ENOMEM;
	pthread_attr_destroy(&attr);
	if (rc == 0)
		return true;
	atomic_fetch_sub(&eng->diag_running, 1);
	free(job);
	respond_error(fd, 500, "cannot start the diagnostic");
	return false;
}

/* Serve one connection. True when a /diag thread now owns fd. */
static bool serve(struct engine *eng, int fd, const char *peer)
{
	char buf[API_REQ_MAX + 1];
	struct http_req req;
	bool post;
	int status;

	memset(&req, 0, sizeof(req));
	status = read_request(fd, buf, API_REQ_MAX, &req);
	if (status) {
		respond_error(fd, status, reason(status));
		return false;
	}
	post = !strcmp(req.method, "POST");
	if (!strcmp(req.path, "/state") && !strcmp(req.method, "GET"))
		api_state(eng, fd);
	else if (!strcmp(req.path, "/cmd") && post)
		api_cmd(eng, fd, &req, peer);
	else if (!strcmp(req.path, "/diag") && post)
		return api_diag(eng, fd, &req, peer);
	else if (!strcmp(req.path, "/state") || !strcmp(req.path, "/cmd") ||
		 !strcmp(req.path, "/diag"))
		respond_error(fd, 405, "GET /state, POST /cmd, POST /diag");
	else
		respond_error(fd, 404, "no such path: GET /state, POST /cmd, POST /diag");
	return false;
}

/* ---- socket ----------------------------------------------------------- */

int engine_api_listen(struct engine *eng, char *err, size_t errlen)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	int fd, one = 1;

	sa.sin_port = htons((unsigned short)eng->cfg.api_port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return lab_err(err, errlen, "socket: %s", strerror(errno));
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, API_BACKLOG) < 0) {
		lab_err(err, errlen, "cannot listen on 127.0.0.1:%d (field 'api_port' of %s): %s",
			eng->cfg.api_port, eng->cfg.path, strerror(errno));
		close(fd);
		return -1;
	}
	eng->api_fd = fd;
	return 0;
}

void engine_api_accept(struct engine *eng)
{
	struct timeval tv = { LAB_IO_TIMEOUT_MS / 1000, (LAB_IO_TIMEOUT_MS % 1000) * 1000 };
	struct sockaddr_in sa;
	char peer[PEER_MAX], ip[INET_ADDRSTRLEN];
	socklen_t sl;
	int i, fd;

	for (i = 0; i < API_ACCEPT_BURST; i++) {
		sl = sizeof(sa);
		fd = accept4(eng->api_fd, (struct sockaddr *)&sa, &sl, SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
			    errno != ECONNABORTED)
				engine_log(eng, "api accept: %s", strerror(errno));
			return;
		}
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		inet_ntop(AF_INET, &sa.sin_addr, ip, sizeof(ip));
		snprintf(peer, sizeof(peer), "%s:%u", ip, ntohs(sa.sin_port));
		if (!serve(eng, fd, peer))
			close(fd);
	}
}
