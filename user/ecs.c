// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Raw record -> ECS JSON. Process context comes from the process table, so
 * every event carries the executable, command line and ancestry of the
 * process that caused it, even when the record itself only has a pid.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include "ecs.h"
#include "ecs_names.h"
#include "event.h"
#include "proctable.h"
#include "syscalls.h"

#define NS_PER_TICK 10000000ull /* USER_HZ = 100 on every Linux arch */

uint64_t ecs_ticks(uint64_t boot_ns)
{
	return boot_ns / NS_PER_TICK;
}

static int64_t ecs_clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000000000ll + ts.tv_nsec;
}

void ecs_init(struct tg_ecs *e, struct tg_proctable *pt)
{
	struct stat st;

	memset(e, 0, sizeof(*e));
	e->pt = pt;
	e->max_ancestors = TG_MAX_ANCESTRY;
	if (gethostname(e->hostname, sizeof(e->hostname) - 1))
		strcpy(e->hostname, "unknown");
	e->boot_to_real_ns = ecs_clock_ns(CLOCK_REALTIME) - ecs_clock_ns(CLOCK_BOOTTIME);
	if (stat("/proc/self/ns/mnt", &st) == 0)
		e->host_mnt_ns = st.st_ino;
}

void ecs_timestamp(const struct tg_ecs *e, uint64_t boot_ns, char *out, size_t len)
{
	int64_t real = (int64_t)boot_ns + e->boot_to_real_ns;
	time_t sec = real / 1000000000ll;
	struct tm tm;
	char buf[32];

	gmtime_r(&sec, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out, len, "%s.%09" PRId64 "Z", buf, (int64_t)(real % 1000000000ll));
}

static cJSON *ecs_obj(cJSON *parent, const char *name)
{
	cJSON *o = cJSON_GetObjectItemCaseSensitive(parent, name);

	return o ? o : cJSON_AddObjectToObject(parent, name);
}

static void ecs_str_array(cJSON *o, const char *name, const char *const *v, size_t n)
{
	cJSON *a = cJSON_AddArrayToObject(o, name);

	for (size_t i = 0; i < n; i++)
		cJSON_AddItemToArray(a, cJSON_CreateString(v[i]));
}

/* argv held as NUL-separated bytes -> process.args + command_line */
static void ecs_args(cJSON *proc, const char *args, size_t len)
{
	cJSON *a = cJSON_AddArrayToObject(proc, "args");
	char line[TG_ARGV_MAX + 1];
	size_t pos = 0, out = 0;
	int n = 0;

	while (args && pos < len) {
		const char *s = args + pos;
		size_t l = strnlen(s, len - pos);

		cJSON_AddItemToArray(a, cJSON_CreateString(s));
		if (out + l + 1 < sizeof(line)) {
			if (out)
				line[out++] = ' ';
			memcpy(line + out, s, l);
			out += l;
		}
		pos += l + 1;
		n++;
	}
	line[out] = 0;
	cJSON_AddNumberToObject(proc, "args_count", n);
	cJSON_AddStringToObject(proc, "command_line", line);
}

static const char *ecs_basename(const char *p)
{
	const char *s = p ? strrchr(p, '/') : NULL;

	return s ? s + 1 : p;
}

/* pid, entity_id, executable, name of a table entry (parent, ancestor, target) */
static void ecs_proc_brief(cJSON *o, const struct tg_proc *p)
{
	cJSON_AddNumberToObject(o, "pid", p->pid);
	cJSON_AddStringToObject(o, "entity_id", p->entity_id);
	if (p->exe)
		cJSON_AddStringToObject(o, "executable", p->exe);
	cJSON_AddStringToObject(o, "name", p->exe ? ecs_basename(p->exe) : p->comm);
	if (p->args)
		ecs_args(o, p->args, p->args_len);
}

