// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * twin-engine: the twin service of the twin lab, the program the lab
 * driver's attacks aim at and the one the twin profile names a "service".
 *
 *   twin-engine --config <LAB>/config/engine.json
 *
 * It loads its model (model file, at start, on SIGHUP and on a "reload"
 * command), takes sensor readings from the broker's data listener
 * (sensors/#) and keeps per-sensor value and prediction (gain * value +
 * offset), takes token-bearing commands from the control listener
 * (twin/cmd/#), serves an HTTP/1.0 control API on 127.0.0.1:api_port and
 * rewrites the state file (temp file + rename, at most once a second) when
 * something changed. It logs to the log file, reopened on SIGUSR1 so that
 * logrotate's "create" works as well as "copytruncate".
 *
 * The API carries the lab's PLANTED BUG, POST /diag: an unauthenticated
 * command injection (see engine_api.c). It is there on purpose so that the
 * lab can make the engine spawn a shell; never copy it anywhere else.
 *
 * Files: <run_dir>/engine.pid at start; <run_dir>/engine.ready once both MQTT
 * subscriptions are acknowledged and the API listens. Both are removed on
 * SIGTERM/SIGINT, after a last state write. Exit: 0 clean stop, 1 runtime
 * failure (API port taken, run_dir not writable), 2 bad usage, config or
 * model.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "twin-engine.h"

#define TICK_MS 200               /* the main loop's longest sleep */
#define STATE_MIN_INTERVAL_MS 1000
#define LOG_LINE_MAX 1024

atomic_int engine_stop, engine_reload_req, engine_reopen_req;

static const int handled_signals[] = { SIGTERM, SIGINT, SIGHUP, SIGUSR1, SIGPIPE };

/* ---- time and log ----------------------------------------------------- */

long long engine_wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void iso_time(char *buf, size_t cap, long long ms)
{
	time_t s = (time_t)(ms / 1000);
	struct tm tm;
	size_t n;

	gmtime_r(&s, &tm);
	n = strftime(buf, cap, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, cap - n, ".%03lldZ", ms % 1000);
}

void engine_log(struct engine *eng, const char *fmt, ...)
{
	char msg[LOG_LINE_MAX], line[LOG_LINE_MAX + 96], ts[40];
	va_list ap;
	size_t i;
	int n;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* Client-supplied text (sensor names, /diag targets) must not forge
	 * log lines: control characters become '?'. */
	for (i = 0; msg[i]; i++)
		if ((unsigned char)msg[i] < ' ' || msg[i] == 0x7f)
			msg[i] = '?';
	iso_time(ts, sizeof(ts), engine_wall_ms());
	n = snprintf(line, sizeof(line), "%s twin-engine[%d]: %s\n", ts, (int)getpid(), msg);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line)) {
		n = sizeof(line) - 1;
		line[n - 1] = '\n';
	}
	pthread_mutex_lock(&eng->log_lock);
	/* One write(2) per line on an O_APPEND fd: lines never interleave. */
	if (write(eng->log_fd >= 0 ? eng->log_fd : STDERR_FILENO, line, (size_t)n) < 0) {
		/* Nowhere left to report it. */
	}
	pthread_mutex_unlock(&eng->log_lock);
}

bool engine_log_sampled(unsigned long n)
{
	return n <= 20 || n % 100 == 0;
}

static int log_open(const char *path)
{
	return open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0640);
}

/* SIGUSR1: logrotate moved the file away ("create") or truncated it
 * ("copytruncate"; O_APPEND alone copes with that). */
static void log_reopen(struct engine *eng)
{
	int fd = log_open(eng->cfg.log), old;

	if (fd < 0) {
		engine_log(eng, "cannot reopen the log %s: %s; still writing the old one",
			   eng->cfg.log, strerror(errno));
		return;
	}
	pthread_mutex_lock(&eng->log_lock);
	old = eng->log_fd;
	eng->log_fd = fd;
	pthread_mutex_unlock(&eng->log_lock);
	if (old >= 0)
		close(old);
	engine_log(eng, "log reopened (SIGUSR1)");
}

/* ---- model and commands ----------------------------------------------- */

static void add_model(cJSON *parent, const struct lab_model *m)
{
	cJSON *o = cJSON_AddObjectToObject(parent, "model");

	cJSON_AddStringToObject(o, "name", m->name);
	cJSON_AddNumberToObject(o, "version", (double)m->version);
	cJSON_AddNumberToObject(o, "gain", m->gain);
	cJSON_AddNumberToObject(o, "offset", m->offset);
}

