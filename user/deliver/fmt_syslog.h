/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * fmt_syslog: one record as an RFC 5424 syslog message, pure formatting
 * (no I/O), shared by the unix/udp/tcp and RELP transports.
 *
 *   <PRI>1 TIMESTAMP HOSTNAME twinguard PROCID MSGID [SD] MSG
 *     PRI    facility * 8 + record priority (0 emergency .. 7 debug)
 *     MSGID  alert | agent-loss | alert-suppressed | event | agent-stats
 *     SD     [twinguard@32473 rule="..." priority="..." mitre="..."]
 *     MSG    the record JSON (json) or one CEF line (cef); no BOM
 *
 * 32473 is the example Private Enterprise Number that RFC 5612 reserves
 * for documentation; an SD-ID with '@' must carry a PEN (RFC 5424 §7.2.2),
 * and twinguard has none of its own. Collectors match on the name.
 */
#ifndef TG_DELIVER_FMT_SYSLOG_H
#define TG_DELIVER_FMT_SYSLOG_H

#include <stddef.h>

#include "deliver/record.h"

#define TG_SYSLOG_PEN 32473
#define TG_SYSLOG_SDID "twinguard@32473"
#define TG_SYSLOG_APP "twinguard"
#define TG_SYSLOG_HOST_MAX 255      /* RFC 5424 HOSTNAME */
#define TG_SYSLOG_SD_VALUE_MAX 1024 /* bytes of one SD param, before escaping */
#define TG_CEF_HEADER_MAX 512       /* bytes of the CEF name / signature */
#define TG_CEF_VALUE_MAX 1023       /* bytes of one CEF extension value */

enum tg_syslog_format { TG_SYSLOG_JSON, TG_SYSLOG_CEF };

struct tg_syslog_opts {
	int facility;                 /* 0..23 */
	enum tg_syslog_format format;
	const char *hostname;         /* NULL or "" = "-" */
	int pid;                      /* PROCID; <= 0 = "-" */
};

/* A `syslog` URL: unix:///dev/log, udp://HOST:PORT, tcp://HOST:PORT,
 * relp://HOST:PORT; an IPv6 host in brackets ([::1]:514). */
enum tg_syslog_scheme { TG_SYSLOG_UNIX, TG_SYSLOG_UDP, TG_SYSLOG_TCP, TG_SYSLOG_RELP };

struct tg_syslog_url {
	enum tg_syslog_scheme scheme;
	char host[256];     /* without brackets */
	char port[8];
	char path[108];     /* unix only (sun_path) */
};

/* 0, or -1 with err naming the `syslog` key and what was expected. */
int fmt_syslog_url(const char *url, struct tg_syslog_url *u, char *err, size_t errlen);

/* "local0" -> 16; NULL -> local0; -1 when unknown. */
int fmt_syslog_facility(const char *name);
/*
 * Render r: a malloc'd NUL-terminated message, its length in *len.
 * NULL on allocation failure. Never fails on odd content: bad JSON in a
 * CEF message gives a CEF line with what the record's metadata holds.
 */
char *fmt_syslog_render(const struct tg_syslog_opts *o, const struct tg_record *r, size_t *len);
/* The CEF line alone (MSG of the cef format); same contract. */
char *fmt_syslog_cef(const struct tg_syslog_opts *o, const struct tg_record *r, size_t *len);
/* "CEF severity" 0..10 of a priority 0..7 (out of range: clamped). */
int fmt_syslog_cef_severity(int priority);

/* The RELP transport (sink_relp.c), set up by sink_syslog_init(). */
struct tg_sink;
int sink_relp_init(struct tg_sink *s, const struct tg_syslog_url *u,
		   const struct tg_syslog_opts *o, char *err, size_t errlen);

#endif