static void ecs_ancestry(struct tg_ecs *e, cJSON *proc, const struct tg_proc *p)
{
	const struct tg_proc *chain[TG_MAX_ANCESTRY];
	bool trunc = false;
	size_t n = proctable_ancestors(e->pt, p, chain, e->max_ancestors, &trunc);
	cJSON *a;

	if (n)
		ecs_proc_brief(cJSON_AddObjectToObject(proc, "parent"), chain[0]);
	a = cJSON_AddArrayToObject(proc, "ancestors");
	for (size_t i = 0; i < n; i++) {
		cJSON *o = cJSON_CreateObject();

		cJSON_AddNumberToObject(o, "pid", chain[i]->pid);
		cJSON_AddStringToObject(o, "entity_id", chain[i]->entity_id);
		if (chain[i]->exe)
			cJSON_AddStringToObject(o, "executable", chain[i]->exe);
		cJSON_AddStringToObject(o, "name", chain[i]->exe ? ecs_basename(chain[i]->exe) : chain[i]->comm);
		cJSON_AddItemToArray(a, o);
	}
	if (trunc)
		cJSON_AddBoolToObject(proc, "ancestors_truncated", true);
}

/* synthetic: a flow record, whose header holds only pid, uid and start:
 * emit nothing the record does not know. */
static void ecs_process(struct tg_ecs *e, cJSON *root, const struct tg_event *ev, bool synthetic)
{
	const struct tg_hdr *h = &ev->hdr;
	struct tg_proc *p = proctable_lookup(e->pt, h->tgid);
	cJSON *proc = ecs_obj(root, "process");
	char id[TG_ENTITY_ID_LEN], ts[64];

	cJSON_AddNumberToObject(proc, "pid", h->tgid);
	if (p && p->start_ticks == ecs_ticks(h->start_ns)) {
		cJSON_AddStringToObject(proc, "entity_id", p->entity_id);
		if (p->exe)
			cJSON_AddStringToObject(proc, "executable", p->exe);
		cJSON_AddStringToObject(proc, "name", h->comm[0] ? h->comm : p->comm);
		if (p->args)
			ecs_args(proc, p->args, p->args_len);
		if (p->cwd)
			cJSON_AddStringToObject(proc, "working_directory", p->cwd);
		if (p->container_id[0])
			cJSON_AddStringToObject(ecs_obj(root, "container"), "id", p->container_id);
		ecs_ancestry(e, proc, p);
		if (p->flags & TG_P_FROM_SCAN)
			cJSON_AddBoolToObject(ecs_obj(root, "twinguard"), "from_scan", true);
		if (!cJSON_GetObjectItem(proc, "parent") && p->ppid)
			cJSON_AddNumberToObject(ecs_obj(proc, "parent"), "pid", p->ppid);
	} else {
		/* Not in the table (missed exec): say so rather than guess. */
		proctable_make_entity_id(e->pt, h->tgid, ecs_ticks(h->start_ns), id);
		cJSON_AddStringToObject(proc, "entity_id", id);
		if (h->comm[0])
			cJSON_AddStringToObject(proc, "name", h->comm);
		if (!synthetic)
			cJSON_AddNumberToObject(ecs_obj(proc, "parent"), "pid", h->ppid);
	}
	if (!synthetic)
		cJSON_AddNumberToObject(ecs_obj(proc, "thread"), "id", h->tid);
	ecs_timestamp(e, h->start_ns, ts, sizeof(ts));
	cJSON_AddStringToObject(proc, "start", ts);
	cJSON_AddNumberToObject(ecs_obj(root, "user"), "id", h->uid);
	cJSON_AddStringToObject(ecs_obj(root, "user"), "name", proctable_user_name(e->pt, h->uid));
	if (!synthetic)
		cJSON_AddNumberToObject(ecs_obj(root, "group"), "id", h->gid);
}

