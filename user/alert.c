// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * alert: output templates (engine_render) and the alert JSON line
 * (engine_alert_json). An alert line is the triggering event, copied, with
 * event.kind "alert" and the rule's facts added (docs/engine.md), so a SIEM
 * can search alerts with the same field names as events.
 */
#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "alert.h"
#include "engine.h"
#include "fields.h"
#include "rules.h"

/* Longest field name a template may reference; longer runs are cut back. */
#define TMPL_NAME_MAX 128

size_t alert_fmt_num(char *buf, size_t len, double n)
{
	int prec, w = 0;

	if (!len)
		return 0;
	/* Integers up to 2^53 are exact in a double: print them whole. (No
	 * floor(): the agent does not link libm.) */
	if (n > -9007199254740992.0 && n < 9007199254740992.0 && (double)(int64_t)n == n) {
		w = snprintf(buf, len, "%.0f", n);
	} else {
		for (prec = 15; prec <= 17; prec++) {
			w = snprintf(buf, len, "%.*g", prec, n);
			if (!isfinite(n) || strtod(buf, NULL) == n)
				break;
		}
	}
	if (w < 0)
		w = 0;
	return (size_t)w < len ? (size_t)w : len - 1;
}

size_t alert_fmt_val(int field, const struct tg_val *val, char *buf, size_t len)
{
	const struct tg_field *f = fields_get(field);
	size_t n;

	if (!len)
		return 0;
	if (f && f->type == TG_FT_BOOL)
		return (size_t)snprintf(buf, len, "%s", val->n != 0 ? "true" : "false") < len ?
			       strlen(buf) : len - 1;
	if (f && f->type == TG_FT_NUM)
		return alert_fmt_num(buf, len, val->n);
	n = val->s ? val->len : 0;
	if (n > len - 1)
		n = len - 1;
	if (n)
		memcpy(buf, val->s, n);
	buf[n] = '\0';
	return n;
}

static cJSON *val_json(const struct tg_field *f, const struct tg_val *val)
{
	switch (f->type) {
	case TG_FT_NUM:
		return cJSON_CreateNumber(val->n);
	case TG_FT_BOOL:
		return cJSON_CreateBool(val->n != 0);
	case TG_FT_STR:
		break;
	}
	return cJSON_CreateString(val->s ? val->s : "");
}

cJSON *alert_field_json(const struct tg_view *v, int field)
{
	const struct tg_field *f = fields_get(field);
	const struct tg_val *vals;
	size_t n, i;
	cJSON *arr;

	if (!f)
		return NULL;
	n = view_get(v, field, &vals);
	if (!n)
		return NULL;
	if (n == 1 && !f->multi)
		return val_json(f, &vals[0]);
	arr = cJSON_CreateArray();
	for (i = 0; i < n; i++)
		cJSON_AddItemToArray(arr, val_json(f, &vals[i]));
	return arr;
}

void alert_timestamp(uint64_t real_ns, char *out, size_t len)
{
	time_t sec = (time_t)(real_ns / 1000000000ull);
	struct tm tm;
	char buf[32];

	gmtime_r(&sec, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out, len, "%s.%09lluZ", buf, (unsigned long long)(real_ns % 1000000000ull));
}

/* ---- details ---------------------------------------------------------- */

cJSON *alert_step_json(const struct tg_alert_step *sv, uint64_t time_ns)
{
	cJSON *o = cJSON_CreateObject();

	if (sv->action)
		cJSON_AddStringToObject(o, "action", sv->action);
	if (sv->has_pid)
		cJSON_AddNumberToObject(o, "pid", sv->pid);
	if (sv->exe)
		cJSON_AddStringToObject(o, "executable", sv->exe);
	if (sv->path)
		cJSON_AddStringToObject(o, "path", sv->path);
	if (sv->dest[0])
		cJSON_AddStringToObject(o, "destination", sv->dest);
	if (sv->ts)
		cJSON_AddStringToObject(o, "time", sv->ts);
	else
		cJSON_AddNumberToObject(o, "time", (double)time_ns);
	return o;
}

