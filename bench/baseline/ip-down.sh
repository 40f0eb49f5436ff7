#!/bin/sh
# Baseline for `npm run bench`, NOT the product: undoes ip-up.sh (see there),
# the way the articles' ip-down scripts do, and drops the connections pinned
# to the link or NATed to its address as multiwan's ip-down does.
# $1 iface  $2 tty  $3 speed  $4 local address  $5 remote address  $6 ipparam
IFACE="$1"
LOCAL="$4"
[ "$IFACE" = ppp0 ] || exit 0

TABLE=201
BALANCE=200
MARK=0x100/0x3f00

ip rule del priority 1000 2>/dev/null
ip rule del priority 1100 2>/dev/null
ip rule del priority 1200 2>/dev/null
ip rule del priority 1300 2>/dev/null
ip rule del priority 1400 2>/dev/null
ip route flush table "$TABLE" 2>/dev/null
ip route flush table "$BALANCE" 2>/dev/null
nft delete table inet multiwan 2>/dev/null
conntrack -D --mark "$MARK" >/dev/null 2>&1
conntrack -D --reply-dst "$LOCAL" >/dev/null 2>&1
exit 0
