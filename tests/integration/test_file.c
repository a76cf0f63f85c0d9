// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * File class behaviour. Every call is made with syscall(2) so the record's
 * syscall_nr is known exactly (glibc turns open() into openat()). The tree
 * is built by the test process, which the probe ignores; only the call under
 * test happens in the child.
 *
 *   dir/                  mkdtemp, realpath'd
 *     f                   regular file, 0644
 *     real/sub/           directory
 *     real/f              regular file
 *     ldir -> real/sub    symlink to a directory
 *     lf   -> f           symlink to a file
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "helpers.h"

static struct tg_harness h;
static char *dir;

/* Results of the child's calls, handed back through shared memory. */
struct res {
	long r[8];
	int fd[4];
};
static struct res *res;

static char *P(const char *rel)
{
	static char buf[8][PATH_MAX];
	static int i;
	char *p = buf[i++ & 7];

	cr_assert_lt(snprintf(p, PATH_MAX, "%s/%s", dir, rel), PATH_MAX);
	return p;
}

static void touch(const char *rel, mode_t mode)
{
	int fd = open(P(rel), O_WRONLY | O_CREAT | O_TRUNC, mode);

	cr_assert_geq(fd, 0, "create %s: %s", rel, strerror(errno));
	cr_assert_eq(write(fd, "twinguard\n", 10), 10);
	fchmod(fd, mode);
	close(fd);
}

static void setup(void)
{
	harness_open(&h, NULL, 0);
	dir = tmpdir_make();
	res = shared_alloc(sizeof(*res));
	memset(res, 0, sizeof(*res));
	touch("f", 0644);
	cr_assert_eq(mkdir(P("real"), 0755), 0);
	cr_assert_eq(mkdir(P("real/sub"), 0755), 0);
	touch("real/f", 0644);
	cr_assert_eq(symlink("real/sub", P("ldir")), 0);
	cr_assert_eq(symlink("f", P("lf")), 0);
}

static void teardown(void)
{
	harness_close(&h);
	tmpdir_remove(dir);
	free(dir);
	dir = NULL;
	shared_free(res, sizeof(*res));
}

TestSuite(file, .init = setup, .fini = teardown, .timeout = 60);

/* The kernel's s_dev encoding (MKDEV: major << 20 | minor) of a file. */
static uint32_t kdev(const char *path)
{
	struct stat st;

	cr_assert_eq(stat(path, &st), 0, "stat %s", path);
	return major(st.st_dev) << 20 | minor(st.st_dev);
}

static uint64_t ino(const char *path)
{
	struct stat st;

	cr_assert_eq(stat(path, &st), 0, "stat %s", path);
	return st.st_ino;
}

static const char *S(const struct tg_event *ev, int idx)
{
	const char *s = event_str(ev, idx);

	return s ? s : "(absent)";
}

/* event_path(idx) or "(none)". */
static const char *EP(const struct tg_event *ev, int idx)
{
	static char buf[2][TG_PATH_MAX];
	char *p = buf[idx ? 1 : 0];

	if (event_path(ev, idx, p, TG_PATH_MAX) != 0)
		return "(none)";
	return p;
}

/* Wait for type from pid via nr; assert the common header. */
static const struct tg_event *expect_ev(unsigned type, pid_t pid, int nr, const char *path)
{
	const struct tg_event *ev = harness_wait_path(&h, type, pid, nr, path);

	cr_assert_not_null(ev, "no %s record (nr %d) from %d%s%s", event_type_name(type), nr, pid,
			   path ? " for " : "", path ? path : "");
	expect_hdr(ev, type, pid, nr);
	cr_expect_eq(ev->hdr.uid, 0);
	cr_expect_eq(ev->hdr.gid, 0);
	return ev;
}

/* A successful open: kernel-resolved path, ino/dev of what was opened. */
static void expect_open_ok(const struct tg_event *ev, long fd, const char *canon, unsigned flags,
			   unsigned mode, int dirfd)
{
	/* Field 4: ret is the new fd */
	cr_expect_eq(ev->hdr.ret, fd, "ret %lld, want fd %ld", (long long)ev->hdr.ret, fd);
	cr_expect(ev->hdr.flags & TG_F_PATH_RESOLVED, "flags 0x%x lack PATH_RESOLVED",
		  ev->hdr.flags);
	cr_expect_not(ev->hdr.flags & TG_F_PATH_TRUNC);
	cr_expect_str_eq(S(ev, 0), canon);
	cr_expect_str_eq(EP(ev, 0), canon);
	cr_expect_eq(ev->u.file.flags, flags, "flags 0%o, want 0%o", ev->u.file.flags, flags);
	cr_expect_eq(ev->u.file.mode, mode, "mode 0%o, want 0%o", ev->u.file.mode, mode);
	cr_expect_eq(ev->u.file.fd, dirfd, "fd %d, want dirfd %d", ev->u.file.fd, dirfd);
	cr_expect_eq(ev->u.file.ino, ino(canon));
	cr_expect_eq(ev->u.file.dev, kdev(canon), "dev 0x%x, want 0x%x", ev->u.file.dev,
		     kdev(canon));
}