cJSON *alert_thr_details(const struct tg_rule *rule, const struct tg_view *v, double total)
{
	cJSON *d = cJSON_CreateObject(), *group;
	size_t g;

	cJSON_AddNumberToObject(d, rule->sum_field < 0 ? "count" : "sum", total);
	cJSON_AddNumberToObject(d, "limit", rule->limit);
	cJSON_AddNumberToObject(d, "window_s", (double)rule->window_ns / 1e9);
	group = cJSON_AddObjectToObject(d, "group");
	for (g = 0; g < rule->n_group_by && g < TG_GROUP_MAX; g++) {
		int field = rule->group_by[g];
		cJSON *val;

		if (field < 0)
			continue;
		val = alert_field_json(v, field);
		if (!val)
			val = cJSON_CreateNull();
		cJSON_AddItemToObject(group, fields_get(field)->name, val);
	}
	return d;
}

/* ---- @timestamp -------------------------------------------------------- */

static bool digits(const char **p, int n, int *out)
{
	int v = 0;

	while (n--) {
		if (**p < '0' || **p > '9')
			return false;
		v = v * 10 + (*(*p)++ - '0');
	}
	*out = v;
	return true;
}

static bool expect(const char **p, const char *set)
{
	if (!**p || !strchr(set, **p))
		return false;
	(*p)++;
	return true;
}

uint64_t engine_time_ns(const char *s)
{
	struct tm tm = { 0 };
	int y, mo, d, h, mi, sec, oh, om;
	uint64_t frac = 0, scale = 1000000000ull;
	int64_t t;

	if (!s)
		return 0;
	if (!digits(&s, 4, &y) || !expect(&s, "-") || !digits(&s, 2, &mo) || !expect(&s, "-") ||
	    !digits(&s, 2, &d) || !expect(&s, "Tt ") || !digits(&s, 2, &h) || !expect(&s, ":") ||
	    !digits(&s, 2, &mi) || !expect(&s, ":") || !digits(&s, 2, &sec))
		return 0;
	if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
		return 0;
	if (*s == '.') {
		s++;
		if (*s < '0' || *s > '9')
			return 0;
		/* Digits past nanoseconds are dropped, not rounded. */
		for (; *s >= '0' && *s <= '9'; s++) {
			if (scale > 1) {
				scale /= 10;
				frac += (uint64_t)(*s - '0') * scale;
			}
		}
	}
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	t = (int64_t)timegm(&tm);
	if (*s == 'Z' || *s == 'z') {
		s++;
	} else if (*s == '+' || *s == '-') {
		int sign = *s++ == '+' ? 1 : -1;

		if (!digits(&s, 2, &oh) || !expect(&s, ":") || !digits(&s, 2, &om))
			return 0;
		t -= sign * (int64_t)(oh * 3600 + om * 60);
	} else {
		return 0;
	}
	if (*s || t < 0)
		return 0;
	return (uint64_t)t * 1000000000ull + frac;
}

/* ---- templates --------------------------------------------------------- */

struct out_buf {
	char *p;
	size_t len, used;
};

static void out_put(struct out_buf *o, const char *s, size_t n)
{
	size_t room = o->len - 1 - o->used;

	if (n > room)
		n = room;
	memcpy(o->p + o->used, s, n);
	o->used += n;
	o->p[o->used] = '\0';
}

static bool name_char(char c, size_t pos)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
	       c == '[' || c == ']' || (c == '@' && pos == 0);
}

/* A template name: a field, or a field with one value picked the way
 * conditions pick it, "process.args[0]" or "process.ancestors[1].executable"
 * (value 1 of process.ancestors.executable). index is -1 for all values. */
