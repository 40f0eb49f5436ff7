// Network-namespace lab for the e2e tests: a LAN client, a router, up to four
// ISPs and an internet server, each in its own namespace named `mwt<id>-<role>`.
// Nothing here touches the root network namespace: every `ip`/`nft`/sysctl
// runs with `ip -n <ns>` or `ip netns exec <ns>`, and every daemon runs inside
// the lab's namespaces (destroy() kills them with the namespaces).
//
//   lan ── eth0 ═ lan0 ── rtr ── <uplink 1> ═ cust0 ── isp1 ── up0 ═ isp1 ──┐
//                              ├─ <uplink 2> ═ cust0 ── isp2 ── up0 ═ isp2 ──┼ srv (198.51.100.10
//                              └─ …up to isp4                                ┘  and 2001:db8:100::10 on lo)
//
// Uplink kinds (`createLab({ uplinks: [...] })`; default two PPP links, as
// `createLab({ links: 1 | 2 })` always made):
//   ppp     ppp0, ppp1…: point-to-point veths with ARP off and the same MAC on
//           both ends (so `default dev ppp0` needs no neighbour), `addr LOCAL
//           peer PEER`; lab.ppp() runs pppd's ip-up/ip-down, ppp6() its
//           ipv6-up/ipv6-down (with the IPv6CP link-locals)
//   dhcp    eth<n>: an Ethernet veth (ARP on, 100.64.n.0/24); the ISP runs
//           dnsmasq (or dhcpd) from the start: startIspDhcp() restarts it with
//           other options (router, lease, T1/T2), stopIspDhcp() stops it;
//           startDhclient() / startDhcpcd() run the real clients
//   static  eth<n>: the same Ethernet link with no server; writeInterfaces()
//           + staticStanza() + ifupdown() run ifup/ifdown
//   vpn     tun0…: a p2p link like ppp (a tun/wg stand-in), already up with
//           its addresses, for `multiwan link up` run by sandboxExec()
// Each ISP forwards only its customer's sources (the p2p address / the /24;
// with IPv6 the delegated /48 and the Ethernet WAN /64) and counts the rest
// (ispCounters, spoofDrops). Addresses: address-plan.ts.
//
// IPv6 (`ipv6: true`): the server, the ISPs and the router are dual stack;
// ISP n delegates 2001:db8:n::/48 (routed to the router's link-local), the
// LAN client holds 2001:db8:n:1::2/64 from every uplink's prefix (the router
// ::1 on lan0); the server, the whoami/stream helpers and client.mjs /
// server.mjs speak both families. For the ISP's IPv6 servers on a `dhcp`
// uplink, pick `v6: 'dnsmasq'` (DHCPv6 addresses + RA with M flag) or
// `v6: 'dhcpd'` (isc-dhcp-server `dhcpd -6`: addresses AND prefix delegation
// of the /48 with `prefix6`, for `dhclient -6 -P` and dhcpcd's `ia_pd`;
// dnsmasq only sends RAs then). The router forwards, so the kernel ignores
// RAs (accept_ra=1): dhcpcd does its own RA handling, dhclient -6 none.
// DAD is off in every namespace (no duplicates here; tentative addresses
// only cost time).
//
// The router sandbox (sandbox.ts): every real client and the product by hand
// run in the router namespace inside a private mount + UTS namespace where
// /run is a lab dir and lab dirs hide /etc/multiwan, /run/multiwan,
// /usr/lib/multiwan, /etc/ppp/ip{,v6}-{up,down}.d, /etc/dhcp/dhclient-*-hooks.d,
// /var/lib/dhcp, /usr/lib/dhcpcd/dhcpcd-hooks, /var/lib/dhcpcd,
// /etc/network/if-*.d, /etc/network/interfaces and
// /etc/resolv.conf; sandboxInstall() puts a file at its installed path,
// sandboxPath() finds one on the host. What each client passes its hooks:
// CLIENT-VARIABLES.md.
//
// This file is the facade: the lab itself (createLab) and the re-exports of
// the modules every test imports from here.
import { mkdir, chmod, copyFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ADDR, defaultIfaces, findUplink, PORTS, uplinkPlan, type Uplink, type UplinkSpec } from './address-plan.js';
import { inNs, NODE, run, spawnBackground, type Background } from './exec.js';
import { setInternals, type LabInternals } from './internals.js';
import { startIspDhcp } from './isp-dhcp.js';
import { needsRoot } from './needs-root.js';
import { pppIpv4 } from './ppp-scripts.js';
import { claimId, deleteNamespace, LAB_PREFIX, listLabNamespaces } from './registry.js';
import { prepareSandbox } from './sandbox.js';
import { buildTopology, ispRoles, nsOf, type LabNamespaces } from './topology.js';
import { SERVER_JS, whoamiDetailed } from './traffic.js';
import type { Lab, LabDirs, LabOptions } from './types.js';

