/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* output: JSON lines to stdout or an append-only file. */
#ifndef TG_OUTPUT_H
#define TG_OUTPUT_H

#include <stdint.h>
#include <cjson/cJSON.h>

struct tg_output;

/* "-" or NULL = stdout. Returns NULL with errno set. */
struct tg_output *output_open(const char *path);
/* Writes one line and frees j. Returns 0 or -1 (the error is counted). */
int output_write(struct tg_output *o, cJSON *j);
int output_flush(struct tg_output *o);
uint64_t output_errors(const struct tg_output *o);
uint64_t output_lines(const struct tg_output *o);
void output_close(struct tg_output *o);

#endif
