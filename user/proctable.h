/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* proctable: live process table with ancestry, seeded from /proc. */
#ifndef TG_PROCTABLE_H
#define TG_PROCTABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TG_ENTITY_ID_LEN 48
#define TG_CONTAINER_ID_LEN 65
#define TG_MAX_ANCESTRY 32

enum tg_proc_flags {
	TG_P_FROM_SCAN = 1u << 0,  /* learnt from /proc at start, not from exec */
	TG_P_EXITED = 1u << 1,
	TG_P_EXE_MEMFD = 1u << 2,
	TG_P_EXE_DELETED = 1u << 3,
	TG_P_ARGV_TRUNC = 1u << 4,
};

struct tg_proc {
	uint32_t pid;
	uint32_t ppid;
	uint64_t start_ticks;                 /* start time in clock ticks since boot */
	char entity_id[TG_ENTITY_ID_LEN];     /* "<boot8>-<pid hex>-<ticks hex>" */
	char parent_entity_id[TG_ENTITY_ID_LEN];
	uint32_t uid, euid, gid, egid, auid;
	char *exe;                            /* absolute path, owned */
	char *args;                           /* argv, NUL-separated, owned */
	size_t args_len;                      /* bytes in args incl. NULs */
	char *cwd;                            /* owned */
	const char *user;                     /* user name (cached), never NULL */
	char container_id[TG_CONTAINER_ID_LEN]; /* "" when not in a container */
	char comm[16];
	uint64_t cgroup_id;
	unsigned flags;                       /* enum tg_proc_flags */
	int exit_code;
	uint64_t exit_ns;                     /* boot-time ns of exit, 0 while alive */
};

struct tg_proctable_stats {
	size_t live;
	size_t entries;
	uint64_t evictions;                   /* entries dropped to respect the cap */
	uint64_t exited_reaped;               /* exited entries removed after grace */
};

struct tg_proctable;

/* boot_id8: first 8 hex chars of /proc/sys/kernel/random/boot_id (or any
 * string for tests). max: entry cap (>= 16). */
struct tg_proctable *proctable_new(size_t max, const char *boot_id8);
void proctable_free(struct tg_proctable *pt);
/* Scan <procfs>/[0-9]* ; entries get TG_P_FROM_SCAN. Returns entries added or -1. */
int proctable_seed(struct tg_proctable *pt, const char *procfs);
struct tg_proc *proctable_lookup(struct tg_proctable *pt, uint32_t pid);
/* Create or replace the entry for pid (exec or first sight). Returned entry
 * is owned by the table; strings passed are copied. */
struct tg_proc *proctable_upsert(struct tg_proctable *pt, uint32_t pid, uint64_t start_ticks);
/* fork: child inherits the parent's exe/args/cwd/ids/container. */
struct tg_proc *proctable_fork(struct tg_proctable *pt, uint32_t parent, uint32_t child,
			       uint64_t child_start_ticks);
void proctable_exit(struct tg_proctable *pt, uint32_t pid, int exit_code, uint64_t now_ns);
/* Remove exited entries older than grace_ns. */
void proctable_reap(struct tg_proctable *pt, uint64_t now_ns, uint64_t grace_ns);
/* out[0] = parent, out[1] = grandparent ... up to max; stops at pid 0/1
 * (pid 1 included) or at a missing entry. Sets *truncated when max was hit. */
size_t proctable_ancestors(struct tg_proctable *pt, const struct tg_proc *p,
			   const struct tg_proc **out, size_t max, bool *truncated);
void proctable_stats(const struct tg_proctable *pt, struct tg_proctable_stats *st);
/* Helpers shared with event decoding. */
void proctable_set_str(char **dst, const char *src, size_t len);
void proctable_make_entity_id(const struct tg_proctable *pt, uint32_t pid, uint64_t ticks,
			      char out[TG_ENTITY_ID_LEN]);
const char *proctable_user_name(struct tg_proctable *pt, uint32_t uid);
/* Every live entry (for `twinguard ps`); returns how many. */
size_t proctable_foreach(struct tg_proctable *pt, void (*fn)(void *ctx, const struct tg_proc *p),
			 void *ctx);

#endif
