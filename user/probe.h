/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * probe: the BPF lifecycle (open, configure, load, attach, poll, close) in
 * one small library that the daemon and the tests share, like Falco's
 * libpman. probe_close() is idempotent.
 */
#ifndef TG_PROBE_H
#define TG_PROBE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <twinguard/events.h>

struct tg_config;
struct tg_probe;

#define TG_PROBE_MAX_OFF 16 /* programs switched off after failing to load */

struct tg_probe_opts {
	size_t ringbuf_bytes;   /* power of two, >= page size */
	uint32_t self_tgid;     /* ignored process; 0 = getpid() */
	unsigned flow_map_max;  /* 0 = built-in default */
	bool verbose;           /* libbpf debug output */
};

/* Called for every record; data is a struct tg_event of hdr.size bytes. */
typedef int (*tg_event_fn)(void *ctx, const struct tg_event *ev, size_t size);
/* Called for every drained flow entry. */
typedef void (*tg_flow_fn)(void *ctx, const struct tg_flow_key *k, const struct tg_flow_val *v);

int probe_open(struct tg_probe **out, const struct tg_probe_opts *opts);
int probe_load(struct tg_probe *p);
int probe_attach(struct tg_probe *p);
/* Push config into the kernel: classes, flags, syscall table, prefixes, ports.
 * Safe to call again at runtime. */
int probe_apply(struct tg_probe *p, const struct tg_config *cfg);
int probe_set_callback(struct tg_probe *p, tg_event_fn fn, void *ctx);
/* Returns records consumed, or -errno (-EINTR is not an error). */
int probe_poll(struct tg_probe *p, int timeout_ms);
/* The ring buffer's epoll fd, to poll with other fds. */
int probe_epoll_fd(const struct tg_probe *p);
/* Consume at most budget records (0 = all) without waiting; returns how
 * many, or -errno. A return of budget means more may be waiting. */
int probe_consume(struct tg_probe *p, unsigned budget);
/* Sum of the per-CPU counters. */
int probe_stats(struct tg_probe *p, struct tg_stats *out);
/* Switch the kernel to the other flow map and drain the one that has been
 * idle for a full period. final = drain both (at shutdown). */
int probe_flows_flush(struct tg_probe *p, tg_flow_fn fn, void *ctx, bool final);
/* Number of programs attached; switched off (kernel lacks or rejects them). */
unsigned probe_attached(const struct tg_probe *p);
unsigned probe_switched_off(const struct tg_probe *p);
/* Destroy the links: nothing stays attached. Idempotent. */
void probe_detach(struct tg_probe *p);
void probe_close(struct tg_probe *p);

#endif