static void ecs_event_meta(struct tg_ecs *e, cJSON *root, const struct tg_event *ev,
			   const char *category, const char *type)
{
	cJSON *evo = ecs_obj(root, "event");
	const char *cat[] = { category };
	const char *typ[] = { type };
	const struct tg_syscall *sce = syscalls_of(ev);
	const char *sc = sce ? sce->name : NULL;
	cJSON *tg = ecs_obj(root, "twinguard");

	cJSON_AddStringToObject(evo, "kind", "event");
	ecs_str_array(evo, "category", cat, 1);
	ecs_str_array(evo, "type", typ, 1);
	cJSON_AddStringToObject(evo, "action", event_type_name(ev->hdr.type));
	cJSON_AddNumberToObject(evo, "sequence", (double)++e->seq);
	if (ev->hdr.syscall_nr >= 0) {
		cJSON_AddStringToObject(evo, "outcome", ev->hdr.ret < 0 ? "failure" : "success");
		cJSON_AddStringToObject(tg, "syscall", sc ? sc : "unknown");
		cJSON_AddNumberToObject(tg, "ret", (double)ev->hdr.ret);
		if (ev->hdr.ret < 0 && ev->hdr.ret > -4096)
			cJSON_AddStringToObject(tg, "errno", ecs_errno_name(-ev->hdr.ret));
	}
	if (ev->hdr.type != TG_EV_FLOW)
		cJSON_AddNumberToObject(tg, "cgroup_id", (double)ev->hdr.cgroup_id);
	if (ev->hdr.flags & TG_F_PATH_TRUNC)
		cJSON_AddBoolToObject(tg, "path_truncated", true);
	if (ev->hdr.flags & TG_F_COMPAT)
		cJSON_AddBoolToObject(tg, "compat32", true);
}

static cJSON *ecs_base(struct tg_ecs *e, const struct tg_event *ev)
{
	cJSON *root = cJSON_CreateObject();
	char ts[64];

	if (!root)
		return NULL;
	ecs_timestamp(e, ev->hdr.ts_ns, ts, sizeof(ts));
	cJSON_AddStringToObject(root, "@timestamp", ts);
	cJSON_AddStringToObject(ecs_obj(root, "host"), "hostname", e->hostname);
	return root;
}

static void ecs_exec(cJSON *root, const struct tg_event *ev)
{
	cJSON *tg = ecs_obj(root, "twinguard");
	cJSON *eff = ecs_obj(ecs_obj(root, "user"), "effective");

	cJSON_AddNumberToObject(eff, "id", ev->u.exec.euid);
	cJSON_AddNumberToObject(ecs_obj(ecs_obj(root, "group"), "effective"), "id", ev->u.exec.egid);
	if (ev->u.exec.auid != UINT32_MAX)
		cJSON_AddNumberToObject(ecs_obj(ecs_obj(root, "user"), "audit"), "id", ev->u.exec.auid);
	cJSON_AddBoolToObject(tg, "exe_memfd", !!(ev->hdr.flags & TG_F_EXE_MEMFD));
	cJSON_AddBoolToObject(tg, "exe_deleted", !!(ev->hdr.flags & TG_F_EXE_DELETED));
	cJSON_AddBoolToObject(tg, "args_truncated", !!(ev->hdr.flags & TG_F_ARGV_TRUNC));
	if (event_str(ev, 3))
		cJSON_AddStringToObject(tg, "cgroup", event_str(ev, 3));
}

static void ecs_fork_exit(struct tg_ecs *e, cJSON *root, const struct tg_event *ev)
{
	cJSON *proc = ecs_obj(root, "process");
	char id[TG_ENTITY_ID_LEN];

	if (ev->hdr.type == TG_EV_FORK) {
		cJSON *child = ecs_obj(ecs_obj(root, "twinguard"), "child");

		cJSON_AddNumberToObject(child, "pid", ev->u.fork.child_tgid);
		cJSON_AddNumberToObject(child, "tid", ev->u.fork.child_tid);
		proctable_make_entity_id(e->pt, ev->u.fork.child_tgid,
					 ecs_ticks(ev->u.fork.child_start_ns), id);
		cJSON_AddStringToObject(child, "entity_id", id);
		cJSON_AddBoolToObject(child, "thread", !!(ev->hdr.flags & TG_F_THREAD));
		return;
	}
	cJSON_AddNumberToObject(proc, "exit_code", (ev->u.exit.exit_code >> 8) & 0xff);
	if (ev->u.exit.exit_code & 0x7f)
		cJSON_AddStringToObject(ecs_obj(root, "twinguard"), "signal",
					ecs_signal_name(ev->u.exit.exit_code & 0x7f));
	cJSON_AddBoolToObject(ecs_obj(root, "twinguard"), "thread", !!(ev->hdr.flags & TG_F_THREAD));
}

