/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * record: one line of the alert stream, rendered once and shared by every
 * sink. Immutable after record_new(); reference-counted so that a slow
 * sink can hold it while the others have moved on.
 *
 *   struct tg_record
 *   +--------------------------------------------------------------+
 *   | seq      intake order in this run (spooled ones: 0)         |
 *   | time_ns  CLOCK_REALTIME ns of @timestamp (or now)           |
 *   | kind     TG_REC_* : what sinks take it (their kinds mask)   |
 *   | priority 0 emergency .. 7 debug (rules' syslog scale)       |
 *   | rule     rule.name (alerts), "agent-loss", ... or NULL      |
 *   | mitre    "T1059,T1692.001" from the mitre:* tags, or NULL   |
 *   | message  the rendered output / summary line, or NULL       |
 *   | json     the whole record, one line, no newline, json_len  |
 *   +--------------------------------------------------------------+
 */
#ifndef TG_DELIVER_RECORD_H
#define TG_DELIVER_RECORD_H

#include <stddef.h>
#include <stdint.h>
#include <cjson/cJSON.h>

enum tg_rec_kind {
	TG_REC_ALERT = 1u << 0,      /* a rule fired */
	TG_REC_EVENT = 1u << 1,      /* an enriched event (--events only) */
	TG_REC_LOSS = 1u << 2,       /* agent-loss: something was dropped */
	TG_REC_SUPPRESSED = 1u << 3, /* alert-suppressed summary */
	TG_REC_STATS = 1u << 4,      /* agent-stats metric record */
};

/* What every SIEM sink takes: alerts and the in-band records about them. */
#define TG_REC_ALERT_STREAM (TG_REC_ALERT | TG_REC_LOSS | TG_REC_SUPPRESSED)

struct tg_record {
	uint64_t seq;
	uint64_t time_ns;
	unsigned kind;
	int priority;
	char *rule;
	char *mitre;
	char *message;
	char *json;
	size_t json_len;
	unsigned refs;       /* atomic; record_get/record_put only */
};

/*
 * Render j (not consumed) into a record of the given kind. The metadata
 * is read from j: rule.name, twinguard.alert.priority, event.created or
 * @timestamp, message, and the "mitre:ID" entries of tags. Records of
 * kind LOSS/SUPPRESSED/STATS take rule from event.action. NULL on
 * allocation failure. refs starts at 1.
 */
struct tg_record *record_new(unsigned kind, const cJSON *j);
/* The same from one JSON line (spool, replay); NULL when it is not an
 * object. kind is taken from event.kind/event.action. */
struct tg_record *record_parse(const char *json, size_t len);
struct tg_record *record_get(struct tg_record *r);
void record_put(struct tg_record *r);

#endif
