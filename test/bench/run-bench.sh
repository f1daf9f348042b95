#!/bin/bash
# "make bench": how fast ckfdw is, as ratios measured in this one run
# against the physical limit (a direct C client over src/ck talking to the
# same ckemu) and against the naive way (small pages, one row per request,
# a full scan instead of lookups).  Prints numbers; never passes or fails on
# time.  test/bench/README.md says what each number means.
#
# Starts a ckemu on loopback and the network model of section 2 (two more
# ckemus, each behind TLS -- ckemu's own for HTTP/1.1, nghttpx for HTTP/2 --
# and behind test/netdelay adding a 50 ms round trip), and a throw-away
# cluster (test/with-cluster.sh), builds and installs the extension into a
# private tree as "make demo" does, and stops all of it on exit: the servers
# by PID, the cluster by with-cluster.sh.
#
# BENCH_RUNS=N sets the timed runs per measurement (default 3; the median
# is reported), BENCH_WAN_RUNS=N those of section 2 (default 3);
# BENCH_WAN_ONLY=REGEX runs only section 2's figures whose SQL matches;
# BENCH_SKIP_BUILD=1 benchmarks what is built, without rebuilding;
# BENCH_SECTIONS="scan changes" runs only those sections;
# BENCH_EXPORT_RECORDS=N sets the export section's record count (default 100000);
# BENCH_EMU_SEED_RECORDS=N sizes the emu section's seed (default 1,000,000).  Exits
# non-zero when a measurement could not be made.
set -euo pipefail

cd "$(dirname "$0")/../.."
CKFDW_ROOT=$PWD
BENCH_SCRIPT=$CKFDW_ROOT/test/bench/run-bench.sh

RUNS=${BENCH_RUNS:-3}
if ! [[ $RUNS =~ ^[1-9][0-9]?$ ]]; then
	echo "BENCH_RUNS must be a number from 1 to 99, not \"$RUNS\"" >&2
	exit 2
fi
WAN_RTT_MS=50			# the network model's round trip (section 2)
# Section 2's timed runs per figure (default 3: one run of a 2.5 s figure
# moved by up to 1.5 % with the state of this virtual machine)
WAN_RUNS=${BENCH_WAN_RUNS:-3}
if ! [[ $WAN_RUNS =~ ^[1-9][0-9]?$ ]]; then
	echo "BENCH_WAN_RUNS must be a number from 1 to 99, not \"$WAN_RUNS\"" >&2
	exit 2
fi
SCAN="COPY (SELECT * FROM %s) TO '/dev/null'"

# ----------------------------------------------------------------------
# Arithmetic and formatting (awk)
# ----------------------------------------------------------------------

median()
{
	printf '%s\n' "$@" | sort -g |
		awk '{ a[NR] = $1 } END { if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}

# sum_column FILE N: the sum of column N
sum_column()
{
	awk -v c="$2" '{ s += $c } END { print s + 0 }' "$1"
}

# median_column FILE N: the median of column N
median_column()
{
	local values
	mapfile -t values < <(awk -v c="$2" '{ print $c }' "$1")
	median "${values[@]}"
}

# commas N: 12345.6 -> 12,346
commas()
{
	awk -v n="$1" 'BEGIN {
		s = sprintf("%.0f", n); sign = "";
		if (substr(s, 1, 1) == "-") { sign = "-"; s = substr(s, 2) }
		r = "";
		while (length(s) > 3) { r = "," substr(s, length(s) - 2) r; s = substr(s, 1, length(s) - 3) }
		print sign s r }'
}

rate()			# rate RECORDS MS: records per second
{
	awk -v n="$1" -v ms="$2" 'BEGIN { print n / (ms / 1000) }'
}

ratio()			# ratio A B: A/B, two decimals
{
	awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'
}

ratio3()		# ratio3 A B: A/B, three decimals (for small ratios)
{
	awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a / b }'
}

times_x()		# times_x A B: A/B, one decimal
{
	awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", a / b }'
}

# cpu_note WHO CPU_MS CKEMU_CPU_MS WALL_MS: "backend CPU 95%, ckemu CPU 12%"
cpu_note()
{
	awk -v who="$1" -v c="$2" -v e="$3" -v w="$4" 'BEGIN {
		if (w <= 0) exit;
		if (c >= 0) printf "%s CPU %d%%", who, c * 100 / w + 0.5;
		if (c >= 0 && e >= 0) printf ", ";
		if (e >= 0) printf "ckemu CPU %d%%", e * 100 / w + 0.5 }'
}

# cpu_busy_now: the share of all cores busy during the next second
cpu_busy_now()
{
	local a b
	a=$(head -n 1 /proc/stat)
	sleep 1
	b=$(head -n 1 /proc/stat)
	awk -v a="$a" -v b="$b" 'BEGIN {
		n = split(a, x); split(b, y); total = 0;
		for (i = 2; i <= n; i++) total += y[i] - x[i];
		idle = (y[5] - x[5]) + (y[6] - x[6]);
		printf "%d%%", (total - idle) * 100 / total + 0.5 }'
}

# requests N: "1 request", "15 requests"
requests()
{
	if [ "$1" = 1 ]; then echo "1 request"; else echo "$(commas "$1") requests"; fi
}

progress()
{
	echo "  ... $*" >&2
}

# headline FORMAT ARGS...: a result line, also repeated in the summary
headline()
{
	local line
	# shellcheck disable=SC2059
	line=$(printf "$@")
	echo
	echo "$line"
	echo "$line" >>"$WORK_DIR/summary"
}

# row WHAT REQUESTS MS RECORDS [NOTE]: one line of a section's table
row()
{
	printf '    %-46s %7s requests %10s ms %9s rec/s   %s\n' "$1" "$(commas "$2")" \
		"$(printf '%.1f' "$3")" "$(commas "$(rate "$4" "$3")")" "${5:-}"
}

# ----------------------------------------------------------------------
# Measuring, inside the cluster
# ----------------------------------------------------------------------

bpsql()
{
	psql -X -v ON_ERROR_STOP=1 "$@"
}

# $WORK_DIR/cpu-ms PID: the CPU time (user + system, ms) a process has used
# so far.  A script, so that psql's \! can run it between statements.
write_cpu_script()
{
	cat >"$WORK_DIR/cpu-ms" <<'EOF'
#!/bin/sh
# after "pid (comm) ", utime and stime are the 12th and 13th fields
exec awk -v tck="$(getconf CLK_TCK)" '{ sub(/.*\) /, ""); print ($12 + $13) * 1000 / tck }' "/proc/$1/stat"
EOF
	chmod +x "$WORK_DIR/cpu-ms"
}

