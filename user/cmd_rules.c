// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * `twinguard rules check|list`: load rule files exactly as the agent does
 * (same profile lists, same compiler) and report. No root, no BPF: meant
 * for CI on a rule repository and for an operator before `kill -HUP`.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd_rules.h"
#include "diag.h"
#include "preflight.h"
#include "profile.h"
#include "rules.h"

#define RULES_PACK_DIR "/usr/share/twinguard/rules"
#define RULES_LOCAL_DIR "/etc/twinguard/rules.d"
#define NAME_COL_MAX 48
#define TAGS_COL_MAX 64   /* longer tag lists end in "..." */

static void rules_usage(FILE *f)
{
	fprintf(f,
		"Usage: twinguard rules check [--profile FILE] [FILE...]\n"
		"       twinguard rules list  [--profile FILE] [FILE...]\n"
		"  check            load and compile the rules; print errors and warnings\n"
		"                   (file:line:col) and a summary line\n"
		"  list             print every loaded rule: name, kind, priority, enabled,\n"
		"                   tags, file:line\n"
		"  -p, --profile FILE  twin profile for the twin_* lists (default\n"
		"                   " TG_PROFILE_DEFAULT_PATH " if it exists, else built-in\n"
		"                   defaults)\n"
		"  FILE...          rule files, loaded in the order given; none = the shipped\n"
		"                   packs in " RULES_PACK_DIR "/*.json, then\n"
		"                   " RULES_LOCAL_DIR "/*.json, each in name order\n"
		"Exit codes: 0 no errors (warnings allowed), 1 errors, 64 usage.\n");
}

struct rules_ctx {
	struct tg_profile prof;
	bool have_prof;
	struct tg_ruleset rs;
	struct tg_diag diag;
	char **files;          /* default files, owned */
	size_t n_files;
};

/* As the agent does: the named file, else the default path if it exists,
 * else the built-in defaults. */
static int load_profile(struct rules_ctx *c, const char *path)
{
	const char *p = path ? path : TG_PROFILE_DEFAULT_PATH;

	profile_defaults(&c->prof);
	c->have_prof = true;
	if (!path && access(p, F_OK) && errno == ENOENT)
		return 0;
	return profile_load(p, &c->prof, &c->diag);
}

/* Profile, then the rules; everything goes to c->diag. */
static void load_all(struct rules_ctx *c, const char *profile, char **argv, int argc)
{
	const char *const *files = (const char *const *)argv;
	size_t n = (size_t)argc;

	if (load_profile(c, profile))
		return;
	if (!n) {
		if (rules_default_files(RULES_PACK_DIR, RULES_LOCAL_DIR, &c->files, &c->n_files)) {
			diag_error(&c->diag, NULL, 0, 0, NULL, "cannot list the rule files in %s and %s: "
				   "%s; expected readable directories", RULES_PACK_DIR, RULES_LOCAL_DIR,
				   strerror(errno));
			return;
		}
		if (!c->n_files)
			fprintf(stderr, "twinguard: no rule files in %s or %s\n", RULES_PACK_DIR,
				RULES_LOCAL_DIR);
		files = (const char *const *)c->files;
		n = c->n_files;
	}
	rules_load(&c->rs, files, n, c->have_prof ? &c->prof : NULL, &c->diag);
}

static void ctx_free(struct rules_ctx *c)
{
	rules_free(&c->rs);
	if (c->have_prof)
		profile_free(&c->prof);
	diag_free(&c->diag);
	for (size_t i = 0; i < c->n_files; i++)
		free(c->files[i]);
	free(c->files);
}

static const char *kind_name(enum tg_rule_kind k)
{
	switch (k) {
	case TG_RULE_EVENT: return "event";
	case TG_RULE_SEQUENCE: return "sequence";
	case TG_RULE_THRESHOLD: return "threshold";
	}
	return "?";
}

static void print_summary(const struct rules_ctx *c)
{
	size_t enabled = 0;

	for (size_t i = 0; i < c->rs.n_rules; i++)
		enabled += c->rs.rules[i].enabled;
	printf("%zu rules (%zu enabled), %zu lists, %zu macros: %zu errors, %zu warnings\n",
	       c->rs.n_rules, enabled, c->rs.n_lists, c->rs.n_macros, c->diag.errors,
	       c->diag.warnings);
}

static void join_tags(const struct tg_rule *r, char *buf, size_t len)
{
	size_t used = 0;

	snprintf(buf, len, "-");
	for (size_t t = 0; t < r->n_tags && used < len; t++)
		used += (size_t)snprintf(buf + used, len - used, "%s%s", t ? "," : "", r->tags[t]);
	if (used >= len && len > 4)
		memcpy(buf + len - 4, "...", 4);
}

static void print_table(const struct tg_ruleset *rs)
{
	int wn = 4, wt = 4;
	char tags[TAGS_COL_MAX + 1];

	for (size_t i = 0; i < rs->n_rules; i++) {
		int n = (int)strlen(rs->rules[i].name);

		join_tags(&rs->rules[i], tags, sizeof(tags));
		wn = n > wn ? n : wn;
		wt = (int)strlen(tags) > wt ? (int)strlen(tags) : wt;
	}
	wn = wn > NAME_COL_MAX ? NAME_COL_MAX : wn;
	printf("%-*s  %-9s  %-13s  %-7s  %-*s  %s\n", wn, "NAME", "KIND", "PRIORITY", "ENABLED", wt,
	       "TAGS", "SOURCE");
	for (size_t i = 0; i < rs->n_rules; i++) {
		const struct tg_rule *r = &rs->rules[i];

		join_tags(r, tags, sizeof(tags));
		printf("%-*.*s  %-9s  %-13s  %-7s  %-*s  %s:%d\n", wn, wn, r->name, kind_name(r->kind),
		       rules_priority_name(r->priority), r->enabled ? "yes" : "no", wt, tags, r->file,
		       r->line);
	}
}

int cmd_rules(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "profile", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct rules_ctx c;
	const char *profile = NULL, *sub;
	bool list;
	int opt, err;

	if (argc < 2) {
		rules_usage(stderr);
		return TG_EXIT_USAGE;
	}
	sub = argv[1];
	if (!strcmp(sub, "--help") || !strcmp(sub, "-h") || !strcmp(sub, "help")) {
		rules_usage(stdout);
		return TG_EXIT_OK;
	}
	if (strcmp(sub, "check") && strcmp(sub, "list")) {
		fprintf(stderr, "twinguard: unknown rules command '%s'; expected check or list\n", sub);
		rules_usage(stderr);
		return TG_EXIT_USAGE;
	}
	list = !strcmp(sub, "list");
	argc--;
	argv++;
	/* 0, not 1: glibc then also resets its state, so tests can call us twice. */
	optind = 0;
	while ((opt = getopt_long(argc, argv, "p:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'p': profile = optarg; break;
		case 'h': rules_usage(stdout); return TG_EXIT_OK;
		default: rules_usage(stderr); return TG_EXIT_USAGE;
		}
	}
	memset(&c, 0, sizeof(c));
	diag_init(&c.diag);
	load_all(&c, profile, argv + optind, argc - optind);
	diag_print(&c.diag, stderr);
	if (list)
		print_table(&c.rs);
	print_summary(&c);
	fflush(stdout);
	err = c.diag.errors ? TG_EXIT_FAIL : TG_EXIT_OK;
	ctx_free(&c);
	return err;
}
