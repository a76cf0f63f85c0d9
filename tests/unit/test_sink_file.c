// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The file sink (alerts_file) driven through its ops, as the worker in
 * deliver.c drives it: init from a hand-built config, open, send batches,
 * tick, reopen. sink_error() and sink_drop() count into a real worker
 * struct (worker.c's), with no thread behind it, so that each test can say
 * exactly how many errors a fault costs.
 *
 * Suites:
 *   sink_file        rotation names and count, every .gz decompresses to
 *                    exactly the lines written, nothing lost across
 *                    rotations, keep, deleted/moved file, reopen
 *   sink_file_fault  root: a tmpfs of a few pages mounted by the test;
 *                    disk full while writing and while compressing
 */
#include <criterion/criterion.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "deliver/sink.h"
#include "deliver/worker.h"
#include "tmpdir.h"

#define LINE 1000               /* bytes per record line, newline included */
#define MIB (1u << 20)
#define PER_FILE (MIB / LINE)   /* whole lines that fit under a 1 MiB limit */

static struct tg_config cfg;
/* the worker's counters are real (worker.c); no thread is started */
static struct tg_sink_worker wk;
static struct tg_record **recs;
static size_t nrecs, caprecs;
static char mnt[PATH_MAX];      /* the fault suite's tmpfs */
static unsigned *seqbuf;        /* freed by the fini, also after a failed assert */

static unsigned *seq_alloc(size_t n)
{
	seqbuf = calloc(n, sizeof(*seqbuf));
	cr_assert_not_null(seqbuf);
	return seqbuf;
}

/* seq-numbered records with lines of exactly `line` bytes */
static struct tg_record **rec_batch(size_t n, size_t line)
{
	size_t from = nrecs;

	if (nrecs + n > caprecs) {
		caprecs = (nrecs + n) * 2;
		recs = realloc(recs, caprecs * sizeof(*recs));
		cr_assert_not_null(recs);
	}
	for (size_t i = 0; i < n; i++) {
		struct tg_record *r = calloc(1, sizeof(*r));
		cJSON *j = cJSON_CreateObject();
		char *pad;
		size_t base;

		cr_assert(r && j);
		cJSON_AddNumberToObject(j, "seq", (double)nrecs);
		cJSON_AddStringToObject(j, "pad", "");
		r->json = cJSON_PrintUnformatted(j);
		base = strlen(r->json) + 1;
		cr_assert_geq(line, base);
		free(r->json);
		pad = malloc(line - base + 1);
		cr_assert_not_null(pad);
		memset(pad, 'a' + (int)(nrecs % 26), line - base);
		pad[line - base] = '\0';
		cJSON_ReplaceItemInObject(j, "pad", cJSON_CreateString(pad));
		r->json = cJSON_PrintUnformatted(j);
		r->json_len = strlen(r->json);
		cr_assert_eq(r->json_len + 1, line);
		r->seq = nrecs;
		r->kind = TG_REC_ALERT;
		r->refs = 1;
		free(pad);
		cJSON_Delete(j);
		recs[nrecs++] = r;
	}
	return &recs[from];
}

static void sf_setup(void)
{
	tmp_setup();
	umask(0);
}

static void sf_teardown(void)
{
	if (wk.sink.ops) {
		wk.sink.ops->close(&wk.sink);
		wk.sink.ops->destroy(&wk.sink);
	}
	free(cfg.alerts_file);
	for (size_t i = 0; i < nrecs; i++) {
		free(recs[i]->json);
		free(recs[i]);
	}
	free(recs);
	free(seqbuf);
	if (mnt[0])
		umount2(mnt, MNT_DETACH);
	tmp_teardown();
}

static int sf_init(const char *path, unsigned max_mb, unsigned keep, char *err, size_t errlen)
{
	memset(&cfg, 0, sizeof(cfg));
	memset(&wk, 0, sizeof(wk));
	pthread_mutex_init(&wk.mu, NULL);
	wk.sink.w = &wk;
	cfg.alerts_file = path ? strdup(path) : NULL;
	cfg.alerts_file_max_mb = max_mb;
	cfg.alerts_file_keep = keep;
	snprintf(wk.sink.name, sizeof(wk.sink.name), "file");
	wk.sink.cfg = &cfg;
	return sink_file_init(&wk.sink, err, errlen);
}

static void sf_start(const char *path, unsigned max_mb, unsigned keep)
{
	char err[512] = "";

	cr_assert_eq(sf_init(path, max_mb, keep, err, sizeof(err)), 0, "init: %s", err);
	cr_assert_eq(wk.sink.ops->open(&wk.sink), 0, "open: %s", wk.last_error);
}

/* As the worker does: batches of batch_max; stops at the first failure.
 * Returns how many were delivered. */
static size_t sf_send(struct tg_record **r, size_t n)
{
	size_t done = 0;

	while (done < n) {
		size_t k = n - done < wk.sink.batch_max ? n - done : wk.sink.batch_max;
		size_t w = wk.sink.ops->send(&wk.sink, r + done, k);

		cr_assert_leq(w, k);
		done += w;
		if (w < k)
			break;
	}
	return done;
}

static void sf_send_all(struct tg_record **r, size_t n)
{
	cr_assert_eq(sf_send(r, n), n, "send: %s", wk.last_error);
}

/* The whole file, decompressed when gz. */
static char *file_read(const char *path, bool gz, size_t *len)
{
	gzFile f = gzopen(path, "rb");
	size_t cap = 1 << 16, n = 0;
	char *buf = malloc(cap);
	int r;

	cr_assert_not_null(f, "open %s: %s", path, strerror(errno));
	if (gz) {
		unsigned char magic[2] = { 0 };
		FILE *raw = fopen(path, "rb");

		cr_assert_not_null(raw);
		cr_assert_eq(fread(magic, 1, 2, raw), 2, "%s is empty", path);
		fclose(raw);
		cr_assert(magic[0] == 0x1f && magic[1] == 0x8b, "%s is not gzip", path);
	}
	while ((r = gzread(f, buf + n, (unsigned)(cap - n))) > 0) {
		n += (size_t)r;
		if (n == cap)
			buf = realloc(buf, cap *= 2);
	}
	cr_assert_eq(r, 0, "%s: decompression failed", path);
	gzclose(f);
	*len = n;
	return buf;
}

/*
 * The lines of path (gz: decompressed): each must be a whole JSON object
 * whose seq follows the previous one. Appends the seqs to seqs[*n].
 * Returns the file's uncompressed size.
 */
static size_t file_collect(const char *path, bool gz, unsigned *seqs, size_t *n, size_t max)
{
	size_t len, off = 0;
	char *buf = file_read(path, gz, &len);

	cr_assert(len == 0 || buf[len - 1] == '\n', "%s ends in a partial line", path);
	while (off < len) {
		char *nl = memchr(buf + off, '\n', len - off);
		cJSON *j, *seq;

		cr_assert_not_null(nl);
		*nl = '\0';
		j = cJSON_Parse(buf + off);
		seq = cJSON_GetObjectItem(j, "seq");
		cr_assert(cJSON_IsNumber(seq), "%s: not a whole record at byte %zu: %.60s", path,
			  off, buf + off);
		cr_assert_lt(*n, max);
		seqs[(*n)++] = (unsigned)seq->valuedouble;
		cJSON_Delete(j);
		off = (size_t)(nl - buf) + 1;
	}
	free(buf);
	return len;
}

static bool exists(const char *path)
{
	return access(path, F_OK) == 0;
}

/* "<alerts>.<i><suffix>" in one of four buffers */
static const char *rot(const char *base, unsigned i, const char *suffix)
{
	static char b[4][PATH_MAX + 32];
	static unsigned k;
	char *o = b[k++ % 4];
	int len = snprintf(o, PATH_MAX + 32, "%s.%u%s", base, i, suffix);

	cr_assert(len > 0 && len < PATH_MAX + 32);
	return o;
}

/* seqs[0..n) are first, first+1, ... */
static void expect_run(const unsigned *seqs, size_t n, unsigned first)
{
	for (size_t i = 0; i < n; i++)
		cr_assert_eq(seqs[i], first + i, "line %zu has seq %u, expected %zu (lost or "
			     "reordered)", i, seqs[i], first + i);
}

/*
 * Read rotated files .keep..1 (gz, or plain where gz[i] is false; absent
 * ones skipped when allowed) then the live file, checking that every line
 * is whole and the seqs run without a gap. Returns the line count.
 */
static size_t collect_all(const char *p, unsigned keep, unsigned *seqs, size_t max)
{
	size_t n = 0;

	for (unsigned i = keep; i >= 1; i--) {
		if (exists(rot(p, i, ".gz")))
			file_collect(rot(p, i, ".gz"), true, seqs, &n, max);
		if (exists(rot(p, i, "")))
			file_collect(rot(p, i, ""), false, seqs, &n, max);
	}
	file_collect(p, false, seqs, &n, max);
	return n;
}

TestSuite(sink_file, .init = sf_setup, .fini = sf_teardown, .timeout = 60);

Test(sink_file, init_checks_the_path)
{
	char err[512] = "";

	cr_expect_eq(sf_init("relative.json", 1, 1, err, sizeof(err)), -1);
	cr_expect(strstr(err, "alerts_file") && strstr(err, "absolute path"), "%s", err);
	free(cfg.alerts_file);

	cr_expect_eq(sf_init(tmp_path("missing/alerts.json"), 1, 1, err, sizeof(err)), -1);
	cr_expect(strstr(err, "alerts_file: failed to open ") && strstr(err, "missing") &&
		  strstr(err, "does not exist"), "%s", err);
	free(cfg.alerts_file);

	cr_expect_eq(sf_init(NULL, 1, 1, err, sizeof(err)), -1);
	cr_expect(strstr(err, "alerts_file"), "%s", err);
	cfg.alerts_file = NULL;
	cr_expect_null(wk.sink.ops);
}

Test(sink_file, init_sets_the_sink_up)
{
	const char *p = tmp_path("alerts.json");

	sf_start(p, 1, 3);
	cr_expect_str_eq(wk.sink.ops->kind, "file");
	cr_expect_not(wk.sink.ops->reliable);
	cr_expect_eq(wk.sink.kinds, TG_REC_ALERT_STREAM);
	cr_expect_gt(wk.sink.batch_max, 0);
	cr_expect_str_eq(wk.sink.target, p);
	cr_expect_eq(wk.errors, 0);
}

Test(sink_file, writes_json_lines_0600)
{
	const char *p = tmp_path("alerts.json");
	unsigned seqs[64];
	size_t n = 0;
	struct stat st;

	sf_start(p, 0, 0);
	sf_send_all(rec_batch(40, 300), 40);
	cr_assert_eq(stat(p, &st), 0);
	cr_expect_eq(st.st_mode & 07777, 0600, "mode %o", st.st_mode & 07777);
	file_collect(p, false, seqs, &n, 64);
	cr_expect_eq(n, 40);
	expect_run(seqs, n, 0);
	cr_expect_eq(wk.errors, 0, "%s", wk.last_error);
}

/* 3.5 files' worth with keep 5: .3.gz .2.gz .1.gz and the live file,
 * each rotated one cut at the limit, all in order, none lost. */
Test(sink_file, rotates_at_the_size_into_gzip)
{
	const char *p = tmp_path("alerts.json");
	size_t total = PER_FILE * 3 + PER_FILE / 2, n = 0;
	unsigned *seqs = seq_alloc(total);
	struct stat st;

	sf_start(p, 1, 5);
	sf_send_all(rec_batch(total, LINE), total);
	cr_expect_eq(wk.errors, 0, "%s", wk.last_error);
	for (unsigned i = 1; i <= 3; i++) {
		size_t len, before = n;

		cr_assert(exists(rot(p, i, ".gz")), "%s missing", rot(p, i, ".gz"));
		cr_expect_not(exists(rot(p, i, "")), "%s left uncompressed", rot(p, i, ""));
		cr_assert_eq(stat(rot(p, i, ".gz"), &st), 0);
		cr_expect_eq(st.st_mode & 07777, 0600);
		len = file_collect(rot(p, i, ".gz"), true, seqs, &n, total);
		cr_expect_leq(len, MIB, "%s holds %zu bytes, over the limit", rot(p, i, ".gz"), len);
		cr_expect_gt(len, MIB - LINE, "%s rotated early at %zu bytes", rot(p, i, ".gz"), len);
		cr_expect_eq(n - before, PER_FILE);
	}
	cr_expect_not(exists(rot(p, 4, ".gz")));
	cr_expect_not(exists(rot(p, 1, ".gz.tmp")));
	n = collect_all(p, 5, seqs, total);
	cr_expect_eq(n, total, "%zu of %zu lines in the files", n, total);
	expect_run(seqs, n, 0);
}

/* keep 2 after five files' worth: .2.gz .1.gz and the live file hold the
 * newest lines without a gap; older files are gone. */
Test(sink_file, keep_is_honoured)
{
	const char *p = tmp_path("alerts.json");
	size_t total = PER_FILE * 5 + 10, n;
	unsigned *seqs = seq_alloc(total);

	sf_start(p, 1, 2);
	sf_send_all(rec_batch(total, LINE), total);
	cr_expect_eq(wk.errors, 0, "%s", wk.last_error);
	cr_expect(exists(rot(p, 1, ".gz")) && exists(rot(p, 2, ".gz")));
	cr_expect_not(exists(rot(p, 3, ".gz")));
	cr_expect_not(exists(rot(p, 3, "")));
	n = collect_all(p, 2, seqs, total);
	cr_expect_eq(n, 2 * PER_FILE + 10);
	expect_run(seqs, n, (unsigned)(total - n));
}

Test(sink_file, keep_zero_keeps_no_rotated_file)
{
	const char *p = tmp_path("alerts.json");
	size_t total = PER_FILE * 2 + 5, n;
	unsigned *seqs = seq_alloc(total);

	sf_start(p, 1, 0);
	sf_send_all(rec_batch(total, LINE), total);
	cr_expect_not(exists(rot(p, 1, ".gz")));
	cr_expect_not(exists(rot(p, 1, "")));
	n = collect_all(p, 0, seqs, total);
	cr_expect_eq(n, 5);
	expect_run(seqs, n, (unsigned)(total - 5));
}

/* Rotated files of an earlier, larger keep and a crash's leftover .tmp
 * go at the next rotation. */
Test(sink_file, rotation_prunes_leftovers)
{
	const char *p = tmp_path("alerts.json");
	const char *old[] = { ".9.gz", ".3", ".2.gz.tmp", ".12.gz" };
	char name[PATH_MAX + 32];

	for (size_t i = 0; i < 4; i++) {
		snprintf(name, sizeof(name), "%s%s", p, old[i]);
		cr_assert_eq(close(open(name, O_CREAT | O_WRONLY, 0600)), 0);
	}
	snprintf(name, sizeof(name), "%s.notes", p);
	cr_assert_eq(close(open(name, O_CREAT | O_WRONLY, 0600)), 0);
	sf_start(p, 1, 2);
	sf_send_all(rec_batch(PER_FILE + 1, LINE), PER_FILE + 1);
	for (size_t i = 0; i < 4; i++) {
		snprintf(name, sizeof(name), "%s%s", p, old[i]);
		cr_expect_not(exists(name), "%s survived the rotation", name);
	}
	snprintf(name, sizeof(name), "%s.notes", p);
	cr_expect(exists(name), "a file that is not a rotated one was removed");
	cr_expect(exists(rot(p, 1, ".gz")));
	cr_expect_eq(wk.errors, 0, "%s", wk.last_error);
}

/* When compression fails the rotated file stays, uncompressed and whole,
 * is shifted like the others, and the error is counted. A directory in
 * the way of the temp name makes it fail without root. */
Test(sink_file, compression_failure_keeps_the_rotated_file)
{
	const char *p = tmp_path("alerts.json");
	size_t total = PER_FILE * 3 + 1, n;
	unsigned *seqs = seq_alloc(total);

	cr_assert_eq(mkdir(rot(p, 1, ".gz.tmp"), 0700), 0);
	sf_start(p, 1, 5);
	sf_send_all(rec_batch(PER_FILE * 2 + 1, LINE), PER_FILE * 2 + 1);
	cr_expect_eq(wk.errors, 2, "one error per failed compression, got %llu", (unsigned long long)wk.errors);
	cr_expect(strstr(wk.last_error, "failed to compress ") && strstr(wk.last_error, "alerts.json.1") &&
		  strstr(wk.last_error, "kept it uncompressed"), "%s", wk.last_error);
	cr_expect(exists(rot(p, 1, "")) && exists(rot(p, 2, "")));
	cr_expect_not(exists(rot(p, 1, ".gz")));

	/* fixed: the next rotation compresses again, the plain ones stay */
	cr_assert_eq(rmdir(rot(p, 1, ".gz.tmp")), 0);
	sf_send_all(rec_batch(PER_FILE, LINE), PER_FILE);
	cr_expect(exists(rot(p, 1, ".gz")) && exists(rot(p, 2, "")) && exists(rot(p, 3, "")));
	n = collect_all(p, 5, seqs, total);
	cr_expect_eq(n, total);
	expect_run(seqs, n, 0);
}

/* A record larger than the limit is written whole, in a file of its own. */
Test(sink_file, record_over_the_limit_gets_its_own_file)
{
	const char *p = tmp_path("alerts.json");
	unsigned seqs[8];
	size_t n = 0;

	sf_start(p, 1, 5);
	sf_send_all(rec_batch(1, 100), 1);
	sf_send_all(rec_batch(1, MIB + MIB / 2), 1);
	sf_send_all(rec_batch(1, 100), 1);
	file_collect(rot(p, 2, ".gz"), true, seqs, &n, 8);
	file_collect(rot(p, 1, ".gz"), true, seqs, &n, 8);
	file_collect(p, false, seqs, &n, 8);
	cr_expect_eq(n, 3);
	expect_run(seqs, n, 0);
}

/* Rotated files removed by an operator between rotations: the next
 * rotations go on with the right names and no error. */
Test(sink_file, rotated_file_deleted_under_the_sink)
{
	const char *p = tmp_path("alerts.json");

	sf_start(p, 1, 3);
	sf_send_all(rec_batch(PER_FILE + 1, LINE), PER_FILE + 1);
	cr_assert_eq(unlink(rot(p, 1, ".gz")), 0);
	sf_send_all(rec_batch(PER_FILE * 2, LINE), PER_FILE * 2);
	cr_expect(exists(rot(p, 1, ".gz")) && exists(rot(p, 2, ".gz")));
	cr_expect_not(exists(rot(p, 3, ".gz")));
	cr_expect_eq(wk.errors, 0, "%s", wk.last_error);
}

/* An external rotation that moves the live file and deletes it at once
 * (the file deleted under the sink): the next tick recreates it, counts
 * the loss as an error, and lines go to the new file. */
Test(sink_file, deleted_file_is_recreated_by_tick)
{
	const char *p = tmp_path("alerts.json");
	unsigned seqs[16];
	size_t n = 0;
	struct stat st;

	sf_start(p, 0, 0);
	sf_send_all(rec_batch(3, 200), 3);
	cr_assert_eq(rename(p, tmp_path("alerts.json.x")), 0);
	cr_assert_eq(unlink(tmp_path("alerts.json.x")), 0);
	cr_expect_eq(wk.sink.ops->tick(&wk.sink), 0);
	cr_expect_eq(wk.errors, 1);
	cr_expect(strstr(wk.last_error, "deleted") && strstr(wk.last_error, "recreated"), "%s",
		  wk.last_error);
	cr_assert_eq(stat(p, &st), 0, "not recreated");
	cr_expect_eq(st.st_mode & 07777, 0600);
	sf_send_all(rec_batch(2, 200), 2);
	file_collect(p, false, seqs, &n, 16);
	cr_expect_eq(n, 2);
	expect_run(seqs, n, 3);
	cr_expect_eq(wk.sink.ops->tick(&wk.sink), 0);
	cr_expect_eq(wk.errors, 1, "a healthy tick counted an error: %s", wk.last_error);
}

/* Moved away (rotation without a signal): followed, nothing lost, no
 * error. */
Test(sink_file, moved_file_is_recreated_by_tick)
{
	const char *p = tmp_path("alerts.json"), *moved = tmp_path("alerts.json.old");
	unsigned seqs[16];
	size_t n = 0;

	sf_start(p, 0, 0);
	sf_send_all(rec_batch(3, 200), 3);
	cr_assert_eq(rename(p, moved), 0);
	cr_expect_eq(wk.sink.ops->tick(&wk.sink), 0);
	cr_expect(exists(p));
	sf_send_all(rec_batch(2, 200), 2);
	file_collect(moved, false, seqs, &n, 16);
	file_collect(p, false, seqs, &n, 16);
	cr_expect_eq(n, 5);
	expect_run(seqs, n, 0);
	cr_expect_eq(wk.errors, 0, "%s", wk.last_error);
}

/* The directory gone: tick takes the sink down (the worker backs off and
 * reopens), and open names the missing directory until it is back. */
Test(sink_file, directory_gone_takes_the_sink_down)
{
	const char *d = tmp_path("logs"), *p = tmp_path("logs/alerts.json");

	cr_assert_eq(mkdir(d, 0700), 0);
	sf_start(p, 0, 0);
	cr_assert_eq(unlink(p), 0);
	cr_assert_eq(rmdir(d), 0);
	cr_expect_eq(wk.sink.ops->tick(&wk.sink), -1);
	cr_expect_eq(wk.errors, 1);
	wk.sink.ops->close(&wk.sink);
	cr_expect_eq(wk.sink.ops->open(&wk.sink), -1);
	cr_expect(strstr(wk.last_error, "logs") && strstr(wk.last_error, "does not exist"), "%s",
		  wk.last_error);
	cr_assert_eq(mkdir(d, 0700), 0);
	cr_expect_eq(wk.sink.ops->open(&wk.sink), 0, "%s", wk.last_error);
	sf_send_all(rec_batch(1, 100), 1);
}

/* logrotate: rename, then SIGUSR1 (ops->reopen). */
Test(sink_file, reopen_after_an_external_rename)
{
	const char *p = tmp_path("alerts.json"), *moved = tmp_path("alerts.json.1");
	unsigned seqs[16];
	size_t n = 0;

	sf_start(p, 0, 0);
	sf_send_all(rec_batch(4, 200), 4);
	cr_assert_eq(rename(p, moved), 0);
	sf_send_all(rec_batch(1, 200), 1); /* before the signal: still the old file */
	wk.sink.ops->reopen(&wk.sink);
	sf_send_all(rec_batch(3, 200), 3);
	file_collect(moved, false, seqs, &n, 16);
	cr_expect_eq(n, 5);
	file_collect(p, false, seqs, &n, 16);
	cr_expect_eq(n, 8);
	expect_run(seqs, n, 0);
	cr_expect_eq(wk.errors, 0, "%s", wk.last_error);
}

/* A short write through send: fewer done, an error, whole lines; the rest
 * offered again once there is room. */
Test(sink_file, short_write_returns_the_whole_records)
{
	const char *p = tmp_path("alerts.json");
	struct tg_record **b = rec_batch(20, 500);
	struct rlimit old, lim;
	unsigned seqs[32];
	size_t done, n = 0;

	sf_start(p, 0, 0);
	signal(SIGXFSZ, SIG_IGN);
	cr_assert_eq(getrlimit(RLIMIT_FSIZE, &old), 0);
	lim = old;
	lim.rlim_cur = 7 * 500 + 250;
	cr_assert_eq(setrlimit(RLIMIT_FSIZE, &lim), 0);
	done = wk.sink.ops->send(&wk.sink, b, 20);
	cr_assert_eq(setrlimit(RLIMIT_FSIZE, &old), 0);
	cr_expect_eq(done, 7);
	cr_expect_eq(wk.errors, 1);
	cr_expect(strstr(wk.last_error, "failed to write "), "%s", wk.last_error);
	sf_send_all(b + done, 20 - done);
	file_collect(p, false, seqs, &n, 32);
	cr_expect_eq(n, 20);
	expect_run(seqs, n, 0);
}

/* ---- faults on a real full disk (root) ---- */

/* A tmpfs of `size` under the test's dir, unmounted by the fini. */
static void fault_setup(void)
{
	sf_setup();
	if (geteuid() != 0)
		return;
	snprintf(mnt, sizeof(mnt), "%s", tmp_path("mnt"));
	cr_assert_eq(mkdir(mnt, 0700), 0);
}

static void fault_mount(const char *size)
{
	char opt[64];

	if (geteuid() != 0)
		cr_skip_test("the disk-full tests mount a tmpfs: they need root");
	snprintf(opt, sizeof(opt), "size=%s,mode=0700", size);
	if (mount("tmpfs", mnt, "tmpfs", 0, opt)) {
		int e = errno;

		mnt[0] = '\0';
		cr_skip_test("cannot mount a tmpfs here: %s", strerror(e));
	}
}

/* Fill the disk: a file written until ENOSPC. */
static void fault_fill(const char *path)
{
	static char chunk[4096];
	int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0600);
	unsigned i;

	cr_assert_geq(fd, 0);
	memset(chunk, 'f', sizeof(chunk));
	for (i = 0; i < 1u << 20 && write(fd, chunk, sizeof(chunk)) > 0; i++)
		;
	cr_assert_lt(i, 1u << 20, "the disk never filled");
	close(fd);
}

