/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * alert: value formatting shared by output templates (engine_render), the
 * alert JSON line (engine_alert_json) and the engine's correlation keys,
 * and the JSON of sequence and threshold details. Internal to
 * user/engine*.c and user/alert.c.
 */
#ifndef TG_ALERT_H
#define TG_ALERT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cjson/cJSON.h>

#include "fields.h"

struct tg_rule;

/* What a sequence step shows of its event in an alert's details. */
struct tg_alert_step {
	const char *action, *exe, *path, *ts;   /* NULL when absent */
	char dest[320];                         /* "ip:port", "[ip6]:port", address or "" */
	double pid;
	bool has_pid;
};

/* A number as rules and outputs show it: integers without a fraction
 * (uid 0 is "0", not "0.000000"), others in the shortest exact form. */
size_t alert_fmt_num(char *buf, size_t len, double n);
/* One value of field as text; returns its length (it may be cut to len-1). */
size_t alert_fmt_val(int field, const struct tg_val *val, char *buf, size_t len);
/* A field of v as JSON: NULL when absent, a scalar for one value of a
 * single-valued field, else an array. */
cJSON *alert_field_json(const struct tg_view *v, int field);
/* One element of a sequence alert's "steps"; time_ns is shown when the
 * step had no @timestamp. */
cJSON *alert_step_json(const struct tg_alert_step *sv, uint64_t time_ns);
/* A threshold alert's details: count or sum, limit, window_s, group. */
cJSON *alert_thr_details(const struct tg_rule *rule, const struct tg_view *v, double total);
/* RFC 3339, UTC, 9 fractional digits, like @timestamp. */
void alert_timestamp(uint64_t real_ns, char *out, size_t len);
/* What every record of the alert stream carries (docs/alerts.md):
 * schema_version, host.id (/etc/machine-id, read once; absent when it
 * cannot be read), host.hostname (when absent) and a fresh event.id.
 * Also for the in-band records (alert-suppressed, agent-loss). */
void alert_stamp(cJSON *root);
#define TG_ALERT_SCHEMA_VERSION "1"

#endif
