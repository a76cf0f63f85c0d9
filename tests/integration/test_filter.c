// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * In-kernel filters: open prefixes with access bits, the port filter, the
 * class mask, thread reporting, and the agent's own process. A filtered
 * record is never delivered and always counted in tg_stats.filtered.
 *
 *   dir/w/     watched for read and write
 *   dir/ro/    watched for write only
 *   dir/out/   not watched
 */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/io_uring.h>
#include <limits.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "helpers.h"

static struct tg_harness h;
static struct tg_config cfg;
static char *dir;
static char pw[PATH_MAX], pro[PATH_MAX];
static struct tg_prefix prefixes[2];
static uint16_t ports[1];

struct res {
	long r[16];
};
static struct res *res;

static char *P(const char *rel)
{
	static char buf[8][PATH_MAX];
	static int i;
	char *p = buf[i++ & 7];

	cr_assert_lt(snprintf(p, PATH_MAX, "%s/%s", dir, rel), PATH_MAX);
	return p;
}

static void touch(const char *rel, mode_t mode)
{
	int fd = open(P(rel), O_WRONLY | O_CREAT | O_TRUNC, mode);

	cr_assert_geq(fd, 0, "create %s: %s", rel, strerror(errno));
	fchmod(fd, mode);
	close(fd);
}

static void setup(void)
{
	dir = tmpdir_make();
	cr_assert_eq(chmod(dir, 0755), 0);
	cr_assert_eq(mkdir(P("w"), 0755), 0);
	cr_assert_eq(mkdir(P("ro"), 0755), 0);
	cr_assert_eq(mkdir(P("out"), 0755), 0);
	touch("w/a", 0644);
	touch("w/secret", 0600);
	touch("ro/b", 0644);
	touch("out/c", 0644);
	touch("out/secret", 0600);
	res = shared_alloc(sizeof(*res));
	memset(res, 0, sizeof(*res));
	/* every class, no filter: each test narrows what it needs */
	config_defaults(&cfg);
	free(cfg.output);
	cfg.output = NULL;
	cfg.n_prefixes = 0;
	cfg.n_ports = 0;
}

static void teardown(void)
{
	harness_close(&h);
	tmpdir_remove(dir);
	free(dir);
	dir = NULL;
	shared_free(res, sizeof(*res));
	res = NULL;
}

TestSuite(filter, .init = setup, .fini = teardown, .timeout = 60);

static void watch_prefixes(void)
{
	snprintf(pw, sizeof(pw), "%s/w/", dir);
	snprintf(pro, sizeof(pro), "%s/ro/", dir);
	prefixes[0] = (struct tg_prefix){ pw, TG_ACC_READ | TG_ACC_WRITE };
	prefixes[1] = (struct tg_prefix){ pro, TG_ACC_WRITE };
	cfg.prefixes = prefixes;
	cfg.n_prefixes = 2;
}

static bool has_open(pid_t pid, const char *path)
{
	struct ev_match m = { .type = TG_EV_OPEN, .tgid = pid, .syscall_nr = -1, .str0 = path };

	return harness_count(&h, match_ev, &m) > 0;
}

static uint64_t filtered_now(void)
{
	struct tg_stats st;

	cr_assert_eq(probe_stats(h.probe, &st), 0);
	return st.filtered;
}

/* ---- open prefixes and access bits ---- */

static int op(const char *p, int flags)
{
	int fd = (int)syscall(SYS_openat, AT_FDCWD, p, flags, 0644);

	if (fd >= 0)
		close(fd);
	return fd;
}

static void child_prefix_opens(void *arg)
{
	(void)arg;
	res->r[0] = op(P("w/a"), O_RDONLY);          /* watched, read */
	res->r[1] = op(P("out/c"), O_RDWR);          /* not watched */
	res->r[2] = op(P("ro/b"), O_RDONLY);         /* write-only watch: a read */
	res->r[3] = op(P("ro/b"), O_WRONLY);
	res->r[4] = op(P("ro/new"), O_RDONLY | O_CREAT);
	res->r[5] = op(P("ro/b"), O_RDONLY | O_TRUNC);
	res->r[6] = op(P("ro/b"), O_RDWR | O_APPEND);
	res->r[7] = op(P("w"), O_RDONLY | O_DIRECTORY); /* "dir/w" lacks the '/' */
	res->r[8] = syscall(SYS_unlink, P("out/c"));  /* name-based: not prefix-filtered */
	res->r[9] = op(P("w/last"), O_RDONLY);       /* marks the end */
}

