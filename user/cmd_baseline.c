// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * `twinguard baseline`: record, update or check the integrity manifest of
 * the twin's model and configuration files (docs/integrity.md).
 *
 *   baseline                 hash every file, write a new manifest
 *   baseline --update FILE.. re-hash these files into the manifest (after
 *                            an approved deployment); gone files leave it
 *   baseline --update        re-hash everything into the existing manifest
 *   baseline --check         compare only; exit 1 on any difference
 *
 * The profile and manifest come from the same places as for `run`:
 * --profile/--manifest, else the config's keys, else the defaults.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd_baseline.h"
#include "config.h"
#include "diag.h"
#include "manifest.h"
#include "preflight.h"
#include "profile.h"

#define DEFAULT_CONFIG "/etc/twinguard/twinguard.conf"

enum bl_mode { BL_CREATE, BL_UPDATE, BL_CHECK };

struct bl_ctx {
	struct tg_profile prof;
	struct tg_manifest old, now;
	enum bl_mode mode;
	const char *manifest;
	char *manifest_owned;     /* the config's, copied */
	unsigned long errors, differ;
	uint64_t bytes;
};

static void bl_usage(FILE *f)
{
	fprintf(f,
		"Usage: twinguard baseline [--update [FILE...] | --check] [OPTIONS]\n"
		"Records the SHA-256 of every file in the twin profile's model and config\n"
		"directories into the integrity manifest (JSON, mode 0600).\n"
		"  -u, --update       re-hash FILEs (or everything) into the existing manifest\n"
		"  -k, --check        compare the files with the manifest; write nothing\n"
		"  -c, --config FILE  configuration (default " DEFAULT_CONFIG "; absent = defaults)\n"
		"  -p, --profile FILE twin profile (overrides the config)\n"
		"  -m, --manifest FILE  manifest (overrides the config; default " TG_DEFAULT_MANIFEST ")\n"
		"Exit codes: 0 ok, 1 differences (--check) or unreadable files, 2 bad\n"
		"config/profile/manifest, 64 usage.\n");
}

static bool bl_watched(const struct tg_profile *p, const char *path)
{
	return profile_under_dirs(&p->model_dirs, path) || profile_under_dirs(&p->config_dirs, path);
}

static void bl_report(struct bl_ctx *c, const char *what, const char *path)
{
	c->differ++;
	printf("%-8s %s\n", what, path);
}

/* One file: hash it into c->now; with --check compare with c->old. */
static int bl_file(void *ctx, const char *path)
{
	struct bl_ctx *c = ctx;
	struct tg_hash_result h;
	struct tg_manifest_entry *m;

	manifest_hash_file(path, NULL, &h);
	if (h.status == TG_HASH_ERROR) {
		fprintf(stderr, "twinguard: baseline: cannot read %s: %s\n", path, strerror(h.err));
		c->errors++;
		return 0;
	}
	if (h.status != TG_HASH_OK) {
		if (c->mode == BL_UPDATE && manifest_remove(&c->now, path))
			printf("removed  %s\n", path);
		return 0;
	}
	c->bytes += h.size;
	if (c->mode == BL_CHECK) {
		m = manifest_find(&c->old, path);
		if (!m)
			bl_report(c, "unknown", path);
		else if (memcmp(m->sha256, h.sha256, TG_SHA256_LEN) || m->size != h.size ||
			 m->mode != h.mode)
			bl_report(c, "mismatch", path);
		return manifest_set(&c->now, path, &h);
	}
	return manifest_set(&c->now, path, &h);
}

static int bl_walk(struct bl_ctx *c)
{
	const struct tg_strs *sets[] = { &c->prof.model_dirs, &c->prof.config_dirs };

	for (size_t k = 0; k < 2; k++)
		if (manifest_walk((const char *const *)sets[k]->v, sets[k]->n, bl_file, c, NULL))
			return -1;
	return 0;
}

/* --update FILE...: each must be inside a watched directory. */
static int bl_update_files(struct bl_ctx *c, int argc, char **argv)
{
	for (int i = 0; i < argc; i++) {
		char abs[PATH_MAX];

		if (!realpath(argv[i], abs) && snprintf(abs, sizeof(abs), "%s", argv[i]) < 0)
			return -1;
		if (abs[0] != '/' || !bl_watched(&c->prof, abs)) {
			fprintf(stderr, "twinguard: baseline: %s is not in a model or config directory "
				"of the profile; expected a file under model_dirs or config_dirs\n", argv[i]);
			return -1;
		}
		if (bl_file(c, abs))
			return -1;
	}
	return 0;
}

