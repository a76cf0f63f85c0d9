// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * filewriter: whole JSON lines to a regular file (filewriter.h). One
 * write(2) per batch from a gathered buffer: the kernel appends it at the
 * end (O_APPEND), and when it stops short (disk full, quota, I/O error)
 * the tail past the last whole line is cut off again with ftruncate(2).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "deliver/filewriter.h"

struct tg_fw {
	char path[PATH_MAX];
	mode_t mode;
	int fd;
	uint64_t size;      /* last known st_size (fw_size asks fstat first) */
	uint64_t lines;
	uint64_t bytes;
	char *buf;          /* one batch of lines, reused */
	size_t cap;
};

/* Why open(2) failed, in words an operator can act on. */
static void fw_open_error(const char *path, int e, char *err, size_t errlen)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');
	struct stat st;

	if (e == ELOOP) {
		snprintf(err, errlen, "failed to open %s: it is a symbolic link (refused)", path);
		return;
	}
	if (e == ENOENT && slash) {
		size_t len = slash == path ? 1 : (size_t)(slash - path);

		snprintf(dir, sizeof(dir), "%.*s", (int)len, path);
		if (stat(dir, &st)) {
			snprintf(err, errlen, "failed to open %s: its directory %s does not exist",
				 path, dir);
			return;
		}
	}
	snprintf(err, errlen, "failed to open %s: %s", path, strerror(e));
}

/* O_NONBLOCK only so that a FIFO at the path cannot hang the open; the
 * descriptor is refused unless it is a regular file anyway. */
static int fw_open_fd(const char *path, mode_t mode, uint64_t *size, char *err, size_t errlen)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK |
				    O_NOCTTY, mode);
	struct stat st;

	if (fd < 0) {
		fw_open_error(path, errno, err, errlen);
		return -1;
	}
	if (fstat(fd, &st)) {
		snprintf(err, errlen, "failed to open %s: fstat: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "failed to open %s: not a regular file", path);
		close(fd);
		return -1;
	}
	fcntl(fd, F_SETFL, O_APPEND);
	*size = (uint64_t)st.st_size;
	return fd;
}

struct tg_fw *fw_open(const char *path, mode_t mode, char *err, size_t errlen)
{
	struct tg_fw *fw;

	if (!path || !*path || strlen(path) >= sizeof(fw->path)) {
		snprintf(err, errlen, "failed to open %s: expected a path shorter than %d bytes",
			 path ? path : "(null)", PATH_MAX);
		return NULL;
	}
	fw = calloc(1, sizeof(*fw));
	if (!fw) {
		snprintf(err, errlen, "failed to open %s: out of memory", path);
		return NULL;
	}
	snprintf(fw->path, sizeof(fw->path), "%s", path);
	fw->mode = mode;
	fw->fd = fw_open_fd(path, mode, &fw->size, err, errlen);
	if (fw->fd < 0) {
		free(fw);
		return NULL;
	}
	return fw;
}

static int fw_reserve(struct tg_fw *fw, size_t need)
{
	size_t cap = fw->cap ? fw->cap : 65536;
	char *b;

	if (need <= fw->cap)
		return 0;
	while (cap < need)
		cap *= 2;
	b = realloc(fw->buf, cap);
	if (!b)
		return -1;
	fw->buf = b;
	fw->cap = cap;
	return 0;
}

/* Gather recs[0..n) as lines; returns the bytes, 0 when out of memory. */
static size_t fw_render(struct tg_fw *fw, struct tg_record *const *recs, size_t n)
{
	size_t len = 0, off = 0;

	for (size_t i = 0; i < n; i++)
		len += recs[i]->json_len + 1;
	if (fw_reserve(fw, len))
		return 0;
	for (size_t i = 0; i < n; i++) {
		memcpy(fw->buf + off, recs[i]->json, recs[i]->json_len);
		off += recs[i]->json_len;
		fw->buf[off++] = '\n';
	}
	return len;
}

