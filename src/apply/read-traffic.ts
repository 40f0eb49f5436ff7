/**
 * What `multiwan status` reads besides the routing and the nft counters (those
 * come with the read-back round): the connections conntrack holds per mark,
 * in both families. Without conntrack the report says so instead of failing.
 * Parsing is pure.
 */
import type { Runner } from './run-command.js';

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
