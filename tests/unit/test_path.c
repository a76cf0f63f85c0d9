// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Unit tests for user/path.c: lexical rules, and resolution against a real
 * temporary tree with a symlinked directory. No root needed. */
#include <criterion/criterion.h>
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "path.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

struct norm_case {
	const char *in;
	const char *want;
};

static const struct norm_case norm_cases[] = {
	{ "/", "/" },
	{ "//", "/" },
	{ "///", "/" },
	{ "/a", "/a" },
	{ "/a/", "/a" },
	{ "///a", "/a" },
	{ "/a//b///c", "/a/b/c" },
	{ "/a/./b/../c//d/", "/a/c/d" },
	{ "/.", "/" },
	{ "/./", "/" },
	{ "/..", "/" },
	{ "/../", "/" },
	{ "/../a", "/a" },
	{ "/../../a/b", "/a/b" },
	{ "/a/..", "/" },
	{ "/a/.", "/a" },
	{ "/a/b/../../..", "/" },
	{ "/a/b/../../../c", "/c" },
	{ "/a/b/c/../../d", "/a/d" },
	{ "/a/b/./../c/./", "/a/c" },
	{ "/a/b/c/../..", "/a" },
	{ "/...", "/..." },
	{ "/a/.../b", "/a/.../b" },
	{ "/.a/..b/", "/.a/..b" },
	{ "/a./b..", "/a./b.." },
	{ "/etc/passwd", "/etc/passwd" },
	{ "/proc/self/../1/exe", "/proc/1/exe" },
};

Test(path_normalize, table)
{
	char out[PATH_MAX];

	for (size_t i = 0; i < ARRAY_SIZE(norm_cases); i++) {
		const struct norm_case *c = &norm_cases[i];

		memset(out, 'X', sizeof(out));
		cr_assert_eq(path_normalize(c->in, out, sizeof(out)), 0,
			     "normalize(\"%s\") failed: %s", c->in,
			     strerror(errno));
		cr_expect_str_eq(out, c->want, "normalize(\"%s\") = \"%s\", want \"%s\"",
				 c->in, out, c->want);
	}
}

Test(path_normalize, rejects_relative_and_null)
{
	char out[64];

	errno = 0;
	cr_expect_eq(path_normalize("a/b", out, sizeof(out)), -1);
	cr_expect_eq(errno, EINVAL);
	errno = 0;
	cr_expect_eq(path_normalize("", out, sizeof(out)), -1);
	cr_expect_eq(errno, EINVAL);
	errno = 0;
	cr_expect_eq(path_normalize(NULL, out, sizeof(out)), -1);
	cr_expect_eq(errno, EINVAL);
	errno = 0;
	cr_expect_eq(path_normalize("/a", NULL, 10), -1);
	cr_expect_eq(errno, EINVAL);
}

/* Exact-size heap buffers let ASan catch a single byte written past outlen. */
static int normalize_into_exact(const char *in, size_t outlen, char **res)
{
	char *buf = malloc(outlen ? outlen : 1);
	int err;

	cr_assert_not_null(buf);
	err = path_normalize(in, buf, outlen);
	*res = buf;
	return err;
}

Test(path_normalize, bounds)
{
	char *res;

	cr_expect_eq(normalize_into_exact("/abc", 5, &res), 0);
	cr_expect_str_eq(res, "/abc");
	free(res);

	errno = 0;
	cr_expect_eq(normalize_into_exact("/abc", 4, &res), -1);
	cr_expect_eq(errno, ENAMETOOLONG);
	free(res);

	cr_expect_eq(normalize_into_exact("/", 2, &res), 0);
	cr_expect_str_eq(res, "/");
	free(res);

	errno = 0;
	cr_expect_eq(normalize_into_exact("/", 1, &res), -1);
	cr_expect_eq(errno, ENAMETOOLONG);
	free(res);

	errno = 0;
	cr_expect_eq(normalize_into_exact("/", 0, &res), -1);
	cr_expect_eq(errno, ENAMETOOLONG);
	free(res);

	/* Only the normalised length counts: "/a/./b//" becomes "/a/b". */
	cr_expect_eq(normalize_into_exact("/a/./b//", 5, &res), 0);
	cr_expect_str_eq(res, "/a/b");
	free(res);
}

