// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The HTTP sink's pure parts (user/deliver/http_body.c): the NDJSON, Splunk
 * HEC and _bulk bodies field by field, the reading of _bulk and error
 * responses, the token file, the Authorization header, the URL shown in
 * stats; and sink_http_init()'s config errors. The transport against a
 * real server is tests/integration/test_http.c.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "deliver/http_body.h"
#include "deliver/sink.h"
#include "tmpdir.h"

TestSuite(http_body);

static struct tg_record *rec(const char *json)
{
	cJSON *j = cJSON_Parse(json);
	struct tg_record *r;

	cr_assert_not_null(j, "bad test JSON %s", json);
	r = record_new(TG_REC_ALERT, j);
	cJSON_Delete(j);
	cr_assert_not_null(r);
	return r;
}

#define A1 "{\"@timestamp\":\"2026-12-07T05:43:57.123456789Z\",\"event\":{\"kind\":\"alert\"}," \
	   "\"rule\":{\"name\":\"r1\"},\"message\":\"one \\\"quoted\\\" \\u00e9\"}"
#define A2 "{\"@timestamp\":\"2026-12-07T05:43:58.000000001Z\",\"event\":{\"kind\":\"alert\"}," \
	   "\"rule\":{\"name\":\"r2\"},\"n\":[1,2.5,null]}"

static void build(struct http_buf *b, enum http_format f, const char *index, struct tg_record **r,
		  size_t n)
{
	struct http_body_opts o = { .format = f, .host = "twin-01", .index = index };

	cr_assert_eq(http_body_build(b, &o, r, n), 0);
	cr_assert_eq(strlen(b->p), b->len);
}

Test(http_body, formats_and_content_types)
{
	enum http_format f;

	cr_expect_eq(http_format_parse(NULL, &f), 0);
	cr_expect_eq(f, HTTP_FMT_NDJSON);
	cr_expect_eq(http_format_parse("splunk_hec", &f), 0);
	cr_expect_eq(f, HTTP_FMT_SPLUNK_HEC);
	cr_expect_eq(http_format_parse("elastic_bulk", &f), 0);
	cr_expect_eq(f, HTTP_FMT_ELASTIC_BULK);
	cr_expect_eq(http_format_parse("gelf", &f), -1);
	cr_expect_str_eq(http_content_type(HTTP_FMT_NDJSON), "application/x-ndjson");
	cr_expect_str_eq(http_content_type(HTTP_FMT_ELASTIC_BULK), "application/x-ndjson");
	cr_expect_str_eq(http_content_type(HTTP_FMT_SPLUNK_HEC), "application/json");
}

Test(http_body, ndjson_is_the_records_one_per_line)
{
	struct tg_record *r[2] = { rec(A1), rec(A2) };
	struct http_buf b = { 0 };
	char *want = NULL;

	build(&b, HTTP_FMT_NDJSON, "ignored", r, 2);
	cr_assert_gt(asprintf(&want, "%s\n%s\n", r[0]->json, r[1]->json), 0);
	cr_expect_str_eq(b.p, want);
	build(&b, HTTP_FMT_NDJSON, NULL, r, 0); /* rebuilt, not appended */
	cr_expect_eq(b.len, 0);
	free(want);
	http_buf_free(&b);
	record_put(r[0]);
	record_put(r[1]);
}

/* Every HEC field, for each of the concatenated objects in turn. */
static void expect_hec(const char **p, const struct tg_record *r, const char *index)
{
	const char *end = NULL;
	cJSON *j = cJSON_ParseWithOpts(*p, &end, false), *ev = NULL, *want = cJSON_Parse(r->json);
	char t[32];

	cr_assert_not_null(j, "HEC object does not parse at: %.60s", *p);
	cr_expect_eq(cJSON_GetArraySize(j), index ? 6 : 5, "fields: time host source sourcetype [index] event");
	cr_expect_str_eq(cJSON_GetObjectItem(j, "host")->valuestring, "twin-01");
	cr_expect_str_eq(cJSON_GetObjectItem(j, "source")->valuestring, "twinguard");
	cr_expect_str_eq(cJSON_GetObjectItem(j, "sourcetype")->valuestring, "twinguard:alert");
	if (index)
		cr_expect_str_eq(cJSON_GetObjectItem(j, "index")->valuestring, index);
	else
		cr_expect_null(cJSON_GetObjectItem(j, "index"));
	cr_expect(cJSON_IsNumber(cJSON_GetObjectItem(j, "time")));
	cr_expect_eq((uint64_t)(cJSON_GetObjectItem(j, "time")->valuedouble * 1000 + 0.5),
		     r->time_ns / 1000000, "time is epoch seconds with milliseconds");
	/* and written as exactly three decimals, not 17 digits of a double */
	snprintf(t, sizeof(t), "\"time\":%llu.%03llu,", (unsigned long long)(r->time_ns / 1000000000),
		 (unsigned long long)(r->time_ns / 1000000 % 1000));
	cr_expect(strstr(*p, t) && strstr(*p, t) < end, "want %s in %.80s", t, *p);
	ev = cJSON_GetObjectItem(j, "event");
	cr_expect(cJSON_Compare(ev, want, true), "event is the alert itself");
	cJSON_Delete(j);
	cJSON_Delete(want);
	*p = end;
}

