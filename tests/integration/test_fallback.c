// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * A program the kernel rejects is switched off and the rest still load
 * (user/probe.c, probe_load_with_fallback). The rejection is injected with
 * TWINGUARD_TEST_BREAK_PROG, which loads the named program as the wrong
 * type, the way a verifier difference on another kernel would fail it.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "helpers.h"

static struct tg_harness h;
static char *dir;

static void setup(void)
{
	dir = tmpdir_make();
}

static void teardown(void)
{
	harness_close(&h);
	unsetenv("TWINGUARD_TEST_BREAK_PROG");
	tmpdir_remove(dir);
	free(dir);
}

TestSuite(fallback, .init = setup, .fini = teardown);

static void child_kill_and_open(void *arg)
{
	char path[4096];
	int fd;

	(void)arg;
	/* kill() is routed to the handler we broke; open() to a working one */
	syscall(SYS_kill, getpid(), SIGCHLD);
	snprintf(path, sizeof(path), "%s/f", dir);
	fd = syscall(SYS_openat, AT_FDCWD, path, O_WRONLY | O_CREAT, 0600);
	if (fd >= 0)
		close(fd);
}

Test(fallback, rejected_handler_is_switched_off_rest_runs)
{
	struct tg_stats st;
	pid_t pid;

	setenv("TWINGUARD_TEST_BREAK_PROG", "tg_h_kill", 1);
	harness_open(&h, NULL, 0);
	cr_expect_eq(probe_switched_off(h.probe), 1, "switched off: %u",
		     probe_switched_off(h.probe));
	pid = harness_child_ok(child_kill_and_open, NULL);
	cr_assert_not_null(harness_wait_ev(&h, TG_EV_OPEN, pid, SYS_openat),
			   "the working handlers must still report");
	cr_expect_eq(harness_count(&h, match_ev, &(struct ev_match){ .type = TG_EV_KILL, .tgid = pid,
								     .syscall_nr = -1 }), 0);
	/* its syscalls are not routed, so no tail call fails either */
	cr_assert_eq(probe_stats(h.probe, &st), 0);
	cr_expect_eq(st.tail_fail, 0);
}

Test(fallback, rejected_dispatcher_fails_the_load)
{
	struct tg_probe_opts o = { .ringbuf_bytes = 1 << 16 };
	struct tg_probe *p = NULL;
	int err;

	if (geteuid())
		cr_skip_test("needs root to load BPF");
	setenv("TWINGUARD_TEST_BREAK_PROG", "tg_sys_exit", 1);
	cr_assert_eq(probe_open(&p, &o), 0);
	err = probe_load(p);
	cr_expect_lt(err, 0, "without the dispatcher nothing can be watched");
	probe_close(p);
}
