// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The syscall numbers live here, in userspace, taken from this build's libc
 * headers. The BPF object never sees them: tg_syscalls maps nr -> handler,
 * which keeps one BPF object valid on every arch (arm64 lacks open, unlink
 * and friends, so those entries simply do not exist there).
 */
#include <sys/syscall.h>
#include <twinguard/events.h>
#include "syscalls.h"

#ifndef __NR_openat2
#define __NR_openat2 437
#endif
#ifndef __NR_fchmodat2
#define __NR_fchmodat2 452
#endif

#define F TG_CLASS_FILE
#define N TG_CLASS_NETWORK
#define P TG_CLASS_PRIVILEGE
#define SC(name, h, v, c) { __NR_##name, #name, h, v, c }

static const struct tg_syscall table[] = {
#ifdef __NR_open
	SC(open, TG_H_OPEN, TG_V_PLAIN, F),
	SC(creat, TG_H_OPEN, TG_V_CREAT, F),
	SC(unlink, TG_H_UNLINK, TG_V_PLAIN, F),
	SC(rmdir, TG_H_UNLINK, TG_V_PLAIN, F),
	SC(rename, TG_H_RENAME, TG_V_PLAIN, F),
	SC(link, TG_H_LINK, TG_V_PLAIN, F),
	SC(symlink, TG_H_SYMLINK, TG_V_PLAIN, F),
	SC(chmod, TG_H_CHMOD, TG_V_PLAIN, F),
	SC(chown, TG_H_CHOWN, TG_V_PLAIN, F),
	SC(lchown, TG_H_CHOWN, TG_V_LCHOWN, F),
	SC(mkdir, TG_H_MKDIR, TG_V_PLAIN, F),
#endif
	SC(openat, TG_H_OPEN, TG_V_AT, F),
	SC(openat2, TG_H_OPEN, TG_V_AT2, F),
	SC(unlinkat, TG_H_UNLINK, TG_V_AT, F),
	SC(renameat, TG_H_RENAME, TG_V_AT, F),
	SC(renameat2, TG_H_RENAME, TG_V_AT2, F),
	SC(linkat, TG_H_LINK, TG_V_AT, F),
	SC(symlinkat, TG_H_SYMLINK, TG_V_AT, F),
	SC(fchmod, TG_H_CHMOD, TG_V_FD, F),
	SC(fchmodat, TG_H_CHMOD, TG_V_AT, F),
	SC(fchmodat2, TG_H_CHMOD, TG_V_AT2, F),
	SC(fchown, TG_H_CHOWN, TG_V_FD, F),
	SC(fchownat, TG_H_CHOWN, TG_V_AT, F),
	SC(truncate, TG_H_TRUNCATE, TG_V_PLAIN, F),
	SC(ftruncate, TG_H_TRUNCATE, TG_V_FD, F),
	SC(mkdirat, TG_H_MKDIR, TG_V_AT, F),
	SC(memfd_create, TG_H_MEMFD, TG_V_PLAIN, F),
	SC(connect, TG_H_CONNECT, TG_V_PLAIN, N),
	SC(accept, TG_H_ACCEPT, TG_V_PLAIN, N),
	SC(accept4, TG_H_ACCEPT, TG_V_PLAIN, N),
	SC(bind, TG_H_BIND, TG_V_PLAIN, N),
	SC(listen, TG_H_LISTEN, TG_V_PLAIN, N),
	SC(sendto, TG_H_SENDTO, TG_V_PLAIN, N),
	SC(sendmsg, TG_H_SENDMSG, TG_V_PLAIN, N),
	SC(sendmmsg, TG_H_SENDMSG, TG_V_AT, N),
	SC(ptrace, TG_H_PTRACE, TG_V_PLAIN, P),
	SC(process_vm_readv, TG_H_PROCESS_VM, TG_V_READ, P),
	SC(process_vm_writev, TG_H_PROCESS_VM, TG_V_WRITE, P),
	SC(setuid, TG_H_SETID, TG_V_SETUID, P),
	SC(setgid, TG_H_SETID, TG_V_SETGID, P),
	SC(setreuid, TG_H_SETID, TG_V_SETREUID, P),
	SC(setregid, TG_H_SETID, TG_V_SETREGID, P),
	SC(setresuid, TG_H_SETID, TG_V_SETRESUID, P),
	SC(setresgid, TG_H_SETID, TG_V_SETRESGID, P),
	SC(setfsuid, TG_H_SETID, TG_V_SETFSUID, P),
	SC(setfsgid, TG_H_SETID, TG_V_SETFSGID, P),
	SC(kill, TG_H_KILL, TG_V_PLAIN, P),
	SC(tkill, TG_H_KILL, TG_V_TKILL, P),
	SC(tgkill, TG_H_KILL, TG_V_TGKILL, P),
	SC(init_module, TG_H_MODULE, TG_V_INIT, P),
	SC(finit_module, TG_H_MODULE, TG_V_FINIT, P),
	SC(bpf, TG_H_BPF, TG_V_PLAIN, P),
	SC(mount, TG_H_MOUNT, TG_V_PLAIN, P),
};

const struct tg_syscall *syscalls_table(size_t *n)
{
	*n = sizeof(table) / sizeof(table[0]);
	return table;
}

/* Per-event lookups go through an index built once. */
const struct tg_syscall *syscalls_lookup(int nr)
{
	static const struct tg_syscall *by_nr[TG_SYSCALL_MAX];
	static int built;

	if (!built) {
		for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
			if (table[i].nr >= 0 && table[i].nr < TG_SYSCALL_MAX)
				by_nr[table[i].nr] = &table[i];
		built = 1;
	}
	if (nr < 0 || nr >= TG_SYSCALL_MAX)
		return NULL;
	return by_nr[nr];
}

const char *syscalls_name(int nr)
{
	const struct tg_syscall *s = syscalls_lookup(nr);

	return s ? s->name : NULL;
}
