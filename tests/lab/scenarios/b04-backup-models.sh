#!/usr/bin/env bash
# scenario: the nightly backup archives models and config to a local directory
# kind: benign
set -euo pipefail
source "$LAB_ENV"
tar czf "$LAB/backup/twin-$(date +%Y%m%d%H%M%S).tgz" -C "$LAB" models config
