/**
 * Stale-NAT cleanup, planned purely from a link's state before and after an
 * event:
 * - a link that goes down loses the connections pinned to it and those NATed
 *   to its address (its address is gone: they can never work again);
 * - a link that comes back with another address loses those of the old one
 *   (they would leave with a source the ISP drops);
 * - a link the monitor takes out of service loses the connections pinned to
 *   it when `flush_conntrack` is on (the default), so clients reconnect at
 *   once over a live link instead of waiting for a TCP timeout.
 */
import type { LinkState } from '../state/types.js';

export type Flush =
  | { kind: 'mark'; mark: number; mask: number; link: string }
  | { kind: 'address'; address: string; link: string };

export function planFlush(
  before: LinkState | undefined,
  after: LinkState,
  numbers: { mark: number; mask: number; flushOnHealth?: boolean },
): Flush[] {
  const mark: Flush = { kind: 'mark', mark: numbers.mark, mask: numbers.mask, link: after.link };
  const wasUp = before?.up === true;
  if (wasUp && !after.up) {
    return before.local ? [mark, { kind: 'address', address: before.local, link: after.link }] : [mark];
  }
  if (after.up && before?.local && before.local !== after.local) {
    return [mark, { kind: 'address', address: before.local, link: after.link }];
  }
  const leftService = wasUp && after.up && before.healthy !== false && after.healthy === false;
  return leftService && (numbers.flushOnHealth ?? true) ? [mark] : [];
}
