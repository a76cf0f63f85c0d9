// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The HTTP sink (http_url): batches of alerts POSTed as NDJSON, Splunk
 * HEC events or an Elasticsearch _bulk body (http_body.h), over one
 * libcurl easy handle that lives in the sink's thread from open() to
 * close(), so consecutive batches reuse the connection (keep-alive).
 *
 * Reliable: send() counts a record done only when the collector answered
 * 2xx for it (per item for _bulk). Anything else keeps the records: the
 * worker backs off, spools and sends them again, in order. A timeout
 * after the server processed a request means it gets the records twice:
 * HTTP itself is at-least-once (docs/delivery.md says how each SIEM
 * deduplicates; _bulk does it by our deterministic _id).
 *
 * The token comes from http_token_file only (read at init and on
 * SIGHUP/SIGUSR1), lives in the Authorization header and nowhere else:
 * it is never logged, and server text is masked before it is shown.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <curl/curl.h>

#include "deliver/http_body.h"
#include "deliver/sink.h"
#include "version.h"

#define HTTP_TIMEOUT_DEFAULT_MS 10000
#define HTTP_BATCH_DEFAULT 500
#define HTTP_RESP_MAX (8u << 20)   /* a _bulk answer for 1024 items is ~300 KiB */
#define HTTP_RETRY_AFTER_MAX_S 300 /* a collector cannot park us for longer */
#define HTTP_REGROW_AFTER 16       /* good POSTs before a halved batch doubles */

struct http_sink {
	CURL *curl;                 /* open() .. close(), sink thread only */
	struct curl_slist *hdrs;
	char *url;
	char *url_password;         /* masked in messages, as the token is */
	char *token_file, *ca_file;
	char *token;                /* NULL: no Authorization header */
	struct stat token_st;       /* of the file the token was read from */
	bool insecure, global;
	struct http_body_opts body;
	char host[256];
	long timeout_ms;
	size_t batch, batch_cfg;    /* records per POST: now (halved on 413), configured */
	unsigned good;
	struct http_buf req, resp;
	bool resp_over;
	uint64_t not_before_ms;     /* Retry-After: open() waits until then */
	char errbuf[CURL_ERROR_SIZE];
};

static uint64_t http_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Every message that may carry server or curl text goes through here. */
static void http_say(struct tg_sink *s, char *msg)
{
	struct http_sink *h = s->priv;

	http_mask(msg, h->token);
	http_mask(msg, h->url_password);
	sink_error(s, "%s", msg);
}

static size_t http_on_body(char *data, size_t size, size_t nmemb, void *arg)
{
	struct http_sink *h = arg;
	size_t n = size * nmemb;

	if (h->resp.len + n > HTTP_RESP_MAX) {
		h->resp_over = true;
		return 0; /* aborts the transfer: the answer is not believable */
	}
	return http_buf_add(&h->resp, data, n) ? 0 : n;
}

/* Called by libcurl about once a second and on progress: a stopping
 * agent past its drain deadline must not wait for a stalled collector. */
static int http_on_progress(void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
	(void)dt, (void)dn, (void)ut, (void)un;
	return sink_stopping(arg) ? 1 : 0;
}

/* The list holds a copy of the Authorization header: wipe it. */
static void http_headers_free(struct curl_slist *l)
{
	for (struct curl_slist *p = l; p; p = p->next)
		explicit_bzero(p->data, strlen(p->data));
	curl_slist_free_all(l);
}

static struct curl_slist *http_headers(const struct http_sink *h)
{
	char ctype[64], *auth = h->token ? http_auth_header(h->body.format, h->token) : NULL;
	struct curl_slist *l = NULL, *t;
	bool ok = !h->token || auth;

	snprintf(ctype, sizeof(ctype), "Content-Type: %s", http_content_type(h->body.format));
	/* "Expect:" turns off 100-continue: one round trip less per batch */
	const char *list[] = { ctype, "Expect:", auth };

