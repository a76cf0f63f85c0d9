// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "detect.h"
#include "diag.h"

/* explicit: the operator named the file, so it must exist. Only a missing
 * default file means the generic twin stack of the shipped defaults. */
static int detect_load_profile(struct tg_detect *d, const char *path, bool explicit,
			       struct tg_diag *diag)
{
	profile_defaults(&d->prof);
	if (!explicit && access(path, F_OK) && errno == ENOENT)
		return 0;
	return profile_load(path, &d->prof, diag);
}

static int detect_load(struct tg_detect *d, const struct tg_detect_paths *paths, struct tg_diag *diag)
{
	struct tg_engine_limits lim = { .max_states = paths->max_states ? paths->max_states :
						      TG_DEFAULT_MAX_STATES };
	char **files = NULL;
	size_t n = 0;
	int err;

	if (detect_load_profile(d, paths->profile ? paths->profile : TG_DEFAULT_PROFILE,
				paths->profile != NULL, diag))
		return -1;
	if (paths->n_files) {
		err = rules_load(&d->rs, paths->files, paths->n_files, &d->prof, diag);
	} else {
		if (rules_default_files(paths->rules_dir ? paths->rules_dir : TG_DEFAULT_RULES_DIR,
					paths->rules_local_dir ? paths->rules_local_dir :
								 TG_DEFAULT_RULES_LOCAL_DIR,
					&files, &n)) {
			diag_error(diag, paths->rules_dir ? paths->rules_dir : TG_DEFAULT_RULES_DIR, 0, 0,
				   NULL, "cannot list rule files: %s; expected a readable directory",
				   strerror(errno));
			return -1;
		}
		err = rules_load(&d->rs, (const char *const *)files, n, &d->prof, diag);
		for (size_t i = 0; i < n; i++)
			free(files[i]);
		free(files);
	}
	if (err)
		return -1;
	d->eng = engine_new(&d->rs, &lim);
	d->view = malloc(sizeof(*d->view));
	if (!d->eng || !d->view) {
		diag_error(diag, NULL, 0, 0, NULL, "out of memory building the rule engine");
		return -1;
	}
	view_init(d->view);
	d->loaded = true;
	return 0;
}

struct tg_detect *detect_new(const struct tg_detect_paths *paths, struct tg_diag *diag)
{
	struct tg_detect *d = calloc(1, sizeof(*d));

	if (!d) {
		diag_error(diag, NULL, 0, 0, NULL, "out of memory building the rule engine");
		return NULL;
	}
	if (detect_load(d, paths, diag)) {
		detect_free(d);
		return NULL;
	}
	return d;
}

void detect_free(struct tg_detect *d)
{
	if (!d)
		return;
	engine_free(d->eng);
	rules_free(&d->rs);
	profile_free(&d->prof);
	free(d->view);
	free(d);
}

void detect_event(struct tg_detect *d, const cJSON *event, uint64_t ts_ns, tg_alert_fn fn, void *ctx)
{
	if (!d->loaded || view_fill(d->view, event, &d->prof))
		return;
	engine_eval(d->eng, d->view, ts_ns, fn, ctx);
}

uint64_t detect_parse_time(const char *ts)
{
	struct tm tm;
	const char *rest;
	uint64_t frac = 0, scale = 1000000000ull;
	time_t sec;

	if (!ts)
		return 0;
	memset(&tm, 0, sizeof(tm));
	rest = strptime(ts, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!rest)
		return 0;
	if (*rest == '.') {
		for (rest++; *rest >= '0' && *rest <= '9'; rest++) {
			if (scale > 1) {
				scale /= 10;
				frac += (uint64_t)(*rest - '0') * scale;
			}
		}
	}
	if (*rest != 'Z')
		return 0;
	sec = timegm(&tm);
	if (sec < 0)
		return 0;
	return (uint64_t)sec * 1000000000ull + frac;
}
