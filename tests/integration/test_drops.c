// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Ring buffer overflow: with the smallest ring (one page, ~20 open records)
 * and nobody consuming, a child's flood of opens must be accounted for:
 * every record is either delivered or counted as a drop, never lost
 * silently. Its own binary, so its probe is the only one in the process and
 * its flood does not disturb the other tests.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "helpers.h"

#define RING_BYTES 4096   /* one page: the smallest ring the kernel accepts */
#define FLOOD 20000

static struct tg_harness h;
static char *dir;
static char path[PATH_MAX];
static long *opened; /* shared: successful opens the child made */
static volatile int *stop; /* shared: the test saw what it waited for */

static void setup(void)
{
	int fd;

	harness_open(&h, NULL, RING_BYTES);
	dir = tmpdir_make();
	cr_assert_lt(snprintf(path, sizeof(path), "%s/flood", dir), PATH_MAX);
	fd = open(path, O_WRONLY | O_CREAT, 0644);
	cr_assert_geq(fd, 0);
	close(fd);
	opened = shared_alloc(sizeof(*opened));
	*opened = 0;
	stop = shared_alloc(sizeof(*stop));
}

static void teardown(void)
{
	harness_close(&h);
	tmpdir_remove(dir);
	free(dir);
	dir = NULL;
	shared_free(opened, sizeof(*opened));
	opened = NULL;
	shared_free((void *)stop, sizeof(*stop));
	stop = NULL;
}

TestSuite(drops, .init = setup, .fini = teardown, .timeout = 120);

static void child_flood(void *arg)
{
	long n = arg ? *(long *)arg : FLOOD;

	for (long i = 0; i < n; i++) {
		int fd = (int)syscall(SYS_openat, AT_FDCWD, path, O_RDONLY, 0);

		if (fd < 0)
			_exit(10);
		close(fd);
		(*opened)++;
	}
}

static bool match_flood(const struct tg_event *ev, void *arg)
{
	const char *s = event_str(ev, 0);

	return ev->hdr.type == TG_EV_OPEN && ev->hdr.tgid == *(uint32_t *)arg && s &&
	       strcmp(s, path) == 0;
}

Test(drops, full_ring_counts_every_lost_record)
{
	struct tg_stats before, mid, after;
	size_t received, mine, n0;
	long one = 1;
	bool found;
	pid_t pid;

	/* Start from an empty ring, then stop consuming. */
	harness_drain(&h);
	n0 = h.n;
	cr_assert_eq(probe_stats(h.probe, &before), 0);
	pid = harness_child_ok(child_flood, NULL);
	cr_assert_eq(*opened, FLOOD);
	cr_assert_eq(probe_stats(h.probe, &mid), 0);

	/* Counted: the ring overflowed and said so. */
	cr_expect_gt(mid.drops - before.drops, 0, "no drop counted with a %d-byte ring",
		     RING_BYTES);
	cr_expect_gt(mid.events - before.events, 0);
	cr_expect_geq(mid.drop_bytes - before.drop_bytes,
		      (mid.drops - before.drops) * TG_EVENT_FIXED_SIZE,
		      "drop_bytes %llu for %llu drops", (unsigned long long)mid.drop_bytes,
		      (unsigned long long)mid.drops);
	/* Every open of the file was attempted as a record: delivered or dropped. */
	cr_expect_geq((mid.events - before.events) + (mid.drops - before.drops), FLOOD,
		      "events %llu + drops %llu < %d opens",
		      (unsigned long long)(mid.events - before.events),
		      (unsigned long long)(mid.drops - before.drops), FLOOD);

	/* Everything submitted before mid is still in the ring: drain it. */
	harness_drain(&h);
	received = h.n - n0;
	mine = harness_count(&h, match_flood, &pid);
	cr_expect_eq(h.invalid, 0, "%zu malformed records", h.invalid);
	cr_expect_geq(received, mid.events - before.events,
		      "received %zu of %llu submitted records", received,
		      (unsigned long long)(mid.events - before.events));
	cr_expect_gt(received, 0, "nothing got through");
	cr_expect_lt(mine, FLOOD, "a one-page ring cannot hold %d records", FLOOD);
	/* Nothing silently lost: the child's delivered records plus every
	 * drop account for each of its opens. */
	cr_assert_eq(probe_stats(h.probe, &after), 0);
	cr_expect_geq(mine + (after.drops - before.drops), (size_t)FLOOD,
		      "delivered %zu + dropped %llu < %d opens", mine,
		      (unsigned long long)(after.drops - before.drops), FLOOD);
	/* and each delivered one is well formed */
	for (size_t i = 0; i < mine; i++) {
		const struct tg_event *ev = harness_nth(&h, match_flood, &pid, i);

		cr_assert_not_null(ev);
		cr_expect_eq(ev->hdr.ppid, (uint32_t)getpid());
		cr_expect_geq(ev->hdr.ret, 0);
		if (i > 2) /* spot checks are enough */
			break;
	}

	/* Once consumed, the ring delivers again: the child opens until a
	 * record of it arrives (other processes share this one-page ring). */
	*stop = 0;
	*opened = 0;
	harness_drain(&h);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		for (long i = 0; i < 10 * FLOOD && !*stop; i++)
			child_flood(&one);
		_exit(0);
	}
	found = harness_wait(&h, match_flood, &pid, HARNESS_WAIT_MS) != NULL;
	*stop = 1;
	harness_reap(pid, HARNESS_CHILD_MS);
	cr_expect(found, "no record after the ring was drained (%ld opens)", *opened);
}
