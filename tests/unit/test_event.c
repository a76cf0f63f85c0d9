// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Unit tests for user/event.c: record validation against hostile sizes and
 * string descriptors, type names and classes, and event_path() for every
 * kind of path a record can carry, resolved against a real temporary tree
 * (a symlinked directory, a symlink as last component). No root needed. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "event.h"

#ifndef SYS_fchmodat2
#define SYS_fchmodat2 452
#endif

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define TG_AT_SYMLINK_NOFOLLOW 0x100
#define TG_AT_SYMLINK_FOLLOW 0x400

/* ---- record builder -----------------------------------------------------
 * Lays a record out as the kernel does: header, payload, descriptors, then
 * the strings packed in data[] each with its NUL; hdr.size counts it all. */

static struct tg_event *ev_new(unsigned type, int syscall_nr, long ret)
{
	struct tg_event *ev = calloc(1, sizeof(*ev));

	cr_assert_not_null(ev);
	ev->hdr.type = type;
	ev->hdr.syscall_nr = syscall_nr;
	ev->hdr.ret = ret;
	ev->hdr.tgid = ev->hdr.tid = 4242;
	ev->hdr.size = TG_EVENT_FIXED_SIZE;
	strcpy(ev->hdr.comm, "test");
	return ev;
}

/* Appends len bytes of s (may hold NULs) as string idx. */
static void ev_strn(struct tg_event *ev, int idx, const char *s, size_t len)
{
	size_t off = ev->hdr.size - TG_EVENT_FIXED_SIZE;

	cr_assert_lt(off + len + 1, (size_t)TG_DATA_MAX);
	memcpy(ev->data + off, s, len);
	ev->data[off + len] = '\0';
	ev->str[idx].off = (__u16)off;
	ev->str[idx].len = (__u16)len;
	ev->hdr.size += len + 1;
}

static void ev_str(struct tg_event *ev, int idx, const char *s)
{
	ev_strn(ev, idx, s, strlen(s));
}

/* A well-formed name-based file event: raw path in 0, its base in 1. */
static struct tg_event *good_unlink(void)
{
	struct tg_event *ev = ev_new(TG_EV_UNLINK, SYS_unlinkat, 0);

	ev_str(ev, 0, "victim");
	ev_str(ev, 1, "/tmp");
	ev->hdr.flags = TG_F_BASE_RESOLVED;
	return ev;
}

/* ---- event_valid ------------------------------------------------------- */

Test(event_valid, accepts_good_record)
{
	struct tg_event *ev = good_unlink();

	cr_assert(event_valid(ev, ev->hdr.size));
	/* A ring buffer sample may be padded past hdr.size. */
	cr_assert(event_valid(ev, ev->hdr.size + 8));
	cr_assert_str_eq(event_str(ev, 0), "victim");
	cr_assert_str_eq(event_str(ev, 1), "/tmp");
	cr_assert_null(event_str(ev, 2));
	cr_assert_null(event_str(ev, -1));
	cr_assert_null(event_str(ev, TG_MAX_STRS));
	cr_assert_eq(event_str_len(ev, 0), 6);
	cr_assert_eq(event_str_len(ev, 3), 0);
	free(ev);
}

Test(event_valid, accepts_record_without_strings)
{
	struct tg_event *ev = ev_new(TG_EV_KILL, SYS_kill, 0);

	cr_assert_eq(ev->hdr.size, TG_EVENT_FIXED_SIZE);
	cr_assert(event_valid(ev, TG_EVENT_FIXED_SIZE));
	free(ev);
}

Test(event_valid, rejects_buffer_smaller_than_fixed_part)
{
	struct tg_event *ev = good_unlink();

	cr_assert_not(event_valid(ev, TG_EVENT_FIXED_SIZE - 1));
	cr_assert_not(event_valid(ev, 0));
	free(ev);
}

Test(event_valid, rejects_hdr_size_smaller_than_fixed_part)
{
	struct tg_event *ev = ev_new(TG_EV_KILL, SYS_kill, 0);

	ev->hdr.size = TG_EVENT_FIXED_SIZE - 1;
	cr_assert_not(event_valid(ev, sizeof(*ev)));
	ev->hdr.size = 0;
	cr_assert_not(event_valid(ev, sizeof(*ev)));
	free(ev);
}