/* ---- open family ---- */

static void child_open(void *arg)
{
	(void)arg;
	res->r[0] = syscall(SYS_open, P("new"), O_WRONLY | O_CREAT | O_TRUNC, 0640);
}

Test(file, open_create)
{
	pid_t pid = harness_child_ok(child_open, NULL);
	const struct tg_event *ev = expect_ev(TG_EV_OPEN, pid, SYS_open, NULL);

	struct stat ns;

	cr_assert_geq(res->r[0], 0);
	expect_open_ok(ev, res->r[0], P("new"), O_WRONLY | O_CREAT | O_TRUNC, 0640, AT_FDCWD);
	/* our own mount namespace: the path is a host path */
	cr_assert_eq(stat("/proc/self/ns/mnt", &ns), 0);
	cr_expect_eq(ev->u.file.mnt_ns, (__u32)ns.st_ino);
}

static void child_openat_rel(void *arg)
{
	(void)arg;
	res->fd[0] = open(dir, O_RDONLY | O_DIRECTORY);
	/* dirfd-relative with a ".." that stays inside the tree */
	res->r[0] = syscall(SYS_openat, res->fd[0], "real/sub/../f", O_RDWR | O_APPEND, 0);
}

Test(file, openat_dirfd_dotdot)
{
	pid_t pid = harness_child_ok(child_openat_rel, NULL);
	struct ev_match m = { .type = TG_EV_OPEN, .tgid = pid, .syscall_nr = SYS_openat,
			      .str0 = P("real/f") };
	const struct tg_event *ev = harness_wait(&h, match_ev, &m, HARNESS_WAIT_MS);

	cr_assert_not_null(ev, "no openat record for %s", P("real/f"));
	expect_hdr(ev, TG_EV_OPEN, pid, SYS_openat);
	cr_assert_geq(res->r[0], 0);
	expect_open_ok(ev, res->r[0], P("real/f"), O_RDWR | O_APPEND, 0, res->fd[0]);
}

static void child_open_symlinks(void *arg)
{
	(void)arg;
	/* through a symlinked directory, then ".." from inside its target:
	 * the kernel climbs from real/sub, not from dir */
	res->r[0] = syscall(SYS_open, P("ldir/../f"), O_RDONLY, 0);
	/* a symlink as the last component */
	res->r[1] = syscall(SYS_openat, AT_FDCWD, P("lf"), O_RDONLY | O_CLOEXEC, 0);
}

Test(file, open_through_symlinks)
{
	pid_t pid = harness_child_ok(child_open_symlinks, NULL);
	const struct tg_event *ev;

	cr_assert_geq(res->r[0], 0);
	cr_assert_geq(res->r[1], 0);
	ev = expect_ev(TG_EV_OPEN, pid, SYS_open, NULL);
	expect_open_ok(ev, res->r[0], P("real/f"), O_RDONLY, 0, AT_FDCWD);
	ev = expect_ev(TG_EV_OPEN, pid, SYS_openat, P("f"));
	expect_open_ok(ev, res->r[1], P("f"), O_RDONLY | O_CLOEXEC, 0, AT_FDCWD);
}

static void child_open_nocreate_mode(void *arg)
{
	(void)arg;
	/* Without O_CREAT/O_TMPFILE the kernel ignores the mode argument
	 * (build_open_how() sets how.mode = 0): whatever the register holds
	 * is not a mode that was used. */
	res->r[0] = syscall(SYS_open, P("f"), O_RDONLY, 0777);
	res->r[1] = syscall(SYS_openat, AT_FDCWD, P("real/f"), O_RDONLY, 04755);
}

