// The data-plane bench's lab (bench/dataplane.ts): one small network per
// router under test, all built the same way, so that two routers can be
// measured side by side in one run. A network `tag` has three namespaces,
// `mwt<id>-<tag>-lan`, `mwt<id>-<tag>-rtr` and `mwt<id>-<tag>-net`:
//
//   lan 192.168.10.2 ─ eth0 ═ lan0 ─ rtr ─ ppp0 ═ cust0 ─┐
//                                       ├─ ppp1 ═ cust1 ─┤ net: 198.51.100.10 on lo,
//                                       └─ …    ═ …     ─┘      the iperf3 server
//
// The uplinks are point-to-point veths with ARP off and the same MAC on both
// ends, `addr add LOCAL peer REMOTE` (router 100.64.k.2, net 100.64.k.1), as
// test/lab builds ppp0/ppp1: what pppd leaves. "net" is the whole internet in
// one namespace: it holds the server address and reaches every customer
// address through its connected peer routes, with no filter of its own, so
// the router is the only namespace that forwards.
//
// The router starts as test/lab's does (ip_forward, strict rp_filter, no
// routes but the connected ones); setupBare() or setupMultiwan() then makes
// it one of the two routers under test.
//
// Nothing here touches the root network namespace: every `ip`/`nft`/sysctl
// runs with `ip -n <ns>` or `ip netns exec <ns>`. destroy() kills the
// processes and deletes the namespaces; the names and the temp dir (claimId)
// are test/lab's, so its stale-lab cleanup finds anything a killed run left.
import { readFileSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { inNs, run, spawnBackground, type Background } from '../test/lab/exec.js';
import { claimId, deleteNamespace, LAB_PREFIX, listLabNamespaces } from '../test/lab/registry.js';

export const ADDR = { client: '192.168.10.2', rtrLan: '192.168.10.1', server: '198.51.100.10', lan: '192.168.10.0/24' } as const;
export const IPERF_PORT = 5201;

/** The sender runs on CPU 0 and the server on CPU 1, for every router alike (see dataplane-traffic.ts). */
export const SENDER_CPU = 0;
export const SERVER_CPU = 1;
export const pinned = (cpu: number, argv: string[]): string[] => (os.cpus().length > cpu ? ['taskset', '-c', String(cpu), ...argv] : argv);

export interface Uplink {
  /** 1.. */
  n: number;
  /** the router's interface, ppp<n-1> */
  iface: string;
  /** the net namespace's end, cust<n-1> */
  peerIface: string;
  local: string;
  peer: string;
}

export interface Network {
  tag: string;
  ns: { lan: string; rtr: string; net: string };
  uplinks: Uplink[];
  /** the iperf3 server in `net`; its pid also names the namespace for /proc/<pid>/net/snmp */
  server: Background;
}

export interface DataplaneLab {
  id: string;
  root: string;
  networks: Record<string, Network>;
  destroy(): Promise<void>;
}

export const uplinkOf = (n: number): Uplink => ({
  n,
  iface: `ppp${n - 1}`,
  peerIface: `cust${n - 1}`,
  local: `100.64.${n}.2`,
  peer: `100.64.${n}.1`,
});

const mac = (n: number): string => `02:00:5e:00:01:${n.toString(16).padStart(2, '0')}`;

const ipBatch = (ns: string, lines: string[]) => run(['ip', '-n', ns, '-batch', '-'], { input: `${lines.join('\n')}\n` });
const sysctl = (ns: string, kv: Record<string, string | number>) =>
  run(inNs(ns, ['sysctl', '-q', '-w', ...Object.entries(kv).map(([k, v]) => `${k}=${v}`)]));

async function buildNetwork(ns: Network['ns'], links: number): Promise<Uplink[]> {
  const uplinks = Array.from({ length: links }, (_, i) => uplinkOf(i + 1));
  for (const n of Object.values(ns)) await run(['ip', 'netns', 'add', n]);
  // Sysctls before the interfaces, so that they inherit `default`: the
  // router as strict as test/lab's (multiwan loosens its uplinks itself).
  await Promise.all([
    sysctl(ns.lan, { 'net.ipv4.conf.all.rp_filter': 1, 'net.ipv4.conf.default.rp_filter': 1 }),
    sysctl(ns.rtr, { 'net.ipv4.conf.all.rp_filter': 1, 'net.ipv4.conf.default.rp_filter': 1, 'net.ipv4.ip_forward': 1 }),
    sysctl(ns.net, { 'net.ipv4.conf.all.rp_filter': 0, 'net.ipv4.conf.default.rp_filter': 0 }),
  ]);
  await ipBatch(ns.rtr, [
    'link set lo up',
    `link add lan0 type veth peer name eth0 netns ${ns.lan}`,
    `addr add ${ADDR.rtrLan}/24 dev lan0`,
    'link set lan0 up',
    ...uplinks.flatMap((u) => [
      `link add ${u.iface} address ${mac(u.n)} type veth peer name ${u.peerIface} address ${mac(u.n)} netns ${ns.net}`,
      `link set ${u.iface} arp off`,
      `addr add ${u.local} peer ${u.peer} dev ${u.iface}`,
      `link set ${u.iface} up`,
    ]),
  ]);
  await Promise.all([
    ipBatch(ns.lan, [
      'link set lo up',
      `addr add ${ADDR.client}/24 dev eth0`,
      // One MSS a packet: no GSO super-packets, so TCP is counted (and
      // forwarded, and filtered) per segment, as on a real wire.
      'link set eth0 gso_max_segs 1',
      'link set eth0 up',
      `route add default via ${ADDR.rtrLan} dev eth0`,
    ]),
    ipBatch(ns.net, [
      'link set lo up',
      `addr add ${ADDR.server}/32 dev lo`,
      ...uplinks.flatMap((u) => [
        `link set ${u.peerIface} arp off`,
        `addr add ${u.peer} peer ${u.local} dev ${u.peerIface}`,
        `link set ${u.peerIface} up`,
      ]),
    ]),
  ]);
  return uplinks;
}

/**
 * A lab with one network per tag, each with `links` uplinks and an iperf3
 * server. On a failure while building, what was built is destroyed.
 */
export async function createDataplaneLab(tags: string[], links: number): Promise<DataplaneLab> {
  const { id, root } = await claimId();
  const names = tags.map((tag) => ({ lan: `${LAB_PREFIX}${id}-${tag}-lan`, rtr: `${LAB_PREFIX}${id}-${tag}-rtr`, net: `${LAB_PREFIX}${id}-${tag}-net` }));
  const background: Background[] = [];
  let destroyed: Promise<void> | undefined;
  const destroy = () =>
    (destroyed ??= (async () => {
      await Promise.all(background.map((bg) => bg.stop(500)));
      const existing = new Set(await listLabNamespaces());
      await Promise.all(names.flatMap((ns) => Object.values(ns)).filter((n) => existing.has(n)).map(deleteNamespace));
      await rm(root, { recursive: true, force: true });
    })());
  try {
    const networks: Record<string, Network> = {};
    for (const [i, tag] of tags.entries()) {
      const ns = names[i]!;
      const uplinks = await buildNetwork(ns, links);
      const server = spawnBackground(ns.net, pinned(SERVER_CPU, ['iperf3', '--server', '--bind', ADDR.server, '--port', String(IPERF_PORT)]));
      background.push(server);
      networks[tag] = { tag, ns, uplinks, server };
    }
    for (const net of Object.values(networks)) await waitListening(net);
    return { id, root, networks, destroy };
  } catch (error) {
    await destroy();
    throw error;
  }
}

async function waitListening(net: Network): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const r = await run(inNs(net.ns.net, ['ss', '-Hltn', `sport = :${IPERF_PORT}`]), { reject: false });
    if (r.stdout.trim()) return;
    if (net.server.exited) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`dataplane lab: iperf3 server in ${net.ns.net} did not listen\n${net.server.stderr}`);
}

