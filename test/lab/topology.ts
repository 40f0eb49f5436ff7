// Building the lab's namespaces, links, addresses, routes and ISP filters.
// Nothing here touches the root network namespace: every `ip`/`nft`/sysctl
// runs with `ip -n <ns>` or `ip netns exec <ns>`.
import { ADDR, ADDR6, ethMac, ISP_ROLES, ispTransit, p2pMac, type IspRole, type Uplink } from './address-plan.js';
import { inNs, run } from './exec.js';

export interface LabNamespaces {
  lan: string;
  rtr: string;
  isp1: string;
  isp2: string;
  /** present when the lab has a third / fourth uplink */
  isp3?: string;
  isp4?: string;
  srv: string;
}

const bare = (cidr: string): string => cidr.split('/')[0] ?? cidr;
const isP2p = (u: Uplink): boolean => u.kind === 'ppp' || u.kind === 'vpn';

async function sysctl(ns: string, settings: Record<string, string | number>): Promise<void> {
  const kv = Object.entries(settings).map(([k, v]) => `${k}=${v}`);
  await run(inNs(ns, ['sysctl', '-q', '-w', ...kv]));
}

async function ipBatch(ns: string, lines: string[]): Promise<void> {
  await run(['ip', '-n', ns, '-batch', '-'], { input: `${lines.join('\n')}\n` });
}

async function nftLoad(ns: string, ruleset: string): Promise<void> {
  await run(inNs(ns, ['nft', '-f', '-']), { input: ruleset });
}

/** rtr: LAN port and the uplinks. Connected routes only. */
function routerBatch(ns: LabNamespaces, uplinks: Uplink[], ipv6: boolean): string[] {
  const lines = [
    'link set lo up',
    `link add lan0 type veth peer name eth0 netns ${ns.lan}`,
    `addr add ${ADDR.rtrLan}/24 dev lan0`,
    ...uplinks.filter((u) => u.v6).map((u) => `addr add ${ADDR6.rtrLan(u.isp)}/64 dev lan0 nodad`),
    'link set lan0 up',
  ];
  for (const u of uplinks) {
    const ispNs = nsOf(ns, u.isp);
    if (isP2p(u)) {
      const mac = p2pMac(u.n);
      lines.push(
        `link add ${u.iface} address ${mac} type veth peer name cust0 address ${mac} netns ${ispNs}`,
        `link set ${u.iface} arp off`,
        // pppd gives a PPP unit no kernel-made link-local: only IPv6CP's
        ...(ipv6 ? [`link set ${u.iface} addrgenmode none`] : []),
        `addr add ${u.v4.local} peer ${u.v4.peer} dev ${u.iface}`,
        ...(u.v6 ? [`addr add ${u.v6.linkLocal} peer ${u.v6.peerLinkLocal} dev ${u.iface} nodad`] : []),
        `link set ${u.iface} up`,
      );
    } else {
      lines.push(
        `link add ${u.iface} address ${ethMac(u.n, 'router')} type veth peer name cust0 address ${ethMac(u.n, 'isp')} netns ${ispNs}`,
        `link set ${u.iface} up`,
      );
    }
  }
  return lines;
}

/** srv: one uplink per ISP, the service addresses on lo, routes back to the customers. */
function serverBatch(ns: LabNamespaces, isps: IspRole[], uplinks: Uplink[], ipv6: boolean): string[] {
  const lines = ['link set lo up', `addr add ${ADDR.server}/32 dev lo`];
  if (ipv6) lines.push(`addr add ${ADDR6.server}/128 dev lo`);
  isps.forEach((isp, i) => {
    const t = ispTransit(i + 1);
    const u = uplinks.find((x) => x.isp === isp);
    lines.push(
      `link add ${isp} type veth peer name up0 netns ${nsOf(ns, isp)}`,
      `addr add ${t.srv4} dev ${isp}`,
      ...(ipv6 ? [`addr add ${t.srv6} dev ${isp} nodad`] : []),
      `link set ${isp} up`,
      `route add 100.64.${i + 1}.0/24 via ${bare(t.isp4)} dev ${isp}`,
    );
    if (u?.v6) {
      lines.push(`route add ${u.v6.prefix} via ${bare(t.isp6)} dev ${isp}`);
      if (u.v6.wan) lines.push(`route add ${u.v6.wan} via ${bare(t.isp6)} dev ${isp}`);
    }
  });
  return lines;
}

function ispBatch(n: number, u: Uplink | undefined, ipv6: boolean): string[] {
  const t = ispTransit(n);
  const lines = ['link set lo up', `addr add ${t.isp4} dev up0`];
  if (ipv6) lines.push(`addr add ${t.isp6} dev up0 nodad`);
  lines.push('link set up0 up', `route add default via ${bare(t.srv4)} dev up0`);
  if (ipv6) lines.push(`route add default via ${bare(t.srv6)} dev up0`);
  if (!u) return lines;
  if (isP2p(u)) {
    lines.push(
      'link set cust0 arp off',
      ...(ipv6 ? ['link set cust0 addrgenmode none'] : []),
      `addr add ${u.v4.peer} peer ${u.v4.local} dev cust0`,
      ...(u.v6 ? [`addr add ${u.v6.peerLinkLocal} peer ${u.v6.linkLocal} dev cust0 nodad`] : []),
      'link set cust0 up',
    );
  } else {
    lines.push(
      `addr add ${u.v4.gateway}/${u.v4.prefixLength} dev cust0`,
      `addr add ${u.v4.gateway2}/${u.v4.prefixLength} dev cust0`,
      ...(u.v6?.gateway ? [`addr add ${u.v6.gateway}/64 dev cust0 nodad`] : []),
      'link set cust0 up',
    );
  }
  // The ISP routes the delegated prefix to its customer's link-local.
  if (u.v6) lines.push(`route add ${u.v6.prefix} via ${u.v6.linkLocal} dev cust0`);
  return lines;
}