Test(file, open_mode_only_when_creating)
{
	pid_t pid = harness_child_ok(child_open_nocreate_mode, NULL);
	const struct tg_event *ev;

	cr_assert_geq(res->r[0], 0);
	cr_assert_geq(res->r[1], 0);
	ev = expect_ev(TG_EV_OPEN, pid, SYS_open, P("f"));
	cr_expect_eq(ev->u.file.mode, 0, "mode 0%o recorded for an open that creates nothing",
		     ev->u.file.mode);
	ev = expect_ev(TG_EV_OPEN, pid, SYS_openat, P("real/f"));
	cr_expect_eq(ev->u.file.mode, 0, "mode 0%o recorded for an open that creates nothing",
		     ev->u.file.mode);
}

static void child_openat2(void *arg)
{
	struct open_how how = { .flags = O_RDWR | O_CREAT | O_EXCL, .mode = 0604,
				.resolve = RESOLVE_NO_SYMLINKS };

	(void)arg;
	res->fd[0] = open(dir, O_RDONLY | O_DIRECTORY);
	res->r[0] = syscall(SYS_openat2, res->fd[0], "real/new2", &how, sizeof(how));
}

Test(file, openat2)
{
	pid_t pid = harness_child_ok(child_openat2, NULL);
	const struct tg_event *ev = expect_ev(TG_EV_OPEN, pid, SYS_openat2, NULL);

	cr_assert_geq(res->r[0], 0, "openat2: %s", strerror((int)-res->r[0]));
	expect_open_ok(ev, res->r[0], P("real/new2"), O_RDWR | O_CREAT | O_EXCL, 0604, res->fd[0]);
}

static void child_creat(void *arg)
{
	(void)arg;
	res->r[0] = syscall(SYS_creat, P("created"), 0600);
}

Test(file, creat)
{
	pid_t pid = harness_child_ok(child_creat, NULL);
	const struct tg_event *ev = expect_ev(TG_EV_OPEN, pid, SYS_creat, NULL);

	cr_assert_geq(res->r[0], 0);
	expect_open_ok(ev, res->r[0], P("created"), O_CREAT | O_WRONLY | O_TRUNC, 0600, AT_FDCWD);
}

static void child_open_denied(void *arg)
{
	(void)arg;
	if (setresgid(65534, 65534, 65534) || setresuid(65534, 65534, 65534))
		_exit(10);
	res->r[0] = syscall(SYS_open, P("secret"), O_RDONLY);
	res->r[1] = errno;
	if (chdir(dir))
		_exit(11);
	res->r[2] = syscall(SYS_openat, AT_FDCWD, "secret", O_WRONLY);
}

Test(file, open_denied)
{
	const struct tg_event *ev;
	pid_t pid;

	touch("secret", 0600);
	cr_assert_eq(chmod(dir, 0755), 0);
	pid = harness_child_ok(child_open_denied, NULL);
	cr_assert_eq(res->r[0], -1);
	cr_assert_eq(res->r[1], EACCES);
	/* absolute path: raw string, base is the root */
	ev = harness_wait_ev(&h, TG_EV_OPEN, pid, SYS_open);
	cr_assert_not_null(ev, "no record of the denied open");
	expect_hdr(ev, TG_EV_OPEN, pid, SYS_open);
	cr_expect_eq(ev->hdr.uid, 65534);
	cr_expect_eq(ev->hdr.gid, 65534);
	cr_expect_eq(ev->hdr.ret, -EACCES);
	cr_expect_not(ev->hdr.flags & TG_F_PATH_RESOLVED, "no fd: nothing the kernel resolved");
	cr_expect(ev->hdr.flags & TG_F_BASE_RESOLVED, "flags 0x%x", ev->hdr.flags);
	cr_expect_str_eq(S(ev, 0), P("secret"));
	cr_expect_str_eq(S(ev, 1), "/");
	cr_expect_str_eq(EP(ev, 0), P("secret"));
	cr_expect_eq(ev->u.file.flags, O_RDONLY);
	cr_expect_eq(ev->u.file.ino, 0);
	/* relative path: base is the cwd */
	ev = harness_wait_ev(&h, TG_EV_OPEN, pid, SYS_openat);
	cr_assert_not_null(ev, "no record of the denied relative openat");
	cr_expect_eq(ev->hdr.ret, -EACCES);
	cr_expect_str_eq(S(ev, 0), "secret");
	cr_expect_str_eq(S(ev, 1), dir);
	cr_expect_str_eq(EP(ev, 0), P("secret"));
	cr_expect_eq(ev->u.file.flags, O_WRONLY);
	cr_expect_eq(ev->u.file.fd, AT_FDCWD);
}

/* ---- unlink ---- */

