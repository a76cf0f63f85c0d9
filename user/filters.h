/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * filters: the loaded rules compiled into kernel filters, so that event
 * classes no rule needs are not captured and opens outside every path a
 * rule can match never leave the kernel (docs/design.md).
 */
#ifndef TG_FILTERS_H
#define TG_FILTERS_H

#include <stdbool.h>
#include <stddef.h>

struct tg_config;
struct tg_profile;
struct tg_ruleset;

struct tg_filters_report {
	unsigned rule_classes;         /* TG_CLASS_* the rules need */
	bool opens_all;                /* some rule needs every open */
	const char *opens_all_rule;    /* the first such rule */
	size_t n_rule_prefixes;
	bool ports_all;                /* some network rule needs every port */
};

/*
 * out = base with classes and open prefixes set from the rules. With
 * events, base's own classes and prefixes are kept too (the event stream
 * shows what the config asks for). Returns 0, -1 on allocation failure.
 */
int filters_compile(const struct tg_ruleset *rs, const struct tg_profile *prof,
		    const struct tg_config *base, bool events, struct tg_config *out,
		    struct tg_filters_report *rep);

/* Open prefixes for the integrity checker: the profile's model and config
 * directories, for writes, unless out already passes every open. Adds the
 * file class. 0, -1 on allocation failure. */
int filters_add_watch(struct tg_config *out, const struct tg_profile *prof);

#endif
