/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * twinguard ABI: the one header shared by the BPF programs and userspace.
 *
 * Every record that crosses the ring buffer is a struct tg_event:
 *
 *   +-------------------------------+  offset 0
 *   | struct tg_hdr       (80 B)    |  type, size, times, ids, comm, ret
 *   +-------------------------------+  80
 *   | union payload       (64 B)    |  per-type fixed fields (see below)
 *   +-------------------------------+  144
 *   | struct tg_str str[4] (16 B)   |  {off,len} of each string, off from data[]
 *   +-------------------------------+  160
 *   | char data[]   (0..16 KiB)     |  strings, NUL-terminated, packed
 *   +-------------------------------+  hdr.size
 *
 * Only hdr.size bytes are sent, so a typical open event is ~200 bytes even
 * though the scratch record is 16 KiB. Strings are bounded: a path is at most
 * TG_PATH_MAX, argv at most TG_ARGV_MAX; truncation sets a flag in hdr.flags.
 *
 * Rules (STYLE.md §1): fixed-width types only, __u64 first, no pointers,
 * long or bool. userspace checks the layout with _Static_assert.
 */
#ifndef TWINGUARD_EVENTS_H
#define TWINGUARD_EVENTS_H

#ifndef __TWINGUARD_BPF__
#include <linux/types.h>
#endif

#define TG_ABI_VERSION 1

#define TG_COMM_LEN 16
#define TG_PATH_MAX 4096     /* PATH_MAX: longest path the kernel accepts */
#define TG_ARGV_MAX 4096     /* argv bytes kept; more sets TG_F_ARGV_TRUNC */
#define TG_CGROUP_NAME_MAX 128
#define TG_MAX_STRS 4
/* The data area must hold exe + argv + cwd + cgroup of an exec event. */
#define TG_DATA_MAX 16384
#define TG_NAME_MAX 256      /* NAME_MAX + 1: one path component */

/* Event types. Values are ABI: never renumber, only append. */
enum tg_event_type {
	TG_EV_NONE = 0,
	/* process class */
	TG_EV_EXEC = 1,
	TG_EV_FORK = 2,
	TG_EV_EXIT = 3,
	/* file class */
	TG_EV_OPEN = 10,
	TG_EV_UNLINK = 11,
	TG_EV_RENAME = 12,
	TG_EV_LINK = 13,
	TG_EV_SYMLINK = 14,
	TG_EV_CHMOD = 15,
	TG_EV_CHOWN = 16,
	TG_EV_TRUNCATE = 17,
	TG_EV_MKDIR = 18,
	TG_EV_MEMFD = 19,
	TG_EV_CLOSE = 20,       /* close of an fd opened for writing (integrity) */
	/* network class */
	TG_EV_CONNECT = 30,
	TG_EV_ACCEPT = 31,
	TG_EV_BIND = 32,
	TG_EV_LISTEN = 33,
	TG_EV_SENDTO = 34,
	TG_EV_FLOW = 35,        /* synthesized by userspace from the flow map */
	/* privilege / tampering class */
	TG_EV_PTRACE = 50,
	TG_EV_PROCESS_VM = 51,
	TG_EV_SETID = 52,
	TG_EV_KILL = 53,
	TG_EV_MODULE = 54,
	TG_EV_BPF = 55,
	TG_EV_MOUNT = 56,
	TG_EV_TYPE_MAX = 64,
};

/* Event classes: the unit the config and the rule engine switch on/off. */
enum tg_class {
	TG_CLASS_PROCESS = 1u << 0,
	TG_CLASS_FILE = 1u << 1,
	TG_CLASS_NETWORK = 1u << 2,
	TG_CLASS_PRIVILEGE = 1u << 3,
	TG_CLASS_ALL = 0xf,
};

/* hdr.flags */
enum tg_flags {
	TG_F_PATH_RESOLVED = 1u << 0,  /* str[0] is the kernel's own absolute path */
	TG_F_PATH_TRUNC = 1u << 1,     /* a path hit TG_PATH_MAX or the depth bound */
	TG_F_ARGV_TRUNC = 1u << 2,     /* argv longer than TG_ARGV_MAX */
	TG_F_EXE_MEMFD = 1u << 3,      /* exec image is a memfd */
	TG_F_EXE_DELETED = 1u << 4,    /* exec image has no links left */
	TG_F_THREAD = 1u << 5,         /* fork/exit of a thread, not a process */
	TG_F_BASE_RESOLVED = 1u << 6,  /* str[1]/str[3] hold dirfd/cwd paths */
	TG_F_FD_PATH = 1u << 7,        /* fd-based call (fchmod, ftruncate...) */
	TG_F_COMPAT = 1u << 8,         /* 32-bit syscall: syscall_nr is an ia32 number */
};

