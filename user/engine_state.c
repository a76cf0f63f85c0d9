// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The engine's state table: open addressing keyed by (rule, key), an LRU
 * list for eviction at the cap. See engine_state.h for the layout. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine_state.h"

#define FNV_OFFSET 0xcbf29ce484222325ull
#define FNV_PRIME 0x100000001b3ull
/* Room kept at the end of a shortened key for "#<16 hex>". */
#define KEY_HASH_SUFFIX 17

/* splitmix64 finaliser: FNV's low bits are weak, and the slot index is
 * taken from the low bits. */
static uint64_t mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebull;
	x ^= x >> 31;
	return x;
}

static uint64_t state_hash(uint32_t rule, const struct tg_key *k)
{
	return mix64(k->hash ^ ((uint64_t)rule * 0x9e3779b97f4a7c15ull));
}

void key_reset(struct tg_key *k)
{
	k->len = 0;
	k->s[0] = '\0';
	k->hash = FNV_OFFSET;
	k->over = false;
}

void key_add(struct tg_key *k, const char *s, size_t n)
{
	size_t room = TG_KEY_MAX - 1 - k->len;
	size_t i;

	for (i = 0; i < n; i++)
		k->hash = (k->hash ^ (unsigned char)s[i]) * FNV_PRIME;
	if (n > room) {
		k->over = true;
		n = room;
	}
	memcpy(k->s + k->len, s, n);
	k->len += n;
	k->s[k->len] = '\0';
}

void key_done(struct tg_key *k)
{
	size_t keep = TG_KEY_MAX - 1 - KEY_HASH_SUFFIX;

	if (!k->over)
		return;
	snprintf(k->s + keep, TG_KEY_MAX - keep, "#%016llx", (unsigned long long)k->hash);
	k->len = keep + KEY_HASH_SUFFIX;
	k->over = false;
}

int states_init(struct tg_states *t, size_t max, size_t n_rules)
{
	size_t slots = 16;

	memset(t, 0, sizeof(*t));
	/* Load factor at most 1/2: linear probes stay short. */
	while (slots < 2 * max)
		slots <<= 1;
	t->slot = calloc(slots, sizeof(*t->slot));
	t->per_rule = calloc(n_rules ? n_rules : 1, sizeof(*t->per_rule));
	if (!t->slot || !t->per_rule) {
		free(t->slot);
		free(t->per_rule);
		return -ENOMEM;
	}
	t->mask = slots - 1;
	t->max = max;
	t->n_rules = n_rules;
	return 0;
}

void states_free(struct tg_states *t)
{
	struct tg_state *s = t->head, *next;

	for (; s; s = next) {
		next = s->next;
		free(s);
	}
	free(t->slot);
	free(t->per_rule);
	memset(t, 0, sizeof(*t));
}

struct tg_state *states_find(const struct tg_states *t, uint32_t rule, const struct tg_key *k)
{
	uint64_t h = state_hash(rule, k);
	size_t i = h & t->mask;
	struct tg_state *s;

	while ((s = t->slot[i])) {
		if (s->hash == h && s->rule == rule && s->key_len == k->len &&
		    memcmp(s->key, k->s, k->len) == 0)
			return s;
		i = (i + 1) & t->mask;
	}
	return NULL;
}

static void lru_unlink(struct tg_states *t, struct tg_state *s)
{
	if (s->prev)
		s->prev->next = s->next;
	else
		t->head = s->next;
	if (s->next)
		s->next->prev = s->prev;
	else
		t->tail = s->prev;
	s->prev = s->next = NULL;
}

static void lru_push(struct tg_states *t, struct tg_state *s)
{
	s->prev = NULL;
	s->next = t->head;
	if (t->head)
		t->head->prev = s;
	t->head = s;
	if (!t->tail)
		t->tail = s;
}

void states_touch(struct tg_states *t, struct tg_state *s)
{
	if (t->head == s)
		return;
	lru_unlink(t, s);
	lru_push(t, s);
}

/* Backward-shift deletion: entries after the hole move back if the hole
 * lies between their home slot and where they sit, so probes never need
 * tombstones. */
static void table_delete(struct tg_states *t, struct tg_state *s)
{
	size_t i = s->hash & t->mask, j, home;

	while (t->slot[i] != s)
		i = (i + 1) & t->mask;
	j = i;
	for (;;) {
		j = (j + 1) & t->mask;
		if (!t->slot[j])
			break;
		home = t->slot[j]->hash & t->mask;
		if (((j - home) & t->mask) >= ((j - i) & t->mask)) {
			t->slot[i] = t->slot[j];
			i = j;
		}
	}
	t->slot[i] = NULL;
}

/* Out of the table and the list, memory kept. */
static void state_detach(struct tg_states *t, struct tg_state *s)
{
	table_delete(t, s);
	lru_unlink(t, s);
	t->n--;
	if (s->rule < t->n_rules && t->per_rule[s->rule])
		t->per_rule[s->rule]--;
}

void states_remove(struct tg_states *t, struct tg_state *s, bool expired)
{
	state_detach(t, s);
	if (expired)
		t->expired++;
	free(s);
}

void states_sweep(struct tg_states *t, uint64_t now_ns, unsigned budget)
{
	while (budget-- && t->tail && t->tail->expires_ns < now_ns)
		states_remove(t, t->tail, true);
}

struct tg_state *states_add(struct tg_states *t, uint32_t rule, uint8_t kind, size_t size,
			    const struct tg_key *k, uint64_t now_ns)
{
	struct tg_state *s, *victim;
	size_t i;

	if (!t->max)
		return NULL;
	if (t->n >= t->max) {
		bool dead;

		victim = t->tail;
		dead = victim->expires_ns < now_ns;
		states_remove(t, victim, dead);
		if (!dead)
			t->evictions++;
	}
	s = calloc(1, size + k->len + 1);
	if (!s)
		return NULL;
	s->hash = state_hash(rule, k);
	s->rule = rule;
	s->kind = kind;
	s->key = (char *)s + size;
	s->key_len = (uint16_t)k->len;
	memcpy(s->key, k->s, k->len);

	i = s->hash & t->mask;
	while (t->slot[i])
		i = (i + 1) & t->mask;
	t->slot[i] = s;
	lru_push(t, s);
	t->n++;
	if (rule < t->n_rules)
		t->per_rule[rule]++;
	return s;
}
