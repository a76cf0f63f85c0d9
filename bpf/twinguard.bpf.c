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
	__u32 *h;

	if (tg_is_self())
		return 0;
	h = tg_sc_entry(tg_syscall_nr(regs));
	if (!h)
		return 0;
	/* renames and mounts change paths: invalidate the directory cache */
	if ((*h & TG_SC_DIRGEN) && ret == 0)
		__sync_fetch_and_add(&tg_dir_gen, 1);
	if (!(*h & 0xff))
		return 0;
	bpf_tail_call(ctx, &tg_handlers, *h & 0xff);
	TG_COUNT(tail_fail);
	return 0;
}
