#!/bin/bash
# "make test": install what is missing, build, and run every suite:
#   unit tests of src/ck, ckemu's protocol tests, the fuzz corpora replayed
#   through the fuzz harnesses, the CloudKit JS check,
#   the pg_regress suites against a throw-away cluster and ckemu, and the
#   scenarios with several sessions at once.
# Ends with one line "N passed, M failed"; exits non-zero on any failure.
set -uo pipefail

cd "$(dirname "$0")/.."
source test/lib.sh

test/install-deps.sh || exit 1

TOTAL_PASSED=0
TOTAL_FAILED=0
SUMMARY=()

# run_suite NAME COMMAND...: runs a suite whose last summary line is
# "N passed, M failed"; a suite that ends without one counts as one failure.
run_suite()
{
	local name=$1
	shift
	echo "=== $name"
	local log="$WORK_DIR/$name.log"
	"$@" 2>&1 | tee "$log"
	local rc=${PIPESTATUS[0]}
	local line
	line=$(grep -E '[0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1)
	if [ -z "$line" ]; then
		SUITE_PASSED=0
		SUITE_FAILED=1
	else
		count_results "$line"
		[ "$rc" -ne 0 ] && [ "$SUITE_FAILED" -eq 0 ] && SUITE_FAILED=1
	fi
	TOTAL_PASSED=$((TOTAL_PASSED + SUITE_PASSED))
	TOTAL_FAILED=$((TOTAL_FAILED + SUITE_FAILED))
	SUMMARY+=("$(printf '%-14s %4d passed, %d failed' "$name" "$SUITE_PASSED" "$SUITE_FAILED")")
}

# pg_regress, inside a throw-away cluster (pg_virtualenv), against two
# ckemus: the sample container, and a slow one for cancellation tests.
run_regress()
{
	start_ckemu main || return 1
	start_ckemu slow --latency-ms 5000 || return 1
	export CKEMU_URL=$CKEMU_URL_main CKEMU_SLOW_URL=$CKEMU_URL_slow
	rm -rf test/results
	pg_virtualenv -t -v "${PG_MAJOR:-15}" make -s installcheck >"$WORK_DIR/regress.out" 2>&1
	local rc=$?
	cat "$WORK_DIR/regress.out"
	local ok failed suites
	ok=$(grep -cE '\.\.\. ok' "$WORK_DIR/regress.out")
	failed=$(grep -cE '\.\.\. FAILED|\.\.\. failed' "$WORK_DIR/regress.out")
	# a suite pg_regress never reached (it stops at a missing file) failed
	suites=$(ls sql/[0-9]*.sql | wc -l)
	[ $((ok + failed)) -lt "$suites" ] && failed=$((suites - ok))
	[ "$rc" -ne 0 ] && [ "$failed" -eq 0 ] && failed=1
	[ -f test/results/regression.diffs ] && head -n 300 test/results/regression.diffs
	stop_ckemus
	echo "regress: $ok passed, $failed failed"
	[ "$failed" -eq 0 ]
}

make_work_dir
trap 'stop_ckemus; rm -rf "$WORK_DIR"' EXIT

echo "=== build"
if ! make -s all >"$WORK_DIR/build.log" 2>&1 || ! make -s install >>"$WORK_DIR/build.log" 2>&1; then
	cat "$WORK_DIR/build.log"
	echo "0 passed, 1 failed"
	exit 1
fi
grep -i 'warning:' "$WORK_DIR/build.log" || true
make_test_keys "$WORK_DIR"

run_suite unit test/unit/unit_tests
run_suite ckemu test/ckemu/tests/ckemu_tests --ckemu test/ckemu/ckemu --data test/data
run_suite fuzz-corpus test/fuzz/run-replay.sh
if command -v node >/dev/null 2>&1; then
	run_suite cloudkit-js test/ckemu/js/run-check.sh
else
	echo "=== cloudkit-js: skipped, Node.js is not installed"
fi
run_suite regress run_regress
run_suite scenarios test/scenarios/run-scenarios.sh

echo "=== summary"
printf '%s\n' "${SUMMARY[@]}"
echo "$TOTAL_PASSED passed, $TOTAL_FAILED failed"
[ "$TOTAL_FAILED" -eq 0 ]
