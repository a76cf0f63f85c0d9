// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * fmt_syslog: RFC 5424 messages and CEF lines of a record (fmt_syslog.h).
 * Everything the record carries is untrusted (file names, command lines):
 * each field is escaped for where it goes, and long fields are cut at a
 * UTF-8 character boundary to the limits in the header, so a message is
 * always well formed however odd the alert.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cjson/cJSON.h>

#include "deliver/fmt_syslog.h"
#include "rules.h"
#include "version.h"

struct sbuf {
	char *p;
	size_t len, cap;
	size_t mark;    /* where CEF extensions start: no separator before the first */
	bool oom;
};

static void sb_grow(struct sbuf *b, size_t more)
{
	size_t cap = b->cap ? b->cap : 1024;
	char *p;

	if (b->oom || b->len + more + 1 <= b->cap)
		return;
	while (cap < b->len + more + 1)
		cap *= 2;
	p = realloc(b->p, cap);
	if (!p) {
		b->oom = true;
		return;
	}
	b->p = p;
	b->cap = cap;
}

static void sb_put(struct sbuf *b, const char *s, size_t n)
{
	sb_grow(b, n);
	if (b->oom)
		return;
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void sb_str(struct sbuf *b, const char *s)
{
	sb_put(b, s, strlen(s));
}

static void sb_printf(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(struct sbuf *b, const char *fmt, ...)
{
	char tmp[128];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n > 0)
		sb_put(b, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

static char *sb_done(struct sbuf *b, size_t *len)
{
	if (b->oom || !b->p) {
		free(b->p);
		return NULL;
	}
	if (len)
		*len = b->len;
	return b->p;
}

/* Length of s cut to at most max bytes, not inside a UTF-8 sequence. */
static size_t utf8_cut(const char *s, size_t max)
{
	size_t n = strlen(s);

	if (n <= max)
		return n;
	n = max;
	while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
		n--;
	return n;
}

int fmt_syslog_facility(const char *name)
{
	static const char *const names[] = { "kern", "user", "mail", "daemon", "auth", "syslog",
		"lpr", "news", "uucp", "cron", "authpriv", "ftp", "ntp", "security", "console",
		"clock", "local0", "local1", "local2", "local3", "local4", "local5", "local6",
		"local7" };

	if (!name)
		return 16;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(name, names[i]))
			return (int)i;
	return -1;
}

static int fmt_priority(int p)
{
	return p < 0 ? 0 : p > 7 ? 7 : p;
}

static const char *fmt_msgid(unsigned kind)
{
	switch (kind) {
	case TG_REC_ALERT: return "alert";
	case TG_REC_LOSS: return "agent-loss";
	case TG_REC_SUPPRESSED: return "alert-suppressed";
	case TG_REC_EVENT: return "event";
	case TG_REC_STATS: return "agent-stats";
	default: return "-";
	}
}

/* RFC 3339 in UTC with microseconds (RFC 5424 allows 6 digits). */
static void fmt_time(struct sbuf *b, uint64_t ns)
{
	time_t t = (time_t)(ns / 1000000000ull);
	char when[32];
	struct tm tm;

	if (!ns || !gmtime_r(&t, &tm) || !strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm)) {
		sb_str(b, "-");
		return;
	}
	sb_printf(b, "%s.%06uZ", when, (unsigned)(ns % 1000000000ull / 1000));
}

/* HOSTNAME is PRINTUSASCII (33..126), at most 255: others become '_'. */
static void fmt_host(struct sbuf *b, const char *h)
{
	size_t n = 0;

	if (!h || !*h) {
		sb_str(b, "-");
		return;
	}
	for (; h[n] && n < TG_SYSLOG_HOST_MAX; n++) {
		char c = h[n] > 32 && h[n] < 127 ? h[n] : '_';

		sb_put(b, &c, 1);
	}
}

/* PARAM-VALUE: '"', '\' and ']' are escaped with '\' (RFC 5424 §6.3.3). */
static void fmt_sd_param(struct sbuf *b, const char *name, const char *v)
{
	size_t n;

	if (!v)
		return;
	n = utf8_cut(v, TG_SYSLOG_SD_VALUE_MAX);
	sb_printf(b, " %s=\"", name);
	for (size_t i = 0; i < n; i++) {
		if (v[i] == '"' || v[i] == '\\' || v[i] == ']')
			sb_put(b, "\\", 1);
		sb_put(b, &v[i], 1);
	}
	sb_put(b, "\"", 1);
}

static void fmt_header(struct sbuf *b, const struct tg_syslog_opts *o, const struct tg_record *r)
{
	int fac = o->facility >= 0 && o->facility <= 23 ? o->facility : 16;
	const char *pn = rules_priority_name(fmt_priority(r->priority));

	sb_printf(b, "<%d>1 ", fac * 8 + fmt_priority(r->priority));
	fmt_time(b, r->time_ns);
	sb_put(b, " ", 1);
	fmt_host(b, o->hostname);
	sb_str(b, " " TG_SYSLOG_APP " ");
	if (o->pid > 0)
		sb_printf(b, "%d", o->pid);
	else
		sb_str(b, "-");
	sb_printf(b, " %s [" TG_SYSLOG_SDID, fmt_msgid(r->kind));
	fmt_sd_param(b, "rule", r->rule);
	fmt_sd_param(b, "priority", pn ? pn : "-");
	fmt_sd_param(b, "mitre", r->mitre);
	sb_str(b, "] ");
}

/*
 * No BOM before the MSG: RFC 5424 makes it optional (MSG-ANY), JSON must
 * not start with one (RFC 8259 §8.1), and collectors that parse the body
 * as JSON or CEF would see it as garbage.
 */
char *fmt_syslog_render(const struct tg_syslog_opts *o, const struct tg_record *r, size_t *len)
{
	struct sbuf b = { 0 };

	fmt_header(&b, o, r);
	if (o->format == TG_SYSLOG_CEF) {
		size_t n;
		char *cef = fmt_syslog_cef(o, r, &n);

		if (!cef)
			b.oom = true;
		else
			sb_put(&b, cef, n);
		free(cef);
	} else if (r->json) {
		sb_put(&b, r->json, r->json_len);
	}
	return sb_done(&b, len);
}

int fmt_syslog_cef_severity(int priority)
{
	static const int sev[8] = { 10, 9, 8, 7, 5, 4, 3, 1 };

	return sev[fmt_priority(priority)];
}

/* CEF header field: '\' and '|' escaped; a newline is not allowed there
 * at all (CEF spec), so control bytes become spaces. */
static void cef_header_field(struct sbuf *b, const char *v, const char *dflt)
{
	size_t n;

	if (!v || !*v)
		v = dflt;
	n = utf8_cut(v, TG_CEF_HEADER_MAX);
	for (size_t i = 0; i < n; i++) {
		char c = (unsigned char)v[i] < 0x20 || v[i] == 0x7f ? ' ' : v[i];

		if (c == '\\' || c == '|')
			sb_put(b, "\\", 1);
		sb_put(b, &c, 1);
	}
	sb_put(b, "|", 1);
}

/* Extension value: '\', '=' escaped, CR/LF as \r \n; other controls are
 * spaces (a pair is space-separated, so spaces are fine in a value). */
static void cef_ext(struct sbuf *b, const char *key, const char *v)
{
	size_t n;

	if (!v || !*v)
		return;
	n = utf8_cut(v, TG_CEF_VALUE_MAX);
	sb_printf(b, "%s%s=", b->len > b->mark ? " " : "", key);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)v[i];

		if (c == '\\' || c == '=')
			sb_put(b, "\\", 1);
		if (c == '\n')
			sb_str(b, "\\n");
		else if (c == '\r')
			sb_str(b, "\\r");
		else if (c < 0x20 || c == 0x7f)
			sb_put(b, " ", 1);
		else
			sb_put(b, &v[i], 1);
	}
}

