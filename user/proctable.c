// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * proctable: the live process table behind every event's process context.
 *
 * Layout:
 *
 *   slots[] (open addressing, linear probing)      nodes (one malloc each)
 *   +------+--------+                              +------------------+
 *   | pid  | node * |----------------------------->| struct tg_proc p |
 *   +------+--------+                              | prev / next      |--> live or
 *   | pid  | NULL   |  empty                       +------------------+    exited list
 *
 * Why open addressing over chaining: a probe reads one 16-byte slot that
 * carries the pid, so a lookup touches one cache line of the index and then
 * the node it returns; there is no per-bucket allocation and deletion uses
 * backward shifting, so no tombstones build up under constant fork/exit
 * churn. Why nodes are separate allocations: lookup() hands out pointers
 * that callers keep while the index grows, so entries must never move.
 *
 * Two lists order the nodes. "live" is kept in insert/update order, so its
 * head is the eviction victim when the cap is hit. "exited" holds entries
 * waiting out their grace period, so reaping never scans live processes.
 *
 * Memory: a node is ~300 bytes and strings are exact-size heap copies:
 * 10k processes with ~350 bytes of exe+argv+cwd each measured 8.5 MB RSS.
 * Only if every process carried a full TG_ARGV_MAX argv would it pass
 * 32 MB (~45 MB); argv is bounded per entry, not per table.
 */
#include "proctable.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "procscan.h"
#include "twinguard/events.h"

#define PT_MIN_MAX 16
#define PT_MIN_SLOTS 64          /* power of two */
#define PT_AUID_UNSET 0xffffffffu
#define PT_BOOT_LEN 8            /* "<boot8>" of the entity id */
#define PT_STAT_BUF 4096         /* 52 numeric fields + 64-byte comm fit */
#define PT_STATUS_BUF 4096       /* Uid:/Gid: are in the first ~10 lines */
#define PT_UNAME_BUCKETS 1024
#define PT_UNAME_CAP 1024        /* names cached before a sweep is tried */
#define PT_UNAME_RECENT 8        /* last names returned: never swept */
#define PT_PW_BUF_MAX (1u << 20) /* getpwuid_r buffer ceiling on ERANGE */

struct pt_node {
	struct tg_proc p;
	struct pt_node *prev, *next;
};

struct pt_list {
	struct pt_node *head, *tail;
	size_t n;
};

struct pt_slot {
	uint32_t pid;
	struct pt_node *node;    /* NULL: empty slot */
};

struct pt_uname {
	struct pt_uname *next;
	uint32_t uid;
	bool keep;               /* sweep mark */
	char name[];
};

struct tg_proctable {
	struct pt_slot *slots;
	size_t nslots;           /* power of two, load kept <= 3/4 */
	size_t max;
	struct pt_list live, exited;
	uint64_t evictions, exited_reaped;
	char boot[PT_BOOT_LEN + 1];
	struct pt_uname *ubuckets[PT_UNAME_BUCKETS];
	size_t ucount, ucap;
	uintptr_t urecent[PT_UNAME_RECENT]; /* addresses only, never read */
	unsigned urecent_i;
};

/* ---- index ---------------------------------------------------------- */

static size_t idx_home(size_t nslots, uint32_t pid)
{
	/* Fibonacci hashing spreads the dense, sequential pid space. */
	uint32_t h = pid * 0x9e3779b1u;

	return (h ^ (h >> 15)) & (nslots - 1);
}

static size_t idx_find(const struct tg_proctable *pt, uint32_t pid)
{
	size_t mask = pt->nslots - 1;

	/* Terminates: the load factor keeps at least one empty slot. */
	for (size_t i = idx_home(pt->nslots, pid);; i = (i + 1) & mask) {
		if (!pt->slots[i].node)
			return SIZE_MAX;
		if (pt->slots[i].pid == pid)
			return i;
	}
}

static struct pt_node *node_find(const struct tg_proctable *pt, uint32_t pid)
{
	size_t i = idx_find(pt, pid);

	return i == SIZE_MAX ? NULL : pt->slots[i].node;
}

static void idx_put(struct pt_slot *slots, size_t nslots, uint32_t pid, struct pt_node *n)
{
	size_t i = idx_home(nslots, pid);

	while (slots[i].node)
		i = (i + 1) & (nslots - 1);
	slots[i].pid = pid;
	slots[i].node = n;
}

