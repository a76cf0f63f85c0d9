/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Absolute paths from kernel objects. Without kprobes, fentry or LSM there is
 * no bpf_d_path(), so we walk dentries and mounts ourselves (the approach of
 * Tracee's get_path_str and Falco's auxmap__store_path). The result is the
 * path the kernel really used: symlinks and ".." are already resolved. Like
 * the kernel's own d_path(), a path is relative to the root of the process's
 * mount namespace (a chroot is ignored, a pivot_root is not): a container
 * shows container paths. File records carry the mount namespace id so rules
 * can tell host paths from others (docs/design.md).
 */
#ifndef TG_PATH_BPF_H
#define TG_PATH_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include "maps.bpf.h"

/* Deepest path walked; deeper paths keep their last components and set
 * TG_F_PATH_TRUNC. 64 covers real trees and keeps verification cheap. */
#define TG_MAX_PATH_DEPTH 64
#define TG_HALF_MASK (TG_PATH_MAX - 1)

#ifndef container_of
#define container_of(ptr, type, member) \
	((type *)((void *)(ptr) - __builtin_offsetof(type, member)))
#endif

/* Prepend "/" + name in front of *pos. Returns 0, or -1 when it no longer fits. */
static __always_inline int tg_path_prepend(char *buf, __u32 *pos, const struct qstr *name)
{
	__u32 len = name->len;

	if (len >= TG_NAME_MAX || len + 1 > *pos)
		return -1;
	*pos -= len + 1;
	bpf_probe_read_kernel(&buf[(*pos + 1) & TG_HALF_MASK], len & (TG_NAME_MAX - 1), name->name);
	buf[*pos & TG_HALF_MASK] = '/';
	return 0;
}

/*
 * d_parent and d_name sit next to each other in struct dentry on every
 * kernel we know, so one probe read fetches both: the walk is the hot part
 * of every open, and helper calls are what it costs. The offsets are CO-RE
 * relocated; an unexpected layout falls back to two reads.
 */
#define TG_DSPAN 48
static __always_inline void tg_dentry_read(struct dentry *d, struct dentry **parent, struct qstr *name)
{
	__u32 op = bpf_core_field_offset(struct dentry, d_parent);
	__u32 on = bpf_core_field_offset(struct dentry, d_name);
	char span[TG_DSPAN];

	if (on > op && on - op + sizeof(struct qstr) <= TG_DSPAN &&
	    !bpf_probe_read_kernel(span, on - op + sizeof(struct qstr), (void *)d + op)) {
		*parent = *(struct dentry **)span;
		__builtin_memcpy(name, &span[(on - op) & (TG_DSPAN - 1)], sizeof(*name));
		return;
	}
	*parent = BPF_CORE_READ(d, d_parent);
	*name = BPF_CORE_READ(d, d_name);
}

struct tg_walk {
	struct dentry *dentry;
	struct dentry *mnt_root;   /* root dentry of the current mount */
	struct mount *mnt;
	struct mount *mnt_parent;
	char *buf;
	__u32 pos;
	bool done;
	bool trunc;
};

/* Cross from the root of w->mnt to where it is mounted. */
static __always_inline void tg_walk_cross(struct tg_walk *w)
{
	struct mount *mnt = w->mnt;
	struct mount *m = w->mnt_parent;

	w->dentry = BPF_CORE_READ(mnt, mnt_mountpoint);
	w->mnt = m;
	w->mnt_parent = BPF_CORE_READ(m, mnt_parent);
	w->mnt_root = BPF_CORE_READ(m, mnt.mnt_root);
}

/* One step up the tree. bpf_loop() verifies this body once instead of once
 * per iteration, which is what keeps a 64-deep walk (twice per exec) far
 * below the verifier's budget. Locals only inside BPF_CORE_READ: a w->
 * inside it would make clang emit CO-RE relocations against tg_walk. */
static long tg_walk_step(__u32 i, struct tg_walk *w)
{
	struct dentry *dentry = w->dentry;
	struct dentry *parent;
	struct qstr name;

	tg_dentry_read(dentry, &parent, &name);
	if (dentry == w->mnt_root && w->mnt != w->mnt_parent) {
		tg_walk_cross(w);
		return 0;
	}
	if (dentry == parent) {
		/* The filesystem's root ends the walk; any other dentry that is
		 * its own parent is a pseudo file (memfd, pipe) whose name is
		 * all there is. */
		if (dentry != BPF_CORE_READ(dentry, d_sb, s_root) &&
		    tg_path_prepend(w->buf, &w->pos, &name))
			w->trunc = true;
		w->done = true;
		return 1;
	}
	if (tg_path_prepend(w->buf, &w->pos, &name)) {
		w->trunc = true;
		w->done = true;
		return 1;
	}
	w->dentry = parent;
	return 0;
}

/*
 * Walk path up to the global root, writing it backwards into buf[0..PATH_MAX).
 * On return *start is the offset of the first byte; the string ends with the
 * NUL at TG_PATH_MAX - 1. Returns the length, with *trunc set when cut.
 */
static __always_inline __u32 tg_path_walk(const struct path *path, char *buf, __u32 *start,
					  bool *trunc)
{
	struct tg_walk w = {};
	struct vfsmount *vfsmnt = path->mnt; /* path is a copy on our stack */
	struct mount *mnt = container_of(vfsmnt, struct mount, mnt);

	w.dentry = path->dentry;
	w.mnt_root = BPF_CORE_READ(vfsmnt, mnt_root);
	w.mnt = mnt;
	w.mnt_parent = BPF_CORE_READ(mnt, mnt_parent);
	w.buf = buf;
	w.pos = TG_PATH_MAX - 1;
	buf[TG_PATH_MAX - 1] = 0;
	bpf_loop(TG_MAX_PATH_DEPTH, tg_walk_step, &w, 0);
	if (!w.done || w.trunc)
		*trunc = true;
	if (w.pos == TG_PATH_MAX - 1) {
		w.pos--;
		buf[w.pos & TG_HALF_MASK] = '/';
	}
	*start = w.pos & TG_HALF_MASK;
	return TG_PATH_MAX - 1 - *start;
}

/* fd -> struct file of the current task, NULL when out of range or closed. */
static __always_inline struct file *tg_fd_file(struct task_struct *task, long fd)
{
	/* task is trusted (bpf_get_current_task_btf): direct loads down to
	 * the fdtable; only the array slot needs a probe read. */
	struct files_struct *files = task->files;
	struct fdtable *fdt;
	unsigned long fds;
	struct file *f = NULL;

	if (!files || fd < 0)
		return NULL;
	fdt = files->fdt;
	if (!fdt || (unsigned long)fd >= fdt->max_fds)
		return NULL;
	fds = (unsigned long)fdt->fd;
	if (bpf_probe_read_kernel(&f, sizeof(f), (void *)(fds + fd * sizeof(f))))
		return NULL;
	return f;
}

#endif