Test(path_normalize, long_paths)
{
	size_t n = 3 * PATH_MAX;
	char *in = malloc(n + 8), out[PATH_MAX];

	cr_assert_not_null(in);
	in[0] = '/';
	memset(in + 1, 'a', n - 1);
	in[n] = '\0';

	errno = 0;
	cr_expect_eq(path_normalize(in, out, sizeof(out)), -1);
	cr_expect_eq(errno, ENAMETOOLONG);

	/* Too long as written, fits once ".." is applied. */
	strcpy(in + n, "/..");
	cr_expect_eq(path_normalize(in, out, sizeof(out)), 0);
	cr_expect_str_eq(out, "/");

	/* Many short components, each needing its own slash. */
	for (size_t i = 0; i < n; i += 2) {
		in[i] = '/';
		in[i + 1] = 'b';
	}
	in[n] = '\0';
	errno = 0;
	cr_expect_eq(path_normalize(in, out, sizeof(out)), -1);
	cr_expect_eq(errno, ENAMETOOLONG);
	free(in);
}

Test(path_normalize, in_place)
{
	char buf[64] = "/a/./b/../c//d/";

	cr_assert_eq(path_normalize(buf, buf, sizeof(buf)), 0);
	cr_expect_str_eq(buf, "/a/c/d");

	strcpy(buf, "/x/y/../../z/");
	cr_assert_eq(path_normalize(buf + 0, buf + 1, sizeof(buf) - 1), 0);
	cr_expect_str_eq(buf + 1, "/z");
}

struct join_case {
	const char *base;
	const char *rel;
	const char *want;
};

static const struct join_case join_cases[] = {
	{ "/a", "b", "/a/b" },
	{ "/a/", "b", "/a/b" },
	{ "/a", "b/", "/a/b" },
	{ "/a/b", "..", "/a" },
	{ "/a/", "../c", "/c" },
	{ "/", "..", "/" },
	{ "/a", "../../../x", "/x" },
	{ "/a", ".", "/a" },
	{ "/a", "", "/a" },
	{ "/a", "./b/./c", "/a/b/c" },
	{ "/a/./b", "c", "/a/b/c" },
	{ "/a", "/x/./y", "/x/y" },
	{ "relative", "/abs", "/abs" },
	{ NULL, "/x/../y", "/y" },
	{ "", "/y", "/y" },
};

Test(path_join, table)
{
	char out[PATH_MAX];

	for (size_t i = 0; i < ARRAY_SIZE(join_cases); i++) {
		const struct join_case *c = &join_cases[i];

		cr_assert_eq(path_join(c->base, c->rel, out, sizeof(out)), 0,
			     "join(%s, %s) failed: %s", c->base ? c->base : "NULL",
			     c->rel, strerror(errno));
		cr_expect_str_eq(out, c->want, "join(%s, %s) = %s, want %s",
				 c->base ? c->base : "NULL", c->rel, out, c->want);
	}
}

Test(path_join, errors)
{
	char out[8];

	errno = 0;
	cr_expect_eq(path_join(NULL, "b", out, sizeof(out)), -1);
	cr_expect_eq(errno, EINVAL);
	errno = 0;
	cr_expect_eq(path_join("", "b", out, sizeof(out)), -1);
	cr_expect_eq(errno, EINVAL);
	errno = 0;
	cr_expect_eq(path_join("rel", "b", out, sizeof(out)), -1);
	cr_expect_eq(errno, EINVAL);
	errno = 0;
	cr_expect_eq(path_join("/a", NULL, out, sizeof(out)), -1);
	cr_expect_eq(errno, EINVAL);
	errno = 0;
	cr_expect_eq(path_join("/abcd", "efgh", out, sizeof(out)), -1);
	cr_expect_eq(errno, ENAMETOOLONG);
	/* "/abc/efg" needs 8 bytes plus NUL: one too many for out[8]. */
	errno = 0;
	cr_expect_eq(path_join("/abc", "efg", out, sizeof(out)), -1);
	cr_expect_eq(errno, ENAMETOOLONG);
	cr_expect_eq(path_join("/abc", "ef", out, sizeof(out)), 0);
	cr_expect_str_eq(out, "/abc/ef");
}

