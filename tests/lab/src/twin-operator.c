// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * twin-operator: the twin lab's approved operator client (the twin
 * profile's "clients"), the legitimate user of the engine's control plane.
 *
 *   twin-operator --config FILE [--token TOKEN] setpoint VALUE
 *   twin-operator --config FILE [--token TOKEN] reload
 *   twin-operator --config FILE state
 *   twin-operator --config FILE [--token TOKEN] mqtt-setpoint VALUE
 *
 * setpoint/reload: POST /cmd on 127.0.0.1:api_port with X-Twin-Token;
 * state: GET /state; each prints the response body. mqtt-setpoint publishes
 * {"token","op":"setpoint","value"} to twin/cmd/setpoint on the control
 * listener with QoS 1 and waits for the broker's PUBACK (which says the
 * broker took it, not that the engine accepted it: see the engine log or
 * GET /state). --token overrides the config's token, so that tests can
 * present a wrong one.
 *
 * Exit: 0 HTTP 2xx (or PUBACK), 1 any other HTTP status or a connection
 * failure, 2 bad usage/config.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "labcommon.h"

#define PUBACK_TIMEOUT_MS 5000
#define CMD_TOPIC "twin/cmd/setpoint"

struct operator_args {
	const char *config;
	const char *token;           /* NULL: the config's */
	const char *cmd;
	double value;
};

static int usage(FILE *f, int rc)
{
	fprintf(f, "usage: twin-operator --config FILE [--token TOKEN] COMMAND\n"
		"  setpoint VALUE        POST /cmd {\"op\":\"setpoint\",\"value\":VALUE}\n"
		"  reload                POST /cmd {\"op\":\"reload\"}\n"
		"  state                 GET /state\n"
		"  mqtt-setpoint VALUE   publish the setpoint command to " CMD_TOPIC "\n");
	return rc;
}

static int parse_args(int argc, char **argv, struct operator_args *a)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "token", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	bool needs_value;
	int c;

	memset(a, 0, sizeof(*a));
	/* "+": options end at the command. */
	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		if (c == 'c')
			a->config = optarg;
		else if (c == 't')
			a->token = optarg;
		else if (c == 'h')
			exit(usage(stdout, LAB_EXIT_OK));
		else
			return usage(stderr, -1);
	}
	if (!a->config || optind >= argc)
		return usage(stderr, -1);
	a->cmd = argv[optind++];
	needs_value = !strcmp(a->cmd, "setpoint") || !strcmp(a->cmd, "mqtt-setpoint");
	if (!needs_value && strcmp(a->cmd, "reload") && strcmp(a->cmd, "state"))
		return usage(stderr, -1);
	if (optind + (needs_value ? 1 : 0) != argc)
		return usage(stderr, -1);
	if (needs_value && lab_parse_double(argv[optind], &a->value) < 0) {
		fprintf(stderr, "twin-operator: VALUE must be a finite number, not \"%s\"\n",
			argv[optind]);
		return -1;
	}
	return 0;
}

/* The command object. token: the MQTT form carries it, HTTP sends NULL
 * (the token goes in the X-Twin-Token header there). */
static char *command_json(const struct operator_args *a, const char *token)
{
	bool setpoint = strstr(a->cmd, "setpoint") != NULL;
	cJSON *o = cJSON_CreateObject();
	char *text;

	if (token)
		cJSON_AddStringToObject(o, "token", token);
	cJSON_AddStringToObject(o, "op", setpoint ? "setpoint" : "reload");
	if (setpoint)
		cJSON_AddNumberToObject(o, "value", a->value);
	text = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return text;
}

static int run_http(const struct operator_args *a, const struct lab_config *cfg,
		    const char *token)
{
	char resp[LAB_HTTP_RESP_MAX], err[LAB_ERR_MAX];
	bool state = !strcmp(a->cmd, "state");
	char *body = state ? NULL : command_json(a, NULL);
	int status = 0, rc;

	if (!state && !body) {
		fprintf(stderr, "twin-operator: out of memory\n");
		return LAB_EXIT_FAIL;
	}
	rc = lab_http(cfg->api_port, state ? "GET" : "POST", state ? "/state" : "/cmd",
		      state ? NULL : token, body, &status, resp, sizeof(resp), err, sizeof(err));
	cJSON_free(body);
	if (rc < 0) {
		fprintf(stderr, "twin-operator: %s\n", err);
		return LAB_EXIT_FAIL;
	}
	fputs(resp, stdout);
	if (status >= 200 && status <= 299)
		return LAB_EXIT_OK;
	fprintf(stderr, "twin-operator: %s: HTTP %d\n", a->cmd, status);
	return LAB_EXIT_FAIL;
}

static int run_mqtt(const struct operator_args *a, const struct lab_config *cfg,
		    const char *token)
{
	char err[LAB_ERR_MAX], *payload;
	struct mosquitto *m;
	int rc;

	payload = command_json(a, token);
	if (!payload) {
		fprintf(stderr, "twin-operator: out of memory\n");
		return LAB_EXIT_FAIL;
	}
	m = lab_mqtt_open("twin-operator", cfg->broker_host, cfg->control_port, err, sizeof(err));
	rc = m ? lab_mqtt_publish_wait(m, CMD_TOPIC, payload, PUBACK_TIMEOUT_MS, err, sizeof(err))
	       : -1;
	lab_mqtt_close(m);
	cJSON_free(payload);
	if (rc < 0) {
		fprintf(stderr, "twin-operator: %s\n", err);
		return LAB_EXIT_FAIL;
	}
	printf("twin-operator: published setpoint %g to %s on %s:%d, acknowledged by the broker\n",
	       a->value, CMD_TOPIC, cfg->broker_host, cfg->control_port);
	return LAB_EXIT_OK;
}

int main(int argc, char **argv)
{
	struct operator_args a;
	struct lab_config cfg;
	char err[LAB_ERR_MAX];
	const char *token;

	if (parse_args(argc, argv, &a) < 0)
		return LAB_EXIT_USAGE;
	if (lab_config_load(a.config, &cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, "twin-operator: %s\n", err);
		return LAB_EXIT_USAGE;
	}
	token = a.token ? a.token : cfg.token;
	if (!strcmp(a.cmd, "mqtt-setpoint"))
		return run_mqtt(&a, &cfg, token);
	return run_http(&a, &cfg, token);
}
