#!/bin/bash
# Scenarios that pg_regress cannot express: several PostgreSQL sessions at
# once against ckemu.  Concurrent readers, concurrent writers on distinct
# records and on the same records (change tags: no lost update), faults
# under load, a connection dropped before a modify was applied, and a
# cancelled scan while other sessions go on.
#
# Assumes ckfdw and ckemu are built (make all); the extension is installed
# into a private tree (CKFDW_PG_TREE, or one test/with-cluster.sh makes).  Starts two ckemus (the sample container, and one answering after
# 5 seconds) and a throw-away cluster (test/with-cluster.sh), and stops them on
# exit: the ckemus by PID, the cluster by with-cluster.sh.  Prints one line
# per failed check, one line per scenario with its time, and ends with
# "scenarios: N passed, M failed"; exits non-zero on any failure.
# SCENARIO_KEEP=DIR keeps the sessions' SQL and output in DIR.
set -uo pipefail

cd "$(dirname "$0")/../.." || exit 1
CKFDW_ROOT=$PWD
SELF=$CKFDW_ROOT/test/scenarios/run-scenarios.sh

# ----------------------------------------------------------------------
# Checks and helpers, inside the cluster
# ----------------------------------------------------------------------

source "$CKFDW_ROOT/test/scenarios/checks.sh"

# check_that WHAT OBSERVED TEST...: TEST (a command) must succeed
check_that()
{
	local what=$1 observed=$2
	shift 2
	if "$@"; then
		pass
	else
		fail "$what ($observed)"
	fi
}

# lt A B, ge A B: integer comparisons that are false for non-numbers
lt()
{
	[[ $1 =~ ^-?[0-9]+$ && $2 =~ ^-?[0-9]+$ ]] && [ "$1" -lt "$2" ]
}

ge()
{
	[[ $1 =~ ^-?[0-9]+$ && $2 =~ ^-?[0-9]+$ ]] && [ "$1" -ge "$2" ]
}

# between A B C: A < B < C
between()
{
	lt "$1" "$2" && lt "$2" "$3"
}

# num X: X if it is an integer, else 0 (for arithmetic on session output)
num()
{
	if [[ $1 =~ ^-?[0-9]+$ ]]; then echo "$1"; else echo 0; fi
}

now_ms()
{
	date +%s%3N
}

sql()
{
	psql -X -v ON_ERROR_STOP=1 -At -q "$@"
}

# session NAME [psql options]: runs the SQL on stdin in the background as
# one session; its output goes to $S/NAME.out and .err, its exit status
# to .rc (written by wait_sessions)
BG_PIDS=()
BG_NAMES=()
session()
{
	local name=$1
	shift
	cat >"$S/$name.sql"
	psql -X -v ON_ERROR_STOP=1 -At -q "$@" -f "$S/$name.sql" >"$S/$name.out" 2>"$S/$name.err" &
	BG_PIDS+=($!)
	BG_NAMES+=("$name")
}

wait_sessions()
{
	local i rc
	for i in "${!BG_PIDS[@]}"; do
		wait "${BG_PIDS[$i]}"
		rc=$?
		echo "$rc" >"$S/${BG_NAMES[$i]}.rc"
	done
	BG_PIDS=()
	BG_NAMES=()
}

# check_session NAME: it exited 0 (the message shows its first error)
check_session()
{
	local rc
	rc=$(cat "$S/$1.rc" 2>/dev/null)
	if [ "$rc" = 0 ]; then
		pass
	else
		fail "session $1 exited with status ${rc:-?}: $(grep -m 1 'ERROR' "$S/$1.err" || head -n 1 "$S/$1.err")"
	fi
}

# ckemu's admin endpoints (main ckemu)
emu()
{
	local method=$1 path=$2
	shift 2
	curl -sf -X "$method" "$CKEMU_URL/_ckemu/$path" "$@"
}

emu_reset()
{
	emu POST reset >/dev/null
}

# stat OPERATION FIELD: a number from ckemu's statistics
stat()
{
	emu GET stats | jq -r --arg op "$1" --arg f "$2" '.operations[$op][$f] // 0'
}

