// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The HTTP sink against a real HTTP server (tests/integration/http_collector.py,
 * stdlib http.server on 127.0.0.1, port by bind(0)) with the real agent
 * (rules_harness.h). Each rh_sync() raises one barrier alert; the test's
 * own are told apart from other tests' by their tag (rh-sync-PID-AGENT-N).
 *
 *   test worker ---- rh_start_with(config: http_url, http_format, spool_dir)
 *        |                 agent --POST--> collector (scripted: 503, stall,
 *        |                                  reset, 429 items, TLS) --> out, log
 *        `-- reads the agent's stream output (what was raised, in order) and
 *            the collector's out (what was indexed) and log (what it did)
 *
 * Verdicts: every raised alert is indexed exactly once (in order where HTTP
 * allows it), every envelope field is right, the faults were really served
 * (the log), the token never shows in the agent's stderr or stats.
 */
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
static struct coll colls[MAX_COLL];
static int ncolls;
static char token[64], token_file[PATH_MAX];
/* static too: rh_cleanup() (.fini, atexit) stops them after the test */
static struct rh_agent ag, ag2;

static void coll_stop(struct coll *c)
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

static void http_fini(void)
{
	while (ncolls)
		coll_stop(&colls[--ncolls]);
	rh_cleanup();
}

TestSuite(http, .fini = http_fini, .timeout = 240);

/* A token that cannot occur by chance in any other output; and the
 * spool's directory (the agent makes only its per-sink folder). */
static void token_make(void)
{
	cr_assert_eq(mkdir(rh_path("spool"), 0700), 0);
	snprintf(token, sizeof(token), "tg-secret-%d-Qz7x", (int)getpid());
	snprintf(token_file, sizeof(token_file), "%s", rh_path("token"));
	rh_file_write(token_file, token);
	cr_assert_eq(chmod(token_file, 0600), 0);
}

/* Start a collector: format, auth scheme, then extra argv, NULL-ended. */
static struct coll *coll_start(const char *format, const char *scheme, ...)
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
static cJSON *coll_log(const struct coll *c, int *tls_errors)
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
static void wait_begun(const struct coll *c, const char *action)
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

static int log_count(const cJSON *log, const char *action, int status)
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

static double log_sum(const cJSON *log, const char *field)
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

static void got_free(struct got_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		cJSON_Delete(l->g[i].env);
		cJSON_Delete(l->g[i].own);
		free(l->g[i].raw);
	}
	l->n = 0;
}

static void got_hec(struct got_list *l, const char *text)
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

static void got_lines(struct got_list *l, char *text, bool bulk)
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

static void coll_got(const struct coll *c, struct got_list *l)
{
	char *text = rh_file_read(c->out);

	got_free(l);
	if (!strcmp(c->format, "splunk_hec"))
		got_hec(l, text);
	else
		got_lines(l, text, !strcmp(c->format, "elastic_bulk"));
	free(text);
}

/* ---- what the agent raised ---------------------------------------------- */

static const char *tag_of(const cJSON *alert)
{
	const cJSON *args = rh_jget(alert, "process.args");
	const cJSON *t = cJSON_GetArrayItem(args, 1);
	const char *rule = rh_jstr(alert, "rule.name");

	if (!rule || strcmp(rule, RH_BARRIER_RULE) || !cJSON_IsString(t))
		return NULL;
	return t->valuestring;
}

/* This worker's barrier alert (any of its agents)? */
static bool tag_ours(const char *tag)
{
	char pre[32];

	snprintf(pre, sizeof(pre), "rh-sync-%d-", (int)getpid());
	return tag && !strncmp(tag, pre, strlen(pre));
}

/* Our barrier alerts of the agents' streams, in the order raised. */
static size_t raised(struct rh_agent **agents, size_t na, const cJSON **out, size_t max)
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

static size_t got_count(const struct got_list *l, const char *tag)
{
	size_t n = 0;

	for (size_t i = 0; i < l->n; i++) {
		const char *t = tag_of(l->g[i].alert);

		n += t && !strcmp(t, tag);
	}
	return n;
}

/* Poll until every raised alert but those skipped is indexed. */
static bool wait_delivered(const struct coll *c, const cJSON *const *want, size_t n,
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
static void expect_once(const struct got_list *l, const cJSON *const *want, size_t n, bool strict)
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

/* {"cmd":"stats"} over the control socket; NULL when this build has none. */
static cJSON *ctl_stats(struct rh_agent *a)
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
		cr_log_warn("no control socket at %s (%s): sink stats not checked", a->ctl, strerror(errno));
		return NULL;
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
	return cJSON_Parse(buf);
}

static const cJSON *http_sink(const cJSON *stats)
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
static void expect_no_secret(struct rh_agent *a, const char *url_pw, double min_errors)
{
	cJSON *st = ctl_stats(a);
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
static uint64_t alert_ms(const cJSON *alert)
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

static void expect_hec(const struct got *g, const cJSON *raised_line, const char *index)
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

static void expect_bulk(const struct got *g, const cJSON *raised_line, const char *index)
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

static const struct got *got_find(const struct got_list *l, const char *tag)
{
	for (size_t i = 0; i < l->n; i++) {
		const char *t = tag_of(l->g[i].alert);

		if (t && !strcmp(t, tag))
			return &l->g[i];
	}
	return NULL;
}

static void expect_log_clean(const cJSON *log, const char *path, const char *ctype)
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
static void expect_keep_alive(const cJSON *log)
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

/* ---- tests -------------------------------------------------------------- */

#define NSYNC 12

/*
 * Splunk HEC: 503, 503, two stalls past the client's timeout, two reset
 * connections, then a healthy collector. Every alert once, in order, in
 * HEC's envelope; the URL's userinfo and query stay out of stats.
 */
Test(http, hec_fails_stalls_resets_then_recovers_exactly_once)
{
	struct rh_agent *a = &ag;
	struct coll *c;
	struct got_list *l = calloc(1, sizeof(*l));
	const cJSON *want[64];
	char conf[3 * PATH_MAX], pw[32];
	size_t n;
	cJSON *log;

	token_make();
	snprintf(pw, sizeof(pw), "urlpw%d", (int)getpid());
	c = coll_start("splunk_hec", "Splunk", "--script", "503*2,stall*2,reset*2", "--stall-s", "3",
		   NULL);
	snprintf(conf, sizeof(conf),
		 "http_url = http://tg:%s@127.0.0.1:%d/services/collector/event?channel=c1\n"
		 "http_format = splunk_hec\nhttp_token_file = %s\nhttp_index = twinguard\n"
		 "http_timeout_ms = 1000\nhttp_batch_max = 4\nspool_dir = %s\n",
		 pw, c->port, token_file, rh_path("spool"));
	rh_start_with(a, NULL, conf);
	for (int i = 0; i < NSYNC; i++)
		rh_sync(a);
	n = raised((struct rh_agent *[]){ a }, 1, want, 64);
	cr_assert_eq(n, NSYNC, "the stream has %zu of our %d alerts", n, NSYNC);
	cr_assert(wait_delivered(c, want, n, NULL, 0, l));
	expect_no_secret(a, pw, 6);
	rh_stop(a);
	coll_got(c, l); /* after the drain: nothing arrived twice since */
	expect_once(l, want, n, true);
	for (size_t i = 0; i < n; i++) {
		const struct got *g = got_find(l, tag_of(want[i]));

		if (g)
			expect_hec(g, want[i], "twinguard");
	}
	log = coll_log(c, NULL);
	cr_expect_eq(log_count(log, "503", 503), 2, "the 503s were served");
	cr_expect_eq(log_count(log, "stall", -1), 2, "the stalls were served");
	cr_expect_eq(log_count(log, "reset", -1), 2, "the resets were served");
	expect_log_clean(log, "/services/collector/event", "application/json");
	expect_keep_alive(log);
	expect_no_secret(a, pw, 0);
	cJSON_Delete(log);
	got_free(l);
	free(l);
}

/* The _bulk _id of a raised alert: the digest of its line as sent. */
static void alert_id(const cJSON *alert, char id[33])
{
	char *line = cJSON_PrintUnformatted(alert);
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;

	cr_assert(line && EVP_Digest(line, strlen(line), md, &mdlen, EVP_sha256(), NULL));
	for (int i = 0; i < 16; i++)
		snprintf(id + 2 * i, 3, "%02x", md[i]);
	free(line);
}

/* The raised alerts whose _id the collector refused for good. */
static size_t rejected_tags(const cJSON *log, const cJSON *const *want, size_t n,
			    const char **skip, size_t max)
{
	const cJSON *e, *id;
	size_t k = 0;
	char mine[33];

	cJSON_ArrayForEach(e, log)
		cJSON_ArrayForEach(id, cJSON_GetObjectItem(e, "rejected_ids"))
			for (size_t i = 0; i < n && k < max; i++) {
				alert_id(want[i], mine);
				if (cJSON_IsString(id) && !strcmp(id->valuestring, mine))
					skip[k++] = tag_of(want[i]);
			}
	return k;
}

/* No document the collector refused for good is in its index. */
static void expect_not_indexed(const struct got_list *l, const cJSON *log)
{
	const cJSON *e, *id;

	cJSON_ArrayForEach(e, log)
		cJSON_ArrayForEach(id, cJSON_GetObjectItem(e, "rejected_ids"))
			for (size_t i = 0; i < l->n; i++)
				cr_expect(strcmp(rh_s(rh_jstr(l->g[i].env, "create._id")), id->valuestring),
					  "refused document %s was sent again and indexed", id->valuestring);
}

static cJSON *wait_log_action(const struct coll *c, const char *action)
{
	int64_t deadline = rh_now_ms() + DELIVER_MS;

	for (;;) {
		cJSON *log = coll_log(c, NULL);

		if (log_count(log, action, -1))
			return log;
		cJSON_Delete(log);
		cr_assert(rh_now_ms() < deadline, "the collector never served '%s'; log:\n%s", action,
			  rh_file_read(c->log));
		rh_nap();
	}
}

/*
 * Elasticsearch _bulk: the first batch is indexed but its answer never
 * comes (stall_accept), then the collector is down until the alerts are
 * spooled; on recovery one batch has item 1 refused with 429 (the items
 * after it are indexed all the same) and the next has item 0 refused for
 * good (400). The _id makes every resend a 409, not a duplicate; the 400
 * is dropped and counted, never retried. Order is not asserted: a real
 * Elasticsearch also indexes the items after a 429 before its retry.
 */
Test(http, elastic_bulk_items_retry_and_mapping_errors_drop)
{
	struct rh_agent *a = &ag;
	struct coll *c;
	struct got_list *l = calloc(1, sizeof(*l));
	const cJSON *want[64];
	const char *skip[8];
	size_t n, nskip;
	char conf[3 * PATH_MAX];
	cJSON *log, *st;
	double dropped = -1;

	token_make();
	c = coll_start("elastic_bulk", "ApiKey", "--script",
		   "stall_accept,503*99999,recover,items:1=429,items:0=400", "--stall-s", "3", NULL);
	snprintf(conf, sizeof(conf),
		 "http_url = http://127.0.0.1:%d/_bulk\nhttp_format = elastic_bulk\n"
		 "http_token_file = %s\nhttp_index = twinguard-alerts\nhttp_timeout_ms = 1000\n"
		 "http_batch_max = 4\nspool_dir = %s\n", c->port, token_file, rh_path("spool"));
	rh_start_with(a, NULL, conf);
	for (int i = 0; i < NSYNC; i++)
		rh_sync(a);
	n = raised((struct rh_agent *[]){ a }, 1, want, 64);
	cr_assert_eq(n, NSYNC);
	log = wait_log_action(c, "503");
	cJSON_Delete(log);
	kill(c->pid, SIGUSR1); /* recover: the spooled alerts go in batches of 4 */
	log = wait_log_action(c, "items:0=400");
	/* the refused record may be another test's alert (every agent sees
	 * every marker): ours or not, it is dropped once and never indexed */
	nskip = rejected_tags(log, want, n, skip, 8);
	cr_expect_eq(log_sum(log, "items.rejected"), 1, "one document was refused for good");
	cr_expect_leq(nskip, 1);
	cr_assert(wait_delivered(c, want, n, skip, nskip, l));
	st = ctl_stats(a);
	if (st)
		cr_expect(rh_jnum(http_sink(st), "dropped", &dropped) && dropped == 1,
			  "http dropped %g, want 1", dropped);
	cJSON_Delete(st);
	expect_no_secret(a, NULL, 3);
	rh_stop(a);
	cJSON_Delete(log);
	log = coll_log(c, NULL);
	coll_got(c, l);
	for (size_t i = 0; i < n; i++) {
		const struct got *g = got_find(l, tag_of(want[i]));
		bool skipped = nskip && !strcmp(skip[0], tag_of(want[i]));

		cr_expect_eq(got_count(l, tag_of(want[i])), skipped ? 0u : 1u, "%s indexed %zu times",
			     tag_of(want[i]), got_count(l, tag_of(want[i])));
		if (g)
			expect_bulk(g, want[i], "twinguard-alerts");
	}
	cr_expect_geq(log_sum(log, "items.conflict"), 1, "a resend met its own _id (409)");
	cr_expect_eq(log_sum(log, "items.failed"), 1, "an item was refused with 429");
	cr_expect_eq(log_sum(log, "items.rejected"), 1, "the refused document was not sent again");
	expect_not_indexed(l, log);
	expect_log_clean(log, "/_bulk", "application/x-ndjson");
	cJSON_Delete(log);
	got_free(l);
	free(l);
}

/*
 * NDJSON: the collector is down (503) for a whole agent run; the agent
 * stops with its alerts in the spool; a second agent on the same spool
 * delivers them, then its own, once each and in order, when the
 * collector recovers. Its body limit (413 past 5000 bytes) halves the
 * batches on the way. The token file is 0644: a warning, not an error.
 */
Test(http, ndjson_spool_survives_an_agent_restart_while_down)
{
	struct got_list *l = calloc(1, sizeof(*l));
	const cJSON *want[64];
	char conf[3 * PATH_MAX];
	struct coll *c;
	size_t n;
	cJSON *log;

	token_make();
	cr_assert_eq(chmod(token_file, 0644), 0);
	c = coll_start("ndjson", "Bearer", "--script", "503*99999", "--max-body", "5000", NULL);
	snprintf(conf, sizeof(conf),
		 "http_url = http://127.0.0.1:%d/ingest\nhttp_token_file = %s\n"
		 "http_timeout_ms = 1000\nhttp_batch_max = 3\nspool_dir = %s\n",
		 c->port, token_file, rh_path("spool"));
	rh_start_with(&ag, NULL, conf);
	for (int i = 0; i < 5; i++)
		rh_sync(&ag);
	cJSON_Delete(wait_log_action(c, "503"));
	expect_no_secret(&ag, NULL, 1);
	{
		char *err = rh_file_read(ag.errf);

		cr_expect(strstr(err, "warning: http_token_file") && strstr(err, "mode 0644"),
			  "no warning about a token others may read:\n%s", err);
		free(err);
	}
	rh_stop(&ag); /* the collector is down: what is held goes to the spool */
	kill(c->pid, SIGUSR1);
	rh_start_with(&ag2, NULL, conf);
	for (int i = 0; i < 4; i++)
		rh_sync(&ag2);
	n = raised((struct rh_agent *[]){ &ag, &ag2 }, 2, want, 64);
	cr_assert_eq(n, 9, "the streams have %zu of our 9 alerts", n);
	cr_assert(wait_delivered(c, want, n, NULL, 0, l));
	rh_stop(&ag2);
	coll_got(c, l);
	expect_once(l, want, n, true);
	for (size_t i = 0; i < n; i++) {
		const struct got *g = got_find(l, tag_of(want[i]));

		cr_expect(!g || cJSON_Compare(g->alert, want[i], true), "%s: line differs", tag_of(want[i]));
	}
	log = coll_log(c, NULL);
	cr_expect_geq(log_count(log, "503", 503), 1);
	cr_expect_geq(log_count(log, "ok", 413), 1, "3 alerts (~6 KB) are over --max-body 5000");
	expect_log_clean(log, "/ingest", "application/x-ndjson");
	expect_no_secret(&ag2, NULL, 0);
	cJSON_Delete(log);
	got_free(l);
	free(l);
}

/*
 * TLS is verified by default: a self-signed collector is refused (the
 * handshake fails, the agent counts it and stays up, the alerts wait in
 * the spool); with http_ca_file naming that certificate, the next agent
 * delivers all of them.
 */
Test(http, tls_self_signed_refused_by_default_passes_with_ca_file)
{
	struct got_list *l = calloc(1, sizeof(*l));
	const char *cert = rh_path("cert.pem"), *key = rh_path("key.pem");
	const cJSON *want[64];
	char conf[4 * PATH_MAX], conf2[5 * PATH_MAX];
	struct coll *c;
	int tls_errors = 0;
	int64_t deadline;
	char *out = NULL;
	size_t n;
	cJSON *log;

	token_make();
	cr_assert_eq(rh_sh_q(&out, "openssl req -x509 -newkey rsa:2048 -nodes -keyout '%s' -out '%s' "
			     "-days 2 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1", key, cert),
		     0, "openssl: %s", out);
	free(out);
	c = coll_start("splunk_hec", "Splunk", "--tls-cert", cert, "--tls-key", key, NULL);
	snprintf(conf, sizeof(conf),
		 "http_url = https://127.0.0.1:%d/services/collector/event\nhttp_format = splunk_hec\n"
		 "http_token_file = %s\nhttp_index = main\nhttp_timeout_ms = 2000\nspool_dir = %s\n",
		 c->port, token_file, rh_path("spool"));
	rh_start_with(&ag, NULL, conf);
	for (int i = 0; i < 3; i++)
		rh_sync(&ag);
	deadline = rh_now_ms() + DELIVER_MS;
	do {
		cJSON_Delete(coll_log(c, &tls_errors));
		if (!tls_errors)
			rh_nap();
	} while (!tls_errors && rh_now_ms() < deadline);
	cr_expect_geq(tls_errors, 1, "the agent never tried the TLS collector");
	log = coll_log(c, NULL);
	cr_expect_eq(cJSON_GetArraySize(log), 0, "a request passed an unverified TLS peer");
	cJSON_Delete(log);
	cr_expect(!rh_agent_exited(&ag), "the agent died on a TLS failure");
	expect_no_secret(&ag, NULL, 1);
	rh_stop(&ag);
	snprintf(conf2, sizeof(conf2), "%shttp_ca_file = %s\n", conf, cert);
	rh_start_with(&ag2, NULL, conf2);
	for (int i = 0; i < 3; i++)
		rh_sync(&ag2);
	n = raised((struct rh_agent *[]){ &ag, &ag2 }, 2, want, 64);
	cr_assert_eq(n, 6);
	cr_assert(wait_delivered(c, want, n, NULL, 0, l));
	rh_stop(&ag2);
	coll_got(c, l);
	expect_once(l, want, n, true);
	for (size_t i = 0; i < n; i++) {
		const struct got *g = got_find(l, tag_of(want[i]));

		if (g)
			expect_hec(g, want[i], "main");
	}
	log = coll_log(c, NULL);
	expect_log_clean(log, "/services/collector/event", "application/json");
	expect_no_secret(&ag2, NULL, 0);
	cJSON_Delete(log);
	got_free(l);
	free(l);
}

/*
 * A collector that stalls for a minute against a 30 s client timeout: a
 * stopping agent aborts the POST at its drain deadline (the progress
 * callback), exits cleanly and spools; nothing was indexed, so the next
 * agent delivers each alert once.
 */
Test(http, stop_aborts_a_stalled_post_and_spools)
{
	struct got_list *l = calloc(1, sizeof(*l));
	const cJSON *want[64];
	char conf[3 * PATH_MAX];
	struct coll *c;
	size_t n;

	token_make();
	c = coll_start("splunk_hec", "Splunk", "--script", "stall*99999", "--stall-s", "60", NULL);
	snprintf(conf, sizeof(conf),
		 "http_url = http://127.0.0.1:%d/services/collector/event\nhttp_format = splunk_hec\n"
		 "http_token_file = %s\nhttp_index = main\nhttp_timeout_ms = 30000\nspool_dir = %s\n",
		 c->port, token_file, rh_path("spool"));
	rh_start_with(&ag, NULL, conf);
	rh_sync(&ag);
	rh_sync(&ag);
	wait_begun(c, "stall"); /* its log line comes only when the stall ends */
	rh_stop(&ag); /* asserts a clean exit within the harness's deadline */
	kill(c->pid, SIGUSR1);
	rh_start_with(&ag2, NULL, conf);
	rh_sync(&ag2);
	n = raised((struct rh_agent *[]){ &ag, &ag2 }, 2, want, 64);
	cr_assert_eq(n, 3);
	cr_assert(wait_delivered(c, want, n, NULL, 0, l));
	rh_stop(&ag2);
	coll_got(c, l);
	expect_once(l, want, n, true);
	expect_no_secret(&ag, NULL, 0);
	got_free(l);
	free(l);
}
