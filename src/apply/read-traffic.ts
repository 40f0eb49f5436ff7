/**
 * What `multiwan status` reads besides the routing and the policies' nft
 * counters (those come with the read-back round): the connections conntrack
 * holds per mark, in both families, and each interface's traffic from the
 * kernel's own statistics. Without conntrack the report says so instead of
 * failing. Parsing is pure.
 */
import type { Counter } from '../plan/render-nft.js';
import type { Runner } from './run-command.js';

/** Packets and bytes received and sent, per interface name. */
export type InterfaceTraffic = Map<string, { rx: Counter; tx: Counter }>;

/** `ip -s -j link show`: every interface's statistics (undefined when ip fails). */
export async function readInterfaceTraffic(run: Runner): Promise<InterfaceTraffic | undefined> {
  try {
    return parseInterfaceTraffic((await run(['ip', '-s', '-j', 'link', 'show'], { okCodes: [0], timeoutMs: 10_000 })).stdout);
  } catch {
    return undefined;
  }
}

export function parseInterfaceTraffic(json: string): InterfaceTraffic {
  const traffic: InterfaceTraffic = new Map();
  const parsed: unknown = JSON.parse(json);
  if (!Array.isArray(parsed)) return traffic;
  const counter = (c: unknown): Counter => {
    const o = (c ?? {}) as { packets?: unknown; bytes?: unknown };
    return { packets: Number(o.packets) || 0, bytes: Number(o.bytes) || 0 };
  };
  for (const entry of parsed as Array<{ ifname?: unknown; stats64?: { rx?: unknown; tx?: unknown }; stats?: { rx?: unknown; tx?: unknown } }>) {
    const stats = entry.stats64 ?? entry.stats;
    if (typeof entry.ifname === 'string' && stats) traffic.set(entry.ifname, { rx: counter(stats.rx), tx: counter(stats.tx) });
  }
  return traffic;
}

/** Connections per family and mark (the mark masked), as `conntrack -L` lists them. */
export async function countConnections(run: Runner, mask: number): Promise<Record<4 | 6, Map<number, number>> | undefined> {
  try {
    const [v4, v6] = await Promise.all(
      (['ipv4', 'ipv6'] as const).map((family) => run(['conntrack', '-L', '-f', family], { okCodes: [0], timeoutMs: 10_000 })),
    );
    return { 4: countByMark(v4!.stdout, mask), 6: countByMark(v6!.stdout, mask) };
  } catch {
    return undefined;
  }
}

export function countByMark(listing: string, mask: number): Map<number, number> {
  const counts = new Map<number, number>();
  for (const match of listing.matchAll(/\bmark=(\d+)/g)) {
    const mark = (Number(match[1]) & mask) >>> 0;
    if (mark) counts.set(mark, (counts.get(mark) ?? 0) + 1);
  }
  return counts;
}
