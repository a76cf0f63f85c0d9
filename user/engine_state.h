/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * engine_state: the engine's bounded correlation state (internal to
 * user/engine*.c). One state per (rule, key): a partial sequence or a
 * threshold group. States live in an open-addressing table (linear
 * probing, backward-shift deletion, no tombstones) and on one LRU list,
 * most recently updated first.
 *
 *   slot[] (2..4 x max) --> struct tg_state  hash, rule, kind, expires_ns,
 *                           |                LRU prev/next, key pointer
 *                           +- seq: start, reached, step[n_steps - 1]
 *                           |       (time, pid, @timestamp, 384 B of text)
 *                           +- thr: quiet_until, bucket[16] (slot, amount)
 *                           +- key bytes, NUL-terminated
 *
 * One allocation per state, made when the state is created (never per
 * event), sized to its kind, its rule's step count and its key. A key
 * longer than TG_KEY_MAX - 1 keeps its first 238 bytes and a 64-bit hash
 * of the whole key, so it stays distinct; every state is thus at most
 * sizeof(struct tg_seq_state) + 7 steps + 256 bytes (docs/engine.md).
 */
#ifndef TG_ENGINE_STATE_H
#define TG_ENGINE_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rules.h"

#define TG_KEY_MAX 256
/* 16 buckets of window/16: an event counts for at least 15/16 of the
 * window and never longer than the window; summing is 16 additions. */
#define TG_THR_BUCKETS 16
/* Strings an earlier step of a sequence keeps for the alert's details
 * (executable, file path, destination, an action the index does not
 * know): each at most TG_SEQ_STR_MAX bytes, TG_SEQ_STEP_TEXT together. */
#define TG_SEQ_STEP_TEXT 384
#define TG_SEQ_STR_MAX 255
#define TG_TS_LEN 36           /* "2026-11-26T02:03:08.938843676+01:00" */
#define TG_NO_TEXT UINT16_MAX

enum tg_state_kind { TG_ST_SEQ = 1, TG_ST_THR };

/* Common head of every state; the kind's part follows it. */
struct tg_state {
	struct tg_state *prev, *next;  /* LRU: prev is more recent */
	uint64_t hash;
	uint64_t expires_ns;           /* past this the state is dead */
	char *key;                     /* in the same allocation */
	uint32_t rule;
	uint16_t key_len;
	uint8_t kind;
};

struct tg_seq_step {
	uint64_t time_ns;
	double pid;
	const char *action;            /* interned by the engine, or NULL */
	bool has_pid;
	uint16_t action_txt, exe, path, dest;   /* offsets in text, TG_NO_TEXT */
	uint16_t used;
	char ts[TG_TS_LEN];            /* the step's @timestamp, "" when none */
	char text[TG_SEQ_STEP_TEXT];
};

struct tg_seq_state {
	struct tg_state h;
	uint64_t start_ns;             /* time of step 1 */
	uint32_t reached;              /* steps matched, 1..n_steps-1 */
	struct tg_seq_step step[];     /* n_steps - 1: the last step never waits */
};

struct tg_thr_bucket {
	uint64_t slot;                 /* time / width */
	double amount;
};

struct tg_thr_state {
	struct tg_state h;
	uint64_t quiet_until;          /* no alert before this (re-arm) */
	struct tg_thr_bucket b[TG_THR_BUCKETS];
};

struct tg_states {
	struct tg_state **slot;
	size_t mask;                   /* slots - 1, slots a power of two */
	size_t n, max;
	struct tg_state *head, *tail;  /* LRU ends */
	uint32_t *per_rule;            /* live states per rule index */
	size_t n_rules;
	uint64_t evictions, expired;
};

/* A correlation key under construction: bytes are hashed as they come so
 * an over-long key can be shortened without losing its identity. */
struct tg_key {
	char s[TG_KEY_MAX];
	size_t len;
	uint64_t hash;
	bool over;
};

int states_init(struct tg_states *t, size_t max, size_t n_rules);
void states_free(struct tg_states *t);
struct tg_state *states_find(const struct tg_states *t, uint32_t rule, const struct tg_key *k);
/* A fresh state for (rule, k), which must not be in the table: size
 * bytes (the kind's struct), zeroed, then the key. At the cap the LRU
 * state goes first: counted in expired when its time had passed, else in
 * evictions. NULL only when out of memory. */
struct tg_state *states_add(struct tg_states *t, uint32_t rule, uint8_t kind, size_t size,
			    const struct tg_key *k, uint64_t now_ns);
/* Mark s most recently updated. */
void states_touch(struct tg_states *t, struct tg_state *s);
/* Drop s; expired says whether to count it as timed out. */
void states_remove(struct tg_states *t, struct tg_state *s, bool expired);
/* Drop up to budget timed-out states from the LRU end. */
void states_sweep(struct tg_states *t, uint64_t now_ns, unsigned budget);

void key_reset(struct tg_key *k);
void key_add(struct tg_key *k, const char *s, size_t n);
/* Shorten an over-long key; call once, before lookups. */
void key_done(struct tg_key *k);

#endif