export { ADDR, ADDR6, PORTS, ISP_ROLES, eui64LinkLocal, findUplink, pppdLinkLocalArg } from './address-plan.js';
export type { IspRole, Uplink, UplinkKind, UplinkSpec } from './address-plan.js';
export { run, type Background, type ExecOptions, type ExecResult } from './exec.js';
export { needsRoot, needsTools, type LabTool } from './needs-root.js';
export { LAB_PREFIX, listLabNamespaces, removeStaleLabs } from './registry.js';
export type { LabNamespaces } from './topology.js';
export type { Lab, LabDirs, LabOptions, PppIface, PppResult, WhoamiOptions } from './types.js';
export {
  addPortForward,
  addServerAddress,
  connectFromServer,
  ispCounters,
  productEnv,
  removePortForwards,
  resetIspCounters,
  spoofDrops,
  startBackground,
  startServer,
  startStream,
  whoamiDetailed,
  type BackgroundProcess,
  type ConnectResult,
  type PortForward,
  type StreamHandle,
  type StreamStats,
  type WhoamiDetail,
} from './traffic.js';
export { SANDBOX_PATHS, sandboxExec, sandboxInstall, sandboxPath, sandboxStart } from './sandbox.js';
export { ppp6, runPppScript, type PppOptions, type PppScript } from './ppp-scripts.js';
export { ispDhcpLog, startIspDhcp, stopIspDhcp, type IspDhcpOptions } from './isp-dhcp.js';
export { DHCPCD_CONF, startDhclient, startDhcpcd, type DhcpClient, type DhclientOptions, type DhcpcdOptions } from './dhcp-clients.js';
export { ifupdown, staticStanza, writeInterfaces } from './ifupdown.js';
export { installRecorder, readRecords, waitRecord, RECORD_HOOK, type HookRecord, type RecordedClient } from './hook-records.js';

const READY_TIMEOUT_MS = 10_000;

const labDirs = (root: string): LabDirs => ({
  root,
  ipUpD: path.join(root, 'ip-up.d'),
  ipDownD: path.join(root, 'ip-down.d'),
  etc: path.join(root, 'etc'),
  run: path.join(root, 'run'),
  fs: path.join(root, 'fs'),
});

/** The uplink specs of a lab's options (isp1 first), and the uplinks they make. */
function planUplinks(opts: LabOptions): { specs: UplinkSpec[]; uplinks: Uplink[] } {
  const specs: UplinkSpec[] = (opts.uplinks ?? ((opts.links ?? 2) === 2 ? ['ppp', 'ppp'] : ['ppp'])).map((s) =>
    typeof s === 'string' ? { kind: s } : s,
  );
  const names = defaultIfaces(specs.map((s) => s.kind));
  const uplinks = specs.map((s, i) => uplinkPlan(i + 1, s.kind, s.iface ?? names[i] ?? `up${i}`, opts.ipv6 === true));
  return { specs, uplinks };
}

