/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * profile: load the twin profile (docs/profile.md) and answer the questions
 * the twin.* fields are made of.
 *
 * The file is JSON with // and slash-star comments. Comments are blanked
 * with spaces in a copy of the text (newlines kept), so every byte offset
 * in the copy is the same as in the file. A strict JSON check (json_check)
 * runs on the copy first and reports a syntax error at its exact
 * line:col; then cJSON builds the tree. cJSON keeps no positions, so
 * locate() walks the (by then valid) text to the Nth member of the
 * top-level object and the Nth element of its array: a bad value is
 * reported where it is even when the same string also appears in a
 * comment or earlier in the file (a text search would find those first).
 *
 * A load fills a fresh profile that starts from the shipped defaults
 * (a key left out keeps its default) and replaces the caller's profile only
 * when the whole file was valid. The result depends only on the file, not
 * on what the profile held before: a reload after a key was deleted from
 * the file gets that key's default back, not its old value.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "diag.h"
#include "path.h"
#include "profile.h"

#define PROFILE_MAX_BYTES (1u << 20)  /* stops `--profile /dev/zero` reading forever */
#define NAME_MAX_BYTES 128

/* The shipped defaults (rules/profile/twin-profile.json must say the same; a unit
 * test holds them together): a generic twin stack. */
static const char *const def_services[] = { "/opt/twin/bin/twin-engine", "/usr/sbin/mosquitto" };
static const char *const def_model_dirs[] = { "/var/lib/twin/models" };
static const char *const def_data_dirs[] = { "/var/lib/twin/data" };
static const char *const def_config_dirs[] = { "/etc/twin" };
static const char *const def_deployers[] = { "/opt/twin/bin/twin-deploy" };
static const char *const def_clients[] = { "/opt/twin/bin/twin-operator" };
static const char *const def_ingest_writers[] = { "/opt/twin/bin/twin-gateway" };
static const uint16_t def_control_ports[] = { 8080, 8443, 4840, 502 };
static const uint16_t def_data_ports[] = { 1883, 8883 };
static const char *const def_client_nets[] = { "127.0.0.0/8", "::1/128" };
static const char *const def_egress_nets[] = {
	"127.0.0.0/8", "::1/128", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16",
};

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

enum key_kind { K_NAME, K_EXES, K_DIRS, K_PORTS, K_NETS, K_BOOL };

struct key_def {
	const char *name;
	enum key_kind kind;
	size_t off;            /* the struct tg_strs, uint16_t * or struct tg_cidr * */
	size_t n_off;          /* K_PORTS, K_NETS: the count beside it */
};

#define F(f) offsetof(struct tg_profile, f)

/* Order is the order of the file's documentation and of "expected one of". */
static const struct key_def keys[] = {
	{ "name", K_NAME, 0, 0 },
	{ "services", K_EXES, F(services), 0 },
	{ "model_dirs", K_DIRS, F(model_dirs), 0 },
	{ "data_dirs", K_DIRS, F(data_dirs), 0 },
	{ "config_dirs", K_DIRS, F(config_dirs), 0 },
	{ "deployers", K_EXES, F(deployers), 0 },
	{ "clients", K_EXES, F(clients), 0 },
	{ "ingest_writers", K_EXES, F(ingest_writers), 0 },
	{ "control_ports", K_PORTS, F(control_ports), F(n_control_ports) },
	{ "data_ports", K_PORTS, F(data_ports), F(n_data_ports) },
	{ "client_networks", K_NETS, F(client_nets), F(n_client_nets) },
	{ "egress_networks", K_NETS, F(egress_nets), F(n_egress_nets) },
	{ "manifest_auto_update", K_BOOL, 0, 0 },
};

#define N_KEYS ARRAY_SIZE(keys)

#define FIELD_AT(p, off, type) ((type *)(void *)((char *)(p) + (off)))

/* ------------------------------------------------------------------ */
/* Lists                                                              */

static void strs_free(struct tg_strs *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	s->v = NULL;
	s->n = 0;
}

static int strs_push(struct tg_strs *s, const char *str)
{
	char **v = realloc(s->v, (s->n + 1) * sizeof(*v));

	if (!v)
		return -1;
	s->v = v;
	v[s->n] = strdup(str);
	if (!v[s->n])
		return -1;
	s->n++;
	return 0;
}

static bool strs_has(const struct tg_strs *s, const char *str)
{
	for (size_t i = 0; s && i < s->n; i++)
		if (strcmp(s->v[i], str) == 0)
			return true;
	return false;
}

