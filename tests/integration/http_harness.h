/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * http_harness.h: the scripted collector (http_collector.py) and the
 * readers of what it indexed and logged, for tests/integration/test_http.c.
 * HEADER-ONLY, like rules_harness.h (the Makefile builds every .c file of
 * tests/integration as a test binary of its own).
 *
 *   coll_start(format, scheme, argv..., NULL)  fork+exec the collector, wait
 *                                              for its port; http_fini stops it
 *   coll_log() log_count() log_sum()           its per-request log
 *   wait_begun() wait_log_action()             poll the log, bounded
 *   coll_got()                                 what it indexed: envelope + alert
 *   raised() tag_of() tag_ours()               our barrier alerts, in order
 *   wait_delivered() expect_once()             the exactly-once verdicts
 *   ctl_stats() expect_no_secret()             stats over the control socket
 *   expect_hec() expect_bulk() ...             envelopes field by field
 */
#ifndef TG_HTTP_HARNESS_H
#define TG_HTTP_HARNESS_H

#include "rules_harness.h"

#include <openssl/evp.h>
#include <sys/un.h>

#define COLLECTOR "tests/integration/http_collector.py"
#define PYTHON "/usr/bin/python3"  /* not the pyenv on PATH */
#define DELIVER_MS 60000           /* backoff doubles to seconds: be patient */
#define MAX_COLL 3
#define MAX_GOT 4096

struct coll {
	pid_t pid;
	int port;
	char dir[PATH_MAX], port_file[PATH_MAX + 16], out[PATH_MAX + 16], log[PATH_MAX + 16];
	char errf[PATH_MAX + 16];
	const char *format;
};

/* static: .fini runs after the test's frame is gone */
static __attribute__((unused)) struct coll colls[MAX_COLL];
static __attribute__((unused)) int ncolls;
static __attribute__((unused)) char token[64], token_file[PATH_MAX];
/* static too: rh_cleanup() (.fini, atexit) stops them after the test */
static __attribute__((unused)) struct rh_agent ag, ag2;

RH_API void coll_stop(struct coll *c)
{
	if (c->pid <= 0)
		return;
	kill(c->pid, SIGTERM);
	if (rh_reap_within(c->pid, RH_DEADLINE_MS) == -1) {
		kill(c->pid, SIGKILL);
		waitpid(c->pid, NULL, 0);
	}
	c->pid = 0;
}

RH_API void http_fini(void)
{
	while (ncolls)
		coll_stop(&colls[--ncolls]);
	rh_cleanup();
}

/* Per test: a token that cannot occur by chance in any other output, the
 * spool's directory (the agent makes only its per-sink folder), and an
 * empty rules dir. */
RH_API void token_make(void)
{
	cr_assert_eq(mkdir(rh_path("spool"), 0700), 0);
	/* Only the harness's barrier rule: the shipped packs would alert on
	 * every agent other tests start (BPF loads), a backlog of noise
	 * between our alerts and the collector. */
	cr_assert_eq(mkdir(rh_path("no-rules"), 0755), 0);
	cr_assert_eq(setenv("RH_RULES_DIR", rh_path("no-rules"), 1), 0);
	snprintf(token, sizeof(token), "tg-secret-%d-Qz7x", (int)getpid());
	snprintf(token_file, sizeof(token_file), "%s", rh_path("token"));
	rh_file_write(token_file, token);
	cr_assert_eq(chmod(token_file, 0600), 0);
}

