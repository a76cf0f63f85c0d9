// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * integrity: see integrity.h and docs/integrity.md.
 *
 * Three tables, all bounded:
 *   fds      (tgid, fd) -> path + who opened it for writing, until the
 *            close (TG_EV_CLOSE) or the process's exit;
 *   pending  path -> trigger + last writer, for files queued or being
 *            hashed (at most queue_max; a full table schedules a rescan
 *            instead of dropping the check);
 *   rescan   the paths of a full check, fed into pending as room frees.
 * The hashing thread sees only the job and result rings (one mutex).
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "event.h"
#include "integrity.h"
#include "integrity_event.h"
#include "manifest.h"
#include "profile.h"

#include "integrity_priv.h"

static uint64_t ig_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int ring_init(struct ig_ring *r, size_t cap)
{
	r->v = calloc(cap, sizeof(*r->v));
	r->cap = cap;
	return r->v ? 0 : -1;
}

static bool ring_push(struct ig_ring *r, void *x)
{
	if (r->n == r->cap)
		return false;
	r->v[(r->head + r->n++) % r->cap] = x;
	return true;
}

static void *ring_pop(struct ig_ring *r)
{
	void *x;

	if (!r->n)
		return NULL;
	x = r->v[r->head];
	r->head = (r->head + 1) % r->cap;
	r->n--;
	return x;
}

/* The hashing thread: jobs are malloc'ed paths, results own them. */
static void *ig_thread(void *arg)
{
	struct tg_integrity *ig = arg;

	pthread_mutex_lock(&ig->mu);
	for (;;) {
		struct ig_result *res;
		char *path;

		while (!ig->stop && !ig->jobs.n)
			pthread_cond_wait(&ig->cv, &ig->mu);
		if (ig->stop)
			break;
		path = ring_pop(&ig->jobs);
		pthread_mutex_unlock(&ig->mu);
		res = calloc(1, sizeof(*res));
		if (res) {
			res->path = path;
			manifest_hash_file(path, &ig->th, &res->h);
		} else {
			free(path);
		}
		pthread_mutex_lock(&ig->mu);
		/* results has room for every job: the agent drains it */
		while (res && !ig->stop && !ring_push(&ig->results, res))
			pthread_cond_wait(&ig->cv, &ig->mu);
		if (ig->stop && res) {
			free(res->path);
			free(res);
		}
	}
	pthread_mutex_unlock(&ig->mu);
	return NULL;
}

bool integrity_watched(const struct tg_integrity *ig, const char *path)
{
	return profile_under_dirs(&ig->model_dirs, path) || profile_under_dirs(&ig->config_dirs, path);
}

/* {"process": ..., "user": ...} of a rendered event. */
static cJSON *ig_writer(const cJSON *j)
{
	const cJSON *p = cJSON_GetObjectItemCaseSensitive(j, "process");
	const cJSON *u = cJSON_GetObjectItemCaseSensitive(j, "user");
	cJSON *w;

	if (!p)
		return NULL;
	w = cJSON_CreateObject();
	if (w) {
		cJSON_AddItemToObject(w, "process", cJSON_Duplicate(p, true));
		if (u)
			cJSON_AddItemToObject(w, "user", cJSON_Duplicate(u, true));
	}
	return w;
}

struct ig_pending *ig_pending_find(struct tg_integrity *ig, const char *path)
{
	for (size_t i = 0; i < ig->n_pend; i++)
		if (!strcmp(ig->pend[i].path, path))
			return &ig->pend[i];
	return NULL;
}

/* Hand path to the hashing thread; false when the job ring is full. */
bool ig_submit(struct tg_integrity *ig, const char *path)
{
	char *dup = strdup(path);
	bool ok;

	if (!dup)
		return false;
	pthread_mutex_lock(&ig->mu);
	ok = ring_push(&ig->jobs, dup);
	if (ok)
		pthread_cond_broadcast(&ig->cv);
	pthread_mutex_unlock(&ig->mu);
	if (!ok)
		free(dup);
	return ok;
}

/*
 * Queue path for a hash with what caused it. writer (may be NULL) is
 * adopted. A path already queued keeps its place and takes the newer
 * writer; when the table is full the check is not lost: a full rescan
 * is scheduled, which covers it.
 */
