#!/usr/bin/env bash
# scenario: the approved operator client reads state and sends set-points (API and MQTT)
# kind: benign
set -euo pipefail
source "$LAB_ENV"
"$LAB_BIN/twin-operator" --config "$CONF" state >/dev/null
"$LAB_BIN/twin-operator" --config "$CONF" setpoint 42 >/dev/null
"$LAB_BIN/twin-operator" --config "$CONF" mqtt-setpoint 43 >/dev/null
