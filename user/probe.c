// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * BPF lifecycle: open -> configure rodata and map sizes -> switch off what
 * the kernel lacks -> load -> attach -> poll -> close (STYLE.md §4).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include "config.h"
#include "probe.h"
#include "syscalls.h"
#include "twinguard.skel.h"

#ifndef __NR_move_mount
#define __NR_move_mount 429
#endif
#define TG_NR_MOVE_MOUNT __NR_move_mount

struct tg_probe {
	struct twinguard_bpf *skel;
	struct ring_buffer *rb;
	unsigned budget, consumed;   /* probe_consume(): records left this round */
	struct bpf_link *links[8];
	unsigned n_links;
	unsigned n_off;            /* programs switched off */
	struct tg_probe_opts opts;
	/* programs that failed to load once: left off on the next try */
	char off_names[TG_PROBE_MAX_OFF][64];
	unsigned n_forced_off;
	bool flows_ok;             /* sock_send_length available */
	bool uring_ok;             /* io_uring renames reach the dir cache */
	tg_event_fn fn;
	void *fn_ctx;
	unsigned flow_gen;
	struct tg_settings settings;
};

static bool g_verbose;
/* Name of the program libbpf last reported as failing to load. */
static char g_failed_prog[64];

static int probe_write_settings(struct tg_probe *p);

static int probe_libbpf_print(enum libbpf_print_level level, const char *fmt, va_list args)
{
	char line[1024];

	/* Warnings carry the verifier log on a failed load: always show them. */
	if (level == LIBBPF_DEBUG && !g_verbose)
		return 0;
	vsnprintf(line, sizeof(line), fmt, args);
	/* remember which program failed so probe_load() can switch it off */
	if (strstr(line, "': failed to load"))
		sscanf(line, "libbpf: prog '%63[^']'", g_failed_prog);
	return fputs(line, stderr);
}

/* A tp_btf program can only load where the kernel has that tracepoint. */
static bool probe_btf_has_tp(const struct btf *vmlinux, const char *tp)
{
	char name[128];

	snprintf(name, sizeof(name), "btf_trace_%s", tp);
	return vmlinux && btf__find_by_name_kind(vmlinux, name, BTF_KIND_TYPEDEF) > 0;
}

static int probe_switch_off_unsupported(struct tg_probe *p)
{
	struct btf *vmlinux = btf__load_vmlinux_btf();
	struct bpf_program *prog;

	if (!vmlinux) {
		fprintf(stderr, "twinguard: failed to load kernel BTF: %s\n", strerror(errno));
		return -ENOENT;
	}
	bpf_object__for_each_program(prog, p->skel->obj) {
		const char *sec = bpf_program__section_name(prog);
		const char *tp = strchr(sec, '/');

		if (!tp || probe_btf_has_tp(vmlinux, tp + 1))
			continue;
		if (prog == p->skel->progs.tg_sys_exit) {
			fprintf(stderr, "twinguard: kernel lacks the sys_exit tracepoint; cannot run\n");
			btf__free(vmlinux);
			return -ENOTSUP;
		}
		fprintf(stderr, "twinguard: warning: kernel lacks tracepoint %s; %s switched off\n",
			tp + 1, bpf_program__name(prog));
		bpf_program__set_autoload(prog, false);
		p->n_off++;
	}
	btf__free(vmlinux);
	return 0;
}

/* Test-only fault injection (docs/design.md): make one program fail to
 * load, as a verifier rejection would, by loading it as the wrong type. */
static void probe_inject_fault(struct tg_probe *p)
{
	const char *name = getenv("TWINGUARD_TEST_BREAK_PROG");
	struct bpf_program *prog;

	if (!name || !*name)
		return;
	prog = bpf_object__find_program_by_name(p->skel->obj, name);
	if (prog)
		bpf_program__set_type(prog, BPF_PROG_TYPE_SOCKET_FILTER);
}

