// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The file sink: `alerts_file`, JSON lines in a 0600 file, rotated by
 * size with the rotated files gzip-compressed (zlib), reopened on
 * SIGUSR1 and recreated when deleted or moved away (filewriter.h does
 * the lines and the watching).
 *
 *   alerts.json        the open file, at most alerts_file_max_mb
 *   alerts.json.1.gz   newest rotated file ... alerts.json.<keep>.gz oldest
 *   alerts.json.N      a rotated file whose compression failed (disk
 *                      full): kept uncompressed, shifted like the others
 *
 * Rotation, in this order so that a crash or a full disk at any step
 * loses nothing: remove the files that would fall past keep (which also
 * frees space), shift .N -> .N+1, rename alerts.json -> .1, open a fresh
 * alerts.json, then compress .1 into .1.gz.tmp, fsync, rename it to .1.gz
 * and only then remove .1. The compression runs in this sink's thread:
 * its queue absorbs the pause, so intake never waits for it.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "deliver/filewriter.h"
#include "deliver/sink.h"

#define FILE_MODE 0600
#define FILE_BATCH 256
#define GZ_CHUNK 65536
/* the longest name rotation makes: "<path>.1000.gz.tmp" (keep <= 1000) */
#define FILE_SUFFIX_MAX 16

struct filesink {
	char path[PATH_MAX];
	uint64_t max_bytes;     /* 0 = never rotate */
	unsigned keep;
	struct tg_fw *fw;
	uint64_t rotations;
};

/* "<path>.<i><suffix>" */
static void file_name(char *out, size_t len, const char *path, unsigned i, const char *suffix)
{
	snprintf(out, len, "%s.%u%s", path, i, suffix);
}

static void file_sync_dir(const char *path)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');
	int fd;

	snprintf(dir, sizeof(dir), "%.*s", slash && slash != path ? (int)(slash - path) : 1,
		 slash ? path : ".");
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
}

/* "<base>.N", "<base>.N.gz" or "<base>.N.gz.tmp": N, else 0. */
static unsigned file_rotated_index(const char *name, const char *base)
{
	size_t blen = strlen(base);
	unsigned long n;
	char *end;

	if (strncmp(name, base, blen) || name[blen] != '.' || name[blen + 1] < '1' ||
	    name[blen + 1] > '9')
		return 0;
	errno = 0;
	n = strtoul(name + blen + 1, &end, 10);
	if (errno || n > UINT_MAX)
		return 0;
	if (*end && strcmp(end, ".gz") && strcmp(end, ".gz.tmp"))
		return 0;
	return (unsigned)n;
}

/* Remove every rotated file numbered `from` or higher, also those left by
 * an earlier, larger keep. Returns how many could not be removed. */
static unsigned file_prune(struct tg_sink *s, const struct filesink *f, unsigned from)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(f->path, '/'), *base = slash ? slash + 1 : f->path;
	unsigned failed = 0;
	struct dirent *de;
	DIR *d;

	snprintf(dir, sizeof(dir), "%.*s", slash && slash != f->path ? (int)(slash - f->path) : 1,
		 slash ? f->path : ".");
	d = opendir(dir);
	if (!d) {
		sink_error(s, "failed to rotate %s: opendir %s: %s", f->path, dir, strerror(errno));
		return 1;
	}
	while ((de = readdir(d))) {
		unsigned i = file_rotated_index(de->d_name, base);

		if (!i || i < from)
			continue;
		if (unlinkat(dirfd(d), de->d_name, 0) && errno != ENOENT) {
			sink_error(s, "failed to remove %s/%s: %s", dir, de->d_name,
				   strerror(errno));
			failed++;
		}
	}
	closedir(d);
	return failed;
}

/* .N -> .N+1 for N = keep-1 .. 1, compressed or not. */
static void file_shift(struct tg_sink *s, const struct filesink *f)
{
	static const char *const suffixes[] = { ".gz", "" };
	char from[PATH_MAX + FILE_SUFFIX_MAX], to[PATH_MAX + FILE_SUFFIX_MAX];

	for (unsigned i = f->keep; i-- > 1;) {
		for (size_t k = 0; k < 2; k++) {
			file_name(from, sizeof(from), f->path, i, suffixes[k]);
			file_name(to, sizeof(to), f->path, i + 1, suffixes[k]);
			if (rename(from, to) && errno != ENOENT)
				sink_error(s, "failed to rename %s to %s: %s", from, to,
					   strerror(errno));
		}
	}
}

