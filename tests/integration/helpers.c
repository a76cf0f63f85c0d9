// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Integration test harness; the design is in helpers.h. */
#include <criterion/criterion.h>
#include <errno.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "helpers.h"

#define HARNESS_RINGBUF_DEFAULT (4u << 20)
#define HARNESS_POLL_SLICE_MS 50
#define HARNESS_DRAIN_ROUNDS 100000 /* bound on ring buffer drains */

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void harness_dump(const struct tg_event *ev)
{
	fprintf(stderr, "tg: %s type=%u tgid=%u tid=%u ppid=%u uid=%u gid=%u nr=%d ret=%lld "
		"flags=0x%x comm=%s raw=", event_type_name(ev->hdr.type), ev->hdr.type,
		ev->hdr.tgid, ev->hdr.tid, ev->hdr.ppid, ev->hdr.uid, ev->hdr.gid,
		ev->hdr.syscall_nr, (long long)ev->hdr.ret, ev->hdr.flags, ev->hdr.comm);
	for (size_t i = 0; i < sizeof(ev->u.raw); i += 4)
		fprintf(stderr, "%08x%s", *(const uint32_t *)&ev->u.raw[i], i + 4 < sizeof(ev->u.raw) ? "," : "");
	for (int i = 0; i < TG_MAX_STRS; i++)
		if (event_str(ev, i))
			fprintf(stderr, " str%d='%s'(%u)", i, event_str(ev, i), ev->str[i].len);
	fputc('\n', stderr);
}

static int harness_collect(void *ctx, const struct tg_event *ev, size_t size)
{
	struct tg_harness *h = ctx;
	struct tg_event *copy;

	if (!event_valid(ev, size)) {
		h->invalid++;
		return 0;
	}
	if (h->n >= HARNESS_MAX_RECS) {
		h->overflow = true;
		return 0;
	}
	if (h->n == h->cap) {
		size_t cap = h->cap ? h->cap * 2 : 1024;
		struct tg_rec *r = realloc(h->recs, cap * sizeof(*r));

		if (!r) {
			h->overflow = true;
			return 0;
		}
		h->recs = r;
		h->cap = cap;
	}
	/* Only hdr.size bytes exist; callers never read past a string's NUL. */
	copy = malloc(ev->hdr.size);
	if (!copy) {
		h->overflow = true;
		return 0;
	}
	memcpy(copy, ev, ev->hdr.size);
	if (h->dump && (pid_t)ev->hdr.ppid == h->self)
		harness_dump(copy);
	h->recs[h->n].ev = copy;
	h->recs[h->n].size = ev->hdr.size;
	h->n++;
	return 0;
}

/* Errors that mean "this machine cannot run BPF", not "the agent is broken". */
static bool bpf_unavailable(int err)
{
	return err == -EPERM || err == -ENOSYS || err == -ENOTSUP || err == -EOPNOTSUPP;
}

void harness_open(struct tg_harness *h, const struct tg_config *cfg, size_t ringbuf_bytes)
{
	struct tg_probe_opts opts = {0};
	int err;

	memset(h, 0, sizeof(*h));
	h->self = getpid();
	h->dump = getenv("TG_TEST_DUMP") != NULL;
	if (geteuid() != 0)
		cr_skip_test("integration tests load BPF programs and need root (euid %u)",
			     (unsigned)geteuid());
	if (access("/sys/kernel/btf/vmlinux", R_OK) != 0)
		cr_skip_test("kernel has no BTF (/sys/kernel/btf/vmlinux): BPF cannot load");
	if (cfg) {
		h->cfg = *cfg; /* shallow: the caller owns the pointers */
	} else {
		config_defaults(&h->cfg);
		free(h->cfg.output);
		h->cfg.output = NULL;
		h->cfg.n_prefixes = 0;
		h->cfg.n_ports = 0;
		h->cfg.classes = TG_CLASS_ALL;
		h->cfg.flows = true;
	}
	opts.ringbuf_bytes = ringbuf_bytes ? ringbuf_bytes : HARNESS_RINGBUF_DEFAULT;
	opts.self_tgid = (uint32_t)h->self;
	err = probe_open(&h->probe, &opts);
	if (err && bpf_unavailable(err))
		cr_skip_test("BPF object cannot be opened here: %s", strerror(-err));
	cr_assert_eq(err, 0, "probe_open: %s", strerror(-err));
	h->open = true;
	err = probe_load(h->probe);
	if (err && bpf_unavailable(err)) {
		harness_close(h);
		cr_skip_test("BPF programs cannot load here: %s", strerror(-err));
	}
	cr_assert_eq(err, 0, "probe_load: %s (verifier log above)", strerror(-err));
	err = probe_attach(h->probe);
	cr_assert_eq(err, 0, "probe_attach: %s", strerror(-err));
	cr_assert_gt(probe_attached(h->probe), 0, "no program attached");
	probe_set_callback(h->probe, harness_collect, h);
	harness_apply(h);
}

