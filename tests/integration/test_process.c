// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Process class behaviour: exec (plain, as another user, truncated argv,
 * memfd image, deleted image), fork, thread creation and exit codes. The
 * test process forks a child that does the work; records come from the
 * child (or, for fork, from the child forking a grandchild, since the test
 * process itself is ignored by the probe).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helpers.h"

#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U /* 6.3+: executable memfd, no sysctl warning */
#endif

static struct tg_harness h;
static char *dir;

static void setup(void)
{
	harness_open(&h, NULL, 0);
	dir = tmpdir_make();
}

static void cgroup_remove(void);

static void teardown(void)
{
	cgroup_remove();
	harness_close(&h);
	tmpdir_remove(dir);
	free(dir);
	dir = NULL;
}

TestSuite(process, .init = setup, .fini = teardown, .timeout = 60);

/* What a child saw of itself, handed back through shared memory. */
struct child_info {
	char cgroup[PATH_MAX];  /* its cgroup v2 path, "0::" stripped */
	pid_t gchild;           /* grandchild pid or thread tid */
	int fd;
	int err;                /* errno of the step that failed, 0 = ok */
};

static const char *const true_argv[] = { "/bin/true", "--alpha", "beta gamma", "", "-z", NULL };

/* Expected argv bytes of true_argv: NUL-separated, final NUL excluded. */
static size_t argv_bytes(const char *const *argv, char *out, size_t len)
{
	size_t n = 0;

	for (; *argv; argv++) {
		size_t l = strlen(*argv) + 1;

		cr_assert_leq(n + l, len);
		memcpy(out + n, *argv, l);
		n += l;
	}
	return n - 1;
}

/* The cgroup v2 mount point, "" when there is none. */
static void cgroup2_mount(char *out, size_t len)
{
	char line[1024], mnt[PATH_MAX];
	FILE *f = fopen("/proc/self/mountinfo", "r");

	out[0] = 0;
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char *dash = strstr(line, " - cgroup2 ");

		if (dash && sscanf(line, "%*s %*s %*s %*s %1023s", mnt) == 1) {
			if (snprintf(out, len, "%s", mnt) >= (int)len)
				out[0] = 0;
			break;
		}
	}
	fclose(f);
}

static void read_own_cgroup(char *out, size_t len)
{
	char line[PATH_MAX + 8];
	FILE *f = fopen("/proc/self/cgroup", "r");

	out[0] = 0;
	if (!f)
		return;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, "0::", 3) == 0) {
			line[strcspn(line, "\n")] = 0;
			if (snprintf(out, len, "%s", line + 3) >= (int)len)
				out[0] = 0;
		}
	fclose(f);
}

/* A fresh leaf cgroup, so the exec's cgroup leaf name is known and present. */
static char cg_dir[PATH_MAX];
static ino_t cg_ino;

static void cgroup_make(void)
{
	char mnt[PATH_MAX], cur[PATH_MAX];
	struct stat st;

	cgroup2_mount(mnt, sizeof(mnt));
	read_own_cgroup(cur, sizeof(cur));
	cg_dir[0] = 0;
	if (!mnt[0])
		return;
	if (snprintf(cg_dir, sizeof(cg_dir), "%s%s/tgtest-%d", mnt, strcmp(cur, "/") ? cur : "",
		     getpid()) >= (int)sizeof(cg_dir) || mkdir(cg_dir, 0755) != 0 ||
	    stat(cg_dir, &st) != 0)
		cg_dir[0] = 0;
	else
		cg_ino = st.st_ino;
}

static void cgroup_remove(void)
{
	if (cg_dir[0])
		rmdir(cg_dir);
	cg_dir[0] = 0;
}

struct exec_args {
	struct child_info *info;
	const char *cwd;
	const char *const *argv;
	bool as_nobody;
};

static void child_exec(void *arg)
{
	struct exec_args *a = arg;
	char procs[PATH_MAX + 16];

	if (cg_dir[0]) {
		int fd;

		snprintf(procs, sizeof(procs), "%s/cgroup.procs", cg_dir);
		fd = open(procs, O_WRONLY);
		if (fd < 0 || write(fd, "0\n", 2) != 2)
			_exit(10);
		close(fd);
	}
	read_own_cgroup(a->info->cgroup, sizeof(a->info->cgroup));
	if (chdir(a->cwd))
		_exit(11);
	if (a->as_nobody && (setresgid(65534, 65534, 65534) || setresuid(65534, 65534, 65534)))
		_exit(12);
	execv("/bin/true", (char *const *)a->argv);
	_exit(13);
}