/* Start a collector: format, auth scheme, then extra argv, NULL-ended. */
RH_API struct coll *coll_start(const char *format, const char *scheme, ...)
{
	struct coll *c = &colls[ncolls];
	const char *argv[40] = { PYTHON, COLLECTOR, "--format", format, "--token-file", token_file,
				 "--scheme", scheme };
	int n = 8, fd;
	int64_t deadline = rh_now_ms() + RH_DEADLINE_MS;
	va_list ap;

	cr_assert_lt(ncolls, MAX_COLL);
	memset(c, 0, sizeof(*c));
	c->format = format;
	const char *dir = rh_path("coll%d", ncolls);

	snprintf(c->dir, sizeof(c->dir), "%s", dir);
	cr_assert_eq(mkdir(dir, 0700), 0);
	snprintf(c->port_file, sizeof(c->port_file), "%s/port", dir);
	snprintf(c->out, sizeof(c->out), "%s/out", dir);
	snprintf(c->log, sizeof(c->log), "%s/log", dir);
	snprintf(c->errf, sizeof(c->errf), "%s/stderr", dir);
	argv[n++] = "--port-file", argv[n++] = c->port_file, argv[n++] = "--out", argv[n++] = c->out;
	argv[n++] = "--log", argv[n++] = c->log;
	va_start(ap, scheme);
	for (const char *s; (s = va_arg(ap, const char *)) && n < 38;)
		argv[n++] = s;
	va_end(ap);
	argv[n] = NULL;
	fflush(NULL);
	c->pid = fork();
	cr_assert_geq(c->pid, 0);
	if (c->pid == 0) {
		fd = open(c->errf, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
			_exit(125);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		execv(PYTHON, (char *const *)argv);
		_exit(127);
	}
	ncolls++;
	while (access(c->port_file, F_OK)) {
		cr_assert(waitpid(c->pid, NULL, WNOHANG) == 0, "collector died:\n%s", rh_file_read(c->errf));
		cr_assert(rh_now_ms() < deadline, "collector not listening:\n%s", rh_file_read(c->errf));
		rh_nap();
	}
	char *p = rh_file_read(c->port_file);

	c->port = atoi(p);
	free(p);
	cr_assert_gt(c->port, 0);
	return c;
}

/* ---- what the collector says -------------------------------------------- */

/* The log's request lines (those with "n", written once answered), and
 * how many TLS handshakes failed; "begin" lines (a request arrived) are
 * for wait_begun(). */
RH_API cJSON *coll_log(const struct coll *c, int *tls_errors)
{
	char *text = rh_file_read(c->log), *save = NULL;
	cJSON *arr = cJSON_CreateArray();

	if (tls_errors)
		*tls_errors = 0;
	for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		cJSON *j = cJSON_Parse(l);

		cr_assert_not_null(j, "bad log line %s", l);
		if (cJSON_GetObjectItem(j, "tls_error") || cJSON_GetObjectItem(j, "begin")) {
			if (tls_errors && cJSON_GetObjectItem(j, "tls_error"))
				(*tls_errors)++;
			cJSON_Delete(j);
		} else {
			cJSON_AddItemToArray(arr, j);
		}
	}
	free(text);
	return arr;
}

/* Poll until a request that gets action has arrived. */
RH_API void wait_begun(const struct coll *c, const char *action)
{
	int64_t deadline = rh_now_ms() + DELIVER_MS;
	char want[128];

	snprintf(want, sizeof(want), "\"action\": \"%s\", \"begin\"", action);
	for (;;) {
		char *text = rh_file_read(c->log);
		bool seen = strstr(text, want) != NULL;

		free(text);
		if (seen)
			return;
		cr_assert(rh_now_ms() < deadline, "no request got '%s'; log:\n%s", action,
			  rh_file_read(c->log));
		rh_nap();
	}
}

RH_API int log_count(const cJSON *log, const char *action, int status)
{
	const cJSON *l;
	int n = 0;

	cJSON_ArrayForEach(l, log) {
		const char *a = rh_jstr(l, "action");
		double st = -1;

		rh_jnum(l, "status", &st);
		n += a && !strcmp(a, action) && (status < 0 || st == status);
	}
	return n;
}

RH_API double log_sum(const cJSON *log, const char *field)
{
	const cJSON *l;
	double sum = 0, v;

	cJSON_ArrayForEach(l, log)
		if (rh_jnum(l, field, &v))
			sum += v;
	return sum;
}

/* One indexed alert: the envelope (HEC object, _bulk action; NULL for
 * NDJSON), the alert, and its raw document line (_bulk, NDJSON). */
struct got {
	cJSON *env;
	const cJSON *alert;
	cJSON *own;
	char *raw;
};

struct got_list {
	struct got g[MAX_GOT];
	size_t n;
};

RH_API void got_free(struct got_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		cJSON_Delete(l->g[i].env);
		cJSON_Delete(l->g[i].own);
		free(l->g[i].raw);
	}
	l->n = 0;
}

