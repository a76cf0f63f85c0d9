#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# delivery.sh: the alert delivery rows of `make bench` (docs/bench.md).
# As root, from the repo root, after `make`. Figures only, never a verdict
# on timing: targets are printed as PASS/MISS and the exit code is non-zero
# only when something broke (a collector or the agent would not start).
#
#   1. file sink and RELP sink throughput, alerts/s, on one core
#   2. end-to-end alert latency, syscall -> line received by a local
#      rsyslog over RELP, p50 and p99 at 1,000 alerts/s (target p99 <= 20 ms)
#   3. exec storm with every sink configured: intake loss (kernel drops)
#   4. an unprivileged flood of failing opens: how long SIGHUP and SIGTERM
#      take to be acted on (target: under a second)
#
# Environment: BENCH_DLV_N [200000] records for the throughput rows,
# BENCH_LAT_RATE [1000] and BENCH_LAT_N [5000] for the latency row,
# BENCH_EXEC_N [3000] for the exec storm, BENCH_FLOOD_S [5].
set -uo pipefail

N=${BENCH_DLV_N:-200000}
LAT_RATE=${BENCH_LAT_RATE:-1000}
LAT_N=${BENCH_LAT_N:-5000}
EXEC_N=${BENCH_EXEC_N:-3000}
FLOOD_S=${BENCH_FLOOD_S:-5}
AGENT=${BENCH_AGENT:-.output/twinguard}
LIBS="-lbpf -lelf -lz -lcjson -lcrypto -lcurl -lrelp -lmicrohttpd -lsystemd -pthread"
PY=/usr/bin/python3

note() { echo "bench: $*" >&2; }
die() {
	note "$*"
	exit 1
}

TMP=$(mktemp -d /tmp/tg-bench-dlv.XXXXXX) || exit 1
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do
		kill "$p" 2>/dev/null
	done
	for p in "${PIDS[@]}"; do
		for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		kill -9 "$p" 2>/dev/null
	done
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

[[ $(id -u) -eq 0 ]] || die "needs root"
command -v rsyslogd >/dev/null || die "rsyslogd missing: run 'make deps'"

now_ms() { date +%s%3N; }

# wait_for CMD... : poll (bounded, 30 s) until CMD succeeds
wait_for() {
	local end=$(($(now_ms) + 30000))
	until "$@"; do
		(($(now_ms) < end)) || return 1
		sleep 0.02
	done
}

