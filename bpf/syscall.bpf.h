/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Syscall plumbing shared by every handler: the sys_exit dispatcher looks the
 * syscall number up in tg_syscalls and tail-calls the handler, which reads
 * arguments from the saved registers and the result from ret.
 */
#ifndef TG_SYSCALL_BPF_H
#define TG_SYSCALL_BPF_H

#include "emit.bpf.h"

#define TG_AT_FDCWD -100
#define TG_EACCES 13
#define TG_EPERM 1
#define TG_S_IFMT 00170000
#define TG_S_IFSOCK 0140000

static __always_inline struct tg_call *tg_call_get(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&tg_call_map, &zero);
}

static __always_inline __u32 tg_variant(struct pt_regs *regs)
{
	struct tg_call *c = tg_call_get();

	return c ? c->variant : 0;
}

static __always_inline bool tg_call_compat(void)
{
	struct tg_call *c = tg_call_get();

	return c && c->compat;
}

/* noinline: inlined, clang merges these register loads with loads from
 * other pointers into one instruction, which the verifier rejects. */
static __noinline unsigned long tg_arg(struct pt_regs *regs, int i)
{
	return tg_arch_arg(regs, i, tg_call_compat());
}

static __always_inline struct task_struct *tg_current(void)
{
	return (struct task_struct *)bpf_get_current_task_btf();
}

static __always_inline void tg_sc_init(struct tg_scratch *s, __u16 type, struct pt_regs *regs, long ret)
{
	tg_event_init(s, type);
	s->ev.hdr.syscall_nr = (__s32)tg_syscall_nr(regs);
	s->ev.hdr.ret = ret;
	if (tg_call_compat())
		s->ev.hdr.flags |= TG_F_COMPAT;
	if (type >= TG_EV_OPEN && type < TG_EV_CONNECT)
		s->ev.u.file.mnt_ns = tg_current()->nsproxy->mnt_ns->ns.inum;
}

static __always_inline struct tg_scratch *tg_sc_start(__u16 type, struct pt_regs *regs, long ret)
{
	struct tg_scratch *s = tg_scratch_get();

	if (s)
		tg_sc_init(s, type, regs, ret);
	return s;
}

/*
 * The directory a name-based call resolved its path from: the process root
 * for absolute paths, the cwd for AT_FDCWD, else the dirfd's file. Sent with
 * the raw string so userspace can rebuild the path the kernel used even after
 * the process is gone.
 */
static __always_inline void tg_str_base(struct tg_scratch *s, int idx, int dirfd, const char *upath)
{
	struct task_struct *task = tg_current();
	struct path base;
	char c = 0;

	if (!upath || bpf_probe_read_user(&c, 1, upath))
		return;
	if (c == '/') {
		base = BPF_CORE_READ(task, fs, root);
	} else if (dirfd == TG_AT_FDCWD) {
		base = BPF_CORE_READ(task, fs, pwd);
	} else {
		struct file *f = tg_fd_file(task, dirfd);

		if (!f)
			return;
		base = BPF_CORE_READ(f, f_path);
	}
	tg_str_path(s, idx, &base);
	s->ev.hdr.flags |= TG_F_BASE_RESOLVED;
}

/* Raw path string in idx, its base directory in idx + 1. */
static __always_inline void tg_str_name(struct tg_scratch *s, int idx, int dirfd, const char *upath)
{
	tg_str_user(s, idx, upath, TG_PATH_MAX);
	tg_str_base(s, idx + 1, dirfd, upath);
}

/* The path argument of an "*at" call (dirfd in arg 0, path in arg 1) or
 * of its plain form (path in arg 0, relative to the cwd) into str idx. */
static __always_inline void tg_str_path_arg(struct tg_scratch *s, int idx, struct pt_regs *regs,
					    bool at)
{
	if (at)
		tg_str_name(s, idx, (int)tg_arg(regs, 0), (const char *)tg_arg(regs, 1));
	else
		tg_str_name(s, idx, TG_AT_FDCWD, (const char *)tg_arg(regs, 0));
}

/* Resolved path of an fd into str 0 (fchmod, ftruncate, finit_module...). */
static __always_inline struct file *tg_str_fd(struct tg_scratch *s, int idx, long fd)
{
	struct file *f = tg_fd_file(tg_current(), fd);
	struct path p;

	if (!f)
		return NULL;
	p = BPF_CORE_READ(f, f_path);
	tg_str_path(s, idx, &p);
	s->ev.hdr.flags |= TG_F_PATH_RESOLVED | TG_F_FD_PATH;
	return f;
}

static __always_inline struct socket *tg_fd_socket(long fd)
{
	struct file *f = tg_fd_file(tg_current(), fd);
	umode_t mode;

	if (!f)
		return NULL;
	mode = BPF_CORE_READ(f, f_inode, i_mode);
	if ((mode & TG_S_IFMT) != TG_S_IFSOCK)
		return NULL;
	return BPF_CORE_READ(f, private_data);
}

#endif
