#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# The twin lab: a small but real twin platform on loopback, plus one network
# namespace as the "outside" host. Used by `make demo` (tests/lab/demo.sh)
# and by the integration test (tests/integration/test_lab.c).
#
#   tests/lab/lab.sh up LAB [DATA_PORT CONTROL_PORT API_PORT]
#   tests/lab/lab.sh down LAB
#
# up builds nothing (run `make lab` first) and creates, under LAB (a new
# directory under /var/lib: a lab under /tmp would make every model write a
# "staged" copy to the twin pack):
#
#   bin/twin-engine, twin-gateway, twin-deploy, twin-operator  the twin's own
#                programs (copied, so the lab profile names them exactly)
#   intruder/    the attacker's tools: twinlab (tests/integration/lab), no role
#   models/      model.json (the model the engine runs), design.bin (IP)
#   data/        history.csv; state.json, written by the engine
#   config/      engine.json (ports, token, paths), mosquitto.conf
#   log/ run/    logs; pid and ready files
#   incoming/    new model versions for the deployer
#   backup/      where the backup job writes its archives
#   profile.json the lab twin profile (docs/profile.md)
#   manifest.json  `twinguard baseline` of models/ and config/
#   lab.env      everything above as shell variables, for the scenarios
#
# and starts: mosquitto (data listener DATA_PORT, control listener
# CONTROL_PORT, both 127.0.0.1), twin-engine (control API on API_PORT), and
# in namespace tglab<slot> (a veth pair, 203.0.113.0/24 split in /30s, one
# per running lab, so labs can run side by side) a sink on OUTSIDE_IP
# port 9000 that reads whatever is sent to it. Ports default to 18830,
# 18831, 18080. down stops all of it and removes LAB; it is safe to run
# twice and after a failed up.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BIN=${TGLAB_BIN:-$ROOT/.output/lab/bin}
TG=${TGLAB_TWINGUARD:-$ROOT/.output/twinguard}
MOSQUITTO=${MOSQUITTO:-/usr/sbin/mosquitto}
SLOTS=/run/twinguard-lab
SINK_PORT=9000
WAIT_S=10

die() {
	echo "lab: $*" >&2
	exit 1
}

# wait_for SECONDS CMD...: poll every 50 ms, bounded.
wait_for() {
	local n=$(($1 * 20))
	shift
	for ((i = 0; i < n; i++)); do
		"$@" 2>/dev/null && return 0
		sleep 0.05
	done
	return 1
}

# A /30 of 203.0.113.0/24 per running lab: slot k gives .4k+1 (host side)
# and .4k+2 (outside). A slot whose owner is gone is taken over.
claim_slot() {
	mkdir -p "$SLOTS"
	for ((k = 1; k < 64; k++)); do
		local d=$SLOTS/slot.$k
		if mkdir "$d" 2>/dev/null; then
			echo "$1" >"$d/lab"
			echo "$k"
			return 0
		fi
		local owner
		owner=$(cat "$d/lab" 2>/dev/null)
		if [[ -n $owner && ! -d $owner ]]; then
			ip netns del "tglab$k" 2>/dev/null
			echo "$1" >"$d/lab"
			echo "$k"
			return 0
		fi
	done
	return 1
}