set_faults()
{
	emu POST faults -d "$1" >/dev/null || echo "ckemu refused the fault rules: $1" >&2
}

faults_fired()
{
	emu GET faults | jq '[.faults[].fired] | add // 0'
}

# the SQL of a timestamp line (ms since the epoch, the server's clock:
# the same machine as date(1))
TS="SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint;"

setup_cluster()
{
	sql <<'EOF'
\getenv main_url CKEMU_URL
\getenv slow_url CKEMU_SLOW_URL
\getenv key_id CKFDW_KEY_ID
\getenv key_file CKFDW_KEY_FILE
SET client_min_messages = warning;
CREATE EXTENSION ckfdw;

CREATE SERVER main FOREIGN DATA WRAPPER ckfdw OPTIONS (
	container 'iCloud.com.example.Gallery', base_url :'main_url');
-- the same ckemu, for scenario 4: with 8 injected THROTTLED answers, no
-- request can run out of retries, however the sessions interleave
CREATE SERVER retrying FOREIGN DATA WRAPPER ckfdw OPTIONS (
	container 'iCloud.com.example.Gallery', base_url :'main_url', max_retries '10');
-- answers after 5 seconds
CREATE SERVER slow FOREIGN DATA WRAPPER ckfdw OPTIONS (
	container 'iCloud.com.example.Gallery', base_url :'slow_url');
CREATE USER MAPPING FOR CURRENT_USER SERVER main
	OPTIONS (key_id :'key_id', private_key_file :'key_file');
CREATE USER MAPPING FOR CURRENT_USER SERVER retrying
	OPTIONS (key_id :'key_id', private_key_file :'key_file');
CREATE USER MAPPING FOR CURRENT_USER SERVER slow
	OPTIONS (key_id :'key_id', private_key_file :'key_file');

-- sample data: Ticket has 10,000 records (serial 0-9999), Visit 1,000,
-- Exhibition 60
CREATE FOREIGN TABLE ticket (
	id text OPTIONS (system 'recordName'),
	serial bigint
) SERVER main OPTIONS (record_type 'Ticket');
CREATE FOREIGN TABLE ticket_retrying (
	id text OPTIONS (system 'recordName'),
	serial bigint
) SERVER retrying OPTIONS (record_type 'Ticket');
CREATE FOREIGN TABLE visit (
	id text OPTIONS (system 'recordName'),
	party_size bigint OPTIONS (field 'partySize')
) SERVER main OPTIONS (record_type 'Visit');
CREATE FOREIGN TABLE exhibition (id text OPTIONS (system 'recordName'))
	SERVER main OPTIONS (record_type 'Exhibition');
CREATE FOREIGN TABLE slow_exhibition (id text OPTIONS (system 'recordName'))
	SERVER slow OPTIONS (record_type 'Exhibition');

-- types the schema does not declare: development creates them on write
CREATE FOREIGN TABLE scenario (
	id text OPTIONS (system 'recordName'),
	session bigint,
	n bigint,
	label text
) SERVER main OPTIONS (record_type 'Scenario');
CREATE FOREIGN TABLE counter (
	id text OPTIONS (system 'recordName'),
	n bigint
) SERVER main OPTIONS (record_type 'Counter');
CREATE FOREIGN TABLE drop_probe (
	id text OPTIONS (system 'recordName'),
	n bigint
) SERVER main OPTIONS (record_type 'DropProbe');

-- Scenario 3: increments every counter TIMES times; an UPDATE that loses
-- the race (40001) is run again, re-reading the records and their change
-- tags.  Returns the successful UPDATEs, the conflicts, the conflicts
-- whose error did not say that nothing was written, and the successful
-- UPDATEs that did not update all 200 records.
CREATE FUNCTION bump_counters(times int, OUT done int, OUT conflicts int,
	OUT partial int, OUT short int)
LANGUAGE plpgsql AS $$
DECLARE
	n_rows bigint;
	detail text;
BEGIN
	done := 0;
	conflicts := 0;
	partial := 0;
	short := 0;
	WHILE done < times LOOP
		IF done + conflicts >= 20 * times THEN
			RAISE EXCEPTION 'no progress after % conflicts', conflicts;
		END IF;
		BEGIN
			UPDATE counter SET n = n + 1;
			GET DIAGNOSTICS n_rows = ROW_COUNT;
			done := done + 1;
			IF n_rows <> 200 THEN
				short := short + 1;
			END IF;
		EXCEPTION WHEN serialization_failure THEN
			GET STACKED DIAGNOSTICS detail = PG_EXCEPTION_DETAIL;
			conflicts := conflicts + 1;
			IF detail NOT LIKE '%No record of this statement was written%' THEN
				partial := partial + 1;
			END IF;
		END;
	END LOOP;
END
$$;
EOF
}

