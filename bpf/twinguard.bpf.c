// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * twinguard kernel side. Only BTF tracepoints (tp_btf): they need no tracefs
 * and no kprobes. Attached: sys_exit (dispatcher), sched_process_{exec,fork,
 * exit}, sock_send_length. The tg_h_* programs are tail-call targets and are
 * never attached themselves.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "proc.bpf.h"
#include "file.bpf.h"
#include "net.bpf.h"
#include "priv.bpf.h"

char LICENSE[] SEC("license") = "GPL";

SEC("tp_btf/sys_exit")
int BPF_PROG(tg_sys_exit, struct pt_regs *regs, long ret)
{
	long nr = tg_syscall_nr(regs);
	struct tg_call *call;
	__u32 key = nr, entry;
	__u64 *both;
	bool compat;

	if (nr < 0 || nr >= TG_SYSCALL_MAX)
		return 0;
	both = bpf_map_lookup_elem(&tg_syscalls, &key);
	/* the common case: a syscall nobody watches in either ABI */
	if (!both || !*both)
		return 0;
	compat = tg_is_compat();
	entry = compat ? *both >> 32 : (__u32)*both;
	/* close: most processes never opened a tracked write fd */
	if ((entry & 0xff) == TG_H_CLOSE &&
	    !tg_wfd_hint[(bpf_get_current_pid_tgid() >> 32) & TG_WFD_HINT_MASK])
		return 0;
	if (!entry || tg_is_self())
		return 0;
	/* renames and mounts change paths: invalidate the directory cache */
	if ((entry & TG_SC_DIRGEN) && ret == 0)
		__sync_fetch_and_add(&tg_dir_gen, 1);
	if (!(entry & 0xff))
		return 0;
	call = tg_call_get();
	if (!call)
		return 0;
	call->compat = compat;
	call->variant = (entry >> 8) & 0xff;
	bpf_tail_call(ctx, &tg_handlers, entry & 0xff);
	TG_COUNT(tail_fail);
	return 0;
}
