#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# bench.sh: what twinguard costs the host, next to auditd. `make bench` runs
# it after building; as root, from anywhere. How to read it: docs/bench.md.
#
# Three workloads (open+close loop, exec storm, build-like) run under three
# configurations (bare, twinguard with the shipped config, auditd with rules
# on the same syscalls), BENCH_RUNS times each, the configurations taking
# turns in a rotating order so that drift on the host spreads over all of
# them. The tables give medians and ratios to bare, then twinguard's own
# figures: event rate, drops, peak RSS (also with 10k live processes) and
# start-up time.
#
# Targets are reported as PASS/MISS and never fail the script: timing on a
# shared host is noise-prone (the kernel selftests' rule). It exits non-zero
# only when something broke: the agent would not start or stop cleanly, a
# workload failed without a tracer, or the environment is unusable.
#
# Environment (defaults in brackets):
#   BENCH_RUNS [5]         runs per workload and configuration; the median is kept
#   BENCH_CONFIGS ["bare twinguard auditd"]  which configurations to measure
#   BENCH_OPEN_N [700000]  open+close iterations
#   BENCH_EXEC_N [3000]    fork+exec+wait iterations
#   BENCH_BUILD_FILES [60] C files in the build-like workload
#   BENCH_PROCS [10000]    idle processes alive before the agent starts,
#   BENCH_PROCS_AFTER [1000]  and more forked once it is attached
#   BENCH_TIMEOUT [300]    seconds one workload run may take
#   BENCH_AGENT [.output/twinguard], BENCH_AGENT_CONFIG [packaging/twinguard.conf]
set -euo pipefail
export LC_ALL=C # "1.5", not "1,5", from EPOCHREALTIME and printf

cd "$(dirname "$0")/../.."

RUNS=${BENCH_RUNS:-5}
CONFIGS=${BENCH_CONFIGS:-"bare twinguard auditd"}
OPEN_N=${BENCH_OPEN_N:-700000}
EXEC_N=${BENCH_EXEC_N:-3000}
BUILD_FILES=${BENCH_BUILD_FILES:-60}
PROCS_N=${BENCH_PROCS:-10000}
PROCS_AFTER=${BENCH_PROCS_AFTER:-1000}
RUN_TIMEOUT=${BENCH_TIMEOUT:-300}
AGENT=${BENCH_AGENT:-.output/twinguard}
AGENT_CONFIG=${BENCH_AGENT_CONFIG:-packaging/twinguard.conf}
# The shipped product: default config plus the shipped rule packs and profile.
AGENT_RULES=${BENCH_AGENT_RULES:-rules}
AGENT_PROFILE=${BENCH_AGENT_PROFILE:-rules/profile/twin-profile.json}
T_REPLAY=1000000   # rule engine events/s on one core
OUT=.output/bench

# Bounds on everything the script waits for (seconds).
ATTACH_TIMEOUT=30   # agent launch to its "attached" line
STOP_TIMEOUT=15     # SIGTERM to exit, for the agent and auditd
READY_TIMEOUT=120   # procs helper forking its children
SETTLE_MAX=10       # agent catching up with a burst of forks
STARTUP_RUNS=5

# Targets (docs/bench.md says where they come from).
T_OPEN=1.25         # open+close, x bare
T_EXEC=1.10         # exec storm, x bare, with zero drops
T_RSS_MIB=32        # peak RSS, default config and with 10k live processes
T_START_S=0.5       # launch to "attached"

WORKLOADS=(open exec build)
declare -A WL_NAME=([open]="open+close" [exec]="exec storm" [build]="build-like")

# The audit rule covers what twinguard's default config reports. Names the
# running auditctl/kernel rejects are dropped with a note, never silently.
AUDIT_KEY=tgbench
AUDIT_SYSCALLS=(open openat openat2 creat unlink unlinkat rename renameat renameat2 link linkat
	symlink symlinkat chmod fchmod fchmodat chown fchown lchown fchownat truncate ftruncate
	mkdir mkdirat memfd_create connect accept accept4 bind listen sendto sendmsg ptrace
	process_vm_readv process_vm_writev setuid setgid setreuid setregid setresuid setresgid
	kill tkill tgkill init_module finit_module bpf mount execve execveat clone fork vfork
	exit_group)

note() { echo "bench: $*" >&2; }
die() {
	echo "bench: $*" >&2
	exit 1
}

# ---------------------------------------------------------------------------
# Cleanup: whatever was started or loaded is undone, on any exit or signal.
# ---------------------------------------------------------------------------
TMP=
WL_PID=        # the running workload's timeout(1)
SPAWN_PID=     # tgspawn of the running agent
AGENT_PID=
PROCS_PIDS=()
AUDITD_PID=
AUDIT_RULE_LOADED=0
AUDIT_QUIET_LOADED=0   # the "-a never,task" rule, see audit_quiet_on
AUDIT_TOUCHED=0        # settings changed; restore AUDIT_ORIG_*
declare -A AUDIT_ORIG=()

