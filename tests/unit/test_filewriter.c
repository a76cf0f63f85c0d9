// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * filewriter: whole lines only, the mode, the counters, and the path
 * watched (deleted, moved, replaced, reopened). A short write is made
 * without root by RLIMIT_FSIZE: the kernel then writes up to the limit and
 * fails the rest with EFBIG, the same shape as a disk that fills mid-write
 * (the tmpfs disk-full tests are in test_sink_file.c).
 */
#include <criterion/criterion.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "deliver/filewriter.h"
#include "tmpdir.h"

#define MAX_RECS 4096

static struct tg_record *recs[MAX_RECS];
static size_t nrecs;

/* A record as record_new() would make it: one JSON line, no newline. */
static struct tg_record *rec_make(unsigned seq, size_t pad)
{
	struct tg_record *r = calloc(1, sizeof(*r));
	cJSON *j = cJSON_CreateObject();
	char *p = malloc(pad + 1);

	cr_assert(r && j && p && nrecs < MAX_RECS);
	memset(p, 'x', pad);
	p[pad] = '\0';
	cJSON_AddNumberToObject(j, "seq", seq);
	cJSON_AddStringToObject(j, "pad", p);
	r->seq = seq;
	r->kind = TG_REC_ALERT;
	r->json = cJSON_PrintUnformatted(j);
	r->json_len = strlen(r->json);
	r->refs = 1;
	cJSON_Delete(j);
	free(p);
	recs[nrecs++] = r;
	return r;
}

/* recs[from..from+n) with seq from.. and pad bytes of padding each */
static struct tg_record *const *rec_batch(size_t n, size_t pad)
{
	size_t from = nrecs;

	for (size_t i = 0; i < n; i++)
		rec_make((unsigned)(from + i), pad);
	return &recs[from];
}

static void fw_setup(void)
{
	tmp_setup();
	umask(0); /* the mode seen is the one fw_open asked for */
}

static void fw_teardown(void)
{
	for (size_t i = 0; i < nrecs; i++) {
		free(recs[i]->json);
		free(recs[i]);
	}
	nrecs = 0;
	tmp_teardown();
}

/*
 * Every line of path parsed: each must be a JSON object with "seq", the
 * file must end in '\n'. Returns the line count; seqs[] gets the values.
 */
static size_t file_seqs(const char *path, unsigned *seqs, size_t max)
{
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0, n = 0;
	ssize_t len;

	cr_assert_not_null(f, "open %s: %s", path, strerror(errno));
	while ((len = getline(&line, &cap, f)) > 0) {
		cJSON *j;

		cr_assert_eq(line[len - 1], '\n', "%s: line %zu has no newline (partial)", path,
			     n + 1);
		j = cJSON_Parse(line);
		cr_assert(cJSON_IsObject(j), "%s: line %zu is not JSON: %.80s", path, n + 1, line);
		cr_assert(cJSON_IsNumber(cJSON_GetObjectItem(j, "seq")), "%s: line %zu has no seq",
			  path, n + 1);
		cr_assert_lt(n, max);
		seqs[n++] = (unsigned)cJSON_GetObjectItem(j, "seq")->valuedouble;
		cJSON_Delete(j);
	}
	free(line);
	fclose(f);
	return n;
}

static size_t file_lines(const char *path)
{
	static unsigned seqs[MAX_RECS];

	return file_seqs(path, seqs, MAX_RECS);
}

static off_t file_size(const char *path)
{
	struct stat st;

	cr_assert_eq(stat(path, &st), 0, "stat %s: %s", path, strerror(errno));
	return st.st_size;
}

static mode_t file_mode(const char *path)
{
	struct stat st;

	cr_assert_eq(stat(path, &st), 0, "stat %s: %s", path, strerror(errno));
	return st.st_mode & 07777;
}

static struct tg_fw *fw_must_open(const char *path)
{
	char err[512] = "";
	struct tg_fw *fw = fw_open(path, 0600, err, sizeof(err));

	cr_assert_not_null(fw, "fw_open %s: %s", path, err);
	return fw;
}

static void fw_must_write(struct tg_fw *fw, struct tg_record *const *r, size_t n)
{
	char err[512] = "";

	cr_assert_eq(fw_write(fw, r, n, err, sizeof(err)), n, "fw_write: %s", err);
}