static size_t pt_count(const struct tg_proctable *pt)
{
	return pt->live.n + pt->exited.n;
}

static int idx_insert(struct tg_proctable *pt, struct pt_node *n)
{
	if ((pt_count(pt) + 1) * 4 > pt->nslots * 3) {
		size_t nslots = pt->nslots * 2;
		struct pt_slot *slots = calloc(nslots, sizeof(*slots));

		if (!slots)
			return -1;
		for (size_t i = 0; i < pt->nslots; i++)
			if (pt->slots[i].node)
				idx_put(slots, nslots, pt->slots[i].pid, pt->slots[i].node);
		free(pt->slots);
		pt->slots = slots;
		pt->nslots = nslots;
	}
	idx_put(pt->slots, pt->nslots, n->p.pid, n);
	return 0;
}

/* Backward-shift deletion: later members of the probe run move up so that
 * lookups never need tombstones. */
static void idx_remove(struct tg_proctable *pt, uint32_t pid)
{
	size_t mask = pt->nslots - 1, i = idx_find(pt, pid), j;

	if (i == SIZE_MAX)
		return;
	for (j = (i + 1) & mask; pt->slots[j].node; j = (j + 1) & mask) {
		size_t k = idx_home(pt->nslots, pt->slots[j].pid);
		bool stays = i < j ? (i < k && k <= j) : (i < k || k <= j);

		if (!stays) {
			pt->slots[i] = pt->slots[j];
			i = j;
		}
	}
	pt->slots[i].node = NULL;
}

/* ---- lists and nodes ------------------------------------------------- */

static struct pt_list *list_of(struct tg_proctable *pt, const struct pt_node *n)
{
	return (n->p.flags & TG_P_EXITED) ? &pt->exited : &pt->live;
}

static void list_unlink(struct pt_list *l, struct pt_node *n)
{
	if (n->prev)
		n->prev->next = n->next;
	else
		l->head = n->next;
	if (n->next)
		n->next->prev = n->prev;
	else
		l->tail = n->prev;
	n->prev = n->next = NULL;
	l->n--;
}

static void list_push(struct pt_list *l, struct pt_node *n)
{
	n->prev = l->tail;
	n->next = NULL;
	if (l->tail)
		l->tail->next = n;
	else
		l->head = n;
	l->tail = n;
	l->n++;
}

/* An update makes the entry the youngest, so eviction takes the oldest. */
static void node_touch(struct tg_proctable *pt, struct pt_node *n)
{
	struct pt_list *l = list_of(pt, n);

	list_unlink(l, n);
	list_push(l, n);
}

static void proc_free_strings(struct tg_proc *p)
{
	free(p->exe);
	free(p->args);
	free(p->cwd);
}

static void node_destroy(struct tg_proctable *pt, struct pt_node *n)
{
	idx_remove(pt, n->p.pid);
	list_unlink(list_of(pt, n), n);
	proc_free_strings(&n->p);
	free(n);
}

/* Fresh identity for pid; the uid is unknown until the caller sets it, so
 * user starts as uid 0's name and callers refresh it with the uid. */
static void proc_init(struct tg_proctable *pt, struct tg_proc *p, uint32_t pid, uint64_t ticks)
{
	memset(p, 0, sizeof(*p));
	p->pid = pid;
	p->start_ticks = ticks;
	p->auid = PT_AUID_UNSET;
	proctable_make_entity_id(pt, pid, ticks, p->entity_id);
	p->user = proctable_user_name(pt, p->uid);
}

/* pid reuse: the old process is gone, nothing of it may leak into the new. */
static void node_reset(struct tg_proctable *pt, struct pt_node *n, uint32_t pid, uint64_t ticks)
{
	list_unlink(list_of(pt, n), n);
	proc_free_strings(&n->p);
	proc_init(pt, &n->p, pid, ticks);
	list_push(&pt->live, n);
}

/* Exited entries go first, whatever their grace: they describe processes
 * that no longer run, while a live entry may still produce events. They
 * count as exited_reaped; evictions counts only live entries lost. keep is
 * the node the caller still reads from (fork's parent). */
static void make_room(struct tg_proctable *pt, const struct pt_node *keep)
{
	struct pt_node *n, *next;

	if (pt_count(pt) < pt->max)
		return;
	for (n = pt->exited.head; n; n = next) {
		next = n->next;
		if (n != keep) {
			node_destroy(pt, n);
			pt->exited_reaped++;
		}
	}
	while (pt_count(pt) >= pt->max) {
		n = pt->live.head;
		if (n == keep)
			n = n->next;
		if (!n)
			return;
		node_destroy(pt, n);
		pt->evictions++;
	}
}

