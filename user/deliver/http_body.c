// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * http_body: bodies, response verdicts, token and URL of the HTTP sink
 * (http_body.h). JSON is built and read with cJSON only; records go into
 * envelopes as raw items, so a 500-alert batch is not parsed again.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <openssl/evp.h>

#include "deliver/http_body.h"

int http_buf_add(struct http_buf *b, const char *s, size_t n)
{
	if (b->cap - b->len < n + 1) {
		size_t cap = b->cap ? b->cap : 4096;
		char *p;

		while (cap - b->len < n + 1)
			cap *= 2;
		p = realloc(b->p, cap);
		if (!p)
			return -1;
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
	return 0;
}

void http_buf_free(struct http_buf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}

int http_format_parse(const char *name, enum http_format *f)
{
	if (!name || !strcmp(name, "ndjson"))
		*f = HTTP_FMT_NDJSON;
	else if (!strcmp(name, "splunk_hec"))
		*f = HTTP_FMT_SPLUNK_HEC;
	else if (!strcmp(name, "elastic_bulk"))
		*f = HTTP_FMT_ELASTIC_BULK;
	else
		return -1;
	return 0;
}

const char *http_content_type(enum http_format f)
{
	return f == HTTP_FMT_SPLUNK_HEC ? "application/json" : "application/x-ndjson";
}

void http_doc_id(const struct tg_record *r, char out[HTTP_DOC_ID_LEN + 1])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	if (!EVP_Digest(r->json, r->json_len, md, &mdlen, EVP_sha256(), NULL) ||
	    mdlen < HTTP_DOC_ID_LEN / 2)
		memset(md, 0, sizeof(md)); /* cannot happen with a working libcrypto */
	for (int i = 0; i < HTTP_DOC_ID_LEN / 2; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
	out[HTTP_DOC_ID_LEN] = '\0';
}

/* Print j, append it and then tail (may be ""), free j. */
static int body_add_json(struct http_buf *b, cJSON *j, const char *tail)
{
	char *s = j ? cJSON_PrintUnformatted(j) : NULL;
	int rc = -1;

	if (s && !http_buf_add(b, s, strlen(s)) && !http_buf_add(b, tail, strlen(tail)))
		rc = 0;
	free(s);
	cJSON_Delete(j);
	return rc;
}

/* HEC wants "time" as epoch seconds with a fraction; cJSON would print
 * the double with 17 digits of noise, so it is a raw number of our own. */
static cJSON *body_hec(const struct http_body_opts *o, const struct tg_record *r)
{
	cJSON *j = cJSON_CreateObject();
	char t[32];

	snprintf(t, sizeof(t), "%" PRIu64 ".%03u", r->time_ns / 1000000000u,
		 (unsigned)(r->time_ns % 1000000000u / 1000000u));
	if (!j || !cJSON_AddRawToObject(j, "time", t) ||
	    !cJSON_AddStringToObject(j, "host", o->host ? o->host : "") ||
	    !cJSON_AddStringToObject(j, "source", HTTP_SOURCE) ||
	    !cJSON_AddStringToObject(j, "sourcetype", HTTP_SOURCETYPE) ||
	    (o->index && !cJSON_AddStringToObject(j, "index", o->index)) ||
	    !cJSON_AddRawToObject(j, "event", r->json)) {
		cJSON_Delete(j);
		return NULL;
	}
	return j;
}

static cJSON *body_bulk_action(const struct http_body_opts *o, const struct tg_record *r)
{
	cJSON *j = cJSON_CreateObject(), *c = cJSON_AddObjectToObject(j, "create");
	char id[HTTP_DOC_ID_LEN + 1];

	http_doc_id(r, id);
	if (!c || (o->index && !cJSON_AddStringToObject(c, "_index", o->index)) ||
	    !cJSON_AddStringToObject(c, "_id", id)) {
		cJSON_Delete(j);
		return NULL;
	}
	return j;
}

int http_body_build(struct http_buf *b, const struct http_body_opts *o,
		    struct tg_record *const *recs, size_t n)
{
	b->len = 0;
	if (http_buf_add(b, "", 0))
		return -1;
	for (size_t i = 0; i < n; i++) {
		const struct tg_record *r = recs[i];
		int rc = 0;

		switch (o->format) {
		case HTTP_FMT_SPLUNK_HEC:
			rc = body_add_json(b, body_hec(o, r), "");
			break;
		case HTTP_FMT_ELASTIC_BULK:
			/* then the document line: the record itself */
			rc = body_add_json(b, body_bulk_action(o, r), "\n");
			__attribute__((fallthrough));
		case HTTP_FMT_NDJSON:
			rc = rc || http_buf_add(b, r->json, r->json_len) || http_buf_add(b, "\n", 1);
			break;
		}
		if (rc)
			return -1;
	}
	return 0;
}

/* Server words go into last_error: printable ASCII only, bounded. */
static void why_clean(char *out, size_t outlen, const char *s, size_t n)
{
	size_t k = 0;

	if (!outlen)
		return;
	for (size_t i = 0; s && i < n && s[i] && k + 1 < outlen && k < HTTP_WHY_MAX; i++) {
		unsigned char c = (unsigned char)s[i];

		out[k++] = c >= 0x20 && c < 0x7f ? (char)c : ' ';
	}
	out[k] = '\0';
}

/* Elasticsearch {"error":{"type","reason"}} (or "error":"..."), HEC
 * {"text","code"}, or the first bytes of anything else. */
static void server_text(const cJSON *j, const char *body, size_t len, char *out, size_t outlen)
{
	const cJSON *err = cJSON_GetObjectItemCaseSensitive(j, "error");
	const cJSON *text = cJSON_GetObjectItemCaseSensitive(j, "text");
	const cJSON *type = cJSON_GetObjectItemCaseSensitive(err, "type");
	const cJSON *reason = cJSON_GetObjectItemCaseSensitive(err, "reason");
	char buf[HTTP_WHY_MAX + 64];

	if (cJSON_IsString(type) && cJSON_IsString(reason)) {
		snprintf(buf, sizeof(buf), "%s: %s", type->valuestring, reason->valuestring);
		why_clean(out, outlen, buf, strlen(buf));
	} else if (cJSON_IsString(err)) {
		why_clean(out, outlen, err->valuestring, strlen(err->valuestring));
	} else if (cJSON_IsString(text)) {
		why_clean(out, outlen, text->valuestring, strlen(text->valuestring));
	} else {
		why_clean(out, outlen, body, len);
	}
}

/* HEC 400 codes about the events themselves (5 no data, 6 invalid data
 * format, 12/13 event field missing or blank, 15 bad indexed fields);
 * the others (7 incorrect index, 10/11 channel, 14 ack, 16 query auth)
 * are the collector's config, which fixing delivers the records. */
static bool hec_data_error(const cJSON *j)
{
	const cJSON *code = cJSON_GetObjectItemCaseSensitive(j, "code");
	int c = cJSON_IsNumber(code) ? code->valueint : -1;

	return c < 0 || c == 5 || c == 6 || c == 12 || c == 13 || c == 15;
}

static bool bulk_config_error(const cJSON *j)
{
	const cJSON *type = cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(j, "error"), "type");

	return cJSON_IsString(type) && !strcmp(type->valuestring, "action_request_validation_exception");
}