Test(http_body, splunk_hec_wraps_each_alert)
{
	struct tg_record *r[2] = { rec(A1), rec(A2) };
	struct http_buf b = { 0 };
	const char *p;

	cr_assert_eq(r[0]->time_ns, 1796622237123456789ull, "record.c reads @timestamp");
	build(&b, HTTP_FMT_SPLUNK_HEC, "sec", r, 2);
	cr_expect(strstr(b.p, "\"time\":1796622237.123,"), "%s", b.p);
	p = b.p;
	expect_hec(&p, r[0], "sec");
	cr_expect_eq(*p, '{', "concatenated, no separator: %.20s", p);
	expect_hec(&p, r[1], "sec");
	cr_expect_eq(*p, '\0', "nothing after the last object: %.20s", p);
	build(&b, HTTP_FMT_SPLUNK_HEC, NULL, r, 1);
	p = b.p;
	expect_hec(&p, r[0], NULL);
	http_buf_free(&b);
	record_put(r[0]);
	record_put(r[1]);
}

static char *next_line(char **p)
{
	char *l = *p, *nl = strchr(l, '\n');

	cr_assert_not_null(nl, "line without its newline: %s", l);
	*nl = '\0';
	*p = nl + 1;
	return l;
}

static void expect_action(const char *line, const char *index, const struct tg_record *r)
{
	cJSON *j = cJSON_Parse(line), *c = cJSON_GetObjectItem(j, "create");
	char id[HTTP_DOC_ID_LEN + 1];

	cr_assert(cJSON_IsObject(c), "action line %s", line);
	cr_expect_eq(cJSON_GetArraySize(j), 1);
	if (index)
		cr_expect_str_eq(cJSON_GetObjectItem(c, "_index")->valuestring, index);
	else
		cr_expect_null(cJSON_GetObjectItem(c, "_index"));
	http_doc_id(r, id);
	cr_expect_str_eq(cJSON_GetObjectItem(c, "_id")->valuestring, id);
	cr_expect_eq(cJSON_GetArraySize(c), index ? 2 : 1);
	cJSON_Delete(j);
}

Test(http_body, elastic_bulk_pairs_create_and_document)
{
	struct tg_record *r[2] = { rec(A1), rec(A2) };
	struct http_buf b = { 0 };
	char *p;

	build(&b, HTTP_FMT_ELASTIC_BULK, "twinguard-alerts", r, 2);
	cr_expect_eq(b.p[b.len - 1], '\n', "_bulk needs the final newline");
	p = b.p;
	expect_action(next_line(&p), "twinguard-alerts", r[0]);
	cr_expect_str_eq(next_line(&p), r[0]->json);
	expect_action(next_line(&p), "twinguard-alerts", r[1]);
	cr_expect_str_eq(next_line(&p), r[1]->json);
	cr_expect_eq(*p, '\0');
	build(&b, HTTP_FMT_ELASTIC_BULK, NULL, r, 1); /* /INDEX/_bulk names it */
	p = b.p;
	expect_action(next_line(&p), NULL, r[0]);
	http_buf_free(&b);
	record_put(r[0]);
	record_put(r[1]);
}

Test(http_body, doc_id_is_the_same_for_the_same_record_only)
{
	struct tg_record *a = rec(A1), *again = rec(A1), *b = rec(A2);
	struct tg_record *spooled = record_parse(a->json, a->json_len);
	char ia[HTTP_DOC_ID_LEN + 1], ia2[HTTP_DOC_ID_LEN + 1], ib[HTTP_DOC_ID_LEN + 1],
		is[HTTP_DOC_ID_LEN + 1];

	cr_assert_not_null(spooled);
	http_doc_id(a, ia);
	http_doc_id(again, ia2);
	http_doc_id(b, ib);
	http_doc_id(spooled, is);
	cr_expect_eq(strlen(ia), HTTP_DOC_ID_LEN);
	cr_expect_eq(strspn(ia, "0123456789abcdef"), HTTP_DOC_ID_LEN);
	cr_expect_str_eq(ia, ia2);
	cr_expect_str_eq(ia, is, "a record read back from the spool keeps its _id");
	cr_expect_str_neq(ia, ib);
	record_put(a);
	record_put(again);
	record_put(b);
	record_put(spooled);
}

