/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Unit tests for user/profile*.c (loading, errors with file:line:col, the
 * questions the twin.* fields ask) and user/twin.c (twin_derive on views
 * filled from event JSON). No root; run from the repository root.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "diag.h"
#include "fields.h"
#include "profile.h"

#define SHIPPED_PROFILE "rules/profile/twin-profile.json"
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* ------------------------------------------------------------------ */
/* Helpers                                                            */

static bool strs_eq(const struct tg_strs *a, const struct tg_strs *b)
{
	if (a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++)
		if (strcmp(a->v[i], b->v[i]) != 0)
			return false;
	return true;
}

static bool nets_eq(const struct tg_cidr *a, size_t na, const struct tg_cidr *b, size_t nb)
{
	if (na != nb)
		return false;
	for (size_t i = 0; i < na; i++)
		if (a[i].family != b[i].family || a[i].prefix != b[i].prefix ||
		    memcmp(a[i].addr, b[i].addr, 16) != 0)
			return false;
	return true;
}

/* Everything but source. */
static bool profile_eq(const struct tg_profile *a, const struct tg_profile *b)
{
	return ((!a->name && !b->name) || (a->name && b->name && !strcmp(a->name, b->name))) &&
	       strs_eq(&a->services, &b->services) && strs_eq(&a->model_dirs, &b->model_dirs) &&
	       strs_eq(&a->data_dirs, &b->data_dirs) && strs_eq(&a->config_dirs, &b->config_dirs) &&
	       strs_eq(&a->deployers, &b->deployers) && strs_eq(&a->clients, &b->clients) &&
	       strs_eq(&a->ingest_writers, &b->ingest_writers) &&
	       a->n_control_ports == b->n_control_ports &&
	       (!a->n_control_ports ||
		!memcmp(a->control_ports, b->control_ports, a->n_control_ports * 2)) &&
	       a->n_data_ports == b->n_data_ports &&
	       (!a->n_data_ports || !memcmp(a->data_ports, b->data_ports, a->n_data_ports * 2)) &&
	       nets_eq(a->client_nets, a->n_client_nets, b->client_nets, b->n_client_nets) &&
	       nets_eq(a->egress_nets, a->n_egress_nets, b->egress_nets, b->n_egress_nets) &&
	       a->manifest_auto_update == b->manifest_auto_update;
}

static struct tg_diag diag;

static void diag_setup(void)
{
	diag_init(&diag);
}

static void diag_teardown(void)
{
	diag_free(&diag);
}

TestSuite(profile, .init = diag_setup, .fini = diag_teardown);
TestSuite(profile_errors, .init = diag_setup, .fini = diag_teardown);
TestSuite(cidr);
TestSuite(roles);
TestSuite(twin, .init = diag_setup, .fini = diag_teardown);

/* Load text over fresh defaults into *p (caller frees). */
static int parse(const char *text, struct tg_profile *p)
{
	profile_defaults(p);
	diag_free(&diag);
	diag_init(&diag);
	return profile_parse_string("t.json", text, strlen(text), p, &diag);
}

static char *diag_text(void)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	diag_print(&diag, f);
	fclose(f);
	return buf;
}

/*
 * A bad file fails with exactly one error at line:col about item, whose
 * message holds needle and "; expected ", and leaves the profile it was
 * loaded over untouched (here: a non-default one) and freeable.
 */
static void expect_error(const char *text, int line, int col, const char *item, const char *needle)
{
	static const char base_text[] = "{\"name\": \"before\", \"services\": []}";
	struct tg_profile p, before;
	char *all;

	profile_defaults(&p);
	cr_assert_eq(profile_parse_string("base.json", base_text, strlen(base_text), &p, &diag), 0);
	profile_defaults(&before);
	cr_assert_eq(profile_parse_string("base.json", base_text, strlen(base_text), &before, &diag),
		     0);
	diag_free(&diag);
	diag_init(&diag);

	cr_assert_eq(profile_parse_string("t.json", text, strlen(text), &p, &diag), -1,
		     "accepted: %s", text);
	all = diag_text();
	cr_assert_eq(diag.errors, 1, "want one error for %s, got:\n%s", text, all);
	cr_expect_str_eq(diag.v[0].file, "t.json");
	cr_expect(diag.v[0].line == line && diag.v[0].col == col, "%s: at %d:%d, want %d:%d", all,
		  diag.v[0].line, diag.v[0].col, line, col);
	if (item)
		cr_expect(diag.v[0].item && strcmp(diag.v[0].item, item) == 0,
			  "%s: item '%s', want '%s'", all, diag.v[0].item ? diag.v[0].item : "(null)",
			  item);
	else
		cr_expect_null(diag.v[0].item, "%s", all);
	cr_expect(strstr(diag.v[0].msg, needle) != NULL, "'%s' lacks '%s'", diag.v[0].msg, needle);
	cr_expect(strstr(diag.v[0].msg, "; expected ") != NULL, "'%s' lacks '; expected '",
		  diag.v[0].msg);
	cr_expect(strchr(diag.v[0].msg, '\n') == NULL, "message is not one line: '%s'",
		  diag.v[0].msg);
	cr_expect(profile_eq(&p, &before), "a failed load changed the profile: %s", text);
	cr_expect_str_eq(p.name, "before");
	cr_expect_str_eq(p.source, "base.json");
	free(all);
	profile_free(&p);
	profile_free(&p);
	profile_free(&before);
}

/* ------------------------------------------------------------------ */
/* Defaults and the shipped file                                      */

