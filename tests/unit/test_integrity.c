// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Unit tests for user/integrity.c: the agent's model and config integrity
 * checker, driven as the agent drives it (raw events with their rendered
 * JSON, closes, exits, polls) over temporary model and config directories
 * and a baseline manifest. No root, no BPF.
 *
 * The hashing thread runs on its own time: tests poll until nothing is
 * queued (settle(), bounded) and then look at what was emitted. Nothing
 * asserts on timing.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "event.h"
#include "integrity.h"
#include "manifest.h"
#include "profile.h"
#include "tmpdir.h"

#define DEPLOYER "/opt/twin/bin/twin-deploy"
#define SETTLE_NS (10 * 1000000000ull)   /* a bound, never an expectation */

static struct tg_profile prof;
static cJSON *got;                        /* the events emitted, in order */
static char manifest[PATH_MAX];
static char err[1024];

/* ---- fixture ---------------------------------------------------------------- */

static void strs_set(struct tg_strs *s, const char *v)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	s->v = calloc(1, sizeof(*s->v));
	cr_assert_not_null(s->v);
	s->v[0] = strdup(v);
	cr_assert_not_null(s->v[0]);
	s->n = 1;
}

/* <tmp>/models and <tmp>/config watched, DEPLOYER the one deployer, the
 * manifest at <tmp>/state/manifest.json. */
static void ig_setup(void)
{
	tmp_setup();
	tmp_mkdir("models");
	tmp_mkdir("config");
	snprintf(manifest, sizeof(manifest), "%s", tmp_path("state/manifest.json"));
	profile_defaults(&prof);
	strs_set(&prof.model_dirs, tmp_path("models"));
	strs_set(&prof.config_dirs, tmp_path("config"));
	strs_set(&prof.deployers, DEPLOYER);
	prof.manifest_auto_update = true;
	got = cJSON_CreateArray();
}

static void ig_teardown(void)
{
	cJSON_Delete(got);
	profile_free(&prof);
	tmp_teardown();
}

TestSuite(integrity, .init = ig_setup, .fini = ig_teardown, .timeout = 60);

static int baseline_file(void *ctx, const char *path)
{
	struct tg_hash_result h;

	manifest_hash_file(path, NULL, &h);
	cr_assert_eq(h.status, TG_HASH_OK, "%s", path);
	return manifest_set(ctx, path, &h);
}

/* What `twinguard baseline` does: every file under the watched dirs. */
static void baseline(void)
{
	const char *dirs[] = { prof.model_dirs.v[0], prof.config_dirs.v[0] };
	struct tg_manifest m;

	manifest_init(&m);
	cr_assert_eq(manifest_walk(dirs, 2, baseline_file, &m, NULL), 0);
	cr_assert_eq(manifest_save(&m, manifest, err, sizeof(err)), 0, "%s", err);
	manifest_free(&m);
}

/* Starts the checker, then swaps the profile for the defaults: it must
 * have kept its own copy (a reload frees the old profile). */
static struct tg_integrity *start_with(unsigned queue_max, unsigned rate_mb)
{
	struct tg_integrity_opts o = {
		.manifest = manifest, .prof = &prof, .queue_max = queue_max, .rate_mb = rate_mb,
	};
	struct tg_integrity *ig = integrity_new(&o, err, sizeof(err));

	cr_assert_not_null(ig, "integrity_new: %s", err);
	profile_free(&prof);
	profile_defaults(&prof);
	return ig;
}

static struct tg_integrity *start(void)
{
	return start_with(0, 0);
}

static void collect(void *ctx, cJSON *ev)
{
	cr_assert_not_null(ev);
	cJSON_AddItemToArray(ctx, ev);
}

static struct tg_integrity_stats stats(const struct tg_integrity *ig)
{
	struct tg_integrity_stats st;

	integrity_stats(ig, &st);
	return st;
}

/* Polls until nothing is queued or being hashed. */
static void settle(struct tg_integrity *ig)
{
	struct timespec t0, now, nap = { 0, 10 * 1000000 };
	uint64_t waited;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		integrity_poll(ig, collect, got);
		if (!stats(ig).queued)
			return;
		clock_gettime(CLOCK_MONOTONIC, &now);
		waited = (uint64_t)(now.tv_sec - t0.tv_sec) * 1000000000ull +
			 (uint64_t)now.tv_nsec - (uint64_t)t0.tv_nsec;
		cr_assert_lt(waited, SETTLE_NS, "still %zu queued", stats(ig).queued);
		nanosleep(&nap, NULL);
	}
}