/** The bare router: one default route and one masquerade rule, what the articles' readers run. */
export async function setupBare(net: Network): Promise<void> {
  const first = net.uplinks[0]!;
  await run(['ip', '-n', net.ns.rtr, 'route', 'add', 'default', 'dev', first.iface]);
  const ruleset = `table ip nat {
  chain postrouting {
    type nat hook postrouting priority srcnat; policy accept;
    oifname "${first.iface}" masquerade
  }
}
`;
  await run(inNs(net.ns.rtr, ['nft', '-f', '-']), { input: ruleset });
}

/**
 * The multiwan router: `config` written to the lab dir, then the built ip-up
 * run in the router namespace for each uplink with pppd's six arguments
 * (interface, tty, speed, local, remote, ipparam), as bench/routes.ts does.
 */
export async function setupMultiwan(lab: DataplaneLab, net: Network, config: string, ipUp: string): Promise<void> {
  const dir = path.join(lab.root, net.tag);
  const env = { MULTIWAN_CONFIG: path.join(dir, 'multiwan.toml'), MULTIWAN_STATE_DIR: path.join(dir, 'run') };
  await mkdir(env.MULTIWAN_STATE_DIR, { recursive: true });
  await writeFile(env.MULTIWAN_CONFIG, config);
  for (const u of net.uplinks) {
    const r = await run(inNs(net.ns.rtr, [ipUp, u.iface, '/dev/ttyS0', '115200', u.local, u.peer, `isp${u.n}`]), { env, reject: false, timeoutMs: 30_000 });
    if (r.exitCode !== 0) throw new Error(`multiwan ip-up ${u.iface} failed (exit ${r.exitCode}): ${(r.stderr || r.stdout).trim()}`);
  }
}

/** The IP and UDP counters of the namespace a process lives in (/proc/<pid>/net/snmp: no process to start). */
export function snmp(pid: number): Record<string, number> {
  const lines = readFileSync(`/proc/${pid}/net/snmp`, 'utf8').split('\n');
  const out: Record<string, number> = {};
  for (let i = 0; i + 1 < lines.length; i += 2) {
    const head = lines[i]!.split(/\s+/);
    const values = lines[i + 1]!.split(/\s+/);
    const proto = head[0]!.replace(':', '');
    head.slice(1).forEach((key, j) => (out[`${proto}.${key}`] = Number(values[j + 1])));
  }
  return out;
}