	for (size_t i = 0; ok && i < sizeof(list) / sizeof(list[0]) && list[i]; i++) {
		t = curl_slist_append(l, list[i]);
		ok = t != NULL;
		l = t ? t : l;
	}
	http_token_free(auth);
	if (!ok) {
		http_headers_free(l);
		return NULL;
	}
	return l;
}

static int http_setup(struct tg_sink *s)
{
	struct http_sink *h = s->priv;
	CURL *c = h->curl;
	CURLcode rc = CURLE_OK;

#define SET(opt, val) (rc = rc ? rc : curl_easy_setopt(c, opt, val))
	SET(CURLOPT_URL, h->url);
	SET(CURLOPT_PROTOCOLS_STR, "http,https");
	SET(CURLOPT_NOSIGNAL, 1L);
	SET(CURLOPT_TIMEOUT_MS, h->timeout_ms);
	SET(CURLOPT_CONNECTTIMEOUT_MS, h->timeout_ms);
	SET(CURLOPT_FOLLOWLOCATION, 0L);
	SET(CURLOPT_TCP_KEEPALIVE, 1L);
	SET(CURLOPT_POST, 1L);
	SET(CURLOPT_HTTPHEADER, h->hdrs);
	SET(CURLOPT_USERAGENT, "twinguard/" TG_VERSION);
	SET(CURLOPT_WRITEFUNCTION, http_on_body);
	SET(CURLOPT_WRITEDATA, h);
	SET(CURLOPT_NOPROGRESS, 0L);
	SET(CURLOPT_XFERINFOFUNCTION, http_on_progress);
	SET(CURLOPT_XFERINFODATA, s);
	SET(CURLOPT_ERRORBUFFER, h->errbuf);
	SET(CURLOPT_SSL_VERIFYPEER, h->insecure ? 0L : 1L);
	SET(CURLOPT_SSL_VERIFYHOST, h->insecure ? 0L : 2L);
	if (h->ca_file)
		SET(CURLOPT_CAINFO, h->ca_file);
#undef SET
	if (rc) {
		char msg[256];

		snprintf(msg, sizeof(msg), "failed to set up the HTTP client: %s", curl_easy_strerror(rc));
		http_say(s, msg);
		return -1;
	}
	return 0;
}

static void http_reopen(struct tg_sink *s);

/* A token file replaced while the sink was down (say after a 401) is
 * read again on the next connect: the worker's SIGHUP reopen reaches only
 * a sink that is up. */
static void http_token_check(struct tg_sink *s)
{
	struct http_sink *h = s->priv;
	struct stat sb;

	if (h->token_file && !stat(h->token_file, &sb) &&
	    (sb.st_ino != h->token_st.st_ino || sb.st_dev != h->token_st.st_dev ||
	     sb.st_size != h->token_st.st_size || sb.st_mtim.tv_sec != h->token_st.st_mtim.tv_sec ||
	     sb.st_mtim.tv_nsec != h->token_st.st_mtim.tv_nsec))
		http_reopen(s);
}

static int http_open(struct tg_sink *s)
{
	struct http_sink *h = s->priv;

	/* Retry-After: stay down (last_error says why) until it has passed */
	if (h->not_before_ms && http_now_ms() < h->not_before_ms)
		return -1;
	h->not_before_ms = 0;
	http_token_check(s);
	if (!h->curl)
		h->curl = curl_easy_init();
	if (!h->curl) {
		sink_error(s, "failed to create an HTTP client: out of memory");
		return -1;
	}
	if (http_setup(s)) {
		curl_easy_cleanup(h->curl);
		h->curl = NULL;
		return -1;
	}
	return 0;
}

/* After a failure the worker closes: the next open() starts on a fresh
 * connection, as a timed-out or reset one is of no use. */
static void http_close(struct tg_sink *s)
{
	struct http_sink *h = s->priv;

	if (h->curl)
		curl_easy_cleanup(h->curl);
	h->curl = NULL;
}

