/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * profile_load: load the twin profile (docs/profile.md), or start from the
 * shipped defaults.
 *
 * The file is JSON with // and slash-star comments, read through jsonsrc
 * (jsonsrc.h): comments are blanked in a copy with the file's offsets, a
 * strict JSON check reports a syntax error at its exact line:col, then
 * cJSON builds the tree and jsonsrc_scan the offsets of its members and
 * elements, so a bad value is reported where it is. profile_values.c
 * checks each member's value; the checks across keys are here.
 *
 * A load fills a fresh profile that starts from the shipped defaults
 * (a key left out keeps its default) and replaces the caller's profile only
 * when the whole file was valid. The result depends only on the file, not
 * on what the profile held before: a reload after a key was deleted from
 * the file gets that key's default back, not its old value.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "diag.h"
#include "jsonsrc.h"
#include "profile.h"
#include "profile_priv.h"

#define PROFILE_MAX_BYTES (1u << 20)  /* stops `--profile /dev/zero` reading forever */

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
#define F(f) offsetof(struct tg_profile, f)

/* Order is the order of the file's documentation and of "expected one of". */
const struct profile_key profile_keys[PROFILE_N_KEYS] = {
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

_Static_assert(ARRAY_SIZE(profile_keys) == PROFILE_N_KEYS, "one entry per key");

/* ------------------------------------------------------------------ */
/* Lists                                                              */

void profile_strs_free(struct tg_strs *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	s->v = NULL;
	s->n = 0;
}

int profile_strs_push(struct tg_strs *s, const char *str)
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

void profile_free(struct tg_profile *p)
{
	if (!p)
		return;
	free(p->name);
	free(p->source);
	for (size_t k = 0; k < PROFILE_N_KEYS; k++)
		if (profile_keys[k].kind == K_EXES || profile_keys[k].kind == K_DIRS)
			profile_strs_free(FIELD_AT(p, profile_keys[k].off, struct tg_strs));
	free(p->control_ports);
	free(p->data_ports);
	free(p->client_nets);
	free(p->egress_nets);
	memset(p, 0, sizeof(*p));
}

/* ------------------------------------------------------------------ */
/* Defaults                                                           */

static int strs_from(struct tg_strs *s, const char *const *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (profile_strs_push(s, v[i]))
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
/* Reports at positions in the text                                   */

/* Offset of member m of the top-level object (its key when elem == -2, its
 * value when -1) or of element elem of that member's array. */
static bool locate(const struct profile_loader *L, int m, int elem, size_t *off)
{
	const struct jsonsrc_pos *mp;

	if (m < 0 || (size_t)m >= L->pos.n)
		return false;
	mp = &L->pos.kid[m];
	if (elem == -2 || elem == -1) {
		*off = elem == -2 ? mp->key_off : mp->off;
		return true;
	}
	if (L->json[mp->off] != '[' || elem < 0 || (size_t)elem >= mp->n)
		return false;
	*off = mp->kid[elem].off;
	return true;
}

/* Placed with no line when the member cannot be found, which only a bug in
 * the scanner would cause. */
void profile_report(struct profile_loader *L, bool warning, int m, int elem, const char *item,
		    const char *fmt, ...)
{
	size_t off = 0;
	bool found = locate(L, m, elem, &off);
	va_list ap;

	va_start(ap, fmt);
	diag_vreport(L->diag, warning, L->file, found ? L->text : NULL, off, item, fmt, ap);
	va_end(ap);
}

static void report_at(struct profile_loader *L, size_t off, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void report_at(struct profile_loader *L, size_t off, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	diag_vreport(L->diag, false, L->file, L->text, off, NULL, fmt, ap);
	va_end(ap);
}

void profile_oom(struct profile_loader *L)
{
	diag_error(L->diag, L->file, 0, 0, NULL, "out of memory; expected to allocate the profile");
}

/* ------------------------------------------------------------------ */
/* Keys                                                               */

static size_t key_index(const char *name)
{
	for (size_t k = 0; k < PROFILE_N_KEYS; k++)
		if (strcmp(profile_keys[k].name, name) == 0)
			return k;
	return PROFILE_N_KEYS;
}

static void unknown_key(struct profile_loader *L, int m, const char *name)
{
	char list[512];

	diag_names(list, sizeof(list), &profile_keys[0].name, PROFILE_N_KEYS,
		   sizeof(profile_keys[0]));
	profile_report(L, false, m, -2, NULL, "unknown key '%s'; expected one of: %s", name, list);
}

/*
 * A path in two role lists, or a port in both port lists, would make
 * twin.file.role / twin.destination.port_role depend on list order:
 * refuse it. Nested directories are fine (the deeper one wins). Run only
 * when every list loaded, so list indices are the file's.
 */
static void check_dir_roles(struct profile_loader *L)
{
	const size_t dir_keys[] = { key_index("model_dirs"), key_index("data_dirs"),
				    key_index("config_dirs") };
	const struct tg_profile *p = L->p;
	char item[64];

	for (size_t a = 0; a < ARRAY_SIZE(dir_keys); a++) {
		for (size_t b = a + 1; b < ARRAY_SIZE(dir_keys); b++) {
			const struct profile_key *ka = &profile_keys[dir_keys[a]];
			const struct profile_key *kb = &profile_keys[dir_keys[b]];
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
					profile_report(L, false, b_later ? mb : ma, (int)(b_later ? j : i),
						       item,
						       "'%s' is also in %s%s; expected each directory in "
						       "one role (a nested directory is fine: the deeper "
						       "one wins)",
						       sa->v[i], b_later ? ka->name : kb->name,
						       (b_later ? ma : mb) < 0 ? " (its default)" : "");
				}
			}
		}
	}
}

static void check_port_roles(struct profile_loader *L)
{
	const int mc = L->member[key_index("control_ports")];
	const int md = L->member[key_index("data_ports")];
	const struct tg_profile *p = L->p;
	char item[64];

	for (size_t j = 0; j < p->n_data_ports; j++) {
		for (size_t i = 0; i < p->n_control_ports; i++) {
			const bool d_later = md >= mc;

			if (p->control_ports[i] != p->data_ports[j])
				continue;
			snprintf(item, sizeof(item), "%s[%zu]",
				 d_later ? "data_ports" : "control_ports", d_later ? j : i);
			profile_report(L, false, d_later ? md : mc, (int)(d_later ? j : i), item,
				       "port %u is also in %s%s; expected each port in one role",
				       (unsigned)p->data_ports[j],
				       d_later ? "control_ports" : "data_ports",
				       (d_later ? mc : md) < 0 ? " (its default)" : "");
			break;
		}
	}
}

static void load_object(struct profile_loader *L, const cJSON *root)
{
	const cJSON *v;
	int m = 0;
	bool all_loaded = true;

	for (size_t k = 0; k < PROFILE_N_KEYS; k++)
		L->member[k] = -1;
	cJSON_ArrayForEach(v, root) {
		size_t k = key_index(v->string);

		if (k == PROFILE_N_KEYS) {
			unknown_key(L, m, v->string);
		} else if (L->member[k] >= 0) {
			size_t first;
			int line = 0;

			if (locate(L, L->member[k], -2, &first))
				diag_position(L->text, first, &line, NULL);
			profile_report(L, false, m, -2, NULL,
				       "duplicate key '%s' (first on line %d); expected each key once",
				       v->string, line);
		} else {
			L->member[k] = m;
			if (profile_load_member(L, m, k, v))
				all_loaded = false;
		}
		m++;
	}
	if (all_loaded) {
		check_dir_roles(L);
		check_port_roles(L);
	}
}

/* ------------------------------------------------------------------ */
/* Loading                                                            */

/* L->json's syntax, strictly, then cJSON's tree and the offsets of its
 * values; NULL after reporting why not. */
static cJSON *parse_json(struct profile_loader *L)
{
	char msg[DIAG_MSG_MAX];
	const char *end = NULL;
	cJSON *root;
	size_t off;
	int bad = jsonsrc_check(L->json, L->len, &off, msg, sizeof(msg));

	if (bad > 0) {
		report_at(L, off, "the file is empty; expected a JSON object such as {}");
		return NULL;
	}
	if (bad < 0) {
		report_at(L, off, "%s", msg);
		return NULL;
	}
	/* len + 1: cJSON's "null terminated" check wants the NUL inside. */
	root = cJSON_ParseWithLengthOpts(L->json, L->len + 1, &end, 1);
	if (!root) {
		/* Valid JSON that cJSON still refused: only memory, in practice. */
		off = end && end >= L->json && end <= L->json + L->len ? (size_t)(end - L->json) : 0;
		report_at(L, off, "cJSON failed to parse the file here; expected valid JSON");
		return NULL;
	}
	if (jsonsrc_scan(L->json, L->len, &L->pos)) {
		profile_oom(L);
	} else if (!cJSON_IsObject(root)) {
		report_at(L, L->pos.off, "the profile is %s; expected a JSON object",
			  profile_json_kind(root));
	} else {
		return root;
	}
	cJSON_Delete(root);
	return NULL;
}

/* L->text and L->json from text (L->len bytes, need not be NUL-terminated),
 * in *buf and *json; 0, or -1 after reporting why not. */
static int prepare_text(struct profile_loader *L, const char *text, char **buf, char **json)
{
	size_t bad = 0;

	/* Positions are counted on a NUL-terminated copy of the text. */
	*buf = malloc(L->len + 1);
	if (!*buf) {
		diag_error(L->diag, L->file, 0, 0, NULL, "out of memory; expected to read the profile");
		return -1;
	}
	memcpy(*buf, text, L->len);
	(*buf)[L->len] = '\0';
	L->text = *buf;
	switch (jsonsrc_prepare(text, L->len, JSONSRC_BLOCK_COMMENTS | JSONSRC_BOM, json, &bad)) {
	case JSONSRC_READY:
		L->json = *json;
		return 0;
	case JSONSRC_NOMEM:
		diag_error(L->diag, L->file, 0, 0, NULL, "out of memory; expected to read the profile");
		break;
	case JSONSRC_NUL:
		report_at(L, bad, "NUL byte; expected text");
		break;
	case JSONSRC_OPEN_COMMENT:
		report_at(L, bad, "unterminated /* comment; expected */ to close it");
		break;
	}
	return -1;
}

/* Parse text (len bytes, need not be NUL-terminated) into p. */
static int parse_text(const char *name, const char *text, size_t len, struct tg_profile *p,
		      struct tg_diag *diag)
{
	struct profile_loader L = { .file = name, .diag = diag, .len = len };
	struct tg_profile work;
	size_t errors = diag->errors;
	char *buf = NULL, *json = NULL;
	cJSON *root = NULL;
	int ret = -1;

	memset(&work, 0, sizeof(work));
	if (prepare_text(&L, text, &buf, &json))
		goto out;
	root = parse_json(&L);
	if (!root)
		goto out;
	profile_defaults(&work);
	L.p = &work;
	load_object(&L, root);
	if (diag->errors != errors)
		goto out;
	work.source = strdup(name);
	if (!work.source) {
		profile_oom(&L);
		goto out;
	}
	profile_free(p);
	*p = work;
	memset(&work, 0, sizeof(work));
	ret = 0;
out:
	cJSON_Delete(root);
	jsonsrc_pos_free(&L.pos);
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
	int ret = -1, err = 0;

	if (!path || !p) {
		errno = EINVAL;
		return -1;
	}
	if (!diag)
		diag_init(&local);
	switch (jsonsrc_read(path, PROFILE_MAX_BYTES, &buf, &len)) {
	case JSONSRC_READ_OK:
		ret = parse_text(path, buf, len, p, d);
		err = EINVAL;
		break;
	case JSONSRC_EOPEN:
		err = errno;
		diag_error(d, path, 0, 0, NULL, "failed to open the twin profile: %s", strerror(err));
		break;
	case JSONSRC_ENOMEM:
		err = ENOMEM;
		diag_error(d, path, 0, 0, NULL, "out of memory; expected to read the profile");
		break;
	case JSONSRC_EREAD:
		err = errno;
		diag_error(d, path, 0, 0, NULL, "failed to read the twin profile: %s",
			   strerror(err));
		break;
	case JSONSRC_EBIG:
		err = EFBIG;
		diag_error(d, path, 0, 0, NULL, "file too large; expected at most %u bytes",
			   PROFILE_MAX_BYTES);
		break;
	}
	free(buf);
	if (!diag)
		diag_free(&local);
	if (ret)
		errno = err; /* ENOENT: the caller may fall back to the defaults */
	return ret;
}