static unsigned read_loginuid(void)
{
	unsigned v = (unsigned)-1;
	FILE *f = fopen("/proc/self/loginuid", "r");

	if (f) {
		if (fscanf(f, "%u", &v) != 1)
			v = (unsigned)-1;
		fclose(f);
	}
	return v;
}

static const struct tg_event *wait_exit(pid_t pid)
{
	return harness_wait_ev(&h, TG_EV_EXIT, pid, -1);
}

/* Everything an exec of /bin/true by pid must carry. */
static void expect_exec_true(const struct tg_event *ev, pid_t pid, unsigned id,
			     const struct child_info *info)
{
	struct stat st;
	const char *leaf;

	cr_assert_not_null(ev, "no exec record from child %d", pid);
	/* Fields 1-14: header. syscall_nr is -1: a tracepoint, not a syscall. */
	cr_expect_eq(ev->hdr.type, TG_EV_EXEC);
	cr_expect_eq(ev->hdr.tgid, (uint32_t)pid);
	cr_expect_eq(ev->hdr.tid, (uint32_t)pid);
	cr_expect_eq(ev->hdr.ppid, (uint32_t)getpid());
	cr_expect_eq(ev->hdr.uid, id);
	cr_expect_eq(ev->hdr.gid, id);
	cr_expect_eq(ev->hdr.syscall_nr, -1);
	cr_expect_eq(ev->hdr.ret, 0);
	cr_expect_str_eq(ev->hdr.comm, "true");
	cr_expect_gt(ev->hdr.start_ns, 0);
	cr_expect_gt(ev->hdr.ts_ns, ev->hdr.start_ns);
	cr_expect_eq(ev->hdr.flags & (TG_F_ARGV_TRUNC | TG_F_EXE_MEMFD | TG_F_EXE_DELETED |
				      TG_F_PATH_TRUNC | TG_F_THREAD), 0,
		     "flags 0x%x", ev->hdr.flags);
	/* exec payload */
	cr_expect_eq(ev->u.exec.euid, id);
	cr_expect_eq(ev->u.exec.egid, id);
	cr_expect_eq(ev->u.exec.auid, read_loginuid());
	cr_expect_eq(ev->u.exec.old_pid, (uint32_t)pid);
	cr_assert_eq(stat("/usr/bin/true", &st), 0);
	cr_expect_eq(ev->u.exec.exe_nlink, st.st_nlink);
	/* str 0: exe, resolved through the /bin -> usr/bin symlink */
	cr_expect_str_eq(event_str(ev, 0) ? event_str(ev, 0) : "(none)", "/usr/bin/true");
	/* str 2: cwd */
	cr_expect_str_eq(event_str(ev, 2) ? event_str(ev, 2) : "(none)", dir);
	/* str 3: cgroup leaf, and cgroup_id is that directory's inode */
	leaf = strrchr(info->cgroup, '/');
	cr_assert_not_null(leaf, "child could not read its cgroup");
	cr_expect_neq(leaf[1], 0, "child runs in the root cgroup: no leaf to check");
	cr_expect_str_eq(event_str(ev, 3) ? event_str(ev, 3) : "(none)", leaf + 1);
	if (cg_dir[0])
		cr_expect_eq(ev->hdr.cgroup_id, cg_ino, "cgroup_id %llu, want inode %llu",
			     (unsigned long long)ev->hdr.cgroup_id, (unsigned long long)cg_ino);
}

Test(process, exec_fields)
{
	struct child_info *info = shared_alloc(sizeof(*info));
	struct exec_args a = { .info = info, .cwd = dir, .argv = true_argv };
	char want[256];
	size_t want_len = argv_bytes(true_argv, want, sizeof(want));
	const struct tg_event *ev, *ex;
	pid_t pid;

	cgroup_make();
	pid = harness_child_ok(child_exec, &a);
	cgroup_remove();
	ev = harness_wait_ev(&h, TG_EV_EXEC, pid, -1);
	expect_exec_true(ev, pid, 0, info);
	/* str 1: argv exactly, NUL-separated, empty argument kept */
	cr_expect_eq(event_str_len(ev, 1), want_len, "argv length %zu, want %zu",
		     event_str_len(ev, 1), want_len);
	if (event_str_len(ev, 1) == want_len)
		cr_expect(memcmp(event_str(ev, 1), want, want_len + 1) == 0, "argv bytes differ");
	/* the process's exit carries the same entity id */
	ex = wait_exit(pid);
	cr_assert_not_null(ex);
	cr_expect_eq(ex->hdr.start_ns, ev->hdr.start_ns);
	shared_free(info, sizeof(*info));
}

