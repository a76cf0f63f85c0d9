/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Unit tests for user/config.c: no root, run from the repository root. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <twinguard/events.h>

#include "config.h"

#define SHIPPED_CONF "packaging/twinguard.conf"

static char err[1024];

/* Parse text over fresh defaults; cfg must be config_free'd by the caller. */
static int parse(const char *text, struct tg_config *cfg)
{
	config_defaults(cfg);
	memset(err, 0, sizeof(err));
	return config_parse_string("x.conf", text, cfg, err, sizeof(err));
}

/*
 * An error must fail, name the file and line, say what was expected, and
 * leave the defaults in place (a parse is all or nothing).
 */
static void expect_error(const char *text, const char *where, const char *needle)
{
	struct tg_config cfg;

	cr_assert_eq(parse(text, &cfg), -1, "accepted: %s", text);
	cr_expect(strncmp(err, where, strlen(where)) == 0,
		  "'%s' does not start with '%s'", err, where);
	cr_expect(strstr(err, needle) != NULL, "'%s' lacks '%s'", err, needle);
	cr_expect(strstr(err, "; expected ") != NULL, "'%s' lacks '; expected '", err);
	cr_expect(strchr(err, '\n') == NULL, "message is not one line: '%s'", err);
	cr_expect_eq(cfg.ringbuf_kb, 8192);
	cr_expect_eq(cfg.n_prefixes, 0);
	cr_expect_eq(cfg.n_ports, 0);
	cr_expect_null(cfg.source);
	config_free(&cfg);
	config_free(&cfg);
}

Test(config, defaults)
{
	struct tg_config cfg;

	config_defaults(&cfg);
	cr_expect_eq(cfg.classes, TG_CLASS_ALL);
	cr_expect(cfg.threads);
	cr_expect(cfg.flows);
	cr_expect(!cfg.unix_connect);
	cr_expect_eq(cfg.ringbuf_kb, 8192);
	cr_expect_eq(cfg.proc_table_max, 65536);
	cr_expect_eq(cfg.flow_map_max, 16384);
	cr_expect_eq(cfg.flow_flush_ms, 1000);
	cr_expect_eq(cfg.stats_interval_s, 60);
	cr_expect_eq(cfg.n_prefixes, 0);
	cr_expect_null(cfg.prefixes);
	cr_expect_eq(cfg.n_ports, 0);
	cr_expect_null(cfg.ports);
	cr_expect_str_eq(cfg.output, "-");
	cr_expect_null(cfg.source);
	config_free(&cfg);
	config_free(&cfg); /* twice is safe */
}

Test(config, empty_and_comment_only_text_keeps_defaults)
{
	struct tg_config cfg;

	cr_assert_eq(parse("\n   \n# nothing\n\t# here\n", &cfg), 0, "%s", err);
	cr_expect_eq(cfg.classes, TG_CLASS_ALL);
	cr_expect_str_eq(cfg.output, "-");
	cr_expect_str_eq(cfg.source, "x.conf");
	config_free(&cfg);
	cr_assert_eq(parse("", &cfg), 0, "%s", err);
	config_free(&cfg);
}