static bool match_open_path(const struct tg_event *ev, void *arg)
{
	const char *s = event_str(ev, 0);

	return ev->hdr.type == TG_EV_OPEN && ev->hdr.tgid == ((uint32_t *)arg)[0] && s &&
	       strcmp(s, P("w/last")) == 0;
}

Test(filter, open_prefix_and_access)
{
	struct ev_match m;
	uint64_t f0;
	pid_t pid;
	uint32_t key;

	watch_prefixes();
	harness_open(&h, &cfg, 0);
	touch("w/last", 0644);
	f0 = filtered_now();
	pid = harness_child_ok(child_prefix_opens, NULL);
	for (int i = 0; i < 10; i++)
		cr_assert_geq(res->r[i], 0, "call %d failed", i);
	key = (uint32_t)pid;
	cr_assert_not_null(harness_wait(&h, match_open_path, &key, HARNESS_WAIT_MS),
			   "the last watched open never arrived");
	harness_drain(&h);

	cr_expect(has_open(pid, P("w/a")), "read of a read-watched file not delivered");
	cr_expect_not(has_open(pid, P("out/c")), "open outside every prefix delivered");
	cr_expect_not(has_open(pid, P("w")), "the directory itself is outside \"w/\"");
	/* ro/ is watched for writes: one plain read is not delivered, the
	 * O_WRONLY, O_RDWR and O_TRUNC opens are */
	m = (struct ev_match){ .type = TG_EV_OPEN, .tgid = pid, .syscall_nr = -1,
			       .str0 = P("ro/b") };
	cr_expect_eq(harness_count(&h, match_ev, &m), 3, "%zu opens of ro/b delivered",
		     harness_count(&h, match_ev, &m));
	for (size_t i = 0; i < harness_count(&h, match_ev, &m); i++)
		cr_expect_neq(harness_nth(&h, match_ev, &m, i)->u.file.flags, O_RDONLY,
			      "a read-only open of a write-watched file was delivered");
	cr_expect(has_open(pid, P("ro/new")), "O_CREAT counts as a write");
	/* the filtered ones were counted */
	cr_expect_geq(filtered_now() - f0, 3, "filtered grew by %llu",
		      (unsigned long long)(filtered_now() - f0));
	/* only opens are prefix-filtered in the kernel */
	m = (struct ev_match){ .type = TG_EV_UNLINK, .tgid = pid, .syscall_nr = SYS_unlink };
	cr_expect_eq(harness_count(&h, match_ev, &m), 1, "unlink outside the prefixes missing");
}

static void child_denied(void *arg)
{
	(void)arg;
	if (setresgid(65534, 65534, 65534) || setresuid(65534, 65534, 65534))
		_exit(10);
	res->r[0] = op(P("out/secret"), O_RDONLY);
	res->r[1] = op(P("w/secret"), O_RDONLY);
}

Test(filter, denied_opens_prefix_filtered)
{
	struct ev_match m;
	pid_t pid;

	watch_prefixes();
	harness_open(&h, &cfg, 0);
	pid = harness_child_ok(child_denied, NULL);
	cr_assert_eq(res->r[0], -1);
	cr_assert_eq(res->r[1], -1);
	m = (struct ev_match){ .type = TG_EV_OPEN, .tgid = pid, .syscall_nr = SYS_openat,
			       .str0 = P("w/secret") };
	cr_assert_not_null(harness_wait(&h, match_ev, &m, HARNESS_WAIT_MS),
			   "denied open in a watched directory not delivered");
	cr_expect_eq(harness_wait(&h, match_ev, &m, 0)->hdr.ret, -EACCES);
	harness_drain(&h);
	cr_expect_not(has_open(pid, P("out/secret")), "denied open outside the prefixes delivered");
}

/* A watched directory is still watched when the path is too deep to walk
 * whole: the record may be truncated, but it must not vanish. */
#define DEEP 70

static char deep[PATH_MAX];

static void child_deep(void *arg)
{
	(void)arg;
	res->r[0] = op(deep, O_WRONLY);
}

