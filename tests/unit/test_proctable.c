// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Unit tests for user/proctable.c: table life cycle, ancestry, container
 * ids, user names, and seeding from the real /proc and from a fake procfs
 * built under /tmp. No root needed. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "procscan.h"
#include "proctable.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define BOOT "deadbeef"
#define SEC 1000000000ull

static const char ID64[] = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

static struct tg_proctable *new_table(size_t max)
{
	struct tg_proctable *pt = proctable_new(max, BOOT);

	cr_assert_not_null(pt);
	return pt;
}

static struct tg_proctable_stats stats_of(struct tg_proctable *pt)
{
	struct tg_proctable_stats st;

	memset(&st, 0xa5, sizeof(st));
	proctable_stats(pt, &st);
	return st;
}

Test(proctable, new_rejects_tiny_cap)
{
	errno = 0;
	cr_assert_null(proctable_new(15, BOOT));
	cr_assert_eq(errno, EINVAL);
}

Test(proctable, entity_id_format)
{
	struct tg_proctable *pt = new_table(16);
	char id[TG_ENTITY_ID_LEN];

	proctable_make_entity_id(pt, 0x1234, 0xabcdef, id);
	cr_assert_str_eq(id, "deadbeef-1234-abcdef");
	proctable_make_entity_id(pt, UINT32_MAX, UINT64_MAX, id);
	cr_assert_str_eq(id, "deadbeef-ffffffff-ffffffffffffffff");
	proctable_free(pt);

	/* Only the 8 characters the format reserves are kept. */
	pt = proctable_new(16, "0123456789abcdef");
	cr_assert_not_null(pt);
	proctable_make_entity_id(pt, 1, 2, id);
	cr_assert_str_eq(id, "01234567-1-2");
	proctable_free(pt);
}

Test(proctable, upsert_and_lookup)
{
	struct tg_proctable *pt = new_table(64);
	struct tg_proc *p = proctable_upsert(pt, 100, 5000);
	struct tg_proctable_stats st;

	cr_assert_not_null(p);
	cr_assert_eq(p->pid, 100);
	cr_assert_eq(p->start_ticks, 5000);
	cr_assert_str_eq(p->entity_id, "deadbeef-64-1388");
	cr_assert_str_eq(p->parent_entity_id, "");
	cr_assert_eq(p->auid, 0xffffffffu);
	cr_assert_not_null(p->user);
	cr_assert_null(p->exe);
	cr_assert_eq(p->flags, 0);
	cr_assert_eq(proctable_lookup(pt, 100), p);
	cr_assert_null(proctable_lookup(pt, 101));

	/* Same start: the same entry, data kept (exec refreshes it later). */
	proctable_set_str(&p->exe, "/bin/sh", 7);
	cr_assert_eq(proctable_upsert(pt, 100, 5000), p);
	cr_assert_str_eq(p->exe, "/bin/sh");

	st = stats_of(pt);
	cr_assert_eq(st.entries, 1);
	cr_assert_eq(st.live, 1);
	cr_assert_eq(st.evictions, 0);
	cr_assert_eq(st.exited_reaped, 0);
	proctable_free(pt);
}

Test(proctable, pid_reuse_gives_new_entity)
{
	struct tg_proctable *pt = new_table(64);
	struct tg_proc *p = proctable_upsert(pt, 100, 5000);
	char old_id[TG_ENTITY_ID_LEN];

	proctable_set_str(&p->exe, "/bin/old", 8);
	p->uid = 1000;
	strcpy(old_id, p->entity_id);
	proctable_exit(pt, 100, 0, 10 * SEC);
	cr_assert(p->flags & TG_P_EXITED);

	p = proctable_upsert(pt, 100, 9000);
	cr_assert_not_null(p);
	cr_assert_str_neq(p->entity_id, old_id);
	cr_assert_str_eq(p->entity_id, "deadbeef-64-2328");
	cr_assert_null(p->exe);
	cr_assert_eq(p->uid, 0);
	cr_assert_eq(p->flags & TG_P_EXITED, 0);
	cr_assert_eq(p->exit_ns, 0);
	cr_assert_eq(stats_of(pt).live, 1);
	cr_assert_eq(stats_of(pt).entries, 1);
	proctable_free(pt);
}

