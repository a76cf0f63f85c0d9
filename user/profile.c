/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * profile: the questions the twin.* fields are made of (is this exe a
 * twin service, which role has this path or port, may this peer talk to
 * the twin) and the CIDR networks they match. Loading the profile is
 * profile_load.c; see profile_priv.h for the module's files.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "path.h"
#include "profile.h"
#include "profile_priv.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define F(f) offsetof(struct tg_profile, f)

static bool strs_has(const struct tg_strs *s, const char *str)
{
	for (size_t i = 0; s && i < s->n; i++)
		if (strcmp(s->v[i], str) == 0)
			return true;
	return false;
}

/* ------------------------------------------------------------------ */
/* CIDR                                                               */

/* "::ffff:a.b.c.d" is how an AF_INET6 socket shows an IPv4 peer. */
static const uint8_t v4mapped_prefix[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

/* Address text to (family, bytes); a v4-mapped IPv6 address becomes IPv4 so
 * that IPv4 networks match it. */
static bool ip_parse(const char *s, int *family, uint8_t addr[16])
{
	struct in6_addr a6;

	memset(addr, 0, 16);
	if (inet_pton(AF_INET, s, addr) == 1) {
		*family = AF_INET;
		return true;
	}
	if (inet_pton(AF_INET6, s, &a6) != 1)
		return false;
	if (memcmp(a6.s6_addr, v4mapped_prefix, sizeof(v4mapped_prefix)) == 0) {
		memcpy(addr, a6.s6_addr + 12, 4);
		*family = AF_INET;
	} else {
		memcpy(addr, a6.s6_addr, 16);
		*family = AF_INET6;
	}
	return true;
}

static bool prefix_equal(const uint8_t *a, const uint8_t *b, unsigned bits)
{
	unsigned bytes = bits / 8, rest = bits % 8;

	if (memcmp(a, b, bytes) != 0)
		return false;
	if (!rest)
		return true;
	return ((a[bytes] ^ b[bytes]) & (uint8_t)(0xff << (8 - rest))) == 0;
}

/* Clear the host bits; true when some were set. */
static bool mask_host_bits(struct tg_cidr *c)
{
	unsigned total = c->family == AF_INET ? 32 : 128;
	bool had = false;

	for (unsigned bit = c->prefix; bit < total; bit++) {
		uint8_t m = (uint8_t)(0x80 >> (bit % 8));

		if (c->addr[bit / 8] & m) {
			had = true;
			c->addr[bit / 8] &= (uint8_t)~m;
		}
	}
	return had;
}

/* Parses into out with the host bits cleared (profile_priv.h). */
enum profile_cidr_err profile_cidr_read(const char *s, struct tg_cidr *out)
{
	char buf[INET6_ADDRSTRLEN + 8];
	const char *slash = strchr(s, '/');
	size_t alen = slash ? (size_t)(slash - s) : strlen(s);
	unsigned prefix = 0, max;
	bool mapped = false;
	struct in6_addr a6;

	memset(out, 0, sizeof(*out));
	if (alen == 0 || alen >= sizeof(buf))
		return CIDR_SYNTAX;
	memcpy(buf, s, alen);
	buf[alen] = '\0';
	if (inet_pton(AF_INET, buf, out->addr) == 1) {
		out->family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, buf, &a6) == 1) {
		mapped = memcmp(a6.s6_addr, v4mapped_prefix, sizeof(v4mapped_prefix)) == 0;
		memcpy(out->addr, a6.s6_addr, 16);
		out->family = AF_INET6;
		max = 128;
	} else {
		return CIDR_SYNTAX;
	}
	if (slash) {
		const char *d = slash + 1;

		/* Digits only: strtoul would take " 8", "+8" and "0x8". */
		if (!*d || strlen(d) > 3)
			return CIDR_SYNTAX;
		for (; *d; d++) {
			if (*d < '0' || *d > '9')
				return CIDR_SYNTAX;
			prefix = prefix * 10 + (unsigned)(*d - '0');
		}
		if (prefix > max)
			return CIDR_SYNTAX;
	} else {
		prefix = max;
	}
	out->prefix = prefix;
	if (mapped) {
		/* Stored as the IPv4 network it denotes; ip_parse maps peers the
		 * same way. A prefix shorter than the mapped part would cover
		 * more than IPv4 space: refuse rather than guess. */
		if (prefix < 96)
			return CIDR_SYNTAX;
		memmove(out->addr, out->addr + 12, 4);
		memset(out->addr + 4, 0, 12);
		out->family = AF_INET;
		out->prefix = prefix - 96;
	}
	return mask_host_bits(out) ? CIDR_HOST_BITS : CIDR_OK;
}

