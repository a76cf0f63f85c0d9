// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * replay_bench: how many events per second the rule engine takes on one
 * core. A micro-benchmark, not a test: it asserts nothing.
 *
 *   replay_bench [-P PROFILE] [-d SECONDS] [-m MAX_EVENTS] [-s MAX_STATES]
 *                EVENTS.jsonl RULES.json...
 *
 * Loads the rule files in order (rules_load(), as the agent does), reads
 * up to MAX_EVENTS [10000] lines of an event stream (`twinguard run
 * --events` output), then measures two rates, each for at least SECONDS
 * [2] of passes over the events:
 *
 *   engine:     engine_eval() over views filled beforehand;
 *   end-to-end: cJSON_Parse() + view_fill() + engine_eval() per line.
 *
 * Event times are the lines' @timestamp values; each pass is shifted by
 * the stream's span plus one second, so time only moves forwards and the
 * windows of sequences and thresholds see the same spacing every pass.
 * Views are ~18 KiB each, hence the event cap.
 *
 * Build (after `make`):
 *   cc -O2 -std=gnu11 -D_GNU_SOURCE -Iinclude -Iuser -I.output \
 *      tests/bench/replay_bench.c .output/libtwinguard.a \
 *      -lbpf -lelf -lz -lcjson -lcrypto -o .output/bench/replay_bench
 */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cjson/cJSON.h>

#include "diag.h"
#include "engine.h"
#include "fields.h"
#include "profile.h"
#include "rules.h"

#define NS 1000000000ull

struct events {
	char **line;
	cJSON **json;
	struct tg_view **view;
	uint64_t *ts;                  /* @timestamp, ns; 0 when absent */
	size_t n, skipped;
	uint64_t first, span;
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void count_alert(void *ctx, const struct tg_alert *a)
{
	(void)a;
	(*(uint64_t *)ctx)++;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: replay_bench [-P PROFILE] [-d SECONDS] [-m MAX_EVENTS] "
		   "[-s MAX_STATES] EVENTS.jsonl RULES.json...\n");
}

static int events_read(const char *path, size_t max, const struct tg_profile *prof,
		       struct events *ev)
{
	FILE *f = fopen(path, "re");
	char *buf = NULL;
	size_t cap = 0;
	ssize_t len;
	uint64_t last = 0;

	if (!f) {
		fprintf(stderr, "twinguard: failed to open %s: %s\n", path, strerror(errno));
		return -1;
	}
	ev->line = calloc(max, sizeof(*ev->line));
	ev->json = calloc(max, sizeof(*ev->json));
	ev->view = calloc(max, sizeof(*ev->view));
	ev->ts = calloc(max, sizeof(*ev->ts));
	if (!ev->line || !ev->json || !ev->view || !ev->ts)
		goto nomem;
	while (ev->n < max && (len = getline(&buf, &cap, f)) >= 0) {
		const cJSON *t;
		size_t i = ev->n;

		ev->json[i] = cJSON_Parse(buf);
		if (!cJSON_IsObject(ev->json[i])) {
			cJSON_Delete(ev->json[i]);
			ev->skipped++;
			continue;
		}
		ev->line[i] = strdup(buf);
		ev->view[i] = malloc(sizeof(*ev->view[i]));
		if (!ev->line[i] || !ev->view[i])
			goto nomem;
		view_init(ev->view[i]);
		if (view_fill(ev->view[i], ev->json[i], prof)) {
			cJSON_Delete(ev->json[i]);
			free(ev->line[i]);
			free(ev->view[i]);
			ev->skipped++;
			continue;
		}
		t = cJSON_GetObjectItemCaseSensitive(ev->json[i], "@timestamp");
		ev->ts[i] = cJSON_IsString(t) ? engine_time_ns(t->valuestring) : 0;
		/* Lines without a time, or out of order (flow lines), get the
		 * last time seen, as the engine would read them. */
		if (ev->ts[i] < last)
			ev->ts[i] = last;
		last = ev->ts[i];
		if (!ev->n)
			ev->first = ev->ts[i];
		ev->n++;
	}
	free(buf);
	fclose(f);
	ev->span = ev->n ? last - ev->first : 0;
	return 0;
nomem:
	free(buf);
	fclose(f);
	fprintf(stderr, "twinguard: failed to allocate events: %s\n", strerror(ENOMEM));
	return -1;
}

