/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * File handlers. Opens are the hot path: a successful open is resolved from
 * the new fd's struct file and checked against the prefix LPM before any
 * record is built, so opens nobody watches cost one path walk and one lookup.
 * Name-based calls (unlink, rename, ...) are rarer and not prefix-filtered
 * here: their raw string could hide a watched file behind a symlink, so
 * userspace filters them after resolving (docs/design.md).
 */
#ifndef TG_FILE_BPF_H
#define TG_FILE_BPF_H

#include "syscall.bpf.h"
#include "dircache.bpf.h"

#define TG_O_ACCMODE 3
#define TG_O_WRONLY 1
#define TG_O_RDWR 2
#define TG_O_CREAT 0100
#define TG_O_TRUNC 01000
#define TG_O_TMPFILE 020000000

static __always_inline __u32 tg_open_access(__u32 flags)
{
	__u32 acc = flags & TG_O_ACCMODE;
	__u32 bits = acc == TG_O_WRONLY ? TG_ACC_WRITE :
		     acc == TG_O_RDWR ? (TG_ACC_READ | TG_ACC_WRITE) : TG_ACC_READ;

	if (flags & (TG_O_CREAT | TG_O_TRUNC))
		bits |= TG_ACC_WRITE;
	return bits;
}

/* Remember a reported write open until its close (integrity re-hash). */
static __always_inline void tg_track_write(__u64 flags, long fd)
{
	struct tg_settings *cfg = tg_settings_get();
	struct tg_wfd_key k = { .tgid = bpf_get_current_pid_tgid() >> 32, .fd = (int)fd };
	__u8 one = 1;

	if (cfg && (cfg->flags & TG_S_CLOSE_WRITES) && (tg_open_access(flags) & TG_ACC_WRITE)) {
		tg_wfd_hint[k.tgid & TG_WFD_HINT_MASK] = 1;
		bpf_map_update_elem(&tg_wfds, &k, &one, BPF_ANY);
	}
}

/* LPM lookup on the first TG_PREFIX_MAX bytes of a string at src. */
static __always_inline bool tg_prefix_lookup(struct tg_scratch *s, __u32 len, __u32 access)
{
	struct tg_prefix_key *k = &s->pkey;
	__u32 *v;

	k->prefixlen = (len < TG_PREFIX_MAX ? len : TG_PREFIX_MAX) * 8;
	v = bpf_map_lookup_elem(&tg_file_prefixes, k);
	return v && (*v & access);
}

static __always_inline bool tg_prefix_filter_on(void)
{
	struct tg_settings *cfg = tg_settings_get();

	return cfg && (cfg->flags & TG_S_FILE_PREFIX_FILTER);
}

struct tg_open_args {
	const char *path;
	__u64 flags;
	__u64 mode;
	int dirfd;
};

static __always_inline void tg_open_read_args(struct pt_regs *regs, struct tg_open_args *a)
{
	__u32 v = tg_variant(regs);
	struct open_how how = {};

	a->dirfd = TG_AT_FDCWD;
	if (v == TG_V_AT || v == TG_V_AT2) {
		a->dirfd = (int)tg_arg(regs, 0);
		a->path = (const char *)tg_arg(regs, 1);
		a->flags = tg_arg(regs, 2);
		a->mode = tg_arg(regs, 3);
		if (v == TG_V_AT2) {
			bpf_probe_read_user(&how, sizeof(how), (void *)a->flags);
			a->flags = how.flags;
			a->mode = how.mode;
		}
	} else if (v == TG_V_CREAT) {
		a->path = (const char *)tg_arg(regs, 0);
		a->mode = tg_arg(regs, 1);
		a->flags = TG_O_CREAT | TG_O_WRONLY | TG_O_TRUNC;
	} else {
		a->path = (const char *)tg_arg(regs, 0);
		a->flags = tg_arg(regs, 1);
		a->mode = tg_arg(regs, 2);
	}
	/* The kernel ignores mode unless it creates a file. */
	if (!(a->flags & (TG_O_CREAT | TG_O_TMPFILE)))
		a->mode = 0;
}

/* Just the flags: all the filter needs, so opens nobody watches skip
 * reading the other arguments. */
static __always_inline __u64 tg_open_flags(struct pt_regs *regs)
{
	__u32 v = tg_variant(regs);
	struct open_how how = {};

	if (v == TG_V_CREAT)
		return TG_O_CREAT | TG_O_WRONLY | TG_O_TRUNC;
	if (v == TG_V_AT2) {
		bpf_probe_read_user(&how, sizeof(how), (void *)tg_arg(regs, 2));
		return how.flags;
	}
	return tg_arg(regs, v == TG_V_AT ? 2 : 1);
}

/* Failed opens: only denials matter (ENOENT storms from library search
 * paths would drown the stream); absolute ones are prefix-checked. */