static void child_unlink(void *arg)
{
	(void)arg;
	res->fd[0] = open(P("real"), O_RDONLY | O_DIRECTORY);
	res->r[0] = syscall(SYS_unlink, P("u0"));
	res->r[1] = syscall(SYS_unlinkat, res->fd[0], "u1", 0);
	res->r[2] = syscall(SYS_unlink, P("ldir/u2"));
	res->r[3] = syscall(SYS_unlinkat, AT_FDCWD, P("rmd"), AT_REMOVEDIR);
	if (chdir(P("ldir")))
		_exit(10);
	res->r[4] = syscall(SYS_unlink, "u3");
}

Test(file, unlink_paths)
{
	const struct tg_event *ev;
	pid_t pid;

	touch("u0", 0644);
	touch("real/u1", 0644);
	touch("real/sub/u2", 0644);
	touch("real/sub/u3", 0644);
	cr_assert_eq(mkdir(P("rmd"), 0755), 0);
	pid = harness_child_ok(child_unlink, NULL);
	for (int i = 0; i < 5; i++)
		cr_assert_eq(res->r[i], 0, "call %d failed", i);

	ev = expect_ev(TG_EV_UNLINK, pid, SYS_unlink, P("u0"));
	cr_expect_eq(ev->hdr.ret, 0);
	cr_expect_str_eq(S(ev, 0), P("u0"));
	cr_expect(ev->hdr.flags & TG_F_BASE_RESOLVED);
	cr_expect_not(ev->hdr.flags & TG_F_PATH_RESOLVED);

	ev = expect_ev(TG_EV_UNLINK, pid, SYS_unlinkat, P("real/u1"));
	cr_expect_str_eq(S(ev, 0), "u1");
	cr_expect_str_eq(S(ev, 1), P("real"));
	cr_expect_eq(ev->u.file.flags, 0);

	/* through the symlinked directory */
	ev = expect_ev(TG_EV_UNLINK, pid, SYS_unlink, P("real/sub/u2"));
	cr_expect_str_eq(S(ev, 0), P("ldir/u2"));

	ev = expect_ev(TG_EV_UNLINK, pid, SYS_unlinkat, P("rmd"));
	cr_expect_eq(ev->u.file.flags, AT_REMOVEDIR);

	/* relative to a cwd entered through the symlink: the kernel's cwd */
	ev = expect_ev(TG_EV_UNLINK, pid, SYS_unlink, P("real/sub/u3"));
	cr_expect_str_eq(S(ev, 0), "u3");
	cr_expect_str_eq(S(ev, 1), P("real/sub"));
}

static void child_unlink_dotdot(void *arg)
{
	(void)arg;
	/* ldir -> real/sub, so ldir/.. is real: the kernel removes real/g */
	res->r[0] = syscall(SYS_unlink, P("ldir/../g"));
}

Test(file, unlink_symlink_dotdot)
{
	struct ev_match m;
	const struct tg_event *ev;
	pid_t pid;

	touch("real/g", 0644);
	pid = harness_child_ok(child_unlink_dotdot, NULL);
	cr_assert_eq(res->r[0], 0, "unlink failed: the kernel did not remove real/g");
	cr_assert_neq(access(P("real/g"), F_OK), 0);
	m = (struct ev_match){ .type = TG_EV_UNLINK, .tgid = pid, .syscall_nr = SYS_unlink };
	ev = harness_wait(&h, match_ev, &m, HARNESS_WAIT_MS);
	cr_assert_not_null(ev);
	cr_expect_str_eq(S(ev, 0), P("ldir/../g"));
	/* ".." after a symlink climbs from the link's target, as the kernel did */
	cr_expect_str_eq(EP(ev, 0), P("real/g"));
}

/* ---- rename, link, symlink ---- */

static void child_rename(void *arg)
{
	(void)arg;
	res->fd[0] = open(dir, O_RDONLY | O_DIRECTORY);
	res->fd[1] = open(P("real"), O_RDONLY | O_DIRECTORY);
	res->r[0] = syscall(SYS_rename, P("ra"), P("rb"));
	res->r[1] = syscall(SYS_renameat2, res->fd[0], "rc", res->fd[1], "rd", RENAME_NOREPLACE);
	res->r[2] = syscall(SYS_renameat, res->fd[0], "ldir/re", AT_FDCWD, P("rf"));
}