/*
 * Syscall table. Userspace maps each syscall number of its own arch to
 * (handler << 8 | variant) in the tg_syscalls map; the BPF dispatcher
 * tail-calls the handler, which reads args according to the variant.
 * Keeping syscall numbers out of the BPF object makes it arch-neutral.
 */
enum tg_handler {
	TG_H_NONE = 0,
	TG_H_OPEN, TG_H_UNLINK, TG_H_RENAME, TG_H_LINK, TG_H_SYMLINK,
	TG_H_CHMOD, TG_H_CHOWN, TG_H_TRUNCATE, TG_H_MKDIR, TG_H_MEMFD,
	TG_H_CONNECT, TG_H_ACCEPT, TG_H_BIND, TG_H_LISTEN, TG_H_SENDTO,
	TG_H_SENDMSG, TG_H_PTRACE, TG_H_PROCESS_VM, TG_H_SETID, TG_H_KILL,
	TG_H_MODULE, TG_H_BPF, TG_H_MOUNT, TG_H_CLOSE,
	TG_H_MAX,
};

/* Variants: where the path / dirfd / flags sit in the argument list. */
enum tg_variant {
	TG_V_PLAIN = 0,   /* open, unlink, rename, link, symlink, chmod, chown,
			   * truncate, mkdir, setuid...: no dirfd */
	TG_V_AT,          /* openat, unlinkat, renameat, linkat, symlinkat, ... */
	TG_V_AT2,         /* openat2 (struct open_how), renameat2, fchmodat2 */
	TG_V_FD,          /* fchmod, fchown, ftruncate: fd instead of a path */
	TG_V_CREAT,       /* creat: open(path, O_CREAT|O_WRONLY|O_TRUNC, mode) */
	TG_V_LCHOWN,      /* lchown: do not follow the last symlink */
	TG_V_READ,        /* process_vm_readv */
	TG_V_WRITE,       /* process_vm_writev */
	TG_V_TKILL,       /* tkill(tid, sig) */
	TG_V_TGKILL,      /* tgkill(tgid, tid, sig) */
	TG_V_INIT,        /* init_module (image in memory) */
	TG_V_FINIT,       /* finit_module (fd) */
	/* setid variants: which ids the call sets */
	TG_V_SETUID, TG_V_SETGID, TG_V_SETREUID, TG_V_SETREGID,
	TG_V_SETRESUID, TG_V_SETRESGID, TG_V_SETFSUID, TG_V_SETFSGID,
	TG_V_MAX,
};

#define TG_SYSCALL_MAX 1024 /* size of tg_syscalls; covers every arch */
/* tg_syscalls value bit: a successful call changes paths (rename, mount). */
#define TG_SC_DIRGEN (1u << 16)

struct tg_hdr {
	__u64 ts_ns;          /* bpf_ktime_get_boot_ns() */
	__u64 cgroup_id;      /* cgroup v2 id of the task */
	__u64 start_ns;       /* group leader's start_boottime: entity id part */
	__s64 ret;            /* syscall return value, 0 for non-syscalls */
	__u32 size;           /* bytes of this record, header included */
	__u16 type;           /* enum tg_event_type */
	__u16 flags;          /* enum tg_flags */
	__u32 tgid;           /* process id */
	__u32 tid;            /* thread id */
	__u32 uid;            /* real uid */
	__u32 gid;            /* real gid */
	__s32 syscall_nr;     /* -1 when not a syscall */
	__u32 ppid;           /* tgid of real_parent */
	char comm[TG_COMM_LEN];
};

struct tg_str {
	__u16 off;            /* from data[] */
	__u16 len;            /* bytes, without the NUL; 0 = absent */
};

/* TG_EV_EXEC. str: 0 exe path, 1 argv (NUL-separated), 2 cwd, 3 cgroup leaf */
struct tg_exec {
	__u32 euid;
	__u32 egid;
	__u32 auid;           /* loginuid, (u32)-1 when unset */
	__u32 old_pid;        /* tid that called execve (differs for threads) */
	__u32 exe_nlink;
};

/* TG_EV_FORK: hdr is the parent. */
struct tg_fork {
	__u64 child_start_ns;
	__u32 child_tgid;
	__u32 child_tid;
};

/* TG_EV_EXIT */
struct tg_exit {
	__u32 exit_code;      /* raw: (status << 8) | termsig */
};

/*
 * File events. str: 0 path (resolved when TG_F_PATH_RESOLVED, else the raw
 * string), 1 base dir of path 0 (dirfd or cwd, when it was relative),
 * 2 second path (rename/link new path, symlink link path), 3 its base dir.
 */
struct tg_file {
	__u64 ino;            /* inode of the opened file (open success) */
	__u32 dev;            /* s_dev of the opened file */
	__u32 flags;          /* open flags / unlinkat, renameat2, linkat flags */
	__u32 mode;           /* open/creat/chmod/mkdir mode */
	__s32 fd;             /* fd argument for fd-based calls */
	__u32 uid;            /* chown target uid */
	__u32 gid;            /* chown target gid */
	__s64 length;         /* truncate length */
	__u32 mnt_ns;         /* mount namespace inode the path is relative to */
};

