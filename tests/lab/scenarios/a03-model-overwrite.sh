#!/usr/bin/env bash
# scenario: the model overwritten in place by cp (not the deployer)
# kind: attack
# vector: model tampering
# expect: Twin model modified by non-deployer
# expect: Twin file integrity mismatch
# chain: script
# digest: models/model.json
set -euo pipefail
source "$LAB_ENV"
evil=/var/tmp/tglab-evil.$$
printf '{"name":"pump-7","version":1,"gain":50.0,"offset":0}\n' >"$evil"
cp "$evil" "$MODEL"
rm -f "$evil"