# wait_gone PID SECONDS: poll until PID has exited; 1 if it is still there.
wait_gone() {
	local pid=$1 deadline=$((SECONDS + $2))
	while kill -0 "$pid" 2>/dev/null; do
		((SECONDS < deadline)) || return 1
		sleep 0.05
	done
	return 0
}

# stop_pid PID: SIGTERM, bounded wait, then SIGKILL. Only ever our own children.
stop_pid() {
	local pid=$1
	kill -TERM "$pid" 2>/dev/null || true
	if ! wait_gone "$pid" "$STOP_TIMEOUT"; then
		note "pid $pid ignored SIGTERM for ${STOP_TIMEOUT}s; killing it"
		kill -KILL "$pid" 2>/dev/null || true
	fi
	wait "$pid" 2>/dev/null || true
}

# shellcheck disable=SC2317 # reached through the EXIT trap
cleanup() {
	local pid
	trap - EXIT INT TERM
	set +eu
	[[ -n $WL_PID ]] && stop_pid "$WL_PID"
	[[ -n $AGENT_PID ]] && stop_pid "$AGENT_PID"
	[[ -n $SPAWN_PID ]] && stop_pid "$SPAWN_PID"
	for pid in "${PROCS_PIDS[@]}"; do
		stop_pid "$pid"
	done
	# Defined further down; a die() in preflight comes before that.
	declare -F audit_restore >/dev/null && audit_restore
	[[ -n $TMP ]] && rm -rf "$TMP"
}
trap cleanup EXIT
trap 'note "interrupted"; exit 130' INT
trap 'note "terminated"; exit 143' TERM

# ---------------------------------------------------------------------------
# Small helpers: numbers and medians.
# ---------------------------------------------------------------------------
is_uint() { [[ $1 =~ ^[0-9]+$ ]]; }