Test(config, full_valid_file)
{
	static const char text[] =
		"# twin host\n"
		"events = process, network   # no file, no privilege\n"
		"  threads=no\n"
		"flows = off\n"
		"unix_connect = 1\n"
		"ringbuf_kb = 4\n"
		"proc_table_max = 10000000\n"
		"flow_map_max = 16\n"
		"flow_flush_ms = 60000\n"
		"stats_interval_s = 0\n"
		"watch_read = /etc/shadow\n"
		"watch_write = /usr/bin/\n"
		"watch_rw = /srv/a#b/\n"
		"net_ports = 22, 1883\n"
		"output = /var/log/twinguard.jsonl\n"
		"\n";
	struct tg_config cfg;

	cr_assert_eq(parse(text, &cfg), 0, "%s", err);
	cr_expect_eq(cfg.classes, TG_CLASS_PROCESS | TG_CLASS_NETWORK);
	cr_expect(!cfg.threads);
	cr_expect(!cfg.flows);
	cr_expect(cfg.unix_connect);
	cr_expect_eq(cfg.ringbuf_kb, 4);
	cr_expect_eq(cfg.proc_table_max, 10000000);
	cr_expect_eq(cfg.flow_map_max, 16);
	cr_expect_eq(cfg.flow_flush_ms, 60000);
	cr_expect_eq(cfg.stats_interval_s, 0);
	cr_assert_eq(cfg.n_prefixes, 3);
	cr_expect_str_eq(cfg.prefixes[0].prefix, "/etc/shadow");
	cr_expect_eq(cfg.prefixes[0].access, TG_ACC_READ);
	cr_expect_str_eq(cfg.prefixes[1].prefix, "/usr/bin/");
	cr_expect_eq(cfg.prefixes[1].access, TG_ACC_WRITE);
	/* '#' not after a blank is data, not a comment */
	cr_expect_str_eq(cfg.prefixes[2].prefix, "/srv/a#b/");
	cr_expect_eq(cfg.prefixes[2].access, TG_ACC_READ | TG_ACC_WRITE);
	cr_assert_eq(cfg.n_ports, 2);
	cr_expect_eq(cfg.ports[0], 22);
	cr_expect_eq(cfg.ports[1], 1883);
	cr_expect_str_eq(cfg.output, "/var/log/twinguard.jsonl");
	cr_expect_str_eq(cfg.source, "x.conf");
	config_free(&cfg);
	config_free(&cfg);
}

Test(config, last_line_without_newline_and_crlf)
{
	struct tg_config cfg;

	cr_assert_eq(parse("threads = false\r\nringbuf_kb = 8", &cfg), 0, "%s", err);
	cr_expect(!cfg.threads);
	cr_expect_eq(cfg.ringbuf_kb, 8);
	config_free(&cfg);
}

Test(config, booleans_all_spellings)
{
	static const char *const yes[] = { "true", "yes", "on", "1" };
	static const char *const no[] = { "false", "no", "off", "0" };
	struct tg_config cfg;
	char text[64];

	for (size_t i = 0; i < 4; i++) {
		snprintf(text, sizeof(text), "unix_connect = %s\nthreads = %s\n", yes[i], no[i]);
		cr_assert_eq(parse(text, &cfg), 0, "%s", err);
		cr_expect(cfg.unix_connect, "%s", yes[i]);
		cr_expect(!cfg.threads, "%s", no[i]);
		config_free(&cfg);
	}
}

Test(config, events_all_and_single)
{
	struct tg_config cfg;

	cr_assert_eq(parse("events = all\n", &cfg), 0, "%s", err);
	cr_expect_eq(cfg.classes, TG_CLASS_ALL);
	config_free(&cfg);
	cr_assert_eq(parse("events = privilege,file\n", &cfg), 0, "%s", err);
	cr_expect_eq(cfg.classes, TG_CLASS_PRIVILEGE | TG_CLASS_FILE);
	config_free(&cfg);
}

Test(config, range_bounds_accepted)
{
	struct tg_config cfg;

	cr_assert_eq(parse("ringbuf_kb = 1048576\nproc_table_max = 16\n"
			   "flow_map_max = 1048576\nflow_flush_ms = 50\n"
			   "stats_interval_s = 86400\n", &cfg), 0, "%s", err);
	cr_expect_eq(cfg.ringbuf_kb, 1048576);
	cr_expect_eq(cfg.proc_table_max, 16);
	cr_expect_eq(cfg.flow_map_max, 1048576);
	cr_expect_eq(cfg.flow_flush_ms, 50);
	cr_expect_eq(cfg.stats_interval_s, 86400);
	config_free(&cfg);
}

Test(config, prefix_access_merges)
{
	static const char text[] =
		"watch_read = /etc/\n"
		"watch_write = /boot/\n"
		"watch_write = /etc/\n"
		"watch_read = /etc/\n"
		"watch_write = /boot/\n";
	struct tg_config cfg;

	cr_assert_eq(parse(text, &cfg), 0, "%s", err);
	cr_assert_eq(cfg.n_prefixes, 2);
	cr_expect_str_eq(cfg.prefixes[0].prefix, "/etc/");
	cr_expect_eq(cfg.prefixes[0].access, TG_ACC_READ | TG_ACC_WRITE);
	cr_expect_str_eq(cfg.prefixes[1].prefix, "/boot/");
	cr_expect_eq(cfg.prefixes[1].access, TG_ACC_WRITE);
	config_free(&cfg);
}

