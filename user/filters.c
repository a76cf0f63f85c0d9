// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <stdlib.h>
#include <string.h>
#include <twinguard/events.h>
#include "cond.h"
#include "config.h"
#include "event.h"
#include "fields.h"
#include "filters.h"
#include "profile.h"
#include "rules.h"

struct filters_ctx {
	const struct tg_profile *prof;
	int f_action, f_category, f_role, f_old_role, f_old_path, f_target_path, f_type, f_flags;
	unsigned access;   /* the kind of open being compiled for: TG_ACC_READ or _WRITE */
	const char *net_action;  /* the network action being compiled for */
};

/* Flags and event.type values only a modifying open has (ecs.c sets
 * event.type "access" exactly for opens the kernel counts as reads). */
static bool filters_write_only(const struct filters_ctx *fc, int field, const char *value)
{
	static const char *const flags[] = { "O_WRONLY", "O_RDWR", "O_CREAT", "O_TRUNC", "O_APPEND" };

	if (field == fc->f_type)
		return !strcmp(value, "change") || !strcmp(value, "creation");
	for (size_t i = 0; field == fc->f_flags && i < sizeof(flags) / sizeof(flags[0]); i++)
		if (!strcmp(value, flags[i]))
			return true;
	return false;
}

static int filters_add_dirs(const struct tg_strs *dirs, struct tg_prefixes *out)
{
	for (size_t i = 0; i < dirs->n; i++)
		if (cond_prefixes_add(out, dirs->v[i], strlen(dirs->v[i])))
			return TG_MAP_NONE;
	return dirs->n ? TG_MAP_BOUND : TG_MAP_NEVER;
}

/* What a predicate on another field says about an open's file.path. */
static int filters_map_open(void *ctx, int field, const char *op, const char *value,
			    struct tg_prefixes *out)
{
	const struct filters_ctx *fc = ctx;

	/* fields an open never has: no test on them can hold ("!=" is not
	 * passed to us) */
	if (field == fc->f_old_role || field == fc->f_old_path || field == fc->f_target_path)
		return TG_MAP_NEVER;
	if (strcmp(op, "=") || !value)
		return TG_MAP_NONE;
	if (field == fc->f_action)
		return strcmp(value, "open") ? TG_MAP_NEVER : TG_MAP_NONE;
	/* the read/write split the kernel's access bits make */
	if (fc->access == TG_ACC_READ && filters_write_only(fc, field, value))
		return TG_MAP_NEVER;
	if (fc->access == TG_ACC_WRITE && field == fc->f_type && !strcmp(value, "access"))
		return TG_MAP_NEVER;
	if (field == fc->f_category)
		return strcmp(value, "file") ? TG_MAP_NEVER : TG_MAP_NONE;
	if (field != fc->f_role || !fc->prof)
		return TG_MAP_NONE;
	if (!strcmp(value, "model"))
		return filters_add_dirs(&fc->prof->model_dirs, out);
	if (!strcmp(value, "data"))
		return filters_add_dirs(&fc->prof->data_dirs, out);
	if (!strcmp(value, "config"))
		return filters_add_dirs(&fc->prof->config_dirs, out);
	return TG_MAP_NEVER;
}

static unsigned filters_action_class(const char *action, bool *open)
{
	for (unsigned t = 1; t < TG_EV_TYPE_MAX; t++) {
		if (strcmp(event_type_name(t), action))
			continue;
		if (t == TG_EV_OPEN)
			*open = true;
		return event_class(t);
	}
	return 0; /* an action no record has: needs nothing */
}

/* What a predicate on another field says about fc->net_action's port. */
static int filters_map_net(void *ctx, int field, const char *op, const char *value,
			   struct tg_prefixes *out)
{
	const struct filters_ctx *fc = ctx;

	(void)out;
	if (strcmp(op, "=") || !value)
		return TG_MAP_NONE;
	if (field == fc->f_action)
		return strcmp(value, fc->net_action) ? TG_MAP_NEVER : TG_MAP_NONE;
	if (field == fc->f_category)
		return strcmp(value, "network") ? TG_MAP_NEVER : TG_MAP_NONE;
	return TG_MAP_NONE;
}