int engine_reload(struct engine *eng, const char *why, char *err, size_t errlen)
{
	struct lab_model m, old;
	int i;

	if (lab_model_load(eng->cfg.model, &m, err, errlen) < 0) {
		pthread_mutex_lock(&eng->lock);
		old = eng->model;
		pthread_mutex_unlock(&eng->lock);
		engine_log(eng, "model reload (%s) failed: %s; keeping %s version %ld", why, err,
			   old.name, old.version);
		return -1;
	}
	pthread_mutex_lock(&eng->lock);
	old = eng->model;
	eng->model = m;
	for (i = 0; i < eng->n_sensors; i++)
		eng->sensors[i].predicted = m.gain * eng->sensors[i].value + m.offset;
	eng->dirty = true;
	pthread_mutex_unlock(&eng->lock);
	engine_log(eng, "model reloaded (%s): %s version %ld -> %s version %ld "
		   "(gain %g offset %g) from %s", why, old.name, old.version, m.name, m.version,
		   m.gain, m.offset, eng->cfg.model);
	return 0;
}

void engine_count_bad(struct engine *eng, unsigned long *counter, const char *what,
		      const char *where, const char *why)
{
	unsigned long n;

	pthread_mutex_lock(&eng->lock);
	n = ++*counter;
	eng->dirty = true;
	pthread_mutex_unlock(&eng->lock);
	if (engine_log_sampled(n))
		engine_log(eng, "%s #%lu from %s: %s", what, n, where, why);
}

static int reply_error(cJSON *reply, int status, const char *msg)
{
	cJSON_AddBoolToObject(reply, "ok", false);
	cJSON_AddStringToObject(reply, "error", msg);
	return status;
}

int engine_command(struct engine *eng, const cJSON *cmd, const char *source, cJSON *reply)
{
	const cJSON *op = cJSON_GetObjectItemCaseSensitive(cmd, "op");
	const cJSON *val = cJSON_GetObjectItemCaseSensitive(cmd, "value");
	char err[LAB_ERR_MAX];
	struct lab_model m;

	if (!cJSON_IsString(op))
		return reply_error(reply, 400, "field 'op' must be \"setpoint\" or \"reload\"");
	if (!strcmp(op->valuestring, "setpoint")) {
		if (!cJSON_IsNumber(val) || !isfinite(val->valuedouble))
			return reply_error(reply, 400, "op setpoint needs a numeric field 'value'");
		pthread_mutex_lock(&eng->lock);
		eng->has_setpoint = true;
		eng->setpoint = val->valuedouble;
		eng->commands++;
		eng->dirty = true;
		pthread_mutex_unlock(&eng->lock);
		engine_log(eng, "setpoint %g accepted from %s", val->valuedouble, source);
		cJSON_AddBoolToObject(reply, "ok", true);
		cJSON_AddStringToObject(reply, "op", "setpoint");
		cJSON_AddNumberToObject(reply, "value", val->valuedouble);
		return 200;
	}
	if (!strcmp(op->valuestring, "reload")) {
		if (engine_reload(eng, source, err, sizeof(err)) < 0)
			return reply_error(reply, 500, err);
		pthread_mutex_lock(&eng->lock);
		eng->commands++;
		m = eng->model;
		pthread_mutex_unlock(&eng->lock);
		cJSON_AddBoolToObject(reply, "ok", true);
		cJSON_AddStringToObject(reply, "op", "reload");
		add_model(reply, &m);
		return 200;
	}
	return reply_error(reply, 400, "field 'op' must be \"setpoint\" or \"reload\"");
}

/* ---- state ------------------------------------------------------------ */

/* Caller holds eng->lock. */
static cJSON *state_json_locked(struct engine *eng)
{
	cJSON *root = cJSON_CreateObject(), *sensors, *s;
	char ts[40];
	int i;

	if (!root)
		return NULL;
	add_model(root, &eng->model);
	if (eng->has_setpoint)
		cJSON_AddNumberToObject(root, "setpoint", eng->setpoint);
	else
		cJSON_AddNullToObject(root, "setpoint");
	sensors = cJSON_AddObjectToObject(root, "sensors");
	for (i = 0; i < eng->n_sensors; i++) {
		s = cJSON_AddObjectToObject(sensors, eng->sensors[i].name);
		cJSON_AddNumberToObject(s, "value", eng->sensors[i].value);
		cJSON_AddNumberToObject(s, "predicted", eng->sensors[i].predicted);
		cJSON_AddNumberToObject(s, "count", (double)eng->sensors[i].count);
		iso_time(ts, sizeof(ts), eng->sensors[i].updated);
		cJSON_AddStringToObject(s, "updated", ts);
	}
	cJSON_AddNumberToObject(root, "readings", (double)eng->readings);
	cJSON_AddNumberToObject(root, "bad_readings", (double)eng->bad_readings);
	cJSON_AddNumberToObject(root, "commands", (double)eng->commands);
	cJSON_AddNumberToObject(root, "rejected", (double)eng->rejected);
	iso_time(ts, sizeof(ts), engine_wall_ms());
	cJSON_AddStringToObject(root, "time", ts);
	return root;
}

