/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * A scratch directory per test for the unit tests that touch files
 * (test_manifest.c, test_integrity.c). Criterion runs each test in its own
 * process, so the globals here are per test. tmp_root is canonical
 * (realpath), since /tmp itself may be a symlink and the code under test
 * compares resolved paths.
 */
#ifndef TG_TEST_TMPDIR_H
#define TG_TEST_TMPDIR_H

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char tmp_root[PATH_MAX];

static inline void tmp_setup(void)
{
	char tmpl[] = "/tmp/tg-unit-XXXXXX";

	cr_assert_not_null(mkdtemp(tmpl));
	cr_assert_not_null(realpath(tmpl, tmp_root));
}

static inline int tmp_rm_entry(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)flag;
	(void)f;
	return remove(p);
}

static inline void tmp_teardown(void)
{
	if (tmp_root[0])
		nftw(tmp_root, tmp_rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* "<tmp_root>/<rel>" in one of four rotating buffers. */
static inline const char *tmp_path(const char *rel)
{
	static char buf[4][PATH_MAX];
	static unsigned n;
	char *b = buf[n++ % 4];
	int len = snprintf(b, PATH_MAX, "%s/%s", tmp_root, rel);

	cr_assert(len > 0 && len < PATH_MAX, "path too long: %s", rel);
	return b;
}

static inline void tmp_mkdir(const char *rel)
{
	cr_assert_eq(mkdir(tmp_path(rel), 0755), 0, "mkdir %s: %s", rel, strerror(errno));
}

/* Writes len bytes of data to <tmp_root>/<rel> (created 0644 or truncated). */
static inline void tmp_write_n(const char *rel, const void *data, size_t len)
{
	const char *p = tmp_path(rel);
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	cr_assert_geq(fd, 0, "open %s: %s", p, strerror(errno));
	cr_assert_eq(write(fd, data, len), (ssize_t)len, "write %s", p);
	cr_assert_eq(close(fd), 0);
}

static inline void tmp_write(const char *rel, const char *text)
{
	tmp_write_n(rel, text, strlen(text));
}

/* The whole file, NUL-terminated; the caller frees it. */
static inline char *tmp_read(const char *path)
{
	FILE *f = fopen(path, "re");
	char *buf = NULL;
	size_t cap = 0, n = 0, got;

	cr_assert_not_null(f, "open %s: %s", path, strerror(errno));
	do {
		if (n + 4096 + 1 > cap) {
			cap = cap ? 2 * cap : 8192;
			buf = realloc(buf, cap);
			cr_assert_not_null(buf);
		}
		got = fread(buf + n, 1, cap - n - 1, f);
		n += got;
	} while (got);
	fclose(f);
	buf[n] = '\0';
	return buf;
}

#endif
