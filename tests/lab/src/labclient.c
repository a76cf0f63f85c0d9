// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * labclient: the network clients the twin lab's programs share (declared in
 * labcommon.h): a one-shot HTTP/1.0 client for the engine's control API and
 * an MQTT connect + QoS 1 publish that waits for the broker's PUBACK. Both
 * talk to loopback only; every socket has a timeout and every wait a
 * deadline, so no client can hang the lab driver.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <mosquitto.h>

#include "labcommon.h"

#define HTTP_REQ_MAX (16 * 1024)
#define HTTP_HDR_ROOM 1024        /* the response's status line and headers */
#define MQTT_KEEPALIVE_S 10
#define MQTT_LOOP_SLICE_MS 100

/* ---- HTTP/1.0 client -------------------------------------------------- */

static int connect_loopback(int port, char *err, size_t errlen)
{
	struct timeval tv = { LAB_IO_TIMEOUT_MS / 1000, (LAB_IO_TIMEOUT_MS % 1000) * 1000 };
	struct sockaddr_in sa = { .sin_family = AF_INET };
	int fd;

	sa.sin_port = htons((unsigned short)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return lab_err(err, errlen, "socket: %s", strerror(errno));
	/* On Linux SO_SNDTIMEO bounds connect() too. */
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		lab_err(err, errlen, "cannot connect to the engine API at 127.0.0.1:%d: %s", port,
			strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* Read until the server closes, the buffer is full or the deadline passed. */
static ssize_t recv_until_close(int fd, char *buf, size_t cap)
{
	long long deadline = lab_now_ms() + LAB_IO_TIMEOUT_MS;
	size_t got = 0;
	ssize_t n;

	while (got < cap && lab_now_ms() < deadline) {
		n = recv(fd, buf + got, cap - got, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

static int http_split(char *raw, int *status, char *resp, size_t cap, char *err, size_t errlen)
{
	char *body;
	size_t blen;

	if (sscanf(raw, "HTTP/1.%*d %d", status) != 1)
		return lab_err(err, errlen, "the engine API sent no HTTP status line");
	body = strstr(raw, "\r\n\r\n");
	body = body ? body + 4 : raw + strlen(raw);
	blen = strlen(body);
	if (blen >= cap)
		blen = cap - 1;
	memcpy(resp, body, blen);
	resp[blen] = '\0';
	return 0;
}

int lab_http(int port, const char *method, const char *path, const char *token,
	     const char *body, int *status, char *resp, size_t cap, char *err, size_t errlen)
{
	size_t blen = body ? strlen(body) : 0, rawcap = LAB_HTTP_RESP_MAX + HTTP_HDR_ROOM;
	char req[HTTP_REQ_MAX], *raw;
	ssize_t got;
	int fd, n, rc = -1;

	if (!cap)
		return lab_err(err, errlen, "no room for the response");
	/* The token becomes a header line: nothing that could end it. */
	for (n = 0; token && token[n]; n++)
		if (token[n] <= ' ' || token[n] > '~')
			return lab_err(err, errlen, "the token may only hold printable ASCII "
				       "without spaces");
	n = snprintf(req, sizeof(req),
		     "%s %s HTTP/1.0\r\nHost: 127.0.0.1:%d\r\n%s%s%sContent-Type: application/json"
		     "\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n%s",
		     method, path, port, token ? "X-Twin-Token: " : "", token ? token : "",
		     token ? "\r\n" : "", blen, body ? body : "");
	if (n < 0 || (size_t)n >= sizeof(req))
		return lab_err(err, errlen, "request larger than %d bytes", HTTP_REQ_MAX);
	raw = malloc(rawcap + 1);
	if (!raw)
		return lab_err(err, errlen, "out of memory");
	fd = connect_loopback(port, err, errlen);
	if (fd < 0)
		goto out;
	if (lab_write_all(fd, req, (size_t)n, true) < 0) {
		lab_err(err, errlen, "sending to 127.0.0.1:%d: %s", port, strerror(errno));
		goto out;
	}
	got = recv_until_close(fd, raw, rawcap);
	if (got <= 0) {
		lab_err(err, errlen, "no response from 127.0.0.1:%d%s%s", port, got < 0 ? ": " : "",
			got < 0 ? strerror(errno) : "");
		goto out;
	}
	raw[got] = '\0';
	rc = http_split(raw, status, resp, cap, err, errlen);
out:
	if (fd >= 0)
		close(fd);
	free(raw);
	return rc;
}

/* ---- MQTT: connect, publish QoS 1 and wait for the PUBACK ------------- */

struct mqtt_wait {
	bool connacked;   /* the CONNACK came; connack is its reason code */
	int connack;
	int mid;          /* the message being waited for */
	bool acked;       /* its PUBACK came */
};

static void on_connect(struct mosquitto *m, void *ud, int rc)
{
	struct mqtt_wait *w = ud;

	(void)m;
	w->connack = rc;
	w->connacked = true;
}

static void on_publish(struct mosquitto *m, void *ud, int mid)
{
	struct mqtt_wait *w = ud;

	(void)m;
	if (mid == w->mid)
		w->acked = true;
}

/* Run the network loop until a callback set *done or timeout_ms passed. */
static int mqtt_run_until(struct mosquitto *m, const bool *done, int timeout_ms, char *err,
			  size_t errlen)
{
	long long deadline = lab_now_ms() + timeout_ms;
	int rc;

	while (!*done) {
		if (lab_now_ms() >= deadline)
			return lab_err(err, errlen, "no answer from the broker within %d ms "
				       "(connect or PUBACK)", timeout_ms);
		rc = mosquitto_loop(m, MQTT_LOOP_SLICE_MS, 1);
		if (rc != MOSQ_ERR_SUCCESS)
			return lab_err(err, errlen, "broker connection: %s", mosquitto_strerror(rc));
	}
	return 0;
}

struct mosquitto *lab_mqtt_open(const char *id_prefix, const char *host, int port,
				char *err, size_t errlen)
{
	struct mqtt_wait *w = calloc(1, sizeof(*w));
	struct mosquitto *m = NULL;
	char id[64];
	int rc;

	if (!w) {
		lab_err(err, errlen, "out of memory");
		return NULL;
	}
	mosquitto_lib_init();
	snprintf(id, sizeof(id), "%s-%d", id_prefix, (int)getpid());
	m = mosquitto_new(id, true, w);
	if (!m) {
		lab_err(err, errlen, "mosquitto_new: %s", strerror(errno));
		goto fail;
	}
	mosquitto_connect_callback_set(m, on_connect);
	mosquitto_publish_callback_set(m, on_publish);
	rc = mosquitto_connect(m, host, port, MQTT_KEEPALIVE_S);
	if (rc != MOSQ_ERR_SUCCESS) {
		lab_err(err, errlen, "cannot connect to the broker at %s:%d: %s", host, port,
			rc == MOSQ_ERR_ERRNO ? strerror(errno) : mosquitto_strerror(rc));
		goto fail;
	}
	if (mqtt_run_until(m, &w->connacked, LAB_IO_TIMEOUT_MS, err, errlen) < 0)
		goto fail;
	if (w->connack != 0) {
		lab_err(err, errlen, "the broker at %s:%d refused the connection: %s", host, port,
			mosquitto_connack_string(w->connack));
		goto fail;
	}
	return m;
fail:
	lab_mqtt_close(m);
	if (!m) {
		free(w);
		mosquitto_lib_cleanup();
	}
	return NULL;
}

int lab_mqtt_publish_wait(struct mosquitto *m, const char *topic, const char *payload,
			  int timeout_ms, char *err, size_t errlen)
{
	struct mqtt_wait *w = mosquitto_userdata(m);
	int rc;

	w->acked = false;
	rc = mosquitto_publish(m, &w->mid, topic, (int)strlen(payload), payload, 1, false);
	if (rc != MOSQ_ERR_SUCCESS)
		return lab_err(err, errlen, "publish to %s: %s", topic, mosquitto_strerror(rc));
	return mqtt_run_until(m, &w->acked, timeout_ms, err, errlen);
}

int lab_mqtt_idle(struct mosquitto *m, int ms, char *err, size_t errlen)
{
	long long deadline = lab_now_ms() + ms;
	long long left;
	int rc;

	while ((left = deadline - lab_now_ms()) > 0) {
		rc = mosquitto_loop(m, left < MQTT_LOOP_SLICE_MS ? (int)left : MQTT_LOOP_SLICE_MS, 1);
		if (rc != MOSQ_ERR_SUCCESS)
			return lab_err(err, errlen, "broker connection: %s", mosquitto_strerror(rc));
	}
	return 0;
}

void lab_mqtt_close(struct mosquitto *m)
{
	if (!m)
		return;
	mosquitto_disconnect(m);
	/* Let the DISCONNECT go out; bounded to a few slices. */
	for (int i = 0; i < 3 && mosquitto_loop(m, MQTT_LOOP_SLICE_MS / 2, 1) == 0; i++)
		;
	free(mosquitto_userdata(m));
	mosquitto_destroy(m);
	mosquitto_lib_cleanup();
}