# median X...: the middle value (mean of the two middle ones for an even count).
median() {
	printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 }
		END { if (NR % 2) printf "%.6f", v[(NR + 1) / 2]
		      else printf "%.6f", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

calc() { awk "BEGIN { printf \"%.6f\", $1 }"; }
le() { awk "BEGIN { exit !($1 <= $2) }"; }
pass_miss() { if le "$1" "$2"; then echo PASS; else echo MISS; fi; }

# json_int KEY LINE: an integer member of a flat JSON object, or "".
json_int() {
	local re="\"$1\"[[:space:]]*:[[:space:]]*([0-9]+)"
	[[ $2 =~ $re ]] && echo "${BASH_REMATCH[1]}" || echo ""
}

# ---------------------------------------------------------------------------
# Preflight.
# ---------------------------------------------------------------------------
[[ $(id -u) -eq 0 ]] || die "must run as root (loads BPF programs and audit rules); try 'sudo make bench'"
for v in RUNS OPEN_N EXEC_N BUILD_FILES PROCS_N PROCS_AFTER RUN_TIMEOUT; do
	if ! is_uint "${!v}" || ((${!v} == 0)); then
		die "bad $v '${!v}'; expected a positive integer"
	fi
done
for c in $CONFIGS; do
	[[ $c == bare || $c == twinguard || $c == auditd ]] ||
		die "bad BENCH_CONFIGS entry '$c'; expected bare, twinguard or auditd"
done
[[ " $CONFIGS " == *" bare "* ]] || die "BENCH_CONFIGS must include bare: every ratio is to bare"
read -r -a CONF_LIST <<<"$CONFIGS"
want() { [[ " $CONFIGS " == *" $1 "* ]]; }

for tool in gcc make timeout awk; do
	command -v "$tool" >/dev/null || die "'$tool' not found; run packaging/deps.sh"
done
if want twinguard; then
	[[ -x $AGENT ]] || die "agent $AGENT not found or not executable; run 'make' first"
	[[ -r $AGENT_CONFIG ]] || die "agent config $AGENT_CONFIG not readable"
fi

mkdir -p "$OUT"
for prog in open_loop exec_storm procs tgspawn; do
	if [[ ! -x $OUT/$prog || tests/bench/$prog.c -nt $OUT/$prog ]]; then
		gcc -O2 -Wall -Wextra -Werror -o "$OUT/$prog" "tests/bench/$prog.c" ||
			die "failed to build tests/bench/$prog.c"
	fi
done

TMP=$(mktemp -d /tmp/tg-bench-XXXXXX)
# The agent runs as shipped with model integrity on: a manifest of the
# profile's model and config directories (empty where they do not exist),
# so closes are routed to the kernel's close handler as in production.
MANIFEST=$TMP/manifest.json
"$AGENT" baseline --config /dev/null --profile "$AGENT_PROFILE" --manifest "$MANIFEST" >/dev/null ||
	die "twinguard baseline failed"
# The open loop's file: /tmp is under no prefix of the shipped config, so
# the agent's kernel filter drops every one of these opens.
mkdir "$TMP/open"
: >"$TMP/open/file"

# The build-like tree: BUILD_FILES independent units plus a main, made -j2.
gen_build_tree() {
	local dir=$TMP/build i
	mkdir "$dir"
	for ((i = 0; i < BUILD_FILES; i++)); do
		cat >"$dir/f$i.c" <<EOF
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct rec$i { long id; double weight; char name[32]; };

static int cmp$i(const void *a, const void *b)
{
	const struct rec$i *x = a, *y = b;
	return (x->weight > y->weight) - (x->weight < y->weight);
}

long work$i(long n)
{
	struct rec$i *r = calloc(n, sizeof(*r));
	long i, sum = 0;

	if (!r)
		return -1;
	for (i = 0; i < n; i++) {
		r[i].id = i * $((i + 1));
		r[i].weight = (double)((i * 7919) % 1000) / 3.0;
		snprintf(r[i].name, sizeof(r[i].name), "rec-%ld", i);
	}
	qsort(r, n, sizeof(*r), cmp$i);
	for (i = 0; i < n; i++)
		sum += r[i].id ^ (long)strlen(r[i].name);
	free(r);
	return sum;
}
EOF
	done
	{
		echo '#include <stdio.h>'
		for ((i = 0; i < BUILD_FILES; i++)); do echo "long work$i(long n);"; done
		echo 'int main(void)'
		echo '{'
		echo '	long s = 0;'
		for ((i = 0; i < BUILD_FILES; i++)); do echo "	s += work$i(100);"; done
		printf '\tprintf("%%ld\\n", s);\n'
		echo '	return 0;'
		echo '}'
	} >"$dir/main.c"
	cat >"$dir/Makefile" <<'EOF'
SRCS := $(wildcard *.c)
OBJS := $(SRCS:.c=.o)
prog: $(OBJS)
	$(CC) -o $@ $^
%.o: %.c
	$(CC) -O2 -c $< -o $@
clean:
	rm -f prog $(OBJS)
EOF
}
gen_build_tree

# ---------------------------------------------------------------------------
# Workloads: run_workload W sets WL_TIME (seconds); non-zero if it failed.
#
# The workload runs in the background and the shell waits for it: a trapped
# signal interrupts `wait` at once, where it would be held until a
# foreground command finished (a minute, for auditd's open loop), and
# cleanup() can then stop it by WL_PID. timeout(1) bounds it, and signals
# its whole process group (make's compilers too) when it fires or is told
# to stop.
# ---------------------------------------------------------------------------
WL_TIME=
run_workload() {
	local t0 rc=0
	case $1 in
	open) timeout "$RUN_TIMEOUT" "$OUT/open_loop" "$TMP/open/file" "$OPEN_N" >"$TMP/wl.out" & ;;
	exec) timeout "$RUN_TIMEOUT" "$OUT/exec_storm" /bin/true "$EXEC_N" >"$TMP/wl.out" & ;;
	build)
		make -s -C "$TMP/build" clean >/dev/null || return 1
		t0=$EPOCHREALTIME
		timeout "$RUN_TIMEOUT" make -s -C "$TMP/build" -j2 CC=gcc >/dev/null &
		;;
	esac
	WL_PID=$!
	wait "$WL_PID" || rc=$?
	WL_PID=
	((rc == 0)) || return 1
	if [[ $1 == build ]]; then
		WL_TIME=$(calc "$EPOCHREALTIME - $t0")
	else
		WL_TIME=$(<"$TMP/wl.out")
	fi
}

# ---------------------------------------------------------------------------
# twinguard: start, stop, stats.
# ---------------------------------------------------------------------------
AGENT_N=0
ATTACH_S=     # start-up time of the last agent_start
AGENT_LOG=
AGENT_ST=

# spawn_line KIND: the value of tgspawn's "KIND N" line, or "".
spawn_line() { awk -v k="$1" '$1 == k { print $2; exit }' "$AGENT_ST" 2>/dev/null || true; }

agent_start() {
	local deadline=$((SECONDS + ATTACH_TIMEOUT)) how
	AGENT_N=$((AGENT_N + 1))
	AGENT_LOG=$TMP/agent-$AGENT_N.log
	AGENT_ST=$TMP/agent-$AGENT_N.st
	"$OUT/tgspawn" "$AGENT_LOG" -- "$AGENT" run --config "$AGENT_CONFIG" --events \
		--rules-dir "$AGENT_RULES" --profile "$AGENT_PROFILE" --manifest "$MANIFEST" \
		--output /dev/null >"$AGENT_ST" </dev/null &
	SPAWN_PID=$!
	while :; do
		AGENT_PID=$(spawn_line pid)
		ATTACH_S=$(spawn_line attached)
		[[ -n $ATTACH_S ]] && return 0
		how=$(awk '$1 == "exit" || $1 == "signal" { print; exit }' "$AGENT_ST")
		if [[ -n $how ]]; then
			AGENT_PID=
			wait "$SPAWN_PID" || true
			SPAWN_PID=
			die "agent exited before attaching ($how); its stderr:$(echo; tail -n 20 "$AGENT_LOG")"
		fi
		((SECONDS < deadline)) ||
			die "agent printed no 'twinguard: attached' line within ${ATTACH_TIMEOUT}s; its stderr:$(echo; tail -n 20 "$AGENT_LOG")"
		sleep 0.01
	done
}

