/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* agent: the `twinguard run` daemon loop. */
#ifndef TG_AGENT_H
#define TG_AGENT_H

#include <stdbool.h>

struct tg_agent_opts {
	const char *config_path;
	const char *output;     /* overrides the config's output when set */
	bool events;            /* print every enriched event */
	bool json;              /* JSON lines even when stdout is a terminal */
	bool verbose;
	bool no_rules;          /* event stream only: load no rules */
	const char *rules_dir;  /* override the config's rules_dir */
	const char *rules_local_dir;
	const char *profile;
	const char *manifest;   /* override the config's manifest */
};

/* Runs until SIGINT/SIGTERM; returns the process exit code. */
int agent_run(const struct tg_agent_opts *o);

#endif
