#!/usr/bin/env bash
# scenario: the approved gateway publishes sensor readings
# kind: benign
set -euo pipefail
source "$LAB_ENV"
"$LAB_BIN/twin-gateway" --config "$CONF" --count 20 --interval-ms 10 --sensor flow
