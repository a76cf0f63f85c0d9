// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * twin-engine internals, shared by its three files:
 *   twin-engine.c   start-up, signals, the main loop, model, state, log
 *   engine_mqtt.c   the data-plane and control-plane MQTT subscriptions
 *   engine_api.c    the HTTP/1.0 control API, with the planted /diag bug
 *
 * Threads: the main thread runs the API and the periodic work; libmosquitto
 * runs one network thread per MQTT link (mosquitto_loop_start), and each
 * /diag request runs in a short detached thread. Everything in struct engine
 * between `lock` and `log_lock` is guarded by `lock`; the log fd by
 * `log_lock`. Lock order: lock, then log_lock (engine_log may be called with
 * `lock` held, never the other way round).
 */
#ifndef TWIN_ENGINE_H
#define TWIN_ENGINE_H

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>

#include <cjson/cJSON.h>

#include "labcommon.h"

#define ENGINE_MAX_SENSORS 64
#define ENGINE_SENSOR_NAME_MAX LAB_SENSOR_NAME_MAX
#define ENGINE_MSG_MAX 4096          /* largest MQTT payload looked at */

struct sensor {
	char name[ENGINE_SENSOR_NAME_MAX];
	double value;
	double predicted;            /* model gain * value + offset */
	unsigned long count;
	long long updated;           /* wall clock, ms since the epoch */
};

struct mosquitto;

struct mqtt_link {
	struct engine *eng;
	const char *name;            /* "data" or "control", for the log */
	const char *topic;           /* the subscription */
	int port;
	struct mosquitto *m;
	int sub_mid;
	atomic_bool subscribed;
	bool started;                /* main thread: network thread running */
	long long next_try_ms;       /* main thread: next connect attempt */
	unsigned long failed_tries;
	void (*on_payload)(struct engine *eng, const char *topic, const char *payload, int len);
};

struct engine {
	struct lab_config cfg;

	pthread_mutex_t lock;
	struct lab_model model;
	struct sensor sensors[ENGINE_MAX_SENSORS];
	int n_sensors;
	bool has_setpoint;
	double setpoint;
	unsigned long readings, bad_readings, commands, rejected;
	bool dirty;                  /* state changed since the last state file */

	pthread_mutex_t log_lock;
	int log_fd;

	/* Main thread only. */
	int api_fd;
	struct mqtt_link data, control;
	char ready_path[PATH_MAX];
	char pid_path[PATH_MAX];
	bool wrote_pid;
	bool ready;
	long long last_flush_ms;

	atomic_int diag_running;     /* /diag threads in flight */
};

/* Set by signal handlers, read by the main loop. */
extern atomic_int engine_stop, engine_reload_req, engine_reopen_req;

long long engine_wall_ms(void);   /* ms since the epoch */
void engine_log(struct engine *eng, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* True for the first few and then every 100th occurrence: bounds the log
 * when a client floods bad input. */
bool engine_log_sampled(unsigned long n);

/* Count bad input in *counter (eng->bad_readings, eng->rejected) and log it
 * sampled: "<what> #N from <where>: <why>". */
void engine_count_bad(struct engine *eng, unsigned long *counter, const char *what,
		      const char *where, const char *why);
/* Reload the model file; on failure the old model stays. Returns 0 or -1
 * with err set. `why` names the trigger for the log. */
int engine_reload(struct engine *eng, const char *why, char *err, size_t errlen);
/* Execute a command object {"op":"setpoint","value":N} or {"op":"reload"}
 * already authorised by the caller. Fills reply, returns an HTTP status. */
int engine_command(struct engine *eng, const cJSON *cmd, const char *source, cJSON *reply);
/* The state document (GET /state and data/state.json). */
cJSON *engine_state_json(struct engine *eng);

/* engine_mqtt.c */
int engine_mqtt_start(struct engine *eng, char *err, size_t errlen);
/* Main loop, every tick: connect the links not connected yet. */
void engine_mqtt_tick(struct engine *eng);
bool engine_mqtt_subscribed(struct engine *eng);
void engine_mqtt_stop(struct engine *eng);

/* engine_api.c */
int engine_api_listen(struct engine *eng, char *err, size_t errlen);
void engine_api_accept(struct engine *eng);

/* Block the engine's signals around thread creation, so that only the main
 * thread takes them (its poll then wakes with EINTR). */
void engine_signals_block(sigset_t *old);
void engine_signals_restore(const sigset_t *old);

#endif
