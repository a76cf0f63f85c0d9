/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* path: turn what a syscall was given into the absolute path it used. */
#ifndef TG_PATH_H
#define TG_PATH_H

#include <stdbool.h>
#include <stddef.h>

/* Lexical: collapse "//", drop ".", apply ".." (never above "/").
 * in must be absolute. Returns 0, or -1 (ENAMETOOLONG / EINVAL). */
int path_normalize(const char *in, char *out, size_t outlen);
/* rel absolute: normalize(rel); else normalize(base + "/" + rel). */
int path_join(const char *base, const char *rel, char *out, size_t outlen);
/* Kernel-like resolution of an absolute path on this host: the parent
 * directory is resolved through symlinks and ".." with realpath(); the last
 * component is followed only when follow_last and it exists. Falls back to
 * the lexical form when the parent no longer exists. Returns 0 or -1. */
int path_resolve(const char *path, bool follow_last, char *out, size_t outlen);
/* True when path equals prefix or lies below it ("/etc" matches "/etc/x"). */
bool path_has_prefix(const char *path, const char *prefix);

#endif
