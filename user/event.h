/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* event: safe access to raw records and the paths they name. */
#ifndef TG_EVENT_H
#define TG_EVENT_H

#include <stdbool.h>
#include <stddef.h>
#include <twinguard/events.h>

/* Checks hdr.size, type and every string descriptor against size. */
bool event_valid(const struct tg_event *ev, size_t size);
/* String idx, or NULL when absent. Only valid after event_valid(). */
const char *event_str(const struct tg_event *ev, int idx);
/* Bytes of string idx (argv holds NULs), 0 when absent. */
size_t event_str_len(const struct tg_event *ev, int idx);
/* Short name of the type: "exec", "open", ... ("unknown" otherwise). */
const char *event_type_name(unsigned type);
/* TG_CLASS_* of the type, 0 when unknown. */
unsigned event_class(unsigned type);
/*
 * The absolute path a file event's string idx (0 or 2) refers to: the
 * kernel's own path when TG_F_PATH_RESOLVED, else base + raw string resolved
 * like the kernel would (symlinks and ".." in the directory part). The last
 * component is followed only for calls that follow it (chmod, chown,
 * truncate, open). Returns 0, or -1 when the event has no such path.
 */
int event_path(const struct tg_event *ev, int idx, char *out, size_t len);

#endif
