// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * fmt_syslog: the exact RFC 5424 and CEF text of records, the escaping of
 * every hostile byte where it lands, the length limits, and records whose
 * JSON is not what an alert looks like.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "deliver/fmt_syslog.h"
#include "version.h"

/* 2026-12-07T06:17:14.123456Z */
#define T0 1796624234123456789ull

static struct tg_record rec(unsigned kind, int prio, const char *rule, const char *mitre,
			    const char *msg, const char *json)
{
	struct tg_record r = { .seq = 1, .time_ns = T0, .kind = kind, .priority = prio };

	r.rule = (char *)rule;
	r.mitre = (char *)mitre;
	r.message = (char *)msg;
	r.json = (char *)json;
	r.json_len = json ? strlen(json) : 0;
	return r;
}

static const struct tg_syslog_opts json_opts = { .facility = 16, .format = TG_SYSLOG_JSON,
						 .hostname = "web1", .pid = 42 };
static const struct tg_syslog_opts cef_opts = { .facility = 16, .format = TG_SYSLOG_CEF,
						.hostname = "web1", .pid = 42 };

static void expect_render(const struct tg_syslog_opts *o, const struct tg_record *r,
			  const char *want)
{
	size_t len = 0;
	char *got = fmt_syslog_render(o, r, &len);

	cr_assert_not_null(got);
	cr_expect_str_eq(got, want);
	cr_expect_eq(len, strlen(got));
	free(got);
}

Test(fmt_syslog, alert_json_exact)
{
	struct tg_record r = rec(TG_REC_ALERT, 2, "Shell in container", "T1059,T1692.001", "m",
				 "{\"a\":1}");

	expect_render(&json_opts, &r,
		      "<130>1 2026-12-07T06:17:14.123456Z web1 twinguard 42 alert "
		      "[twinguard@32473 rule=\"Shell in container\" priority=\"critical\" "
		      "mitre=\"T1059,T1692.001\"] {\"a\":1}");
}

Test(fmt_syslog, loss_and_suppressed_msgids)
{
	struct tg_record l = rec(TG_REC_LOSS, 4, "agent-loss", NULL, NULL, "{}");
	struct tg_record s = rec(TG_REC_SUPPRESSED, 5, "alert-suppressed", NULL, NULL, "{}");
	struct tg_syslog_opts o = json_opts;

	o.facility = 4; /* auth */
	o.pid = 0;
	o.hostname = NULL;
	expect_render(&o, &l, "<36>1 2026-12-07T06:17:14.123456Z - twinguard - agent-loss "
			      "[twinguard@32473 rule=\"agent-loss\" priority=\"warning\"] {}");
	expect_render(&o, &s, "<37>1 2026-12-07T06:17:14.123456Z - twinguard - alert-suppressed "
			      "[twinguard@32473 rule=\"alert-suppressed\" priority=\"notice\"] {}");
}

Test(fmt_syslog, sd_value_escaping)
{
	struct tg_record r = rec(TG_REC_ALERT, 7, "a\"b\\c]d[e=f", NULL, NULL, "{}");

	expect_render(&json_opts, &r,
		      "<135>1 2026-12-07T06:17:14.123456Z web1 twinguard 42 alert "
		      "[twinguard@32473 rule=\"a\\\"b\\\\c\\]d[e=f\" priority=\"debug\"] {}");
}

Test(fmt_syslog, odd_priority_time_host)
{
	struct tg_record r = rec(TG_REC_ALERT, 99, NULL, NULL, NULL, NULL);
	struct tg_syslog_opts o = json_opts;

	r.time_ns = 0;
	o.hostname = "a b\tc\xc3\xa9";
	o.facility = 77; /* out of range: local0 */
	expect_render(&o, &r, "<135>1 - a_b_c__ twinguard 42 alert "
			      "[twinguard@32473 priority=\"debug\"] ");
	r.priority = -3;
	o.facility = 0;
	o.hostname = "h";
	expect_render(&o, &r, "<0>1 - h twinguard 42 alert [twinguard@32473 priority=\"emergency\"] ");
}

Test(fmt_syslog, facilities)
{
	cr_expect_eq(fmt_syslog_facility(NULL), 16);
	cr_expect_eq(fmt_syslog_facility("kern"), 0);
	cr_expect_eq(fmt_syslog_facility("authpriv"), 10);
	cr_expect_eq(fmt_syslog_facility("local7"), 23);
	cr_expect_eq(fmt_syslog_facility("local8"), -1);
	cr_expect_eq(fmt_syslog_facility(""), -1);
}