static void events_free(struct events *ev)
{
	size_t i;

	for (i = 0; i < ev->n; i++) {
		cJSON_Delete(ev->json[i]);
		free(ev->line[i]);
		free(ev->view[i]);
	}
	free(ev->line);
	free(ev->json);
	free(ev->view);
	free(ev->ts);
}

static void rules_summary(const struct tg_ruleset *rs)
{
	size_t i, k[4] = { 0 }, off = 0;

	for (i = 0; i < rs->n_rules; i++) {
		enum tg_rule_kind kind = rs->rules[i].kind;

		if (!rs->rules[i].enabled)
			off++;
		else if (kind >= TG_RULE_EVENT && kind <= TG_RULE_THRESHOLD)
			k[kind]++;
	}
	printf("rules: %zu (%zu event, %zu sequence, %zu threshold, %zu disabled)\n", rs->n_rules,
	       k[TG_RULE_EVENT], k[TG_RULE_SEQUENCE], k[TG_RULE_THRESHOLD], off);
}

static void stats_print(const char *label, struct tg_engine *e, uint64_t n, double secs,
			uint64_t alerts)
{
	struct tg_engine_stats st;

	engine_stats(e, &st);
	printf("%s: %.0f events/s (%llu events in %.2f s, %llu alerts, %llu states, "
	       "%llu evictions, %llu expired)\n",
	       label, (double)n / secs, (unsigned long long)n, secs, (unsigned long long)alerts,
	       (unsigned long long)st.states, (unsigned long long)st.evictions,
	       (unsigned long long)st.expired);
}

/*
 * The engine as the agent runs it: each event's view filled just before it
 * is evaluated, so the view (and the JSON it points into) is in cache.
 * Passes alternate between view_fill() alone and view_fill() +
 * engine_eval() over the same parsed events; the engine's rate is events
 * over the difference of the two totals. The "engine" rate above instead
 * evaluates views filled long before (tens of MiB of them), so it adds a
 * cache and TLB miss or more per field read that the agent does not pay.
 */
static int bench_hot(const struct tg_ruleset *rs, const struct tg_engine_limits *lim,
		     const struct tg_profile *prof, const struct events *ev, double dur)
{
	struct tg_engine *e = engine_new(rs, lim);
	struct tg_view *v = malloc(sizeof(*v));
	double t_fill = 0, t_both = 0, start = now_s(), t0;
	uint64_t n = 0, pass, alerts = 0;
	size_t i;

	if (!e || !v) {
		fprintf(stderr, "twinguard: failed to create the engine: %s\n", strerror(ENOMEM));
		engine_free(e);
		free(v);
		return -1;
	}
	view_init(v);
	for (pass = 0; now_s() - start < 2 * dur; pass++) {
		uint64_t shift = pass * (ev->span + NS);

		t0 = now_s();
		for (i = 0; i < ev->n; i++)
			view_fill(v, ev->json[i], prof);
		t_fill += now_s() - t0;
		t0 = now_s();
		for (i = 0; i < ev->n; i++)
			if (!view_fill(v, ev->json[i], prof))
				engine_eval(e, v, ev->ts[i] + shift, count_alert, &alerts);
		t_both += now_s() - t0;
		n += ev->n;
	}
	if (t_both > t_fill)
		printf("engine-hot: %.0f events/s (%llu events: fill+eval %.3f s, fill %.3f s, "
		       "%llu alerts)\n", (double)n / (t_both - t_fill), (unsigned long long)n, t_both,
		       t_fill, (unsigned long long)alerts);
	else
		printf("engine-hot: no measurable engine time (fill+eval %.3f s, fill %.3f s)\n",
		       t_both, t_fill);
	engine_free(e);
	free(v);
	return 0;
}