static void ig_queue(struct tg_integrity *ig, const char *path, const char *trigger, cJSON *writer)
{
	struct ig_pending *p = ig_pending_find(ig, path);

	if (p) {
		if (writer) {
			cJSON_Delete(p->writer);
			p->writer = writer;
			p->trigger = trigger;
		}
		p->again = true;
		return;
	}
	if (ig->n_pend >= ig->o.queue_max) {
		cJSON_Delete(writer);
		ig->st.overflows++;
		integrity_rescan(ig);
		return;
	}
	p = &ig->pend[ig->n_pend];
	p->path = strdup(path);
	if (!p->path || !ig_submit(ig, path)) {
		free(p->path);
		cJSON_Delete(writer);
		ig->st.overflows++;
		integrity_rescan(ig);
		return;
	}
	p->trigger = trigger;
	p->writer = writer;
	p->again = false;
	ig->n_pend++;
}

static void ig_fd_drop(struct tg_integrity *ig, size_t i, const char *trigger)
{
	struct ig_fd *f = &ig->fds[i];

	ig_queue(ig, f->path, trigger, f->writer);
	free(f->path);
	*f = ig->fds[--ig->n_fds];
}

static void ig_fd_add(struct tg_integrity *ig, uint32_t tgid, int32_t fd, const char *path,
		      const cJSON *j)
{
	struct ig_fd *f;

	for (size_t i = 0; i < ig->n_fds; i++)
		if (ig->fds[i].tgid == tgid && ig->fds[i].fd == fd) {
			/* its close was missed (dup2, exec): that was the close */
			ig_fd_drop(ig, i, "close");
			break;
		}
	if (ig->n_fds == IG_FDS_MAX)
		ig_fd_drop(ig, 0, "close"); /* bounded: check one now */
	f = &ig->fds[ig->n_fds];
	f->path = strdup(path);
	if (!f->path)
		return;
	f->tgid = tgid;
	f->fd = fd;
	f->writer = ig_writer(j);
	ig->n_fds++;
}

void integrity_close(struct tg_integrity *ig, uint32_t tgid, int32_t fd)
{
	for (size_t i = 0; i < ig->n_fds; i++)
		if (ig->fds[i].tgid == tgid && ig->fds[i].fd == fd) {
			ig_fd_drop(ig, i, "close");
			return;
		}
}

void integrity_exit(struct tg_integrity *ig, uint32_t tgid)
{
	for (size_t i = 0; i < ig->n_fds;)
		if (ig->fds[i].tgid == tgid)
			ig_fd_drop(ig, i, "exit");
		else
			i++;
}

static bool ig_open_writes(uint32_t flags)
{
	return (flags & 3) != 0 || (flags & (0100 | 01000)); /* O_WRONLY/O_RDWR, O_CREAT/O_TRUNC */
}

static void ig_queue_event_path(struct tg_integrity *ig, const struct tg_event *ev, int idx,
				const cJSON *j)
{
	char path[PATH_MAX];

	if (!event_path(ev, idx, path, sizeof(path)) && integrity_watched(ig, path))
		ig_queue(ig, path, event_type_name(ev->hdr.type), ig_writer(j));
}

void integrity_observe(struct tg_integrity *ig, const struct tg_event *ev, const cJSON *j)
{
	char path[PATH_MAX];

	if (ev->hdr.ret < 0)
		return;
	switch (ev->hdr.type) {
	case TG_EV_OPEN:
		if (ig_open_writes(ev->u.file.flags) && !event_path(ev, 0, path, sizeof(path)) &&
		    integrity_watched(ig, path))
			ig_fd_add(ig, ev->hdr.tgid, (int32_t)ev->hdr.ret, path, j);
		break;
	case TG_EV_RENAME:
	case TG_EV_LINK:
		ig_queue_event_path(ig, ev, 2, j);
		if (ev->hdr.type == TG_EV_RENAME)
			ig_queue_event_path(ig, ev, 0, j);
		break;
	case TG_EV_TRUNCATE:
	case TG_EV_CHMOD:
	case TG_EV_CHOWN:
	case TG_EV_UNLINK:
		ig_queue_event_path(ig, ev, 0, j);
		break;
	case TG_EV_EXIT:
		if (!(ev->hdr.flags & TG_F_THREAD))
			integrity_exit(ig, ev->hdr.tgid);
		break;
	default:
		break;
	}
}

/* ---- results -------------------------------------------------------- */

