#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# run-fuzz.sh SECONDS BIN...: run each libFuzzer target for SECONDS on a
# copy of its seed corpus (tests/fuzz/corpus_<name>/). A crash, leak or
# sanitizer report fails the run; the reproducer is kept in .output/fuzz/.
set -uo pipefail
secs=$1
shift
failed=0
ran=0
for bin in "$@"; do
	name=$(basename "$bin")
	seeds=tests/fuzz/corpus_${name#fuzz_}
	work=$(mktemp -d)
	[ -d "$seeds" ] && cp -r "$seeds"/. "$work"/
	echo "== fuzz: $name (${secs}s)"
	if "$bin" -max_total_time="$secs" -max_len=1024 -artifact_prefix=.output/fuzz/ \
		-print_final_stats=1 "$work" >".output/fuzz/$name.log" 2>&1; then
		grep -E "stat::number_of_executed_units|Done [0-9]+ runs" ".output/fuzz/$name.log" | tail -2
	else
		failed=$((failed + 1))
		tail -n 30 ".output/fuzz/$name.log"
	fi
	ran=$((ran + 1))
	rm -rf "$work"
done
if ((ran > 0)); then
	echo "fuzz: $((ran - failed)) passed, $failed failed"
	[[ -n ${TG_TEST_COUNTS:-} ]] && echo "fuzz $((ran - failed)) $failed 0" >>"$TG_TEST_COUNTS"
fi
[ "$failed" -eq 0 ]