Test(fmt_syslog, truncation_limits)
{
	char *rule = malloc(5000), *got;
	struct tg_record r;
	size_t len, vlen;
	const char *v, *end;

	/* 1023 'x' then a 2-byte character straddling the limit, then more */
	memset(rule, 'x', 5000);
	rule[1023] = '\xc3';
	rule[1024] = '\xa9';
	rule[4999] = '\0';
	r = rec(TG_REC_ALERT, 1, rule, NULL, NULL, "{}");
	got = fmt_syslog_render(&json_opts, &r, &len);
	cr_assert_not_null(got);
	v = strstr(got, "rule=\"") + 6;
	end = strchr(v, '"');
	vlen = (size_t)(end - v);
	cr_expect_eq(vlen, 1023, "SD value cut before the split character: %zu", vlen);
	free(got);

	got = fmt_syslog_cef(&cef_opts, &r, &len);
	cr_assert_not_null(got);
	v = strstr(got, "cs1=") + 4;
	vlen = strcspn(v, " ");
	cr_expect_eq(vlen, TG_CEF_VALUE_MAX, "CEF value %zu", vlen);
	/* header name: 512 bytes cut back to 511 ('x' * 511 then the split) */
	memset(rule, 'y', 600);
	rule[511] = '\xc3';
	rule[512] = '\xa9';
	free(got);
	got = fmt_syslog_cef(&cef_opts, &r, &len);
	v = got + strlen("CEF:0|twinguard|twinguard|" TG_VERSION "|");
	cr_expect_eq(strcspn(v, "|"), 511);
	free(got);
	free(rule);
}

Test(fmt_syslog, cef_exact)
{
	struct tg_record r = rec(TG_REC_ALERT, 2, "Shell|in\\ct", "T1059",
				 "a=b\\c\nd",
				 "{\"event\":{\"id\":\"e1\",\"action\":\"exec\"},"
				 "\"user\":{\"name\":\"root\",\"id\":\"0\"},"
				 "\"process\":{\"name\":\"sh\",\"pid\":1234,"
				 "\"executable\":\"/bin/sh\",\"command_line\":\"sh -c id\"},"
				 "\"file\":{\"path\":\"/etc/sha=dow\",\"name\":\"sha=dow\"},"
				 "\"source\":{\"ip\":\"10.0.0.1\",\"port\":4444},"
				 "\"destination\":{\"ip\":\"10.0.0.2\",\"port\":22.5}}");
	size_t len;
	char *got = fmt_syslog_cef(&cef_opts, &r, &len);

	cr_assert_not_null(got);
	cr_expect_str_eq(got,
		"CEF:0|twinguard|twinguard|" TG_VERSION "|Shell\\|in\\\\ct|Shell\\|in\\\\ct|8|"
		"rt=1796624234123 msg=a\\=b\\\\c\\nd dvchost=web1 cat=alert externalId=e1 act=exec "
		"suser=root suid=0 sproc=sh spid=1234 sourceProcessName=/bin/sh fname=sha\\=dow "
		"filePath=/etc/sha\\=dow src=10.0.0.1 spt=4444 dst=10.0.0.2 dpt=22.5 "
		"cs1Label=rule cs1=Shell|in\\\\ct cs2Label=mitre cs2=T1059 "
		"cs3Label=cmdline cs3=sh -c id");
	cr_expect_eq(len, strlen(got));
	free(got);
}

Test(fmt_syslog, cef_inside_syslog)
{
	struct tg_record r = rec(TG_REC_LOSS, 4, NULL, NULL, NULL, "{}");

	r.time_ns = 0;
	expect_render(&cef_opts, &r, "<132>1 - web1 twinguard 42 agent-loss "
				     "[twinguard@32473 priority=\"warning\"] "
				     "CEF:0|twinguard|twinguard|" TG_VERSION
				     "|agent-loss|agent-loss|5|dvchost=web1 cat=agent-loss");
}