/* file.path, file.name, file.directory from a resolved path */
static void ecs_file_path(cJSON *file, const char *path)
{
	const char *slash = strrchr(path, '/');
	char dir[TG_PATH_MAX];
	size_t n;

	cJSON_AddStringToObject(file, "path", path);
	if (!slash)
		return;
	cJSON_AddStringToObject(file, "name", slash + 1);
	n = slash == path ? 1 : (size_t)(slash - path);
	if (n >= sizeof(dir))
		n = sizeof(dir) - 1;
	memcpy(dir, path, n);
	dir[n] = 0;
	cJSON_AddStringToObject(file, "directory", dir);
}

static const char *ecs_file_type(const struct tg_event *ev)
{
	switch (ev->hdr.type) {
	case TG_EV_OPEN:
		if (ev->u.file.flags & O_CREAT)
			return "creation";
		return (ev->u.file.flags & O_ACCMODE) == O_RDONLY && !(ev->u.file.flags & O_TRUNC)
		       ? "access" : "change";
	case TG_EV_UNLINK:
		return "deletion";
	case TG_EV_MKDIR:
	case TG_EV_MEMFD:
	case TG_EV_SYMLINK:
	case TG_EV_LINK:
		return "creation";
	default:
		return "change";
	}
}

static void ecs_file(struct tg_ecs *e, cJSON *root, const struct tg_event *ev)
{
	cJSON *file = ecs_obj(root, "file");
	cJSON *tg = ecs_obj(root, "twinguard");
	const struct tg_file *f = &ev->u.file;
	char path[TG_PATH_MAX], mode[16];

	if (event_path(ev, 0, path, sizeof(path)) == 0)
		ecs_file_path(file, path);
	else if (event_str(ev, 0))
		cJSON_AddStringToObject(file, ev->hdr.type == TG_EV_MEMFD ? "name" : "path", event_str(ev, 0));
	if (event_str(ev, 0) && !(ev->hdr.flags & TG_F_PATH_RESOLVED))
		cJSON_AddStringToObject(tg, "raw_path", event_str(ev, 0));
	if (f->mnt_ns) {
		/* paths are relative to this mount namespace's root */
		cJSON_AddNumberToObject(tg, "mnt_ns", f->mnt_ns);
		cJSON_AddBoolToObject(tg, "host_mnt_ns", f->mnt_ns == e->host_mnt_ns);
	}
	switch (ev->hdr.type) {
	case TG_EV_RENAME:
	case TG_EV_LINK:
		/* file.path is the name that exists afterwards */
		if (event_path(ev, 2, path, sizeof(path)) == 0) {
			cJSON *old = cJSON_DetachItemFromObject(file, "path");

			cJSON_DeleteItemFromObject(file, "name");
			cJSON_DeleteItemFromObject(file, "directory");
			ecs_file_path(file, path);
			if (old)
				cJSON_AddItemToObject(file, ev->hdr.type == TG_EV_RENAME ? "old_path" : "target_path", old);
		}
		break;
	case TG_EV_SYMLINK:
		if (event_str(ev, 2))
			cJSON_AddStringToObject(file, "target_path", event_str(ev, 2));
		break;
	case TG_EV_CHOWN:
		cJSON_AddNumberToObject(file, "uid", f->uid);
		cJSON_AddNumberToObject(file, "gid", f->gid);
		break;
	case TG_EV_TRUNCATE:
		cJSON_AddNumberToObject(file, "size", (double)f->length);
		break;
	case TG_EV_OPEN:
		ecs_open_flags(tg, f->flags);
		if (f->ino)
			cJSON_AddNumberToObject(file, "inode", (double)f->ino);
		break;
	case TG_EV_MEMFD:
		cJSON_AddNumberToObject(tg, "fd", (double)ev->hdr.ret);
		break;
	}
	if (ev->hdr.type == TG_EV_CHMOD || ev->hdr.type == TG_EV_MKDIR ||
	    (ev->hdr.type == TG_EV_OPEN && (f->flags & O_CREAT))) {
		snprintf(mode, sizeof(mode), "0%o", f->mode & 07777);
		cJSON_AddStringToObject(file, "mode", mode);
	}
	if (ev->hdr.type == TG_EV_UNLINK && ((f->flags & AT_REMOVEDIR) ||
					     (syscalls_of(ev) && !strcmp(syscalls_of(ev)->name, "rmdir"))))
		cJSON_AddStringToObject(file, "type", "dir");
	if (ev->hdr.type == TG_EV_MKDIR)
		cJSON_AddStringToObject(file, "type", "dir");
}

