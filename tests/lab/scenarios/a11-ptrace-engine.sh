#!/usr/bin/env bash
# scenario: the twin engine attached with ptrace (memory, keys and model weights exposed)
# kind: attack
# vector: unauthorized control-plane access
# expect: Twin service traced or memory accessed
# chain: script
set -euo pipefail
source "$LAB_ENV"
"$INTRUDER" ptrace "$ENGINE_PID"
