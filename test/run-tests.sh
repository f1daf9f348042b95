#!/bin/bash
# "make test": install what is missing, build, and run every suite:
#   unit tests of src/ck, ckemu's protocol tests, the round-trip delay
#   proxy's protocol checks (test/netdelay_test), the fuzz corpora replayed
#   through the fuzz harnesses, the CloudKit JS check, the pg_regress
#   suites against a throw-away cluster and ckemu, the scenarios with
#   several sessions at once, the fault matrix, and the README's example.
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

make_work_dir
trap 'stop_ckemus; rm -rf "$WORK_DIR"' EXIT

echo "=== build"
if ! make -s all >"$WORK_DIR/build.log" 2>&1 || ! install_private >>"$WORK_DIR/build.log" 2>&1; then
	cat "$WORK_DIR/build.log"
	echo "0 passed, 1 failed"
	exit 1
fi
grep -i 'warning:' "$WORK_DIR/build.log" || true
make_test_keys "$WORK_DIR"

run_suite unit test/unit/unit_tests
run_suite ckemu test/ckemu/tests/ckemu_tests --ckemu test/ckemu/ckemu --data test/data
run_suite netdelay test/netdelay_test --netdelay test/netdelay
run_suite fuzz-corpus test/fuzz/run-replay.sh
if command -v node >/dev/null 2>&1; then
	run_suite cloudkit-js test/ckemu/js/run-check.sh
else
	echo "=== cloudkit-js: skipped, Node.js is not installed"
fi
run_suite regress test/regress.sh
run_suite scenarios test/scenarios/run-scenarios.sh
run_suite fault-matrix test/scenarios/fault-matrix.sh
run_suite readme test/readme-check.sh

echo "=== summary"
printf '%s\n' "${SUMMARY[@]}"
echo "$TOTAL_PASSED passed, $TOTAL_FAILED failed"
[ "$TOTAL_FAILED" -eq 0 ]