Test(config, prefix_longest_allowed)
{
	char text[TG_PREFIX_MAX + 32];
	struct tg_config cfg;
	int n = snprintf(text, sizeof(text), "watch_rw = /");

	memset(text + n, 'a', TG_PREFIX_MAX - 2);
	text[n + TG_PREFIX_MAX - 2] = '\0';
	cr_assert_eq(parse(text, &cfg), 0, "%s", err);
	cr_assert_eq(cfg.n_prefixes, 1);
	cr_expect_eq(strlen(cfg.prefixes[0].prefix), TG_PREFIX_MAX - 1);
	config_free(&cfg);
}

Test(config, ports_dedupe_across_lines)
{
	static const char text[] =
		"net_ports = 22, 1883, 22\n"
		"net_ports = 8883,1883 , 65535, 1\n";
	static const uint16_t want[] = { 22, 1883, 8883, 65535, 1 };
	struct tg_config cfg;

	cr_assert_eq(parse(text, &cfg), 0, "%s", err);
	cr_assert_eq(cfg.n_ports, 5);
	for (size_t i = 0; i < 5; i++)
		cr_expect_eq(cfg.ports[i], want[i], "ports[%zu] = %u", i, cfg.ports[i]);
	config_free(&cfg);
}

/* A second parse over a parsed config appends lists and dedupes against them. */
Test(config, reparse_appends_and_dedupes)
{
	struct tg_config cfg;

	cr_assert_eq(parse("net_ports = 22\nwatch_read = /etc/\n", &cfg), 0, "%s", err);
	cr_assert_eq(config_parse_string("y.conf", "net_ports = 22, 80\nwatch_write = /etc/\n",
					 &cfg, err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(cfg.n_ports, 2);
	cr_expect_eq(cfg.n_prefixes, 1);
	cr_expect_eq(cfg.prefixes[0].access, TG_ACC_READ | TG_ACC_WRITE);
	cr_expect_str_eq(cfg.source, "y.conf");
	config_free(&cfg);
}

/* A bad file must not half-apply over a running config (reload). */
Test(config, error_leaves_config_unchanged)
{
	struct tg_config cfg;

	cr_assert_eq(parse("ringbuf_kb = 8\nnet_ports = 22\n", &cfg), 0, "%s", err);
	cr_assert_eq(config_parse_string("bad.conf",
					 "ringbuf_kb = 64\nnet_ports = 80\nwatch_rw = /x/\nbogus\n",
					 &cfg, err, sizeof(err)), -1);
	cr_expect(strstr(err, "bad.conf:4:") == err, "%s", err);
	cr_expect_eq(cfg.ringbuf_kb, 8);
	cr_expect_eq(cfg.n_ports, 1);
	cr_expect_eq(cfg.n_prefixes, 0);
	cr_expect_str_eq(cfg.source, "x.conf");
	config_free(&cfg);
}

Test(config, error_unknown_key)
{
	expect_error("threads = true\n\nringbuf = 5\n", "x.conf:3: ",
		     "unknown key 'ringbuf'; expected one of: events, threads,");
	expect_error("Threads = true\n", "x.conf:1: ", "unknown key 'Threads'");
}

Test(config, error_missing_equals)
{
	expect_error("# c\nthreads true\n", "x.conf:2: ", "missing '='; expected key = value");
	expect_error("= true\n", "x.conf:1: ", "expected key = value");
}

Test(config, error_duplicate_scalar_names_earlier_line)
{
	expect_error("threads = true\nflows = true\n\nthreads = false\n", "x.conf:4: ",
		     "first set on line 1");
	expect_error("output = -\noutput = /tmp/x\n", "x.conf:2: ", "duplicate key 'output'");
}

Test(config, error_bad_boolean)
{
	expect_error("flows = maybe\n", "x.conf:1: ", "expected true or false");
	expect_error("flows = TRUE\n", "x.conf:1: ", "is not a boolean");
}

Test(config, error_not_power_of_two)
{
	expect_error("\n\nringbuf_kb = 1000\n", "x.conf:3: ",
		     "'ringbuf_kb = 1000' is not a power of two; expected 4..1048576, a power of two");
}

Test(config, error_out_of_range)
{
	expect_error("ringbuf_kb = 2\n", "x.conf:1: ", "out of range; expected 4..1048576");
	expect_error("ringbuf_kb = 2097152\n", "x.conf:1: ", "out of range");
	expect_error("proc_table_max = 15\n", "x.conf:1: ", "expected 16..10000000");
	expect_error("flow_map_max = 1048577\n", "x.conf:1: ", "expected 16..1048576");
	expect_error("flow_flush_ms = 49\n", "x.conf:1: ", "expected 50..60000");
	expect_error("stats_interval_s = 86401\n", "x.conf:1: ", "expected 0..86400");
	expect_error("stats_interval_s = 99999999999999999999999\n", "x.conf:1: ",
		     "out of range");
	expect_error("net_ports = 22, 0\n", "x.conf:1: ", "port '0' is out of range; expected");
	expect_error("net_ports = 65536\n", "x.conf:1: ", "ports 1..65535");
}

Test(config, error_trailing_garbage_in_number)
{
	expect_error("flow_flush_ms = 12abc\n", "x.conf:1: ",
		     "'flow_flush_ms = 12abc' is not a number; expected 50..60000");
	expect_error("flow_flush_ms = -100\n", "x.conf:1: ", "is not a number");
	expect_error("flow_flush_ms = 0x100\n", "x.conf:1: ", "is not a number");
	expect_error("flow_flush_ms = 1 00\n", "x.conf:1: ", "is not a number");
	expect_error("net_ports = 22, 80x\n", "x.conf:1: ", "port '80x' is not a number");
}

Test(config, error_empty_value)
{
	expect_error("threads =\n", "x.conf:1: ", "empty value for 'threads'; expected true");
	expect_error("output =   # nothing\n", "x.conf:1: ", "empty value for 'output'");
	expect_error("net_ports = \n", "x.conf:1: ", "empty value for 'net_ports'");
	expect_error("net_ports = 22,,80\n", "x.conf:1: ", "empty item");
	expect_error("events = process,\n", "x.conf:1: ", "empty item");
}

Test(config, error_unknown_event_class)
{
	expect_error("events = process, disk\n", "x.conf:1: ",
		     "unknown event class 'disk'; expected a comma list of process, file");
}

Test(config, error_bad_prefix)
{
	char text[TG_PREFIX_MAX + 32];
	int n;

	expect_error("watch_read = etc/\n", "x.conf:1: ", "not an absolute path; expected an absolute");
	n = snprintf(text, sizeof(text), "\nwatch_rw = /");
	memset(text + n, 'a', TG_PREFIX_MAX - 1);
	text[n + TG_PREFIX_MAX - 1] = '\0';
	expect_error(text, "x.conf:2: ", "shorter than 256 bytes");
}

Test(config, error_bad_output)
{
	expect_error("output = stdout\n", "x.conf:1: ", "expected - (stdout) or an absolute file path");
}

Test(config, error_line_too_long)
{
	size_t len = 4097;
	char *text = malloc(len + 32);

	cr_assert_not_null(text);
	strcpy(text, "threads = true\n# ");
	memset(text + strlen(text), 'x', len - 2);
	text[15 + len] = '\0';
	cr_assert_eq(strlen(text), 15 + len);
	expect_error(text, "x.conf:2: ", "expected at most 4096 bytes per line");
	/* exactly 4096 bytes is fine */
	text[15 + len - 1] = '\0';
	{
		struct tg_config cfg;

		cr_expect_eq(parse(text, &cfg), 0, "%s", err);
		config_free(&cfg);
	}
	free(text);
}

Test(config, error_truncates_into_small_buffer)
{
	struct tg_config cfg;
	char small[16];

	config_defaults(&cfg);
	memset(small, 'Z', sizeof(small));
	cr_expect_eq(config_parse_string("x.conf", "bogus\n", &cfg, small, sizeof(small)), -1);
	cr_expect_eq(strnlen(small, sizeof(small)), sizeof(small) - 1);
	cr_expect_eq(config_parse_string("x.conf", "bogus\n", &cfg, NULL, 0), -1);
	config_free(&cfg);
}

Test(config, load_missing_file)
{
	struct tg_config cfg;

	config_defaults(&cfg);
	cr_expect_eq(config_load("/nonexistent/twinguard.conf", &cfg, err, sizeof(err)), -1);
	cr_expect_str_eq(err, "/nonexistent/twinguard.conf: cannot open: No such file or directory");
	config_free(&cfg);
}

/* Write text to a temporary file; returns its malloc'd path. */
static char *write_temp(const char *text, size_t len)
{
	char *path = strdup("/tmp/test_config_XXXXXX");
	int fd;

	cr_assert_not_null(path);
	fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, text, len), (ssize_t)len);
	close(fd);
	return path;
}