/* Copy in into gz; 0, or -1 with err set. */
static int file_deflate(struct tg_sink *s, int in, gzFile gz, char *err, size_t errlen)
{
	char *buf = malloc(GZ_CHUNK);
	int rc = -1;

	if (!buf) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (;;) {
		ssize_t n = read(in, buf, GZ_CHUNK);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(err, errlen, "read: %s", strerror(errno));
			break;
		}
		if (!n) {
			rc = 0;
			break;
		}
		errno = 0;
		if (gzwrite(gz, buf, (unsigned)n) != (int)n) {
			int zerr;
			const char *zmsg = gzerror(gz, &zerr);

			snprintf(err, errlen, "%s", errno ? strerror(errno) : zmsg);
			break;
		}
		/* past the drain deadline: keep the file uncompressed, stop */
		if (sink_stopping(s)) {
			snprintf(err, errlen, "the agent is stopping");
			break;
		}
	}
	free(buf);
	return rc;
}

/* Compress src into dst (created 0600, fsynced); 0, or -1 with err set
 * and dst removed. */
static int file_gzip(struct tg_sink *s, const char *src, const char *dst, char *err,
		     size_t errlen)
{
	int in = open(src, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	int out = in < 0 ? -1 : open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
				     FILE_MODE);
	int gfd = out < 0 ? -1 : dup(out), rc = -1;
	gzFile gz = gfd < 0 ? NULL : gzdopen(gfd, "wb");

	if (!gz) {
		snprintf(err, errlen, "open: %s", strerror(errno));
		if (gfd >= 0)
			close(gfd);
		goto cleanup;
	}
	gzbuffer(gz, GZ_CHUNK);
	rc = file_deflate(s, in, gz, err, errlen);
	errno = 0;
	if (gzclose_w(gz) != Z_OK && !rc) {
		snprintf(err, errlen, "%s", errno ? strerror(errno) : "gzclose failed");
		rc = -1;
	}
	if (!rc && fsync(out)) {
		snprintf(err, errlen, "fsync: %s", strerror(errno));
		rc = -1;
	}
cleanup:
	if (out >= 0)
		close(out);
	if (in >= 0)
		close(in);
	if (rc && out >= 0)
		unlink(dst);
	return rc;
}

/* .1 -> .1.gz; on failure .1 stays, uncompressed but kept. */
static void file_compress_first(struct tg_sink *s, const struct filesink *f)
{
	char plain[PATH_MAX + FILE_SUFFIX_MAX], gz[PATH_MAX + FILE_SUFFIX_MAX];
	char tmp[PATH_MAX + FILE_SUFFIX_MAX], why[256];

	file_name(plain, sizeof(plain), f->path, 1, "");
	file_name(gz, sizeof(gz), f->path, 1, ".gz");
	file_name(tmp, sizeof(tmp), f->path, 1, ".gz.tmp");
	if (file_gzip(s, plain, tmp, why, sizeof(why))) {
		sink_error(s, "failed to compress %s: %s; kept it uncompressed", plain, why);
		return;
	}
	if (rename(tmp, gz)) {
		sink_error(s, "failed to rename %s to %s: %s; kept %s uncompressed", tmp, gz,
			   strerror(errno), plain);
		unlink(tmp);
		return;
	}
	if (unlink(plain))
		sink_error(s, "failed to remove %s after compressing it: %s", plain,
			   strerror(errno));
	file_sync_dir(f->path);
}

/*
 * Start a fresh file. 0: the writer is at an empty (or at least a new)
 * file; 1: the file could not be moved aside, so the writer goes on past
 * the limit (nothing is lost, the next batch tries again); -1: the writer
 * is unusable (err said why).
 */
static int file_rotate(struct tg_sink *s, struct filesink *f)
{
	char first[PATH_MAX + FILE_SUFFIX_MAX], why[512];

	file_prune(s, f, f->keep ? f->keep : 1);
	file_shift(s, f);
	fw_sync(f->fw);
	file_name(first, sizeof(first), f->path, 1, "");
	if (f->keep ? rename(f->path, first) : unlink(f->path)) {
		sink_error(s, "failed to rotate %s: %s", f->path, strerror(errno));
		return 1;
	}
	f->rotations++;
	if (fw_reopen(f->fw, why, sizeof(why))) {
		sink_error(s, "failed to rotate %s: %s", f->path, why);
		return -1;
	}
	if (f->keep)
		file_compress_first(s, f);
	return 0;
}

/* How many of recs[0..n) fit in room bytes. */
static size_t file_fit(struct tg_record *const *recs, size_t n, uint64_t room)
{
	size_t k = 0;
	uint64_t len = 0;

	while (k < n && len + recs[k]->json_len + 1 <= room)
		len += recs[k++]->json_len + 1;
	return k;
}

/* How many of recs[0..n) go to the file before the next rotation; 0 when
 * the file must be rotated first. A record larger than the limit gets an
 * empty file of its own. */