write_files() {
	local lab=$1
	mkdir -p "$lab"/{bin,intruder,models,data,config,log,run,incoming,backup}
	chmod 0755 "$lab" "$lab"/*
	for p in twin-engine twin-gateway twin-deploy twin-operator; do
		install -m 0755 "$BIN/$p" "$lab/bin/$p" || return 1
	done
	install -m 0755 "$BIN/twinlab" "$lab/intruder/twinlab" || return 1
	jq -n '{name: "pump-7", version: 1, gain: 1.02, offset: 0.5}' >"$lab/models/model.json"
	head -c 262144 /dev/urandom >"$lab/models/design.bin"
	jq -n '{name: "pump-7", version: 2, gain: 1.05, offset: 0.4}' >"$lab/incoming/model-v2.json"
	printf 'ts,sensor,value\n1,flow,12.5\n2,flow,12.7\n' >"$lab/data/history.csv"
	jq -n --arg lab "$lab" --arg token "$TOKEN" --argjson d "$DATA_PORT" \
		--argjson c "$CONTROL_PORT" --argjson a "$API_PORT" \
		'{broker_host: "127.0.0.1", data_port: $d, control_port: $c, api_port: $a,
		  token: $token, model: "\($lab)/models/model.json",
		  state: "\($lab)/data/state.json", log: "\($lab)/log/engine.log"}' \
		>"$lab/config/engine.json"
	sed -e "s|@LAB@|$lab|g" -e "s|@DATA_PORT@|$DATA_PORT|g" -e "s|@CONTROL_PORT@|$CONTROL_PORT|g" \
		"$ROOT/tests/lab/mosquitto.conf.in" >"$lab/config/mosquitto.conf"
	chmod 0644 "$lab"/models/* "$lab"/config/* "$lab"/data/* "$lab"/incoming/*
}

# The lab twin profile: only this lab's programs, directories and ports.
write_profile() {
	local lab=$1
	jq -n --arg lab "$lab" --argjson d "$DATA_PORT" --argjson c "$CONTROL_PORT" \
		--argjson a "$API_PORT" '{
		name: "twin-lab",
		services: ["\($lab)/bin/twin-engine", "/usr/sbin/mosquitto"],
		deployers: ["\($lab)/bin/twin-deploy"],
		clients: ["\($lab)/bin/twin-operator"],
		ingest_writers: ["\($lab)/bin/twin-gateway"],
		model_dirs: ["\($lab)/models"], data_dirs: ["\($lab)/data"],
		config_dirs: ["\($lab)/config"],
		control_ports: [$c, $a], data_ports: [$d],
		client_networks: ["127.0.0.0/8", "::1/128"],
		egress_networks: ["127.0.0.0/8", "::1/128"],
		manifest_auto_update: true}' >"$lab/profile.json"
}

start_outside() {
	local lab=$1 slot=$2 ns=tglab$2
	local host_ip=203.0.113.$((4 * slot + 1)) out_ip=203.0.113.$((4 * slot + 2))
	ip netns del "$ns" 2>/dev/null
	ip link del "tglh$slot" 2>/dev/null
	ip netns add "$ns" &&
		ip link add "tglh$slot" type veth peer name "tgln$slot" netns "$ns" &&
		ip addr add "$host_ip/30" dev "tglh$slot" && ip link set "tglh$slot" up &&
		ip -n "$ns" addr add "$out_ip/30" dev "tgln$slot" &&
		ip -n "$ns" link set "tgln$slot" up && ip -n "$ns" link set lo up || return 1
	# the sink: reads every connection to EOF, forever (until down)
	TWINLAB_ALARM_S=86400 setsid ip netns exec "$ns" "$lab/intruder/twinlab" listen "$out_ip" \
		"$SINK_PORT" "$lab/run/sink.ready" >"$lab/log/sink.log" 2>&1 &
	echo $! >"$lab/run/sink.pid"
	wait_for "$WAIT_S" test -f "$lab/run/sink.ready" || return 1
	OUTSIDE_IP=$out_ip NS=$ns
}

start_twin() {
	local lab=$1
	# own sessions: a caller that kills its process group (a test harness)
	# must not take the twin down with it
	setsid "$MOSQUITTO" -c "$lab/config/mosquitto.conf" >"$lab/log/mosquitto.stderr" 2>&1 </dev/null &
	echo $! >"$lab/run/broker.pid"
	wait_for "$WAIT_S" grep -q "Opening ipv4 listen socket on port $CONTROL_PORT" \
		"$lab/log/mosquitto.log" || { echo "lab: broker did not start" >&2; return 1; }
	setsid "$lab/bin/twin-engine" --config "$lab/config/engine.json" \
		>"$lab/log/engine.stderr" 2>&1 </dev/null &
	echo $! >"$lab/run/engine.pid"
	wait_for "$WAIT_S" test -f "$lab/run/engine.ready" ||
		{ echo "lab: engine not ready; $(tail -3 "$lab/log/engine.stderr")" >&2; return 1; }
}

write_env() {
	local lab=$1
	cat >"$lab/lab.env" <<EOF
# twin lab environment (tests/lab/lab.sh); sourced by the scenarios
LAB=$lab
LAB_BIN=$lab/bin
INTRUDER=$lab/intruder/twinlab
CONF=$lab/config/engine.json
MODEL=$lab/models/model.json
DESIGN=$lab/models/design.bin
HISTORY=$lab/data/history.csv
DATA_PORT=$DATA_PORT
CONTROL_PORT=$CONTROL_PORT
API_PORT=$API_PORT
TOKEN=$TOKEN
OUTSIDE_IP=$OUTSIDE_IP
OUTSIDE_PORT=$SINK_PORT
NS=$NS
SLOT=$SLOT
ENGINE_PID=$(cat "$lab/run/engine.pid")
BROKER_PID=$(cat "$lab/run/broker.pid")
TWINGUARD=$TG
EOF
}

cmd_up() {
	local lab=$1
	DATA_PORT=${2:-18830} CONTROL_PORT=${3:-18831} API_PORT=${4:-18080}
	[[ $(id -u) -eq 0 ]] || die "needs root (network namespace, mosquitto as root)"
	for t in "$BIN/twin-engine" "$BIN/twinlab" "$TG" "$MOSQUITTO"; do
		[[ -x $t ]] || die "$t missing: run 'make lab' (and 'make deps' for mosquitto)"
	done
	command -v jq >/dev/null || die "jq missing: run 'make deps'"
	[[ $lab == /* && ! -e $lab ]] || die "LAB must be a new absolute path (got '$lab')"
	mkdir -p "$lab" || die "cannot create $lab"
	TOKEN=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
	SLOT=$(claim_slot "$lab") || die "no free lab slot in $SLOTS"
	echo "$SLOT" >"$lab/.slot"
	write_files "$lab" || die "cannot lay out $lab"
	write_profile "$lab" || die "cannot write the profile"
	"$TG" baseline --config /dev/null --profile "$lab/profile.json" \
		--manifest "$lab/manifest.json" >"$lab/log/baseline.log" 2>&1 ||
		die "baseline failed: $(cat "$lab/log/baseline.log")"
	start_outside "$lab" "$SLOT" || die "cannot set up the outside namespace"
	start_twin "$lab" || die "cannot start the twin"
	write_env "$lab"
	echo "lab: up at $lab (broker $DATA_PORT/$CONTROL_PORT, API $API_PORT, outside $OUTSIDE_IP:$SINK_PORT)"
}

# A process that still runs (a zombie left for its parent to reap does not).
running() {
	local st
	st=$(cut -d' ' -f3 "/proc/$1/stat" 2>/dev/null) || return 1
	[[ -n $st && $st != Z ]]
}

stop_pid() {
	local f=$1 pid
	pid=$(cat "$f" 2>/dev/null) || return 0
	[[ -n $pid ]] || return 0
	kill -TERM "$pid" 2>/dev/null
	wait_for 3 eval "! running $pid" || kill -KILL "$pid" 2>/dev/null
}

cmd_down() {
	local lab=$1 slot
	[[ $lab == /* && -d $lab ]] || return 0
	for p in engine broker sink; do
		stop_pid "$lab/run/$p.pid"
	done
	slot=$(cat "$lab/.slot" 2>/dev/null)
	if [[ -n $slot ]]; then
		ip netns del "tglab$slot" 2>/dev/null
		ip link del "tglh$slot" 2>/dev/null
		rm -rf "$SLOTS/slot.$slot"
	fi
	[[ -n ${TGLAB_KEEP:-} ]] || rm -rf "$lab"
}

case ${1:-} in
up) [[ $# -ge 2 ]] || die "usage: lab.sh up LAB [DATA_PORT CONTROL_PORT API_PORT]"
	cmd_up "${@:2}" ;;
down) [[ $# -eq 2 ]] || die "usage: lab.sh down LAB"
	cmd_down "$2" ;;
*) die "usage: lab.sh up LAB [DATA_PORT CONTROL_PORT API_PORT] | down LAB" ;;
esac
