// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * One JSON document per line, the format every SIEM forwarder tails. Lines
 * are buffered and flushed after each poll round, so a burst costs one
 * write(2), and a forwarder never sees half a line.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "output.h"

struct tg_output {
	FILE *f;
	bool own;
	uint64_t errors;
	uint64_t lines;
};

struct tg_output *output_open(const char *path)
{
	struct tg_output *o = calloc(1, sizeof(*o));

	if (!o)
		return NULL;
	if (!path || !strcmp(path, "-")) {
		o->f = stdout;
	} else {
		o->f = fopen(path, "ae");
		if (!o->f) {
			int err = errno;

			free(o);
			errno = err;
			return NULL;
		}
		o->own = true;
	}
	setvbuf(o->f, NULL, _IOFBF, 1 << 16);
	return o;
}

int output_write(struct tg_output *o, cJSON *j)
{
	char *s = j ? cJSON_PrintUnformatted(j) : NULL;
	int rc = 0;

	cJSON_Delete(j);
	if (!s || fputs(s, o->f) == EOF || fputc('\n', o->f) == EOF) {
		o->errors++;
		rc = -1;
	} else {
		o->lines++;
	}
	free(s);
	return rc;
}

int output_flush(struct tg_output *o)
{
	if (fflush(o->f) == EOF) {
		o->errors++;
		clearerr(o->f);
		return -1;
	}
	return 0;
}

uint64_t output_errors(const struct tg_output *o)
{
	return o->errors;
}

uint64_t output_lines(const struct tg_output *o)
{
	return o->lines;
}

void output_close(struct tg_output *o)
{
	if (!o)
		return;
	output_flush(o);
	if (o->own)
		fclose(o->f);
	free(o);
}