RH_API void got_hec(struct got_list *l, const char *text)
{
	const char *p = text, *end;

	while (*p && l->n < MAX_GOT) {
		p += strspn(p, " \r\n\t");
		if (!*p)
			break;
		cJSON *j = cJSON_ParseWithOpts(p, &end, false);

		cr_assert_not_null(j, "HEC body does not parse at: %.80s", p);
		l->g[l->n++] = (struct got){ .env = j, .alert = cJSON_GetObjectItem(j, "event") };
		p = end;
	}
}

RH_API void got_lines(struct got_list *l, char *text, bool bulk)
{
	char *save = NULL, *line;

	while ((line = strtok_r(text, "\n", &save)) && l->n < MAX_GOT) {
		struct got *g = &l->g[l->n++];

		text = NULL;
		memset(g, 0, sizeof(*g));
		if (bulk) {
			g->env = cJSON_Parse(line);
			cr_assert_not_null(g->env, "bad _bulk action %s", line);
			line = strtok_r(NULL, "\n", &save);
			cr_assert_not_null(line, "_bulk action without its document");
		}
		g->raw = strdup(line);
		g->own = cJSON_Parse(line);
		cr_assert_not_null(g->own, "bad document line %s", line);
		g->alert = g->own;
	}
}

RH_API void coll_got(const struct coll *c, struct got_list *l)
{
	char *text = rh_file_read(c->out), *last = strrchr(text, '\n');

	/* the collector may be writing: only whole records (each ends in \n) */
	if (last)
		last[1] = '\0';
	else
		text[0] = '\0';
	got_free(l);
	if (!strcmp(c->format, "splunk_hec"))
		got_hec(l, text);
	else
		got_lines(l, text, !strcmp(c->format, "elastic_bulk"));
	free(text);
}

/* ---- what the agent raised ---------------------------------------------- */

RH_API const char *tag_of(const cJSON *alert)
{
	const cJSON *args = rh_jget(alert, "process.args");
	const cJSON *t = cJSON_GetArrayItem(args, 1);
	const char *rule = rh_jstr(alert, "rule.name");

	if (!rule || strcmp(rule, RH_BARRIER_RULE) || !cJSON_IsString(t))
		return NULL;
	return t->valuestring;
}

/* This worker's barrier alert (any of its agents)? */
RH_API bool tag_ours(const char *tag)
{
	char pre[32];

	snprintf(pre, sizeof(pre), "rh-sync-%d-", (int)getpid());
	return tag && !strncmp(tag, pre, strlen(pre));
}

/* Our barrier alerts of the agents' streams, in the order raised. */
RH_API size_t raised(struct rh_agent **agents, size_t na, const cJSON **out, size_t max)
{
	size_t n = 0;

	for (size_t k = 0; k < na; k++) {
		rh_update(agents[k]);
		for (size_t i = 0; i < agents[k]->n && n < max; i++)
			if (tag_ours(tag_of(agents[k]->lines[i])))
				out[n++] = agents[k]->lines[i];
	}
	return n;
}

RH_API size_t got_count(const struct got_list *l, const char *tag)
{
	size_t n = 0;

	for (size_t i = 0; i < l->n; i++) {
		const char *t = tag_of(l->g[i].alert);

		n += t && !strcmp(t, tag);
	}
	return n;
}

/* Poll until every raised alert but those skipped is indexed. */
RH_API bool wait_delivered(const struct coll *c, const cJSON *const *want, size_t n,
			   const char *const *skip, size_t nskip, struct got_list *l)
{
	int64_t deadline = rh_now_ms() + DELIVER_MS;

	for (;;) {
		size_t missing = 0;

		coll_got(c, l);
		for (size_t i = 0; i < n; i++) {
			bool skipped = false;

			for (size_t k = 0; k < nskip; k++)
				skipped = skipped || !strcmp(skip[k], tag_of(want[i]));
			missing += !skipped && !got_count(l, tag_of(want[i]));
		}
		if (!missing)
			return true;
		if (rh_now_ms() > deadline) {
			cr_log_error("%zu of %zu alerts never reached the collector; its log:\n%s",
				     missing, n, rh_file_read(c->log));
			return false;
		}
		rh_nap();
	}
}

