// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * engine_mqtt: twin-engine's two MQTT links, one client per broker listener.
 *
 *   data     data_port     sensors/#    {"sensor":"flow","value":12.5}
 *   control  control_port  twin/cmd/#   {"token":"...","op":"setpoint","value":42}
 *
 * Each link runs in libmosquitto's own network thread (mosquitto_loop_start)
 * once its first connect succeeded (until then the main loop retries every
 * second, engine_mqtt_tick); that thread reconnects after a loss (1 s,
 * backing off to 5 s) and, through on_connect, subscribes again. The
 * callbacks run in those threads and touch the engine only under its lock. Bad input is counted and logged
 * sampled (engine_log_sampled), so a flood cannot fill the disk.
 */
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <mosquitto.h>

#include "twin-engine.h"

#define MQTT_KEEPALIVE_S 30
#define RECONNECT_MIN_S 1
#define RECONNECT_MAX_S 5
#define STR(x) #x
#define XSTR(x) STR(x)

/* ---- data plane: sensor readings -------------------------------------- */

static void reading_bad(struct engine *eng, const char *topic, const char *why)
{
	engine_count_bad(eng, &eng->bad_readings, "bad reading", topic, why);
}

static void command_rejected(struct engine *eng, const char *source, const char *why)
{
	engine_count_bad(eng, &eng->rejected, "command rejected", source, why);
}

/* Caller holds eng->lock. NULL when the table is full. */
static struct sensor *sensor_slot(struct engine *eng, const char *name, bool *created)
{
	struct sensor *s;
	int i;

	*created = false;
	for (i = 0; i < eng->n_sensors; i++)
		if (!strcmp(eng->sensors[i].name, name))
			return &eng->sensors[i];
	if (eng->n_sensors == ENGINE_MAX_SENSORS)
		return NULL;
	s = &eng->sensors[eng->n_sensors++];
	memset(s, 0, sizeof(*s));
	strcpy(s->name, name);   /* lab_sensor_name_ok bounded its length */
	*created = true;
	return s;
}

static void record_reading(struct engine *eng, const char *topic, const char *name, double value)
{
	struct sensor *s;
	bool created;

	pthread_mutex_lock(&eng->lock);
	s = sensor_slot(eng, name, &created);
	if (s) {
		s->value = value;
		s->predicted = eng->model.gain * value + eng->model.offset;
		s->count++;
		s->updated = engine_wall_ms();
		eng->readings++;
		eng->dirty = true;
	}
	pthread_mutex_unlock(&eng->lock);
	if (!s)
		reading_bad(eng, topic,
			    "sensor table full (" XSTR(ENGINE_MAX_SENSORS) " sensors), reading dropped");
	else if (created)
		engine_log(eng, "new sensor '%s' on %s", name, topic);
}

/* The payload as a JSON object, or NULL with *why set. */
static cJSON *payload_object(const char *payload, int len, const char **why)
{
	cJSON *root;

	if (len <= 0 || len > ENGINE_MSG_MAX) {
		*why = "payload empty or larger than " XSTR(ENGINE_MSG_MAX) " bytes";
		return NULL;
	}
	root = cJSON_ParseWithLength(payload, (size_t)len);
	if (cJSON_IsObject(root))
		return root;
	cJSON_Delete(root);
	*why = "not a JSON object";
	return NULL;
}

static void on_reading(struct engine *eng, const char *topic, const char *payload, int len)
{
	const cJSON *name, *val;
	const char *why = NULL;
	cJSON *root;

	root = payload_object(payload, len, &why);
	name = cJSON_GetObjectItemCaseSensitive(root, "sensor");
	val = cJSON_GetObjectItemCaseSensitive(root, "value");
	if (root && (!cJSON_IsString(name) || !lab_sensor_name_ok(name->valuestring)))
		why = "field 'sensor' must be 1..31 characters of [A-Za-z0-9_.-]";
	else if (root && (!cJSON_IsNumber(val) || !isfinite(val->valuedouble)))
		why = "field 'value' must be a number";
	if (why)
		reading_bad(eng, topic, why);
	else
		record_reading(eng, topic, name->valuestring, val->valuedouble);
	cJSON_Delete(root);
}

/* ---- control plane: commands ------------------------------------------ */

static void on_command(struct engine *eng, const char *topic, const char *payload, int len)
{
	const cJSON *token, *error;
	const char *why = NULL;
	cJSON *root, *reply;
	char source[192];
	int status;

	snprintf(source, sizeof(source), "mqtt %s", topic);
	root = payload_object(payload, len, &why);
	token = cJSON_GetObjectItemCaseSensitive(root, "token");
	if (!root) {
		command_rejected(eng, source, why);
	} else if (!cJSON_IsString(token) || !lab_token_ok(token->valuestring, eng->cfg.token)) {
		command_rejected(eng, source, "bad or missing token");
	} else if ((reply = cJSON_CreateObject()) != NULL) {
		status = engine_command(eng, root, source, reply);
		error = cJSON_GetObjectItemCaseSensitive(reply, "error");
		if (status != 200)
			engine_log(eng, "command on %s failed: %s", topic,
				   cJSON_IsString(error) ? error->valuestring : "?");
		cJSON_Delete(reply);
	}
	cJSON_Delete(root);
}

/* ---- libmosquitto callbacks (network threads) ------------------------- */

