/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * ctl_priv.h: folder-private state of the query socket (user/ctl/).
 *
 *   client life (ctl.c)
 *     accept --> READ --'\n'--> answer queued --> WRITE --drained--> close
 *                 |  2 s without a full line: timeout error, then WRITE
 *                 |  > 64 KiB: error, then WRITE
 *                 '--{"cmd":"alerts","follow":true}--> FOLLOW (until EOF)
 *     WRITE: 5 s without the client taking a byte: dropped, counted
 *     FOLLOW: at most 256 KiB queued; past it lines are lost, counted and
 *             told in band with a {"lost":N} line once there is room
 *
 * Why these sizes: a request is a small JSON object, 64 KiB is generous;
 * an answer (ps of a big host) may be megabytes, so each one is capped at
 * 32 MiB and all of them together at 64 MiB: 32 stuck clients cannot make
 * the agent grow without bound.
 */
#ifndef TG_CTL_PRIV_H
#define TG_CTL_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ctl/ctl.h"

#define CTL_REQUEST_MAX (64u * 1024)
#define CTL_REQUEST_MS 2000
#define CTL_WRITE_MS 5000
#define CTL_CLIENTS_MAX 32
#define CTL_ANSWER_MAX (32u * 1024 * 1024)
#define CTL_OUT_TOTAL_MAX (64u * 1024 * 1024)
#define CTL_FOLLOW_BUF (256u * 1024)
#define CTL_ACCEPT_BURST 16

/* A growable byte buffer; every ctl and metrics output goes through it. */
struct ctl_buf {
	char *p;
	size_t len, cap;
	bool failed;          /* an allocation failed: the content is cut */
};

void buf_put(struct ctl_buf *b, const void *data, size_t n);
void buf_puts(struct ctl_buf *b, const char *s);
void buf_printf(struct ctl_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void buf_free(struct ctl_buf *b);

enum ctl_state { CTL_READ, CTL_WRITE, CTL_FOLLOW };

struct ctl_client {
	int fd;
	enum ctl_state state;
	char *in;             /* request bytes so far, CTL_REQUEST_MAX + 1 */
	size_t in_len;
	struct ctl_buf out;   /* answer bytes not yet taken */
	size_t out_off;       /* taken from out.p so far */
	uint64_t deadline_ms; /* READ: the request's; WRITE: the next progress */
	char *rule;           /* FOLLOW: only this rule's alerts, or NULL */
	uint64_t lost;        /* FOLLOW: lines lost not yet told */
};

struct tg_ctl {
	int lfd;
	char path[108];
	struct tg_ctl_ops ops;
	void *ctx;
	struct ctl_client *cl[CTL_CLIENTS_MAX];
	size_t out_total;     /* bytes queued for all clients */
	struct tg_record **ring;
	size_t ring_max, ring_head, ring_n;
	struct {
		uint64_t requests, errors, timeouts, clients_dropped, rejected;
		uint64_t follow_lost, alerts;
	} n;
};

uint64_t ctl_now_ms(void);
/* ctl_cmd.c: handle one complete request line of cl. */
void ctl_request(struct tg_ctl *c, struct ctl_client *cl, const char *line, size_t len);
/* Queue bytes for cl (counted in out_total); false when over a cap. */
bool ctl_queue(struct tg_ctl *c, struct ctl_client *cl, const void *data, size_t n);
/* Queue {"error":msg}\n and switch cl to WRITE. */
void ctl_answer_error(struct tg_ctl *c, struct ctl_client *cl, const char *msg);
/* Queue a JSON answer (consumed) and switch to WRITE. */
void ctl_answer_json(struct tg_ctl *c, struct ctl_client *cl, cJSON *j);
/* FOLLOW: queue {"lost":N} if lines were lost; false if it did not fit. */
bool ctl_tell_lost(struct tg_ctl *c, struct ctl_client *cl);
/* ctl_cmd.c: the recent-alerts ring. */
void ctl_ring_free(struct tg_ctl *c);

#endif
