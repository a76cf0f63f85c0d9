// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * config_file: read a config file, bounded and NUL-free, and hand its text
 * to the parser (config.c). Kept apart so config.c is only the grammar.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

#define FILE_MAX_BYTES (1u << 20)    /* stops `--config /dev/zero` reading forever */

/* The parser takes a C string, so a NUL byte would silently end the file. */
static int check_no_nul(const char *name, const char *buf, size_t len, char *err,
			size_t errlen)
{
	const char *nul = memchr(buf, '\0', len);
	unsigned line = 1;

	if (!nul)
		return 0;
	for (const char *c = buf; c < nul; c++)
		line += *c == '\n';
	if (err && errlen)
		snprintf(err, errlen, "%s:%u: NUL byte in line; expected text", name, line);
	return -1;
}

/* Read the whole file (bounded) into a NUL-terminated heap buffer. */
static char *read_file(const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	char *buf;
	size_t len;

	if (!f) {
		if (err && errlen)
			snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
		return NULL;
	}
	buf = malloc(FILE_MAX_BYTES + 2);
	if (!buf) {
		fclose(f);
		if (err && errlen)
			snprintf(err, errlen, "%s: out of memory; expected to read the file", path);
		return NULL;
	}
	len = fread(buf, 1, FILE_MAX_BYTES + 1, f);
	if (ferror(f) || len > FILE_MAX_BYTES) {
		if (err && errlen && ferror(f))
			snprintf(err, errlen, "%s: cannot read: %s", path, strerror(errno));
		else if (err && errlen)
			snprintf(err, errlen, "%s: file too large; expected at most %u bytes",
				 path, FILE_MAX_BYTES);
		free(buf);
		fclose(f);
		return NULL;
	}
	fclose(f);
	buf[len] = '\0';
	if (check_no_nul(path, buf, len, err, errlen)) {
		free(buf);
		return NULL;
	}
	return buf;
}

int config_load(const char *path, struct tg_config *cfg, char *err, size_t errlen)
{
	char *text;
	int ret;

	if (err && errlen)
		err[0] = '\0';
	text = read_file(path, err, errlen);
	if (!text)
		return -1;
	ret = config_parse_string(path, text, cfg, err, errlen);
	free(text);
	return ret;
}
