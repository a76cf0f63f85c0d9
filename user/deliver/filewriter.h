/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * filewriter: whole JSON lines appended to one regular file, for the file
 * sink (alerts_file) and any other sink that writes a regular file. Its
 * one promise is that a reader of the file only ever sees whole records:
 *
 *   fw_write(recs[0..n))
 *     st_size before ---> [json\n][json\n][json\n][js|  ENOSPC / EDQUOT / EIO
 *                                                 ^ ftruncate back here
 *     returns 2: the two whole lines stay, the rest is the caller's
 *
 * A short write is always cut back to the last whole line, so a full disk
 * leaves neither a partial line nor one glued to the next write. Lines
 * and bytes count only what stayed in the file.
 *
 * The path is watched, not trusted: fw_check() notices a file deleted
 * (st_nlink == 0) or moved away (the path is gone or names another inode)
 * and recreates it, so external rotation without a signal and an
 * operator's `rm` both heal within a tick. fw_reopen() is the SIGUSR1
 * path for logrotate. Not thread-safe: one sink thread owns a writer.
 */
#ifndef TG_DELIVER_FILEWRITER_H
#define TG_DELIVER_FILEWRITER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "deliver/record.h"

struct tg_fw;

/*
 * Open (creating it with mode when absent) path for appending:
 * O_APPEND|O_CLOEXEC|O_NOFOLLOW, refusing a symlink or anything that is
 * not a regular file. The directory must exist. NULL with err set to
 * "failed to open PATH: why" (naming the missing directory when that is
 * why).
 */
struct tg_fw *fw_open(const char *path, mode_t mode, char *err, size_t errlen);
/*
 * Append recs[0..n), each as json + '\n'. Returns how many whole records
 * are in the file, from the front: n, or fewer after a write error, with
 * err saying why ("failed to write PATH: No space left on device ...");
 * the file is then cut back to the end of the last whole record.
 */
size_t fw_write(struct tg_fw *fw, struct tg_record *const *recs, size_t n, char *err,
		size_t errlen);
/*
 * The file at the path is still ours? FW_SAME: yes. FW_MOVED: it was
 * moved away (or another file now has its name) and the writer reopened
 * the path, creating it when absent. FW_DELETED: it was deleted and was
 * recreated; what went to the deleted file since it was removed went with
 * it. err names the case. -1: the path cannot be opened (err says why);
 * the writer keeps its old descriptor until a check or reopen succeeds.
 */
enum { FW_SAME = 0, FW_MOVED = 1, FW_DELETED = 2 };
int fw_check(struct tg_fw *fw, char *err, size_t errlen);
/* Close and open the path again (SIGUSR1, our own rotation). -1 with err
 * set when it cannot be opened; the old descriptor is kept then. */
int fw_reopen(struct tg_fw *fw, char *err, size_t errlen);
/* Size of the open file now (what rotation compares with its limit). */
uint64_t fw_size(const struct tg_fw *fw);
const char *fw_path(const struct tg_fw *fw);
/* Totals since fw_open: what stayed in the file (reopens included). */
uint64_t fw_lines(const struct tg_fw *fw);
uint64_t fw_bytes(const struct tg_fw *fw);
/* fsync(2) the open file (before a rotation, at close). 0 or -1/errno. */
int fw_sync(struct tg_fw *fw);
/* NULL ok. */
void fw_close(struct tg_fw *fw);

#endif
