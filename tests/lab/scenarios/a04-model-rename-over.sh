#!/usr/bin/env bash
# scenario: a prepared model renamed over the real one by mv (not the deployer)
# kind: attack
# vector: model tampering
# expect: Twin model modified by non-deployer
# expect: Twin file integrity mismatch
# chain: script
# digest: models/model.json
set -euo pipefail
source "$LAB_ENV"
evil=/var/tmp/tglab-evil.$$
printf '{"name":"pump-7","version":1,"gain":0.01,"offset":0}\n' >"$evil"
mv -f "$evil" "$MODEL"
