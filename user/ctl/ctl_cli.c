// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * ctl_cli: `twinguard status|stats|ps|alerts|reload|metrics`, the client
 * side of the query socket (docs/control.md). One request, one answer;
 * alerts are read and printed line by line so --follow streams.
 * Exit codes: 0 ok, 1 the agent answered with an error (or reload
 * failed), 2 the agent cannot be reached, 64 usage.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "config.h"
#include "ctl/ctl_cli.h"

#define EXIT_AGENT_ERR 1
#define EXIT_UNREACHABLE 2
#define EXIT_USAGE 64
#define ANSWER_MAX (256u * 1024 * 1024)
#define ANSWER_WAIT_S 30

struct cli {
	const char *cmd;
	const char *socket;
	const char *config;
	bool table, follow;
	double since_s;       /* < 0: not given */
	const char *rule;
	long pid;
};

static void cli_usage(FILE *f, const char *cmd)
{
	const char *extra = "";

	if (!strcmp(cmd, "ps"))
		extra = " [PID]";
	else if (!strcmp(cmd, "alerts"))
		extra = " [--since DURATION] [--rule NAME] [--follow]";
	fprintf(f, "Usage: twinguard %s%s [--socket PATH | --config FILE] [--table]\n", cmd, extra);
	fprintf(f,
		"  -s, --socket PATH   the agent's control socket\n"
		"  -c, --config FILE   read control_socket from this config file\n"
		"                      (default socket: " TG_DEFAULT_CONTROL_SOCKET ")\n"
		"  -t, --table         a human view instead of JSON\n");
	if (!strcmp(cmd, "alerts"))
		fprintf(f,
			"      --since D       only alerts of the last D (30s, 10m, 2h, 1d)\n"
			"      --rule NAME     only this rule's alerts\n"
			"  -f, --follow        keep streaming new alerts\n");
	fprintf(f, "Exit codes: 0 ok, 1 the agent answered with an error, 2 cannot reach the agent,"
		   " 64 usage.\n");
}

/* "90", "30s", "10m", "2h", "1d" in seconds; -1 when it is none of these. */
double cli_parse_duration(const char *s)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || !(v >= 0) || v > 1e9)
		return -1;
	if (!*end || !strcmp(end, "s"))
		return v;
	if (!strcmp(end, "m"))
		return v * 60;
	if (!strcmp(end, "h"))
		return v * 3600;
	if (!strcmp(end, "d"))
		return v * 86400;
	return -1;
}

static int cli_args(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "config", required_argument, NULL, 'c' },
		{ "table", no_argument, NULL, 't' },
		{ "since", required_argument, NULL, 'S' },
		{ "rule", required_argument, NULL, 'r' },
		{ "follow", no_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	bool alerts = !strcmp(c->cmd, "alerts");
	int o;

	optind = 1;
	while ((o = getopt_long(argc, argv, alerts ? "s:c:tfh" : "s:c:th", opts, NULL)) != -1) {
		switch (o) {
		case 's': c->socket = optarg; break;
		case 'c': c->config = optarg; break;
		case 't': c->table = true; break;
		case 'h': cli_usage(stdout, c->cmd); return 0;
		case 'S': case 'r': case 'f':
			if (!alerts) {
				fprintf(stderr, "twinguard: %s takes no --%s\n", c->cmd,
					o == 'S' ? "since" : o == 'r' ? "rule" : "follow");
				goto usage;
			}
			if (o == 'f')
				c->follow = true;
			else if (o == 'r')
				c->rule = optarg;
			else if ((c->since_s = cli_parse_duration(optarg)) < 0) {
				fprintf(stderr, "twinguard: failed to parse --since '%s': expected a "
					"duration like 30s, 10m, 2h or 1d\n", optarg);
				goto usage;
			}
			break;
		default: goto usage;
		}
	}
	if (optind < argc && !strcmp(c->cmd, "ps") && !c->pid) {
		char *end;

		c->pid = strtol(argv[optind], &end, 10);
		if (*end || c->pid <= 0 || c->pid > 4194304) {
			fprintf(stderr, "twinguard: failed to parse PID '%s': expected a process id\n",
				argv[optind]);
			goto usage;
		}
		optind++;
	}
	if (optind < argc) {
		fprintf(stderr, "twinguard: unexpected argument '%s'\n", argv[optind]);
		goto usage;
	}
	return 1;
usage:
	cli_usage(stderr, c->cmd);
	return -1;
}

