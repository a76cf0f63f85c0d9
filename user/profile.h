/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * profile: the operator's declaration of the twin (rules/profile/twin-profile.json,
 * docs/profile.md). Rules never hard-code twin paths or ports: they use the
 * profile's lists (twin_services, twin_model_dirs, ...) and the derived
 * twin.* fields.
 */
#ifndef TG_PROFILE_H
#define TG_PROFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>

struct tg_diag;

struct tg_cidr {
	int family;            /* AF_INET / AF_INET6 */
	uint8_t addr[16];
	unsigned prefix;       /* bits */
};

struct tg_strs {
	char **v;
	size_t n;
};

struct tg_profile {
	char *name;
	char *source;          /* file it came from */
	struct tg_strs services;        /* twin service executables */
	struct tg_strs model_dirs;
	struct tg_strs data_dirs;
	struct tg_strs config_dirs;
	struct tg_strs deployers;       /* executables allowed to change models */
	struct tg_strs clients;         /* executables allowed on the control plane */
	struct tg_strs ingest_writers;  /* executables allowed to publish sensor data */
	uint16_t *control_ports; size_t n_control_ports;
	uint16_t *data_ports; size_t n_data_ports;
	struct tg_cidr *client_nets; size_t n_client_nets;   /* peers allowed on control ports */
	struct tg_cidr *egress_nets; size_t n_egress_nets;   /* where it may send data */
	bool manifest_auto_update;      /* approved deployments update the model manifest */
};

void profile_defaults(struct tg_profile *p);
/* Returns 0, or -1 with a "file:line:col: ...; expected ..." message in diag. */
int profile_load(const char *path, struct tg_profile *p, struct tg_diag *diag);
/* Where the agent looks when neither --profile nor the config's `profile`
 * names a file. A missing file there means the defaults; profile_load
 * leaves errno ENOENT for that case. */
#define TG_PROFILE_DEFAULT_PATH "/etc/twinguard/twin-profile.json"
/* profile_load on text already in memory (len bytes); name is the file
 * name used in messages. */
int profile_parse_string(const char *name, const char *text, size_t len, struct tg_profile *p,
			 struct tg_diag *diag);
void profile_free(struct tg_profile *p);

/* Derived facts the twin.* fields are made of. */
bool profile_is_service(const struct tg_profile *p, const char *exe);
bool profile_is_deployer(const struct tg_profile *p, const char *exe);
bool profile_is_client(const struct tg_profile *p, const char *exe);
/* "model", "data", "config" or NULL for a path outside the twin's dirs. */
const char *profile_path_role(const struct tg_profile *p, const char *path);
/* "control", "data" or NULL. */
const char *profile_port_role(const struct tg_profile *p, uint16_t port);
bool profile_egress_allowed(const struct tg_profile *p, const char *ip);
bool profile_client_net(const struct tg_profile *p, const char *ip);
/* True when path is one of dirs or below one (the integrity checker's and
 * `twinguard baseline`'s test for model and config directories). */
bool profile_under_dirs(const struct tg_strs *dirs, const char *path);
/* Parse "10.0.0.0/8", "2001:db8::/32" or a plain address. */
int profile_parse_cidr(const char *s, struct tg_cidr *out);
bool profile_cidr_match(const struct tg_cidr *c, size_t n, const char *ip);

#endif