Test(event_valid, rejects_hdr_size_past_buffer)
{
	struct tg_event *ev = good_unlink();
	size_t got = ev->hdr.size;

	cr_assert_not(event_valid(ev, got - 1));
	ev->hdr.size = sizeof(*ev) + 1;
	cr_assert_not(event_valid(ev, got));
	free(ev);
}

Test(event_valid, rejects_descriptor_past_hdr_size)
{
	struct tg_event *ev = good_unlink();

	/* One byte too long: its NUL would be the first byte after the record. */
	ev->str[1].len += 1;
	cr_assert_not(event_valid(ev, ev->hdr.size));
	ev->str[1].len -= 1;
	cr_assert(event_valid(ev, ev->hdr.size));

	/* An offset far into data[] that the record never sent. */
	ev->str[2].off = 8000;
	ev->str[2].len = 4;
	cr_assert_not(event_valid(ev, ev->hdr.size));

	/* Largest descriptor the u16 fields allow. */
	ev->str[2].off = UINT16_MAX;
	ev->str[2].len = UINT16_MAX;
	cr_assert_not(event_valid(ev, ev->hdr.size));
	free(ev);
}

Test(event_valid, rejects_string_without_nul)
{
	struct tg_event *ev = good_unlink();

	ev->data[ev->str[0].off + ev->str[0].len] = 'x';
	cr_assert_not(event_valid(ev, ev->hdr.size));
	free(ev);

	/* The last string: its NUL is the last byte of the record. */
	ev = good_unlink();
	ev->data[ev->str[1].off + ev->str[1].len] = '/';
	cr_assert_not(event_valid(ev, ev->hdr.size));
	free(ev);
}

Test(event_valid, zero_length_descriptor_is_absent)
{
	struct tg_event *ev = good_unlink();

	/* len 0 means "absent": its offset is never looked at. */
	ev->str[3].off = UINT16_MAX;
	ev->str[3].len = 0;
	cr_assert(event_valid(ev, ev->hdr.size));
	cr_assert_null(event_str(ev, 3));
	free(ev);
}

Test(event_valid, rejects_unknown_type)
{
	static const unsigned bad[] = { TG_EV_NONE, 4, 9, 21, 29, 36, 49, 57, 63,
					TG_EV_TYPE_MAX, 1000, UINT16_MAX };

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct tg_event *ev = good_unlink();

		ev->hdr.type = bad[i];
		cr_assert_not(event_valid(ev, ev->hdr.size), "type %u accepted", bad[i]);
		free(ev);
	}
}

/* ---- names and classes -------------------------------------------------- */

struct type_case {
	unsigned type;
	const char *name;
	unsigned cls;
};

static const struct type_case type_cases[] = {
	{ TG_EV_EXEC, "exec", TG_CLASS_PROCESS },
	{ TG_EV_FORK, "fork", TG_CLASS_PROCESS },
	{ TG_EV_EXIT, "exit", TG_CLASS_PROCESS },
	{ TG_EV_OPEN, "open", TG_CLASS_FILE },
	{ TG_EV_UNLINK, "unlink", TG_CLASS_FILE },
	{ TG_EV_RENAME, "rename", TG_CLASS_FILE },
	{ TG_EV_LINK, "link", TG_CLASS_FILE },
	{ TG_EV_SYMLINK, "symlink", TG_CLASS_FILE },
	{ TG_EV_CHMOD, "chmod", TG_CLASS_FILE },
	{ TG_EV_CHOWN, "chown", TG_CLASS_FILE },
	{ TG_EV_TRUNCATE, "truncate", TG_CLASS_FILE },
	{ TG_EV_MKDIR, "mkdir", TG_CLASS_FILE },
	{ TG_EV_MEMFD, "memfd_create", TG_CLASS_FILE },
	{ TG_EV_CONNECT, "connect", TG_CLASS_NETWORK },
	{ TG_EV_ACCEPT, "accept", TG_CLASS_NETWORK },
	{ TG_EV_BIND, "bind", TG_CLASS_NETWORK },
	{ TG_EV_LISTEN, "listen", TG_CLASS_NETWORK },
	{ TG_EV_SENDTO, "sendto", TG_CLASS_NETWORK },
	{ TG_EV_FLOW, "flow", TG_CLASS_NETWORK },
	{ TG_EV_PTRACE, "ptrace", TG_CLASS_PRIVILEGE },
	{ TG_EV_PROCESS_VM, "process_vm", TG_CLASS_PRIVILEGE },
	{ TG_EV_SETID, "setid", TG_CLASS_PRIVILEGE },
	{ TG_EV_KILL, "kill", TG_CLASS_PRIVILEGE },
	{ TG_EV_MODULE, "module_load", TG_CLASS_PRIVILEGE },
	{ TG_EV_BPF, "bpf_prog_load", TG_CLASS_PRIVILEGE },
	{ TG_EV_MOUNT, "mount", TG_CLASS_PRIVILEGE },
	{ TG_EV_CLOSE, "close", TG_CLASS_FILE },
};