Test(profile, defaults_are_the_generic_stack)
{
	struct tg_profile p;

	profile_defaults(&p);
	cr_expect_str_eq(p.name, "generic-twin");
	cr_expect_null(p.source);
	cr_assert_eq(p.services.n, 2);
	cr_expect_str_eq(p.services.v[0], "/opt/twin/bin/twin-engine");
	cr_expect_str_eq(p.services.v[1], "/usr/sbin/mosquitto");
	cr_assert_eq(p.model_dirs.n, 1);
	cr_expect_str_eq(p.model_dirs.v[0], "/var/lib/twin/models");
	cr_assert_eq(p.data_dirs.n, 1);
	cr_expect_str_eq(p.data_dirs.v[0], "/var/lib/twin/data");
	cr_assert_eq(p.config_dirs.n, 1);
	cr_expect_str_eq(p.config_dirs.v[0], "/etc/twin");
	cr_assert_eq(p.deployers.n, 1);
	cr_expect_str_eq(p.deployers.v[0], "/opt/twin/bin/twin-deploy");
	cr_assert_eq(p.clients.n, 1);
	cr_expect_str_eq(p.clients.v[0], "/opt/twin/bin/twin-operator");
	cr_assert_eq(p.ingest_writers.n, 1);
	cr_expect_str_eq(p.ingest_writers.v[0], "/opt/twin/bin/twin-gateway");
	cr_assert_eq(p.n_control_ports, 4);
	cr_expect_eq(p.control_ports[0], 8080);
	cr_expect_eq(p.control_ports[1], 8443);
	cr_expect_eq(p.control_ports[2], 4840);
	cr_expect_eq(p.control_ports[3], 502);
	cr_assert_eq(p.n_data_ports, 2);
	cr_expect_eq(p.data_ports[0], 1883);
	cr_expect_eq(p.data_ports[1], 8883);
	cr_assert_eq(p.n_client_nets, 2);
	cr_expect_eq(p.client_nets[0].family, AF_INET);
	cr_expect_eq(p.client_nets[0].prefix, 8);
	cr_expect_eq(p.client_nets[0].addr[0], 127);
	cr_expect_eq(p.client_nets[1].family, AF_INET6);
	cr_expect_eq(p.client_nets[1].prefix, 128);
	cr_expect_eq(p.client_nets[1].addr[15], 1);
	cr_assert_eq(p.n_egress_nets, 5);
	cr_expect_eq(p.egress_nets[2].addr[0], 10);
	cr_expect_eq(p.egress_nets[3].addr[0], 172);
	cr_expect_eq(p.egress_nets[3].addr[1], 16);
	cr_expect_eq(p.egress_nets[3].prefix, 12);
	cr_expect_eq(p.egress_nets[4].addr[0], 192);
	cr_expect_eq(p.egress_nets[4].prefix, 16);
	cr_expect(p.manifest_auto_update);
	profile_free(&p);
	profile_free(&p); /* twice is safe */
	cr_expect_null(p.name);
	cr_expect_eq(p.services.n, 0);
}

Test(profile, shipped_file_equals_the_defaults)
{
	struct tg_profile p, def;

	profile_defaults(&p);
	profile_defaults(&def);
	cr_assert_eq(profile_load(SHIPPED_PROFILE, &p, &diag), 0);
	cr_expect_eq(diag.errors, 0);
	cr_expect(profile_eq(&p, &def), "rules/profile/twin-profile.json differs from profile_defaults()");
	cr_expect_str_eq(p.source, SHIPPED_PROFILE);
	profile_free(&p);
	profile_free(&def);
}

Test(profile, empty_object_is_the_defaults)
{
	struct tg_profile p, def;

	profile_defaults(&def);
	cr_assert_eq(parse("  // nothing to change\n{ }\n", &p), 0);
	cr_expect(profile_eq(&p, &def));
	cr_expect_str_eq(p.source, "t.json");
	profile_free(&p);
	profile_free(&def);
}

Test(profile, keys_override_and_the_rest_keep_defaults)
{
	struct tg_profile p;

	cr_assert_eq(parse("{\n"
			   "  \"name\": \"grid-7\",\n"
			   "  \"services\": [\"/usr/bin/gridsim\"],\n"
			   "  \"data_ports\": [],\n"
			   "  \"egress_networks\": [\"fd00::/8\", \"192.0.2.0/24\", \"198.51.100.7\"],\n"
			   "  \"manifest_auto_update\": false\n"
			   "}",
			   &p),
		     0);
	cr_expect_str_eq(p.name, "grid-7");
	cr_assert_eq(p.services.n, 1);
	cr_expect_str_eq(p.services.v[0], "/usr/bin/gridsim");
	cr_expect_eq(p.n_data_ports, 0);
	cr_expect_null(profile_port_role(&p, 1883));
	cr_expect_str_eq(profile_port_role(&p, 8080), "control"); /* default kept */
	cr_assert_eq(p.n_egress_nets, 3);
	cr_expect_eq(p.egress_nets[0].family, AF_INET6);
	cr_expect_eq(p.egress_nets[2].prefix, 32);
	cr_expect(!p.manifest_auto_update);
	cr_expect_str_eq(p.model_dirs.v[0], "/var/lib/twin/models");
	cr_expect_eq(p.n_client_nets, 2);
	profile_free(&p);
}

Test(profile, a_load_starts_from_defaults_not_from_the_old_profile)
{
	struct tg_profile p;

	cr_assert_eq(parse("{\"name\": \"one\", \"clients\": []}", &p), 0);
	cr_assert_eq(p.clients.n, 0);
	cr_assert_eq(profile_parse_string("t2.json", "{\"name\": \"two\"}", 15, &p, &diag), 0);
	cr_expect_str_eq(p.name, "two");
	cr_expect_str_eq(p.source, "t2.json");
	cr_expect_eq(p.clients.n, 1, "a key removed from the file must get its default back");
	profile_free(&p);
}

Test(profile, comments_and_strings_with_slashes)
{
	struct tg_profile p;

	cr_assert_eq(parse("// head\n"
			   "{ /* block\n  over lines */ \"name\": \"a//b /* not a comment */\", // tail\n"
			   "  \"config_dirs\": [\"/etc/twin\" /* inline */, \"/srv//x/./y/../z/\"]\n"
			   "}\n// end",
			   &p),
		     0);
	cr_expect_str_eq(p.name, "a//b /* not a comment */");
	cr_assert_eq(p.config_dirs.n, 2);
	cr_expect_str_eq(p.config_dirs.v[1], "/srv/x/z", "paths are stored normalised");
	profile_free(&p);
}

Test(profile, utf8_bom_is_accepted)
{
	struct tg_profile p;

	cr_assert_eq(parse("\xef\xbb\xbf{\"name\": \"bom\"}", &p), 0);
	cr_expect_str_eq(p.name, "bom");
	profile_free(&p);
}

Test(profile, repeats_in_a_list_are_warnings)
{
	struct tg_profile p;

	cr_assert_eq(parse("{\"deployers\": [\"/a/b\", \"/a/b\"],\n \"data_ports\": [1883, 1883],\n"
			   " \"client_networks\": [\"10.0.0.0/8\", \"10.0.0.0/8\"]}",
			   &p),
		     0);
	cr_expect_eq(diag.errors, 0);
	cr_assert_eq(diag.warnings, 3);
	cr_expect_str_eq(diag.v[0].item, "deployers[1]");
	cr_expect_eq(diag.v[0].line, 1);
	cr_expect_eq(diag.v[0].col, 24);
	cr_expect(strstr(diag.v[0].msg, "repeats deployers[0]"));
	cr_expect_str_eq(diag.v[1].item, "data_ports[1]");
	cr_expect_eq(diag.v[1].line, 2);
	cr_expect_str_eq(diag.v[2].item, "client_networks[1]");
	cr_expect_eq(diag.v[2].warning, 1);
	profile_free(&p);
}