free_port() {
	$PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

for prog in sink_bench exec_rate; do
	cc -O2 -std=gnu11 -D_GNU_SOURCE -Iinclude -Iuser -I.output "tests/bench/$prog.c" \
		-Wl,--whole-archive .output/libtwinguard.a -Wl,--no-whole-archive $LIBS \
		-o "$TMP/$prog" || die "$prog did not build"
done
cc -O2 -o "$TMP/exec_storm" tests/bench/exec_storm.c || die "exec_storm did not build"
cc -O2 -o "$TMP/open_loop" tests/bench/open_loop.c || die "open_loop did not build"

# A local rsyslog with imrelp, writing the time it received each message
# and the message.
RELP_PORT=$(free_port)
mkdir -p "$TMP/rsyslog"
cat >"$TMP/rsyslog.conf" <<CONF
global(workDirectory="$TMP/rsyslog")
module(load="imrelp")
input(type="imrelp" port="$RELP_PORT")
template(name="lat" type="string" string="%timegenerated:::date-rfc3339%|%msg%\n")
*.* action(type="omfile" file="$TMP/relp.log" template="lat")
CONF
rsyslogd -n -f "$TMP/rsyslog.conf" -i "$TMP/rsyslog.pid" >"$TMP/rsyslog.out" 2>&1 &
PIDS+=($!)
wait_for sh -c "ss -ltnH 'sport = :$RELP_PORT' | grep -q ." ||
	die "rsyslogd did not listen on $RELP_PORT: $(cat "$TMP/rsyslog.out")"

echo
echo "alert delivery"
# --- 1. throughput -----------------------------------------------------
printf 'alerts_file = %s/alerts.json\nalerts_file_max_mb = 0\ncontrol_socket = off\n' "$TMP" >"$TMP/file.conf"
printf 'syslog = relp://127.0.0.1:%s\ncontrol_socket = off\n' "$RELP_PORT" >"$TMP/relp.conf"
file_line=$(taskset -c 0 "$TMP/sink_bench" "$TMP/file.conf" "$N" 2>&1)
relp_line=$(taskset -c 0 "$TMP/sink_bench" "$TMP/relp.conf" "$((N / 4))" 2>&1)
printf '  %-44s %s\n' "file sink, one core" "$file_line"
printf '  %-44s %s\n' "RELP sink to rsyslog, one core" "$relp_line"

# --- 2. latency ------------------------------------------------------
mkdir -p "$TMP/rules.d" "$TMP/packs"
cat >"$TMP/rules.d/mark.json" <<'RULE'
[{"rule": "tg-bench-mark", "desc": "latency bench marker", "rate": "off",
  "condition": "event.action = exec and process.name = tg-bench-mark",
  "output": "bench marker %process.pid", "priority": "warning", "tags": ["bench"]}]
RULE
ln -sf /bin/true "$TMP/tg-bench-mark"
: >"$TMP/relp.log"
printf 'syslog = relp://127.0.0.1:%s\ncontrol_socket = off\nevents = process\n' "$RELP_PORT" >"$TMP/lat.conf"
"$AGENT" run --config "$TMP/lat.conf" --rules-dir "$TMP/packs" --local-dir "$TMP/rules.d" \
	--output /dev/null 2>"$TMP/lat.err" &
AG=$!
PIDS+=($AG)
wait_for grep -q attached "$TMP/lat.err" || die "agent did not start: $(cat "$TMP/lat.err")"
rate=$("$TMP/exec_rate" "$TMP/tg-bench-mark" "$LAT_RATE" "$LAT_N")
wait_for sh -c "[ \$(grep -c tg-bench-mark '$TMP/relp.log') -ge $LAT_N ]" ||
	note "only $(grep -c tg-bench-mark "$TMP/relp.log") of $LAT_N alerts arrived"
kill "$AG"
wait "$AG"
lat=$($PY - "$TMP/relp.log" <<'PY'
import sys, json, datetime
def ts(s):
    s = s.strip().replace("Z", "+00:00")
    if "." in s:
        head, rest = s.split(".", 1)
        frac = "".join(c for c in rest if c.isdigit())
        tz = rest[len(frac):]
        s = head + "." + (frac + "000000")[:6] + tz
    return datetime.datetime.fromisoformat(s).timestamp()
lats = []
for line in open(sys.argv[1], errors="replace"):
    if "tg-bench-mark" not in line:
        continue
    recv, msg = line.split("|", 1)
    j = json.loads(msg[msg.index("{"):])
    lats.append((ts(recv) - ts(j["@timestamp"])) * 1000)
lats.sort()
if not lats:
    print("n=0"); sys.exit()
p = lambda q: lats[min(len(lats) - 1, int(q * len(lats)))]
print("n=%d p50=%.2f p99=%.2f max=%.2f" % (len(lats), p(0.5), p(0.99), lats[-1]))
PY
)
p99=$(sed -n 's/.*p99=\([0-9.]*\).*/\1/p' <<<"$lat")
verdict=MISS
[[ -n $p99 ]] && awk "BEGIN { exit !($p99 <= 20) }" && verdict=PASS
printf '  %-44s %s ms at %s alerts/s; target p99 <= 20 ms: %s\n' \
	"latency syscall -> rsyslog (RELP)" "$lat" "$rate" "$verdict"

# --- 3. exec storm with every sink --------------------------------------
HTTP_PORT=$(free_port)
$PY -m http.server "$HTTP_PORT" --bind 127.0.0.1 --directory "$TMP" >/dev/null 2>&1 &
PIDS+=($!)
cat >"$TMP/all.conf" <<CONF
alerts_file = $TMP/all-alerts.json
syslog = relp://127.0.0.1:$RELP_PORT
http_url = http://127.0.0.1:$HTTP_PORT/bulk
spool_dir = $TMP/spool
control_socket = $TMP/ctl.sock
metrics_listen = 127.0.0.1:$(free_port)
CONF
"$AGENT" run --config "$TMP/all.conf" --rules-dir rules --profile rules/profile/twin-profile.json \
	--output /dev/null 2>"$TMP/all.err" &
AG=$!
PIDS+=($AG)
wait_for grep -q attached "$TMP/all.err" || die "agent did not start: $(cat "$TMP/all.err")"
"$TMP/exec_storm" /bin/true "$EXEC_N" >/dev/null
kill "$AG"
wait "$AG"
drops=$(sed -n 's/^twinguard: stats .*"drops":\([0-9]*\).*/\1/p' "$TMP/all.err" | tail -n1)
printf '  %-44s %s kernel drops over %s execs (target 0): %s\n' "exec storm, every sink configured" \
	"${drops:-?}" "$EXEC_N" "$([[ $drops == 0 ]] && echo PASS || echo MISS)"

# --- 4. signals during an unprivileged flood ---------------------------
"$AGENT" run --config packaging/twinguard.conf --rules-dir rules \
	--profile rules/profile/twin-profile.json --output "$TMP/flood.json" --local-dir "$TMP/rules.d" \
	2>"$TMP/flood.err" </dev/null &
AG=$!
PIDS+=($AG)
wait_for grep -q attached "$TMP/flood.err" || die "agent did not start: $(cat "$TMP/flood.err")"
chmod 0755 "$TMP" # nobody must reach open_loop
for _ in 1 2; do
	setpriv --reuid=65534 --regid=65534 --clear-groups timeout "$FLOOD_S" \
		"$TMP/open_loop" /etc/shadow 100000000 -f >/dev/null 2>&1 &
	PIDS+=($!)
done
sleep 1
t0=$(now_ms)
kill -HUP "$AG"
wait_for grep -q "reloaded" "$TMP/flood.err"
hup=$(($(now_ms) - t0))
t0=$(now_ms)
kill -TERM "$AG"
wait "$AG"
term=$(($(now_ms) - t0))
bytes=$(stat -c %s "$TMP/flood.json" 2>/dev/null || echo 0)
dropped=$(sed -n 's/^twinguard: stats .*"drops":\([0-9]*\).*/\1/p' "$TMP/flood.err" | tail -n1)
events=$(sed -n 's/^twinguard: stats {"events":\([0-9]*\).*/\1/p' "$TMP/flood.err" | tail -n1)
printf '  %-44s SIGHUP applied in %s ms, SIGTERM exit in %s ms (target < 1000 each): %s\n' \
	"unprivileged open flood" "$hup" "$term" \
	"$( ((hup < 1000 && term < 1000)) && echo PASS || echo MISS)"
printf '  %-44s %s events, %s kernel drops, %s bytes of alert stream\n' "" "${events:-?}" \
	"${dropped:-?}" "$bytes"
