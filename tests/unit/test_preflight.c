// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * preflight_check: each start-up problem gives its exit code and a message
 * naming the problem and the fix. The paths it probes are injected
 * (struct tg_preflight_paths), so a missing BTF file or an unmounted
 * tracefs are simulated with paths rather than kernels.
 *
 * The checks run in order root -> BTF -> bpf() -> tracefs, so cases past
 * the root check need root; they skip with the reason otherwise. The
 * not-root and BPF-disabled cases run in a forked child (setuid 65534, or a
 * seccomp filter on bpf()) that hands its result back through shared
 * memory, so the test process keeps its credentials and syscalls.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <grp.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "preflight.h"

#define MSG_LEN 512
#define NOTE_LEN 256
#define NOBODY 65534
#define CHILD_MS 10000
#define CHILD_SETUP_FAILED 100 /* the child exits 0 once it has checked */

#if defined(__x86_64__)
#define TEST_AUDIT_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define TEST_AUDIT_ARCH AUDIT_ARCH_AARCH64
#else
#error "add the AUDIT_ARCH_* of this architecture"
#endif

static const struct tg_preflight_paths real_paths = {
	.btf = "/sys/kernel/btf/vmlinux",
	.tracefs = "/sys/kernel/tracing",
};

static void need_root(void)
{
	if (geteuid() != 0)
		cr_skip_test("preflight checks past the root check need root (euid %u)",
			     (unsigned)geteuid());
}

/* What a forked child's preflight_check returned. */
struct result {
	int rc;
	char msg[MSG_LEN];
	char note[NOTE_LEN];
};

enum child_setup { SETUP_NOBODY, SETUP_NO_BPF };

static void drop_to_nobody(void)
{
	if (setgroups(0, NULL) || setgid(NOBODY) || setuid(NOBODY))
		_exit(CHILD_SETUP_FAILED);
}

/* bpf() fails with EPERM, as under a container runtime's seccomp profile. */
static void deny_bpf(void)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, TEST_AUDIT_ARCH, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_bpf, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA)),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { .len = sizeof(f) / sizeof(f[0]), .filter = f };

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) ||
	    syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog))
		_exit(CHILD_SETUP_FAILED);
}

/* preflight_check(paths) in a child set up as asked. */
static void check_in_child(enum child_setup setup, const struct tg_preflight_paths *paths,
			   struct result *out)
{
	struct result *shared = mmap(NULL, sizeof(*shared), PROT_READ | PROT_WRITE,
				     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	struct pollfd pfd;
	int pidfd, status = 0, r;
	pid_t pid;

	cr_assert_neq(shared, MAP_FAILED, "mmap: %s", strerror(errno));
	memset(shared, 0, sizeof(*shared));
	fflush(NULL);
	pid = fork();
	cr_assert_geq(pid, 0, "fork: %s", strerror(errno));
	if (pid == 0) {
		if (setup == SETUP_NOBODY)
			drop_to_nobody();
		else
			deny_bpf();
		shared->rc = preflight_check(paths, shared->msg, sizeof(shared->msg),
					     shared->note, sizeof(shared->note));
		_exit(0); /* no atexit: the sanitizer's leak check belongs to the parent */
	}
	pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	cr_assert_geq(pidfd, 0, "pidfd_open: %s", strerror(errno));
	pfd = (struct pollfd){ .fd = pidfd, .events = POLLIN };
	do
		r = poll(&pfd, 1, CHILD_MS);
	while (r < 0 && errno == EINTR);
	close(pidfd);
	if (r <= 0)
		kill(pid, SIGKILL);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	cr_assert_gt(r, 0, "child %d still running after %d ms: killed", pid, CHILD_MS);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child setup failed: status 0x%x",
		  status);
	*out = *shared;
	munmap(shared, sizeof(*shared));
}

Test(preflight, no_btf_names_path_and_config)
{
	const struct tg_preflight_paths p = { .btf = "/nonexistent/vmlinux",
					      .tracefs = "/sys/kernel/tracing" };
	char msg[MSG_LEN] = "", note[NOTE_LEN] = "x";

	need_root();
	cr_assert_eq(preflight_check(&p, msg, sizeof(msg), note, sizeof(note)), TG_EXIT_NO_BTF,
		     "msg: %s", msg);
	cr_expect_not_null(strstr(msg, "/nonexistent/vmlinux"), "msg does not name the path: %s", msg);
	cr_expect_not_null(strstr(msg, "CONFIG_DEBUG_INFO_BTF"), "msg has no fix: %s", msg);
	cr_expect_not_null(strstr(msg, "fix"), "msg: %s", msg);
	cr_expect_null(strchr(msg, '\n'), "msg is not one line: %s", msg);
	cr_expect_str_empty(note, "note on a fatal error: %s", note);
}