Test(event_type, name_and_class_of_every_type)
{
	for (size_t i = 0; i < ARRAY_SIZE(type_cases); i++) {
		const struct type_case *c = &type_cases[i];

		cr_assert_str_eq(event_type_name(c->type), c->name, "type %u", c->type);
		cr_assert_eq(event_class(c->type), c->cls, "type %u", c->type);
	}
}

Test(event_type, every_named_type_is_listed)
{
	/* A type added to the ABI must be added to the table above too. */
	size_t named = 0;

	for (unsigned t = 0; t < TG_EV_TYPE_MAX; t++)
		if (event_class(t))
			named++;
	cr_assert_eq(named, ARRAY_SIZE(type_cases));
}

Test(event_type, unknown_types)
{
	static const unsigned bad[] = { TG_EV_NONE, 4, 21, 36, 63, TG_EV_TYPE_MAX, 1u << 20 };

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		cr_assert_str_eq(event_type_name(bad[i]), "unknown");
		cr_assert_eq(event_class(bad[i]), 0);
	}
}

/* ---- event_path -------------------------------------------------------- */

/*
 * Tree under a fresh temporary directory (canonicalised, since /tmp may be
 * a symlink itself):
 *   real/           directory
 *   real/file       regular file
 *   lnkdir -> real  symlinked directory
 *   lnkfile -> real/file
 */
static char g_tmp[PATH_MAX];

/* "<tmp>/<rel>" into out; the test fails rather than truncate. */
static void tmp_join(char *out, size_t len, const char *rel)
{
	int n = snprintf(out, len, "%s/%s", g_tmp, rel);

	cr_assert(n > 0 && (size_t)n < len);
}

static void tree_setup(void)
{
	char tmpl[] = "/tmp/tg-event-XXXXXX", p[PATH_MAX];
	int fd;

	cr_assert_not_null(mkdtemp(tmpl));
	cr_assert_not_null(realpath(tmpl, g_tmp));
	tmp_join(p, sizeof(p), "real");
	cr_assert_eq(mkdir(p, 0755), 0);
	tmp_join(p, sizeof(p), "real/file");
	fd = open(p, O_WRONLY | O_CREAT, 0644);
	cr_assert_geq(fd, 0);
	close(fd);
	tmp_join(p, sizeof(p), "lnkdir");
	cr_assert_eq(symlink("real", p), 0);
	tmp_join(p, sizeof(p), "lnkfile");
	cr_assert_eq(symlink("real/file", p), 0);
}

static int rm_entry(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)flag;
	(void)f;
	return remove(p);
}

