// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The syslog sink against a real rsyslogd (docs/delivery.md "Syslog"):
 * TCP (octet counting), UDP, a unix socket and RELP each carry the
 * harness's barrier alerts, which are parsed back from the collector's
 * file; CEF once. RELP: the collector SIGKILLed mid-stream and restarted,
 * and the agent restarted while the collector is down (spool_dir): every
 * alert arrives, in order, once. A collector that refuses or resets
 * connections: the agent stays up and the sink's errors are reported.
 *
 *   test worker
 *     |-- rsyslogd -n -f DIR/rsyslog.conf -i DIR/pid   inputs on 127.0.0.1
 *     |     ruleset queue Direct, omfile %rawmsg% -> DIR/out, so a message
 *     |     is in the file before imrelp acknowledges it
 *     |-- agent (rules_harness.h) syslog = SCHEME://127.0.0.1:PORT
 *     `-- rh_sync(): one barrier alert each, tagged rh-sync-WORKER-AGENT-SEQ
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <sys/prctl.h>

#include "rules_harness.h"

#define RS_BIN "/usr/sbin/rsyslogd"
/* Noise control off: bursts are near-identical alerts on purpose. */
#define QUIET "alert_rate_max = 0\nalert_dedup_s = 0\n"

static struct {
	pid_t pid;
	const char *sink_file;    /* omfile target instead of out (a FIFO) */
	char conf[PATH_MAX], out[PATH_MAX], sock[PATH_MAX], pidf[PATH_MAX];
} rs = { .pid = -1 };

static void rs_stop(int sig)
{
	if (rs.pid <= 0)
		return;
	kill(rs.pid, sig);
	if (rh_reap_within(rs.pid, RH_DEADLINE_MS) == -1) {
		kill(rs.pid, SIGKILL);
		rh_reap_within(rs.pid, RH_DEADLINE_MS);
	}
	rs.pid = -1;
	unlink(rs.pidf);
}

static void rs_fini(void)
{
	rs_stop(SIGTERM);
	rh_cleanup();
}

/* Whether 127.0.0.1:port (v6: [::1]:port) is bound in /proc/net/ (TCP:
 * listening). */
static bool rs_bound(bool udp, bool v6, int port)
{
	char want[48], line[512], path[32];
	FILE *f;
	bool found = false;

	snprintf(path, sizeof(path), "/proc/net/%s%s", udp ? "udp" : "tcp", v6 ? "6" : "");
	f = fopen(path, "r");
	if (!f)
		return false;
	snprintf(want, sizeof(want), "%s:%04X", v6 ? "00000000000000000000000001000000" : "0100007F",
		 port);
	while (!found && fgets(line, sizeof(line), f)) {
		char local[64], remote[64], st[8];

		if (sscanf(line, "%*s %63s %63s %7s", local, remote, st) == 3)
			found = !strcmp(local, want) && (udp || !strcmp(st, "0A"));
	}
	fclose(f);
	return found;
}

/* Start rsyslogd with one input: "tcp", "tcp6" (on ::1), "udp", "relp" or
 * "unix". Appends
 * to the same out file across restarts. */
static void rs_start(const char *kind, int port)
{
	char text[4 * PATH_MAX + 1024], input[PATH_MAX + 512];
	bool v6 = !strcmp(kind, "tcp6");
	int64_t deadline;

	snprintf(rs.conf, sizeof(rs.conf), "%s", rh_path("rsyslog.conf"));
	snprintf(rs.out, sizeof(rs.out), "%s", rh_path("out"));
	snprintf(rs.sock, sizeof(rs.sock), "%s", rh_path("log.sock"));
	snprintf(rs.pidf, sizeof(rs.pidf), "%s", rh_path("rsyslog.pid"));
	if (!strcmp(kind, "unix"))
		snprintf(input, sizeof(input),
			 "module(load=\"imuxsock\" SysSock.Use=\"off\")\n"
			 "input(type=\"imuxsock\" Socket=\"%s\" RateLimit.Interval=\"0\" "
			 "Ruleset=\"r\")\n", rs.sock);
	else if (!strcmp(kind, "udp")) /* a big buffer: other tests' alerts come too */
		snprintf(input, sizeof(input),
			 "module(load=\"imudp\")\n"
			 "input(type=\"imudp\" address=\"127.0.0.1\" port=\"%d\" "
			 "rcvbufSize=\"16m\" ruleset=\"r\")\n", port);
	else
		snprintf(input, sizeof(input),
			 "module(load=\"im%s\")\n"
			 "input(type=\"im%s\" address=\"%s\" port=\"%d\" ruleset=\"r\")\n",
			 v6 ? "tcp" : kind, v6 ? "tcp" : kind, v6 ? "::1" : "127.0.0.1", port);
	snprintf(text, sizeof(text),
		 "global(workDirectory=\"%s\" maxMessageSize=\"64k\")\n"
		 "template(name=\"raw\" type=\"string\" string=\"%%rawmsg%%\\n\")\n"
		 "ruleset(name=\"r\" queue.type=\"Direct\") {\n"
		 "  action(type=\"omfile\" file=\"%s\" template=\"raw\" flushOnTXEnd=\"on\"\n"
		 "         asyncWriting=\"off\")\n"
		 "}\n%s",
		 rh_tmpdir(), rs.sink_file ? rs.sink_file : rs.out, input);
	rh_file_write(rs.conf, text);
	fflush(NULL);
	rs.pid = fork();
	cr_assert_geq(rs.pid, 0);
	if (rs.pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		execl(RS_BIN, RS_BIN, "-n", "-f", rs.conf, "-i", rs.pidf, (char *)NULL);
		_exit(127);
	}
	deadline = rh_now_ms() + RH_DEADLINE_MS;
	for (;;) {
		struct stat sb;
		bool up = !strcmp(kind, "unix") ? !stat(rs.sock, &sb)
						: rs_bound(!strcmp(kind, "udp"), v6, port);

		if (up)
			return;
		cr_assert(rh_reap_within(rs.pid, 0) == -1, "rsyslogd exited at start (%s)", rs.conf);
		cr_assert(rh_now_ms() < deadline, "rsyslogd did not bind its %s input", kind);
		rh_nap();
	}
}

/* The collector's lines tagged by this worker; *n of them. */
static char **rs_lines(size_t *n)
{
	char *all = rh_file_read(rs.out), *save = NULL, **v = NULL, want[48];

	*n = 0;
	snprintf(want, sizeof(want), "rh-sync-%d-", (int)getpid());
	for (char *l = strtok_r(all, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		if (!strstr(l, want))
			continue;
		v = realloc(v, (*n + 1) * sizeof(*v));
		cr_assert_not_null(v);
		v[(*n)++] = strdup(l);
	}
	free(all);
	return v;
}

static void rs_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* The tag "rh-sync-W-A-S" of one collector line, "" when none. */
static void rs_tag(const char *line, char *out, size_t len)
{
	char want[48];
	const char *p;
	size_t n;

	snprintf(want, sizeof(want), "rh-sync-%d-", (int)getpid());
	p = strstr(line, want);
	n = p ? strspn(p + strlen(want), "0123456789-") + strlen(want) : 0;
	snprintf(out, len, "%.*s", (int)(n < len ? n : len - 1), p ? p : "");
}

/* Wait (bounded) until the collector holds at least want tagged lines. */
static char **rs_wait(size_t want, size_t *n, int ms)
{
	int64_t deadline = rh_now_ms() + ms;

	for (;;) {
		char **v = rs_lines(n);

		if (*n >= want || rh_now_ms() >= deadline)
			return v;
		rs_free(v, *n);
		rh_nap();
	}
}

static char tags[256][48];
static size_t ntags;

/* One barrier alert; remembers its tag, in the order raised. */
static void sync_tagged(struct rh_agent *a)
{
	rh_sync(a);
	cr_assert_lt(ntags, 256);
	snprintf(tags[ntags++], sizeof(tags[0]), "rh-sync-%d-%d-%u", (int)getpid(), (int)a->pid,
		 a->barrier_seq);
}

/* Every tag arrived once, in order; dup_ok: a tag that may come twice. */
static void expect_exactly_once(char **v, size_t n, const char *dup_ok)
{
	size_t next = 0, dups = 0;
	char tag[48];

	for (size_t i = 0; i < n; i++) {
		rs_tag(v[i], tag, sizeof(tag));
		if (next < ntags && !strcmp(tag, tags[next])) {
			next++;
			continue;
		}
		if (dup_ok && !strcmp(tag, dup_ok) && !dups++)
			continue;
		cr_expect_fail("collector line %zu: '%s' out of order or twice (expected '%s')", i, tag,
			       next < ntags ? tags[next] : "nothing more");
	}
	cr_expect_eq(next, ntags, "%zu of %zu alerts arrived in order; missing from '%s'", next,
		     ntags, next < ntags ? tags[next] : "");
}

/* One RFC 5424 line from the agent: header, SD, JSON body of the alert. */
static void expect_rfc5424_json(const char *line)
{
	const char *body = strstr(line, "] {");
	cJSON *j;

	cr_expect_eq(strncmp(line, "<135>1 ", 7), 0, "PRI local0.debug, version 1: %s", line);
	cr_expect_not_null(strstr(line, " twinguard "), "APP-NAME: %s", line);
	cr_expect_not_null(strstr(line, " alert [twinguard@32473 rule=\"" RH_BARRIER_RULE
				  "\" priority=\"debug\"]"), "MSGID and SD: %s", line);
	cr_assert_not_null(body, "no JSON body: %s", line);
	j = cJSON_Parse(body + 2);
	cr_assert_not_null(j, "body is not JSON: %s", body + 2);
	cr_expect_str_eq(rh_s(rh_jstr(j, "rule.name")), RH_BARRIER_RULE);
	cJSON_Delete(j);
}

static void run_basic(const char *kind, const char *url_fmt, int port)
{
	static struct rh_agent a;
	char conf[512], url[256];
	size_t n;
	char **v;

	rs_start(kind, port);
	snprintf(url, sizeof(url), url_fmt,
		 !strcmp(kind, "unix") ? rs.sock : !strcmp(kind, "tcp6") ? "[::1]" : "127.0.0.1", port);
	snprintf(conf, sizeof(conf), "syslog = %s\n" QUIET, url);
	rh_start_with(&a, NULL, conf);
	for (int i = 0; i < 5; i++)
		sync_tagged(&a);
	v = rs_wait(ntags, &n, RH_DEADLINE_MS);
	expect_exactly_once(v, n, NULL);
	if (n)
		expect_rfc5424_json(v[0]);
	rs_free(v, n);
	rh_stop(&a);
}

TestSuite(syslog, .fini = rs_fini, .timeout = 180);

Test(syslog, tcp_octet_counting)
{
	run_basic("tcp", "tcp://%s:%d", rh_lo_port(0));
}

Test(syslog, tcp_ipv6)
{
	run_basic("tcp6", "tcp://%s:%d", rh_lo_port(1));
}

Test(syslog, udp)
{
	run_basic("udp", "udp://%s:%d", rh_lo_port(1));
}

Test(syslog, unix_socket)
{
	run_basic("unix", "unix://%s", 0);
}

Test(syslog, relp)
{
	run_basic("relp", "relp://%s:%d", rh_lo_port(2));
}

Test(syslog, cef_over_tcp)
{
	static struct rh_agent a;
	char conf[512];
	const char *cef;
	size_t n;
	char **v;

	rs_start("tcp", rh_lo_port(3));
	snprintf(conf, sizeof(conf), "syslog = tcp://127.0.0.1:%d\nsyslog_format = cef\n"
		 "syslog_facility = auth\n" QUIET, rh_lo_port(3));
	rh_start_with(&a, NULL, conf);
	sync_tagged(&a);
	v = rs_wait(1, &n, RH_DEADLINE_MS);
	cr_assert_eq(n, 1, "CEF alert not at the collector");
	cr_expect_eq(strncmp(v[0], "<39>1 ", 6), 0, "auth.debug: %s", v[0]);
	cef = strstr(v[0], "] CEF:0|twinguard|twinguard|");
	cr_assert_not_null(cef, "no CEF body: %s", v[0]);
	cr_expect_not_null(strstr(cef, "|" RH_BARRIER_RULE "|" RH_BARRIER_RULE "|1|rt="), "%s", cef);
	cr_expect_not_null(strstr(cef, " cs1Label=rule cs1=" RH_BARRIER_RULE), "%s", cef);
	cr_expect_not_null(strstr(cef, " sproc=" RH_BARRIER_NAME " spid="), "%s", cef);
	cr_expect_null(strchr(cef, '{'), "JSON in a CEF body: %s", cef);
	rs_free(v, n);
	rh_stop(&a);
}

/*
 * SIGKILL the collector after alert 80 of 200, restart it after alert 120.
 * The alert in flight at the kill may come twice: RELP here is at least
 * once (sink_relp.c); every other alert exactly once, all in order.
 */
Test(syslog, relp_collector_killed_midstream)
{
	static struct rh_agent a;
	char conf[512], in_flight[48];
	int port = rh_lo_port(4);
	size_t n;
	char **v;

	rs_start("relp", port);
	snprintf(conf, sizeof(conf), "syslog = relp://127.0.0.1:%d\n" QUIET, port);
	rh_start_with(&a, NULL, conf);
	for (int i = 0; i < 200; i++) {
		sync_tagged(&a);
		if (i == 80) {
			snprintf(in_flight, sizeof(in_flight), "%s", tags[ntags - 1]);
			rs_stop(SIGKILL);
		}
		if (i == 120)
			rs_start("relp", port);
	}
	v = rs_wait(ntags, &n, 60000);
	expect_exactly_once(v, n, in_flight);
	rs_free(v, n);
	cr_expect_not_null(strstr(rh_file_read(a.errf), "twinguard: warning: sink syslog:"),
			   "the broken session was not reported");
	rh_stop(&a);
}

/*
 * Frames written but never acknowledged: the collector's output is a FIFO
 * nobody reads, so omfile blocks in the imrelp callback and no rsp comes.
 * Once the agent gave up on that session (a warning), the collector is
 * killed and restarted writing to its file: every alert must arrive, the
 * unacknowledged ones too, once each. A sink that counted a written frame
 * as delivered would lose them here.
 */
Test(syslog, relp_unacknowledged_frames_resent)
{
	static struct rh_agent a;
	char conf[512];
	int port = rh_lo_port(6);
	int64_t deadline;
	size_t n;
	char **v;

	cr_assert_eq(mkfifo(rh_path("fifo"), 0600), 0);
	rs.sink_file = rh_path("fifo");
	rs_start("relp", port);
	snprintf(conf, sizeof(conf), "syslog = relp://127.0.0.1:%d\n" QUIET, port);
	rh_start_with(&a, NULL, conf);
	for (int i = 0; i < 3; i++)
		sync_tagged(&a);
	deadline = rh_now_ms() + 30000;
	while (!strstr(rh_file_read(a.errf), "known acknowledged") && rh_now_ms() < deadline)
		rh_nap();
	cr_assert_not_null(strstr(rh_file_read(a.errf), "known acknowledged"),
			   "the unacknowledged batch was not reported; stderr:\n%s", rh_file_read(a.errf));
	rs_stop(SIGKILL);
	rs.sink_file = NULL;
	rs_start("relp", port);
	for (int i = 0; i < 2; i++)
		sync_tagged(&a);
	v = rs_wait(ntags, &n, 60000);
	expect_exactly_once(v, n, NULL);
	rs_free(v, n);
	rh_stop(&a);
}

/* Collector down, agent restarted with a spool: nothing lost, none twice. */
Test(syslog, relp_agent_restart_with_spool)
{
	static struct rh_agent a;
	char conf[1024];
	int port = rh_lo_port(5);
	size_t n;
	char **v;

	rs_start("relp", port);
	snprintf(conf, sizeof(conf), "syslog = relp://127.0.0.1:%d\nspool_dir = %s\n" QUIET, port,
		 rh_path("spool"));
	mkdir(rh_path("spool"), 0700);
	rh_start_with(&a, NULL, conf);
	for (int i = 0; i < 5; i++)
		sync_tagged(&a);
	v = rs_wait(5, &n, RH_DEADLINE_MS);
	cr_assert_eq(n, 5, "first 5 alerts not at the collector");
	rs_free(v, n);
	rs_stop(SIGKILL);
	for (int i = 0; i < 10; i++)
		sync_tagged(&a);
	rh_stop(&a);
	rh_start_with(&a, NULL, conf);
	for (int i = 0; i < 5; i++)
		sync_tagged(&a);
	rs_start("relp", port);
	for (int i = 0; i < 5; i++)
		sync_tagged(&a);
	v = rs_wait(ntags, &n, 60000);
	expect_exactly_once(v, n, NULL);
	rs_free(v, n);
	rh_stop(&a);
}

/*
 * A burst of 2000 alerts raised back to back: batches of hundreds of
 * records per send (per RELP session), all in order, each once.
 */
static void run_burst(const char *kind, int port)
{
	static struct rh_agent a;
	char conf[512], want[48], tag[48], *cmd = NULL;
	int64_t deadline;
	size_t n = 0, next = 0;

	rs_start(kind, port);
	snprintf(conf, sizeof(conf), "syslog = %s://127.0.0.1:%d\n" QUIET, kind, port);
	rh_start_with(&a, NULL, conf);
	cr_assert_gt(asprintf(&cmd, "i=0; while [ $i -lt 2000 ]; do %s burst-%d-$i; i=$((i+1)); done",
			      a.barrier, (int)getpid()), 0);
	rh_run(cmd);
	free(cmd);
	rh_assert_ok("the burst");
	snprintf(want, sizeof(want), "burst-%d-", (int)getpid());
	deadline = rh_now_ms() + 90000;
	do {
		char *all = rh_file_read(rs.out), *save = NULL;

		next = 0;
		n = 0;
		for (char *l = strtok_r(all, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
			const char *p = strstr(l, want);

			if (!p)
				continue;
			snprintf(tag, sizeof(tag), "%ld", strtol(p + strlen(want), NULL, 10));
			cr_assert_eq(strtol(tag, NULL, 10), (long)next, "%s alert %zu is burst %s, "
				     "expected %zu (out of order or twice)", kind, n, tag, next);
			next++;
			n++;
		}
		free(all);
		if (next < 2000)
			rh_nap();
	} while (next < 2000 && rh_now_ms() < deadline);
	cr_expect_eq(next, 2000, "%s: %zu of 2000 burst alerts arrived", kind, next);
	rh_stop(&a);
}

Test(syslog, tcp_burst)
{
	run_burst("tcp", rh_lo_port(0));
}

Test(syslog, relp_burst)
{
	run_burst("relp", rh_lo_port(2));
}

/* Accept and reset (RST) every connection, until killed. */
static pid_t resetter_start(int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	pid_t pid;

	cr_assert_geq(fd, 0);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0, "bind %d: %s", port,
		     strerror(errno));
	cr_assert_eq(listen(fd, 16), 0);
	fflush(NULL);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		for (int i = 0; i < 100000; i++) {
			struct linger lg = { .l_onoff = 1, .l_linger = 0 };
			int c = accept(fd, NULL, NULL);

			if (c < 0)
				continue;
			setsockopt(c, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
			close(c);
		}
		_exit(0);
	}
	close(fd);
	return pid;
}

static void expect_survives(const char *conf_fmt, int port, const char *what)
{
	static struct rh_agent a;
	char conf[512];

	snprintf(conf, sizeof(conf), conf_fmt, port);
	rh_start_with(&a, NULL, conf);
	for (int i = 0; i < 5; i++)
		rh_sync(&a); /* alerts still reach the stream: the agent is up */
	{
		int64_t deadline = rh_now_ms() + RH_DEADLINE_MS;

		while (!strstr(rh_file_read(a.errf), "twinguard: warning: sink syslog:") &&
		       rh_now_ms() < deadline)
			rh_nap();
	}
	cr_expect_not_null(strstr(rh_file_read(a.errf), "twinguard: warning: sink syslog:"),
			   "%s: no sink error reported; stderr:\n%s", what, rh_file_read(a.errf));
	cr_expect(!rh_agent_exited(&a), "%s: the agent exited", what);
	rh_stop(&a);
}

Test(syslog, collector_refuses_or_resets)
{
	pid_t r;

	/* nothing listens: refused */
	expect_survives("syslog = tcp://127.0.0.1:%d\n", rh_lo_port(0), "tcp refused");
	expect_survives("syslog = relp://127.0.0.1:%d\n", rh_lo_port(0), "relp refused");
	r = resetter_start(rh_lo_port(7));
	expect_survives("syslog = tcp://127.0.0.1:%d\n", rh_lo_port(7), "tcp reset");
	expect_survives("syslog = relp://127.0.0.1:%d\n", rh_lo_port(7), "relp reset");
	kill(r, SIGKILL);
	waitpid(r, NULL, 0);
}

Test(syslog, bad_url_fails_start)
{
	char conf[256], *out = NULL;
	int rc;

	snprintf(conf, sizeof(conf), "%s", rh_path("bad.conf"));
	rh_file_write(conf, "syslog = tcp://[::1:514\n");
	rc = rh_sh_q(&out, "timeout 20 .output/twinguard run --config %s --rules-dir rules", conf);
	cr_expect_neq(rc, 0, "agent started with a bad syslog URL");
	cr_expect_not_null(strstr(rh_s(out), "syslog"), "message does not name the key: %s", rh_s(out));
	free(out);
}
