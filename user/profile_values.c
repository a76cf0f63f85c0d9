/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * profile_values: one member of the profile file -> its field of the
 * profile being loaded (profile_priv.h). Each key's value is checked whole
 * and replaces the default only when it is valid; every problem is
 * reported at the element where it is, and the messages say what was
 * expected there.
 */
#include <arpa/inet.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "path.h"
#include "profile.h"
#include "profile_priv.h"

#define NAME_MAX_BYTES 128

const char *profile_json_kind(const cJSON *v)
{
	if (cJSON_IsTrue(v))
		return "true";
	if (cJSON_IsFalse(v))
		return "false";
	return jsonsrc_kind(v);
}

static const char *kind_expected(enum profile_key_kind k)
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

static int load_name(struct profile_loader *L, int m, const cJSON *v)
{
	const char *s = cJSON_GetStringValue(v);
	size_t len;

	if (!s) {
		profile_report(L, false, m, -1, "name", "is %s; expected %s", profile_json_kind(v),
			       kind_expected(K_NAME));
		return -1;
	}
	len = strlen(s);
	if (len == 0 || len > NAME_MAX_BYTES) {
		profile_report(L, false, m, -1, "name", "is %zu bytes long; expected 1 to %d bytes", len,
			       NAME_MAX_BYTES);
		return -1;
	}
	for (const char *c = s; *c; c++) {
		if ((unsigned char)*c < 0x20 || *c == 0x7f) {
			profile_report(L, false, m, -1, "name",
				       "contains a control character; expected printable text");
			return -1;
		}
	}
	free(L->p->name);
	L->p->name = strdup(s);
	if (!L->p->name) {
		profile_oom(L);
		return -1;
	}
	return 0;
}

/* An absolute path, lexically normalised the way the kernel reports paths
 * ("//" collapsed, "." and ".." applied, no trailing '/'). */
static int load_path(struct profile_loader *L, int m, int e, const char *item, const cJSON *v,
		     bool dir, char *out, size_t outlen)
{
	const char *s = cJSON_GetStringValue(v);
	char real[PATH_MAX];

	if (!s) {
		profile_report(L, false, m, e, item, "is %s; expected an absolute %s path string",
			       profile_json_kind(v), dir ? "directory" : "executable");
		return -1;
	}
	if (s[0] != '/') {
		profile_report(L, false, m, e, item,
			       "'%s' is not an absolute path; expected a path that starts with '/'", s);
		return -1;
	}
	if (path_normalize(s, out, outlen)) {
		profile_report(L, false, m, e, item, "path is %zu bytes long; expected at most %zu bytes",
			       strlen(s), outlen - 1);
		return -1;
	}
	if (!dir && (strcmp(out, "/") == 0 || s[strlen(s) - 1] == '/')) {
		profile_report(L, false, m, e, item,
			       "'%s' names a directory; expected the path of an executable file", s);
		return -1;
	}
	/* Events carry the path the kernel resolved (symlinks followed), so a
	 * symlink listed here would never match. Only a warning: the file may
	 * not exist yet on this host, or differ from where the profile is
	 * deployed. */
	if (realpath(out, real) && strcmp(real, out) != 0)
		profile_report(L, true, m, e, item,
			       "'%s' resolves to '%s' on this host; expected the resolved path, which is "
			       "what events carry",
			       out, real);
	return 0;
}

/* The "is X; expected an array" report for key k's value v. A lone string
 * is the usual slip: show it as the one-element array it should be. */
static int not_an_array(struct profile_loader *L, int m, const struct profile_key *k,
			const cJSON *v, bool show_string)
{
	if (show_string && cJSON_IsString(v))
		profile_report(L, false, m, -1, k->name, "is a string; expected an array: [\"%s\"]",
			       v->valuestring);
	else
		profile_report(L, false, m, -1, k->name, "is %s; expected %s", profile_json_kind(v),
			       kind_expected(k->kind));
	return -1;
}

static int load_paths(struct profile_loader *L, int m, const struct profile_key *k, const cJSON *v)
{
	struct tg_strs *dst = FIELD_AT(L->p, k->off, struct tg_strs);
	struct tg_strs work = { 0 };
	char item[64];
	char path[PATH_MAX];
	const cJSON *el;
	int e = 0, bad = 0;

	if (!cJSON_IsArray(v))
		return not_an_array(L, m, k, v, true);
	cJSON_ArrayForEach(el, v) {
		snprintf(item, sizeof(item), "%s[%d]", k->name, e);
		if (load_path(L, m, e, item, el, k->kind == K_DIRS, path, sizeof(path))) {
			bad = 1;
		} else {
			for (size_t i = 0; i < work.n; i++) {
				if (strcmp(work.v[i], path) == 0) {
					profile_report(L, true, m, e, item,
						       "'%s' repeats %s[%zu]; expected each path once",
						       path, k->name, i);
					break;
				}
			}
			/* Kept even when repeated: indices stay those of the
			 * file, which the cross-role check reports by. */
			if (profile_strs_push(&work, path)) {
				profile_oom(L);
				bad = 1;
				break;
			}
		}
		e++;
	}
	if (bad) {
		profile_strs_free(&work);
		return -1;
	}
	profile_strs_free(dst);
	*dst = work;
	return 0;
}

