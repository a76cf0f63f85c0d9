/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * spool: the on-disk queue of one reliable sink (folder-private).
 *
 *   SPOOL_DIR/NAME/
 *     00000000000000000001.spool   JSON lines, oldest segment first
 *     00000000000000000002.spool   appended to; a new one past 4 MiB
 *     cursor                       "SEGMENT OFFSET\n": the first record
 *                                  not yet acknowledged (temp + rename)
 *
 * Records are read from the cursor, sent, and only on the collector's
 * acknowledgement does the cursor move (spool_ack), so an agent restart
 * resumes exactly after the last acknowledged record. A line without its
 * '\n' (a crash mid-append) is cut off when the spool is opened. Past
 * max_bytes the oldest segment is deleted and its records counted.
 */
#ifndef TG_DELIVER_SPOOL_H
#define TG_DELIVER_SPOOL_H

#include <stddef.h>
#include <stdint.h>

#include "deliver/record.h"

struct tg_spool;

struct tg_spool_stats {
	uint64_t pending;      /* records not yet acknowledged */
	uint64_t bytes;        /* on disk */
	uint64_t dropped;      /* removed at the cap, or unreadable */
	uint64_t errors;       /* failed writes */
};

/* NULL with err set when the directory cannot be created or read. */
struct tg_spool *spool_open(const char *dir, uint64_t max_bytes, char *err, size_t errlen);
/* Append in order; returns how many were written (fewer: disk full). */
size_t spool_append(struct tg_spool *sp, struct tg_record *const *recs, size_t n);
/* Up to max records from the cursor on (not consumed); *out gets new refs. */
size_t spool_peek(struct tg_spool *sp, struct tg_record **out, size_t max);
/* The first n peeked records were acknowledged: move the cursor. */
int spool_ack(struct tg_spool *sp, size_t n);
uint64_t spool_pending(const struct tg_spool *sp);
void spool_stats(const struct tg_spool *sp, struct tg_spool_stats *st);
void spool_close(struct tg_spool *sp);

#endif