/* Exactly once each; strict: in the order raised. */
RH_API void expect_once(const struct got_list *l, const cJSON *const *want, size_t n, bool strict)
{
	size_t pos = 0, ours = 0;

	for (size_t i = 0; i < n; i++)
		cr_expect_eq(got_count(l, tag_of(want[i])), 1, "alert %s indexed %zu times", tag_of(want[i]),
			     got_count(l, tag_of(want[i])));
	for (size_t i = 0; i < l->n; i++) {
		const char *t = tag_of(l->g[i].alert);

		if (!tag_ours(t))
			continue;
		ours++;
		while (strict && pos < n && strcmp(tag_of(want[pos]), t))
			pos++;
		cr_expect(!strict || pos < n, "alert %s is out of order", t);
	}
	cr_expect_eq(ours, n, "the collector has %zu of our alerts, %zu were raised", ours, n);
}

/* ---- the agent's stats -------------------------------------------------- */

/* {"cmd":"stats"} over the control socket: every agent has one, so a
 * missing or silent socket fails the test rather than skipping the check. */
RH_API cJSON *ctl_stats(struct rh_agent *a)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int64_t deadline = rh_now_ms() + RH_DEADLINE_MS;
	char buf[65536];
	size_t n = 0;

	cr_assert_lt(strlen(a->ctl), sizeof(sa.sun_path));
	memcpy(sa.sun_path, a->ctl, strlen(a->ctl) + 1);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		if (fd >= 0)
			close(fd);
		cr_assert_fail("no control socket at %s (%s): sink stats cannot be checked", a->ctl,
			       strerror(errno));
	}
	cr_assert_eq(write(fd, "{\"cmd\":\"stats\"}\n", 16), 16);
	while (n < sizeof(buf) - 1 && rh_now_ms() < deadline) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t r = poll(&p, 1, 100) > 0 ? read(fd, buf + n, sizeof(buf) - 1 - n) : -2;

		if (r == 0 || r == -1)
			break;
		if (r > 0)
			n += (size_t)r;
	}
	close(fd);
	buf[n] = '\0';
	cJSON *j = cJSON_Parse(buf);

	cr_assert_not_null(j, "stats answer is not JSON: %.200s", buf);
	return j;
}

RH_API const cJSON *http_sink(const cJSON *stats)
{
	const cJSON *s;

	cJSON_ArrayForEach(s, cJSON_GetObjectItem(stats, "sinks")) {
		const char *name = rh_jstr(s, "name");

		if (name && !strcmp(name, "http"))
			return s;
	}
	return NULL;
}

/* The token (and any URL password) is in no output of the agent; the
 * sink's stats, where served, show a clean target and >= min errors. */
RH_API void expect_no_secret(struct rh_agent *a, const char *url_pw, double min_errors)
{
	cJSON *st = a->reaped ? NULL : ctl_stats(a); /* stopped: stderr only */
	char *text = st ? cJSON_PrintUnformatted(st) : NULL, *err = rh_file_read(a->errf);
	const cJSON *h = http_sink(st);
	double errors = -1;

	cr_expect_null(strstr(err, token), "the token is in the agent's stderr:\n%s", err);
	cr_expect(!url_pw || !strstr(err, url_pw), "the URL password is in stderr:\n%s", err);
	if (st) {
		cr_expect_not_null(h, "no http sink in stats: %s", text);
		cr_expect_null(strstr(text, token), "the token is in stats: %s", text);
		cr_expect(!url_pw || !strstr(text, url_pw), "the URL password is in stats: %s", text);
		cr_expect(!strchr(rh_s(rh_jstr(h, "target")), '?') &&
			  !strchr(rh_s(rh_jstr(h, "target")), '@'), "target %s", rh_s(rh_jstr(h, "target")));
		cr_expect(rh_jnum(h, "errors", &errors) && errors >= min_errors,
			  "http sink errors %g, want >= %g: %s", errors, min_errors, text);
		cr_expect(cJSON_IsTrue(cJSON_GetObjectItem(h, "reliable")));
	}
	free(text);
	free(err);
	cJSON_Delete(st);
}

