// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * integrity_scan: full checks (at start, every integrity_rescan_s, after
 * dropped events or a full queue). The paths are listed once, then fed
 * into the bounded queue as room frees (docs/integrity.md).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "integrity_priv.h"

void ig_rescan_clear(struct tg_integrity *ig)
{
	for (size_t i = ig->rescan_pos; i < ig->n_rescan; i++)
		free(ig->rescan[i]);
	free(ig->rescan);
	ig->rescan = NULL;
	ig->n_rescan = ig->rescan_pos = 0;
}

struct ig_walk {
	struct tg_integrity *ig;
	size_t cap;
};

static int ig_rescan_add(void *ctx, const char *path)
{
	struct ig_walk *w = ctx;
	struct tg_integrity *ig = w->ig;
	char *dup;

	if (ig->n_rescan == w->cap) {
		size_t cap = w->cap ? 2 * w->cap : 256;
		char **v = realloc(ig->rescan, cap * sizeof(*v));

		if (!v)
			return -1;
		ig->rescan = v;
		w->cap = cap;
	}
	dup = strdup(path);
	if (!dup)
		return -1;
	ig->rescan[ig->n_rescan++] = dup;
	return 0;
}

static void ig_walk_warn(void *ctx, const char *path, int err)
{
	(void)ctx;
	fprintf(stderr, "twinguard: integrity: cannot list %s: %s\n", path, strerror(err));
}

/* A file found on disk, unless listed: the listed ones are in already. A
 * path in twice would be hashed (and reported) twice when the queue
 * cannot hold both copies at the same time. */
static int ig_rescan_add_unlisted(void *ctx, const char *path)
{
	struct ig_walk *w = ctx;

	return manifest_find(&w->ig->man, path) ? 0 : ig_rescan_add(ctx, path);
}

/* Every manifest entry (a listed file that is gone shows up as missing),
 * then every other file on disk under the watched dirs. */
void ig_rescan_build(struct tg_integrity *ig, const char *trigger)
{
	struct ig_walk w = { ig, 0 };
	int rc = 0;

	ig_rescan_clear(ig);
	for (size_t i = 0; !rc && i < ig->man.n; i++)
		rc = ig_rescan_add(&w, ig->man.v[i].path);
	if (!rc)
		rc = manifest_walk((const char *const *)ig->model_dirs.v, ig->model_dirs.n,
				   ig_rescan_add_unlisted, &w, ig_walk_warn);
	if (!rc)
		rc = manifest_walk((const char *const *)ig->config_dirs.v, ig->config_dirs.n,
				   ig_rescan_add_unlisted, &w, ig_walk_warn);
	if (rc)
		fprintf(stderr, "twinguard: integrity: out of memory listing files; check incomplete\n");
	ig->rescan_trigger = trigger;
	ig->st.rescans++;
}

void integrity_rescan(struct tg_integrity *ig)
{
	/* one at a time: a rescan asked for during one runs after it */
	if (ig->rescan_pos < ig->n_rescan)
		ig->rescan_again = true;
	else
		ig_rescan_build(ig, "rescan");
}

/* Move rescan paths into the queue while it has room. */
void ig_rescan_feed(struct tg_integrity *ig)
{
	while (ig->rescan_pos < ig->n_rescan && ig->n_pend < ig->o.queue_max) {
		char *path = ig->rescan[ig->rescan_pos];
		struct ig_pending *p = ig_pending_find(ig, path);

		if (!p) {
			p = &ig->pend[ig->n_pend];
			if (!ig_submit(ig, path))
				return; /* job ring full: next poll */
			p->path = path;
			p->trigger = ig->rescan_trigger;
			p->writer = NULL;
			p->again = false;
			ig->n_pend++;
		} else {
			/* its hash may have read the file before the change
			 * this check is for */
			p->again = true;
			free(path);
		}
		ig->rescan[ig->rescan_pos++] = NULL;
	}
	if (ig->rescan_pos == ig->n_rescan && ig->n_rescan) {
		ig_rescan_clear(ig);
		if (ig->rescan_again) {
			ig->rescan_again = false;
			ig_rescan_build(ig, "rescan");
		}
	}
}