/* Open the object and configure it: rodata, map sizes, programs off. */
static int probe_configure(struct tg_probe *p)
{
	const struct tg_probe_opts *o = &p->opts;
	int err;

	p->n_off = 0;
	p->skel = twinguard_bpf__open();
	if (!p->skel) {
		err = -errno;
		fprintf(stderr, "twinguard: failed to open BPF object: %s\n", strerror(-err));
		return err;
	}
	p->skel->rodata->tg_self_tgid = o->self_tgid ? o->self_tgid : (uint32_t)getpid();
	if (o->ringbuf_bytes) {
		bpf_map__set_max_entries(p->skel->maps.tg_events, o->ringbuf_bytes);
		/* wake for a batch, but long before a small ring fills up */
		if (o->ringbuf_bytes / 8 < p->skel->rodata->tg_wakeup_bytes)
			p->skel->rodata->tg_wakeup_bytes = o->ringbuf_bytes / 8;
	}
	if (o->flow_map_max) {
		bpf_map__set_max_entries(p->skel->maps.tg_flows0, o->flow_map_max);
		bpf_map__set_max_entries(p->skel->maps.tg_flows1, o->flow_map_max);
	}
	err = probe_switch_off_unsupported(p);
	if (err)
		return err;
	for (unsigned i = 0; i < p->n_forced_off; i++) {
		struct bpf_program *prog = bpf_object__find_program_by_name(p->skel->obj, p->off_names[i]);

		if (prog && bpf_program__autoload(prog)) {
			bpf_program__set_autoload(prog, false);
			p->n_off++;
		}
	}
	p->flows_ok = bpf_program__autoload(p->skel->progs.tg_sock_send);
	p->uring_ok = bpf_program__autoload(p->skel->progs.tg_uring_complete);
	probe_inject_fault(p);
	return 0;
}

int probe_open(struct tg_probe **out, const struct tg_probe_opts *o)
{
	struct tg_probe *p = calloc(1, sizeof(*p));
	int err;

	if (!p)
		return -ENOMEM;
	g_verbose = o->verbose;
	libbpf_set_print(probe_libbpf_print);
	p->opts = *o;
	err = probe_configure(p);
	if (err) {
		probe_close(p);
		return err;
	}
	*out = p;
	return 0;
}

static struct bpf_program *probe_handler_prog(struct twinguard_bpf *s, unsigned h)
{
	switch (h) {
	case TG_H_OPEN: return s->progs.tg_h_open;
	case TG_H_UNLINK: return s->progs.tg_h_unlink;
	case TG_H_RENAME: return s->progs.tg_h_rename;
	case TG_H_LINK: return s->progs.tg_h_link;
	case TG_H_SYMLINK: return s->progs.tg_h_symlink;
	case TG_H_CHMOD: return s->progs.tg_h_chmod;
	case TG_H_CHOWN: return s->progs.tg_h_chown;
	case TG_H_TRUNCATE: return s->progs.tg_h_truncate;
	case TG_H_MKDIR: return s->progs.tg_h_mkdir;
	case TG_H_MEMFD: return s->progs.tg_h_memfd;
	case TG_H_CONNECT: return s->progs.tg_h_connect;
	case TG_H_ACCEPT: return s->progs.tg_h_accept;
	case TG_H_BIND: return s->progs.tg_h_bind;
	case TG_H_LISTEN: return s->progs.tg_h_listen;
	case TG_H_SENDTO: return s->progs.tg_h_sendto;
	case TG_H_SENDMSG: return s->progs.tg_h_sendmsg;
	case TG_H_PTRACE: return s->progs.tg_h_ptrace;
	case TG_H_PROCESS_VM: return s->progs.tg_h_process_vm;
	case TG_H_SETID: return s->progs.tg_h_setid;
	case TG_H_KILL: return s->progs.tg_h_kill;
	case TG_H_MODULE: return s->progs.tg_h_module;
	case TG_H_BPF: return s->progs.tg_h_bpf;
	case TG_H_MOUNT: return s->progs.tg_h_mount;
	case TG_H_CLOSE: return s->progs.tg_h_close;
	}
	return NULL;
}

