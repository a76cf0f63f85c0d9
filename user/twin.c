/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * twin: the derived twin.* fields of an event view, from the twin profile
 * (docs/profile.md). view_fill calls twin_derive after the event's own
 * fields are in the view, so it reads them with view_get.
 *
 *   twin.name                        profile name
 *   twin.process.role                process.executable: service > deployer > client
 *   twin.parent.role                 process.parent.executable, the same way
 *   twin.file.role                   file.path: model / data / config
 *   twin.file.old_role               file.old_path (rename), the same way
 *   twin.destination.port_role       destination.port: control / data
 *   twin.destination.egress_allowed  destination.ip in egress_networks (egress only)
 *   twin.source.client_allowed       source.ip in client_networks (ingress only)
 *
 * A fact that does not apply is left out, never written as "" or false:
 * a process that is none of the roles has no twin.process.role.
 *
 * The two network booleans follow network.direction because the ends swap
 * with it (docs/events.md): on `accept` (ingress) the remote peer is
 * source and the local end destination; on connect, sendto and flow
 * (egress) the peer is destination. So client_allowed is only derived where
 * source is a peer that connected to us, and egress_allowed only where
 * destination is a peer we send to; elsewhere either would judge the host's
 * own address. An unconnected UDP flow's destination 0.0.0.0 / :: is "no
 * peer" and gets no egress_allowed.
 *
 * Field ids are looked up by name once (pthread_once) and cached in a
 * static table: the only state outside the view. It is written once, from
 * fields.c's constant field table, so it is the same for every caller and
 * thread. A name fields.c does not know (-1) is skipped, not an error: the
 * unit tests check that every twin.* name is known.
 */
#include <pthread.h>
#include <string.h>

#include "fields.h"
#include "profile.h"

enum twin_id {
	/* read */
	ID_EXE,
	ID_PARENT_EXE,
	ID_PATH,
	ID_OLD_PATH,
	ID_DIRECTION,
	ID_DST_IP,
	ID_DST_PORT,
	ID_SRC_IP,
	/* written */
	ID_NAME,
	ID_PROCESS_ROLE,
	ID_PARENT_ROLE,
	ID_FILE_ROLE,
	ID_FILE_OLD_ROLE,
	ID_PORT_ROLE,
	ID_EGRESS_ALLOWED,
	ID_CLIENT_ALLOWED,
	N_IDS
};

static const char *const id_names[N_IDS] = {
	[ID_EXE] = "process.executable",
	[ID_PARENT_EXE] = "process.parent.executable",
	[ID_PATH] = "file.path",
	[ID_OLD_PATH] = "file.old_path",
	[ID_DIRECTION] = "network.direction",
	[ID_DST_IP] = "destination.ip",
	[ID_DST_PORT] = "destination.port",
	[ID_SRC_IP] = "source.ip",
	[ID_NAME] = "twin.name",
	[ID_PROCESS_ROLE] = "twin.process.role",
	[ID_PARENT_ROLE] = "twin.parent.role",
	[ID_FILE_ROLE] = "twin.file.role",
	[ID_FILE_OLD_ROLE] = "twin.file.old_role",
	[ID_PORT_ROLE] = "twin.destination.port_role",
	[ID_EGRESS_ALLOWED] = "twin.destination.egress_allowed",
	[ID_CLIENT_ALLOWED] = "twin.source.client_allowed",
};

static int ids[N_IDS];
static pthread_once_t ids_once = PTHREAD_ONCE_INIT;

static void ids_init(void)
{
	for (int i = 0; i < N_IDS; i++)
		ids[i] = fields_lookup(id_names[i]);
}

static const struct tg_val *first_val(const struct tg_view *v, enum twin_id id)
{
	const struct tg_val *vals = NULL;

	if (ids[id] < 0 || view_get(v, ids[id], &vals) == 0 || !vals)
		return NULL;
	return vals;
}

static const char *first_str(const struct tg_view *v, enum twin_id id)
{
	const struct tg_val *val = first_val(v, id);

	return val ? val->s : NULL;
}

/* Role names are string literals, so the view may point at them. Returns
 * -1 when the view had no room; a NULL s (fact absent) adds nothing. */
static int add_str(struct tg_view *v, enum twin_id id, const char *s)
{
	if (!s || ids[id] < 0)
		return 0;
	return view_add_str(v, ids[id], s, strlen(s)) ? -1 : 0;
}

/* The profile's name is copied into the view's arena: a reload may free
 * the profile while a view (an alert being written) still refers to it. */
static int add_strcopy(struct tg_view *v, enum twin_id id, const char *s)
{
	if (!s || ids[id] < 0)
		return 0;
	return view_add_strcopy(v, ids[id], s, strlen(s)) ? -1 : 0;
}

static int add_bool(struct tg_view *v, enum twin_id id, bool b)
{
	if (ids[id] < 0)
		return 0;
	return view_add_bool(v, ids[id], b) ? -1 : 0;
}

static const char *exe_role(const struct tg_profile *p, const char *exe)
{
	if (!exe)
		return NULL;
	if (profile_is_service(p, exe))
		return "service";
	if (profile_is_deployer(p, exe))
		return "deployer";
	if (profile_is_client(p, exe))
		return "client";
	return NULL;
}

/* What an unconnected socket shows for "no peer". */
static bool unspecified_ip(const char *ip)
{
	return strcmp(ip, "0.0.0.0") == 0 || strcmp(ip, "::") == 0 ||
	       strcmp(ip, "::ffff:0.0.0.0") == 0;
}

int twin_derive(struct tg_view *v, const struct tg_profile *prof)
{
	const struct tg_val *port;
	const char *dir, *ip;
	int err = 0;

	if (!v || !prof)
		return 0;
	pthread_once(&ids_once, ids_init);

	err |= add_strcopy(v, ID_NAME, prof->name);
	err |= add_str(v, ID_PROCESS_ROLE, exe_role(prof, first_str(v, ID_EXE)));
	err |= add_str(v, ID_PARENT_ROLE, exe_role(prof, first_str(v, ID_PARENT_EXE)));
	err |= add_str(v, ID_FILE_ROLE, profile_path_role(prof, first_str(v, ID_PATH)));
	err |= add_str(v, ID_FILE_OLD_ROLE, profile_path_role(prof, first_str(v, ID_OLD_PATH)));

	port = first_val(v, ID_DST_PORT);
	if (port && port->n >= 1 && port->n <= 65535)
		err |= add_str(v, ID_PORT_ROLE, profile_port_role(prof, (uint16_t)port->n));

	dir = first_str(v, ID_DIRECTION);
	ip = first_str(v, ID_DST_IP);
	if (dir && strcmp(dir, "egress") == 0 && ip && !unspecified_ip(ip))
		err |= add_bool(v, ID_EGRESS_ALLOWED, profile_egress_allowed(prof, ip));
	ip = first_str(v, ID_SRC_IP);
	if (dir && strcmp(dir, "ingress") == 0 && ip)
		err |= add_bool(v, ID_CLIENT_ALLOWED, profile_client_net(prof, ip));
	return err ? -1 : 0;
}