Test(proctable, set_str_copies_nuls_and_clears)
{
	char *s = NULL;
	static const char argv[] = "ls\0-l\0/tmp";

	proctable_set_str(&s, argv, sizeof(argv) - 1);
	cr_assert_not_null(s);
	cr_assert_eq(memcmp(s, argv, sizeof(argv)), 0); /* incl. the added NUL */
	proctable_set_str(&s, "x", 1);
	cr_assert_str_eq(s, "x");
	proctable_set_str(&s, NULL, 5);
	cr_assert_null(s);
}

static struct tg_proc *make_parent(struct tg_proctable *pt)
{
	static const char argv[] = "bash\0-c\0x";
	struct tg_proc *p = proctable_upsert(pt, 10, 100);

	proctable_set_str(&p->exe, "/bin/bash", 9);
	proctable_set_str(&p->args, argv, sizeof(argv));
	p->args_len = sizeof(argv);
	proctable_set_str(&p->cwd, "/home/u", 7);
	p->uid = 1000;
	p->euid = 1001;
	p->gid = 100;
	p->egid = 101;
	p->auid = 1000;
	p->user = proctable_user_name(pt, 1000);
	strcpy(p->container_id, ID64);
	strcpy(p->comm, "bash");
	p->cgroup_id = 4242;
	p->flags |= TG_P_FROM_SCAN | TG_P_EXE_DELETED;
	return p;
}

Test(proctable, fork_inherits_from_parent)
{
	struct tg_proctable *pt = new_table(64);
	struct tg_proc *par = make_parent(pt);
	struct tg_proc *c = proctable_fork(pt, 10, 11, 150);

	cr_assert_not_null(c);
	par = proctable_lookup(pt, 10);
	cr_assert_eq(c->pid, 11);
	cr_assert_eq(c->ppid, 10);
	cr_assert_eq(c->start_ticks, 150);
	cr_assert_str_eq(c->entity_id, "deadbeef-b-96");
	cr_assert_str_eq(c->parent_entity_id, par->entity_id);
	cr_assert_str_eq(c->exe, "/bin/bash");
	cr_assert_neq(c->exe, par->exe);
	cr_assert_eq(c->args_len, par->args_len);
	cr_assert_eq(memcmp(c->args, par->args, par->args_len), 0);
	cr_assert_neq(c->args, par->args);
	cr_assert_str_eq(c->cwd, "/home/u");
	cr_assert_eq(c->uid, 1000);
	cr_assert_eq(c->euid, 1001);
	cr_assert_eq(c->gid, 100);
	cr_assert_eq(c->egid, 101);
	cr_assert_eq(c->auid, 1000);
	cr_assert_eq(c->user, par->user);
	cr_assert_str_eq(c->container_id, ID64);
	cr_assert_str_eq(c->comm, "bash");
	cr_assert_eq(c->cgroup_id, 4242);
	/* exe's facts travel, the entry's own do not. */
	cr_assert_eq(c->flags, TG_P_EXE_DELETED);
	proctable_free(pt);
}

Test(proctable, fork_from_unknown_parent)
{
	struct tg_proctable *pt = new_table(64);
	struct tg_proc *c = proctable_fork(pt, 77, 78, 10);

	cr_assert_not_null(c);
	cr_assert_eq(c->ppid, 77);
	cr_assert_str_eq(c->parent_entity_id, "");
	cr_assert_null(c->exe);
	cr_assert_null(proctable_lookup(pt, 77));
	cr_assert_eq(stats_of(pt).entries, 1);
	proctable_free(pt);
}

Test(proctable, fork_after_child_exec_keeps_exec_data)
{
	struct tg_proctable *pt = new_table(64);
	struct tg_proc *c;

	make_parent(pt);
	c = proctable_upsert(pt, 11, 150);
	proctable_set_str(&c->exe, "/usr/bin/id", 11);
	cr_assert_eq(proctable_fork(pt, 10, 11, 150), c);
	cr_assert_str_eq(c->exe, "/usr/bin/id");
	cr_assert_eq(c->ppid, 10);
	cr_assert_str_eq(c->parent_entity_id, proctable_lookup(pt, 10)->entity_id);
	proctable_free(pt);
}