Test(filter, deep_path_in_watched_dir_not_dropped)
{
	struct ev_match m;
	struct tg_stats st;
	size_t len;
	uint64_t t0;
	pid_t pid;

	watch_prefixes();
	harness_open(&h, &cfg, 0);
	len = (size_t)snprintf(deep, sizeof(deep), "%s/w", dir);
	for (int i = 0; i < DEEP; i++) {
		len += (size_t)snprintf(deep + len, sizeof(deep) - len, "/d");
		cr_assert_eq(mkdir(deep, 0755), 0);
	}
	snprintf(deep + len, sizeof(deep) - len, "/leaf");
	touch(deep + strlen(dir) + 1, 0644);
	cr_assert_eq(probe_stats(h.probe, &st), 0);
	t0 = st.path_trunc;
	pid = harness_child_ok(child_deep, NULL);
	cr_assert_geq(res->r[0], 0);
	m = (struct ev_match){ .type = TG_EV_OPEN, .tgid = pid, .syscall_nr = SYS_openat };
	cr_expect_not_null(harness_wait(&h, match_ev, &m, HARNESS_WAIT_MS),
			   "a write %d levels below watched %s was dropped as unwatched", DEEP, pw);
	/* reported because the cut path could not be checked: counted as cut */
	cr_assert_eq(probe_stats(h.probe, &st), 0);
	cr_expect_gt(st.path_trunc, t0);
}

/*
 * The open filter caches a verdict per directory (bpf/dircache.bpf.h). A
 * directory whose ancestor moves into a watched tree keeps its dentry,
 * parent and name, so only the generation bump on rename protects it. A
 * rename made through io_uring is no syscall: it must not leave a stale
 * "not watched" verdict behind.
 */
static long uring_renameat(const char *from, const char *to)
{
	struct io_uring_params p = { 0 };
	struct io_uring_sqe *sqes, *e;
	struct io_uring_cqe *cqes;
	size_t sq_sz, cq_sz, sqe_sz;
	unsigned *tail, *mask, *array, idx;
	char *sq, *cq;
	long ret;
	int fd = (int)syscall(SYS_io_uring_setup, 4, &p);

	if (fd < 0)
		return -errno;
	sq_sz = p.sq_off.array + p.sq_entries * sizeof(unsigned);
	cq_sz = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
	if (p.features & IORING_FEAT_SINGLE_MMAP)
		sq_sz = cq_sz = sq_sz > cq_sz ? sq_sz : cq_sz;
	sqe_sz = p.sq_entries * sizeof(struct io_uring_sqe);
	sq = mmap(NULL, sq_sz, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd,
		  IORING_OFF_SQ_RING);
	cq = (p.features & IORING_FEAT_SINGLE_MMAP) ? sq :
		mmap(NULL, cq_sz, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd,
		     IORING_OFF_CQ_RING);
	sqes = mmap(NULL, sqe_sz, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd,
		    IORING_OFF_SQES);
	if (sq == MAP_FAILED || cq == MAP_FAILED || sqes == MAP_FAILED) {
		close(fd);
		return -ENOMEM;
	}
	tail = (unsigned *)(sq + p.sq_off.tail);
	mask = (unsigned *)(sq + p.sq_off.ring_mask);
	array = (unsigned *)(sq + p.sq_off.array);
	idx = *tail & *mask;
	e = &sqes[idx];
	memset(e, 0, sizeof(*e));
	e->opcode = IORING_OP_RENAMEAT;
	e->fd = AT_FDCWD;
	e->addr = (uint64_t)(uintptr_t)from;
	e->len = (uint32_t)AT_FDCWD;
	e->addr2 = (uint64_t)(uintptr_t)to;
	array[idx] = idx;
	__atomic_store_n(tail, *tail + 1, __ATOMIC_RELEASE);
	if (syscall(SYS_io_uring_enter, fd, 1, 1, IORING_ENTER_GETEVENTS, NULL, 0) != 1) {
		ret = -errno;
	} else {
		cqes = (struct io_uring_cqe *)(cq + p.cq_off.cqes);
		ret = cqes[*(unsigned *)(cq + p.cq_off.head) &
			   *(unsigned *)(cq + p.cq_off.ring_mask)].res;
	}
	close(fd);
	return ret;
}

static void child_move_dir(void *arg)
{
	bool uring = *(bool *)arg;

	res->r[0] = op(P("out/sub/x"), O_RDONLY); /* not watched: cached as such */
	res->r[1] = uring ? uring_renameat(P("out"), P("w/out"))
			  : syscall(SYS_rename, P("out"), P("w/out"));
	res->r[2] = op(P("w/out/sub/x"), O_RDONLY); /* now watched */
}

