// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * `twinguard run`: preflight -> config -> /proc seed -> probe -> poll loop.
 * Signal handlers only set flags; the loop does the work (STYLE.md §4).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "agent.h"
#include "config.h"
#include "detect.h"
#include "diag.h"
#include "ecs.h"
#include "event.h"
#include "filters.h"
#include "integrity.h"
#include "manifest.h"
#include "output.h"
#include "path.h"
#include "preflight.h"
#include "probe.h"
#include "procscan.h"
#include "proctable.h"
#include "track.h"

#define REAP_GRACE_NS (10ull * 1000000000ull)
#define TG_POLL_MS 50

static volatile sig_atomic_t g_stop;
static volatile sig_atomic_t g_reload;

struct tg_agent {
	struct tg_config cfg;
	struct tg_config kcfg;    /* what the kernel filters: cfg + what the rules need */
	const char *config_path;
	struct tg_probe *probe;
	struct tg_proctable *pt;
	struct tg_ecs ecs;
	struct tg_output *out;
	const struct tg_agent_opts *opts;
	struct tg_detect *det;    /* profile + rules + engine, swapped whole on reload */
	struct tg_integrity *ig;  /* model/config integrity; NULL when off */
	uint64_t alerts;
	bool events;
	uint64_t user_filtered;   /* name-based file events outside the prefixes */
	uint64_t invalid;         /* malformed records (ABI mismatch) */
	uint64_t last_drops;
};

static void agent_on_signal(int sig)
{
	if (sig == SIGHUP)
		g_reload = 1;
	else
		g_stop = 1;
}

static uint64_t agent_now_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/* Name-based file calls are not prefix-filtered in the kernel (a raw string
 * can hide a watched file behind a symlink); filter the resolved path. */
static bool agent_file_wanted(struct tg_agent *a, const struct tg_event *ev)
{
	char path[TG_PATH_MAX];

	if (!a->cfg.n_prefixes || event_class(ev->hdr.type) != TG_CLASS_FILE ||
	    ev->hdr.type == TG_EV_OPEN || ev->hdr.type == TG_EV_MEMFD)
		return true;
	for (int idx = 0; idx <= 2; idx += 2) {
		if (event_path(ev, idx, path, sizeof(path)))
			continue;
		for (size_t i = 0; i < a->cfg.n_prefixes; i++)
			if ((a->cfg.prefixes[i].access & TG_ACC_WRITE) &&
			    path_has_prefix(path, a->cfg.prefixes[i].prefix))
				return true;
	}
	return false;
}

static void agent_on_alert(void *ctx, const struct tg_alert *al)
{
	struct tg_agent *a = ctx;

	a->alerts++;
	output_write(a->out, engine_alert_json(al));
}

/* One rendered event: rules see every one, the stream only wanted ones. */
static void agent_emit(struct tg_agent *a, cJSON *j, uint64_t ts_ns, bool wanted)
{
	if (!j)
		return;
	if (a->det)
		detect_event(a->det, j, ts_ns, agent_on_alert, a);
	if (a->events && wanted)
		output_write(a->out, j);
	else
		cJSON_Delete(j);
}

static int agent_on_event(void *ctx, const struct tg_event *ev, size_t size)
{
	struct tg_agent *a = ctx;
	bool wanted;

	cJSON *j = NULL;

	if (!event_valid(ev, size)) {
		a->invalid++;
		return 0;
	}
	if (ev->hdr.type == TG_EV_CLOSE) {
		/* only the integrity checker asks for closes */
		if (a->ig)
			integrity_close(a->ig, ev->hdr.tgid, ev->u.file.fd);
		return 0;
	}
	track_event(a->pt, ev);
	wanted = agent_file_wanted(a, ev);
	if (!wanted)
		a->user_filtered++;
	if (a->det || a->ig || (a->events && wanted))
		j = ecs_event(&a->ecs, ev);
	if (a->ig && j)
		integrity_observe(a->ig, ev, j);
	if (a->det || (a->events && wanted))
		agent_emit(a, j, ev->hdr.ts_ns, wanted);
	else
		cJSON_Delete(j);
	track_exit(a->pt, ev);
	return 0;
}