TestSuite(sink_file_fault, .init = fault_setup, .fini = sf_teardown, .timeout = 60);

/*
 * 400 KB of alerts into a 256 KB disk, batch after batch as the worker
 * sends them (a failed batch is offered again, up to three tries). The
 * file only ever holds whole lines, exactly as many as send() reported
 * done; the rest is the worker's to count as dropped. Once space is freed,
 * writing resumes on a line boundary.
 */
Test(sink_file_fault, disk_full_leaves_only_whole_lines)
{
	char p[PATH_MAX + 32], filler[PATH_MAX + 32];
	size_t total = 400, delivered = 0, n = 0;
	struct tg_record **b;
	unsigned seqs[400];
	unsigned fails = 0;

	fault_mount("256k");
	snprintf(p, sizeof(p), "%s/alerts.json", mnt);
	snprintf(filler, sizeof(filler), "%s/filler", mnt);
	{
		/* 64 KB that is given back later */
		int fd = open(filler, O_CREAT | O_WRONLY, 0600);
		char k[4096];

		cr_assert_geq(fd, 0);
		memset(k, 'f', sizeof(k));
		for (int i = 0; i < 16; i++)
			cr_assert_eq(write(fd, k, sizeof(k)), (ssize_t)sizeof(k));
		close(fd);
	}
	b = rec_batch(total, LINE - 3); /* lines not aligned to pages */
	sf_start(p, 0, 0);
	while (delivered < total && fails < 3) {
		size_t k = total - delivered < 16 ? total - delivered : 16;
		size_t w = wk.sink.ops->send(&wk.sink, b + delivered, k);

		delivered += w;
		fails = w < k ? fails + 1 : 0;
	}
	cr_assert_lt(delivered, total, "the disk never filled");
	cr_expect_geq(wk.errors, 3);
	cr_expect(strstr(wk.last_error, "No space left on device"), "%s", wk.last_error);
	file_collect(p, false, seqs, &n, total);
	cr_expect_eq(n, delivered, "%zu lines in the file, %zu reported delivered", n, delivered);
	expect_run(seqs, n, 0);

	cr_assert_eq(unlink(filler), 0);
	sf_send_all(b + delivered, 32);
	n = 0;
	file_collect(p, false, seqs, &n, total);
	cr_expect_eq(n, delivered + 32);
	expect_run(seqs, n, 0);
	cr_expect_eq(wk.dropped, 0);
}