# agent_mem: "HWM ANON FILE" in KiB, read while the agent still runs: peak
# RSS so far (VmHWM, the figure with a target), and what RSS is made of now.
# RssFile includes the BPF ring buffer, which the kernel maps whole into the
# agent (its data pages twice, for wrap-around), so it grows with ringbuf_kb.
agent_mem() {
	awk '$1 == "VmHWM:" { h = $2 } $1 == "RssAnon:" { a = $2 } $1 == "RssFile:" { f = $2 }
		END { print h + 0, a + 0, f + 0 }' "/proc/$AGENT_PID/status"
}

# mem_value "HWM ANON FILE": the report's wording for agent_mem's output.
mem_value() {
	local h a f
	read -r h a f <<<"$1"
	awk -v h="$h" -v a="$a" -v f="$f" \
		'BEGIN { printf "%.1f MiB (now: anon %.1f, file+bpf maps %.1f)", h / 1024, a / 1024, f / 1024 }'
}

# agent_settle: wait (bounded) until the agent stops using CPU, i.e. it has
# drained the ring buffer after a burst; its CPU time is in clock ticks.
agent_settle() {
	local prev=-1 cur calm=0 deadline=$((SECONDS + SETTLE_MAX))
	while ((SECONDS < deadline)); do
		cur=$(awk '{ print $14 + $15 }' "/proc/$AGENT_PID/stat")
		if [[ $cur == "$prev" ]]; then
			calm=$((calm + 1))
			((calm >= 3)) && return 0
		else
			calm=0
		fi
		prev=$cur
		sleep 0.2
	done
	note "agent still busy after ${SETTLE_MAX}s; reading its figures anyway"
}

# agent_stop: SIGTERM, bounded wait, and the stats line into STATS_*.
STATS_LINE=
agent_stop() {
	local how rc=0 line
	kill -TERM "$AGENT_PID" 2>/dev/null || true
	if ! wait_gone "$AGENT_PID" "$STOP_TIMEOUT"; then
		kill -KILL "$AGENT_PID" 2>/dev/null || true
		die "agent (pid $AGENT_PID) did not exit within ${STOP_TIMEOUT}s of SIGTERM"
	fi
	AGENT_PID=
	wait "$SPAWN_PID" || rc=$?
	SPAWN_PID=
	how=$(awk '$1 == "exit" || $1 == "signal" { print; exit }' "$AGENT_ST")
	[[ $how == "exit 0" ]] ||
		die "agent ended with '$how' (tgspawn status $rc) after SIGTERM; expected exit 0; its stderr:$(echo; tail -n 20 "$AGENT_LOG")"
	line=$(grep -a '^twinguard: stats ' "$AGENT_LOG" | tail -n 1 || true)
	[[ -n $line ]] || die "agent printed no 'twinguard: stats' line on exit; its stderr:$(echo; tail -n 20 "$AGENT_LOG")"
	for key in events drops drop_bytes flow_drops filtered; do
		[[ -n $(json_int "$key" "$line") ]] || die "agent stats line lacks integer '$key': $line"
	done
	STATS_LINE=$line
}

# ---------------------------------------------------------------------------
# auditd: probe, start with the rule, stop, restore.
# ---------------------------------------------------------------------------
AUDIT_NA=         # why the auditd column is n/a, when it is
AUDIT_NOTES=()
AUDIT_RULE_SYSCALLS=()

audit_status_field() { auditctl -s 2>/dev/null | awk -v k="$1" '$1 == k { print $2; exit }'; }

# Put back every kernel audit setting the bench changed, and unload its rules.
audit_restore() {
	if ((AUDIT_RULE_LOADED)); then
		auditctl -D -k "$AUDIT_KEY" >/dev/null 2>&1 || note "failed to delete audit rules keyed $AUDIT_KEY"
		AUDIT_RULE_LOADED=0
	fi
	if [[ -n $AUDITD_PID ]]; then
		stop_pid "$AUDITD_PID"
		AUDITD_PID=
	fi
	if ((AUDIT_QUIET_LOADED)); then
		auditctl -d never,task >/dev/null 2>&1 || note "failed to delete audit rule 'never,task'"
		AUDIT_QUIET_LOADED=0
	fi
	if ((AUDIT_TOUCHED)); then
		auditctl -b "${AUDIT_ORIG[backlog_limit]}" >/dev/null 2>&1 || true
		auditctl --backlog_wait_time "${AUDIT_ORIG[backlog_wait_time]}" >/dev/null 2>&1 || true
		auditctl -f "${AUDIT_ORIG[failure]}" >/dev/null 2>&1 || true
		auditctl -e "${AUDIT_ORIG[enabled]}" >/dev/null 2>&1 || true
		AUDIT_TOUCHED=0
	fi
}

