#!/bin/bash
# bare-debian.sh [DIR]: walks the README's path on a bare Debian 12 root file
# system: debootstrap --variant=minbase plus git, a clone of this checkout,
# and the README's two commands run in it as root, each timed.  Needs root
# and debootstrap (apt-get install debootstrap), and reaches Debian's
# package mirror.  Not part of "make test" (it downloads a few hundred MB);
# README.md quotes its times.  DIR (default a new /tmp directory) is
# removed at the end unless KEEP=1.
set -euo pipefail

cd "$(dirname "$0")/.."
checkout=$PWD
root=${1:-$(mktemp -d /tmp/ckfdw-bare.XXXXXX)}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
chmod 755 "$root"	# it is "/" in the chroot: mktemp made it private

mounted=()
cleanup()
{
	local i
	for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do
		umount -l "${mounted[$i]}" || true
	done
	# never remove through a mount that is still there (it would be /dev)
	if grep -q " $root/" /proc/mounts; then
		echo "left $root in place: something is still mounted there" >&2
	elif [ "${KEEP:-0}" != 1 ]; then
		rm -rf "$root"
	fi
}
trap cleanup EXIT

echo "=== debootstrap (minbase) into $root"
debootstrap --variant=minbase --include=git bookworm "$root" "$mirror" >"$root.log" 2>&1 ||
	{ tail -n 20 "$root.log"; exit 1; }
rm -f "$root.log"
# the machine's own files that an installed system has and a fresh
# debootstrap lacks: name resolution and its own host name
cp /etc/resolv.conf "$root/etc/resolv.conf"
cp /etc/hosts "$root/etc/hosts"
for m in proc dev dev/pts; do
	mount --bind "/$m" "$root/$m"
	mounted+=("$root/$m")
done

git clone -q "$checkout" "$root/root/ckfdw"
for cmd in "sh test/bootstrap.sh demo" "sh test/bootstrap.sh test"; do
	echo "=== $cmd"
	start=$(date +%s)
	log=$(mktemp /tmp/ckfdw-bare-log.XXXXXX)
	rc=0
	chroot "$root" /bin/bash -c "cd /root/ckfdw && $cmd" >"$log" 2>&1 || rc=$?
	# the failures and the summary; the whole output stays in $log
	grep -E 'FAILED|^[-+][^-+]|passed, [0-9]+ failed' "$log" | tail -n 60 || true
	echo "(whole output: $log)"
	echo "=== $cmd: exit status $rc after $(($(date +%s) - start)) s"
	[ "$rc" -eq 0 ] || exit "$rc"
done