static void agent_on_integrity(void *ctx, cJSON *j)
{
	struct tg_agent *a = ctx;

	agent_emit(a, j, agent_now_ns(CLOCK_BOOTTIME), true);
}

static void agent_on_flow(void *ctx, const struct tg_flow_key *k, const struct tg_flow_val *v)
{
	struct tg_agent *a = ctx;

	if (a->det || a->events)
		agent_emit(a, ecs_flow(&a->ecs, k, v), v->last_ns, true);
}

static cJSON *agent_stats_json(struct tg_agent *a)
{
	struct tg_proctable_stats ps;
	struct tg_stats st;
	cJSON *j = cJSON_CreateObject();

	probe_stats(a->probe, &st);
	proctable_stats(a->pt, &ps);
	cJSON_AddNumberToObject(j, "events", (double)st.events);
	cJSON_AddNumberToObject(j, "drops", (double)st.drops);
	cJSON_AddNumberToObject(j, "drop_bytes", (double)st.drop_bytes);
	cJSON_AddNumberToObject(j, "flow_drops", (double)st.flow_drops);
	cJSON_AddNumberToObject(j, "filtered", (double)st.filtered);
	cJSON_AddNumberToObject(j, "path_truncated", (double)st.path_trunc);
	cJSON_AddNumberToObject(j, "tail_call_failures", (double)st.tail_fail);
	cJSON_AddNumberToObject(j, "user_filtered", (double)a->user_filtered);
	cJSON_AddNumberToObject(j, "invalid_records", (double)a->invalid);
	cJSON_AddNumberToObject(j, "output_lines", (double)output_lines(a->out));
	cJSON_AddNumberToObject(j, "output_errors", (double)output_errors(a->out));
	cJSON_AddNumberToObject(j, "proc_entries", (double)ps.entries);
	cJSON_AddNumberToObject(j, "proc_evictions", (double)ps.evictions);
	cJSON_AddNumberToObject(j, "alerts", (double)a->alerts);
	if (a->det) {
		struct tg_engine_stats es;

		engine_stats(a->det->eng, &es);
		cJSON_AddNumberToObject(j, "rule_states", (double)es.states);
		cJSON_AddNumberToObject(j, "rule_state_evictions", (double)es.evictions);
	}
	if (a->ig) {
		struct tg_integrity_stats is;
		cJSON *io = cJSON_AddObjectToObject(j, "integrity");

		integrity_stats(a->ig, &is);
		cJSON_AddNumberToObject(io, "checked", (double)is.checked);
		cJSON_AddNumberToObject(io, "mismatches", (double)is.mismatches);
		cJSON_AddNumberToObject(io, "unknown", (double)is.unknown);
		cJSON_AddNumberToObject(io, "missing", (double)is.missing);
		cJSON_AddNumberToObject(io, "updated", (double)is.updated);
		cJSON_AddNumberToObject(io, "errors", (double)is.errors);
		cJSON_AddNumberToObject(io, "overflows", (double)is.overflows);
		cJSON_AddNumberToObject(io, "rescans", (double)is.rescans);
		cJSON_AddNumberToObject(io, "repeats", (double)is.repeats);
		cJSON_AddNumberToObject(io, "queued", (double)is.queued);
	}
	return j;
}

/* Drops are never silent: a warning on stderr and a stats record in the
 * stream each time the counter moves. */
static void agent_report(struct tg_agent *a, bool final)
{
	cJSON *stats = agent_stats_json(a);
	uint64_t drops = (uint64_t)cJSON_GetObjectItem(stats, "drops")->valuedouble;
	char *line;

	if (drops != a->last_drops || final) {
		cJSON *rec = cJSON_CreateObject();
		cJSON *evo = cJSON_AddObjectToObject(rec, "event");
		char ts[64];

		if (drops != a->last_drops) {
			fprintf(stderr, "twinguard: warning: %" PRIu64 " events dropped (ring buffer full); "
				"raise ringbuf_kb or narrow the watched prefixes\n", drops - a->last_drops);
			/* a lost write may have hit a watched file: check them all */
			if (a->ig && !final)
				integrity_rescan(a->ig);
		}
		a->last_drops = drops;
		ecs_timestamp(&a->ecs, agent_now_ns(CLOCK_BOOTTIME), ts, sizeof(ts));
		cJSON_AddStringToObject(rec, "@timestamp", ts);
		cJSON_AddStringToObject(evo, "kind", "metric");
		cJSON_AddStringToObject(evo, "action", "agent-stats");
		cJSON_AddItemToObject(cJSON_AddObjectToObject(rec, "twinguard"), "stats",
				      cJSON_Duplicate(stats, true));
		if (a->events)
			output_write(a->out, rec);
		else
			cJSON_Delete(rec);
	}
	if (final) {
		line = cJSON_PrintUnformatted(stats);
		fprintf(stderr, "twinguard: stats %s\n", line ? line : "{}");
		free(line);
	}
	cJSON_Delete(stats);
}

