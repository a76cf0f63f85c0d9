// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * spool: segment files of JSON lines plus a cursor (see spool.h). Only the
 * sink's own thread calls these, so there is no lock. Every append ends
 * with fdatasync and every cursor move is temp + fdatasync + rename: a
 * record is either whole in the spool or not there, and an acknowledged
 * one is never read back after a restart (docs/delivery.md).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "deliver/spool.h"

#define SEG_MAX_BYTES (4u << 20)   /* one segment; smaller when the cap is small */
#define SEG_MIN_BYTES (16u << 10)
#define PEEK_MAX 4096              /* records one peek may hand out */
#define READ_CHUNK (256u << 10)
#define LINE_MAX_BYTES (16u << 20) /* a longer line is corrupt: skipped, counted */
#define SEGS_MAX 100000            /* segment files one spool may hold */

struct seg {
	uint64_t id;
	uint64_t bytes;
	uint64_t records;
};

struct tg_spool {
	char dir[PATH_MAX - 64];
	uint64_t max_bytes, seg_max;
	struct seg *segs;          /* oldest first; the last is the tail */
	size_t nsegs, cap;
	uint64_t cur_off;          /* cursor offset in segs[0] */
	uint64_t cur_records;      /* records of segs[0] before cur_off */
	int tail_fd;
	struct { size_t seg; uint64_t end; } peeked[PEEK_MAX];
	size_t n_peeked;
	uint64_t pending, bytes, dropped, errors;
};

static void seg_path(const struct tg_spool *sp, uint64_t id, char *out, size_t len)
{
	snprintf(out, len, "%s/%020" PRIu64 ".spool", sp->dir, id);
}

