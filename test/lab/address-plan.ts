// Every address of the lab, derived from the ISP's number n (isp1..isp4), and
// the uplink kinds. Pure: no I/O.
//
//   IPv4  customer side   100.64.n.0/24   PPP/VPN: router .2 peer .1 (p2p)
//                                         Ethernet: ISP .1 and .254 (a second
//                                         gateway), static customer .2,
//                                         DHCP pool .100-.199
//         ISP <-> server  203.0.113.(4n-3)/30 (ISP) and (4n-2) (server)
//         server          198.51.100.10 on lo; LAN 192.168.10.0/24
//   IPv6  delegated       2001:db8:n::/48, LAN 2001:db8:n:1::/64
//                         (router lan0 ::1, client eth0 ::2)
//         Ethernet WAN    2001:db8:ff0n::/64 (ISP ::1, static customer ::2,
//                         DHCPv6 pool ::100-::1ff)
//         PPP/VPN WAN     link-locals only, fe80::c11:52ff:fe0n:102 (router)
//                         and fe80::c11:52ff:fe0n:101 (ISP)
//         ISP <-> server  2001:db8:fffn::1/64 (ISP) and ::2 (server)
//         server          2001:db8:100::10 on lo
import type { IspDhcpOptions } from './isp-dhcp.js';

export const ADDR = {
  client: '192.168.10.2',
  rtrLan: '192.168.10.1',
  ppp0Local: '100.64.1.2',
  ppp0Peer: '100.64.1.1',
  ppp1Local: '100.64.2.2',
  ppp1Peer: '100.64.2.1',
  server: '198.51.100.10',
} as const;

/** The IPv6 side of the server and the LAN (labs created with `ipv6: true`). */
export const ADDR6 = {
  server: '2001:db8:100::10',
  /** the LAN client's address from each ISP's prefix */
  client: (isp: IspRole): string => `2001:db8:${ispNumber(isp)}:1::2`,
  /** the router's lan0 address in each ISP's prefix */
  rtrLan: (isp: IspRole): string => `2001:db8:${ispNumber(isp)}:1::1`,
} as const;

export const PORTS = { whoami: 7000, stream: 7001, forward: 8080 } as const;

export const ISP_ROLES = ['isp1', 'isp2', 'isp3', 'isp4'] as const;
export type IspRole = (typeof ISP_ROLES)[number];

/**
 * What the router's uplink to one ISP is:
 * - `ppp`: a simulated PPP link (veth, ARP off, `addr LOCAL peer PEER`),
 *   events by lab.ppp() / ppp6() running pppd's scripts;
 * - `dhcp`: Ethernet (veth, ARP on, /24), the ISP serves DHCP (startIspDhcp);
 * - `static`: Ethernet without any server, for ifupdown stanzas;
 * - `vpn`: a point-to-point link like `ppp` (a tun/wg stand-in) that the
 *   test brings into service with `multiwan link up`.
 */
export type UplinkKind = 'ppp' | 'dhcp' | 'static' | 'vpn';

export interface UplinkSpec {
  kind: UplinkKind;
  /** Router-side interface name (default: ppp<i>, eth<n>, tun<i>, see uplinkPlan). */
  iface?: string;
  /** `dhcp` only: the ISP's servers as they start with the lab (see IspDhcpOptions). */
  dhcp?: IspDhcpOptions;
}

/** One uplink as the lab built it. */
export interface Uplink {
  isp: IspRole;
  /** 1..4 */
  n: number;
  kind: UplinkKind;
  /** the router's interface */
  iface: string;
  v4: {
    /** the customer network the ISP accepts as source and the server routes back */
    net: string;
    /** the router's address: p2p links and static Ethernet (DHCP leases come from `pool`) */
    local: string;
    /** p2p links: the ISP end */
    peer?: string;
    /** Ethernet: the ISP's gateway, and a second ISP address usable as another gateway */
    gateway?: string;
    gateway2?: string;
    netmask?: string;
    prefixLength: number;
    /** Ethernet: the DHCP pool */
    pool?: [string, string];
  };
  /** Present in labs created with `ipv6: true`. */
  v6?: {
    /** what the ISP delegates, routes to the router and accepts as source */
    prefix: string;
    /** the /64 of that prefix on the LAN */
    lan: string;
    /** the router's link-local on its uplink, and the ISP's (the IPv6 next hop) */
    linkLocal: string;
    peerLinkLocal: string;
    /** Ethernet: the WAN /64, the ISP's address in it, the static customer address, the DHCPv6 pool */
    wan?: string;
    gateway?: string;
    local?: string;
    pool?: [string, string];
  };
}

export const ispNumber = (isp: IspRole): number => ISP_ROLES.indexOf(isp) + 1;

