// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * `twinguard replay`: recorded `run --events` output through the same
 * profile, rules and engine as the live agent. No root needed.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cmd_replay.h"
#include "detect.h"
#include "diag.h"
#include "preflight.h"

#define REPLAY_MAX_FILES 64

struct replay {
	struct tg_detect *det;
	FILE *out;
	uint64_t events, alerts, bad;
};

static void replay_usage(FILE *f)
{
	fprintf(f,
		"Usage: twinguard replay [OPTIONS] EVENTS.jsonl (- = stdin)\n"
		"  -r, --rules FILE      a rule file (repeatable; default: the rule dirs)\n"
		"  -d, --rules-dir DIR   shipped packs (default " TG_DEFAULT_RULES_DIR ")\n"
		"  -l, --local-dir DIR   local rules (default " TG_DEFAULT_RULES_LOCAL_DIR ")\n"
		"  -p, --profile FILE    twin profile (default " TG_DEFAULT_PROFILE ")\n"
		"Prints one JSON alert per line on stdout; a summary on stderr.\n"
		"Exit: 0 ok, 1 unreadable or malformed input lines, 2 rule errors, 64 usage.\n");
}

static void replay_on_alert(void *ctx, const struct tg_alert *a)
{
	struct replay *r = ctx;
	cJSON *j = engine_alert_json(a);
	char *s = j ? cJSON_PrintUnformatted(j) : NULL;

	if (s) {
		fputs(s, r->out);
		fputc('\n', r->out);
	}
	free(s);
	cJSON_Delete(j);
	r->alerts++;
}

static void replay_line(struct replay *r, const char *name, size_t lineno, const char *line)
{
	cJSON *ev = cJSON_Parse(line);
	const cJSON *kind, *ts;

	if (!cJSON_IsObject(ev)) {
		fprintf(stderr, "twinguard: %s:%zu: not a JSON object; expected one event per line "
			"(the output of twinguard run --events)\n", name, lineno);
		r->bad++;
		cJSON_Delete(ev);
		return;
	}
	kind = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(ev, "event"), "kind");
	/* agent-stats records and earlier alerts are not events */
	if (cJSON_IsString(kind) && strcmp(kind->valuestring, "event")) {
		cJSON_Delete(ev);
		return;
	}
	ts = cJSON_GetObjectItemCaseSensitive(ev, "@timestamp");
	r->events++;
	detect_event(r->det, ev, detect_parse_time(cJSON_IsString(ts) ? ts->valuestring : NULL),
		     replay_on_alert, r);
	cJSON_Delete(ev);
}

static int replay_stream(struct replay *r, const char *name)
{
	FILE *in = strcmp(name, "-") ? fopen(name, "re") : stdin;
	char *line = NULL;
	size_t cap = 0, lineno = 0;
	ssize_t n;

	if (!in) {
		fprintf(stderr, "twinguard: failed to open %s: %s\n", name, strerror(errno));
		return -1;
	}
	while ((n = getline(&line, &cap, in)) != -1) {
		lineno++;
		if (n <= 1)
			continue;
		replay_line(r, name, lineno, line);
	}
	free(line);
	if (in != stdin)
		fclose(in);
	return 0;
}

int cmd_replay(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "rules", required_argument, NULL, 'r' },
		{ "rules-dir", required_argument, NULL, 'd' },
		{ "local-dir", required_argument, NULL, 'l' },
		{ "profile", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *files[REPLAY_MAX_FILES];
	struct tg_detect_paths paths = { .files = files };
	struct replay r = { .out = stdout };
	struct tg_diag diag;
	int c, rc;

	optind = 1;
	while ((c = getopt_long(argc, argv, "r:d:l:p:h", opts, NULL)) != -1) {
		switch (c) {
		case 'r':
			if (paths.n_files == REPLAY_MAX_FILES) {
				fprintf(stderr, "twinguard: more than %d --rules files\n", REPLAY_MAX_FILES);
				return TG_EXIT_USAGE;
			}
			files[paths.n_files++] = optarg;
			break;
		case 'd': paths.rules_dir = optarg; break;
		case 'l': paths.rules_local_dir = optarg; break;
		case 'p': paths.profile = optarg; break;
		case 'h': replay_usage(stdout); return TG_EXIT_OK;
		default: replay_usage(stderr); return TG_EXIT_USAGE;
		}
	}
	if (optind != argc - 1) {
		replay_usage(stderr);
		return TG_EXIT_USAGE;
	}
	diag_init(&diag);
	r.det = detect_new(&paths, &diag);
	diag_print(&diag, stderr);
	diag_free(&diag);
	if (!r.det)
		return TG_EXIT_CONFIG;
	rc = replay_stream(&r, argv[optind]);
	fflush(r.out);
	fprintf(stderr, "replay: %llu events, %llu alerts, %llu malformed lines\n",
		(unsigned long long)r.events, (unsigned long long)r.alerts, (unsigned long long)r.bad);
	detect_free(r.det);
	return rc || r.bad ? TG_EXIT_FAIL : TG_EXIT_OK;
}
