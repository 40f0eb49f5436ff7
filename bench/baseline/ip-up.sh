#!/bin/sh
# Baseline for `npm run bench`, NOT the product: a hand-written pppd ip-up in
# the style of the articles in ../shared/seeds (one `ip` command per route and
# rule, del/flush then add, errors of the cleanup steps thrown away) doing the
# same kernel work multiwan's ip-up does for one link, isp1 on ppp0:
#   table 201 (the link): default + the peer, both with src <local>
#   table 200 (balance):  196.21.0.0/19 and default, both dev ppp0
#   rules 1000-1400:      main suppress_prefixlength 0, fwmark 0x100/0x3f00,
#                         from <local>, to the ISP's DNS, lookup 200
#   sysctls:              ip_forward, fib_multipath_hash_policy,
#                         rp_filter=2 and src_valid_mark=1 on ppp0
#   nft:                  table inet multiwan, the same chains and rules
# (multiwan also tags its routes and rules `proto 242`; this script does not.)
# pppd (via /etc/ppp/ip-up and run-parts) passes:
#   $1 iface  $2 tty  $3 speed  $4 local address  $5 remote address  $6 ipparam
IFACE="$1"
LOCAL="$4"
REMOTE="$5"
[ "$IFACE" = ppp0 ] || exit 0

TABLE=201
BALANCE=200
MARK=0x100/0x3f00
DNS=24.19.100.1
ROUTES=196.21.0.0/19
LAN=192.168.10.0/24

echo 1 > /proc/sys/net/ipv4/ip_forward
echo 1 > /proc/sys/net/ipv4/fib_multipath_hash_policy
echo 2 > "/proc/sys/net/ipv4/conf/$IFACE/rp_filter"
echo 1 > "/proc/sys/net/ipv4/conf/$IFACE/src_valid_mark"

ip rule del priority 1000 2>/dev/null
ip rule del priority 1100 2>/dev/null
ip rule del priority 1200 2>/dev/null
ip rule del priority 1300 2>/dev/null
ip rule del priority 1400 2>/dev/null
ip route flush table "$TABLE" 2>/dev/null
ip route flush table "$BALANCE" 2>/dev/null

ip route add default dev "$IFACE" src "$LOCAL" table "$TABLE"
ip route add "$REMOTE" dev "$IFACE" scope link src "$LOCAL" table "$TABLE"
ip route add "$ROUTES" dev "$IFACE" table "$BALANCE"
ip route add default dev "$IFACE" table "$BALANCE"
ip rule add priority 1000 lookup main suppress_prefixlength 0
ip rule add priority 1200 from "$LOCAL" lookup "$TABLE"
ip rule add priority 1100 fwmark "$MARK" lookup "$TABLE"
ip rule add priority 1300 to "$DNS" lookup "$TABLE"
ip rule add priority 1400 lookup "$BALANCE"

# One transaction; `table` + `flush table` makes it idempotent without
# deleting the table (the nftables wiki's atomic-replacement idiom). The
# stamp chain mirrors multiwan's one-rule plan stamp.
nft -f - <<NFT
table inet multiwan
flush table inet multiwan
table inet multiwan {
  counter in_isp1 {
  }
  counter out_isp1 {
  }
  chain stamp {
    return comment "plan 0"
  }
  chain classify {
    iifname "$IFACE" ct mark set ct mark & 0xffffc0ff | 0x100 return comment "isp1"
    ip daddr { $LAN } return
  }
  chain policies {
  }
  chain prerouting {
    type filter hook prerouting priority mangle; policy accept;
    ct state new jump classify
    counter name iifname map { "$IFACE" : "in_isp1" } return
    ip daddr { $LAN } return
    ct mark & 0x3f00 == 0x100 meta mark set meta mark & 0xffffc0ff | 0x100 comment "isp1"
  }
  chain output {
    type route hook output priority mangle; policy accept;
    ip daddr { $LAN } return
    ct mark & 0x3f00 == 0x100 meta mark set meta mark & 0xffffc0ff | 0x100 comment "isp1"
  }
  chain postrouting {
    type filter hook postrouting priority mangle; policy accept;
    counter name oifname map { "$IFACE" : "out_isp1" } ct mark & 0x3f00 != 0x0 return
    ct mark & 0x3f00 != 0x0 return
    oifname "$IFACE" ct mark set ct mark & 0xffffc0ff | 0x100 comment "isp1"
  }
  chain nat_postrouting {
    type nat hook postrouting priority srcnat; policy accept;
    meta nfproto ipv4 oifname { "$IFACE" } masquerade
  }
}
NFT