int profile_parse_cidr(const char *s, struct tg_cidr *out)
{
	struct tg_cidr c;

	if (!s || !out || profile_cidr_read(s, &c) != CIDR_OK) {
		errno = EINVAL;
		return -1;
	}
	*out = c;
	return 0;
}

bool profile_cidr_match(const struct tg_cidr *c, size_t n, const char *ip)
{
	uint8_t addr[16];
	int family;

	if (!c || !ip || !ip_parse(ip, &family, addr))
		return false;
	for (size_t i = 0; i < n; i++)
		if (c[i].family == family && prefix_equal(c[i].addr, addr, c[i].prefix))
			return true;
	return false;
}

void profile_cidr_format(const struct tg_cidr *c, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	if (!inet_ntop(c->family, c->addr, a, sizeof(a)))
		snprintf(a, sizeof(a), "?");
	snprintf(buf, len, "%s/%u", a, c->prefix);
}

/* ------------------------------------------------------------------ */
/* Questions                                                          */

bool profile_is_service(const struct tg_profile *p, const char *exe)
{
	return p && exe && strs_has(&p->services, exe);
}

bool profile_is_deployer(const struct tg_profile *p, const char *exe)
{
	return p && exe && strs_has(&p->deployers, exe);
}

bool profile_is_client(const struct tg_profile *p, const char *exe)
{
	return p && exe && strs_has(&p->clients, exe);
}

/* The longest listed directory that holds path decides, so a data dir
 * inside a model dir makes its files data, not model. */
const char *profile_path_role(const struct tg_profile *p, const char *path)
{
	static const struct {
		size_t off;
		const char *role;
	} roles[] = {
		{ F(model_dirs), "model" },
		{ F(data_dirs), "data" },
		{ F(config_dirs), "config" },
	};
	const char *best = NULL;
	size_t best_len = 0;

	if (!p || !path || path[0] != '/')
		return NULL;
	for (size_t r = 0; r < ARRAY_SIZE(roles); r++) {
		const struct tg_strs *s = FIELD_AT(p, roles[r].off, const struct tg_strs);

		for (size_t i = 0; i < s->n; i++) {
			size_t len = strlen(s->v[i]);

			if ((!best || len > best_len) && path_has_prefix(path, s->v[i])) {
				best = roles[r].role;
				best_len = len;
			}
		}
	}
	return best;
}

static bool ports_has(const uint16_t *v, size_t n, uint16_t port)
{
	for (size_t i = 0; v && i < n; i++)
		if (v[i] == port)
			return true;
	return false;
}

const char *profile_port_role(const struct tg_profile *p, uint16_t port)
{
	if (!p || port == 0)
		return NULL;
	if (ports_has(p->control_ports, p->n_control_ports, port))
		return "control";
	if (ports_has(p->data_ports, p->n_data_ports, port))
		return "data";
	return NULL;
}

bool profile_egress_allowed(const struct tg_profile *p, const char *ip)
{
	return p && profile_cidr_match(p->egress_nets, p->n_egress_nets, ip);
}

bool profile_client_net(const struct tg_profile *p, const char *ip)
{
	return p && profile_cidr_match(p->client_nets, p->n_client_nets, ip);
}


bool profile_under_dirs(const struct tg_strs *dirs, const char *path)
{
	for (size_t i = 0; i < dirs->n; i++)
		if (path_has_prefix(path, dirs->v[i]))
			return true;
	return false;
}