# ----------------------------------------------------------------------
# The scenarios
# ----------------------------------------------------------------------

# 1. Four sessions scan the 10,000 Ticket records three times each at once.
scenario_readers()
{
	local k t0 t1 starts=() ends=()

	emu_reset
	for k in 1 2 3 4; do
		session "read$k" <<EOF
$TS
SELECT count(*), sum(serial) FROM ticket;
SELECT count(*), sum(serial) FROM ticket;
SELECT count(*), sum(serial) FROM ticket;
$TS
EOF
	done
	wait_sessions
	for k in 1 2 3 4; do
		check_session "read$k"
		check "session read$k: count and sum of three scans" \
			"10000|49995000 10000|49995000 10000|49995000" \
			"$(sed -n 2,4p "$S/read$k.out" | paste -sd' ')"
		starts+=("$(sed -n 1p "$S/read$k.out")")
		ends+=("$(sed -n 5p "$S/read$k.out")")
	done
	# whether the sessions overlapped depends on the machine's load, so it
	# is said, not checked (a check that load can fail is a defect)
	t0=$(printf '%s\n' "${starts[@]}" | sort -n | tail -n 1)
	t1=$(printf '%s\n' "${ends[@]}" | sort -n | head -n 1)
	echo "  note: last session started at $t0 ms, first ended at $t1 ms ($( [ "$t0" -lt "$t1" ] && echo overlapped || echo "did not overlap"))"
	check "records/query requests (4 sessions x 3 scans x 50 pages)" 600 "$(stat records/query requests)"
	check "records sent by ckemu" 120000 "$(stat records/query records_out)"
}

# 2. Four sessions INSERT ... SELECT 1,000 distinct records each into one
# record type at once.
scenario_writers()
{
	local k

	emu_reset
	for k in 1 2 3 4; do
		session "write$k" <<EOF
INSERT INTO scenario (id, session, n, label)
SELECT format('sc%s-%s', $k, lpad(g::text, 4, '0')), $k, $k * 100000 + g, 'row ' || g
FROM generate_series(1, 1000) g;
EOF
	done
	wait_sessions
	for k in 1 2 3 4; do
		check_session "write$k"
	done
	check "records/modify requests (4 sessions x 5 batches)" 20 "$(stat records/modify requests)"
	check "records written to ckemu" 4000 "$(stat records/modify records_in)"
	# every record there once, with its values; nothing else
	check "records read back: total, distinct, per session, wrong or missing" \
		"4000|4000|1000,1000,1000,1000|0" "$(sql <<'EOF'
WITH want AS (
	SELECT format('sc%s-%s', k, lpad(g::text, 4, '0')) AS id, k AS session,
		k * 100000 + g AS n, 'row ' || g AS label
	FROM generate_series(1, 4) k, generate_series(1, 1000) g
), got AS (SELECT * FROM scenario)
SELECT (SELECT count(*) FROM got),
	(SELECT count(DISTINCT id) FROM got),
	(SELECT string_agg(c::text, ',' ORDER BY session)
		FROM (SELECT session, count(*) AS c FROM got GROUP BY session) s),
	(SELECT count(*) FROM want FULL JOIN got USING (id)
		WHERE want.id IS NULL OR got.id IS NULL
			OR (want.session, want.n, want.label) IS DISTINCT FROM (got.session, got.n, got.label));
EOF
)"
}

