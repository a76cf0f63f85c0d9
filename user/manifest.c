// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * manifest: load, save, look up and hash (manifest.h, docs/integrity.md).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <cjson/cJSON.h>
#include <openssl/evp.h>

#include "jsonsrc.h"
#include "manifest.h"

#define MANIFEST_MAX_BYTES (256u << 20)  /* ~1M files: far above any twin */
#define MANIFEST_VERSION 1
#define HASH_CHUNK (64 * 1024)
#define WALK_DEPTH 32

void manifest_init(struct tg_manifest *m)
{
	memset(m, 0, sizeof(*m));
}

void manifest_free(struct tg_manifest *m)
{
	for (size_t i = 0; i < m->n; i++)
		free(m->v[i].path);
	free(m->v);
	free(m->profile);
	memset(m, 0, sizeof(*m));
}

/* Index of path, or of where it would go (*found false). */
static size_t manifest_pos(const struct tg_manifest *m, const char *path, bool *found)
{
	size_t lo = 0, hi = m->n;

	*found = false;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(m->v[mid].path, path);

		if (!c) {
			*found = true;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

struct tg_manifest_entry *manifest_find(const struct tg_manifest *m, const char *path)
{
	bool found;
	size_t i = manifest_pos(m, path, &found);

	return found ? &m->v[i] : NULL;
}

int manifest_set(struct tg_manifest *m, const char *path, const struct tg_hash_result *h)
{
	bool found;
	size_t i = manifest_pos(m, path, &found);
	struct tg_manifest_entry *e;

	if (!found) {
		char *dup = strdup(path);

		if (!dup)
			return -1;
		if (m->n == m->cap) {
			size_t cap = m->cap ? 2 * m->cap : 64;
			struct tg_manifest_entry *v = realloc(m->v, cap * sizeof(*v));

			if (!v) {
				free(dup);
				return -1;
			}
			m->v = v;
			m->cap = cap;
		}
		memmove(&m->v[i + 1], &m->v[i], (m->n - i) * sizeof(*m->v));
		m->n++;
		m->v[i].path = dup;
	}
	e = &m->v[i];
	memcpy(e->sha256, h->sha256, TG_SHA256_LEN);
	e->size = h->size;
	e->mode = h->mode & 07777;
	return 0;
}

bool manifest_remove(struct tg_manifest *m, const char *path)
{
	bool found;
	size_t i = manifest_pos(m, path, &found);

	if (!found)
		return false;
	free(m->v[i].path);
	memmove(&m->v[i], &m->v[i + 1], (m->n - i - 1) * sizeof(*m->v));
	m->n--;
	return true;
}

void manifest_hex(const uint8_t *sha, char out[TG_SHA256_HEX])
{
	static const char hex[] = "0123456789abcdef";

	for (int i = 0; i < TG_SHA256_LEN; i++) {
		out[2 * i] = hex[sha[i] >> 4];
		out[2 * i + 1] = hex[sha[i] & 15];
	}
	out[2 * TG_SHA256_LEN] = '\0';
}

static int unhex(const char *s, uint8_t *out)
{
	for (int i = 0; i < TG_SHA256_LEN; i++) {
		unsigned v = 0;

		for (int k = 0; k < 2; k++) {
			char c = s[2 * i + k];

			if (c >= '0' && c <= '9')
				v = v * 16 + (unsigned)(c - '0');
			else if (c >= 'a' && c <= 'f')
				v = v * 16 + (unsigned)(c - 'a' + 10);
			else
				return -1;
		}
		out[i] = (uint8_t)v;
	}
	return s[2 * TG_SHA256_LEN] ? -1 : 0;
}

/* "0644", "755": octal digits only (strtoul would take a sign, blanks and
 * values past 32 bits), at most 07777. */
static int parse_mode(const char *s, uint32_t *mode)
{
	size_t n = strspn(s, "01234567");

	if (!n || n > 5 || s[n])
		return -1;
	*mode = (uint32_t)strtoul(s, NULL, 8);
	return *mode > 07777 ? -1 : 0;
}

/* One "files" element; its index names it in messages. */
static int manifest_load_entry(struct tg_manifest *m, const cJSON *f, size_t idx,
			       char *why, size_t len)
{
	const cJSON *p = cJSON_GetObjectItemCaseSensitive(f, "path");
	const cJSON *h = cJSON_GetObjectItemCaseSensitive(f, "sha256");
	const cJSON *sz = cJSON_GetObjectItemCaseSensitive(f, "size");
	const cJSON *md = cJSON_GetObjectItemCaseSensitive(f, "mode");
	struct tg_hash_result r = { 0 };

	if (!cJSON_IsString(p) || p->valuestring[0] != '/')
		return snprintf(why, len, "files[%zu].path: expected an absolute path", idx), -1;
	if (!cJSON_IsString(h) || unhex(h->valuestring, r.sha256))
		return snprintf(why, len, "files[%zu].sha256: expected 64 lowercase hex digits", idx), -1;
	/* a whole number that a double holds exactly: the cast is defined */
	if (!cJSON_IsNumber(sz) || !(sz->valuedouble >= 0 && sz->valuedouble <= 0x1p53) ||
	    sz->valuedouble != (double)(uint64_t)sz->valuedouble)
		return snprintf(why, len, "files[%zu].size: expected a byte count", idx), -1;
	r.size = (uint64_t)sz->valuedouble;
	if (!cJSON_IsString(md) || parse_mode(md->valuestring, &r.mode))
		return snprintf(why, len, "files[%zu].mode: expected an octal mode such as \"0644\"", idx), -1;
	if (manifest_find(m, p->valuestring))
		return snprintf(why, len, "files[%zu].path: %s listed twice; expected each path once",
				idx, p->valuestring), -1;
	if (manifest_set(m, p->valuestring, &r))
		return snprintf(why, len, "out of memory"), -1;
	return 0;
}

static int manifest_from_json(struct tg_manifest *m, const cJSON *root, char *why, size_t len)
{
	const cJSON *ver = cJSON_GetObjectItemCaseSensitive(root, "twinguard_manifest");
	const cJSON *alg = cJSON_GetObjectItemCaseSensitive(root, "algorithm");
	const cJSON *prof = cJSON_GetObjectItemCaseSensitive(root, "profile");
	const cJSON *files = cJSON_GetObjectItemCaseSensitive(root, "files");
	const cJSON *f;
	size_t idx = 0;

	if (!cJSON_IsObject(root))
		return snprintf(why, len, "expected an object"), -1;
	if (!cJSON_IsNumber(ver) || ver->valuedouble != MANIFEST_VERSION)
		return snprintf(why, len, "twinguard_manifest: expected %d", MANIFEST_VERSION), -1;
	if (!cJSON_IsString(alg) || strcmp(alg->valuestring, "sha256"))
		return snprintf(why, len, "algorithm: expected \"sha256\""), -1;
	if (!cJSON_IsArray(files))
		return snprintf(why, len, "files: expected an array"), -1;
	if (cJSON_IsString(prof) && !(m->profile = strdup(prof->valuestring)))
		return snprintf(why, len, "out of memory"), -1;
	cJSON_ArrayForEach(f, files)
		if (manifest_load_entry(m, f, idx++, why, len))
			return -1;
	return 0;
}

static void line_col(const char *text, size_t off, unsigned *line, unsigned *col)
{
	*line = 1;
	*col = 1;
	for (size_t i = 0; i < off && text[i]; i++) {
		if (text[i] == '\n') {
			++*line;
			*col = 1;
		} else {
			++*col;
		}
	}
}

int manifest_load(struct tg_manifest *m, const char *path, char *err, size_t errlen)
{
	char *text = NULL, why[256], msg[256] = "";
	size_t len = 0, off = 0;
	cJSON *root = NULL;
	int rc = -1, saved;

	manifest_free(m);
	switch (jsonsrc_read(path, MANIFEST_MAX_BYTES, &text, &len)) {
	case JSONSRC_READ_OK:
		break;
	default:
		saved = errno;
		snprintf(err, errlen, "%s: %s", path, strerror(saved));
		errno = saved;
		return -1;
	}
	if (strlen(text) != len || jsonsrc_check(text, len, &off, msg, sizeof(msg))) {
		unsigned line, col;

		if (strlen(text) != len)
			snprintf(msg, sizeof(msg), "found a NUL byte; expected JSON text"), off = strlen(text);
		else if (!msg[0]) /* jsonsrc_check says nothing about a blank text */
			snprintf(msg, sizeof(msg), "the file is empty; expected a JSON object");
		line_col(text, off, &line, &col);
		snprintf(err, errlen, "%s:%u:%u: %s", path, line, col, msg);
		goto out;
	}
	root = cJSON_ParseWithLength(text, len);
	if (!root) {
		snprintf(err, errlen, "%s: out of memory", path);
		goto out;
	}
	if (manifest_from_json(m, root, why, sizeof(why))) {
		snprintf(err, errlen, "%s: %s", path, why);
		manifest_free(m);
		goto out;
	}
	rc = 0;
out:
	cJSON_Delete(root);
	free(text);
	errno = rc ? EINVAL : 0;
	return rc;
}

static cJSON *manifest_to_json(const struct tg_manifest *m)
{
	cJSON *root = cJSON_CreateObject(), *files;
	char ts[32], hex[TG_SHA256_HEX], mode[8];
	time_t now = time(NULL);
	struct tm tm;

	if (!root)
		return NULL;
	gmtime_r(&now, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
	cJSON_AddNumberToObject(root, "twinguard_manifest", MANIFEST_VERSION);
	cJSON_AddStringToObject(root, "algorithm", "sha256");
	cJSON_AddStringToObject(root, "created", ts);
	if (m->profile)
		cJSON_AddStringToObject(root, "profile", m->profile);
	files = cJSON_AddArrayToObject(root, "files");
	for (size_t i = 0; files && i < m->n; i++) {
		cJSON *f = cJSON_CreateObject();

		manifest_hex(m->v[i].sha256, hex);
		snprintf(mode, sizeof(mode), "%04o", (unsigned)m->v[i].mode);
		cJSON_AddStringToObject(f, "path", m->v[i].path);
		cJSON_AddStringToObject(f, "sha256", hex);
		cJSON_AddNumberToObject(f, "size", (double)m->v[i].size);
		cJSON_AddStringToObject(f, "mode", mode);
		cJSON_AddItemToArray(files, f);
	}
	return root;
}

/* mkdir -p of path's directory, 0700 for what it creates. */
static void manifest_mkdirs(const char *path)
{
	char dir[PATH_MAX];

	snprintf(dir, sizeof(dir), "%s", path);
	for (char *p = dir + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		mkdir(dir, 0700);
		*p = '/';
	}
}

int manifest_save(const struct tg_manifest *m, const char *path, char *err, size_t errlen)
{
	cJSON *root = manifest_to_json(m);
	char *text = root ? cJSON_Print(root) : NULL;
	char tmp[PATH_MAX];
	size_t len = text ? strlen(text) : 0;
	int fd = -1, rc = -1;

	cJSON_Delete(root);
	if (!text) {
		snprintf(err, errlen, "%s: out of memory", path);
		return -1;
	}
	manifest_mkdirs(path);
	snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid());
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0 || fchmod(fd, 0600) || write(fd, text, len) != (ssize_t)len ||
	    write(fd, "\n", 1) != 1 || fsync(fd)) {
		snprintf(err, errlen, "%s: %s", fd < 0 ? tmp : path, strerror(errno));
		goto out;
	}
	if (close(fd)) {
		fd = -1;
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		goto out;
	}
	fd = -1;
	if (rename(tmp, path)) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	if (rc)
		unlink(tmp);
	free(text);
	return rc;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Sleep until bytes read so far fit the rate since the throttle began. */
static void throttle_pace(struct tg_throttle *th, size_t n)
{
	uint64_t due, now;

	if (!th || !th->rate_bps)
		return;
	now = mono_ns();
	if (!th->t0_ns || now - th->t0_ns > 10000000000ull) {
		/* idle for a while: start a new window, no credit banked */
		th->t0_ns = now;
		th->bytes = 0;
	}
	th->bytes += n;
	due = th->t0_ns + th->bytes * 1000000000ull / th->rate_bps;
	if (due > now) {
		struct timespec ts = { (time_t)((due - now) / 1000000000ull),
				       (long)((due - now) % 1000000000ull) };

		nanosleep(&ts, NULL);
	}
}

static void hash_fd(int fd, struct tg_throttle *th, struct tg_hash_result *out)
{
	static __thread unsigned char buf[HASH_CHUNK];
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned int dlen = 0;
	uint64_t total = 0;
	ssize_t n;

	if (!ctx || !EVP_DigestInit_ex(ctx, EVP_sha256(), NULL))
		goto fail;
	while ((n = read(fd, buf, sizeof(buf))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			goto fail;
		}
		if (!EVP_DigestUpdate(ctx, buf, (size_t)n))
			goto fail;
		total += (uint64_t)n;
		throttle_pace(th, (size_t)n);
	}
	if (!EVP_DigestFinal_ex(ctx, out->sha256, &dlen) || dlen != TG_SHA256_LEN)
		goto fail;
	out->size = total;
	out->status = TG_HASH_OK;
	EVP_MD_CTX_free(ctx);
	return;
fail:
	out->err = errno ? errno : EIO;
	out->status = TG_HASH_ERROR;
	EVP_MD_CTX_free(ctx);
}

void manifest_hash_file(const char *path, struct tg_throttle *th, struct tg_hash_result *out)
{
	struct stat st;
	int fd;

	memset(out, 0, sizeof(*out));
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		out->err = errno;
		/* ELOOP: a symlink (O_NOFOLLOW); ENXIO: a socket, or a device
		 * without a driver */
		out->status = errno == ENOENT || errno == ENOTDIR ? TG_HASH_ABSENT :
			      errno == ELOOP || errno == ENXIO ? TG_HASH_NOT_REGULAR : TG_HASH_ERROR;
		return;
	}
	if (fstat(fd, &st)) {
		out->err = errno;
		out->status = TG_HASH_ERROR;
	} else if (!S_ISREG(st.st_mode)) {
		out->status = TG_HASH_NOT_REGULAR;
	} else {
		out->mode = st.st_mode & 07777;
		errno = 0;
		hash_fd(fd, th, out);
	}
	close(fd);
}

static int walk_dir(const char *dir, int depth, tg_walk_fn fn, void *ctx,
		    void (*warn)(void *ctx, const char *path, int err))
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char path[PATH_MAX];
	int rc = 0;

	if (!d) {
		if (errno != ENOENT && warn)
			warn(ctx, dir, errno);
		return 0;
	}
	while (!rc && (de = readdir(d))) {
		struct stat st;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, de->d_name) >= sizeof(path))
			continue;
		if (lstat(path, &st))
			continue; /* gone since readdir */
		if (S_ISREG(st.st_mode))
			rc = fn(ctx, path);
		else if (S_ISDIR(st.st_mode) && depth < WALK_DEPTH)
			rc = walk_dir(path, depth + 1, fn, ctx, warn);
	}
	closedir(d);
	return rc;
}

int manifest_walk(const char *const *dirs, size_t n, tg_walk_fn fn, void *ctx,
		  void (*warn)(void *ctx, const char *path, int err))
{
	int rc = 0;

	for (size_t i = 0; i < n && !rc; i++) {
		char dir[PATH_MAX];
		size_t len;

		snprintf(dir, sizeof(dir), "%s", dirs[i]);
		len = strlen(dir);
		while (len > 1 && dir[len - 1] == '/')
			dir[--len] = '\0';
		rc = walk_dir(dir, 0, fn, ctx, warn);
	}
	return rc;
}