static void http_retry_after(struct http_sink *h, long status, char *why, size_t whylen)
{
	curl_off_t ra = 0;
	size_t n = strlen(why);

	if ((status != 429 && status != 503) ||
	    curl_easy_getinfo(h->curl, CURLINFO_RETRY_AFTER, &ra) != CURLE_OK || ra <= 0)
		return;
	if (ra > HTTP_RETRY_AFTER_MAX_S)
		ra = HTTP_RETRY_AFTER_MAX_S;
	h->not_before_ms = http_now_ms() + (uint64_t)ra * 1000;
	if (n < whylen)
		snprintf(why + n, whylen - n, "; waiting %ld s (Retry-After)", (long)ra);
}

/* A 2xx _bulk answer: how many of the m records are settled. */
static enum http_verdict http_bulk_done(struct tg_sink *s, size_t m, size_t *got, char *why,
					size_t whylen)
{
	struct http_sink *h = s->priv;
	struct http_bulk_result br;

	if (http_bulk_parse(h->resp.p, h->resp.len, m, &br)) {
		snprintf(why, whylen, "HTTP 2xx from %s, but not a _bulk response; keeping the records",
			 s->target);
		return HTTP_V_RETRY;
	}
	*got = br.done;
	if (br.dropped) {
		char msg[512];

		/* a mapping error never succeeds: these records are lost, counted */
		snprintf(msg, sizeof(msg), "dropped %zu of %zu records the index refuses for good; first: %s",
			 br.dropped, m, br.why);
		http_say(s, msg);
		sink_drop(s, br.dropped);
	}
	if (br.done == m)
		return HTTP_V_DONE;
	if (br.retry_status)
		snprintf(why, whylen, "%s; %zu of %zu settled, sending the rest again", br.why, br.done, m);
	else
		snprintf(why, whylen, "%s; sending the rest again", br.why);
	return HTTP_V_RETRY;
}

/* One POST of recs[0..m); *got: how many are settled. */
static enum http_verdict http_post(struct tg_sink *s, struct tg_record *const *recs, size_t m,
				   size_t *got, char *why, size_t whylen)
{
	struct http_sink *h = s->priv;
	enum http_verdict v;
	long status = 0;
	CURLcode rc;

	*got = 0;
	if (http_body_build(&h->req, &h->body, recs, m)) {
		snprintf(why, whylen, "out of memory for a body of %zu records", m);
		return HTTP_V_RETRY;
	}
	h->resp.len = 0;
	h->resp_over = false;
	h->errbuf[0] = '\0';
	curl_easy_setopt(h->curl, CURLOPT_POSTFIELDS, h->req.p);
	curl_easy_setopt(h->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)h->req.len);
	rc = curl_easy_perform(h->curl);
	if (rc != CURLE_OK) {
		snprintf(why, whylen, "failed to POST %zu records to %s: %s%s%s%s", m, s->target,
			 rc == CURLE_ABORTED_BY_CALLBACK ? "the agent is stopping" : curl_easy_strerror(rc),
			 h->errbuf[0] ? " (" : "", h->errbuf, h->errbuf[0] ? ")" : "");
		if (h->resp_over)
			snprintf(why, whylen, "failed to POST %zu records to %s: the answer is larger "
				 "than %u MiB", m, s->target, HTTP_RESP_MAX >> 20);
		return HTTP_V_RETRY;
	}
	curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &status);
	v = http_status_verdict(h->body.format, status, h->resp.p, h->resp.len, why, whylen);
	if (v == HTTP_V_RETRY)
		http_retry_after(h, status, why, whylen);
	if (v != HTTP_V_DONE)
		return v;
	if (h->body.format == HTTP_FMT_ELASTIC_BULK)
		return http_bulk_done(s, m, got, why, whylen);
	*got = m;
	return v;
}

/*
 * Deliver recs[0..n) as POSTs of up to h->batch records. A 413 (or a
 * 400 about the data) halves the batch and tries again at once, so one
 * large record cannot loop forever; refused alone, it is dropped and
 * counted. Anything retryable returns what was settled so far.
 */
