/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef TG_CMD_BASELINE_H
#define TG_CMD_BASELINE_H

/* `twinguard baseline`: see `twinguard baseline --help`. argv[0] is
 * "baseline". Returns the exit code. Needs read access to the twin's
 * files and write access to the manifest's directory, not BPF. */
int cmd_baseline(int argc, char **argv);

#endif
