/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Privilege and tampering: ptrace, cross-process memory, id changes,
 * signals, kernel modules, BPF loads by others, mounts. */
#ifndef TG_PRIV_BPF_H
#define TG_PRIV_BPF_H

#include "syscall.bpf.h"

#define TG_BPF_PROG_LOAD 5

/* ptrace requests that take control or write: PEEKs are a debugger's
 * steady state and would flood the stream. */
static __always_inline bool tg_ptrace_interesting(long req)
{
	switch (req) {
	case 0:      /* TRACEME */
	case 4:      /* POKETEXT */
	case 5:      /* POKEDATA */
	case 6:      /* POKEUSER */
	case 13:     /* SETREGS */
	case 15:     /* SETFPREGS */
	case 16:     /* ATTACH */
	case 0x4205: /* SETREGSET */
	case 0x4206: /* SEIZE */
		return true;
	}
	return false;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(tg_h_ptrace, struct pt_regs *regs, long ret)
{
	long req = tg_arg(regs, 0);
	struct tg_scratch *s;

	if (!tg_ptrace_interesting(req)) {
		TG_COUNT(filtered);
		return 0;
	}
	s = tg_sc_start(TG_EV_PTRACE, regs, ret);
	if (!s)
		return 0;
	s->ev.u.priv.request = req;
	s->ev.u.priv.target_pid = tg_arg(regs, 1);
	s->ev.u.priv.arg = tg_arg(regs, 2);
	tg_submit(s);
	return 0;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(tg_h_process_vm, struct pt_regs *regs, long ret)
{
	struct tg_scratch *s = tg_sc_start(TG_EV_PROCESS_VM, regs, ret);

	if (!s)
		return 0;
	s->ev.u.priv.target_pid = tg_arg(regs, 0);
	s->ev.u.priv.request = tg_variant(regs) == TG_V_WRITE;
	tg_submit(s);
	return 0;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(tg_h_setid, struct pt_regs *regs, long ret)
{
	struct tg_scratch *s = tg_sc_start(TG_EV_SETID, regs, ret);
	__u32 v = tg_variant(regs);

	if (!s)
		return 0;
	s->ev.u.priv.request = v;
	s->ev.u.priv.ids[0] = tg_arg(regs, 0);
	s->ev.u.priv.ids[1] = (__u32)-1;
	s->ev.u.priv.ids[2] = (__u32)-1;
	if (v == TG_V_SETREUID || v == TG_V_SETREGID || v == TG_V_SETRESUID || v == TG_V_SETRESGID)
		s->ev.u.priv.ids[1] = tg_arg(regs, 1);
	if (v == TG_V_SETRESUID || v == TG_V_SETRESGID)
		s->ev.u.priv.ids[2] = tg_arg(regs, 2);
	tg_submit(s);
	return 0;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(tg_h_kill, struct pt_regs *regs, long ret)
{
	__u32 v = tg_variant(regs);
	long sig = tg_arg(regs, v == TG_V_TGKILL ? 2 : 1);
	struct tg_scratch *s;

	/* Signal 0 only probes whether a pid exists. */
	if (sig == 0) {
		TG_COUNT(filtered);
		return 0;
	}
	s = tg_sc_start(TG_EV_KILL, regs, ret);
	if (!s)
		return 0;
	s->ev.u.priv.request = sig;
	s->ev.u.priv.target_pid = tg_arg(regs, 0);
	if (v == TG_V_TGKILL)
		s->ev.u.priv.target_tid = tg_arg(regs, 1);
	else if (v == TG_V_TKILL)
		s->ev.u.priv.target_tid = s->ev.u.priv.target_pid;
	tg_submit(s);
	return 0;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(tg_h_module, struct pt_regs *regs, long ret)
{
	struct tg_scratch *s = tg_sc_start(TG_EV_MODULE, regs, ret);

	if (!s)
		return 0;
	if (tg_variant(regs) == TG_V_FINIT) {
		s->ev.u.priv.fd = tg_arg(regs, 0);
		s->ev.u.priv.arg = tg_arg(regs, 2);
		tg_str_fd(s, 0, s->ev.u.priv.fd);
	} else {
		s->ev.u.priv.arg = tg_arg(regs, 1);   /* image length */
		s->ev.u.priv.fd = -1;
	}
	tg_str_user(s, 1, (const char *)tg_arg(regs, 2 - (tg_variant(regs) == TG_V_FINIT)), TG_NAME_MAX);
	tg_submit(s);
	return 0;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(tg_h_bpf, struct pt_regs *regs, long ret)
{
	long cmd = tg_arg(regs, 0);
	void *uattr = (void *)tg_arg(regs, 1);
	struct tg_scratch *s;

	if (cmd != TG_BPF_PROG_LOAD)
		return 0;
	s = tg_sc_start(TG_EV_BPF, regs, ret);
	if (!s)
		return 0;
	s->ev.u.priv.request = cmd;
	bpf_probe_read_user(&s->ev.u.priv.prog_type, sizeof(__u32), uattr);
	tg_str_user(s, 0, uattr + __builtin_offsetof(union bpf_attr, prog_name), 16);
	tg_submit(s);
	return 0;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(tg_h_mount, struct pt_regs *regs, long ret)
{
	struct tg_scratch *s = tg_sc_start(TG_EV_MOUNT, regs, ret);

	if (!s)
		return 0;
	s->ev.u.priv.arg = tg_arg(regs, 3);
	tg_str_user(s, 0, (const char *)tg_arg(regs, 1), TG_PATH_MAX);
	tg_str_user(s, 1, (const char *)tg_arg(regs, 0), TG_PATH_MAX);
	tg_str_user(s, 2, (const char *)tg_arg(regs, 2), TG_NAME_MAX);
	tg_submit(s);
	return 0;
}

#endif