Test(profile, symlinked_path_is_a_warning_naming_the_real_one)
{
	char tmpl[] = "/tmp/tgprof.XXXXXX", real[PATH_MAX + 16], link[PATH_MAX + 16],
	     text[3 * PATH_MAX], want[PATH_MAX + 64];
	char *dir = mkdtemp(tmpl), *rp;
	struct tg_profile p;

	cr_assert_not_null(dir);
	rp = realpath(dir, NULL); /* TMPDIR itself may sit behind a symlink */
	cr_assert_not_null(rp);
	snprintf(real, sizeof(real), "%s/real", rp);
	snprintf(link, sizeof(link), "%s/link", rp);
	cr_assert_eq(mkdir(real, 0700), 0);
	cr_assert_eq(symlink("real", link), 0);
	snprintf(text, sizeof(text), "{\"model_dirs\": [\"%s/models\", \"%s\"]}", real, link);
	cr_assert_eq(parse(text, &p), 0);
	cr_expect_eq(diag.errors, 0);
	cr_assert_eq(diag.warnings, 1);
	cr_expect_str_eq(diag.v[0].item, "model_dirs[1]");
	snprintf(want, sizeof(want), "resolves to '%s'", real);
	cr_expect(strstr(diag.v[0].msg, want), "'%s' lacks '%s'", diag.v[0].msg, want);
	cr_expect_str_eq(p.model_dirs.v[1], link, "kept as written");
	profile_free(&p);
	unlink(link);
	rmdir(real);
	rmdir(rp);
	free(rp);
}

Test(profile, missing_file_fails_with_enoent)
{
	struct tg_profile p;

	profile_defaults(&p);
	errno = 0;
	cr_assert_eq(profile_load("/nonexistent/twin-profile.json", &p, &diag), -1);
	cr_expect_eq(errno, ENOENT);
	cr_assert_eq(diag.errors, 1);
	cr_expect_str_eq(diag.v[0].file, "/nonexistent/twin-profile.json");
	cr_expect(strstr(diag.v[0].msg, "No such file"));
	cr_expect_str_eq(p.name, "generic-twin");
	/* A NULL diag is allowed: the messages are dropped. */
	cr_expect_eq(profile_load("/nonexistent/twin-profile.json", &p, NULL), -1);
	profile_free(&p);
}

Test(profile, file_too_large)
{
	char path[] = "/tmp/tgprof.XXXXXX";
	int fd = mkstemp(path);
	struct tg_profile p;
	FILE *f;

	cr_assert_geq(fd, 0);
	f = fdopen(fd, "w");
	fputc('{', f);
	for (int i = 0; i < (1 << 20); i++)
		fputc(' ', f);
	fputc('}', f);
	fclose(f);
	profile_defaults(&p);
	cr_expect_eq(profile_load(path, &p, &diag), -1);
	cr_assert_eq(diag.errors, 1);
	cr_expect(strstr(diag.v[0].msg, "too large; expected at most"));
	unlink(path);
	profile_free(&p);
}

Test(profile, load_from_a_file_reports_its_path)
{
	char path[] = "/tmp/tgprof.XXXXXX";
	int fd = mkstemp(path);
	struct tg_profile p;
	static const char text[] = "{\n  \"name\": 3\n}\n";

	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, text, sizeof(text) - 1), (ssize_t)sizeof(text) - 1);
	close(fd);
	profile_defaults(&p);
	errno = 0;
	cr_expect_eq(profile_load(path, &p, &diag), -1);
	cr_expect_eq(errno, EINVAL);
	cr_assert_eq(diag.errors, 1);
	cr_expect_str_eq(diag.v[0].file, path);
	cr_expect_eq(diag.v[0].line, 2);
	cr_expect_eq(diag.v[0].col, 11);
	unlink(path);
	profile_free(&p);
}

/* ------------------------------------------------------------------ */
/* Errors: each class, with its position                              */

Test(profile_errors, unknown_key_names_it_and_lists_the_keys)
{
	expect_error("{\n  \"name\": \"x\",\n  \"servics\": []\n}", 3, 3, NULL,
		     "unknown key 'servics'; expected one of: name, services, model_dirs, "
		     "data_dirs, config_dirs, deployers, clients, ingest_writers, control_ports, "
		     "data_ports, client_networks, egress_networks, manifest_auto_update");
}

Test(profile_errors, duplicate_key)
{
	expect_error("{\"name\": \"a\",\n\n \"name\": \"b\"}", 3, 2, NULL,
		     "duplicate key 'name' (first on line 1)");
}

Test(profile_errors, name_types)
{
	expect_error("{\"name\": 7}", 1, 10, "name", "is a number; expected a non-empty string");
	expect_error("{\"name\": \"\"}", 1, 10, "name", "is 0 bytes long");
	expect_error("{\"name\": \"a\\nb\"}", 1, 10, "name", "control character");
}

Test(profile_errors, path_list_types)
{
	expect_error("{\"services\": \"/opt/x\"}", 1, 14, "services",
		     "is a string; expected an array: [\"/opt/x\"]");
	expect_error("{\"model_dirs\": {}}", 1, 16, "model_dirs",
		     "is an object; expected an array of absolute directory paths");
	expect_error("{\"clients\": [\"/ok\", 5]}", 1, 21, "clients[1]",
		     "is a number; expected an absolute executable path string");
	expect_error("{\n\t\"deployers\": [\n\t\t\"/ok\",\n\t\t\"bin/deploy\"\n\t]\n}", 4, 3,
		     "deployers[1]", "'bin/deploy' is not an absolute path; expected");
	expect_error("{\"ingest_writers\": [\"\"]}", 1, 21, "ingest_writers[0]",
		     "is not an absolute path");
	expect_error("{\"services\": [\"/opt/twin/bin/\"]}", 1, 15, "services[0]",
		     "names a directory; expected the path of an executable file");
	expect_error("{\"services\": [\"/\"]}", 1, 15, "services[0]", "names a directory");
}

Test(profile_errors, too_long_path)
{
	char *text = malloc(PATH_MAX + 64);
	char *c;

	c = text + sprintf(text, "{\"data_dirs\": [\"");
	for (int i = 0; i < PATH_MAX; i++)
		*c++ = i % 8 ? 'a' : '/';
	strcpy(c, "\"]}");
	expect_error(text, 1, 16, "data_dirs[0]", "bytes long; expected at most");
	free(text);
}