/* ---- _bulk responses ---------------------------------------------------- */

#define OK_ITEM "{\"create\":{\"_index\":\"x\",\"_id\":\"a\",\"status\":201,\"result\":\"created\"}}"
#define ERR_ITEM(st, type, reason)                                                             \
	"{\"create\":{\"_index\":\"x\",\"_id\":\"b\",\"status\":" #st ",\"error\":{\"type\":\"" type \
	"\",\"reason\":\"" reason "\"}}}"
#define BULK(errors, ...) "{\"took\":3,\"errors\":" errors ",\"items\":[" __VA_ARGS__ "]}"

static struct http_bulk_result bulk(const char *body, size_t n, int want_rc)
{
	struct http_bulk_result r;

	cr_assert_eq(http_bulk_parse(body, strlen(body), n, &r), want_rc, "%s", body);
	return r;
}

Test(http_body, bulk_all_created)
{
	struct http_bulk_result r = bulk(BULK("false", OK_ITEM "," OK_ITEM "," OK_ITEM), 3, 0);

	cr_expect_eq(r.done, 3);
	cr_expect_eq(r.dropped, 0);
	cr_expect_eq(r.duplicates, 0);
	cr_expect_eq(r.retry_status, 0);
}

Test(http_body, bulk_stops_at_the_first_retryable_item)
{
	struct http_bulk_result r = bulk(
		BULK("true", OK_ITEM "," ERR_ITEM(429, "es_rejected_execution_exception", "queue full")
			     "," OK_ITEM),
		3, 0);

	/* item 2 was indexed, but counting it would reorder: it goes again,
	 * and its _id makes the second create a 409 */
	cr_expect_eq(r.done, 1);
	cr_expect_eq(r.retry_status, 429);
	cr_expect(strstr(r.why, "item 1") && strstr(r.why, "429") && strstr(r.why, "queue full"),
		  "%s", r.why);
	r = bulk(BULK("true", ERR_ITEM(503, "unavailable_shards_exception", "primary shard is not active")
				      "," OK_ITEM),
		 2, 0);
	cr_expect_eq(r.done, 0);
	cr_expect_eq(r.retry_status, 503);
}

Test(http_body, bulk_drops_mapping_errors_and_counts_them)
{
	struct http_bulk_result r = bulk(
		BULK("true", OK_ITEM "," ERR_ITEM(400, "document_parsing_exception", "failed to parse field [n]")
			     "," OK_ITEM "," ERR_ITEM(400, "mapper_parsing_exception", "second")
			     "," ERR_ITEM(500, "x", "y") "," ERR_ITEM(400, "after", "the retry")),
		6, 0);

	cr_expect_eq(r.done, 4, "settled up to the 500");
	cr_expect_eq(r.dropped, 2, "the 400 after the 500 is not counted yet: it goes again");
	cr_expect_eq(r.retry_status, 500);
	r = bulk(BULK("true", ERR_ITEM(400, "document_parsing_exception", "bad [n]")), 1, 0);
	cr_expect_eq(r.done, 1);
	cr_expect_eq(r.dropped, 1);
	cr_expect(strstr(r.why, "document_parsing_exception: bad [n]"), "%s", r.why);
}

Test(http_body, bulk_conflict_on_our_id_is_delivered)
{
	struct http_bulk_result r = bulk(
		BULK("true", ERR_ITEM(409, "version_conflict_engine_exception", "document already exists")
			     "," OK_ITEM),
		2, 0);

	cr_expect_eq(r.done, 2);
	cr_expect_eq(r.duplicates, 1);
	cr_expect_eq(r.dropped, 0);
}

