#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# smoke.sh: bring up the twin lab once and use every program the benign way:
# broker, engine, gateway, operator (HTTP and MQTT, right and wrong token),
# deployer, a benign /diag, SIGHUP reload, log rotation with logrotate
# ("create" + SIGUSR1, then "copytruncate") and a clean SIGTERM stop. No
# attacks, no twinguard: it checks that the lab itself works.
#
#   tests/lab/smoke.sh            (builds with `make lab` first)
#
# Environment: TGLAB_DATA_PORT (18830), TGLAB_CONTROL_PORT (18831),
# TGLAB_API_PORT (18080), TGLAB_BIN (default: build, then .output/lab/bin),
# MOSQUITTO (/usr/sbin/mosquitto), TGLAB_KEEP=1 keeps the lab directory.
# Needs mosquitto, jq, curl, logrotate. Runs as root or as any user.
# Prints PASS/FAIL per step; exits 1 if any step failed.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
DATA_PORT=${TGLAB_DATA_PORT:-18830}
CONTROL_PORT=${TGLAB_CONTROL_PORT:-18831}
API_PORT=${TGLAB_API_PORT:-18080}
MOSQUITTO=${MOSQUITTO:-/usr/sbin/mosquitto}

passed=0 failed=0 LAB='' broker_pid='' engine_pid=''

pass() { printf 'PASS  %s\n' "$1"; passed=$((passed + 1)); }
fail() { printf 'FAIL  %s\n' "$1"; failed=$((failed + 1)); }
# step NAME CMD...: PASS or FAIL on the command's status.
step() {
	local name=$1
	shift
	if "$@"; then
		pass "$name"
	else
		fail "$name"
		return 1
	fi
}
# fatal NAME CMD...: a step the rest depends on; stop at its failure.
fatal() {
	step "$@" && return 0
	printf 'smoke: cannot go on after "%s"\n' "$1"
	exit 1
}
# wait_for SECONDS CMD...: poll CMD every 0.1 s, at most SECONDS; a status
# of 2 from CMD means it can never succeed: stop waiting.
wait_for() {
	local i rc tries=$(($1 * 10))
	shift
	for ((i = 0; i < tries; i++)); do
		"$@"
		rc=$?
		((rc == 0)) && return 0
		((rc == 2)) && return 1
		sleep 0.1
	done
	return 1
}
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
dead() { ! kill -0 "$1" 2>/dev/null; }
# stop PID: SIGTERM, at most 5 s, then SIGKILL; reaps it.
stop() {
	kill -TERM "$1" 2>/dev/null
	wait_for 5 dead "$1" || kill -KILL "$1" 2>/dev/null
	wait "$1" 2>/dev/null
}

cleanup() {
	trap '' PIPE   # output cut short (| head) must not stop the clean-up
	[[ -n $engine_pid ]] && stop "$engine_pid"
	[[ -n $broker_pid ]] && stop "$broker_pid"
	[[ -z $LAB ]] && return
	if ((failed)); then
		echo "--- engine.log (last 20 lines)"
		tail -n 20 "$LAB/log/engine.log" "$LAB/log/engine.stderr" 2>/dev/null
		echo "--- mosquitto.log (last 10 lines)"
		tail -n 10 "$LAB/log/mosquitto.log" 2>/dev/null
	fi
	if [[ ${TGLAB_KEEP:-0} == 1 ]]; then echo "smoke: lab kept in $LAB"; else rm -rf "$LAB"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- set-up ----------------------------------------------------------------
for tool in "$MOSQUITTO" jq curl logrotate; do
	command -v "$tool" >/dev/null ||
		{ echo "smoke: $tool not found (packaging/deps.sh installs it)"; exit 1; }
done
if [[ -z ${TGLAB_BIN:-} ]]; then
	fatal "make lab" make -C "$ROOT" --no-print-directory -s lab
fi
BIN=${TGLAB_BIN:-$ROOT/.output/lab/bin}
for p in "$DATA_PORT" "$CONTROL_PORT" "$API_PORT"; do
	port_open "$p" && { echo "smoke: port $p is in use; set TGLAB_*_PORT"; exit 1; }
done

LAB=$(mktemp -d /tmp/tglab.XXXXXX)
mkdir -p "$LAB"/{models,data,config,log,run,incoming}
CONF=$LAB/config/engine.json
TOKEN=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
model() { jq -n --argjson v "$1" '{name: "pump-7", version: $v, gain: 1.02, offset: 0.5}'; }
model 1 >"$LAB/models/model.json"
jq -n --arg lab "$LAB" --arg token "$TOKEN" --argjson d "$DATA_PORT" \
	--argjson c "$CONTROL_PORT" --argjson a "$API_PORT" \
	'{broker_host: "127.0.0.1", data_port: $d, control_port: $c, api_port: $a,
	  token: $token, model: "\($lab)/models/model.json",
	  state: "\($lab)/data/state.json", log: "\($lab)/log/engine.log"}' >"$CONF"
