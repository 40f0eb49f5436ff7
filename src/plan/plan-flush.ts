/**
 * Stale-NAT cleanup, planned purely from the link's state before and after an
 * event: a link that goes down loses the connections pinned to it; a link that
 * comes back with another address loses those NATed to its old one (they would
 * leave with a source the ISP drops).
 */
import type { LinkState } from '../state/types.js';

export type Flush =
  | { kind: 'mark'; mark: number; mask: number; link: string }
  | { kind: 'address'; address: string; link: string };

export function planFlush(
  before: LinkState | undefined,
  after: LinkState,
  numbers: { mark: number; mask: number },
): Flush[] {
  const flushes: Flush[] = [];
  const wasUp = before?.up === true;
  if (wasUp && !after.up) {
    flushes.push({ kind: 'mark', mark: numbers.mark, mask: numbers.mask, link: after.link });
    if (before.local) flushes.push({ kind: 'address', address: before.local, link: after.link });
  } else if (after.up && before?.local && before.local !== after.local) {
    flushes.push({ kind: 'mark', mark: numbers.mark, mask: numbers.mask, link: after.link });
    flushes.push({ kind: 'address', address: before.local, link: after.link });
  }
  return flushes;
}
