import type { Family } from '../net/address.js';
import type { FamilyState, LinkKind } from '../state/types.js';

/**
 * What a caller (pppd, dhclient, dhcpcd, ifupdown, `multiwan link`) reports
 * about one link. Addresses are canonical; what the caller left out is read
 * from the live interface by the link-state transition.
 */
export interface LinkEvent {
  action: 'up' | 'down';
  iface: string;
  /** Who reported it. */
  kind: LinkKind;
  /** What happened, in the caller's words, for the log and notify hooks: `ip-up`, `dhclient BOUND`, `ifup`. */
  reason: string;
  /** The families the event is about (pppd's ip-up: [4]; ipv6-up: [6]; `multiwan link down`: both). */
  families: Family[];
  /** What the caller said of IPv4 (up: its address, peer or gateway; absent fields are read from the interface). */
  v4?: FamilyState;
  v6?: FamilyState;
  /** pppd's ipparam: matched against link names. */
  ipparam?: string;
  /** `multiwan link up NAME`: the link named outright. */
  link?: string;
}
