/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Every kernel-version and arch difference the programs depend on, in one
 * place (bcc's core_fixes.bpf.h pattern). Each case is a CO-RE flavor chosen
 * with bpf_core_field_exists(), never LINUX_VERSION_CODE.
 */
#ifndef TG_CORE_FIXES_BPF_H
#define TG_CORE_FIXES_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>

/* 5.5 (commit cf25e24db61c "time: Rename tsk->real_start_time to
 * ->start_boottime") renamed the boot-based start time. /proc/<pid>/stat
 * field 22 is derived from it, which is what makes entity ids agree between
 * the /proc scan and live events. */
struct task_struct___old {
	u64 real_start_time;
} __attribute__((preserve_access_index));

static __always_inline __u64 tg_task_start_ns(struct task_struct *task)
{
	struct task_struct *leader = BPF_CORE_READ(task, group_leader);

	if (bpf_core_field_exists(leader->start_boottime))
		return BPF_CORE_READ(leader, start_boottime);
	return BPF_CORE_READ((struct task_struct___old *)leader, real_start_time);
}

/* loginuid only exists with CONFIG_AUDIT. */
static __always_inline __u32 tg_task_loginuid(struct task_struct *task)
{
	if (bpf_core_field_exists(task->loginuid))
		return BPF_CORE_READ(task, loginuid.val);
	return (__u32)-1;
}

/* The syscall number at sys_exit: x86 keeps it in orig_ax, arm64 in
 * syscallno. Arguments come from the saved user registers, which the kernel
 * leaves intact until return (Falco modern_bpf reads them at exit too), so
 * one sys_exit hook sees both the arguments and the result.
 * regs is the tp_btf argument, a trusted BTF pointer: plain loads (CO-RE
 * relocated) instead of bpf_probe_read_kernel() calls, which cost ~30 ns
 * each on the hot path of every syscall. */
#if defined(__TARGET_ARCH_x86)
#define TG_TS_COMPAT 0x0002 /* arch/x86/include/asm/thread_info.h */

/* A 32-bit (int $0x80 / ia32) syscall: its number and registers follow the
 * i386 ABI: its entry is the upper half of tg_syscalls, its arguments are in
 * bx, cx, ... */
static __always_inline bool tg_is_compat(void)
{
	struct task_struct *t = (struct task_struct *)bpf_get_current_task_btf();

	if (!bpf_core_field_exists(t->thread_info.status))
		return false;
	return t->thread_info.status & TG_TS_COMPAT;
}

static __always_inline long tg_syscall_nr(struct pt_regs *regs)
{
	return regs->orig_ax;
}

static __always_inline unsigned long tg_arch_arg(struct pt_regs *regs, int i, bool compat)
{
	if (compat) {
		switch (i) {
		case 0: return (__u32)regs->bx;
		case 1: return (__u32)regs->cx;
		case 2: return (__u32)regs->dx;
		case 3: return (__u32)regs->si;
		case 4: return (__u32)regs->di;
		default: return (__u32)regs->bp;
		}
	}
	switch (i) {
	case 0: return regs->di;
	case 1: return regs->si;
	case 2: return regs->dx;
	case 3: return regs->r10;
	case 4: return regs->r8;
	default: return regs->r9;
	}
}
#elif defined(__TARGET_ARCH_arm64)
/* arm32 compat tasks are not decoded (no compat table for arm yet). */
static __always_inline bool tg_is_compat(void)
{
	return false;
}

static __always_inline long tg_syscall_nr(struct pt_regs *regs)
{
	return regs->syscallno;
}

/* x0 holds the return value at exit; the first argument is in orig_x0. */
static __always_inline unsigned long tg_arch_arg(struct pt_regs *regs, int i, bool compat)
{
	switch (i) {
	case 0: return regs->orig_x0;
	case 1: return regs->regs[1];
	case 2: return regs->regs[2];
	case 3: return regs->regs[3];
	case 4: return regs->regs[4];
	default: return regs->regs[5];
	}
}
#else
#error "twinguard: unsupported __TARGET_ARCH"
#endif

/* 3.16+ i_nlink lives in a union as __i_nlink. */
static __always_inline __u32 tg_inode_nlink(struct inode *inode)
{
	return BPF_CORE_READ(inode, __i_nlink);
}

#endif