Test(config, load_file_errors_name_the_path)
{
	struct tg_config cfg;
	char *path = write_temp("threads = true\nflows = nope\n", 28);
	char want[128];

	config_defaults(&cfg);
	cr_expect_eq(config_load(path, &cfg, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s:2: ", path);
	cr_expect(strncmp(err, want, strlen(want)) == 0, "%s", err);
	config_free(&cfg);
	unlink(path);
	free(path);
}

Test(config, load_rejects_nul_byte)
{
	static const char text[] = "threads = true\n\nflows = t\0rue\n";
	struct tg_config cfg;
	char *path = write_temp(text, sizeof(text) - 1);
	char want[128];

	config_defaults(&cfg);
	cr_expect_eq(config_load(path, &cfg, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s:3: NUL byte", path);
	cr_expect(strncmp(err, want, strlen(want)) == 0, "%s", err);
	config_free(&cfg);
	unlink(path);
	free(path);
}

Test(config, load_directory_fails_cleanly)
{
	struct tg_config cfg;

	config_defaults(&cfg);
	cr_expect_eq(config_load("/", &cfg, err, sizeof(err)), -1);
	cr_expect(strncmp(err, "/: cannot", 9) == 0, "%s", err);
	config_free(&cfg);
}

Test(config, shipped_config_parses)
{
	struct tg_config cfg;
	bool shadow = false, twin = false, etc = false;

	config_defaults(&cfg);
	cr_assert_eq(config_load(SHIPPED_CONF, &cfg, err, sizeof(err)), 0, "%s", err);
	cr_expect_str_eq(cfg.source, SHIPPED_CONF);
	cr_expect_eq(cfg.classes, TG_CLASS_ALL);
	cr_expect(cfg.threads);
	cr_expect(cfg.flows);
	cr_expect_eq(cfg.ringbuf_kb, 8192);
	cr_expect_eq(cfg.n_ports, 0, "shipped config watches every port");
	cr_expect_str_eq(cfg.output, "-");
	cr_expect_eq(cfg.n_prefixes, 17);
	for (size_t i = 0; i < cfg.n_prefixes; i++) {
		const struct tg_prefix *p = &cfg.prefixes[i];

		cr_expect_eq(p->prefix[0], '/');
		if (!strcmp(p->prefix, "/etc/shadow"))
			shadow = p->access == TG_ACC_READ;
		if (!strcmp(p->prefix, "/var/lib/twin/"))
			twin = p->access == (TG_ACC_READ | TG_ACC_WRITE);
		if (!strcmp(p->prefix, "/etc/"))
			etc = p->access == TG_ACC_WRITE;
	}
	cr_expect(shadow && twin && etc);
	config_free(&cfg);
}

Test(config, rule_and_profile_paths)
{
	struct tg_config cfg;
	char err[512];

	config_defaults(&cfg);
	cr_expect_null(cfg.rules_dir);
	cr_assert_eq(config_parse_string("p.conf", "rules_dir = /opt/r\nprofile = /opt/p.json\n"
					 "rules_local_dir = /opt/l\n", &cfg, err, sizeof(err)), 0, "%s", err);
	cr_expect_str_eq(cfg.rules_dir, "/opt/r");
	cr_expect_str_eq(cfg.rules_local_dir, "/opt/l");
	cr_expect_str_eq(cfg.profile, "/opt/p.json");
	cr_expect_neq(config_parse_string("q.conf", "profile = rel.json\n", &cfg, err, sizeof(err)), 0);
	cr_expect(strstr(err, "q.conf:1:") && strstr(err, "expected an absolute path"), "%s", err);
	/* a failed parse leaves the earlier values */
	cr_expect_str_eq(cfg.profile, "/opt/p.json");
	config_free(&cfg);
}