sed -e "s|@LAB@|$LAB|g" -e "s|@DATA_PORT@|$DATA_PORT|g" -e "s|@CONTROL_PORT@|$CONTROL_PORT|g" \
	"$ROOT/tests/lab/mosquitto.conf.in" >"$LAB/config/mosquitto.conf"

# Checks used by the steps below.
# (|| return 1: a missing file is "not yet", not wait_for's "never".)
state() { jq -e "$1" "$LAB/data/state.json" >/dev/null 2>&1 || return 1; }
logged() { grep -sqE -- "$1" "$LAB/log/engine.log" || return 1; }
broker_up() { port_open "$DATA_PORT" && port_open "$CONTROL_PORT"; }
engine_ready() {
	[[ -f $LAB/run/engine.ready ]] && return 0
	dead "$engine_pid" && return 2
	return 1
}
# The last reading is 12.5 + 4 * 0.25 = 13.5, predicted 1.02 * 13.5 + 0.5.
readings_in() {
	[[ $(cksum <"$LAB/data/state.json") != "$before" ]] &&
		state '.sensors.flow.count == 5 and .sensors.flow.value == 13.5 and
		       (.sensors.flow.predicted - 14.27 | fabs) < 1e-9'
}
operator() { "$BIN/twin-operator" --config "$CONF" "$@"; }
http_ok() { operator "$@" | jq -e '.ok' >/dev/null; }
http_403() {
	local err
	err=$(operator --token wrong "$@" 2>&1 >/dev/null)
	[[ $? == 1 && $err == *"HTTP 403"* ]]
}
api_state() { operator state | jq -e "$1" >/dev/null; }
installed() {
	jq -e ".version == $1" "$LAB/models/model.json" >/dev/null &&
		[[ $(stat -c %a "$LAB/models/model.json") == 644 ]] &&
		! compgen -G "$LAB/models/.*.tmp.*" >/dev/null
}
deploy() { "$BIN/twin-deploy" --config "$CONF" --from "$@"; }
refused() {
	deploy "$1" 2>/dev/null
	[[ $? == 2 ]]
}
diag_uname() {
	curl -sS -m 10 -X POST --data '{"target":"-s"}' "http://127.0.0.1:$API_PORT/diag" |
		jq -e '.exit_status == 0 and (.output | startswith("Linux"))' >/dev/null
}
new_log() {
	logged "log reopened" && logged "setpoint 43 accepted" &&
		! grep -q "setpoint 43" "$LAB/log/engine.log.1"
}
# copytruncate with O_APPEND: no hole of NULs before the next line.
no_hole() {
	logged "setpoint 44 accepted" && ! tr -d '[:print:]\n' <"$LAB/log/engine.log" | grep -q .
}
stopped_clean() { [[ $rc == 0 && ! -e $LAB/run/engine.ready && ! -e $LAB/run/engine.pid ]]; }

# ---- broker and engine -------------------------------------------------------
"$MOSQUITTO" -c "$LAB/config/mosquitto.conf" >"$LAB/log/mosquitto.stderr" 2>&1 &
broker_pid=$!
fatal "broker listens on $DATA_PORT and $CONTROL_PORT" wait_for 5 broker_up

"$BIN/twin-engine" --config "$CONF" 2>"$LAB/log/engine.stderr" &
engine_pid=$!
fatal "engine ready (run/engine.ready)" wait_for 10 engine_ready
step "engine logged its model" logged 'model loaded: pump-7 version 1 '
step "initial state file" wait_for 3 state '.model.version == 1 and .setpoint == null'

