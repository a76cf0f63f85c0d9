// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * ctl_table: the CLI's --table views. They read the answers leniently:
 * a member that is missing or of another type is shown as "-", so an
 * older or newer agent still gets a readable view.
 */
#include <stdio.h>
#include <string.h>

#include "ctl/ctl_cli.h"

#define PS_DEPTH_MAX 64

static const cJSON *get(const cJSON *o, const char *k)
{
	return cJSON_IsObject(o) ? cJSON_GetObjectItemCaseSensitive(o, k) : NULL;
}

static const char *str(const cJSON *o, const char *k)
{
	const cJSON *v = get(o, k);

	return cJSON_IsString(v) ? v->valuestring : "-";
}

static double num(const cJSON *o, const char *k)
{
	const cJSON *v = get(o, k);

	return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

static void put_duration(FILE *f, double s)
{
	unsigned long t = s > 0 ? (unsigned long)s : 0;

	if (t >= 86400)
		fprintf(f, "%lud%02luh%02lum", t / 86400, t / 3600 % 24, t / 60 % 60);
	else if (t >= 3600)
		fprintf(f, "%luh%02lum%02lus", t / 3600, t / 60 % 60, t % 60);
	else if (t >= 60)
		fprintf(f, "%lum%02lus", t / 60, t % 60);
	else
		fprintf(f, "%.1fs", s);
}

static void table_sinks(FILE *f, const cJSON *sinks)
{
	const cJSON *s;

	if (!cJSON_GetArraySize(sinks)) {
		fprintf(f, "sinks        none\n");
		return;
	}
	fprintf(f, "sinks\n  %-10s %-6s %-6s %10s %8s %8s %8s %8s  %s\n", "NAME", "KIND", "STATE",
		"DELIVERED", "QUEUED", "SPOOLED", "DROPPED", "ERRORS", "TARGET");
	cJSON_ArrayForEach(s, sinks) {
		fprintf(f, "  %-10s %-6s %-6s %10.0f %8.0f %8.0f %8.0f %8.0f  %s\n", str(s, "name"),
			str(s, "kind"), str(s, "state"), num(s, "delivered"), num(s, "queued"),
			num(s, "spooled"), num(s, "dropped"), num(s, "errors"), str(s, "target"));
		if (cJSON_IsString(get(s, "last_error")) && str(s, "last_error")[0])
			fprintf(f, "  %-10s last error: %s\n", "", str(s, "last_error"));
	}
}

void table_status(FILE *f, const cJSON *st)
{
	const cJSON *reasons = get(st, "reasons"), *r, *files = get(get(st, "rules"), "files");
	const cJSON *man = get(st, "manifest"), *prof = get(st, "profile");

	fprintf(f, "version      %s\npid          %.0f\nuptime       ", str(st, "version"),
		num(st, "pid"));
	put_duration(f, num(st, "uptime_s"));
	fprintf(f, "\nhealth       %s", str(st, "health"));
	cJSON_ArrayForEach(r, reasons)
		if (cJSON_IsString(r))
			fprintf(f, "%s%s", r == reasons->child ? ": " : "; ", r->valuestring);
	fprintf(f, "\nprograms     %.0f attached, %.0f switched off\n",
		num(get(st, "programs"), "attached"), num(get(st, "programs"), "switched_off"));
	fprintf(f, "rules        %.0f from %d files\n", num(get(st, "rules"), "count"),
		cJSON_GetArraySize(files));
	cJSON_ArrayForEach(r, files)
		fprintf(f, "  %s  %s\n", str(r, "sha256"), str(r, "path"));
	fprintf(f, "profile      %s (%s)\n", str(prof, "name"), str(prof, "path"));
	if (cJSON_IsObject(man))
		fprintf(f, "manifest     %s (%.0f entries)\n", str(man, "path"), num(man, "entries"));
	else
		fprintf(f, "manifest     none\n");
	fprintf(f, "socket       %s\n", str(st, "control_socket"));
	table_sinks(f, get(st, "sinks"));
}

/* Every number in the object, by its dotted path; sinks by their name. */
static void stats_walk(FILE *f, const cJSON *o, char *path, size_t len, size_t cap)
{
	const cJSON *it;
	int i = 0;

	cJSON_ArrayForEach(it, o) {
		const char *key = it->string;
		char idx[24];
		int n;

		if (!key) {
			key = str(it, "name");
			if (!strcmp(key, "-")) {
				snprintf(idx, sizeof(idx), "%d", i);
				key = idx;
			}
		}
		i++;
		n = snprintf(path + len, cap - len, "%s%s", len ? "." : "", key);
		if (n < 0 || (size_t)n >= cap - len)
			continue;
		if (cJSON_IsNumber(it))
			fprintf(f, "%-44s %.15g\n", path, it->valuedouble);
		else if (cJSON_IsString(it) && strcmp(it->string ? it->string : "", "name"))
			fprintf(f, "%-44s %s\n", path, it->valuestring);
		else if ((cJSON_IsObject(it) || cJSON_IsArray(it)) &&
			 strcmp(it->string ? it->string : "", "buckets"))
			stats_walk(f, it, path, len + (size_t)n, cap);
		path[len] = '\0';
	}
}

void table_stats(FILE *f, const cJSON *stats)
{
	char path[512] = "";

	stats_walk(f, stats, path, 0, sizeof(path));
}

static void ps_line(FILE *f, const cJSON *p, int depth)
{
	fprintf(f, "%7.0f %7.0f  %-24s %*s%s %s\n", num(p, "pid"), num(p, "ppid"),
		str(p, "entity_id"), depth * 2, "", str(p, "executable"),
		cJSON_IsString(get(p, "args")) ? str(p, "args") : "");
}

static void ps_tree(FILE *f, const cJSON *list, int depth)
{
	const cJSON *p;

	cJSON_ArrayForEach(p, list) {
		ps_line(f, p, depth);
		if (depth < PS_DEPTH_MAX)
			ps_tree(f, get(p, "children"), depth + 1);
	}
}

void table_ps(FILE *f, const cJSON *ps)
{
	const cJSON *one = get(ps, "process"), *anc = get(one, "ancestors"), *a;
	int depth = 0;

	fprintf(f, "%7s %7s  %-24s %s\n", "PID", "PPID", "ENTITY", "EXECUTABLE ARGS");
	if (!one) {
		ps_tree(f, get(ps, "processes"), 0);
		return;
	}
	/* Ancestors come nearest first; the root is printed first. */
	for (int i = cJSON_GetArraySize(anc) - 1; i >= 0; i--) {
		a = cJSON_GetArrayItem(anc, i);
		ps_line(f, a, depth < PS_DEPTH_MAX ? depth++ : depth);
	}
	ps_line(f, one, depth);
}

/* time, priority, rule, message: one line per alert. */
void table_alert(FILE *f, const cJSON *al)
{
	const char *ts = str(al, "@timestamp");

	if (!strcmp(ts, "-"))
		ts = str(get(al, "event"), "created");
	fprintf(f, "%s %-8s %s: %s\n", ts, str(get(get(al, "twinguard"), "alert"), "priority"),
		str(get(al, "rule"), "name"), str(al, "message"));
}