static int tmpl_lookup(const char *name, size_t l, int *index)
{
	char buf[TMPL_NAME_MAX];
	const char *open, *close;
	char *end;
	long idx;

	memcpy(buf, name, l);
	buf[l] = '\0';
	*index = -1;
	open = strchr(buf, '[');
	if (!open)
		return fields_lookup(buf);
	close = strchr(open, ']');
	if (!close || close == open + 1 || strchr(close + 1, '['))
		return -1;
	idx = strtol(open + 1, &end, 10);
	if (end != close || idx < 0 || idx > TG_VIEW_VALS_MAX)
		return -1;
	memmove(buf + (open - buf), close + 1, strlen(close + 1) + 1);
	*index = (int)idx;
	return fields_lookup(buf);
}

static void out_field(struct out_buf *o, const struct tg_view *v, int field, int index)
{
	const struct tg_val *vals;
	size_t n = v ? view_get(v, field, &vals) : 0, i;
	char buf[64];

	if (index >= 0) {
		if ((size_t)index >= n) {
			n = 0;
		} else {
			vals += index;
			n = 1;
		}
	}
	if (!n) {
		out_put(o, "<NA>", 4);
		return;
	}
	for (i = 0; i < n; i++) {
		if (i)
			out_put(o, ",", 1);
		if (fields_get(field)->type == TG_FT_STR)
			out_put(o, vals[i].s ? vals[i].s : "", vals[i].s ? vals[i].len : 0);
		else
			out_put(o, buf, alert_fmt_val(field, &vals[i], buf, sizeof(buf)));
	}
}

void engine_render(const char *tmpl, const struct tg_view *v, char *out, size_t len)
{
	struct out_buf o = { out, len, 0 };
	const char *p = tmpl ? tmpl : "";

	if (!len)
		return;
	out[0] = '\0';
	while (*p && o.used < len - 1) {
		size_t run = 0, l;
		int id = -1, index = -1;

		if (*p != '%') {
			size_t lit = strcspn(p, "%");

			out_put(&o, p, lit);
			p += lit;
			continue;
		}
		if (p[1] == '%') {
			out_put(&o, "%", 1);
			p += 2;
			continue;
		}
		while (run < TMPL_NAME_MAX - 1 && name_char(p[1 + run], run))
			run++;
		/* Longest known name wins: "%file.path." is file.path then ".". */
		for (l = run; l > 0; l--) {
			id = tmpl_lookup(p + 1, l, &index);
			if (id >= 0)
				break;
		}
		if (id < 0) {
			out_put(&o, "%", 1);
			p++;
			continue;
		}
		out_field(&o, v, id, index);
		p += 1 + l;
	}
}

static cJSON *obj_child(cJSON *parent, const char *name);
static void set_item(cJSON *parent, const char *name, cJSON *item);

/* ---- what every record carries ------------------------------------------ */

static struct {
	pthread_once_t once;
	char machine_id[64];     /* "" when /etc/machine-id cannot be read */
	char hostname[256];
	char boot[17];           /* 64 random bits per agent run, hex */
	uint64_t seq;
} g_host = { .once = PTHREAD_ONCE_INIT };

static void host_read_once(void)
{
	FILE *f = fopen("/etc/machine-id", "r");
	uint64_t r = 0;
	size_t n = 0;

	if (f) {
		if (fgets(g_host.machine_id, sizeof(g_host.machine_id), f))
			n = strcspn(g_host.machine_id, " \t\r\n");
		g_host.machine_id[n] = '\0';
		fclose(f);
	}
	if (gethostname(g_host.hostname, sizeof(g_host.hostname) - 1))
		g_host.hostname[0] = '\0';
	/* The run's random prefix keeps ids unique across restarts; without
	 * entropy (never on a booted host) the clock stands in. */
	if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != (ssize_t)sizeof(r)) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		r = ((uint64_t)ts.tv_sec << 30) ^ (uint64_t)ts.tv_nsec ^ ((uint64_t)getpid() << 48);
	}
	snprintf(g_host.boot, sizeof(g_host.boot), "%016llx", (unsigned long long)r);
}

