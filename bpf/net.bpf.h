/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Network handlers and per-flow byte counters. Addresses come from the
 * sockaddr the caller passed (connect, bind, sendto) or from the socket the
 * kernel built (accept, listen), so a peer is what the kernel saw.
 */
#ifndef TG_NET_BPF_H
#define TG_NET_BPF_H

#include <bpf/bpf_endian.h>
#include "syscall.bpf.h"

#define TG_AF_UNIX 1
#define TG_AF_INET 2
#define TG_AF_INET6 10
#define TG_SOCK_DGRAM 2
#define TG_IPPROTO_TCP 6
#define TG_IPPROTO_UDP 17

static __always_inline bool tg_port_ok(__u16 port)
{
	struct tg_settings *cfg = tg_settings_get();

	if (!cfg || !(cfg->flags & TG_S_NET_PORT_FILTER))
		return true;
	return bpf_map_lookup_elem(&tg_net_ports, &port) != NULL;
}

/* Store a user sockaddr as the remote (daddr) or local (saddr) end.
 * Returns the family, 0 when unreadable. */
static __always_inline __u16 tg_net_sockaddr(struct tg_scratch *s, const void *uaddr, bool remote)
{
	struct tg_net *n = &s->ev.u.net;
	__u16 family = 0, port = 0;
	__u8 *addr = remote ? n->daddr : n->saddr;

	if (!uaddr || bpf_probe_read_user(&family, sizeof(family), uaddr))
		return 0;
	n->family = family;
	if (family == TG_AF_INET) {
		bpf_probe_read_user(&port, 2, uaddr + 2);
		bpf_probe_read_user(addr, 4, uaddr + 4);
	} else if (family == TG_AF_INET6) {
		bpf_probe_read_user(&port, 2, uaddr + 2);
		bpf_probe_read_user(addr, 16, uaddr + 8);
	} else if (family == TG_AF_UNIX) {
		tg_str_user(s, 0, uaddr + 2, 108);
		return family;
	}
	port = bpf_ntohs(port);
	if (remote)
		n->dport = port;
	else
		n->sport = port;
	return family;
}

/* Local and remote address of a socket. Arrays are read with an explicit
 * size: BPF_CORE_READ_INTO would copy sizeof(*dst), one byte. */
static __always_inline void tg_sk_addrs(struct sock *sk, __u16 family, __u8 *saddr, __u8 *daddr)
{
	if (family == TG_AF_INET) {
		bpf_core_read(saddr, 4, &sk->__sk_common.skc_rcv_saddr);
		if (daddr)
			bpf_core_read(daddr, 4, &sk->__sk_common.skc_daddr);
	} else if (family == TG_AF_INET6) {
		bpf_core_read(saddr, 16, &sk->__sk_common.skc_v6_rcv_saddr);
		if (daddr)
			bpf_core_read(daddr, 16, &sk->__sk_common.skc_v6_daddr);
	}
}

/* Fill local and, when peer, remote ends from a socket. */
static __always_inline void tg_net_from_sock(struct tg_scratch *s, struct sock *sk, bool peer)
{
	struct tg_net *n = &s->ev.u.net;
	__u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);

	n->family = family;
	n->sport = BPF_CORE_READ(sk, __sk_common.skc_num);
	tg_sk_addrs(sk, family, n->saddr, peer ? n->daddr : NULL);
	if (peer)
		n->dport = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
}

static __always_inline bool tg_family_wanted(__u16 family)
{
	struct tg_settings *cfg = tg_settings_get();

	if (family == TG_AF_INET || family == TG_AF_INET6)
		return true;
	return family == TG_AF_UNIX && cfg && (cfg->flags & TG_S_UNIX_CONNECT);
}

