#!/bin/bash
# The fault matrix: every fault ckemu injects x a scan, a lookup, an
# INSERT, an UPDATE, a DELETE, and an UPDATE whose scan or lookup fails.
# After each trial the records ckemu holds (its dump, not a read through
# the FDW) are checked against what the statement reported: either it
# succeeded and ckemu holds exactly the expected records, or it failed
# with an error whose count of written records (and of records whose
# outcome is unknown) matches what ckemu holds.  Then the statement is
# run again without the fault and must converge to the expected records.
# Last, web-auth token rotation: an answer lost while ckemu rotates tokens.
#
# Assumes ckfdw and ckemu are built (make all).  Starts two ckemus (one
# rotating web-auth tokens) with a small seed of their own, and a
# throw-away cluster (test/with-cluster.sh); stops them on exit.  Prints
# one line per failed check and ends with "fault-matrix: N passed, M
# failed"; exits non-zero on any failure.  MATRIX_KEEP=DIR keeps the
# trials' output in DIR.
set -uo pipefail

cd "$(dirname "$0")/../.." || exit 1
CKFDW_ROOT=$PWD
SELF=$CKFDW_ROOT/test/scenarios/fault-matrix.sh

# The seed: 300 Matrix records m-000 ... m-299, n = 0 ... 299, v = 'orig'.
# The server reads and writes 100 records a request, so every statement
# below sends several requests and the fault hits the second.
NRECORDS=300

source "$CKFDW_ROOT/test/scenarios/checks.sh"

# ----------------------------------------------------------------------
# The statements
# ----------------------------------------------------------------------

LOOKUP_NAMES="ARRAY(SELECT 'm-' || lpad(g::text, 3, '0') FROM generate_series(0, $((NRECORDS - 1))) g)"
UPDATE_NAMES="ARRAY(SELECT 'm-' || lpad(g::text, 3, '0') FROM generate_series(0, 249) g)"

# statement KIND [rerun]: the SQL of a trial (a rerun of an INSERT skips
# the records that exist)
statement()
{
	case $1 in
	scan) echo "SELECT count(*) || '/' || sum(n) FROM m" ;;
	lookup) echo "SELECT count(*) || '/' || sum(n) FROM m WHERE id = ANY ($LOOKUP_NAMES)" ;;
	insert)
		echo "INSERT INTO m (id, n, v) SELECT 'ins-' || lpad(g::text, 3, '0'), 1000 + g, 'new'
			FROM generate_series(0, 299) g${2:+ ON CONFLICT DO NOTHING}" ;;
	update | update_scan) echo "UPDATE m SET v = 'upd' WHERE n < 250" ;;
	update_lookup) echo "UPDATE m SET v = 'upd' WHERE id = ANY ($UPDATE_NAMES)" ;;
	delete) echo "DELETE FROM m WHERE n < 250" ;;
	esac
}

# the operation a kind's fault hits
fault_operation()
{
	case $1 in
	scan | update_scan) echo records/query ;;
	lookup | update_lookup) echo records/lookup ;;
	*) echo records/modify ;;
	esac
}

# what a successful statement prints (a query's result, or the command
# tag's row count), and what ckemu then holds
expected_output()
{
	case $1 in
	scan | lookup) echo "300/44850" ;;
	insert) echo "INSERT 0 300" ;;
	update | update_scan | update_lookup) echo "UPDATE 250" ;;
	delete) echo "DELETE 250" ;;
	esac
}

expected_held()
{
	case $1 in
	scan | lookup) echo "300|0|0" ;;
	insert) echo "600|0|300" ;;
	update | update_scan | update_lookup) echo "300|250|0" ;;
	delete) echo "50|0|0" ;;
	esac
}

# the records a statement of KIND changed, from what ckemu holds
changed()
{
	local records updated inserted
	IFS='|' read -r records updated inserted <<<"$2"
	case $1 in
	scan | lookup) echo $((records - NRECORDS + updated + inserted)) ;;
	insert) echo "$inserted" ;;
	update | update_scan | update_lookup) echo "$updated" ;;
	delete) echo $((NRECORDS - records)) ;;
	esac
}

