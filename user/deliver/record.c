// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * record: render once, share by reference. The metadata sinks need for
 * their envelopes (syslog PRI and structured data, CEF severity, HEC
 * time, the terminal line) is read from the JSON here, once, so no sink
 * parses the document again for it.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "deliver/record.h"
#include "engine.h"
#include "rules.h"

#define MITRE_MAX 256    /* "T1059,T1692.001,...": more ids are cut */
#define PRIO_DEFAULT 6   /* info, for records that carry none */
#define PRIO_LOSS 3      /* error: a loss is never routine */

static const cJSON *rec_path(const cJSON *j, const char *a, const char *b)
{
	const cJSON *o = cJSON_GetObjectItemCaseSensitive(j, a);

	return b ? cJSON_GetObjectItemCaseSensitive(o, b) : o;
}

static char *rec_strdup(const cJSON *s)
{
	return cJSON_IsString(s) && s->valuestring ? strdup(s->valuestring) : NULL;
}

static char *rec_mitre(const cJSON *j)
{
	const cJSON *tags = cJSON_GetObjectItemCaseSensitive(j, "tags"), *t;
	char buf[MITRE_MAX];
	size_t n = 0;

	buf[0] = '\0';
	cJSON_ArrayForEach(t, tags) {
		const char *s = cJSON_IsString(t) ? t->valuestring : NULL;
		size_t len;

		if (!s || strncmp(s, "mitre:", 6))
			continue;
		s += 6;
		len = strlen(s);
		if (!len || n + len + 2 > sizeof(buf))
			continue;
		if (n)
			buf[n++] = ',';
		memcpy(buf + n, s, len);
		n += len;
		buf[n] = '\0';
	}
	return n ? strdup(buf) : NULL;
}

static int rec_priority(unsigned kind, const cJSON *j)
{
	const cJSON *p = rec_path(rec_path(j, "twinguard", "alert"), "priority", NULL);
	int prio = cJSON_IsString(p) ? rules_priority_parse(p->valuestring) : -1;

	if (prio >= 0 && prio <= 7)
		return prio;
	return kind == TG_REC_LOSS ? PRIO_LOSS : PRIO_DEFAULT;
}

static uint64_t rec_time(const cJSON *j)
{
	const cJSON *t = rec_path(j, "event", "created");
	struct timespec ts;
	uint64_t ns = 0;

	if (!cJSON_IsString(t))
		t = rec_path(j, "@timestamp", NULL);
	if (cJSON_IsString(t))
		ns = engine_time_ns(t->valuestring);
	if (ns)
		return ns;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

struct tg_record *record_new(unsigned kind, const cJSON *j)
{
	struct tg_record *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->refs = 1;
	r->kind = kind;
	r->json = cJSON_PrintUnformatted(j);
	if (!r->json) {
		free(r);
		return NULL;
	}
	r->json_len = strlen(r->json);
	r->time_ns = rec_time(j);
	r->priority = rec_priority(kind, j);
	r->rule = rec_strdup(rec_path(j, "rule", "name"));
	if (!r->rule && kind != TG_REC_ALERT && kind != TG_REC_EVENT)
		r->rule = rec_strdup(rec_path(j, "event", "action"));
	r->message = rec_strdup(rec_path(j, "message", NULL));
	r->mitre = rec_mitre(j);
	return r;
}

static unsigned rec_kind_of(const cJSON *j)
{
	const cJSON *action = rec_path(j, "event", "action");
	const cJSON *kind = rec_path(j, "event", "kind");
	const char *a = cJSON_IsString(action) ? action->valuestring : "";

	if (!strcmp(a, "agent-loss"))
		return TG_REC_LOSS;
	if (!strcmp(a, "alert-suppressed"))
		return TG_REC_SUPPRESSED;
	if (!strcmp(a, "agent-stats"))
		return TG_REC_STATS;
	if (cJSON_IsString(kind) && !strcmp(kind->valuestring, "alert"))
		return TG_REC_ALERT;
	return TG_REC_EVENT;
}

struct tg_record *record_parse(const char *json, size_t len)
{
	cJSON *j = cJSON_ParseWithLength(json, len);
	struct tg_record *r = NULL;

	if (cJSON_IsObject(j))
		r = record_new(rec_kind_of(j), j);
	cJSON_Delete(j);
	return r;
}

struct tg_record *record_get(struct tg_record *r)
{
	if (r)
		__atomic_add_fetch(&r->refs, 1, __ATOMIC_RELAXED);
	return r;
}

void record_put(struct tg_record *r)
{
	if (!r || __atomic_sub_fetch(&r->refs, 1, __ATOMIC_ACQ_REL))
		return;
	free(r->rule);
	free(r->mitre);
	free(r->message);
	free(r->json);
	free(r);
}