/* The kernel's port filter checks the remote port of connect and sendto
 * and the local one of accept, bind and listen; in the event JSON the local
 * end of an accept is destination (ingress), of bind and listen source. */
static const struct {
	const char *action;
	const char *field;
} net_ports[] = {
	{ "connect", "destination.port" }, { "sendto", "destination.port" },
	{ "accept", "destination.port" }, { "bind", "source.port" }, { "listen", "source.port" },
};

static bool filters_acts_have(const char *const *acts, size_t n, const char *a)
{
	if (!acts)
		return true;
	for (size_t i = 0; i < n; i++)
		if (!strcmp(acts[i], a))
			return true;
	return false;
}

/* The ports c needs on each network call it can match; rep->ports_all
 * when one of them is not bounded by literal port numbers. */
static void filters_ports_one(struct filters_ctx *fc, const struct tg_cond *c,
			      const char *const *acts, size_t n, struct tg_filters_report *rep,
			      struct tg_prefixes *ports)
{
	for (size_t i = 0; i < sizeof(net_ports) / sizeof(net_ports[0]) && !rep->ports_all; i++) {
		size_t before = ports->n;

		if (!filters_acts_have(acts, n, net_ports[i].action))
			continue;
		fc->net_action = net_ports[i].action;
		if (!cond_prefix_bound(c, fields_lookup(net_ports[i].field), filters_map_net, fc, ports)) {
			rep->ports_all = true;
			break;
		}
		for (size_t k = before; k < ports->n; k++) {
			char *end;
			unsigned long v = strtoul(ports->v[k], &end, 10);

			if (*end || !v || v > 65535)
				rep->ports_all = true;
		}
	}
}

/* One compiled condition: its classes, and the opens it needs, apart for
 * reads and for modifying opens. */
static void filters_one(struct filters_ctx *fc, const struct tg_rule *r, const struct tg_cond *c,
			struct tg_filters_report *rep, struct tg_prefixes pfx[3])
{
	size_t n = 0;
	const char *const *acts = cond_actions(c, &n);
	bool open = !acts;

	if (!acts)
		rep->rule_classes |= TG_CLASS_ALL;
	for (size_t i = 0; acts && i < n; i++)
		rep->rule_classes |= filters_action_class(acts[i], &open);
	filters_ports_one(fc, c, acts, n, rep, &pfx[2]);
	if (!open)
		return;
	for (int k = 0; k < 2; k++) {
		fc->access = k ? TG_ACC_WRITE : TG_ACC_READ;
		if (cond_prefix_bound(c, fields_lookup("file.path"), filters_map_open, fc, &pfx[k]))
			continue;
		if (!rep->opens_all)
			rep->opens_all_rule = r->name;
		rep->opens_all = true;
	}
}

static int filters_add_prefix(struct tg_config *out, const char *s, unsigned access)
{
	struct tg_prefix *v;
	size_t len = strlen(s);

	if (!len || len >= TG_PREFIX_MAX)
		return 0; /* an empty or too-long prefix bounds nothing: skip */
	for (size_t i = 0; i < out->n_prefixes; i++) {
		if (!strcmp(out->prefixes[i].prefix, s)) {
			out->prefixes[i].access |= access;
			return 0;
		}
	}
	v = realloc(out->prefixes, (out->n_prefixes + 1) * sizeof(*v));
	if (!v)
		return -1;
	out->prefixes = v;
	v[out->n_prefixes].prefix = strdup(s);
	if (!v[out->n_prefixes].prefix)
		return -1;
	v[out->n_prefixes++].access = access;
	return 0;
}

static void filters_drop_prefixes(struct tg_config *out)
{
	for (size_t i = 0; i < out->n_prefixes; i++)
		free(out->prefixes[i].prefix);
	free(out->prefixes);
	out->prefixes = NULL;
	out->n_prefixes = 0;
}

/* Ports the kernel passes: the rules' when every network rule names its
 * ports (plus the config's with events), else all. */
