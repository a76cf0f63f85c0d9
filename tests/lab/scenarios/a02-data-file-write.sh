#!/usr/bin/env bash
# scenario: rows appended straight into the twin's stored sensor history
# kind: attack
# vector: data poisoning
# expect: Twin data file modified by unexpected process
# chain: script
set -euo pipefail
source "$LAB_ENV"
printf '3,flow,-500.0\n4,flow,-500.0\n' >>"$HISTORY"
