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
	SC(close, TG_H_CLOSE, TG_V_PLAIN, F),
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

#if defined(__x86_64__)
/*
 * i386 numbers (arch/x86/entry/syscalls/syscall_32.tbl) for 32-bit
 * processes on a 64-bit kernel. Both the 16-bit and 32-bit uid flavours map
 * to the same handlers. socketcall(102) multiplexing is not decoded: 32-bit
 * glibc uses the direct socket calls below on any kernel >= 4.3.
 */
#define C(nr, name, h, v, c) { nr, #name, h, v, c }
static const struct tg_syscall compat[] = {
	C(5, open, TG_H_OPEN, TG_V_PLAIN, F), C(6, close, TG_H_CLOSE, TG_V_PLAIN, F), C(8, creat, TG_H_OPEN, TG_V_CREAT, F),
	C(9, link, TG_H_LINK, TG_V_PLAIN, F), C(10, unlink, TG_H_UNLINK, TG_V_PLAIN, F),
	C(15, chmod, TG_H_CHMOD, TG_V_PLAIN, F), C(16, lchown16, TG_H_CHOWN, TG_V_LCHOWN, F),
	C(21, mount, TG_H_MOUNT, TG_V_PLAIN, P), C(23, setuid16, TG_H_SETID, TG_V_SETUID, P),
	C(26, ptrace, TG_H_PTRACE, TG_V_PLAIN, P), C(37, kill, TG_H_KILL, TG_V_PLAIN, P),
	C(38, rename, TG_H_RENAME, TG_V_PLAIN, F), C(39, mkdir, TG_H_MKDIR, TG_V_PLAIN, F),
	C(40, rmdir, TG_H_UNLINK, TG_V_PLAIN, F), C(46, setgid16, TG_H_SETID, TG_V_SETGID, P),
	C(70, setreuid16, TG_H_SETID, TG_V_SETREUID, P), C(71, setregid16, TG_H_SETID, TG_V_SETREGID, P),
	C(83, symlink, TG_H_SYMLINK, TG_V_PLAIN, F), C(92, truncate, TG_H_TRUNCATE, TG_V_PLAIN, F),
	C(93, ftruncate, TG_H_TRUNCATE, TG_V_FD, F), C(94, fchmod, TG_H_CHMOD, TG_V_FD, F),
	C(95, fchown16, TG_H_CHOWN, TG_V_FD, F), C(128, init_module, TG_H_MODULE, TG_V_INIT, P),
	C(138, setfsuid16, TG_H_SETID, TG_V_SETFSUID, P), C(139, setfsgid16, TG_H_SETID, TG_V_SETFSGID, P),
	C(164, setresuid16, TG_H_SETID, TG_V_SETRESUID, P),
	C(170, setresgid16, TG_H_SETID, TG_V_SETRESGID, P), C(182, chown16, TG_H_CHOWN, TG_V_PLAIN, F),
	C(193, truncate64, TG_H_TRUNCATE, TG_V_PLAIN, F), C(194, ftruncate64, TG_H_TRUNCATE, TG_V_FD, F),
	C(198, lchown32, TG_H_CHOWN, TG_V_LCHOWN, F), C(203, setreuid32, TG_H_SETID, TG_V_SETREUID, P),
	C(204, setregid32, TG_H_SETID, TG_V_SETREGID, P), C(207, fchown32, TG_H_CHOWN, TG_V_FD, F),
	C(208, setresuid32, TG_H_SETID, TG_V_SETRESUID, P),
	C(210, setresgid32, TG_H_SETID, TG_V_SETRESGID, P), C(212, chown32, TG_H_CHOWN, TG_V_PLAIN, F),
	C(213, setuid32, TG_H_SETID, TG_V_SETUID, P), C(214, setgid32, TG_H_SETID, TG_V_SETGID, P),
	C(215, setfsuid32, TG_H_SETID, TG_V_SETFSUID, P), C(216, setfsgid32, TG_H_SETID, TG_V_SETFSGID, P),
	C(238, tkill, TG_H_KILL, TG_V_TKILL, P), C(270, tgkill, TG_H_KILL, TG_V_TGKILL, P),
	C(295, openat, TG_H_OPEN, TG_V_AT, F), C(296, mkdirat, TG_H_MKDIR, TG_V_AT, F),
	C(298, fchownat, TG_H_CHOWN, TG_V_AT, F), C(301, unlinkat, TG_H_UNLINK, TG_V_AT, F),
	C(302, renameat, TG_H_RENAME, TG_V_AT, F), C(303, linkat, TG_H_LINK, TG_V_AT, F),
	C(304, symlinkat, TG_H_SYMLINK, TG_V_AT, F), C(306, fchmodat, TG_H_CHMOD, TG_V_AT, F),
	C(345, sendmmsg, TG_H_SENDMSG, TG_V_AT, N),
	C(347, process_vm_readv, TG_H_PROCESS_VM, TG_V_READ, P),
	C(348, process_vm_writev, TG_H_PROCESS_VM, TG_V_WRITE, P),
	C(350, finit_module, TG_H_MODULE, TG_V_FINIT, P), C(353, renameat2, TG_H_RENAME, TG_V_AT2, F),
	C(356, memfd_create, TG_H_MEMFD, TG_V_PLAIN, F), C(357, bpf, TG_H_BPF, TG_V_PLAIN, P),
	C(361, bind, TG_H_BIND, TG_V_PLAIN, N), C(362, connect, TG_H_CONNECT, TG_V_PLAIN, N),
	C(363, listen, TG_H_LISTEN, TG_V_PLAIN, N), C(364, accept4, TG_H_ACCEPT, TG_V_PLAIN, N),
	C(369, sendto, TG_H_SENDTO, TG_V_PLAIN, N), C(370, sendmsg, TG_H_SENDMSG, TG_V_PLAIN, N),
	C(437, openat2, TG_H_OPEN, TG_V_AT2, F), C(452, fchmodat2, TG_H_CHMOD, TG_V_AT2, F),
};
/* 32-bit calls that change paths (the kernel's directory cache must know) */
static const int compat_path_changers[] = { 21, 38, 217, 302, 353, 429 };
#endif

const struct tg_syscall *syscalls_compat_table(size_t *n)
{
#if defined(__x86_64__)
	*n = sizeof(compat) / sizeof(compat[0]);
	return compat;
#else
	*n = 0;
	return NULL;
#endif
}

bool syscalls_compat_changes_paths(int nr)
{
#if defined(__x86_64__)
	for (size_t i = 0; i < sizeof(compat_path_changers) / sizeof(int); i++)
		if (compat_path_changers[i] == nr)
			return true;
#else
	(void)nr;
#endif
	return false;
}

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

const struct tg_syscall *syscalls_lookup_compat(int nr)
{
	size_t n;
	const struct tg_syscall *t = syscalls_compat_table(&n);

	for (size_t i = 0; i < n; i++)
		if (t[i].nr == nr)
			return &t[i];
	return NULL;
}

const struct tg_syscall *syscalls_of(const struct tg_event *ev)
{
	if (ev->hdr.flags & TG_F_COMPAT)
		return syscalls_lookup_compat(ev->hdr.syscall_nr);
	return syscalls_lookup(ev->hdr.syscall_nr);
}

const char *syscalls_name(int nr)
{
	const struct tg_syscall *s = syscalls_lookup(nr);

	return s ? s->name : NULL;
}