SEC("tp_btf/sys_exit")
int BPF_PROG(tg_h_connect, struct pt_regs *regs, long ret)
{
	struct tg_scratch *s = tg_sc_start(TG_EV_CONNECT, regs, ret);
	struct socket *sock;
	__u16 family;

	if (!s)
		return 0;
	s->ev.u.net.fd = tg_arg(regs, 0);
	family = tg_net_sockaddr(s, (const void *)tg_arg(regs, 1), true);
	if (!tg_family_wanted(family) || !tg_port_ok(s->ev.u.net.dport))
		goto filtered;
	sock = tg_fd_socket(s->ev.u.net.fd);
	if (sock) {
		struct sock *sk = BPF_CORE_READ(sock, sk);

		s->ev.u.net.sock_type = BPF_CORE_READ(sock, type);
		if (sk && family != TG_AF_UNIX) {
			s->ev.u.net.sport = BPF_CORE_READ(sk, __sk_common.skc_num);
			tg_sk_addrs(sk, family, s->ev.u.net.saddr, NULL);
		}
	}
	tg_submit(s);
	return 0;
filtered:
	TG_COUNT(filtered);
	return 0;
}

/* accept and listen read the socket the kernel holds for the fd. */
static __always_inline int tg_sock_event(struct pt_regs *regs, long ret, __u16 type, long fd, bool peer)
{
	struct tg_scratch *s;
	struct socket *sock = tg_fd_socket(fd);
	struct sock *sk;

	if (!sock)
		return 0;
	sk = BPF_CORE_READ(sock, sk);
	if (!sk)
		return 0;
	s = tg_sc_start(type, regs, ret);
	if (!s)
		return 0;
	s->ev.u.net.fd = fd;
	s->ev.u.net.sock_type = BPF_CORE_READ(sock, type);
	tg_net_from_sock(s, sk, peer);
	if (!tg_family_wanted(s->ev.u.net.family) || !tg_port_ok(s->ev.u.net.sport)) {
		TG_COUNT(filtered);
		return 0;
	}
	if (type == TG_EV_LISTEN)
		s->ev.u.net.backlog = tg_arg(regs, 1);
	return tg_submit(s);
}