Test(file, rename)
{
	const struct tg_event *ev;
	pid_t pid;

	touch("ra", 0644);
	touch("rc", 0644);
	touch("real/sub/re", 0644);
	pid = harness_child_ok(child_rename, NULL);
	for (int i = 0; i < 3; i++)
		cr_assert_eq(res->r[i], 0, "call %d failed", i);

	ev = expect_ev(TG_EV_RENAME, pid, SYS_rename, P("ra"));
	cr_expect_str_eq(EP(ev, 2), P("rb"));
	cr_expect_eq(ev->hdr.ret, 0);

	ev = expect_ev(TG_EV_RENAME, pid, SYS_renameat2, P("rc"));
	cr_expect_str_eq(S(ev, 0), "rc");
	cr_expect_str_eq(S(ev, 1), dir);
	cr_expect_str_eq(S(ev, 2), "rd");
	cr_expect_str_eq(S(ev, 3), P("real"));
	cr_expect_str_eq(EP(ev, 2), P("real/rd"));
	cr_expect_eq(ev->u.file.flags, RENAME_NOREPLACE);

	ev = expect_ev(TG_EV_RENAME, pid, SYS_renameat, P("real/sub/re"));
	cr_expect_str_eq(EP(ev, 2), P("rf"));
	cr_expect_eq(ev->u.file.flags, 0);
}

static void child_link(void *arg)
{
	(void)arg;
	res->fd[0] = open(dir, O_RDONLY | O_DIRECTORY);
	res->r[0] = syscall(SYS_link, P("f"), P("hl"));
	res->r[1] = syscall(SYS_linkat, res->fd[0], "lf", res->fd[0], "real/hl2", AT_SYMLINK_FOLLOW);
	res->r[2] = syscall(SYS_symlink, "../x/y", P("sl"));
	res->r[3] = syscall(SYS_symlinkat, "f", res->fd[0], "ldir/sl2");
}

Test(file, link_symlink)
{
	const struct tg_event *ev;
	pid_t pid = harness_child_ok(child_link, NULL);

	for (int i = 0; i < 4; i++)
		cr_assert_eq(res->r[i], 0, "call %d failed", i);

	ev = expect_ev(TG_EV_LINK, pid, SYS_link, P("f"));
	cr_expect_str_eq(EP(ev, 2), P("hl"));
	cr_expect_eq(ev->u.file.flags, 0);

	/* AT_SYMLINK_FOLLOW: the old path is the symlink's target */
	ev = expect_ev(TG_EV_LINK, pid, SYS_linkat, P("f"));
	cr_expect_str_eq(S(ev, 0), "lf");
	cr_expect_str_eq(EP(ev, 2), P("real/hl2"));
	cr_expect_eq(ev->u.file.flags, AT_SYMLINK_FOLLOW);

	/* symlink: str 2 is the target exactly as stored, str 0 the link */
	ev = expect_ev(TG_EV_SYMLINK, pid, SYS_symlink, P("sl"));
	cr_expect_str_eq(S(ev, 2), "../x/y");
	cr_expect_eq(event_path(ev, 2, (char[TG_PATH_MAX]){0}, TG_PATH_MAX), -1,
		     "a symlink target is not a path that was used");

	ev = expect_ev(TG_EV_SYMLINK, pid, SYS_symlinkat, P("real/sub/sl2"));
	cr_expect_str_eq(S(ev, 2), "f");
	cr_expect_str_eq(S(ev, 0), "ldir/sl2");
	cr_expect_str_eq(S(ev, 1), dir);
}

/* ---- attributes ---- */

static void child_chmod(void *arg)
{
	(void)arg;
	res->fd[0] = open(P("f"), O_RDONLY);
	res->fd[1] = open(dir, O_RDONLY | O_DIRECTORY);
	res->r[0] = syscall(SYS_chmod, P("lf"), 0604);
	res->r[1] = syscall(SYS_fchmod, res->fd[0], 0600);
	res->r[2] = syscall(SYS_fchmodat, res->fd[1], "real/f", 0640);
}

Test(file, chmod)
{
	const struct tg_event *ev;
	pid_t pid = harness_child_ok(child_chmod, NULL);

	for (int i = 0; i < 3; i++)
		cr_assert_eq(res->r[i], 0, "call %d failed", i);

	/* chmod follows the symlink */
	ev = expect_ev(TG_EV_CHMOD, pid, SYS_chmod, P("f"));
	cr_expect_eq(ev->u.file.mode, 0604);
	cr_expect_str_eq(S(ev, 0), P("lf"));
	cr_expect_eq(ev->hdr.ret, 0);

	ev = expect_ev(TG_EV_CHMOD, pid, SYS_fchmod, P("f"));
	cr_expect_eq(ev->u.file.mode, 0600);
	cr_expect_eq(ev->u.file.fd, res->fd[0]);
	cr_expect_eq(ev->hdr.flags & (TG_F_PATH_RESOLVED | TG_F_FD_PATH),
		     TG_F_PATH_RESOLVED | TG_F_FD_PATH, "flags 0x%x", ev->hdr.flags);

	ev = expect_ev(TG_EV_CHMOD, pid, SYS_fchmodat, P("real/f"));
	cr_expect_eq(ev->u.file.mode, 0640);
	cr_expect_str_eq(S(ev, 1), dir);
}