static void on_connect(struct mosquitto *m, void *ud, int rc)
{
	struct mqtt_link *l = ud;
	int src;

	if (rc != 0) {
		engine_log(l->eng, "mqtt %s: the broker refused the connection: %s", l->name,
			   mosquitto_connack_string(rc));
		return;
	}
	/* libmosquitto does not open its socket O_CLOEXEC; the shell that
	 * /diag starts must not inherit the broker connection. */
	fcntl(mosquitto_socket(m), F_SETFD, FD_CLOEXEC);
	src = mosquitto_subscribe(m, &l->sub_mid, l->topic, 1);
	if (src != MOSQ_ERR_SUCCESS)
		engine_log(l->eng, "mqtt %s: subscribe %s: %s", l->name, l->topic,
			   mosquitto_strerror(src));
	else
		engine_log(l->eng, "mqtt %s: connected to %s:%d, subscribing %s", l->name,
			   l->eng->cfg.broker_host, l->port, l->topic);
}

static void on_subscribe(struct mosquitto *m, void *ud, int mid, int n, const int *granted)
{
	struct mqtt_link *l = ud;

	(void)m;
	if (mid != l->sub_mid)
		return;
	if (n < 1 || granted[0] < 0 || granted[0] > 2) {
		engine_log(l->eng, "mqtt %s: the broker refused the subscription %s", l->name,
			   l->topic);
		return;
	}
	atomic_store(&l->subscribed, true);
	engine_log(l->eng, "mqtt %s: subscribed %s (QoS %d)", l->name, l->topic, granted[0]);
}

static void on_disconnect(struct mosquitto *m, void *ud, int rc)
{
	struct mqtt_link *l = ud;

	(void)m;
	atomic_store(&l->subscribed, false);
	if (rc != 0)
		engine_log(l->eng, "mqtt %s: connection lost (%s), reconnecting", l->name,
			   mosquitto_strerror(rc));
}

static void on_message(struct mosquitto *m, void *ud, const struct mosquitto_message *msg)
{
	struct mqtt_link *l = ud;

	(void)m;
	l->on_payload(l->eng, msg->topic, msg->payload, msg->payloadlen);
}

/* ---- start and stop --------------------------------------------------- */

static int link_init(struct engine *eng, struct mqtt_link *l, char *err, size_t errlen)
{
	char id[64];

	snprintf(id, sizeof(id), "twin-engine-%s-%d", l->name, (int)getpid());
	l->eng = eng;
	l->m = mosquitto_new(id, true, l);
	if (!l->m)
		return lab_err(err, errlen, "mqtt %s: cannot create a client", l->name);
	mosquitto_connect_callback_set(l->m, on_connect);
	mosquitto_subscribe_callback_set(l->m, on_subscribe);
	mosquitto_disconnect_callback_set(l->m, on_disconnect);
	mosquitto_message_callback_set(l->m, on_message);
	mosquitto_reconnect_delay_set(l->m, RECONNECT_MIN_S, RECONNECT_MAX_S, true);
	return 0;
}

/* Until the first connect succeeds, the main loop calls this every tick; it
 * tries once a second. libmosquitto's network thread only reconnects a
 * client that was connected once, so it starts after that first connect
 * and handles every later loss itself. */
static void link_try(struct mqtt_link *l)
{
	struct engine *eng = l->eng;
	long long now = lab_now_ms();
	sigset_t old;
	int rc;

	if (l->started || now < l->next_try_ms)
		return;
	l->next_try_ms = now + RECONNECT_MIN_S * 1000;
	rc = mosquitto_connect_async(l->m, eng->cfg.broker_host, l->port, MQTT_KEEPALIVE_S);
	if (rc != MOSQ_ERR_SUCCESS) {
		if (engine_log_sampled(++l->failed_tries))
			engine_log(eng, "mqtt %s: broker %s:%d not reachable (%s), try %lu, retrying "
				   "every second", l->name, eng->cfg.broker_host, l->port,
				   rc == MOSQ_ERR_ERRNO ? "connection refused or unreachable"
							: mosquitto_strerror(rc), l->failed_tries);
		return;
	}
	/* The network thread inherits a mask without the engine's signals. */
	engine_signals_block(&old);
	rc = mosquitto_loop_start(l->m);
	engine_signals_restore(&old);
	if (rc != MOSQ_ERR_SUCCESS) {
		engine_log(eng, "mqtt %s: cannot start the network thread: %s", l->name,
			   mosquitto_strerror(rc));
		mosquitto_disconnect(l->m);
		return;
	}
	l->started = true;
}

int engine_mqtt_start(struct engine *eng, char *err, size_t errlen)
{
	eng->data = (struct mqtt_link){ .name = "data", .topic = "sensors/#",
					.port = eng->cfg.data_port, .on_payload = on_reading };
	eng->control = (struct mqtt_link){ .name = "control", .topic = "twin/cmd/#",
					   .port = eng->cfg.control_port,
					   .on_payload = on_command };
	mosquitto_lib_init();
	if (link_init(eng, &eng->data, err, errlen) < 0 ||
	    link_init(eng, &eng->control, err, errlen) < 0)
		return -1;
	engine_mqtt_tick(eng);
	return 0;
}

void engine_mqtt_tick(struct engine *eng)
{
	link_try(&eng->data);
	link_try(&eng->control);
}

bool engine_mqtt_subscribed(struct engine *eng)
{
	return atomic_load(&eng->data.subscribed) && atomic_load(&eng->control.subscribed);
}

void engine_mqtt_stop(struct engine *eng)
{
	struct mqtt_link *links[] = { &eng->data, &eng->control };
	size_t i;

	if (!eng->data.name)
		return;   /* never started */
	for (i = 0; i < 2; i++) {
		if (!links[i]->m)
			continue;
		mosquitto_disconnect(links[i]->m);
		if (links[i]->started)
			mosquitto_loop_stop(links[i]->m, false);
		mosquitto_destroy(links[i]->m);
		links[i]->m = NULL;
	}
	mosquitto_lib_cleanup();
}
