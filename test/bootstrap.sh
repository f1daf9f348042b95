#!/bin/sh
# The README's two commands: "sh test/bootstrap.sh demo" and
# "sh test/bootstrap.sh test" (also "bench").  A bare Debian 12 has no make
# yet: as root this installs it, and "make demo" / "make test" then install
# everything else they need (test/install-deps.sh).  Where make is
# installed this is the same as typing "make demo" or "make test".
set -e
cd "$(dirname "$0")/.."

case "${1:-}" in
	demo | test | bench) ;;
	*)
		echo "usage: sh test/bootstrap.sh demo|test|bench" >&2
		exit 2
		;;
esac

if ! command -v make >/dev/null 2>&1; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "make is not installed: run this as root once, or install it as root (apt-get install make)" >&2
		exit 1
	fi
	echo "installing make ..."
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends make >/dev/null
fi
exec make "$1"
