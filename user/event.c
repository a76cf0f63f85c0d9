// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <stdio.h>
#include <string.h>
#include "event.h"
#include "path.h"
#include "syscalls.h"

bool event_valid(const struct tg_event *ev, size_t size)
{
	if (size < TG_EVENT_FIXED_SIZE || ev->hdr.size < TG_EVENT_FIXED_SIZE || ev->hdr.size > size)
		return false;
	for (int i = 0; i < TG_MAX_STRS; i++) {
		const struct tg_str *s = &ev->str[i];

		if (!s->len)
			continue;
		/* string plus its NUL must sit inside the record */
		if ((size_t)TG_EVENT_FIXED_SIZE + s->off + s->len + 1 > ev->hdr.size)
			return false;
		if (ev->data[s->off + s->len] != 0)
			return false;
	}
	return event_class(ev->hdr.type) != 0;
}

const char *event_str(const struct tg_event *ev, int idx)
{
	if (idx < 0 || idx >= TG_MAX_STRS || !ev->str[idx].len)
		return NULL;
	return ev->data + ev->str[idx].off;
}

size_t event_str_len(const struct tg_event *ev, int idx)
{
	if (idx < 0 || idx >= TG_MAX_STRS)
		return 0;
	return ev->str[idx].len;
}

static const char *const type_names[TG_EV_TYPE_MAX] = {
	[TG_EV_EXEC] = "exec", [TG_EV_FORK] = "fork", [TG_EV_EXIT] = "exit",
	[TG_EV_OPEN] = "open", [TG_EV_UNLINK] = "unlink", [TG_EV_RENAME] = "rename",
	[TG_EV_LINK] = "link", [TG_EV_SYMLINK] = "symlink", [TG_EV_CHMOD] = "chmod",
	[TG_EV_CHOWN] = "chown", [TG_EV_TRUNCATE] = "truncate", [TG_EV_MKDIR] = "mkdir",
	[TG_EV_MEMFD] = "memfd_create", [TG_EV_CLOSE] = "close", [TG_EV_CONNECT] = "connect", [TG_EV_ACCEPT] = "accept",
	[TG_EV_BIND] = "bind", [TG_EV_LISTEN] = "listen", [TG_EV_SENDTO] = "sendto",
	[TG_EV_FLOW] = "flow", [TG_EV_PTRACE] = "ptrace", [TG_EV_PROCESS_VM] = "process_vm",
	[TG_EV_SETID] = "setid", [TG_EV_KILL] = "kill", [TG_EV_MODULE] = "module_load",
	[TG_EV_BPF] = "bpf_prog_load", [TG_EV_MOUNT] = "mount",
};

const char *event_type_name(unsigned type)
{
	if (type < TG_EV_TYPE_MAX && type_names[type])
		return type_names[type];
	return "unknown";
}

unsigned event_class(unsigned type)
{
	if (type >= TG_EV_TYPE_MAX || !type_names[type])
		return 0;
	if (type < TG_EV_OPEN)
		return TG_CLASS_PROCESS;
	if (type < TG_EV_CONNECT)
		return TG_CLASS_FILE;
	if (type < TG_EV_PTRACE)
		return TG_CLASS_NETWORK;
	return TG_CLASS_PRIVILEGE;
}

/* Calls that act on the last component itself, not on a symlink's target. */
static bool event_follows_last(const struct tg_event *ev, int idx)
{
	const struct tg_syscall *sc = syscalls_of(ev);

	switch (ev->hdr.type) {
	case TG_EV_CHMOD:
		/* fchmodat2(AT_SYMLINK_NOFOLLOW) acts on the link */
		return !(sc && sc->variant == TG_V_AT2 && (ev->u.file.flags & 0x100));
	case TG_EV_TRUNCATE:
		return true;
	case TG_EV_CHOWN:
		/* lchown and fchownat(AT_SYMLINK_NOFOLLOW) act on the link */
		return sc && sc->variant != TG_V_LCHOWN && !(ev->u.file.flags & 0x100);
	case TG_EV_OPEN:
		/* only failed opens get here; O_NOFOLLOW (and O_CREAT|O_EXCL)
		 * act on the link itself */
		return !(ev->u.file.flags & 0400000) &&
		       (ev->u.file.flags & (0100 | 0200)) != (0100 | 0200);
	case TG_EV_LINK:
		/* linkat(AT_SYMLINK_FOLLOW) follows the old path */
		return idx == 0 && (ev->u.file.flags & 0x400);
	default:
		return false;
	}
}

int event_path(const struct tg_event *ev, int idx, char *out, size_t len)
{
	const char *raw = event_str(ev, idx);
	const char *base;
	char joined[TG_PATH_MAX * 2];
	int n;

	if (event_class(ev->hdr.type) != TG_CLASS_FILE && ev->hdr.type != TG_EV_MODULE)
		return -1;
	if (!raw || (idx != 0 && idx != 2))
		return -1;
	if (idx == 0 && (ev->hdr.flags & TG_F_PATH_RESOLVED)) {
		if (strlen(raw) + 1 > len)
			return -1;
		memcpy(out, raw, strlen(raw) + 1);
		return 0;
	}
	if (ev->hdr.type == TG_EV_MEMFD || (ev->hdr.type == TG_EV_SYMLINK && idx == 2))
		return -1; /* a name or a link target, not a path that was used */
	base = event_str(ev, idx + 1);
	if (raw[0] != '/' && !base)
		return -1;
	/* No lexical clean-up before resolving: "ldir/../g" must apply ".."
	 * after following ldir, as the kernel did. The base of an absolute
	 * path is the process root ("/" outside chroots). */
	if (raw[0] == '/')
		n = snprintf(joined, sizeof(joined), "%s%s", base && strcmp(base, "/") ? base : "", raw);
	else
		n = snprintf(joined, sizeof(joined), "%s/%s", strcmp(base, "/") ? base : "", raw);
	if (n < 0 || (size_t)n >= sizeof(joined))
		return -1;
	return path_resolve(joined, event_follows_last(ev, idx), out, len);
}
