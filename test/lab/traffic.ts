// Traffic through the lab and what the ISPs saw of it: whoami connections
// and UDP queries, long-running streams, inbound port forwards, the ISPs'
// filter counters, extra server addresses and listeners. IPv4 and IPv6.
import { isIP } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ADDR, ADDR6, PORTS, type IspRole } from './address-plan.js';
import { NODE, spawnBackground, type Background } from './exec.js';
import { internalsOf } from './internals.js';
import { nsOf } from './topology.js';
import type { Lab, WhoamiOptions } from './types.js';

const LAB_DIR = path.dirname(fileURLToPath(import.meta.url));
export const SERVER_JS = path.join(LAB_DIR, 'server.mjs');
export const CLIENT_JS = path.join(LAB_DIR, 'client.mjs');

export type BackgroundProcess = Background;

/** Where a client runs and which local address it binds, from a `from` option. */
function clientPlace(lab: Lab, from: string | undefined): { ns: string; bind: string[] } {
  if (from === undefined) return { ns: lab.ns.lan, bind: [] };
  if (isIP(from) !== 0) return { ns: lab.ns.lan, bind: ['--bind', from] };
  if (Object.values(lab.ns).includes(from)) return { ns: from, bind: [] };
  throw new Error(`whoami: "from" must be an IP address or a namespace of this lab, got ${from}`);
}

/** The server address of the family of `from` (IPv6 when from is an IPv6 address). */
const serverFor = (from: string | undefined): string => (from !== undefined && isIP(from) === 6 ? ADDR6.server : ADDR.server);

export interface WhoamiDetail {
  /** reply (the source address the server saw) -> count; failures under "error" */
  counts: Record<string, number>;
  /** one error code/message per failed connection (ETIMEDOUT, EHOSTUNREACH, ...) */
  errors: string[];
}

/** Like lab.whoami(), plus the error code of each failed connection. */
export async function whoamiDetailed(lab: Lab, opts: WhoamiOptions = {}): Promise<WhoamiDetail> {
  const count = opts.count ?? 20;
  const timeoutMs = opts.timeoutMs ?? 3000;
  // One local port carries one connection at a time.
  const concurrency = opts.sport === undefined ? 8 : 1;
  const place = clientPlace(lab, opts.from);
  const argv = [NODE, CLIENT_JS, opts.udp ? 'udp' : 'whoami', '--host', opts.host ?? serverFor(opts.from),
    '--port', String(opts.port ?? PORTS.whoami), '--count', String(count), '--timeout', String(timeoutMs),
    '--concurrency', String(concurrency), ...place.bind, ...(opts.sport === undefined ? [] : ['--sport', String(opts.sport)])];
  const bound = timeoutMs * Math.ceil(count / concurrency) + 10_000;
  const r = await lab.exec(place.ns, argv, { timeoutMs: bound });
  return JSON.parse(r.stdout) as WhoamiDetail;
}

export interface StreamStats {
  connected: boolean;
  /** connected, not closed, and data arrived within the last second */
  alive: boolean;
  closed: boolean;
  error?: string;
  /** the source address the server saw for this connection */
  seenAs?: string;
  bytes: number;
  lines: number;
  /** number of silences longer than 1 s between two data arrivals */
  gaps: number;
  /** the longest silence so far (including the current one) */
  maxGapMs: number;
  silentMs: number;
  elapsedMs: number;
}

export interface StreamHandle {
  /** a fresh status (waits for the client's next report, ≤ 2 s) */
  stats(): Promise<StreamStats>;
  /** closes the connection; returns the final status */
  stop(): Promise<StreamStats>;
}

/**
 * A long-running TCP connection from the LAN client to server:7001; the
 * server sends a line every 20 ms. Resolves once the connection is
 * established or has failed (≤ 5 s).
 */
export async function startStream(lab: Lab, opts: { port?: number; from?: string; host?: string } = {}): Promise<StreamHandle> {
  const place = clientPlace(lab, opts.from);
  const argv = [NODE, CLIENT_JS, 'stream', '--host', opts.host ?? serverFor(opts.from), '--port', String(opts.port ?? PORTS.stream),
    '--status-ms', '100', ...place.bind];
  const bg = spawnBackground(place.ns, argv);
  internalsOf(lab).background.add(bg);
  const parse = (line: string | undefined): StreamStats | undefined =>
    line === undefined ? undefined : (JSON.parse(line) as StreamStats);
  const last = (): StreamStats => {
    const s = parse(bg.lines.at(-1));
    if (!s) throw new Error('stream client produced no status');
    return s;
  };
  await bg.waitLine((l) => {
    const s = parse(l);
    return !!s && (s.seenAs !== undefined || s.closed || s.error !== undefined);
  }, 5000);
  return {
    stats: async () => {
      const from = bg.lines.length;
      await bg.waitLine(() => true, 2000, from);
      return last();
    },
    stop: async () => {
      await bg.stop(3000);
      internalsOf(lab).background.delete(bg);
      return last();
    },
  };
}

/** Packet counters of an ISP's customer-facing filter (both families). */
export async function ispCounters(lab: Lab, isp: IspRole): Promise<{ spoofed: number; forwarded: number }> {
  const read = async (name: string): Promise<number> => {
    const r = await lab.exec(nsOf(lab.ns, isp), ['nft', '-j', 'list', 'counter', 'inet', 'labisp', name]);
    const json = JSON.parse(r.stdout) as { nftables: Array<{ counter?: { packets: number } }> };
    return json.nftables.find((o) => o.counter)?.counter?.packets ?? 0;
  };
  const [spoofed, forwarded] = await Promise.all([read('spoofed'), read('forwarded')]);
  return { spoofed, forwarded };
}

