// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Privilege and tampering class behaviour: ptrace, process_vm_readv/writev,
 * id changes, signals, bpf(BPF_PROG_LOAD) by another process, mounts (in a
 * private mount namespace) and module loads that are bound to fail (a bad fd,
 * a text file, a garbage image): no module is ever loaded.
 *
 * Targets are "sleepers": children of the test process blocked in read() on
 * a pipe the test holds, killed and reaped in every path.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/bpf.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helpers.h"

static struct tg_harness h;
static char *dir;

struct res {
	long r[8];
	int err[8];
	char buf[64];
};
static struct res *res;

#define MAX_SLEEPERS 4
static pid_t sleepers[MAX_SLEEPERS];
static int sleeper_fds[MAX_SLEEPERS];
static int n_sleepers;

/* A known value at the same address in every forked process. */
static char secret_word[32] = "twinguard-secret";

static pid_t sleeper(void)
{
	int p[2];
	char c;
	pid_t pid;

	cr_assert_lt(n_sleepers, MAX_SLEEPERS);
	cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		close(p[1]);
		/* returns when the test closes its end (or never: killed) */
		while (read(p[0], &c, 1) < 0 && errno == EINTR)
			;
		_exit(0);
	}
	close(p[0]);
	sleepers[n_sleepers] = pid;
	sleeper_fds[n_sleepers++] = p[1];
	return pid;
}

/* Reap a sleeper the test already made exit; teardown skips it. */
static int sleeper_reap(pid_t pid)
{
	for (int i = 0; i < n_sleepers; i++)
		if (sleepers[i] == pid)
			sleepers[i] = 0;
	return harness_reap(pid, HARNESS_WAIT_MS);
}

static void setup(void)
{
	harness_open(&h, NULL, 0);
	dir = tmpdir_make();
	res = shared_alloc(sizeof(*res));
	memset(res, 0, sizeof(*res));
	n_sleepers = 0;
}

static void teardown(void)
{
	for (int i = 0; i < n_sleepers; i++) {
		if (sleepers[i] <= 0)
			continue;
		kill(sleepers[i], SIGKILL);
		close(sleeper_fds[i]);
		harness_reap(sleepers[i], HARNESS_WAIT_MS);
	}
	n_sleepers = 0;
	harness_close(&h);
	tmpdir_remove(dir);
	free(dir);
	dir = NULL;
	shared_free(res, sizeof(*res));
	res = NULL;
}

TestSuite(priv, .init = setup, .fini = teardown, .timeout = 60);

static const struct tg_event *expect_priv(unsigned type, pid_t pid, int nr)
{
	const struct tg_event *ev = harness_wait_ev(&h, type, pid, nr);

	cr_assert_not_null(ev, "no %s record (nr %d) from %d", event_type_name(type), nr, pid);
	expect_hdr(ev, type, pid, nr);
	return ev;
}

static bool match_request(const struct tg_event *ev, void *arg)
{
	const long *want = arg; /* { tgid, type, request } */

	return ev->hdr.tgid == (uint32_t)want[0] && ev->hdr.type == want[1] &&
	       ev->u.priv.request == (uint32_t)want[2];
}

/* ---- ptrace ---- */

static pid_t t1, t2;

static void child_ptrace(void *arg)
{
	int st;

	(void)arg;
	res->r[0] = syscall(SYS_ptrace, PTRACE_ATTACH, t1, 0, 0);
	if (res->r[0] == 0 && waitpid(t1, &st, __WALL) != t1)
		_exit(10);
	/* a debugger's steady state: not reported */
	errno = 0;
	res->r[1] = syscall(SYS_ptrace, PTRACE_PEEKDATA, t1, secret_word, &res->r[2]);
	res->err[1] = errno;
	res->r[3] = syscall(SYS_ptrace, PTRACE_SEIZE, t2, 0, PTRACE_O_TRACESYSGOOD);
	/* exiting detaches from both */
}

