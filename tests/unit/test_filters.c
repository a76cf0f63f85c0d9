// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Rules compiled into kernel filters (user/filters.c, user/cond_bound.c):
 * which classes are captured and which open prefixes, with which access
 * bits, reach userspace.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <twinguard/events.h>
#include "config.h"
#include "diag.h"
#include "filters.h"
#include "profile.h"
#include "rules.h"

static struct tg_ruleset rs;
static struct tg_profile prof;
static struct tg_config base, out;
static struct tg_filters_report rep;
static char path[64];

static void setup(void)
{
	memset(&rs, 0, sizeof(rs));
	memset(&out, 0, sizeof(out));
	profile_defaults(&prof);
	config_defaults(&base);
	snprintf(path, sizeof(path), "/tmp/tg-filters-XXXXXX");
	cr_assert_neq(mkstemp(path), -1);
}

static void teardown(void)
{
	rules_free(&rs);
	profile_free(&prof);
	config_free(&base);
	config_free(&out);
	unlink(path);
}

TestSuite(filters, .init = setup, .fini = teardown);

/* Load one rule file holding text, then compile the filters. */
static void compile(const char *text, bool events)
{
	const char *files[] = { path };
	struct tg_diag d;
	FILE *f = fopen(path, "w");

	cr_assert_not_null(f);
	fputs(text, f);
	fclose(f);
	diag_init(&d);
	cr_assert_eq(rules_load(&rs, files, 1, &prof, &d), 0, "rules did not load");
	diag_free(&d);
	cr_assert_eq(filters_compile(&rs, &prof, &base, events, &out, &rep), 0);
}

static unsigned access_of(const char *prefix)
{
	for (size_t i = 0; i < out.n_prefixes; i++)
		if (!strcmp(out.prefixes[i].prefix, prefix))
			return out.prefixes[i].access;
	return 0;
}

#define RULE(cond) "[{\"rule\": \"r\", \"desc\": \"d\", \"output\": \"o\", \"priority\": \"warning\", " \
		   "\"condition\": \"" cond "\"}]"

Test(filters, read_rule_gives_read_prefix_only)
{
	compile(RULE("event.action = open and event.type = access and file.path pmatch ('/etc/secret')"),
		false);
	cr_expect_not(rep.opens_all);
	cr_expect_eq(access_of("/etc/secret"), TG_ACC_READ);
	cr_expect(out.classes & TG_CLASS_FILE);
	cr_expect(out.classes & TG_CLASS_PROCESS, "process events always: ancestry");
	cr_expect_not(out.classes & TG_CLASS_NETWORK, "no rule needs network events");
}

Test(filters, write_rule_gives_write_prefix_only)
{
	compile(RULE("event.action = open and event.type in (change, creation) and "
		     "file.path startswith '/srv/conf/'"), false);
	cr_expect_eq(access_of("/srv/conf/"), TG_ACC_WRITE);
}

Test(filters, substring_test_needs_every_open)
{
	compile(RULE("event.action = open and file.path contains 'secret'"), false);
	cr_expect(rep.opens_all);
	cr_expect_str_eq(rep.opens_all_rule, "r");
	cr_expect_eq(out.n_prefixes, 0);
	cr_expect_not(out.opens_off, "every open must reach the rules");
}

Test(filters, exec_only_rules_capture_no_opens)
{
	compile(RULE("event.action = exec and process.executable = /tmp/x"), false);
	cr_expect_not(rep.opens_all);
	cr_expect_eq(out.n_prefixes, 0);
	cr_expect(out.opens_off, "no rule needs an open: the kernel drops them all");
	cr_expect_eq(out.classes, TG_CLASS_PROCESS);
}

Test(filters, twin_role_maps_to_profile_dirs)
{
	compile(RULE("event.action = open and twin.file.role = model"), false);
	cr_expect_not(rep.opens_all);
	cr_expect_eq(access_of(prof.model_dirs.v[0]), TG_ACC_READ | TG_ACC_WRITE, "%s",
		     prof.model_dirs.v[0]);
}

