#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Runs the integration (behaviour) test binaries: they load the real BPF
# programs, so they need root. They are part of `make test`, not optional:
# without root this fails instead of skipping everything quietly.
#
#   tests/run-integration.sh BIN...
#
# Same runner as tests/run-unit.sh, with a 600 s limit per binary and the
# summary line "integration: N passed, N failed" (plus "integration: N
# skipped" and each skip's reason when Criterion skipped any).
set -uo pipefail

if [[ $(id -u) -ne 0 ]]; then
	echo "integration: tests load BPF programs and need root (running as uid $(id -u));" \
		"run 'sudo make integration'" >&2
	exit 1
fi

TG_TEST_LABEL=integration TG_TEST_TIMEOUT=600 \
	exec "$(dirname "${BASH_SOURCE[0]}")/run-unit.sh" "$@"