Test(http_body, bulk_missing_items_or_garbage)
{
	struct http_bulk_result r = bulk(BULK("false", OK_ITEM), 3, 0);

	cr_expect_eq(r.done, 1, "only what the answer lists is settled");
	cr_expect_eq(r.retry_status, 0);
	cr_expect(strstr(r.why, "1 of 3"), "%s", r.why);
	r = bulk(BULK("false", OK_ITEM "," OK_ITEM), 1, 0);
	cr_expect_eq(r.done, 1, "extra items are ignored");
	r = bulk(BULK("true", "{\"create\":{\"status\":\"201\"}},7"), 2, 0);
	cr_expect_eq(r.done, 0, "an item without a numeric status is not settled");
	bulk("<html>502 Bad Gateway</html>", 1, -1);
	bulk("{\"took\":1}", 1, -1);
	bulk("", 1, -1);
}

/* ---- status verdicts ---------------------------------------------------- */

static enum http_verdict verdict(enum http_format f, long st, const char *body, char *why)
{
	return http_status_verdict(f, st, body, body ? strlen(body) : 0, why, 512);
}

Test(http_body, status_verdicts)
{
	char why[512];

	cr_expect_eq(verdict(HTTP_FMT_NDJSON, 200, NULL, why), HTTP_V_DONE);
	cr_expect_eq(verdict(HTTP_FMT_NDJSON, 204, NULL, why), HTTP_V_DONE);
	cr_expect_eq(verdict(HTTP_FMT_SPLUNK_HEC, 200, "{\"text\":\"Success\",\"code\":0}", why),
		     HTTP_V_DONE);
	cr_expect_eq(verdict(HTTP_FMT_NDJSON, 0, NULL, why), HTTP_V_RETRY, "no answer at all");
	cr_expect_eq(verdict(HTTP_FMT_SPLUNK_HEC, 503, "{\"text\":\"Server is busy\",\"code\":9}", why),
		     HTTP_V_RETRY);
	cr_expect(strstr(why, "HTTP 503") && strstr(why, "Server is busy"), "%s", why);
	cr_expect_eq(verdict(HTTP_FMT_NDJSON, 429, NULL, why), HTTP_V_RETRY);
	cr_expect_eq(verdict(HTTP_FMT_NDJSON, 408, NULL, why), HTTP_V_RETRY);
	cr_expect_eq(verdict(HTTP_FMT_NDJSON, 500, NULL, why), HTTP_V_RETRY);
	cr_expect_eq(verdict(HTTP_FMT_NDJSON, 302, NULL, why), HTTP_V_RETRY);
	cr_expect(strstr(why, "redirect"), "%s", why);
	cr_expect_eq(verdict(HTTP_FMT_SPLUNK_HEC, 401, "{\"text\":\"Invalid authorization\",\"code\":3}", why),
		     HTTP_V_RETRY, "a wrong token is fixed by the operator: keep the records");
	cr_expect(strstr(why, "http_token_file") && strstr(why, "Invalid authorization"), "%s", why);
	cr_expect_eq(verdict(HTTP_FMT_SPLUNK_HEC, 403, "{\"text\":\"Invalid token\",\"code\":4}", why),
		     HTTP_V_RETRY);
	cr_expect_eq(verdict(HTTP_FMT_NDJSON, 404, "nope", why), HTTP_V_RETRY);
	cr_expect(strstr(why, "path of http_url"), "%s", why);
}

Test(http_body, too_large_or_bad_data_splits)
{
	char why[512];

	cr_expect_eq(verdict(HTTP_FMT_NDJSON, 413, NULL, why), HTTP_V_SPLIT);
	cr_expect(strstr(why, "413") && strstr(why, "halving"), "%s", why);
	cr_expect_eq(verdict(HTTP_FMT_ELASTIC_BULK, 413, NULL, why), HTTP_V_SPLIT);
	cr_expect_eq(verdict(HTTP_FMT_NDJSON, 400, "bad json", why), HTTP_V_SPLIT);
	cr_expect_eq(verdict(HTTP_FMT_SPLUNK_HEC, 400,
			     "{\"text\":\"Invalid data format\",\"code\":6,\"invalid-event-number\":3}", why),
		     HTTP_V_SPLIT);
	/* HEC 400s about its own config keep the records */
	cr_expect_eq(verdict(HTTP_FMT_SPLUNK_HEC, 400, "{\"text\":\"Incorrect index\",\"code\":7}", why),
		     HTTP_V_RETRY);
	cr_expect(strstr(why, "Incorrect index"), "%s", why);
	cr_expect_eq(verdict(HTTP_FMT_SPLUNK_HEC, 400, "{\"text\":\"Data channel is missing\",\"code\":10}", why),
		     HTTP_V_RETRY);
	cr_expect_eq(verdict(HTTP_FMT_ELASTIC_BULK, 400,
			     "{\"error\":{\"type\":\"action_request_validation_exception\","
			     "\"reason\":\"Validation Failed: 1: index is missing;\"},\"status\":400}", why),
		     HTTP_V_RETRY);
	cr_expect(strstr(why, "index is missing"), "%s", why);
	cr_expect_eq(verdict(HTTP_FMT_ELASTIC_BULK, 400,
			     "{\"error\":{\"type\":\"x_content_parse_exception\",\"reason\":\"bad\"}}", why),
		     HTTP_V_SPLIT);
}