static int seg_cmp(const void *a, const void *b)
{
	const struct seg *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

/* Count lines of a segment from off on; a torn last line is cut off. */
static int seg_scan(struct tg_spool *sp, struct seg *s, uint64_t from, uint64_t *lines)
{
	char path[PATH_MAX], *buf = malloc(READ_CHUNK);
	uint64_t off = from, last_nl = from;
	int fd, ret = 0;
	ssize_t n;

	*lines = 0;
	seg_path(sp, s->id, path, sizeof(path));
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0 || !buf) {
		free(buf);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	while ((n = pread(fd, buf, READ_CHUNK, (off_t)off)) > 0) {
		for (ssize_t i = 0; i < n; i++)
			if (buf[i] == '\n') {
				(*lines)++;
				last_nl = off + (uint64_t)i + 1;
			}
		off += (uint64_t)n;
	}
	if (n < 0)
		ret = -1;
	else if (last_nl < off && ftruncate(fd, (off_t)last_nl) == 0)
		off = last_nl;
	s->bytes = off;
	close(fd);
	free(buf);
	return ret;
}

static int spool_write_cursor(struct tg_spool *sp)
{
	char tmp[PATH_MAX], path[PATH_MAX], line[64];
	int fd, len, ok;

	snprintf(tmp, sizeof(tmp), "%s/cursor.tmp", sp->dir);
	snprintf(path, sizeof(path), "%s/cursor", sp->dir);
	len = snprintf(line, sizeof(line), "%" PRIu64 " %" PRIu64 "\n",
		       sp->nsegs ? sp->segs[0].id : 0, sp->cur_off);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	ok = write(fd, line, (size_t)len) == len && fdatasync(fd) == 0;
	close(fd);
	if (!ok || rename(tmp, path)) {
		unlink(tmp);
		sp->errors++;
		return -1;
	}
	return 0;
}

static void spool_read_cursor(struct tg_spool *sp, uint64_t *id, uint64_t *off)
{
	char path[PATH_MAX];
	FILE *f;

	*id = 0;
	*off = 0;
	snprintf(path, sizeof(path), "%s/cursor", sp->dir);
	f = fopen(path, "re");
	if (!f)
		return;
	if (fscanf(f, "%" SCNu64 " %" SCNu64, id, off) != 2)
		*id = *off = 0;
	fclose(f);
}

static int spool_add_seg(struct tg_spool *sp, uint64_t id)
{
	if (sp->nsegs == sp->cap) {
		size_t cap = sp->cap ? sp->cap * 2 : 16;
		struct seg *v = cap <= SEGS_MAX ? realloc(sp->segs, cap * sizeof(*v)) : NULL;

		if (!v)
			return -1;
		sp->segs = v;
		sp->cap = cap;
	}
	sp->segs[sp->nsegs++] = (struct seg){ .id = id };
	return 0;
}

static int spool_list(struct tg_spool *sp)
{
	DIR *d = opendir(sp->dir);
	struct dirent *e;
	int ret = 0;

	if (!d)
		return -1;
	while (!ret && (e = readdir(d))) {
		char *end;
		uint64_t id = strtoull(e->d_name, &end, 10);

		if (end != e->d_name && !strcmp(end, ".spool"))
			ret = spool_add_seg(sp, id);
	}
	closedir(d);
	if (sp->nsegs)
		qsort(sp->segs, sp->nsegs, sizeof(*sp->segs), seg_cmp);
	return ret;
}

/* Place the cursor and count what is pending. */
static int spool_load(struct tg_spool *sp)
{
	uint64_t cid, coff;

	spool_read_cursor(sp, &cid, &coff);
	while (sp->nsegs && sp->segs[0].id < cid) { /* consumed before a crash */
		char path[PATH_MAX];

		seg_path(sp, sp->segs[0].id, path, sizeof(path));
		unlink(path);
		memmove(sp->segs, sp->segs + 1, --sp->nsegs * sizeof(*sp->segs));
	}
	if (!sp->nsegs || sp->segs[0].id != cid)
		coff = 0;
	for (size_t i = 0; i < sp->nsegs; i++) {
		struct seg *s = &sp->segs[i];

		if (seg_scan(sp, s, 0, &s->records))
			return -1;
		sp->bytes += s->bytes;
		sp->pending += s->records;
	}
	if (sp->nsegs && coff) {
		if (coff > sp->segs[0].bytes)
			coff = sp->segs[0].bytes;
		/* records before the cursor: lines in [0, coff) */
		struct seg head = sp->segs[0];
		uint64_t after;

		if (seg_scan(sp, &head, coff, &after))
			return -1;
		sp->cur_records = sp->segs[0].records - after;
		sp->pending -= sp->cur_records;
	}
	sp->cur_off = coff;
	return 0;
}

struct tg_spool *spool_open(const char *dir, uint64_t max_bytes, char *err, size_t errlen)
{
	struct tg_spool *sp = calloc(1, sizeof(*sp));

	if (!sp) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	sp->tail_fd = -1;
	snprintf(sp->dir, sizeof(sp->dir), "%s", dir);
	sp->max_bytes = max_bytes;
	sp->seg_max = max_bytes / 8 < SEG_MAX_BYTES ? max_bytes / 8 : SEG_MAX_BYTES;
	if (sp->seg_max < SEG_MIN_BYTES)
		sp->seg_max = SEG_MIN_BYTES;
	if ((mkdir(dir, 0700) && errno != EEXIST) || spool_list(sp) || spool_load(sp)) {
		snprintf(err, errlen, "spool %s: %s", dir, strerror(errno ? errno : EIO));
		spool_close(sp);
		return NULL;
	}
	return sp;
}

/* Remove segs[0]: consumed (ack) or dropped at the cap. */
static void spool_pop_seg(struct tg_spool *sp, bool dropped)
{
	char path[PATH_MAX];
	uint64_t left = sp->segs[0].records - sp->cur_records;

	if (sp->nsegs == 1 && sp->tail_fd >= 0) {
		close(sp->tail_fd);
		sp->tail_fd = -1;
	}
	seg_path(sp, sp->segs[0].id, path, sizeof(path));
	unlink(path);
	if (dropped) {
		sp->dropped += left;
		sp->pending -= left;
	}
	sp->bytes -= sp->segs[0].bytes;
	memmove(sp->segs, sp->segs + 1, --sp->nsegs * sizeof(*sp->segs));
	sp->cur_off = 0;
	sp->cur_records = 0;
}

static int spool_tail(struct tg_spool *sp)
{
	char path[PATH_MAX];
	struct seg *t = sp->nsegs ? &sp->segs[sp->nsegs - 1] : NULL;

	if (t && t->bytes < sp->seg_max && sp->tail_fd >= 0)
		return 0;
	if (!t || t->bytes >= sp->seg_max) {
		if (sp->tail_fd >= 0)
			close(sp->tail_fd);
		sp->tail_fd = -1;
		if (spool_add_seg(sp, t ? t->id + 1 : 1))
			return -1;
		t = &sp->segs[sp->nsegs - 1];
	}
	seg_path(sp, t->id, path, sizeof(path));
	sp->tail_fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	return sp->tail_fd < 0 ? -1 : 0;
}

/* One record, whole or not at all. */
static int spool_write_one(struct tg_spool *sp, const struct tg_record *r)
{
	struct seg *t = &sp->segs[sp->nsegs - 1];
	size_t len = r->json_len + 1;
	char *line = malloc(len);
	ssize_t n;

	if (!line)
		return -1;
	memcpy(line, r->json, r->json_len);
	line[r->json_len] = '\n';
	n = write(sp->tail_fd, line, len);
	free(line);
	if (n != (ssize_t)len) {
		if (n > 0 && ftruncate(sp->tail_fd, (off_t)t->bytes))
			sp->errors++;
		return -1;
	}
	t->bytes += len;
	t->records++;
	sp->bytes += len;
	sp->pending++;
	return 0;
}

size_t spool_append(struct tg_spool *sp, struct tg_record *const *recs, size_t n)
{
	size_t done = 0;

	sp->n_peeked = 0; /* the worker peeks again after appending */
	for (; done < n; done++) {
		uint64_t len = recs[done]->json_len + 1;

		while (sp->nsegs > 1 && sp->bytes + len > sp->max_bytes)
			spool_pop_seg(sp, true);
		if (sp->bytes + len > sp->max_bytes || spool_tail(sp) ||
		    spool_write_one(sp, recs[done]))
			break;
	}
	if (done < n)
		sp->errors++;
	if (done && sp->tail_fd >= 0 && fdatasync(sp->tail_fd))
		sp->errors++;
	return done;
}

/* A corrupt line at the cursor can never be delivered: step over it. */
static void spool_skip(struct tg_spool *sp, uint64_t end)
{
	sp->cur_off = end;
	sp->cur_records++;
	sp->pending--;
	sp->dropped++;
	spool_write_cursor(sp);
}

/* Records from (seg i, off) into out[]; returns how many. Stops at a
 * corrupt line that follows good ones (the next peek skips it). */
static size_t spool_read_seg(struct tg_spool *sp, size_t i, uint64_t off, struct tg_record **out,
			     size_t max, bool *at_end)
{
	char path[PATH_MAX], *buf;
	size_t got = 0;
	bool stop = false;
	int fd;

	seg_path(sp, sp->segs[i].id, path, sizeof(path));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	buf = fd >= 0 ? malloc(READ_CHUNK) : NULL;
	while (buf && !stop && got < max && off < sp->segs[i].bytes) {
		ssize_t n = pread(fd, buf, READ_CHUNK, (off_t)off);
		char *s = buf, *nl = n > 0 ? memchr(buf, '\n', (size_t)n) : NULL;

		if (!nl)
			break; /* a line longer than READ_CHUNK: spool_peek drops it */
		for (; nl && got < max; nl = memchr(s, '\n', (size_t)(buf + n - s))) {
			struct tg_record *r = record_parse(s, (size_t)(nl - s));

			off += (uint64_t)(nl - s) + 1;
			s = nl + 1;
			if (!r && !sp->n_peeked && i == 0) {
				spool_skip(sp, off);
				continue;
			}
			if (!r) {
				stop = true;
				break;
			}
			sp->peeked[sp->n_peeked].seg = i;
			sp->peeked[sp->n_peeked++].end = off;
			out[got++] = r;
		}
	}
	free(buf);
	if (fd >= 0)
		close(fd);
	*at_end = !stop && off >= sp->segs[i].bytes;
	return got;
}

size_t spool_peek(struct tg_spool *sp, struct tg_record **out, size_t max)
{
	uint64_t off;
	size_t got = 0;

	sp->n_peeked = 0;
	if (max > PEEK_MAX)
		max = PEEK_MAX;
	while (sp->nsegs > 1 && sp->cur_off >= sp->segs[0].bytes)
		spool_pop_seg(sp, false); /* consumed while it was the tail */
	off = sp->cur_off;
	for (size_t i = 0; i < sp->nsegs && got < max; i++) {
		size_t before = got;
		bool at_end = false;

		got += spool_read_seg(sp, i, off, out + got, max - got, &at_end);
		if (i == 0 && got == before && !at_end && sp->cur_off < sp->segs[0].bytes) {
			/* an unreadable or overlong line at the cursor */
			spool_pop_seg(sp, true);
			spool_write_cursor(sp);
			return spool_peek(sp, out, max);
		}
		if (!at_end)
			break; /* keep the peek contiguous */
		off = 0;
	}
	return got;
}

int spool_ack(struct tg_spool *sp, size_t n)
{
	size_t seg;
	uint64_t end;

	if (!n || n > sp->n_peeked)
		return n ? -1 : 0;
	seg = sp->peeked[n - 1].seg;
	end = sp->peeked[n - 1].end;
	for (size_t i = 0; i < seg; i++)
		spool_pop_seg(sp, false);
	/* records acknowledged in the (new) first segment */
	for (size_t i = 0; i < n; i++)
		if (sp->peeked[i].seg == seg)
			sp->cur_records++;
	sp->pending -= n;
	sp->cur_off = end;
	if (sp->nsegs > 1 && sp->cur_off >= sp->segs[0].bytes)
		spool_pop_seg(sp, false);
	sp->n_peeked = 0;
	return spool_write_cursor(sp);
}

uint64_t spool_pending(const struct tg_spool *sp)
{
	return sp ? sp->pending : 0;
}

void spool_stats(const struct tg_spool *sp, struct tg_spool_stats *st)
{
	st->pending = sp->pending;
	st->bytes = sp->bytes;
	st->dropped = sp->dropped;
	st->errors = sp->errors;
}

void spool_close(struct tg_spool *sp)
{
	if (!sp)
		return;
	if (sp->tail_fd >= 0)
		close(sp->tail_fd);
	free(sp->segs);
	free(sp);
}