Test(priv, ptrace_attach_seize)
{
	long want[3];
	struct tg_stats before, after;
	const struct tg_event *ev;
	pid_t pid;

	t1 = sleeper();
	t2 = sleeper();
	cr_assert_eq(probe_stats(h.probe, &before), 0);
	pid = harness_child_ok(child_ptrace, NULL);
	cr_assert_eq(res->r[0], 0, "PTRACE_ATTACH failed");
	cr_assert_eq(res->r[1], 0, "PTRACE_PEEKDATA failed: %s", strerror(res->err[1]));
	cr_assert_eq(res->r[3], 0, "PTRACE_SEIZE failed");

	want[0] = pid, want[1] = TG_EV_PTRACE, want[2] = PTRACE_ATTACH;
	ev = harness_wait(&h, match_request, want, HARNESS_WAIT_MS);
	cr_assert_not_null(ev, "no PTRACE_ATTACH record");
	expect_hdr(ev, TG_EV_PTRACE, pid, SYS_ptrace);
	cr_expect_eq(ev->hdr.ret, 0);
	cr_expect_eq(ev->u.priv.target_pid, (uint32_t)t1);
	cr_expect_eq(ev->u.priv.arg, 0);

	want[2] = PTRACE_SEIZE;
	ev = harness_wait(&h, match_request, want, HARNESS_WAIT_MS);
	cr_assert_not_null(ev, "no PTRACE_SEIZE record");
	expect_hdr(ev, TG_EV_PTRACE, pid, SYS_ptrace);
	cr_expect_eq(ev->hdr.ret, 0);
	cr_expect_eq(ev->u.priv.target_pid, (uint32_t)t2);

	want[2] = PTRACE_PEEKDATA;
	cr_expect_eq(harness_count(&h, match_request, want), 0, "PEEKDATA was reported");
	cr_assert_eq(probe_stats(h.probe, &after), 0);
	cr_expect_gt(after.filtered, before.filtered);
	cr_expect_eq(harness_count(&h, match_ev,
				   &(struct ev_match){ .type = TG_EV_PTRACE, .tgid = pid,
						       .syscall_nr = -1 }), 2);
}

/* ---- process_vm ---- */

static void child_process_vm(void *arg)
{
	struct iovec local = { res->buf, 16 }, remote = { secret_word, 16 };
	char word[16] = "overwritten-----";
	struct iovec wlocal = { word, 16 };

	(void)arg;
	res->r[0] = syscall(SYS_process_vm_readv, t1, &local, 1, &remote, 1, 0);
	res->r[1] = syscall(SYS_process_vm_writev, t1, &wlocal, 1, &remote, 1, 0);
}

Test(priv, process_vm_readv_writev)
{
	const struct tg_event *ev;
	pid_t pid;

	t1 = sleeper();
	pid = harness_child_ok(child_process_vm, NULL);
	cr_assert_eq(res->r[0], 16, "process_vm_readv: %ld", res->r[0]);
	cr_assert(memcmp(res->buf, "twinguard-secret", 16) == 0);
	cr_assert_eq(res->r[1], 16);

	ev = expect_priv(TG_EV_PROCESS_VM, pid, SYS_process_vm_readv);
	cr_expect_eq(ev->hdr.ret, 16);
	cr_expect_eq(ev->u.priv.target_pid, (uint32_t)t1);
	cr_expect_eq(ev->u.priv.request, 0, "readv is request 0");
	ev = expect_priv(TG_EV_PROCESS_VM, pid, SYS_process_vm_writev);
	cr_expect_eq(ev->hdr.ret, 16);
	cr_expect_eq(ev->u.priv.target_pid, (uint32_t)t1);
	cr_expect_eq(ev->u.priv.request, 1, "writev is request 1");
}

/* ---- id changes ---- */

static void child_setid(void *arg)
{
	(void)arg;
	res->r[0] = syscall(SYS_setgid, 1234);
	res->r[1] = syscall(SYS_setresgid, 2001, 2002, 2003);
	res->r[2] = syscall(SYS_setresuid, 1001, 1002, 1003);
	/* no longer privileged: this one fails */
	res->r[3] = syscall(SYS_setuid, 0);
	res->err[3] = errno;
}