# 3. Two sessions increment the same 200 records ten times each; a lost
# race is 40001 and is retried.  ckemu delays every records/modify by
# 100 ms, so that each session reads while the other's write is on its way.
scenario_same_records()
{
	local k out done_total=0 conflicts_total=0 partial_total=0 short_total=0
	local d c p s

	emu_reset
	sql <<'EOF'
INSERT INTO counter (id, n) SELECT 'counter-' || lpad(g::text, 3, '0'), 0
FROM generate_series(1, 200) g;
EOF
	emu DELETE stats >/dev/null
	set_faults '[{"operation": "records/modify", "action": "delay", "delayMs": 100, "count": 0}]'
	for k in 1 2; do
		session "bump$k" <<'EOF'
SELECT * FROM bump_counters(10);
EOF
	done
	wait_sessions
	emu DELETE faults >/dev/null
	for k in 1 2; do
		check_session "bump$k"
		out=$(cat "$S/bump$k.out")
		IFS='|' read -r d c p s <<<"$out"
		check "session bump$k: successful UPDATEs" 10 "${d:-}"
		done_total=$((done_total + $(num "${d:-}")))
		conflicts_total=$((conflicts_total + $(num "${c:-}")))
		partial_total=$((partial_total + $(num "${p:-}")))
		short_total=$((short_total + $(num "${s:-}")))
	done
	NOTE="$conflicts_total conflicts retried"
	check_that "at least one 40001 conflict" "$conflicts_total conflicts" ge "$conflicts_total" 1
	check "conflicts whose error did not say that no record was written" 0 "$partial_total"
	check "successful UPDATEs that did not update 200 records" 0 "$short_total"
	# each UPDATE attempt (success or conflict) is one request of 200
	check "records/modify requests (one per attempt)" "$((done_total + conflicts_total))" \
		"$(stat records/modify requests)"
	check "every counter equals the successful increments (no lost update)" \
		"200|$done_total|$done_total" "$(sql -c 'SELECT count(*), min(n), max(n) FROM counter')"
}

# 4. Every third records/query of the first 24 is THROTTLED (retryAfter 1)
# while two sessions scan Ticket: both still get every record.
scenario_faults_under_load()
{
	local k rules="" i ms_total=0 t0 t1

	emu_reset
	for i in 0 1 2 3 4 5 6 7; do
		rules+="${rules:+,}{\"operation\": \"records/query\", \"after\": $((3 * i + 2)), \"count\": 1, \"action\": \"error\", \"serverErrorCode\": \"THROTTLED\", \"retryAfter\": 1}"
	done
	set_faults "[$rules]"
	for k in 1 2; do
		session "throttled$k" <<EOF
$TS
SELECT count(*), sum(serial), count(DISTINCT id) FROM ticket_retrying;
$TS
EOF
	done
	wait_sessions
	for k in 1 2; do
		check_session "throttled$k"
		check "session throttled$k: count, sum and distinct records" "10000|49995000|10000" \
			"$(sed -n 2p "$S/throttled$k.out")"
		t0=$(num "$(sed -n 1p "$S/throttled$k.out")")
		t1=$(num "$(sed -n 3p "$S/throttled$k.out")")
		ms_total=$((ms_total + t1 - t0))
	done
	check "THROTTLED answers sent" 8 "$(faults_fired)"
	check "records/query requests (2 x 50, and 8 retries)" 108 "$(stat records/query requests)"
	# each THROTTLED answer made one session wait a second
	NOTE="the two sessions took $ms_total ms in all"
	check_that "the sessions waited for the retries" "$ms_total ms in all" ge "$ms_total" 8000
	emu DELETE faults >/dev/null
}