Test(proctable, exit_then_reap_after_grace)
{
	struct tg_proctable *pt = new_table(64);
	struct tg_proc *p;
	struct tg_proctable_stats st;

	proctable_upsert(pt, 1, 1);
	proctable_upsert(pt, 200, 50);
	proctable_exit(pt, 200, 9, 100 * SEC);
	proctable_exit(pt, 999, 1, 100 * SEC); /* unknown pid: ignored */

	p = proctable_lookup(pt, 200);
	cr_assert_not_null(p);
	cr_assert(p->flags & TG_P_EXITED);
	cr_assert_eq(p->exit_code, 9);
	cr_assert_eq(p->exit_ns, 100 * SEC);
	st = stats_of(pt);
	cr_assert_eq(st.entries, 2);
	cr_assert_eq(st.live, 1);

	/* Inside the grace period a late child event still resolves. */
	proctable_reap(pt, 104 * SEC, 5 * SEC);
	cr_assert_not_null(proctable_lookup(pt, 200));
	/* An exit stamped after "now" is not reaped early. */
	proctable_reap(pt, 90 * SEC, 0);
	cr_assert_not_null(proctable_lookup(pt, 200));

	proctable_reap(pt, 105 * SEC, 5 * SEC);
	cr_assert_null(proctable_lookup(pt, 200));
	cr_assert_not_null(proctable_lookup(pt, 1));
	st = stats_of(pt);
	cr_assert_eq(st.entries, 1);
	cr_assert_eq(st.live, 1);
	cr_assert_eq(st.exited_reaped, 1);
	cr_assert_eq(st.evictions, 0);
	proctable_free(pt);
}

Test(proctable, cap_evicts_oldest_and_counts)
{
	struct tg_proctable *pt = new_table(16);
	struct tg_proctable_stats st;

	for (uint32_t pid = 1; pid <= 20; pid++) {
		cr_assert_not_null(proctable_upsert(pt, pid, pid));
		cr_assert_leq(stats_of(pt).entries, 16);
	}
	st = stats_of(pt);
	cr_assert_eq(st.entries, 16);
	cr_assert_eq(st.live, 16);
	cr_assert_eq(st.evictions, 4);
	for (uint32_t pid = 1; pid <= 4; pid++)
		cr_assert_null(proctable_lookup(pt, pid), "pid %u should be evicted", pid);
	for (uint32_t pid = 5; pid <= 20; pid++)
		cr_assert_not_null(proctable_lookup(pt, pid));

	/* An update makes an entry young again: 6, not 5, goes next. */
	proctable_upsert(pt, 5, 5);
	proctable_upsert(pt, 21, 21);
	cr_assert_not_null(proctable_lookup(pt, 5));
	cr_assert_null(proctable_lookup(pt, 6));
	cr_assert_eq(stats_of(pt).evictions, 5);
	cr_assert_eq(stats_of(pt).entries, 16);
	proctable_free(pt);
}

Test(proctable, cap_reaps_exited_before_evicting)
{
	struct tg_proctable *pt = new_table(16);
	struct tg_proctable_stats st;

	for (uint32_t pid = 1; pid <= 16; pid++)
		proctable_upsert(pt, pid, pid);
	proctable_exit(pt, 3, 0, 100 * SEC);
	proctable_exit(pt, 9, 0, 100 * SEC);
	proctable_exit(pt, 12, 0, 100 * SEC);

	/* Full: the exited go, although their grace is not over. */
	cr_assert_not_null(proctable_upsert(pt, 100, 100));
	st = stats_of(pt);
	cr_assert_eq(st.evictions, 0);
	cr_assert_eq(st.exited_reaped, 3);
	cr_assert_eq(st.entries, 14);
	cr_assert_eq(st.live, 14);
	cr_assert_null(proctable_lookup(pt, 9));
	cr_assert_not_null(proctable_lookup(pt, 1));
	proctable_free(pt);
}