struct prefix_case {
	const char *path;
	const char *prefix;
	bool want;
};

static const struct prefix_case prefix_cases[] = {
	{ "/etc", "/etc", true },
	{ "/etc/", "/etc", true },
	{ "/etc/x", "/etc", true },
	{ "/etc/x/y", "/etc", true },
	{ "/etc", "/etc/", true },
	{ "/etc/x", "/etc/", true },
	{ "/etcx", "/etc", false },
	{ "/etcx", "/etc/", false },
	{ "/et", "/etc", false },
	{ "/usr/etc", "/etc", false },
	{ "/", "/etc", false },
	{ "/etc/ssh/sshd_config", "/etc/ssh", true },
	{ "/etc/sshd", "/etc/ssh", false },
	{ "/", "/", true },
	{ "/anything/at/all", "/", true },
	{ "/x", "//", true },
	{ "/etc/x", "", false },
};

Test(path_has_prefix, table)
{
	for (size_t i = 0; i < ARRAY_SIZE(prefix_cases); i++) {
		const struct prefix_case *c = &prefix_cases[i];

		cr_expect_eq(path_has_prefix(c->path, c->prefix), c->want,
			     "has_prefix(\"%s\", \"%s\") != %d", c->path,
			     c->prefix, c->want);
	}
	cr_expect_not(path_has_prefix(NULL, "/"));
	cr_expect_not(path_has_prefix("/etc", NULL));
}

/*
 * The resolve tests build, per test (Criterion forks each one):
 *
 *   T/real/sub/file
 *   T/link     -> real/sub        (relative symlink to a directory)
 *   T/filelink -> real/sub/file
 *   T/dangle   -> nowhere
 *
 * T is the mkdtemp() path; R is its realpath(), since /tmp itself may be a
 * symlink on the build host.
 */
static char tdir[PATH_MAX];
static char rdir[PATH_MAX];

static void mk(const char *fmt, const char *arg, char *out)
{
	int n = snprintf(out, PATH_MAX, fmt, arg);

	cr_assert(n > 0 && n < PATH_MAX, "path too long: %s", arg);
}

static void tree_setup(void)
{
	char p[PATH_MAX];
	FILE *f;

	strcpy(tdir, "/tmp/tg-path-XXXXXX");
	cr_assert_not_null(mkdtemp(tdir));
	cr_assert_not_null(realpath(tdir, rdir));
	mk("%s/real", tdir, p);
	cr_assert_eq(mkdir(p, 0755), 0);
	mk("%s/real/sub", tdir, p);
	cr_assert_eq(mkdir(p, 0755), 0);
	mk("%s/real/sub/file", tdir, p);
	f = fopen(p, "w");
	cr_assert_not_null(f);
	fclose(f);
	mk("%s/link", tdir, p);
	cr_assert_eq(symlink("real/sub", p), 0);
	mk("%s/filelink", tdir, p);
	cr_assert_eq(symlink("real/sub/file", p), 0);
	mk("%s/dangle", tdir, p);
	cr_assert_eq(symlink("nowhere", p), 0);
}

static int rm_entry(const char *p, const struct stat *st, int flag,
		    struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(p);
}