Test(profile_errors, ports)
{
	expect_error("{\"control_ports\": 8080}", 1, 19, "control_ports",
		     "is a number; expected an array of port numbers");
	expect_error("{\"control_ports\": [8080, 0]}", 1, 26, "control_ports[1]",
		     "0 is not a port; expected a whole number 1..65535");
	expect_error("{\"data_ports\": [65536]}", 1, 17, "data_ports[0]", "65536 is not a port");
	expect_error("{\"data_ports\": [-1]}", 1, 17, "data_ports[0]", "-1 is not a port");
	expect_error("{\"data_ports\": [80.5]}", 1, 17, "data_ports[0]", "80.5 is not a port");
	expect_error("{\"data_ports\": [\"1883\"]}", 1, 17, "data_ports[0]",
		     "is a string; expected a port number 1..65535");
}

Test(profile_errors, networks)
{
	expect_error("{\"client_networks\": \"10.0.0.0/8\"}", 1, 21, "client_networks",
		     "is a string; expected an array: [\"10.0.0.0/8\"]");
	expect_error("{\"client_networks\": [null]}", 1, 22, "client_networks[0]",
		     "is null; expected a network string");
	expect_error("{\"egress_networks\": [\"10.0.0.0/33\"]}", 1, 22, "egress_networks[0]",
		     "'10.0.0.0/33' is not a network; expected an IPv4 or IPv6 address");
	expect_error("{\"egress_networks\": [\"10.1.0.0/8\"]}", 1, 22, "egress_networks[0]",
		     "'10.1.0.0/8' has bits set past the /8 prefix; expected the network address: "
		     "\"10.0.0.0/8\"");
	expect_error("{\"egress_networks\": [\"2001:db8::1/32\"]}", 1, 22, "egress_networks[0]",
		     "expected the network address: \"2001:db8::/32\"");
	expect_error("{\"egress_networks\": [\"fe80::1%eth0\"]}", 1, 22, "egress_networks[0]",
		     "is not a network");
	expect_error("{\"egress_networks\": [\"localhost\"]}", 1, 22, "egress_networks[0]",
		     "is not a network");
}

Test(profile_errors, manifest_auto_update_is_a_bool)
{
	expect_error("{\"manifest_auto_update\": 1}", 1, 26, "manifest_auto_update",
		     "is a number; expected true or false");
	expect_error("{\"manifest_auto_update\": \"yes\"}", 1, 26, "manifest_auto_update",
		     "is a string; expected true or false");
}

Test(profile_errors, a_directory_in_two_roles)
{
	expect_error("{\"model_dirs\": [\"/srv/t\"],\n \"config_dirs\": [\"/x\", \"/srv/t/\"]}", 2, 24,
		     "config_dirs[1]", "'/srv/t' is also in model_dirs; expected each directory in one role");
	/* Reported where the later list is, whichever key it is. */
	expect_error("{\"data_dirs\": [\"/d\"],\n \"model_dirs\": [\"/d\"]}", 2, 17, "model_dirs[0]",
		     "is also in data_dirs");
}

Test(profile_errors, a_port_in_two_roles)
{
	expect_error("{\"data_ports\": [1883],\n \"control_ports\": [8080, 1883]}", 2, 26,
		     "control_ports[1]", "port 1883 is also in data_ports; expected each port in one role");
	expect_error("{\"control_ports\": [8080],\n \"data_ports\": [1, 8080]}", 2, 20,
		     "data_ports[1]", "port 8080 is also in control_ports");
	/* The other list is not in the file: its default is what collides. */
	expect_error("{\"control_ports\": [1883]}", 1, 20, "control_ports[0]",
		     "port 1883 is also in data_ports (its default); expected");
	expect_error("{\"config_dirs\": [\"/var/lib/twin/data\"]}", 1, 18, "config_dirs[0]",
		     "is also in data_dirs (its default); expected");
}

Test(profile_errors, syntax)
{
	expect_error("{\n  \"name\": \"x\"\n  \"services\": []\n}", 3, 3, NULL,
		     "invalid JSON: found '\"'; expected ',' or '}'");
	expect_error("{\"name\": \"x\",}", 1, 14, NULL,
		     "invalid JSON: found '}'; expected another \"key\" after ',' (JSON has no "
		     "trailing commas)");
	expect_error("{\"services\": [\"/a\",\n ]}", 2, 2, NULL,
		     "found ']'; expected another value after ','");
	expect_error("{\"name\": \"x\"} trailing", 1, 15, NULL,
		     "invalid JSON: found 't'; expected the end of the file after the JSON object");
	expect_error("{\"name\": \"x\",\n \"services\": [\n", 3, 1, NULL,
		     "invalid JSON: the file ends; expected a value");
	expect_error("{\"name\" \"x\"}", 1, 9, NULL, "found '\"'; expected ':' after the key");
	expect_error("{name: \"x\"}", 1, 2, NULL, "found 'n'; expected a \"key\" in double quotes");
	expect_error("{'name': 'x'}", 1, 2, NULL, "found a single quote");
	expect_error("{\"data_ports\": [0502]}", 1, 18, NULL, "found '5'; expected ',' or ']'");
	expect_error("{\"manifest_auto_update\": True}", 1, 26, NULL, "found 'T'; expected a value");
	expect_error("{\"name\": \"a\nb\"}", 1, 12, NULL,
		     "found byte 0x0a; expected a closing '\"' (control characters");
	expect_error("{\"name\": \"a\\qb\"}", 1, 13, NULL, "found 'q'; expected an escape");
	expect_error("{\"name\": \"\\u12G4\"}", 1, 15, NULL, "expected four hex digits after \\u");
	expect_error("{\"data_ports\": [1.]}", 1, 19, NULL, "expected a digit after '.'");
	expect_error("{\"data_ports\": [1e]}", 1, 19, NULL, "expected a digit in the exponent");
	expect_error("{\"data_ports\": [-]}", 1, 18, NULL, "expected a digit");
	expect_error("", 1, 1, NULL, "the file is empty; expected a JSON object such as {}");
	expect_error("  // only a comment\n", 2, 1, NULL, "the file is empty");
	expect_error("\n[\"/x\"]", 2, 1, NULL, "the profile is an array; expected a JSON object");
	expect_error("\"x\"", 1, 1, NULL, "the profile is a string; expected a JSON object");
	expect_error("{\"name\": \"x\"} /* open\n", 1, 15, NULL,
		     "unterminated /* comment; expected */");
}