cJSON *engine_state_json(struct engine *eng)
{
	cJSON *root;

	pthread_mutex_lock(&eng->lock);
	root = state_json_locked(eng);
	pthread_mutex_unlock(&eng->lock);
	return root;
}

/* Rewrite the state file if something changed, at most once a second
 * unless forced (the last write before exit). */
static void state_flush(struct engine *eng, bool force)
{
	long long now = lab_now_ms();
	char err[LAB_ERR_MAX];
	cJSON *root = NULL;
	char *text = NULL;

	if (!force && now - eng->last_flush_ms < STATE_MIN_INTERVAL_MS)
		return;
	pthread_mutex_lock(&eng->lock);
	if (eng->dirty) {
		root = state_json_locked(eng);
		eng->dirty = false;
	}
	pthread_mutex_unlock(&eng->lock);
	if (!root)
		return;
	eng->last_flush_ms = now;
	text = cJSON_Print(root);
	if (!text || lab_write_atomic(eng->cfg.state, text, strlen(text), 0644, err,
				      sizeof(err)) < 0) {
		engine_log(eng, "state file not written: %s", text ? err : "out of memory");
		pthread_mutex_lock(&eng->lock);
		eng->dirty = true;   /* try again a second later */
		pthread_mutex_unlock(&eng->lock);
	}
	cJSON_free(text);
	cJSON_Delete(root);
}

/* ---- run files and signals -------------------------------------------- */

static int write_pid_file(struct engine *eng, const char *path)
{
	char buf[32], err[LAB_ERR_MAX];

	snprintf(buf, sizeof(buf), "%d\n", (int)getpid());
	if (lab_write_atomic(path, buf, strlen(buf), 0644, err, sizeof(err)) < 0) {
		engine_log(eng, "%s", err);
		fprintf(stderr, "twin-engine: %s (run_dir of %s)\n", err, eng->cfg.path);
		return -1;
	}
	return 0;
}

static void check_ready(struct engine *eng)
{
	if (eng->ready || !engine_mqtt_subscribed(eng))
		return;
	if (write_pid_file(eng, eng->ready_path) < 0) {
		atomic_store(&engine_stop, 1);
		return;
	}
	eng->ready = true;
	engine_log(eng, "ready: both subscriptions acknowledged, API on 127.0.0.1:%d (%s)",
		   eng->cfg.api_port, eng->ready_path);
}

static void on_signal(int sig)
{
	/* SIGPIPE is caught, not ignored: a caught signal is reset by exec, so
	 * the shell /diag starts does not inherit an ignored SIGPIPE. */
	if (sig == SIGTERM || sig == SIGINT)
		atomic_store(&engine_stop, 1);
	else if (sig == SIGHUP)
		atomic_store(&engine_reload_req, 1);
	else if (sig == SIGUSR1)
		atomic_store(&engine_reopen_req, 1);
}

static void signals_install(void)
{
	struct sigaction sa;
	size_t i;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	/* No SA_RESTART: the main loop's poll must wake up. */
	for (i = 0; i < sizeof(handled_signals) / sizeof(handled_signals[0]); i++)
		sigaction(handled_signals[i], &sa, NULL);
}

void engine_signals_block(sigset_t *old)
{
	sigset_t set;
	size_t i;

	sigemptyset(&set);
	for (i = 0; i < sizeof(handled_signals) / sizeof(handled_signals[0]); i++)
		sigaddset(&set, handled_signals[i]);
	pthread_sigmask(SIG_BLOCK, &set, old);
}

void engine_signals_restore(const sigset_t *old)
{
	pthread_sigmask(SIG_SETMASK, old, NULL);
}

/* ---- start, run, stop ------------------------------------------------- */