# Once auditing has been enabled, the kernel gives every new task an audit
# context for good (audit_ever_enabled), and each syscall of those tasks
# takes the audit entry/exit path even with auditing off: about 10% on the
# open loop here. A "never" task rule makes new tasks skip that, as on a
# host that never ran auditd, so bare and twinguard are measured without a
# leftover of the auditd runs (or of an auditd run before the bench).
audit_quiet_on() {
	[[ -z ${AUDIT_ORIG[enabled]:-} ]] && return 0
	((AUDIT_QUIET_LOADED)) && return 0
	auditctl -a never,task >/dev/null 2>&1 || die "failed to load audit rule 'never,task'"
	AUDIT_QUIET_LOADED=1
}
audit_quiet_off() {
	((AUDIT_QUIET_LOADED)) || return 0
	auditctl -d never,task >/dev/null 2>&1 || die "failed to delete audit rule 'never,task'"
	AUDIT_QUIET_LOADED=0
}

# Decide whether the bench may drive audit at all. It only ever takes over
# an idle audit subsystem: no daemon, no rules, not locked.
audit_probe() {
	local st rules s key
	if ! command -v auditctl >/dev/null || ! command -v auditd >/dev/null; then
		AUDIT_NA="auditd not installed; run packaging/deps.sh"
		return 0
	fi
	if ! st=$(auditctl -s 2>&1); then
		AUDIT_NA="no kernel audit support: $(head -n 1 <<<"$st")"
		return 0
	fi
	for key in enabled failure pid backlog_limit backlog_wait_time lost; do
		AUDIT_ORIG[$key]=$(awk -v k="$key" '$1 == k { print $2; exit }' <<<"$st")
	done
	if [[ ${AUDIT_ORIG[pid]} != 0 ]]; then
		AUDIT_NA="an audit daemon already runs (pid ${AUDIT_ORIG[pid]}); the bench does not take it over"
		AUDIT_ORIG=()
		return 0
	fi
	rules=$(auditctl -l 2>&1 || true)
	if [[ $rules != "No rules" ]]; then
		AUDIT_NA="audit rules are already loaded (auditctl -l); the bench does not touch them"
		AUDIT_ORIG=()
		return 0
	fi
	if [[ ${AUDIT_ORIG[enabled]} == 2 ]]; then
		AUDIT_NA="audit configuration is locked (enabled 2)"
		AUDIT_ORIG=()
		return 0
	fi
	want auditd || return 0

	# One probe rule per syscall, so one bad name does not sink the rest.
	AUDIT_RULE_LOADED=1
	for s in "${AUDIT_SYSCALLS[@]}"; do
		if auditctl -a always,exit -F arch=b64 -S "$s" -k "$AUDIT_KEY" >/dev/null 2>&1; then
			AUDIT_RULE_SYSCALLS+=("$s")
		else
			AUDIT_NOTES+=("auditctl rejects syscall '$s' for arch b64; left out of the rule")
		fi
	done
	auditctl -D -k "$AUDIT_KEY" >/dev/null 2>&1 || die "failed to delete probe audit rules"
	AUDIT_RULE_LOADED=0
	if ((${#AUDIT_RULE_SYSCALLS[@]} == 0)); then
		AUDIT_NA="auditctl accepted none of the syscalls"
		return 0
	fi

	# Trial start, so that an auditd that cannot run here is known up front.
	if ! auditd_start; then
		AUDIT_NA="auditd failed to start: $AUDIT_ERR"
		audit_restore
		return 0
	fi
	audit_restore
}

# auditd with Debian's shipped settings (auditd.conf, and audit.rules' -b
# 8192, --backlog_wait_time 60000, -f 1), logging into the temp dir so the
# host's /var/log/audit is left alone. Sets AUDIT_ERR on failure.
AUDIT_ERR=
auditd_start() {
	local dir=$TMP/audit deadline pid
	mkdir -p "$dir/log"
	chmod 0700 "$dir" "$dir/log"
	if [[ -r /etc/audit/auditd.conf ]]; then
		sed -e "s|^[[:space:]]*log_file[[:space:]]*=.*|log_file = $dir/log/audit.log|" \
			/etc/audit/auditd.conf >"$dir/auditd.conf"
	else
		printf 'log_file = %s/log/audit.log\n' "$dir" >"$dir/auditd.conf"
	fi
	chmod 0640 "$dir/auditd.conf"
	AUDIT_TOUCHED=1
	auditd -n -s enable -c "$dir" >"$dir/auditd.out" 2>&1 </dev/null &
	AUDITD_PID=$!
	deadline=$((SECONDS + STOP_TIMEOUT))
	while :; do
		pid=$(audit_status_field pid)
		[[ $pid == "$AUDITD_PID" ]] && break
		if ! kill -0 "$AUDITD_PID" 2>/dev/null; then
			wait "$AUDITD_PID" 2>/dev/null || true
			AUDITD_PID=
			AUDIT_ERR="auditd exited at start: $(tail -n 3 "$dir/auditd.out" | tr '\n' ' ')"
			return 1
		fi
		if ((SECONDS >= deadline)); then
			AUDIT_ERR="auditd did not register with the kernel within ${STOP_TIMEOUT}s"
			return 1
		fi
		sleep 0.05
	done
	if ! auditctl -b 8192 --backlog_wait_time 60000 -f 1 >/dev/null 2>&1; then
		AUDIT_ERR="auditctl refused -b 8192 --backlog_wait_time 60000 -f 1"
		return 1
	fi
	if ! auditctl -e 1 >/dev/null 2>&1; then
		AUDIT_ERR="auditctl -e 1 failed"
		return 1
	fi
	local sys
	sys=$(IFS=,; echo "${AUDIT_RULE_SYSCALLS[*]}")
	AUDIT_RULE_LOADED=1
	if ! auditctl -a always,exit -F arch=b64 -S "$sys" -k "$AUDIT_KEY" >/dev/null 2>&1; then
		AUDIT_ERR="auditctl refused the benchmark rule"
		return 1
	fi
}

# ---------------------------------------------------------------------------
# Configurations: enter, leave.
# ---------------------------------------------------------------------------
config_enter() {
	case $1 in
	bare | twinguard) audit_quiet_on ;;
	auditd)
		audit_quiet_off
		auditd_start || die "auditd failed to start: $AUDIT_ERR"
		LOST_AT_START=$(audit_status_field lost)
		;;
	esac
}

config_leave() {
	case $1 in
	auditd)
		# Records the kernel dropped because auditd fell behind (backlog full
		# for longer than backlog_wait_time): the cost auditd did not pay.
		AUDIT_LOST=$((AUDIT_LOST + $(audit_status_field lost) - LOST_AT_START))
		audit_restore
		;;
	esac
}