static void child_chown(void *arg)
{
	(void)arg;
	res->fd[0] = open(P("f"), O_RDONLY);
	res->r[0] = syscall(SYS_chown, P("real/f"), 1000, 1001);
	res->r[1] = syscall(SYS_fchown, res->fd[0], 1002, 1003);
	res->r[2] = syscall(SYS_lchown, P("lf"), 1004, 1005);
	res->r[3] = syscall(SYS_fchownat, AT_FDCWD, P("lf"), 1006, 1007, AT_SYMLINK_NOFOLLOW);
}

Test(file, chown)
{
	const struct tg_event *ev;
	pid_t pid = harness_child_ok(child_chown, NULL);

	for (int i = 0; i < 4; i++)
		cr_assert_eq(res->r[i], 0, "call %d failed", i);

	ev = expect_ev(TG_EV_CHOWN, pid, SYS_chown, P("real/f"));
	cr_expect_eq(ev->u.file.uid, 1000);
	cr_expect_eq(ev->u.file.gid, 1001);

	ev = expect_ev(TG_EV_CHOWN, pid, SYS_fchown, P("f"));
	cr_expect_eq(ev->u.file.uid, 1002);
	cr_expect_eq(ev->u.file.gid, 1003);
	cr_expect_eq(ev->u.file.fd, res->fd[0]);
	cr_expect(ev->hdr.flags & TG_F_FD_PATH);

	/* lchown acts on the link itself */
	ev = expect_ev(TG_EV_CHOWN, pid, SYS_lchown, P("lf"));
	cr_expect_eq(ev->u.file.uid, 1004);
	cr_expect_eq(ev->u.file.gid, 1005);

	ev = expect_ev(TG_EV_CHOWN, pid, SYS_fchownat, P("lf"));
	cr_expect_eq(ev->u.file.uid, 1006);
	cr_expect_eq(ev->u.file.gid, 1007);
	cr_expect_eq(ev->u.file.flags, AT_SYMLINK_NOFOLLOW);
}

static void child_truncate(void *arg)
{
	(void)arg;
	res->fd[0] = open(P("real/f"), O_RDWR);
	res->r[0] = syscall(SYS_truncate, P("lf"), 12345);
	res->r[1] = syscall(SYS_ftruncate, res->fd[0], 777);
}

Test(file, truncate)
{
	const struct tg_event *ev;
	pid_t pid = harness_child_ok(child_truncate, NULL);

	cr_assert_eq(res->r[0], 0);
	cr_assert_eq(res->r[1], 0);
	ev = expect_ev(TG_EV_TRUNCATE, pid, SYS_truncate, P("f"));
	cr_expect_eq(ev->u.file.length, 12345);
	ev = expect_ev(TG_EV_TRUNCATE, pid, SYS_ftruncate, P("real/f"));
	cr_expect_eq(ev->u.file.length, 777);
	cr_expect_eq(ev->u.file.fd, res->fd[0]);
	cr_expect(ev->hdr.flags & TG_F_FD_PATH);
}

static void child_mkdir(void *arg)
{
	(void)arg;
	res->fd[0] = open(P("real"), O_RDONLY | O_DIRECTORY);
	res->r[0] = syscall(SYS_mkdir, P("ldir/m1"), 0750);
	res->r[1] = syscall(SYS_mkdirat, res->fd[0], "m2", 0700);
}

Test(file, mkdir)
{
	const struct tg_event *ev;
	pid_t pid = harness_child_ok(child_mkdir, NULL);

	cr_assert_eq(res->r[0], 0);
	cr_assert_eq(res->r[1], 0);
	ev = expect_ev(TG_EV_MKDIR, pid, SYS_mkdir, P("real/sub/m1"));
	cr_expect_eq(ev->u.file.mode, 0750);
	cr_expect_eq(ev->hdr.ret, 0);
	ev = expect_ev(TG_EV_MKDIR, pid, SYS_mkdirat, P("real/m2"));
	cr_expect_eq(ev->u.file.mode, 0700);
	cr_expect_str_eq(S(ev, 0), "m2");
	cr_expect_str_eq(S(ev, 1), P("real"));
}