Test(process, exec_as_other_user)
{
	static const char *const argv[] = { "/bin/true", NULL };
	struct child_info *info = shared_alloc(sizeof(*info));
	struct exec_args a = { .info = info, .cwd = "/", .argv = argv, .as_nobody = true };
	const struct tg_event *ev;
	pid_t pid;

	cgroup_make();
	pid = harness_child_ok(child_exec, &a);
	cgroup_remove();
	ev = harness_wait_ev(&h, TG_EV_EXEC, pid, -1);
	cr_assert_not_null(ev);
	cr_expect_eq(ev->hdr.uid, 65534);
	cr_expect_eq(ev->hdr.gid, 65534);
	cr_expect_eq(ev->u.exec.euid, 65534);
	cr_expect_eq(ev->u.exec.egid, 65534);
	cr_expect_str_eq(event_str(ev, 2) ? event_str(ev, 2) : "(none)", "/");
	cr_expect_str_eq(event_str(ev, 1) ? event_str(ev, 1) : "(none)", "/bin/true");
	cr_expect_eq(event_str_len(ev, 1), strlen("/bin/true"));
	shared_free(info, sizeof(*info));
}

Test(process, exec_argv_truncated)
{
	static char big[5000];
	const char *argv[] = { "/bin/true", big, NULL };
	struct child_info *info = shared_alloc(sizeof(*info));
	struct exec_args a = { .info = info, .cwd = dir, .argv = argv };
	const struct tg_event *ev;
	const char *s;
	pid_t pid;

	memset(big, 'A', sizeof(big) - 1);
	pid = harness_child_ok(child_exec, &a);
	ev = harness_wait_ev(&h, TG_EV_EXEC, pid, -1);
	cr_assert_not_null(ev);
	cr_expect(ev->hdr.flags & TG_F_ARGV_TRUNC, "flags 0x%x lack ARGV_TRUNC", ev->hdr.flags);
	/* TG_ARGV_MAX bytes kept, the last forced to NUL and not counted */
	cr_expect_eq(event_str_len(ev, 1), TG_ARGV_MAX - 1);
	s = event_str(ev, 1);
	cr_assert_not_null(s);
	cr_expect_str_eq(s, "/bin/true");
	cr_expect_eq(s[10], 'A');
	cr_expect_eq(s[TG_ARGV_MAX - 2], 'A');
	cr_expect_eq(s[TG_ARGV_MAX - 1], 0);
	/* the strings after argv are still intact */
	cr_expect_str_eq(event_str(ev, 0) ? event_str(ev, 0) : "(none)", "/usr/bin/true");
	cr_expect_str_eq(event_str(ev, 2) ? event_str(ev, 2) : "(none)", dir);
	shared_free(info, sizeof(*info));
}