static struct pt_node *node_new(struct tg_proctable *pt, uint32_t pid, uint64_t ticks,
				const struct pt_node *keep)
{
	struct pt_node *n;

	make_room(pt, keep);
	if (pt_count(pt) >= pt->max)
		return NULL;
	n = calloc(1, sizeof(*n));
	if (!n)
		return NULL;
	proc_init(pt, &n->p, pid, ticks);
	if (idx_insert(pt, n)) {
		free(n);
		return NULL;
	}
	list_push(&pt->live, n);
	return n;
}

/* ---- table ------------------------------------------------------------ */

/* The boot id keeps entity ids unique across reboots of one host. */
static void read_boot_id(char out[PT_BOOT_LEN + 1])
{
	FILE *f = fopen("/proc/sys/kernel/random/boot_id", "re");

	strcpy(out, "00000000");
	if (!f)
		return;
	if (!fgets(out, PT_BOOT_LEN + 1, f))
		strcpy(out, "00000000");
	fclose(f);
}

struct tg_proctable *proctable_new(size_t max, const char *boot_id8)
{
	struct tg_proctable *pt;

	if (max < PT_MIN_MAX) {
		errno = EINVAL;
		return NULL;
	}
	pt = calloc(1, sizeof(*pt));
	if (!pt)
		return NULL;
	pt->slots = calloc(PT_MIN_SLOTS, sizeof(*pt->slots));
	if (!pt->slots) {
		free(pt);
		return NULL;
	}
	pt->nslots = PT_MIN_SLOTS;
	pt->max = max;
	pt->ucap = PT_UNAME_CAP;
	/* NULL: read it here, so callers need not. Longer strings are cut to
	 * the 8 characters the entity id format reserves. */
	if (boot_id8)
		snprintf(pt->boot, sizeof(pt->boot), "%s", boot_id8);
	else
		read_boot_id(pt->boot);
	return pt;
}

static void uname_free_all(struct tg_proctable *pt)
{
	for (size_t b = 0; b < PT_UNAME_BUCKETS; b++) {
		struct pt_uname *u = pt->ubuckets[b], *next;

		for (; u; u = next) {
			next = u->next;
			free(u);
		}
		pt->ubuckets[b] = NULL;
	}
	pt->ucount = 0;
}

void proctable_free(struct tg_proctable *pt)
{
	if (!pt)
		return;
	while (pt->live.head)
		node_destroy(pt, pt->live.head);
	while (pt->exited.head)
		node_destroy(pt, pt->exited.head);
	free(pt->slots);
	uname_free_all(pt);
	free(pt);
}

struct tg_proc *proctable_lookup(struct tg_proctable *pt, uint32_t pid)
{
	struct pt_node *n = node_find(pt, pid);

	return n ? &n->p : NULL;
}

struct tg_proc *proctable_upsert(struct tg_proctable *pt, uint32_t pid, uint64_t start_ticks)
{
	struct pt_node *n = node_find(pt, pid);

	if (n && n->p.start_ticks == start_ticks) {
		node_touch(pt, n);
		return &n->p;
	}
	if (n) {
		node_reset(pt, n, pid, start_ticks);
		return &n->p;
	}
	n = node_new(pt, pid, start_ticks, NULL);
	return n ? &n->p : NULL;
}

/* Flags that describe exe/args travel with them; FROM_SCAN and EXITED
 * describe the entry itself and do not. */
#define PT_INHERITED_FLAGS (TG_P_EXE_MEMFD | TG_P_EXE_DELETED | TG_P_ARGV_TRUNC)

static void proc_inherit(struct tg_proc *c, const struct tg_proc *par)
{
	proctable_set_str(&c->exe, par->exe, par->exe ? strlen(par->exe) : 0);
	proctable_set_str(&c->args, par->args, par->args_len);
	c->args_len = c->args ? par->args_len : 0;
	proctable_set_str(&c->cwd, par->cwd, par->cwd ? strlen(par->cwd) : 0);
	c->uid = par->uid;
	c->euid = par->euid;
	c->gid = par->gid;
	c->egid = par->egid;
	c->auid = par->auid;
	c->user = par->user;
	memcpy(c->container_id, par->container_id, sizeof(c->container_id));
	memcpy(c->comm, par->comm, sizeof(c->comm));
	c->cgroup_id = par->cgroup_id;
	c->flags |= par->flags & PT_INHERITED_FLAGS;
}