static int load_ports(struct profile_loader *L, int m, const struct profile_key *k, const cJSON *v)
{
	uint16_t **dst = FIELD_AT(L->p, k->off, uint16_t *);
	size_t *n = FIELD_AT(L->p, k->n_off, size_t);
	uint16_t *work;
	size_t count = 0;
	char item[64];
	const cJSON *el;
	int bad = 0;

	if (!cJSON_IsArray(v))
		return not_an_array(L, m, k, v, false);
	work = malloc(((size_t)cJSON_GetArraySize(v) + 1) * sizeof(*work));
	if (!work) {
		profile_oom(L);
		return -1;
	}
	cJSON_ArrayForEach(el, v) {
		int e = (int)count;
		double d = el->valuedouble;

		snprintf(item, sizeof(item), "%s[%d]", k->name, e);
		if (!cJSON_IsNumber(el)) {
			profile_report(L, false, m, e, item, "is %s; expected a port number 1..65535",
				       profile_json_kind(el));
			bad = 1;
		} else if (!(d >= 1 && d <= 65535) || d != (double)(long)d) {
			profile_report(L, false, m, e, item,
				       "%g is not a port; expected a whole number 1..65535", d);
			bad = 1;
		} else {
			for (size_t i = 0; i < count; i++) {
				if (work[i] == (uint16_t)d) {
					profile_report(L, true, m, e, item,
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

/* Element e of a network list (its text s) into c; 0, or -1 after
 * reporting why not. */
static int load_net(struct profile_loader *L, int m, int e, const char *item, const char *s,
		    struct tg_cidr *c)
{
	char net[INET6_ADDRSTRLEN + 8];

	switch (profile_cidr_read(s, c)) {
	case CIDR_OK:
		return 0;
	case CIDR_HOST_BITS:
		profile_cidr_format(c, net, sizeof(net));
		profile_report(L, false, m, e, item,
			       "'%s' has bits set past the /%u prefix; expected the network "
			       "address: \"%s\"",
			       s, c->prefix, net);
		return -1;
	case CIDR_SYNTAX:
		break;
	}
	profile_report(L, false, m, e, item,
		       "'%s' is not a network; expected an IPv4 or IPv6 address with an "
		       "optional /prefix, such as \"10.0.0.0/8\" or \"fd00::/8\"",
		       s);
	return -1;
}

static int load_nets(struct profile_loader *L, int m, const struct profile_key *k, const cJSON *v)
{
	struct tg_cidr **dst = FIELD_AT(L->p, k->off, struct tg_cidr *);
	size_t *n = FIELD_AT(L->p, k->n_off, size_t);
	struct tg_cidr *work;
	size_t count = 0;
	char item[64];
	const cJSON *el;
	int bad = 0;

	if (!cJSON_IsArray(v))
		return not_an_array(L, m, k, v, true);
	work = calloc((size_t)cJSON_GetArraySize(v) + 1, sizeof(*work));
	if (!work) {
		profile_oom(L);
		return -1;
	}
	cJSON_ArrayForEach(el, v) {
		int e = (int)count;
		const char *s = cJSON_GetStringValue(el);
		struct tg_cidr *c = &work[count++];

		snprintf(item, sizeof(item), "%s[%d]", k->name, e);
		if (!s) {
			profile_report(L, false, m, e, item,
				       "is %s; expected a network string such as \"10.0.0.0/8\"",
				       profile_json_kind(el));
			bad = 1;
			continue;
		}
		if (load_net(L, m, e, item, s, c)) {
			bad = 1;
			continue;
		}
		for (size_t i = 0; i + 1 < count; i++) {
			if (work[i].family == c->family && work[i].prefix == c->prefix &&
			    memcmp(work[i].addr, c->addr, 16) == 0) {
				profile_report(L, true, m, e, item,
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

int profile_load_member(struct profile_loader *L, int m, size_t k, const cJSON *v)
{
	const struct profile_key *key = &profile_keys[k];

	switch (key->kind) {
	case K_NAME:
		return load_name(L, m, v);
	case K_EXES:
	case K_DIRS:
		return load_paths(L, m, key, v);
	case K_PORTS:
		return load_ports(L, m, key, v);
	case K_NETS:
		return load_nets(L, m, key, v);
	case K_BOOL:
		if (!cJSON_IsBool(v)) {
			profile_report(L, false, m, -1, key->name, "is %s; expected true or false",
				       profile_json_kind(v));
			return -1;
		}
		L->p->manifest_auto_update = cJSON_IsTrue(v);
		return 0;
	}
	return -1;
}