static int engine_start(struct engine *eng, const char *config)
{
	char err[LAB_ERR_MAX];

	eng->log_fd = -1;
	eng->api_fd = -1;
	pthread_mutex_init(&eng->lock, NULL);
	pthread_mutex_init(&eng->log_lock, NULL);
	if (lab_config_load(config, &eng->cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, "twin-engine: %s\n", err);
		return LAB_EXIT_USAGE;
	}
	eng->log_fd = log_open(eng->cfg.log);
	if (eng->log_fd < 0) {
		fprintf(stderr, "twin-engine: cannot open the log %s (field 'log' of %s): %s\n",
			eng->cfg.log, config, strerror(errno));
		return LAB_EXIT_USAGE;
	}
	if (lab_model_load(eng->cfg.model, &eng->model, err, sizeof(err)) < 0) {
		fprintf(stderr, "twin-engine: %s (field 'model' of %s)\n", err, config);
		engine_log(eng, "cannot start: %s", err);
		return LAB_EXIT_USAGE;
	}
	engine_log(eng, "model loaded: %s version %ld (gain %g offset %g) from %s",
		   eng->model.name, eng->model.version, eng->model.gain, eng->model.offset,
		   eng->cfg.model);
	if (snprintf(eng->ready_path, sizeof(eng->ready_path), "%s/engine.ready",
		     eng->cfg.run_dir) >= (int)sizeof(eng->ready_path) ||
	    snprintf(eng->pid_path, sizeof(eng->pid_path), "%s/engine.pid",
		     eng->cfg.run_dir) >= (int)sizeof(eng->pid_path)) {
		fprintf(stderr, "twin-engine: run_dir too long in %s\n", config);
		return LAB_EXIT_USAGE;
	}
	signals_install();
	if (engine_api_listen(eng, err, sizeof(err)) < 0 || engine_mqtt_start(eng, err,
									      sizeof(err)) < 0) {
		fprintf(stderr, "twin-engine: %s\n", err);
		engine_log(eng, "cannot start: %s", err);
		return LAB_EXIT_FAIL;
	}
	if (write_pid_file(eng, eng->pid_path) < 0)
		return LAB_EXIT_FAIL;
	eng->wrote_pid = true;
	eng->dirty = true;   /* the first tick writes the initial state file */
	engine_log(eng, "started: API 127.0.0.1:%d, broker %s data %d control %d, state %s",
		   eng->cfg.api_port, eng->cfg.broker_host, eng->cfg.data_port,
		   eng->cfg.control_port, eng->cfg.state);
	return LAB_EXIT_OK;
}

static int engine_run(struct engine *eng)
{
	struct pollfd pfd = { .fd = eng->api_fd, .events = POLLIN };
	char err[LAB_ERR_MAX];
	int n;

	/* The service loop: it ends on SIGTERM/SIGINT (or a fatal error). */
	while (!atomic_load(&engine_stop)) {
		n = poll(&pfd, 1, TICK_MS);
		if (n < 0 && errno != EINTR) {
			engine_log(eng, "poll: %s", strerror(errno));
			return LAB_EXIT_FAIL;
		}
		if (n > 0 && (pfd.revents & POLLIN))
			engine_api_accept(eng);
		if (atomic_exchange(&engine_reopen_req, 0))
			log_reopen(eng);
		if (atomic_exchange(&engine_reload_req, 0))
			engine_reload(eng, "SIGHUP", err, sizeof(err));
		engine_mqtt_tick(eng);
		state_flush(eng, false);   /* before the ready file: state exists then */
		check_ready(eng);
	}
	return LAB_EXIT_OK;
}

static void engine_shutdown(struct engine *eng)
{
	int fd;

	engine_mqtt_stop(eng);
	if (eng->api_fd >= 0)
		close(eng->api_fd);
	state_flush(eng, true);
	/* Only what this process wrote: a second engine that failed to start
	 * must not remove the running one's files. */
	if (eng->ready)
		unlink(eng->ready_path);
	if (eng->wrote_pid)
		unlink(eng->pid_path);
	if (eng->log_fd < 0)
		return;
	engine_log(eng, "stopped");
	/* A /diag thread still running logs to stderr from now on. */
	pthread_mutex_lock(&eng->log_lock);
	fd = eng->log_fd;
	eng->log_fd = -1;
	pthread_mutex_unlock(&eng->log_lock);
	close(fd);
}

static int usage(FILE *f, int rc)
{
	fprintf(f, "usage: twin-engine --config FILE\n"
		"  the twin lab's twin service; FILE is the lab config (config/engine.json)\n"
		"  signals: SIGHUP reload the model, SIGUSR1 reopen the log, SIGTERM stop\n");
	return rc;
}

int main(int argc, char **argv)
{
	static struct engine eng;
	const char *config = NULL;
	int rc;

	if (argc == 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")))
		return usage(stdout, LAB_EXIT_OK);
	if (argc != 3 || strcmp(argv[1], "--config"))
		return usage(stderr, LAB_EXIT_USAGE);
	config = argv[2];
	rc = engine_start(&eng, config);
	if (rc == LAB_EXIT_OK)
		rc = engine_run(&eng);
	engine_shutdown(&eng);
	return rc;
}