Test(profile_errors, nesting_is_bounded)
{
	char text[400];
	size_t n = 0;

	n += (size_t)sprintf(text, "{\"x\": ");
	for (int i = 0; i < 100; i++)
		text[n++] = '[';
	text[n] = '\0';
	expect_error(text, 1, 70, NULL, "expected at most 64 levels of nesting");
}

Test(profile_errors, nul_byte)
{
	static const char text[] = "{\"name\":\n \"a\0b\"}";
	struct tg_profile p;

	profile_defaults(&p);
	cr_assert_eq(profile_parse_string("t.json", text, sizeof(text) - 1, &p, &diag), -1);
	cr_assert_eq(diag.errors, 1);
	cr_expect_eq(diag.v[0].line, 2);
	cr_expect_eq(diag.v[0].col, 4);
	cr_expect(strstr(diag.v[0].msg, "NUL byte; expected text"));
	profile_free(&p);
}

Test(profile_errors, positions_survive_comments_and_repeats)
{
	/* The bad value also appears, earlier, in a comment and in a valid
	 * key's string: the error must point at the real one. */
	expect_error("// \"bin/x\" was here before\n"
		     "{ /* \"bin/x\" */ \"name\": \"bin/x\",\n"
		     "  \"services\": [\"/ok\", /* c */ \"bin/x\"] }",
		     3, 31, "services[1]", "'bin/x' is not an absolute path");
}

Test(profile_errors, columns_count_characters)
{
	/* "é" is two bytes but one column. */
	expect_error("{\"name\": \"\xc3\xa9\", \"data_ports\": [0]}", 1, 30, "data_ports[0]",
		     "0 is not a port");
}

Test(profile_errors, every_error_in_a_file_is_reported)
{
	static const char text[] = "{\n"
				   "  \"name\": 1,\n"
				   "  \"bogus\": true,\n"
				   "  \"services\": [\"a\", \"/ok\", \"b\"],\n"
				   "  \"control_ports\": [0, 70000],\n"
				   "  \"client_networks\": [\"1.2.3.4/40\"]\n"
				   "}\n";
	struct tg_profile p;
	char *all;

	profile_defaults(&p);
	cr_assert_eq(profile_parse_string("t.json", text, sizeof(text) - 1, &p, &diag), -1);
	all = diag_text();
	cr_expect_str_eq(all, "t.json:2:11: error: name: is a number; expected a non-empty string "
			      "such as \"plant-3-twin\"\n"
			      "t.json:3:3: error: unknown key 'bogus'; expected one of: name, "
			      "services, model_dirs, data_dirs, config_dirs, deployers, clients, "
			      "ingest_writers, control_ports, data_ports, client_networks, "
			      "egress_networks, manifest_auto_update\n"
			      "t.json:4:16: error: services[0]: 'a' is not an absolute path; "
			      "expected a path that starts with '/'\n"
			      "t.json:4:28: error: services[2]: 'b' is not an absolute path; "
			      "expected a path that starts with '/'\n"
			      "t.json:5:21: error: control_ports[0]: 0 is not a port; expected a "
			      "whole number 1..65535\n"
			      "t.json:5:24: error: control_ports[1]: 70000 is not a port; expected "
			      "a whole number 1..65535\n"
			      "t.json:6:23: error: client_networks[0]: '1.2.3.4/40' is not a "
			      "network; expected an IPv4 or IPv6 address with an optional /prefix, "
			      "such as \"10.0.0.0/8\" or \"fd00::/8\"\n");
	cr_expect_eq(diag.errors, 7);
	cr_expect_str_eq(p.name, "generic-twin");
	free(all);
	profile_free(&p);
}

/* ------------------------------------------------------------------ */
/* CIDR                                                               */

Test(cidr, parse_forms)
{
	struct tg_cidr c;

	cr_assert_eq(profile_parse_cidr("10.0.0.0/8", &c), 0);
	cr_expect_eq(c.family, AF_INET);
	cr_expect_eq(c.prefix, 8);
	cr_expect_eq(c.addr[0], 10);
	cr_assert_eq(profile_parse_cidr("192.0.2.7", &c), 0);
	cr_expect_eq(c.prefix, 32);
	cr_expect_eq(c.addr[3], 7);
	cr_assert_eq(profile_parse_cidr("0.0.0.0/0", &c), 0);
	cr_expect_eq(c.prefix, 0);
	cr_assert_eq(profile_parse_cidr("2001:db8::/32", &c), 0);
	cr_expect_eq(c.family, AF_INET6);
	cr_expect_eq(c.prefix, 32);
	cr_expect_eq(c.addr[0], 0x20);
	cr_expect_eq(c.addr[3], 0xb8);
	cr_assert_eq(profile_parse_cidr("::1", &c), 0);
	cr_expect_eq(c.prefix, 128);
	cr_assert_eq(profile_parse_cidr("::/0", &c), 0);
	cr_expect_eq(c.family, AF_INET6);
	/* An IPv4-mapped network is stored as the IPv4 network it is. */
	cr_assert_eq(profile_parse_cidr("::ffff:10.0.0.0/104", &c), 0);
	cr_expect_eq(c.family, AF_INET);
	cr_expect_eq(c.prefix, 8);
	cr_expect_eq(c.addr[0], 10);
	cr_assert_eq(profile_parse_cidr("::ffff:192.0.2.1", &c), 0);
	cr_expect_eq(c.family, AF_INET);
	cr_expect_eq(c.prefix, 32);
}

Test(cidr, parse_rejects)
{
	static const char *const bad[] = {
		"",	       "/8",	     "10.0.0.0/",     "10.0.0.0/33",   "10.0.0.0/-1",
		"10.0.0.0/+8", "10.0.0.0/ 8", " 10.0.0.0/8",  "10.0.0.0/8 ",   "10.0.0.0/0x8",
		"10.0.0.0/0008", "10.0.0/8", "10.0.0.0.0/8", "010.0.0.0/8",   "256.0.0.0/8",
		"10.1.0.0/8",  "::1/129",    "2001:db8::1/32", "fe80::1%eth0", "fe80::/10/1",
		"::ffff:10.0.0.0/95",	     "host.example",  "10.0.0.0/8/8",
	};
	struct tg_cidr c;

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		errno = 0;
		cr_expect_eq(profile_parse_cidr(bad[i], &c), -1, "accepted '%s'", bad[i]);
		cr_expect_eq(errno, EINVAL);
	}
	cr_expect_eq(profile_parse_cidr(NULL, &c), -1);
}

