// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include "ecs_names.h"

const char *ecs_errno_name(long err)
{
	const char *n = strerrorname_np((int)err);

	return n ? n : "EUNKNOWN";
}

const char *ecs_signal_name(unsigned sig)
{
	static char buf[16];
	const char *n = sigabbrev_np((int)sig);

	if (!n) {
		snprintf(buf, sizeof(buf), "SIG%u", sig);
		return buf;
	}
	snprintf(buf, sizeof(buf), "SIG%s", n);
	return buf;
}

const char *ecs_ptrace_name(unsigned req)
{
	switch (req) {
	case 0: return "PTRACE_TRACEME";
	case 4: return "PTRACE_POKETEXT";
	case 5: return "PTRACE_POKEDATA";
	case 6: return "PTRACE_POKEUSER";
	case 13: return "PTRACE_SETREGS";
	case 15: return "PTRACE_SETFPREGS";
	case 16: return "PTRACE_ATTACH";
	case 0x4205: return "PTRACE_SETREGSET";
	case 0x4206: return "PTRACE_SEIZE";
	}
	return "PTRACE_OTHER";
}

const char *ecs_bpf_prog_type(unsigned type)
{
	static const char *const names[] = {
		"unspec", "socket_filter", "kprobe", "sched_cls", "sched_act", "tracepoint",
		"xdp", "perf_event", "cgroup_skb", "cgroup_sock", "lwt_in", "lwt_out",
		"lwt_xmit", "sock_ops", "sk_skb", "cgroup_device", "sk_msg", "raw_tracepoint",
		"cgroup_sock_addr", "lwt_seg6local", "lirc_mode2", "sk_reuseport",
		"flow_dissector", "cgroup_sysctl", "raw_tracepoint_writable", "cgroup_sockopt",
		"tracing", "struct_ops", "ext", "lsm", "sk_lookup", "syscall", "netfilter",
	};

	return type < sizeof(names) / sizeof(names[0]) ? names[type] : "other";
}

void ecs_open_flags(cJSON *tg, uint32_t flags)
{
	static const struct { uint32_t bit; const char *name; } bits[] = {
		{ O_CREAT, "O_CREAT" }, { O_EXCL, "O_EXCL" }, { O_NOCTTY, "O_NOCTTY" },
		{ O_TRUNC, "O_TRUNC" }, { O_APPEND, "O_APPEND" }, { O_NONBLOCK, "O_NONBLOCK" },
		{ O_DSYNC, "O_DSYNC" }, { O_DIRECT, "O_DIRECT" }, { O_DIRECTORY, "O_DIRECTORY" },
		{ O_NOFOLLOW, "O_NOFOLLOW" }, { O_NOATIME, "O_NOATIME" }, { O_CLOEXEC, "O_CLOEXEC" },
		{ O_PATH, "O_PATH" },
	};
	cJSON *a = cJSON_AddArrayToObject(tg, "open_flags");
	uint32_t acc = flags & O_ACCMODE;

	cJSON_AddItemToArray(a, cJSON_CreateString(acc == O_WRONLY ? "O_WRONLY" :
						   acc == O_RDWR ? "O_RDWR" : "O_RDONLY"));
	for (size_t i = 0; i < sizeof(bits) / sizeof(bits[0]); i++)
		if ((flags & bits[i].bit) == bits[i].bit)
			cJSON_AddItemToArray(a, cJSON_CreateString(bits[i].name));
	if ((flags & O_TMPFILE) == O_TMPFILE)
		cJSON_AddItemToArray(a, cJSON_CreateString("O_TMPFILE"));
}

void ecs_setid(cJSON *tg, const struct tg_event *ev)
{
	static const char *const calls[TG_V_MAX] = {
		[TG_V_SETUID] = "setuid", [TG_V_SETGID] = "setgid",
		[TG_V_SETREUID] = "setreuid", [TG_V_SETREGID] = "setregid",
		[TG_V_SETRESUID] = "setresuid", [TG_V_SETRESGID] = "setresgid",
		[TG_V_SETFSUID] = "setfsuid", [TG_V_SETFSGID] = "setfsgid",
	};
	unsigned v = ev->u.priv.request;
	cJSON *o = cJSON_AddObjectToObject(tg, "setid");
	const char *names[3] = { "real", "effective", "saved" };

	cJSON_AddStringToObject(o, "call", v < TG_V_MAX && calls[v] ? calls[v] : "unknown");
	if (v == TG_V_SETUID || v == TG_V_SETGID || v == TG_V_SETFSUID || v == TG_V_SETFSGID)
		names[0] = v == TG_V_SETFSUID || v == TG_V_SETFSGID ? "fs" : "id";
	for (int i = 0; i < 3; i++)
		if (ev->u.priv.ids[i] != UINT32_MAX)
			cJSON_AddNumberToObject(o, names[i], ev->u.priv.ids[i]);
}