static struct tg_detect_paths agent_detect_paths(const struct tg_agent *a)
{
	const struct tg_agent_opts *o = a->opts;
	struct tg_detect_paths p = {
		.rules_dir = o->rules_dir ? o->rules_dir : a->cfg.rules_dir,
		.rules_local_dir = o->rules_local_dir ? o->rules_local_dir : a->cfg.rules_local_dir,
		.profile = o->profile ? o->profile : a->cfg.profile,
	};

	return p;
}

/* Build a new profile + rule set + engine; only a clean build replaces the
 * running one. Returns 0 on success. */
static int agent_load_detect(struct tg_agent *a, bool reload)
{
	struct tg_detect_paths paths = agent_detect_paths(a);
	struct tg_detect *next;
	struct tg_diag diag;

	diag_init(&diag);
	next = detect_new(&paths, &diag);
	diag_print(&diag, stderr);
	diag_free(&diag);
	if (!next) {
		fprintf(stderr, "twinguard: %s: rule or profile errors (above); %s\n",
			reload ? "reload failed" : "failed to load rules",
			reload ? "keeping the running rules" : "fix them or run with --no-rules");
		return -1;
	}
	detect_free(a->det);
	a->det = next;
	if (reload)
		fprintf(stderr, "twinguard: %zu rules loaded\n", a->det->rs.n_rules);
	return 0;
}

static const char *agent_manifest_path(const struct tg_agent *a)
{
	if (a->opts->manifest)
		return a->opts->manifest;
	return a->cfg.manifest ? a->cfg.manifest : TG_DEFAULT_MANIFEST;
}

/*
 * (Re)start the integrity checker on the loaded profile. A missing manifest
 * turns it off with a warning (nothing to compare with); an unreadable or
 * malformed one is an error: at start the agent refuses to run, on reload
 * the running checker stays. Returns 0 or -1.
 */
static int agent_load_integrity(struct tg_agent *a)
{
	struct tg_integrity_opts o = {
		.manifest = agent_manifest_path(a),
		.queue_max = a->cfg.integrity_queue_max, .rate_mb = a->cfg.integrity_rate_mb,
		.rescan_s = a->cfg.integrity_rescan_s,
	};
	struct tg_integrity *next;
	char err[512];

	if (!a->cfg.integrity || !a->det ||
	    (!a->det->prof.model_dirs.n && !a->det->prof.config_dirs.n)) {
		integrity_free(a->ig);
		a->ig = NULL;
		return 0;
	}
	o.prof = &a->det->prof;
	next = integrity_new(&o, err, sizeof(err));
	if (!next && errno == ENOENT) {
		fprintf(stderr, "twinguard: warning: no integrity manifest at %s: model and config "
			"integrity checks are off; create it with 'twinguard baseline'\n", o.manifest);
		integrity_free(a->ig);
		a->ig = NULL;
		return 0;
	}
	if (!next) {
		fprintf(stderr, "twinguard: failed to load the integrity manifest: %s; fix: restore it "
			"or re-create it with 'twinguard baseline'\n", err);
		return -1;
	}
	integrity_free(a->ig);
	a->ig = next;
	return 0;
}

static void agent_print_filter(const struct tg_config *k, const struct tg_filters_report *rep)
{
	fprintf(stderr, "twinguard: kernel filter: classes 0x%x, %zu open prefixes (%zu from rules):",
		k->classes, k->n_prefixes, rep->n_rule_prefixes);
	for (size_t i = 0; i < k->n_prefixes; i++)
		fprintf(stderr, " %s%s%s", k->prefixes[i].prefix,
			k->prefixes[i].access & TG_ACC_READ ? "[r" : "[",
			k->prefixes[i].access & TG_ACC_WRITE ? "w]" : "]");
	fputc('\n', stderr);
}

