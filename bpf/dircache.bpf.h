/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Directory verdict cache for the open filter. Whether a file directly in a
 * directory D matches a prefix depends only on D's path, so after one walk
 * the answer is kept per (D, mount). Later opens in D cost two dentry reads
 * and one lookup instead of a full walk. Correctness:
 *  - an entry also records D's parent pointer and name hash: D renamed or
 *    moved, or its dentry reused for another directory, no longer matches;
 *  - tg_dir_gen is bumped on every successful rename, mount, move_mount and
 *    pivot_root (an ancestor of D moving changes D's path without touching
 *    D), on every io_uring RENAMEAT completion (io_uring makes no syscall
 *    we could see) and on every config apply; entries of an older
 *    generation are ignored. Without the io_uring hook the cache is off;
 *  - a directory some prefix ends inside ("/etc" for "/etc/shadow") is
 *    never cached: there the file name decides (tg_prefix_dirs).
 */
#ifndef TG_DIRCACHE_BPF_H
#define TG_DIRCACHE_BPF_H

#include "path.bpf.h"

__u64 tg_dir_gen = 0;

struct tg_dcache_key {
	__u64 dir;
	__u64 mnt;
};

struct tg_dcache_val {
	__u64 dir_parent;
	__u64 hash_len;
	__u64 gen;
	__u32 bits;        /* TG_ACC_* that every file directly in D matches */
	__u32 pad;
};

/* Per-CPU and direct-mapped: a lookup is an inlined array access and a
 * compare, no hashing or locking (an LRU hash lookup was a sixth of the
 * cost of a filtered open). A collision only evicts: the next open of that
 * directory walks again. 512 slots of 48 bytes stay under the 32 KiB
 * per-CPU value limit. */
#define TG_DCACHE_SLOTS 512

struct tg_dcache_slot {
	struct tg_dcache_key key;
	struct tg_dcache_val val;
};

struct tg_dcache_table {
	struct tg_dcache_slot slot[TG_DCACHE_SLOTS];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tg_dcache_table);
} tg_dircache SEC(".maps");

static __always_inline struct tg_dcache_slot *tg_dcache_slot(const struct tg_dcache_key *k)
{
	__u32 zero = 0;
	struct tg_dcache_table *t = bpf_map_lookup_elem(&tg_dircache, &zero);
	/* dentries are 192-byte slab objects: drop the low bits */
	__u64 h = (k->dir >> 6) ^ (k->dir >> 15) ^ (k->mnt >> 6);

	return t ? &t->slot[h & (TG_DCACHE_SLOTS - 1)] : NULL;
}

struct tg_dir_key {
	char path[TG_PREFIX_MAX];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, struct tg_dir_key);
	__type(value, __u8);
} tg_prefix_dirs SEC(".maps");

enum { TG_DC_MISS, TG_DC_SKIP, TG_DC_MATCH, TG_DC_NOCACHE };

struct tg_dir_probe {
	struct tg_dcache_key key;
	struct tg_dcache_val val;
	__u32 name_len;    /* length of the file's own name */
};

static __always_inline int tg_dircache_check(const struct path *p, __u32 access, struct tg_dir_probe *dp)
{
	struct dentry *file = p->dentry; /* p is a copy on our stack */
	struct dentry *dir, *dir_parent;
	struct qstr name, dname;
	struct tg_dcache_slot *slot;
	struct tg_dcache_val *v;

	tg_dentry_read(file, &dir, &name);
	if (dir == file)
		return TG_DC_NOCACHE; /* a mount root: no directory to key on */
	tg_dentry_read(dir, &dir_parent, &dname);
	dp->name_len = name.len;
	dp->key.dir = (__u64)dir;
	dp->key.mnt = (__u64)p->mnt;
	dp->val.dir_parent = (__u64)dir_parent;
	dp->val.hash_len = dname.hash_len;
	dp->val.gen = tg_dir_gen;
	slot = tg_dcache_slot(&dp->key);
	if (!slot || slot->key.dir != dp->key.dir || slot->key.mnt != dp->key.mnt)
		return TG_DC_MISS;
	v = &slot->val;
	if (v->gen != dp->val.gen || v->dir_parent != dp->val.dir_parent ||
	    v->hash_len != dp->val.hash_len)
		return TG_DC_MISS;
	return (v->bits & access) ? TG_DC_MATCH : TG_DC_SKIP;
}

/* After a walk: the file's path is in s->path at start (len bytes) and its
 * first TG_PREFIX_MAX bytes are already in s->pkey.data. */
static __always_inline void tg_dircache_store(struct tg_scratch *s, struct tg_dir_probe *dp,
					      __u32 start, __u32 len)
{
	struct tg_dir_key *k = (struct tg_dir_key *)s->dkey;
	__u64 dlen; /* 64-bit: see tg_submit() */
	struct tg_dcache_slot *slot;
	__u32 *bits;

	if (dp->name_len + 1 >= len)
		return; /* D is "/" */
	dlen = len - dp->name_len - 1;
	if (dlen >= TG_PREFIX_MAX - 1)
		return; /* too long for the LPM key */
	barrier_var(dlen);
	__builtin_memset(k, 0, sizeof(*k));
	bpf_probe_read_kernel(k->path, dlen & (TG_PREFIX_MAX - 1), &s->path[start & TG_HALF_MASK]);
	if (bpf_map_lookup_elem(&tg_prefix_dirs, k))
		return;
	/* "D/" is what every file directly in D starts with */
	s->pkey.prefixlen = (dlen + 1) * 8;
	bits = bpf_map_lookup_elem(&tg_file_prefixes, &s->pkey);
	dp->val.bits = bits ? *bits : 0;
	slot = tg_dcache_slot(&dp->key);
	if (slot) {
		slot->key = dp->key;
		slot->val = dp->val;
	}
}

#define TG_IORING_OP_RENAMEAT 35 /* io_uring ABI */

/* Only the request is read: its position (2nd argument) is the same in
 * every kernel's io_uring_complete, unlike the arguments after it. */
SEC("tp_btf/io_uring_complete")
int BPF_PROG(tg_uring_complete, void *ring, void *req)
{
	if (BPF_CORE_READ((struct io_kiocb *)req, opcode) == TG_IORING_OP_RENAMEAT)
		__sync_fetch_and_add(&tg_dir_gen, 1);
	return 0;
}

#endif
