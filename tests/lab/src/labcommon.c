// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * labcommon: the lab config, the model format, bounded file reads and the
 * atomic file write shared by the twin lab's programs (see labcommon.h; the
 * network clients are in labclient.c). Every read is capped and every loop
 * moves forward or ends.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <math.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "labcommon.h"

int lab_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

long long lab_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

char *lab_read_file(const char *path, size_t max_bytes, size_t *len, char *err, size_t errlen)
{
	struct stat st;
	char *buf = NULL;
	size_t got = 0;
	ssize_t n;
	int fd;

	/* O_NONBLOCK: a FIFO planted at the path must not block the open. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		lab_err(err, errlen, "%s: cannot open: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		lab_err(err, errlen, "%s: not a regular file", path);
		goto fail;
	}
	if ((size_t)st.st_size > max_bytes) {
		lab_err(err, errlen, "%s: %lld bytes, more than the %zu allowed", path,
			(long long)st.st_size, max_bytes);
		goto fail;
	}
	buf = malloc(max_bytes + 1);
	if (!buf) {
		lab_err(err, errlen, "%s: out of memory", path);
		goto fail;
	}
	/* Bounded: each pass reads at least one byte or ends the loop. */
	while (got <= max_bytes) {
		n = read(fd, buf + got, max_bytes + 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			lab_err(err, errlen, "%s: read: %s", path, strerror(errno));
			goto fail;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	if (got > max_bytes) {
		lab_err(err, errlen, "%s: grew past the %zu bytes allowed", path, max_bytes);
		goto fail;
	}
	buf[got] = '\0';
	close(fd);
	if (len)
		*len = got;
	return buf;
fail:
	free(buf);
	close(fd);
	return NULL;
}

cJSON *lab_json_parse(const char *buf, size_t len, const char *path, char *err, size_t errlen)
{
	const char *end = NULL;
	size_t line = 1, i, off;
	cJSON *root;

	/* Trailing garbage is an error; cJSON wants the NUL inside the length
	 * for that check. */
	root = cJSON_ParseWithLengthOpts(buf, len + 1, &end, 1);
	if (!root) {
		off = end && end >= buf ? (size_t)(end - buf) : 0;
		for (i = 0; i < off && i < len; i++)
			line += buf[i] == '\n';
		lab_err(err, errlen, "%s:%zu: invalid JSON (byte %zu)", path, line, off);
	} else if (!cJSON_IsObject(root)) {
		lab_err(err, errlen, "%s: expected a JSON object at the top level", path);
		cJSON_Delete(root);
		root = NULL;
	}
	return root;
}

cJSON *lab_json_load(const char *path, size_t max_bytes, char *err, size_t errlen)
{
	cJSON *root;
	size_t len;
	char *buf;

	buf = lab_read_file(path, max_bytes, &len, err, errlen);
	if (!buf)
		return NULL;
	root = lab_json_parse(buf, len, path, err, errlen);
	free(buf);
	return root;
}

/* ---- the lab config --------------------------------------------------- */

enum field_kind { F_HOST, F_PORT, F_TOKEN, F_PATH };

struct field_def {
	const char *name;
	enum field_kind kind;
	size_t off;
	bool required;
};

#define CFG(f) offsetof(struct lab_config, f)

static const struct field_def config_fields[] = {
	{ "broker_host", F_HOST, CFG(broker_host), false },
	{ "data_port", F_PORT, CFG(data_port), false },
	{ "control_port", F_PORT, CFG(control_port), false },
	{ "api_port", F_PORT, CFG(api_port), false },
	{ "token", F_TOKEN, CFG(token), true },
	{ "model", F_PATH, CFG(model), true },
	{ "state", F_PATH, CFG(state), true },
	{ "log", F_PATH, CFG(log), true },
	{ "run_dir", F_PATH, CFG(run_dir), false },
};

#define N_CONFIG_FIELDS (sizeof(config_fields) / sizeof(config_fields[0]))

static int copy_string(const cJSON *v, const struct field_def *f, char *dst, size_t cap,
		       const char *path, char *err, size_t errlen)
{
	size_t len;

	if (!cJSON_IsString(v) || !v->valuestring[0])
		return lab_err(err, errlen, "%s: field '%s' must be a non-empty string", path, f->name);
	len = strlen(v->valuestring);
	if (len >= cap)
		return lab_err(err, errlen, "%s: field '%s' is longer than %zu bytes", path, f->name,
			       cap - 1);
	memcpy(dst, v->valuestring, len + 1);
	return 0;
}

static int check_value(const struct field_def *f, char *dst, const char *path, char *err,
		       size_t errlen)
{
	struct in_addr a;
	size_t i;

	switch (f->kind) {
	case F_HOST:
		/* Only loopback: the lab never talks to another host. */
		if (inet_pton(AF_INET, dst, &a) != 1 || (ntohl(a.s_addr) >> 24) != 127)
			return lab_err(err, errlen, "%s: field '%s' must be an IPv4 loopback address "
				       "such as \"127.0.0.1\", not \"%s\"", path, f->name, dst);
		return 0;
	case F_TOKEN:
		/* It travels in an HTTP header: printable ASCII, no spaces. */
		for (i = 0; dst[i]; i++)
			if (dst[i] <= ' ' || dst[i] > '~')
				return lab_err(err, errlen, "%s: field '%s' may only hold printable "
					       "ASCII without spaces", path, f->name);
		return 0;
	case F_PATH:
		if (dst[0] != '/')
			return lab_err(err, errlen, "%s: field '%s' must be an absolute path, not "
				       "\"%s\"", path, f->name, dst);
		return 0;
	default:
		return 0;
	}
}

static int config_field(const cJSON *v, const struct field_def *f, struct lab_config *cfg,
			char *err, size_t errlen)
{
	char *base = (char *)cfg + f->off;
	size_t cap;

	if (f->kind == F_PORT) {
		if (!cJSON_IsNumber(v) || v->valuedouble != (double)(int)v->valuedouble ||
		    v->valueint < 1 || v->valueint > 65535)
			return lab_err(err, errlen, "%s: field '%s' must be a port number 1..65535",
				       cfg->path, f->name);
		*(int *)base = v->valueint;
		return 0;
	}
	cap = f->kind == F_HOST ? LAB_HOST_MAX : f->kind == F_TOKEN ? LAB_TOKEN_MAX : PATH_MAX;
	if (copy_string(v, f, base, cap, cfg->path, err, errlen) < 0)
		return -1;
	return check_value(f, base, cfg->path, err, errlen);
}

static int config_defaults(struct lab_config *cfg, const char *path, char *err, size_t errlen)
{
	char abs[PATH_MAX], *dir, *lab;

	memset(cfg, 0, sizeof(*cfg));
	if (strlen(path) >= sizeof(cfg->path))
		return lab_err(err, errlen, "config path too long: %s", path);
	strcpy(cfg->path, path);
	strcpy(cfg->broker_host, "127.0.0.1");
	cfg->data_port = 18830;
	cfg->control_port = 18831;
	cfg->api_port = 18080;
	/* run_dir: <LAB>/run for a config at <LAB>/config/engine.json. */
	if (!realpath(path, abs))
		return lab_err(err, errlen, "%s: cannot open: %s", path, strerror(errno));
	dir = dirname(abs);
	lab = dirname(dir);
	if (snprintf(cfg->run_dir, sizeof(cfg->run_dir), "%s/run",
		     strcmp(lab, "/") ? lab : "") >= (int)sizeof(cfg->run_dir))
		return lab_err(err, errlen, "%s: path too long", path);
	return 0;
}

static int config_unknown_keys(const cJSON *root, const char *path, char *err, size_t errlen)
{
	const cJSON *it;
	size_t i;

	cJSON_ArrayForEach(it, root) {
		for (i = 0; i < N_CONFIG_FIELDS; i++)
			if (it->string && !strcmp(it->string, config_fields[i].name))
				break;
		if (i == N_CONFIG_FIELDS)
			return lab_err(err, errlen, "%s: unknown field '%s' (expected broker_host, "
				       "data_port, control_port, api_port, token, model, state, log, "
				       "run_dir)", path, it->string ? it->string : "?");
	}
	return 0;
}

int lab_config_load(const char *path, struct lab_config *cfg, char *err, size_t errlen)
{
	const struct field_def *f;
	const cJSON *v;
	cJSON *root;
	size_t i;
	int rc = -1;

	if (config_defaults(cfg, path, err, errlen) < 0)
		return -1;
	root = lab_json_load(path, LAB_CONFIG_MAX_BYTES, err, errlen);
	if (!root)
		return -1;
	if (config_unknown_keys(root, path, err, errlen) < 0)
		goto out;
	for (i = 0; i < N_CONFIG_FIELDS; i++) {
		f = &config_fields[i];
		v = cJSON_GetObjectItemCaseSensitive(root, f->name);
		if (!v && f->required) {
			lab_err(err, errlen, "%s: missing required field '%s'", path, f->name);
			goto out;
		}
		if (v && config_field(v, f, cfg, err, errlen) < 0)
			goto out;
	}
	if (cfg->data_port == cfg->control_port || cfg->data_port == cfg->api_port ||
	    cfg->control_port == cfg->api_port) {
		lab_err(err, errlen, "%s: data_port, control_port and api_port must differ", path);
		goto out;
	}
	rc = 0;
out:
	cJSON_Delete(root);
	return rc;
}

/* ---- models ----------------------------------------------------------- */

int lab_model_from_json(const cJSON *root, const char *path, struct lab_model *m,
			char *err, size_t errlen)
{
	const cJSON *name = cJSON_GetObjectItemCaseSensitive(root, "name");
	const cJSON *ver = cJSON_GetObjectItemCaseSensitive(root, "version");
	const cJSON *gain = cJSON_GetObjectItemCaseSensitive(root, "gain");
	const cJSON *off = cJSON_GetObjectItemCaseSensitive(root, "offset");

	memset(m, 0, sizeof(*m));
	if (!cJSON_IsString(name) || !name->valuestring[0] ||
	    strlen(name->valuestring) >= sizeof(m->name))
		return lab_err(err, errlen, "%s: field 'name' must be a string of 1..%zu bytes",
			       path, sizeof(m->name) - 1);
	if (!cJSON_IsNumber(ver) || ver->valuedouble < 0 || ver->valuedouble > 1e9 ||
	    ver->valuedouble != floor(ver->valuedouble))
		return lab_err(err, errlen, "%s: field 'version' must be an integer 0..1000000000",
			       path);
	if (!cJSON_IsNumber(gain) || !isfinite(gain->valuedouble))
		return lab_err(err, errlen, "%s: field 'gain' must be a number", path);
	if (!cJSON_IsNumber(off) || !isfinite(off->valuedouble))
		return lab_err(err, errlen, "%s: field 'offset' must be a number", path);
	strcpy(m->name, name->valuestring);
	m->version = (long)ver->valuedouble;
	m->gain = gain->valuedouble;
	m->offset = off->valuedouble;
	return 0;
}

int lab_model_load(const char *path, struct lab_model *m, char *err, size_t errlen)
{
	cJSON *root = lab_json_load(path, LAB_MODEL_MAX_BYTES, err, errlen);
	int rc;

	if (!root)
		return -1;
	rc = lab_model_from_json(root, path, m, err, errlen);
	cJSON_Delete(root);
	return rc;
}

/* ---- atomic write ----------------------------------------------------- */

int lab_write_all(int fd, const void *data, size_t len, bool sock)
{
	const char *p = data;
	ssize_t n;

	/* Bounded: each pass writes at least one byte or returns. */
	while (len) {
		n = sock ? send(fd, p, len, MSG_NOSIGNAL) : write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int rc;

	if (fd < 0)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

int lab_write_atomic(const char *path, const void *data, size_t len, unsigned mode,
		     char *err, size_t errlen)
{
	char dirbuf[PATH_MAX], basebuf[PATH_MAX], tmp[PATH_MAX];
	const char *dir, *base;
	int fd, saved;

	if (strlen(path) >= sizeof(dirbuf))
		return lab_err(err, errlen, "%s: path too long", path);
	strcpy(dirbuf, path);
	strcpy(basebuf, path);
	dir = dirname(dirbuf);
	base = basename(basebuf);
	if (snprintf(tmp, sizeof(tmp), "%s/.%s.tmp.%d", dir, base, (int)getpid()) >=
	    (int)sizeof(tmp))
		return lab_err(err, errlen, "%s: path too long", path);
	/* O_EXCL|O_NOFOLLOW: never write through something planted at tmp. A
	 * leftover of an earlier process with our pid is removed once. */
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0 && errno == EEXIST && unlink(tmp) == 0)
		fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return lab_err(err, errlen, "%s: cannot create: %s", tmp, strerror(errno));
	if (lab_write_all(fd, data, len, false) < 0 || fsync(fd) < 0 || fchmod(fd, mode) < 0) {
		saved = errno;
		close(fd);
		unlink(tmp);
		return lab_err(err, errlen, "%s: write: %s", tmp, strerror(saved));
	}
	if (close(fd) < 0 || rename(tmp, path) < 0) {
		saved = errno;
		unlink(tmp);
		return lab_err(err, errlen, "cannot rename %s to %s: %s", tmp, path,
			       strerror(saved));
	}
	if (fsync_dir(dir) < 0)
		return lab_err(err, errlen, "%s: fsync of the directory: %s", dir, strerror(errno));
	return 0;
}

/* ---- small parsers ---------------------------------------------------- */

bool lab_token_ok(const char *presented, const char *expected)
{
	size_t lp, le, i;
	unsigned char diff;

	if (!presented || !expected)
		return false;
	lp = strlen(presented);
	le = strlen(expected);
	diff = lp != le;
	for (i = 0; i < le; i++)
		diff |= (unsigned char)expected[i] ^ (unsigned char)(i < lp ? presented[i] : 0);
	return diff == 0 && le > 0;
}

bool lab_sensor_name_ok(const char *s)
{
	size_t i;

	for (i = 0; s[i]; i++)
		if (i >= LAB_SENSOR_NAME_MAX - 1 ||
		    !(isalnum((unsigned char)s[i]) || s[i] == '_' || s[i] == '-' || s[i] == '.'))
			return false;
	return i > 0;
}

int lab_parse_double(const char *s, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (!s[0] || *end || errno || !isfinite(v))
		return -1;
	*out = v;
	return 0;
}

int lab_parse_long(const char *s, long min, long max, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (!s[0] || *end || errno || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}
