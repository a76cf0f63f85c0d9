/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef TG_CMD_RULES_H
#define TG_CMD_RULES_H

/* `twinguard rules check|list`: see `twinguard rules --help`. argv[0] is
 * "rules". Returns the exit code: 0 ok, 1 errors in the rules or the
 * profile, 64 usage. Needs no root. */
int cmd_rules(int argc, char **argv);

#endif