/* A parent cannot start after its child: an entry that did is a stale one
 * left at a reused pid, and linking to it would forge the ancestry. */
static bool parent_plausible(const struct tg_proc *par, const struct tg_proc *c)
{
	return par && par != c && par->start_ticks <= c->start_ticks;
}

static void proc_link_parent(struct tg_proc *c, const struct tg_proc *par, uint32_t ppid)
{
	c->ppid = ppid;
	if (parent_plausible(par, c))
		memcpy(c->parent_entity_id, par->entity_id, TG_ENTITY_ID_LEN);
	else
		c->parent_entity_id[0] = '\0';
}

struct tg_proc *proctable_fork(struct tg_proctable *pt, uint32_t parent, uint32_t child,
			       uint64_t child_start_ticks)
{
	struct pt_node *par = parent != child ? node_find(pt, parent) : NULL;
	struct pt_node *n = node_find(pt, child);

	if (n && n->p.start_ticks == child_start_ticks) {
		/* The child's exec was recorded first: its data is newer than
		 * the parent's, so only the link is filled in. */
		proc_link_parent(&n->p, par ? &par->p : NULL, parent);
		node_touch(pt, n);
		return &n->p;
	}
	if (n)
		node_reset(pt, n, child, child_start_ticks);
	else
		n = node_new(pt, child, child_start_ticks, par);
	if (!n)
		return NULL;
	if (par && parent_plausible(&par->p, &n->p))
		proc_inherit(&n->p, &par->p);
	proc_link_parent(&n->p, par ? &par->p : NULL, parent);
	return &n->p;
}

void proctable_exit(struct tg_proctable *pt, uint32_t pid, int exit_code, uint64_t now_ns)
{
	struct pt_node *n = node_find(pt, pid);

	if (!n)
		return;
	list_unlink(list_of(pt, n), n);
	n->p.flags |= TG_P_EXITED;
	n->p.exit_code = exit_code;
	n->p.exit_ns = now_ns;
	list_push(&pt->exited, n);
}

/* grace 0 reaps every exited entry; an exit stamped in the future (clock
 * skew between event sources) is kept rather than reaped early. */
void proctable_reap(struct tg_proctable *pt, uint64_t now_ns, uint64_t grace_ns)
{
	struct pt_node *n, *next;

	for (n = pt->exited.head; n; n = next) {
		next = n->next;
		if (now_ns >= n->p.exit_ns && now_ns - n->p.exit_ns >= grace_ns) {
			node_destroy(pt, n);
			pt->exited_reaped++;
		}
	}
}

static bool already_listed(const struct tg_proc *par, const struct tg_proc *p,
			   const struct tg_proc **out, size_t n)
{
	if (par == p)
		return true;
	for (size_t i = 0; i < n; i++)
		if (out[i] == par)
			return true;
	return false;
}

size_t proctable_ancestors(struct tg_proctable *pt, const struct tg_proc *p,
			   const struct tg_proc **out, size_t max, bool *truncated)
{
	const struct tg_proc *cur = p;
	size_t n = 0;
	bool trunc = false;

	while (cur->pid != 1 && cur->ppid != 0) {
		const struct tg_proc *par = proctable_lookup(pt, cur->ppid);

		if (!par || already_listed(par, p, out, n))
			break;
		/* The pid now at ppid is not the process that forked cur. */
		if (cur->parent_entity_id[0] &&
		    strcmp(par->entity_id, cur->parent_entity_id) != 0)
			break;
		if (!cur->parent_entity_id[0] && !parent_plausible(par, cur))
			break;
		if (n == max) {
			trunc = true;
			break;
		}
		out[n++] = par;
		cur = par;
	}
	if (truncated)
		*truncated = trunc;
	return n;
}

void proctable_stats(const struct tg_proctable *pt, struct tg_proctable_stats *st)
{
	st->live = pt->live.n;
	st->entries = pt_count(pt);
	st->evictions = pt->evictions;
	st->exited_reaped = pt->exited_reaped;
}