static const char *status_hint(long status)
{
	if (status >= 300 && status < 400)
		return "redirects are not followed: point http_url at the final address";
	switch (status) {
	case 401:
		return "the collector refused the credentials: check http_token_file";
	case 403:
		return "the token may not write there: check http_token_file and http_index";
	case 404:
		return "no such endpoint: check the path of http_url";
	case 405:
		return "the endpoint does not take POST: check the path of http_url";
	case 408:
	case 429:
		return "the collector is busy: retrying with backoff";
	case 413:
		return "the body is too large: halving the batch";
	}
	return status >= 500 ? "the collector failed: retrying with backoff" : "keeping the records";
}

enum http_verdict http_status_verdict(enum http_format f, long status, const char *body,
				      size_t len, char *why, size_t whylen)
{
	cJSON *j = body && len ? cJSON_ParseWithLength(body, len) : NULL;
	char text[HTTP_WHY_MAX + 1];
	enum http_verdict v = HTTP_V_RETRY;

	text[0] = '\0';
	server_text(j, body, len, text, sizeof(text));
	if (status >= 200 && status < 300)
		v = HTTP_V_DONE;
	else if (status == 413)
		v = HTTP_V_SPLIT;
	else if (status == 400 && f == HTTP_FMT_SPLUNK_HEC)
		v = hec_data_error(j) ? HTTP_V_SPLIT : HTTP_V_RETRY;
	else if (status == 400 && f == HTTP_FMT_ELASTIC_BULK)
		v = bulk_config_error(j) ? HTTP_V_RETRY : HTTP_V_SPLIT;
	else if (status == 400)
		v = HTTP_V_SPLIT;
	if (v == HTTP_V_DONE)
		snprintf(why, whylen, "HTTP %ld", status);
	else if (v == HTTP_V_SPLIT)
		snprintf(why, whylen, "HTTP %ld (%s): the collector refused the body%s%s", status,
			 text[0] ? text : "no reason given", status == 413 ? " as too large" : "",
			 "; halving the batch");
	else
		snprintf(why, whylen, "HTTP %ld (%s): %s", status, text[0] ? text : "no reason given",
			 status_hint(status));
	cJSON_Delete(j);
	return v;
}

