/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Process lifecycle: exec, fork/clone, exit. BTF tracepoints, no tracefs. */
#ifndef TG_PROC_BPF_H
#define TG_PROC_BPF_H

#include "emit.bpf.h"

static __always_inline bool tg_class_on(__u32 class)
{
	struct tg_settings *cfg = tg_settings_get();

	return cfg && (cfg->classes & class);
}

static __always_inline bool tg_is_self(void)
{
	return (bpf_get_current_pid_tgid() >> 32) == tg_self_tgid;
}

/* argv lives in the new mm between arg_start and arg_end. */
static __always_inline void tg_exec_argv(struct tg_scratch *s, struct task_struct *task)
{
	struct mm_struct *mm = BPF_CORE_READ(task, mm);
	unsigned long start = BPF_CORE_READ(mm, arg_start);
	unsigned long end = BPF_CORE_READ(mm, arg_end);
	__u64 len; /* 64-bit: see tg_submit() */

	if (end <= start)
		return;
	len = end - start;
	if (len > TG_ARGV_MAX) {
		len = TG_ARGV_MAX;
		s->ev.hdr.flags |= TG_F_ARGV_TRUNC;
	}
	if (!tg_room(s, TG_ARGV_MAX))
		return;
	barrier_var(len);
	if (bpf_probe_read_user(&s->ev.data[s->cursor & TG_DATA_MASK], len & (TG_ARGV_MAX * 2 - 1),
				(void *)start))
		return;
	/* argv strings keep their NULs; force the last one so a truncated
	 * final argument still terminates. str.len excludes that NUL. */
	s->ev.data[(s->cursor + len - 1) & TG_DATA_MASK] = 0;
	tg_str_commit(s, 1, len);
}

static __always_inline void tg_exec_image(struct tg_scratch *s, struct linux_binprm *bprm)
{
	struct file *file = BPF_CORE_READ(bprm, file);
	struct dentry *d = BPF_CORE_READ(file, f_path.dentry);
	struct inode *inode = BPF_CORE_READ(file, f_inode);
	struct path fpath = BPF_CORE_READ(file, f_path);
	char prefix[6] = {};
	__u32 nlink = tg_inode_nlink(inode);

	s->ev.u.exec.exe_nlink = nlink;
	bpf_probe_read_kernel(prefix, sizeof(prefix), BPF_CORE_READ(d, d_name.name));
	if (prefix[0] == 'm' && prefix[1] == 'e' && prefix[2] == 'm' && prefix[3] == 'f' &&
	    prefix[4] == 'd' && prefix[5] == ':' && nlink == 0)
		s->ev.hdr.flags |= TG_F_EXE_MEMFD;
	else if (nlink == 0)
		s->ev.hdr.flags |= TG_F_EXE_DELETED;
	tg_str_path(s, 0, &fpath);
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(tg_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	struct tg_scratch *s;
	const struct cred *cred;
	struct path pwd;

	if (tg_is_self() || !tg_class_on(TG_CLASS_PROCESS))
		return 0;
	s = tg_event_start(TG_EV_EXEC);
	if (!s)
		return 0;
	cred = BPF_CORE_READ(p, cred);
	/* Field: euid, egid, auid, old_pid */
	s->ev.u.exec.euid = BPF_CORE_READ(cred, euid.val);
	s->ev.u.exec.egid = BPF_CORE_READ(cred, egid.val);
	s->ev.u.exec.auid = tg_task_loginuid(p);
	s->ev.u.exec.old_pid = old_pid;
	/* str 0: exe (resolved), 1: argv, 2: cwd, 3: cgroup leaf */
	tg_exec_image(s, bprm);
	tg_exec_argv(s, p);
	pwd = BPF_CORE_READ(p, fs, pwd);
	tg_str_path(s, 2, &pwd);
	tg_str_kernel(s, 3, BPF_CORE_READ(p, cgroups, dfl_cgrp, kn, name), TG_CGROUP_NAME_MAX);
	tg_submit(s);
	return 0;
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(tg_fork, struct task_struct *parent, struct task_struct *child)
{
	struct tg_settings *cfg = tg_settings_get();
	struct tg_scratch *s;
	bool thread;

	if (!cfg || !(cfg->classes & TG_CLASS_PROCESS) || tg_is_self())
		return 0;
	thread = BPF_CORE_READ(child, tgid) == BPF_CORE_READ(parent, tgid);
	if (thread && !(cfg->flags & TG_S_THREADS))
		return 0;
	s = tg_event_start(TG_EV_FORK);
	if (!s)
		return 0;
	if (thread)
		s->ev.hdr.flags |= TG_F_THREAD;
	s->ev.u.fork.child_tgid = BPF_CORE_READ(child, tgid);
	s->ev.u.fork.child_tid = BPF_CORE_READ(child, pid);
	s->ev.u.fork.child_start_ns = tg_task_start_ns(child);
	tg_submit(s);
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(tg_exit, struct task_struct *p)
{
	struct tg_settings *cfg = tg_settings_get();
	struct tg_scratch *s;
	bool group_dead;

	if (!cfg || !(cfg->classes & TG_CLASS_PROCESS) || tg_is_self())
		return 0;
	/* do_exit() decrements signal->live before this tracepoint on every
	 * kernel we support; 0 means the whole process is gone. This avoids
	 * the group_dead argument that only 6.16+ passes. */
	group_dead = BPF_CORE_READ(p, signal, live.counter) == 0;
	if (!group_dead && !(cfg->flags & TG_S_THREADS))
		return 0;
	s = tg_event_start(TG_EV_EXIT);
	if (!s)
		return 0;
	if (!group_dead)
		s->ev.hdr.flags |= TG_F_THREAD;
	s->ev.u.exit.exit_code = BPF_CORE_READ(p, exit_code);
	tg_submit(s);
	return 0;
}

#endif
