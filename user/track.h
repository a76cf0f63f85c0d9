/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* track: process table updates driven by kernel records. */
#ifndef TG_TRACK_H
#define TG_TRACK_H

#include <twinguard/events.h>

struct tg_proctable;

/* Before rendering: exec replaces the image, fork adds the child, any
 * record of an unknown process creates its entry from what /proc still has. */
void track_event(struct tg_proctable *pt, const struct tg_event *ev);
/* The exec part of track_event(). */
void track_exec(struct tg_proctable *pt, const struct tg_event *ev);
/* After rendering: a process exit marks the entry exited (reaped later). */
void track_exit(struct tg_proctable *pt, const struct tg_event *ev);

#endif