void alert_stamp(cJSON *root)
{
	char id[40];
	cJSON *host, *ev;
	uint64_t seq;

	if (!root)
		return;
	pthread_once(&g_host.once, host_read_once);
	seq = __atomic_add_fetch(&g_host.seq, 1, __ATOMIC_RELAXED);
	set_item(root, "schema_version", cJSON_CreateString(TG_ALERT_SCHEMA_VERSION));
	host = obj_child(root, "host");
	if (g_host.machine_id[0])
		set_item(host, "id", cJSON_CreateString(g_host.machine_id));
	if (g_host.hostname[0] && !cJSON_IsString(cJSON_GetObjectItemCaseSensitive(host, "hostname")))
		set_item(host, "hostname", cJSON_CreateString(g_host.hostname));
	/* 128 bits: the run's random half, then this record's number */
	snprintf(id, sizeof(id), "%s%016llx", g_host.boot, (unsigned long long)seq);
	ev = obj_child(root, "event");
	set_item(ev, "id", cJSON_CreateString(id));
}

/* ---- MITRE ids --------------------------------------------------------- */

/* Ids that ATT&CK retired, and what replaced them. Alerts carry the
 * current id; the old one stays searchable in twinguard.alert.mitre_aliases. */
static const struct {
	const char *old, *cur;
} mitre_renamed[] = {
	{ "T0855", "T1692.001" },   /* ICS v19: Unauthorized Message: Command Message */
	{ "T0856", "T1692.002" },   /* ICS v19: Unauthorized Message: Reporting Message */
};

static const char *mitre_current(const char *id, const char **old)
{
	*old = NULL;
	for (size_t i = 0; i < sizeof(mitre_renamed) / sizeof(mitre_renamed[0]); i++) {
		if (!strcmp(id, mitre_renamed[i].old) || !strcmp(id, mitre_renamed[i].cur)) {
			*old = mitre_renamed[i].old;
			return mitre_renamed[i].cur;
		}
	}
	return id;
}

static bool str_in(const cJSON *arr, const char *s)
{
	const cJSON *c;

	cJSON_ArrayForEach(c, arr)
		if (cJSON_IsString(c) && !strcmp(c->valuestring, s))
			return true;
	return false;
}

static void add_uniq(cJSON *arr, const char *s)
{
	if (!str_in(arr, s))
		cJSON_AddItemToArray(arr, cJSON_CreateString(s));
}

/* tags (mitre:OLD written as mitre:CURRENT), threat.technique.id and the
 * aliases of the rule's MITRE tags. */
static void alert_add_tags(cJSON *root, cJSON *al, const struct tg_rule *r)
{
	cJSON *tags = cJSON_CreateArray(), *ids = cJSON_CreateArray(), *aliases = cJSON_CreateArray();
	char buf[128];

	for (size_t i = 0; i < r->n_tags; i++) {
		const char *t = r->tags[i], *cur, *old;

		if (!t)
			continue;
		if (strncmp(t, "mitre:", 6) || !t[6]) {
			add_uniq(tags, t);
			continue;
		}
		cur = mitre_current(t + 6, &old);
		snprintf(buf, sizeof(buf), "mitre:%s", cur);
		add_uniq(tags, buf);
		add_uniq(ids, cur);
		if (old)
			add_uniq(aliases, old);
	}
	set_item(root, "tags", tags);
	if (cJSON_GetArraySize(ids)) {
		cJSON *th = obj_child(root, "threat");

		set_item(th, "framework", cJSON_CreateString("MITRE ATT&CK"));
		set_item(obj_child(th, "technique"), "id", ids);
	} else {
		cJSON_Delete(ids);
	}
	if (cJSON_GetArraySize(aliases))
		cJSON_AddItemToObject(al, "mitre_aliases", aliases);
	else
		cJSON_Delete(aliases);
}

/* ---- alert JSON -------------------------------------------------------- */