static void bulk_item_why(struct http_bulk_result *r, size_t i, int status, const cJSON *op)
{
	const cJSON *err = cJSON_GetObjectItemCaseSensitive(op, "error");
	char text[HTTP_WHY_MAX + 1];

	text[0] = '\0';
	server_text(op, NULL, 0, text, sizeof(text));
	if (!text[0] && cJSON_IsString(err))
		why_clean(text, sizeof(text), err->valuestring, strlen(err->valuestring));
	snprintf(r->why, sizeof(r->why), "_bulk item %zu: HTTP %d (%s)", i, status,
		 text[0] ? text : "no reason given");
}

/* One item: {"create": {"status": 201, ...}} (or index/update/delete). */
static int bulk_item_status(const cJSON *item, const cJSON **op)
{
	const cJSON *status;

	*op = cJSON_IsObject(item) ? item->child : NULL;
	status = cJSON_GetObjectItemCaseSensitive(*op, "status");
	return cJSON_IsNumber(status) ? status->valueint : 0;
}

int http_bulk_parse(const char *body, size_t len, size_t n, struct http_bulk_result *r)
{
	cJSON *j = cJSON_ParseWithLength(body, len), *items;
	size_t got;

	memset(r, 0, sizeof(*r));
	items = cJSON_GetObjectItemCaseSensitive(j, "items");
	if (!cJSON_IsArray(items)) {
		cJSON_Delete(j);
		return -1;
	}
	got = (size_t)cJSON_GetArraySize(items);
	for (const cJSON *item = items->child; item && r->done < n; item = item->next) {
		const cJSON *op;
		int st = bulk_item_status(item, &op);

		if (st >= 200 && st < 300) {
			r->done++;
		} else if (st == 409) {
			r->duplicates++;
			r->done++;
		} else if (st >= 400 && st < 500 && st != 408 && st != 429) {
			if (!r->dropped && !r->why[0])
				bulk_item_why(r, r->done, st, op);
			r->dropped++;
			r->done++;
		} else {
			r->retry_status = st;
			bulk_item_why(r, r->done, st, op);
			break;
		}
	}
	if (r->done < n && !r->retry_status && got < n)
		snprintf(r->why, sizeof(r->why), "_bulk response lists %zu of %zu items", got, n);
	cJSON_Delete(j);
	return 0;
}