/** Packets the ISP dropped because their source was not its customer's (address, /24, or IPv6 prefix). */
export async function spoofDrops(lab: Lab, isp: IspRole): Promise<number> {
  return (await ispCounters(lab, isp)).spoofed;
}

export async function resetIspCounters(lab: Lab, isp: IspRole): Promise<void> {
  await lab.exec(nsOf(lab.ns, isp), ['nft', 'reset', 'counters', 'table', 'inet', 'labisp']);
}

export interface PortForward {
  wanAddr: string;
  wanPort: number;
  lanPort: number;
}

/**
 * Inbound test setup: a user table `inet labfwd` in the router DNATs
 * wanAddr:wanPort to the LAN client's lanPort, where a listener replies with
 * the source address it sees. Call several times for several forwards. IPv4.
 */
export async function addPortForward(
  lab: Lab,
  opts: { wanAddr: string; wanPort?: number; lanPort?: number },
): Promise<PortForward> {
  const fwd = { wanAddr: opts.wanAddr, wanPort: opts.wanPort ?? PORTS.forward, lanPort: opts.lanPort ?? PORTS.forward };
  if (isIP(fwd.wanAddr) !== 4) throw new Error(`addPortForward: bad address ${fwd.wanAddr}`);
  const i = internalsOf(lab);
  if (!i.listeners.has(fwd.lanPort)) {
    i.listeners.set(fwd.lanPort, await i.start(lab.ns.lan, [NODE, SERVER_JS, '--whoami', String(fwd.lanPort)]));
  }
  await lab.exec(lab.ns.rtr, ['nft', '-f', '-'], {
    input: `table inet labfwd {
  chain prerouting { type nat hook prerouting priority dstnat; policy accept; }
}
add rule inet labfwd prerouting ip daddr ${fwd.wanAddr} tcp dport ${fwd.wanPort} dnat ip to ${ADDR.client}:${fwd.lanPort}
`,
  });
  return fwd;
}

/** Removes the `inet labfwd` table and stops the LAN listeners. */
export async function removePortForwards(lab: Lab): Promise<void> {
  const i = internalsOf(lab);
  await lab.exec(lab.ns.rtr, ['nft', 'delete', 'table', 'inet', 'labfwd'], { reject: false });
  await Promise.all([...i.listeners.values()].map((bg) => bg.stop(500)));
  i.listeners.clear();
}

export interface ConnectResult {
  ok: boolean;
  reply?: string;
  error?: string;
}

/**
 * From the server namespace (source 198.51.100.10, or 2001:db8:100::10 for
 * an IPv6 `addr`, unless `from` says otherwise), connect to a router WAN
 * address:port and return the reply.
 */
export async function connectFromServer(
  lab: Lab,
  addr: string,
  port: number,
  opts: { timeoutMs?: number; from?: string } = {},
): Promise<ConnectResult> {
  const timeoutMs = opts.timeoutMs ?? 3000;
  const argv = [NODE, CLIENT_JS, 'request', '--host', addr, '--port', String(port),
    '--timeout', String(timeoutMs), '--bind', opts.from ?? (isIP(addr) === 6 ? ADDR6.server : ADDR.server)];
  const r = await lab.exec(lab.ns.srv, argv, { timeoutMs: timeoutMs + 10_000 });
  return JSON.parse(r.stdout) as ConnectResult;
}

/**
 * Another address of the internet server (on its `lo`, like 198.51.100.10):
 * the ISPs' default routes point at the server, and the server routes the
 * customers' networks back, so nothing else is needed for it to be reached
 * through either ISP. TCP listeners on 0.0.0.0 / :: (the whoami port, and
 * those of startServer) answer on it. IPv6 addresses need an ipv6 lab.
 */
export async function addServerAddress(lab: Lab, addr: string): Promise<void> {
  const family = isIP(addr);
  if (family === 0) throw new Error(`addServerAddress: bad address ${addr}`);
  await lab.exec(lab.ns.srv, ['ip', 'addr', 'add', `${addr}/${family === 4 ? 32 : 128}`, 'dev', 'lo']);
}

/**
 * More listeners on the internet server: `whoami` TCP ports and `udp` ports
 * (each answers with the source address it saw). `host` binds them to one
 * address (needed for UDP when the server has several, so that the reply
 * leaves from the address the query went to; `::` for both families).
 * Stopped by lab.destroy().
 */
export async function startServer(lab: Lab, opts: { whoami?: number[]; udp?: number[]; host?: string }): Promise<void> {
  if (!opts.whoami?.length && !opts.udp?.length) throw new Error('startServer: no port to listen on');
  const args = [
    ...(opts.whoami ?? []).flatMap((port) => ['--whoami', String(port)]),
    ...(opts.udp ?? []).flatMap((port) => ['--udp', String(port)]),
    ...(opts.host ? ['--host', opts.host] : []),
  ];
  await internalsOf(lab).start(lab.ns.srv, [NODE, SERVER_JS, ...args]);
}

/**
 * A long-running program in one of the lab's namespaces (e.g. `multiwan
 * monitor` in the router), its stdout followed line by line; stopped by
 * lab.destroy() at the latest.
 */
export function startBackground(lab: Lab, ns: string, argv: string[], env: Record<string, string> = {}): BackgroundProcess {
  const bg = spawnBackground(ns, argv, { env });
  internalsOf(lab).background.add(bg);
  return bg;
}

/** Environment for running the product's CLI by hand in the router namespace (outside the sandbox). */
export function productEnv(lab: Lab): Record<string, string> {
  return { MULTIWAN_CONFIG: path.join(lab.dirs.etc, 'multiwan.toml'), MULTIWAN_STATE_DIR: lab.dirs.run };
}