static int probe_ringbuf_cb(void *ctx, void *data, size_t size)
{
	struct tg_probe *p = ctx;
	const struct tg_event *ev = data;

	int rc;

	if (size < TG_EVENT_FIXED_SIZE || ev->hdr.size > size)
		return 0; /* cannot happen with a matching ABI; not worth a crash */
	rc = p->fn ? p->fn(p->fn_ctx, ev, size) : 0;
	/* libbpf stops consuming (record already consumed) on a negative
	 * return: that is how a round's budget ends */
	if (!rc && p->budget && ++p->consumed >= p->budget)
		return -ECANCELED;
	return rc;
}

/* A program the kernel rejects is switched off and the load retried, so a
 * verifier quirk on some kernel costs one event family, not the agent. Only
 * the dispatcher is essential. */
static int probe_load_with_fallback(struct tg_probe *p)
{
	int err;

	for (;;) {
		g_failed_prog[0] = 0;
		err = twinguard_bpf__load(p->skel);
		if (!err)
			return 0;
		if (!g_failed_prog[0] || !strcmp(g_failed_prog, "tg_sys_exit") ||
		    p->n_forced_off >= TG_PROBE_MAX_OFF) {
			fprintf(stderr, "twinguard: failed to load BPF programs: %s\n", strerror(-err));
			return err;
		}
		fprintf(stderr, "twinguard: warning: kernel rejected %s; switched off, retrying\n",
			g_failed_prog);
		snprintf(p->off_names[p->n_forced_off++], sizeof(p->off_names[0]), "%s", g_failed_prog);
		twinguard_bpf__destroy(p->skel);
		p->skel = NULL;
		err = probe_configure(p);
		if (err)
			return err;
	}
}

int probe_load(struct tg_probe *p)
{
	int err, map_fd;

	err = probe_load_with_fallback(p);
	if (err)
		return err;
	map_fd = bpf_map__fd(p->skel->maps.tg_handlers);
	for (unsigned h = 1; h < TG_H_MAX; h++) {
		struct bpf_program *prog = probe_handler_prog(p->skel, h);
		int fd;

		if (!prog || !bpf_program__autoload(prog))
			continue; /* switched off: its syscalls are not routed */
		fd = bpf_program__fd(prog);
		if (fd < 0 || bpf_map_update_elem(map_fd, &h, &fd, BPF_ANY)) {
			err = -errno;
			fprintf(stderr, "twinguard: failed to install handler %u: %s\n", h, strerror(errno));
			return err ? err : -EINVAL;
		}
	}
	p->rb = ring_buffer__new(bpf_map__fd(p->skel->maps.tg_events), probe_ringbuf_cb, p, NULL);
	if (!p->rb) {
		err = -errno;
		fprintf(stderr, "twinguard: failed to create ring buffer: %s\n", strerror(errno));
		return err;
	}
	return 0;
}

int probe_attach(struct tg_probe *p)
{
	struct bpf_program *progs[] = {
		p->skel->progs.tg_sys_exit, p->skel->progs.tg_exec, p->skel->progs.tg_fork,
		p->skel->progs.tg_exit, p->skel->progs.tg_sock_send, p->skel->progs.tg_uring_complete,
	};

	for (size_t i = 0; i < sizeof(progs) / sizeof(progs[0]); i++) {
		struct bpf_link *l;

		if (!bpf_program__autoload(progs[i]))
			continue;
		l = bpf_program__attach(progs[i]);
		if (!l) {
			int err = -errno;

			fprintf(stderr, "twinguard: failed to attach %s: %s\n",
				bpf_program__name(progs[i]), strerror(errno));
			if (progs[i] == p->skel->progs.tg_sys_exit)
				return err;
			if (progs[i] == p->skel->progs.tg_sock_send)
				p->flows_ok = false;
			if (progs[i] == p->skel->progs.tg_uring_complete) {
				/* an unseen io_uring rename could stale the cache */
				p->uring_ok = false;
				p->settings.flags &= ~TG_S_DIRCACHE;
				probe_write_settings(p);
			}
			p->n_off++;
			continue;
		}
		p->links[p->n_links++] = l;
	}
	return 0;
}

unsigned probe_attached(const struct tg_probe *p)
{
	return p->n_links;
}

unsigned probe_switched_off(const struct tg_probe *p)
{
	return p->n_off;
}

