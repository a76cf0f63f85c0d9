#!/usr/bin/env bash
# scenario: the model made world-writable (bytes unchanged, mode differs)
# kind: attack
# vector: model tampering
# expect: Twin model modified by non-deployer
# expect: Twin file integrity mismatch
# chain: script
# digest: models/model.json
set -euo pipefail
source "$LAB_ENV"
chmod 0666 "$MODEL"
