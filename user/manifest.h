/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * manifest: the integrity baseline of a twin's model and configuration
 * files (docs/integrity.md). One JSON file, mode 0600, written atomically:
 *
 *   {"twinguard_manifest": 1, "algorithm": "sha256", "created": "...",
 *    "profile": "generic-twin",
 *    "files": [{"path": "/var/lib/twin/models/pump.onnx",
 *               "sha256": "<64 hex>", "size": 1234, "mode": "0644"}, ...]}
 *
 * In memory the entries are sorted by path (bsearch lookups, ordered
 * output). The walk and the streaming SHA-256 (OpenSSL EVP) live here too:
 * `twinguard baseline` and the agent's checker share them.
 */
#ifndef TG_MANIFEST_H
#define TG_MANIFEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TG_DEFAULT_MANIFEST "/var/lib/twinguard/manifest.json"
#define TG_SHA256_LEN 32
#define TG_SHA256_HEX (2 * TG_SHA256_LEN + 1)

struct tg_manifest_entry {
	char *path;
	uint8_t sha256[TG_SHA256_LEN];
	uint64_t size;
	uint32_t mode;            /* permission bits (07777) */
};

struct tg_manifest {
	struct tg_manifest_entry *v;
	size_t n, cap;
	char *profile;            /* profile name it was made for, may be NULL */
};

/* What hashing one file found. */
enum tg_hash_status {
	TG_HASH_OK = 0,
	TG_HASH_ABSENT,           /* no such file (ENOENT, ENOTDIR) */
	TG_HASH_NOT_REGULAR,      /* a directory, fifo, socket, device or symlink */
	TG_HASH_ERROR,            /* any other failure: errno in err */
};

struct tg_hash_result {
	enum tg_hash_status status;
	int err;                  /* errno for TG_HASH_ERROR */
	uint8_t sha256[TG_SHA256_LEN];
	uint64_t size;
	uint32_t mode;
};

/* Reading pace: at most rate_bps bytes per second over the life of the
 * throttle (0 = unlimited). */
struct tg_throttle {
	uint64_t rate_bps;
	uint64_t t0_ns;
	uint64_t bytes;
};

void manifest_init(struct tg_manifest *m);
void manifest_free(struct tg_manifest *m);
/* 0; -1 with "path:line:col: what was expected" (or the system error) in
 * err. A missing file sets errno ENOENT. */
int manifest_load(struct tg_manifest *m, const char *path, char *err, size_t errlen);
/* Temp file + fsync + rename, mode 0600; its directory is created (0700)
 * when missing. 0, or -1 with err. */
int manifest_save(const struct tg_manifest *m, const char *path, char *err, size_t errlen);
struct tg_manifest_entry *manifest_find(const struct tg_manifest *m, const char *path);
/* Insert or replace. 0, -1 on allocation failure. */
int manifest_set(struct tg_manifest *m, const char *path, const struct tg_hash_result *h);
bool manifest_remove(struct tg_manifest *m, const char *path);

void manifest_hex(const uint8_t *sha, char out[TG_SHA256_HEX]);

/* Stream path through SHA-256, never following a symlink and never
 * blocking on a fifo; th (may be NULL) paces the reads. */
void manifest_hash_file(const char *path, struct tg_throttle *th, struct tg_hash_result *out);

/* Every regular file under each of dirs (symlinks not followed, at most
 * 32 levels, mount points crossed), in no particular order; fn returning
 * non-zero stops the walk with that value. Unreadable directories are
 * reported to warn (may be NULL) and skipped. Returns 0 or fn's value. */
typedef int (*tg_walk_fn)(void *ctx, const char *path);
int manifest_walk(const char *const *dirs, size_t n, tg_walk_fn fn, void *ctx,
		  void (*warn)(void *ctx, const char *path, int err));

#endif