int probe_set_callback(struct tg_probe *p, tg_event_fn fn, void *ctx)
{
	p->fn = fn;
	p->fn_ctx = ctx;
	return 0;
}

/* The kernel signals only batches, so after the wait we also consume what
 * arrived without a wakeup. */
int probe_poll(struct tg_probe *p, int timeout_ms)
{
	int n = ring_buffer__poll(p->rb, timeout_ms);
	int m;

	if (n < 0 && n != -EINTR)
		return n;
	m = ring_buffer__consume(p->rb);
	if (m < 0)
		return m;
	return (n > 0 ? n : 0) + m;
}

int probe_epoll_fd(const struct tg_probe *p)
{
	return ring_buffer__epoll_fd(p->rb);
}

int probe_consume(struct tg_probe *p, unsigned budget)
{
	int n;

	p->budget = budget;
	p->consumed = 0;
	n = ring_buffer__consume(p->rb);
	p->budget = 0;
	return n == -ECANCELED ? (int)p->consumed : n;
}

int probe_stats(struct tg_probe *p, struct tg_stats *out)
{
	int ncpu = libbpf_num_possible_cpus();
	struct tg_stats *per;
	uint32_t zero = 0;

	memset(out, 0, sizeof(*out));
	if (ncpu <= 0)
		return -EINVAL;
	per = calloc(ncpu, sizeof(*per));
	if (!per)
		return -ENOMEM;
	if (bpf_map_lookup_elem(bpf_map__fd(p->skel->maps.tg_stats), &zero, per)) {
		free(per);
		return -errno;
	}
	for (int i = 0; i < ncpu; i++) {
		out->events += per[i].events;
		out->drops += per[i].drops;
		out->drop_bytes += per[i].drop_bytes;
		out->flow_drops += per[i].flow_drops;
		out->path_trunc += per[i].path_trunc;
		out->filtered += per[i].filtered;
		out->tail_fail += per[i].tail_fail;
	}
	free(per);
	return 0;
}

static int probe_write_settings(struct tg_probe *p)
{
	uint32_t zero = 0;

	p->settings.flow_gen = p->flow_gen;
	if (bpf_map_update_elem(bpf_map__fd(p->skel->maps.tg_settings), &zero, &p->settings, BPF_ANY))
		return -errno;
	return 0;
}

/* Calls that change paths even when their class is off: the kernel's
 * directory cache must hear about them (bpf/dircache.bpf.h). */
static bool probe_changes_paths(int nr)
{
#ifdef __NR_rename
	if (nr == __NR_rename)
		return true;
#endif
	return nr == __NR_renameat || nr == __NR_renameat2 || nr == __NR_mount ||
	       nr == __NR_pivot_root || nr == TG_NR_MOVE_MOUNT;
}

static bool probe_handler_on(struct tg_probe *p, unsigned h)
{
	struct bpf_program *prog = probe_handler_prog(p->skel, h);

	return prog && bpf_program__autoload(prog);
}

static void probe_fill_syscalls(struct tg_probe *p, uint64_t *vals, int shift,
				const struct tg_syscall *t, size_t n, unsigned classes,
				bool (*changes_paths)(int))
{
	/* close is hot: routed only when someone waits for write closes */
	bool closes = p->settings.flags & TG_S_CLOSE_WRITES;

	for (size_t i = 0; i < n; i++)
		if ((t[i].cls & classes) && t[i].nr >= 0 && t[i].nr < TG_SYSCALL_MAX &&
		    (t[i].handler != TG_H_CLOSE || closes) && probe_handler_on(p, t[i].handler))
			vals[t[i].nr] |= (uint64_t)(t[i].handler | t[i].variant << 8) << shift;
	for (int nr = 0; nr < TG_SYSCALL_MAX; nr++)
		if (changes_paths(nr))
			vals[nr] |= (uint64_t)TG_SC_DIRGEN << shift;
}