/* The kernel's filters: the config, narrowed or widened to what the rules
 * need (user/filters.c). */
static int agent_kernel_config(struct tg_agent *a, const struct tg_config *cfg,
			       const struct tg_detect *det, struct tg_config *out)
{
	struct tg_filters_report rep;

	if (!det)
		return config_clone(out, cfg);
	if (filters_compile(&det->rs, &det->prof, cfg, a->events, out, &rep))
		return -1;
	out->close_writes = a->ig != NULL;
	if (a->ig && filters_add_watch(out, &det->prof))
		return -1;
	if (rep.opens_all)
		fprintf(stderr, "twinguard: note: rule '%s' can match any file, so every open is "
			"captured; bound it with file.path or twin.file.role to filter in the kernel\n",
			rep.opens_all_rule);
	else if (a->opts->verbose)
		agent_print_filter(out, &rep);
	return 0;
}

/* Recompute and push the kernel filters; the old ones stay on failure. */
static int agent_apply_kernel(struct tg_agent *a)
{
	struct tg_config k;

	memset(&k, 0, sizeof(k));
	if (agent_kernel_config(a, &a->cfg, a->det, &k) || probe_apply(a->probe, &k)) {
		fprintf(stderr, "twinguard: failed to apply kernel filters; keeping the previous ones\n");
		config_free(&k);
		if (a->kcfg.output)
			probe_apply(a->probe, &a->kcfg);
		return -1;
	}
	config_free(&a->kcfg);
	a->kcfg = k;
	return 0;
}

static void agent_reload(struct tg_agent *a)
{
	struct tg_config next;
	char err[512];

	config_defaults(&next);
	if (config_load(a->config_path, &next, err, sizeof(err))) {
		fprintf(stderr, "twinguard: reload failed, keeping the running config: %s\n", err);
		config_free(&next);
		return;
	}
	if (next.ringbuf_kb != a->cfg.ringbuf_kb || next.flow_map_max != a->cfg.flow_map_max ||
	    next.proc_table_max != a->cfg.proc_table_max)
		fprintf(stderr, "twinguard: note: ringbuf_kb, flow_map_max and proc_table_max "
			"take effect at the next start\n");
	config_free(&a->cfg);
	a->cfg = next;
	if (!a->opts->no_rules && agent_load_detect(a, true))
		fprintf(stderr, "twinguard: note: config applied, rules unchanged\n");
	if (agent_load_integrity(a))
		fprintf(stderr, "twinguard: note: integrity checker unchanged\n");
	if (agent_apply_kernel(a))
		return;
	fprintf(stderr, "twinguard: reloaded %s\n", a->config_path);
}

static int agent_setup(struct tg_agent *a, const struct tg_agent_opts *o)
{
	struct tg_probe_opts po = {0};
	char err[512];

	config_defaults(&a->cfg);
	if (o->config_path && config_load(o->config_path, &a->cfg, err, sizeof(err))) {
		fprintf(stderr, "twinguard: failed to load config: %s; fix: correct the file or pass "
			"--config PATH (keys: docs/config.md)\n", err);
		return TG_EXIT_CONFIG;
	}
	a->pt = proctable_new(a->cfg.proc_table_max, NULL);
	if (!a->pt) {
		fprintf(stderr, "twinguard: failed to create process table: %s\n", strerror(errno));
		return TG_EXIT_FAIL;
	}
	if (proctable_seed(a->pt, "/proc") < 0)
		fprintf(stderr, "twinguard: warning: failed to scan /proc: %s\n", strerror(errno));
	ecs_init(&a->ecs, a->pt);
	a->out = output_open(o->output ? o->output : a->cfg.output);
	if (!a->out) {
		fprintf(stderr, "twinguard: failed to open output %s: %s\n",
			o->output ? o->output : a->cfg.output, strerror(errno));
		return TG_EXIT_CONFIG;
	}
	if (!o->no_rules && agent_load_detect(a, false))
		return TG_EXIT_CONFIG;
	if (agent_load_integrity(a))
		return TG_EXIT_CONFIG;
	po.ringbuf_bytes = (size_t)a->cfg.ringbuf_kb * 1024;
	po.flow_map_max = a->cfg.flow_map_max;
	po.verbose = o->verbose;
	/* Filters go in before attach: no unfiltered burst at start. */
	if (probe_open(&a->probe, &po) || probe_load(a->probe) || agent_apply_kernel(a) ||
	    probe_attach(a->probe))
		return TG_EXIT_FAIL;
	probe_set_callback(a->probe, agent_on_event, a);
	return TG_EXIT_OK;
}

