/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * http_body: the pure parts of the HTTP sink (folder-private to
 * user/deliver/; sink_http.c is the transport): request bodies, the
 * reading of responses, the token and the URL shown in stats. No I/O but
 * the token file, so tests/unit/test_sink_http.c covers all of it
 * without a server.
 *
 * Bodies, for records r1 r2 ... (each r->json is one alert line):
 *
 *   ndjson        r1\n r2\n ...                      application/x-ndjson
 *   splunk_hec    {"time":1765000000.123,"host":H,"source":"twinguard",
 *                  "sourcetype":"twinguard:alert"[,"index":I],"event":r1}
 *                 {...,"event":r2} ...  (concatenated, no separator:
 *                 what HEC's /services/collector/event takes as a batch)
 *   elastic_bulk  {"create":{["_index":I,]"_id":D1}}\n r1\n
 *                 {"create":{...,"_id":D2}}\n r2\n ...   (the last '\n' is
 *                 required by _bulk)
 *
 * D is the first 128 bits of SHA-256 over the record's JSON, in hex: the
 * same record sent twice (a retry after a timeout, a spooled record after
 * a restart) gets the same _id, so Elasticsearch answers 409 to the
 * second `create` instead of indexing a duplicate, and 409 counts as
 * delivered. Alerts carry @timestamp in nanoseconds, so two different
 * records do not share a digest.
 */
#ifndef TG_DELIVER_HTTP_BODY_H
#define TG_DELIVER_HTTP_BODY_H

#include <stdbool.h>
#include <stddef.h>

#include "deliver/record.h"

enum http_format {
	HTTP_FMT_NDJSON,
	HTTP_FMT_SPLUNK_HEC,
	HTTP_FMT_ELASTIC_BULK,
};

#define HTTP_SOURCE "twinguard"
#define HTTP_SOURCETYPE "twinguard:alert"
#define HTTP_DOC_ID_LEN 32      /* hex digits of the _id */
#define HTTP_TOKEN_MAX 8192     /* bytes of a token file */
#define HTTP_WHY_MAX 200        /* bytes of server text kept in an error */

struct http_body_opts {
	enum http_format format;
	const char *host;   /* HEC "host": this machine's name */
	const char *index;  /* HEC "index" / _bulk "_index"; NULL: none */
};

/* A growable byte buffer, NUL-terminated after len. */
struct http_buf {
	char *p;
	size_t len, cap;
};

int http_buf_add(struct http_buf *b, const char *s, size_t n);
void http_buf_free(struct http_buf *b);

/* "ndjson", "splunk_hec", "elastic_bulk" (NULL: ndjson); -1 otherwise. */
int http_format_parse(const char *name, enum http_format *f);
const char *http_content_type(enum http_format f);

/* Replace b's content with the body for recs[0..n); 0, or -1 when out of
 * memory. Records are embedded as they are (cJSON raw items), not parsed
 * again. */
int http_body_build(struct http_buf *b, const struct http_body_opts *o,
		    struct tg_record *const *recs, size_t n);
/* The _bulk _id of a record: HTTP_DOC_ID_LEN hex digits. */
void http_doc_id(const struct tg_record *r, char out[HTTP_DOC_ID_LEN + 1]);

/*
 * What to do after a response (or none, status 0 = a transport error):
 *   DONE   2xx: the collector took the whole body (for _bulk, read the
 *          items with http_bulk_parse).
 *   RETRY  keep the records and send them again after a backoff: 408,
 *          429, 5xx, 3xx (redirects are not followed), 401/403/404/405
 *          and any other answer that means the collector or its config is
 *          wrong, not the records (fixing it delivers them, in order).
 *   SPLIT  413, or 400 about the data: the body as a whole is refused;
 *          halve the batch, and a single record refused alone is dropped
 *          (counted), as it can never be taken.
 * why gets a short reason with the server's own words (HEC "text",
 * Elasticsearch error.reason), sanitised to printable ASCII.
 */
enum http_verdict { HTTP_V_DONE, HTTP_V_RETRY, HTTP_V_SPLIT };

enum http_verdict http_status_verdict(enum http_format f, long status, const char *body,
				      size_t len, char *why, size_t whylen);

/*
 * A 2xx _bulk response for n items. Items are settled in order: 2xx and
 * 409 (our _id exists: an earlier attempt got there) are delivered; any
 * other 4xx (a mapping error: it will never succeed) is dropped; the
 * first 429 or 5xx stops the count, as do missing items, so that what
 * follows it is sent again, in order. done counts the settled prefix
 * (dropped and duplicates included). -1: not a _bulk response.
 */
struct http_bulk_result {
	size_t done;          /* settled prefix */
	size_t dropped;       /* rejected for good, within done */
	size_t duplicates;    /* 409: already indexed, within done */
	int retry_status;     /* status of item [done] when done < n, 0: missing */
	char why[HTTP_WHY_MAX + 64]; /* the first rejection or retryable failure */
};

int http_bulk_parse(const char *body, size_t len, size_t n, struct http_bulk_result *r);

/*
 * The token file: read whole, surrounding whitespace trimmed; NULL with
 * err set (naming http_token_file and path) when missing, unreadable,
 * empty, longer than HTTP_TOKEN_MAX or holding a byte outside printable
 * ASCII. *mode gets the file's permission bits (the caller warns when
 * others may read it). The caller frees (http_token_free wipes).
 */
char *http_token_read(const char *path, unsigned *mode, char *err, size_t errlen);
void http_token_free(char *tok);

/* "Authorization: SCHEME TOKEN": Splunk for HEC, ApiKey for _bulk and
 * Bearer for ndjson, unless the token names its scheme itself ("Bearer
 * x", "ApiKey x", "Basic x", "Splunk x"). NULL when out of memory. */
char *http_auth_header(enum http_format f, const char *token);

/* url for stats and messages: scheme://host[:port]/path, without
 * userinfo, query or fragment. -1 when url does not parse. */
int http_url_display(const char *url, char *out, size_t len);

/* Overwrite every occurrence of secret (when non-empty) in s with '*'. */
void http_mask(char *s, const char *secret);

#endif
