// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The file sink (alerts_file) with the real agent: the bad days of issue
 * 8 end to end. Alerts come from the harness's barrier rule: rh_sync()
 * raises one, and a shell loop running the marker N times raises N, each
 * tagged by its argument ("burst-<worker pid>-<i>"), so every alert can be
 * found again in the stream (--output, the harness's own) and in the file
 * sink's files. Every agent on the host sees every test's markers: only
 * this worker's tags count.
 *
 *   test worker
 *     |-- agent  run --config (alerts_file = DIR/alerts.json ...) --output A
 *     |-- sh     a loop of rh-barrier-mark burst-<pid>-<i>: N alerts
 *     `-- tmpfs  (disk-full test) mounted on DIR/disk, unmounted at cleanup
 *
 * The verdict is read after rh_stop(), when the files are final: every
 * line whole JSON, and the file sink's barrier alerts exactly those of the
 * stream, no more (nothing duplicated) and no fewer (nothing lost). While
 * the agent runs, a poll may meet a line being written, so polls only
 * look for a tag.
 */
#include <sys/mount.h>
#include <zlib.h>

#include "rules_harness.h"

/* Noise control off: the bursts are identical alerts on purpose. */
#define QUIET "alert_rate_max = 0\nalert_dedup_s = 0\n"
#define FILE_DEADLINE_MS 45000  /* past a backoff of up to 30 s +25 % */
/* Rotated files kept in the rotation tests: enough for this test's alerts
 * and those of the tests running beside it (every agent sees them all). */
#define KEEP 50
#define KEEP_CONF "alerts_file_max_mb = 1\nalerts_file_keep = 50\n"

struct tags {
	char **v;
	size_t n, cap;
	size_t lines;     /* every line read, barrier or not */
	size_t max_len;   /* largest file, uncompressed */
};

static void tags_add(struct tags *t, const char *s)
{
	if (t->n == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 256;
		t->v = realloc(t->v, t->cap * sizeof(*t->v));
		cr_assert_not_null(t->v);
	}
	t->v[t->n++] = strdup(s);
}

static void tags_free(struct tags *t)
{
	for (size_t i = 0; i < t->n; i++)
		free(t->v[i]);
	free(t->v);
	memset(t, 0, sizeof(*t));
}

/* "burst-<pid>-" and "rh-sync-<pid>-": this worker's tags */
static bool own_tag(const char *tag)
{
	char burst[32], sync[32];

	snprintf(burst, sizeof(burst), "burst-%d-", (int)getpid());
	snprintf(sync, sizeof(sync), "rh-sync-%d-", (int)getpid());
	return !strncmp(tag, burst, strlen(burst)) || !strncmp(tag, sync, strlen(sync));
}

/* The index i of this worker's "burst-<pid>-<i>", or -1. */
static long burst_index(const char *tag)
{
	char burst[32];

	snprintf(burst, sizeof(burst), "burst-%d-", (int)getpid());
	return strncmp(tag, burst, strlen(burst)) ? -1 : strtol(tag + strlen(burst), NULL, 10);
}

/* This worker's barrier tag of an alert line (process.args[1]), or NULL. */
static const char *line_tag(const cJSON *j)
{
	const char *rule = rh_jstr(j, "rule.name");
	const cJSON *args = rh_jget(j, "process.args"), *a1;

	if (!rh__is_alert(j) || !rule || strcmp(rule, RH_BARRIER_RULE))
		return NULL;
	a1 = cJSON_GetArrayItem(args, 1);
	return cJSON_IsString(a1) && own_tag(a1->valuestring) ? a1->valuestring : NULL;
}

/* The whole file, through zlib (which reads a plain file as it is). */
static char *file_slurp(const char *path, size_t *len)
{
	gzFile f = gzopen(path, "rb");
	size_t cap = 1 << 16, n = 0;
	char *buf;
	int r;

	if (!f)
		return NULL;
	buf = malloc(cap);
	cr_assert_not_null(buf);
	while ((r = gzread(f, buf + n, (unsigned)(cap - n))) > 0) {
		n += (size_t)r;
		if (n == cap)
			buf = realloc(buf, cap *= 2);
	}
	cr_assert_eq(r, 0, "%s: read or decompression failed", path);
	gzclose(f);
	*len = n;
	return buf;
}

/*
 * Add the barrier tags of path to t. strict: every line must be whole
 * JSON (the agent is stopped); else a last line without its newline is
 * one being written, and skipped.
 */
static void file_scan(const char *path, bool strict, struct tags *t)
{
	size_t len, off = 0;
	char *buf = file_slurp(path, &len);

	if (!buf)
		return;
	if (len > t->max_len)
		t->max_len = len;
	while (off < len) {
		char *nl = memchr(buf + off, '\n', len - off);
		cJSON *j;

		if (!nl) {
			cr_assert(!strict, "%s ends in a partial line: %.80s", path, buf + off);
			break;
		}
		*nl = '\0';
		j = cJSON_Parse(buf + off);
		cr_assert(cJSON_IsObject(j) || !strict, "%s: line %zu is not whole JSON: %.120s",
			  path, t->lines + 1, buf + off);
		if (line_tag(j))
			tags_add(t, line_tag(j));
		t->lines++;
		cJSON_Delete(j);
		off = (size_t)(nl - buf) + 1;
	}
	free(buf);
}

/* The rotated files oldest first (.keep.gz or a plain .keep .. .1), then
 * the live file. */
static void files_scan(const char *base, unsigned keep, bool strict, struct tags *t)
{
	char p[PATH_MAX + 32];

	for (unsigned i = keep; i >= 1; i--) {
		snprintf(p, sizeof(p), "%s.%u.gz", base, i);
		file_scan(p, strict, t);
		snprintf(p, sizeof(p), "%s.%u", base, i);
		file_scan(p, strict, t);
	}
	file_scan(base, strict, t);
}

static void stream_tags(struct rh_agent *a, struct tags *t)
{
	rh_update(a);
	for (size_t i = 0; i < a->n; i++)
		if (line_tag(a->lines[i]))
			tags_add(t, line_tag(a->lines[i]));
}

static int tag_cmp(const void *x, const void *y)
{
	return strcmp(*(char *const *)x, *(char *const *)y);
}

/* The file sink has exactly the stream's barrier alerts: none lost, none
 * twice. Returns how many. */
static size_t expect_same_alerts(struct rh_agent *a, const char *base, unsigned keep)
{
	struct tags s = { 0 }, f = { 0 };
	size_t n;

	stream_tags(a, &s);
	files_scan(base, keep, true, &f);
	qsort(s.v, s.n, sizeof(*s.v), tag_cmp);
	qsort(f.v, f.n, sizeof(*f.v), tag_cmp);
	for (size_t i = 1; i < f.n; i++)
		cr_expect_str_neq(f.v[i - 1], f.v[i], "alert %s is in the files twice", f.v[i]);
	cr_expect_eq(f.n, s.n, "the file sink holds %zu barrier alerts, the stream %zu", f.n, s.n);
	for (size_t i = 0, j = 0; i < s.n && j < f.n; i++, j++)
		if (strcmp(s.v[i], f.v[j])) {
			cr_expect_fail("alert %s of the stream is not in the files (or %s extra)",
				       s.v[i], f.v[j]);
			break;
		}
	n = f.n;
	tags_free(&s);
	tags_free(&f);
	return n;
}

/* The tag of the last rh_sync() (the harness's format). */
static const char *last_sync_tag(const struct rh_agent *a)
{
	static char tag[64];

	snprintf(tag, sizeof(tag), "rh-sync-%d-%d-%u", (int)getpid(), (int)a->pid, a->barrier_seq);
	return tag;
}

/* Poll until the file sink's files hold tag (the sink has its own queue
 * and thread: rh_sync() waits for the stream only). */
static void wait_in_files(struct rh_agent *a, const char *base, unsigned keep, const char *tag)
{
	int64_t deadline = rh_now_ms() + FILE_DEADLINE_MS;

	for (;;) {
		struct tags t = { 0 };
		bool found = false;

		files_scan(base, keep, false, &t);
		for (size_t i = 0; i < t.n && !found; i++)
			found = !strcmp(t.v[i], tag);
		tags_free(&t);
		if (found)
			return;
		cr_assert(!rh_agent_exited(a), "agent exited; stderr:\n%s", rh_file_read(a->errf));
		cr_assert(rh_now_ms() < deadline, "alert %s not in %s after %d ms; stderr:\n%s", tag,
			  base, FILE_DEADLINE_MS, rh_file_read(a->errf));
		rh_nap();
	}
}

/* rh_sync(), then wait until the file sink has caught up with it. */
static void sync_files(struct rh_agent *a, const char *base, unsigned keep)
{
	rh_sync(a);
	wait_in_files(a, base, keep, last_sync_tag(a));
}

static void burst(struct rh_agent *a, unsigned n, unsigned from)
{
	rh_runf("i=%u; while [ $i -lt %u ]; do %s burst-%d-$i; i=$((i+1)); done", from, from + n,
		a->barrier, (int)getpid());
	rh_assert_ok("the burst");
}

static void wait_exists(struct rh_agent *a, const char *path)
{
	int64_t deadline = rh_now_ms() + RH_DEADLINE_MS;

	while (access(path, F_OK)) {
		cr_assert(!rh_agent_exited(a), "agent exited; stderr:\n%s", rh_file_read(a->errf));
		cr_assert(rh_now_ms() < deadline, "%s not there after %d ms", path, RH_DEADLINE_MS);
		rh_nap();
	}
}

static mode_t mode_of(const char *path)
{
	struct stat st;

	cr_assert_eq(stat(path, &st), 0, "stat %s: %s", path, strerror(errno));
	return st.st_mode & 07777;
}

static const char *conf_for(const char *base, const char *extra)
{
	static char text[PATH_MAX + 512];

	snprintf(text, sizeof(text), "alerts_file = %s\n" QUIET "%s", base, extra);
	return text;
}

/* static: the harness's cleanup reaches it after the test returned */
static struct rh_agent a;

TestSuite(filesink, .fini = rh_cleanup, .timeout = 180);

Test(filesink, alerts_are_whole_lines_in_a_0600_file)
{
	char base[PATH_MAX];

	snprintf(base, sizeof(base), "%s", rh_path("alerts.json"));
	rh_start_with(&a, NULL, conf_for(base, "alerts_file_max_mb = 0\n"));
	for (int i = 0; i < 5; i++)
		sync_files(&a, base, 0);
	cr_expect_eq(mode_of(base), 0600, "alerts_file mode %o", mode_of(base));
	rh_stop(&a);
	cr_expect_geq(expect_same_alerts(&a, base, 0), 5);
}

/* 1 MiB files: a burst of ~1500 alerts (~3 MiB) rotates at least once;
 * every .gz decompresses to whole lines, none over the limit, and the
 * files together hold exactly what the stream got. */
Test(filesink, rotates_into_gzip_without_losing_an_alert)
{
	char base[PATH_MAX], gz[PATH_MAX + 16];
	struct tags t = { 0 };

	snprintf(base, sizeof(base), "%s", rh_path("alerts.json"));
	snprintf(gz, sizeof(gz), "%s.1.gz", base);
	rh_start_with(&a, NULL, conf_for(base, KEEP_CONF));
	burst(&a, 1500, 0);
	sync_files(&a, base, KEEP);
	rh_stop(&a);
	cr_expect(access(gz, F_OK) == 0, "no rotation after 1500 alerts");
	cr_expect_eq(mode_of(gz), 0600);
	files_scan(base, KEEP, true, &t);
	cr_expect_leq(t.max_len, 1u << 20, "a file of %zu bytes, over alerts_file_max_mb", t.max_len);
	tags_free(&t);
	cr_expect_geq(expect_same_alerts(&a, base, KEEP), 1501);
}

/* logrotate: rename, then SIGUSR1. The old lines stay in the renamed
 * file, the next ones go to a new 0600 file at the path. */
Test(filesink, sigusr1_reopens_after_an_external_rename)
{
	char base[PATH_MAX], moved[PATH_MAX + 16];
	struct tags old = { 0 }, now = { 0 };

	snprintf(base, sizeof(base), "%s", rh_path("alerts.json"));
	snprintf(moved, sizeof(moved), "%s.rotated", base);
	rh_start_with(&a, NULL, conf_for(base, "alerts_file_max_mb = 0\n"));
	sync_files(&a, base, 0);
	sync_files(&a, base, 0);
	cr_assert_eq(rename(base, moved), 0);
	cr_assert_eq(kill(a.pid, SIGUSR1), 0);
	wait_exists(&a, base);
	sync_files(&a, base, 0);
	cr_expect_eq(mode_of(base), 0600);
	rh_stop(&a);
	file_scan(moved, true, &old);
	file_scan(base, true, &now);
	cr_expect_eq(old.n, 2, "the renamed file has %zu alerts, expected the first 2", old.n);
	cr_expect_geq(now.n, 1, "nothing was written to the reopened file");
	tags_free(&old);
	tags_free(&now);
}

/* rm alerts.json under the agent: recreated (0600) within a tick or so,
 * and the alerts after it are there. */
Test(filesink, deleted_file_is_recreated)
{
	char base[PATH_MAX];
	struct tags t = { 0 };

	snprintf(base, sizeof(base), "%s", rh_path("alerts.json"));
	rh_start_with(&a, NULL, conf_for(base, "alerts_file_max_mb = 0\n"));
	sync_files(&a, base, 0);
	cr_assert_eq(unlink(base), 0);
	wait_exists(&a, base);
	cr_expect_eq(mode_of(base), 0600);
	sync_files(&a, base, 0);
	rh_stop(&a);
	file_scan(base, true, &t);
	cr_expect_geq(t.n, 1);
	tags_free(&t);
	cr_expect_not_null(strstr(rh_file_read(a.errf), "was deleted: recreated it"),
			   "the loss was not reported; stderr:\n%s", rh_file_read(a.errf));
}

/* An operator removes the newest rotated file under the agent: rotation
 * goes on with the right names, and every later alert is kept. */
Test(filesink, rotated_file_deleted_under_the_agent)
{
	char base[PATH_MAX], gz1[PATH_MAX + 16];
	struct tags t = { 0 };
	size_t later = 0;
	unsigned removed = 0;

	snprintf(base, sizeof(base), "%s", rh_path("alerts.json"));
	snprintf(gz1, sizeof(gz1), "%s.1.gz", base);
	rh_start_with(&a, NULL, conf_for(base, KEEP_CONF));
	burst(&a, 900, 0);
	sync_files(&a, base, KEEP);
	wait_exists(&a, gz1);
	/* every rotated file there is now (a rotation may be shifting them) */
	for (unsigned i = 1; i <= KEEP; i++) {
		char p[PATH_MAX + 16];

		snprintf(p, sizeof(p), "%s.%u.gz", base, i);
		removed += unlink(p) == 0;
	}
	cr_assert_geq(removed, 1, "no rotated file to delete");
	burst(&a, 900, 1000);
	sync_files(&a, base, KEEP);
	rh_stop(&a);
	cr_expect_eq(access(gz1, F_OK), 0, "rotation stopped after the rotated file was deleted");
	files_scan(base, KEEP, true, &t);
	for (size_t i = 0; i < t.n; i++)
		later += burst_index(t.v[i]) >= 1000;
	cr_expect_eq(later, 900, "%zu of the 900 alerts after the deletion are in the files", later);
	tags_free(&t);
	cr_expect_null(strstr(rh_file_read(a.errf), "sink file:"), "errors; stderr:\n%s",
		       rh_file_read(a.errf));
}

/*
 * A 16 MiB disk, all but 128 KiB of it taken: a burst of ~450 KiB of
 * alerts fills it (and the alerts of the tests beside it; freeing the
 * filler leaves room for all of them). The agent stays up, the sink says why on stderr, the file
 * never holds a partial or glued line, and once the space is freed the
 * alerts kept in the queue are written: in the end the file has exactly
 * the stream's alerts.
 */
Test(filesink, disk_full_keeps_whole_lines_and_resumes)
{
	char disk[PATH_MAX], base[PATH_MAX + 16], filler[PATH_MAX + 16], cmd[PATH_MAX + 32];
	int64_t deadline;

	if (geteuid() != 0)
		cr_skip_test("mounting a tmpfs needs root");
	snprintf(disk, sizeof(disk), "%s", rh_path("disk"));
	cr_assert_eq(mkdir(disk, 0700), 0);
	cr_assert_eq(mount("tmpfs", disk, "tmpfs", 0, "size=16m,mode=0700"), 0, "mount: %s",
		     strerror(errno));
	snprintf(cmd, sizeof(cmd), "umount -l %s", disk);
	rh_defer_sh(cmd);
	snprintf(base, sizeof(base), "%s/alerts.json", disk);
	snprintf(filler, sizeof(filler), "%s/filler", disk);
	rh_setup_sh("head -c 16646144 /dev/zero > %s", filler);
	rh_start_with(&a, NULL, conf_for(base, "alerts_file_max_mb = 0\n"));
	sync_files(&a, base, 0);
	burst(&a, 200, 0);
	rh_sync(&a);
	deadline = rh_now_ms() + RH_DEADLINE_MS;
	while (!strstr(rh_file_read(a.errf), "No space left on device")) {
		cr_assert(rh_now_ms() < deadline, "the disk never filled; stderr:\n%s",
			  rh_file_read(a.errf));
		rh_nap();
	}
	cr_expect_not_null(strstr(rh_file_read(a.errf), "sink file: failed to write "),
			   "stderr:\n%s", rh_file_read(a.errf));
	rh_sync(&a); /* up, and the stream unaffected */
	cr_assert_eq(unlink(filler), 0);
	wait_in_files(&a, base, 0, last_sync_tag(&a));
	rh_stop(&a);
	cr_expect_geq(expect_same_alerts(&a, base, 0), 202);
}
