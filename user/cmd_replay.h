/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef TG_CMD_REPLAY_H
#define TG_CMD_REPLAY_H

/* `twinguard replay`: see its --help. Returns the exit code. */
int cmd_replay(int argc, char **argv);

#endif