Test(proctable, cap_fork_keeps_parent)
{
	struct tg_proctable *pt = new_table(16);
	struct tg_proc *c;

	/* pid 1 is the oldest live entry, hence the victim, but it is the
	 * parent being copied from. */
	proctable_upsert(pt, 1, 1);
	for (uint32_t pid = 2; pid <= 16; pid++)
		proctable_upsert(pt, pid, pid);
	c = proctable_fork(pt, 1, 100, 100);
	cr_assert_not_null(c);
	cr_assert_not_null(proctable_lookup(pt, 1));
	cr_assert_null(proctable_lookup(pt, 2));
	cr_assert_str_eq(c->parent_entity_id, proctable_lookup(pt, 1)->entity_id);
	cr_assert_eq(stats_of(pt).entries, 16);
	cr_assert_eq(stats_of(pt).evictions, 1);
	proctable_free(pt);
}

/* init(1) -> 10 -> 20 -> 30 -> 40 */
static struct tg_proc *build_chain(struct tg_proctable *pt)
{
	proctable_upsert(pt, 1, 1);
	proctable_fork(pt, 1, 10, 10);
	proctable_fork(pt, 10, 20, 20);
	proctable_fork(pt, 20, 30, 30);
	return proctable_fork(pt, 30, 40, 40);
}

Test(proctable, ancestors_in_order)
{
	struct tg_proctable *pt = new_table(64);
	struct tg_proc *p = build_chain(pt);
	const struct tg_proc *out[TG_MAX_ANCESTRY];
	bool trunc = true;
	size_t n = proctable_ancestors(pt, p, out, ARRAY_SIZE(out), &trunc);
	static const uint32_t want[] = { 30, 20, 10, 1 };

	cr_assert_eq(n, ARRAY_SIZE(want));
	for (size_t i = 0; i < n; i++)
		cr_assert_eq(out[i]->pid, want[i], "out[%zu]", i);
	cr_assert_not(trunc);

	/* Nothing above pid 1. */
	n = proctable_ancestors(pt, proctable_lookup(pt, 1), out, ARRAY_SIZE(out), &trunc);
	cr_assert_eq(n, 0);
	cr_assert_not(trunc);
	proctable_free(pt);
}

Test(proctable, ancestors_truncated)
{
	struct tg_proctable *pt = new_table(64);
	struct tg_proc *p = build_chain(pt);
	const struct tg_proc *out[4];
	bool trunc = false;
	size_t n = proctable_ancestors(pt, p, out, 2, &trunc);

	cr_assert_eq(n, 2);
	cr_assert_eq(out[0]->pid, 30);
	cr_assert_eq(out[1]->pid, 20);
	cr_assert(trunc);

	/* Exactly enough room: not truncated. */
	n = proctable_ancestors(pt, p, out, 4, &trunc);
	cr_assert_eq(n, 4);
	cr_assert_not(trunc);
	n = proctable_ancestors(pt, p, out, 0, NULL);
	cr_assert_eq(n, 0);
	proctable_free(pt);
}

Test(proctable, ancestors_stop_at_pid_reuse_missing_and_cycle)
{
	struct tg_proctable *pt = new_table(64);
	struct tg_proc *p = build_chain(pt), *a, *b;
	const struct tg_proc *out[TG_MAX_ANCESTRY];
	bool trunc;
	size_t n;

	/* 20 dies and its pid is reused: 30 keeps its old parent id. */
	proctable_exit(pt, 20, 0, SEC);
	proctable_reap(pt, SEC, 0);
	proctable_upsert(pt, 20, 25);
	n = proctable_ancestors(pt, p, out, ARRAY_SIZE(out), &trunc);
	cr_assert_eq(n, 1);
	cr_assert_eq(out[0]->pid, 30);
	cr_assert_not(trunc);

	/* Missing parent. */
	proctable_exit(pt, 30, 0, SEC);
	proctable_reap(pt, SEC, 0);
	cr_assert_eq(proctable_ancestors(pt, p, out, ARRAY_SIZE(out), &trunc), 0);

	/* A cycle (corrupt ppids) still ends. */
	a = proctable_upsert(pt, 500, 1);
	b = proctable_upsert(pt, 501, 1);
	a->ppid = 501;
	b->ppid = 500;
	n = proctable_ancestors(pt, a, out, ARRAY_SIZE(out), &trunc);
	cr_assert_eq(n, 1);
	cr_assert_eq(out[0], b);
	cr_assert_not(trunc);
	proctable_free(pt);
}