TestSuite(filewriter, .init = fw_setup, .fini = fw_teardown, .timeout = 30);

Test(filewriter, creates_0600_and_appends_whole_lines)
{
	const char *p = tmp_path("alerts.json");
	struct tg_fw *fw = fw_must_open(p);
	struct tg_record *const *b = rec_batch(10, 100);
	unsigned seqs[16];
	size_t bytes = 0;

	cr_expect_eq(file_mode(p), 0600, "mode %o", file_mode(p));
	fw_must_write(fw, b, 10);
	for (size_t i = 0; i < 10; i++)
		bytes += b[i]->json_len + 1;
	cr_expect_eq(fw_lines(fw), 10);
	cr_expect_eq(fw_bytes(fw), bytes);
	cr_expect_eq(fw_size(fw), bytes);
	cr_expect_eq(file_size(p), (off_t)bytes);
	fw_close(fw);

	/* reopened later: appended, not truncated */
	fw = fw_must_open(p);
	cr_expect_eq(fw_size(fw), bytes);
	fw_must_write(fw, rec_batch(5, 10), 5);
	fw_close(fw);
	cr_assert_eq(file_seqs(p, seqs, 16), 15);
	for (unsigned i = 0; i < 15; i++)
		cr_expect_eq(seqs[i], i);
}

Test(filewriter, existing_file_keeps_its_mode)
{
	const char *p = tmp_path("alerts.json");
	int fd = open(p, O_CREAT | O_WRONLY, 0640);

	cr_assert_geq(fd, 0);
	close(fd);
	fw_close(fw_must_open(p));
	cr_expect_eq(file_mode(p), 0640);
}

Test(filewriter, open_errors_name_the_path)
{
	char err[512] = "", link[PATH_MAX], fifo[PATH_MAX], dir[PATH_MAX], target[PATH_MAX];

	/* copies: tmp_path() has only four buffers */
	snprintf(link, sizeof(link), "%s", tmp_path("link.json"));
	snprintf(fifo, sizeof(fifo), "%s", tmp_path("fifo"));
	snprintf(dir, sizeof(dir), "%s", tmp_path("d"));
	snprintf(target, sizeof(target), "%s", tmp_path("target.json"));

	cr_expect_null(fw_open(tmp_path("nodir/alerts.json"), 0600, err, sizeof(err)));
	cr_expect(strstr(err, "failed to open ") && strstr(err, "nodir/alerts.json") &&
		  strstr(err, "directory") && strstr(err, "does not exist"), "%s", err);

	cr_assert_eq(symlink(target, link), 0);
	cr_expect_null(fw_open(link, 0600, err, sizeof(err)));
	cr_expect(strstr(err, "link.json") && strstr(err, "symbolic link"), "%s", err);
	cr_expect_eq(access(target, F_OK), -1, "followed the symlink");

	/* a FIFO without a reader must not hang the open */
	cr_assert_eq(mkfifo(fifo, 0600), 0);
	cr_expect_null(fw_open(fifo, 0600, err, sizeof(err)));
	cr_expect(strstr(err, "fifo"), "%s", err);

	cr_assert_eq(mkdir(dir, 0700), 0);
	cr_expect_null(fw_open(dir, 0600, err, sizeof(err)));
	cr_expect(strstr(err, "failed to open ") && strstr(err, "/d"), "%s", err);
}

/* The file limit falls inside record 3 of a batch: the two whole lines
 * stay, the partial third is cut off, and after the limit is lifted the
 * next write starts on a line of its own. */
