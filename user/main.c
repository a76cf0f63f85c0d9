// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* twinguard: command table in bpftool's style, one cmd_* per subcommand. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <twinguard/events.h>
#include "agent/agent.h"
#include "cmd_baseline.h"
#include "cmd_replay.h"
#include "cmd_rules.h"
#include "ctl/ctl.h"
#include "preflight.h"

#include "version.h"
#define DEFAULT_CONFIG "/etc/twinguard/twinguard.conf"

struct cmd {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *help;
};

static int cmd_help(int argc, char **argv);

static void run_usage(FILE *f)
{
	fprintf(f,
		"Usage: twinguard run [--config FILE] [--events] [--output FILE] [-v]\n"
		"  -c, --config FILE  configuration (default " DEFAULT_CONFIG ")\n"
		"  -e, --events       also print every enriched event as one JSON line\n"
		"  -j, --json         JSON lines on a terminal too (default there: one readable line per alert)\n"
		"  -o, --output FILE  write JSON lines to FILE instead of the config's output\n"
		"  -d, --rules-dir DIR    shipped rule packs (overrides the config)\n"
		"  -l, --local-dir DIR    local rule files (overrides the config)\n"
		"  -p, --profile FILE     twin profile (overrides the config)\n"
		"  -m, --manifest FILE    integrity manifest (overrides the config)\n"
		"  -n, --no-rules     load no rules: event stream only\n"
		"  -v, --verbose      libbpf debug output\n"
		"Alerts (JSON lines) are printed by default.\n"
		"Signals: SIGINT/SIGTERM detach and exit, SIGHUP reloads the config and reopens\n"
		"files, SIGUSR1 reopens files (external log rotation).\n"
		"Exit codes: 0 ok, 1 runtime failure, 2 config, 3 not root, 4 no BTF, 5 BPF disabled, 64 usage.\n");
}

static int cmd_run(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "events", no_argument, NULL, 'e' },
		{ "json", no_argument, NULL, 'j' },
		{ "output", required_argument, NULL, 'o' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "rules-dir", required_argument, NULL, 'd' },
		{ "local-dir", required_argument, NULL, 'l' },
		{ "profile", required_argument, NULL, 'p' },
		{ "manifest", required_argument, NULL, 'm' },
		{ "no-rules", no_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct tg_agent_opts o = { .config_path = DEFAULT_CONFIG };
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "c:ejo:vd:l:p:m:nh", opts, NULL)) != -1) {
		switch (c) {
		case 'd': o.rules_dir = optarg; break;
		case 'l': o.rules_local_dir = optarg; break;
		case 'p': o.profile = optarg; break;
		case 'm': o.manifest = optarg; break;
		case 'n': o.no_rules = true; break;
		case 'c': o.config_path = optarg; break;
		case 'e': o.events = true; break;
		case 'j': o.json = true; break;
		case 'o': o.output = optarg; break;
		case 'v': o.verbose = true; break;
		case 'h': run_usage(stdout); return TG_EXIT_OK;
		default: run_usage(stderr); return TG_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "twinguard: unexpected argument '%s'\n", argv[optind]);
		run_usage(stderr);
		return TG_EXIT_USAGE;
	}
	return agent_run(&o);
}

static int cmd_version(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	printf("twinguard %s (event ABI %d)\n", TG_VERSION, TG_ABI_VERSION);
	return TG_EXIT_OK;
}

static const struct cmd cmds[] = {
	{ "run", cmd_run, "run the agent (see: twinguard run --help)" },
	{ "rules", cmd_rules, "check or list rule files (rules check|list --help)" },
	{ "replay", cmd_replay, "run recorded events through the rules" },
	{ "baseline", cmd_baseline, "record or check the model/config integrity manifest" },
	{ "status", cmd_ctl, "ask the running agent for its state (--table)" },
	{ "stats", cmd_ctl, "ask the running agent for its counters" },
	{ "ps", cmd_ctl, "the running agent's process table [PID]" },
	{ "alerts", cmd_ctl, "recent alerts [--since 10m] [--rule NAME] [--follow]" },
	{ "reload", cmd_ctl, "reload the rules; errors as file:line" },
	{ "metrics", cmd_ctl, "the agent's counters as Prometheus text" },
	{ "version", cmd_version, "print the version" },
	{ "help", cmd_help, "this text" },
};

static int cmd_help(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	printf("Usage: twinguard COMMAND [OPTIONS]\n\nCommands:\n");
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		printf("  %-10s %s\n", cmds[i].name, cmds[i].help);
	return TG_EXIT_OK;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		cmd_help(0, NULL);
		return TG_EXIT_USAGE;
	}
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (!strcmp(argv[1], cmds[i].name))
			return cmds[i].fn(argc - 1, argv + 1);
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))
		return cmd_help(0, NULL);
	fprintf(stderr, "twinguard: unknown command '%s'; see 'twinguard help'\n", argv[1]);
	return TG_EXIT_USAGE;
}
