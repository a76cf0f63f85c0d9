/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* ctl_cli.h: folder-private, the CLI's parsing and its --table views. */
#ifndef TG_CTL_CLI_H
#define TG_CTL_CLI_H

#include <stdio.h>
#include <cjson/cJSON.h>

#include "ctl/ctl.h"

/* "90", "30s", "10m", "2h", "1d" in seconds; -1 when it is none of these. */
double cli_parse_duration(const char *s);

/* --table views of the answers (shapes: docs/control.md). */
void table_status(FILE *f, const cJSON *status);
void table_stats(FILE *f, const cJSON *stats);
void table_ps(FILE *f, const cJSON *ps);
void table_alert(FILE *f, const cJSON *alert);

#endif
