/**
 * Stale-NAT cleanup, planned purely from a link's state before and after an
 * event, family by family (conntrack keeps IPv4 and IPv6 apart):
 * - a family that goes down loses the connections pinned to the link in it
 *   and those NATed to its old address (the address is gone: they can never
 *   work again);
 * - a family that comes back with another address loses those of the old one
 *   and those pinned to the link (they would leave with a source the ISP
 *   drops);
 * - a link the monitor takes out of service loses the connections pinned to
 *   it when `flush_conntrack` is on (the default), so clients reconnect at
 *   once over a live link instead of waiting for a TCP timeout.
 */
import type { Family } from '../net/address.js';
import { familyState, isUp, type LinkState } from '../state/types.js';

export type Flush =
  | { kind: 'mark'; family: Family; mark: number; mask: number; link: string }
  | { kind: 'address'; family: Family; address: string; link: string };

export function planFlush(
  before: LinkState | undefined,
  after: LinkState | undefined,
  numbers: { mark: number; mask: number; flushOnHealth?: boolean },
): Flush[] {
  if (!before || !isUp(before)) return [];
  const link = before.link;
  const flushes: Flush[] = [];
  const mark = (family: Family): Flush => ({ kind: 'mark', family, mark: numbers.mark, mask: numbers.mask, link });
  for (const family of [4, 6] as const) {
    const was = familyState(before, family);
    const now = familyState(after, family);
    if (!was) continue;
    if (!now || was.local !== now.local) {
      flushes.push(mark(family));
      if (was.local) flushes.push({ kind: 'address', family, address: was.local, link });
    }
  }
  const leftService = isUp(after) && before.healthy !== false && after.healthy === false;
  if (leftService && (numbers.flushOnHealth ?? true)) {
    for (const family of [4, 6] as const) {
      if (familyState(after, family) && !flushes.some((f) => f.kind === 'mark' && f.family === family)) flushes.push(mark(family));
    }
  }
  return flushes;
}
