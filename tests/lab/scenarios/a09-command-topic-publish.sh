#!/usr/bin/env bash
# scenario: a command published on the broker's control listener by an unapproved client
# kind: attack
# vector: unauthorized control-plane access
# expect: Twin control port used by unauthorized process
# chain: script
set -euo pipefail
source "$LAB_ENV"
mosquitto_pub -h 127.0.0.1 -p "$CONTROL_PORT" -q 1 -t twin/cmd/setpoint \
	-m '{"token":"guessed","op":"setpoint","value":0}'