static cJSON *obj_child(cJSON *parent, const char *name)
{
	cJSON *o = cJSON_GetObjectItemCaseSensitive(parent, name);

	if (cJSON_IsObject(o))
		return o;
	cJSON_DeleteItemFromObjectCaseSensitive(parent, name);
	return cJSON_AddObjectToObject(parent, name);
}

/* Replace in place (an existing key keeps its position), else append. */
static void set_item(cJSON *parent, const char *name, cJSON *item)
{
	if (!item)
		return;
	if (cJSON_GetObjectItemCaseSensitive(parent, name))
		cJSON_ReplaceItemInObjectCaseSensitive(parent, name, item);
	else
		cJSON_AddItemToObject(parent, name, item);
}

static const char *kind_name(enum tg_rule_kind k)
{
	switch (k) {
	case TG_RULE_SEQUENCE:
		return "sequence";
	case TG_RULE_THRESHOLD:
		return "threshold";
	case TG_RULE_EVENT:
		break;
	}
	return "event";
}

/* The derived twin.* fields the rules saw (the event stream does not carry
 * them: they come from the profile), so the SIEM sees them too. */
static void alert_add_twin(cJSON *root, const struct tg_view *v)
{
	for (size_t id = 0; id < fields_count(); id++) {
		const struct tg_field *f = fields_get((int)id);
		char key[128], *part, *save = NULL;
		cJSON *o = root, *val;

		if (!f || strncmp(f->name, "twin.", 5) || !view_get(v, (int)id, NULL))
			continue;
		val = alert_field_json(v, (int)id);
		if (!val)
			continue;
		snprintf(key, sizeof(key), "%s", f->name);
		/* walk/create the objects of the dotted name; the last part is the key */
		for (part = strtok_r(key, ".", &save); part; part = strtok_r(NULL, ".", &save)) {
			char *next = save && *save ? save : NULL;

			if (!next) {
				set_item(o, part, val);
				val = NULL;
				break;
			}
			o = obj_child(o, part);
		}
		cJSON_Delete(val);
	}
}

cJSON *engine_alert_json(const struct tg_alert *a)
{
	const struct tg_rule *r = a->rule;
	const cJSON *src = a->view ? a->view->json : NULL;
	cJSON *root, *ev, *rule, *tg, *al;
	const char *prio;
	struct timespec ts;
	char created[48];

	root = cJSON_IsObject(src) ? cJSON_Duplicate(src, true) : cJSON_CreateObject();
	if (!root)
		return NULL;
	clock_gettime(CLOCK_REALTIME, &ts);
	alert_timestamp((uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec, created,
			sizeof(created));

	ev = obj_child(root, "event");
	set_item(ev, "kind", cJSON_CreateString("alert"));
	set_item(ev, "severity", cJSON_CreateNumber(r->priority));
	set_item(ev, "created", cJSON_CreateString(created));

	rule = cJSON_CreateObject();
	cJSON_AddStringToObject(rule, "id", r->name ? r->name : "");
	cJSON_AddStringToObject(rule, "name", r->name ? r->name : "");
	if (r->desc)
		cJSON_AddStringToObject(rule, "description", r->desc);
	if (r->file)
		cJSON_AddStringToObject(rule, "ruleset", r->file);
	set_item(root, "rule", rule);
	set_item(root, "message", cJSON_CreateString(a->output));

	tg = obj_child(root, "twinguard");
	al = cJSON_CreateObject();
	prio = rules_priority_name(r->priority);
	cJSON_AddStringToObject(al, "priority", prio ? prio : "unknown");
	cJSON_AddStringToObject(al, "action", r->action == TG_ACT_KILL ? "kill" : "alert");
	cJSON_AddStringToObject(al, "kind", kind_name(r->kind));
	if (a->details)
		cJSON_AddItemToObject(al, "details", cJSON_Duplicate(a->details, true));
	alert_add_tags(root, al, r);
	set_item(tg, "alert", al);
	if (a->view)
		alert_add_twin(root, a->view);
	alert_stamp(root);
	return root;
}