static int bl_load_inputs(struct bl_ctx *c, const char *config, const char *profile)
{
	struct tg_config cfg;
	struct tg_diag diag;
	char err[512];
	int rc = 0;

	config_defaults(&cfg);
	if (access(config, F_OK) == 0 && config_load(config, &cfg, err, sizeof(err))) {
		fprintf(stderr, "twinguard: baseline: %s\n", err);
		config_free(&cfg);
		return -1;
	}
	if (!profile)
		profile = cfg.profile ? cfg.profile : TG_PROFILE_DEFAULT_PATH;
	if (!c->manifest)
		c->manifest = cfg.manifest ? (c->manifest_owned = strdup(cfg.manifest)) : TG_DEFAULT_MANIFEST;
	if (!c->manifest)
		rc = -1;
	profile_defaults(&c->prof);
	diag_init(&diag);
	if (access(profile, F_OK) == 0 || strcmp(profile, TG_PROFILE_DEFAULT_PATH))
		rc = profile_load(profile, &c->prof, &diag);
	diag_print(&diag, stderr);
	diag_free(&diag);
	config_free(&cfg);
	return rc;
}

static int bl_finish(struct bl_ctx *c)
{
	char err[512];

	if (c->mode == BL_CHECK) {
		for (size_t i = 0; i < c->old.n; i++)
			if (!manifest_find(&c->now, c->old.v[i].path))
				bl_report(c, "missing", c->old.v[i].path);
		printf("baseline: %zu files checked against %s: %lu differences\n", c->now.n,
		       c->manifest, c->differ);
		return c->differ || c->errors ? 1 : 0;
	}
	if (!c->now.profile && c->prof.name)
		c->now.profile = strdup(c->prof.name);
	if (manifest_save(&c->now, c->manifest, err, sizeof(err))) {
		fprintf(stderr, "twinguard: baseline: cannot write the manifest: %s\n", err);
		return 1;
	}
	printf("baseline: %zu files (%llu bytes) recorded in %s\n", c->now.n,
	       (unsigned long long)c->bytes, c->manifest);
	return c->errors ? 1 : 0;
}

static int bl_run(struct bl_ctx *c, int argc, char **argv)
{
	char err[512];

	if (c->mode != BL_CREATE && manifest_load(&c->old, c->manifest, err, sizeof(err))) {
		fprintf(stderr, "twinguard: baseline: %s%s\n", err,
			errno == ENOENT ? "; create it first with 'twinguard baseline'" : "");
		return TG_EXIT_CONFIG;
	}
	if (c->mode == BL_UPDATE) {
		/* start from the manifest as it is, then re-hash */
		for (size_t i = 0; i < c->old.n; i++) {
			struct tg_hash_result h = { .size = c->old.v[i].size, .mode = c->old.v[i].mode };

			memcpy(h.sha256, c->old.v[i].sha256, TG_SHA256_LEN);
			if (manifest_set(&c->now, c->old.v[i].path, &h))
				return TG_EXIT_FAIL;
		}
		if (argc ? bl_update_files(c, argc, argv) : bl_walk(c))
			return argc ? TG_EXIT_CONFIG : TG_EXIT_FAIL;
		if (!argc)
			for (size_t i = 0; i < c->old.n; i++)
				if (access(c->old.v[i].path, F_OK) && manifest_remove(&c->now, c->old.v[i].path))
					printf("removed  %s\n", c->old.v[i].path);
	} else if (bl_walk(c)) {
		fprintf(stderr, "twinguard: baseline: out of memory\n");
		return TG_EXIT_FAIL;
	}
	return bl_finish(c);
}

int cmd_baseline(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "update", no_argument, NULL, 'u' }, { "check", no_argument, NULL, 'k' },
		{ "config", required_argument, NULL, 'c' }, { "profile", required_argument, NULL, 'p' },
		{ "manifest", required_argument, NULL, 'm' }, { "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *config = DEFAULT_CONFIG, *profile = NULL;
	struct bl_ctx c = { .mode = BL_CREATE };
	int opt, rc;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "ukc:p:m:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'u': c.mode = BL_UPDATE; break;
		case 'k': c.mode = BL_CHECK; break;
		case 'c': config = optarg; break;
		case 'p': profile = optarg; break;
		case 'm': c.manifest = optarg; break;
		case 'h': bl_usage(stdout); return TG_EXIT_OK;
		default: bl_usage(stderr); return TG_EXIT_USAGE;
		}
	}
	if (optind < argc && c.mode != BL_UPDATE) {
		fprintf(stderr, "twinguard: baseline: unexpected argument '%s' (files go with --update)\n",
			argv[optind]);
		bl_usage(stderr);
		return TG_EXIT_USAGE;
	}
	manifest_init(&c.old);
	manifest_init(&c.now);
	rc = bl_load_inputs(&c, config, profile) ? TG_EXIT_CONFIG :
	     bl_run(&c, argc - optind, argv + optind);
	manifest_free(&c.old);
	manifest_free(&c.now);
	profile_free(&c.prof);
	free(c.manifest_owned);
	return rc;
}