static void ecs_ip(cJSON *o, uint16_t family, const uint8_t *addr, uint16_t port)
{
	char buf[INET6_ADDRSTRLEN];

	if (family == AF_INET || family == AF_INET6) {
		inet_ntop(family, addr, buf, sizeof(buf));
		cJSON_AddStringToObject(o, "ip", buf);
	}
	cJSON_AddNumberToObject(o, "port", port);
}

static void ecs_net(cJSON *root, const struct tg_event *ev)
{
	const struct tg_net *n = &ev->u.net;
	cJSON *net = ecs_obj(root, "network");
	bool ingress = ev->hdr.type == TG_EV_ACCEPT;
	bool local_only = ev->hdr.type == TG_EV_BIND || ev->hdr.type == TG_EV_LISTEN;
	cJSON *local = ecs_obj(root, ingress ? "destination" : "source");

	cJSON_AddStringToObject(net, "type", n->family == AF_INET ? "ipv4" :
				n->family == AF_INET6 ? "ipv6" : n->family == AF_UNIX ? "unix" : "other");
	cJSON_AddStringToObject(net, "transport", n->family == AF_UNIX ? "unix" :
				n->sock_type == SOCK_DGRAM ? "udp" : "tcp");
	if (!local_only)
		cJSON_AddStringToObject(net, "direction", ingress ? "ingress" : "egress");
	ecs_ip(local, n->family, n->saddr, n->sport);
	if (!local_only)
		ecs_ip(ecs_obj(root, ingress ? "source" : "destination"), n->family, n->daddr, n->dport);
	if (event_str(ev, 0))
		cJSON_AddStringToObject(ecs_obj(root, local_only ? "source" : "destination"),
					"address", event_str(ev, 0));
	if (ev->hdr.type == TG_EV_SENDTO && n->count) {
		/* sendmmsg reports messages, not bytes */
		cJSON_AddNumberToObject(ecs_obj(root, "twinguard"), "messages", (double)n->count);
	} else if (ev->hdr.type == TG_EV_SENDTO) {
		cJSON_AddNumberToObject(ecs_obj(root, "source"), "bytes", (double)n->bytes);
		cJSON_AddNumberToObject(net, "bytes", (double)n->bytes);
	}
	if (ev->hdr.type == TG_EV_LISTEN)
		cJSON_AddNumberToObject(ecs_obj(root, "twinguard"), "backlog", n->backlog);
	cJSON_AddNumberToObject(ecs_obj(root, "twinguard"), "fd", n->fd);
}

/* pid is signed: kill(-pgid) and kill(-1) target groups, not a process */
static void ecs_target(struct tg_ecs *e, cJSON *root, int32_t pid)
{
	cJSON *t = ecs_obj(ecs_obj(root, "target"), "process");
	struct tg_proc *p = pid > 0 ? proctable_lookup(e->pt, pid) : NULL;

	if (p)
		ecs_proc_brief(t, p);
	else
		cJSON_AddNumberToObject(t, "pid", pid);
}

static void ecs_priv(struct tg_ecs *e, cJSON *root, const struct tg_event *ev)
{
	const struct tg_priv *p = &ev->u.priv;
	cJSON *tg = ecs_obj(root, "twinguard");

	switch (ev->hdr.type) {
	case TG_EV_PTRACE:
		cJSON_AddStringToObject(tg, "ptrace_request", ecs_ptrace_name(p->request));
		ecs_target(e, root, (int32_t)p->target_pid);
		break;
	case TG_EV_PROCESS_VM:
		cJSON_AddStringToObject(tg, "access", p->request ? "write" : "read");
		ecs_target(e, root, (int32_t)p->target_pid);
		break;
	case TG_EV_KILL:
		cJSON_AddStringToObject(tg, "signal", ecs_signal_name(p->request));
		ecs_target(e, root, (int32_t)p->target_pid);
		if (p->target_tid)
			cJSON_AddNumberToObject(tg, "target_tid", p->target_tid);
		break;
	case TG_EV_SETID:
		ecs_setid(tg, ev);
		break;
	case TG_EV_MODULE:
		if (event_str(ev, 0))
			ecs_file_path(ecs_obj(root, "file"), event_str(ev, 0));
		if (event_str(ev, 1))
			cJSON_AddStringToObject(tg, "module_params", event_str(ev, 1));
		break;
	case TG_EV_BPF:
		cJSON_AddStringToObject(tg, "bpf_prog_type", ecs_bpf_prog_type(p->prog_type));
		if (event_str(ev, 0))
			cJSON_AddStringToObject(tg, "bpf_prog_name", event_str(ev, 0));
		break;
	case TG_EV_MOUNT:
		if (event_str(ev, 0))
			cJSON_AddStringToObject(tg, "mount_target", event_str(ev, 0));
		if (event_str(ev, 1))
			cJSON_AddStringToObject(tg, "mount_source", event_str(ev, 1));
		if (event_str(ev, 2))
			cJSON_AddStringToObject(tg, "mount_fstype", event_str(ev, 2));
		cJSON_AddNumberToObject(tg, "mount_flags", (double)p->arg);
		break;
	}
}