enum ig_verdict { IG_OK, IG_MISMATCH, IG_UNKNOWN, IG_MISSING };

static const char *const ig_actions[] = {
	[IG_MISMATCH] = "integrity-mismatch", [IG_UNKNOWN] = "integrity-unknown",
	[IG_MISSING] = "integrity-missing",
};

static bool ig_in(const struct tg_strs *set, const cJSON *s)
{
	if (!cJSON_IsString(s))
		return false;
	for (size_t i = 0; i < set->n; i++)
		if (!strcmp(set->v[i], s->valuestring))
			return true;
	return false;
}

/* The writer is a deployer, or was run by one (process.ancestors). */
static bool ig_by_deployer(const struct tg_integrity *ig, const cJSON *writer)
{
	const cJSON *p = cJSON_GetObjectItemCaseSensitive(writer, "process");
	const cJSON *anc = cJSON_GetObjectItemCaseSensitive(p, "ancestors"), *a;
	const cJSON *parent = cJSON_GetObjectItemCaseSensitive(p, "parent");

	if (!p)
		return false;
	if (ig_in(&ig->deployers, cJSON_GetObjectItemCaseSensitive(p, "executable")) ||
	    ig_in(&ig->deployers, cJSON_GetObjectItemCaseSensitive(parent, "executable")))
		return true;
	cJSON_ArrayForEach(a, anc)
		if (ig_in(&ig->deployers, cJSON_GetObjectItemCaseSensitive(a, "executable")))
			return true;
	return false;
}

static enum ig_verdict ig_judge(const struct tg_manifest_entry *m, const struct tg_hash_result *h)
{
	bool present = h->status == TG_HASH_OK;

	if (!m)
		return present ? IG_UNKNOWN : IG_OK;
	if (!present)
		return IG_MISSING;
	if (memcmp(m->sha256, h->sha256, TG_SHA256_LEN) || m->size != h->size ||
	    m->mode != h->mode)
		return IG_MISMATCH;
	return IG_OK;
}

/* The event of a verdict on r (with what queued it, p, may be NULL). */
static cJSON *ig_event(struct tg_integrity *ig, const struct ig_result *r,
		       const struct ig_pending *p, const struct tg_manifest_entry *m,
		       const char *action)
{
	struct tg_integrity_verdict v = {
		.action = action, .path = r->path, .found = &r->h, .expected = m,
		.trigger = p ? p->trigger : NULL, .manifest = ig->manifest_path,
		.hostname = ig->hostname, .writer = p ? p->writer : NULL,
	};

	return integrity_event_new(&v);
}

/* A deployer's change: the manifest follows it. Returns true when saved;
 * if not, the entry is put back as it was (old, or none) to match the file. */
static bool ig_auto_update(struct tg_integrity *ig, const struct ig_result *r, enum ig_verdict v,
			   const struct tg_manifest_entry *old)
{
	struct tg_hash_result was = { .size = old ? old->size : 0, .mode = old ? old->mode : 0 };
	char err[512];
	int rc;

	rc = v == IG_MISSING ? (manifest_remove(&ig->man, r->path) ? 0 : -1) :
			       manifest_set(&ig->man, r->path, &r->h);
	if (rc || !manifest_save(&ig->man, ig->manifest_path, err, sizeof(err)))
		return !rc;
	fprintf(stderr, "twinguard: integrity: failed to update the manifest: %s\n", err);
	if (old)
		memcpy(was.sha256, old->sha256, TG_SHA256_LEN);
	if (!old || manifest_set(&ig->man, r->path, &was))
		manifest_remove(&ig->man, r->path);
	return false;
}

static void ig_count(struct tg_integrity *ig, enum ig_verdict v)
{
	if (v == IG_MISMATCH)
		ig->st.mismatches++;
	else if (v == IG_UNKNOWN)
		ig->st.unknown++;
	else if (v == IG_MISSING)
		ig->st.missing++;
}

static struct ig_seen *ig_seen_find(struct tg_integrity *ig, const char *path)
{
	for (size_t i = 0; i < ig->n_seen; i++)
		if (!strcmp(ig->seen[i].path, path))
			return &ig->seen[i];
	return NULL;
}

static void ig_seen_forget(struct tg_integrity *ig, const char *path)
{
	struct ig_seen *s = ig_seen_find(ig, path);

	if (s) {
		free(s->path);
		*s = ig->seen[--ig->n_seen];
	}
}

