#!/bin/bash
# "make demo": CloudKit records from ckemu's sample art gallery, queried with
# SQL, joined with a local table and copied into a local table.  Starts a
# throw-away cluster and ckemu, runs test/demo.sql, and stops both.
set -euo pipefail

cd "$(dirname "$0")/.."
source test/lib.sh

test/install-deps.sh
make_work_dir
trap 'stop_ckemus; rm -rf "$WORK_DIR"' EXIT

echo "building ckfdw and ckemu ..."
make -s all >"$WORK_DIR/build.log" 2>&1 && install_private >>"$WORK_DIR/build.log" 2>&1 ||
	{ cat "$WORK_DIR/build.log"; exit 1; }
make_test_keys "$WORK_DIR"
start_ckemu demo
export CKEMU_URL=$CKEMU_URL_demo
echo "ckemu is serving the sample container iCloud.com.example.Gallery at $CKEMU_URL"
echo

test/with-cluster.sh psql -X -q -v ON_ERROR_STOP=1 -e -f test/demo.sql