# time_sql NAME URL CKEMU_PID RUNS RESET SQL [WARMUP [PREPARE]]: runs WARMUP
# (default: SQL) in one session to warm up (connection, key, plan), then SQL
# RUNS times, each time after
# clearing ckemu's statistics (and resetting its data to the seed when RESET
# is 1, then running PREPARE, untimed and uncounted, when given).  Sets T_MS (median ms), T_WALL (ms summed over the runs), T_REQ
# (median requests per run, all operations), T_CPU and T_ECPU (CPU ms of
# the backend and of ckemu, summed over the runs), T_TAG (the last
# command tag) and T_HWM (the backend's peak resident size at the end, kB).
time_sql()
{
	local name=$1 url=$2 pid=$3 runs=$4 reset=$5 sql=$6 warmup=${7:-$6} prepare=${8:-}
	local dir="$WORK_DIR/$name"
	local times

	mkdir -p "$dir"
	: >"$dir/stats"
	{
		echo 'SELECT pg_backend_pid() AS bench_backend \gset'
		echo '\setenv BENCH_BACKEND :bench_backend'
		echo '\timing on'
		echo "$warmup;"
		for _ in $(seq 1 "$runs"); do
			if [ "$reset" = 1 ]; then
				echo "\\! curl -sf -X POST $url/_ckemu/reset >/dev/null"
			fi
			# untimed: only the measured statement prints a "Time:" line
			[ -z "$prepare" ] || printf '%s\n' '\timing off' "$prepare;" '\timing on'
			echo "\\! curl -sf -X DELETE $url/_ckemu/stats >/dev/null"
			echo "\\! echo \$($WORK_DIR/cpu-ms \$BENCH_BACKEND) \$($WORK_DIR/cpu-ms $pid) >>$dir/cpu0"
			echo "$sql;"
			echo "\\! echo \$($WORK_DIR/cpu-ms \$BENCH_BACKEND) \$($WORK_DIR/cpu-ms $pid) >>$dir/cpu1"
			echo "\\! curl -sf $url/_ckemu/stats >>$dir/stats && echo >>$dir/stats"
		done
		echo "\\! awk '/^VmHWM:/ { print \$2 }' /proc/\$BENCH_BACKEND/status >$dir/hwm"
	} >"$dir/script.sql"
	if ! bpsql -f "$dir/script.sql" >"$dir/out" 2>&1; then
		echo "benchmark statement failed: $sql" >&2
		cat "$dir/out" >&2
		return 1
	fi
	mapfile -t times < <(sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' "$dir/out" | tail -n "$runs")
	[ "${#times[@]}" -eq "$runs" ] || { echo "no timings for: $sql" >&2; return 1; }
	T_MS=$(median "${times[@]}")
	T_WALL=$(printf '%s\n' "${times[@]}" | awk '{ s += $1 } END { print s }')
	paste -d' ' "$dir/cpu0" "$dir/cpu1" >"$dir/cpu"
	T_CPU=$(awk '{ s += $3 - $1 } END { print s }' "$dir/cpu")
	T_ECPU=$(awk '{ s += $4 - $2 } END { print s }' "$dir/cpu")
	mapfile -t times < <(jq -r '[.operations[].requests] | add // 0' "$dir/stats")
	T_REQ=$(median "${times[@]}")
	T_TAG=$(grep -E '^(COPY|INSERT|UPDATE|DELETE) [0-9]' "$dir/out" | tail -n 1 || true)
	T_HWM=$(cat "$dir/hwm")
}

# expect_tag WANT: the last time_sql's command tag must be WANT
expect_tag()
{
	if [ "$T_TAG" != "$1" ]; then
		echo "expected \"$1\", got \"$T_TAG\"" >&2
		return 1
	fi
}

# stat_of NAME OPERATION FIELD: that field of the last run's statistics
stat_of()
{
	tail -n 1 "$WORK_DIR/$1/stats" | jq -r --arg op "$2" --arg f "$3" '.operations[$op][$f] // 0'
}

# direct_fetch NAME URL CKEMU_PID PAGE_SIZE RUNS [CLIENT OPTIONS...]: the
# direct client reads Ticket (the fields ckfdw asks for).  Sets D_MS, D_REQ, D_RECORDS, D_WALL,
# D_CPU (the client's CPU ms) and D_ECPU (ckemu's).
direct_fetch()
{
	local out="$WORK_DIR/$1.out"
	"$WORK_DIR/fetch_pages" --url "$2" --key-id "$CKFDW_KEY_ID" --key-file "$CKFDW_KEY_FILE" \
		--record-type Ticket --page-size "$4" --runs "$5" --ckemu-pid "$3" \
		--fields serial,batch,price,sold "${@:6}" >"$out"
	# run N records R requests Q ms T values V ckemu_cpu_ms E client_cpu_ms C
	D_RECORDS=$(median_column "$out" 4)
	D_REQ=$(median_column "$out" 6)
	D_MS=$(median_column "$out" 8)
	D_WALL=$(sum_column "$out" 8)
	D_ECPU=$(sum_column "$out" 12)
	D_CPU=$(sum_column "$out" 14)
	# every record has the four fields, and each must have been decoded
	if [ "$D_RECORDS" != 10000 ] || [ "$(median_column "$out" 10)" != 40000 ]; then
		echo "the direct client read $D_RECORDS records and $(median_column "$out" 10) values," \
			"not 10000 and 40000" >&2
		return 1
	fi
}

# The desiredKeys of a statement's plan, to show that every field is fetched.
desired_keys()
{
	bpsql -At -c "EXPLAIN (VERBOSE, COSTS OFF) $1" |
		sed -n 's/.*"desiredKeys":\(\[[^]]*\]\).*/\1/p' | head -n 1
}

# The CloudKit operations in a statement's plan ("records/query", ...).
plan_operations()
{
	bpsql -At -c "EXPLAIN (VERBOSE, COSTS OFF) $1" |
		sed -n 's/.*CloudKit Operation: *\([a-z/]*\).*/\1/p' | sort -u | paste -sd, -
}

setup_sql()
{
	local ticket_cols="id text OPTIONS (system 'recordName'), serial bigint, batch bigint,
		price double precision, sold timestamptz"
	local alltypes_cols="id text OPTIONS (system 'recordName'), s text, i bigint,
		d double precision, t timestamptz"
	local artwork_cols="id text OPTIONS (system 'recordName'), title text, year bigint,
		medium text"

	bpsql -q <<EOF
SET client_min_messages = warning;
CREATE EXTENSION ckfdw;
CREATE SERVER fast FOREIGN DATA WRAPPER ckfdw OPTIONS (
	container 'iCloud.com.example.Gallery', environment 'development',
	database 'public', base_url '$BENCH_URL_FAST');
CREATE USER MAPPING FOR CURRENT_USER SERVER fast OPTIONS (
	key_id '$CKFDW_KEY_ID', private_key_file '$CKFDW_KEY_FILE');
EOF
	setup_wan_sql
	bpsql -q <<EOF
SET client_min_messages = warning;

-- Ticket: 10,000 records; the same record type with several page sizes
CREATE FOREIGN TABLE ticket ($ticket_cols) SERVER fast OPTIONS (record_type 'Ticket');
CREATE FOREIGN TABLE ticket_p10 ($ticket_cols) SERVER fast
	OPTIONS (record_type 'Ticket', page_size '10');
CREATE FOREIGN TABLE ticket_p1 ($ticket_cols) SERVER fast
	OPTIONS (record_type 'Ticket', page_size '1');

-- AllTypes: empty, the target of the INSERTs, and their source rows
CREATE FOREIGN TABLE alltypes_b200 ($alltypes_cols) SERVER fast
	OPTIONS (record_type 'AllTypes', batch_size '200');
CREATE FOREIGN TABLE alltypes_b1 ($alltypes_cols) SERVER fast
	OPTIONS (record_type 'AllTypes', batch_size '1');
CREATE TABLE insert_src AS
	SELECT 'bench-fdw-' || lpad(g::text, 5, '0') AS id, 'value ' || g AS s,
		g::bigint AS i, g * 1.5::float8 AS d,
		timestamptz 'epoch' + (1700000000000 + g) * interval '1 ms' AS t
	FROM generate_series(1, 10000) g;
ANALYZE insert_src;

-- Artwork: 3,000 records, and 200 local record names to join with
CREATE FOREIGN TABLE artwork ($artwork_cols) SERVER fast OPTIONS (record_type 'Artwork');
CREATE FOREIGN TABLE artwork_wan ($artwork_cols) SERVER wan_h1 OPTIONS (record_type 'Artwork');
CREATE TABLE wanted AS
	SELECT 'artwork-' || lpad((g * 15)::text, 5, '0') AS name
	FROM generate_series(1, 200) g;
ALTER TABLE wanted ADD PRIMARY KEY (name);
ANALYZE wanted;
EOF
}

# ----------------------------------------------------------------------
# The sections; each runs in a subshell, so one that fails does not stop
# the others
# ----------------------------------------------------------------------

section_scan()
{
	local keys
	keys=$(desired_keys "SELECT * FROM ticket")
	echo
	echo "1. Scan 10,000 Ticket records: COPY (SELECT * FROM ticket) TO '/dev/null'"
	echo "   (every field fetched, converted and output; the plan asks for desiredKeys $keys)."
	echo "   Median of $RUNS runs unless marked.  CPU = CPU time / wall time during the runs."

	progress "scan: ckfdw, page_size 200"
	# shellcheck disable=SC2059
	time_sql scan200 "$BENCH_URL_FAST" "$BENCH_PID_FAST" "$RUNS" 0 "$(printf "$SCAN" ticket)"
	expect_tag "COPY 10000"
	local f_ms=$T_MS f_req=$T_REQ f_note
	f_note=$(cpu_note backend "$T_CPU" "$T_ECPU" "$T_WALL")

	progress "scan: direct client, page_size 200"
	direct_fetch direct200 "$BENCH_URL_FAST" "$BENCH_PID_FAST" 200 "$RUNS"
	local d_ms=$D_MS d_req=$D_REQ d_note d_ecpu
	d_note=$(cpu_note client "$D_CPU" "$D_ECPU" "$D_WALL")
	d_ecpu=$(awk -v e="$D_ECPU" -v w="$D_WALL" 'BEGIN { printf "%d", e * 100 / w + 0.5 }')

	progress "scan: ckfdw, page_size 10"
	# shellcheck disable=SC2059
	time_sql scan10 "$BENCH_URL_FAST" "$BENCH_PID_FAST" "$RUNS" 0 "$(printf "$SCAN" ticket_p10)"
	expect_tag "COPY 10000"
	local n10_ms=$T_MS n10_req=$T_REQ n10_note
	n10_note=$(cpu_note backend "$T_CPU" "$T_ECPU" "$T_WALL")

	progress "scan: direct client, page_size 10"
	direct_fetch direct10 "$BENCH_URL_FAST" "$BENCH_PID_FAST" 10 "$RUNS"
	local d10_ms=$D_MS d10_req=$D_REQ d10_note
	d10_note=$(cpu_note client "$D_CPU" "$D_ECPU" "$D_WALL")

	progress "scan: ckfdw, page_size 1 (one run)"
	# shellcheck disable=SC2059
	time_sql scan1 "$BENCH_URL_FAST" "$BENCH_PID_FAST" 1 0 "$(printf "$SCAN" ticket_p1)" \
		"SELECT id FROM ticket_p1 LIMIT 1"
	expect_tag "COPY 10000"
	local n1_ms=$T_MS n1_req=$T_REQ n1_note
	n1_note=$(cpu_note backend "$T_CPU" "$T_ECPU" "$T_WALL")

	headline '  %-24s ckfdw %s rec/s | direct client %s rec/s (ratio %s) | page_size 10: %s rec/s (ckfdw is %sx the naive way)' \
		"scan 10,000 records" "$(commas "$(rate 10000 "$f_ms")")" "$(commas "$(rate 10000 "$d_ms")")" \
		"$(ratio "$d_ms" "$f_ms")" "$(commas "$(rate 10000 "$n10_ms")")" "$(times_x "$n10_ms" "$f_ms")"
	row "ckfdw, page_size 200 (the default)" "$f_req" "$f_ms" 10000 "$f_note"
	row "direct client (physical limit), pages of 200" "$d_req" "$d_ms" 10000 "$d_note"
	row "ckfdw, page_size 10 (naive)" "$n10_req" "$n10_ms" 10000 "$n10_note"
	row "direct client, pages of 10" "$d10_req" "$d10_ms" 10000 "$d10_note"
	row "ckfdw, page_size 1 (a record a request; 1 run)" "$n1_req" "$n1_ms" 10000 "$n1_note"
	printf '    ckfdw / direct client: %s with pages of 200, %s with pages of 10; page_size 1 is %sx slower than 200\n' \
		"$(ratio "$d_ms" "$f_ms")" "$(ratio "$d10_ms" "$n10_ms")" "$(times_x "$n1_ms" "$f_ms")"
	printf '    ckemu served the direct client %s rec/s using %s%% of a core: ckemu is not the bottleneck, the client side is\n' \
		"$(commas "$(rate 10000 "$d_ms")")" "$d_ecpu"
}

# The network model's figures: NAME|RECORDS|LIMIT|TAG|RESET|PREPARE|SQL.
# Each runs over HTTP/1.1 and HTTP/2; in PREPARE and SQL, {p} is the
# variant's table suffix (h1, h2), {direct} and {wan} the base_url of its
# ckemu without and with the network model.  LIMIT names the physical limit the time
# is compared with: "cursor" (one page of 200 records a round trip, one
# cursor) or "stream" (one records/modify of 200 records a round trip, one
# stream); both are ceil(RECORDS / 200) round trips.  RESET 1 resets the
# ckemu to the seed before each run, then PREPARE runs untimed, straight to
# that ckemu (table alltypes_{p}_direct: no delay, no proxy).  To add a
# figure, add a line (and, if it needs them, its tables to setup_wan_sql).
# Before a figure's runs, its session opens the connections a statement
# keeps busy (8 writes in flight, 4 cursors), as a session that has run a
# statement before has them: the figures show a statement's round trips,
# not connection set-up, which a session pays once.
WAN_WARMUP="INSERT INTO alltypes_{p} SELECT 'warm-up-' || id, s, i, d, t FROM wan_src LIMIT 1600; \
DELETE FROM alltypes_{p}; SELECT count(*) FROM ticket_{p}_split"
# 100,000 records, analyzed straight from ckemu (reading them through the
# model would take 25 s a run); then a query opens the connections again.
WAN_PREPARE_100K="INSERT INTO alltypes_{p}_direct SELECT * FROM wan_src; \
ALTER SERVER wan_{p} OPTIONS (SET base_url '{direct}'); ANALYZE alltypes_{p}_split; \
ALTER SERVER wan_{p} OPTIONS (SET base_url '{wan}'); SELECT count(*) FROM ticket_{p}_split"
WAN_FIGURES=(
	"full-row scan of 10,000 records|10000|cursor|COPY 10000|0||COPY (SELECT * FROM ticket_{p}) TO '/dev/null'"
	"the same, 4 range cursors|10000|cursor|COPY 10000|0||COPY (SELECT * FROM ticket_{p}_split) TO '/dev/null'"
	"UNION ALL of 4 tables, async|40000|cursor|COPY 40000|0||COPY (SELECT * FROM ticket_{p}_a UNION ALL SELECT * FROM ticket_{p}_b UNION ALL SELECT * FROM ticket_{p}_c UNION ALL SELECT * FROM ticket_{p}_d) TO '/dev/null'"
	"INSERT ... SELECT 20,000 rows|20000|stream|INSERT 0 20000|1||INSERT INTO alltypes_{p} SELECT * FROM wan_src LIMIT 20000"
	"UPDATE of 5,000 rows|5000|stream|UPDATE 5000|1|INSERT INTO alltypes_{p}_direct SELECT * FROM wan_src LIMIT 5000|UPDATE alltypes_{p} SET d = d + 1"
	"the same, 4 range cursors|5000|stream|UPDATE 5000|1|INSERT INTO alltypes_{p}_direct SELECT * FROM wan_src LIMIT 5000; ANALYZE alltypes_{p}_split|UPDATE alltypes_{p}_split SET d = d + 1"
	"DELETE of 5,000 rows|5000|stream|DELETE 5000|1|INSERT INTO alltypes_{p}_direct SELECT * FROM wan_src LIMIT 5000|DELETE FROM alltypes_{p}"
	"the same, 4 range cursors|5000|stream|DELETE 5000|1|INSERT INTO alltypes_{p}_direct SELECT * FROM wan_src LIMIT 5000; ANALYZE alltypes_{p}_split|DELETE FROM alltypes_{p}_split"
	# last: the warm-up would delete its 100,000 records one round trip a page
	"range cursors over 100,000 records|100000|cursor|COPY 100000|1|$WAN_PREPARE_100K|COPY (SELECT * FROM alltypes_{p}_split) TO '/dev/null'"
)

# The servers and tables of the network model: for each variant, one server
# through netdelay and TLS (wan_h1, wan_h2) and one straight to the same
# ckemu (wan_h1_direct, wan_h2_direct) for untimed preparation.
setup_wan_sql()
{
	local p url direct
	local ticket_cols="id text OPTIONS (system 'recordName'), serial bigint, batch bigint,
		price double precision, sold timestamptz"
	local alltypes_cols="id text OPTIONS (system 'recordName'), s text, i bigint,
		d double precision, t timestamptz"

	for p in h1 h2; do
		if [ $p = h1 ]; then url=$BENCH_URL_H1 direct=$BENCH_ADMIN_H1; else url=$BENCH_URL_H2 direct=$BENCH_ADMIN_H2; fi
		bpsql -q <<EOF
SET client_min_messages = warning;
CREATE SERVER wan_$p FOREIGN DATA WRAPPER ckfdw OPTIONS (
	container 'iCloud.com.example.Gallery', environment 'development',
	database 'public', base_url '$url', ca_file '$CKFDW_CA_FILE');
CREATE SERVER wan_${p}_direct FOREIGN DATA WRAPPER ckfdw OPTIONS (
	container 'iCloud.com.example.Gallery', environment 'development',
	database 'public', base_url '$direct', ca_file '$CKFDW_CA_FILE');
CREATE USER MAPPING FOR CURRENT_USER SERVER wan_$p OPTIONS (
	key_id '$CKFDW_KEY_ID', private_key_file '$CKFDW_KEY_FILE');
CREATE USER MAPPING FOR CURRENT_USER SERVER wan_${p}_direct OPTIONS (
	key_id '$CKFDW_KEY_ID', private_key_file '$CKFDW_KEY_FILE');
CREATE FOREIGN TABLE ticket_$p ($ticket_cols) SERVER wan_$p OPTIONS (record_type 'Ticket');
-- past one cursor: range cursors over serial (bounds from ANALYZE), and
-- four tables an async Append reads side by side
CREATE FOREIGN TABLE ticket_${p}_split ($ticket_cols) SERVER wan_$p
	OPTIONS (record_type 'Ticket', scan_cursors '4', split_column 'serial');
ALTER FOREIGN TABLE ticket_${p}_split ALTER COLUMN serial SET NOT NULL;
ANALYZE ticket_${p}_split;
CREATE FOREIGN TABLE ticket_${p}_a ($ticket_cols) SERVER wan_$p OPTIONS (record_type 'Ticket', async_capable 'true');
CREATE FOREIGN TABLE ticket_${p}_b ($ticket_cols) SERVER wan_$p OPTIONS (record_type 'Ticket', async_capable 'true');
CREATE FOREIGN TABLE ticket_${p}_c ($ticket_cols) SERVER wan_$p OPTIONS (record_type 'Ticket', async_capable 'true');
CREATE FOREIGN TABLE ticket_${p}_d ($ticket_cols) SERVER wan_$p OPTIONS (record_type 'Ticket', async_capable 'true');
CREATE FOREIGN TABLE alltypes_$p ($alltypes_cols) SERVER wan_$p
	OPTIONS (record_type 'AllTypes', batch_size '200');
CREATE FOREIGN TABLE alltypes_${p}_direct ($alltypes_cols) SERVER wan_${p}_direct
	OPTIONS (record_type 'AllTypes', batch_size '200');
-- the rows an UPDATE or DELETE changes, found by range cursors over i
-- (ANALYZE runs before each run, untimed: the records come and go)
CREATE FOREIGN TABLE alltypes_${p}_split ($alltypes_cols) SERVER wan_$p
	OPTIONS (record_type 'AllTypes', batch_size '200', scan_cursors '4', split_column 'i');
ALTER FOREIGN TABLE alltypes_${p}_split ALTER COLUMN i SET NOT NULL;
EOF
	done
	bpsql -q <<EOF
CREATE TABLE wan_src AS
	SELECT 'bench-wan-' || lpad(g::text, 6, '0') AS id, 'value ' || g AS s,
		g::bigint AS i, g * 1.5::float8 AS d,
		timestamptz 'epoch' + (1700000000000 + g) * interval '1 ms' AS t
	FROM generate_series(1, 100000) g;
ANALYZE wan_src;
EOF
}

section_wan()
{
	local n name records limit tag reset prepare prep sql p url admin pid label
	local limit_ms ratio_h1 ratio_h2 what

	echo
	echo "2. Network model: ckfdw -> netdelay (${WAN_RTT_MS} ms round trip, one more for each new connection)"
	echo "   -> TLS (HTTP/1.1: ckemu's own TLS; HTTP/2: nghttpx in front of ckemu) -> ckemu."
	echo "   ratio = the physical limit's time / the time measured (1.00 = at the limit): a single"
	echo "   cursor reads one page of 200 records a round trip, a single stream writes one"
	echo "   records/modify of 200 records a round trip.  Median of $WAN_RUNS run(s) (BENCH_WAN_RUNS)."
	for n in "${!WAN_FIGURES[@]}"; do
		IFS='|' read -r name records limit tag reset prepare sql <<<"${WAN_FIGURES[$n]}"
		[[ $sql =~ ${BENCH_WAN_ONLY:-.} ]] || continue
		limit_ms=$(( (records + 199) / 200 * WAN_RTT_MS ))
		ratio_h1="" ratio_h2=""
		for p in h1 h2; do
			if [ $p = h1 ]; then
				admin=$BENCH_ADMIN_H1 pid=$BENCH_PID_H1 label="HTTP/1.1" url=$BENCH_URL_H1
			else
				admin=$BENCH_ADMIN_H2 pid=$BENCH_PID_H2 label="HTTP/2" url=$BENCH_URL_H2
			fi
			prep=${prepare//\{direct\}/$admin}
			prep=${prep//\{wan\}/$url}
			progress "network model: $name, $label"
			time_sql "wan_${p}_$n" "$admin" "$pid" "$WAN_RUNS" "$reset" \
				"${sql//\{p\}/$p}" "${WAN_WARMUP//\{p\}/$p}" "${prep//\{p\}/$p}"
			expect_tag "$tag"
			printf -v "ratio_$p" '%s' "$(ratio "$limit_ms" "$T_MS")"
			row "$label" "$T_REQ" "$T_MS" "$records" \
				"$(cpu_note backend "$T_CPU" "$T_ECPU" "$T_WALL")"
		done
		if [ "$limit" = cursor ]; then what="single-cursor limit"; else what="single-stream limit"; fi
		headline '  %-34s HTTP/1.1 %s | HTTP/2 %s of the %s (%s ms at %s ms RTT)' \
			"$name:" "$ratio_h1" "$ratio_h2" "$what" "$(commas "$limit_ms")" "$WAN_RTT_MS"
	done

	progress "network model: the direct client's scan"
	direct_fetch wandirect_h1 "$BENCH_URL_H1" "$BENCH_PID_H1" 200 "$WAN_RUNS" --ca-file "$CKFDW_CA_FILE"
	local d1_ms=$D_MS d1_req=$D_REQ
	direct_fetch wandirect_h2 "$BENCH_URL_H2" "$BENCH_PID_H2" 200 "$WAN_RUNS" --ca-file "$CKFDW_CA_FILE"
	printf '    the direct client (fetch_pages) scans the same 10,000 records at %s of the limit (HTTP/1.1, %s),\n' \
		"$(ratio $(( 50 * WAN_RTT_MS )) "$d1_ms")" "$(requests "$d1_req")"
	printf '    %s (HTTP/2, %s): what one cursor without read-ahead reaches\n' \
		"$(ratio $(( 50 * WAN_RTT_MS )) "$D_MS")" "$(requests "$D_REQ")"
	echo "    protocols nghttpx saw (its access log), all HTTP/2 figures: $(h2_protocols)"
}

# The protocols requests came in to nghttpx, from its access log (ckfdw's
# and the direct client's: "h2" when libcurl negotiated HTTP/2).
h2_protocols()
{
	local log=$WORK_DIR/nghttpx-access.log
	if [ -s "$log" ]; then
		awk '{ n[$1]++ } END { sep = ""; for (p in n) { printf "%s%s (%d requests)", sep, p, n[p]; sep = ", " } }' "$log"
	else
		echo "unknown (no access log)"
	fi
}

# backend_hwm SQL: the peak resident size (VmHWM, kB) of a new backend
# after it ran SQL, read from /proc as root
backend_hwm()
{
	local out="$WORK_DIR/hwm.out"
	bpsql -q >"$out" <<EOF
SELECT pg_backend_pid() AS pid \gset
$1;
\setenv BENCH_BACKEND :pid
\! awk '/^VmHWM:/ { print \$2 }' /proc/\$BENCH_BACKEND/status
EOF
	tail -n 1 "$out"
}

section_memory()
{
	local hwm1 hwm1k hwm10k bytes

	echo
	echo "3. Memory: peak resident size (VmHWM) of a new backend after one scan of Ticket"
	progress "memory"
	hwm1=$(backend_hwm "COPY (SELECT * FROM ticket LIMIT 1) TO '/dev/null'")
	hwm1k=$(backend_hwm "COPY (SELECT * FROM ticket LIMIT 1000) TO '/dev/null'")
	curl -sf -X DELETE "$BENCH_URL_FAST/_ckemu/stats" >/dev/null
	hwm10k=$(backend_hwm "COPY (SELECT * FROM ticket) TO '/dev/null'")
	bytes=$(curl -sf "$BENCH_URL_FAST/_ckemu/stats" | jq '.operations["records/query"].bytes_out')

	headline '  %-24s %s kB after 1,000 records | %s kB after 10,000 records (difference %s kB)' \
		"backend peak RSS" "$(commas "$hwm1k")" "$(commas "$hwm10k")" "$(commas $((hwm10k - hwm1k)))"
	printf '    after 1 record: %s kB.  The 10,000 records were %s kB of JSON: a scan that kept them would grow by more\n' \
		"$(commas "$hwm1")" "$(commas $((bytes / 1024)))"
}

section_insert()
{
	local probe

	echo
	echo "4. INSERT INTO <foreign table of AllTypes> SELECT ... 10,000 rows (id, s, i, d, t)."
	echo "   ckemu's data is reset to the seed before every run."
	progress "insert: probing"
	if ! probe=$(bpsql -q -c "INSERT INTO alltypes_b200 SELECT * FROM insert_src LIMIT 1" 2>&1); then
		probe=$(sed -n 's/^.*ERROR: *//p' <<<"$probe" | head -n 1)
		headline '  %-24s not supported by this build (%s)' "INSERT:" "$probe"
		return 0
	fi
	curl -sf -X POST "$BENCH_URL_FAST/_ckemu/reset" >/dev/null

	progress "insert: ckfdw, batch_size 200"
	time_sql ins200 "$BENCH_URL_FAST" "$BENCH_PID_FAST" "$RUNS" 1 \
		"INSERT INTO alltypes_b200 SELECT * FROM insert_src"
	expect_tag "INSERT 0 10000"
	local f_ms=$T_MS f_req=$T_REQ f_note f_written stored
	f_note=$(cpu_note backend "$T_CPU" "$T_ECPU" "$T_WALL")
	f_written=$(stat_of ins200 records/modify records_in)
	stored=$(bpsql -At -c "SELECT count(*) FROM alltypes_b200 a JOIN insert_src s USING (id)
		WHERE a.s = s.s AND a.i = s.i AND a.d = s.d AND a.t = s.t")

	progress "insert: direct client, batches of 200"
	local out="$WORK_DIR/direct-insert.out"
	: >"$out"
	for _ in $(seq 1 "$RUNS"); do
		curl -sf -X POST "$BENCH_URL_FAST/_ckemu/reset" >/dev/null
		"$WORK_DIR/modify_batches" --url "$BENCH_URL_FAST" --key-id "$CKFDW_KEY_ID" \
			--key-file "$CKFDW_KEY_FILE" --records 10000 --batch-size 200 \
			--ckemu-pid "$BENCH_PID_FAST" >>"$out"
	done
	# records R requests Q ms T ckemu_cpu_ms E client_cpu_ms C
	local d_ms d_req d_note
	d_ms=$(median_column "$out" 6)
	d_req=$(median_column "$out" 4)
	d_note=$(cpu_note client "$(sum_column "$out" 10)" "$(sum_column "$out" 8)" "$(sum_column "$out" 6)")

	progress "insert: ckfdw, batch_size 1 (one run)"
	time_sql ins1 "$BENCH_URL_FAST" "$BENCH_PID_FAST" 1 1 \
		"INSERT INTO alltypes_b1 SELECT * FROM insert_src" \
		"INSERT INTO alltypes_b1 SELECT * FROM insert_src LIMIT 1"
	expect_tag "INSERT 0 10000"
	local n1_ms=$T_MS n1_req=$T_REQ n1_note
	n1_note=$(cpu_note backend "$T_CPU" "$T_ECPU" "$T_WALL")
	curl -sf -X POST "$BENCH_URL_FAST/_ckemu/reset" >/dev/null

	headline '  %-24s ckfdw %s rec/s | direct client %s rec/s (ratio %s) | batch_size 1: %s rec/s (ckfdw is %sx the naive way)' \
		"insert 10,000 records" "$(commas "$(rate 10000 "$f_ms")")" "$(commas "$(rate 10000 "$d_ms")")" \
		"$(ratio "$d_ms" "$f_ms")" "$(commas "$(rate 10000 "$n1_ms")")" "$(times_x "$n1_ms" "$f_ms")"
	row "ckfdw, batch_size 200" "$f_req" "$f_ms" 10000 "$f_note"
	row "direct client (physical limit), 200 a request" "$d_req" "$d_ms" 10000 "$d_note"
	row "ckfdw, batch_size 1 (row at a time; 1 run)" "$n1_req" "$n1_ms" 10000 "$n1_note"
	printf '    checked: ckemu counted %s records written by each ckfdw run; %s of the 10,000 read back with equal values\n' \
		"$(commas "$f_written")" "$(commas "$stored")"
}

# lookup_run NAME URL CKEMU_PID SQL: sets L_MS, L_REQ, L_COUNT, L_OPS
lookup_run()
{
	L_OPS=$(plan_operations "$4")
	time_sql "$1" "$2" "$3" "$RUNS" 0 "$4"
	L_MS=$T_MS
	L_REQ=$T_REQ
	L_COUNT=$(sed -n 's/^ *\([0-9][0-9]*\) *$/\1/p' "$WORK_DIR/$1/out" | tail -n 1)
	if [ "$L_COUNT" != 200 ]; then
		echo "found $L_COUNT records, not 200: $4" >&2
		return 1
	fi
}

section_lookup()
{
	local join="SELECT count(*) FROM wanted w JOIN %s a ON a.id = w.name"
	local any="SELECT count(*) FROM %s a WHERE a.id = ANY (ARRAY(SELECT name FROM wanted))"
	local scan="SELECT count(*) FROM wanted w JOIN %s a ON a.id || '' = w.name"
	local srv t url pid label

	echo
	echo "5. 200 local record names (table wanted) looked up in Artwork (3,000 records): a join on the"
	echo "   record name and an = ANY (ARRAY(...)) filter, against the join forced to a full scan"
	echo "   (ON a.id || '' = w.name: nothing can be pushed down).  Each must find 200 records."
	echo "   Then the same through section 2's network model (${WAN_RTT_MS} ms round trip, TLS, HTTP/1.1)."
	for srv in fast wan; do
		if [ "$srv" = fast ]; then
			t=artwork url=$BENCH_URL_FAST pid=$BENCH_PID_FAST label="lookup 200 names"
		else
			t=artwork_wan url=$BENCH_ADMIN_H1 pid=$BENCH_PID_H1 label="same, ${WAN_RTT_MS} ms RTT, TLS"
		fi
		progress "lookups ($srv)"
		# shellcheck disable=SC2059
		lookup_run "join_$srv" "$url" "$pid" "$(printf "$join" "$t")"
		local j_ms=$L_MS j_req=$L_REQ j_ops=$L_OPS
		# shellcheck disable=SC2059
		lookup_run "any_$srv" "$url" "$pid" "$(printf "$any" "$t")"
		local a_ms=$L_MS a_req=$L_REQ a_ops=$L_OPS
		# shellcheck disable=SC2059
		lookup_run "jscan_$srv" "$url" "$pid" "$(printf "$scan" "$t")"
		local s_ms=$L_MS s_req=$L_REQ s_ops=$L_OPS
		if [[ $s_ops == *records/lookup* ]]; then
			echo "the forced full scan uses records/lookup" >&2
			return 1
		fi

		# the headline shows the faster of the two forms that use records/lookup
		local b_ms="" b_req b_what
		if [[ $j_ops == *records/lookup* ]]; then
			b_ms=$j_ms b_req=$j_req b_what="join"
		fi
		if [[ $a_ops == *records/lookup* ]] && { [ -z "$b_ms" ] || awk -v a="$a_ms" -v b="$b_ms" 'BEGIN { exit !(a < b) }'; }; then
			b_ms=$a_ms b_req=$a_req b_what="= ANY"
		fi
		if [ -n "$b_ms" ]; then
			headline '  %-24s records/lookup (%s): %s, %s ms | full scan: %s, %s ms (lookup is %sx faster)' \
				"$label" "$b_what" "$(requests "$b_req")" "$(printf '%.1f' "$b_ms")" "$(requests "$s_req")" \
				"$(printf '%.1f' "$s_ms")" "$(times_x "$s_ms" "$b_ms")"
		else
			headline '  %-24s no lookup pushdown in this build (plans use %s) | full scan: %s, %s ms' \
				"$label" "$j_ops" "$(requests "$s_req")" "$(printf '%.1f' "$s_ms")"
		fi
		printf '    %-50s %-16s %7s requests %10s ms\n' \
			"join ON a.id = w.name" "$j_ops" "$(commas "$j_req")" "$(printf '%.1f' "$j_ms")" \
			"WHERE a.id = ANY (ARRAY(SELECT name FROM wanted))" "$a_ops" "$(commas "$a_req")" "$(printf '%.1f' "$a_ms")" \
			"forced full scan (ON a.id || '' = w.name)" "$s_ops" "$(commas "$s_req")" "$(printf '%.1f' "$s_ms")"
	done
}

# The private database's change feed: a 100,000-record zone, 1 % of it
# changed, read incrementally (from the token of the last run) against a
# full re-read (the feed from '', and records/query).
section_changes()
{
	local n=100000 changed=1000 tok

	echo
	echo "6. Change fetches: a custom zone of the private database with $(commas $n) BenchNote records,"
	echo "   $(commas $changed) of them (1 %) updated since the last run's token.  The incremental read"
	echo "   (WHERE sync_token = <token>) against full re-reads: the feed from '' and records/query."
	progress "changes: loading $(commas $n) records"
	curl -sf -X POST "$BENCH_URL_FAST/database/1/iCloud.com.example.Gallery/development/private/zones/modify?ckAPIToken=$CKFDW_API_TOKEN&ckWebAuthToken=$CKFDW_WEB_AUTH_TOKEN" \
		--data-binary '{"operations":[{"operationType":"create","zone":{"zoneID":{"zoneName":"BenchMirror"}}}]}' >/dev/null
	bpsql -q <<SQL
SET client_min_messages = warning;
CREATE SERVER fast_private FOREIGN DATA WRAPPER ckfdw OPTIONS (
	container 'iCloud.com.example.Gallery', database 'private', base_url '$BENCH_URL_FAST');
CREATE USER MAPPING FOR CURRENT_USER SERVER fast_private OPTIONS (
	api_token '$CKFDW_API_TOKEN', web_auth_token '$CKFDW_WEB_AUTH_TOKEN');
CREATE FOREIGN TABLE bench_note (id text OPTIONS (system 'recordName'), title text, n bigint,
	sync_token text OPTIONS (system 'syncToken'), deleted boolean OPTIONS (system 'deleted'))
	SERVER fast_private OPTIONS (record_type 'BenchNote', zone 'BenchMirror');
CREATE FOREIGN TABLE bench_note_q (id text OPTIONS (system 'recordName'), title text, n bigint)
	SERVER fast_private OPTIONS (record_type 'BenchNote', zone 'BenchMirror', scan_source 'query');
INSERT INTO bench_note (id, title, n)
	SELECT 'note-' || lpad(g::text, 6, '0'), 'note number ' || g, g FROM generate_series(1, $n) g;
CREATE TABLE bench_note_copy (id text PRIMARY KEY, title text, n bigint);
INSERT INTO bench_note_copy SELECT id, title, n FROM bench_note WHERE sync_token = '';
CREATE TABLE bench_state AS SELECT ckfdw_sync_token('bench_note') AS token;
UPDATE bench_note SET n = -n
	WHERE id = ANY (ARRAY(SELECT 'note-' || lpad((g * 100)::text, 6, '0') FROM generate_series(1, $changed) g));
SQL
	tok=$(bpsql -At -c "SELECT token FROM bench_state")

	progress "changes: incremental read"
	time_sql chg_incr "$BENCH_URL_FAST" "$BENCH_PID_FAST" "$RUNS" 0 \
		"COPY (SELECT * FROM bench_note WHERE sync_token = '$tok') TO '/dev/null'"
	expect_tag "COPY $changed"
	local i_ms=$T_MS i_req=$T_REQ i_rec
	i_rec=$(stat_of chg_incr changes/zone records_out)

	progress "changes: full read of the feed"
	time_sql chg_full "$BENCH_URL_FAST" "$BENCH_PID_FAST" "$RUNS" 0 \
		"COPY (SELECT * FROM bench_note WHERE sync_token = '') TO '/dev/null'"
	expect_tag "COPY $n"
	local f_ms=$T_MS f_req=$T_REQ f_rec f_cpu=$T_CPU f_hwm=$T_HWM
	f_rec=$(stat_of chg_full changes/zone records_out)

	progress "changes: full records/query scan"
	time_sql chg_query "$BENCH_URL_FAST" "$BENCH_PID_FAST" "$RUNS" 0 \
		"COPY (SELECT * FROM bench_note_q) TO '/dev/null'"
	expect_tag "COPY $n"
	local q_ms=$T_MS q_req=$T_REQ

	progress "changes: the nightly MERGE, incremental and from ''"
	local merge="MERGE INTO bench_note_copy AS l USING (SELECT * FROM bench_note WHERE sync_token = '%s') AS c
		ON l.id = c.id WHEN MATCHED AND c.deleted THEN DELETE
		WHEN MATCHED THEN UPDATE SET title = c.title, n = c.n
		WHEN NOT MATCHED AND NOT c.deleted THEN INSERT VALUES (c.id, c.title, c.n)"
	# shellcheck disable=SC2059
	time_sql chg_merge_incr "$BENCH_URL_FAST" "$BENCH_PID_FAST" "$RUNS" 0 "$(printf "$merge" "$tok")"
	local mi_ms=$T_MS mi_req=$T_REQ
	# shellcheck disable=SC2059
	time_sql chg_merge_full "$BENCH_URL_FAST" "$BENCH_PID_FAST" "$RUNS" 0 "$(printf "$merge" "")"
	local mf_ms=$T_MS mf_req=$T_REQ
	local copy_ok
	copy_ok=$(bpsql -At -c "SELECT count(*) FILTER (WHERE n < 0) = $changed AND count(*) = $n FROM bench_note_copy")
	if [ "$copy_ok" != t ]; then
		echo "the copy does not hold the $n records with the $changed changes" >&2
		return 1
	fi

	headline '  %-24s %s, %s ms | full re-read of the feed: %s, %s ms (ratio %s of the requests, %s of the time)' \
		"incremental, 1 % changed" "$(requests "$i_req")" "$(printf '%.1f' "$i_ms")" \
		"$(requests "$f_req")" "$(printf '%.1f' "$f_ms")" "$(ratio3 "$i_req" "$f_req")" "$(ratio3 "$i_ms" "$f_ms")"
	row "change read from the stored token" "$i_req" "$i_ms" "$i_rec"
	row "full read of the feed (token '')" "$f_req" "$f_ms" "$f_rec"
	row "full records/query scan" "$q_req" "$q_ms" "$n"
	printf '    %-46s %7s requests %10s ms\n' \
		"nightly MERGE, incremental" "$(commas "$mi_req")" "$(printf '%.1f' "$mi_ms")" \
		"nightly MERGE from '' (everything again)" "$(commas "$mf_req")" "$(printf '%.1f' "$mf_ms")"
	printf '    incremental / full: requests %s (feed) %s (query), time %s (feed) %s (query); MERGE time %s\n' \
		"$(ratio3 "$i_req" "$f_req")" "$(ratio3 "$i_req" "$q_req")" "$(ratio3 "$i_ms" "$f_ms")" \
		"$(ratio3 "$i_ms" "$q_ms")" "$(ratio3 "$mi_ms" "$mf_ms")"
	printf '    full read of the feed: %s records per backend CPU-second, backend peak resident size %s kB\n' \
		"$(commas "$(awk -v n="$n" -v r="$RUNS" -v c="$f_cpu" 'BEGIN { print (c > 0) ? n * r / (c / 1000) : 0 }')")" \
		"$(commas "$f_hwm")"
}

# ckemu itself: creates from parallel connections, and a big seed's load
section_emu()
{
	local seed_n=${BENCH_EMU_SEED_RECORDS:-1000000}
	local out="$WORK_DIR/emu-create.out" c ms1 ms2 req1 req2 note1 note2

	echo
	echo "9. ckemu itself: every-type AllTypes records (every field but the assets) created through"
	echo "   records/modify, 200 a request, from 1 and 2 connections at once (test/bench/emu_load.c);"
	echo "   and $(commas "$seed_n") every-type records (assets too) loaded from a seed file at start-up."
	for c in 1 2; do
		progress "emu: creates from $c connection(s)"
		: >"$out.$c"
		for _ in $(seq 1 "$RUNS"); do
			curl -sf -X POST "$BENCH_URL_FAST/_ckemu/reset" >/dev/null
			"$WORK_DIR/emu_load" create --url "$BENCH_URL_FAST" --key-id "$CKFDW_KEY_ID" \
				--key-file "$CKFDW_KEY_FILE" --records 20000 --connections "$c" \
				--ckemu-pid "$BENCH_PID_FAST" >>"$out.$c"
		done
	done
	curl -sf -X POST "$BENCH_URL_FAST/_ckemu/reset" >/dev/null
	# records R requests Q connections C ms T ckemu_cpu_ms E client_cpu_ms K
	ms1=$(median_column "$out.1" 8)
	ms2=$(median_column "$out.2" 8)
	req1=$(median_column "$out.1" 4)
	req2=$(median_column "$out.2" 4)
	note1=$(cpu_note client "$(sum_column "$out.1" 12)" "$(sum_column "$out.1" 10)" "$(sum_column "$out.1" 8)")
	note2=$(cpu_note client "$(sum_column "$out.2" 12)" "$(sum_column "$out.2" 10)" "$(sum_column "$out.2" 8)")

	progress "emu: writing a seed of $seed_n records"
	local seed="$WORK_DIR/emu-seed.json" portfile="$WORK_DIR/emu-seed.port" pid t0 t1 load_ms cpu_ms hwm rss
	"$WORK_DIR/emu_load" seed --records "$seed_n" --out "$seed"
	progress "emu: loading it"
	rm -f "$portfile"
	t0=$(date +%s%N)
	"$CKFDW_ROOT/test/ckemu/ckemu" --listen 127.0.0.1:0 --port-file "$portfile" \
		--s2s-key "$CKFDW_KEY_ID=$WORK_DIR/pub.pem" --schema "$CKFDW_ROOT/test/data/gallery.ckdb" \
		--data "$seed" --container iCloud.com.example.Gallery --quiet >"$WORK_DIR/emu-seed.log" 2>&1 &
	pid=$!
	while [ ! -s "$portfile" ]; do
		if ! kill -0 "$pid" 2>/dev/null; then
			echo "ckemu did not load the seed:" >&2
			cat "$WORK_DIR/emu-seed.log" >&2
			rm -f "$seed"
			return 1
		fi
		sleep 0.05
	done
	t1=$(date +%s%N)
	load_ms=$(((t1 - t0) / 1000000))
	cpu_ms=$("$WORK_DIR/cpu-ms" "$pid")
	hwm=$(awk '/^VmHWM:/ { print $2 }' "/proc/$pid/status")
	rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status")

	# the backend's memory stays flat whatever a scan reads: 10,000 records
	# against all of them, full rows, read-ahead on
	progress "emu: backend memory scanning 10,000 and $seed_n records"
	bpsql -q <<SQL
SET client_min_messages = warning;
CREATE SERVER emu_big FOREIGN DATA WRAPPER ckfdw OPTIONS (
	container 'iCloud.com.example.Gallery', environment 'development',
	database 'public', base_url 'http://127.0.0.1:$(cat "$portfile")');
CREATE USER MAPPING FOR CURRENT_USER SERVER emu_big OPTIONS (
	key_id '$CKFDW_KEY_ID', private_key_file '$CKFDW_KEY_FILE');
CREATE FOREIGN TABLE alltypes_big ($ALLTYPES_COLS) SERVER emu_big OPTIONS (record_type 'AllTypes');
SQL
	local b10k b1m
	b10k=$(backend_hwm "COPY (SELECT * FROM alltypes_big LIMIT 10000) TO '/dev/null'")
	b1m=$(backend_hwm "COPY (SELECT * FROM alltypes_big) TO '/dev/null'")
	bpsql -q -c "DROP SERVER emu_big CASCADE" >/dev/null
	kill "$pid"
	wait "$pid" 2>/dev/null || true
	local seed_kb=$(($(stat -c %s "$seed") / 1024))
	rm -f "$seed"

	headline '  %-24s creates %s rec/s from 2 connections (1: %s rec/s) | %s every-type records seeded in %s s, peak %s MB' \
		"ckemu:" "$(commas "$(rate 20000 "$ms2")")" "$(commas "$(rate 20000 "$ms1")")" \
		"$(commas "$seed_n")" "$(awk -v m="$load_ms" 'BEGIN { printf "%.1f", m / 1000 }')" \
		"$(commas $((hwm / 1024)))"
	headline '  %-24s %s kB after 10,000 records | %s kB after %s (growth %s kB)' \
		"backend peak RSS, big:" "$(commas "$b10k")" "$(commas "$b1m")" "$(commas "$seed_n")" \
		"$(commas $((b1m - b10k)))"
	row "creates, 1 connection" "$req1" "$ms1" 20000 "$note1"
	row "creates, 2 connections" "$req2" "$ms2" 20000 "$note2"
	printf '    ckemu CPU per record created: %s us (1 connection), %s us (2 connections)\n' \
		"$(awk -v e="$(sum_column "$out.1" 10)" -v r="$RUNS" 'BEGIN { printf "%.1f", e * 1000 / (r * 20000) }')" \
		"$(awk -v e="$(sum_column "$out.2" 10)" -v r="$RUNS" 'BEGIN { printf "%.1f", e * 1000 / (r * 20000) }')"
	printf '    seed of %s records (%s MB of JSON): loaded in %s ms (%s ms of CPU); peak RSS %s MB, %s MB after the load (%s bytes a record; the file is mapped, not kept in the heap)\n' \
		"$(commas "$seed_n")" "$(commas $((seed_kb / 1024)))" "$(commas "$load_ms")" "$(commas "$cpu_ms")" \
		"$(commas $((hwm / 1024)))" "$(commas $((rss / 1024)))" "$(commas $((rss * 1024 / seed_n)))"
}

# Assets: 1,000 records with 100 kB assets backed up (content read as
# bytea) and copied into the second container, against the raw transfer of
# the same bytes (curl fetching the same download URLs over one keep-alive
# connection).
section_assets()
{
	local n=1000
	echo
	echo "8. Back up $n records with 100 kB assets: COPY (SELECT id, a FROM <AllTypes, a bytea of type ASSETID>)"
	echo "   TO '/dev/null' (FORMAT binary); and copy them into a second container with INSERT ... SELECT."
	progress "assets: loading $n records with 100 kB assets"
	bpsql -q <<EOF
SET client_min_messages = warning;
CREATE SERVER asset_copy FOREIGN DATA WRAPPER ckfdw OPTIONS (
	container 'iCloud.com.example.GalleryCopy', base_url '$BENCH_URL_FAST');
CREATE USER MAPPING FOR CURRENT_USER SERVER asset_copy OPTIONS (
	key_id '$CKFDW_KEY_ID', private_key_file '$CKFDW_KEY_FILE');
CREATE FOREIGN TABLE asset_src (id text OPTIONS (system 'recordName'), s text,
	a bytea OPTIONS (type 'ASSETID')) SERVER fast OPTIONS (record_type 'AllTypes');
CREATE FOREIGN TABLE asset_url (id text OPTIONS (system 'recordName'), s text,
	a text OPTIONS (type 'ASSETID')) SERVER fast OPTIONS (record_type 'AllTypes');
CREATE FOREIGN TABLE asset_dst (id text OPTIONS (system 'recordName'), s text,
	a bytea OPTIONS (type 'ASSETID')) SERVER asset_copy OPTIONS (record_type 'AllTypes',
	insert_mode 'replace');
CREATE TABLE asset_local AS
	SELECT 'bench-asset-' || lpad(g::text, 5, '0') AS id, 'bench-asset' AS s,
		int8send(g::bigint) || convert_to(repeat(md5(g::text), 3125), 'UTF8') AS a
	FROM generate_series(1, $n) g;
INSERT INTO asset_src SELECT * FROM asset_local;
EOF

	progress "assets: backup (download) with ckfdw"
	time_sql assets_backup "$BENCH_URL_FAST" "$BENCH_PID_FAST" "$RUNS" 0 \
		"COPY (SELECT id, a FROM asset_src WHERE s = 'bench-asset') TO '/dev/null' WITH (FORMAT binary)"
	expect_tag "COPY $n"
	local b_ms=$T_MS b_req=$T_REQ b_note b_bytes
	b_note=$(cpu_note backend "$T_CPU" "$T_ECPU" "$T_WALL")
	b_bytes=$(stat_of assets_backup assets/download bytes_out)

	progress "assets: raw transfer of the same bytes with curl"
	bpsql -At -c "SELECT 'url = \"' || a || E'\"\noutput = \"/dev/null\"' FROM asset_url WHERE s = 'bench-asset'" \
		>"$WORK_DIR/asset-urls"
	local raw=() t0 t1 r_ms
	for _ in $(seq 1 "$RUNS"); do
		t0=$(date +%s%N)
		curl -sf -K "$WORK_DIR/asset-urls"
		t1=$(date +%s%N)
		raw+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN { print (b - a) / 1e6 }')")
	done
	r_ms=$(median "${raw[@]}")

	progress "assets: copy (download + upload) into the second container with ckfdw"
	time_sql assets_copy "$BENCH_URL_FAST" "$BENCH_PID_FAST" "$RUNS" 0 \
		"INSERT INTO asset_dst SELECT * FROM asset_src WHERE s = 'bench-asset'" \
		"INSERT INTO asset_dst SELECT * FROM asset_src WHERE s = 'bench-asset' LIMIT 1"
	expect_tag "INSERT 0 $n"
	local c_ms=$T_MS c_req=$T_REQ c_note same
	c_note=$(cpu_note backend "$T_CPU" "$T_ECPU" "$T_WALL")
	same=$(bpsql -At -c "SELECT count(*) FROM asset_dst d JOIN asset_local l USING (id) WHERE d.a = l.a")

	headline '  %-24s backup %s rec/s (%s MB/s) | raw transfer of the same bytes %s ms (ckfdw takes %sx as long) | copy to a 2nd container %s rec/s' \
		"assets 1,000 x 100 kB" "$(commas "$(rate $n "$b_ms")")" \
		"$(awk -v b="$b_bytes" -v t="$b_ms" 'BEGIN { printf "%.1f", b / 1e6 / (t / 1000) }')" \
		"$(printf '%.0f' "$r_ms")" "$(times_x "$b_ms" "$r_ms")" "$(commas "$(rate $n "$c_ms")")"
	row "backup: COPY of id and content" "$b_req" "$b_ms" "$n" "$b_note"
	row "raw: curl, the same $n download URLs" "$n" "$r_ms" "$n" ""
	row "copy to a 2nd container (download + upload)" "$c_req" "$c_ms" "$n" "$c_note"
	printf '    checked: %s bytes downloaded per backup run; %s of the %s copies equal to the originals\n' \
		"$(commas "$b_bytes")" "$(commas "$same")" "$(commas $n)"
	curl -sf -X POST "$BENCH_URL_FAST/_ckemu/reset" >/dev/null
}

# AllTypes as a foreign table: every field type but assets
ALLTYPES_COLS="id text OPTIONS (system 'recordName'), tag text OPTIONS (system 'recordChangeTag'),
		created timestamptz OPTIONS (system 'createdTimestamp'),
		modified timestamptz OPTIONS (system 'modifiedTimestamp'),
		s text, i bigint, d double precision, t timestamptz, b bytea, r text OPTIONS (type 'REFERENCE'),
		l jsonb OPTIONS (type 'LOCATION'), sl text[], il bigint[], dl double precision[],
		tl timestamptz[], bl bytea[], rl text[] OPTIONS (type 'REFERENCE_LIST'),
		ll jsonb OPTIONS (type 'LOCATION_LIST'), plain text"

# Every-type records exported: how many records the backend converts per
# CPU-second, against the direct client and Apple's CloudKit JS in Node
# (test/bench/export_js.js) exporting the same records.
section_export()
{
	local n=${BENCH_EXPORT_RECORDS:-100000}
	local fields="s,i,d,t,b,r,l,sl,il,dl,tl,bl,rl,ll,plain"
	local cols=$ALLTYPES_COLS

	echo
	echo "7. Export $(commas "$n") AllTypes records, every field type but assets (15 fields and 4 system"
	echo "   columns): COPY (SELECT * FROM alltypes_export) TO '/dev/null', against the direct client"
	echo "   and Apple's CloudKit JS in Node paging through the same records and writing each as JSON."
	progress "export: loading $(commas "$n") records"
	curl -sf -X POST "$BENCH_URL_FAST/_ckemu/reset" >/dev/null
	bpsql -q <<SQL
SET client_min_messages = warning;
CREATE FOREIGN TABLE alltypes_export ($cols) SERVER fast OPTIONS (record_type 'AllTypes');
INSERT INTO alltypes_export (id, s, i, d, t, b, r, l, sl, il, dl, tl, bl, rl, ll, plain)
SELECT 'export-' || lpad(g::text, 6, '0'), 'string value ' || g || ' é', g::bigint * 1000003, g * 1.1,
	timestamptz '2020-01-01' + g * interval '1 s', decode(md5(g::text), 'hex'), 'artist-0001',
	jsonb_build_object('latitude', 45.5, 'longitude', -122.25),
	ARRAY['a' || g, 'b', 'c'], ARRAY[g, g + 1, g + 2]::bigint[], ARRAY[g * 0.5, 1.25],
	ARRAY[timestamptz '2021-01-01', timestamptz '2022-06-01'], ARRAY[decode('0102', 'hex')],
	ARRAY['artist-0002', 'artist-0003'],
	jsonb_build_array(jsonb_build_object('latitude', 1.5, 'longitude', 2.5)), 'plain ' || g
FROM generate_series(1, $n) g;
SQL

	# CloudKit JS, when Node is here
	local js_ok=0 j_line="CloudKit JS: skipped (node is not installed)"
	local js=$CKFDW_ROOT/test/ckemu/js
	if command -v node >/dev/null 2>&1; then
		if [ ! -f "$js/node_modules/tsl-apple-cloudkit/lib/index.js" ] &&
			! (cd "$js" && npm install --ignore-scripts --no-audit --no-fund >/dev/null 2>&1); then
			j_line="CloudKit JS: skipped (npm install --ignore-scripts failed in $js)"
		else
			js_ok=1
		fi
	fi

	# ckfdw and CloudKit JS take turns, a run each, and ckfdw's lead is the
	# median of the pairs' ratios: the speed of this virtual machine drifts
	# by up to a third over tens of seconds, which the runs of one side
	# alone would catch and the other's not.
	local r f_runs=() j_runs=() j_cpu=() leads=() f_cpu=0 f_ecpu=0 f_wall=0 f_req f_hwm=0 out
	for r in $(seq 1 "$RUNS"); do
		progress "export: ckfdw, run $r"
		time_sql "export_$r" "$BENCH_URL_FAST" "$BENCH_PID_FAST" 1 0 \
			"COPY (SELECT * FROM alltypes_export) TO '/dev/null'" \
			"COPY (SELECT * FROM alltypes_export LIMIT 1) TO '/dev/null'"
		expect_tag "COPY $n"
		f_runs+=("$T_MS")
		f_req=$T_REQ
		f_cpu=$(awk -v a="$f_cpu" -v b="$T_CPU" 'BEGIN { print a + b }')
		f_ecpu=$(awk -v a="$f_ecpu" -v b="$T_ECPU" 'BEGIN { print a + b }')
		f_wall=$(awk -v a="$f_wall" -v b="$T_WALL" 'BEGIN { print a + b }')
		[ "$T_HWM" -le "$f_hwm" ] || f_hwm=$T_HWM
		[ "$js_ok" = 1 ] || continue
		progress "export: CloudKit JS in Node, run $r"
		out="$WORK_DIR/export_js_$r.out"
		if ! CKEMU_URL=$BENCH_URL_FAST CK_KEY_ID=$CKFDW_KEY_ID CK_KEY_FILE=$CKFDW_KEY_FILE \
			RECORD_TYPE=AllTypes RUNS=1 node "$CKFDW_ROOT/test/bench/export_js.js" >"$out"; then
			echo "the CloudKit JS export failed" >&2
			return 1
		fi
		if [ "$(median_column "$out" 4)" != "$n" ]; then
			echo "CloudKit JS exported $(median_column "$out" 4) records, not $n" >&2
			return 1
		fi
		j_runs+=("$(median_column "$out" 6)")
		j_cpu+=("$(median_column "$out" 8)")
		leads+=("$(awk -v j="${j_runs[-1]}" -v f="$T_MS" 'BEGIN { print j / f }')")
	done
	local f_ms f_note f_per_cpu j_ms=""
	f_ms=$(median "${f_runs[@]}")
	f_note=$(cpu_note backend "$f_cpu" "$f_ecpu" "$f_wall")
	# records converted (and output) per CPU-second of the backend
	f_per_cpu=$(awk -v n="$n" -v r="$RUNS" -v c="$f_cpu" 'BEGIN { print (c > 0) ? n * r / (c / 1000) : 0 }')
	if [ "$js_ok" = 1 ]; then
		j_ms=$(median "${j_runs[@]}")
		j_line=$(printf 'CloudKit JS in Node %s rec/s (ckfdw is %sx faster, the median of %s runs side by side)' \
			"$(commas "$(rate "$n" "$j_ms")")" "$(printf '%.1f' "$(median "${leads[@]}")")" "$RUNS")
	fi

	# the same through 4 range cursors on createdTimestamp (bounds from ANALYZE)
	progress "export: ckfdw, 4 range cursors"
	bpsql -q -c "ALTER FOREIGN TABLE alltypes_export OPTIONS (ADD scan_cursors '4', ADD split_column 'created')" \
		-c "ANALYZE alltypes_export"
	local cursors
	cursors=$(bpsql -At -c "EXPLAIN SELECT * FROM alltypes_export" | sed -n 's/^ *CloudKit Cursors: //p')
	time_sql export_cursors "$BENCH_URL_FAST" "$BENCH_PID_FAST" "$RUNS" 0 \
		"COPY (SELECT * FROM alltypes_export) TO '/dev/null'" \
		"COPY (SELECT * FROM alltypes_export LIMIT 1) TO '/dev/null'"
	expect_tag "COPY $n"
	bpsql -q -c "ALTER FOREIGN TABLE alltypes_export OPTIONS (DROP scan_cursors, DROP split_column)"
	local c_ms=$T_MS c_req=$T_REQ c_note c_per_cpu c_hwm=$T_HWM
	c_note=$(cpu_note backend "$T_CPU" "$T_ECPU" "$T_WALL")
	c_per_cpu=$(awk -v n="$n" -v r="$RUNS" -v c="$T_CPU" 'BEGIN { print (c > 0) ? n * r / (c / 1000) : 0 }')

	progress "export: direct client"
	local out="$WORK_DIR/export_direct.out"
	"$WORK_DIR/fetch_pages" --url "$BENCH_URL_FAST" --key-id "$CKFDW_KEY_ID" --key-file "$CKFDW_KEY_FILE" \
		--record-type AllTypes --page-size 200 --runs "$RUNS" --ckemu-pid "$BENCH_PID_FAST" \
		--fields "$fields" >"$out"
	if [ "$(median_column "$out" 4)" != "$n" ]; then
		echo "the direct client read $(median_column "$out" 4) records, not $n" >&2
		return 1
	fi
	local d_ms d_req d_note d_per_cpu
	d_ms=$(median_column "$out" 8)
	d_req=$(median_column "$out" 6)
	d_note=$(cpu_note client "$(sum_column "$out" 14)" "$(sum_column "$out" 12)" "$(sum_column "$out" 8)")
	d_per_cpu=$(awk -v n="$n" -v r="$RUNS" -v c="$(sum_column "$out" 14)" 'BEGIN { print (c > 0) ? n * r / (c / 1000) : 0 }')

	headline '  %-24s ckfdw %s rec/s, %s records per backend CPU-second | direct client %s rec/s (ratio %s) | %s' \
		"export $(commas "$n") every-type" "$(commas "$(rate "$n" "$f_ms")")" "$(commas "$f_per_cpu")" \
		"$(commas "$(rate "$n" "$d_ms")")" "$(ratio "$d_ms" "$f_ms")" "$j_line"
	row "ckfdw COPY (SELECT *) TO '/dev/null'" "$f_req" "$f_ms" "$n" "$f_note"
	row "ckfdw, the same with $cursors range cursors" "$c_req" "$c_ms" "$n" "$c_note"
	row "direct client (pages read in place), 200 each" "$d_req" "$d_ms" "$n" "$d_note"
	if [ -n "$j_ms" ]; then
		printf '    %-46s %7s          %10s ms %9s rec/s   Node CPU %s ms a run\n' \
			"CloudKit JS in Node, pages of 200" "" "$(printf '%.1f' "$j_ms")" \
			"$(commas "$(rate "$n" "$j_ms")")" "$(median "${j_cpu[@]}")"
	fi
	printf '    records converted per CPU-second: ckfdw backend %s (range cursors %s), direct client %s\n' \
		"$(commas "$f_per_cpu")" "$(commas "$c_per_cpu")" "$(commas "$d_per_cpu")"
	printf '    backend peak resident size after the runs: %s kB (one cursor), %s kB (range cursors)\n' \
		"$(commas "$f_hwm")" "$(commas "$c_hwm")"
}

in_cluster()
{
	local section rc failed=0

	write_cpu_script
	: >"$WORK_DIR/summary"
	echo "setting up the cluster ..." >&2
	setup_sql
	bpsql -q -c "SELECT id FROM ticket LIMIT 1" >/dev/null

	echo
	echo "ckfdw benchmarks, $(date -u '+%Y-%m-%d %H:%M UTC'): $(nproc) cores," \
		"PostgreSQL $(bpsql -At -c 'SHOW server_version' | cut -d' ' -f1), ckemu on 127.0.0.1"
	# other work on the machine skews every number: say how busy it was
	echo "CPU in use by other processes just before the first measurement: $(cpu_busy_now)"
	for section in ${BENCH_SECTIONS:-scan wan memory insert lookup changes export assets emu}; do
		section=section_$section
		set +e
		(set -e; $section)
		rc=$?
		set -e
		if [ "$rc" -ne 0 ]; then
			echo "  ${section#section_}: FAILED, no numbers (see the messages above)"
			echo "  ${section#section_}: FAILED" >>"$WORK_DIR/summary"
			failed=1
		fi
	done

	echo
	echo "Summary"
	cat "$WORK_DIR/summary"
	return "$failed"
}

# ----------------------------------------------------------------------
# Outside: build, start the ckemus, go on inside a throw-away cluster
# ----------------------------------------------------------------------

if [ "${1:-}" = "--in-cluster" ]; then
	in_cluster
	exit $?
fi

source test/lib.sh

test/install-deps.sh --bench

# start_nghttpx NAME BACKEND_PORT: nghttpx (Debian's nghttp2-proxy)
# terminating TLS and HTTP/2 (ALPN h2, else http/1.1) with the test CA's
# certificate, in front of a plain ckemu on BACKEND_PORT; sets NGHTTPX_PORT.
# It cannot listen on port 0, so a free port is drawn until one is.  Its
# access log says which protocol each request came in.
start_nghttpx()
{
	local name=$1 backend=$2 try port
	for try in 1 2 3 4 5; do
		port=$((20000 + RANDOM % 30000))
		nghttpx --frontend="127.0.0.1,$port" --backend="127.0.0.1,$backend" \
			--workers=1 --no-ocsp --conf=/dev/null \
			--errorlog-file="$WORK_DIR/nghttpx-$name.log" \
			--accesslog-file="$WORK_DIR/nghttpx-access.log" \
			--accesslog-format='$alpn $method $path $status' \
			"$CKEMU_TLS_KEY" "$CKEMU_TLS_CERT" 2>>"$WORK_DIR/nghttpx-$name.log" &
		CKEMU_PIDS+=($!)
		local i
		for i in $(seq 1 50); do
			grep -q "Listening on 127.0.0.1:$port" "$WORK_DIR/nghttpx-$name.log" 2>/dev/null && break
			kill -0 "${CKEMU_PIDS[-1]}" 2>/dev/null || break
			sleep 0.1
		done
		if grep -q "Listening on 127.0.0.1:$port" "$WORK_DIR/nghttpx-$name.log" 2>/dev/null; then
			NGHTTPX_PORT=$port
			return 0
		fi
	done
	echo "nghttpx did not start:" >&2
	cat "$WORK_DIR/nghttpx-$name.log" >&2
	return 1
}
make_work_dir
trap 'stop_ckemus; rm -rf "$WORK_DIR"' EXIT
trap 'exit 130' INT TERM

START=$(date +%s)
if [ "${BENCH_SKIP_BUILD:-0}" = 1 ]; then
	echo "BENCH_SKIP_BUILD=1: benchmarking the installed ckfdw and the built ckemu" >&2
else
	echo "building ckfdw, ckemu and the direct clients ..." >&2
	if ! { make -s all && install_private; } >"$WORK_DIR/build.log" 2>&1; then
		cat "$WORK_DIR/build.log"
		exit 1
	fi
	grep -i 'warning:' "$WORK_DIR/build.log" >&2 || true
fi
for prog in fetch_pages modify_batches emu_load; do
	cc -O2 -Wall -Wextra -Wno-unused-parameter -Isrc -I/usr/include/json-c \
		-o "$WORK_DIR/$prog" "test/bench/$prog.c" test/bench/bench_common.c src/ck/*.c \
		-lcurl -ljson-c -lcrypto -lpthread
done

make_test_keys "$WORK_DIR"
make_test_ca "$WORK_DIR"
# curl (statistics, resets) verifies the TLS ckemu with the test CA
export CURL_CA_BUNDLE=$CKFDW_CA_FILE
start_ckemu fast --quiet
# the network model: HTTP/1.1 over ckemu's own TLS, HTTP/2 through nghttpx
# to a plain ckemu; each behind netdelay
start_ckemu h1 --tls --quiet
start_ckemu h2 --quiet
start_nghttpx h2 "${CKEMU_URL_h2##*:}"
start_netdelay h1 "${CKEMU_URL_h1##*:}" "$WAN_RTT_MS"
start_netdelay h2 "$NGHTTPX_PORT" "$WAN_RTT_MS"
export WORK_DIR RUNS WAN_RUNS BENCH_SECTIONS BENCH_EXPORT_RECORDS CKFDW_CA_FILE
# shellcheck disable=SC2154	# set by start_ckemu and start_netdelay
export BENCH_URL_FAST=$CKEMU_URL_fast BENCH_PID_FAST=${CKEMU_PIDS[0]}
export BENCH_ADMIN_H1=$CKEMU_URL_h1 BENCH_PID_H1=${CKEMU_PIDS[1]}
export BENCH_ADMIN_H2=$CKEMU_URL_h2 BENCH_PID_H2=${CKEMU_PIDS[2]}
export BENCH_URL_H1=https://127.0.0.1:$NETDELAY_PORT_h1 BENCH_URL_H2=https://127.0.0.1:$NETDELAY_PORT_h2

rc=0
test/with-cluster.sh "$BENCH_SCRIPT" --in-cluster || rc=$?
echo "(the benchmark took $(($(date +%s) - START)) s)"
exit "$rc"