/* True when this difference was reported already (checks at start and on
 * rescans always report: they are the periodic reminder). */
static bool ig_seen_before(struct tg_integrity *ig, const struct ig_result *r, int v,
			   const char *trigger)
{
	struct ig_seen *s = ig_seen_find(ig, r->path);
	bool rescan = !trigger || !strcmp(trigger, "start") || !strcmp(trigger, "rescan");

	if (s && !rescan && s->verdict == v && s->h.status == r->h.status &&
	    s->h.size == r->h.size && s->h.mode == r->h.mode &&
	    !memcmp(s->h.sha256, r->h.sha256, TG_SHA256_LEN))
		return true;
	if (!s && ig->n_seen == IG_SEEN_MAX)
		ig_seen_forget(ig, ig->seen[0].path); /* bounded: forget one */
	if (!s) {
		s = &ig->seen[ig->n_seen];
		if (!(s->path = strdup(r->path)))
			return false;
		ig->n_seen++;
	}
	s->verdict = v;
	s->h = r->h;
	return false;
}

static void ig_result(struct tg_integrity *ig, struct ig_result *r, tg_integrity_emit_fn fn,
		      void *ctx)
{
	struct ig_pending *p = ig_pending_find(ig, r->path);
	struct tg_manifest_entry *e = manifest_find(&ig->man, r->path);
	/* a copy: an update moves or rewrites the entry */
	struct tg_manifest_entry before = e ? *e : (struct tg_manifest_entry){ 0 };
	const struct tg_manifest_entry *m = e ? &before : NULL;
	enum ig_verdict v;
	cJSON *ev = NULL;

	ig->st.checked++;
	if (r->h.status == TG_HASH_ERROR) {
		ig->st.errors++;
		fprintf(stderr, "twinguard: integrity: cannot read %s: %s\n", r->path,
			strerror(r->h.err));
	}
	v = r->h.status == TG_HASH_ERROR ? IG_OK : ig_judge(m, &r->h);
	if (v != IG_OK && p && p->writer && ig->auto_update &&
	    ig_by_deployer(ig, p->writer) && ig_auto_update(ig, r, v, m)) {
		ig->st.updated++;
		ev = ig_event(ig, r, p, m, "integrity-updated");
		ig_seen_forget(ig, r->path);
	} else if (v != IG_OK && ig_seen_before(ig, r, v, p ? p->trigger : NULL)) {
		ig->st.repeats++;
	} else if (v != IG_OK) {
		ig_count(ig, v);
		ev = ig_event(ig, r, p, m, ig_actions[v]);
	} else {
		ig_seen_forget(ig, r->path);
	}
	if (ev)
		fn(ctx, ev);
	if (!p)
		return;
	if (p->again && ig_submit(ig, r->path)) {
		p->again = false;
		return;
	}
	free(p->path);
	cJSON_Delete(p->writer);
	*p = ig->pend[--ig->n_pend];
}

/* ---- life cycle ----------------------------------------------------- */

void integrity_poll(struct tg_integrity *ig, tg_integrity_emit_fn fn, void *ctx)
{
	/* bounded: at most one ring's worth per call */
	for (size_t i = 0; i < ig->o.queue_max; i++) {
		struct ig_result *r;

		pthread_mutex_lock(&ig->mu);
		r = ring_pop(&ig->results);
		if (r)
			pthread_cond_broadcast(&ig->cv);
		pthread_mutex_unlock(&ig->mu);
		if (!r)
			break;
		ig_result(ig, r, fn, ctx);
		free(r->path);
		free(r);
	}
	if (ig->o.rescan_s && ig_now_ns() >= ig->next_rescan_ns) {
		integrity_rescan(ig);
		ig->next_rescan_ns = ig_now_ns() + ig->o.rescan_s * 1000000000ull;
	}
	ig_rescan_feed(ig);
}

void integrity_stats(const struct tg_integrity *ig, struct tg_integrity_stats *st)
{
	*st = ig->st;
	st->queued = ig->n_pend + (ig->n_rescan - ig->rescan_pos);
}

static void ig_strs_free(struct tg_strs *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	s->v = NULL;
	s->n = 0;
}