void harness_apply(struct tg_harness *h)
{
	int err = probe_apply(h->probe, &h->cfg);

	cr_assert_eq(err, 0, "probe_apply: %s", strerror(-err));
}

void harness_close(struct tg_harness *h)
{
	if (!h->open)
		return;
	probe_close(h->probe);
	h->probe = NULL;
	for (size_t i = 0; i < h->n; i++)
		free(h->recs[i].ev);
	free(h->recs);
	h->recs = NULL;
	h->n = h->cap = 0;
	h->open = false;
}

size_t harness_drain(struct tg_harness *h)
{
	size_t total = 0;

	for (int i = 0; i < HARNESS_DRAIN_ROUNDS; i++) {
		int n = probe_poll(h->probe, 0);

		cr_assert_geq(n, 0, "probe_poll: %s", strerror(-n));
		if (n == 0)
			break;
		total += (size_t)n;
	}
	return total;
}

const struct tg_event *harness_wait(struct tg_harness *h, harness_pred pred, void *arg,
				    int timeout_ms)
{
	int64_t deadline = now_ms() + timeout_ms;
	size_t scanned = 0;

	for (;;) {
		for (; scanned < h->n; scanned++)
			if (pred(h->recs[scanned].ev, arg))
				return h->recs[scanned].ev;
		int64_t left = deadline - now_ms();

		if (left <= 0)
			break;
		int n = probe_poll(h->probe, left < HARNESS_POLL_SLICE_MS ? (int)left
									  : HARNESS_POLL_SLICE_MS);
		cr_assert_geq(n, 0, "probe_poll: %s", strerror(-n));
	}
	return NULL;
}

size_t harness_count(struct tg_harness *h, harness_pred pred, void *arg)
{
	size_t n = 0;

	for (size_t i = 0; i < h->n; i++)
		n += pred(h->recs[i].ev, arg);
	return n;
}

const struct tg_event *harness_nth(struct tg_harness *h, harness_pred pred, void *arg, size_t i)
{
	for (size_t k = 0; k < h->n; k++)
		if (pred(h->recs[k].ev, arg) && i-- == 0)
			return h->recs[k].ev;
	return NULL;
}

bool match_ev(const struct tg_event *ev, void *arg)
{
	const struct ev_match *m = arg;

	if (ev->hdr.type != m->type || ev->hdr.tgid != (uint32_t)m->tgid)
		return false;
	if (m->syscall_nr >= 0 && ev->hdr.syscall_nr != m->syscall_nr)
		return false;
	if (m->str0) {
		const char *s = event_str(ev, 0);

		if (!s || strcmp(s, m->str0) != 0)
			return false;
	}
	if (m->path) {
		char p[TG_PATH_MAX];

		if (event_path(ev, 0, p, sizeof(p)) != 0 || strcmp(p, m->path) != 0)
			return false;
	}
	return true;
}

const struct tg_event *harness_wait_ev(struct tg_harness *h, unsigned type, pid_t tgid, int nr)
{
	struct ev_match m = { .type = type, .tgid = tgid, .syscall_nr = nr };

	return harness_wait(h, match_ev, &m, HARNESS_WAIT_MS);
}

