#!/bin/bash
# The "fuzz-corpus" suite of "make test": every fuzz harness, built with
# the standalone driver and the sanitizers (make fuzz-replay, no clang
# needed), runs every file of its committed corpus once.  Inputs that once
# crashed src/ck live in the corpora too, so this is also the regression
# test for what "make fuzz" found.  Ends with "N passed, M failed".
set -uo pipefail

cd "$(dirname "$0")/../.."
source test/lib.sh

if ! make -s fuzz-replay; then
	echo "fuzz-corpus: the replay binaries did not build"
	echo "0 passed, 1 failed"
	exit 1
fi

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}

passed=0
failed=0
for bin in test/fuzz/replay/fuzz_*; do
	target=${bin##*/fuzz_}
	out=$("$bin" "test/fuzz/corpus/$target" 2>&1)
	echo "$out"
	line=$(tail -n 1 <<<"$out")
	if [[ $line =~ ([0-9]+)\ passed,\ ([0-9]+)\ failed ]]; then
		passed=$((passed + BASH_REMATCH[1]))
		failed=$((failed + BASH_REMATCH[2]))
	else
		failed=$((failed + 1))
	fi
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