Test(priv, setid)
{
	const struct tg_event *ev;
	pid_t pid = harness_child_ok(child_setid, NULL);

	for (int i = 0; i < 3; i++)
		cr_assert_eq(res->r[i], 0, "call %d failed", i);
	cr_assert_eq(res->r[3], -1);
	cr_assert_eq(res->err[3], EPERM);

	ev = expect_priv(TG_EV_SETID, pid, SYS_setgid);
	cr_expect_eq(ev->hdr.ret, 0);
	cr_expect_eq(ev->u.priv.request, TG_V_SETGID);
	cr_expect_eq(ev->u.priv.ids[0], 1234);
	cr_expect_eq(ev->u.priv.ids[1], (uint32_t)-1);
	cr_expect_eq(ev->u.priv.ids[2], (uint32_t)-1);
	cr_expect_eq(ev->hdr.uid, 0);
	cr_expect_eq(ev->hdr.gid, 1234, "hdr carries the credentials after the call");

	ev = expect_priv(TG_EV_SETID, pid, SYS_setresgid);
	cr_expect_eq(ev->u.priv.request, TG_V_SETRESGID);
	cr_expect_eq(ev->u.priv.ids[0], 2001);
	cr_expect_eq(ev->u.priv.ids[1], 2002);
	cr_expect_eq(ev->u.priv.ids[2], 2003);
	cr_expect_eq(ev->hdr.gid, 2001);

	ev = expect_priv(TG_EV_SETID, pid, SYS_setresuid);
	cr_expect_eq(ev->u.priv.request, TG_V_SETRESUID);
	cr_expect_eq(ev->u.priv.ids[0], 1001);
	cr_expect_eq(ev->u.priv.ids[1], 1002);
	cr_expect_eq(ev->u.priv.ids[2], 1003);
	cr_expect_eq(ev->hdr.uid, 1001);

	ev = expect_priv(TG_EV_SETID, pid, SYS_setuid);
	cr_expect_eq(ev->hdr.ret, -EPERM);
	cr_expect_eq(ev->u.priv.request, TG_V_SETUID);
	cr_expect_eq(ev->u.priv.ids[0], 0);
	cr_expect_eq(ev->hdr.uid, 1001);
}

/* ---- signals ---- */

static pid_t t3;

static void child_kill(void *arg)
{
	(void)arg;
	res->r[0] = syscall(SYS_kill, t1, SIGTERM);
	res->r[1] = syscall(SYS_tgkill, t2, t2, SIGUSR1);
	res->r[2] = syscall(SYS_tkill, t3, SIGHUP);
	/* signal 0 only probes for existence: not reported */
	res->r[3] = syscall(SYS_kill, getppid(), 0);
}

Test(priv, kill_tgkill_tkill)
{
	const struct tg_event *ev;
	pid_t pid;
	int st;

	t1 = sleeper();
	t2 = sleeper();
	t3 = sleeper();
	pid = harness_child_ok(child_kill, NULL);
	for (int i = 0; i < 4; i++)
		cr_assert_eq(res->r[i], 0, "call %d failed", i);
	st = sleeper_reap(t1);
	cr_expect(WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM, "target 1 status 0x%x", st);

	ev = expect_priv(TG_EV_KILL, pid, SYS_kill);
	cr_expect_eq(ev->hdr.ret, 0);
	cr_expect_eq(ev->u.priv.request, SIGTERM);
	cr_expect_eq(ev->u.priv.target_pid, (uint32_t)t1);
	cr_expect_eq(ev->u.priv.target_tid, 0);

	ev = expect_priv(TG_EV_KILL, pid, SYS_tgkill);
	cr_expect_eq(ev->u.priv.request, SIGUSR1);
	cr_expect_eq(ev->u.priv.target_pid, (uint32_t)t2);
	cr_expect_eq(ev->u.priv.target_tid, (uint32_t)t2);

	ev = expect_priv(TG_EV_KILL, pid, SYS_tkill);
	cr_expect_eq(ev->u.priv.request, SIGHUP);
	cr_expect_eq(ev->u.priv.target_pid, (uint32_t)t3);
	cr_expect_eq(ev->u.priv.target_tid, (uint32_t)t3);

	cr_expect_eq(harness_count(&h, match_ev,
				   &(struct ev_match){ .type = TG_EV_KILL, .tgid = pid,
						       .syscall_nr = -1 }), 3,
		     "kill(pid, 0) must not be reported");
}

/* ---- bpf ---- */

