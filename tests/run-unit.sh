#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Runs Criterion test binaries and sums their results.
#
#   tests/run-unit.sh BIN...
#
# Each binary runs from the repo root under ASan/UBSan settings that turn
# every finding into a crash, so a leak or UB fails the test it happened in.
# The last line is always "<label>: N passed, N failed", summed from each
# binary's "Synthesis:" line. A binary that exits non-zero, times out, or
# never prints a Synthesis line fails the run even if no test was counted.
#
# tests/run-integration.sh reuses this runner through two knobs:
#   TG_TEST_LABEL    label of the summary line (default "unit")
#   TG_TEST_TIMEOUT  seconds per binary, 0 = none (default 0)
set -uo pipefail

label=${TG_TEST_LABEL:-unit}
per_bin_timeout=${TG_TEST_TIMEOUT:-0}
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

tmp=$(mktemp -d "${TMPDIR:-/tmp}/tg-tests.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT

# Resolve names before changing directory so relative paths keep working.
bins=()
for b in "$@"; do
	bins+=("$(readlink -f -- "$b" || printf '%s' "$b")")
done
cd "$root" || exit 1

passed=0 failed=0 skipped=0 broken=0
if [[ ${#bins[@]} -eq 0 ]]; then
	echo "$label: no test binaries given" >&2
fi

for i in "${!bins[@]}"; do
	bin=${bins[$i]}
	name=${bin##*/}
	if [[ ! -x $bin || -d $bin ]]; then
		echo "$label: $bin: missing or not executable"
		failed=$((failed + 1))
		broken=1
		continue
	fi
	echo "== $label: $name"
	log=$tmp/$i.log
	tap=$tmp/$i.tap
	cmd=("$bin" "--tap=$tap")
	if [[ $per_bin_timeout != 0 ]]; then
		cmd=(timeout --kill-after=30 "$per_bin_timeout" "${cmd[@]}")
	fi
	"${cmd[@]}" 2>&1 | tee "$log"
	rc=${PIPESTATUS[0]}

	synth=$(sed 's/\x1b\[[0-9;]*m//g' "$log" |
		grep -oE 'Synthesis: Tested: [0-9]+ \| Passing: [0-9]+ \| Failing: [0-9]+ \| Crashing: [0-9]+' |
		tail -n 1)
	re='Passing: ([0-9]+) \| Failing: ([0-9]+) \| Crashing: ([0-9]+)'
	if [[ ! $synth =~ $re ]]; then
		if [[ $rc == 124 || $rc == 137 ]]; then
			echo "$label: $name: timed out after ${per_bin_timeout}s"
		else
			echo "$label: $name: exited $rc without a Criterion summary"
		fi
		failed=$((failed + 1))
		broken=1
		continue
	fi
	p=${BASH_REMATCH[1]} f=${BASH_REMATCH[2]} c=${BASH_REMATCH[3]}
	# Criterion 2.4 already counts a crashed test under Failing too;
	# adding Crashing would count it twice.
	((c > f)) && f=$c
	# A test whose body passed but whose process died afterwards (an
	# ASan leak report at exit, a crashing .fini) is still "Passing" in
	# the Synthesis line; Criterion only warns. Count it as failed.
	late=$(grep -c 'crashed during its setup or teardown' "$log")
	if ((late > p)); then late=$p; fi
	p=$((p - late))
	f=$((f + late))
	passed=$((passed + p))
	failed=$((failed + f))

	if [[ -s $tap ]]; then
		while IFS= read -r line; do
			echo "  skipped: ${line#ok - }"
			skipped=$((skipped + 1))
		done < <(grep -E '^ok .*# SKIP' "$tap")
	fi
	if [[ $rc != 0 && $f == 0 ]]; then
		echo "$label: $name: exited $rc although no test failed"
		failed=$((failed + 1))
		broken=1
	fi
done

if ((skipped > 0)); then
	echo "$label: $skipped skipped"
fi
echo "$label: $passed passed, $failed failed"
# tests/summary.sh adds these up into the closing line of `make test`
[[ -n ${TG_TEST_COUNTS:-} ]] && echo "$label $passed $failed $skipped" >>"$TG_TEST_COUNTS"
if ((failed > 0 || broken)); then
	exit 1
fi
exit 0
