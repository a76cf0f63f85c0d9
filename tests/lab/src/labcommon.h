// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * labcommon: what the twin lab's four programs share. The lab is a small but
 * real twin platform (twin-engine, twin-gateway, twin-deploy, twin-operator
 * around a Mosquitto broker) that the lab driver attacks while the twinguard
 * agent watches; see the header of each program for its role.
 *
 * Here: the lab config file (config/engine.json), bounded JSON file loading,
 * the model file format, the atomic "temp file + rename" write
 * (labcommon.c); a one-shot HTTP/1.0 client for the engine's control API
 * and a QoS 1 MQTT publish that waits for the broker's acknowledgement
 * (labclient.c). Everything talks to loopback only.
 */
#ifndef TWIN_LAB_COMMON_H
#define TWIN_LAB_COMMON_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

struct mosquitto;

#define LAB_HOST_MAX 64
#define LAB_TOKEN_MAX 128
#define LAB_NAME_MAX 64
#define LAB_ERR_MAX 512
#define LAB_IO_TIMEOUT_MS 2000          /* client sockets: connect, read, write */
#define LAB_CONFIG_MAX_BYTES (64 * 1024)
#define LAB_MODEL_MAX_BYTES (64 * 1024)
#define LAB_HTTP_RESP_MAX (64 * 1024)   /* the largest response a client keeps */

/* Exit codes of every lab program. */
#define LAB_EXIT_OK 0
#define LAB_EXIT_FAIL 1   /* runtime failure, or the engine said no */
#define LAB_EXIT_USAGE 2  /* bad command line or config */

/* config/engine.json. Ports and broker_host have defaults; token, model,
 * state and log are required. run_dir defaults to <config dir>/../run. */
struct lab_config {
	char path[PATH_MAX];              /* the file it came from, for messages */
	char broker_host[LAB_HOST_MAX];
	int data_port;
	int control_port;
	int api_port;
	char token[LAB_TOKEN_MAX];
	char model[PATH_MAX];
	char state[PATH_MAX];
	char log[PATH_MAX];
	char run_dir[PATH_MAX];
};

/* A model file: {"name":"pump-7","version":N,"gain":1.02,"offset":0.5}. */
struct lab_model {
	char name[LAB_NAME_MAX];
	long version;
	double gain;
	double offset;
};

/* Loaders return 0, or -1 with a message naming the file and field in err. */
int lab_config_load(const char *path, struct lab_config *cfg, char *err, size_t errlen);
cJSON *lab_json_load(const char *path, size_t max_bytes, char *err, size_t errlen);
/* Parse buf (NUL terminated at len) as a JSON object; path only names it in
 * messages. */
cJSON *lab_json_parse(const char *buf, size_t len, const char *path, char *err, size_t errlen);
int lab_model_from_json(const cJSON *root, const char *path, struct lab_model *m,
			char *err, size_t errlen);
int lab_model_load(const char *path, struct lab_model *m, char *err, size_t errlen);

/* Read a whole regular file of at most max_bytes into a malloc'd, NUL
 * terminated buffer. */
char *lab_read_file(const char *path, size_t max_bytes, size_t *len, char *err, size_t errlen);

/* Write data to <dir of path>/.<name>.tmp.<pid>, fsync, chmod mode, rename
 * over path, fsync the directory. The temp file is removed on failure. */
int lab_write_atomic(const char *path, const void *data, size_t len, unsigned mode,
		     char *err, size_t errlen);

/* Write all of data: send(MSG_NOSIGNAL) on a socket (sock), else write().
 * -1 with errno on failure or a socket timeout. */
int lab_write_all(int fd, const void *data, size_t len, bool sock);

/* Constant-time comparison of a presented token with the configured one. */
bool lab_token_ok(const char *presented, const char *expected);

/* A sensor name: 1..31 characters of [A-Za-z0-9_.-]. */
#define LAB_SENSOR_NAME_MAX 32
bool lab_sensor_name_ok(const char *s);

/* Parse a finite number (a setpoint on the command line). */
int lab_parse_double(const char *s, double *out);
int lab_parse_long(const char *s, long min, long max, long *out);

/* ---- labclient.c ---- */

/* One HTTP/1.0 request to 127.0.0.1:port. token (may be NULL) is sent as
 * X-Twin-Token, body (may be NULL) as application/json. On success *status
 * is the HTTP status and resp holds the body (NUL terminated, cut at cap). */
int lab_http(int port, const char *method, const char *path, const char *token,
	     const char *body, int *status, char *resp, size_t cap, char *err, size_t errlen);

/* MQTT client connected to host:port (blocking connect, bounded by the
 * keepalive), or NULL with err set. Close with lab_mqtt_close. */
struct mosquitto *lab_mqtt_open(const char *id_prefix, const char *host, int port,
				char *err, size_t errlen);
/* Publish QoS 1 and run the network loop until the broker acknowledged it
 * (PUBACK) or timeout_ms passed. */
int lab_mqtt_publish_wait(struct mosquitto *m, const char *topic, const char *payload,
			  int timeout_ms, char *err, size_t errlen);
/* Keep the connection serviced for ms milliseconds (a pause between
 * publishes that may outlast the keepalive). */
int lab_mqtt_idle(struct mosquitto *m, int ms, char *err, size_t errlen);
void lab_mqtt_close(struct mosquitto *m);

/* Milliseconds on CLOCK_MONOTONIC. */
long long lab_now_ms(void);

/* snprintf into err; returns -1 so callers can `return lab_err(...)`. */
int lab_err(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
