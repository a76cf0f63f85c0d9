// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * path: turn what a syscall was given into the absolute path it used.
 *
 * Lexical normalisation walks the components backwards: a ".." seen from the
 * right simply skips the next real component to its left, and skips left
 * over at the start are dropped (".." never climbs above "/"). Walking
 * backwards means the exact result length is known before a byte is
 * written, so a path that only fits after its ".." are applied still fits,
 * and nothing is ever written past outlen.
 */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "path.h"

/* Moves *end left over the previous component of s[0..*end) and returns its
 * start; *clen gets its length, 0 when no component is left. */
static size_t prev_component(const char *s, size_t *end, size_t *clen)
{
	size_t e = *end, b;

	while (e > 0 && s[e - 1] == '/')
		e--;
	b = e;
	while (b > 0 && s[b - 1] != '/')
		b--;
	*clen = e - b;
	*end = b;
	return b;
}

/*
 * Walks s backwards. *skip carries pending ".." between segments. When out is
 * NULL it only adds the kept bytes ("/" + name each) to *pos; otherwise it
 * writes each kept component so that it ends at *pos and moves *pos left.
 */
static void walk_segment(const char *s, size_t *skip, char *out, size_t *pos)
{
	size_t end = s ? strlen(s) : 0, start, clen;

	for (;;) {
		start = prev_component(s, &end, &clen);
		if (clen == 0)
			return;
		if (clen == 1 && s[start] == '.')
			continue;
		if (clen == 2 && s[start] == '.' && s[start + 1] == '.') {
			(*skip)++;
			continue;
		}
		if (*skip > 0) {
			(*skip)--;
			continue;
		}
		if (!out) {
			*pos += clen + 1;
			continue;
		}
		*pos -= clen;
		memcpy(out + *pos, s + start, clen);
		out[--*pos] = '/';
	}
}

/* Normalises the path a + "/" + b (a may be NULL). The caller has checked
 * that the first non-NULL segment is absolute and that out overlaps neither. */
static int normalize_pair(const char *a, const char *b, char *out,
			  size_t outlen)
{
	size_t skip = 0, total = 0, pos;

	walk_segment(b, &skip, NULL, &total);
	walk_segment(a, &skip, NULL, &total);
	if (total == 0)
		total = 1; /* just "/" */
	if (total >= outlen) {
		errno = ENAMETOOLONG;
		return -1;
	}
	out[total] = '\0';
	out[0] = '/';
	pos = total;
	skip = 0;
	walk_segment(b, &skip, out, &pos);
	walk_segment(a, &skip, out, &pos);
	return 0;
}

static bool overlaps(const char *s, const char *out, size_t outlen)
{
	uintptr_t s0, s1, o0, o1;

	if (!s)
		return false;
	s0 = (uintptr_t)s;
	s1 = s0 + strlen(s) + 1;
	o0 = (uintptr_t)out;
	o1 = o0 + outlen;
	return s0 < o1 && o0 < s1;
}

/* Callers may pass the same buffer as input and output (normalising in
 * place is natural); the backwards writer would clobber unread input, so
 * work from a copy then. */
static int normalize_checked(const char *a, const char *b, char *out,
			     size_t outlen)
{
	char *ca = NULL, *cb = NULL;
	int err, saved;

	if (overlaps(a, out, outlen) && !(a = ca = strdup(a)))
		return -1;
	if (overlaps(b, out, outlen) && !(b = cb = strdup(b))) {
		free(ca);
		return -1;
	}
	err = normalize_pair(a, b, out, outlen);
	saved = errno;
	free(ca);
	free(cb);
	errno = saved;
	return err;
}

int path_normalize(const char *in, char *out, size_t outlen)
{
	if (!in || !out || in[0] != '/') {
		errno = EINVAL;
		return -1;
	}
	return normalize_checked(NULL, in, out, outlen);
}

int path_join(const char *base, const char *rel, char *out, size_t outlen)
{
	if (!rel || !out) {
		errno = EINVAL;
		return -1;
	}
	if (rel[0] == '/')
		return normalize_checked(NULL, rel, out, outlen);
	if (!base || base[0] != '/') {
		errno = EINVAL;
		return -1;
	}
	return normalize_checked(base, rel, out, outlen);
}

bool path_has_prefix(const char *path, const char *prefix)
{
	size_t n;

	if (!path || !prefix || !prefix[0])
		return false;
	n = strlen(prefix);
	while (n > 0 && prefix[n - 1] == '/')
		n--;
	if (n == 0)
		return true; /* "/" (or "//") covers every path */
	if (strncmp(path, prefix, n) != 0)
		return false;
	return path[n] == '\0' || path[n] == '/';
}

static int copy_out(const char *s, char *out, size_t outlen)
{
	size_t n = strlen(s);

	if (n >= outlen) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(out, s, n + 1);
	return 0;
}

/*
 * The parent is gone (or unreadable): find the deepest ancestor of p that
 * still resolves, canonicalise it, and append the rest lexically. "/" always
 * resolves, so this only fails when the result does not fit.
 */
static int resolve_walk_up(char *p, char *out, size_t outlen)
{
	char real[PATH_MAX];
	const char *rest;
	size_t k = strlen(p);
	bool ok;

	while (k > 0) {
		while (k > 0 && p[k - 1] != '/')
			k--;
		if (k == 0)
			break;
		k--; /* p[k] is the slash ending this ancestor */
		p[k] = '\0';
		ok = realpath(k ? p : "/", real) != NULL;
		p[k] = '/';
		if (ok)
			break;
	}
	if (k == 0 && !realpath("/", real))
		return -1;
	rest = p + k;
	while (*rest == '/')
		rest++;
	return path_join(real, rest, out, outlen);
}

static bool is_dot_or_dotdot(const char *name)
{
	return strcmp(name, ".") == 0 || strcmp(name, "..") == 0;
}

int path_resolve(const char *path, bool follow_last, char *out, size_t outlen)
{
	char p[PATH_MAX], real[PATH_MAX];
	char *slash, *last;
	size_t n;

	if (!path || !out || path[0] != '/') {
		errno = EINVAL;
		return -1;
	}
	n = strlen(path);
	if (n >= sizeof(p)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(p, path, n + 1);
	/* The kernel follows a final symlink when the path ends in "/". */
	if (n > 1 && p[n - 1] == '/')
		follow_last = true;
	while (n > 1 && p[n - 1] == '/')
		p[--n] = '\0';
	slash = strrchr(p, '/');
	last = slash + 1;
	/* "." and ".." are walks, not names: resolve the whole path. */
	if (n == 1 || is_dot_or_dotdot(last))
		follow_last = true;
	if (follow_last && realpath(p, real))
		return copy_out(real, out, outlen);
	if (n == 1 || is_dot_or_dotdot(last))
		return resolve_walk_up(p, out, outlen);

	*slash = '\0';
	if (!realpath(slash == p ? "/" : p, real)) {
		*slash = '/';
		return resolve_walk_up(p, out, outlen);
	}
	return path_join(real, last, out, outlen);
}