struct cid_case {
	const char *in;
	bool match;
};

Test(proctable, container_id_parsing)
{
	char id[TG_CONTAINER_ID_LEN], in[512];
	static const struct cid_case cases[] = {
		{ "/system.slice/docker-%s.scope", true },
		{ "docker-%s.scope", true },
		{ "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1234.slice/"
		  "cri-containerd-%s.scope", true },
		{ "/kubepods.slice/kubepods-pod1.slice/crio-%s.scope", true },
		{ "/machine.slice/libpod-%s.scope", true },
		{ "/machine.slice/libpod-%s.scope/container", true },
		{ "/kubepods/burstable/pod0a1b/%s", true },
		{ "/docker/%s", true },
		{ "%s", true },
		{ "/system.slice/docker-%s.scope/init.scope\n", true },
		{ "/user.slice/user-1000.slice/session-2.scope", false },
		{ "/system.slice/docker-%s0.scope", false },       /* 65 hex */
		{ "/system.slice/notdocker-%s.scope", false },
		{ "/system.slice/docker-%s.scopex", false },
		{ "/x/%s.scope", false },                            /* bare + .scope */
		{ "/crio-conmon-%s.scope", false },                  /* conmon, not the container */
		{ "/", false },
		{ "", false },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		snprintf(in, sizeof(in), cases[i].in, ID64);
		memset(id, 'x', sizeof(id));
		procscan_container_id(in, id);
		cr_assert_str_eq(id, cases[i].match ? ID64 : "", "case %zu: %s", i, in);
	}
	/* 63 hex and upper case hex. */
	procscan_container_id("/docker/0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde", id);
	cr_assert_str_eq(id, "");
	procscan_container_id("/docker/0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF", id);
	cr_assert_str_eq(id, "");
	procscan_container_id(NULL, id);
	cr_assert_str_eq(id, "");
}

Test(proctable, user_names)
{
	struct tg_proctable *pt = new_table(16);
	const char *root = proctable_user_name(pt, 0);
	const char *unknown = proctable_user_name(pt, 4000000123u);

	cr_assert_str_eq(root, "root");
	cr_assert_str_eq(unknown, "4000000123");
	/* Cached: the same string every time. */
	cr_assert_eq(proctable_user_name(pt, 0), root);
	cr_assert_eq(proctable_user_name(pt, 4000000123u), unknown);
	cr_assert_eq(proctable_upsert(pt, 5, 5)->user, root);
	proctable_free(pt);
}

/* Far more distinct uids than the cache holds: names that entries point at,
 * and the most recent results, must stay valid (ASan reports otherwise). */
Test(proctable, user_name_cache_bounded_without_dangling)
{
	struct tg_proctable *pt = new_table(64);
	struct tg_proc *p = proctable_upsert(pt, 7, 7);
	const char *last = NULL, *prev = NULL;

	p->uid = 4100000000u;
	p->user = proctable_user_name(pt, p->uid);
	for (uint32_t i = 0; i < 3000; i++) {
		prev = last;
		last = proctable_user_name(pt, 4200000000u + i);
	}
	cr_assert_str_eq(p->user, "4100000000");
	cr_assert_str_eq(prev, "4200002998");
	cr_assert_str_eq(last, "4200002999");
	cr_assert_eq(proctable_user_name(pt, 4100000000u), p->user);
	proctable_free(pt);
}