static void child_memfd(void *arg)
{
	(void)arg;
	res->r[0] = syscall(SYS_memfd_create, "tg-memfd-name", MFD_CLOEXEC | MFD_ALLOW_SEALING);
}

Test(file, memfd_create)
{
	const struct tg_event *ev;
	pid_t pid = harness_child_ok(child_memfd, NULL);

	cr_assert_geq(res->r[0], 0);
	ev = expect_ev(TG_EV_MEMFD, pid, SYS_memfd_create, NULL);
	cr_expect_eq(ev->hdr.ret, res->r[0]);
	cr_expect_str_eq(S(ev, 0), "tg-memfd-name");
	cr_expect_eq(ev->u.file.flags, MFD_CLOEXEC | MFD_ALLOW_SEALING);
	cr_expect_eq(ev->u.file.fd, res->r[0]);
	cr_expect_eq(event_path(ev, 0, (char[TG_PATH_MAX]){0}, TG_PATH_MAX), -1,
		     "a memfd name is not a path");
}

/* Failed name-based calls are reported with their error. */
static void child_failures(void *arg)
{
	(void)arg;
	res->r[0] = syscall(SYS_unlink, P("missing"));
	res->r[1] = syscall(SYS_mkdir, P("f"), 0700);
}

Test(file, failed_calls)
{
	const struct tg_event *ev;
	pid_t pid = harness_child_ok(child_failures, NULL);

	ev = expect_ev(TG_EV_UNLINK, pid, SYS_unlink, P("missing"));
	cr_expect_eq(ev->hdr.ret, -ENOENT);
	ev = expect_ev(TG_EV_MKDIR, pid, SYS_mkdir, P("f"));
	cr_expect_eq(ev->hdr.ret, -EEXIST);
}

/* The walk crosses mounts and ignores a chroot: paths are global. */
static void child_mounts_chroot(void *arg)
{
	(void)arg;
	res->r[0] = syscall(SYS_open, "/dev/null", O_WRONLY, 0);
	res->r[1] = syscall(SYS_open, "/proc/self/status", O_RDONLY, 0);
	if (chroot(dir) || chdir("/"))
		_exit(10);
	res->r[2] = syscall(SYS_open, "/real/f", O_RDONLY, 0);
	res->r[3] = syscall(SYS_unlink, "/real/u5");
}

Test(file, paths_across_mounts_and_chroot)
{
	char proc[64];
	const struct tg_event *ev;
	pid_t pid;

	touch("real/u5", 0644);
	pid = harness_child_ok(child_mounts_chroot, NULL);
	for (int i = 0; i < 4; i++)
		cr_assert_geq(res->r[i], 0, "call %d failed", i);
	ev = expect_ev(TG_EV_OPEN, pid, SYS_open, "/dev/null");
	cr_expect_eq(ev->hdr.ret, res->r[0]);
	snprintf(proc, sizeof(proc), "/proc/%d/status", pid);
	ev = expect_ev(TG_EV_OPEN, pid, SYS_open, proc);
	cr_expect_eq(ev->hdr.ret, res->r[1]);
	/* inside the chroot the kernel's path is still the global one */
	ev = expect_ev(TG_EV_OPEN, pid, SYS_open, P("real/f"));
	cr_expect_eq(ev->hdr.ret, res->r[2]);
	/* a name-based call carries the chroot as its base */
	ev = expect_ev(TG_EV_UNLINK, pid, SYS_unlink, P("real/u5"));
	cr_expect_str_eq(S(ev, 0), "/real/u5");
	cr_expect_str_eq(S(ev, 1), dir);
}

#define DEEP 70 /* more components than the walk's bound (64) */

static void child_open_deep(void *arg)
{
	res->r[0] = syscall(SYS_open, (const char *)arg, O_RDONLY, 0);
}