/* ---- files and events ---------------------------------------------------------- */

/* SHA-256 of <tmp>/rel as it is now, in one of two buffers. */
static const char *hex_of(const char *rel)
{
	static char buf[2][TG_SHA256_HEX];
	static unsigned n;
	char *b = buf[n++ % 2];
	struct tg_hash_result h;

	manifest_hash_file(tmp_path(rel), NULL, &h);
	cr_assert_eq(h.status, TG_HASH_OK, "%s", rel);
	manifest_hex(h.sha256, b);
	return b;
}

static struct tg_event *ev_new(unsigned type, long ret, uint32_t tgid)
{
	struct tg_event *ev = calloc(1, sizeof(*ev));

	cr_assert_not_null(ev);
	ev->hdr.type = type;
	ev->hdr.syscall_nr = -1;
	ev->hdr.ret = ret;
	ev->hdr.tgid = ev->hdr.tid = tgid;
	ev->hdr.size = TG_EVENT_FIXED_SIZE;
	strcpy(ev->hdr.comm, "test");
	return ev;
}

static void ev_str(struct tg_event *ev, int idx, const char *s)
{
	size_t off = ev->hdr.size - TG_EVENT_FIXED_SIZE, len = strlen(s);

	cr_assert_lt(off + len + 1, (size_t)TG_DATA_MAX);
	memcpy(ev->data + off, s, len + 1);
	ev->str[idx].off = (__u16)off;
	ev->str[idx].len = (__u16)len;
	ev->hdr.size += len + 1;
}

/* A file event on <tmp>/rel as the kernel resolved it. */
static struct tg_event *file_ev(unsigned type, const char *rel, long ret, uint32_t tgid)
{
	struct tg_event *ev = ev_new(type, ret, tgid);

	ev_str(ev, 0, tmp_path(rel));
	ev->hdr.flags = TG_F_PATH_RESOLVED;
	cr_assert(event_valid(ev, ev->hdr.size));
	return ev;
}

/* The rendered event as far as the checker reads it: the writer's process
 * (parent and an ancestor chain when given) and user, plus fields it must
 * not copy. */
static cJSON *writer_json(uint32_t pid, const char *exe, const char *parent, const char *ancestor)
{
	cJSON *j = cJSON_CreateObject(), *p = cJSON_AddObjectToObject(j, "process"), *anc;

	cJSON_AddNumberToObject(p, "pid", pid);
	cJSON_AddStringToObject(p, "executable", exe);
	if (parent)
		cJSON_AddStringToObject(cJSON_AddObjectToObject(p, "parent"), "executable", parent);
	if (ancestor) {
		anc = cJSON_AddArrayToObject(p, "ancestors");
		cJSON_AddItemToArray(anc, cJSON_CreateObject());
		cJSON_AddStringToObject(cJSON_GetArrayItem(anc, 0), "executable", "/usr/bin/bash");
		cJSON_AddItemToArray(anc, cJSON_CreateObject());
		cJSON_AddStringToObject(cJSON_GetArrayItem(anc, 1), "executable", ancestor);
	}
	cJSON_AddStringToObject(cJSON_AddObjectToObject(j, "user"), "name", "dev");
	cJSON_AddStringToObject(cJSON_AddObjectToObject(j, "event"), "action", "not-copied");
	cJSON_AddStringToObject(cJSON_AddObjectToObject(j, "file"), "path", "/not/copied");
	return j;
}

/* observe() one event and free both, as the agent does right after. */
static void observe(struct tg_integrity *ig, struct tg_event *ev, cJSON *j)
{
	integrity_observe(ig, ev, j);
	free(ev);
	cJSON_Delete(j);
}

/* A write open (O_WRONLY|O_TRUNC) of rel that returned fd to tgid. */
static void open_for_write(struct tg_integrity *ig, const char *rel, uint32_t tgid, int fd,
			   const char *exe, const char *parent)
{
	struct tg_event *ev = file_ev(TG_EV_OPEN, rel, fd, tgid);

	ev->u.file.flags = O_WRONLY | O_TRUNC;
	observe(ig, ev, writer_json(tgid, exe, parent, NULL));
}

