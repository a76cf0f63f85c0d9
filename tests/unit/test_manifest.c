// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Unit tests for user/manifest.c: the integrity manifest (save, load and
 * its error messages, lookups), the streaming SHA-256 against known
 * vectors and against files that are not regular (none may block), and
 * the directory walk. No root needed; every test works in its own
 * temporary directory (tmpdir.h).
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "manifest.h"
#include "tmpdir.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* FIPS 180-2 test vectors. */
#define SHA_EMPTY "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define SHA_ABC "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
#define SHA_MILLION_A "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"

TestSuite(manifest, .init = tmp_setup, .fini = tmp_teardown);
TestSuite(manifest_load, .init = tmp_setup, .fini = tmp_teardown);
TestSuite(manifest_hash, .init = tmp_setup, .fini = tmp_teardown, .timeout = 20);
TestSuite(manifest_walk, .init = tmp_setup, .fini = tmp_teardown);

static char err[1024];

/* A hash result with every digest byte = seed. */
static struct tg_hash_result fake_hash(uint8_t seed, uint64_t size, uint32_t mode)
{
	struct tg_hash_result h = { .status = TG_HASH_OK, .size = size, .mode = mode };

	memset(h.sha256, seed, sizeof(h.sha256));
	return h;
}

static void set_fake(struct tg_manifest *m, const char *path, uint8_t seed, uint64_t size,
		     uint32_t mode)
{
	struct tg_hash_result h = fake_hash(seed, size, mode);

	cr_assert_eq(manifest_set(m, path, &h), 0);
}

static void expect_sorted(const struct tg_manifest *m)
{
	for (size_t i = 1; i < m->n; i++)
		cr_expect_lt(strcmp(m->v[i - 1].path, m->v[i].path), 0, "%s before %s",
			     m->v[i - 1].path, m->v[i].path);
}

/* ---- set / find / remove ------------------------------------------------- */

Test(manifest, set_find_remove_keep_entries_sorted)
{
	static const char *const paths[] = { "/m/c", "/m/a", "/etc/twin/x", "/m/b", "/z" };
	struct tg_manifest m;
	struct tg_manifest_entry *e;

	manifest_init(&m);
	for (size_t i = 0; i < ARRAY_SIZE(paths); i++)
		set_fake(&m, paths[i], (uint8_t)i, 100 + i, 0644);
	cr_assert_eq(m.n, ARRAY_SIZE(paths));
	expect_sorted(&m);
	cr_expect_str_eq(m.v[0].path, "/etc/twin/x");
	cr_expect_str_eq(m.v[4].path, "/z");
	for (size_t i = 0; i < ARRAY_SIZE(paths); i++) {
		e = manifest_find(&m, paths[i]);
		cr_assert_not_null(e, "%s not found", paths[i]);
		cr_expect_str_eq(e->path, paths[i]);
		cr_expect_eq(e->sha256[0], i);
		cr_expect_eq(e->sha256[TG_SHA256_LEN - 1], i);
		cr_expect_eq(e->size, 100 + i);
	}
	cr_expect_null(manifest_find(&m, "/m"));
	cr_expect_null(manifest_find(&m, "/m/a/"));
	cr_expect_null(manifest_find(&m, "/m/bb"));

	/* replacing keeps one entry; mode keeps only permission bits */
	set_fake(&m, "/m/a", 0xee, 7, 0100755);
	cr_assert_eq(m.n, ARRAY_SIZE(paths));
	e = manifest_find(&m, "/m/a");
	cr_assert_not_null(e);
	cr_expect_eq(e->sha256[5], 0xee);
	cr_expect_eq(e->size, 7);
	cr_expect_eq(e->mode, 0755);

	cr_expect(manifest_remove(&m, "/m/b"));
	cr_expect_not(manifest_remove(&m, "/m/b"));
	cr_expect_not(manifest_remove(&m, "/nope"));
	cr_expect_null(manifest_find(&m, "/m/b"));
	cr_expect_eq(m.n, ARRAY_SIZE(paths) - 1);
	expect_sorted(&m);
	cr_expect(manifest_remove(&m, "/z")); /* the last one */
	cr_expect(manifest_remove(&m, "/etc/twin/x")); /* the first one */
	cr_expect_eq(m.n, 2);
	cr_expect_not_null(manifest_find(&m, "/m/a"));
	cr_expect_not_null(manifest_find(&m, "/m/c"));
	manifest_free(&m);
	cr_expect_eq(m.n, 0);
	manifest_free(&m); /* twice is safe */
}

