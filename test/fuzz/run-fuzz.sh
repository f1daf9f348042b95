#!/bin/bash
# "make fuzz": run each libFuzzer target (test/fuzz/bin/fuzz_<target>) for
# FUZZ_SECONDS (default 60) on one core, starting from the committed corpus
# test/fuzz/corpus/<target>.  New inputs go to test/fuzz/work/<target>
# (not committed: keep an interesting one by copying it into the corpus),
# crashes to test/fuzz/artifacts/.  Prints one line per target and ends
# with "N passed, M failed" (a target that crashed failed).
set -uo pipefail

cd "$(dirname "$0")/../.."

seconds=${FUZZ_SECONDS:-60}
[ $# -gt 0 ] || set -- $(cd test/fuzz && ls fuzz_*.c | sed 's/\.c$//')
mkdir -p test/fuzz/artifacts
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}

passed=0
failed=0
summary=()
for name in "$@"; do
	target=${name#fuzz_}
	work=test/fuzz/work/$target
	log=test/fuzz/work/$target.log
	mkdir -p "$work"
	dict=()
	[ -f "test/fuzz/$target.dict" ] && dict=(-dict="test/fuzz/$target.dict")
	echo "=== fuzz $target: $seconds s"
	# -timeout: an input that takes a second is a hang worth reporting
	"test/fuzz/bin/fuzz_$target" "$work" "test/fuzz/corpus/$target" "${dict[@]}" \
		-max_total_time="$seconds" -timeout=5 -max_len=16384 -print_final_stats=1 \
		-artifact_prefix="test/fuzz/artifacts/$target-" >"$log" 2>&1
	rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	inputs=$(ls "$work" | wc -l)
	if [ "$rc" -eq 0 ]; then
		passed=$((passed + 1))
		result="no crash"
	else
		failed=$((failed + 1))
		result="FAILED (exit $rc): $(grep -m1 -E 'ERROR:|runtime error|Test unit written' "$log")"
		grep -E -A30 'ERROR:|runtime error' "$log" | head -n 40
	fi
	summary+=("$(printf '%-10s %10s runs, %5d new inputs, %s' "$target" "${execs:-?}" "$inputs" "$result")")
done
echo "=== fuzz summary ($seconds s per target; logs in test/fuzz/work/)"
printf '%s\n' "${summary[@]}"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
