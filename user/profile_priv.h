/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * profile_priv: what the profile module's files share. Not for other
 * modules: the contract is profile.h.
 *
 *   profile.c         the questions twin.* fields ask; CIDR parsing, matching
 *   profile_load.c    defaults, file -> profile (syntax, keys, cross-key checks)
 *   profile_values.c  one key's value -> its field of the profile
 *
 * A load works on a struct profile_loader: the file's text (positions are
 * counted there), the offsets of its members (jsonsrc_scan) and the
 * profile being built.
 */
#ifndef TG_PROFILE_PRIV_H
#define TG_PROFILE_PRIV_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "jsonsrc.h"
#include "profile.h"

struct tg_diag;

#define FIELD_AT(p, off, type) ((type *)(void *)((char *)(p) + (off)))

/* ---- profile.c ---- */

enum profile_cidr_err { CIDR_OK, CIDR_SYNTAX, CIDR_HOST_BITS };

/* Parses into out with the host bits cleared, so a caller that reports
 * CIDR_HOST_BITS can show the network that was probably meant. */
enum profile_cidr_err profile_cidr_read(const char *s, struct tg_cidr *out);
/* "10.0.0.0/8" */
void profile_cidr_format(const struct tg_cidr *c, char *buf, size_t len);

/* ---- profile_load.c ---- */

enum profile_key_kind { K_NAME, K_EXES, K_DIRS, K_PORTS, K_NETS, K_BOOL };

struct profile_key {
	const char *name;
	enum profile_key_kind kind;
	size_t off;            /* the struct tg_strs, uint16_t * or struct tg_cidr * */
	size_t n_off;          /* K_PORTS, K_NETS: the count beside it */
};

#define PROFILE_N_KEYS 13
/* Order is the order of the file's documentation and of "expected one of". */
extern const struct profile_key profile_keys[PROFILE_N_KEYS];

struct profile_loader {
	const char *file;      /* name in messages */
	const char *text;      /* the file as read: positions are counted here */
	const char *json;      /* comments blanked: same offsets as text */
	size_t len;
	struct jsonsrc_pos pos;        /* offsets of json's values */
	struct tg_diag *diag;
	struct tg_profile *p;  /* the profile being built */
	int member[PROFILE_N_KEYS];    /* member index of each key in the object, -1 = absent */
};

int profile_strs_push(struct tg_strs *s, const char *str);
void profile_strs_free(struct tg_strs *s);
/* One entry at the line:col of member m's key (elem -2), its value (-1)
 * or element elem of its array; with no line when m < 0 (a default). */
void profile_report(struct profile_loader *L, bool warning, int m, int elem, const char *item,
		    const char *fmt, ...) __attribute__((format(printf, 6, 7)));
void profile_oom(struct profile_loader *L);

/* ---- profile_values.c ---- */

/* "is X" in messages: true and false by name, other kinds as jsonsrc_kind. */
const char *profile_json_kind(const cJSON *v);
/* Member m of the file, the value of profile_keys[k], into L->p; 0, or -1
 * after reporting why not. */
int profile_load_member(struct profile_loader *L, int m, size_t k, const cJSON *v);

#endif