/* Write buf[0..len); returns bytes written, *e = errno when short. */
static size_t fw_write_all(struct tg_fw *fw, size_t len, int *e)
{
	size_t off = 0;

	*e = 0;
	while (off < len) {
		ssize_t w = write(fw->fd, fw->buf + off, len - off);

		if (w > 0) {
			off += (size_t)w;
		} else if (w < 0 && errno == EINTR) {
			continue;
		} else {
			*e = w < 0 ? errno : EIO; /* 0 bytes for a regular file: no progress */
			break;
		}
	}
	return off;
}

/* How many whole lines of recs[] lie in the first `wrote` bytes, and where
 * the last of them ends. */
static size_t fw_whole(struct tg_record *const *recs, size_t n, size_t wrote, size_t *end)
{
	size_t done = 0, off = 0;

	while (done < n && off + recs[done]->json_len + 1 <= wrote)
		off += recs[done++]->json_len + 1;
	*end = off;
	return done;
}

size_t fw_write(struct tg_fw *fw, struct tg_record *const *recs, size_t n, char *err,
		size_t errlen)
{
	size_t len, wrote, done, end;
	struct stat st;
	off_t before;
	int e;

	if (!n)
		return 0;
	len = fw_render(fw, recs, n);
	if (!len) {
		snprintf(err, errlen, "failed to write %s: out of memory for %zu records",
			 fw->path, n);
		return 0;
	}
	/* asked each time: an external copytruncate may have cut the file */
	before = fstat(fw->fd, &st) ? (off_t)fw->size : st.st_size;
	wrote = fw_write_all(fw, len, &e);
	done = wrote == len ? n : fw_whole(recs, n, wrote, &end);
	if (done == n)
		end = len;
	fw->lines += done;
	fw->bytes += end;
	fw->size = (uint64_t)before + end;
	if (wrote == len)
		return n;
	if (wrote > end && ftruncate(fw->fd, before + (off_t)end)) {
		int te = errno;

		fw->size = (uint64_t)before + wrote;
		snprintf(err, errlen,
			 "failed to write %s: %s (%zu of %zu records written); and failed to cut "
			 "the partial line off: %s", fw->path, strerror(e), done, n, strerror(te));
		return done;
	}
	snprintf(err, errlen, "failed to write %s: %s (%zu of %zu records written)", fw->path,
		 strerror(e), done, n);
	return done;
}

int fw_reopen(struct tg_fw *fw, char *err, size_t errlen)
{
	uint64_t size;
	int fd = fw_open_fd(fw->path, fw->mode, &size, err, errlen);

	if (fd < 0)
		return -1;
	close(fw->fd);
	fw->fd = fd;
	fw->size = size;
	return 0;
}

int fw_check(struct tg_fw *fw, char *err, size_t errlen)
{
	struct stat a, b;
	bool deleted, same;
	int r;

	if (fstat(fw->fd, &a)) {
		snprintf(err, errlen, "failed to check %s: fstat: %s", fw->path, strerror(errno));
		return -1;
	}
	/* lstat: a symlink planted at the path is not our file either */
	r = lstat(fw->path, &b);
	deleted = a.st_nlink == 0;
	same = !r && a.st_dev == b.st_dev && a.st_ino == b.st_ino;
	if (!deleted && same)
		return FW_SAME;
	if (fw_reopen(fw, err, errlen))
		return -1;
	snprintf(err, errlen, "%s was %s: recreated it", fw->path,
		 deleted ? "deleted" : r ? "moved away" : "replaced by another file");
	return deleted ? FW_DELETED : FW_MOVED;
}

uint64_t fw_size(const struct tg_fw *fw)
{
	struct stat st;

	return fstat(fw->fd, &st) ? fw->size : (uint64_t)st.st_size;
}

const char *fw_path(const struct tg_fw *fw)
{
	return fw->path;
}

uint64_t fw_lines(const struct tg_fw *fw)
{
	return fw->lines;
}

uint64_t fw_bytes(const struct tg_fw *fw)
{
	return fw->bytes;
}

int fw_sync(struct tg_fw *fw)
{
	return fsync(fw->fd);
}

void fw_close(struct tg_fw *fw)
{
	if (!fw)
		return;
	if (fw->fd >= 0)
		close(fw->fd);
	free(fw->buf);
	free(fw);
}