# ----------------------------------------------------------------------
# The faults: name and rule (the second request of the operation; a
# THROTTLED or TRY_AGAIN_LATER answer asks for no wait)
# ----------------------------------------------------------------------

FAULTS=(
	none
	throttled_once
	unavailable
	bad_request
	delay
	drop_before
	drop_after
	truncate
	malformed
)

fault_rule()
{
	local op=$2
	case $1 in
	none) echo "" ;;
	throttled_once) echo "{\"action\": \"error\", \"serverErrorCode\": \"THROTTLED\", \"retryAfter\": 0}" ;;
	unavailable) echo "{\"action\": \"error\", \"serverErrorCode\": \"TRY_AGAIN_LATER\", \"retryAfter\": 0, \"count\": 0}" ;;
	bad_request) echo "{\"action\": \"error\", \"serverErrorCode\": \"BAD_REQUEST\", \"reason\": \"injected\"}" ;;
	delay) echo "{\"action\": \"delay\", \"delayMs\": 200}" ;;
	*) echo "{\"action\": \"$1\"}" ;;
	esac | sed "s|^{|{\"operation\": \"$op\", \"after\": 1, |"
}

# what ckemu held, from its dumps: "records|updated|inserted" of type
# Matrix, a line for each FILE (one jq for all: on a loaded machine each
# new process costs)
held_in()
{
	jq -r '[.. | objects | select(.recordType? == "Matrix")] as $r
		| "\($r | length)|\([$r[] | select(.fields.v.value == "upd")] | length)|\([$r[] | select(.recordName | startswith("ins-"))] | length)"' "$@"
}

# slurp FILE VAR: the file's text, without its last newline, and no new
# process (on a loaded machine each costs)
slurp()
{
	local -n into=$2
	into=""
	IFS= read -r -d '' into <"$1"
	into=${into%$'\n'}
}

KINDS=(scan lookup insert update delete update_scan update_lookup)

# the same, read through the FDW after a rerun
HELD_SQL="SELECT count(*) || '|' || count(*) FILTER (WHERE v = 'upd') || '|'
	|| count(*) FILTER (WHERE id LIKE 'ins-%') FROM m"