static void move_dir_into_watched_tree(bool uring)
{
	pid_t pid;

	watch_prefixes();
	harness_open(&h, &cfg, 0);
	cr_assert_eq(mkdir(P("out/sub"), 0755), 0);
	touch("out/sub/x", 0644);
	pid = harness_child_ok(child_move_dir, &uring);
	cr_assert_geq(res->r[0], 0);
	if (uring && (res->r[1] == -ENOSYS || res->r[1] == -EPERM || res->r[1] == -EINVAL))
		cr_skip_test("io_uring rename unavailable here: %s", strerror((int)-res->r[1]));
	cr_assert_eq(res->r[1], 0, "rename: %s", strerror((int)-res->r[1]));
	cr_assert_geq(res->r[2], 0);
	cr_expect_not_null(harness_wait_path(&h, TG_EV_OPEN, pid, SYS_openat, P("w/out/sub/x")),
			   "open of %s, watched since its ancestor moved%s, not delivered",
			   P("w/out/sub/x"), uring ? " through io_uring" : "");
	harness_drain(&h);
	cr_expect_not(has_open(pid, P("out/sub/x")), "the open before the move was delivered");
}

Test(filter, dir_moved_into_watched_tree)
{
	move_dir_into_watched_tree(false);
}

Test(filter, dir_moved_into_watched_tree_by_io_uring)
{
	move_dir_into_watched_tree(true);
}

/* Prefixes replaced at runtime: verdicts cached under the old set must go. */
static void child_open_both(void *arg)
{
	(void)arg;
	res->r[0] = op(P("out/c"), O_RDONLY);
	res->r[1] = op(P("w/a"), O_RDONLY);
}

Test(filter, prefixes_changed_at_runtime)
{
	static char pout[PATH_MAX];
	struct tg_prefix now[1];
	pid_t pid;

	watch_prefixes();
	harness_open(&h, &cfg, 0);
	pid = harness_child_ok(child_open_both, NULL);
	cr_assert_not_null(harness_wait_path(&h, TG_EV_OPEN, pid, SYS_openat, P("w/a")));
	harness_drain(&h);
	cr_expect_not(has_open(pid, P("out/c")));

	/* now only out/ is watched */
	snprintf(pout, sizeof(pout), "%s/out/", dir);
	now[0] = (struct tg_prefix){ pout, TG_ACC_READ };
	h.cfg.prefixes = now;
	h.cfg.n_prefixes = 1;
	harness_apply(&h);
	pid = harness_child_ok(child_open_both, NULL);
	cr_expect_not_null(harness_wait_path(&h, TG_EV_OPEN, pid, SYS_openat, P("out/c")),
			   "open in a newly watched directory not delivered");
	harness_drain(&h);
	cr_expect_not(has_open(pid, P("w/a")), "open in a no longer watched directory delivered");
}

/* ---- ports ---- */

static struct sockaddr_in lo(uint16_t port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };

	return a;
}

static int listener(uint16_t *port)
{
	struct sockaddr_in a = lo(0);
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	cr_assert_geq(fd, 0);
	cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	cr_assert_eq(listen(fd, 4), 0);
	cr_assert_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	*port = ntohs(a.sin_port);
	return fd;
}

static uint16_t port_in, port_out;

static void child_connects(void *arg)
{
	struct sockaddr_in a = lo(port_out), b = lo(port_in);
	int s1 = socket(AF_INET, SOCK_STREAM, 0), s2 = socket(AF_INET, SOCK_STREAM, 0);

	(void)arg;
	res->r[0] = connect(s1, (struct sockaddr *)&a, sizeof(a));
	res->r[1] = connect(s2, (struct sockaddr *)&b, sizeof(b));
}

Test(filter, connect_ports)
{
	int l1 = listener(&port_in), l2 = listener(&port_out);
	struct ev_match m;
	const struct tg_event *ev;
	uint64_t f0;
	pid_t pid;

	ports[0] = port_in;
	cfg.ports = ports;
	cfg.n_ports = 1;
	harness_open(&h, &cfg, 0);
	f0 = filtered_now();
	pid = harness_child_ok(child_connects, NULL);
	cr_assert_eq(res->r[0], 0);
	cr_assert_eq(res->r[1], 0);
	m = (struct ev_match){ .type = TG_EV_CONNECT, .tgid = pid, .syscall_nr = SYS_connect };
	ev = harness_wait(&h, match_ev, &m, HARNESS_WAIT_MS);
	cr_assert_not_null(ev, "connect to the watched port not delivered");
	cr_expect_eq(ev->u.net.dport, port_in);
	harness_drain(&h);
	cr_expect_eq(harness_count(&h, match_ev, &m), 1, "connect to an unwatched port delivered");
	cr_expect_gt(filtered_now(), f0);
	close(l1);
	close(l2);
}

/* ---- classes ---- */

static void child_open_connect(void *arg)
{
	struct sockaddr_in a = lo(port_in);
	int s = socket(AF_INET, SOCK_STREAM, 0);

	(void)arg;
	res->r[0] = op(P("w/a"), O_RDONLY);
	res->r[1] = connect(s, (struct sockaddr *)&a, sizeof(a));
}

