/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Building and sending records: start an event in the per-CPU scratch,
 * append strings, submit with its real size. Every failed submit is counted.
 */
#ifndef TG_EMIT_BPF_H
#define TG_EMIT_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include "core_fixes.bpf.h"
#include "maps.bpf.h"
#include "path.bpf.h"

#define TG_DATA_MASK (TG_DATA_MAX - 1)

static __always_inline struct tg_scratch *tg_scratch_get(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&tg_scratch_map, &zero);
}

/* Fill the common header of the record in s. */
static __always_inline void tg_event_init(struct tg_scratch *s, __u16 type)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task_btf();
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u64 uid_gid = bpf_get_current_uid_gid();
	struct tg_hdr *h = &s->ev.hdr;

	/* Field 1: ts_ns */
	h->ts_ns = bpf_ktime_get_boot_ns();
	/* Field 2: cgroup_id */
	h->cgroup_id = bpf_get_current_cgroup_id();
	/* Field 3: start_ns (entity id of the process) */
	h->start_ns = tg_task_start_ns(task);
	/* Field 4: ret (set by syscall handlers) */
	h->ret = 0;
	/* Field 5: size (set by tg_submit) */
	h->size = 0;
	/* Field 6-7: type, flags */
	h->type = type;
	h->flags = 0;
	/* Field 8-11: tgid, tid, uid, gid */
	h->tgid = pid_tgid >> 32;
	h->tid = (__u32)pid_tgid;
	h->uid = (__u32)uid_gid;
	h->gid = uid_gid >> 32;
	/* Field 12: syscall_nr (set by syscall handlers) */
	h->syscall_nr = -1;
	/* Field 13: ppid */
	h->ppid = BPF_CORE_READ(task, real_parent, tgid);
	/* Field 14: comm */
	bpf_get_current_comm(h->comm, sizeof(h->comm));
	__builtin_memset(&s->ev.u, 0, sizeof(s->ev.u));
	__builtin_memset(s->ev.str, 0, sizeof(s->ev.str));
	s->cursor = 0;
}

static __always_inline struct tg_scratch *tg_event_start(__u16 type)
{
	struct tg_scratch *s = tg_scratch_get();

	if (s)
		tg_event_init(s, type);
	return s;
}

/* Room check shared by the appenders: max bytes must fit in data[]. */
static __always_inline bool tg_room(struct tg_scratch *s, __u32 max)
{
	return s->cursor <= TG_DATA_MAX - max;
}

static __always_inline void tg_str_commit(struct tg_scratch *s, int idx, long n)
{
	/* n counts the NUL, as bpf_probe_read_*_str returns it. */
	if (n <= 0 || idx < 0 || idx >= TG_MAX_STRS)
		return;
	s->ev.str[idx].off = s->cursor;
	s->ev.str[idx].len = n - 1;
	s->cursor += n;
}

static __always_inline void tg_str_user(struct tg_scratch *s, int idx, const void *uptr, __u32 max)
{
	long n;

	/* max is a constant at every call site, <= TG_PATH_MAX */
	if (!uptr)
		return;
	if (!tg_room(s, max)) {
		s->ev.hdr.flags |= TG_F_PATH_TRUNC;
		return;
	}
	n = bpf_probe_read_user_str(&s->ev.data[s->cursor & TG_DATA_MASK], max, uptr);
	tg_str_commit(s, idx, n);
}

static __always_inline void tg_str_kernel(struct tg_scratch *s, int idx, const void *kptr, __u32 max)
{
	long n;

	if (!kptr || !tg_room(s, max))
		return;
	n = bpf_probe_read_kernel_str(&s->ev.data[s->cursor & TG_DATA_MASK], max, kptr);
	tg_str_commit(s, idx, n);
}

/* Copy the walked path (in s->path at start, len bytes) into string idx. */
static __always_inline void tg_str_from_walk(struct tg_scratch *s, int idx, __u32 start, __u32 len)
{
	__u32 n = len + 1;

	if (n > TG_PATH_MAX || !tg_room(s, TG_PATH_MAX)) {
		s->ev.hdr.flags |= TG_F_PATH_TRUNC;
		return;
	}
	bpf_probe_read_kernel(&s->ev.data[s->cursor & TG_DATA_MASK], n & (2 * TG_PATH_MAX - 1),
			      &s->path[start & TG_HALF_MASK]);
	tg_str_commit(s, idx, n);
}

/* Walk a struct path into string idx; returns the walk's length. */
static __always_inline __u32 tg_str_path(struct tg_scratch *s, int idx, const struct path *p)
{
	bool trunc = false;
	__u32 start = 0, len;

	len = tg_path_walk(p, s->path, &start, &trunc);
	if (trunc) {
		s->ev.hdr.flags |= TG_F_PATH_TRUNC;
		TG_COUNT(path_trunc);
	}
	tg_str_from_walk(s, idx, start, len);
	return len;
}

static __always_inline int tg_submit(struct tg_scratch *s)
{
	/* 64-bit on purpose: a u32 sum makes clang bound a truncated copy
	 * while passing the untruncated register to the helper. */
	__u64 size = TG_EVENT_FIXED_SIZE + (__u64)s->cursor;
	struct tg_stats *st = tg_stats_get();

	if (size > sizeof(struct tg_event))
		size = sizeof(struct tg_event);
	/* keep clang from reusing the unclamped register */
	barrier_var(size);
	s->ev.hdr.size = size;
	/* Waking the agent per record costs an IPI and a context switch per
	 * event (measured: +17% on an exec storm). Wake it only once a batch
	 * is waiting; otherwise it picks records up on its poll timeout. */
	if (bpf_ringbuf_output(&tg_events, &s->ev, size,
			       bpf_ringbuf_query(&tg_events, BPF_RB_AVAIL_DATA) >= tg_wakeup_bytes ?
			       BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP)) {
		if (st) {
			st->drops++;
			st->drop_bytes += size;
		}
		return -1;
	}
	if (st)
		st->events++;
	return 0;
}

#endif