static size_t http_send(struct tg_sink *s, struct tg_record *const *recs, size_t n)
{
	struct http_sink *h = s->priv;
	size_t done = 0;

	while (done < n) {
		size_t m = n - done < h->batch ? n - done : h->batch, got;
		char why[1024];
		enum http_verdict v = http_post(s, recs + done, m, &got, why, sizeof(why));

		done += got;
		if (v == HTTP_V_RETRY) {
			http_say(s, why);
			return done;
		}
		if (v == HTTP_V_SPLIT && m == 1) {
			size_t k = strlen(why);

			snprintf(why + k, sizeof(why) - k, "; dropped 1 record it refuses alone");
			http_say(s, why);
			sink_drop(s, 1);
			done++;
		} else if (v == HTTP_V_SPLIT) {
			h->batch = m / 2;
			h->good = 0;
			http_say(s, why);
		} else if (h->batch < h->batch_cfg && ++h->good >= HTTP_REGROW_AFTER) {
			h->batch = h->batch * 2 < h->batch_cfg ? h->batch * 2 : h->batch_cfg;
			h->good = 0;
		}
	}
	return done;
}

static void http_token_warn(const char *path, unsigned mode)
{
	if (mode & 077)
		fprintf(stderr, "twinguard: warning: http_token_file %s is mode %04o: others than its "
			"owner may read the token; expected 0600 (chmod 0600 %s)\n", path, mode, path);
}

/* SIGHUP/SIGUSR1: a rotated token takes effect without a restart; a
 * token file that went bad keeps the old token (and says so). */
static void http_reopen(struct tg_sink *s)
{
	struct http_sink *h = s->priv;
	struct curl_slist *hdrs, *old = h->hdrs;
	char err[512], *tok, *prev = h->token;
	unsigned mode = 0;

	if (!h->token_file)
		return;
	tok = http_token_read(h->token_file, &mode, err, sizeof(err));
	if (!tok) {
		sink_error(s, "%s; keeping the previous token", err);
		return;
	}
	stat(h->token_file, &h->token_st);
	http_token_warn(h->token_file, mode);
	h->token = tok;
	hdrs = http_headers(h);
	if (!hdrs) {
		h->token = prev;
		http_token_free(tok);
		sink_error(s, "failed to reload http_token_file: out of memory; keeping the previous token");
		return;
	}
	h->hdrs = hdrs;
	if (h->curl)
		curl_easy_setopt(h->curl, CURLOPT_HTTPHEADER, h->hdrs);
	http_headers_free(old);
	http_token_free(prev);
}

static void http_free(struct http_sink *h)
{
	if (!h)
		return;
	if (h->curl)
		curl_easy_cleanup(h->curl);
	http_headers_free(h->hdrs);
	http_token_free(h->token);
	http_token_free(h->url_password);
	free(h->url);
	free(h->token_file);
	free(h->ca_file);
	free((char *)h->body.index);
	http_buf_free(&h->req);
	http_buf_free(&h->resp);
	if (h->global)
		curl_global_cleanup();
	free(h);
}

static void http_destroy(struct tg_sink *s)
{
	http_free(s->priv);
	s->priv = NULL;
}

static const struct tg_sink_ops http_ops = {
	.kind = "http",
	.reliable = true,
	.open = http_open,
	.send = http_send,
	.close = http_close,
	.reopen = http_reopen,
	.destroy = http_destroy,
};