# ---- gateway -----------------------------------------------------------------
before=$(cksum <"$LAB/data/state.json")
step "gateway publishes 5 readings" \
	"$BIN/twin-gateway" --config "$CONF" --count 5 --interval-ms 20 --sensor flow
step "state file changed with the readings" wait_for 3 readings_in

# ---- operator ----------------------------------------------------------------
step "operator setpoint 42 (HTTP 200)" http_ok setpoint 42
step "state shows setpoint 42" wait_for 3 state '.setpoint == 42'
step "operator with a wrong token gets 403" http_403 setpoint 1
step "engine logged the rejected API command" \
	logged 'command rejected #1 from api 127.0.0.1:[0-9]+: bad or missing X-Twin-Token'
step "operator mqtt-setpoint 7" operator mqtt-setpoint 7
step "state shows setpoint 7" wait_for 3 state '.setpoint == 7'
step "mqtt-setpoint with a wrong token is published" operator --token wrong mqtt-setpoint 99
step "engine rejected it" wait_for 3 logged \
	'command rejected #2 from mqtt twin/cmd/setpoint: bad or missing token'
step "setpoint still 7, 2 rejected" wait_for 3 state '.setpoint == 7 and .rejected == 2'
step "operator state" api_state '.model.version == 1 and .setpoint == 7'

# ---- deployer ----------------------------------------------------------------
model 2 >"$LAB/incoming/model-v2.json"
step "deployer installs version 2 and reloads" deploy "$LAB/incoming/model-v2.json"
step "models/model.json is version 2, mode 644, no temp file left" installed 2
step "engine logged the reload" \
	logged 'model reloaded \(api 127.0.0.1:[0-9]+\): pump-7 version 1 -> pump-7 version 2'
step "state shows version 2" wait_for 3 state '.model.version == 2'
echo '{"name":"pump-7"}' >"$LAB/incoming/bad.json"
step "deployer refuses an invalid model (exit 2)" refused "$LAB/incoming/bad.json"
step "models/model.json still version 2" installed 2

# ---- /diag, benign -------------------------------------------------------------
step "/diag with a benign target runs uname -s" diag_uname
step "engine logged the /diag call" logged 'diag from 127.0.0.1:[0-9]+: running "uname -s"'

# ---- signals: reload, log rotation ----------------------------------------------
model 3 >"$LAB/incoming/model-v3.json"
deploy "$LAB/incoming/model-v3.json" --no-reload >/dev/null
kill -HUP "$engine_pid"
step "SIGHUP reloads the model" wait_for 3 logged \
	'model reloaded \(SIGHUP\): pump-7 version 2 -> pump-7 version 3'

# shellcheck disable=SC2016 # $(cat ...) is for logrotate's shell, not this one
printf '%s {\n\trotate 3\n\tmissingok\n\tcreate 0640\n\tpostrotate\n\t\tkill -USR1 $(cat %s)\n\tendscript\n}\n' \
	"$LAB/log/engine.log" "$LAB/run/engine.pid" >"$LAB/config/logrotate.conf"
logrotate -s "$LAB/run/logrotate.state" -f "$LAB/config/logrotate.conf"
operator setpoint 43 >/dev/null
step "logrotate create + SIGUSR1: the engine writes the new log" wait_for 3 new_log
sed -i 's/create 0640/copytruncate/; /postrotate/,/endscript/d' "$LAB/config/logrotate.conf"
logrotate -s "$LAB/run/logrotate.state" -f "$LAB/config/logrotate.conf"
operator setpoint 44 >/dev/null
step "logrotate copytruncate: the log restarts at offset 0" wait_for 3 no_hole

# ---- stop ------------------------------------------------------------------------
kill -TERM "$engine_pid"
wait_for 5 dead "$engine_pid"
wait "$engine_pid"
rc=$?
engine_pid=''
step "engine exits 0 on SIGTERM, removes its run files" stopped_clean
step "engine logged its stop" logged 'stopped$'

printf 'smoke: %d passed, %d failed\n' "$passed" "$failed"
((failed == 0))
