#!/bin/bash
# regress.sh [SUITE...]: the pg_regress suites (all, or the ones named, e.g.
# "030_scan 200_modify") against four fresh ckemus -- the sample container,
# a slow one for cancellation tests, one serving HTTPS with a test CA's
# certificate (018_tls), and one rotating web-auth tokens on every answer
# (445_web_auth_tokens) -- in a throw-away cluster (test/with-cluster.sh).  Assumes "make all"; installs into a private tree
# unless CKFDW_PG_TREE names one.  Ends with "regress: N passed, M failed".
set -uo pipefail

cd "$(dirname "$0")/.." || exit 1
source test/lib.sh

make_work_dir
trap 'stop_ckemus; rm -rf "$WORK_DIR"' EXIT
trap 'exit 130' INT TERM
make_test_keys "$WORK_DIR"
if [ -z "${CKFDW_PG_TREE:-}" ] && ! install_private >"$WORK_DIR/install.log" 2>&1; then
	cat "$WORK_DIR/install.log"
	echo "regress: 0 passed, 1 failed"
	exit 1
fi
if ! start_ckemu main || ! start_ckemu slow --latency-ms 5000 || ! start_ckemu tls --tls ||
	! start_ckemu rotating --rotate-web-auth-tokens; then
	echo "regress: 0 passed, 1 failed"
	exit 1
fi
# shellcheck disable=SC2154	# set by start_ckemu
export CKEMU_URL=$CKEMU_URL_main CKEMU_SLOW_URL=$CKEMU_URL_slow CKEMU_TLS_URL=$CKEMU_URL_tls
# web-auth tokens good for one round trip, as CloudKit's
export CKEMU_ROTATING_URL=$CKEMU_URL_rotating

suites=("$@")
[ ${#suites[@]} -eq 0 ] && mapfile -t suites < <(ls sql/[0-9]*.sql | xargs -n1 basename | sed 's/\.sql$//')
rm -rf test/results
test/with-cluster.sh make -s installcheck REGRESS="${suites[*]}" >"$WORK_DIR/regress.out" 2>&1
rc=$?
cat "$WORK_DIR/regress.out"
ok=$(grep -cE '\.\.\. ok' "$WORK_DIR/regress.out")
failed=$(grep -cE '\.\.\. FAILED|\.\.\. failed' "$WORK_DIR/regress.out")
# a suite pg_regress never reached (it stops at a missing file) failed
[ $((ok + failed)) -lt ${#suites[@]} ] && failed=$((${#suites[@]} - ok))
[ "$rc" -ne 0 ] && [ "$failed" -eq 0 ] && failed=1
[ -f test/results/regression.diffs ] && head -n 300 test/results/regression.diffs
echo "regress: $ok passed, $failed failed"
[ "$failed" -eq 0 ]