# 5. The connection drops before ckemu applies the third records/modify
# of an INSERT of 1,000 rows: the first two batches stay written, the
# third is not applied, and the session goes on with a new connection.
# One request at a time (ckfdw.max_writes_in_flight = 1), so that no later
# batch is on its way; the fault matrix checks the counts with requests in
# flight.
scenario_dropped_modify()
{
	local out err

	emu_reset
	set_faults '[{"operation": "records/modify", "action": "drop_before", "after": 2, "count": 1}]'
	# ON_ERROR_STOP=0: the session goes on after the failed INSERT
	out=$(psql -X -v ON_ERROR_STOP=0 -At -q 2>"$S/drop.err" <<EOF
\set VERBOSITY verbose
SET ckfdw.max_writes_in_flight = 1;
INSERT INTO drop_probe (id, n) SELECT 'drop-' || lpad(g::text, 4, '0'), g
FROM generate_series(1, 1000) g;
\! curl -sf "$CKEMU_URL/_ckemu/stats" >"$S/drop.stats"
\! curl -sf "$CKEMU_URL/_ckemu/faults" >"$S/drop.faults"
SELECT count(*), min(n), max(n) FROM drop_probe;
INSERT INTO drop_probe (id, n) VALUES ('drop-after', 0);
SELECT count(*) FROM drop_probe WHERE id = 'drop-after';
EOF
)
	err=$(cat "$S/drop.err")
	check_that "the INSERT failed with 08006" "$(oneline "$err")" grep -q 'ERROR:  08006' <<<"$err"
	check_that "the error says 400 records were written" "$(oneline "$err")" \
		grep -q 'This statement wrote 400 records' <<<"$err"
	check_that "the error says the interrupted request's 200 records may have been applied" \
		"$(oneline "$err")" grep -q 'the outcome of its last request (200 records) is unknown' <<<"$err"
	check "no other error" 1 "$(grep -c 'ERROR:' <<<"$err")"
	# three requests: the third dropped, and not sent again
	check "records/modify requests and records applied by the INSERT" "3 400" \
		"$(jq -r '.operations["records/modify"] | "\(.requests) \(.records_in)"' "$S/drop.stats" 2>&1)"
	check "connections dropped" 1 "$(jq '[.faults[].fired] | add' "$S/drop.faults" 2>&1)"
	# the first two batches are there, the dropped one and the rest are
	# not; then the same session writes and reads again
	check "records read back, then the session's next statements" "400|1|400 1" \
		"$(paste -sd' ' <<<"$out")"
	check "DropProbe records in ckemu's dump" 401 \
		"$(emu GET dump | jq '[.. | objects | select(.recordType? == "DropProbe")] | length')"
}