/* a.b.c of nested objects, as text: strings as they are, integral numbers
 * without a fraction, other numbers with %g; anything else NULL. */
static const char *cef_get(const cJSON *j, const char *path, char *tmp, size_t len)
{
	char key[64];
	const char *p = path;

	while (j && *p) {
		size_t n = strcspn(p, ".");

		if (n >= sizeof(key))
			return NULL;
		memcpy(key, p, n);
		key[n] = '\0';
		j = cJSON_IsObject(j) ? cJSON_GetObjectItemCaseSensitive(j, key) : NULL;
		p += n + (p[n] == '.');
	}
	if (cJSON_IsString(j))
		return j->valuestring;
	if (cJSON_IsNumber(j)) {
		double d = j->valuedouble;

		if (d == (double)(long long)d)
			snprintf(tmp, len, "%lld", (long long)d);
		else
			snprintf(tmp, len, "%g", d);
		return tmp;
	}
	return NULL;
}

/* CEF key <- alert JSON path (ArcSight names; ECS fields of docs/ecs). */
static const char *const cef_map[][2] = {
	{ "externalId", "event.id" },
	{ "act", "event.action" },
	{ "suser", "user.name" },
	{ "suid", "user.id" },
	{ "sproc", "process.name" },
	{ "spid", "process.pid" },
	{ "sourceProcessName", "process.executable" },
	{ "fname", "file.name" },
	{ "filePath", "file.path" },
	{ "src", "source.ip" },
	{ "spt", "source.port" },
	{ "dst", "destination.ip" },
	{ "dpt", "destination.port" },
	{ "proto", "network.transport" },
};