/* Network events. str: 0 unix socket path */
struct tg_net {
	__u8 saddr[16];       /* local address (v4 in the first 4 bytes) */
	__u8 daddr[16];       /* remote address */
	__u64 bytes;          /* sendto length / flow bytes */
	__u64 count;          /* flow: number of sends */
	__u16 family;         /* AF_INET, AF_INET6, AF_UNIX */
	__u16 sport;          /* host byte order */
	__u16 dport;          /* host byte order */
	__u16 sock_type;      /* SOCK_STREAM, SOCK_DGRAM ... */
	__s32 fd;
	__u32 backlog;        /* listen */
};

/* Privilege and tampering. str: 0 path (module file, mount target),
 * 1 mount source, 2 mount fstype */
struct tg_priv {
	__u64 arg;            /* ptrace addr / mount flags / module flags / bpf attr */
	__u32 target_pid;     /* ptrace, process_vm, kill target */
	__u32 target_tid;     /* tgkill tid */
	__u32 request;        /* ptrace request, kill signal, bpf cmd */
	__u32 ids[3];         /* setid: real, effective, saved (or fs) id */
	__u32 prog_type;      /* bpf(BPF_PROG_LOAD) program type */
	__s32 fd;             /* finit_module fd */
};

struct tg_event {
	struct tg_hdr hdr;
	union {
		struct tg_exec exec;
		struct tg_fork fork;
		struct tg_exit exit;
		struct tg_file file;
		struct tg_net net;
		struct tg_priv priv;
		__u8 raw[64];
	} u;
	struct tg_str str[TG_MAX_STRS];
	char data[TG_DATA_MAX];
};

#define TG_EVENT_FIXED_SIZE (80 + 64 + 4 * TG_MAX_STRS)

/* Runtime settings (tg_settings map, key 0): rewritten on reload. */
enum tg_setting_flags {
	TG_S_FILE_PREFIX_FILTER = 1u << 0, /* opens must match tg_file_prefixes */
	TG_S_NET_PORT_FILTER = 1u << 1,    /* net events must match tg_net_ports */
	TG_S_THREADS = 1u << 2,            /* report thread fork/exit */
	TG_S_FLOWS = 1u << 3,              /* count bytes per flow */
	TG_S_UNIX_CONNECT = 1u << 4,       /* report AF_UNIX connects */
	TG_S_DIRCACHE = 1u << 5,           /* directory verdict cache usable */
	TG_S_CLOSE_WRITES = 1u << 6,       /* track reported write opens until close */
};

struct tg_settings {
	__u32 classes;        /* enum tg_class mask */
	__u32 flags;          /* enum tg_setting_flags */
	__u32 flow_gen;       /* which flow map the kernel writes (0 or 1) */
	__u32 pad;
};

/* tg_file_prefixes LPM value: which accesses make a match interesting. */
enum tg_access {
	TG_ACC_READ = 1u << 0,
	TG_ACC_WRITE = 1u << 1,
};

#define TG_PREFIX_MAX 256 /* LPM_DATA_SIZE_MAX */
struct tg_prefix_key {
	__u32 prefixlen;      /* bits */
	char data[TG_PREFIX_MAX];
};

/* An fd opened for writing and reported, tracked until its close (only
 * with TG_S_CLOSE_WRITES): the integrity checker re-hashes on close. */
struct tg_wfd_key {
	__u32 tgid;
	__s32 fd;
};

/* Per-flow byte counters, aggregated in the kernel. */
struct tg_flow_key {
	__u8 saddr[16];
	__u8 daddr[16];
	__u32 tgid;
	__u16 family;
	__u16 sport;
	__u16 dport;
	__u8 proto;           /* IPPROTO_TCP / IPPROTO_UDP */
	__u8 pad[5];
};

struct tg_flow_val {
	__u64 bytes;
	__u64 count;
	__u64 first_ns;
	__u64 last_ns;
	__u64 start_ns;       /* sender's entity start time */
	__u32 uid;
	__u32 pad;
};

/* Per-CPU counters (tg_stats map). Every loss has its own counter. */
struct tg_stats {
	__u64 events;         /* records submitted to the ring buffer */
	__u64 drops;          /* ring buffer full: record lost */
	__u64 drop_bytes;
	__u64 flow_drops;     /* flow map full: sends not counted */
	__u64 path_trunc;     /* paths cut by TG_PATH_MAX / depth bound */
	__u64 filtered;       /* events the in-kernel filters discarded */
	__u64 tail_fail;      /* tail call to a handler failed */
};

#endif /* TWINGUARD_EVENTS_H */
