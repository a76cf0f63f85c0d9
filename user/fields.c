// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * fields: the field registry and event views (fields.h, docs/fields.md).
 *
 * Registry: one static table, kept sorted by name in strcmp() order, so
 * fields_lookup() is a bsearch (about 7 comparisons for ~120 fields) with
 * nothing to build at start and no mutable global state. A field's id is its
 * index in the table. tests/unit/test_fields.c fails if the order breaks or
 * if docs/fields.md misses a field: add new fields in order.
 *
 * View fill: one recursive walk of the event JSON builds the dotted path of
 * each leaf (array elements keep the path of their array, so process.args
 * gives one value per argument and process.ancestors[].executable gives
 * process.ancestors.executable, nearest ancestor first) and appends its value
 * in walk order, remembering its field id. Values of one field are then
 * interleaved (process.ancestors.pid, .entity_id, .executable, ...), so a
 * counting sort by field id (stable: the order of a field's values is kept)
 * makes each field's values contiguous, in place, in O(values + fields).
 * Values added later (twin_derive(), view_add_*) are appended to their
 * field's run, shifting the values after it when that run is not last.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include "fields.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
/* Longest dotted path looked up; longer JSON paths cannot be fields. */
#define FIELD_PATH_MAX 128
/* Deepest JSON nesting walked: fields are at most 4 levels deep, arrays add
 * one level each; deeper input (a hostile replay file) is skipped. */
#define FIELD_WALK_DEPTH 16

static const struct tg_field fields[] = {
	{ "@timestamp", TG_FT_STR, false,
	  "When the kernel built the record, RFC 3339 UTC with 9 fractional digits",
	  "\"2026-11-26T02:03:08.938843676Z\"" },
	{ "container.id", TG_FT_STR, false,
	  "Container id from the cgroup name (64 hex digits)",
	  "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef" },
	{ "destination.address", TG_FT_STR, false,
	  "connect: unix socket path",
	  "/run/docker.sock" },
	{ "destination.ip", TG_FT_STR, false,
	  "Destination address (inet only)",
	  "10.0.0.5" },
	{ "destination.port", TG_FT_NUM, false,
	  "Destination port, 0 when unknown",
	  "1883" },
	{ "event.action", TG_FT_STR, false,
	  "Action name (exec, fork, exit, open, connect, flow, setid, ...)",
	  "open" },
	{ "event.category", TG_FT_STR, true,
	  "ECS category (process, file, network, driver)",
	  "file" },
	{ "event.dataset", TG_FT_STR, false,
	  "\"twinguard.integrity\" for integrity events (absent otherwise)",
	  "twinguard.integrity" },
	{ "event.end", TG_FT_STR, false,
	  "flow: last send in the interval",
	  "\"2026-11-26T02:03:08.944564929Z\"" },
	{ "event.kind", TG_FT_STR, false,
	  "\"event\", or \"metric\" for agent-stats",
	  "event" },
	{ "event.outcome", TG_FT_STR, false,
	  "Syscall events: \"success\" or \"failure\" (ret < 0)",
	  "failure" },
	{ "event.sequence", TG_FT_NUM, false,
	  "Line number in this agent run (1, 2, 3...)",
	  "9084" },
	{ "event.start", TG_FT_STR, false,
	  "flow: first send in the interval",
	  "\"2026-11-26T02:03:08.944551439Z\"" },
	{ "event.type", TG_FT_STR, true,
	  "ECS type (start, end, creation, access, change, deletion, connection, info)",
	  "creation" },
	{ "file.directory", TG_FT_STR, false,
	  "file.path without its last component",
	  "/etc" },
	{ "file.gid", TG_FT_NUM, false,
	  "chown: group requested (4294967295 = unchanged)",
	  "1000" },
	{ "file.hash.sha256", TG_FT_STR, false,
	  "integrity events: SHA-256 of the file as found (absent when it is gone)",
	  "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08" },
	{ "file.inode", TG_FT_NUM, false,
	  "open (success): inode number",
	  "10954579" },
	{ "file.mode", TG_FT_STR, false,
	  "Mode argument in octal with a leading 0",
	  "0644" },
	{ "file.name", TG_FT_STR, false,
	  "Last component of file.path (memfd_create: the memfd name)",
	  "shadow" },
	{ "file.old_path", TG_FT_STR, false,
	  "rename: the old name",
	  "/tmp/tgdemo.OItPjk/notes.txt" },
	{ "file.path", TG_FT_STR, false,
	  "Absolute path the kernel used (rename: new name, link/symlink: new link)",
	  "/etc/shadow" },
	{ "file.size", TG_FT_NUM, false,
	  "truncate: requested length; integrity events: size of the file as found",
	  "0" },
	{ "file.target_path", TG_FT_STR, false,
	  "link: existing file (resolved); symlink: contents as given",
	  "../etc/passwd" },
	{ "file.type", TG_FT_STR, false,
	  "\"dir\" for mkdir, rmdir and unlinkat(AT_REMOVEDIR)",
	  "dir" },
	{ "file.uid", TG_FT_NUM, false,
	  "chown: owner requested (4294967295 = unchanged)",
	  "1000" },
	{ "group.effective.id", TG_FT_NUM, false,
	  "exec: egid after exec",
	  "0" },
	{ "group.id", TG_FT_NUM, false,
	  "Real gid",
	  "0" },
	{ "host.hostname", TG_FT_STR, false,
	  "Host name at agent start",
	  "vm" },
	{ "network.bytes", TG_FT_NUM, false,
	  "sendto: return value; flow: bytes sent in the interval",
	  "11" },
	{ "network.direction", TG_FT_STR, false,
	  "egress or ingress (absent for bind, listen)",
	  "egress" },
	{ "network.transport", TG_FT_STR, false,
	  "tcp, udp or unix",
	  "tcp" },
	{ "network.type", TG_FT_STR, false,
	  "ipv4, ipv6, unix or other",
	  "ipv4" },
	{ "process.ancestors.entity_id", TG_FT_STR, true,
	  "Ancestor entity ids, nearest first",
	  "41f48e04-1-18" },
	{ "process.ancestors.executable", TG_FT_STR, true,
	  "Ancestor image paths, nearest first (ancestors without one add no value)",
	  "/usr/sbin/sshd" },
	{ "process.ancestors.name", TG_FT_STR, true,
	  "Ancestor names (as process.parent.name), nearest first",
	  "sshd" },
	{ "process.ancestors.pid", TG_FT_NUM, true,
	  "Ancestor pids, nearest (the parent) first",
	  "1" },
	{ "process.ancestors_truncated", TG_FT_BOOL, false,
	  "Present and true when the 32-entry bound cut the chain",
	  "true" },
	{ "process.args", TG_FT_STR, true,
	  "argv at exec, one value per argument, in order",
	  "-c" },
	{ "process.args_count", TG_FT_NUM, false,
	  "Number of elements of process.args",
	  "3" },
	{ "process.command_line", TG_FT_STR, false,
	  "process.args joined with spaces (no quoting)",
	  "\"sh -c exit 3\"" },
	{ "process.entity_id", TG_FT_STR, false,
	  "Unique process id: <boot_id8>-<pid hex>-<start ticks hex>",
	  "41f48e04-4308-16296" },
	{ "process.executable", TG_FT_STR, false,
	  "Absolute path of the image as resolved at exec",
	  "/usr/bin/dash" },
	{ "process.exit_code", TG_FT_NUM, false,
	  "exit: exit status, 0 when killed by a signal",
	  "3" },
	{ "process.name", TG_FT_STR, false,
	  "Kernel comm of the acting thread (15 bytes, settable by the process)",
	  "tgtrig" },
	{ "process.parent.args", TG_FT_STR, true,
	  "Parent argv, in order",
	  "bash" },
	{ "process.parent.args_count", TG_FT_NUM, false,
	  "Number of elements of process.parent.args",
	  "1" },
	{ "process.parent.command_line", TG_FT_STR, false,
	  "Parent argv joined with spaces",
	  "\"bash -i\"" },
	{ "process.parent.entity_id", TG_FT_STR, false,
	  "Parent entity id",
	  "41f48e04-42eb-16272" },
	{ "process.parent.executable", TG_FT_STR, false,
	  "Parent image path",
	  "/usr/bin/bash" },
	{ "process.parent.name", TG_FT_STR, false,
	  "Basename of the parent executable (its comm when unknown)",
	  "bash" },
	{ "process.parent.pid", TG_FT_NUM, false,
	  "Parent pid (real_parent when the process is unknown)",
	  "17131" },
	{ "process.pid", TG_FT_NUM, false,
	  "tgid of the acting process",
	  "17160" },
	{ "process.start", TG_FT_STR, false,
	  "Process start time, RFC 3339 UTC",
	  "\"2026-11-26T02:03:08.960281018Z\"" },
	{ "process.thread.id", TG_FT_NUM, false,
	  "tid of the acting thread",
	  "17160" },
	{ "process.working_directory", TG_FT_STR, false,
	  "cwd at exec (inherited on fork)",
	  "/tmp/tgdemo.OItPjk" },
	{ "source.address", TG_FT_STR, false,
	  "bind: unix socket path",
	  "/run/docker.sock" },
	{ "source.bytes", TG_FT_NUM, false,
	  "Bytes sent (as network.bytes)",
	  "11" },
	{ "source.ip", TG_FT_STR, false,
	  "Source address (inet only)",
	  "127.0.0.1" },
	{ "source.port", TG_FT_NUM, false,
	  "Source port, 0 when unknown",
	  "42756" },
	{ "target.process.args", TG_FT_STR, true,
	  "Target argv, in order",
	  "--serve" },
	{ "target.process.args_count", TG_FT_NUM, false,
	  "Number of elements of target.process.args",
	  "2" },
	{ "target.process.command_line", TG_FT_STR, false,
	  "Target argv joined with spaces",
	  "\"twin-sim --serve\"" },
	{ "target.process.entity_id", TG_FT_STR, false,
	  "Target entity id (when the table knows the pid)",
	  "41f48e04-4309-16297" },
	{ "target.process.executable", TG_FT_STR, false,
	  "Target image path",
	  "/opt/twin/bin/twin-sim" },
	{ "target.process.name", TG_FT_STR, false,
	  "Target name (basename of the executable)",
	  "twin-sim" },
	{ "target.process.pid", TG_FT_NUM, false,
	  "ptrace, process_vm, kill: pid argument (negative: a process group)",
	  "17161" },
	{ "twin.destination.egress_allowed", TG_FT_BOOL, false,
	  "Egress events: destination.ip is in the profile egress networks",
	  "false" },
	{ "twin.destination.port_role", TG_FT_STR, false,
	  "Role of destination.port in the profile: control or data (absent: neither)",
	  "control" },
	{ "twin.file.old_role", TG_FT_STR, false,
	  "Role of file.old_path (rename), as twin.file.role",
	  "model" },
	{ "twin.file.role", TG_FT_STR, false,
	  "Role of file.path: model, data or config (absent outside the twin dirs)",
	  "model" },
	{ "twin.name", TG_FT_STR, false,
	  "Name of the twin profile (absent without a profile)",
	  "grid-east" },
	{ "twin.parent.role", TG_FT_STR, false,
	  "Role of process.parent.executable, as twin.process.role",
	  "deployer" },
	{ "twin.process.role", TG_FT_STR, false,
	  "Role of process.executable in the profile: service, deployer or client (absent: none)",
	  "service" },
	{ "twin.source.client_allowed", TG_FT_BOOL, false,
	  "Ingress events: source.ip is in the profile client networks",
	  "false" },
	{ "twinguard.access", TG_FT_STR, false,
	  "process_vm: read or write",
	  "write" },
	{ "twinguard.args_truncated", TG_FT_BOOL, false,
	  "exec: argv longer than 4096 bytes",
	  "true" },
	{ "twinguard.backlog", TG_FT_NUM, false,
	  "listen: backlog argument",
	  "8" },
	{ "twinguard.bpf_prog_name", TG_FT_STR, false,
	  "bpf_prog_load: program name (15 characters)",
	  "tg_demo" },
	{ "twinguard.bpf_prog_type", TG_FT_STR, false,
	  "bpf_prog_load: program type (BPF_PROG_TYPE_* suffix, lower case)",
	  "kprobe" },
	{ "twinguard.cgroup", TG_FT_STR, false,
	  "exec: cgroup v2 leaf name (absent for the root cgroup)",
	  "docker-0123456789ab.scope" },
	{ "twinguard.cgroup_id", TG_FT_NUM, false,
	  "cgroup v2 id of the task (low bits lost past 2^53)",
	  "1" },
	{ "twinguard.child.entity_id", TG_FT_STR, false,
	  "fork: entity id of the new task",
	  "41f48e04-4309-16297" },
	{ "twinguard.child.pid", TG_FT_NUM, false,
	  "fork: tgid of the new task",
	  "17161" },
	{ "twinguard.child.thread", TG_FT_BOOL, false,
	  "fork: the new task is a thread",
	  "false" },
	{ "twinguard.child.tid", TG_FT_NUM, false,
	  "fork: tid of the new task",
	  "17161" },
	{ "twinguard.compat32", TG_FT_BOOL, false,
	  "Present and true for a 32-bit (ia32) syscall",
	  "true" },
	{ "twinguard.errno", TG_FT_STR, false,
	  "errno name when -4096 < ret < 0",
	  "EACCES" },
	{ "twinguard.exe_deleted", TG_FT_BOOL, false,
	  "exec: the image has no links left",
	  "true" },
	{ "twinguard.exe_memfd", TG_FT_BOOL, false,
	  "exec: the image is a memfd (fileless execution)",
	  "true" },
	{ "twinguard.fd", TG_FT_NUM, false,
	  "Socket fd (network), new fd (memfd_create)",
	  "3" },
	{ "twinguard.from_scan", TG_FT_BOOL, false,
	  "Process learnt from the /proc scan at agent start",
	  "true" },
	{ "twinguard.host_mnt_ns", TG_FT_BOOL, false,
	  "File events: the agent's own mount namespace",
	  "true" },
	{ "twinguard.integrity.expected_mode", TG_FT_STR, false,
	  "integrity events: permission bits the manifest records",
	  "0644" },
	{ "twinguard.integrity.expected_sha256", TG_FT_STR, false,
	  "integrity events: SHA-256 the manifest records (absent for an unknown file)",
	  "2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae" },
	{ "twinguard.integrity.expected_size", TG_FT_NUM, false,
	  "integrity events: size in bytes the manifest records",
	  "1048576" },
	{ "twinguard.integrity.manifest", TG_FT_STR, false,
	  "integrity events: the manifest compared with",
	  "/var/lib/twinguard/manifest.json" },
	{ "twinguard.integrity.trigger", TG_FT_STR, false,
	  "integrity events: what caused the check (close, exit, rename, truncate, chmod, chown, link, unlink, start, rescan)",
	  "close" },
	{ "twinguard.messages", TG_FT_NUM, false,
	  "sendmmsg: messages sent",
	  "4" },
	{ "twinguard.mnt_ns", TG_FT_NUM, false,
	  "File events: mount namespace inode",
	  "4026531841" },
	{ "twinguard.module_params", TG_FT_STR, false,
	  "module_load: first 255 bytes of the parameters",
	  "hide=1" },
	{ "twinguard.mount_flags", TG_FT_NUM, false,
	  "mount: MS_* bit mask as passed",
	  "6" },
	{ "twinguard.mount_fstype", TG_FT_STR, false,
	  "mount: file system type",
	  "tmpfs" },
	{ "twinguard.mount_source", TG_FT_STR, false,
	  "mount: source as passed",
	  "/dev/sdb1" },
	{ "twinguard.mount_target", TG_FT_STR, false,
	  "mount: target as passed (not resolved)",
	  "/mnt" },
	{ "twinguard.open_flags", TG_FT_STR, true,
	  "open: access mode then O_* flags, in a fixed order",
	  "O_CREAT" },
	{ "twinguard.path_truncated", TG_FT_BOOL, false,
	  "Present and true when a path hit a bound",
	  "true" },
	{ "twinguard.ptrace_request", TG_FT_STR, false,
	  "ptrace: request name",
	  "PTRACE_ATTACH" },
	{ "twinguard.raw_path", TG_FT_STR, false,
	  "Name-based calls: the path string as passed",
	  "notes.txt" },
	{ "twinguard.ret", TG_FT_NUM, false,
	  "Raw syscall return value (negative errno on failure)",
	  "-13" },
	{ "twinguard.sends", TG_FT_NUM, false,
	  "flow: send calls in the interval",
	  "2" },
	{ "twinguard.setid.call", TG_FT_STR, false,
	  "setid: syscall (setuid, setresgid, setfsuid, ...)",
	  "setuid" },
	{ "twinguard.setid.effective", TG_FT_NUM, false,
	  "setid: effective id argument (absent when -1)",
	  "0" },
	{ "twinguard.setid.fs", TG_FT_NUM, false,
	  "setid: id argument of setfsuid/setfsgid",
	  "0" },
	{ "twinguard.setid.id", TG_FT_NUM, false,
	  "setid: id argument of setuid/setgid",
	  "0" },
	{ "twinguard.setid.real", TG_FT_NUM, false,
	  "setid: real id argument (re/res calls; absent when -1)",
	  "0" },
	{ "twinguard.setid.saved", TG_FT_NUM, false,
	  "setid: saved id argument of setres* (absent when -1)",
	  "0" },
	{ "twinguard.signal", TG_FT_STR, false,
	  "exit: signal that ended the task; kill: signal sent",
	  "SIGTERM" },
	{ "twinguard.syscall", TG_FT_STR, false,
	  "Syscall name on this arch (i386 name with compat32)",
	  "openat" },
	{ "twinguard.target_tid", TG_FT_NUM, false,
	  "tkill, tgkill: target thread id",
	  "889" },
	{ "twinguard.thread", TG_FT_BOOL, false,
	  "exit: a thread exit, not the process",
	  "false" },
	{ "user.audit.id", TG_FT_NUM, false,
	  "exec: login uid (auid), absent when unset",
	  "1000" },
	{ "user.effective.id", TG_FT_NUM, false,
	  "exec: euid after exec",
	  "0" },
	{ "user.id", TG_FT_NUM, false,
	  "Real uid after the syscall",
	  "0" },
	{ "user.name", TG_FT_STR, false,
	  "User name of user.id (the uid in decimal when unknown)",
	  "root" },
};

_Static_assert(ARRAY_SIZE(fields) <= TG_FIELDS_MAX, "raise TG_FIELDS_MAX");
_Static_assert(TG_VIEW_VALS_MAX <= UINT16_MAX, "tg_view slots hold 16-bit positions");

size_t fields_count(void)
{
	return ARRAY_SIZE(fields);
}

const struct tg_field *fields_get(int id)
{
	return id >= 0 && (size_t)id < ARRAY_SIZE(fields) ? &fields[id] : NULL;
}

static int field_cmp(const void *key, const void *elem)
{
	return strcmp(key, ((const struct tg_field *)elem)->name);
}

int fields_lookup(const char *name)
{
	const struct tg_field *f;

	if (!name)
		return -1;
	f = bsearch(name, fields, ARRAY_SIZE(fields), sizeof(fields[0]), field_cmp);
	return f ? (int)(f - fields) : -1;
}

void view_init(struct tg_view *v)
{
	memset(v->slot, 0, sizeof(v->slot));
	v->gen = 0;
	view_reset(v);
}

void view_reset(struct tg_view *v)
{
	/* A slot is live only when its gen equals the view's: bumping gen
	 * empties every slot at once. On wrap-around, old slots could look
	 * live again, so clear them for real (once every 2^32 resets). */
	if (++v->gen == 0) {
		memset(v->slot, 0, sizeof(v->slot));
		v->gen = 1;
	}
	v->nvals = 0;
	v->truncated = false;
	v->json = NULL;
	v->arena_used = 0;
}

static bool view_has(const struct tg_view *v, size_t field)
{
	return v->slot[field].gen == v->gen;
}


/* Append val to field's run of values, keeping every run contiguous. */
static int view_push(struct tg_view *v, int field, const struct tg_val *val)
{
	size_t pos;

	if (v->nvals >= TG_VIEW_VALS_MAX) {
		v->truncated = true;
		return -1;
	}
	if (!view_has(v, field)) {
		v->slot[field].gen = v->gen;
		v->slot[field].first = v->nvals;
		v->slot[field].count = 0;
	}
	pos = (size_t)v->slot[field].first + v->slot[field].count;
	if (pos < v->nvals) {
		/* Not the last run: rare (a derived field set twice, apart). */
		memmove(&v->vals[pos + 1], &v->vals[pos], (v->nvals - pos) * sizeof(v->vals[0]));
		for (size_t f = 0; f < ARRAY_SIZE(fields); f++)
			if ((int)f != field && view_has(v, f) && v->slot[f].first >= pos)
				v->slot[f].first++;
	}
	v->vals[pos] = *val;
	v->slot[field].count++;
	v->nvals++;
	return 0;
}

static bool field_ok(int field, enum tg_ftype type)
{
	return field >= 0 && (size_t)field < ARRAY_SIZE(fields) && fields[field].type == type;
}

int view_add_str(struct tg_view *v, int field, const char *s, size_t len)
{
	struct tg_val val = { .s = s, .len = len };

	if (!s || !field_ok(field, TG_FT_STR))
		return -1;
	return view_push(v, field, &val);
}

int view_add_strcopy(struct tg_view *v, int field, const char *s, size_t len)
{
	char *copy;

	if (!s || !field_ok(field, TG_FT_STR))
		return -1;
	if (len >= sizeof(v->arena) - v->arena_used)
		return -1;
	copy = v->arena + v->arena_used;
	memcpy(copy, s, len);
	copy[len] = 0;
	v->arena_used += len + 1;
	return view_add_str(v, field, copy, len);
}

int view_add_bool(struct tg_view *v, int field, bool b)
{
	struct tg_val val = { .s = b ? "true" : "false", .len = b ? 4 : 5, .n = b };

	if (!field_ok(field, TG_FT_BOOL))
		return -1;
	return view_push(v, field, &val);
}

int view_add_num(struct tg_view *v, int field, double n)
{
	struct tg_val val = { .n = n };

	if (field_ok(field, TG_FT_BOOL))
		return view_add_bool(v, field, n != 0);
	if (!field_ok(field, TG_FT_NUM))
		return -1;
	return view_push(v, field, &val);
}

/*
 * Path index for the walk: every field name and every proper prefix of one
 * ("process", "process.parent"), by FNV-1a hash of the dotted path. The walk
 * hashes each key onto its parent's running hash, so a leaf finds its field
 * in one probe instead of a bsearch of strcmp()s over long common prefixes,
 * and a subtree no field lies under ("twinguard.stats", a replayed alert's
 * "rule") is skipped whole. twin.* fields are left out: they are derived by
 * twin_derive(), never read from the event (a replayed alert carries them).
 * Built once, on first use, then read-only (measured: view_fill went from
 * ~3.7 us to ~1 us per event on a recorded exec/open stream).
 */
#define PATH_TAB_SIZE 1024 /* power of two, well above 2 x (fields + prefixes) */
#define FNV_OFFSET 0xcbf29ce484222325ull
#define FNV_PRIME 0x100000001b3ull

enum { PATH_FIELD = 1, PATH_PREFIX = 2 };

struct path_ent {
	uint64_t h;
	const char *name;      /* NULL = empty slot; not NUL-terminated at len */
	uint16_t len;
	int16_t id;            /* PATH_FIELD: the field */
	uint8_t kind;          /* PATH_FIELD | PATH_PREFIX */
};

static struct path_ent path_tab[PATH_TAB_SIZE];
static pthread_once_t path_once = PTHREAD_ONCE_INIT;

static inline uint64_t fnv_byte(uint64_t h, unsigned char c)
{
	return (h ^ c) * FNV_PRIME;
}

static const struct path_ent *path_find(uint64_t h, const char *path, size_t len)
{
	for (size_t i = h & (PATH_TAB_SIZE - 1), n = 0; n < PATH_TAB_SIZE;
	     i = (i + 1) & (PATH_TAB_SIZE - 1), n++) {
		const struct path_ent *e = &path_tab[i];

		if (!e->name)
			return NULL;
		if (e->h == h && e->len == len && !memcmp(e->name, path, len))
			return e;
	}
	return NULL;
}

static void path_add(const char *name, size_t len, int id, uint8_t kind)
{
	uint64_t h = FNV_OFFSET;
	size_t i;

	for (i = 0; i < len; i++)
		h = fnv_byte(h, (unsigned char)name[i]);
	for (i = h & (PATH_TAB_SIZE - 1);; i = (i + 1) & (PATH_TAB_SIZE - 1)) {
		struct path_ent *e = &path_tab[i];

		if (!e->name) {
			*e = (struct path_ent){ h, name, (uint16_t)len, (int16_t)id, kind };
			return;
		}
		if (e->h == h && e->len == len && !memcmp(e->name, name, len)) {
			e->kind |= kind;
			if (kind == PATH_FIELD)
				e->id = (int16_t)id;
			return;
		}
	}
}

static void path_build(void)
{
	for (size_t id = 0; id < ARRAY_SIZE(fields); id++) {
		const char *name = fields[id].name;

		if (!strncmp(name, "twin.", 5))
			continue;
		path_add(name, strlen(name), (int)id, PATH_FIELD);
		for (const char *dot = strchr(name, '.'); dot; dot = strchr(dot + 1, '.'))
			path_add(name, (size_t)(dot - name), -1, PATH_PREFIX);
	}
}

_Static_assert(2 * ARRAY_SIZE(fields) * 2 < PATH_TAB_SIZE, "raise PATH_TAB_SIZE");

/* State of one view_fill() walk. */
struct view_walk {
	struct tg_view *v;
	uint16_t fid[TG_VIEW_VALS_MAX];   /* field of vals[i], walk order */
	char path[FIELD_PATH_MAX];
};

/* A leaf's value, when its JSON type is the field's type; others (a
 * third-party replay writing user.id as "0") are ignored, not guessed at. */
static void walk_leaf(struct view_walk *w, const cJSON *item, int id)
{
	struct tg_view *v = w->v;
	struct tg_val val = { 0 };

	switch (fields[id].type) {
	case TG_FT_STR:
		if (!cJSON_IsString(item) || !item->valuestring)
			return;
		val.s = item->valuestring;
		val.len = strlen(val.s);
		break;
	case TG_FT_NUM:
		if (!cJSON_IsNumber(item))
			return;
		val.n = item->valuedouble;
		break;
	case TG_FT_BOOL:
		if (!cJSON_IsBool(item))
			return;
		val.n = cJSON_IsTrue(item);
		val.s = val.n ? "true" : "false";
		val.len = val.n ? 4 : 5;
		break;
	}
	if (v->nvals >= TG_VIEW_VALS_MAX) {
		v->truncated = true;
		return;
	}
	w->fid[v->nvals] = (uint16_t)id;
	v->vals[v->nvals++] = val;
}

/* node at path w->path[0..plen) (hash h, index entry e; NULL at the root). */
static void walk_node(struct view_walk *w, const cJSON *node, size_t plen, uint64_t h,
		      const struct path_ent *e, int depth)
{
	const cJSON *c;

	if (depth > FIELD_WALK_DEPTH)
		return;
	if (cJSON_IsArray(node)) {
		/* elements keep the array's path */
		cJSON_ArrayForEach(c, node)
			walk_node(w, c, plen, h, e, depth + 1);
		return;
	}
	if (!cJSON_IsObject(node)) {
		if (e && (e->kind & PATH_FIELD))
			walk_leaf(w, node, e->id);
		return;
	}
	if (e && !(e->kind & PATH_PREFIX))
		return; /* an object where a field's value should be */
	cJSON_ArrayForEach(c, node) {
		uint64_t ch = plen ? fnv_byte(h, '.') : h;
		size_t n = plen + (plen ? 1 : 0), k;
		const struct path_ent *ce;

		if (!c->string)
			continue;
		for (k = 0; c->string[k] && n + k < FIELD_PATH_MAX - 1; k++) {
			ch = fnv_byte(ch, (unsigned char)c->string[k]);
			w->path[n + k] = c->string[k];
		}
		if (c->string[k])
			continue; /* longer than any field */
		if (plen)
			w->path[plen] = '.';
		ce = path_find(ch, w->path, n + k);
		if (ce)
			walk_node(w, c, n + k, ch, ce, depth + 1);
	}
}

/* Stable counting sort of vals[0..nvals) by field id, in place: dest[i]
 * (kept in fid[]) is where vals[i] goes; then follow the permutation's
 * cycles. Fills the slots. */
static void view_group(struct view_walk *w)
{
	struct tg_view *v = w->v;
	uint16_t next[ARRAY_SIZE(fields)] = { 0 };
	size_t pos = 0;

	for (size_t i = 0; i < v->nvals; i++)
		next[w->fid[i]]++;
	for (size_t f = 0; f < ARRAY_SIZE(fields); f++) {
		uint16_t count = next[f];

		if (!count)
			continue;
		v->slot[f].gen = v->gen;
		v->slot[f].first = (uint16_t)pos;
		v->slot[f].count = count;
		next[f] = (uint16_t)pos;
		pos += count;
	}
	for (size_t i = 0; i < v->nvals; i++)
		w->fid[i] = next[w->fid[i]]++;
	for (size_t i = 0; i < v->nvals; i++) {
		while (w->fid[i] != i) {
			uint16_t j = w->fid[i];
			struct tg_val tv = v->vals[j];

			v->vals[j] = v->vals[i];
			v->vals[i] = tv;
			w->fid[i] = w->fid[j];
			w->fid[j] = j;
		}
	}
}

int view_fill(struct tg_view *v, const cJSON *event, const struct tg_profile *prof)
{
	struct view_walk w;

	view_reset(v);
	if (!cJSON_IsObject(event)) {
		errno = EINVAL;
		return -1;
	}
	v->json = event;
	w.v = v;
	pthread_once(&path_once, path_build);
	walk_node(&w, event, 0, FNV_OFFSET, NULL, 0);
	view_group(&w);
	return twin_derive(v, prof);
}