/* http_url: shown without credentials; _bulk needs its endpoint. */
static int http_init_url(struct tg_sink *s, struct http_sink *h, char *err, size_t errlen)
{
	const char *url = s->cfg->http_url;
	CURLU *u = curl_url();
	char *pw = NULL;
	size_t tlen;

	if (!u || http_url_display(url, s->target, sizeof(s->target))) {
		curl_url_cleanup(u);
		snprintf(err, errlen, "http_url: not a URL libcurl can parse; expected "
			 "http[s]://HOST[:PORT]/PATH");
		return -1;
	}
	if (!curl_url_set(u, CURLUPART_URL, url, 0) && !curl_url_get(u, CURLUPART_PASSWORD, &pw, 0)) {
		h->url_password = strdup(pw);
		explicit_bzero(pw, strlen(pw));
	}
	curl_free(pw);
	curl_url_cleanup(u);
	tlen = strlen(s->target);
	if (h->body.format == HTTP_FMT_ELASTIC_BULK &&
	    (tlen < 6 || strcmp(s->target + tlen - 6, "/_bulk"))) {
		snprintf(err, errlen, "http_url: %s is not a _bulk endpoint; elastic_bulk expects "
			 "https://HOST:9200/_bulk (or /INDEX/_bulk)", s->target);
		return -1;
	}
	h->url = strdup(url);
	return h->url ? 0 : -1;
}

static int http_init_token(struct tg_sink *s, struct http_sink *h, char *err, size_t errlen)
{
	const struct tg_config *c = s->cfg;
	unsigned mode = 0;

	if (!c->http_token_file) {
		if (h->body.format == HTTP_FMT_SPLUNK_HEC) {
			snprintf(err, errlen, "http_token_file: splunk_hec needs a HEC token; expected "
				 "http_token_file = FILE holding it (mode 0600)");
			return -1;
		}
		return 0;
	}
	h->token_file = strdup(c->http_token_file);
	h->token = http_token_read(c->http_token_file, &mode, err, errlen);
	if (!h->token)
		return -1;
	stat(c->http_token_file, &h->token_st);
	http_token_warn(c->http_token_file, mode);
	return 0;
}

static int http_init_tls(struct tg_sink *s, struct http_sink *h, char *err, size_t errlen)
{
	const struct tg_config *c = s->cfg;

	h->insecure = c->http_insecure;
	if (c->http_ca_file) {
		if (access(c->http_ca_file, R_OK)) {
			snprintf(err, errlen, "http_ca_file: failed to read %s: %s", c->http_ca_file,
				 strerror(errno));
			return -1;
		}
		h->ca_file = strdup(c->http_ca_file);
	}
	if (h->insecure)
		fprintf(stderr, "twinguard: warning: http_insecure = true: the collector at %s is not "
			"authenticated (TLS peer and host are not verified)\n", s->target);
	return 0;
}

int sink_http_init(struct tg_sink *s, char *err, size_t errlen)
{
	const struct tg_config *c = s->cfg;
	struct http_sink *h = calloc(1, sizeof(*h));

	if (!h) {
		snprintf(err, errlen, "http_url: out of memory");
		return -1;
	}
	if (http_format_parse(c->http_format, &h->body.format)) {
		snprintf(err, errlen, "http_format: '%s' is not a known format; expected ndjson, "
			 "splunk_hec or elastic_bulk", c->http_format);
		goto fail;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT)) {
		snprintf(err, errlen, "http_url: failed to initialise libcurl");
		goto fail;
	}
	h->global = true;
	if (http_init_url(s, h, err, errlen) || http_init_token(s, h, err, errlen) ||
	    http_init_tls(s, h, err, errlen))
		goto fail;
	if (c->http_index && !(h->body.index = strdup(c->http_index)))
		goto oom;
	if (gethostname(h->host, sizeof(h->host) - 1))
		snprintf(h->host, sizeof(h->host), "localhost");
	h->body.host = h->host;
	h->timeout_ms = c->http_timeout_ms ? (long)c->http_timeout_ms : HTTP_TIMEOUT_DEFAULT_MS;
	h->batch_cfg = c->http_batch_max ? c->http_batch_max : HTTP_BATCH_DEFAULT;
	h->batch = h->batch_cfg;
	h->hdrs = http_headers(h);
	if (!h->hdrs)
		goto oom;
	s->batch_max = h->batch_cfg;
	s->ops = &http_ops;
	s->priv = h;
	return 0;
oom:
	snprintf(err, errlen, "http_url: out of memory");
fail:
	http_free(h);
	return -1;
}