Test(filters, alternative_that_cannot_be_an_open_is_dropped)
{
	/* the rename branch tests file.old_path, which an open never has */
	compile(RULE("(event.action = open and file.path pmatch ('/m')) or "
		     "(event.action = rename and file.old_path pmatch ('/m'))"), false);
	cr_expect_not(rep.opens_all);
	cr_expect_neq(access_of("/m"), 0);
	cr_expect(out.classes & TG_CLASS_FILE);
}

Test(filters, or_with_an_unbounded_branch_is_unbounded)
{
	compile(RULE("event.action = open and (file.path pmatch ('/m') or process.name = cat)"), false);
	cr_expect(rep.opens_all);
}

Test(filters, not_bounds_nothing)
{
	compile(RULE("event.action = open and not file.path pmatch ('/m')"), false);
	cr_expect(rep.opens_all);
}

Test(filters, glob_bounds_by_its_literal_head)
{
	compile(RULE("event.action = open and file.path glob '/home/*/.ssh/id_*'"), false);
	cr_expect_not(rep.opens_all);
	cr_expect_neq(access_of("/home/"), 0);
}

Test(filters, events_mode_keeps_the_config)
{
	char err[256];

	cr_assert_eq(config_parse_string("b.conf", "watch_read = /etc/passwd\nevents = network\n", &base,
					 err, sizeof(err)), 0, "%s", err);
	compile(RULE("event.action = open and file.path pmatch ('/m')"), true);
	cr_expect_eq(access_of("/etc/passwd"), TG_ACC_READ);
	cr_expect_neq(access_of("/m"), 0);
	cr_expect(out.classes & TG_CLASS_NETWORK, "the config's classes stay for the stream");
	cr_expect(out.classes & TG_CLASS_FILE, "and the rules' are added");
}

Test(filters, shipped_packs_bound_every_open)
{
	const char *files[] = { "rules/agent.json", "rules/host.json", "rules/twin.json" };
	struct tg_diag d;

	diag_init(&d);
	cr_assert_eq(rules_load(&rs, files, 3, &prof, &d), 0);
	diag_free(&d);
	cr_assert_eq(filters_compile(&rs, &prof, &base, false, &out, &rep), 0);
	cr_expect_not(rep.opens_all, "rule '%s' forces every open to userspace",
		      rep.opens_all_rule ? rep.opens_all_rule : "");
	cr_expect_eq(access_of("/usr/lib"), TG_ACC_WRITE, "library reads must stay in the kernel");
	cr_expect_neq(access_of("/etc/shadow") & TG_ACC_READ, 0);
}

#define NET_RULE(cond) "[{\"rule\": \"n\", \"desc\": \"d\", \"output\": \"o\", \"priority\": \"warning\", " \
		       "\"condition\": \"" cond "\"}]"

Test(filters, network_rules_naming_ports_filter_ports)
{
	compile(NET_RULE("(event.action = connect and destination.port in (1883, 8883)) or "
			 "(event.action = listen and source.port = 4840)"), false);
	cr_expect_not(rep.ports_all);
	cr_assert_eq(out.n_ports, 3, "ports: %zu", out.n_ports);
	cr_expect(out.classes & TG_CLASS_NETWORK);
}

Test(filters, a_network_rule_without_ports_needs_every_port)
{
	compile(NET_RULE("event.action = connect and destination.ip = 198.51.100.2"), false);
	cr_expect(rep.ports_all);
	cr_expect_eq(out.n_ports, 0, "no port filter");
}

Test(filters, shipped_packs_need_every_port)
{
	const char *files[] = { "rules/agent.json", "rules/host.json", "rules/twin.json" };
	struct tg_diag d;

	diag_init(&d);
	cr_assert_eq(rules_load(&rs, files, 3, &prof, &d), 0);
	diag_free(&d);
	cr_assert_eq(filters_compile(&rs, &prof, &base, false, &out, &rep), 0);
	/* egress to unknown hosts and reverse shells can use any port */
	cr_expect(rep.ports_all);
	cr_expect_eq(out.n_ports, 0);
}