static void tree_teardown(void)
{
	if (g_tmp[0])
		nftw(g_tmp, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* "<tmp>/<rel>" */
static const char *in_tmp(const char *rel)
{
	static char buf[2][PATH_MAX];
	static int n;
	char *b = buf[n++ & 1];

	tmp_join(b, PATH_MAX, rel);
	return b;
}

static struct tg_event *name_event(unsigned type, int nr, long ret, const char *raw, const char *base)
{
	struct tg_event *ev = ev_new(type, nr, ret);

	ev_str(ev, 0, raw);
	if (base) {
		ev_str(ev, 1, base);
		ev->hdr.flags |= TG_F_BASE_RESOLVED;
	}
	cr_assert(event_valid(ev, ev->hdr.size));
	return ev;
}

TestSuite(event_path, .init = tree_setup, .fini = tree_teardown);

Test(event_path, kernel_resolved_path_is_used_as_is)
{
	struct tg_event *ev = ev_new(TG_EV_OPEN, SYS_openat, 3);
	char out[PATH_MAX];

	/* Not re-resolved on this host: the kernel's path is the truth, even
	 * when it names something that does not exist here. */
	ev_str(ev, 0, "/no/such/dir/../file");
	ev->hdr.flags = TG_F_PATH_RESOLVED;
	cr_assert_eq(event_path(ev, 0, out, sizeof(out)), 0);
	cr_assert_str_eq(out, "/no/such/dir/../file");
	/* Too small an output buffer fails rather than truncating. */
	cr_assert_eq(event_path(ev, 0, out, 5), -1);
	free(ev);
}

Test(event_path, relative_raw_joined_to_base)
{
	struct tg_event *ev = name_event(TG_EV_UNLINK, SYS_unlinkat, 0, "./real/../real//file", g_tmp);
	char out[PATH_MAX];

	cr_assert_eq(event_path(ev, 0, out, sizeof(out)), 0);
	cr_assert_str_eq(out, in_tmp("real/file"));
	free(ev);
}

Test(event_path, symlinked_directory_is_resolved)
{
	struct tg_event *ev = name_event(TG_EV_UNLINK, SYS_unlinkat, 0, "lnkdir/file", g_tmp);
	char out[PATH_MAX];

	cr_assert_eq(event_path(ev, 0, out, sizeof(out)), 0);
	cr_assert_str_eq(out, in_tmp("real/file"));
	free(ev);
}

Test(event_path, unlink_does_not_follow_last_symlink)
{
	struct tg_event *ev = name_event(TG_EV_UNLINK, SYS_unlinkat, 0, "lnkfile", g_tmp);
	char out[PATH_MAX];

	cr_assert_eq(event_path(ev, 0, out, sizeof(out)), 0);
	cr_assert_str_eq(out, in_tmp("lnkfile"));
	free(ev);
}

Test(event_path, chmod_and_truncate_follow_last_symlink)
{
	static const struct { unsigned type; int nr; } c[] = {
		{ TG_EV_CHMOD, SYS_chmod }, { TG_EV_CHMOD, SYS_fchmodat },
		{ TG_EV_TRUNCATE, SYS_truncate }, { TG_EV_CHOWN, SYS_chown },
		{ TG_EV_CHOWN, SYS_fchownat },
	};

	for (size_t i = 0; i < ARRAY_SIZE(c); i++) {
		struct tg_event *ev = name_event(c[i].type, c[i].nr, 0, "lnkfile", g_tmp);
		char out[PATH_MAX];

		cr_assert_eq(event_path(ev, 0, out, sizeof(out)), 0);
		cr_assert_str_eq(out, in_tmp("real/file"), "case %zu", i);
		free(ev);
	}
}

Test(event_path, lchown_and_nofollow_chown_act_on_the_link)
{
	struct tg_event *ev = name_event(TG_EV_CHOWN, SYS_lchown, 0, "lnkfile", g_tmp);
	char out[PATH_MAX];

	cr_assert_eq(event_path(ev, 0, out, sizeof(out)), 0);
	cr_assert_str_eq(out, in_tmp("lnkfile"));
	free(ev);

	ev = name_event(TG_EV_CHOWN, SYS_fchownat, 0, "lnkfile", g_tmp);
	ev->u.file.flags = TG_AT_SYMLINK_NOFOLLOW;
	cr_assert_eq(event_path(ev, 0, out, sizeof(out)), 0);
	cr_assert_str_eq(out, in_tmp("lnkfile"));
	free(ev);
}

/* BUG (user/event.c event_follows_last): fchmodat2(..., AT_SYMLINK_NOFOLLOW)
 * acts on the link itself (the kernel looks it up without LOOKUP_FOLLOW),
 * but TG_EV_CHMOD always follows, so file.path names the link's target. */
Test(event_path, fchmodat2_nofollow_acts_on_the_link)
{
	struct tg_event *ev = name_event(TG_EV_CHMOD, SYS_fchmodat2, 0, "lnkfile", g_tmp);
	char out[PATH_MAX];

	ev->u.file.flags = TG_AT_SYMLINK_NOFOLLOW;
	cr_assert_eq(event_path(ev, 0, out, sizeof(out)), 0);
	cr_expect_str_eq(out, in_tmp("lnkfile"),
			 "fchmodat2(AT_SYMLINK_NOFOLLOW) reported on the symlink's target");
	free(ev);
}

/* BUG (user/event.c event_follows_last): a failed open is the only open
 * that event_path() ever resolves (successful ones carry the kernel's path),
 * and open() follows a final symlink unless O_NOFOLLOW (or O_CREAT|O_EXCL)
 * is given. Returning ret >= 0 means a denied open of "lnk -> /etc/shadow"
 * reports file.path = the link, not the file whose permission denied it. */
Test(event_path, failed_open_follows_last_symlink)
{
	struct tg_event *ev = name_event(TG_EV_OPEN, SYS_openat, -13, "lnkfile", g_tmp);
	char out[PATH_MAX];

	cr_assert_eq(event_path(ev, 0, out, sizeof(out)), 0);
	cr_expect_str_eq(out, in_tmp("real/file"),
			 "EACCES open of a symlink reported on the link, not on the file it was denied");
	free(ev);
}

Test(event_path, failed_open_with_nofollow_acts_on_the_link)
{
	struct tg_event *ev = name_event(TG_EV_OPEN, SYS_openat, -13, "lnkfile", g_tmp);
	char out[PATH_MAX];

	ev->u.file.flags = O_RDONLY | O_NOFOLLOW;
	cr_assert_eq(event_path(ev, 0, out, sizeof(out)), 0);
	cr_assert_str_eq(out, in_tmp("lnkfile"));
	free(ev);
}

Test(event_path, absolute_raw_uses_root_base)
{
	struct tg_event *ev = name_event(TG_EV_UNLINK, SYS_unlinkat, 0, in_tmp("lnkdir/./file"), "/");
	char out[PATH_MAX];

	cr_assert_eq(event_path(ev, 0, out, sizeof(out)), 0);
	cr_assert_str_eq(out, in_tmp("real/file"));
	free(ev);

	/* No base sent (process root unreadable): "/" is assumed. */
	ev = name_event(TG_EV_UNLINK, SYS_unlinkat, 0, in_tmp("real/../real/file"), NULL);
	cr_assert_eq(event_path(ev, 0, out, sizeof(out)), 0);
	cr_assert_str_eq(out, in_tmp("real/file"));
	free(ev);
}

Test(event_path, absolute_raw_under_a_chroot_base)
{
	/* A process whose root is <tmp>/real asked for "/file". */
	char root[PATH_MAX], out[PATH_MAX];
	struct tg_event *ev;

	tmp_join(root, sizeof(root), "real");
	ev = name_event(TG_EV_UNLINK, SYS_unlinkat, 0, "/file", root);
	cr_assert_eq(event_path(ev, 0, out, sizeof(out)), 0);
	cr_assert_str_eq(out, in_tmp("real/file"));
	free(ev);
}

Test(event_path, relative_raw_without_base_fails)
{
	struct tg_event *ev = name_event(TG_EV_UNLINK, SYS_unlinkat, 0, "real/file", NULL);
	char out[PATH_MAX];

	cr_assert_eq(event_path(ev, 0, out, sizeof(out)), -1);
	free(ev);
}

Test(event_path, second_path_of_rename_and_link)
{
	struct tg_event *ev = name_event(TG_EV_RENAME, SYS_renameat, 0, "real/file", g_tmp);
	char out[PATH_MAX];

	ev_str(ev, 2, "new");
	ev_str(ev, 3, in_tmp("lnkdir"));
	cr_assert_eq(event_path(ev, 0, out, sizeof(out)), 0);
	cr_assert_str_eq(out, in_tmp("real/file"));
	cr_assert_eq(event_path(ev, 2, out, sizeof(out)), 0);
	cr_assert_str_eq(out, in_tmp("real/new"));
	/* Only 0 and 2 are paths; 1 and 3 are their bases. */
	cr_assert_eq(event_path(ev, 1, out, sizeof(out)), -1);
	cr_assert_eq(event_path(ev, 3, out, sizeof(out)), -1);
	free(ev);
}

Test(event_path, linkat_symlink_follow_follows_old_path_only)
{
	struct tg_event *ev = name_event(TG_EV_LINK, SYS_linkat, 0, "lnkfile", g_tmp);
	char out[PATH_MAX];

	ev_str(ev, 2, "lnkfile");
	ev_str(ev, 3, g_tmp);
	cr_assert_eq(event_path(ev, 0, out, sizeof(out)), 0);
	cr_assert_str_eq(out, in_tmp("lnkfile"));
	ev->u.file.flags = TG_AT_SYMLINK_FOLLOW;
	cr_assert_eq(event_path(ev, 0, out, sizeof(out)), 0);
	cr_assert_str_eq(out, in_tmp("real/file"));
	cr_assert_eq(event_path(ev, 2, out, sizeof(out)), 0);
	cr_assert_str_eq(out, in_tmp("lnkfile"));
	free(ev);
}

Test(event_path, symlink_target_is_not_a_path)
{
	struct tg_event *ev = name_event(TG_EV_SYMLINK, SYS_symlinkat, 0, "newlink", g_tmp);
	char out[PATH_MAX];

	ev_str(ev, 2, "../etc/passwd");
	cr_assert_eq(event_path(ev, 0, out, sizeof(out)), 0);
	cr_assert_str_eq(out, in_tmp("newlink"));
	cr_assert_eq(event_path(ev, 2, out, sizeof(out)), -1);
	free(ev);
}

Test(event_path, memfd_name_is_not_a_path)
{
	struct tg_event *ev = ev_new(TG_EV_MEMFD, SYS_memfd_create, 3);
	char out[PATH_MAX];

	ev_str(ev, 0, "payload");
	cr_assert_eq(event_path(ev, 0, out, sizeof(out)), -1);
	/* Not even when it looks absolute. */
	free(ev);
	ev = ev_new(TG_EV_MEMFD, SYS_memfd_create, 3);
	ev_str(ev, 0, "/looks/absolute");
	cr_assert_eq(event_path(ev, 0, out, sizeof(out)), -1);
	free(ev);
}

Test(event_path, non_file_events_have_no_path)
{
	static const unsigned types[] = { TG_EV_EXEC, TG_EV_CONNECT, TG_EV_BIND, TG_EV_MOUNT,
					  TG_EV_KILL };
	char out[PATH_MAX];

	for (size_t i = 0; i < ARRAY_SIZE(types); i++) {
		struct tg_event *ev = ev_new(types[i], -1, 0);

		ev_str(ev, 0, "/bin/sh");
		ev_str(ev, 1, "/");
		cr_assert_eq(event_path(ev, 0, out, sizeof(out)), -1, "type %u", types[i]);
		free(ev);
	}
}

Test(event_path, module_fd_path)
{
	struct tg_event *ev = ev_new(TG_EV_MODULE, SYS_finit_module, 0);
	char out[PATH_MAX];

	ev_str(ev, 0, "/lib/modules/x/evil.ko");
	ev->hdr.flags = TG_F_PATH_RESOLVED | TG_F_FD_PATH;
	cr_assert_eq(event_path(ev, 0, out, sizeof(out)), 0);
	cr_assert_str_eq(out, "/lib/modules/x/evil.ko");
	free(ev);
}

Test(event_path, absent_string_has_no_path)
{
	struct tg_event *ev = ev_new(TG_EV_UNLINK, SYS_unlinkat, -14);
	char out[PATH_MAX];

	cr_assert_eq(event_path(ev, 0, out, sizeof(out)), -1);
	cr_assert_eq(event_path(ev, 2, out, sizeof(out)), -1);
	free(ev);
}