Test(http_body, server_text_is_sanitised_and_bounded)
{
	char why[1024], body[2048];

	memset(body, 'A', sizeof(body) - 1);
	body[sizeof(body) - 1] = '\0';
	body[5] = '\033';
	body[6] = '\n';
	verdict(HTTP_FMT_NDJSON, 500, body, why);
	cr_expect_lt(strlen(why), HTTP_WHY_MAX + 200);
	for (const char *p = why; *p; p++)
		cr_expect((unsigned char)*p >= 0x20 && (unsigned char)*p < 0x7f, "byte 0x%02x", *p);
}

/* ---- token, header, URL ------------------------------------------------- */

TestSuite(http_token, .init = tmp_setup, .fini = tmp_teardown);

static const char *token_file(const char *name, const char *content, size_t len, mode_t mode)
{
	static char path[PATH_MAX + 64];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmp_root, name);
	f = fopen(path, "w");
	cr_assert_not_null(f);
	cr_assert_eq(fwrite(content, 1, len, f), len);
	fclose(f);
	chmod(path, mode);
	return path;
}

Test(http_token, read_trimmed_with_its_mode)
{
	const char *p = token_file("tok", "  0123-abcd-EF\n", 15, 0600);
	char err[512] = "";
	unsigned mode = 0;
	char *t = http_token_read(p, &mode, err, sizeof(err));

	cr_assert_not_null(t, "%s", err);
	cr_expect_str_eq(t, "0123-abcd-EF");
	cr_expect_eq(mode, 0600);
	http_token_free(t);
	p = token_file("loose", "ApiKey Zm9vOmJhcg==\r\n", 21, 0644);
	t = http_token_read(p, &mode, err, sizeof(err));
	cr_assert_not_null(t, "%s", err);
	cr_expect_str_eq(t, "ApiKey Zm9vOmJhcg==");
	cr_expect_eq(mode, 0644, "the caller warns about this one");
	http_token_free(t);
}

static void expect_bad_token(const char *path, const char *why)
{
	char err[512] = "";
	unsigned mode = 0;

	cr_expect_null(http_token_read(path, &mode, err, sizeof(err)), "%s accepted", path);
	cr_expect(strstr(err, "http_token_file") && strstr(err, path) && strstr(err, why),
		  "error '%s' should name the key, %s and '%s'", err, path, why);
}

Test(http_token, bad_files_are_errors_naming_key_and_file)
{
	char big[HTTP_TOKEN_MAX + 10];

	expect_bad_token(token_file("empty", "", 0, 0600), "is empty");
	expect_bad_token(token_file("blank", " \n\n\t", 4, 0600), "is empty");
	expect_bad_token(token_file("ctl", "abc\001def", 7, 0600), "outside printable ASCII");
	expect_bad_token(token_file("two", "abc\ndef\n", 8, 0600), "outside printable ASCII");
	expect_bad_token(token_file("utf8", "caf\xc3\xa9", 5, 0600), "outside printable ASCII");
	memset(big, 'x', sizeof(big));
	expect_bad_token(token_file("big", big, sizeof(big), 0600), "longer than");
	expect_bad_token("/nonexistent/twinguard-token", "No such file");
	chmod(token_file("unreadable", "x", 1, 0600), 0);
	if (geteuid() != 0) /* root reads mode 0 files */
		expect_bad_token(token_file("unreadable", "x", 1, 0), "Permission denied");
}

Test(http_token, authorization_schemes)
{
	char *h;

	h = http_auth_header(HTTP_FMT_SPLUNK_HEC, "tok");
	cr_expect_str_eq(h, "Authorization: Splunk tok");
	free(h);
	h = http_auth_header(HTTP_FMT_ELASTIC_BULK, "Zm9vOmJhcg==");
	cr_expect_str_eq(h, "Authorization: ApiKey Zm9vOmJhcg==");
	free(h);
	h = http_auth_header(HTTP_FMT_ELASTIC_BULK, "Bearer svc-token");
	cr_expect_str_eq(h, "Authorization: Bearer svc-token", "a scheme in the file wins");
	free(h);
	h = http_auth_header(HTTP_FMT_NDJSON, "tok");
	cr_expect_str_eq(h, "Authorization: Bearer tok");
	free(h);
	h = http_auth_header(HTTP_FMT_NDJSON, "basic dXNlcjpwdw==");
	cr_expect_str_eq(h, "Authorization: basic dXNlcjpwdw==");
	free(h);
}