static void tree_teardown(void)
{
	if (tdir[0])
		nftw(tdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

TestSuite(path_resolve, .init = tree_setup, .fini = tree_teardown);

/* Resolves T + rel and expects R + want_rel. */
static void expect_resolve(const char *rel, bool follow, const char *want_rel)
{
	char in[PATH_MAX], want[PATH_MAX], out[PATH_MAX];
	int n1 = snprintf(in, sizeof(in), "%s%s", tdir, rel);
	int n2 = snprintf(want, sizeof(want), "%s%s", rdir, want_rel);

	cr_assert(n1 < PATH_MAX && n2 < PATH_MAX, "test path too long");
	cr_assert_eq(path_resolve(in, follow, out, sizeof(out)), 0,
		     "resolve(%s, %d) failed: %s", in, follow, strerror(errno));
	cr_expect_str_eq(out, want, "resolve(%s, %d) = %s, want %s", in,
			 follow, out, want);
}

Test(path_resolve, plain)
{
	expect_resolve("/real/sub/file", false, "/real/sub/file");
	expect_resolve("/real//sub/./file", false, "/real/sub/file");
}

Test(path_resolve, symlinked_parent)
{
	expect_resolve("/link/file", false, "/real/sub/file");
	expect_resolve("/link/file", true, "/real/sub/file");
}

Test(path_resolve, dotdot_after_symlink_is_physical)
{
	/* Kernel semantics: link/.. is real/, not T/ as lexical rules say. */
	expect_resolve("/link/../x", false, "/real/x");
	expect_resolve("/link/..", false, "/real");
	expect_resolve("/link/../sub/file", false, "/real/sub/file");
	expect_resolve("/real/sub/..", false, "/real");
	expect_resolve("/real/sub/.", false, "/real/sub");
}

Test(path_resolve, last_component_follow)
{
	expect_resolve("/filelink", false, "/filelink");
	expect_resolve("/filelink", true, "/real/sub/file");
	expect_resolve("/link", false, "/link");
	expect_resolve("/link", true, "/real/sub");
	/* A trailing slash makes the kernel follow the last symlink. */
	expect_resolve("/link/", false, "/real/sub");
	/* Dangling: nothing to follow, keep the link's own path. */
	expect_resolve("/dangle", true, "/dangle");
	expect_resolve("/dangle", false, "/dangle");
}

Test(path_resolve, missing_last_component)
{
	expect_resolve("/link/missing", false, "/real/sub/missing");
	expect_resolve("/link/missing", true, "/real/sub/missing");
	expect_resolve("/real/new", true, "/real/new");
}

Test(path_resolve, vanished_parent)
{
	char p[PATH_MAX];

	/* The directory existed when the syscall ran, and is gone now. */
	mk("%s/real/sub/gone", tdir, p);
	cr_assert_eq(mkdir(p, 0755), 0);
	cr_assert_eq(rmdir(p), 0);
	expect_resolve("/link/gone/f", false, "/real/sub/gone/f");
	expect_resolve("/link/gone/deeper/f", true, "/real/sub/gone/deeper/f");
	expect_resolve("/link/gone/./a/../f", false, "/real/sub/gone/f");
	expect_resolve("/link/gone/..", false, "/real/sub");
	expect_resolve("/nope/x", false, "/nope/x");
}

Test(path_resolve, root_and_whole_missing_tree)
{
	char out[PATH_MAX];

	cr_assert_eq(path_resolve("/", false, out, sizeof(out)), 0);
	cr_expect_str_eq(out, "/");
	cr_assert_eq(path_resolve("//", true, out, sizeof(out)), 0);
	cr_expect_str_eq(out, "/");
	cr_assert_eq(path_resolve("/tg-no-such-dir/a/../b", false, out,
				  sizeof(out)), 0);
	cr_expect_str_eq(out, "/tg-no-such-dir/b");
	cr_assert_eq(path_resolve("/tg-no-such-dir/..", false, out,
				  sizeof(out)), 0);
	cr_expect_str_eq(out, "/");
}

Test(path_resolve, errors)
{
	char out[PATH_MAX], small[4];
	char *huge = malloc(PATH_MAX + 2);

	errno = 0;
	cr_expect_eq(path_resolve("relative/x", false, out, sizeof(out)), -1);
	cr_expect_eq(errno, EINVAL);
	errno = 0;
	cr_expect_eq(path_resolve(NULL, false, out, sizeof(out)), -1);
	cr_expect_eq(errno, EINVAL);

	errno = 0;
	cr_expect_eq(path_resolve(tdir, false, small, sizeof(small)), -1);
	cr_expect_eq(errno, ENAMETOOLONG);

	cr_assert_not_null(huge);
	huge[0] = '/';
	memset(huge + 1, 'a', PATH_MAX);
	huge[PATH_MAX + 1] = '\0';
	errno = 0;
	cr_expect_eq(path_resolve(huge, false, out, sizeof(out)), -1);
	cr_expect_eq(errno, ENAMETOOLONG);
	free(huge);
}
