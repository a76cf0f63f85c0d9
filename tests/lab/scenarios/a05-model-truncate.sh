#!/usr/bin/env bash
# scenario: the design model truncated to nothing
# kind: attack
# vector: model tampering
# expect: Twin model modified by non-deployer
# expect: Twin file integrity mismatch
# chain: script
# digest: models/design.bin
set -euo pipefail
source "$LAB_ENV"
truncate -s 0 "$DESIGN"
