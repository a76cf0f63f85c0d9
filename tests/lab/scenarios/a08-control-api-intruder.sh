#!/usr/bin/env bash
# scenario: an unapproved program (curl, with a stolen token) commands the twin's API
# kind: attack
# vector: unauthorized control-plane access
# expect: Twin control port used by unauthorized process
# chain: script
set -euo pipefail
source "$LAB_ENV"
curl -s -m 5 -X POST -H "X-Twin-Token: $TOKEN" -H 'Content-Type: application/json' \
	-d '{"op":"setpoint","value":9000}' "http://127.0.0.1:$API_PORT/cmd" >/dev/null
