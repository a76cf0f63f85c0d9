/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* preflight: can this host run twinguard? One clear message per problem. */
#ifndef TG_PREFLIGHT_H
#define TG_PREFLIGHT_H

#include <stddef.h>

/* Exit codes, documented in docs/operations.md. */
enum tg_exit_code {
	TG_EXIT_OK = 0,
	TG_EXIT_FAIL = 1,       /* runtime failure (load, attach) */
	TG_EXIT_CONFIG = 2,     /* config file missing or malformed */
	TG_EXIT_NOT_ROOT = 3,
	TG_EXIT_NO_BTF = 4,
	TG_EXIT_NO_BPF = 5,
	TG_EXIT_USAGE = 64,
};

/* Where preflight looks; tests point these elsewhere. */
struct tg_preflight_paths {
	const char *btf;      /* /sys/kernel/btf/vmlinux */
	const char *tracefs;  /* /sys/kernel/tracing */
};

extern const struct tg_preflight_paths preflight_default_paths;

/* Returns TG_EXIT_OK, or an exit code with "problem; fix" in msg. Notes
 * that are not fatal (tracefs missing) go to note. */
int preflight_check(const struct tg_preflight_paths *paths, char *msg, size_t len, char *note,
		    size_t nlen);

#endif
