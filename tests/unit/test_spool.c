// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The reliable sinks' on-disk spool (user/deliver/spool.c): order, the
 * acknowledged cursor across a reopen, the cap, torn and corrupt lines. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "deliver/spool.h"

static char dir[64];

static void setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/tg-spool.XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
}

static void teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	cr_assert_eq(system(cmd), 0);
}

TestSuite(spool, .init = setup, .fini = teardown);

static struct tg_record *rec(int i)
{
	char buf[128];
	cJSON *j;
	struct tg_record *r;

	snprintf(buf, sizeof(buf), "{\"event\":{\"kind\":\"alert\"},\"rule\":{\"name\":\"r\"},\"n\":%d}", i);
	j = cJSON_Parse(buf);
	r = record_new(TG_REC_ALERT, j);
	cJSON_Delete(j);
	cr_assert_not_null(r);
	return r;
}

static int rec_n(const struct tg_record *r)
{
	cJSON *j = cJSON_Parse(r->json);
	int n = (int)cJSON_GetObjectItem(j, "n")->valuedouble;

	cJSON_Delete(j);
	return n;
}

static void append_range(struct tg_spool *sp, int from, int to)
{
	for (int i = from; i < to; i++) {
		struct tg_record *r = rec(i);

		cr_assert_eq(spool_append(sp, &r, 1), 1, "append %d", i);
		record_put(r);
	}
}

/* Peek n, check they are first..first+n-1, ack k of them. */
static void take(struct tg_spool *sp, size_t n, int first, size_t k)
{
	struct tg_record *out[64];
	size_t got = spool_peek(sp, out, n);

	cr_assert_eq(got, n, "peeked %zu, expected %zu", got, n);
	for (size_t i = 0; i < got; i++) {
		cr_expect_eq(rec_n(out[i]), first + (int)i, "record %zu", i);
		cr_expect_eq(out[i]->kind, TG_REC_ALERT);
		record_put(out[i]);
	}
	cr_assert_eq(spool_ack(sp, k), 0);
}

Test(spool, order_and_ack)
{
	char err[256], sub[128];
	struct tg_spool *sp;

	snprintf(sub, sizeof(sub), "%s/s", dir);
	sp = spool_open(sub, 1 << 20, err, sizeof(err));
	cr_assert_not_null(sp, "%s", err);
	append_range(sp, 0, 10);
	cr_expect_eq(spool_pending(sp), 10);
	take(sp, 4, 0, 4);
	cr_expect_eq(spool_pending(sp), 6);
	/* not acknowledged: offered again */
	take(sp, 3, 4, 0);
	take(sp, 6, 4, 6);
	cr_expect_eq(spool_pending(sp), 0);
	struct tg_record *out[4];

	cr_expect_eq(spool_peek(sp, out, 4), 0);
	spool_close(sp);
}

Test(spool, cursor_survives_reopen)
{
	char err[256], sub[128];
	struct tg_spool *sp;

	snprintf(sub, sizeof(sub), "%s/s", dir);
	sp = spool_open(sub, 1 << 20, err, sizeof(err));
	cr_assert_not_null(sp, "%s", err);
	append_range(sp, 0, 20);
	take(sp, 7, 0, 5);  /* 5 acknowledged, 2 only sent */
	spool_close(sp);
	sp = spool_open(sub, 1 << 20, err, sizeof(err));
	cr_assert_not_null(sp, "%s", err);
	cr_expect_eq(spool_pending(sp), 15);
	take(sp, 15, 5, 15);
	append_range(sp, 20, 22);
	spool_close(sp);
	sp = spool_open(sub, 1 << 20, err, sizeof(err));
	cr_assert_not_null(sp, "%s", err);
	cr_expect_eq(spool_pending(sp), 2);
	take(sp, 2, 20, 2);
	spool_close(sp);
}

Test(spool, cap_drops_oldest_and_counts)
{
	char err[256], sub[128];
	struct tg_spool_stats st;
	struct tg_spool *sp;
	struct tg_record *out[64];
	size_t got;

	snprintf(sub, sizeof(sub), "%s/s", dir);
	/* 128 KiB cap: 16 KiB segments; ~60 bytes a record */
	sp = spool_open(sub, 128 << 10, err, sizeof(err));
	cr_assert_not_null(sp, "%s", err);
	append_range(sp, 0, 5000);
	spool_stats(sp, &st);
	cr_expect_leq(st.bytes, 128 << 10);
	cr_expect_gt(st.dropped, 0);
	cr_expect_eq(st.dropped + st.pending, 5000, "dropped %lu + pending %lu",
		     (unsigned long)st.dropped, (unsigned long)st.pending);
	/* what is left is the newest, in order */
	got = spool_peek(sp, out, 64);
	cr_assert_gt(got, 0);
	cr_expect_eq(rec_n(out[0]), (int)st.dropped);
	for (size_t i = 0; i < got; i++)
		record_put(out[i]);
	spool_close(sp);
}

Test(spool, torn_and_corrupt_lines)
{
	char err[256], sub[128], seg[256];
	struct tg_spool_stats st;
	struct tg_spool *sp;
	int fd;

	snprintf(sub, sizeof(sub), "%s/s", dir);
	sp = spool_open(sub, 1 << 20, err, sizeof(err));
	cr_assert_not_null(sp, "%s", err);
	append_range(sp, 0, 2);
	spool_close(sp);
	snprintf(seg, sizeof(seg), "%s/%020d.spool", sub, 1);
	fd = open(seg, O_WRONLY | O_APPEND);
	cr_assert_geq(fd, 0, "%s", seg);
	/* a corrupt whole line, then a good one, then a torn tail */
	cr_assert_eq(write(fd, "not json\n", 9), 9);
	cr_assert_eq(write(fd, "{\"event\":{\"kind\":\"alert\"},\"n\":2}\n", 33), 33);
	cr_assert_eq(write(fd, "{\"event\":", 9), 9);
	close(fd);
	sp = spool_open(sub, 1 << 20, err, sizeof(err));
	cr_assert_not_null(sp, "%s", err);
	take(sp, 2, 0, 2);
	take(sp, 1, 2, 1);
	spool_stats(sp, &st);
	cr_expect_eq(st.dropped, 1, "the corrupt line is counted");
	cr_expect_eq(st.pending, 0, "the torn tail is not a record");
	spool_close(sp);
}

Test(spool, unusable_dir_is_an_error)
{
	char err[256];

	cr_expect_null(spool_open("/proc/no/such/dir", 1 << 20, err, sizeof(err)));
	cr_expect_not_null(strstr(err, "/proc/no/such/dir"), "%s", err);
}
