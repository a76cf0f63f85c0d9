#!/usr/bin/env bash
# scenario: the twin engine's memory read through /proc/<pid>/mem
# kind: attack
# vector: unauthorized control-plane access
# expect: Process memory opened through procfs
# chain: script
set -euo pipefail
source "$LAB_ENV"
"$INTRUDER" procmem "$ENGINE_PID"