Test(fmt_syslog, cef_odd_json)
{
	const char *odd[] = { NULL, "", "not json", "[1,2]", "{\"user\":\"flat\"}",
			      "{\"process\":{\"pid\":\"12\\u0000x\",\"name\":{\"x\":1}}}",
			      "{\"file\":{\"path\":\"a\\r\\n\\tb\\u0001\"}}", "{\"event\":null}" };

	for (size_t i = 0; i < sizeof(odd) / sizeof(odd[0]); i++) {
		struct tg_record r = rec(TG_REC_ALERT, 3, "r", NULL, "\x01m", odd[i]);
		size_t len;
		char *got = fmt_syslog_cef(&cef_opts, &r, &len);

		cr_assert_not_null(got, "odd json %zu", i);
		cr_expect_null(strchr(got, '\n'), "newline in CEF for %zu: %s", i, got);
		cr_expect_null(strchr(got, '\r'), "CR in CEF for %zu: %s", i, got);
		cr_expect_eq(len, strlen(got));
		cr_expect(strstr(got, "|r|r|7|rt=") == strstr(got, "|r|r|"), "%s", got);
		free(got);
	}
	{
		struct tg_record r = rec(TG_REC_ALERT, 3, "r", NULL, NULL,
					 "{\"file\":{\"path\":\"a\\r\\n\\tb\"},\"process\":{\"pid\":\"12\"}}");
		size_t len;
		char *got = fmt_syslog_cef(&cef_opts, &r, &len);

		cr_assert_not_null(got);
		cr_expect_not_null(strstr(got, " spid=12 "), "%s", got);
		cr_expect_not_null(strstr(got, " filePath=a\\r\\n b"), "%s", got);
		free(got);
	}
}

Test(fmt_syslog, severity_map)
{
	int want[] = { 10, 9, 8, 7, 5, 4, 3, 1 };

	for (int p = 0; p < 8; p++)
		cr_expect_eq(fmt_syslog_cef_severity(p), want[p], "priority %d", p);
	cr_expect_eq(fmt_syslog_cef_severity(-1), 10);
	cr_expect_eq(fmt_syslog_cef_severity(12), 1);
}

/* A value ending in '|' must still be followed by a separator. */
Test(fmt_syslog, cef_value_ending_in_pipe)
{
	struct tg_record r = rec(TG_REC_ALERT, 3, "r", NULL, "a|", NULL);
	size_t len;
	char *got = fmt_syslog_cef(&cef_opts, &r, &len);

	cr_assert_not_null(got);
	cr_expect_not_null(strstr(got, "msg=a| dvchost=web1"), "%s", got);
	free(got);
}

Test(fmt_syslog, urls)
{
	struct tg_syslog_url u;
	char err[512];

	cr_assert_eq(fmt_syslog_url("unix:///dev/log", &u, err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(u.scheme, TG_SYSLOG_UNIX);
	cr_expect_str_eq(u.path, "/dev/log");
	cr_assert_eq(fmt_syslog_url("udp://127.0.0.1:514", &u, err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(u.scheme, TG_SYSLOG_UDP);
	cr_expect_str_eq(u.host, "127.0.0.1");
	cr_expect_str_eq(u.port, "514");
	cr_assert_eq(fmt_syslog_url("tcp://[::1]:6514", &u, err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(u.scheme, TG_SYSLOG_TCP);
	cr_expect_str_eq(u.host, "::1");
	cr_expect_str_eq(u.port, "6514");
	cr_assert_eq(fmt_syslog_url("relp://siem.example.net:2514", &u, err, sizeof(err)), 0, "%s",
		     err);
	cr_expect_eq(u.scheme, TG_SYSLOG_RELP);
	cr_expect_str_eq(u.host, "siem.example.net");
}

Test(fmt_syslog, bad_urls)
{
	const char *bad[] = { NULL, "", "tcp://", "tcp://host", "tcp://host:", "tcp://host:0",
			      "tcp://host:65536", "tcp://host:-1", "tcp://host:+5", "tcp://host:5x",
			      "tcp://:514", "tcp://::1:514", "tcp://[::1:514", "tcp://[::1]514",
			      "tcp://a/b:514", "http://host:80", "unix://dev/log", "unix://",
			      "relp://user@host:2514", "tcp://host:99999999999999999999" };
	char err[512];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct tg_syslog_url u;

		err[0] = '\0';
		cr_expect_eq(fmt_syslog_url(bad[i], &u, err, sizeof(err)), -1, "accepted '%s'",
			     bad[i] ? bad[i] : "(null)");
		cr_expect_eq(strncmp(err, "syslog: bad URL", 15), 0, "message for '%s': %s",
			     bad[i] ? bad[i] : "(null)", err);
		cr_expect_not_null(strstr(err, "expected unix:///PATH"), "%s", err);
	}
	{
		char path[200];
		struct tg_syslog_url u;

		memset(path, 'p', sizeof(path));
		memcpy(path, "unix:///", 8);
		path[sizeof(path) - 1] = '\0';
		cr_expect_eq(fmt_syslog_url(path, &u, err, sizeof(err)), -1, "a path over sun_path");
	}
}