/**
 * An ISP forwards only packets from its customer (the PPP/VPN address, the
 * Ethernet /24; the delegated prefix and the WAN /64); drops are counted.
 */
function ispRuleset(n: number, u: Uplink | undefined): string {
  const v4 = !u ? `100.64.${n}.2` : isP2p(u) ? u.v4.local : u.v4.net;
  const v6 = u?.v6 ? [u.v6.prefix, ...(u.v6.wan ? [u.v6.wan] : [])] : [];
  const v6Rule = v6.length > 0 ? `    iifname "cust0" ip6 saddr != { ${v6.join(', ')} } counter name "spoofed" drop\n` : '';
  return `table inet labisp {
  counter spoofed { }
  counter forwarded { }
  chain forward {
    type filter hook forward priority filter; policy accept;
    iifname "cust0" ip saddr != ${v4} counter name "spoofed" drop
${v6Rule}    iifname "cust0" counter name "forwarded"
  }
}
`;
}

function lanBatch(uplinks: Uplink[]): string[] {
  const v6 = uplinks.filter((u) => u.v6);
  return [
    'link set lo up',
    `addr add ${ADDR.client}/24 dev eth0`,
    ...v6.map((u) => `addr add ${ADDR6.client(u.isp)}/64 dev eth0 nodad`),
    'link set eth0 up',
    `route add default via ${ADDR.rtrLan} dev eth0`,
    ...(v6[0] ? [`route add default via ${ADDR6.rtrLan(v6[0].isp)} dev eth0`] : []),
  ];
}

export function nsOf(ns: LabNamespaces, isp: IspRole): string {
  const name = ns[isp];
  if (!name) throw new Error(`lab: this lab has no ${isp}`);
  return name;
}

/** The ISP roles a lab with these uplinks has: at least isp1 and isp2 (as before uplinks existed). */
export function ispRoles(uplinks: Uplink[]): IspRole[] {
  return ISP_ROLES.slice(0, Math.max(2, uplinks.length));
}

export async function buildTopology(ns: LabNamespaces, uplinks: Uplink[], ipv6: boolean): Promise<void> {
  const isps = ispRoles(uplinks);
  const all = [ns.lan, ns.rtr, ...isps.map((i) => nsOf(ns, i)), ns.srv];
  for (const n of all) await run(['ip', 'netns', 'add', n]);
  // Sysctls first, so interfaces created afterwards inherit `default`. The
  // router is strict (rp_filter=1, the worst case the product must handle);
  // ISPs and the server do no rp_filter so that the ISP's nft rule is what
  // drops (and counts) wrong-source packets. IPv6: no DAD anywhere (the lab
  // has no duplicates and tentative addresses only cost time).
  const strict = { 'net.ipv4.conf.all.rp_filter': 1, 'net.ipv4.conf.default.rp_filter': 1 };
  const off = { 'net.ipv4.conf.all.rp_filter': 0, 'net.ipv4.conf.default.rp_filter': 0 };
  // ISPs keep their IPv6 addresses while their customer port is down
  // (lab.carrier), as they keep the IPv4 ones.
  const v6 = (forward: boolean, keep = false): Record<string, number> =>
    ipv6
      ? {
          'net.ipv6.conf.all.accept_dad': 0,
          'net.ipv6.conf.default.accept_dad': 0,
          ...(forward ? { 'net.ipv6.conf.all.forwarding': 1 } : {}),
          ...(keep ? { 'net.ipv6.conf.all.keep_addr_on_down': 1, 'net.ipv6.conf.default.keep_addr_on_down': 1 } : {}),
        }
      : {};
  await Promise.all([
    sysctl(ns.lan, { ...strict, ...v6(false) }),
    sysctl(ns.rtr, { ...strict, 'net.ipv4.ip_forward': 1, ...v6(true) }),
    ...isps.map((i) => sysctl(nsOf(ns, i), { ...off, 'net.ipv4.ip_forward': 1, ...v6(true, true) })),
    sysctl(ns.srv, { ...off, ...v6(false) }),
  ]);
  await Promise.all([ipBatch(ns.rtr, routerBatch(ns, uplinks, ipv6)), ipBatch(ns.srv, serverBatch(ns, isps, uplinks, ipv6))]);
  await Promise.all([
    ipBatch(ns.lan, lanBatch(uplinks)),
    ...isps.map((isp, i) => ipBatch(nsOf(ns, isp), ispBatch(i + 1, uplinks.find((u) => u.isp === isp), ipv6))),
    ...isps.map((isp, i) => nftLoad(nsOf(ns, isp), ispRuleset(i + 1, uplinks.find((u) => u.isp === isp)))),
  ]);
}