static int ig_strs_copy(struct tg_strs *dst, const struct tg_strs *src)
{
	dst->v = calloc(src->n ? src->n : 1, sizeof(*dst->v));
	if (!dst->v)
		return -1;
	for (; dst->n < src->n; dst->n++)
		if (!(dst->v[dst->n] = strdup(src->v[dst->n])))
			return -1;
	return 0;
}

static int ig_alloc(struct tg_integrity *ig, const struct tg_integrity_opts *o)
{
	ig->o = *o;
	if (!ig->o.queue_max)
		ig->o.queue_max = 1024;
	ig->auto_update = o->prof->manifest_auto_update;
	if (ig_strs_copy(&ig->model_dirs, &o->prof->model_dirs) ||
	    ig_strs_copy(&ig->config_dirs, &o->prof->config_dirs) ||
	    ig_strs_copy(&ig->deployers, &o->prof->deployers))
		return -1;
	ig->th.rate_bps = (uint64_t)o->rate_mb << 20;
	ig->manifest_path = strdup(o->manifest);
	ig->fds = calloc(IG_FDS_MAX, sizeof(*ig->fds));
	ig->pend = calloc(ig->o.queue_max, sizeof(*ig->pend));
	if (gethostname(ig->hostname, sizeof(ig->hostname) - 1))
		snprintf(ig->hostname, sizeof(ig->hostname), "localhost");
	if (!ig->manifest_path || !ig->fds || !ig->pend || ring_init(&ig->jobs, ig->o.queue_max) ||
	    ring_init(&ig->results, ig->o.queue_max))
		return -1;
	return 0;
}

struct tg_integrity *integrity_new(const struct tg_integrity_opts *o, char *err, size_t errlen)
{
	struct tg_integrity *ig = calloc(1, sizeof(*ig));
	int saved;

	if (!ig) {
		snprintf(err, errlen, "integrity: out of memory");
		return NULL;
	}
	pthread_mutex_init(&ig->mu, NULL);
	pthread_cond_init(&ig->cv, NULL);
	if (ig_alloc(ig, o)) {
		snprintf(err, errlen, "integrity: out of memory");
		integrity_free(ig);
		errno = ENOMEM;
		return NULL;
	}
	if (manifest_load(&ig->man, o->manifest, err, errlen)) {
		saved = errno;
		integrity_free(ig);
		errno = saved;
		return NULL;
	}
	errno = pthread_create(&ig->thread, NULL, ig_thread, ig);
	if (errno) {
		snprintf(err, errlen, "integrity: cannot start the hashing thread: %s", strerror(errno));
		integrity_free(ig);
		return NULL;
	}
	ig->thread_ok = true;
	ig_rescan_build(ig, "start");
	ig->st.rescans = 0; /* the start check is not a rescan */
	ig->next_rescan_ns = ig_now_ns() + ig->o.rescan_s * 1000000000ull;
	return ig;
}

void integrity_free(struct tg_integrity *ig)
{
	void *x;

	if (!ig)
		return;
	if (ig->thread_ok) {
		pthread_mutex_lock(&ig->mu);
		ig->stop = true;
		pthread_cond_broadcast(&ig->cv);
		pthread_mutex_unlock(&ig->mu);
		pthread_join(ig->thread, NULL);
	}
	pthread_mutex_destroy(&ig->mu);
	pthread_cond_destroy(&ig->cv);
	while ((x = ring_pop(&ig->jobs)))
		free(x);
	while ((x = ring_pop(&ig->results))) {
		free(((struct ig_result *)x)->path);
		free(x);
	}
	free(ig->jobs.v);
	free(ig->results.v);
	for (size_t i = 0; ig->fds && i < ig->n_fds; i++) {
		free(ig->fds[i].path);
		cJSON_Delete(ig->fds[i].writer);
	}
	for (size_t i = 0; ig->pend && i < ig->n_pend; i++) {
		free(ig->pend[i].path);
		cJSON_Delete(ig->pend[i].writer);
	}
	ig_rescan_clear(ig);
	for (size_t i = 0; i < ig->n_seen; i++)
		free(ig->seen[i].path);
	free(ig->fds);
	free(ig->pend);
	free(ig->manifest_path);
	ig_strs_free(&ig->model_dirs);
	ig_strs_free(&ig->config_dirs);
	ig_strs_free(&ig->deployers);
	manifest_free(&ig->man);
	free(ig);
}
