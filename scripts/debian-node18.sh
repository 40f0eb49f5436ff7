#!/bin/sh
# Unpacks Debian 12's own nodejs 18 (the runtime the installed hooks get on a
# bookworm router) into a cache directory, without installing it over the
# machine's node, so the tests can run the built bundles under it.
# Usage: scripts/debian-node18.sh [DIR]   (default .cache/node18). Prints DIR.
set -eu
dir=${1:-.cache/node18}
if [ -x "$dir/root/usr/bin/node" ]; then echo "$dir"; exit 0; fi
mkdir -p "$dir/debs"
cd "$dir/debs"
# Download as root into a directory _apt cannot read: allowed, apt warns.
# The machine's own nodejs may come from elsewhere: ask for Debian's version by number.
version=$(apt-cache madison nodejs | awk -F'|' '$3 ~ /debian/ { gsub(/ /, "", $2); print $2; exit }')
[ -n "$version" ] || { echo "debian-node18: no Debian nodejs in the apt lists (run apt-get update first)" >&2; exit 1; }
apt-get download -q "nodejs=$version" libnode108 node-acorn node-cjs-module-lexer node-undici >/dev/null 2>&1 ||
  { echo "debian-node18: apt-get download failed (run apt-get update first)" >&2; exit 1; }
for deb in *.deb; do dpkg -x "$deb" ../root; done
cd - >/dev/null
echo "$dir"