Test(preflight, real_paths_ok)
{
	char msg[MSG_LEN] = "", note[NOTE_LEN] = "";

	need_root();
	cr_assert_eq(access(real_paths.btf, R_OK), 0, "%s: %s", real_paths.btf, strerror(errno));
	cr_assert_eq(preflight_check(&real_paths, msg, sizeof(msg), note, sizeof(note)), TG_EXIT_OK,
		     "msg: %s", msg);
}

Test(preflight, tracefs_missing_is_only_a_note)
{
	char tmpl[] = "/tmp/tg-preflight.XXXXXX";
	struct tg_preflight_paths p = { .btf = real_paths.btf };
	char msg[MSG_LEN] = "", note[NOTE_LEN] = "";
	int rc;

	need_root();
	cr_assert_not_null(mkdtemp(tmpl), "mkdtemp: %s", strerror(errno));
	p.tracefs = tmpl; /* a plain directory: not tracefs */
	rc = preflight_check(&p, msg, sizeof(msg), note, sizeof(note));
	rmdir(tmpl);
	cr_assert_eq(rc, TG_EXIT_OK, "msg: %s", msg);
	cr_expect_not_null(strstr(note, "tracefs"), "note: '%s'", note);
	cr_expect_not_null(strstr(note, "not needed"), "note: '%s'", note);
	cr_expect_not_null(strstr(note, tmpl), "note does not name the path: '%s'", note);
}

Test(preflight, tracefs_path_missing_is_only_a_note)
{
	const struct tg_preflight_paths p = { .btf = real_paths.btf,
					      .tracefs = "/nonexistent/tracing" };
	char msg[MSG_LEN] = "", note[NOTE_LEN] = "";

	need_root();
	cr_assert_eq(preflight_check(&p, msg, sizeof(msg), note, sizeof(note)), TG_EXIT_OK,
		     "msg: %s", msg);
	cr_expect_not_null(strstr(note, "not needed"), "note: '%s'", note);
}

Test(preflight, not_root)
{
	struct result r;

	if (geteuid() == 0)
		check_in_child(SETUP_NOBODY, &real_paths, &r);
	else
		r.rc = preflight_check(&real_paths, r.msg, sizeof(r.msg), r.note, sizeof(r.note));
	cr_assert_eq(r.rc, TG_EXIT_NOT_ROOT, "rc %d, msg: %s", r.rc, r.msg);
	cr_expect_not_null(strstr(r.msg, "root"), "msg does not mention root: %s", r.msg);
	cr_expect_not_null(strstr(r.msg, "fix"), "msg has no fix: %s", r.msg);
	cr_expect_null(strchr(r.msg, '\n'), "msg is not one line: %s", r.msg);
}

/* Root is checked before anything else: a non-root user on a host without
 * BTF is told about root, the problem it can act on first. */
Test(preflight, root_checked_first)
{
	const struct tg_preflight_paths p = { .btf = "/nonexistent/vmlinux",
					      .tracefs = "/nonexistent/tracing" };
	struct result r;

	if (geteuid() == 0)
		check_in_child(SETUP_NOBODY, &p, &r);
	else
		r.rc = preflight_check(&p, r.msg, sizeof(r.msg), r.note, sizeof(r.note));
	cr_assert_eq(r.rc, TG_EXIT_NOT_ROOT, "rc %d, msg: %s", r.rc, r.msg);
}

Test(preflight, bpf_disabled)
{
	struct result r;

	need_root();
	check_in_child(SETUP_NO_BPF, &real_paths, &r);
	cr_assert_eq(r.rc, TG_EXIT_NO_BPF, "rc %d, msg: %s", r.rc, r.msg);
	cr_expect_not_null(strstr(r.msg, "BPF is disabled"), "msg: %s", r.msg);
	cr_expect_not_null(strstr(r.msg, strerror(EPERM)), "msg does not give the error: %s", r.msg);
	cr_expect_not_null(strstr(r.msg, "fix"), "msg has no fix: %s", r.msg);
}

/* A message longer than the buffer is cut, never overflows it. */
Test(preflight, message_truncated_to_buffer)
{
	const struct tg_preflight_paths p = { .btf = "/nonexistent/vmlinux",
					      .tracefs = "/sys/kernel/tracing" };
	char buf[32 + 8];
	char note[NOTE_LEN];

	need_root();
	memset(buf, 'Z', sizeof(buf));
	cr_assert_eq(preflight_check(&p, buf, 32, note, sizeof(note)), TG_EXIT_NO_BTF);
	cr_expect_eq(strlen(buf), 31);
	for (size_t i = 32; i < sizeof(buf); i++)
		cr_expect_eq(buf[i], 'Z', "byte %zu past the buffer written", i);
}
