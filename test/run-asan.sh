#!/bin/bash
# "make check-asan": the unit tests of src/ck and ckemu's protocol tests,
# built with AddressSanitizer and UBSan (test/asan/, see the Makefile),
# against an instrumented ckemu.  Any sanitizer report fails the run:
# UBSan halts on the first finding, LeakSanitizer checks every process at
# exit (the protocol tests fail a ckemu that exits non-zero).
# Ends with one line "N passed, M failed".
set -uo pipefail

cd "$(dirname "$0")/.."
source test/lib.sh

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:strict_string_checks=1:detect_stack_use_after_return=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$PWD/test/asan.supp:print_suppressions=0}

TOTAL_PASSED=0
TOTAL_FAILED=0

# asan_suite NAME COMMAND...: counts the suite's "N passed, M failed"; a
# suite that dies without one (a sanitizer report) counts as one failure,
# and so does a report in a suite that otherwise passed.
asan_suite()
{
	local name=$1
	shift
	echo "=== $name (asan)"
	local log
	log=$(mktemp /tmp/ckfdw-asan.XXXXXX)
	"$@" >"$log" 2>&1
	local rc=$?
	cat "$log"
	local line
	line=$(grep -E '[0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1)
	if [ -z "$line" ]; then
		SUITE_PASSED=0
		SUITE_FAILED=1
	else
		count_results "$line"
	fi
	if [ "$SUITE_FAILED" -eq 0 ] && { [ "$rc" -ne 0 ] || grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$log"; }; then
		SUITE_FAILED=1
	fi
	rm -f "$log"
	TOTAL_PASSED=$((TOTAL_PASSED + SUITE_PASSED))
	TOTAL_FAILED=$((TOTAL_FAILED + SUITE_FAILED))
}

asan_suite unit test/asan/unit_tests
asan_suite ckemu test/asan/ckemu_tests --ckemu test/asan/ckemu --data test/data

echo "$TOTAL_PASSED passed, $TOTAL_FAILED failed"
[ "$TOTAL_FAILED" -eq 0 ]
