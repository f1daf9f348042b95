#!/bin/bash
# Install what ckfdw needs to build and test, when it is missing.
#
# As root this uses apt-get (Debian 12); otherwise it only says what is
# missing.  Called by "make test" and "make demo"; "make fuzz" calls it with
# --fuzz, which adds clang and its libFuzzer runtime (nothing else needs
# them), and "make bench" with --bench, which adds nghttpx.
set -euo pipefail

PG_MAJOR=${PG_MAJOR:-15}
packages=(build-essential pkg-config "postgresql-$PG_MAJOR" "postgresql-server-dev-$PG_MAJOR"
		  postgresql-common libcurl4-openssl-dev libjson-c-dev libssl-dev
		  libmicrohttpd-dev curl jq openssl)
if [ "${1:-}" = "--fuzz" ]; then
	# Debian 12's clang is 14; libFuzzer lives in its compiler-rt package
	packages+=(clang libclang-rt-dev)
fi
if [ "${1:-}" = "--bench" ]; then
	# "make bench" only: nghttpx terminates TLS and HTTP/2 in front of a
	# plain ckemu for the network model's HTTP/2 figures (ckemu's own
	# libmicrohttpd speaks HTTP/1.1 only); no test needs it
	packages+=(nghttp2-proxy)
fi

missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "missing packages: ${missing[*]}" >&2
	echo "install them as root with: apt-get install ${missing[*]}" >&2
	exit 1
fi
echo "installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
