#!/usr/bin/env bash
# scenario: bytes inside the design model changed in place; name and size stay
# kind: attack
# vector: model tampering
# expect: Twin file integrity mismatch
# chain: script
# digest: models/design.bin
set -euo pipefail
source "$LAB_ENV"
# one 4 KiB block rewritten at offset 40 KiB, nothing truncated
dd if=/dev/urandom of="$DESIGN" bs=4096 count=1 seek=10 conv=notrunc status=none
