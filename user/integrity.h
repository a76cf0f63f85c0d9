/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * integrity: the agent's model and configuration integrity checker
 * (docs/integrity.md). Events say which watched file may have changed and
 * who did it; one hashing thread re-hashes those files off the event path
 * (bounded queue, bounded read rate, files streamed); the results come
 * back to the agent's loop, are compared with the manifest and become
 * integrity events (event.action integrity-mismatch, -unknown, -missing,
 * -updated) that the rules turn into alerts. Every function except the
 * hashing thread's runs on the agent's thread: no locks around the
 * manifest or the writer table.
 */
#ifndef TG_INTEGRITY_H
#define TG_INTEGRITY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cjson/cJSON.h>
#include <twinguard/events.h>

struct tg_profile;
struct tg_integrity;

struct tg_integrity_opts {
	const char *manifest;          /* path of the manifest */
	const struct tg_profile *prof; /* model_dirs, config_dirs, deployers, auto update */
	unsigned queue_max;            /* files waiting for a hash */
	unsigned rate_mb;              /* MiB/s of reads, 0 = unlimited */
	unsigned rescan_s;             /* full re-check period, 0 = never */
};

struct tg_integrity_stats {
	uint64_t checked;              /* files hashed (or found absent) */
	uint64_t mismatches, unknown, missing, updated;
	uint64_t errors;               /* unreadable files */
	uint64_t overflows;            /* queue full: a full rescan was scheduled */
	uint64_t rescans;
	uint64_t repeats;              /* a difference found again, not reported again */
	size_t queued;                 /* now */
};

/* An integrity event, ready for the rules and the stream; ownership passes. */
typedef void (*tg_integrity_emit_fn)(void *ctx, cJSON *event);

/* NULL with a message in err when the manifest cannot be loaded (a missing
 * manifest sets errno ENOENT) or the thread cannot start. Queues a full
 * check of every watched file. */
struct tg_integrity *integrity_new(const struct tg_integrity_opts *o, char *err, size_t errlen);
void integrity_free(struct tg_integrity *ig);
/* A rendered event and its record: writes, renames, truncates, chmods,
 * chowns, links and unlinks of watched files queue them. */
void integrity_observe(struct tg_integrity *ig, const struct tg_event *ev, const cJSON *j);
/* TG_EV_CLOSE, and a process's exit (its write fds close with it). */
void integrity_close(struct tg_integrity *ig, uint32_t tgid, int32_t fd);
void integrity_exit(struct tg_integrity *ig, uint32_t tgid);
/* Re-check every watched file and manifest entry (events were lost). */
void integrity_rescan(struct tg_integrity *ig);
/* Feed the hashing thread and turn its results into events. */
void integrity_poll(struct tg_integrity *ig, tg_integrity_emit_fn fn, void *ctx);
void integrity_stats(const struct tg_integrity *ig, struct tg_integrity_stats *st);
/* True when path is under a model or config directory of the profile. */
bool integrity_watched(const struct tg_integrity *ig, const char *path);

#endif