# 6. pg_cancel_backend stops a session waiting on a ckemu that answers
# after 5 seconds, while two sessions go on querying the other ckemu.
scenario_cancel()
{
	local k pid t_cancel t_err t_start i ok t0 t1 busy_sql

	emu_reset
	# ON_ERROR_STOP=0: the session goes on after the cancelled scan
	session victim -v ON_ERROR_STOP=0 <<EOF
SET application_name = 'scenario_victim';
\set VERBOSITY verbose
$TS
SELECT count(*) FROM slow_exhibition;
$TS
SELECT count(*) FROM exhibition;
SELECT count(*) FROM slow_exhibition;
EOF
	busy_sql=$TS$'\n'
	for i in $(seq 1 20); do
		busy_sql+=$'SELECT count(*), count(DISTINCT id) FROM visit;\nSELECT pg_sleep(0.1);\n'
	done
	busy_sql+=$TS
	for k in 1 2; do
		session "busy$k" <<<"$busy_sql"
	done
	# wait until the victim's scan is waiting on the slow ckemu
	pid=""
	for i in $(seq 1 100); do
		pid=$(sql -c "SELECT pid FROM pg_stat_activity
			WHERE application_name = 'scenario_victim' AND state = 'active'
				AND query LIKE '%slow_exhibition%'")
		[ -n "$pid" ] && break
		sleep 0.05
	done
	sleep 0.5
	t_cancel=$(now_ms)
	check "pg_cancel_backend" t "$(sql -c "SELECT pg_cancel_backend(${pid:-0})")"
	wait_sessions

	check_that "the cancelled scan failed with 57014" "$(oneline "$(cat "$S/victim.err")")" \
		grep -q 'ERROR:  57014: canceling statement due to user request' "$S/victim.err"
	check "no other error in the cancelled session" 1 "$(grep -c 'ERROR:' "$S/victim.err")"
	t_start=$(num "$(sed -n 1p "$S/victim.out")")
	t_err=$(num "$(sed -n 2p "$S/victim.out")")
	NOTE="the scan stopped $((t_err - t_cancel)) ms after the cancel"
	check_that "the scan stopped within 1 s of the cancel" "$((t_err - t_cancel)) ms after it" \
		lt "$((t_err - t_cancel))" 1000
	check_that "the scan had been waiting at the cancel" "cancel $((t_cancel - t_start)) ms after the start" \
		ge "$((t_cancel - t_start))" 400
	check "the cancelled session's next queries (main, then slow ckemu)" "60 60" \
		"$(sed -n '3,$p' "$S/victim.out" | paste -sd' ')"
	for k in 1 2; do
		check_session "busy$k"
		ok=$(grep -c '^1000|1000$' "$S/busy$k.out")
		check "session busy$k: correct results" 20 "$ok"
		t0=$(sed -n 1p "$S/busy$k.out")
		t1=$(tail -n 1 "$S/busy$k.out")
		check_that "session busy$k was querying during the cancel" "from $t0 to $t1, cancel at $t_cancel" \
			between "$t0" "$t_cancel" "$t1"
	done
}

in_cluster()
{
	local name start

	S=$WORK_DIR/scenarios
	mkdir -p "$S"
	# nothing may hang: every statement of every session is bounded
	export PGOPTIONS="-c statement_timeout=60s"
	if ! setup_cluster >"$S/setup.out" 2>&1; then
		cat "$S/setup.out"
		echo "0 1" >"$WORK_DIR/counts"
		return 1
	fi
	for name in readers writers same_records faults_under_load dropped_modify cancel; do
		CASE=$name
		NOTE=""
		start=$(now_ms)
		"scenario_$name"
		echo "  $name: $(( $(now_ms) - start )) ms${NOTE:+ ($NOTE)}" >>"$S/times"
	done
	cat "$S/times"
	echo "$PASSED $FAILED" >"$WORK_DIR/counts"
	[ -n "${SCENARIO_KEEP:-}" ] && cp -r "$S" "$SCENARIO_KEEP"
	[ "$FAILED" -eq 0 ]
}

# ----------------------------------------------------------------------
# Outside: start the ckemus, go on inside a throw-away cluster
# ----------------------------------------------------------------------

if [ "${1:-}" = "--in-cluster" ]; then
	in_cluster
	exit $?
fi

source test/lib.sh

if [ ! -x "$CKEMU_BIN" ]; then
	echo "test/ckemu/ckemu is not built: run make first"
	echo "scenarios: 0 passed, 1 failed"
	exit 1
fi
make_work_dir
trap 'stop_ckemus; rm -rf "$WORK_DIR"' EXIT
trap 'exit 130' INT TERM
make_test_keys "$WORK_DIR"
if ! start_ckemu main --quiet || ! start_ckemu slow --quiet --latency-ms 5000; then
	echo "scenarios: 0 passed, 1 failed"
	exit 1
fi
# shellcheck disable=SC2154	# set by start_ckemu
export WORK_DIR CKEMU_URL=$CKEMU_URL_main CKEMU_SLOW_URL=$CKEMU_URL_slow

# The counts come back in a file, so that the summary is the last line,
# after anything the cluster's set-up printed.
rc=0
test/with-cluster.sh "$SELF" --in-cluster || rc=$?
if read -r passed failed <"$WORK_DIR/counts" 2>/dev/null; then
	[ "$rc" -ne 0 ] && [ "$failed" -eq 0 ] && failed=1
else
	echo "the scenarios did not run to the end (exit status $rc)"
	passed=0 failed=1
fi
echo "scenarios: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
