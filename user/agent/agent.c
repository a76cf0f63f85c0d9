// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * `twinguard run`: preflight -> config -> /proc seed -> sinks -> probe ->
 * poll loop. Signal handlers only set flags; the loop does the work
 * (STYLE.md §4). Each round of the loop takes at most TG_ROUND_BUDGET
 * records from the ring, so signals, timers and (with ctl) the control
 * socket are served within one round even during a flood.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <poll.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>
#include "agent/agent_priv.h"
#include "diag.h"
#include "event.h"
#include "filters.h"
#include "manifest.h"
#include "path.h"
#include "preflight.h"
#include "procscan.h"
#include "track.h"

#define REAP_GRACE_NS (10ull * 1000000000ull)
#define TG_POLL_MS 10            /* bounds a lone alert's latency (p99 target 20 ms) */
#define TG_ROUND_BUDGET 4096      /* ring records per loop round */
#define TG_DRAIN_MS 3000          /* sinks' share of a clean stop */
#define TG_POLL_FDS 64            /* the ring + the control socket's fds */

static volatile sig_atomic_t g_stop;
static volatile sig_atomic_t g_reload;
static volatile sig_atomic_t g_reopen;

static void agent_on_signal(int sig)
{
	if (sig == SIGHUP)
		g_reload = 1;
	else if (sig == SIGUSR1)
		g_reopen = 1;
	else
		g_stop = 1;
}

/* A closed fd 0, 1 or 2 would be reused by the next open (the ring's epoll
 * fd, a socket), and writes meant for stdout would land there. Point them
 * at /dev/null first; the stream then counts its records as dropped. */
static bool agent_fix_stdio(void)
{
	bool out_closed = false;

	for (int fd = 0; fd <= 2; fd++) {
		if (fcntl(fd, F_GETFD) >= 0 || errno != EBADF)
			continue;
		int n = open("/dev/null", fd ? O_WRONLY : O_RDONLY);

		if (n >= 0 && n != fd) {
			dup2(n, fd);
			close(n);
		}
		if (fd == 1)
			out_closed = true;
	}
	return out_closed;
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
	struct tg_record *r;
	cJSON *j;

	a->alerts++;
	agent_count_rule(a, al->rule->name ? al->rule->name : "");
	/* before rendering: a suppressed alert costs a lookup, not a JSON line */
	if (!ratelimit_admit(a->rl, al, agent_now_ns(CLOCK_REALTIME)))
		return;
	j = engine_alert_json(al);
	r = j ? record_new(TG_REC_ALERT, j) : NULL;
	cJSON_Delete(j);
	deliver_submit(a->out, r);
	if (a->ctl)
		ctl_alert(a->ctl, r);
	record_put(r);
}