static size_t count_type(pid_t pid, unsigned type)
{
	struct ev_match m = { .type = type, .tgid = pid, .syscall_nr = -1 };

	return harness_count(&h, match_ev, &m);
}

Test(filter, classes)
{
	int l = listener(&port_in);
	pid_t pid;

	/* file class off: the connect and the exit come, the open does not */
	cfg.classes = TG_CLASS_ALL & ~TG_CLASS_FILE;
	harness_open(&h, &cfg, 0);
	pid = harness_child_ok(child_open_connect, NULL);
	cr_assert_geq(res->r[0], 0);
	cr_assert_eq(res->r[1], 0);
	cr_assert_not_null(harness_wait_ev(&h, TG_EV_EXIT, pid, -1), "no exit record");
	harness_drain(&h);
	cr_expect_eq(count_type(pid, TG_EV_OPEN), 0, "open delivered with the file class off");
	cr_expect_eq(count_type(pid, TG_EV_CONNECT), 1);

	/* switched at runtime: only the file class */
	h.cfg.classes = TG_CLASS_FILE;
	harness_apply(&h);
	pid = harness_child_ok(child_open_connect, NULL);
	cr_assert_not_null(harness_wait_ev(&h, TG_EV_OPEN, pid, -1),
			   "open not delivered once the file class is on");
	harness_drain(&h);
	cr_expect_eq(count_type(pid, TG_EV_CONNECT), 0, "connect delivered, network class off");
	cr_expect_eq(count_type(pid, TG_EV_EXIT), 0, "exit delivered, process class off");
	cr_expect_eq(count_type(pid, TG_EV_FORK), 0);
	close(l);
}

/* ---- threads ---- */

static void *noop(void *arg)
{
	return arg;
}

static void child_thread(void *arg)
{
	pthread_t t;

	(void)arg;
	if (pthread_create(&t, NULL, noop, NULL) || pthread_join(t, NULL))
		_exit(10);
}

Test(filter, threads_off)
{
	pid_t pid;

	cfg.threads = false;
	harness_open(&h, &cfg, 0);
	pid = harness_child_ok(child_thread, NULL);
	cr_assert_not_null(harness_wait_ev(&h, TG_EV_EXIT, pid, -1), "no process exit record");
	harness_drain(&h);
	cr_expect_eq(count_type(pid, TG_EV_FORK), 0, "thread creation reported with threads off");
	cr_expect_eq(count_type(pid, TG_EV_EXIT), 1, "thread exit reported with threads off");
	cr_expect_not(harness_wait_ev(&h, TG_EV_EXIT, pid, -1)->hdr.flags & TG_F_THREAD);
}

/* ---- the agent's own process ---- */

static bool match_self(const struct tg_event *ev, void *arg)
{
	return ev->hdr.tgid == *(uint32_t *)arg;
}

static void flow_self(void *ctx, const struct tg_flow_key *k, const struct tg_flow_val *v)
{
	(void)v;
	if (k->tgid == *(uint32_t *)ctx)
		*(uint32_t *)ctx = 0;
}

Test(filter, own_process_never_reported)
{
	uint16_t port;
	int l, s, fd;
	struct sockaddr_in a;
	uint32_t self = (uint32_t)getpid();
	pid_t pid;

	harness_open(&h, NULL, 0);
	/* the test process does what every other test has a child do */
	fd = open(P("w/a"), O_RDWR);
	cr_assert_geq(fd, 0);
	cr_assert_eq(fchmod(fd, 0644), 0);
	close(fd);
	cr_assert_eq(mkdir(P("selfdir"), 0700), 0);
	cr_assert_eq(rmdir(P("selfdir")), 0);
	l = listener(&port);
	a = lo(port);
	s = socket(AF_INET, SOCK_STREAM, 0);
	cr_assert_eq(connect(s, (struct sockaddr *)&a, sizeof(a)), 0);
	cr_assert_eq(write(s, "x", 1), 1);
	close(s);
	close(l);
	/* a child afterwards: once its records are in, ours would be too */
	port_in = port;
	pid = harness_child(child_open_connect, NULL, NULL);
	cr_assert_not_null(harness_wait_ev(&h, TG_EV_EXIT, pid, -1));
	harness_drain(&h);
	cr_expect_eq(harness_count(&h, match_self, &self), 0, "%zu records of the agent itself",
		     harness_count(&h, match_self, &self));
	/* nor its bytes */
	cr_assert_geq(probe_flows_flush(h.probe, flow_self, &self, true), 0);
	cr_expect_neq(self, 0, "the agent's own send was counted as a flow");
}