/* Copy /bin/true into fd; 0 on success. */
static int copy_true(int fd)
{
	char buf[65536];
	int in = open("/bin/true", O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (in < 0)
		return -1;
	for (int i = 0; i < 4096 && (n = read(in, buf, sizeof(buf))) > 0; i++)
		if (write(fd, buf, (size_t)n) != n) {
			close(in);
			return -1;
		}
	close(in);
	return 0;
}

static void child_exec_memfd(void *arg)
{
	static const char *const argv[] = { "tgmemfd", "x", NULL };
	extern char **environ;
	int fd;

	(void)arg;
	fd = memfd_create("tgmemfd", MFD_CLOEXEC | MFD_EXEC);
	if (fd < 0 && errno == EINVAL)
		fd = memfd_create("tgmemfd", MFD_CLOEXEC);
	if (fd < 0 || copy_true(fd))
		_exit(10);
	/* execveat(fd, "", AT_EMPTY_PATH): what fexecve does */
	syscall(SYS_execveat, fd, "", argv, environ, AT_EMPTY_PATH);
	_exit(11);
}

Test(process, exec_memfd)
{
	const struct tg_event *ev;
	const char *exe;
	pid_t pid;

	pid = harness_child_ok(child_exec_memfd, NULL);
	ev = harness_wait_ev(&h, TG_EV_EXEC, pid, -1);
	cr_assert_not_null(ev, "no exec record for the memfd exec");
	cr_expect(ev->hdr.flags & TG_F_EXE_MEMFD, "flags 0x%x lack EXE_MEMFD", ev->hdr.flags);
	cr_expect_not(ev->hdr.flags & TG_F_EXE_DELETED, "a memfd is not a deleted file");
	cr_expect_eq(ev->u.exec.exe_nlink, 0);
	cr_expect_eq(ev->hdr.ppid, (uint32_t)getpid());
	exe = event_str(ev, 0);
	cr_assert_not_null(exe);
	cr_expect(strncmp(exe, "/memfd:tgmemfd", 14) == 0, "exe '%s'", exe);
	cr_expect_eq(event_str_len(ev, 1), strlen("tgmemfd") + 2);
	cr_expect_str_eq(event_str(ev, 1) ? event_str(ev, 1) : "(none)", "tgmemfd");
}

static void child_exec_fd(void *arg)
{
	static const char *const argv[] = { "tgdeleted", NULL };
	extern char **environ;

	syscall(SYS_execveat, *(int *)arg, "", argv, environ, AT_EMPTY_PATH);
	_exit(11);
}

Test(process, exec_deleted)
{
	char path[PATH_MAX];
	const struct tg_event *ev;
	const char *exe;
	int fd;
	pid_t pid;

	/* The copy is written and unlinked by the test process (ignored by
	 * the probe); only the exec happens in the child. */
	snprintf(path, sizeof(path), "%s/tgdeleted", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0755);
	cr_assert_geq(fd, 0);
	cr_assert_eq(copy_true(fd), 0);
	close(fd);
	fd = open(path, O_RDONLY);
	cr_assert_geq(fd, 0);
	cr_assert_eq(unlink(path), 0);
	pid = harness_child_ok(child_exec_fd, &fd);
	close(fd);
	ev = harness_wait_ev(&h, TG_EV_EXEC, pid, -1);
	cr_assert_not_null(ev, "no exec record for the deleted image");
	cr_expect(ev->hdr.flags & TG_F_EXE_DELETED, "flags 0x%x lack EXE_DELETED", ev->hdr.flags);
	cr_expect_not(ev->hdr.flags & TG_F_EXE_MEMFD, "flags 0x%x: not a memfd", ev->hdr.flags);
	cr_expect_eq(ev->u.exec.exe_nlink, 0);
	exe = event_str(ev, 0);
	cr_assert_not_null(exe);
	cr_expect(strncmp(exe, path, strlen(path)) == 0, "exe '%s', want '%s'", exe, path);
}

static void child_fork(void *arg)
{
	struct child_info *info = arg;
	pid_t gc = fork();
	int st;

	if (gc < 0)
		_exit(10);
	if (gc == 0)
		_exit(0);
	info->gchild = gc;
	if (waitpid(gc, &st, 0) != gc)
		_exit(11);
}

Test(process, fork)
{
	struct child_info *info = shared_alloc(sizeof(*info));
	struct ev_match m = { .type = TG_EV_FORK, .syscall_nr = -1 };
	const struct tg_event *ev, *gex;
	pid_t pid;

	pid = harness_child_ok(child_fork, info);
	m.tgid = pid;
	ev = harness_wait(&h, match_ev, &m, HARNESS_WAIT_MS);
	cr_assert_not_null(ev, "no fork record from child %d", pid);
	/* header: the parent (our child) */
	expect_hdr(ev, TG_EV_FORK, pid, -1);
	cr_expect_eq(ev->hdr.uid, 0);
	cr_expect_eq(ev->hdr.gid, 0);
	cr_expect_eq(ev->hdr.ret, 0);
	cr_expect_not(ev->hdr.flags & TG_F_THREAD, "a process fork has TG_F_THREAD");
	/* payload: the new process */
	cr_expect_eq(ev->u.fork.child_tgid, (uint32_t)info->gchild);
	cr_expect_eq(ev->u.fork.child_tid, (uint32_t)info->gchild);
	cr_expect_gt(ev->u.fork.child_start_ns, ev->hdr.start_ns);
	/* the grandchild's exit names the same entity */
	gex = wait_exit(info->gchild);
	cr_assert_not_null(gex, "no exit record from grandchild %d", info->gchild);
	cr_expect_eq(gex->hdr.start_ns, ev->u.fork.child_start_ns);
	cr_expect_eq(gex->hdr.ppid, (uint32_t)pid);
	/* only one fork from the child */
	cr_expect_eq(harness_count(&h, match_ev, &m), 1);
	shared_free(info, sizeof(*info));
}

static void *thread_main(void *arg)
{
	struct child_info *info = arg;

	info->gchild = (pid_t)syscall(SYS_gettid);
	return NULL;
}

static void child_thread(void *arg)
{
	pthread_t t;

	if (pthread_create(&t, NULL, thread_main, arg) || pthread_join(t, NULL))
		_exit(10);
}

static bool match_tid_exit(const struct tg_event *ev, void *arg)
{
	return ev->hdr.type == TG_EV_EXIT && ev->hdr.tid == *(uint32_t *)arg;
}

Test(process, thread)
{
	struct child_info *info = shared_alloc(sizeof(*info));
	const struct tg_event *ev, *tex, *pex;
	pid_t pid;

	pid = harness_child_ok(child_thread, info);
	ev = harness_wait_ev(&h, TG_EV_FORK, pid, -1);
	cr_assert_not_null(ev, "no fork record for the thread of %d", pid);
	expect_hdr(ev, TG_EV_FORK, pid, -1);
	cr_expect(ev->hdr.flags & TG_F_THREAD, "flags 0x%x lack TG_F_THREAD", ev->hdr.flags);
	cr_expect_eq(ev->u.fork.child_tgid, (uint32_t)pid);
	cr_expect_eq(ev->u.fork.child_tid, (uint32_t)info->gchild);
	cr_expect_neq(info->gchild, pid);
	/* a thread shares its process's entity id */
	cr_expect_eq(ev->u.fork.child_start_ns, ev->hdr.start_ns);
	/* the thread's exit is a thread exit; the process's is not */
	tex = harness_wait(&h, match_tid_exit, &info->gchild, HARNESS_WAIT_MS);
	cr_assert_not_null(tex, "no exit record for thread %d", info->gchild);
	cr_expect_eq(tex->hdr.tgid, (uint32_t)pid);
	cr_expect(tex->hdr.flags & TG_F_THREAD, "thread exit flags 0x%x", tex->hdr.flags);
	pex = harness_wait(&h, match_tid_exit, &pid, HARNESS_WAIT_MS);
	cr_assert_not_null(pex, "no exit record for process %d", pid);
	cr_expect_eq(pex->hdr.tid, (uint32_t)pid);
	cr_expect_not(pex->hdr.flags & TG_F_THREAD, "process exit flags 0x%x", pex->hdr.flags);
	shared_free(info, sizeof(*info));
}

static void child_exit3(void *arg)
{
	(void)arg;
	_exit(3);
}

Test(process, exit_code)
{
	const struct tg_event *ev;
	int st;
	pid_t pid = harness_child(child_exit3, NULL, &st);

	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 3);
	ev = wait_exit(pid);
	cr_assert_not_null(ev, "no exit record from %d", pid);
	expect_hdr(ev, TG_EV_EXIT, pid, -1);
	cr_expect_eq(ev->hdr.ret, 0);
	cr_expect_not(ev->hdr.flags & TG_F_THREAD);
	cr_expect_eq(ev->u.exit.exit_code, 3 << 8, "exit_code 0x%x, want 0x300",
		     ev->u.exit.exit_code);
	cr_expect_eq(ev->u.exit.exit_code >> 8, 3);
}

static void child_sigkill(void *arg)
{
	(void)arg;
	raise(SIGKILL);
	_exit(10);
}

Test(process, exit_killed)
{
	const struct tg_event *ev;
	int st;
	pid_t pid = harness_child(child_sigkill, NULL, &st);

	cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	ev = wait_exit(pid);
	cr_assert_not_null(ev, "no exit record from %d", pid);
	expect_hdr(ev, TG_EV_EXIT, pid, -1);
	cr_expect_eq(ev->u.exit.exit_code & 0x7f, SIGKILL, "exit_code 0x%x, want signal 9",
		     ev->u.exit.exit_code);
}