/* Native entries in the low half, 32-bit (ia32) entries in the high half. */
static int probe_apply_syscalls(struct tg_probe *p, unsigned classes)
{
	int fd = bpf_map__fd(p->skel->maps.tg_syscalls);
	uint64_t vals[TG_SYSCALL_MAX] = {0};
	const struct tg_syscall *t;
	size_t n;

	t = syscalls_table(&n);
	probe_fill_syscalls(p, vals, 0, t, n, classes, probe_changes_paths);
	t = syscalls_compat_table(&n);
	probe_fill_syscalls(p, vals, 32, t, n, classes, syscalls_compat_changes_paths);
	for (uint32_t nr = 0; nr < TG_SYSCALL_MAX; nr++)
		if (bpf_map_update_elem(fd, &nr, &vals[nr], BPF_ANY))
			return -errno;
	return 0;
}

static void probe_prefix_key(struct tg_prefix_key *k, const char *prefix)
{
	size_t len = strnlen(prefix, TG_PREFIX_MAX);

	memset(k, 0, sizeof(*k));
	memcpy(k->data, prefix, len);
	k->prefixlen = len * 8;
}

/* Access bits of prefix i, merged with every configured prefix that is a
 * byte-prefix of it: the LPM returns only the longest match, which must
 * carry the union ("/etc/" rw and "/etc/shadow" r: a write to /etc/shadow
 * still matches). */
static uint32_t probe_prefix_bits(const struct tg_config *cfg, size_t i)
{
	const char *q = cfg->prefixes[i].prefix;
	uint32_t bits = 0;

	for (size_t j = 0; j < cfg->n_prefixes; j++)
		if (!strncmp(q, cfg->prefixes[j].prefix, strlen(cfg->prefixes[j].prefix)))
			bits |= cfg->prefixes[j].access;
	return bits;
}

/* Directories a prefix ends inside ("/etc" for "/etc/shadow"): there the
 * file name decides, so the kernel never caches a verdict for them. */
static int probe_apply_prefix_dirs(struct tg_probe *p, const struct tg_config *cfg)
{
	int fd = bpf_map__fd(p->skel->maps.tg_prefix_dirs);
	char k[TG_PREFIX_MAX], next[TG_PREFIX_MAX];
	uint8_t one = 1;

	while (bpf_map_get_next_key(fd, NULL, next) == 0)
		if (bpf_map_delete_elem(fd, next))
			return -errno;
	for (size_t i = 0; i < cfg->n_prefixes; i++) {
		const char *q = cfg->prefixes[i].prefix;
		const char *slash = strrchr(q, '/');
		size_t len = slash ? (size_t)(slash - q) : 0;

		if (!slash || !slash[1] || len >= sizeof(k))
			continue; /* ends with '/': the LPM alone decides */
		memset(k, 0, sizeof(k));
		memcpy(k, q, len ? len : 1);
		if (bpf_map_update_elem(fd, k, &one, BPF_ANY))
			return -errno;
	}
	return 0;
}

/* Insert the new set first, then delete what is no longer wanted, so a
 * reload never opens a window where nothing matches. */
static int probe_apply_prefixes(struct tg_probe *p, const struct tg_config *cfg)
{
	int fd = bpf_map__fd(p->skel->maps.tg_file_prefixes);
	struct tg_prefix_key k, next;
	bool first = true;

	for (size_t i = 0; i < cfg->n_prefixes; i++) {
		uint32_t acc = probe_prefix_bits(cfg, i);

		probe_prefix_key(&k, cfg->prefixes[i].prefix);
		if (bpf_map_update_elem(fd, &k, &acc, BPF_ANY))
			return -errno;
	}
	while (bpf_map_get_next_key(fd, first ? NULL : &k, &next) == 0) {
		bool keep = false;

		for (size_t i = 0; i < cfg->n_prefixes && !keep; i++) {
			struct tg_prefix_key want;

			probe_prefix_key(&want, cfg->prefixes[i].prefix);
			keep = want.prefixlen == next.prefixlen &&
			       !memcmp(want.data, next.data, next.prefixlen / 8);
		}
		if (!keep && bpf_map_delete_elem(fd, &next) == 0) {
			first = true; /* iteration restarts after a delete */
			continue;
		}
		k = next;
		first = false;
	}
	return 0;
}