# trials FAULT: a trial of every kind under the fault, in one session.
# Each trial starts from the seed, runs the statement under the fault,
# dumps what ckemu holds, runs the statement again without the fault (so
# the session must still be usable) and reads the records back; then the
# checks.
trials()
{
	local fault=$1 kind rule t0 n=0 all_err
	local -a held dumps rules fired
	t0=${EPOCHREALTIME/./}

	rm -f "$S"/*.dump1 "$S"/*.faults "$S"/*.held2 "$S"/*.out

	for kind in "${KINDS[@]}"; do
		rule=$(fault_rule "$fault" "$(fault_operation "$kind")")
		cat <<EOF
\! curl -sf -o /dev/null -X POST "$CKEMU_URL/_ckemu/reset" ${rule:+--next -sf -o /dev/null -X POST "$CKEMU_URL/_ckemu/faults" -d '[$rule]'}; echo "@@ $kind" >&2
\o $S/$kind.out
$(statement "$kind");
\! curl -sf -o $S/$kind.faults "$CKEMU_URL/_ckemu/faults" --next -sf -o /dev/null -X DELETE "$CKEMU_URL/_ckemu/faults" --next -sf -o $S/$kind.dump1 "$CKEMU_URL/_ckemu/dump"; echo "@@ $kind rerun" >&2
\o /dev/null
$(statement "$kind" rerun);
\o $S/$kind.held2
$HELD_SQL;
EOF
		dumps+=("$S/$kind.dump1")
		rules+=("$S/$kind.faults")
	done >"$S/$fault.sql"
	psql -X -At -v ON_ERROR_STOP=0 -f "$S/$fault.sql" >/dev/null 2>"$S/$fault.err"

	slurp "$S/$fault.err" all_err
	all_err+=$'\n@@ end'
	mapfile -t held < <(held_in "${dumps[@]}" 2>&1)
	mapfile -t fired < <(jq -r '[.faults[].fired] | add // 0' "${rules[@]}" 2>&1)
	for kind in "${KINDS[@]}"; do
		local seg=${all_err#*@@ $kind$'\n'}
		local err=${seg%%@@ *}
		local held2=""
		seg=${seg#*@@ $kind rerun$'\n'}
		[ -f "$S/$kind.held2" ] && slurp "$S/$kind.held2" held2
		check_trial "$fault" "$kind" "$err" "${held[n]}" "${seg%%@@ *}" "$held2"
		# the fault did hit the statement: its result is not a plain run's
		if [ "$fault" = none ]; then
			check "faults fired" 0 "${fired[n]}"
		elif ! [[ ${fired[n]} =~ ^[1-9][0-9]*$ ]]; then
			fail "the fault did not fire (fired: ${fired[n]})"
		else
			pass
		fi
		n=$((n + 1))
	done
	TIMES+=("$fault: $(( (${EPOCHREALTIME/./} - t0) / 1000 )) ms")
}

# check_trial FAULT KIND ERRORS HELD RERUN_ERRORS RERUN_HELD
check_trial()
{
	local fault=$1 kind=$2 err=$3 state=$4 rerun_err=$5 rerun_state=$6 out want_held c w u
	CASE="$fault x $kind"
	slurp "$S/$kind.out" out
	want_held=$(expected_held "$kind")
	printf '%s\n%s\n%s\n%s\n\n' "== $CASE" "$out" "$err" "held: $state" >>"$S/trials.log"

	if [[ $err != *ERROR:* ]]; then
		check "what the statement returned" "$(expected_output "$kind")" "$out"
		check "what ckemu holds after the statement succeeded" "$want_held" "$state"
		RESULTS+=("$fault $kind ok")
	else
		c=$(changed "$kind" "$state")
		# "... wrote N records ... the outcome of its last request (M records)
		# is unknown", or "its last K requests (M records)" when several were
		# in flight
		w=0
		u=0
		[[ $err =~ statement\ (you\ ran\ )?wrote\ ([0-9]+)\ record ]] && w=${BASH_REMATCH[2]}
		[[ $err =~ last\ ([0-9]+\ )?requests?\ \(([0-9]+)\ record ]] && u=${BASH_REMATCH[2]}
		if [ "$u" -eq 0 ]; then
			check "records the error says were written, and the records ckemu holds changed ($(oneline "$err"))" "$w" "$c"
		elif [ "$c" -ge "$w" ] && [ "$c" -le $((w + u)) ]; then
			pass
		else
			fail "ckemu holds $c changed records, not between the $w the error says were written and $((w + u)) with the unknown ones ($(oneline "$err"))"
		fi
		RESULTS+=("$fault $kind error: $w written, $u unknown, $c changed")
	fi

	# the rerun converges, without the fault
	if [[ $rerun_err == *ERROR:* ]]; then
		fail "the rerun failed: $(oneline "$rerun_err")"
	else
		pass
	fi
	check "what ckemu holds after the rerun" "$want_held" "$rerun_state"
}

setup_cluster()
{
	psql -X -v ON_ERROR_STOP=1 -q <<'EOF'
\getenv url CKEMU_URL
\getenv rotating_url CKEMU_ROTATING_URL
\getenv key_id CKFDW_KEY_ID
\getenv key_file CKFDW_KEY_FILE
\getenv api_token CKFDW_API_TOKEN
\getenv web_auth_token CKFDW_WEB_AUTH_TOKEN
SET client_min_messages = warning;
CREATE EXTENSION ckfdw;
CREATE SERVER fm FOREIGN DATA WRAPPER ckfdw OPTIONS (
	container 'iCloud.com.example.Gallery', base_url :'url',
	page_size '100', batch_size '100', max_retries '2');
CREATE USER MAPPING FOR CURRENT_USER SERVER fm
	OPTIONS (key_id :'key_id', private_key_file :'key_file');
CREATE FOREIGN TABLE m (
	id text OPTIONS (system 'recordName'),
	n bigint,
	v text
) SERVER fm OPTIONS (record_type 'Matrix');

-- web-auth tokens good for one request
CREATE SERVER rot FOREIGN DATA WRAPPER ckfdw OPTIONS (
	container 'iCloud.com.example.Gallery', base_url :'rotating_url');
CREATE USER MAPPING FOR CURRENT_USER SERVER rot
	OPTIONS (api_token :'api_token', web_auth_token :'web_auth_token');
CREATE FOREIGN TABLE m_rot (
	id text OPTIONS (system 'recordName'),
	n bigint,
	v text
) SERVER rot OPTIONS (record_type 'Matrix');
EOF
}

# ----------------------------------------------------------------------
# A rotated web-auth token and a lost answer
# ----------------------------------------------------------------------

# rotation_session FAULT: in one session, a query, a query under the
# fault, and two more; prints psql's output and errors
rotation_session()
{
	local rule=$1 token
	curl -sf -X POST "$CKEMU_ROTATING_URL/_ckemu/reset" >/dev/null
	# ckemu forgot every token it handed out, and the user mapping's
	# sessions go on from the newest one it handed out: sign in again
	token=$(curl -sf "$CKEMU_ROTATING_URL/_ckemu/signin?user=$CKFDW_WEB_AUTH_USER" | jq -r .ckWebAuthToken)
	psql -X -q -v ON_ERROR_STOP=1 -v token="$token" 2>&1 <<'EOF'
ALTER USER MAPPING FOR CURRENT_USER SERVER rot OPTIONS (SET web_auth_token :'token');
EOF
	psql -X -At -v ON_ERROR_STOP=0 2>&1 <<EOF
\set VERBOSITY default
SELECT count(*) FROM m_rot;
\! curl -sf -o /dev/null -X POST "$CKEMU_ROTATING_URL/_ckemu/faults" -d '[$rule]'
SELECT count(*) FROM m_rot;
\! curl -sf -o /dev/null -X DELETE "$CKEMU_ROTATING_URL/_ckemu/faults"
SELECT count(*) FROM m_rot;
SELECT count(*) FROM m_rot;
EOF
}

rotation()
{
	local out token

	# the answer came, cut or not JSON: its token is used; the request
	# never reached ckemu's authentication: the old one still works
	for fault in truncate malformed drop_before; do
		CASE="rotating tokens, $fault"
		out=$(rotation_session "{\"operation\": \"records/query\", \"action\": \"$fault\"}")
		printf '== %s\n%s\n\n' "$CASE" "$out" >>"$S/trials.log"
		check "queries after the fault" "300 300" \
			"$(grep -E '^[0-9]+$' <<<"$out" | tail -n 2 | paste -sd' ')"
	done

	# the answer, with the next token, is lost after ckemu took the token
	# (the query's resend with it is refused): a clear 28000 about the
	# web-auth token, never about keys, for this query and the next ones
	CASE="rotating tokens, drop_after"
	out=$(rotation_session '{"operation": "records/query", "action": "drop_after"}')
	printf '== %s\n%s\n\n' "$CASE" "$out" >>"$S/trials.log"
	check "the query before the fault" 300 "$(head -n 1 <<<"$out")"
	check "the queries refused (28000)" 3 \
		"$(grep -c 'ERROR:  CloudKit rejected the query of record type "Matrix"' <<<"$out")"
	check "errors that say the token was used up by a request whose answer was lost" 3 \
		"$(grep -c 'a request whose answer was lost used the token up' <<<"$out")"
	check "hints that say to sign in again and set web_auth_token" 3 \
		"$(grep -c "HINT:  Sign in to iCloud again and give the new token to the user mapping's option \"web_auth_token\"" <<<"$out")"
	check "hints about server-to-server keys" 0 "$(grep -c 'key_id' <<<"$out")"

	# signing in again and setting the new token is the way back
	CASE="rotating tokens, a new sign-in"
	token=$(curl -sf "$CKEMU_ROTATING_URL/_ckemu/signin?user=$CKFDW_WEB_AUTH_USER" | jq -r .ckWebAuthToken)
	out=$(psql -X -At -v ON_ERROR_STOP=0 -v token="$token" 2>&1 <<'EOF'
SELECT count(*) FROM m_rot;
ALTER USER MAPPING FOR CURRENT_USER SERVER rot OPTIONS (SET web_auth_token :'token');
SELECT count(*) FROM m_rot;
SELECT count(*) FROM m_rot;
EOF
)
	printf '== %s\n%s\n\n' "$CASE" "$out" >>"$S/trials.log"
	check "the session before and after ALTER USER MAPPING" "28000 300 300" \
		"$(grep -oE '^[0-9]+$|CloudKit rejected' <<<"$out" | sed 's/CloudKit rejected/28000/' | paste -sd' ')"
}

in_cluster()
{
	local fault start
	S=$WORK_DIR/matrix
	mkdir -p "$S"
	export PGOPTIONS="-c statement_timeout=30s"
	RESULTS=()
	TIMES=()
	if ! setup_cluster >"$S/setup.out" 2>&1; then
		cat "$S/setup.out"
		echo "0 1" >"$WORK_DIR/counts"
		return 1
	fi
	start=${EPOCHREALTIME/./}
	for fault in ${MATRIX_FAULTS:-${FAULTS[*]}}; do
		trials "$fault"
	done
	rotation
	printf '%s\n' "${RESULTS[@]}" | column -t >"$S/results"
	cat "$S/results"
	echo "  ${TIMES[*]}"
	echo "  ${#RESULTS[@]} trials and the token rotation in $(( (${EPOCHREALTIME/./} - start) / 1000 )) ms"
	echo "$PASSED $FAILED" >"$WORK_DIR/counts"
	[ -n "${MATRIX_KEEP:-}" ] && cp -r "$S" "$MATRIX_KEEP"
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
	echo "fault-matrix: 0 passed, 1 failed"
	exit 1
fi
make_work_dir
trap 'stop_ckemus; rm -rf "$WORK_DIR"' EXIT
trap 'exit 130' INT TERM
make_test_keys "$WORK_DIR"
jq -n --argjson n "$NRECORDS" '{seeds: [{container: "iCloud.com.example.Gallery",
	environment: "development", database: "public", zone: "_defaultZone",
	records: [range(0; $n) | {recordName: ("m-" + (tostring | ("00" + .)[-3:])),
		recordType: "Matrix",
		fields: {n: {value: ., type: "INT64"}, v: {value: "orig", type: "STRING"}}}]}]}' \
	>"$WORK_DIR/matrix.json"
# ckemus with the Matrix seed only
CKEMU_SEED_FLAGS=(--data "$WORK_DIR/matrix.json")
if ! start_ckemu main --quiet || ! start_ckemu rotating --quiet --rotate-web-auth-tokens; then
	echo "fault-matrix: 0 passed, 1 failed"
	exit 1
fi
# shellcheck disable=SC2154	# set by start_ckemu
export WORK_DIR CKEMU_URL=$CKEMU_URL_main CKEMU_ROTATING_URL=$CKEMU_URL_rotating

rc=0
test/with-cluster.sh "$SELF" --in-cluster || rc=$?
if read -r passed failed <"$WORK_DIR/counts" 2>/dev/null; then
	[ "$rc" -ne 0 ] && [ "$failed" -eq 0 ] && failed=1
else
	echo "the fault matrix did not run to the end (exit status $rc)"
	passed=0 failed=1
fi
echo "fault-matrix: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
