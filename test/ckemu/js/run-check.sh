#!/bin/bash
#
# run-check.sh: run Apple's CloudKit JS client (check.js) against ckemu.
#
# Starts ckemu on a free port with a fresh server-to-server key, the gallery
# schema and seed, runs "node check.js", stops ckemu and prints
# "cloudkit-js: N passed, M failed".  Without Node it prints a skip line and
# exits 0.
#
# Usage: test/ckemu/js/run-check.sh [path/to/ckemu]   (from anywhere)
#
set -u

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
ckemu=${1:-$root/test/ckemu/ckemu}

if ! command -v node >/dev/null 2>&1; then
	echo "cloudkit-js: skipped (node is not installed)"
	exit 0
fi
if [ ! -x "$ckemu" ]; then
	echo "run-check.sh: $ckemu not built (make test/ckemu/ckemu)" >&2
	echo "cloudkit-js: 0 passed, 1 failed"
	exit 1
fi
if [ ! -f "$here/node_modules/tsl-apple-cloudkit/lib/index.js" ]; then
	# --ignore-scripts: the package ships cloudkit.js; its install script
	# would try to download it again from Apple's CDN
	if ! (cd "$here" && npm install --ignore-scripts --no-audit --no-fund >/dev/null 2>&1) ||
		[ ! -f "$here/node_modules/tsl-apple-cloudkit/lib/index.js" ]; then
		echo "run-check.sh: npm install --ignore-scripts failed in $here" >&2
		echo "cloudkit-js: 0 passed, 1 failed"
		exit 1
	fi
fi

tmp=$(mktemp -d /tmp/ckemu-js-XXXXXX)
pid=
cleanup()
{
	if [ -n "$pid" ]; then
		kill "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT

openssl ecparam -name prime256v1 -genkey -noout -out "$tmp/key.pem" &&
	openssl ec -in "$tmp/key.pem" -pubout -out "$tmp/pub.pem" 2>/dev/null || {
	echo "run-check.sh: openssl could not make a key" >&2
	echo "cloudkit-js: 0 passed, 1 failed"
	exit 1
}

"$ckemu" --listen 127.0.0.1:0 --port-file "$tmp/port" \
	--s2s-key "ckjs-key=$tmp/pub.pem" \
	--schema "$root/test/data/gallery.ckdb" --data "$root/test/data/gallery.json" \
	>"$tmp/ckemu.log" 2>&1 &
pid=$!

port=
for _ in $(seq 1 200); do
	if [ -s "$tmp/port" ]; then
		port=$(tr -dc '0-9' <"$tmp/port")
		[ -n "$port" ] && [ "$port" -gt 0 ] && break
	fi
	if ! kill -0 "$pid" 2>/dev/null; then
		break
	fi
	sleep 0.05
done
if [ -z "$port" ]; then
	echo "run-check.sh: ckemu did not start; its log:" >&2
	cat "$tmp/ckemu.log" >&2
	echo "cloudkit-js: 0 passed, 1 failed"
	exit 1
fi

out=$(cd "$here" && CKEMU_URL="http://127.0.0.1:$port" CK_KEY_ID=ckjs-key CK_KEY_FILE="$tmp/key.pem" \
	timeout 120 node check.js 2>&1)
rc=$?
echo "$out"
if ! grep -q '^cloudkit-js: [0-9]* passed, [0-9]* failed$' <<<"$out"; then
	echo "cloudkit-js: 0 passed, 1 failed"
	rc=1
fi
if [ $rc -ne 0 ]; then
	echo "--- ckemu log (tail) ---" >&2
	tail -20 "$tmp/ckemu.log" >&2
fi
exit $rc
