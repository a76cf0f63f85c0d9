#!/usr/bin/env bash
# scenario: the approved deployer installs model v2 and the engine reloads it
# kind: benign
# settle: models/model.json
set -euo pipefail
source "$LAB_ENV"
"$LAB_BIN/twin-deploy" --config "$CONF" --from "$LAB/incoming/model-v2.json"