Test(manifest, many_entries_in_reverse_order)
{
	struct tg_manifest m;
	char p[64];

	manifest_init(&m);
	for (int i = 999; i >= 0; i--) {
		snprintf(p, sizeof(p), "/m/f%04d", i);
		set_fake(&m, p, (uint8_t)i, (uint64_t)i, 0600);
	}
	cr_assert_eq(m.n, 1000);
	expect_sorted(&m);
	for (int i = 0; i < 1000; i += 37) {
		snprintf(p, sizeof(p), "/m/f%04d", i);
		cr_assert_not_null(manifest_find(&m, p), "%s", p);
		cr_expect_eq(manifest_find(&m, p)->size, (uint64_t)i);
	}
	manifest_free(&m);
}

Test(manifest, hex_is_lowercase_and_terminated)
{
	uint8_t sha[TG_SHA256_LEN];
	char hex[TG_SHA256_HEX];

	for (int i = 0; i < TG_SHA256_LEN; i++)
		sha[i] = (uint8_t)(i * 8 + 7);
	memset(hex, 'x', sizeof(hex));
	manifest_hex(sha, hex);
	cr_expect_str_eq(hex, "070f171f272f373f474f575f676f777f878f979fa7afb7bfc7cfd7dfe7eff7ff");
}

/* ---- save / load ---------------------------------------------------------- */

