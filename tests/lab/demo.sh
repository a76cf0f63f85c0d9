#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# `make demo`: the twin lab (tests/lab/lab.sh) under the agent, every
# scenario of tests/lab/scenarios run in turn, a timeline of what each one
# raised, and a summary table. Everything is cleaned up on exit, Ctrl-C
# included.
#
#   tests/lab/demo.sh [SCENARIO...]     (default: all, benign ones first)
#
# Each scenario declares in its header what it is (kind: attack|benign),
# what must catch it (expect: RULE, one line each) and whose process tree
# the alerts belong to (chain: script, or engine for code the twin engine
# runs). An alert belongs to a scenario when its process, parent or an
# ancestor is the scenario's shell (or, for chain: engine, the engine, from
# the moment the scenario started). Knobs: TGLAB_PAUSE (seconds between
# scenarios, default 1), TGLAB_WAIT (seconds to wait for expected alerts,
# default 10), TGLAB_KEEP=1 (keep the lab directory and the agent's files).
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
LABSH=$ROOT/tests/lab/lab.sh
TG=$ROOT/.output/twinguard
PAUSE=${TGLAB_PAUSE:-1}
WAIT=${TGLAB_WAIT:-10}
LAB= AGENT_PID= ALERTS=

if [[ -t 1 ]]; then
	B=$'\e[1m' R=$'\e[31m' G=$'\e[32m' Y=$'\e[33m' D=$'\e[2m' N=$'\e[0m'
else
	B= R= G= Y= D= N=
fi

cleanup() {
	trap - EXIT INT TERM
	if [[ -n $AGENT_PID ]]; then
		kill -INT "$AGENT_PID" 2>/dev/null
		for _ in $(seq 50); do kill -0 "$AGENT_PID" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$AGENT_PID" 2>/dev/null
	fi
	[[ -n $LAB ]] && "$LABSH" down "$LAB"
	echo "${D}demo: cleaned up${N}"
}
trap cleanup EXIT
trap 'echo; echo "demo: interrupted"; exit 130' INT TERM

die() {
	echo "demo: $*" >&2
	exit 1
}

header() { sed -n "s/^# $2: //p" "$1"; }

# Alerts (one JSON object per line) that belong to pid's tree.
tree_alerts() {
	local pid=$1 since=${2:-}
	# -R + fromjson?: the agent may be mid-line; a partial last line is skipped
	jq -c -R --argjson p "$pid" --arg since "$since" '
		fromjson? | select(.event.kind == "alert")
		| select(.process.pid == $p or .process.parent.pid == $p
			 or any(.process.ancestors[]?; .pid == $p))
		| select($since == "" or .event.created >= $since)' "$ALERTS" 2>/dev/null
}

# A scenario's alerts: its script's tree, plus (chain: engine) what the
# engine's tree raised since the scenario began.
scenario_alerts() {
	tree_alerts "$1"
	if [[ $2 == engine ]]; then
		tree_alerts "$ENGINE_PID" "$3"
	fi
	return 0
}

show_alert() {
	jq -r --arg d "$D" --arg n "$N" --arg y "$Y" '
		def chain: [.process, .process.parent, (.process.ancestors[]?)]
			    | map(select(.executable != null)) | reduce .[] as $x ([];
				if any(.[]; .pid == $x.pid) then . else . + [$x] end)
			    | .[0:4] | map(.executable | split("/") | last) | join(" <- ");
		"    \($y)[\(.twinguard.alert.priority // .event.severity)]\($n) \(.rule.name)\n"
		+ "      \($d)chain:\($n) \(chain) \($d)pid\($n) \(.process.pid // "-")"
		+ (if .file.path then "\n      \($d)file:\($n) \(.file.path)" else "" end)
		+ (if .destination.ip then "  \($d)dest:\($n) \(.destination.ip):\(.destination.port)" else "" end)
		+ (if .twinguard.integrity.expected_sha256 then
			"\n      \($d)expected:\($n) \(.twinguard.integrity.expected_sha256[0:16])…"
			+ "  \($d)actual:\($n) \((.file.hash.sha256 // "gone")[0:16])…"
			+ (if .file.mode != .twinguard.integrity.expected_mode and .file.mode then
			   "  \($d)mode:\($n) \(.twinguard.integrity.expected_mode) -> \(.file.mode)" else "" end)
		   else "" end)'
}

start_agent() {
	local dir=$1
	ALERTS=$dir/alerts.json
	: >"$dir/agent.conf"
	printf 'manifest = %s/manifest.json\nflow_flush_ms = 200\n' "$LAB" >"$dir/agent.conf"
	"$TG" run --config "$dir/agent.conf" --rules-dir "$ROOT/rules" --local-dir "$dir/rules.d" \
		--profile "$LAB/profile.json" --output "$ALERTS" 2>"$dir/agent.err" &
	AGENT_PID=$!
	for _ in $(seq 100); do
		grep -q attached "$dir/agent.err" 2>/dev/null && return 0
		kill -0 "$AGENT_PID" 2>/dev/null || break
		sleep 0.1
	done
	die "agent did not start: $(cat "$dir/agent.err")"
}