static size_t file_take(const struct filesink *f, struct tg_record *const *recs, size_t n,
			bool rotated)
{
	uint64_t size;
	size_t k;

	if (!f->max_bytes)
		return n;
	size = fw_size(f->fw);
	k = file_fit(recs, n, size < f->max_bytes ? f->max_bytes - size : 0);
	if (!k && (rotated || !size))
		k = 1;
	return k;
}

static size_t file_send(struct tg_sink *s, struct tg_record *const *recs, size_t n)
{
	struct filesink *f = s->priv;
	size_t done = 0;
	bool rotated = false;
	char why[512];

	while (done < n) {
		size_t take = file_take(f, recs + done, n - done, rotated), w;

		if (!take) {
			int r = file_rotate(s, f);

			if (r < 0)
				return done;
			rotated = true; /* at most one rotation per batch step */
			if (r > 0)
				take = n - done;
			else
				continue;
		}
		rotated = false;
		w = fw_write(f->fw, recs + done, take, why, sizeof(why));
		done += w;
		if (w < take) {
			sink_error(s, "%s", why);
			break;
		}
	}
	return done;
}

static int file_open(struct tg_sink *s)
{
	struct filesink *f = s->priv;
	char why[512];

	if (f->fw)
		return 0;
	f->fw = fw_open(f->path, FILE_MODE, why, sizeof(why));
	if (!f->fw) {
		sink_error(s, "%s", why);
		return -1;
	}
	return 0;
}

static void file_close(struct tg_sink *s)
{
	struct filesink *f = s->priv;

	fw_close(f->fw);
	f->fw = NULL;
}

static void file_reopen(struct tg_sink *s)
{
	struct filesink *f = s->priv;
	char why[512];

	if (!f->fw)
		return;
	if (fw_reopen(f->fw, why, sizeof(why)))
		sink_error(s, "failed to reopen %s (still writing to the old file): %s", f->path,
			   why);
}

/* A deleted file lost what was written to it since: that is an error. A
 * file moved away (rotation without a signal) lost nothing. A path that
 * cannot be opened any more takes the sink down: the worker backs off and
 * opens again, and the records wait in the queue meanwhile, rather than
 * being counted delivered into a file nobody can find. */
static int file_tick(struct tg_sink *s)
{
	struct filesink *f = s->priv;
	char why[512];
	int r;

	if (!f->fw)
		return 0;
	r = fw_check(f->fw, why, sizeof(why));
	if (r == FW_DELETED)
		sink_error(s, "%s; what was written to the deleted file since is lost", why);
	if (r < 0) {
		sink_error(s, "%s", why);
		return -1;
	}
	return 0;
}

static void file_destroy(struct tg_sink *s)
{
	struct filesink *f = s->priv;

	if (f)
		fw_close(f->fw);
	free(f);
	s->priv = NULL;
}

static const struct tg_sink_ops file_ops = {
	.kind = "file",
	.reliable = false,
	.open = file_open,
	.send = file_send,
	.close = file_close,
	.reopen = file_reopen,
	.tick = file_tick,
	.destroy = file_destroy,
};

int sink_file_init(struct tg_sink *s, char *err, size_t errlen)
{
	const struct tg_config *c = s->cfg;
	struct filesink *f;
	struct tg_fw *probe;
	char why[512];

	if (!c || !c->alerts_file || c->alerts_file[0] != '/') {
		snprintf(err, errlen, "alerts_file: expected an absolute path, got '%s'",
			 c && c->alerts_file ? c->alerts_file : "");
		return -1;
	}
	if (strlen(c->alerts_file) + FILE_SUFFIX_MAX >= PATH_MAX) {
		snprintf(err, errlen, "alerts_file: path '%s' is longer than %d bytes",
			 c->alerts_file, PATH_MAX - FILE_SUFFIX_MAX - 1);
		return -1;
	}
	/* a path that can never be opened is a config error, said at start */
	probe = fw_open(c->alerts_file, FILE_MODE, why, sizeof(why));
	if (!probe) {
		snprintf(err, errlen, "alerts_file: %s", why);
		return -1;
	}
	fw_close(probe);
	f = calloc(1, sizeof(*f));
	if (!f) {
		snprintf(err, errlen, "alerts_file: out of memory");
		return -1;
	}
	snprintf(f->path, sizeof(f->path), "%s", c->alerts_file);
	f->max_bytes = (uint64_t)c->alerts_file_max_mb << 20;
	f->keep = c->alerts_file_keep;
	s->ops = &file_ops;
	s->priv = f;
	s->kinds = TG_REC_ALERT_STREAM;
	s->batch_max = FILE_BATCH;
	/* stats show the path; a very long one ends in "..." there */
	if (snprintf(s->target, sizeof(s->target), "%s", f->path) >= (int)sizeof(s->target))
		memcpy(s->target + sizeof(s->target) - 4, "...", 4);
	return 0;
}
