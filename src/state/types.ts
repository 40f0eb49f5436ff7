import type { Family } from '../net/address.js';

/** What a link has in one address family while it is up in that family. */
export interface FamilyState {
  /** IPv4: the link's address (always known). IPv6: its global address, when it has one (pppd's IPv6CP gives only link-locals). */
  local?: string;
  /** Point-to-point peer (pppd): the IPv4 peer address, or the peer's IPv6 link-local. */
  peer?: string;
  /** Next hop on a shared medium: the DHCP router, a static gateway, the IPv6 router's link-local. */
  gateway?: string;
  /** IPv6 prefixes delegated to this link by DHCPv6-PD (the config's `prefixes6` are added by the planner). */
  prefixes?: string[];
}

/** Who reported the link: shown by `status`. */
export type LinkKind = 'ppp' | 'dhcp' | 'static' | 'manual';

/**
 * What multiwan remembers about a link between events (/run/multiwan/link-NAME.json).
 * A cache of the kernel: every event checks it against the live interfaces first.
 * The link is up while it is up in either family.
 */
export interface LinkState {
  link: string;
  /** The interface it is on now (pppd may give it another unit than the config names). */
  iface: string;
  /** That interface's ifindex when the link came up: another one means a new interface of the same name. */
  ifindex?: number;
  kind?: LinkKind;
  /** Present while the link is up in IPv4; `local` is its address. */
  v4?: FamilyState & { local: string };
  /** Present while the link is up in IPv6. */
  v6?: FamilyState;
  /**
   * What an IPv6 event reported (a DHCPv6 lease, a delegated prefix) while no
   * router was known yet: kept, not routed, until an event brings the router.
   */
  pending6?: FamilyState;
  /** ISO time the link last came up or went down. */
  since: string;
  /** The monitor's verdict: false takes an up link out of service (absent: healthy). */
  healthy?: boolean;
  /** Why it is out of service: "probes" (targets unanswered), "carrier", "address". */
  healthReason?: string;
  /** ISO time of the last change of `healthy`. */
  healthSince?: string;
}

export type LinkStates = Readonly<Record<string, LinkState>>;

/** Stable numbers: link name -> id (table = table_base + id, mark = id << shift). */
export type LinkIds = Readonly<Record<string, number>>;

export function isUp(state: LinkState | undefined): state is LinkState {
  return !!state && (state.v4 !== undefined || state.v6 !== undefined);
}

export function familyState(state: LinkState | undefined, family: Family): FamilyState | undefined {
  return family === 4 ? state?.v4 : state?.v6;
}

/** The families a link is up in. */
export function upFamilies(state: LinkState | undefined): Family[] {
  return ([4, 6] as const).filter((f) => familyState(state, f) !== undefined);
}