/* Field 22 of /proc/self/stat, parsed independently of the table. */
static uint64_t self_start_ticks(void)
{
	char buf[4096], *s, *save = NULL;
	FILE *f = fopen("/proc/self/stat", "re");
	size_t n;
	int field = 3;

	cr_assert_not_null(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	s = strrchr(buf, ')');
	cr_assert_not_null(s);
	for (s = strtok_r(s + 1, " ", &save); s; s = strtok_r(NULL, " ", &save), field++)
		if (field == 22)
			return strtoull(s, NULL, 10);
	cr_assert_fail("no field 22");
	return 0;
}

Test(proctable, seed_from_real_proc)
{
	struct tg_proctable *pt = new_table(1u << 20);
	char exe[PATH_MAX], want_id[TG_ENTITY_ID_LEN], cwd[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	uint64_t ticks = self_start_ticks();
	int added = proctable_seed(pt, "/proc");
	struct tg_proc *p = proctable_lookup(pt, (uint32_t)getpid()), *par;

	cr_assert_gt(added, 0);
	cr_assert_eq((size_t)added, stats_of(pt).entries);
	cr_assert_not_null(p);
	cr_assert_gt(n, 0);
	exe[n] = '\0';
	cr_assert_eq(p->ppid, (uint32_t)getppid());
	cr_assert_str_eq(p->exe, exe);
	cr_assert(p->flags & TG_P_FROM_SCAN);
	cr_assert_eq(p->start_ticks, ticks);
	proctable_make_entity_id(pt, (uint32_t)getpid(), ticks, want_id);
	cr_assert_str_eq(p->entity_id, want_id);
	cr_assert_eq(p->uid, getuid());
	cr_assert_eq(p->euid, geteuid());
	cr_assert_eq(p->gid, getgid());
	cr_assert_eq(p->egid, getegid());
	cr_assert_str_eq(p->user, proctable_user_name(pt, getuid()));
	cr_assert_not_null(getcwd(cwd, sizeof(cwd)));
	cr_assert_str_eq(p->cwd, cwd);
	cr_assert_not_null(p->args);
	cr_assert_gt(p->args_len, 0);

	/* The second pass linked us to our parent. */
	par = proctable_lookup(pt, p->ppid);
	cr_assert_not_null(par);
	cr_assert_str_eq(p->parent_entity_id, par->entity_id);

	/* Seeding again adds nothing: every entry is already known. */
	cr_assert_eq(proctable_seed(pt, "/proc") >= 0, true);
	cr_assert_eq(proctable_lookup(pt, (uint32_t)getpid()), p);
	proctable_free(pt);
}

Test(proctable, seed_missing_procfs)
{
	struct tg_proctable *pt = new_table(16);

	cr_assert_eq(proctable_seed(pt, "/nonexistent/proc"), -1);
	cr_assert_eq(stats_of(pt).entries, 0);
	proctable_free(pt);
}

/* ---- fake procfs -------------------------------------------------------- */

static void put_file(const char *root, uint32_t pid, const char *name, const void *data, size_t len)
{
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "%s/%u/%s", root, pid, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	cr_assert_geq(fd, 0, "open %s: %s", path, strerror(errno));
	cr_assert_eq(write(fd, data, len), (ssize_t)len);
	close(fd);
}

static void put_text(const char *root, uint32_t pid, const char *name, const char *text)
{
	put_file(root, pid, name, text, strlen(text));
}

static void put_link(const char *root, uint32_t pid, const char *name, const char *target)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%u/%s", root, pid, name);
	cr_assert_eq(symlink(target, path), 0, "symlink %s: %s", path, strerror(errno));
}

static void put_pid_dir(const char *root, const char *name)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", root, name);
	cr_assert_eq(mkdir(path, 0755), 0, "mkdir %s: %s", path, strerror(errno));
}

/* A stat line whose filler fields carry their own field number, so a parser
 * that miscounts reads a visibly wrong value. */
static void put_stat(const char *root, uint32_t pid, const char *comm, uint32_t ppid,
		     uint64_t ticks)
{
	char buf[512];

	snprintf(buf, sizeof(buf),
		 "%u (%s) S %u 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 %" PRIu64
		 " 23 24 25 26 27\n", pid, comm, ppid, ticks);
	put_text(root, pid, "stat", buf);
}