static int probe_apply_ports(struct tg_probe *p, const struct tg_config *cfg)
{
	int fd = bpf_map__fd(p->skel->maps.tg_net_ports);
	uint16_t k, next;
	uint8_t one = 1;
	bool first = true;

	for (size_t i = 0; i < cfg->n_ports; i++)
		if (bpf_map_update_elem(fd, &cfg->ports[i], &one, BPF_ANY))
			return -errno;
	while (bpf_map_get_next_key(fd, first ? NULL : &k, &next) == 0) {
		bool keep = false;

		for (size_t i = 0; i < cfg->n_ports && !keep; i++)
			keep = cfg->ports[i] == next;
		if (!keep && bpf_map_delete_elem(fd, &next) == 0) {
			first = true;
			continue;
		}
		k = next;
		first = false;
	}
	return 0;
}

int probe_apply(struct tg_probe *p, const struct tg_config *cfg)
{
	int err;

	p->settings.classes = cfg->classes;
	p->settings.flags = 0;
	if (cfg->n_prefixes || cfg->opens_off)
		p->settings.flags |= TG_S_FILE_PREFIX_FILTER;
	if (cfg->n_ports)
		p->settings.flags |= TG_S_NET_PORT_FILTER;
	if (cfg->threads)
		p->settings.flags |= TG_S_THREADS;
	if (cfg->flows && p->flows_ok)
		p->settings.flags |= TG_S_FLOWS;
	if (cfg->unix_connect)
		p->settings.flags |= TG_S_UNIX_CONNECT;
	if (p->uring_ok)
		p->settings.flags |= TG_S_DIRCACHE;
	if (cfg->close_writes)
		p->settings.flags |= TG_S_CLOSE_WRITES;
	/* Filters first, syscall table last: a syscall is only routed to a
	 * handler once the filters it depends on are in place. */
	err = probe_apply_prefixes(p, cfg);
	if (!err)
		err = probe_apply_prefix_dirs(p, cfg);
	if (!err)
		err = probe_apply_ports(p, cfg);
	/* cached directory verdicts were computed against the old prefixes */
	__atomic_fetch_add(&p->skel->bss->tg_dir_gen, 1, __ATOMIC_SEQ_CST);
	if (!err)
		err = probe_write_settings(p);
	if (!err)
		err = probe_apply_syscalls(p, cfg->classes);
	if (err)
		fprintf(stderr, "twinguard: failed to apply kernel filters: %s\n", strerror(-err));
	return err;
}

static int probe_flows_drain(struct bpf_map *map, tg_flow_fn fn, void *ctx)
{
	int fd = bpf_map__fd(map);
	struct tg_flow_key k;
	struct tg_flow_val v;
	uint32_t max = bpf_map__max_entries(map);
	int n = 0;

	/* Always take the first key and delete it: bounded by the map size. */
	for (uint32_t i = 0; i <= max; i++) {
		if (bpf_map_get_next_key(fd, NULL, &k))
			break;
		if (bpf_map_lookup_elem(fd, &k, &v) == 0) {
			fn(ctx, &k, &v);
			n++;
		}
		bpf_map_delete_elem(fd, &k);
	}
	return n;
}

int probe_flows_flush(struct tg_probe *p, tg_flow_fn fn, void *ctx, bool final)
{
	struct bpf_map *maps[2] = { p->skel->maps.tg_flows0, p->skel->maps.tg_flows1 };
	unsigned idle = p->flow_gen ^ 1;
	int n, err;

	if (final)
		return probe_flows_drain(maps[0], fn, ctx) + probe_flows_drain(maps[1], fn, ctx);
	/* The idle map took no adds for a whole period: safe to drain, then
	 * it becomes the active one. */
	n = probe_flows_drain(maps[idle], fn, ctx);
	p->flow_gen = idle;
	err = probe_write_settings(p);
	return err ? err : n;
}

void probe_detach(struct tg_probe *p)
{
	for (unsigned i = 0; i < p->n_links; i++)
		bpf_link__destroy(p->links[i]);
	p->n_links = 0;
}

void probe_close(struct tg_probe *p)
{
	if (!p)
		return;
	probe_detach(p);
	ring_buffer__free(p->rb);
	p->rb = NULL;
	twinguard_bpf__destroy(p->skel);
	p->skel = NULL;
	free(p);
}