static bool token_printable(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
			return false;
	return true;
}

static char *token_trim(char *buf, size_t n)
{
	size_t a = 0;

	while (n && strchr(" \t\r\n", buf[n - 1]))
		n--;
	while (a < n && strchr(" \t\r\n", buf[a]))
		a++;
	memmove(buf, buf + a, n - a);
	buf[n - a] = '\0';
	return buf;
}

char *http_token_read(const char *path, unsigned *mode, char *err, size_t errlen)
{
	char *buf = calloc(1, HTTP_TOKEN_MAX + 2);
	int fd = path ? open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY) : -1;
	struct stat sb;
	size_t n = 0;
	ssize_t r = 1;

	if (fd < 0 || !buf || fstat(fd, &sb)) {
		snprintf(err, errlen, "http_token_file: failed to read %s: %s", path ? path : "(unset)",
			 strerror(buf ? errno : ENOMEM));
		goto fail;
	}
	*mode = (unsigned)sb.st_mode & 07777;
	while (n <= HTTP_TOKEN_MAX && (r = read(fd, buf + n, HTTP_TOKEN_MAX + 1 - n)) > 0)
		n += (size_t)r;
	if (r < 0) {
		snprintf(err, errlen, "http_token_file: failed to read %s: %s", path, strerror(errno));
		goto fail;
	}
	if (n > HTTP_TOKEN_MAX) {
		snprintf(err, errlen, "http_token_file: %s is longer than %d bytes; expected one token",
			 path, HTTP_TOKEN_MAX);
		goto fail;
	}
	n = strlen(token_trim(buf, n));
	if (!n || !token_printable(buf, n)) {
		snprintf(err, errlen, "http_token_file: %s %s; expected one token of printable ASCII",
			 path, n ? "holds a byte outside printable ASCII" : "is empty");
		goto fail;
	}
	close(fd);
	return buf;
fail:
	if (fd >= 0)
		close(fd);
	http_token_free(buf);
	return NULL;
}

void http_token_free(char *tok)
{
	if (tok)
		explicit_bzero(tok, strlen(tok));
	free(tok);
}

static bool token_has_scheme(const char *t)
{
	static const char *const schemes[] = { "Bearer ", "ApiKey ", "Basic ", "Splunk " };

	for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++)
		if (!strncasecmp(t, schemes[i], strlen(schemes[i])))
			return true;
	return false;
}

char *http_auth_header(enum http_format f, const char *token)
{
	const char *scheme = f == HTTP_FMT_SPLUNK_HEC   ? "Splunk "
			     : f == HTTP_FMT_ELASTIC_BULK ? "ApiKey "
							  : "Bearer ";
	char *h = NULL;

	if (token_has_scheme(token))
		scheme = "";
	if (asprintf(&h, "Authorization: %s%s", scheme, token) < 0)
		return NULL;
	return h;
}

int http_url_display(const char *url, char *out, size_t len)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL, *port = NULL, *path = NULL;
	int rc = -1;

	if (u && !curl_url_set(u, CURLUPART_URL, url, 0) &&
	    !curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) &&
	    !curl_url_get(u, CURLUPART_HOST, &host, 0) &&
	    !curl_url_get(u, CURLUPART_PATH, &path, 0)) {
		curl_url_get(u, CURLUPART_PORT, &port, 0); /* absent: the scheme's */
		snprintf(out, len, "%s://%s%s%s%s", scheme, host, port ? ":" : "", port ? port : "",
			 path);
		rc = 0;
	}
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_free(path);
	curl_url_cleanup(u);
	return rc;
}

void http_mask(char *s, const char *secret)
{
	size_t n = secret ? strlen(secret) : 0;
	char *p = s;

	if (!n)
		return;
	while ((p = strstr(p, secret))) {
		memset(p, '*', n);
		p += n;
	}
}