cJSON *ecs_event(struct tg_ecs *e, const struct tg_event *ev)
{
	cJSON *root = ecs_base(e, ev);
	unsigned cls = event_class(ev->hdr.type);

	if (!root)
		return NULL;
	ecs_process(e, root, ev, false);
	if (cls == TG_CLASS_PROCESS) {
		ecs_event_meta(e, root, ev, "process",
			       ev->hdr.type == TG_EV_EXIT ? "end" : "start");
		if (ev->hdr.type == TG_EV_EXEC)
			ecs_exec(root, ev);
		else
			ecs_fork_exit(e, root, ev);
	} else if (cls == TG_CLASS_FILE) {
		ecs_event_meta(e, root, ev, "file", ecs_file_type(ev));
		ecs_file(e, root, ev);
	} else if (cls == TG_CLASS_NETWORK) {
		ecs_event_meta(e, root, ev, "network",
			       ev->hdr.type == TG_EV_BIND || ev->hdr.type == TG_EV_LISTEN ? "info" : "connection");
		ecs_net(root, ev);
	} else {
		ecs_event_meta(e, root, ev, ev->hdr.type == TG_EV_MODULE ? "driver" : "process",
			       ev->hdr.type == TG_EV_SETID ? "change" : "info");
		ecs_priv(e, root, ev);
	}
	return root;
}

cJSON *ecs_flow(struct tg_ecs *e, const struct tg_flow_key *k, const struct tg_flow_val *v)
{
	struct tg_event ev;
	cJSON *root, *net;
	char ts[64];

	memset(&ev.hdr, 0, sizeof(ev.hdr));
	ev.hdr.type = TG_EV_FLOW;
	ev.hdr.ts_ns = v->last_ns;
	ev.hdr.start_ns = v->start_ns;
	ev.hdr.tgid = ev.hdr.tid = k->tgid;
	ev.hdr.uid = v->uid;
	ev.hdr.syscall_nr = -1;
	root = ecs_base(e, &ev);
	if (!root)
		return NULL;
	ecs_process(e, root, &ev, true);
	ecs_event_meta(e, root, &ev, "network", "connection");
	net = ecs_obj(root, "network");
	cJSON_AddStringToObject(net, "type", k->family == AF_INET ? "ipv4" : "ipv6");
	cJSON_AddStringToObject(net, "transport", k->proto == IPPROTO_UDP ? "udp" : "tcp");
	cJSON_AddStringToObject(net, "direction", "egress");
	cJSON_AddNumberToObject(net, "bytes", (double)v->bytes);
	ecs_ip(ecs_obj(root, "source"), k->family, k->saddr, k->sport);
	cJSON_AddNumberToObject(ecs_obj(root, "source"), "bytes", (double)v->bytes);
	ecs_ip(ecs_obj(root, "destination"), k->family, k->daddr, k->dport);
	cJSON_AddNumberToObject(ecs_obj(root, "twinguard"), "sends", (double)v->count);
	ecs_timestamp(e, v->first_ns, ts, sizeof(ts));
	cJSON_AddStringToObject(ecs_obj(root, "event"), "start", ts);
	ecs_timestamp(e, v->last_ns, ts, sizeof(ts));
	cJSON_AddStringToObject(ecs_obj(root, "event"), "end", ts);
	return root;
}