static void child_bpf(void *arg)
{
	struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	union bpf_attr attr;
	static char log[4096];

	(void)arg;
	memset(&attr, 0, sizeof(attr));
	attr.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
	attr.insns = (uint64_t)(uintptr_t)insns;
	attr.insn_cnt = 2;
	attr.license = (uint64_t)(uintptr_t)"GPL";
	attr.log_buf = (uint64_t)(uintptr_t)log;
	attr.log_size = sizeof(log);
	attr.log_level = 1;
	snprintf(attr.prog_name, sizeof(attr.prog_name), "tg_testprog");
	res->r[0] = syscall(SYS_bpf, BPF_PROG_LOAD, &attr, sizeof(attr));
	res->err[0] = errno;
	/* other commands are not reported */
	memset(&attr, 0, sizeof(attr));
	attr.map_type = BPF_MAP_TYPE_ARRAY;
	attr.key_size = 4;
	attr.value_size = 4;
	attr.max_entries = 1;
	res->r[1] = syscall(SYS_bpf, BPF_MAP_CREATE, &attr, sizeof(attr));
}

Test(priv, bpf_prog_load_by_other_process)
{
	const struct tg_event *ev;
	pid_t pid = harness_child_ok(child_bpf, NULL);

	cr_assert_geq(res->r[0], 0, "BPF_PROG_LOAD failed: %s", strerror(res->err[0]));
	cr_assert_geq(res->r[1], 0);
	ev = expect_priv(TG_EV_BPF, pid, SYS_bpf);
	cr_expect_eq(ev->hdr.ret, res->r[0]);
	cr_expect_eq(ev->u.priv.request, BPF_PROG_LOAD);
	cr_expect_eq(ev->u.priv.prog_type, BPF_PROG_TYPE_SOCKET_FILTER);
	cr_expect_str_eq(event_str(ev, 0) ? event_str(ev, 0) : "(absent)", "tg_testprog");
	cr_expect_eq(harness_count(&h, match_ev,
				   &(struct ev_match){ .type = TG_EV_BPF, .tgid = pid,
						       .syscall_nr = -1 }), 1,
		     "only BPF_PROG_LOAD is reported");
}

/* ---- mount ---- */

static char mnt_target[PATH_MAX];

static void child_mount(void *arg)
{
	(void)arg;
	if (unshare(CLONE_NEWNS))
		_exit(10);
	/* keep the tmpfs out of the host's mount tree */
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL))
		_exit(11);
	res->r[0] = syscall(SYS_mount, "tgsrc", mnt_target, "tmpfs", MS_NOSUID | MS_NODEV,
			    "size=1m");
	res->err[0] = errno;
	/* a file on the new mount: its path crosses back to the parent mount */
	snprintf(res->buf, sizeof(res->buf), "%s", "inside");
	if (chdir(mnt_target))
		_exit(12);
	res->r[1] = syscall(SYS_openat, AT_FDCWD, res->buf, O_WRONLY | O_CREAT, 0600);
}

static bool match_mount_target(const struct tg_event *ev, void *arg)
{
	const char *s = event_str(ev, 0);

	return ev->hdr.type == TG_EV_MOUNT && ev->hdr.tgid == *(uint32_t *)arg && s &&
	       strcmp(s, mnt_target) == 0;
}

Test(priv, mount_tmpfs_in_private_namespace)
{
	const struct tg_event *ev;
	pid_t pid;

	cr_assert_lt(snprintf(mnt_target, sizeof(mnt_target), "%s/mnt", dir), PATH_MAX);
	cr_assert_eq(mkdir(mnt_target, 0755), 0);
	pid = harness_child_ok(child_mount, NULL);
	cr_assert_eq(res->r[0], 0, "mount: %s", strerror(res->err[0]));
	ev = harness_wait(&h, match_mount_target, &pid, HARNESS_WAIT_MS);
	cr_assert_not_null(ev, "no mount record for %s", mnt_target);
	expect_hdr(ev, TG_EV_MOUNT, pid, SYS_mount);
	cr_expect_eq(ev->hdr.ret, 0);
	cr_expect_str_eq(event_str(ev, 0), mnt_target);
	cr_expect_str_eq(event_str(ev, 1) ? event_str(ev, 1) : "(absent)", "tgsrc");
	cr_expect_str_eq(event_str(ev, 2) ? event_str(ev, 2) : "(absent)", "tmpfs");
	cr_expect_eq(ev->u.priv.arg, MS_NOSUID | MS_NODEV);
	/* the kernel's path of a file on the tmpfs, in the private namespace */
	cr_assert_geq(res->r[1], 0);
	cr_expect_not_null(harness_wait_path(&h, TG_EV_OPEN, pid, SYS_openat,
					     strcat(strcpy((char[PATH_MAX + 8]){0}, mnt_target),
						    "/inside")),
			   "no open record for %s/inside", mnt_target);
	/* the propagation change was a mount call too */
	cr_expect_eq(harness_count(&h, match_ev,
				   &(struct ev_match){ .type = TG_EV_MOUNT, .tgid = pid,
						       .syscall_nr = SYS_mount }), 2);
}