export async function createLab(opts: LabOptions = {}): Promise<Lab> {
  const reason = needsRoot();
  if (reason) throw new Error(reason);
  const { specs, uplinks } = planUplinks(opts);
  const ipv6 = opts.ipv6 === true;
  const { id, root } = await claimId();
  const name = (role: string): string => `${LAB_PREFIX}${id}-${role}`;
  const ns = { lan: name('lan'), rtr: name('rtr'), srv: name('srv') } as LabNamespaces;
  for (const isp of ispRoles(uplinks)) ns[isp] = name(isp);
  const dirs = labDirs(root);
  const background = new Set<Background>();
  let destroyed: Promise<void> | undefined;

  const start = async (where: string, argv: string[], readyTimeoutMs = READY_TIMEOUT_MS): Promise<Background> => {
    const bg = spawnBackground(where, argv);
    background.add(bg);
    const ready = await bg.waitLine((l) => l === 'ready', readyTimeoutMs);
    if (ready === undefined) {
      await bg.stop(0);
      throw new Error(`lab: ${argv.join(' ')} in ${where} did not become ready in ${readyTimeoutMs} ms\n${bg.stderr}`);
    }
    return bg;
  };

  const exec: Lab['exec'] = (where, argv, o = {}) => run(inNs(where, argv), o);

  const installHooks: Lab['installHooks'] = async (up, down) => {
    for (const [src, dir] of [[up, dirs.ipUpD], [down, dirs.ipDownD]] as const) {
      const dest = path.join(dir, 'multiwan');
      await copyFile(src, dest);
      await chmod(dest, 0o755);
    }
  };

  const writeConfig: Lab['writeConfig'] = (toml) => writeFile(path.join(dirs.etc, 'multiwan.toml'), toml);

  const carrier: Lab['carrier'] = async (iface, up) => {
    const u = findUplink(uplinks, iface);
    await run(['ip', '-n', nsOf(ns, u.isp), 'link', 'set', 'cust0', up ? 'up' : 'down']);
    // The kernel drops IPv6 routes through a device that goes down.
    if (up && u.v6) await run(['ip', '-n', nsOf(ns, u.isp), 'route', 'replace', u.v6.prefix, 'via', u.v6.linkLocal, 'dev', 'cust0']);
  };

  const snapshot: Lab['snapshot'] = async () => {
    const [rules, routes, nft] = await Promise.all([
      exec(ns.rtr, ['ip', 'rule']),
      exec(ns.rtr, ['ip', 'route', 'show', 'table', 'all']),
      exec(ns.rtr, ['nft', 'list', 'ruleset']),
    ]);
    // Counter values move with any packet; a snapshot is the ruleset, not the traffic.
    return { rules: rules.stdout, routes: routes.stdout, nft: nft.stdout.replace(/packets \d+ bytes \d+/g, 'packets - bytes -') };
  };

  const destroy: Lab['destroy'] = () => {
    destroyed ??= (async () => {
      await Promise.all([...background].map((bg) => bg.stop(500)));
      const existing = new Set(await listLabNamespaces());
      await Promise.all(Object.values(ns).filter((n): n is string => !!n && existing.has(n)).map(deleteNamespace));
      await rm(root, { recursive: true, force: true });
    })();
    return destroyed;
  };

  const lab: Lab = {
    id, ns, addr: ADDR, uplinks, ipv6, dirs,
    exec, installHooks, writeConfig, carrier, snapshot, destroy,
    ppp: (action, iface, o) => pppIpv4(lab, action, iface, o),
    whoami: async (o) => (await whoamiDetailed(lab, o)).counts,
  };
  const internals: LabInternals = { background, start, listeners: new Map(), ispServers: new Map(), ispDhcpOptions: new Map() };
  setInternals(lab, internals);
  try {
    for (const d of [dirs.ipUpD, dirs.ipDownD, dirs.etc, dirs.run]) await mkdir(d, { recursive: true });
    await prepareSandbox(dirs);
    await buildTopology(ns, uplinks, ipv6);
    const host = ipv6 ? ['--host', '::'] : [];
    await start(ns.srv, [NODE, SERVER_JS, '--whoami', String(PORTS.whoami), '--stream', String(PORTS.stream), ...host]);
    const served = uplinks.filter((u) => u.kind === 'dhcp');
    for (const u of served) internals.ispDhcpOptions.set(u.isp, specs[u.n - 1]?.dhcp ?? {});
    await Promise.all(served.map((u) => startIspDhcp(lab, u.isp)));
  } catch (err) {
    await destroy();
    throw err;
  }
  return lab;
}
