/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Integration test harness: the kernel selftest shape (STYLE.md §5).
 *
 * A test opens its own probe (Criterion runs every test in its own worker
 * process, so one probe per test is the natural unit and nothing outlives
 * the worker). The probe ignores the worker itself (self_tgid = getpid());
 * every behaviour is triggered in a forked child, and the test picks that
 * child's records out by hdr.tgid.
 *
 *   test worker (self, ignored by the probe)
 *     |-- probe: open -> load -> attach -> apply(cfg) -> callback
 *     |            callback copies every valid record into h->recs[]
 *     `-- child = harness_child(fn, arg): fork, fn(arg), _exit, waitpid
 *           the child's syscalls are all in the ring buffer by the time
 *           waitpid returns (records are written at sys_exit / in do_exit),
 *           so harness_wait() only has to drain it, with a deadline.
 *
 * Nothing here sleeps to synchronise: children are reaped through a pidfd
 * with a deadline, and the ring buffer is polled with a deadline.
 */
#ifndef TG_TEST_HELPERS_H
#define TG_TEST_HELPERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <twinguard/events.h>

#include "config.h"
#include "event.h"
#include "probe.h"

#define HARNESS_WAIT_MS 5000      /* every wait is bounded by this */
#define HARNESS_CHILD_MS 10000    /* a child running longer is killed */
#define HARNESS_MAX_RECS 400000   /* records kept; more sets h->overflow */

struct tg_rec {
	struct tg_event *ev;      /* malloc'd copy of the record */
	size_t size;
};

struct tg_harness {
	struct tg_probe *probe;
	struct tg_config cfg;     /* what was applied; tests may change and re-apply */
	pid_t self;               /* the test process: ignored by the probe */
	struct tg_rec *recs;
	size_t n, cap;
	size_t invalid;           /* records that failed event_valid() */
	bool overflow;
	bool open;
	bool dump;                /* TG_TEST_DUMP set: print records of children */
};

typedef bool (*harness_pred)(const struct tg_event *ev, void *arg);

/*
 * Open, load and attach a probe that ignores this process, then apply cfg
 * (NULL = config_defaults with every class, no prefix filter, flows on).
 * ringbuf_bytes 0 = 4 MiB. Skips the test (cr_skip_test) with the reason
 * when not root or when the BPF object cannot load; fails it otherwise.
 */
void harness_open(struct tg_harness *h, const struct tg_config *cfg, size_t ringbuf_bytes);
/* One line per record on stderr, for debugging (TG_TEST_DUMP=1). */
void harness_dump(const struct tg_event *ev);
/* Push h->cfg again (after a test changed it). */
void harness_apply(struct tg_harness *h);
/* Detach and free everything; idempotent. */
void harness_close(struct tg_harness *h);

/* Consume whatever is in the ring buffer now. Returns records consumed. */
size_t harness_drain(struct tg_harness *h);
/* Poll until a record matching pred was collected (including earlier ones)
 * or timeout_ms passed. Returns the first match, NULL on timeout. */
const struct tg_event *harness_wait(struct tg_harness *h, harness_pred pred, void *arg,
				    int timeout_ms);
/* Matches among what was collected so far (no polling). */
size_t harness_count(struct tg_harness *h, harness_pred pred, void *arg);
/* The i-th match among what was collected, NULL when fewer. */
const struct tg_event *harness_nth(struct tg_harness *h, harness_pred pred, void *arg, size_t i);

/* Predicate over the common fields: type, tgid and (when >= 0) syscall. */
struct ev_match {
	unsigned type;
	pid_t tgid;
	int syscall_nr;           /* -1 = any */
	const char *path;         /* when set: event_path(ev, 0) must equal it */
	const char *str0;         /* when set: event_str(ev, 0) must equal it */
};
bool match_ev(const struct tg_event *ev, void *arg);
/* Shorthand: wait for type from tgid via syscall nr (-1 = any). */
const struct tg_event *harness_wait_ev(struct tg_harness *h, unsigned type, pid_t tgid, int nr);
/* Same, with the resolved path (event_path idx 0) as an extra key. */
const struct tg_event *harness_wait_path(struct tg_harness *h, unsigned type, pid_t tgid,
					 int nr, const char *path);

/*
 * Fork; the child runs fn(arg) then _exit(0) (fn may _exit itself with a
 * code that means "setup failed"). Returns the child's pid after it was
 * reaped; *status gets the wait status (may be NULL). A child that outlives
 * HARNESS_CHILD_MS is killed and the test fails.
 */
pid_t harness_child(void (*fn)(void *), void *arg, int *status);
/* Same, but assert the child exited with 0. */
pid_t harness_child_ok(void (*fn)(void *), void *arg);
/* Reap a child started some other way, with the same deadline. */
int harness_reap(pid_t pid, int timeout_ms);

/* MAP_SHARED anonymous memory, so a child can hand results back. */
void *shared_alloc(size_t size);
void shared_free(void *p, size_t size);

/* The test process's comm (children inherit it until they exec). */
const char *self_comm(void);

/* Asserts on the common header of a syscall record from pid. */
void expect_hdr(const struct tg_event *ev, unsigned type, pid_t pid, int nr);

/* mkdtemp under /tmp, realpath'd; rm -rf on cleanup (bounded depth). */
char *tmpdir_make(void);
void tmpdir_remove(const char *dir);

/* Run a shell command, return its exit status (-1 when it could not run). */
int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
