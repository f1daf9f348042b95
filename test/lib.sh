# Shared shell functions of the test harness, the demo and the benchmarks.
# Source it; it defines functions only.

CKFDW_ROOT=${CKFDW_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
CKEMU_BIN="$CKFDW_ROOT/test/ckemu/ckemu"
CKEMU_PIDS=()

# make_work_dir: a scratch directory readable by the PostgreSQL server
# process (which runs as "postgres" when we are root).
make_work_dir()
{
	WORK_DIR=$(mktemp -d /tmp/ckfdw-test.XXXXXX)
	chmod 755 "$WORK_DIR"
}

# make_test_keys DIR: a registered P-256 key, an unregistered one and an RSA
# key, as the regression suites expect them.
make_test_keys()
{
	local dir=$1
	openssl ecparam -name prime256v1 -genkey -noout -out "$dir/key.pem" 2>/dev/null
	openssl ec -in "$dir/key.pem" -pubout -out "$dir/pub.pem" 2>/dev/null
	openssl ecparam -name prime256v1 -genkey -noout -out "$dir/other-key.pem" 2>/dev/null
	openssl genrsa -out "$dir/rsa-key.pem" 2048 2>/dev/null
	chmod 644 "$dir"/*.pem
	export CKFDW_KEY_ID=ckfdw-test-key
	export CKFDW_KEY_FILE="$dir/key.pem"
	export CKFDW_OTHER_KEY_FILE="$dir/other-key.pem"
	export CKFDW_RSA_KEY_FILE="$dir/rsa-key.pem"
	# API token and a signed-in user: the owner of the private Wishlist zone
	export CKFDW_API_TOKEN=ckfdw-test-api-token
	export CKFDW_WEB_AUTH_TOKEN=ckfdw-test-web-auth-token
	export CKFDW_WEB_AUTH_USER=_0d1e2a3b4c5d6e7f8091a2b3c4d5e6f7
	# the sample schema, where the server process can read it
	cp "$CKFDW_ROOT/test/data/gallery.ckdb" "$dir/gallery.ckdb"
	chmod 644 "$dir/gallery.ckdb"
	export CKFDW_SCHEMA_FILE="$dir/gallery.ckdb"
}

# make_test_ca DIR: a throw-away certificate authority (ca.pem, whose key
# is dropped once it has signed) and a server certificate for 127.0.0.1 and
# localhost signed by it (server.pem, server-key.pem), for a TLS ckemu.
# Exports CKFDW_CA_FILE, CKEMU_TLS_CERT and CKEMU_TLS_KEY.
make_test_ca()
{
	local dir=$1
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
		-keyout "$dir/ca-key.pem" -out "$dir/ca.pem" -days 2 \
		-subj "/CN=ckfdw test CA" -addext "basicConstraints=critical,CA:TRUE" \
		-addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null || return 1
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
		-keyout "$dir/server-key.pem" -out "$dir/server.csr" -subj "/CN=localhost" \
		2>/dev/null || return 1
	printf '%s\n' "basicConstraints=CA:FALSE" "keyUsage=critical,digitalSignature" \
		"extendedKeyUsage=serverAuth" "subjectAltName=IP:127.0.0.1,DNS:localhost" \
		>"$dir/server.ext"
	openssl x509 -req -in "$dir/server.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca-key.pem" \
		-CAcreateserial -days 2 -extfile "$dir/server.ext" -out "$dir/server.pem" \
		2>/dev/null || return 1
	rm -f "$dir/ca-key.pem" "$dir/server.csr" "$dir/server.ext" "$dir/ca.srl"
	chmod 644 "$dir/ca.pem" "$dir/server.pem"
	chmod 600 "$dir/server-key.pem"
	export CKFDW_CA_FILE="$dir/ca.pem"
	export CKEMU_TLS_CERT="$dir/server.pem" CKEMU_TLS_KEY="$dir/server-key.pem"
}

# What start_ckemu loads: the sample container's schema and records.  A
# suite with a seed of its own sets CKEMU_SEED_FLAGS before starting.
CKEMU_SEED_FLAGS=(--schema "$CKFDW_ROOT/test/data/gallery.ckdb"
				  --data "$CKFDW_ROOT/test/data/gallery.json")

# start_ckemu NAME [--tls] [ckemu flags...]: starts ckemu on a free loopback
# port and sets CKEMU_URL_<NAME>.  The seed (CKEMU_SEED_FLAGS) and the test
# key are loaded.  With --tls it serves HTTPS with make_test_ca's server
# certificate (made first if need be), and the URL is https://.
start_ckemu()
{
	local name=$1 scheme=http
	local tls=()
	shift
	if [ "${1:-}" = --tls ]; then
		shift
		scheme=https
		[ -n "${CKEMU_TLS_CERT:-}" ] || make_test_ca "$WORK_DIR" || return 1
		tls=(--tls-cert "$CKEMU_TLS_CERT" --tls-key "$CKEMU_TLS_KEY")
	fi
	local portfile="$WORK_DIR/ckemu-$name.port"
	rm -f "$portfile"
	"$CKEMU_BIN" --listen 127.0.0.1:0 --port-file "$portfile" "${tls[@]}" \
		--s2s-key "$CKFDW_KEY_ID=$WORK_DIR/pub.pem" \
		"${CKEMU_SEED_FLAGS[@]}" \
		--container iCloud.com.example.Gallery \
		--container iCloud.com.example.GalleryCopy \
		--api-token "$CKFDW_API_TOKEN" \
		--web-auth-token "$CKFDW_WEB_AUTH_TOKEN=$CKFDW_WEB_AUTH_USER" \
		"$@" >"$WORK_DIR/ckemu-$name.log" 2>&1 &
	CKEMU_PIDS+=($!)
	local i
	for i in $(seq 1 100); do
		[ -s "$portfile" ] && break
		sleep 0.1
	done
	if [ ! -s "$portfile" ]; then
		echo "ckemu ($name) did not start:" >&2
		cat "$WORK_DIR/ckemu-$name.log" >&2
		return 1
	fi
	printf -v "CKEMU_URL_$name" '%s://127.0.0.1:%s' "$scheme" "$(cat "$portfile")"
}

# start_netdelay NAME TO_PORT RTT_MS: starts test/netdelay on a free loopback
# port, forwarding to 127.0.0.1:TO_PORT with RTT_MS added to every round
# trip (and one more to a new connection), and sets NETDELAY_PORT_<NAME>.
# stop_ckemus stops it with the ckemus.
start_netdelay()
{
	local name=$1 to_port=$2 rtt=$3
	local portfile="$WORK_DIR/netdelay-$name.port"
	rm -f "$portfile"
	"$CKFDW_ROOT/test/netdelay" --listen 127.0.0.1:0 --to "127.0.0.1:$to_port" \
		--rtt-ms "$rtt" --port-file "$portfile" >"$WORK_DIR/netdelay-$name.log" 2>&1 &
	CKEMU_PIDS+=($!)
	local i
	for i in $(seq 1 50); do
		[ -s "$portfile" ] && break
		sleep 0.1
	done
	if [ ! -s "$portfile" ]; then
		echo "netdelay ($name) did not start:" >&2
		cat "$WORK_DIR/netdelay-$name.log" >&2
		return 1
	fi
	printf -v "NETDELAY_PORT_$name" '%s' "$(cat "$portfile")"
}

stop_ckemus()
{
	local pid
	for pid in "${CKEMU_PIDS[@]}"; do
		kill "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	CKEMU_PIDS=()
}

# count_results LINE: parses "N passed, M failed" from a suite's last line.
count_results()
{
	local line=$1
	SUITE_PASSED=$(sed -n 's/.*\b\([0-9]\+\) passed.*/\1/p' <<<"$line")
	SUITE_FAILED=$(sed -n 's/.*\b\([0-9]\+\) failed.*/\1/p' <<<"$line")
}

# make_private_pg_tree DIR: a private copy of this machine's PostgreSQL
# installation (see test/with-cluster.sh) into which "make install
# DESTDIR=DIR" installs ckfdw.  The server programs are copied, since
# PostgreSQL resolves symbolic links to find its own directories;
# everything else is linked.
make_private_pg_tree()
{
	local tree=$1 bindir sharedir pkglibdir f
	bindir=$(pg_config --bindir) || return 1
	sharedir=$(pg_config --sharedir)
	pkglibdir=$(pg_config --pkglibdir)
	mkdir -p "$tree$bindir" "$tree$sharedir/extension" "$tree$pkglibdir" || return 1
	cp "$bindir/postgres" "$bindir/initdb" "$bindir/pg_ctl" "$tree$bindir/" || return 1
	for f in "$sharedir"/*; do
		[ "$(basename "$f")" = extension ] || ln -s "$f" "$tree$sharedir/"
	done
	# never a ckfdw that another checkout installed system-wide
	for f in "$sharedir"/extension/*; do
		[[ $(basename "$f") == ckfdw* ]] || ln -s "$f" "$tree$sharedir/extension/"
	done
	for f in "$pkglibdir"/*; do
		[[ $(basename "$f") == ckfdw* || $f == */bitcode ]] || ln -s "$f" "$tree$pkglibdir/"
	done
	# the JIT bitcode directory gets our files too: a directory of its own
	mkdir -p "$tree$pkglibdir/bitcode"
	for f in "$pkglibdir"/bitcode/*; do
		[[ $(basename "$f") == ckfdw* ]] || ln -s "$f" "$tree$pkglibdir/bitcode/"
	done
	chmod -R a+rX "$tree"
}

# install_private: builds nothing; installs the built extension into a
# private PostgreSQL tree in WORK_DIR and exports CKFDW_PG_TREE, which
# test/with-cluster.sh then uses.
install_private()
{
	export CKFDW_PG_TREE=$WORK_DIR/pg
	make_private_pg_tree "$CKFDW_PG_TREE" && make -s install DESTDIR="$CKFDW_PG_TREE"
}