const struct tg_event *harness_wait_path(struct tg_harness *h, unsigned type, pid_t tgid,
					 int nr, const char *path)
{
	struct ev_match m = { .type = type, .tgid = tgid, .syscall_nr = nr, .path = path };

	return harness_wait(h, match_ev, &m, HARNESS_WAIT_MS);
}

int harness_reap(pid_t pid, int timeout_ms)
{
	int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	int status = -1;

	if (pidfd >= 0) {
		struct pollfd pfd = { .fd = pidfd, .events = POLLIN };
		int r;

		do
			r = poll(&pfd, 1, timeout_ms);
		while (r < 0 && errno == EINTR);
		close(pidfd);
		if (r == 0) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			cr_assert_fail("child %d still running after %d ms: killed", pid, timeout_ms);
		}
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return status;
}

pid_t harness_child(void (*fn)(void *), void *arg, int *status)
{
	pid_t pid;
	int st;

	fflush(NULL);
	pid = fork();
	cr_assert_geq(pid, 0, "fork: %s", strerror(errno));
	if (pid == 0) {
		fn(arg);
		_exit(0);
	}
	st = harness_reap(pid, HARNESS_CHILD_MS);
	if (status)
		*status = st;
	return pid;
}

pid_t harness_child_ok(void (*fn)(void *), void *arg)
{
	int st;
	pid_t pid = harness_child(fn, arg, &st);

	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0,
		  "child %d failed its setup: status 0x%x (exit %d)", pid, st,
		  WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	return pid;
}

void *shared_alloc(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	cr_assert_neq(p, MAP_FAILED, "mmap: %s", strerror(errno));
	return p;
}

void shared_free(void *p, size_t size)
{
	if (p)
		munmap(p, size);
}

const char *self_comm(void)
{
	static char comm[TG_COMM_LEN + 1];

	if (!comm[0])
		prctl(PR_GET_NAME, comm, 0, 0, 0);
	return comm;
}

void expect_hdr(const struct tg_event *ev, unsigned type, pid_t pid, int nr)
{
	/* Field 1: ts_ns */
	cr_expect_gt(ev->hdr.ts_ns, 0);
	/* Field 2: cgroup_id */
	cr_expect_gt(ev->hdr.cgroup_id, 0);
	/* Field 3: start_ns */
	cr_expect_gt(ev->hdr.start_ns, 0);
	cr_expect_lt(ev->hdr.start_ns, ev->hdr.ts_ns, "process started after its event");
	/* Field 5: size */
	cr_expect_geq(ev->hdr.size, TG_EVENT_FIXED_SIZE);
	/* Field 6: type */
	cr_expect_eq(ev->hdr.type, type, "type %u, want %u", ev->hdr.type, type);
	/* Field 8-9: tgid, tid (single-threaded child) */
	cr_expect_eq(ev->hdr.tgid, (uint32_t)pid);
	cr_expect_eq(ev->hdr.tid, (uint32_t)pid);
	/* Field 12: syscall_nr */
	cr_expect_eq(ev->hdr.syscall_nr, nr, "syscall_nr %d, want %d", ev->hdr.syscall_nr, nr);
	/* Field 13: ppid is the test process */
	cr_expect_eq(ev->hdr.ppid, (uint32_t)getpid(), "ppid %u, want %d", ev->hdr.ppid, getpid());
	/* Field 14: comm, inherited from the test process (no exec) */
	cr_expect_str_eq(ev->hdr.comm, self_comm());
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (flag == FTW_DP)
		rmdir(path);
	else
		unlink(path);
	return 0;
}

char *tmpdir_make(void)
{
	char tmpl[] = "/tmp/tg-integ.XXXXXX";
	char *real;

	cr_assert_not_null(mkdtemp(tmpl), "mkdtemp: %s", strerror(errno));
	real = realpath(tmpl, NULL);
	cr_assert_not_null(real, "realpath: %s", strerror(errno));
	return real;
}

void tmpdir_remove(const char *dir)
{
	if (!dir || strncmp(dir, "/tmp/tg-integ.", 14) != 0)
		return;
	nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

int sh(const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	fflush(NULL);
	st = system(cmd);
	if (st == -1 || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}