int main(int argc, char **argv)
{
	struct tg_engine_limits lim = { .max_states = 0 };
	struct tg_profile prof;
	struct tg_ruleset rs = { 0 };
	struct tg_diag diag;
	struct events ev = { 0 };
	struct tg_engine *e = NULL;
	struct tg_view *v = NULL;
	const char *prof_path = NULL;
	double dur = 2, start, el;
	size_t max = 10000, i;
	uint64_t n, pass, alerts;
	cpu_set_t cpus;
	int opt, err = 1;

	while ((opt = getopt(argc, argv, "P:d:m:s:h")) != -1) {
		switch (opt) {
		case 'P':
			prof_path = optarg;
			break;
		case 'd':
			dur = atof(optarg);
			break;
		case 'm':
			max = strtoul(optarg, NULL, 10);
			break;
		case 's':
			lim.max_states = strtoul(optarg, NULL, 10);
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (argc - optind < 2 || dur <= 0 || !max) {
		usage(stderr);
		return 2;
	}

	/* One core: the rate is per core, as the agent evaluates on one thread. */
	CPU_ZERO(&cpus);
	CPU_SET(sched_getcpu() >= 0 ? sched_getcpu() : 0, &cpus);
	if (sched_setaffinity(0, sizeof(cpus), &cpus))
		fprintf(stderr, "replay_bench: warning: not pinned to one CPU: %s\n",
			strerror(errno));

	diag_init(&diag);
	profile_defaults(&prof);
	if (prof_path && profile_load(prof_path, &prof, &diag)) {
		diag_print(&diag, stderr);
		err = 2;
		goto cleanup;
	}
	if (rules_load(&rs, (const char *const *)argv + optind + 1, (size_t)(argc - optind - 1),
		       &prof, &diag)) {
		diag_print(&diag, stderr);
		err = 2;
		goto cleanup;
	}
	rules_summary(&rs);
	if (events_read(argv[optind], max, &prof, &ev))
		goto cleanup;
	if (!ev.n) {
		fprintf(stderr, "twinguard: failed to read events: no event in %s\n", argv[optind]);
		goto cleanup;
	}
	printf("events: %zu (%zu lines skipped), span %.3f s\n", ev.n, ev.skipped,
	       (double)ev.span / 1e9);

	/* engine_eval alone */
	e = engine_new(&rs, &lim);
	if (!e) {
		fprintf(stderr, "twinguard: failed to create the engine: %s\n", strerror(ENOMEM));
		goto cleanup;
	}
	n = alerts = 0;
	start = now_s();
	for (pass = 0; (el = now_s() - start) < dur; pass++) {
		uint64_t shift = pass * (ev.span + NS);

		for (i = 0; i < ev.n; i++)
			engine_eval(e, ev.view[i], ev.ts[i] + shift, count_alert, &alerts);
		n += ev.n;
	}
	stats_print("engine", e, n, el, alerts);
	engine_free(e);
	e = NULL;
	if (bench_hot(&rs, &lim, &prof, &ev, dur))
		goto cleanup;

	/* cJSON_Parse + view_fill + engine_eval, per line (skipped with
	 * RB_ENGINE_ONLY set, to profile the engine alone) */
	if (getenv("RB_ENGINE_ONLY")) {
		err = 0;
		goto cleanup;
	}
	e = engine_new(&rs, &lim);
	v = malloc(sizeof(*v));
	if (!e || !v) {
		fprintf(stderr, "twinguard: failed to create the engine: %s\n", strerror(ENOMEM));
		goto cleanup;
	}
	view_init(v);
	n = alerts = 0;
	start = now_s();
	for (pass = 0; (el = now_s() - start) < dur; pass++) {
		uint64_t shift = pass * (ev.span + NS);

		for (i = 0; i < ev.n; i++) {
			cJSON *j = cJSON_Parse(ev.line[i]);

			if (j && !view_fill(v, j, &prof))
				engine_eval(e, v, ev.ts[i] + shift, count_alert, &alerts);
			cJSON_Delete(j);
		}
		n += ev.n;
	}
	stats_print("end-to-end", e, n, el, alerts);
	err = 0;

cleanup:
	free(v);
	engine_free(e);
	events_free(&ev);
	rules_free(&rs);
	profile_free(&prof);
	diag_free(&diag);
	return err;
}