static void agent_loop(struct tg_agent *a)
{
	uint64_t now, next_flow, next_stats, next_reap;

	now = agent_now_ns(CLOCK_MONOTONIC);
	next_flow = now + a->cfg.flow_flush_ms * 1000000ull;
	next_stats = now + a->cfg.stats_interval_s * 1000000000ull;
	next_reap = now + REAP_GRACE_NS;
	while (!g_stop) {
		/* the kernel wakes us only for batches (bpf/emit.bpf.h): this
		 * timeout bounds the latency of a lone event */
		int n = probe_poll(a->probe, TG_POLL_MS);

		if (n < 0) {
			fprintf(stderr, "twinguard: failed to poll ring buffer: %s\n", strerror(-n));
			break;
		}
		now = agent_now_ns(CLOCK_MONOTONIC);
		if (now >= next_flow) {
			probe_flows_flush(a->probe, agent_on_flow, a, false);
			next_flow = now + a->cfg.flow_flush_ms * 1000000ull;
		}
		if (a->cfg.stats_interval_s && now >= next_stats) {
			agent_report(a, false);
			next_stats = now + a->cfg.stats_interval_s * 1000000000ull;
		}
		if (now >= next_reap) {
			proctable_reap(a->pt, agent_now_ns(CLOCK_BOOTTIME), REAP_GRACE_NS);
			next_reap = now + REAP_GRACE_NS;
		}
		if (a->ig)
			integrity_poll(a->ig, agent_on_integrity, a);
		if (g_reload) {
			g_reload = 0;
			agent_reload(a);
		}
		output_flush(a->out);
	}
}

/* Detach first, then drain what is already in the ring and the flow maps:
 * nothing that was captured is lost on a clean stop. */
static void agent_shutdown(struct tg_agent *a)
{
	if (a->probe) {
		probe_detach(a->probe);
		for (int i = 0; i < 1000 && probe_poll(a->probe, 0) > 0; i++)
			;
		probe_flows_flush(a->probe, agent_on_flow, a, true);
		agent_report(a, true);
	}
	integrity_free(a->ig);
	output_close(a->out);
	probe_close(a->probe);
	proctable_free(a->pt);
	detect_free(a->det);
	config_free(&a->kcfg);
	config_free(&a->cfg);
}

int agent_run(const struct tg_agent_opts *o)
{
	struct tg_agent a;
	struct sigaction sa;
	char msg[512], note[256];
	uint64_t t0 = agent_now_ns(CLOCK_MONOTONIC);
	int rc;

	memset(&a, 0, sizeof(a));
	rc = preflight_check(&preflight_default_paths, msg, sizeof(msg), note, sizeof(note));
	if (rc) {
		fprintf(stderr, "twinguard: %s\n", msg);
		return rc;
	}
	if (note[0] && o->verbose)
		fprintf(stderr, "twinguard: note: %s\n", note);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = agent_on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	a.config_path = o->config_path;
	a.opts = o;
	a.events = o->events;
	rc = agent_setup(&a, o);
	if (rc == TG_EXIT_OK) {
		fprintf(stderr, "twinguard: attached %u programs in %.1f ms (%u switched off); %zu rules\n",
			probe_attached(a.probe), (agent_now_ns(CLOCK_MONOTONIC) - t0) / 1e6,
			probe_switched_off(a.probe), a.det ? a.det->rs.n_rules : 0);
		if (a.det && !a.det->rs.n_rules)
			fprintf(stderr, "twinguard: warning: no rules loaded (rules dir %s): no alerts "
				"will be raised\n", agent_detect_paths(&a).rules_dir ?: TG_DEFAULT_RULES_DIR);
		agent_loop(&a);
	}
	agent_shutdown(&a);
	return rc;
}