/* ---- envelopes ---------------------------------------------------------- */

/* HEC "time" is the record's time: event.created, else @timestamp. */
RH_API uint64_t alert_ms(const cJSON *alert)
{
	const char *ts = rh_jstr(alert, "event.created");
	struct tm tm = { 0 };
	const char *frac;

	ts = ts ? ts : rh_jstr(alert, "@timestamp");
	cr_assert_not_null(ts);
	frac = strptime(ts, "%Y-%m-%dT%H:%M:%S", &tm);
	cr_assert(frac && *frac == '.', "timestamp %s", ts);
	return (uint64_t)timegm(&tm) * 1000 + (uint64_t)(atof(frac) * 1000);
}

RH_API void expect_hec(const struct got *g, const cJSON *raised_line, const char *index)
{
	char host[256] = "";
	double t = 0;

	gethostname(host, sizeof(host) - 1);
	cr_expect_eq(cJSON_GetArraySize(g->env), 6, "time host source sourcetype index event");
	rh_expect_str(g->env, "host", host);
	rh_expect_str(g->env, "source", "twinguard");
	rh_expect_str(g->env, "sourcetype", "twinguard:alert");
	rh_expect_str(g->env, "index", index);
	cr_expect(rh_jnum(g->env, "time", &t) && (uint64_t)(t * 1000 + 0.5) == alert_ms(raised_line),
		  "HEC time %.3f for %s", t, rh_s(rh_jstr(raised_line, "@timestamp")));
	cr_expect(cJSON_Compare(g->alert, raised_line, true), "HEC event is not the alert raised");
}

RH_API void expect_bulk(const struct got *g, const cJSON *raised_line, const char *index)
{
	const cJSON *c = cJSON_GetObjectItem(g->env, "create");
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;
	char id[33];

	cr_expect_eq(cJSON_GetArraySize(g->env), 1, "one action per document");
	cr_assert(cJSON_IsObject(c), "the action is create (data streams take no other)");
	rh_expect_str(c, "_index", index);
	cr_assert(EVP_Digest(g->raw, strlen(g->raw), md, &mdlen, EVP_sha256(), NULL));
	for (int i = 0; i < 16; i++)
		snprintf(id + 2 * i, 3, "%02x", md[i]);
	rh_expect_str(c, "_id", id);
	cr_expect(cJSON_Compare(g->alert, raised_line, true), "_bulk document is not the alert raised");
}

RH_API const struct got *got_find(const struct got_list *l, const char *tag)
{
	for (size_t i = 0; i < l->n; i++) {
		const char *t = tag_of(l->g[i].alert);

		if (t && !strcmp(t, tag))
			return &l->g[i];
	}
	return NULL;
}

RH_API void expect_log_clean(const cJSON *log, const char *path, const char *ctype)
{
	const cJSON *l;

	cJSON_ArrayForEach(l, log) {
		cr_expect(cJSON_IsTrue(cJSON_GetObjectItem(l, "auth")), "request %g: wrong Authorization",
			  cJSON_GetObjectItem(l, "n")->valuedouble);
		rh_expect_str(l, "content_type", ctype);
		cr_expect(!strncmp(rh_s(rh_jstr(l, "path")), path, strlen(path)), "path %s, want %s",
			  rh_s(rh_jstr(l, "path")), path);
	}
}

/* Two healthy requests in a row came over one connection (the sink keeps
 * its curl handle, and so the connection, between batches). */
RH_API void expect_keep_alive(const cJSON *log)
{
	const cJSON *l, *prev = NULL;
	int ok = 0, reused = 0;

	cJSON_ArrayForEach(l, log) {
		double st = 0, p1 = -1, p2 = -2;

		if (rh_jnum(l, "status", &st) && st == 200) {
			ok++;
			if (prev && rh_jnum(prev, "peer_port", &p1) && rh_jnum(l, "peer_port", &p2))
				reused += p1 == p2;
			prev = l;
		} else {
			prev = NULL;
		}
	}
	cr_expect(ok < 2 || reused > 0, "%d healthy requests in a row, none on the same connection", ok);
}

#endif /* TG_HTTP_HARNESS_H */