SEC("tp_btf/sys_exit")
int BPF_PROG(tg_h_accept, struct pt_regs *regs, long ret)
{
	if (ret >= 0)
		tg_sock_event(regs, ret, TG_EV_ACCEPT, ret, true);
	return 0;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(tg_h_listen, struct pt_regs *regs, long ret)
{
	tg_sock_event(regs, ret, TG_EV_LISTEN, tg_arg(regs, 0), false);
	return 0;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(tg_h_bind, struct pt_regs *regs, long ret)
{
	struct tg_scratch *s = tg_sc_start(TG_EV_BIND, regs, ret);
	struct socket *sock;
	__u16 family;

	if (!s)
		return 0;
	s->ev.u.net.fd = tg_arg(regs, 0);
	family = tg_net_sockaddr(s, (const void *)tg_arg(regs, 1), false);
	/* Every bind of an inet or unix socket; netlink binds are noise. */
	if (family != TG_AF_INET && family != TG_AF_INET6 && family != TG_AF_UNIX)
		goto filtered;
	if (family != TG_AF_UNIX && !tg_port_ok(s->ev.u.net.sport))
		goto filtered;
	sock = tg_fd_socket(s->ev.u.net.fd);
	if (sock)
		s->ev.u.net.sock_type = BPF_CORE_READ(sock, type);
	tg_submit(s);
	return 0;
filtered:
	TG_COUNT(filtered);
	return 0;
}

/* UDP sends with their destination: how DNS and other datagram traffic
 * shows up. Stream sockets are covered by connect + flow counters. */
static __always_inline int tg_udp_send(struct pt_regs *regs, long ret, const void *uaddr, bool mmsg)
{
	struct socket *sock = tg_fd_socket(tg_arg(regs, 0));
	struct tg_scratch *s;
	struct sock *sk;

	if (!sock || BPF_CORE_READ(sock, type) != TG_SOCK_DGRAM)
		return 0;
	sk = BPF_CORE_READ(sock, sk);
	if (!sk)
		return 0;
	s = tg_sc_start(TG_EV_SENDTO, regs, ret);
	if (!s)
		return 0;
	tg_net_from_sock(s, sk, !uaddr);
	if (uaddr)
		tg_net_sockaddr(s, uaddr, true);
	if (s->ev.u.net.family != TG_AF_INET && s->ev.u.net.family != TG_AF_INET6)
		return 0;
	if (!tg_port_ok(s->ev.u.net.dport)) {
		TG_COUNT(filtered);
		return 0;
	}
	s->ev.u.net.fd = tg_arg(regs, 0);
	s->ev.u.net.sock_type = TG_SOCK_DGRAM;
	/* sendmmsg returns messages sent, not bytes */
	if (mmsg)
		s->ev.u.net.count = ret > 0 ? ret : 0;
	else
		s->ev.u.net.bytes = ret > 0 ? ret : 0;
	return tg_submit(s);
}

SEC("tp_btf/sys_exit")
int BPF_PROG(tg_h_sendto, struct pt_regs *regs, long ret)
{
	tg_udp_send(regs, ret, (const void *)tg_arg(regs, 4), false);
	return 0;
}

/* sendmsg(fd, msghdr*) and sendmmsg(fd, mmsghdr*) (variant TG_V_AT):
 * msg_name is the first member of both, so the first datagram's
 * destination is read the same way. */
SEC("tp_btf/sys_exit")
int BPF_PROG(tg_h_sendmsg, struct pt_regs *regs, long ret)
{
	void *name = NULL;

	/* a 32-bit caller's msghdr holds a 4-byte pointer */
	bpf_probe_read_user(&name, tg_call_compat() ? 4 : sizeof(name), (void *)tg_arg(regs, 1));
	tg_udp_send(regs, ret, name, tg_variant(regs) == TG_V_AT);
	return 0;
}

static __always_inline void tg_flow_key(struct tg_flow_key *k, struct sock *sk, __u16 family)
{
	k->family = family;
	k->proto = BPF_CORE_READ(sk, sk_protocol);
	k->sport = BPF_CORE_READ(sk, __sk_common.skc_num);
	k->dport = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
	tg_sk_addrs(sk, family, k->saddr, k->daddr);
}

/* Bytes sent, aggregated per (process, flow) in the kernel; userspace turns
 * the map into flow events every flush period. */
SEC("tp_btf/sock_send_length")
int BPF_PROG(tg_sock_send, struct sock *sk, int ret, int flags)
{
	struct tg_settings *cfg = tg_settings_get();
	struct tg_flow_key key = {};
	struct tg_flow_val *val;
	__u16 family;
	void *map;

	if (ret <= 0 || !cfg || !(cfg->flags & TG_S_FLOWS) ||
	    !(cfg->classes & TG_CLASS_NETWORK))
		return 0;
	family = BPF_CORE_READ(sk, __sk_common.skc_family);
	if (family != TG_AF_INET && family != TG_AF_INET6)
		return 0;
	key.tgid = bpf_get_current_pid_tgid() >> 32;
	if (key.tgid == tg_self_tgid)
		return 0;
	tg_flow_key(&key, sk, family);
	map = (cfg->flow_gen & 1) ? (void *)&tg_flows1 : (void *)&tg_flows0;
	val = bpf_map_lookup_elem(map, &key);
	if (!val) {
		struct tg_flow_val init = {};

		init.first_ns = bpf_ktime_get_boot_ns();
		init.start_ns = tg_task_start_ns(tg_current());
		init.uid = (__u32)bpf_get_current_uid_gid();
		if (bpf_map_update_elem(map, &key, &init, BPF_NOEXIST) == -7 /* E2BIG */) {
			TG_COUNT(flow_drops);
			return 0;
		}
		val = bpf_map_lookup_elem(map, &key);
		if (!val)
			return 0;
	}
	__sync_fetch_and_add(&val->bytes, ret);
	__sync_fetch_and_add(&val->count, 1);
	val->last_ns = bpf_ktime_get_boot_ns();
	return 0;
}

#endif