# ---------------------------------------------------------------------------
# Main measurement: RUNS rounds; in each, every configuration runs every
# workload, the configurations in a rotating order.
# ---------------------------------------------------------------------------
declare -A TIMES=()        # config,workload -> "t1 t2 ..."
declare -A EV_RATE=()      # workload -> "events/s ..."
declare -A FILT_RATE=()    # workload -> "filtered/s ..."
declare -A WL_DROPS=()     # workload -> ring-buffer drops over all runs
TG_DROPS=0 TG_DROP_BYTES=0 TG_FLOW_DROPS=0 TG_HWM_KIB=0 TG_MEM=
AUDIT_LOST=0 LOST_AT_START=0

audit_probe
if want auditd && [[ -n $AUDIT_NA ]]; then
	note "auditd column: n/a ($AUDIT_NA)"
fi
if [[ -z ${AUDIT_ORIG[enabled]:-} ]]; then
	# Nothing of audit is ours to touch; only warn when it may skew bare.
	[[ -n $AUDIT_NA && $AUDIT_NA != auditd\ not\ installed* && $AUDIT_NA != no\ kernel* ]] &&
		AUDIT_NOTES+=("audit is in use on this host, so bare and twinguard include its cost")
fi
RUN_CONFS=()
for c in "${CONF_LIST[@]}"; do
	[[ $c == auditd && -n $AUDIT_NA ]] && continue
	RUN_CONFS+=("$c")
done

note "warming up (page cache, gcc) with one unrecorded run of each workload"
audit_quiet_on
for w in "${WORKLOADS[@]}"; do
	run_workload "$w" || die "workload ${WL_NAME[$w]} failed without any tracer"
done