static bool match1(const char *net, const char *ip)
{
	struct tg_cidr c;

	cr_assert_eq(profile_parse_cidr(net, &c), 0, "%s", net);
	return profile_cidr_match(&c, 1, ip);
}

Test(cidr, ipv4_edges)
{
	cr_expect(match1("10.0.0.0/8", "10.0.0.0"));
	cr_expect(match1("10.0.0.0/8", "10.255.255.255"));
	cr_expect(!match1("10.0.0.0/8", "11.0.0.0"));
	cr_expect(!match1("10.0.0.0/8", "9.255.255.255"));
	cr_expect(match1("172.16.0.0/12", "172.31.255.255"));
	cr_expect(!match1("172.16.0.0/12", "172.32.0.0"));
	cr_expect(!match1("172.16.0.0/12", "172.15.255.255"));
	cr_expect(match1("192.168.0.0/23", "192.168.1.255"));
	cr_expect(!match1("192.168.0.0/23", "192.168.2.0"));
	cr_expect(match1("192.0.2.7", "192.0.2.7"));
	cr_expect(!match1("192.0.2.7", "192.0.2.6"));
	cr_expect(match1("0.0.0.0/0", "203.0.113.9"));
	cr_expect(!match1("0.0.0.0/0", "2001:db8::1"), "an IPv4 /0 is not every address");
}

Test(cidr, ipv6_edges)
{
	cr_expect(match1("2001:db8::/32", "2001:db8::1"));
	cr_expect(match1("2001:db8::/32", "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff"));
	cr_expect(!match1("2001:db8::/32", "2001:db9::"));
	cr_expect(match1("fd00::/8", "fdff::1"));
	cr_expect(!match1("fd00::/8", "fc00::1"));
	cr_expect(match1("fe80::/10", "febf::1"));
	cr_expect(!match1("fe80::/10", "fec0::1"));
	cr_expect(match1("::1/128", "::1"));
	cr_expect(match1("::1", "0:0:0:0:0:0:0:1"), "any spelling of the address");
	cr_expect(!match1("::1/128", "::2"));
	cr_expect(match1("::/0", "2001:db8::1"));
	cr_expect(!match1("::/0", "10.0.0.1"), "an IPv6 /0 is not IPv4");
	cr_expect(!match1("::1/128", "127.0.0.1"));
}

Test(cidr, ipv4_mapped_ipv6_peers_match_ipv4_networks)
{
	cr_expect(match1("127.0.0.0/8", "::ffff:127.0.0.1"));
	cr_expect(match1("10.0.0.0/8", "::ffff:10.9.8.7"));
	cr_expect(match1("10.0.0.0/8", "::FFFF:a09:807"), "hex spelling");
	cr_expect(!match1("10.0.0.0/8", "::ffff:11.0.0.1"));
	cr_expect(match1("::ffff:10.0.0.0/104", "10.1.2.3"));
	cr_expect(match1("::ffff:10.0.0.0/104", "::ffff:10.1.2.3"));
	/* Not mapped: the IPv4-compatible form and NAT64 are plain IPv6. */
	cr_expect(!match1("10.0.0.0/8", "::10.1.2.3"));
	cr_expect(!match1("10.0.0.0/8", "64:ff9b::10.1.2.3"));
}

Test(cidr, bad_input_never_matches)
{
	struct tg_cidr c[2];

	cr_assert_eq(profile_parse_cidr("0.0.0.0/0", &c[0]), 0);
	cr_assert_eq(profile_parse_cidr("::/0", &c[1]), 0);
	cr_expect(!profile_cidr_match(c, 2, NULL));
	cr_expect(!profile_cidr_match(c, 2, ""));
	cr_expect(!profile_cidr_match(c, 2, "not-an-ip"));
	cr_expect(!profile_cidr_match(c, 2, "10.0.0.0/8"));
	cr_expect(!profile_cidr_match(c, 2, "fe80::1%eth0"));
	cr_expect(!profile_cidr_match(c, 0, "10.0.0.1"));
	cr_expect(!profile_cidr_match(NULL, 0, "10.0.0.1"));
	cr_expect(profile_cidr_match(c, 2, "10.0.0.1"));
	cr_expect(profile_cidr_match(c, 2, "::1"));
}

/* ------------------------------------------------------------------ */
/* The questions twin.* fields ask                                    */

Test(roles, executables_match_exactly)
{
	struct tg_profile p;

	profile_defaults(&p);
	cr_expect(profile_is_service(&p, "/opt/twin/bin/twin-engine"));
	cr_expect(profile_is_service(&p, "/usr/sbin/mosquitto"));
	cr_expect(!profile_is_service(&p, "/opt/twin/bin/twin-engine2"));
	cr_expect(!profile_is_service(&p, "/opt/twin/bin/twin-engin"));
	cr_expect(!profile_is_service(&p, "/opt/twin/bin"));
	cr_expect(!profile_is_service(&p, "twin-engine"));
	cr_expect(!profile_is_service(&p, NULL));
	cr_expect(!profile_is_service(NULL, "/usr/sbin/mosquitto"));
	cr_expect(profile_is_deployer(&p, "/opt/twin/bin/twin-deploy"));
	cr_expect(!profile_is_deployer(&p, "/opt/twin/bin/twin-engine"));
	cr_expect(profile_is_client(&p, "/opt/twin/bin/twin-operator"));
	cr_expect(!profile_is_client(&p, "/opt/twin/bin/twin-deploy"));
	profile_free(&p);
}

Test(roles, path_role_matches_whole_components)
{
	struct tg_profile p;

	profile_defaults(&p);
	cr_expect_str_eq(profile_path_role(&p, "/var/lib/twin/models"), "model");
	cr_expect_str_eq(profile_path_role(&p, "/var/lib/twin/models/"), "model");
	cr_expect_str_eq(profile_path_role(&p, "/var/lib/twin/models/a/b.onnx"), "model");
	cr_expect_null(profile_path_role(&p, "/var/lib/twin/models2"));
	cr_expect_null(profile_path_role(&p, "/var/lib/twin/models2/x"));
	cr_expect_null(profile_path_role(&p, "/var/lib/twin/model"));
	cr_expect_null(profile_path_role(&p, "/var/lib/twin"));
	cr_expect_str_eq(profile_path_role(&p, "/var/lib/twin/data/s.csv"), "data");
	cr_expect_str_eq(profile_path_role(&p, "/etc/twin/twin.yaml"), "config");
	cr_expect_null(profile_path_role(&p, "/etc/twinning"));
	cr_expect_null(profile_path_role(&p, "/etc/passwd"));
	cr_expect_null(profile_path_role(&p, "var/lib/twin/models/x"), "relative paths never match");
	cr_expect_null(profile_path_role(&p, ""));
	cr_expect_null(profile_path_role(&p, NULL));
	cr_expect_null(profile_path_role(NULL, "/etc/twin/x"));
	profile_free(&p);
}