/** The addresses of the uplink to ISP n (1-based), named `iface`. */
export function uplinkPlan(n: number, kind: UplinkKind, iface: string, ipv6: boolean): Uplink {
  const isp = ISP_ROLES[n - 1];
  if (!isp) throw new Error(`lab: at most ${ISP_ROLES.length} uplinks`);
  const p2p = kind === 'ppp' || kind === 'vpn';
  const net = `100.64.${n}`;
  const v4: Uplink['v4'] = p2p
    ? { net: `${net}.0/24`, local: `${net}.2`, peer: `${net}.1`, prefixLength: 32 }
    : {
        net: `${net}.0/24`, local: `${net}.2`, gateway: `${net}.1`, gateway2: `${net}.254`,
        netmask: '255.255.255.0', prefixLength: 24, pool: [`${net}.100`, `${net}.199`],
      };
  const uplink: Uplink = { isp, n, kind, iface, v4 };
  if (!ipv6) return uplink;
  const prefix = `2001:db8:${n}::/48`;
  const lan = `2001:db8:${n}:1::/64`;
  if (p2p) {
    uplink.v6 = { prefix, lan, linkLocal: pppLinkLocal(n, 'local'), peerLinkLocal: pppLinkLocal(n, 'peer') };
  } else {
    const wan = `2001:db8:ff0${n}::`;
    uplink.v6 = {
      prefix, lan, wan: `${wan}/64`, gateway: `${wan}1`, local: `${wan}2`, pool: [`${wan}100`, `${wan}1ff`],
      linkLocal: eui64LinkLocal(ethMac(n, 'router')), peerLinkLocal: eui64LinkLocal(ethMac(n, 'isp')),
    };
  }
  return uplink;
}

/** Default interface names: ppp0, ppp1… and tun0… in order of their kind; eth<n> after the ISP. */
export function defaultIfaces(kinds: UplinkKind[]): string[] {
  const seen: Record<UplinkKind, number> = { ppp: 0, vpn: 0, dhcp: 0, static: 0 };
  return kinds.map((kind, i) => {
    const k = seen[kind]++;
    if (kind === 'ppp') return `ppp${k}`;
    if (kind === 'vpn') return `tun${k}`;
    return `eth${i + 1}`;
  });
}

/** PPP/VPN: the same MAC on both veth ends (ARP off) so `dev ppp0` routes need no neighbour. */
export const p2pMac = (n: number): string => `02:6d:77:00:0${n}:01`;
/** Ethernet: fixed MACs, so the link-locals (EUI-64) are known in advance. */
export const ethMac = (n: number, side: 'router' | 'isp'): string => `02:6d:77:00:0${n}:${side === 'router' ? '02' : '01'}`;

export const ispTransit = (n: number): { isp4: string; srv4: string; isp6: string; srv6: string } => ({
  isp4: `203.0.113.${4 * n - 3}/30`,
  srv4: `203.0.113.${4 * n - 2}/30`,
  isp6: `2001:db8:fff${n}::1/64`,
  srv6: `2001:db8:fff${n}::2/64`,
});

/** pppd-style interface identifiers: router ::102, ISP ::101 (canonical form). */
function pppLinkLocal(n: number, side: 'local' | 'peer'): string {
  return `fe80::c11:52ff:fe0${n}:${side === 'local' ? '102' : '101'}`;
}

/** The kernel's EUI-64 link-local for a MAC address (addrgenmode eui64). */
export function eui64LinkLocal(mac: string): string {
  const b = mac.split(':').map((h) => parseInt(h, 16));
  if (b.length !== 6 || b.some((x) => Number.isNaN(x))) throw new Error(`bad MAC ${mac}`);
  const [b0 = 0, b1 = 0, b2 = 0, b3 = 0, b4 = 0, b5 = 0] = b;
  const words = [((b0 ^ 2) << 8) | b1, (b2 << 8) | 0xff, 0xfe00 | b3, (b4 << 8) | b5];
  return `fe80::${words.map((w) => w.toString(16)).join(':')}`;
}

/**
 * An IPv6 address as pppd 2.4.9 writes it in ipv6-up's arguments: the
 * interface identifier as four zero-padded groups (`fe80::0c11:52ff:fe01:0102`).
 */
export function pppdLinkLocalArg(linkLocal: string): string {
  const iid = linkLocal.replace(/^fe80::/, '').split(':');
  if (iid.length !== 4) throw new Error(`pppdLinkLocalArg: ${linkLocal} is not fe80:: plus four groups`);
  return `fe80::${iid.map((g) => g.padStart(4, '0')).join(':')}`;
}

/** The uplink of an ISP role or a router interface name; throws when the lab has none. */
export function findUplink(uplinks: readonly Uplink[], ispOrIface: string): Uplink {
  const u = uplinks.find((x) => x.isp === ispOrIface || x.iface === ispOrIface);
  if (!u) throw new Error(`lab: no uplink ${ispOrIface} (have ${uplinks.map((x) => `${x.isp}=${x.iface}`).join(', ')})`);
  return u;
}