void proctable_set_str(char **dst, const char *src, size_t len)
{
	free(*dst);
	*dst = NULL;
	if (!src)
		return;
	/* On ENOMEM the field stays NULL ("unknown") rather than stale. */
	*dst = malloc(len + 1);
	if (!*dst)
		return;
	memcpy(*dst, src, len);
	(*dst)[len] = '\0';
}

void proctable_make_entity_id(const struct tg_proctable *pt, uint32_t pid, uint64_t ticks,
			      char out[TG_ENTITY_ID_LEN])
{
	/* 8 + 1 + 8 + 1 + 16 = 34 characters at most: never truncated. */
	snprintf(out, TG_ENTITY_ID_LEN, "%s-%" PRIx32 "-%" PRIx64, pt->boot, pid, ticks);
}

/* ---- user names --------------------------------------------------------
 *
 * Entries point at cached names, so a name may only be freed once no entry
 * references it. When the cache reaches its cap, a sweep frees the names
 * no entry (and none of the last PT_UNAME_RECENT results) points at; the
 * cap then becomes max(PT_UNAME_CAP, 2 x survivors), which bounds memory
 * by the distinct uids in use and keeps sweeps amortised O(1).
 */

static struct pt_uname *uname_find(const struct tg_proctable *pt, uint32_t uid)
{
	struct pt_uname *u = pt->ubuckets[uid % PT_UNAME_BUCKETS];

	while (u && u->uid != uid)
		u = u->next;
	return u;
}

static int cmp_uname_addr(const void *a, const void *b)
{
	uintptr_t x = (uintptr_t)(*(struct pt_uname *const *)a)->name;
	uintptr_t y = (uintptr_t)(*(struct pt_uname *const *)b)->name;

	return (x > y) - (x < y);
}

static int cmp_key_uname(const void *key, const void *elem)
{
	uintptr_t x = *(const uintptr_t *)key;
	uintptr_t y = (uintptr_t)(*(struct pt_uname *const *)elem)->name;

	return (x > y) - (x < y);
}

/* Marks the cached name at addr, if addr is one; foreign strings a caller
 * stored in an entry are simply not found. */
static void uname_mark(struct pt_uname **sorted, size_t n, uintptr_t addr)
{
	struct pt_uname **hit = bsearch(&addr, sorted, n, sizeof(*sorted), cmp_key_uname);

	if (hit)
		(*hit)->keep = true;
}

static void uname_mark_users(struct tg_proctable *pt, struct pt_uname **sorted, size_t n)
{
	const struct pt_list *lists[] = { &pt->live, &pt->exited };

	for (size_t l = 0; l < 2; l++)
		for (const struct pt_node *e = lists[l]->head; e; e = e->next)
			uname_mark(sorted, n, (uintptr_t)e->p.user);
	for (size_t i = 0; i < PT_UNAME_RECENT; i++)
		uname_mark(sorted, n, pt->urecent[i]);
}

static void uname_sweep(struct tg_proctable *pt)
{
	struct pt_uname **sorted = malloc(pt->ucount * sizeof(*sorted));
	size_t n = 0;

	if (!sorted) {
		pt->ucap *= 2;  /* cannot sweep now; try again later */
		return;
	}
	for (size_t b = 0; b < PT_UNAME_BUCKETS; b++)
		for (struct pt_uname *u = pt->ubuckets[b]; u; u = u->next) {
			u->keep = false;
			sorted[n++] = u;
		}
	qsort(sorted, n, sizeof(*sorted), cmp_uname_addr);
	uname_mark_users(pt, sorted, n);
	free(sorted);
	for (size_t b = 0; b < PT_UNAME_BUCKETS; b++) {
		struct pt_uname **pp = &pt->ubuckets[b];

		while (*pp) {
			struct pt_uname *u = *pp;

			if (u->keep) {
				pp = &u->next;
				continue;
			}
			*pp = u->next;
			free(u);
			pt->ucount--;
		}
	}
	pt->ucap = pt->ucount * 2 > PT_UNAME_CAP ? pt->ucount * 2 : PT_UNAME_CAP;
}

