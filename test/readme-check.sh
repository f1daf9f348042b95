#!/bin/bash
# readme-check.sh: runs the README's "A complete example" as written, so the
# manual cannot drift from the product: its sh block (ckemu in the
# background) and then its SQL block in a throw-away cluster.  Two
# substitutions keep concurrent runs apart, and nothing else is changed:
# the fixed port 8642 becomes a free one, and /tmp/ckfdw-example a private
# directory.  Ends with "readme: N passed, M failed".
set -uo pipefail

cd "$(dirname "$0")/.." || exit 1
source test/lib.sh

PASSED=0
FAILED=0
check()
{
	local what=$1
	shift
	if "$@"; then
		PASSED=$((PASSED + 1))
	else
		FAILED=$((FAILED + 1))
		echo "FAILED: $what"
	fi
}

# block LANG: the first ```LANG block of the "A complete example" section
block()
{
	awk -v lang="$1" '
		/^## / { insec = ($0 == "## A complete example") }
		insec && !done && $0 == "```" lang { inblk = 1; next }
		inblk && /^```/ { inblk = 0; done = 1 }
		inblk { print }' README.md
}

free_port()
{
	local p
	for p in $(shuf -i 20000-40000 -n 50); do
		(exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
	done
	return 1
}

make_work_dir
CKEMU_PID=""
trap '[ -n "$CKEMU_PID" ] && kill "$CKEMU_PID" 2>/dev/null; rm -rf "$WORK_DIR"' EXIT
port=$(free_port) || { echo "readme: 0 passed, 1 failed (no free port)"; exit 1; }
example=$WORK_DIR/example
edit()
{
	sed -e "s|127\.0\.0\.1:8642|127.0.0.1:$port|g" -e "s|/tmp/ckfdw-example|$example|g"
}

block sh | edit >"$WORK_DIR/example.sh"
block sql | edit >"$WORK_DIR/example.sql"
check "the example has an sh block and an SQL block" \
	test -s "$WORK_DIR/example.sh" -a -s "$WORK_DIR/example.sql"

# the sh block starts ckemu in the background: $! is its PID afterwards
source "$WORK_DIR/example.sh" >"$WORK_DIR/sh.out" 2>&1
CKEMU_PID=$!
for _ in $(seq 1 100); do
	curl -sf "http://127.0.0.1:$port/_ckemu/stats" >/dev/null && break
	sleep 0.1
done
check "the sh block starts ckemu on its port" curl -sf "http://127.0.0.1:$port/_ckemu/stats" -o /dev/null
chmod 755 "$example"

test/with-cluster.sh psql -X -v ON_ERROR_STOP=1 -f "$WORK_DIR/example.sql" >"$WORK_DIR/sql.out" 2>&1
rc=$?
check "the SQL block runs without an error" test "$rc" -eq 0
# the SELECT's row count comes first; EXPLAIN's follows and must not count
first_count=$(grep -m1 -E '^\([0-9]+ rows?\)' "$WORK_DIR/sql.out")
check "the query returns artists" test -n "$first_count" -a "$first_count" != "(0 rows)"
check "EXPLAIN shows the CloudKit request" grep -q 'records/query' "$WORK_DIR/sql.out"
if [ "$FAILED" -ne 0 ]; then
	cat "$WORK_DIR/sh.out" "$WORK_DIR/sql.out"
fi
echo "readme: $PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
