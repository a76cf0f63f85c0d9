/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * integrity_priv: the checker's state, shared by user/integrity.c (events,
 * results, life cycle) and user/integrity_scan.c (full checks). See the top
 * of integrity.c for the tables.
 */
#ifndef TG_INTEGRITY_PRIV_H
#define TG_INTEGRITY_PRIV_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cjson/cJSON.h>

#include "integrity.h"
#include "manifest.h"
#include "profile.h"

#define IG_FDS_MAX 4096
#define IG_SEEN_MAX 1024

/* The last difference reported for a path: the same state found again by
 * another event (a truncate, then the close) is not reported twice. */
struct ig_seen {
	char *path;
	int verdict;
	struct tg_hash_result h;
};

struct ig_fd {
	uint32_t tgid;
	int32_t fd;
	char *path;
	cJSON *writer;            /* {"process": ..., "user": ...} */
};

struct ig_pending {
	char *path;
	const char *trigger;
	cJSON *writer;            /* NULL: no known writer (start, rescan) */
	bool again;               /* changed again while being hashed */
};

struct ig_result {
	char *path;
	struct tg_hash_result h;
};

struct ig_ring {
	void **v;
	size_t cap, head, n;
};

struct tg_integrity {
	struct tg_manifest man;
	char *manifest_path;
	/* copied from the profile: a reload may free it while this runs on */
	struct tg_strs model_dirs, config_dirs, deployers;
	bool auto_update;
	struct tg_integrity_opts o;
	char hostname[256];
	struct ig_fd *fds;
	size_t n_fds;
	struct ig_pending *pend;
	size_t n_pend;
	char **rescan;            /* paths still to feed */
	size_t n_rescan, rescan_pos;
	const char *rescan_trigger;
	bool rescan_again;
	uint64_t next_rescan_ns;
	/* shared with the hashing thread */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct ig_ring jobs, results;
	bool stop, thread_ok;
	pthread_t thread;
	struct tg_throttle th;
	struct tg_integrity_stats st;
	struct ig_seen seen[IG_SEEN_MAX];
	size_t n_seen;
};

/* integrity.c */
struct ig_pending *ig_pending_find(struct tg_integrity *ig, const char *path);
bool ig_submit(struct tg_integrity *ig, const char *path);
/* integrity_scan.c */
void ig_rescan_build(struct tg_integrity *ig, const char *trigger);
void ig_rescan_feed(struct tg_integrity *ig);
void ig_rescan_clear(struct tg_integrity *ig);

#endif
