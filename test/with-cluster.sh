#!/bin/bash
# with-cluster.sh COMMAND...: runs COMMAND against a throw-away PostgreSQL
# cluster that has this checkout's ckfdw installed, without writing into
# any system directory, as root or as a normal user.
#
# PostgreSQL finds its share and library directories relative to its own
# binary.  So a private tree made of copies of the server programs and
# symbolic links to everything else, extended by "make install
# DESTDIR=...", loads our extension while the system's PostgreSQL stays
# untouched, and concurrent checkouts never see each other's build.
#
# CKFDW_PG_TREE=DIR reuses a tree made earlier (see make_private_pg_tree in
# test/lib.sh); otherwise one is made, and the extension installed, here.
# The cluster listens on a Unix socket only, in its own directory; PGHOST,
# PGPORT, PGUSER and PGDATABASE point COMMAND at it.  As root the server
# runs as "postgres" (PostgreSQL refuses root); the database superuser is
# always "postgres".  The cluster is stopped and
# removed when COMMAND ends; its exit status is COMMAND's.
set -uo pipefail

cd "$(dirname "$0")/.." || exit 1
source test/lib.sh

dir=$(mktemp -d /tmp/ckfdw-cluster.XXXXXX)
chmod 755 "$dir"
tree=${CKFDW_PG_TREE:-}
if [ -z "$tree" ]; then
	tree=$dir/tree
	make_private_pg_tree "$tree" || exit 1
	if ! make -s install DESTDIR="$tree" >"$dir/install.log" 2>&1; then
		cat "$dir/install.log" >&2
		exit 1
	fi
fi
bin=$tree$(pg_config --bindir)

as_server=()
if [ "$(id -u)" -eq 0 ]; then
	as_server=(runuser -u postgres --)
	chown postgres "$dir"
fi
# the database superuser is "postgres" whoever runs this, so that outputs
# that name it are the same for everyone
superuser=postgres

pid=""
cleanup()
{
	if [ -n "$pid" ]; then
		# a restart (CKFDW_RESTART_CLUSTER) gave the postmaster a new pid
		[ -s "$dir/data/postmaster.pid" ] && pid=$(head -n 1 "$dir/data/postmaster.pid")
		"${as_server[@]}" "$bin/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 ||
			kill "$pid" 2>/dev/null
	fi
	rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if ! "${as_server[@]}" "$bin/initdb" -D "$dir/data" -A trust -U "$superuser" \
	-E UTF8 --locale=C.UTF-8 --no-sync >"$dir/initdb.log" 2>&1; then
	cat "$dir/initdb.log" >&2
	exit 1
fi
if ! "${as_server[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w \
	-o "-c listen_addresses='' -k $dir -c fsync=off" start >/dev/null; then
	cat "$dir/server.log" >&2
	exit 1
fi
pid=$(head -n 1 "$dir/data/postmaster.pid")

# CKFDW_RESTART_CLUSTER: a command that restarts the cluster (fast
# shutdown), for suites that check what survives a restart
cat >"$dir/restart.sh" <<EOF
#!/bin/sh
exec ${as_server[*]} "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -m fast restart >/dev/null
EOF
chmod 755 "$dir/restart.sh"

export PGHOST=$dir PGPORT=5432 PGUSER=$superuser PGDATABASE=postgres
export CKFDW_RESTART_CLUSTER=$dir/restart.sh
"$@"