static void cef_extensions(struct sbuf *b, const struct tg_syslog_opts *o,
			   const struct tg_record *r, const cJSON *j)
{
	char tmp[64];

	if (r->time_ns) {
		snprintf(tmp, sizeof(tmp), "%llu", (unsigned long long)(r->time_ns / 1000000ull));
		cef_ext(b, "rt", tmp);
	}
	cef_ext(b, "msg", r->message);
	cef_ext(b, "dvchost", o->hostname);
	cef_ext(b, "cat", fmt_msgid(r->kind));
	for (size_t i = 0; i < sizeof(cef_map) / sizeof(cef_map[0]); i++)
		cef_ext(b, cef_map[i][0], cef_get(j, cef_map[i][1], tmp, sizeof(tmp)));
	if (r->rule) {
		cef_ext(b, "cs1Label", "rule");
		cef_ext(b, "cs1", r->rule);
	}
	if (r->mitre) {
		cef_ext(b, "cs2Label", "mitre");
		cef_ext(b, "cs2", r->mitre);
	}
	cef_ext(b, "cs3Label", cef_get(j, "process.command_line", tmp, sizeof(tmp)) ? "cmdline" : NULL);
	cef_ext(b, "cs3", cef_get(j, "process.command_line", tmp, sizeof(tmp)));
}

char *fmt_syslog_cef(const struct tg_syslog_opts *o, const struct tg_record *r, size_t *len)
{
	cJSON *j = r->json ? cJSON_ParseWithLength(r->json, r->json_len) : NULL;
	struct sbuf b = { 0 };

	sb_str(&b, "CEF:0|twinguard|twinguard|");
	cef_header_field(&b, TG_VERSION, "-");
	cef_header_field(&b, r->rule, fmt_msgid(r->kind));
	cef_header_field(&b, r->rule, fmt_msgid(r->kind));
	sb_printf(&b, "%d|", fmt_syslog_cef_severity(r->priority));
	b.mark = b.len;
	cef_extensions(&b, o, r, j);
	cJSON_Delete(j);
	return sb_done(&b, len);
}

static int url_fail(char *err, size_t errlen, const char *url, const char *why)
{
	snprintf(err, errlen, "syslog: bad URL '%s': %s; expected unix:///PATH, udp://HOST:PORT, "
		 "tcp://HOST:PORT or relp://HOST:PORT ([V6ADDR]:PORT for IPv6)", url, why);
	return -1;
}

/* HOST:PORT or [V6]:PORT after the scheme. */
static int url_hostport(const char *url, const char *p, struct tg_syslog_url *u, char *err,
			size_t errlen)
{
	const char *colon, *hend;
	char *end;
	unsigned long port;

	if (*p == '[') {
		hend = strchr(p, ']');
		if (!hend || hend[1] != ':')
			return url_fail(err, errlen, url, "an IPv6 address needs [ADDR]:PORT");
		p++;
		colon = hend + 1;
	} else {
		colon = strrchr(p, ':');
		if (!colon)
			return url_fail(err, errlen, url, "no port");
		if (memchr(p, ':', (size_t)(colon - p)))
			return url_fail(err, errlen, url, "an IPv6 address needs brackets");
		hend = colon;
	}
	if (hend == p || (size_t)(hend - p) >= sizeof(u->host))
		return url_fail(err, errlen, url, "empty or too long host");
	memcpy(u->host, p, (size_t)(hend - p));
	u->host[hend - p] = '\0';
	if (strpbrk(u->host, "/?#@ "))
		return url_fail(err, errlen, url, "a host has no '/', '?', '#', '@' or space");
	errno = 0;
	port = strtoul(colon + 1, &end, 10);
	if (!colon[1] || *end || errno || port < 1 || port > 65535 || colon[1] == '+' ||
	    colon[1] == '-' || colon[1] == ' ')
		return url_fail(err, errlen, url, "the port must be 1..65535");
	snprintf(u->port, sizeof(u->port), "%lu", port);
	return 0;
}

int fmt_syslog_url(const char *url, struct tg_syslog_url *u, char *err, size_t errlen)
{
	static const struct { const char *prefix; enum tg_syslog_scheme scheme; } schemes[] = {
		{ "unix://", TG_SYSLOG_UNIX }, { "udp://", TG_SYSLOG_UDP },
		{ "tcp://", TG_SYSLOG_TCP }, { "relp://", TG_SYSLOG_RELP },
	};

	memset(u, 0, sizeof(*u));
	if (!url)
		return url_fail(err, errlen, "", "empty");
	for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++) {
		size_t n = strlen(schemes[i].prefix);

		if (strncmp(url, schemes[i].prefix, n))
			continue;
		u->scheme = schemes[i].scheme;
		if (u->scheme != TG_SYSLOG_UNIX)
			return url_hostport(url, url + n, u, err, errlen);
		if (url[n] != '/')
			return url_fail(err, errlen, url, "a unix socket needs an absolute path");
		if (strlen(url + n) >= sizeof(u->path))
			return url_fail(err, errlen, url, "the socket path is too long");
		snprintf(u->path, sizeof(u->path), "%s", url + n);
		return 0;
	}
	return url_fail(err, errlen, url, "unknown scheme");
}