# Run one scenario; print its timeline entry; append a summary row.
run_scenario() {
	local f=$1 name kind chain pid since got names missing=() rules=()
	name=$(basename "$f" .sh)
	kind=$(header "$f" kind)
	chain=$(header "$f" chain)
	mapfile -t rules < <(header "$f" expect)
	since=$(date -u +%Y-%m-%dT%H:%M:%S.%NZ)
	printf '\n%s%s%s  %s[%s]%s %s\n' "$B" "$(date +%T)" "$N" "$D" "$kind" "$N" "$(header "$f" scenario)"
	printf '  %s%s%s\n' "$D" "$name.sh" "$N"
	LAB_ENV=$LAB/lab.env bash "$f" >"$DEMO_DIR/$name.out" 2>&1 &
	pid=$!
	wait "$pid" || printf '  %sscript exited %d:%s %s\n' "$R" $? "$N" "$(tail -1 "$DEMO_DIR/$name.out")"
	# wait (bounded) until every expected rule is in (integrity checks and
	# flow thresholds are asynchronous), or a short settle for benign ones
	for ((i = 0; i < (${#rules[@]} ? WAIT * 10 : 15); i++)); do
		got=$(scenario_alerts "$pid" "$chain" "$since" | sort -u)
		names=$(jq -r '.rule.name' <<<"$got" 2>/dev/null)
		missing=()
		for r in "${rules[@]}"; do
			grep -qxF -- "$r" <<<"$names" || missing+=("$r")
		done
		((${#rules[@]} && ${#missing[@]} == 0)) && break
		sleep 0.1
	done
	if [[ -n $got ]]; then
		echo "$got" | show_alert
	else
		echo "    ${D}(no alert)${N}"
	fi
	local n=0
	[[ -n $got ]] && n=$(echo "$got" | wc -l)
	if [[ $kind == attack ]]; then
		if ((${#missing[@]})); then
			ROWS+=("$name|attack|${R}MISSED${N} (${missing[*]})|$n")
			MISSED=$((MISSED + 1))
		else
			ROWS+=("$name|attack|${G}caught${N}|$n")
			CAUGHT=$((CAUGHT + 1))
		fi
	elif ((n)); then
		ROWS+=("$name|benign|${R}FALSE ALARM${N}|$n")
		FALSE=$((FALSE + 1))
	else
		ROWS+=("$name|benign|${G}quiet${N}|0")
		QUIET=$((QUIET + 1))
	fi
	sleep "$PAUSE"
}

summary() {
	printf '\n%sSummary%s\n' "$B" "$N"
	printf '  %-32s %-7s %-8s %s\n' scenario kind alerts result
	for row in "${ROWS[@]}"; do
		IFS='|' read -r name kind result n <<<"$row"
		printf '  %-32s %-7s %-8s %s\n' "$name" "$kind" "$n" "$result"
	done
	printf '\n  attacks: %d caught, %d missed; benign: %d quiet, %d false alarms\n' \
		"$CAUGHT" "$MISSED" "$QUIET" "$FALSE"
	printf '  agent: %s\n' "$(grep -o 'stats .*' "$DEMO_DIR/agent.err" | tail -1)"
}

main() {
	[[ $(id -u) -eq 0 ]] || die "run as root (the agent loads BPF programs)"
	local files=()
	if (($#)); then
		for s in "$@"; do files+=("$ROOT/tests/lab/scenarios/${s%.sh}.sh"); done
	else
		files=("$ROOT"/tests/lab/scenarios/b*.sh "$ROOT"/tests/lab/scenarios/a*.sh)
	fi
	LAB=$(mktemp -u /var/lib/tglab-demo.XXXXXX)
	"$LABSH" up "$LAB" || die "lab did not come up"
	DEMO_DIR=$LAB/demo
	mkdir -p "$DEMO_DIR/rules.d"
	start_agent "$DEMO_DIR"
	. "$LAB/lab.env"
	printf '%sTwin lab%s at %s; agent pid %d; %d scenarios\n' "$B" "$N" "$LAB" "$AGENT_PID" "${#files[@]}"
	ROWS=() CAUGHT=0 MISSED=0 QUIET=0 FALSE=0
	for f in "${files[@]}"; do
		[[ -f $f ]] || die "no scenario $f"
		run_scenario "$f"
	done
	kill -INT "$AGENT_PID" 2>/dev/null
	wait "$AGENT_PID" 2>/dev/null
	AGENT_PID=
	summary
	[[ -n ${TGLAB_KEEP:-} ]] && echo "  kept: $LAB (alerts: $ALERTS)"
	((MISSED == 0 && FALSE == 0))
}

main "$@"
