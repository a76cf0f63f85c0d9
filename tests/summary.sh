#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# summary.sh COUNTS: the closing line of `make test`, summed over the
# suites that ran ("label passed failed skipped" per line).
set -uo pipefail
awk '{ p += $2; f += $3; s += $4; n++ }
     END { if (n == 0) { print "tests: no suite ran"; exit 1 }
           printf "tests: %d passed, %d failed", p, f; if (s) printf ", %d skipped", s; print "";
           exit f > 0 }' "$1"