Test(filewriter, short_write_is_cut_back_to_whole_lines)
{
	const char *p = tmp_path("alerts.json");
	struct tg_fw *fw = fw_must_open(p);
	struct tg_record *const *b = rec_batch(8, 200);
	size_t line = b[0]->json_len + 1;
	struct rlimit old, lim;
	char err[512] = "";
	unsigned seqs[16];
	size_t done;

	signal(SIGXFSZ, SIG_IGN);
	cr_assert_eq(getrlimit(RLIMIT_FSIZE, &old), 0);
	lim = old;
	lim.rlim_cur = 2 * line + line / 2;
	cr_assert_eq(setrlimit(RLIMIT_FSIZE, &lim), 0);
	done = fw_write(fw, b, 8, err, sizeof(err));
	cr_assert_eq(setrlimit(RLIMIT_FSIZE, &old), 0);

	cr_expect_eq(done, 2, "%zu whole records reported", done);
	cr_expect(strstr(err, "failed to write ") && strstr(err, "alerts.json") &&
		  strstr(err, "2 of 8"), "%s", err);
	cr_expect_eq(file_size(p), (off_t)(2 * line), "partial line left: size %lld",
		     (long long)file_size(p));
	cr_expect_eq(fw_lines(fw), 2);
	cr_expect_eq(fw_bytes(fw), 2 * line);
	cr_expect_eq(fw_size(fw), 2 * line);

	/* the caller offers the rest again */
	fw_must_write(fw, b + done, 8 - done);
	cr_assert_eq(file_seqs(p, seqs, 16), 8);
	for (unsigned i = 0; i < 8; i++)
		cr_expect_eq(seqs[i], i, "line %u has seq %u", i, seqs[i]);
	cr_expect_eq(fw_lines(fw), 8);
	fw_close(fw);
}

/* No room for even the first record: nothing is left in the file. */
Test(filewriter, no_room_writes_nothing)
{
	const char *p = tmp_path("alerts.json");
	struct tg_fw *fw = fw_must_open(p);
	struct tg_record *const *b = rec_batch(3, 50);
	struct rlimit old, lim;
	char err[512] = "";
	size_t done;

	fw_must_write(fw, b, 1);
	signal(SIGXFSZ, SIG_IGN);
	cr_assert_eq(getrlimit(RLIMIT_FSIZE, &old), 0);
	lim = old;
	lim.rlim_cur = (rlim_t)file_size(p) + 10;
	cr_assert_eq(setrlimit(RLIMIT_FSIZE, &lim), 0);
	done = fw_write(fw, b + 1, 2, err, sizeof(err));
	cr_assert_eq(setrlimit(RLIMIT_FSIZE, &old), 0);
	cr_expect_eq(done, 0);
	cr_expect_eq(file_lines(p), 1);
	cr_expect_eq(file_size(p), (off_t)(b[0]->json_len + 1));
	fw_close(fw);
}

Test(filewriter, check_same_file)
{
	const char *p = tmp_path("alerts.json");
	struct tg_fw *fw = fw_must_open(p);
	char err[512] = "";

	cr_expect_eq(fw_check(fw, err, sizeof(err)), FW_SAME, "%s", err);
	fw_close(fw);
}

Test(filewriter, deleted_file_is_recreated)
{
	const char *p = tmp_path("alerts.json");
	struct tg_fw *fw = fw_must_open(p);
	char err[512] = "";

	fw_must_write(fw, rec_batch(3, 10), 3);
	cr_assert_eq(unlink(p), 0);
	cr_expect_eq(fw_check(fw, err, sizeof(err)), FW_DELETED, "%s", err);
	cr_expect(strstr(err, "alerts.json was deleted"), "%s", err);
	cr_expect_eq(file_mode(p), 0600);
	fw_must_write(fw, rec_batch(2, 10), 2);
	cr_expect_eq(file_lines(p), 2);
	cr_expect_eq(fw_check(fw, err, sizeof(err)), FW_SAME, "%s", err);
	fw_close(fw);
}

Test(filewriter, moved_file_is_recreated_and_keeps_its_lines)
{
	const char *p = tmp_path("alerts.json"), *moved = tmp_path("alerts.json.old");
	struct tg_fw *fw = fw_must_open(p);
	char err[512] = "";

	fw_must_write(fw, rec_batch(3, 10), 3);
	cr_assert_eq(rename(p, moved), 0);
	cr_expect_eq(fw_check(fw, err, sizeof(err)), FW_MOVED, "%s", err);
	cr_expect(strstr(err, "moved away"), "%s", err);
	fw_must_write(fw, rec_batch(4, 10), 4);
	cr_expect_eq(file_lines(moved), 3);
	cr_expect_eq(file_lines(p), 4);
	cr_expect_eq(file_mode(p), 0600);
	fw_close(fw);
}

