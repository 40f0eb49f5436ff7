/** The desired kernel state, computed purely from (Config, LinkStates, LinkIds). */
import type { PortRange } from '../config/types.js';
import type { Family } from '../net/address.js';

/** Routing protocol id of every route and rule multiwan owns (rt_protos.d/multiwan.conf). */
export const PROTO = 242;
export const PROTO_NAME = 'multiwan';

export interface Nexthop {
  dev: string;
  via?: string;
  weight: number;
}

export interface Route {
  table: number;
  /** `default`, or canonical prefix text (a host without /32 or /128). */
  dst: string;
  dev?: string;
  via?: string;
  src?: string;
  scope?: 'link';
  nexthops?: Nexthop[];
}

export interface Rule {
  priority: number;
  from?: string;
  to?: string;
  fwmark?: number;
  fwmask?: number;
  table: number;
  suppressPrefixLength?: number;
}

/** The routing objects multiwan owns in one family. */
export interface Owned {
  routes: Route[];
  rules: Rule[];
}

export type PerFamily<T> = Record<Family, T>;

/** A link that is up, as the nft ruleset needs it. */
export interface NftLink {
  name: string;
  iface: string;
  mark: number;
  /** Source NAT in each family (IPv4: `masquerade`, IPv6: `masquerade6`, each while the link is up in it). */
  masquerade: PerFamily<boolean>;
}

/** The monitor's probes of one link in one family: its address to its check targets. Never moved by a policy. */
export interface ProbePairs {
  link: string;
  family: Family;
  local: string;
  targets: string[];
}

export interface NftPolicy {
  name: string;
  src: PerFamily<string[]>;
  dst: PerFamily<string[]>;
  /** Canonical protocol name (tcp, udp, icmp, icmpv6, ...) or number. */
  protocol?: string;
  srcPort: PortRange[];
  dstPort: PortRange[];
  iif: string[];
  /** The first link of `via` in service, or the fallback when none is. */
  action: { kind: 'link'; link: string; mark: number } | { kind: 'default' } | { kind: 'unreachable' };
}

/**
 * One decision a new connection meets, in the order it meets them: first in
 * nft (lan, the monitor's probes, policies), then in the routing rules (main's
 * specific routes, marks, sources, DNS servers, the balance table). The
 * renderers turn the list into nft rules and ip rules; `explain` walks the same
 * list with one packet, so the two cannot drift.
 */
export type Step =
  | { kind: 'lan'; prefixes: PerFamily<string[]> }
  | { kind: 'probes'; pairs: ProbePairs[] }
  | { kind: 'policy'; policy: NftPolicy }
  | { kind: 'main'; families: Family[]; priority: number }
  | { kind: 'mark'; link: string; families: Family[]; mark: number; mask: number; table: number; priority: number }
  | { kind: 'source'; link: string; family: Family; from: string[]; table: number; priority: number }
  | { kind: 'dns'; link: string; family: Family; servers: string[]; table: number; priority: number }
  | { kind: 'balance'; family: Family; table: number; priority: number; routes: { prefix: string; link: string }[]; links: BalancedLink[] };

export interface BalancedLink {
  link: string;
  iface: string;
  weight: number;
  tier: number;
  mark: number;
}

export interface NftPlan {
  mask: number;
  /** Every link that is up: marking, restoring and masquerade. */
  links: NftLink[];
  /** The decisions nft takes: lan, probes, policies (in order), and the IPv6 source steps for the router's own traffic. */
  steps: Step[];
  /** `balance = "source"`: which link each bucket of the LAN hosts' hash goes to, per family (empty: per connection). */
  sourceBuckets: PerFamily<number[]>;
}

export interface Sysctl {
  /** Path under /proc/sys, as segments (interface names may contain dots). */
  path: string[];
  value: string;
}

export interface Plan {
  ip: PerFamily<Owned>;
  nft: NftPlan;
  sysctls: Sysctl[];
  /** The decisions, in the order a new connection meets them (see Step). */
  steps: Step[];
  /** Names of the links that are up and in service, in config order. */
  inService: string[];
}

export interface LinkNumbers {
  id: number;
  table: number;
  mark: number;
}
