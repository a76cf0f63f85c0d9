/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Maps and configuration. Two tiers (STYLE.md §2): const volatile rodata for
 * what is fixed at start, tg_* maps for what a reload may change. Every map
 * and global carries the tg_ prefix.
 */
#ifndef TG_MAPS_BPF_H
#define TG_MAPS_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <twinguard/events.h>

/* Fixed at start: the agent's own tgid, so it never reports itself. */
const volatile __u32 tg_self_tgid = 0;
/* Pending bytes that justify waking the agent before its poll timeout. */
const volatile __u64 tg_wakeup_bytes = 64 * 1024;

/* Ring buffer; userspace sets max_entries from config before load. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 16 * 1024 * 1024);
} tg_events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tg_settings);
} tg_settings SEC(".maps");

/* syscall nr -> native entry in bits 0..31 and 32-bit (ia32) entry in bits
 * 32..63; an entry is handler | variant << 8 | TG_SC_DIRGEN. One lookup
 * answers "not interesting" for both ABIs, so the common case costs no
 * compat check at all. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, TG_SYSCALL_MAX);
	__type(key, __u32);
	__type(value, __u64);
} tg_syscalls SEC(".maps");

/* The call being handled, set by the dispatcher for its tail-called
 * handler (same CPU, same program run). */
struct tg_call {
	__u32 compat;
	__u32 variant;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tg_call);
} tg_call_map SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, TG_H_MAX);
	__type(key, __u32);
	__type(value, __u32);
} tg_handlers SEC(".maps");

/* Path prefixes that make an open interesting; value = TG_ACC_* bits. */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 1024);
	__type(key, struct tg_prefix_key);
	__type(value, __u32);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} tg_file_prefixes SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u16);
	__type(value, __u8);
} tg_net_ports SEC(".maps");

/* Reported write opens awaiting their close (TG_S_CLOSE_WRITES). LRU: an
 * fd closed implicitly (exit, exec, dup2) is never seen closing, so its
 * entry ages out; userspace treats process exit as the close. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 8192);
	__type(key, struct tg_wfd_key);
	__type(value, __u8);
} tg_wfds SEC(".maps");

/* Which processes may hold a tracked write fd, by tgid & TG_WFD_HINT_MASK:
 * a close from any other process returns in the dispatcher, before the
 * tail call and the hash lookup (a byte load instead of both). Set on
 * insert, never cleared: a stale or shared slot only costs that lookup. */
#define TG_WFD_HINT_MASK 0xffff
__u8 tg_wfd_hint[TG_WFD_HINT_MASK + 1] = {};

/* Two flow maps: the kernel adds to tg_settings.flow_gen's map while
 * userspace drains the other one a full period after it went idle, so a
 * drain never races an in-flight add (docs/design.md). */
struct tg_flow_map {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, struct tg_flow_key);
	__type(value, struct tg_flow_val);
};
struct tg_flow_map tg_flows0 SEC(".maps");
struct tg_flow_map tg_flows1 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tg_stats);
} tg_stats SEC(".maps");

/*
 * Per-CPU scratch. The record is built here, never on the 512-byte stack.
 * slack lets the verifier accept a string of up to TG_PATH_MAX bytes written
 * at any masked offset inside data[]; the logical bound is still TG_DATA_MAX.
 */
struct tg_scratch {
	struct tg_event ev;
	char slack[TG_PATH_MAX];
	__u32 cursor;          /* bytes used in ev.data */
	__u32 pad;
	/* path walk area: the path is built backwards in its first half */
	char path[2 * TG_PATH_MAX];
	struct tg_prefix_key pkey;
	/* tg_prefix_dirs lookups; aligned so clearing it is 32 stores, not 256 */
	char dkey[TG_PREFIX_MAX] __attribute__((aligned(8)));
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tg_scratch);
} tg_scratch_map SEC(".maps");

static __always_inline struct tg_stats *tg_stats_get(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&tg_stats, &zero);
}

static __always_inline struct tg_settings *tg_settings_get(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&tg_settings, &zero);
}

#define TG_COUNT(field)                                            \
	do {                                                       \
		struct tg_stats *__st = tg_stats_get();            \
		if (__st)                                          \
			__st->field++;                             \
	} while (0)

#endif