static void put_status(const char *root, uint32_t pid, const char *comm, uint32_t uid,
		       uint32_t euid, uint32_t gid, uint32_t egid)
{
	char buf[512];

	snprintf(buf, sizeof(buf),
		 "Name:\t%s\nUmask:\t0022\nState:\tS (sleeping)\nTgid:\t%u\nPid:\t%u\n"
		 "Uid:\t%u\t%u\t%u\t%u\nGid:\t%u\t%u\t%u\t%u\nGroups:\t\n",
		 comm, pid, pid, uid, euid, euid, euid, gid, egid, egid, egid);
	put_text(root, pid, "status", buf);
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/*
 * root/1    init, no container, loginuid unset
 * root/123  comm "x) (y) R 77", argv over the bound, deleted exe, docker
 * root/456  kernel-thread-like: no exe/cwd links, no cmdline, no loginuid
 * root/789  vanished: directory without files
 * root/abc, root/12x: not pids
 */
static void build_fake_proc(const char *root)
{
	static const char init_argv[] = "/sbin/init\0splash";
	char cg[256], *argv;

	put_pid_dir(root, "1");
	put_stat(root, 1, "systemd", 0, 1);
	put_status(root, 1, "systemd", 0, 0, 0, 0);
	put_file(root, 1, "cmdline", init_argv, sizeof(init_argv));
	put_link(root, 1, "exe", "/usr/lib/systemd/systemd");
	put_link(root, 1, "cwd", "/");
	put_text(root, 1, "loginuid", "4294967295");
	put_text(root, 1, "cgroup", "0::/init.scope\n");

	put_pid_dir(root, "123");
	put_stat(root, 123, "x) (y) R 77", 1, 4242);
	put_status(root, 123, "x) (y) R 77", 1000, 1001, 100, 101);
	argv = malloc(5000);
	cr_assert_not_null(argv);
	memset(argv, 'a', 5000);
	argv[4] = '\0';
	put_file(root, 123, "cmdline", argv, 5000);
	free(argv);
	put_link(root, 123, "exe", "/nonexistent/fake (deleted)");
	put_link(root, 123, "cwd", "/home/u");
	put_text(root, 123, "loginuid", "1000\n");
	snprintf(cg, sizeof(cg), "12:cpu,cpuacct:/\n0::/system.slice/docker-%s.scope\n", ID64);
	put_text(root, 123, "cgroup", cg);

	put_pid_dir(root, "456");
	put_stat(root, 456, "kworker/0:1", 123, 5000);
	put_status(root, 456, "kworker/0:1", 0, 0, 0, 0);
	put_text(root, 456, "cmdline", "");
	put_text(root, 456, "cgroup", "0::/\n");

	put_pid_dir(root, "789");
	put_pid_dir(root, "abc");
	put_pid_dir(root, "12x");
}

static void check_fake_pid123(struct tg_proctable *pt)
{
	struct tg_proc *p = proctable_lookup(pt, 123);

	cr_assert_not_null(p);
	cr_assert_eq(p->ppid, 1);
	cr_assert_eq(p->start_ticks, 4242);
	cr_assert_str_eq(p->entity_id, "deadbeef-7b-1092");
	cr_assert_str_eq(p->comm, "x) (y) R 77");
	cr_assert_str_eq(p->parent_entity_id, proctable_lookup(pt, 1)->entity_id);
	cr_assert_eq(p->uid, 1000);
	cr_assert_eq(p->euid, 1001);
	cr_assert_eq(p->gid, 100);
	cr_assert_eq(p->egid, 101);
	cr_assert_eq(p->auid, 1000);
	cr_assert_eq(p->args_len, 4096);
	cr_assert_str_eq(p->args, "aaaa");
	cr_assert_eq(p->args[4096], '\0');
	cr_assert_str_eq(p->exe, "/nonexistent/fake");
	cr_assert_str_eq(p->cwd, "/home/u");
	cr_assert_str_eq(p->container_id, ID64);
	cr_assert_eq(p->flags, TG_P_FROM_SCAN | TG_P_ARGV_TRUNC | TG_P_EXE_DELETED);
}

Test(proctable, seed_from_fake_procfs)
{
	char root[] = "/tmp/tg_proctable_XXXXXX";
	struct tg_proctable *pt = new_table(64);
	const struct tg_proc *out[TG_MAX_ANCESTRY];
	struct tg_proc *init, *kt;
	bool trunc;

	cr_assert_not_null(mkdtemp(root));
	build_fake_proc(root);
	cr_assert_eq(proctable_seed(pt, root), 3);
	cr_assert_eq(stats_of(pt).entries, 3);

	init = proctable_lookup(pt, 1);
	cr_assert_not_null(init);
	cr_assert_eq(init->ppid, 0);
	cr_assert_str_eq(init->parent_entity_id, "");
	cr_assert_str_eq(init->comm, "systemd");
	cr_assert_str_eq(init->exe, "/usr/lib/systemd/systemd");
	cr_assert_eq(init->args_len, sizeof("/sbin/init\0splash"));
	cr_assert_eq(memcmp(init->args, "/sbin/init\0splash", init->args_len), 0);
	cr_assert_eq(init->auid, 0xffffffffu);
	cr_assert_str_eq(init->user, "root");
	cr_assert_str_eq(init->container_id, "");
	cr_assert_eq(init->flags, TG_P_FROM_SCAN);

	check_fake_pid123(pt);

	kt = proctable_lookup(pt, 456);
	cr_assert_not_null(kt);
	cr_assert_null(kt->exe);
	cr_assert_null(kt->cwd);
	cr_assert_null(kt->args);
	cr_assert_eq(kt->args_len, 0);
	cr_assert_eq(kt->auid, 0xffffffffu);
	cr_assert_str_eq(kt->container_id, "");
	cr_assert_str_eq(kt->comm, "kworker/0:1");

	cr_assert_null(proctable_lookup(pt, 789));
	cr_assert_eq(proctable_ancestors(pt, kt, out, ARRAY_SIZE(out), &trunc), 2);
	cr_assert_eq(out[0]->pid, 123);
	cr_assert_eq(out[1]->pid, 1);
	cr_assert_not(trunc);

	proctable_free(pt);
	cr_assert_eq(nftw(root, rm_entry, 16, FTW_DEPTH | FTW_PHYS), 0);
}

Test(proctable, ten_thousand_processes)
{
	enum { N = 10000 };
	static const char argv[] = "/usr/bin/worker\0--id\0123456";
	struct tg_proctable *pt = new_table(16384);
	struct tg_proctable_stats st;

	for (uint32_t i = 0; i < N; i++) {
		struct tg_proc *p = proctable_fork(pt, i ? 1000 : 0, 1000 + i, 1000 + i);

		cr_assert_not_null(p);
		if (i)
			continue;
		proctable_set_str(&p->exe, "/usr/bin/worker", 15);
		proctable_set_str(&p->args, argv, sizeof(argv));
		p->args_len = sizeof(argv);
	}
	for (uint32_t i = 0; i < N; i++) {
		struct tg_proc *p = proctable_lookup(pt, 1000 + i);

		cr_assert_not_null(p, "pid %u", 1000 + i);
		cr_assert_eq(p->start_ticks, 1000 + i);
		cr_assert_str_eq(p->exe, "/usr/bin/worker");
	}
	st = stats_of(pt);
	cr_assert_eq(st.entries, N);
	cr_assert_eq(st.live, N);
	cr_assert_eq(st.evictions, 0);

	for (uint32_t i = 1; i < N; i += 2)
		proctable_exit(pt, 1000 + i, 0, SEC);
	proctable_reap(pt, 2 * SEC, SEC);
	st = stats_of(pt);
	cr_assert_eq(st.entries, N / 2);
	cr_assert_eq(st.live, N / 2);
	cr_assert_eq(st.exited_reaped, N / 2);
	for (uint32_t i = 0; i < N; i++)
		cr_assert_eq(proctable_lookup(pt, 1000 + i) != NULL, i % 2 == 0, "pid %u", 1000 + i);
	proctable_free(pt);
}