Test(file, deep_path_truncated)
{
	static char deep[PATH_MAX];
	struct tg_stats st;
	const struct tg_event *ev;
	const char *s;
	size_t len;
	pid_t pid;
	int n = 0;

	len = (size_t)snprintf(deep, sizeof(deep), "%s", dir);
	for (int i = 0; i < DEEP; i++) {
		len += (size_t)snprintf(deep + len, sizeof(deep) - len, "/d");
		cr_assert_eq(mkdir(deep, 0755), 0);
	}
	snprintf(deep + len, sizeof(deep) - len, "/leaf");
	touch(deep + strlen(dir) + 1, 0644);
	pid = harness_child_ok(child_open_deep, deep);
	cr_assert_geq(res->r[0], 0);
	ev = harness_wait_ev(&h, TG_EV_OPEN, pid, SYS_open);
	cr_assert_not_null(ev, "no record for the deep open");
	cr_expect(ev->hdr.flags & TG_F_PATH_TRUNC, "flags 0x%x lack PATH_TRUNC", ev->hdr.flags);
	s = event_str(ev, 0);
	cr_assert_not_null(s);
	/* the deepest components are the ones kept */
	cr_expect(strlen(s) >= 5 && strcmp(s + strlen(s) - 5, "/leaf") == 0, "path '%s'", s);
	cr_expect_lt(strlen(s), strlen(deep));
	for (const char *c = s; *c; c++)
		n += *c == '/';
	cr_expect_leq(n, 64, "%d components kept", n);
	cr_assert_eq(probe_stats(h.probe, &st), 0);
	cr_expect_gt(st.path_trunc, 0);
}

/*
 * Like the kernel's d_path(), paths are relative to the process's mount
 * namespace root (bpf/path.bpf.h): after pivot_root in a private mount
 * namespace, the file the host sees as dir/jail/f is reported as "/f", and
 * the record carries the new mount namespace so rules can tell it is not a
 * host path.
 */
static void child_pivot_root(void *arg)
{
	(void)arg;
	if (unshare(CLONE_NEWNS) || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL))
		_exit(10);
	/* pivot_root needs its new root to be a mount point */
	if (mount(P("jail"), P("jail"), NULL, MS_BIND, NULL))
		_exit(11);
	if (syscall(SYS_pivot_root, P("jail"), P("jail/old")) || chdir("/"))
		_exit(12);
	res->r[0] = syscall(SYS_open, "/f", O_RDONLY, 0);
}

Test(file, path_after_pivot_root_is_namespace_relative)
{
	const struct tg_event *ev;
	pid_t pid;

	cr_assert_eq(mkdir(P("jail"), 0755), 0);
	cr_assert_eq(mkdir(P("jail/old"), 0755), 0);
	touch("jail/f", 0644);
	pid = harness_child_ok(child_pivot_root, NULL);
	cr_assert_geq(res->r[0], 0);
	ev = harness_wait_ev(&h, TG_EV_OPEN, pid, SYS_open);
	cr_assert_not_null(ev, "no record of the open after pivot_root");
	cr_expect(ev->hdr.flags & TG_F_PATH_RESOLVED);
	cr_expect_str_eq(S(ev, 0), "/f");
	{
		struct stat ns;

		cr_assert_eq(stat("/proc/self/ns/mnt", &ns), 0);
		cr_expect_neq(ev->u.file.mnt_ns, 0);
		cr_expect_neq(ev->u.file.mnt_ns, (__u32)ns.st_ino,
			      "the pivoted child's mount namespace must differ from ours");
	}
	cr_expect_eq(ev->u.file.ino, ino(P("jail/f")));
}

/*
 * A 64-bit process can still make 32-bit syscalls (int $0x80): the numbers
 * are the ia32 table's (open is 5, x86_64's 5 is fstat). Such an open must
 * not go unseen.
 */
#if defined(__x86_64__)
#define IA32_NR_OPEN 5

static void child_ia32_open(void *arg)
{
	char *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT,
		       -1, 0);
	long r;

	(void)arg;
	if (p == MAP_FAILED)
		_exit(10);
	snprintf(p, 4096, "%s", P("f"));
	__asm__ volatile("int $0x80" : "=a"(r) : "a"((long)IA32_NR_OPEN), "b"((long)p), "c"(0L), "d"(0L)
			 : "memory");
	res->r[0] = r;
}

Test(file, ia32_open_reported)
{
	struct ev_match m;
	pid_t pid;

	pid = harness_child_ok(child_ia32_open, NULL);
	if (res->r[0] == -ENOSYS)
		cr_skip_test("kernel without ia32 emulation: int $0x80 is not a syscall here");
	cr_assert_geq(res->r[0], 0, "ia32 open: %ld", res->r[0]);
	m = (struct ev_match){ .type = TG_EV_OPEN, .tgid = pid, .syscall_nr = -1, .str0 = P("f") };
	cr_expect_not_null(harness_wait(&h, match_ev, &m, HARNESS_WAIT_MS),
			   "open(%s) through int $0x80 (ia32 nr %d) was not reported", P("f"),
			   IA32_NR_OPEN);
}
#endif
