// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * twin-gateway: the twin lab's approved ingest writer, the sensor gateway
 * that feeds the twin its readings (the twin profile's "ingest_writers").
 *
 *   twin-gateway --config FILE --count N [--interval-ms M] [--sensor NAME]
 *
 * Connects to the broker's data listener (broker_host:data_port of the lab
 * config), publishes N readings {"sensor":NAME,"value":V,"seq":I} to
 * sensors/NAME with QoS 1, waiting for the broker's PUBACK of each, M ms
 * apart (default 100), then disconnects. The values are a deterministic saw
 * tooth around 12.5, so two runs publish the same series.
 *
 * Exit: 0 all readings acknowledged, 1 broker failure, 2 bad usage/config.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "labcommon.h"

#define MAX_COUNT 1000000L
#define MAX_INTERVAL_MS 60000L
#define PUBACK_TIMEOUT_MS 5000

struct gateway_args {
	const char *config;
	long count;
	long interval_ms;
	const char *sensor;
};

static int usage(FILE *f, int rc)
{
	fprintf(f, "usage: twin-gateway --config FILE --count N [--interval-ms M] [--sensor NAME]\n"
		"  publish N readings (QoS 1, each acknowledged) to sensors/NAME on the data\n"
		"  listener, M ms apart (default 100); NAME defaults to \"flow\"\n");
	return rc;
}

static int parse_args(int argc, char **argv, struct gateway_args *a)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "count", required_argument, NULL, 'n' },
		{ "interval-ms", required_argument, NULL, 'i' },
		{ "sensor", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *bad = NULL;
	int c;

	*a = (struct gateway_args){ .count = -1, .interval_ms = 100, .sensor = "flow" };
	while (!bad && (c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (c == 'c')
			a->config = optarg;
		else if (c == 'n' && lab_parse_long(optarg, 1, MAX_COUNT, &a->count) < 0)
			bad = "--count must be a whole number 1..1000000";
		else if (c == 'i' && lab_parse_long(optarg, 0, MAX_INTERVAL_MS, &a->interval_ms) < 0)
			bad = "--interval-ms must be a whole number 0..60000";
		else if (c == 's')
			a->sensor = optarg;
		else if (c == 'h')
			exit(usage(stdout, LAB_EXIT_OK));
		else if (c == '?')
			return usage(stderr, -1);
	}
	if (!bad && !lab_sensor_name_ok(a->sensor))
		bad = "--sensor must be 1..31 characters of [A-Za-z0-9_.-]";
	if (bad) {
		fprintf(stderr, "twin-gateway: %s\n", bad);
		return -1;
	}
	if (optind != argc || !a->config || a->count < 0)
		return usage(stderr, -1);
	return 0;
}

static char *reading_json(const char *sensor, long seq)
{
	cJSON *o = cJSON_CreateObject();
	char *text;

	cJSON_AddStringToObject(o, "sensor", sensor);
	cJSON_AddNumberToObject(o, "value", 12.5 + (double)(seq % 10) * 0.25);
	cJSON_AddNumberToObject(o, "seq", (double)seq);
	text = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return text;
}

static int publish_all(struct mosquitto *m, const struct gateway_args *a, const char *topic,
		       char *err, size_t errlen)
{
	char *payload;
	long i;
	int rc;

	for (i = 0; i < a->count; i++) {
		if (i > 0 && a->interval_ms > 0 &&
		    lab_mqtt_idle(m, (int)a->interval_ms, err, errlen) < 0)
			return -1;
		payload = reading_json(a->sensor, i);
		if (!payload)
			return lab_err(err, errlen, "out of memory");
		rc = lab_mqtt_publish_wait(m, topic, payload, PUBACK_TIMEOUT_MS, err, errlen);
		cJSON_free(payload);
		if (rc < 0)
			return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	char err[LAB_ERR_MAX], topic[64];
	struct gateway_args a;
	struct lab_config cfg;
	struct mosquitto *m;
	int rc;

	if (parse_args(argc, argv, &a) < 0)
		return LAB_EXIT_USAGE;
	if (lab_config_load(a.config, &cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, "twin-gateway: %s\n", err);
		return LAB_EXIT_USAGE;
	}
	snprintf(topic, sizeof(topic), "sensors/%s", a.sensor);
	m = lab_mqtt_open("twin-gateway", cfg.broker_host, cfg.data_port, err, sizeof(err));
	if (!m) {
		fprintf(stderr, "twin-gateway: %s\n", err);
		return LAB_EXIT_FAIL;
	}
	rc = publish_all(m, &a, topic, err, sizeof(err));
	lab_mqtt_close(m);
	if (rc < 0) {
		fprintf(stderr, "twin-gateway: %s\n", err);
		return LAB_EXIT_FAIL;
	}
	printf("twin-gateway: published %ld readings to %s on %s:%d, all acknowledged\n", a.count,
	       topic, cfg.broker_host, cfg.data_port);
	return LAB_EXIT_OK;
}