/* A rename of <tmp>/from over <tmp>/to, done on disk and then reported. */
static void rename_ev(struct tg_integrity *ig, const char *from, const char *to, cJSON *writer)
{
	struct tg_event *ev = file_ev(TG_EV_RENAME, from, 0, 700);

	cr_assert_eq(rename(tmp_path(from), tmp_path(to)), 0);
	ev_str(ev, 2, tmp_path(to));
	cr_assert(event_valid(ev, ev->hdr.size));
	observe(ig, ev, writer);
}

/* ---- looking at what was emitted ---------------------------------------------- */

static const cJSON *at(const cJSON *j, const char *dotted)
{
	char key[128], *dot, *k = key;

	snprintf(key, sizeof(key), "%s", dotted);
	while (j && (dot = strchr(k, '.'))) {
		*dot = '\0';
		j = cJSON_GetObjectItemCaseSensitive(j, k);
		k = dot + 1;
	}
	return j ? cJSON_GetObjectItemCaseSensitive(j, k) : NULL;
}

static const char *str_at(const cJSON *j, const char *dotted)
{
	const cJSON *v = at(j, dotted);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static bool about(const cJSON *ev, const char *action, const char *rel)
{
	const char *a = str_at(ev, "event.action"), *p = str_at(ev, "file.path");

	return (!action || (a && !strcmp(a, action))) && p && !strcmp(p, tmp_path(rel));
}

/* How many events of action (NULL: any) about rel were emitted. */
static int count(const char *action, const char *rel)
{
	const cJSON *ev;
	int n = 0;

	cJSON_ArrayForEach(ev, got)
		n += about(ev, action, rel);
	return n;
}

/* The one event of action about rel. */
static const cJSON *the(const char *action, const char *rel)
{
	const cJSON *ev, *found = NULL;

	cJSON_ArrayForEach(ev, got)
		if (about(ev, action, rel)) {
			cr_assert_null(found, "two %s events about %s", action, rel);
			found = ev;
		}
	cr_assert_not_null(found, "no %s event about %s (%d events)", action, rel,
			   cJSON_GetArraySize(got));
	return found;
}

static void expect_str(const cJSON *ev, const char *dotted, const char *want)
{
	const char *v = str_at(ev, dotted);

	if (!want) {
		cr_expect_null(at(ev, dotted), "%s is set", dotted);
		return;
	}
	cr_expect(v && !strcmp(v, want), "%s = '%s', want '%s'", dotted, v ? v : "(none)", want);
}

/* ---- the start check --------------------------------------------------------- */

/* models/f00, models/f01, ... */
static const char *nth(int i)
{
	static char rel[32];

	snprintf(rel, sizeof(rel), "models/f%02d", i);
	return rel;
}

static void write_all(int n, const char *text)
{
	for (int i = 0; i < n; i++)
		tmp_write(nth(i), text);
}

Test(integrity, start_check_finds_changed_extra_and_deleted_files)
{
	struct tg_integrity *ig;
	struct tg_integrity_stats st;
	const cJSON *ev;
	char old_a[TG_SHA256_HEX], old_c[TG_SHA256_HEX];

	tmp_mkdir("models/sub");
	tmp_write("models/a.onnx", "model a, version 1");
	tmp_write("models/b.onnx", "model b");
	tmp_write("models/sub/m.bin", "weights");
	tmp_write("config/c.yaml", "threshold: 3\n");
	baseline();
	snprintf(old_a, sizeof(old_a), "%s", hex_of("models/a.onnx"));
	snprintf(old_c, sizeof(old_c), "%s", hex_of("config/c.yaml"));
	tmp_write("models/a.onnx", "model a, tampered");
	tmp_write("models/extra.bin", "dropped in");
	cr_assert_eq(unlink(tmp_path("config/c.yaml")), 0);
	cr_assert_eq(chmod(tmp_path("models/sub/m.bin"), 0666), 0);

	ig = start();
	settle(ig);

	ev = the("integrity-mismatch", "models/a.onnx");
	expect_str(ev, "twinguard.integrity.expected_sha256", old_a);
	expect_str(ev, "file.hash.sha256", hex_of("models/a.onnx"));
	expect_str(ev, "twinguard.integrity.trigger", "start");
	expect_str(ev, "twinguard.integrity.manifest", manifest);
	expect_str(ev, "file.directory", tmp_path("models"));
	expect_str(ev, "file.name", "a.onnx");
	expect_str(ev, "event.kind", "event");
	expect_str(ev, "event.dataset", "twinguard.integrity");
	cr_expect_str_eq(cJSON_GetArrayItem(at(ev, "event.type"), 0)->valuestring, "change");
	cr_expect_str_eq(cJSON_GetArrayItem(at(ev, "event.category"), 0)->valuestring, "file");
	cr_expect_not_null(str_at(ev, "@timestamp"));
	cr_expect_not_null(str_at(ev, "host.hostname"));
	cr_expect_null(at(ev, "process"), "no writer is known at start");

	ev = the("integrity-unknown", "models/extra.bin");
	expect_str(ev, "file.hash.sha256", hex_of("models/extra.bin"));
	expect_str(ev, "twinguard.integrity.expected_sha256", NULL);
	cr_expect_str_eq(cJSON_GetArrayItem(at(ev, "event.type"), 0)->valuestring, "creation");

	ev = the("integrity-missing", "config/c.yaml");
	expect_str(ev, "twinguard.integrity.expected_sha256", old_c);
	expect_str(ev, "file.hash", NULL);
	cr_expect_str_eq(cJSON_GetArrayItem(at(ev, "event.type"), 0)->valuestring, "deletion");

	/* same bytes, other permissions */
	ev = the("integrity-mismatch", "models/sub/m.bin");
	expect_str(ev, "twinguard.integrity.expected_mode", "0644");
	expect_str(ev, "file.mode", "0666");
	expect_str(ev, "file.hash.sha256", str_at(ev, "twinguard.integrity.expected_sha256"));

	cr_expect_eq(count(NULL, "models/b.onnx"), 0, "an untouched file was reported");
	cr_expect_eq(cJSON_GetArraySize(got), 4);
	st = stats(ig);
	cr_expect_eq(st.checked, 5);
	cr_expect_eq(st.mismatches, 2);
	cr_expect_eq(st.unknown, 1);
	cr_expect_eq(st.missing, 1);
	cr_expect_eq(st.updated, 0);
	cr_expect_eq(st.errors, 0);
	cr_expect_eq(st.overflows, 0);
	cr_expect_eq(st.rescans, 0);
	integrity_free(ig);
}

Test(integrity, start_check_hashes_each_file_once_with_a_small_queue)
{
	struct tg_integrity *ig;

	/* more files than the queue holds, every one of them changed */
	write_all(24, "v1");
	baseline();
	write_all(24, "v2");
	ig = start_with(16, 0);
	settle(ig);
	for (int i = 0; i < 24; i++)
		cr_expect_eq(count("integrity-mismatch", nth(i)), 1, "%s", nth(i));
	cr_expect_eq(stats(ig).checked, 24);
	cr_expect_eq(stats(ig).overflows, 0);
	integrity_free(ig);
}

Test(integrity, matching_files_give_nothing)
{
	struct tg_integrity *ig;

	tmp_write("models/a.onnx", "a");
	tmp_write("config/c.yaml", "c");
	baseline();
	ig = start();
	settle(ig);
	cr_expect_eq(cJSON_GetArraySize(got), 0);
	cr_expect_eq(stats(ig).checked, 2);
	integrity_free(ig);
}

/* ---- what events make the checker look ------------------------------------ */

Test(integrity, write_open_then_close_checks_with_the_writer_of_the_open)
{
	struct tg_integrity *ig;
	struct tg_event *ev;
	const cJSON *e;

	tmp_write("models/a.onnx", "a1");
	tmp_write("models/b.onnx", "b1");
	baseline();
	ig = start();
	settle(ig);
	cr_assert_eq(cJSON_GetArraySize(got), 0);

	open_for_write(ig, "models/a.onnx", 555, 7, "/usr/bin/vim", NULL);
	ev = file_ev(TG_EV_OPEN, "models/b.onnx", 8, 555); /* read-only: not tracked */
	ev->u.file.flags = O_RDONLY;
	observe(ig, ev, writer_json(555, "/usr/bin/vim", NULL, NULL));
	tmp_write("models/a.onnx", "a2");
	tmp_write("models/b.onnx", "b2");
	/* nothing is checked before the close, or for another fd or process */
	cr_expect_eq(stats(ig).queued, 0);
	integrity_close(ig, 555, 8);
	integrity_close(ig, 556, 7);
	integrity_close(ig, 555, 6);
	settle(ig);
	cr_expect_eq(cJSON_GetArraySize(got), 0);

	integrity_close(ig, 555, 7);
	settle(ig);
	e = the("integrity-mismatch", "models/a.onnx");
	expect_str(e, "twinguard.integrity.trigger", "close");
	expect_str(e, "process.executable", "/usr/bin/vim");
	cr_expect_eq(cJSON_GetNumberValue(at(e, "process.pid")), 555);
	expect_str(e, "user.name", "dev");
	expect_str(e, "event.action", "integrity-mismatch");
	expect_str(e, "file.hash.sha256", hex_of("models/a.onnx"));
	cr_expect_eq(cJSON_GetArraySize(got), 1);

	/* the fd is forgotten once closed */
	integrity_close(ig, 555, 7);
	settle(ig);
	cr_expect_eq(cJSON_GetArraySize(got), 1);
	integrity_free(ig);
}

Test(integrity, process_exit_closes_its_write_fds)
{
	struct tg_integrity *ig;
	struct tg_event *ev;
	const cJSON *e;

	tmp_write("config/c.yaml", "c1");
	baseline();
	ig = start();
	settle(ig);
	open_for_write(ig, "config/c.yaml", 600, 3, "/usr/bin/sed", NULL);
	tmp_write("config/c.yaml", "c2");

	/* a thread's exit closes nothing */
	ev = ev_new(TG_EV_EXIT, 0, 600);
	ev->hdr.flags = TG_F_THREAD;
	ev->hdr.tid = 601;
	observe(ig, ev, writer_json(600, "/usr/bin/sed", NULL, NULL));
	settle(ig);
	cr_expect_eq(cJSON_GetArraySize(got), 0);

	observe(ig, ev_new(TG_EV_EXIT, 0, 600), writer_json(600, "/usr/bin/sed", NULL, NULL));
	settle(ig);
	e = the("integrity-mismatch", "config/c.yaml");
	expect_str(e, "twinguard.integrity.trigger", "exit");
	expect_str(e, "process.executable", "/usr/bin/sed");
	cr_expect_eq(cJSON_GetArraySize(got), 1);
	integrity_free(ig);
}

Test(integrity, unlink_chmod_and_truncate_events_are_checked_at_once)
{
	struct tg_integrity *ig;

	tmp_write("models/a.onnx", "a");
	tmp_write("models/b.onnx", "b");
	tmp_write("models/t.onnx", "t");
	baseline();
	ig = start();
	settle(ig);

	cr_assert_eq(unlink(tmp_path("models/a.onnx")), 0);
	observe(ig, file_ev(TG_EV_UNLINK, "models/a.onnx", 0, 42),
		writer_json(42, "/usr/bin/rm", NULL, NULL));
	cr_assert_eq(chmod(tmp_path("models/b.onnx"), 0600), 0);
	observe(ig, file_ev(TG_EV_CHMOD, "models/b.onnx", 0, 43),
		writer_json(43, "/usr/bin/chmod", NULL, NULL));
	cr_assert_eq(truncate(tmp_path("models/t.onnx"), 0), 0);
	observe(ig, file_ev(TG_EV_TRUNCATE, "models/t.onnx", 0, 44),
		writer_json(44, "/usr/bin/truncate", NULL, NULL));
	settle(ig);

	expect_str(the("integrity-missing", "models/a.onnx"), "twinguard.integrity.trigger", "unlink");
	expect_str(the("integrity-missing", "models/a.onnx"), "process.executable", "/usr/bin/rm");
	expect_str(the("integrity-mismatch", "models/b.onnx"), "twinguard.integrity.trigger", "chmod");
	expect_str(the("integrity-mismatch", "models/t.onnx"), "twinguard.integrity.trigger",
		   "truncate");
	cr_expect_eq(cJSON_GetArraySize(got), 3);
	integrity_free(ig);
}

/* truncate(1) truncates, then closes: one difference, one report; a new
 * change to the same file is reported again. */
Test(integrity, the_same_difference_is_reported_once)
{
	struct tg_integrity *ig;

	tmp_write("models/t.onnx", "t");
	baseline();
	ig = start();
	settle(ig);
	cr_assert_eq(truncate(tmp_path("models/t.onnx"), 0), 0);
	observe(ig, file_ev(TG_EV_TRUNCATE, "models/t.onnx", 0, 44),
		writer_json(44, "/usr/bin/truncate", NULL, NULL));
	settle(ig);
	open_for_write(ig, "models/t.onnx", 44, 3, "/usr/bin/truncate", NULL);
	integrity_close(ig, 44, 3);
	settle(ig);
	cr_expect_eq(count("integrity-mismatch", "models/t.onnx"), 1);
	cr_expect_eq(stats(ig).repeats, 1);
	tmp_write("models/t.onnx", "other");
	open_for_write(ig, "models/t.onnx", 45, 3, "/usr/bin/cp", NULL);
	integrity_close(ig, 45, 3);
	settle(ig);
	cr_expect_eq(count("integrity-mismatch", "models/t.onnx"), 2);
	integrity_free(ig);
}

Test(integrity, ignores_failed_calls_and_unwatched_paths)
{
	struct tg_integrity *ig;
	struct tg_event *ev;

	tmp_write("models/a.onnx", "a");
	tmp_mkdir("models2");
	tmp_write("models2/x", "x");
	baseline();
	ig = start();
	settle(ig);

	tmp_write("models/a.onnx", "changed");
	observe(ig, file_ev(TG_EV_CHMOD, "models/a.onnx", -1, 9), writer_json(9, "/x", NULL, NULL));
	observe(ig, file_ev(TG_EV_CHMOD, "models2/x", 0, 9), writer_json(9, "/x", NULL, NULL));
	ev = file_ev(TG_EV_OPEN, "models/a.onnx", -13, 9);
	ev->u.file.flags = O_WRONLY;
	observe(ig, ev, writer_json(9, "/x", NULL, NULL));
	integrity_close(ig, 9, -13);
	cr_expect_eq(stats(ig).queued, 0);
	settle(ig);
	cr_expect_eq(cJSON_GetArraySize(got), 0);

	cr_expect(integrity_watched(ig, tmp_path("models")));
	cr_expect(integrity_watched(ig, tmp_path("models/a/b/c")));
	cr_expect(integrity_watched(ig, tmp_path("config/x.yaml")));
	cr_expect_not(integrity_watched(ig, tmp_path("models2/x")));
	cr_expect_not(integrity_watched(ig, tmp_root));
	cr_expect_not(integrity_watched(ig, "/etc/passwd"));
	integrity_free(ig);
}

/* ---- deployments ------------------------------------------------------------- */

/* models/a.onnx in the manifest, its digest in old, the manifest's text
 * in *manifest_text (the caller frees it). */
static struct tg_integrity *deploy_start(char *old, char **manifest_text)
{
	struct tg_integrity *ig;

	tmp_write("models/a.onnx", "model v1");
	baseline();
	snprintf(old, TG_SHA256_HEX, "%s", hex_of("models/a.onnx"));
	*manifest_text = tmp_read(manifest);
	ig = start();
	settle(ig);
	cr_assert_eq(cJSON_GetArraySize(got), 0);
	return ig;
}

/* Then models/a.onnx is replaced through a rename by writer. */
static void deploy_rename(struct tg_integrity *ig, cJSON *writer)
{
	tmp_write("models/.a.onnx.new", "model v2");
	rename_ev(ig, "models/.a.onnx.new", "models/a.onnx", writer);
	settle(ig);
}

static struct tg_integrity *deploy(cJSON *writer, char *old, char **manifest_text)
{
	struct tg_integrity *ig = deploy_start(old, manifest_text);

	deploy_rename(ig, writer);
	return ig;
}

static void expect_manifest_digest(const char *rel, const char *hex)
{
	struct tg_manifest m;
	struct tg_manifest_entry *e;
	char got_hex[TG_SHA256_HEX];

	manifest_init(&m);
	cr_assert_eq(manifest_load(&m, manifest, err, sizeof(err)), 0, "%s", err);
	e = manifest_find(&m, tmp_path(rel));
	if (!hex) {
		cr_expect_null(e, "%s still in the manifest", rel);
	} else {
		cr_assert_not_null(e, "%s not in the manifest", rel);
		manifest_hex(e->sha256, got_hex);
		cr_expect_str_eq(got_hex, hex, "%s", rel);
	}
	manifest_free(&m);
}

Test(integrity, deployer_rename_updates_the_manifest)
{
	char old[TG_SHA256_HEX], *before;
	struct tg_integrity *ig = deploy(writer_json(700, DEPLOYER, NULL, NULL), old, &before);
	const cJSON *e = the("integrity-updated", "models/a.onnx");

	expect_str(e, "twinguard.integrity.expected_sha256", old);
	expect_str(e, "file.hash.sha256", hex_of("models/a.onnx"));
	expect_str(e, "twinguard.integrity.trigger", "rename");
	expect_str(e, "process.executable", DEPLOYER);
	cr_expect_eq(cJSON_GetArraySize(got), 1, "the staging file is no finding");
	cr_expect_eq(stats(ig).updated, 1);
	cr_expect_eq(stats(ig).mismatches, 0);
	expect_manifest_digest("models/a.onnx", hex_of("models/a.onnx"));

	/* what the checker holds moved too: a full check finds nothing */
	integrity_rescan(ig);
	settle(ig);
	cr_expect_eq(cJSON_GetArraySize(got), 1);
	cr_expect_eq(stats(ig).rescans, 1);
	free(before);
	integrity_free(ig);
}

Test(integrity, other_writer_rename_is_a_mismatch_and_leaves_the_manifest)
{
	char old[TG_SHA256_HEX], *before, *after;
	struct tg_integrity *ig = deploy(writer_json(700, "/usr/bin/cp", NULL, NULL), old, &before);
	const cJSON *e = the("integrity-mismatch", "models/a.onnx");

	expect_str(e, "twinguard.integrity.expected_sha256", old);
	expect_str(e, "twinguard.integrity.trigger", "rename");
	expect_str(e, "process.executable", "/usr/bin/cp");
	cr_expect_eq(count("integrity-updated", "models/a.onnx"), 0);
	after = tmp_read(manifest);
	cr_expect_str_eq(after, before, "the manifest was rewritten");
	expect_manifest_digest("models/a.onnx", old);
	free(before);
	free(after);
	integrity_free(ig);
}

/* A rename by exe, whose process carries writer's lineage, is a deployment. */
static void expect_deployment(cJSON *writer, const char *exe)
{
	char old[TG_SHA256_HEX], *before;
	struct tg_integrity *ig = deploy(writer, old, &before);

	expect_str(the("integrity-updated", "models/a.onnx"), "process.executable", exe);
	expect_manifest_digest("models/a.onnx", hex_of("models/a.onnx"));
	free(before);
	integrity_free(ig);
}

Test(integrity, writer_run_by_a_deployer_counts_as_deployer)
{
	expect_deployment(writer_json(700, "/usr/bin/install", NULL, DEPLOYER), "/usr/bin/install");
}

Test(integrity, writer_whose_parent_is_a_deployer_counts_as_deployer)
{
	expect_deployment(writer_json(700, "/usr/bin/mv", DEPLOYER, NULL), "/usr/bin/mv");
}

Test(integrity, deployer_without_auto_update_is_a_mismatch)
{
	char old[TG_SHA256_HEX], *before, *after;
	struct tg_integrity *ig;

	prof.manifest_auto_update = false;
	ig = deploy(writer_json(700, DEPLOYER, NULL, NULL), old, &before);
	the("integrity-mismatch", "models/a.onnx");
	cr_expect_eq(count("integrity-updated", "models/a.onnx"), 0);
	after = tmp_read(manifest);
	cr_expect_str_eq(after, before, "the manifest was rewritten");
	free(before);
	free(after);
	integrity_free(ig);
}

Test(integrity, deployer_adds_and_removes_files)
{
	struct tg_integrity *ig;

	tmp_write("models/old.onnx", "retired");
	baseline();
	ig = start();
	settle(ig);

	tmp_write("models/.new.tmp", "brand new");
	rename_ev(ig, "models/.new.tmp", "models/new.onnx", writer_json(70, DEPLOYER, NULL, NULL));
	cr_assert_eq(unlink(tmp_path("models/old.onnx")), 0);
	observe(ig, file_ev(TG_EV_UNLINK, "models/old.onnx", 0, 70),
		writer_json(70, DEPLOYER, NULL, NULL));
	settle(ig);
	the("integrity-updated", "models/new.onnx");
	the("integrity-updated", "models/old.onnx");
	cr_expect_eq(cJSON_GetArraySize(got), 2);
	expect_manifest_digest("models/new.onnx", hex_of("models/new.onnx"));
	expect_manifest_digest("models/old.onnx", NULL);
	integrity_free(ig);
}

Test(integrity, failed_manifest_update_reports_the_old_digest_and_keeps_it)
{
	char old[TG_SHA256_HEX], *before, *after, blocker[PATH_MAX + 32];
	struct tg_integrity *ig;
	const cJSON *e;

	ig = deploy_start(old, &before);
	/* the manifest's temporary file cannot be created */
	snprintf(blocker, sizeof(blocker), "%s.tmp.%d", manifest, (int)getpid());
	cr_assert_eq(mkdir(blocker, 0700), 0);
	deploy_rename(ig, writer_json(700, DEPLOYER, NULL, NULL));
	e = the("integrity-mismatch", "models/a.onnx");
	expect_str(e, "twinguard.integrity.expected_sha256", old);
	expect_str(e, "file.hash.sha256", hex_of("models/a.onnx"));
	cr_expect_eq(stats(ig).updated, 0);
	after = tmp_read(manifest);
	cr_expect_str_eq(after, before);

	/* the checker still compares with what the manifest on disk says */
	cr_assert_eq(rmdir(blocker), 0);
	integrity_rescan(ig);
	settle(ig);
	cr_expect_eq(count("integrity-mismatch", "models/a.onnx"), 2);
	free(before);
	free(after);
	integrity_free(ig);
}

/* ---- overload and lost events --------------------------------------------- */

Test(integrity, queue_overflow_schedules_a_rescan_that_loses_no_check)
{
	struct tg_integrity *ig;
	struct tg_integrity_stats st;
	int rescanned = 0;
	const cJSON *ev;

	write_all(40, "v1");
	baseline();
	ig = start_with(16, 0);
	settle(ig);
	cr_assert_eq(cJSON_GetArraySize(got), 0);

	/* 40 changes reported in one burst, no poll in between */
	for (int i = 0; i < 40; i++) {
		tmp_write(nth(i), "v2");
		observe(ig, file_ev(TG_EV_CHMOD, nth(i), 0, 77), writer_json(77, "/x", NULL, NULL));
	}
	st = stats(ig);
	cr_expect_gt(st.overflows, 0);
	cr_expect_geq(st.rescans, 1);
	cr_expect_gt(st.queued, 0);
	settle(ig);
	for (int i = 0; i < 40; i++)
		cr_expect_geq(count("integrity-mismatch", nth(i)), 1, "%s was never checked", nth(i));
	cJSON_ArrayForEach(ev, got) {
		const char *trigger = str_at(ev, "twinguard.integrity.trigger");

		rescanned += trigger && !strcmp(trigger, "rescan");
	}
	cr_expect_gt(rescanned, 0);
	integrity_free(ig);
}

Test(integrity, rescan_rechecks_a_file_whose_hash_is_under_way)
{
	struct tg_integrity *ig;
	struct timespec nap = { 0, 200 * 1000000 };
	char *big = malloc(1 << 20);
	int fd;

	/* 1 MiB at 1 MiB/s: the start check reads it for about a second */
	cr_assert_not_null(big);
	memset(big, 'x', 1 << 20);
	tmp_write_n("models/big.bin", big, 1 << 20);
	free(big);
	baseline();
	ig = start_with(0, 1);
	integrity_poll(ig, collect, got); /* hands the file to the thread */
	nanosleep(&nap, NULL);

	/* a write whose event was lost, to bytes already hashed (or not yet:
	 * then the first hash sees it and the test proves nothing) */
	fd = open(tmp_path("models/big.bin"), O_WRONLY);
	cr_assert_geq(fd, 0);
	cr_assert_eq(pwrite(fd, "tamper", 6, 0), 6);
	close(fd);
	integrity_rescan(ig); /* what the agent does on ring buffer drops */
	settle(ig);
	cr_expect_geq(count("integrity-mismatch", "models/big.bin"), 1,
		      "the lost write was never checked");
	integrity_free(ig);
}

/* ---- the manifest cannot be loaded ---------------------------------------- */

Test(integrity, missing_manifest_is_enoent)
{
	struct tg_integrity_opts o = { .manifest = manifest, .prof = &prof };

	errno = 0;
	cr_expect_null(integrity_new(&o, err, sizeof(err)));
	cr_expect_eq(errno, ENOENT);
	cr_expect_not_null(strstr(err, manifest), "'%s' does not name %s", err, manifest);
}

Test(integrity, malformed_manifest_is_an_error_naming_the_file)
{
	struct tg_integrity_opts o = { .manifest = manifest, .prof = &prof };

	tmp_mkdir("state");
	tmp_write("state/manifest.json", "{\"twinguard_manifest\": 1, \"algorithm\": \"md5\"}");
	errno = 0;
	cr_expect_null(integrity_new(&o, err, sizeof(err)));
	cr_expect_neq(errno, ENOENT);
	cr_expect(!strncmp(err, manifest, strlen(manifest)), "'%s' does not start with %s", err,
		  manifest);
	cr_expect_not_null(strstr(err, "algorithm"), "%s", err);
}