Test(roles, nested_directories_the_deepest_wins)
{
	struct tg_profile p;

	cr_assert_eq(parse("{\"model_dirs\": [\"/srv/twin\", \"/srv/twin/a/b/models\"],\n"
			   " \"data_dirs\": [\"/srv/twin/a\"],\n"
			   " \"config_dirs\": [\"/\"]}",
			   &p),
		     0, "nested directories in different roles are allowed");
	cr_expect_str_eq(profile_path_role(&p, "/srv/twin/m.onnx"), "model");
	cr_expect_str_eq(profile_path_role(&p, "/srv/twin/a"), "data");
	cr_expect_str_eq(profile_path_role(&p, "/srv/twin/a/b/x.csv"), "data");
	cr_expect_str_eq(profile_path_role(&p, "/srv/twin/a/b/models/m.onnx"), "model");
	cr_expect_str_eq(profile_path_role(&p, "/srv/twin/a/b/models2"), "data");
	cr_expect_str_eq(profile_path_role(&p, "/etc/hosts"), "config", "\"/\" holds everything");
	cr_expect_str_eq(profile_path_role(&p, "/"), "config");
	profile_free(&p);
}

Test(roles, ports_and_networks)
{
	struct tg_profile p;

	profile_defaults(&p);
	cr_expect_str_eq(profile_port_role(&p, 8080), "control");
	cr_expect_str_eq(profile_port_role(&p, 8443), "control");
	cr_expect_str_eq(profile_port_role(&p, 4840), "control");
	cr_expect_str_eq(profile_port_role(&p, 502), "control");
	cr_expect_str_eq(profile_port_role(&p, 1883), "data");
	cr_expect_str_eq(profile_port_role(&p, 8883), "data");
	cr_expect_null(profile_port_role(&p, 22));
	cr_expect_null(profile_port_role(&p, 0));
	cr_expect_null(profile_port_role(NULL, 8080));
	cr_expect(profile_client_net(&p, "127.0.0.1"));
	cr_expect(profile_client_net(&p, "::1"));
	cr_expect(profile_client_net(&p, "::ffff:127.0.0.1"));
	cr_expect(!profile_client_net(&p, "10.0.0.1"));
	cr_expect(profile_egress_allowed(&p, "10.20.30.40"));
	cr_expect(profile_egress_allowed(&p, "172.20.0.1"));
	cr_expect(profile_egress_allowed(&p, "192.168.255.255"));
	cr_expect(!profile_egress_allowed(&p, "192.169.0.1"));
	cr_expect(!profile_egress_allowed(&p, "8.8.8.8"));
	cr_expect(!profile_egress_allowed(&p, "2001:db8::1"));
	cr_expect(!profile_egress_allowed(&p, NULL));
	cr_expect(!profile_egress_allowed(NULL, "10.0.0.1"));
	profile_free(&p);
}

/* ------------------------------------------------------------------ */
/* twin_derive through view_fill                                      */

struct derived {
	cJSON *json;
	struct tg_view v;
};

static void fill(struct derived *d, const char *event, const struct tg_profile *prof)
{
	d->json = cJSON_Parse(event);
	cr_assert_not_null(d->json, "bad test JSON: %s", event);
	view_init(&d->v);
	cr_assert_eq(view_fill(&d->v, d->json, prof), 0);
}

static int field(const char *name)
{
	int id = fields_lookup(name);

	cr_assert_geq(id, 0, "fields.c does not know '%s'", name);
	return id;
}

/* The string value of a derived field, NULL when absent. */
static const char *str_of(const struct derived *d, const char *name)
{
	const struct tg_val *vals;
	size_t n = view_get(&d->v, field(name), &vals);

	cr_assert_leq(n, 1, "%s has %zu values", name, n);
	return n ? vals[0].s : NULL;
}

/* 0/1 for a present bool, -1 when absent. */
static int bool_of(const struct derived *d, const char *name)
{
	const struct tg_val *vals;
	size_t n = view_get(&d->v, field(name), &vals);

	cr_assert_leq(n, 1, "%s has %zu values", name, n);
	return n ? (int)vals[0].n : -1;
}

static void expect_str(const struct derived *d, const char *name, const char *want)
{
	const char *got = str_of(d, name);

	if (want)
		cr_expect(got && strcmp(got, want) == 0, "%s = '%s', want '%s'", name,
			  got ? got : "(absent)", want);
	else
		cr_expect_null(got, "%s = '%s', want it absent", name, got);
}

static void drop(struct derived *d)
{
	cJSON_Delete(d->json);
}

static const char *const twin_fields[] = {
	"twin.name",
	"twin.process.role",
	"twin.parent.role",
	"twin.file.role",
	"twin.file.old_role",
	"twin.destination.port_role",
	"twin.destination.egress_allowed",
	"twin.source.client_allowed",
};

Test(twin, every_twin_field_is_known)
{
	for (size_t i = 0; i < ARRAY_SIZE(twin_fields); i++)
		cr_expect_geq(fields_lookup(twin_fields[i]), 0, "unknown field %s", twin_fields[i]);
}

Test(twin, exec_roles_with_priority)
{
	struct tg_profile p;
	struct derived d;

	/* twin-deploy is also listed as a client: deployer wins. */
	cr_assert_eq(parse("{\"name\": \"plant-3\", \"clients\": [\"/opt/twin/bin/twin-operator\","
			   " \"/opt/twin/bin/twin-deploy\", \"/usr/sbin/mosquitto\"]}",
			   &p),
		     0);
	fill(&d,
	     "{\"process\": {\"pid\": 10, \"executable\": \"/usr/sbin/mosquitto\","
	     " \"parent\": {\"pid\": 1, \"executable\": \"/opt/twin/bin/twin-deploy\"}},"
	     " \"event\": {\"kind\": \"event\", \"category\": [\"process\"], \"type\": [\"start\"],"
	     " \"action\": \"exec\"}}",
	     &p);
	expect_str(&d, "twin.name", "plant-3");
	expect_str(&d, "twin.process.role", "service");
	expect_str(&d, "twin.parent.role", "deployer");
	expect_str(&d, "twin.file.role", NULL);
	expect_str(&d, "twin.file.old_role", NULL);
	expect_str(&d, "twin.destination.port_role", NULL);
	cr_expect_eq(bool_of(&d, "twin.destination.egress_allowed"), -1);
	cr_expect_eq(bool_of(&d, "twin.source.client_allowed"), -1);
	drop(&d);

	fill(&d,
	     "{\"process\": {\"executable\": \"/opt/twin/bin/twin-operator\","
	     " \"parent\": {\"executable\": \"/usr/bin/bash\"}}, \"event\": {\"action\": \"exec\"}}",
	     &p);
	expect_str(&d, "twin.process.role", "client");
	expect_str(&d, "twin.parent.role", NULL);
	drop(&d);
	profile_free(&p);
}