static int filters_set_ports(struct tg_config *out, const struct tg_config *base, bool events,
			     const struct tg_filters_report *rep, const struct tg_prefixes *ports)
{
	uint16_t *v;
	size_t n = events ? base->n_ports : 0;

	/* no rule needs network events: out keeps the config's port list */
	if (!(rep->rule_classes & TG_CLASS_NETWORK))
		return 0;
	if (rep->ports_all || (events && !base->n_ports)) {
		free(out->ports);
		out->ports = NULL;
		out->n_ports = 0;
		return 0;
	}
	v = calloc(n + ports->n, sizeof(*v));
	if (!v)
		return -1;
	if (n)
		memcpy(v, base->ports, n * sizeof(*v));
	for (size_t i = 0; i < ports->n; i++) {
		uint16_t port = (uint16_t)strtoul(ports->v[i], NULL, 10);
		bool dup = false;

		for (size_t k = 0; k < n && !dup; k++)
			dup = v[k] == port;
		if (!dup)
			v[n++] = port;
	}
	free(out->ports);
	out->ports = v;
	out->n_ports = n;
	return 0;
}

int filters_compile(const struct tg_ruleset *rs, const struct tg_profile *prof,
		    const struct tg_config *base, bool events, struct tg_config *out,
		    struct tg_filters_report *rep)
{
	struct filters_ctx fc = {
		.prof = prof, .f_action = fields_lookup("event.action"),
		.f_category = fields_lookup("event.category"), .f_role = fields_lookup("twin.file.role"),
		.f_old_role = fields_lookup("twin.file.old_role"),
		.f_old_path = fields_lookup("file.old_path"),
		.f_target_path = fields_lookup("file.target_path"),
		.f_type = fields_lookup("event.type"), .f_flags = fields_lookup("twinguard.open_flags"),
	};
	/* read prefixes, write prefixes, ports */
	struct tg_prefixes pfx[3] = { { 0 }, { 0 }, { 0 } };
	int err = 0;

	memset(rep, 0, sizeof(*rep));
	if (config_clone(out, base))
		return -1;
	for (size_t i = 0; i < rs->n_rules; i++) {
		const struct tg_rule *r = &rs->rules[i];

		if (!r->enabled)
			continue;
		if (r->cond)
			filters_one(&fc, r, r->cond, rep, pfx);
		for (size_t k = 0; k < r->n_steps; k++)
			filters_one(&fc, r, r->steps[k], rep, pfx);
	}
	/* process events always: the process table (ancestry) is built from them */
	out->classes = TG_CLASS_PROCESS |
		       (events ? base->classes | rep->rule_classes : rep->rule_classes);
	rep->n_rule_prefixes = pfx[0].n + pfx[1].n;
	if (rep->opens_all || (events && !base->n_prefixes && !base->opens_off)) {
		/* some consumer wants every open: no prefix filter */
		filters_drop_prefixes(out);
		out->opens_off = false;
	} else {
		if (!events)
			filters_drop_prefixes(out);
		for (int k = 0; k < 2; k++)
			for (size_t i = 0; i < pfx[k].n && !err; i++)
				err = filters_add_prefix(out, pfx[k].v[i], k ? TG_ACC_WRITE : TG_ACC_READ);
		out->opens_off = !out->n_prefixes;
	}
	if (!err)
		err = filters_set_ports(out, base, events, rep, &pfx[2]);
	for (int k = 0; k < 3; k++)
		cond_prefixes_free(&pfx[k]);
	return err;
}

int filters_add_watch(struct tg_config *out, const struct tg_profile *prof)
{
	const struct tg_strs *sets[] = { &prof->model_dirs, &prof->config_dirs };

	out->classes |= TG_CLASS_FILE;
	if (!out->n_prefixes && !out->opens_off)
		return 0; /* no prefix filter: every open passes already */
	for (size_t k = 0; k < 2; k++)
		for (size_t i = 0; i < sets[k]->n; i++)
			if (filters_add_prefix(out, sets[k]->v[i], TG_ACC_WRITE))
				return -1;
	out->opens_off = !out->n_prefixes;
	return 0;
}