static __always_inline int tg_open_failed(struct tg_scratch *s, struct pt_regs *regs, long ret,
					  struct tg_open_args *a)
{
	if (ret != -TG_EACCES && ret != -TG_EPERM)
		goto filtered;
	if (tg_prefix_filter_on()) {
		long n = bpf_probe_read_user_str(s->pkey.data, TG_PREFIX_MAX, a->path);

		if (n > 1 && s->pkey.data[0] == '/' &&
		    !tg_prefix_lookup(s, n - 1, tg_open_access(a->flags)))
			goto filtered;
	}
	tg_sc_init(s, TG_EV_OPEN, regs, ret);
	s->ev.u.file.flags = a->flags;
	s->ev.u.file.mode = a->mode;
	s->ev.u.file.fd = a->dirfd;
	tg_str_name(s, 0, a->dirfd, a->path);
	return tg_submit(s);
filtered:
	TG_COUNT(filtered);
	return 0;
}

/* The open filter: directory cache first, a walk and an LPM lookup on a
 * miss. Returns true when the open is interesting. */
static __always_inline bool tg_open_filter(struct tg_scratch *s, const struct path *p, __u32 access,
					   __u32 *start, __u32 *len, bool *trunc)
{
	struct tg_settings *cfg = tg_settings_get();
	struct tg_dir_probe dp = {};
	int dc = TG_DC_NOCACHE;
	bool match;

	if (cfg && (cfg->flags & TG_S_DIRCACHE))
		dc = tg_dircache_check(p, access, &dp);
	if (dc == TG_DC_SKIP)
		return false;
	*len = tg_path_walk(p, s->path, start, trunc);
	/* A cut path lost its leading components: the prefix cannot be
	 * checked, so fail closed and report it (flagged truncated). */
	if (dc == TG_DC_MATCH || *trunc)
		return true;
	bpf_probe_read_kernel(s->pkey.data, TG_PREFIX_MAX, &s->path[*start & TG_HALF_MASK]);
	match = tg_prefix_lookup(s, *len, access);
	if (dc == TG_DC_MISS && !*trunc)
		tg_dircache_store(s, &dp, *start, *len);
	return match;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(tg_h_open, struct pt_regs *regs, long ret)
{
	struct tg_scratch *s = tg_scratch_get();
	struct tg_open_args a = {};
	bool trunc = false;
	struct file *f;
	struct path p;
	__u32 start = 0, len = 0;

	if (!s)
		return 0;
	if (ret < 0) {
		tg_open_read_args(regs, &a);
		return tg_open_failed(s, regs, ret, &a);
	}
	f = tg_fd_file(tg_current(), ret);
	if (!f)
		return 0;
	p = BPF_CORE_READ(f, f_path);
	if (tg_prefix_filter_on()) {
		if (!tg_open_filter(s, &p, tg_open_access(tg_open_flags(regs)), &start, &len, &trunc)) {
			TG_COUNT(filtered);
			return 0;
		}
	} else {
		len = tg_path_walk(&p, s->path, &start, &trunc);
	}
	tg_open_read_args(regs, &a);
	tg_sc_init(s, TG_EV_OPEN, regs, ret);
	s->ev.hdr.flags |= TG_F_PATH_RESOLVED;
	if (trunc) {
		s->ev.hdr.flags |= TG_F_PATH_TRUNC;
		TG_COUNT(path_trunc);
	}
	s->ev.u.file.flags = a.flags;
	s->ev.u.file.mode = a.mode;
	s->ev.u.file.fd = a.dirfd;
	s->ev.u.file.ino = BPF_CORE_READ(f, f_inode, i_ino);
	s->ev.u.file.dev = BPF_CORE_READ(f, f_inode, i_sb, s_dev);
	tg_str_from_walk(s, 0, start, len);
	if (tg_submit(s) == 0)
		tg_track_write(a.flags, ret);
	return 0;
}

/* A close of a tracked write fd: one lookup for every close otherwise. The
 * record carries only the fd; userspace knows its path from the open. */
SEC("tp_btf/sys_exit")
int BPF_PROG(tg_h_close, struct pt_regs *regs, long ret)
{
	struct tg_wfd_key k = { .tgid = bpf_get_current_pid_tgid() >> 32 };
	struct tg_scratch *s;

	if (ret != 0)
		return 0;
	k.fd = (int)tg_arg(regs, 0);
	if (!bpf_map_lookup_elem(&tg_wfds, &k))
		return 0;
	bpf_map_delete_elem(&tg_wfds, &k);
	s = tg_sc_start(TG_EV_CLOSE, regs, ret);
	if (!s)
		return 0;
	s->ev.u.file.fd = k.fd;
	tg_submit(s);
	return 0;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(tg_h_unlink, struct pt_regs *regs, long ret)
{
	struct tg_scratch *s = tg_sc_start(TG_EV_UNLINK, regs, ret);
	bool at = tg_variant(regs) == TG_V_AT;

	if (!s)
		return 0;
	if (at)
		s->ev.u.file.flags = tg_arg(regs, 2);
	tg_str_path_arg(s, 0, regs, at);
	tg_submit(s);
	return 0;
}

/* rename and link share a shape: (olddfd, old, newdfd, new[, flags]). */
static __always_inline int tg_two_paths(struct pt_regs *regs, long ret, __u16 type)
{
	struct tg_scratch *s = tg_sc_start(type, regs, ret);
	__u32 v = tg_variant(regs);

	if (!s)
		return 0;
	if (v == TG_V_AT || v == TG_V_AT2) {
		if (v == TG_V_AT2 || type == TG_EV_LINK)
			s->ev.u.file.flags = tg_arg(regs, 4);
		tg_str_path_arg(s, 0, regs, true);
		tg_str_name(s, 2, (int)tg_arg(regs, 2), (const char *)tg_arg(regs, 3));
	} else {
		tg_str_path_arg(s, 0, regs, false);
		tg_str_name(s, 2, TG_AT_FDCWD, (const char *)tg_arg(regs, 1));
	}
	return tg_submit(s);
}

SEC("tp_btf/sys_exit")
int BPF_PROG(tg_h_rename, struct pt_regs *regs, long ret)
{
	tg_two_paths(regs, ret, TG_EV_RENAME);
	return 0;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(tg_h_link, struct pt_regs *regs, long ret)
{
	tg_two_paths(regs, ret, TG_EV_LINK);
	return 0;
}

/* symlink(target, linkpath): str 0/1 the new link and its base, str 2 the
 * target exactly as given (a symlink stores it unresolved). */
SEC("tp_btf/sys_exit")
int BPF_PROG(tg_h_symlink, struct pt_regs *regs, long ret)
{
	struct tg_scratch *s = tg_sc_start(TG_EV_SYMLINK, regs, ret);

	if (!s)
		return 0;
	if (tg_variant(regs) == TG_V_AT)
		tg_str_name(s, 0, (int)tg_arg(regs, 1), (const char *)tg_arg(regs, 2));
	else
		tg_str_name(s, 0, TG_AT_FDCWD, (const char *)tg_arg(regs, 1));
	tg_str_user(s, 2, (const char *)tg_arg(regs, 0), TG_PATH_MAX);
	tg_submit(s);
	return 0;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(tg_h_chmod, struct pt_regs *regs, long ret)
{
	struct tg_scratch *s = tg_sc_start(TG_EV_CHMOD, regs, ret);
	__u32 v = tg_variant(regs);

	if (!s)
		return 0;
	if (v == TG_V_FD) {
		s->ev.u.file.fd = tg_arg(regs, 0);
		s->ev.u.file.mode = tg_arg(regs, 1);
		tg_str_fd(s, 0, s->ev.u.file.fd);
	} else {
		bool at = v == TG_V_AT || v == TG_V_AT2;

		s->ev.u.file.mode = tg_arg(regs, at ? 2 : 1);
		if (v == TG_V_AT2)
			s->ev.u.file.flags = tg_arg(regs, 3);
		tg_str_path_arg(s, 0, regs, at);
	}
	tg_submit(s);
	return 0;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(tg_h_chown, struct pt_regs *regs, long ret)
{
	struct tg_scratch *s = tg_sc_start(TG_EV_CHOWN, regs, ret);
	__u32 v = tg_variant(regs);
	int base = v == TG_V_AT ? 1 : 0;

	if (!s)
		return 0;
	s->ev.u.file.uid = tg_arg(regs, base + 1);
	s->ev.u.file.gid = tg_arg(regs, base + 2);
	if (v == TG_V_FD) {
		s->ev.u.file.fd = tg_arg(regs, 0);
		tg_str_fd(s, 0, s->ev.u.file.fd);
	} else {
		if (v == TG_V_AT)
			s->ev.u.file.flags = tg_arg(regs, 4);
		tg_str_path_arg(s, 0, regs, v == TG_V_AT);
	}
	tg_submit(s);
	return 0;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(tg_h_truncate, struct pt_regs *regs, long ret)
{
	struct tg_scratch *s = tg_sc_start(TG_EV_TRUNCATE, regs, ret);

	if (!s)
		return 0;
	s->ev.u.file.length = tg_arg(regs, 1);
	if (tg_variant(regs) == TG_V_FD) {
		s->ev.u.file.fd = tg_arg(regs, 0);
		tg_str_fd(s, 0, s->ev.u.file.fd);
	} else {
		tg_str_name(s, 0, TG_AT_FDCWD, (const char *)tg_arg(regs, 0));
	}
	tg_submit(s);
	return 0;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(tg_h_mkdir, struct pt_regs *regs, long ret)
{
	struct tg_scratch *s = tg_sc_start(TG_EV_MKDIR, regs, ret);
	bool at = tg_variant(regs) == TG_V_AT;

	if (!s)
		return 0;
	s->ev.u.file.mode = tg_arg(regs, at ? 2 : 1);
	tg_str_path_arg(s, 0, regs, at);
	tg_submit(s);
	return 0;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(tg_h_memfd, struct pt_regs *regs, long ret)
{
	struct tg_scratch *s = tg_sc_start(TG_EV_MEMFD, regs, ret);

	if (!s)
		return 0;
	s->ev.u.file.flags = tg_arg(regs, 1);
	s->ev.u.file.fd = ret;
	tg_str_user(s, 0, (const char *)tg_arg(regs, 0), TG_NAME_MAX);
	tg_submit(s);
	return 0;
}

#endif