nconf=${#RUN_CONFS[@]}
for ((r = 0; r < RUNS; r++)); do
	for ((k = 0; k < nconf; k++)); do
		c=${RUN_CONFS[$(((r + k) % nconf))]}
		config_enter "$c"
		for w in "${WORKLOADS[@]}"; do
			[[ $c == twinguard ]] && agent_start
			run_workload "$w" || die "workload ${WL_NAME[$w]} failed under $c (run $((r + 1)))"
			t=$WL_TIME
			TIMES[$c,$w]+="$t "
			extra=
			if [[ $c == twinguard ]]; then
				mem=$(agent_mem)
				if ((${mem%% *} > TG_HWM_KIB)); then
					TG_HWM_KIB=${mem%% *}
					TG_MEM=$mem
				fi
				agent_stop
				ev=$(json_int events "$STATS_LINE")
				dr=$(json_int drops "$STATS_LINE")
				fl=$(json_int filtered "$STATS_LINE")
				EV_RATE[$w]+="$(calc "$ev / $t") "
				FILT_RATE[$w]+="$(calc "$fl / $t") "
				WL_DROPS[$w]=$((${WL_DROPS[$w]:-0} + dr))
				TG_DROPS=$((TG_DROPS + dr))
				TG_DROP_BYTES=$((TG_DROP_BYTES + $(json_int drop_bytes "$STATS_LINE")))
				TG_FLOW_DROPS=$((TG_FLOW_DROPS + $(json_int flow_drops "$STATS_LINE")))
				extra=" events=$ev drops=$dr filtered=$fl"
			fi
			note "run $((r + 1))/$RUNS $(printf '%-9s %-10s %8.3f s' "$c" "${WL_NAME[$w]}" "$t")$extra"
		done
		config_leave "$c"
	done
done

# ---------------------------------------------------------------------------
# twinguard alone: start-up time, and peak RSS with many live processes.
# ---------------------------------------------------------------------------
STARTUPS=()
HWM_PROCS_KIB=
PROCS_MEM=
PROCS_NA=
PROCS_DROPS=
if want twinguard; then
	audit_quiet_on
	for ((i = 0; i < STARTUP_RUNS; i++)); do
		agent_start
		STARTUPS+=("$ATTACH_S")
		agent_stop
		note "start-up $((i + 1))/$STARTUP_RUNS: $(printf '%.3f' "$ATTACH_S") s"
	done

	# procs_start N: a procs helper holding N idle children; 1 if it could not.
	procs_start() {
		local st=$TMP/procs-${#PROCS_PIDS[@]}.st deadline=$((SECONDS + READY_TIMEOUT)) pid
		"$OUT/procs" "$1" >"$st" 2>&1 </dev/null &
		pid=$!
		PROCS_PIDS+=("$pid")
		while ! grep -q '^ready ' "$st"; do
			if ! kill -0 "$pid" 2>/dev/null || ((SECONDS >= deadline)); then
				PROCS_NA="could not hold $1 processes: $(tr '\n' ' ' <"$st")"
				return 1
			fi
			sleep 0.05
		done
	}

	note "process table: $PROCS_N idle processes, agent start, $PROCS_AFTER more"
	if procs_start "$PROCS_N"; then
		agent_start
		if procs_start "$PROCS_AFTER"; then
			agent_settle
			PROCS_MEM=$(agent_mem)
			HWM_PROCS_KIB=${PROCS_MEM%% *}
		fi
		agent_stop
		PROCS_DROPS=$(json_int drops "$STATS_LINE")
	fi
	for pid in "${PROCS_PIDS[@]}"; do
		stop_pid "$pid"
	done
	PROCS_PIDS=()
	[[ -n $PROCS_NA ]] && note "process table: n/a ($PROCS_NA)"
fi
audit_restore

# ---------------------------------------------------------------------------
# Rule engine throughput: a real event stream recorded from the workloads,
# replayed through the shipped packs on one core (tests/bench/replay_bench.c).
# ---------------------------------------------------------------------------
REPLAY_ENGINE=
REPLAY_E2E=
REPLAY_HOT=
REPLAY_EVENTS=
REPLAY_NA=
if want twinguard; then
	if ! cc -O2 -std=gnu11 -D_GNU_SOURCE -Iinclude -Iuser -I.output tests/bench/replay_bench.c \
		.output/libtwinguard.a -lbpf -lelf -lz -lcjson -lcrypto -lcurl -lrelp -lmicrohttpd -lsystemd -pthread -o "$OUT/replay_bench"; then
		REPLAY_NA="replay_bench did not build"
	else
		: >"$TMP/record.conf"
		"$AGENT" run --config "$TMP/record.conf" --no-rules --events \
			--output "$TMP/events.jsonl" 2>"$TMP/record.err" </dev/null &
		rec=$!
		deadline=$((SECONDS + ATTACH_TIMEOUT))
		until grep -q 'attached' "$TMP/record.err" || ((SECONDS >= deadline)); do sleep 0.05; done
		run_workload exec || true
		run_workload build || true
		stop_pid "$rec"
		line=$(taskset -c 0 "$OUT/replay_bench" -P "$AGENT_PROFILE" -d 2 "$TMP/events.jsonl" \
			"$AGENT_RULES"/*.json 2>&1 | tee "$TMP/replay.out" | tr '\n' ' ')
		REPLAY_ENGINE=$(awk '$1 == "engine:" { print $2 }' "$TMP/replay.out")
		REPLAY_E2E=$(awk '$1 == "end-to-end:" { print $2 }' "$TMP/replay.out")
		REPLAY_HOT=$(awk '$1 == "engine-hot:" { print $2 }' "$TMP/replay.out")
		REPLAY_EVENTS=$(awk '$1 == "events:" { print $2 }' "$TMP/replay.out")
		[[ -n $REPLAY_ENGINE ]] || REPLAY_NA="replay_bench printed no rate: $line"
		note "replay: $line"
	fi
fi

# ---------------------------------------------------------------------------
# Report.
# ---------------------------------------------------------------------------
load=$(cut -d' ' -f1-3 /proc/loadavg)
echo
echo "twinguard bench: $(uname -r), $(nproc) CPUs, load $load at end; median of $RUNS runs"
echo "ratio = median time under the configuration / median bare time (lower is better)"
echo
printf '%-24s %9s %11s %-20s %-16s %s\n' workload "bare (s)" twinguard target result auditd
for w in "${WORKLOADS[@]}"; do
	case $w in
	open) label="${WL_NAME[$w]} ($OPEN_N)" ;;
	exec) label="${WL_NAME[$w]} ($EXEC_N)" ;;
	build) label="${WL_NAME[$w]} ($BUILD_FILES files)" ;;
	esac
	# shellcheck disable=SC2086 # the lists are space-separated numbers
	bare=$(median ${TIMES[bare,$w]})
	tg=n/a target=- result=- au=
	if want twinguard; then
		# shellcheck disable=SC2086
		tg_ratio=$(calc "$(median ${TIMES[twinguard,$w]}) / $bare")
		tg=$(printf '%.2fx' "$tg_ratio")
		case $w in
		open)
			target="<= ${T_OPEN}x"
			result=$(pass_miss "$tg_ratio" "$T_OPEN")
			;;
		exec)
			target="<= ${T_EXEC}x, 0 drops"
			result=$(pass_miss "$tg_ratio" "$T_EXEC")
			((${WL_DROPS[exec]:-0} == 0)) || result=MISS
			result+=" (${WL_DROPS[exec]:-0} drops)"
			;;
		esac
	else
		tg="n/a"
		[[ $w == build ]] || result="n/a (not run)"
	fi
	if ! want auditd; then
		au="n/a (not selected in BENCH_CONFIGS)"
	elif [[ -n $AUDIT_NA ]]; then
		au="n/a ($AUDIT_NA)"
	else
		# shellcheck disable=SC2086
		au=$(printf '%.2fx' "$(calc "$(median ${TIMES[auditd,$w]}) / $bare")")
	fi
	printf '%-24s %9.3f %11s %-20s %-16s %s\n' "$label" "$bare" "$tg" "$target" "$result" "$au"
done
spread=
for w in "${WORKLOADS[@]}"; do
	# shellcheck disable=SC2086
	spread+=" ${WL_NAME[$w]} $(printf '%s\n' ${TIMES[bare,$w]} | sort -g |
		awk 'NR == 1 { lo = $1 } { hi = $1 } END { printf "%.2f", hi / lo }'),"
done
echo "note: host noise, slowest/fastest bare run:${spread%,}"
for n in "${AUDIT_NOTES[@]}"; do
	echo "note: $n"
done
if want auditd && [[ -z $AUDIT_NA ]]; then
	echo "note: auditd rule: -a always,exit -F arch=b64 -S <${#AUDIT_RULE_SYSCALLS[@]} syscalls> -k $AUDIT_KEY; kernel records lost during auditd runs: $AUDIT_LOST"
fi

if want twinguard; then
	mib() { calc "$1 / 1024"; }
	echo
	row() { printf '%-44s %-48s %-11s %s\n' "$@"; }
	row "twinguard (shipped config)" value target result
	for w in exec open; do
		# shellcheck disable=SC2086
		v=$(printf '%.0f events/s' "$(median ${EV_RATE[$w]})")
		# shellcheck disable=SC2086
		[[ $w == open ]] && v+=$(printf ', %.0f filtered/s' "$(median ${FILT_RATE[$w]})")
		row "event rate, ${WL_NAME[$w]} (median)" "$v" - -
	done
	row "drops, all workload runs" "$TG_DROPS ring ($TG_DROP_BYTES B), $TG_FLOW_DROPS flow" - -
	row "peak RSS (VmHWM), workload runs" "$(mem_value "$TG_MEM")" "<= $T_RSS_MIB MiB" \
		"$(pass_miss "$(mib "$TG_HWM_KIB")" "$T_RSS_MIB")"
	label="peak RSS (VmHWM), $PROCS_N+$PROCS_AFTER live processes"
	if [[ -n $HWM_PROCS_KIB ]]; then
		row "$label" "$(mem_value "$PROCS_MEM")" "<= $T_RSS_MIB MiB" \
			"$(pass_miss "$(mib "$HWM_PROCS_KIB")" "$T_RSS_MIB")"
		row "drops, $PROCS_N+$PROCS_AFTER live processes run" "$PROCS_DROPS ring" - -
	else
		row "$label" "n/a ($PROCS_NA)" "<= $T_RSS_MIB MiB" -
	fi
	st=$(median "${STARTUPS[@]}")
	row "start-up to 'attached', median of $STARTUP_RUNS" "$(printf '%.3f s' "$st")" \
		"<= $T_START_S s" "$(pass_miss "$st" "$T_START_S")"
	if [[ -n $REPLAY_ENGINE ]]; then
		res=PASS
		((REPLAY_ENGINE >= T_REPLAY)) || res=MISS
		row "rule engine, one core, shipped packs" "$REPLAY_ENGINE events/s ($REPLAY_EVENTS recorded events)" \
			">= $T_REPLAY/s" "$res"
		row "rule engine, view just filled (as in agent)" "${REPLAY_HOT:-n/a} events/s" - -
		row "replay end to end (JSON parse + rules)" "$REPLAY_E2E events/s" - -
	else
		row "rule engine, one core, shipped packs" "n/a ($REPLAY_NA)" ">= $T_REPLAY/s" -
	fi
fi
exit 0