void profile_free(struct tg_profile *p)
{
	if (!p)
		return;
	free(p->name);
	free(p->source);
	for (size_t k = 0; k < N_KEYS; k++)
		if (keys[k].kind == K_EXES || keys[k].kind == K_DIRS)
			strs_free(FIELD_AT(p, keys[k].off, struct tg_strs));
	free(p->control_ports);
	free(p->data_ports);
	free(p->client_nets);
	free(p->egress_nets);
	memset(p, 0, sizeof(*p));
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

enum cidr_err { CIDR_OK, CIDR_SYNTAX, CIDR_HOST_BITS };

/* Parses into out with the host bits cleared, so a caller that reports
 * CIDR_HOST_BITS can show the network that was probably meant. */
static enum cidr_err cidr_parse(const char *s, struct tg_cidr *out)
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

	if (!s || !out || cidr_parse(s, &c) != CIDR_OK) {
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

static void cidr_format(const struct tg_cidr *c, char *buf, size_t len)
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

/* ------------------------------------------------------------------ */
/* Defaults                                                           */

static int strs_from(struct tg_strs *s, const char *const *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strs_push(s, v[i]))
			return -1;
	return 0;
}

static int ports_from(uint16_t **dst, size_t *n, const uint16_t *v, size_t count)
{
	*dst = malloc(count * sizeof(**dst));
	if (!*dst)
		return -1;
	memcpy(*dst, v, count * sizeof(**dst));
	*n = count;
	return 0;
}

static int nets_from(struct tg_cidr **dst, size_t *n, const char *const *v, size_t count)
{
	*dst = calloc(count, sizeof(**dst));
	if (!*dst)
		return -1;
	for (size_t i = 0; i < count; i++)
		if (profile_parse_cidr(v[i], &(*dst)[i]))
			return -1;
	*n = count;
	return 0;
}

static int defaults_fill(struct tg_profile *p)
{
	p->name = strdup("generic-twin");
	if (!p->name)
		return -1;
	if (strs_from(&p->services, def_services, ARRAY_SIZE(def_services)) ||
	    strs_from(&p->model_dirs, def_model_dirs, ARRAY_SIZE(def_model_dirs)) ||
	    strs_from(&p->data_dirs, def_data_dirs, ARRAY_SIZE(def_data_dirs)) ||
	    strs_from(&p->config_dirs, def_config_dirs, ARRAY_SIZE(def_config_dirs)) ||
	    strs_from(&p->deployers, def_deployers, ARRAY_SIZE(def_deployers)) ||
	    strs_from(&p->clients, def_clients, ARRAY_SIZE(def_clients)) ||
	    strs_from(&p->ingest_writers, def_ingest_writers, ARRAY_SIZE(def_ingest_writers)))
		return -1;
	if (ports_from(&p->control_ports, &p->n_control_ports, def_control_ports,
		       ARRAY_SIZE(def_control_ports)) ||
	    ports_from(&p->data_ports, &p->n_data_ports, def_data_ports, ARRAY_SIZE(def_data_ports)))
		return -1;
	if (nets_from(&p->client_nets, &p->n_client_nets, def_client_nets,
		      ARRAY_SIZE(def_client_nets)) ||
	    nets_from(&p->egress_nets, &p->n_egress_nets, def_egress_nets,
		      ARRAY_SIZE(def_egress_nets)))
		return -1;
	p->manifest_auto_update = true;
	return 0;
}

/*
 * The contract returns nothing, and an empty profile would quietly switch
 * every twin rule off: a host that cannot allocate a few hundred bytes at
 * start is better stopped loudly.
 */
void profile_defaults(struct tg_profile *p)
{
	memset(p, 0, sizeof(*p));
	if (defaults_fill(p) == 0)
		return;
	profile_free(p);
	fprintf(stderr, "twinguard: failed to allocate the twin profile defaults: %s\n",
		strerror(ENOMEM));
	abort();
}

/* ------------------------------------------------------------------ */
/* Positions in the text                                              */

struct loader {
	const char *file;      /* name in messages */
	const char *text;      /* the file as read: positions are counted here */
	const char *json;      /* comments blanked: same offsets as text */
	size_t len;
	struct tg_diag *diag;
	struct tg_profile *p;  /* the profile being built */
	int member[N_KEYS];    /* member index of each key in the object, -1 = absent */
};

static size_t skip_ws(const char *s, size_t i, size_t n)
{
	while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r'))
		i++;
	return i;
}

static size_t skip_string(const char *s, size_t i, size_t n)
{
	for (i++; i < n && s[i] != '"'; i++)
		if (s[i] == '\\')
			i++;
	return i < n ? i + 1 : n;
}

static size_t skip_value(const char *s, size_t i, size_t n)
{
	int depth = 0;

	if (i < n && s[i] == '"')
		return skip_string(s, i, n);
	if (i < n && s[i] != '[' && s[i] != '{') {
		while (i < n && !strchr(",]} \t\r\n", s[i]))
			i++;
		return i;
	}
	while (i < n) {
		if (s[i] == '"') {
			i = skip_string(s, i, n);
			continue;
		}
		if (s[i] == '[' || s[i] == '{')
			depth++;
		else if ((s[i] == ']' || s[i] == '}') && --depth == 0)
			return i + 1;
		i++;
	}
	return n;
}

/*
 * Offset of member m of the top-level object (its key when elem == -2, its
 * value when -1) or of element elem of that member's array. The text was
 * accepted by cJSON, whose members and elements are in text order.
 */
static bool locate(const struct loader *L, int m, int elem, size_t *off)
{
	const char *s = L->json;
	size_t n = L->len, i = skip_ws(s, 0, n);

	if (i >= n || s[i] != '{')
		return false;
	for (int cur = 0;; cur++) {
		size_t key;

		i = skip_ws(s, i + 1, n);
		if (i >= n || s[i] != '"')
			return false;
		key = i;
		i = skip_ws(s, skip_string(s, i, n), n);
		if (i >= n || s[i] != ':')
			return false;
		i = skip_ws(s, i + 1, n);
		if (cur == m) {
			if (elem == -2 || elem == -1) {
				*off = elem == -2 ? key : i;
				return true;
			}
			if (i >= n || s[i] != '[')
				return false;
			for (int e = 0;; e++) {
				i = skip_ws(s, i + 1, n);
				if (i >= n || s[i] == ']')
					return false;
				if (e == elem) {
					*off = i;
					return true;
				}
				i = skip_ws(s, skip_value(s, i, n), n);
				if (i >= n || s[i] != ',')
					return false;
			}
		}
		i = skip_ws(s, skip_value(s, i, n), n);
		if (i >= n || s[i] != ',')
			return false;
	}
}

static void report(struct loader *L, bool warning, int m, int elem, const char *item,
		   const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/* One entry at the member/element's line:col (or with no line when it
 * cannot be found, which only a bug in locate() would cause). */
static void report(struct loader *L, bool warning, int m, int elem, const char *item,
		   const char *fmt, ...)
{
	char msg[1024];
	int line = 0, col = 0;
	size_t off;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (m >= 0 && locate(L, m, elem, &off))
		diag_position(L->text, off, &line, &col);
	if (warning)
		diag_warn(L->diag, L->file, line, col, item, "%s", msg);
	else
		diag_error(L->diag, L->file, line, col, item, "%s", msg);
}

static void report_at(struct loader *L, size_t off, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void report_at(struct loader *L, size_t off, const char *fmt, ...)
{
	char msg[1024];
	int line, col;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	diag_position(L->text, off, &line, &col);
	diag_error(L->diag, L->file, line, col, NULL, "%s", msg);
}

static void oom(struct loader *L)
{
	diag_error(L->diag, L->file, 0, 0, NULL, "out of memory; expected to allocate the profile");
}

/* ------------------------------------------------------------------ */
/* Values                                                             */

static const char *json_kind(const cJSON *v)
{
	if (cJSON_IsString(v))
		return "a string";
	if (cJSON_IsNumber(v))
		return "a number";
	if (cJSON_IsArray(v))
		return "an array";
	if (cJSON_IsObject(v))
		return "an object";
	if (cJSON_IsTrue(v))
		return "true";
	if (cJSON_IsFalse(v))
		return "false";
	return "null";
}

static const char *kind_expected(enum key_kind k)
{
	switch (k) {
	case K_NAME:
		return "a non-empty string such as \"plant-3-twin\"";
	case K_EXES:
		return "an array of absolute executable paths such as [\"/opt/twin/bin/twin-engine\"]";
	case K_DIRS:
		return "an array of absolute directory paths such as [\"/var/lib/twin/models\"]";
	case K_PORTS:
		return "an array of port numbers such as [8080, 8443]";
	case K_NETS:
		return "an array of networks such as [\"10.0.0.0/8\", \"fd00::/8\"]";
	case K_BOOL:
		return "true or false";
	}
	return "?";
}

static int load_name(struct loader *L, int m, const cJSON *v)
{
	const char *s = cJSON_GetStringValue(v);
	size_t len;

	if (!s) {
		report(L, false, m, -1, "name", "is %s; expected %s", json_kind(v),
		       kind_expected(K_NAME));
		return -1;
	}
	len = strlen(s);
	if (len == 0 || len > NAME_MAX_BYTES) {
		report(L, false, m, -1, "name", "is %zu bytes long; expected 1 to %d bytes", len,
		       NAME_MAX_BYTES);
		return -1;
	}
	for (const char *c = s; *c; c++) {
		if ((unsigned char)*c < 0x20 || *c == 0x7f) {
			report(L, false, m, -1, "name",
			       "contains a control character; expected printable text");
			return -1;
		}
	}
	free(L->p->name);
	L->p->name = strdup(s);
	if (!L->p->name) {
		oom(L);
		return -1;
	}
	return 0;
}

/* An absolute path, lexically normalised the way the kernel reports paths
 * ("//" collapsed, "." and ".." applied, no trailing '/'). */
static int load_path(struct loader *L, int m, int e, const char *item, const cJSON *v,
		     bool dir, char *out, size_t outlen)
{
	const char *s = cJSON_GetStringValue(v);
	char real[PATH_MAX];

	if (!s) {
		report(L, false, m, e, item, "is %s; expected an absolute %s path string",
		       json_kind(v), dir ? "directory" : "executable");
		return -1;
	}
	if (s[0] != '/') {
		report(L, false, m, e, item,
		       "'%s' is not an absolute path; expected a path that starts with '/'", s);
		return -1;
	}
	if (path_normalize(s, out, outlen)) {
		report(L, false, m, e, item, "path is %zu bytes long; expected at most %zu bytes",
		       strlen(s), outlen - 1);
		return -1;
	}
	if (!dir && (strcmp(out, "/") == 0 || s[strlen(s) - 1] == '/')) {
		report(L, false, m, e, item,
		       "'%s' names a directory; expected the path of an executable file", s);
		return -1;
	}
	/* Events carry the path the kernel resolved (symlinks followed), so a
	 * symlink listed here would never match. Only a warning: the file may
	 * not exist yet on this host, or differ from where the profile is
	 * deployed. */
	if (realpath(out, real) && strcmp(real, out) != 0)
		report(L, true, m, e, item,
		       "'%s' resolves to '%s' on this host; expected the resolved path, which is "
		       "what events carry",
		       out, real);
	return 0;
}

static int load_paths(struct loader *L, int m, const struct key_def *k, const cJSON *v)
{
	struct tg_strs *dst = FIELD_AT(L->p, k->off, struct tg_strs);
	struct tg_strs work = { 0 };
	char item[64];
	char path[PATH_MAX];
	const cJSON *el;
	int e = 0, bad = 0;

	if (!cJSON_IsArray(v)) {
		if (cJSON_IsString(v))
			report(L, false, m, -1, k->name, "is a string; expected an array: [\"%s\"]",
			       v->valuestring);
		else
			report(L, false, m, -1, k->name, "is %s; expected %s", json_kind(v),
			       kind_expected(k->kind));
		return -1;
	}
	cJSON_ArrayForEach(el, v) {
		snprintf(item, sizeof(item), "%s[%d]", k->name, e);
		if (load_path(L, m, e, item, el, k->kind == K_DIRS, path, sizeof(path))) {
			bad = 1;
		} else {
			for (size_t i = 0; i < work.n; i++) {
				if (strcmp(work.v[i], path) == 0) {
					report(L, true, m, e, item,
					       "'%s' repeats %s[%zu]; expected each path once",
					       path, k->name, i);
					break;
				}
			}
			/* Kept even when repeated: indices stay those of the
			 * file, which the cross-role check reports by. */
			if (strs_push(&work, path)) {
				oom(L);
				bad = 1;
				break;
			}
		}
		e++;
	}
	if (bad) {
		strs_free(&work);
		return -1;
	}
	strs_free(dst);
	*dst = work;
	return 0;
}

static int load_ports(struct loader *L, int m, const struct key_def *k, const cJSON *v)
{
	uint16_t **dst = FIELD_AT(L->p, k->off, uint16_t *);
	size_t *n = FIELD_AT(L->p, k->n_off, size_t);
	uint16_t *work;
	size_t count = 0;
	char item[64];
	const cJSON *el;
	int bad = 0;

	if (!cJSON_IsArray(v)) {
		report(L, false, m, -1, k->name, "is %s; expected %s", json_kind(v),
		       kind_expected(k->kind));
		return -1;
	}
	work = malloc(((size_t)cJSON_GetArraySize(v) + 1) * sizeof(*work));
	if (!work) {
		oom(L);
		return -1;
	}
	cJSON_ArrayForEach(el, v) {
		int e = (int)count;
		double d = el->valuedouble;

		snprintf(item, sizeof(item), "%s[%d]", k->name, e);
		if (!cJSON_IsNumber(el)) {
			report(L, false, m, e, item, "is %s; expected a port number 1..65535",
			       json_kind(el));
			bad = 1;
		} else if (!(d >= 1 && d <= 65535) || d != (double)(long)d) {
			report(L, false, m, e, item, "%g is not a port; expected a whole number 1..65535",
			       d);
			bad = 1;
		} else {
			for (size_t i = 0; i < count; i++) {
				if (work[i] == (uint16_t)d) {
					report(L, true, m, e, item,
					       "port %u repeats %s[%zu]; expected each port once",
					       (unsigned)work[i], k->name, i);
					break;
				}
			}
		}
		work[count++] = bad ? 0 : (uint16_t)d;
	}
	if (bad) {
		free(work);
		return -1;
	}
	free(*dst);
	*dst = work;
	*n = count;
	return 0;
}

static int load_nets(struct loader *L, int m, const struct key_def *k, const cJSON *v)
{
	struct tg_cidr **dst = FIELD_AT(L->p, k->off, struct tg_cidr *);
	size_t *n = FIELD_AT(L->p, k->n_off, size_t);
	struct tg_cidr *work;
	size_t count = 0;
	char item[64], net[INET6_ADDRSTRLEN + 8];
	const cJSON *el;
	int bad = 0;

	if (!cJSON_IsArray(v)) {
		if (cJSON_IsString(v))
			report(L, false, m, -1, k->name, "is a string; expected an array: [\"%s\"]",
			       v->valuestring);
		else
			report(L, false, m, -1, k->name, "is %s; expected %s", json_kind(v),
			       kind_expected(k->kind));
		return -1;
	}
	work = calloc((size_t)cJSON_GetArraySize(v) + 1, sizeof(*work));
	if (!work) {
		oom(L);
		return -1;
	}
	cJSON_ArrayForEach(el, v) {
		int e = (int)count;
		const char *s = cJSON_GetStringValue(el);
		struct tg_cidr *c = &work[count++];

		snprintf(item, sizeof(item), "%s[%d]", k->name, e);
		if (!s) {
			report(L, false, m, e, item,
			       "is %s; expected a network string such as \"10.0.0.0/8\"",
			       json_kind(el));
			bad = 1;
			continue;
		}
		switch (cidr_parse(s, c)) {
		case CIDR_OK:
			break;
		case CIDR_HOST_BITS:
			cidr_format(c, net, sizeof(net));
			report(L, false, m, e, item,
			       "'%s' has bits set past the /%u prefix; expected the network "
			       "address: \"%s\"",
			       s, c->prefix, net);
			bad = 1;
			continue;
		case CIDR_SYNTAX:
			report(L, false, m, e, item,
			       "'%s' is not a network; expected an IPv4 or IPv6 address with an "
			       "optional /prefix, such as \"10.0.0.0/8\" or \"fd00::/8\"",
			       s);
			bad = 1;
			continue;
		}
		for (size_t i = 0; i + 1 < count; i++) {
			if (work[i].family == c->family && work[i].prefix == c->prefix &&
			    memcmp(work[i].addr, c->addr, 16) == 0) {
				report(L, true, m, e, item,
				       "'%s' repeats %s[%zu]; expected each network once", s,
				       k->name, i);
				break;
			}
		}
	}
	if (bad) {
		free(work);
		return -1;
	}
	free(*dst);
	*dst = work;
	*n = count;
	return 0;
}

static int load_member(struct loader *L, int m, size_t k, const cJSON *v)
{
	switch (keys[k].kind) {
	case K_NAME:
		return load_name(L, m, v);
	case K_EXES:
	case K_DIRS:
		return load_paths(L, m, &keys[k], v);
	case K_PORTS:
		return load_ports(L, m, &keys[k], v);
	case K_NETS:
		return load_nets(L, m, &keys[k], v);
	case K_BOOL:
		if (!cJSON_IsBool(v)) {
			report(L, false, m, -1, keys[k].name, "is %s; expected true or false",
			       json_kind(v));
			return -1;
		}
		L->p->manifest_auto_update = cJSON_IsTrue(v);
		return 0;
	}
	return -1;
}

static size_t key_index(const char *name)
{
	for (size_t k = 0; k < N_KEYS; k++)
		if (strcmp(keys[k].name, name) == 0)
			return k;
	return N_KEYS;
}

static void unknown_key(struct loader *L, int m, const char *name)
{
	char list[512];
	size_t used = 0;

	list[0] = '\0';
	for (size_t k = 0; k < N_KEYS && used < sizeof(list); k++)
		used += (size_t)snprintf(list + used, sizeof(list) - used, "%s%s", k ? ", " : "",
					 keys[k].name);
	report(L, false, m, -2, NULL, "unknown key '%s'; expected one of: %s", name, list);
}

/*
 * A path in two role lists, or a port in both port lists, would make
 * twin.file.role / twin.destination.port_role depend on list order:
 * refuse it. Nested directories are fine (the deeper one wins). Run only
 * when every list loaded, so list indices are the file's.
 */
static void check_roles(struct loader *L)
{
	const size_t dir_keys[] = { key_index("model_dirs"), key_index("data_dirs"),
				    key_index("config_dirs") };
	const int mc = L->member[key_index("control_ports")];
	const int md = L->member[key_index("data_ports")];
	const struct tg_profile *p = L->p;
	char item[64];

	for (size_t a = 0; a < ARRAY_SIZE(dir_keys); a++) {
		for (size_t b = a + 1; b < ARRAY_SIZE(dir_keys); b++) {
			const struct key_def *ka = &keys[dir_keys[a]], *kb = &keys[dir_keys[b]];
			const struct tg_strs *sa = FIELD_AT(p, ka->off, const struct tg_strs);
			const struct tg_strs *sb = FIELD_AT(p, kb->off, const struct tg_strs);
			/* Report on whichever list comes later in the file. */
			const int ma = L->member[dir_keys[a]], mb = L->member[dir_keys[b]];
			const bool b_later = mb >= ma;

			for (size_t i = 0; i < sa->n; i++) {
				for (size_t j = 0; j < sb->n; j++) {
					if (strcmp(sa->v[i], sb->v[j]) != 0)
						continue;
					snprintf(item, sizeof(item), "%s[%zu]",
						 b_later ? kb->name : ka->name, b_later ? j : i);
					report(L, false, b_later ? mb : ma, (int)(b_later ? j : i),
					       item,
					       "'%s' is also in %s%s; expected each directory in one "
					       "role (a nested directory is fine: the deeper one "
					       "wins)",
					       sa->v[i], b_later ? ka->name : kb->name,
					       (b_later ? ma : mb) < 0 ? " (its default)" : "");
				}
			}
		}
	}
	for (size_t j = 0; j < p->n_data_ports; j++) {
		for (size_t i = 0; i < p->n_control_ports; i++) {
			const bool d_later = md >= mc;

			if (p->control_ports[i] != p->data_ports[j])
				continue;
			snprintf(item, sizeof(item), "%s[%zu]",
				 d_later ? "data_ports" : "control_ports", d_later ? j : i);
			report(L, false, d_later ? md : mc, (int)(d_later ? j : i), item,
			       "port %u is also in %s%s; expected each port in one role",
			       (unsigned)p->data_ports[j], d_later ? "control_ports" : "data_ports",
			       (d_later ? mc : md) < 0 ? " (its default)" : "");
			break;
		}
	}
}

/* ------------------------------------------------------------------ */
/* Loading                                                            */

/*
 * Blank comments (// to end of line, slash-star to star-slash) with spaces,
 * keeping newlines, outside strings. Returns 0, or -1 with *bad at an
 * unterminated block comment.
 */
static int blank_comments(char *s, size_t n, size_t *bad)
{
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '"') {
			for (i++; i < n && s[i] != '"'; i++)
				if (s[i] == '\\')
					i++;
			continue;
		}
		if (s[i] != '/' || i + 1 >= n)
			continue;
		if (s[i + 1] == '/') {
			for (; i < n && s[i] != '\n'; i++)
				s[i] = ' ';
		} else if (s[i + 1] == '*') {
			size_t start = i;

			s[i] = s[i + 1] = ' ';
			for (i += 2; i < n && !(s[i] == '*' && i + 1 < n && s[i + 1] == '/'); i++)
				if (s[i] != '\n')
					s[i] = ' ';
			if (i >= n) {
				*bad = start;
				return -1;
			}
			s[i] = s[i + 1] = ' ';
			i++;
		}
	}
	return 0;
}

/*
 * A strict RFC 8259 check run before cJSON, for two reasons: cJSON's error
 * offset is sometimes one past the culprit (a trailing comma is reported
 * after the '}'), and it is lenient where a config file should not be
 * (leading zeros, raw control characters in strings). On the first error
 * it leaves the offset and what was expected there.
 */
#define JSON_MAX_DEPTH 64      /* a profile is two levels deep */

struct jcheck {
	const char *s;
	size_t n, i;
	const char *expected;  /* set on failure, with i at the culprit */
};

static bool jc_fail(struct jcheck *c, const char *expected)
{
	c->expected = expected;
	return false;
}

static bool jc_digit(const struct jcheck *c)
{
	return c->i < c->n && c->s[c->i] >= '0' && c->s[c->i] <= '9';
}

static bool jc_string(struct jcheck *c)
{
	static const char hex[] = "0123456789abcdefABCDEF";

	for (c->i++; c->i < c->n; c->i++) {
		unsigned char ch = (unsigned char)c->s[c->i];

		if (ch == '"') {
			c->i++;
			return true;
		}
		if (ch < 0x20)
			return jc_fail(c, "a closing '\"' (control characters in a string must be "
					  "escaped, such as \\n)");
		if (ch != '\\')
			continue;
		if (++c->i >= c->n)
			break;
		if (strchr("\"\\/bfnrt", c->s[c->i]))
			continue;
		if (c->s[c->i] != 'u')
			return jc_fail(c, "an escape: \\\" \\\\ \\/ \\b \\f \\n \\r \\t or \\uXXXX");
		for (int k = 0; k < 4; k++) {
			if (++c->i >= c->n || !strchr(hex, c->s[c->i]))
				return jc_fail(c, "four hex digits after \\u");
		}
	}
	return jc_fail(c, "a closing '\"'");
}

static bool jc_number(struct jcheck *c)
{
	if (c->s[c->i] == '-')
		c->i++;
	if (c->i < c->n && c->s[c->i] == '0')
		c->i++;
	else if (jc_digit(c))
		while (jc_digit(c))
			c->i++;
	else
		return jc_fail(c, "a digit");
	if (c->i < c->n && c->s[c->i] == '.') {
		c->i++;
		if (!jc_digit(c))
			return jc_fail(c, "a digit after '.'");
		while (jc_digit(c))
			c->i++;
	}
	if (c->i < c->n && (c->s[c->i] == 'e' || c->s[c->i] == 'E')) {
		c->i++;
		if (c->i < c->n && (c->s[c->i] == '+' || c->s[c->i] == '-'))
			c->i++;
		if (!jc_digit(c))
			return jc_fail(c, "a digit in the exponent");
		while (jc_digit(c))
			c->i++;
	}
	return true;
}

static bool jc_value(struct jcheck *c, int depth);

static bool jc_object(struct jcheck *c, int depth)
{
	c->i = skip_ws(c->s, c->i + 1, c->n);
	if (c->i < c->n && c->s[c->i] == '}') {
		c->i++;
		return true;
	}
	for (;;) {
		if (c->i >= c->n || c->s[c->i] != '"')
			return jc_fail(c, "a \"key\" in double quotes");
		if (!jc_string(c))
			return false;
		c->i = skip_ws(c->s, c->i, c->n);
		if (c->i >= c->n || c->s[c->i] != ':')
			return jc_fail(c, "':' after the key");
		c->i++;
		if (!jc_value(c, depth))
			return false;
		if (c->i < c->n && c->s[c->i] == '}') {
			c->i++;
			return true;
		}
		if (c->i >= c->n || c->s[c->i] != ',')
			return jc_fail(c, "',' or '}'");
		c->i = skip_ws(c->s, c->i + 1, c->n);
		if (c->i < c->n && c->s[c->i] == '}')
			return jc_fail(c, "another \"key\" after ',' (JSON has no trailing commas)");
	}
}

static bool jc_array(struct jcheck *c, int depth)
{
	c->i = skip_ws(c->s, c->i + 1, c->n);
	if (c->i < c->n && c->s[c->i] == ']') {
		c->i++;
		return true;
	}
	for (;;) {
		if (!jc_value(c, depth))
			return false;
		if (c->i < c->n && c->s[c->i] == ']') {
			c->i++;
			return true;
		}
		if (c->i >= c->n || c->s[c->i] != ',')
			return jc_fail(c, "',' or ']'");
		c->i = skip_ws(c->s, c->i + 1, c->n);
		if (c->i < c->n && c->s[c->i] == ']')
			return jc_fail(c, "another value after ',' (JSON has no trailing commas)");
	}
}

/* A value and the whitespace after it. */
static bool jc_value(struct jcheck *c, int depth)
{
	static const char *const words[] = { "true", "false", "null" };
	bool ok = false;
	char ch;

	c->i = skip_ws(c->s, c->i, c->n);
	if (c->i >= c->n)
		return jc_fail(c, "a value");
	if (depth >= JSON_MAX_DEPTH)
		return jc_fail(c, "at most 64 levels of nesting");
	ch = c->s[c->i];
	if (ch == '{') {
		ok = jc_object(c, depth + 1);
	} else if (ch == '[') {
		ok = jc_array(c, depth + 1);
	} else if (ch == '"') {
		ok = jc_string(c);
	} else if (ch == '-' || (ch >= '0' && ch <= '9')) {
		ok = jc_number(c);
	} else {
		for (size_t w = 0; w < ARRAY_SIZE(words); w++) {
			size_t len = strlen(words[w]);

			if (c->n - c->i >= len && memcmp(c->s + c->i, words[w], len) == 0) {
				c->i += len;
				ok = true;
				break;
			}
		}
		if (!ok)
			return jc_fail(c, "a value: \"string\", number, [array], {object}, true, "
					  "false or null");
	}
	if (ok)
		c->i = skip_ws(c->s, c->i, c->n);
	return ok;
}

/* 0, or -1 with a message at the offending offset. */
static int json_check(struct loader *L)
{
	struct jcheck c = { .s = L->json, .n = L->len };
	unsigned char ch;

	c.i = skip_ws(c.s, 0, c.n);
	if (c.i >= c.n) {
		report_at(L, c.n, "the file is empty; expected a JSON object such as {}");
		return -1;
	}
	if (jc_value(&c, 0)) {
		if (c.i >= c.n)
			return 0;
		c.expected = "the end of the file after the JSON object";
	}
	if (c.i >= c.n) {
		report_at(L, c.n, "invalid JSON: the file ends; expected %s", c.expected);
		return -1;
	}
	ch = (unsigned char)c.s[c.i];
	if (ch > ' ' && ch < 0x7f && ch != '\'')
		report_at(L, c.i, "invalid JSON: found '%c'; expected %s", ch, c.expected);
	else if (ch == '\'')
		report_at(L, c.i, "invalid JSON: found a single quote; expected %s (JSON strings "
				  "use double quotes)", c.expected);
	else
		report_at(L, c.i, "invalid JSON: found byte 0x%02x; expected %s", ch, c.expected);
	return -1;
}

static void load_object(struct loader *L, const cJSON *root)
{
	const cJSON *v;
	int m = 0;
	bool all_loaded = true;

	for (size_t k = 0; k < N_KEYS; k++)
		L->member[k] = -1;
	cJSON_ArrayForEach(v, root) {
		size_t k = key_index(v->string);

		if (k == N_KEYS) {
			unknown_key(L, m, v->string);
		} else if (L->member[k] >= 0) {
			size_t first;
			int line = 0;

			if (locate(L, L->member[k], -2, &first))
				diag_position(L->text, first, &line, NULL);
			report(L, false, m, -2, NULL,
			       "duplicate key '%s' (first on line %d); expected each key once",
			       v->string, line);
		} else {
			L->member[k] = m;
			if (load_member(L, m, k, v))
				all_loaded = false;
		}
		m++;
	}
	if (all_loaded)
		check_roles(L);
}

/* Parse text (len bytes, need not be NUL-terminated) into p. */
static int parse_text(const char *name, const char *text, size_t len, struct tg_profile *p,
		      struct tg_diag *diag)
{
	struct loader L = { .file = name, .diag = diag, .len = len };
	struct tg_profile work;
	size_t errors = diag->errors, bad;
	const char *end = NULL;
	char *buf = NULL, *json = NULL;
	cJSON *root = NULL;
	const char *nul;
	int ret = -1;

	memset(&work, 0, sizeof(work));
	/* Positions are counted on a NUL-terminated copy of the text. */
	buf = malloc(len + 1);
	json = malloc(len + 1);
	if (!buf || !json) {
		diag_error(diag, name, 0, 0, NULL, "out of memory; expected to read the profile");
		goto out;
	}
	memcpy(buf, text, len);
	buf[len] = '\0';
	memcpy(json, text, len);
	json[len] = '\0';
	L.text = buf;
	L.json = json;
	nul = memchr(buf, '\0', len);
	if (nul) {
		report_at(&L, (size_t)(nul - buf), "NUL byte; expected text");
		goto out;
	}
	if (len >= 3 && memcmp(json, "\xef\xbb\xbf", 3) == 0)
		memset(json, ' ', 3); /* a UTF-8 byte order mark */
	if (blank_comments(json, len, &bad)) {
		report_at(&L, bad, "unterminated /* comment; expected */ to close it");
		goto out;
	}
	if (json_check(&L))
		goto out;
	/* len + 1: cJSON's "null terminated" check wants the NUL inside. */
	root = cJSON_ParseWithLengthOpts(json, len + 1, &end, 1);
	if (!root) {
		/* Valid JSON that cJSON still refused: only memory, in practice. */
		size_t off = end && end >= json && end <= json + len ? (size_t)(end - json) : 0;

		report_at(&L, off, "cJSON failed to parse the file here; expected valid JSON");
		goto out;
	}
	if (!cJSON_IsObject(root)) {
		report_at(&L, skip_ws(json, 0, len), "the profile is %s; expected a JSON object",
			  json_kind(root));
		goto out;
	}
	profile_defaults(&work);
	L.p = &work;
	load_object(&L, root);
	if (diag->errors != errors)
		goto out;
	work.source = strdup(name);
	if (!work.source) {
		oom(&L);
		goto out;
	}
	profile_free(p);
	*p = work;
	memset(&work, 0, sizeof(work));
	ret = 0;
out:
	cJSON_Delete(root);
	profile_free(&work);
	free(json);
	free(buf);
	return ret;
}

int profile_parse_string(const char *name, const char *text, size_t len, struct tg_profile *p,
			 struct tg_diag *diag)
{
	struct tg_diag local;
	int ret;

	if (!name)
		name = "<profile>";
	if (!p || !text) {
		errno = EINVAL;
		return -1;
	}
	if (diag)
		return parse_text(name, text, len, p, diag);
	diag_init(&local);
	ret = parse_text(name, text, len, p, &local);
	diag_free(&local);
	return ret;
}

int profile_load(const char *path, struct tg_profile *p, struct tg_diag *diag)
{
	struct tg_diag local;
	struct tg_diag *d = diag ? diag : &local;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = NULL;
	int ret = -1, err = 0;

	if (!path || !p) {
		errno = EINVAL;
		return -1;
	}
	if (!diag)
		diag_init(&local);
	f = fopen(path, "re");
	if (!f) {
		err = errno;
		diag_error(d, path, 0, 0, NULL, "failed to open the twin profile: %s", strerror(err));
		goto out;
	}
	buf = malloc(PROFILE_MAX_BYTES + 1);
	if (!buf) {
		err = ENOMEM;
		diag_error(d, path, 0, 0, NULL, "out of memory; expected to read the profile");
		goto out;
	}
	len = fread(buf, 1, PROFILE_MAX_BYTES + 1, f);
	if (ferror(f)) {
		err = errno ? errno : EIO;
		diag_error(d, path, 0, 0, NULL, "failed to read the twin profile: %s",
			   strerror(err));
		goto out;
	}
	if (len > PROFILE_MAX_BYTES) {
		err = EFBIG;
		diag_error(d, path, 0, 0, NULL, "file too large; expected at most %u bytes",
			   PROFILE_MAX_BYTES);
		goto out;
	}
	ret = parse_text(path, buf, len, p, d);
	if (ret)
		err = EINVAL;
out:
	if (f)
		fclose(f);
	free(buf);
	if (!diag)
		diag_free(&local);
	if (ret)
		errno = err; /* ENOENT: the caller may fall back to the defaults */
	return ret;
}
