#!/bin/sh
# Installs multiwan's built bundles (npm run build) where pppd and the admin
# find them.
#   ./install.sh                 install
#   ./install.sh --uninstall     remove the files, and multiwan's routes, rules and nft table
#   ./install.sh --purge         the same, and /etc/multiwan with your config
# DESTDIR=/path ./install.sh     stage into a directory for packaging (never touches the kernel)
set -eu

here=$(cd "$(dirname "$0")" && pwd)
D=${DESTDIR:-}
action=install
case "${1:-}" in
  "") ;;
  --uninstall) action=uninstall ;;
  --purge) action=purge ;;
  -h|--help) sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) echo "install.sh: unknown option '$1'; use --uninstall, --purge or nothing" >&2; exit 2 ;;
esac

# The files and where they go: build/files.txt (source, target, mode), shared with the Debian package.
manifest="$here/build/files.txt"
rt_protos="etc/iproute2/rt_protos.d/multiwan.conf"
unit="lib/systemd/system/multiwan-monitor.service"
config="etc/multiwan/multiwan.toml"

# Prints "source target mode" lines of the manifest.
entries() { grep -v '^[[:space:]]*\(#\|$\)' "$manifest"; }

install_all() {
  entries | while read -r source target mode; do
    [ -f "$here/$source" ] || { echo "install.sh: $here/$source is missing; run 'npm ci && npm run build' first" >&2; exit 1; }
  done || exit 1
  if [ -z "$D" ]; then
    command -v node >/dev/null 2>&1 || echo "install.sh: warning: no 'node' on PATH; install Debian's nodejs (apt-get install nodejs)" >&2
    for tool in ip nft conntrack; do
      command -v "$tool" >/dev/null 2>&1 || echo "install.sh: warning: '$tool' not found; apt-get install iproute2 nftables conntrack" >&2
    done
  fi
  entries | while read -r source target mode; do
    install -D -m "$mode" "$here/$source" "$D/$target"
    echo "installed $D/$target"
  done
  mkdir -p "$D/etc/iproute2/rt_protos.d"
  printf '# multiwan: routes and rules it owns carry this protocol id\n242\tmultiwan\n' > "$D/$rt_protos"
  echo "installed $D/$rt_protos"
  if [ -e "$D/$config" ]; then
    echo "kept $D/$config"
  else
    install -D -m 0644 "$here/docs/multiwan.example.toml" "$D/$config"
    echo "installed $D/$config (an example, all comments: name your links, then 'multiwan check')"
  fi
  if [ -z "$D" ] && [ -d /run/systemd/system ]; then
    systemctl daemon-reload
    systemctl enable --now multiwan-monitor.service && echo "enabled and started multiwan-monitor.service"
  fi
}

uninstall_all() {
  if [ -z "$D" ] && [ -d /run/systemd/system ] && [ -e "/$unit" ]; then
    systemctl disable --now multiwan-monitor.service || true
  fi
  if [ -z "$D" ] && [ -x /usr/sbin/multiwan ]; then
    # Routes, rules and the nft table multiwan made, and its runtime state.
    /usr/sbin/multiwan down || echo "install.sh: 'multiwan down' failed; check 'ip rule' and 'nft list table inet multiwan'" >&2
    rm -rf /run/multiwan
  fi
  entries | while read -r source target mode; do
    rm -f "$D/$target" && echo "removed $D/$target"
  done
  rm -f "$D/$rt_protos" && echo "removed $D/$rt_protos"
  rmdir "$D/usr/share/doc/multiwan" "$D/usr/lib/multiwan" 2>/dev/null || :
  if [ -z "$D" ] && [ -d /run/systemd/system ]; then systemctl daemon-reload; fi
  if [ "$action" = purge ] || cmp -s "$here/docs/multiwan.example.toml" "$D/$config"; then
    rm -rf "$D/etc/multiwan" && echo "removed $D/etc/multiwan"
  elif [ -e "$D/$config" ]; then
    echo "kept your $D/$config (./install.sh --purge removes it)"
  fi
}

case "$action" in
  install) install_all ;;
  *) uninstall_all ;;
esac
