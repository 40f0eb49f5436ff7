/**
 * What `multiwan status` reads besides the routing: the named counters of
 * `table inet multiwan` (packets and bytes per link and direction, new
 * connections per policy), and the connections conntrack holds per mark, in
 * both families. Either may be unavailable (no table yet, no conntrack): the
 * report then says so instead of failing. Parsing is pure.
 */
import type { Runner } from './run-command.js';

export interface Counter {
  packets: number;
  bytes: number;
}

export async function readCounters(run: Runner): Promise<Record<string, Counter> | undefined> {
  try {
    const { stdout, exitCode } = await run(['nft', '-j', 'list', 'counters', 'table', 'inet', 'multiwan'], { okCodes: [0, 1] });
    return exitCode === 0 ? parseCounters(stdout) : {};
  } catch {
    return undefined;
  }
}

export function parseCounters(json: string): Record<string, Counter> {
  const out: Record<string, Counter> = {};
  try {
    const doc = JSON.parse(json) as { nftables?: { counter?: { name?: string; table?: string; packets?: number; bytes?: number } }[] };
    for (const item of doc.nftables ?? []) {
      const c = item.counter;
      if (c?.name && c.table === 'multiwan') out[c.name] = { packets: c.packets ?? 0, bytes: c.bytes ?? 0 };
    }
  } catch {
    // an unreadable answer counts nothing
  }
  return out;
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