/*
 * The disk fills just as the file rotates: the rotated file cannot be
 * compressed, so it stays as alerts.json.1, whole; the fresh file cannot
 * take the record, which is reported not done. With space back, the
 * record goes through, and the next rotation compresses again.
 */
Test(sink_file_fault, disk_full_while_compressing_keeps_the_rotated_file)
{
	char p[PATH_MAX + 32], filler[PATH_MAX + 32];
	size_t total = 2 * PER_FILE + 1, n;
	unsigned *seqs = seq_alloc(total);
	struct tg_record **b;

	fault_mount("3m"); /* .1 stays plain: 1 MiB more */
	snprintf(p, sizeof(p), "%s/alerts.json", mnt);
	snprintf(filler, sizeof(filler), "%s/filler", mnt);
	b = rec_batch(total, LINE);
	sf_start(p, 1, 3);
	sf_send_all(b, PER_FILE);
	fault_fill(filler);
	wk.errors = 0;
	cr_expect_eq(wk.sink.ops->send(&wk.sink, b + PER_FILE, 1), 0);
	cr_expect_eq(wk.errors, 2, "compression and write errors, got %llu: %s", (unsigned long long)wk.errors,
		     wk.last_error);
	cr_expect(exists(rot(p, 1, "")), "the rotated file was lost");
	cr_expect_not(exists(rot(p, 1, ".gz")));
	cr_expect_not(exists(rot(p, 1, ".gz.tmp")), "a partial .gz was left");

	cr_assert_eq(unlink(filler), 0);
	sf_send_all(b + PER_FILE, PER_FILE + 1);
	cr_expect(exists(rot(p, 2, "")), "the uncompressed file was not shifted");
	cr_expect(exists(rot(p, 1, ".gz")));
	n = collect_all(p, 3, seqs, total);
	cr_expect_eq(n, total);
	expect_run(seqs, n, 0);
}