/* getpwuid_r, growing its buffer on ERANGE (large NSS/LDAP records). */
static void uname_resolve(uint32_t uid, char *out, size_t outlen)
{
	long hint = sysconf(_SC_GETPW_R_SIZE_MAX);
	size_t len = hint > 0 ? (size_t)hint : 1024;
	struct passwd pw, *res = NULL;
	char *buf = NULL;
	int err;

	do {
		char *nbuf = realloc(buf, len);

		if (!nbuf)
			break;
		buf = nbuf;
		err = getpwuid_r(uid, &pw, buf, len, &res);
		len *= 2;
	} while (err == ERANGE && len <= PT_PW_BUF_MAX);
	if (res && res->pw_name && res->pw_name[0])
		snprintf(out, outlen, "%s", res->pw_name);
	else
		snprintf(out, outlen, "%" PRIu32, uid);
	free(buf);
}

static struct pt_uname *uname_add(struct tg_proctable *pt, uint32_t uid)
{
	char name[TG_NAME_MAX];
	struct pt_uname *u;
	size_t len;

	if (pt->ucount >= pt->ucap)
		uname_sweep(pt);
	uname_resolve(uid, name, sizeof(name));
	len = strlen(name);
	u = malloc(sizeof(*u) + len + 1);
	if (!u)
		return NULL;
	u->uid = uid;
	u->keep = false;
	memcpy(u->name, name, len + 1);
	u->next = pt->ubuckets[uid % PT_UNAME_BUCKETS];
	pt->ubuckets[uid % PT_UNAME_BUCKETS] = u;
	pt->ucount++;
	return u;
}

const char *proctable_user_name(struct tg_proctable *pt, uint32_t uid)
{
	struct pt_uname *u = uname_find(pt, uid);

	if (!u)
		u = uname_add(pt, uid);
	if (!u)
		return "?";  /* ENOMEM: static, so user is still never NULL */
	pt->urecent[pt->urecent_i++ % PT_UNAME_RECENT] = (uintptr_t)u->name;
	return u->name;
}

/* Returns 1 when an entry was added. A pid that vanished mid-scan, or one
 * that events already described (same start), is skipped. */
static int seed_one(struct tg_proctable *pt, int procfd, const char *name, uint32_t pid)
{
	char statbuf[PT_STAT_BUF], status[PT_STATUS_BUF], comm[16];
	uint32_t ppid = 0;
	uint64_t ticks = 0;
	struct pt_node *old;
	struct tg_proc *p;
	int dfd = openat(procfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (dfd < 0)
		return 0;
	if (procscan_read_text(dfd, "stat", statbuf, sizeof(statbuf)) <= 0 ||
	    procscan_parse_stat(statbuf, &ppid, &ticks, comm) ||
	    procscan_read_text(dfd, "status", status, sizeof(status)) <= 0)
		goto skip;
	old = node_find(pt, pid);
	if (old && old->p.start_ticks == ticks)
		goto skip;
	p = proctable_upsert(pt, pid, ticks);
	if (!p)
		goto skip;
	p->ppid = ppid;
	memcpy(p->comm, comm, sizeof(p->comm));
	p->flags |= TG_P_FROM_SCAN;
	procscan_parse_status(status, p);
	p->user = proctable_user_name(pt, p->uid);
	procscan_loginuid(dfd, p);
	procscan_cmdline(dfd, p);
	procscan_exe(dfd, p);
	procscan_cwd(dfd, p);
	procscan_cgroup(dfd, p);
	close(dfd);
	return 1;
skip:
	close(dfd);
	return 0;
}

/* Second pass: parents are only known once every pid has an entry. */
static void seed_link_parents(struct tg_proctable *pt)
{
	for (struct pt_node *n = pt->live.head; n; n = n->next) {
		struct tg_proc *p = &n->p;

		if (!(p->flags & TG_P_FROM_SCAN) || p->parent_entity_id[0] || !p->ppid)
			continue;
		proc_link_parent(p, proctable_lookup(pt, p->ppid), p->ppid);
	}
}

int proctable_seed(struct tg_proctable *pt, const char *procfs)
{
	DIR *d = opendir(procfs);
	struct dirent *de;
	int added = 0;

	if (!d)
		return -1;
	while ((de = readdir(d))) {
		uint32_t pid;

		if (procscan_parse_pid(de->d_name, &pid))
			added += seed_one(pt, dirfd(d), de->d_name, pid);
	}
	closedir(d);
	seed_link_parents(pt);
	return added;
}

size_t proctable_foreach(struct tg_proctable *pt, void (*fn)(void *ctx, const struct tg_proc *p),
			 void *ctx)
{
	size_t n = 0;

	for (struct pt_node *x = pt->live.head; x; x = x->next, n++)
		fn(ctx, &x->p);
	return n;
}