Test(manifest, save_load_round_trip)
{
	const char *path = tmp_path("state/sub/manifest.json");
	struct tg_manifest m, back;
	struct stat st;
	char *text;
	DIR *d;
	struct dirent *de;

	manifest_init(&m);
	manifest_init(&back);
	m.profile = strdup("pump-twin");
	set_fake(&m, "/var/lib/twin/models/pump.onnx", 0xab, 1234, 0644);
	set_fake(&m, "/etc/twin/twin.yaml", 0x01, 0, 0600);
	set_fake(&m, "/var/lib/twin/models/big.bin", 0x7f, 1ull << 40, 04755);
	cr_assert_eq(manifest_save(&m, path, err, sizeof(err)), 0, "%s", err);

	/* the missing directories were created, private */
	cr_assert_eq(stat(tmp_path("state/sub"), &st), 0);
	cr_expect_eq(st.st_mode & 0777, 0700, "directory mode %o", st.st_mode & 0777);
	cr_assert_eq(stat(path, &st), 0);
	cr_expect(S_ISREG(st.st_mode));
	cr_expect_eq(st.st_mode & 07777, 0600, "file mode %o", st.st_mode & 07777);
	/* no temporary file left next to it */
	d = opendir(tmp_path("state/sub"));
	cr_assert_not_null(d);
	while ((de = readdir(d)))
		cr_expect(!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..") ||
			  !strcmp(de->d_name, "manifest.json"), "left behind: %s", de->d_name);
	closedir(d);

	/* the text: the documented keys, files in path order */
	text = tmp_read(path);
	cr_expect_not_null(strstr(text, "\"twinguard_manifest\":"), "%s", text);
	cr_expect_not_null(strstr(text, "\"algorithm\":"), "%s", text);
	cr_expect_not_null(strstr(text, "\"created\":"), "%s", text);
	cr_expect_not_null(strstr(text, "\"mode\":\t\"4755\""), "%s", text);
	cr_assert_not_null(strstr(text, "/etc/twin/twin.yaml"));
	cr_expect_lt(strstr(text, "/etc/twin/twin.yaml"), strstr(text, "models/big.bin"));
	cr_expect_lt(strstr(text, "models/big.bin"), strstr(text, "models/pump.onnx"));
	free(text);

	cr_assert_eq(manifest_load(&back, path, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(back.n, 3);
	expect_sorted(&back);
	cr_expect_str_eq(back.profile, "pump-twin");
	for (size_t i = 0; i < m.n; i++) {
		cr_expect_str_eq(back.v[i].path, m.v[i].path);
		cr_expect_arr_eq(back.v[i].sha256, m.v[i].sha256, TG_SHA256_LEN, "%s", m.v[i].path);
		cr_expect_eq(back.v[i].size, m.v[i].size, "%s", m.v[i].path);
		cr_expect_eq(back.v[i].mode, m.v[i].mode, "%s", m.v[i].path);
	}
	manifest_free(&m);
	manifest_free(&back);
}

Test(manifest, save_replaces_the_file_and_makes_it_private)
{
	const char *path = tmp_path("manifest.json");
	struct tg_manifest m, back;
	struct stat st;

	manifest_init(&m);
	manifest_init(&back);
	tmp_write("manifest.json", "old contents");
	cr_assert_eq(chmod(path, 0644), 0);
	set_fake(&m, "/m/a", 1, 1, 0644);
	cr_assert_eq(manifest_save(&m, path, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(stat(path, &st), 0);
	cr_expect_eq(st.st_mode & 07777, 0600, "file mode %o", st.st_mode & 07777);
	set_fake(&m, "/m/b", 2, 2, 0644);
	cr_assert_eq(manifest_save(&m, path, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(manifest_load(&back, path, err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(back.n, 2);
	cr_expect_null(back.profile);
	manifest_free(&m);
	manifest_free(&back);
}

Test(manifest, empty_manifest_round_trips)
{
	const char *path = tmp_path("m.json");
	struct tg_manifest m, back;

	manifest_init(&m);
	manifest_init(&back);
	cr_assert_eq(manifest_save(&m, path, err, sizeof(err)), 0, "%s", err);
	set_fake(&back, "/stale", 1, 1, 0644); /* a load replaces what was there */
	cr_assert_eq(manifest_load(&back, path, err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(back.n, 0);
	cr_expect_null(manifest_find(&back, "/stale"));
	manifest_free(&back);
}

Test(manifest, save_failure_names_the_file)
{
	const char *path = tmp_path("m.json");
	struct tg_manifest m;
	char tmp[PATH_MAX];

	/* the temporary file's name is taken by a directory */
	manifest_init(&m);
	snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid());
	cr_assert_eq(mkdir(tmp, 0700), 0);
	err[0] = '\0';
	cr_assert_eq(manifest_save(&m, path, err, sizeof(err)), -1);
	cr_expect_not_null(strstr(err, path), "'%s' does not name %s", err, path);
	cr_expect_eq(access(path, F_OK), -1, "a manifest was written anyway");
}

Test(manifest_load, missing_file_is_enoent)
{
	const char *path = tmp_path("absent.json");
	struct tg_manifest m;

	manifest_init(&m);
	errno = 0;
	cr_assert_eq(manifest_load(&m, path, err, sizeof(err)), -1);
	cr_expect_eq(errno, ENOENT);
	cr_expect_not_null(strstr(err, path), "'%s' does not name %s", err, path);
	cr_expect_eq(m.n, 0);
	manifest_free(&m);
}

/* ---- load errors ------------------------------------------------------------ */

#define HEAD "{\"twinguard_manifest\": 1, \"algorithm\": \"sha256\", "
#define FILES(x) HEAD "\"files\": [" x "]}"
#define OK_ENTRY "{\"path\": \"/m/a\", \"sha256\": \"" SHA_ABC "\", \"size\": 3, \"mode\": \"0644\"}"
#define ENTRY(path, sha, size, mode) \
	"{\"path\": " path ", \"sha256\": " sha ", \"size\": " size ", \"mode\": " mode "}"
#define BAD_PATH(p) FILES(ENTRY(p, "\"" SHA_ABC "\"", "3", "\"0644\""))
#define BAD_SHA(s) FILES(ENTRY("\"/m/a\"", s, "3", "\"0644\""))
#define BAD_SIZE(s) FILES(ENTRY("\"/m/a\"", "\"" SHA_ABC "\"", s, "\"0644\""))
#define BAD_MODE(m) FILES(ENTRY("\"/m/a\"", "\"" SHA_ABC "\"", "3", m))

struct load_case {
	const char *text;
	const char *where;   /* what follows "<file>:" */
	const char *needle;  /* also in the message */
};

static const struct load_case load_cases[] = {
	/* syntax: placed at line:col */
	{ "{\n  \"twinguard_manifest\": 1,\n  \"algorithm\": \"sha256\",\n  \"files\": [,]\n}\n",
	  "4:13: ", "','" },
	{ "{\"twinguard_manifest\": 1,\n \"algorithm\": 'sha256'}", "2:15: ", "quote" },
	{ HEAD "\"files\": []} trailing", "1:63: ", "end of the file" },
	{ HEAD "\"files\": [", "1:60: ", "ends" },
	{ "", "1:1: ", "empty" },
	{ "  \n\n", "3:1: ", "empty" },
	/* the document */
	{ "[]", " ", "an object" },
	{ "{\"algorithm\": \"sha256\", \"files\": []}", " twinguard_manifest: ", "1" },
	{ "{\"twinguard_manifest\": 2, \"algorithm\": \"sha256\", \"files\": []}",
	  " twinguard_manifest: ", "1" },
	{ "{\"twinguard_manifest\": \"1\", \"algorithm\": \"sha256\", \"files\": []}",
	  " twinguard_manifest: ", "1" },
	{ "{\"twinguard_manifest\": 1.5, \"algorithm\": \"sha256\", \"files\": []}",
	  " twinguard_manifest: ", "1" },
	{ "{\"twinguard_manifest\": 1, \"algorithm\": \"md5\", \"files\": []}", " algorithm: ",
	  "sha256" },
	{ "{\"twinguard_manifest\": 1, \"files\": []}", " algorithm: ", "sha256" },
	{ HEAD "\"files\": {}}", " files: ", "an array" },
	{ HEAD "\"files\": null}", " files: ", "an array" },
	{ "{\"twinguard_manifest\": 1, \"algorithm\": \"sha256\"}", " files: ", "an array" },
	/* entries: named by index and field */
	{ FILES("3"), " files[0].path: ", "absolute path" },
	{ BAD_PATH("\"models/a\""), " files[0].path: ", "absolute path" },
	{ BAD_PATH("\"\""), " files[0].path: ", "absolute path" },
	{ BAD_PATH("7"), " files[0].path: ", "absolute path" },
	{ FILES(OK_ENTRY ", " ENTRY("\"/m/b\"", "\"" SHA_ABC "\"", "3", "\"0644\"") ", "
		ENTRY("\"x\"", "\"" SHA_ABC "\"", "3", "\"0644\"")),
	  " files[2].path: ", "absolute path" },
	{ BAD_SHA("\"BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD\""),
	  " files[0].sha256: ", "64 lowercase hex" },
	{ BAD_SHA("\"ba7816bf\""), " files[0].sha256: ", "64 lowercase hex" },
	{ BAD_SHA("\"" SHA_ABC "0\""), " files[0].sha256: ", "64 lowercase hex" },
	{ BAD_SHA("\"zz7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\""),
	  " files[0].sha256: ", "64 lowercase hex" },
	{ BAD_SHA("42"), " files[0].sha256: ", "64 lowercase hex" },
	{ BAD_SIZE("-1"), " files[0].size: ", "byte count" },
	{ BAD_SIZE("\"3\""), " files[0].size: ", "byte count" },
	{ BAD_SIZE("null"), " files[0].size: ", "byte count" },
	{ BAD_SIZE("1.5"), " files[0].size: ", "byte count" },
	{ BAD_SIZE("1e300"), " files[0].size: ", "byte count" },
	{ BAD_MODE("\"\""), " files[0].mode: ", "octal mode" },
	{ BAD_MODE("\"0x1a4\""), " files[0].mode: ", "octal mode" },
	{ BAD_MODE("\"0648\""), " files[0].mode: ", "octal mode" },
	{ BAD_MODE("\"10000\""), " files[0].mode: ", "octal mode" },
	{ BAD_MODE("\"-1\""), " files[0].mode: ", "octal mode" },
	{ BAD_MODE("\" 644\""), " files[0].mode: ", "octal mode" },
	{ BAD_MODE("\"040000000644\""), " files[0].mode: ", "octal mode" },
	{ BAD_MODE("420"), " files[0].mode: ", "octal mode" },
	{ FILES(OK_ENTRY ", " OK_ENTRY), " files[1].path: ", "/m/a" },
};

Test(manifest_load, errors_name_the_file_and_the_place_and_say_what_was_expected)
{
	const char *path = tmp_path("m.json");
	char want[PATH_MAX + 64];

	for (size_t i = 0; i < ARRAY_SIZE(load_cases); i++) {
		const struct load_case *c = &load_cases[i];
		struct tg_manifest m;

		tmp_write("m.json", c->text);
		manifest_init(&m);
		set_fake(&m, "/before", 1, 1, 0644);
		memset(err, 0, sizeof(err));
		errno = 0;
		cr_expect_eq(manifest_load(&m, path, err, sizeof(err)), -1, "accepted: %s", c->text);
		cr_expect_eq(errno, EINVAL, "%s: errno %d", c->text, errno);
		snprintf(want, sizeof(want), "%s:%s", path, c->where);
		cr_expect(!strncmp(err, want, strlen(want)), "'%s' does not start with '%s'", err,
			  want);
		cr_expect_not_null(strstr(err, c->needle), "'%s' lacks '%s'", err, c->needle);
		cr_expect_not_null(strstr(err, "expected "), "'%s' does not say what was expected",
				   err);
		cr_expect_null(strchr(err, '\n'), "message is not one line: '%s'", err);
		/* all or nothing: what was there is gone, nothing half-loaded */
		cr_expect_eq(m.n, 0, "%s: %zu entries left", c->text, m.n);
		cr_expect_null(m.profile);
		manifest_free(&m);
	}
}

Test(manifest_load, nul_byte_is_placed_and_explained)
{
	static const char text[] = "{\"twinguard_manifest\": 1,\n \0}";
	const char *path = tmp_path("m.json");
	struct tg_manifest m;
	char want[PATH_MAX + 16];

	tmp_write_n("m.json", text, sizeof(text) - 1);
	manifest_init(&m);
	cr_assert_eq(manifest_load(&m, path, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s:2:2: ", path);
	cr_expect(!strncmp(err, want, strlen(want)), "'%s' does not start with '%s'", err, want);
	cr_expect_not_null(strstr(err, "NUL"), "%s", err);
	cr_expect_not_null(strstr(err, "expected "), "'%s' does not say what was expected", err);
	manifest_free(&m);
}

Test(manifest_load, accepts_the_documented_format)
{
	static const char text[] =
		"{\"twinguard_manifest\": 1, \"algorithm\": \"sha256\", \"created\": "
		"\"2024-01-01T00:00:00Z\", \"profile\": \"generic-twin\", \"files\": ["
		"{\"path\": \"/var/lib/twin/models/pump.onnx\", \"sha256\": \"" SHA_ABC "\", "
		"\"size\": 3, \"mode\": \"0644\"},"
		"{\"path\": \"/etc/twin/a\", \"sha256\": \"" SHA_EMPTY "\", "
		"\"size\": 0, \"mode\": \"755\"}]}";
	const char *path = tmp_path("m.json");
	struct tg_manifest m;
	struct tg_manifest_entry *e;
	char hex[TG_SHA256_HEX];

	tmp_write("m.json", text);
	manifest_init(&m);
	cr_assert_eq(manifest_load(&m, path, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(m.n, 2);
	cr_expect_str_eq(m.profile, "generic-twin");
	cr_expect_str_eq(m.v[0].path, "/etc/twin/a");
	e = manifest_find(&m, "/var/lib/twin/models/pump.onnx");
	cr_assert_not_null(e);
	manifest_hex(e->sha256, hex);
	cr_expect_str_eq(hex, SHA_ABC);
	cr_expect_eq(e->size, 3);
	cr_expect_eq(e->mode, 0644);
	cr_expect_eq(m.v[0].mode, 0755);
	manifest_free(&m);
}

/* ---- hashing -------------------------------------------------------------- */

static void expect_hash(const char *rel, struct tg_throttle *th, const char *hex, uint64_t size)
{
	struct tg_hash_result h;
	char got[TG_SHA256_HEX];

	memset(&h, 0x55, sizeof(h));
	manifest_hash_file(tmp_path(rel), th, &h);
	cr_assert_eq(h.status, TG_HASH_OK, "%s: status %d err %d", rel, h.status, h.err);
	manifest_hex(h.sha256, got);
	cr_expect_str_eq(got, hex, "%s", rel);
	cr_expect_eq(h.size, size, "%s", rel);
	cr_expect_eq(h.err, 0);
}

Test(manifest_hash, known_vectors)
{
	struct tg_hash_result h;
	char *million = malloc(1000000);

	cr_assert_not_null(million);
	memset(million, 'a', 1000000);
	tmp_write("empty", "");
	tmp_write("abc", "abc");
	tmp_write_n("million", million, 1000000); /* many read chunks */
	free(million);
	expect_hash("empty", NULL, SHA_EMPTY, 0);
	expect_hash("abc", NULL, SHA_ABC, 3);
	expect_hash("million", NULL, SHA_MILLION_A, 1000000);

	cr_assert_eq(chmod(tmp_path("abc"), 04751), 0);
	manifest_hash_file(tmp_path("abc"), NULL, &h);
	cr_expect_eq(h.mode, 04751, "mode %o", h.mode);
}

Test(manifest_hash, throttle_does_not_change_the_digest)
{
	struct tg_throttle th = { .rate_bps = 4u << 20 };
	struct tg_throttle unlimited = { 0 };
	char *million = malloc(1000000);

	cr_assert_not_null(million);
	memset(million, 'a', 1000000);
	tmp_write_n("million", million, 1000000);
	free(million);
	tmp_write("abc", "abc");
	expect_hash("million", &th, SHA_MILLION_A, 1000000);
	expect_hash("abc", &th, SHA_ABC, 3); /* the same throttle, used again */
	expect_hash("million", &unlimited, SHA_MILLION_A, 1000000);
}

static void expect_status(const char *path, enum tg_hash_status want)
{
	struct tg_hash_result h;

	manifest_hash_file(path, NULL, &h);
	cr_expect_eq(h.status, want, "%s: status %d (err %d), want %d", path, h.status, h.err,
		     want);
	cr_expect_eq(h.size, 0, "%s", path);
}

Test(manifest_hash, absent_files)
{
	tmp_write("file", "x");
	expect_status(tmp_path("nothing"), TG_HASH_ABSENT);
	expect_status(tmp_path("no/such/dir/file"), TG_HASH_ABSENT);
	expect_status(tmp_path("file/below-a-file"), TG_HASH_ABSENT); /* ENOTDIR */
}

Test(manifest_hash, not_regular_files_never_block)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int s;

	tmp_write("target", "abc");
	tmp_mkdir("dir");
	cr_assert_eq(symlink("target", tmp_path("link")), 0);
	cr_assert_eq(symlink("dir", tmp_path("dirlink")), 0);
	cr_assert_eq(symlink("nowhere", tmp_path("dangling")), 0);
	/* a fifo without a writer: a blocking open would hang (the suite's
	 * timeout turns that into a failure) */
	cr_assert_eq(mkfifo(tmp_path("fifo"), 0600), 0);
	s = socket(AF_UNIX, SOCK_STREAM, 0);
	cr_assert_geq(s, 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", tmp_path("sock"));
	cr_assert_eq(bind(s, (struct sockaddr *)&sa, sizeof(sa)), 0, "%s", strerror(errno));

	expect_status(tmp_path("dir"), TG_HASH_NOT_REGULAR);
	expect_status(tmp_path("link"), TG_HASH_NOT_REGULAR); /* not followed */
	expect_status(tmp_path("dirlink"), TG_HASH_NOT_REGULAR);
	expect_status(tmp_path("dangling"), TG_HASH_NOT_REGULAR);
	expect_status(tmp_path("fifo"), TG_HASH_NOT_REGULAR);
	expect_status(tmp_path("sock"), TG_HASH_NOT_REGULAR);
	expect_status("/dev/null", TG_HASH_NOT_REGULAR);
	close(s);
}

/* ---- walk ------------------------------------------------------------------- */

struct walk_log {
	char *paths[64];
	size_t n;
	size_t stop_at;       /* return 7 on this call (1-based), 0 = never */
	char *warned[8];
	int warn_err[8];
	size_t n_warn;
};

static int walk_cb(void *ctx, const char *path)
{
	struct walk_log *w = ctx;

	cr_assert_lt(w->n, ARRAY_SIZE(w->paths));
	w->paths[w->n++] = strdup(path);
	return w->stop_at && w->n == w->stop_at ? 7 : 0;
}

static void warn_cb(void *ctx, const char *path, int e)
{
	struct walk_log *w = ctx;

	cr_assert_lt(w->n_warn, ARRAY_SIZE(w->warned));
	w->warn_err[w->n_warn] = e;
	w->warned[w->n_warn++] = strdup(path);
}

static size_t walk_count(const struct walk_log *w, const char *path)
{
	size_t k = 0;

	for (size_t i = 0; i < w->n; i++)
		k += !strcmp(w->paths[i], path);
	return k;
}

static void walk_log_free(struct walk_log *w)
{
	for (size_t i = 0; i < w->n; i++)
		free(w->paths[i]);
	for (size_t i = 0; i < w->n_warn; i++)
		free(w->warned[i]);
}

/*
 *   models/a.onnx  models/sub/deep/b.bin  models/sub/.hidden
 *   models/link -> a.onnx   models/dirlink -> sub   models/fifo
 *   config/c.yaml
 */
static void walk_tree(void)
{
	tmp_mkdir("models");
	tmp_mkdir("models/sub");
	tmp_mkdir("models/sub/deep");
	tmp_mkdir("models/empty");
	tmp_mkdir("config");
	tmp_write("models/a.onnx", "a");
	tmp_write("models/sub/deep/b.bin", "b");
	tmp_write("models/sub/.hidden", "h");
	tmp_write("config/c.yaml", "c");
	cr_assert_eq(symlink("a.onnx", tmp_path("models/link")), 0);
	cr_assert_eq(symlink("sub", tmp_path("models/dirlink")), 0);
	cr_assert_eq(mkfifo(tmp_path("models/fifo"), 0600), 0);
}

Test(manifest_walk, finds_nested_regular_files_and_skips_the_rest)
{
	char models[PATH_MAX], config[PATH_MAX];
	const char *dirs[3];
	struct walk_log w = { 0 };

	walk_tree();
	snprintf(models, sizeof(models), "%s/", tmp_path("models")); /* trailing slash */
	snprintf(config, sizeof(config), "%s", tmp_path("config"));
	dirs[0] = models;
	dirs[1] = config;
	dirs[2] = tmp_path("absent"); /* a missing directory is no error */
	cr_expect_eq(manifest_walk(dirs, 3, walk_cb, &w, warn_cb), 0);
	cr_expect_eq(w.n, 4, "%zu files", w.n);
	cr_expect_eq(walk_count(&w, tmp_path("models/a.onnx")), 1);
	cr_expect_eq(walk_count(&w, tmp_path("models/sub/deep/b.bin")), 1);
	cr_expect_eq(walk_count(&w, tmp_path("models/sub/.hidden")), 1);
	cr_expect_eq(walk_count(&w, tmp_path("config/c.yaml")), 1);
	cr_expect_eq(w.n_warn, 0);
	walk_log_free(&w);
}

Test(manifest_walk, callback_stops_the_walk)
{
	const char *dirs[2];
	struct walk_log w = { .stop_at = 2 };

	walk_tree();
	dirs[0] = tmp_path("models");
	dirs[1] = tmp_path("config");
	cr_expect_eq(manifest_walk(dirs, 2, walk_cb, &w, NULL), 7);
	cr_expect_eq(w.n, 2);
	walk_log_free(&w);
}

Test(manifest_walk, unreadable_directory_is_reported_and_skipped)
{
	const char *dirs[2];
	struct walk_log w = { 0 };

	walk_tree();
	dirs[0] = tmp_path("models/a.onnx"); /* not a directory: ENOTDIR */
	dirs[1] = tmp_path("config");
	cr_expect_eq(manifest_walk(dirs, 2, walk_cb, &w, warn_cb), 0);
	cr_expect_eq(w.n, 1);
	cr_expect_eq(walk_count(&w, tmp_path("config/c.yaml")), 1);
	cr_assert_eq(w.n_warn, 1);
	cr_expect_str_eq(w.warned[0], tmp_path("models/a.onnx"));
	cr_expect_eq(w.warn_err[0], ENOTDIR);
	/* without a warn callback it is skipped quietly */
	walk_log_free(&w);
	memset(&w, 0, sizeof(w));
	cr_expect_eq(manifest_walk(dirs, 2, walk_cb, &w, NULL), 0);
	cr_expect_eq(w.n, 1);
	walk_log_free(&w);
}

Test(manifest_walk, depth_is_bounded)
{
	char rel[PATH_MAX] = "d";
	const char *dirs[1];
	struct walk_log w = { 0 };

	/* 40 nested directories with a file at level 3 and one at the bottom */
	tmp_mkdir(rel);
	for (int i = 1; i < 40; i++) {
		strcat(rel, "/d");
		tmp_mkdir(rel);
		if (i == 3)
			tmp_write("d/d/d/d/shallow", "s");
	}
	strcat(rel, "/bottom");
	tmp_write(rel, "b");
	dirs[0] = tmp_path("d");
	cr_expect_eq(manifest_walk(dirs, 1, walk_cb, &w, warn_cb), 0);
	cr_expect_eq(w.n, 1, "%zu files", w.n);
	cr_expect_eq(walk_count(&w, tmp_path("d/d/d/d/shallow")), 1);
	walk_log_free(&w);
}