Test(http_token, url_display_drops_credentials_and_query)
{
	char out[256];

	cr_assert_eq(http_url_display("https://user:s3cret@splunk.example:8088/services/collector/event"
				      "?token=s3cret#frag", out, sizeof(out)), 0);
	cr_expect_str_eq(out, "https://splunk.example:8088/services/collector/event");
	cr_assert_eq(http_url_display("http://127.0.0.1/_bulk", out, sizeof(out)), 0);
	cr_expect_str_eq(out, "http://127.0.0.1/_bulk");
	cr_assert_eq(http_url_display("http://[::1]:9200", out, sizeof(out)), 0);
	cr_expect_str_eq(out, "http://[::1]:9200/");
	cr_expect_eq(http_url_display("http://exa mple/", out, sizeof(out)), -1);
}

Test(http_token, mask)
{
	char s[] = "got tok123 and tok123x, and ***";

	http_mask(s, "tok123");
	cr_expect_str_eq(s, "got ****** and ******x, and ***");
	http_mask(s, "***"); /* a secret of the mask's own bytes must not loop */
	http_mask(s, "");
	http_mask(s, NULL);
}

/* ---- sink_http_init: config errors -------------------------------------- */

static int init(struct tg_config *c, char *err, size_t len)
{
	static struct tg_sink s;
	int rc;

	memset(&s, 0, sizeof(s));
	s.cfg = c;
	rc = sink_http_init(&s, err, len);
	if (rc == 0) {
		cr_expect_str_eq(s.ops->kind, "http");
		cr_expect(s.ops->reliable);
		cr_expect_eq(s.batch_max, c->http_batch_max ? c->http_batch_max : 500);
		cr_expect_null(strstr(s.target, "pw"), "target %s", s.target);
		cr_expect_null(strstr(s.target, "?"), "target %s", s.target);
		s.ops->destroy(&s);
	}
	return rc;
}

Test(http_token, init_checks_the_config)
{
	struct tg_config c = { 0 };
	char err[512];

	c.http_url = "https://u:pw@127.0.0.1:8088/services/collector/event?x=pw";
	c.http_format = "splunk_hec";
	cr_expect_eq(init(&c, err, sizeof(err)), -1, "HEC without a token");
	cr_expect(strstr(err, "http_token_file"), "%s", err);
	c.http_token_file = (char *)token_file("tok", "hec-token\n", 10, 0600);
	cr_expect_eq(init(&c, err, sizeof(err)), 0, "%s", err);
	c.http_token_file = "/nonexistent/tok";
	cr_expect_eq(init(&c, err, sizeof(err)), -1);
	cr_expect(strstr(err, "http_token_file") && strstr(err, "/nonexistent/tok"), "%s", err);
	c.http_token_file = (char *)token_file("tok", "hec-token\n", 10, 0600);
	c.http_ca_file = "/nonexistent/ca.pem";
	cr_expect_eq(init(&c, err, sizeof(err)), -1);
	cr_expect(strstr(err, "http_ca_file") && strstr(err, "/nonexistent/ca.pem"), "%s", err);
	c.http_ca_file = NULL;
	c.http_format = "elastic_bulk";
	cr_expect_eq(init(&c, err, sizeof(err)), -1, "elastic_bulk needs the _bulk endpoint");
	cr_expect(strstr(err, "http_url") && strstr(err, "_bulk") && !strstr(err, "pw"), "%s", err);
	c.http_url = "https://127.0.0.1:9200/alerts/_bulk";
	c.http_batch_max = 50;
	cr_expect_eq(init(&c, err, sizeof(err)), 0, "%s", err);
	c.http_format = "gelf";
	cr_expect_eq(init(&c, err, sizeof(err)), -1);
	cr_expect(strstr(err, "http_format"), "%s", err);
	c.http_format = NULL; /* ndjson: a token is optional */
	c.http_token_file = NULL;
	c.http_url = "http://127.0.0.1:1/in";
	cr_expect_eq(init(&c, err, sizeof(err)), 0, "%s", err);
}
