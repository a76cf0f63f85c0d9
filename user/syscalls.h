/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* syscalls: this arch's syscall numbers mapped to twinguard handlers. */
#ifndef TG_SYSCALLS_H
#define TG_SYSCALLS_H

#include <stdbool.h>
#include <stddef.h>
#include <twinguard/events.h>

struct tg_syscall {
	int nr;
	const char *name;
	unsigned handler;     /* enum tg_handler */
	unsigned variant;     /* enum tg_variant */
	unsigned cls;         /* TG_CLASS_* the handler belongs to */
};

/* Every syscall twinguard hooks on this arch. */
const struct tg_syscall *syscalls_table(size_t *n);
/* Name of a syscall number twinguard hooks, NULL when not hooked. */
const char *syscalls_name(int nr);
const struct tg_syscall *syscalls_lookup(int nr);
/* 32-bit (ia32) syscalls of 64-bit processes' 32-bit peers; empty off x86. */
const struct tg_syscall *syscalls_compat_table(size_t *n);
const struct tg_syscall *syscalls_lookup_compat(int nr);
bool syscalls_compat_changes_paths(int nr);
/* The table entry for an event's syscall, native or compat (TG_F_COMPAT). */
const struct tg_syscall *syscalls_of(const struct tg_event *ev);

#endif