/* ---- modules: every call fails before anything is loaded ---- */

static char junk_path[PATH_MAX];

static void child_module(void *arg)
{
	/* On the stack, so resident: a call that fails before reading its
	 * parameters never faults them in, and the probe cannot either. */
	char junk[] = "twinguard: not an ELF module";
	char p1[] = "tgparam=1", p2[] = "tgopt=2", empty[] = "";
	int fd;

	(void)arg;
	res->r[0] = syscall(SYS_finit_module, 987, p1, 0);
	res->err[0] = errno;
	fd = open(junk_path, O_RDONLY);
	if (fd < 0)
		_exit(10);
	res->r[1] = syscall(SYS_finit_module, fd, empty, 0);
	res->r[2] = fd;
	res->r[3] = syscall(SYS_init_module, junk, sizeof(junk), p2);
}

static bool match_module_fd(const struct tg_event *ev, void *arg)
{
	return ev->hdr.type == TG_EV_MODULE && ev->hdr.tgid == ((uint32_t *)arg)[0] &&
	       ev->hdr.syscall_nr == SYS_finit_module && ev->u.priv.fd == (int32_t)((uint32_t *)arg)[1];
}

Test(priv, module_load_attempts)
{
	const struct tg_event *ev;
	uint32_t key[2];
	char junk_text[] = "twinguard\n";
	int fd;
	pid_t pid;

	cr_assert_lt(snprintf(junk_path, sizeof(junk_path), "%s/notamodule.ko", dir), PATH_MAX);
	fd = open(junk_path, O_WRONLY | O_CREAT, 0644);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, junk_text, sizeof(junk_text) - 1), (ssize_t)sizeof(junk_text) - 1);
	close(fd);
	pid = harness_child_ok(child_module, NULL);
	cr_assert_eq(res->r[0], -1);
	/* ENOSYS on kernels built without modules: the call is still made */
	cr_assert(res->err[0] == EBADF || res->err[0] == ENOSYS, "finit_module: %s",
		  strerror(res->err[0]));
	cr_assert_lt(res->r[1], 0, "a text file was accepted as a module");
	cr_assert_lt(res->r[3], 0, "a garbage image was accepted as a module");

	/* invalid fd: the record is there, with the fd and no path */
	key[0] = (uint32_t)pid, key[1] = 987;
	ev = harness_wait(&h, match_module_fd, key, HARNESS_WAIT_MS);
	cr_assert_not_null(ev, "no record of finit_module(987)");
	expect_hdr(ev, TG_EV_MODULE, pid, SYS_finit_module);
	cr_expect_eq(ev->hdr.ret, -res->err[0]);
	cr_expect_eq(ev->u.priv.fd, 987);
	cr_expect_eq(ev->u.priv.arg, 0);
	cr_expect_null(event_str(ev, 0));
	cr_expect_str_eq(event_str(ev, 1) ? event_str(ev, 1) : "(absent)", "tgparam=1");

	/* a real fd: its file is resolved */
	key[1] = (uint32_t)res->r[2];
	ev = harness_wait(&h, match_module_fd, key, HARNESS_WAIT_MS);
	cr_assert_not_null(ev, "no record of finit_module(fd)");
	cr_expect_lt(ev->hdr.ret, 0);
	cr_expect(ev->hdr.flags & TG_F_FD_PATH);
	cr_expect_str_eq(event_str(ev, 0) ? event_str(ev, 0) : "(absent)", junk_path);

	ev = expect_priv(TG_EV_MODULE, pid, SYS_init_module);
	cr_expect_lt(ev->hdr.ret, 0);
	cr_expect_eq(ev->u.priv.fd, -1);
	cr_expect_eq(ev->u.priv.arg, sizeof("twinguard: not an ELF module"));
	cr_expect_str_eq(event_str(ev, 1) ? event_str(ev, 1) : "(absent)", "tgopt=2");
}