/* One rendered event: rules see every one, the stream only wanted ones. */
static void agent_emit(struct tg_agent *a, cJSON *j, uint64_t ts_ns, bool wanted)
{
	if (!j)
		return;
	if (a->det) {
		uint64_t t0 = agent_now_ns(CLOCK_MONOTONIC);

		detect_event(a->det, j, ts_ns, agent_on_alert, a);
		agent_count_eval(a, agent_now_ns(CLOCK_MONOTONIC) - t0);
	}
	if (a->events && wanted) {
		struct tg_record *r = record_new(TG_REC_EVENT, j);

		deliver_submit(a->out, r);
		record_put(r);
	}
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
	a->by_type[ev->hdr.type % TG_EV_TYPE_MAX]++;
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

/* Drops are never silent: agent-loss records in the alert stream (and a
 * warning on stderr) once per loss_report_s while they go on. */
static void agent_check_losses(struct tg_agent *a, uint64_t now)
{
	struct tg_stats st;

	if (now < a->next_loss_ns)
		return;
	a->next_loss_ns = now + a->cfg.loss_report_s * 1000000000ull;
	probe_stats(a->probe, &st);
	/* a lost write may have hit a watched file: check them all */
	if (st.drops != a->last_drops && a->ig)
		integrity_rescan(a->ig);
	a->last_drops = st.drops;
	agent_report_losses(a);
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

/* The diagnostics as "file:line:col: message" strings, for `twinguard reload`. */
static void agent_diag_json(const struct tg_diag *d, cJSON *out)
{
	char *text = NULL, *line, *save = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	if (!f)
		return;
	diag_print(d, f);
	fclose(f);
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		cJSON_AddItemToArray(out, cJSON_CreateString(line));
	free(text);
}

/* Build a new profile + rule set + engine; only a clean build replaces the
 * running one. Returns 0 on success. */
static int agent_load_detect(struct tg_agent *a, bool reload, cJSON *errors)
{
	struct tg_detect_paths paths = agent_detect_paths(a);
	struct tg_detect *next;
	struct tg_diag diag;

	diag_init(&diag);
	next = detect_new(&paths, &diag);
	diag_print(&diag, stderr);
	if (errors)
		agent_diag_json(&diag, errors);
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

static bool agent_str_differs(const char *a, const char *b)
{
	return (a == NULL) != (b == NULL) || (a && strcmp(a, b));
}

/* Sinks, the socket and the listener are built at start only. */
static bool agent_sinks_changed(const struct tg_config *o, const struct tg_config *n)
{
	return agent_str_differs(o->alerts_file, n->alerts_file) ||
	       agent_str_differs(o->syslog, n->syslog) ||
	       agent_str_differs(o->syslog_format, n->syslog_format) ||
	       agent_str_differs(o->http_url, n->http_url) ||
	       agent_str_differs(o->http_format, n->http_format) ||
	       agent_str_differs(o->spool_dir, n->spool_dir) ||
	       agent_str_differs(o->output, n->output) ||
	       agent_str_differs(o->control_socket, n->control_socket) ||
	       agent_str_differs(o->metrics_listen, n->metrics_listen) ||
	       o->sink_queue_max != n->sink_queue_max || o->alerts_file_max_mb != n->alerts_file_max_mb;
}

/* A reload's noise-control defaults; the limiter keeps its state. */
static void agent_rate_defaults(struct tg_agent *a)
{
	struct tg_rate_defaults d = {
		.max = a->cfg.alert_rate_max, .per_s = a->cfg.alert_rate_per_s,
		.dedup_s = a->cfg.alert_dedup_s, .report_s = a->cfg.suppress_report_s,
	};

	if (a->rl)
		ratelimit_set_defaults(a->rl, &d);
}

/* SIGHUP and `twinguard reload`: the answer says what happened. */
cJSON *agent_reload_json(struct tg_agent *a)
{
	cJSON *res = cJSON_CreateObject(), *errors = cJSON_CreateArray();
	struct tg_config next;
	char err[512];
	bool ok = true;

	sd_notify(0, "RELOADING=1");
	config_defaults(&next);
	if (a->config_path && config_load(a->config_path, &next, err, sizeof(err))) {
		fprintf(stderr, "twinguard: reload failed, keeping the running config: %s\n", err);
		cJSON_AddItemToArray(errors, cJSON_CreateString(err));
		config_free(&next);
		ok = false;
		goto out;
	}
	if (next.ringbuf_kb != a->cfg.ringbuf_kb || next.flow_map_max != a->cfg.flow_map_max ||
	    next.proc_table_max != a->cfg.proc_table_max)
		fprintf(stderr, "twinguard: note: ringbuf_kb, flow_map_max and proc_table_max "
			"take effect at the next start\n");
	if (agent_sinks_changed(&a->cfg, &next)) {
		fprintf(stderr, "twinguard: note: sink, control socket and metrics settings take "
			"effect at the next start; files are reopened now\n");
		cJSON_AddStringToObject(res, "note", "sink, control socket and metrics settings take "
					"effect at the next start");
	}
	config_free(&a->cfg);
	a->cfg = next;
	agent_rate_defaults(a);
	if (!a->opts->no_rules && agent_load_detect(a, true, errors)) {
		fprintf(stderr, "twinguard: note: config applied, rules unchanged\n");
		ok = false;
	}
	if (agent_load_integrity(a)) {
		fprintf(stderr, "twinguard: note: integrity checker unchanged\n");
		cJSON_AddItemToArray(errors, cJSON_CreateString("integrity manifest: see the agent's "
								 "log; checker unchanged"));
		ok = false;
	}
	if (agent_apply_kernel(a)) {
		cJSON_AddItemToArray(errors, cJSON_CreateString("kernel filters: failed to apply; "
								 "the previous ones stay"));
		ok = false;
	} else {
		fprintf(stderr, "twinguard: reloaded %s\n", a->config_path ? a->config_path : "");
	}
	deliver_reopen(a->out);
out:
	sd_notify(0, "READY=1");
	cJSON_AddBoolToObject(res, "ok", ok);
	cJSON_AddNumberToObject(res, "rules", a->det ? (double)a->det->rs.n_rules : 0);
	cJSON_AddItemToObject(res, "errors", errors);
	return res;
}

static void agent_reload(struct tg_agent *a)
{
	cJSON_Delete(agent_reload_json(a));
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
	struct tg_deliver_opts dopts = {
		.cfg = &a->cfg, .output = o->output, .events = o->events, .json = o->json,
		.stdout_closed = a->stdout_closed,
	};
	struct tg_rate_defaults rd = {
		.max = a->cfg.alert_rate_max, .per_s = a->cfg.alert_rate_per_s,
		.dedup_s = a->cfg.alert_dedup_s, .report_s = a->cfg.suppress_report_s,
	};

	a->rl = ratelimit_new(&rd);
	if (!a->rl) {
		fprintf(stderr, "twinguard: failed to create the rate limiter: %s\n", strerror(errno));
		return TG_EXIT_FAIL;
	}

	a->out = deliver_new(&dopts, err, sizeof(err));
	if (!a->out) {
		fprintf(stderr, "twinguard: failed to set up the sinks: %s; fix: correct the key in %s "
			"(docs/delivery.md)\n", err, o->config_path ? o->config_path : "the config");
		return TG_EXIT_CONFIG;
	}
	if (a->stdout_closed)
		fprintf(stderr, "twinguard: warning: stdout was closed at start: what the stream "
			"(output = -) would print is counted as dropped; set alerts_file or output\n");
	if (!o->no_rules && agent_load_detect(a, false, NULL))
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

struct agent_timers {
	uint64_t flow, stats, reap, watchdog, watchdog_us, metrics;
};

/* Everything the loop does besides intake, once per round. */
static void agent_housekeeping(struct tg_agent *a, struct agent_timers *t)
{
	uint64_t now = agent_now_ns(CLOCK_MONOTONIC);

	if (now >= t->flow) {
		probe_flows_flush(a->probe, agent_on_flow, a, false);
		t->flow = now + a->cfg.flow_flush_ms * 1000000ull;
	}
	if (a->cfg.stats_interval_s && now >= t->stats) {
		agent_report_stats(a, false);
		t->stats = now + a->cfg.stats_interval_s * 1000000000ull;
	}
	if (now >= t->reap) {
		proctable_reap(a->pt, agent_now_ns(CLOCK_BOOTTIME), REAP_GRACE_NS);
		t->reap = now + REAP_GRACE_NS;
	}
	ratelimit_flush(a->rl, agent_now_ns(CLOCK_REALTIME), false, agent_on_suppressed, a);
	agent_check_losses(a, now);
	if (t->watchdog_us && now >= t->watchdog) {
		sd_notify(0, "WATCHDOG=1");
		t->watchdog = now + t->watchdog_us * 1000 / 3;
	}
	if (a->ig)
		integrity_poll(a->ig, agent_on_integrity, a);
	if (g_reload) {
		g_reload = 0;
		agent_reload(a);
	}
	if (now >= t->metrics) {
		agent_metrics_publish(a);
		t->metrics = now + 1000000000ull;
	}
	if (g_reopen) {
		g_reopen = 0;
		deliver_reopen(a->out);
	}
}

static void agent_loop(struct tg_agent *a)
{
	struct agent_timers t = { 0 };
	uint64_t now = agent_now_ns(CLOCK_MONOTONIC);
	bool more = false;

	t.flow = now + a->cfg.flow_flush_ms * 1000000ull;
	t.stats = now + a->cfg.stats_interval_s * 1000000000ull;
	t.reap = now + REAP_GRACE_NS;
	a->next_loss_ns = now + a->cfg.loss_report_s * 1000000000ull;
	if (sd_watchdog_enabled(0, &t.watchdog_us) <= 0)
		t.watchdog_us = 0;
	sd_notify(0, "READY=1");
	while (!g_stop) {
		struct pollfd fds[TG_POLL_FDS] = { { .fd = probe_epoll_fd(a->probe), .events = POLLIN } };
		int n, nctl = a->ctl ? ctl_pollfds(a->ctl, fds + 1, TG_POLL_FDS - 1) : 0;

		/* the kernel wakes us only for batches (bpf/emit.bpf.h): this
		 * timeout bounds the latency of a lone event; a full round
		 * means more is waiting, so do not wait at all */
		if (poll(fds, (nfds_t)(1 + nctl), more ? 0 : TG_POLL_MS) < 0 && errno != EINTR) {
			fprintf(stderr, "twinguard: failed to poll ring buffer: %s\n", strerror(errno));
			break;
		}
		n = probe_consume(a->probe, TG_ROUND_BUDGET);
		if (n < 0 && n != -EINTR) {
			fprintf(stderr, "twinguard: failed to read ring buffer: %s\n", strerror(-n));
			break;
		}
		more = n >= TG_ROUND_BUDGET;
		a->rounds_full += more;
		if (a->ctl)
			ctl_service(a->ctl, fds + 1, nctl);
		agent_housekeeping(a, &t);
	}
	sd_notify(0, "STOPPING=1");
}

/* Detach first, then drain what is already in the ring and the flow maps:
 * nothing that was captured is lost on a clean stop. Then the sinks get
 * TG_DRAIN_MS to deliver (or spool) what they hold. */
static void agent_shutdown(struct tg_agent *a)
{
	if (a->probe) {
		probe_detach(a->probe);
		for (int i = 0; i < 1000 && probe_consume(a->probe, TG_ROUND_BUDGET) > 0; i++)
			;
		probe_flows_flush(a->probe, agent_on_flow, a, true);
		ratelimit_flush(a->rl, agent_now_ns(CLOCK_REALTIME), true, agent_on_suppressed, a);
		agent_report_losses(a);
		agent_report_stats(a, false);
	}
	agent_ctl_stop(a);
	integrity_free(a->ig);
	/* the last line counts what the sinks could not deliver in time */
	deliver_stop(a->out, TG_DRAIN_MS);
	if (a->probe)
		agent_report_stats(a, true);
	deliver_free(a->out, TG_DRAIN_MS);
	probe_close(a->probe);
	proctable_free(a->pt);
	detect_free(a->det);
	ratelimit_free(a->rl);
	agent_free_counts(a);
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
	a.stdout_closed = agent_fix_stdio();
	a.start_mono_ns = t0;
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
	sigaction(SIGUSR1, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	a.config_path = o->config_path;
	a.opts = o;
	a.events = o->events;
	rc = agent_setup(&a, o);
	if (rc == TG_EXIT_OK) {
		agent_ctl_start(&a);
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