Test(twin, file_roles)
{
	struct tg_profile p;
	struct derived d;

	profile_defaults(&p);
	fill(&d,
	     "{\"process\": {\"executable\": \"/usr/bin/cp\"},"
	     " \"event\": {\"category\": [\"file\"], \"type\": [\"change\"], \"action\": \"rename\"},"
	     " \"file\": {\"path\": \"/var/lib/twin/models/pump.onnx\", \"name\": \"pump.onnx\","
	     " \"old_path\": \"/var/lib/twin/data/upload.tmp\"}}",
	     &p);
	expect_str(&d, "twin.name", "generic-twin");
	expect_str(&d, "twin.process.role", NULL);
	expect_str(&d, "twin.file.role", "model");
	expect_str(&d, "twin.file.old_role", "data");
	drop(&d);

	fill(&d,
	     "{\"event\": {\"action\": \"open\"}, \"file\": {\"path\": \"/var/lib/twin/models2/x\"}}",
	     &p);
	expect_str(&d, "twin.file.role", NULL);
	drop(&d);
	fill(&d, "{\"event\": {\"action\": \"open\"}, \"file\": {\"path\": \"/etc/twin/t.yaml\"}}", &p);
	expect_str(&d, "twin.file.role", "config");
	drop(&d);
	profile_free(&p);
}

Test(twin, network_facts_follow_the_direction)
{
	struct tg_profile p;
	struct derived d;

	profile_defaults(&p);
	/* connect: destination is the peer. */
	fill(&d,
	     "{\"event\": {\"category\": [\"network\"], \"action\": \"connect\"},"
	     " \"network\": {\"type\": \"ipv4\", \"transport\": \"tcp\", \"direction\": \"egress\"},"
	     " \"source\": {\"ip\": \"10.0.0.5\", \"port\": 40000},"
	     " \"destination\": {\"ip\": \"8.8.8.8\", \"port\": 4840}}",
	     &p);
	expect_str(&d, "twin.destination.port_role", "control");
	cr_expect_eq(bool_of(&d, "twin.destination.egress_allowed"), 0);
	cr_expect_eq(bool_of(&d, "twin.source.client_allowed"), -1,
		     "source is the host itself on egress");
	drop(&d);

	fill(&d,
	     "{\"event\": {\"action\": \"connect\"}, \"network\": {\"direction\": \"egress\"},"
	     " \"source\": {\"ip\": \"::1\", \"port\": 40000},"
	     " \"destination\": {\"ip\": \"::ffff:192.168.4.2\", \"port\": 1883}}",
	     &p);
	expect_str(&d, "twin.destination.port_role", "data");
	cr_expect_eq(bool_of(&d, "twin.destination.egress_allowed"), 1);
	drop(&d);

	/* accept: source is the peer, destination our listening end. */
	fill(&d,
	     "{\"event\": {\"action\": \"accept\"}, \"network\": {\"direction\": \"ingress\"},"
	     " \"source\": {\"ip\": \"192.168.1.50\", \"port\": 51000},"
	     " \"destination\": {\"ip\": \"10.0.0.5\", \"port\": 8443}}",
	     &p);
	expect_str(&d, "twin.destination.port_role", "control");
	cr_expect_eq(bool_of(&d, "twin.source.client_allowed"), 0);
	cr_expect_eq(bool_of(&d, "twin.destination.egress_allowed"), -1);
	drop(&d);
	fill(&d,
	     "{\"event\": {\"action\": \"accept\"}, \"network\": {\"direction\": \"ingress\"},"
	     " \"source\": {\"ip\": \"127.0.0.1\", \"port\": 51000},"
	     " \"destination\": {\"ip\": \"127.0.0.1\", \"port\": 22}}",
	     &p);
	expect_str(&d, "twin.destination.port_role", NULL);
	cr_expect_eq(bool_of(&d, "twin.source.client_allowed"), 1);
	drop(&d);

	/* unconnected UDP flow: no peer, no egress verdict */
	fill(&d,
	     "{\"event\": {\"action\": \"flow\"}, \"network\": {\"direction\": \"egress\"},"
	     " \"source\": {\"ip\": \"0.0.0.0\", \"port\": 5000},"
	     " \"destination\": {\"ip\": \"0.0.0.0\", \"port\": 0}}",
	     &p);
	expect_str(&d, "twin.destination.port_role", NULL);
	cr_expect_eq(bool_of(&d, "twin.destination.egress_allowed"), -1);
	drop(&d);

	/* bind: no direction, no peer */
	fill(&d,
	     "{\"event\": {\"action\": \"bind\"}, \"source\": {\"ip\": \"0.0.0.0\", \"port\": 8080},"
	     " \"destination\": {\"port\": 0}}",
	     &p);
	cr_expect_eq(bool_of(&d, "twin.source.client_allowed"), -1);
	cr_expect_eq(bool_of(&d, "twin.destination.egress_allowed"), -1);
	drop(&d);
	profile_free(&p);
}

Test(twin, no_profile_no_twin_fields)
{
	struct derived d;

	fill(&d,
	     "{\"process\": {\"executable\": \"/usr/sbin/mosquitto\"},"
	     " \"event\": {\"action\": \"connect\"}, \"network\": {\"direction\": \"egress\"},"
	     " \"file\": {\"path\": \"/etc/twin/x\"},"
	     " \"destination\": {\"ip\": \"10.0.0.1\", \"port\": 8080}}",
	     NULL);
	for (size_t i = 0; i < ARRAY_SIZE(twin_fields); i++) {
		const struct tg_val *vals;

		cr_expect_eq(view_get(&d.v, field(twin_fields[i]), &vals), 0, "%s is set",
			     twin_fields[i]);
	}
	cr_expect_eq(twin_derive(&d.v, NULL), 0);
	drop(&d);
}