/* --socket, else the config's control_socket, else the default. */
static int cli_socket_path(const struct cli *c, char *path, size_t len)
{
	struct tg_config cfg;
	char err[512];

	if (c->socket) {
		snprintf(path, len, "%s", c->socket);
		return 0;
	}
	if (!c->config) {
		snprintf(path, len, "%s", TG_DEFAULT_CONTROL_SOCKET);
		return 0;
	}
	config_defaults(&cfg);
	if (config_load(c->config, &cfg, err, sizeof(err))) {
		fprintf(stderr, "twinguard: failed to load config %s: %s\n", c->config, err);
		config_free(&cfg);
		return -1;
	}
	if (!cfg.control_socket || !strcmp(cfg.control_socket, "off")) {
		fprintf(stderr, "twinguard: %s sets control_socket = off: the agent has no "
			"control socket\n", c->config);
		config_free(&cfg);
		return -1;
	}
	snprintf(path, len, "%s", cfg.control_socket);
	config_free(&cfg);
	return 0;
}

static int cli_connect(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, e;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "twinguard: failed to connect to control socket %s: path too long\n",
			path);
		return -1;
	}
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0 && !connect(fd, (struct sockaddr *)&sa, sizeof(sa)))
		return fd;
	e = errno;
	if (fd >= 0)
		close(fd);
	fprintf(stderr, "twinguard: failed to connect to control socket %s: %s (%s)\n", path,
		strerror(e),
		e == EACCES || e == EPERM ? "permission? the socket is root's only (mode 0600)" :
		e == ENOENT || e == ECONNREFUSED ? "is the agent running? is control_socket set?" :
		"is the agent running?");
	return -1;
}

static char *cli_request(const struct cli *c)
{
	cJSON *j = cJSON_CreateObject();
	char *s;

	cJSON_AddStringToObject(j, "cmd", c->cmd);
	if (c->pid)
		cJSON_AddNumberToObject(j, "pid", (double)c->pid);
	if (c->since_s >= 0)
		cJSON_AddNumberToObject(j, "since_s", c->since_s);
	if (c->rule)
		cJSON_AddStringToObject(j, "rule", c->rule);
	if (c->follow)
		cJSON_AddBoolToObject(j, "follow", true);
	s = cJSON_PrintUnformatted(j);
	cJSON_Delete(j);
	return s;
}

static int cli_send(int fd, const char *req, const char *path)
{
	size_t n = strlen(req), off = 0;

	while (off < n + 1) {
		ssize_t w = off < n ? send(fd, req + off, n - off, MSG_NOSIGNAL)
				    : send(fd, "\n", 1, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			fprintf(stderr, "twinguard: failed to send to control socket %s: %s\n", path,
				strerror(errno));
			return -1;
		}
		off += (size_t)w;
	}
	return 0;
}

/* {"error":"..."}: say it, and exit 1. */
static int cli_agent_error(const cJSON *j)
{
	const cJSON *e = cJSON_GetObjectItemCaseSensitive(j, "error");

	if (!cJSON_IsString(e))
		return 0;
	fprintf(stderr, "twinguard: the agent answered: %s\n", e->valuestring);
	return EXIT_AGENT_ERR;
}

/* Lines as they come: each alert printed at once; {"lost":N} on stderr. */
static int cli_alerts(const struct cli *c, FILE *in)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int rc = 0;

	while ((n = getline(&line, &cap, in)) > 0) {
		cJSON *j = cJSON_ParseWithLength(line, (size_t)n);
		const cJSON *lost = cJSON_GetObjectItemCaseSensitive(j, "lost");

		if (j && cJSON_GetArraySize(j) == 1 && cJSON_IsString(cJSON_GetObjectItem(j, "error"))) {
			rc = cli_agent_error(j);
		} else if (j && cJSON_GetArraySize(j) == 1 && cJSON_IsNumber(lost)) {
			fprintf(stderr, "twinguard: %.0f alerts lost: this client read too slowly\n",
				lost->valuedouble);
		} else if (c->table && j) {
			table_alert(stdout, j);
		} else {
			fwrite(line, 1, (size_t)n, stdout);
		}
		cJSON_Delete(j);
		fflush(stdout);
	}
	free(line);
	return rc;
}