/* logrotate's "create" without a signal: a new file already at the path */
Test(filewriter, replaced_file_is_followed)
{
	const char *p = tmp_path("alerts.json"), *moved = tmp_path("alerts.json.1");
	struct tg_fw *fw = fw_must_open(p);
	char err[512] = "";
	int fd;

	fw_must_write(fw, rec_batch(1, 10), 1);
	cr_assert_eq(rename(p, moved), 0);
	fd = open(p, O_CREAT | O_WRONLY, 0600);
	cr_assert_geq(fd, 0);
	close(fd);
	cr_expect_eq(fw_check(fw, err, sizeof(err)), FW_MOVED, "%s", err);
	cr_expect(strstr(err, "replaced"), "%s", err);
	fw_must_write(fw, rec_batch(2, 10), 2);
	cr_expect_eq(file_lines(moved), 1);
	cr_expect_eq(file_lines(p), 2);
	fw_close(fw);
}

/* A symlink planted at the path is not followed: the check fails and the
 * writer stays on its old file. */
Test(filewriter, symlink_planted_at_path_is_refused)
{
	const char *p = tmp_path("alerts.json"), *moved = tmp_path("mine.json");
	const char *evil = tmp_path("evil.json");
	struct tg_fw *fw = fw_must_open(p);
	char err[512] = "";

	cr_assert_eq(rename(p, moved), 0);
	cr_assert_eq(symlink(evil, p), 0);
	cr_expect_eq(fw_check(fw, err, sizeof(err)), -1, "%s", err);
	cr_expect(strstr(err, "symbolic link"), "%s", err);
	fw_must_write(fw, rec_batch(1, 10), 1);
	cr_expect_eq(file_lines(moved), 1);
	cr_expect_eq(access(evil, F_OK), -1, "wrote through the symlink");
	fw_close(fw);
}

Test(filewriter, directory_gone_fails_the_check)
{
	const char *d = tmp_path("logs"), *p = tmp_path("logs/alerts.json");
	struct tg_fw *fw;
	char err[512] = "";

	cr_assert_eq(mkdir(d, 0700), 0);
	fw = fw_must_open(p);
	cr_assert_eq(unlink(p), 0);
	cr_assert_eq(rmdir(d), 0);
	cr_expect_eq(fw_check(fw, err, sizeof(err)), -1);
	cr_expect(strstr(err, "logs/alerts.json") && strstr(err, "does not exist"), "%s", err);
	fw_close(fw);
}

Test(filewriter, reopen_after_external_rename)
{
	const char *p = tmp_path("alerts.json"), *moved = tmp_path("alerts.json.1");
	struct tg_fw *fw = fw_must_open(p);
	char err[512] = "";

	fw_must_write(fw, rec_batch(2, 10), 2);
	cr_assert_eq(rename(p, moved), 0);
	fw_must_write(fw, rec_batch(1, 10), 1); /* still the old file, as logrotate expects */
	cr_assert_eq(fw_reopen(fw, err, sizeof(err)), 0, "%s", err);
	fw_must_write(fw, rec_batch(4, 10), 4);
	cr_expect_eq(file_lines(moved), 3);
	cr_expect_eq(file_lines(p), 4);
	cr_expect_eq(fw_lines(fw), 7, "the totals span reopens");
	cr_expect_eq(fw_size(fw), (uint64_t)file_size(p));
	fw_close(fw);
}

/* copytruncate: the file is cut to 0 under the writer; the size follows
 * and a short write after it still cuts back to the right place. */
Test(filewriter, size_follows_an_external_truncate)
{
	const char *p = tmp_path("alerts.json");
	struct tg_fw *fw = fw_must_open(p);

	fw_must_write(fw, rec_batch(5, 100), 5);
	cr_assert_eq(truncate(p, 0), 0);
	cr_expect_eq(fw_size(fw), 0);
	fw_must_write(fw, rec_batch(1, 100), 1);
	cr_expect_eq(file_lines(p), 1);
	cr_expect_eq(fw_size(fw), (uint64_t)file_size(p));
	fw_close(fw);
}

Test(filewriter, empty_batch_and_null_close)
{
	const char *p = tmp_path("alerts.json");
	struct tg_fw *fw = fw_must_open(p);
	char err[8] = "";

	cr_expect_eq(fw_write(fw, NULL, 0, err, sizeof(err)), 0);
	cr_expect_eq(file_size(p), 0);
	cr_expect_str_eq(fw_path(fw), p);
	fw_close(fw);
	fw_close(NULL);
}
