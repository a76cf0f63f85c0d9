// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * twin-deploy: the twin lab's approved model deployer (the twin profile's
 * "deployers"), the one legitimate writer of the models directory.
 *
 *   twin-deploy --config FILE --from SRC [--name NAME] [--no-reload]
 *
 * Checks that SRC is a valid model ({"name","version","gain","offset"}),
 * installs it the safe way: write <models>/.<NAME>.tmp.<pid>, fsync, chmod
 * 0644, rename over <models>/<NAME>, fsync the directory (<models> is the
 * directory of the config's "model", NAME defaults to its file name); then,
 * unless --no-reload, asks the engine to load it: POST /cmd {"op":"reload"}
 * with the token on 127.0.0.1:api_port. It prints each step.
 *
 * Exit: 0 installed (and reloaded), 1 the write or the reload failed (the
 * message says which; a failed reload leaves the new file installed), 2 bad
 * usage or config, or SRC is not a valid model (nothing installed).
 */
#include <getopt.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "labcommon.h"

#define NAME_LEN_MAX 128

struct deploy_args {
	const char *config;
	const char *from;
	const char *name;            /* NULL: the file name of the config's model */
	bool reload;
};

static int usage(FILE *f, int rc)
{
	fprintf(f, "usage: twin-deploy --config FILE --from SRC [--name NAME] [--no-reload]\n"
		"  install model SRC as <models>/NAME (temp file, fsync, chmod 0644, rename),\n"
		"  then have the engine reload it; NAME defaults to the config's model file name\n");
	return rc;
}

static int parse_args(int argc, char **argv, struct deploy_args *a)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "from", required_argument, NULL, 'f' },
		{ "name", required_argument, NULL, 'n' },
		{ "no-reload", no_argument, NULL, 'R' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	*a = (struct deploy_args){ .reload = true };
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (c == 'c')
			a->config = optarg;
		else if (c == 'f')
			a->from = optarg;
		else if (c == 'n')
			a->name = optarg;
		else if (c == 'R')
			a->reload = false;
		else if (c == 'h')
			exit(usage(stdout, LAB_EXIT_OK));
		else
			return usage(stderr, -1);
	}
	if (optind != argc || !a->config || !a->from)
		return usage(stderr, -1);
	return 0;
}

/* A plain file name: no directory part, not hidden (temp files are). */
static bool name_ok(const char *name)
{
	return name[0] && name[0] != '.' && !strchr(name, '/') && strlen(name) <= NAME_LEN_MAX;
}

/* Read SRC and check that it is a model. The caller frees the bytes. */
static char *read_model(const char *src, size_t *len, struct lab_model *m, char *err,
			size_t errlen)
{
	char *data = lab_read_file(src, LAB_MODEL_MAX_BYTES, len, err, errlen);
	cJSON *root = data ? lab_json_parse(data, *len, src, err, errlen) : NULL;

	if (!root || lab_model_from_json(root, src, m, err, errlen) < 0) {
		free(data);
		data = NULL;
	}
	cJSON_Delete(root);
	return data;
}

static int reload(const struct lab_config *cfg, char *err, size_t errlen)
{
	char resp[LAB_HTTP_RESP_MAX], *body;
	cJSON *cmd = cJSON_CreateObject();
	int status = 0, rc;

	cJSON_AddStringToObject(cmd, "op", "reload");
	body = cJSON_PrintUnformatted(cmd);
	cJSON_Delete(cmd);
	if (!body)
		return lab_err(err, errlen, "out of memory");
	rc = lab_http(cfg->api_port, "POST", "/cmd", cfg->token, body, &status, resp, sizeof(resp),
		      err, errlen);
	cJSON_free(body);
	if (rc < 0)
		return -1;
	if (status < 200 || status > 299)
		return lab_err(err, errlen, "the engine refused the reload: HTTP %d: %s", status,
			       resp);
	printf("twin-deploy: engine reloaded: %s", resp);
	return 0;
}

int main(int argc, char **argv)
{
	char err[LAB_ERR_MAX], dir[PATH_MAX], base[PATH_MAX], dest[PATH_MAX];
	struct deploy_args a;
	struct lab_config cfg;
	struct lab_model m;
	const char *name;
	size_t len;
	char *data;
	int rc;

	if (parse_args(argc, argv, &a) < 0)
		return LAB_EXIT_USAGE;
	if (lab_config_load(a.config, &cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, "twin-deploy: %s\n", err);
		return LAB_EXIT_USAGE;
	}
	strcpy(dir, cfg.model);
	strcpy(base, cfg.model);
	name = a.name ? a.name : basename(base);
	if (!name_ok(name)) {
		fprintf(stderr, "twin-deploy: --name must be a plain file name (no '/', not starting "
			"with '.', at most %d bytes), not \"%s\"\n", NAME_LEN_MAX, name);
		return LAB_EXIT_USAGE;
	}
	if (snprintf(dest, sizeof(dest), "%s/%s", dirname(dir), name) >= (int)sizeof(dest)) {
		fprintf(stderr, "twin-deploy: destination path too long\n");
		return LAB_EXIT_USAGE;
	}
	data = read_model(a.from, &len, &m, err, sizeof(err));
	if (!data) {
		fprintf(stderr, "twin-deploy: not a model, nothing installed: %s\n", err);
		return LAB_EXIT_USAGE;
	}
	/* The bytes go in as given; only their meaning was checked. */
	rc = lab_write_atomic(dest, data, len, 0644, err, sizeof(err));
	free(data);
	if (rc < 0) {
		fprintf(stderr, "twin-deploy: not installed: %s\n", err);
		return LAB_EXIT_FAIL;
	}
	printf("twin-deploy: installed %s as %s (model %s version %ld)\n", a.from, dest, m.name,
	       m.version);
	if (!a.reload)
		return LAB_EXIT_OK;
	if (strcmp(dest, cfg.model))
		printf("twin-deploy: note: the engine loads %s, not %s\n", cfg.model, dest);
	if (reload(&cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, "twin-deploy: installed, but the reload failed: %s\n", err);
		return LAB_EXIT_FAIL;
	}
	return LAB_EXIT_OK;
}