static char *cli_read_all(FILE *in, size_t *len)
{
	char *buf = NULL, *p;
	size_t cap = 0, n = 0, got;

	do {
		if (n + 65536 + 1 > cap) {
			cap = cap ? cap * 2 : 131072;
			if (cap > ANSWER_MAX || !(p = realloc(buf, cap))) {
				free(buf);
				return NULL;
			}
			buf = p;
		}
		got = fread(buf + n, 1, cap - n - 1, in);
		n += got;
	} while (got);
	buf[n] = '\0';
	*len = n;
	return buf;
}

static int cli_reload(const cJSON *j, bool table)
{
	const cJSON *ok = cJSON_GetObjectItemCaseSensitive(j, "ok");
	const cJSON *errs = cJSON_GetObjectItemCaseSensitive(j, "errors"), *e;
	const cJSON *rules = cJSON_GetObjectItemCaseSensitive(j, "rules");

	if (cJSON_IsTrue(ok)) {
		if (table)
			printf("reloaded: %.0f rules\n", cJSON_IsNumber(rules) ? rules->valuedouble : 0);
		return 0;
	}
	fprintf(stderr, "twinguard: reload failed, the old rules stay:\n");
	cJSON_ArrayForEach(e, errs)
		if (cJSON_IsString(e))
			fprintf(stderr, "%s\n", e->valuestring);
	return EXIT_AGENT_ERR;
}

/* One whole answer: JSON (or the metrics text), checked and printed. */
static int cli_answer(const struct cli *c, const char *path, FILE *in)
{
	size_t len = 0;
	char *text = cli_read_all(in, &len);
	cJSON *j;
	int rc = 0;

	if (!text || !len) {
		fprintf(stderr, "twinguard: failed to read an answer from control socket %s: %s\n",
			path, !text ? "too large or out of memory" :
			ferror(in) ? "no answer in time (is the agent stuck?)" :
			"the agent closed the connection");
		free(text);
		return EXIT_UNREACHABLE;
	}
	j = text[0] == '{' ? cJSON_ParseWithLength(text, len) : NULL;
	if (j && (rc = cli_agent_error(j)))
		goto out;
	if (!strcmp(c->cmd, "metrics") && !j) {
		fwrite(text, 1, len, stdout);
		goto out;
	}
	if (!j) {
		fprintf(stderr, "twinguard: failed to parse the answer from %s: expected JSON\n", path);
		rc = EXIT_AGENT_ERR;
		goto out;
	}
	if (!strcmp(c->cmd, "reload") && (rc = cli_reload(j, c->table)) != 0)
		goto out;
	if (!c->table)
		fwrite(text, 1, len, stdout);
	else if (!strcmp(c->cmd, "status"))
		table_status(stdout, j);
	else if (!strcmp(c->cmd, "stats"))
		table_stats(stdout, j);
	else if (!strcmp(c->cmd, "ps"))
		table_ps(stdout, j);
out:
	cJSON_Delete(j);
	free(text);
	return rc;
}

int cmd_ctl(int argc, char **argv)
{
	struct cli c = { .cmd = argv[0], .since_s = -1 };
	char path[PATH_MAX], *req;
	FILE *in;
	int fd, rc;

	rc = cli_args(&c, argc, argv);
	if (rc <= 0)
		return rc < 0 ? EXIT_USAGE : 0;
	if (cli_socket_path(&c, path, sizeof(path)))
		return EXIT_UNREACHABLE;
	fd = cli_connect(path);
	if (fd < 0)
		return EXIT_UNREACHABLE;
	req = cli_request(&c);
	if (!req || cli_send(fd, req, path)) {
		free(req);
		close(fd);
		return EXIT_UNREACHABLE;
	}
	free(req);
	if (!c.follow) {
		/* The agent answers within its next poll round; only a stuck
		 * agent takes this long, and then the CLI says so. */
		struct timeval tv = { .tv_sec = ANSWER_WAIT_S };

		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	}
	in = fdopen(fd, "r");
	if (!in) {
		close(fd);
		return EXIT_UNREACHABLE;
	}
	rc = !strcmp(c.cmd, "alerts") ? cli_alerts(&c, in) : cli_answer(&c, path, in);
	fclose(in);
	return rc;
}
