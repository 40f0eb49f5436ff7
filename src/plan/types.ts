/** The desired kernel state, computed purely from (Config, LinkStates, LinkIds). */
import type { PortRange } from '../config/types.js';

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
  /** `default`, or canonical prefix text (a host without /32). */
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

/** A link in service, as the nft ruleset needs it. */
export interface NftLink {
  name: string;
  iface: string;
  mark: number;
  masquerade: boolean;
  /** The monitor's probes (its address to its check targets): never moved by a policy. */
  probes?: { local: string; targets: string[] };
}

export interface NftPolicy {
  name: string;
  src4: string[];
  src6: string[];
  dst4: string[];
  dst6: string[];
  protocol?: string;
  srcPort: PortRange[];
  dstPort: PortRange[];
  iif: string[];
  /** The first link of `via` in service, or the fallback when none is. */
  action: { kind: 'link'; link: string; mark: number } | { kind: 'default' } | { kind: 'unreachable' };
}

export interface NftPlan {
  mask: number;
  links: NftLink[];
  lan4: string[];
  lan6: string[];
  policies: NftPolicy[];
}

export interface Sysctl {
  /** Path under /proc/sys, as segments (interface names may contain dots). */
  path: string[];
  value: string;
}

export interface Plan {
  ip4: Owned;
  nft: NftPlan;
  sysctls: Sysctl[];
  /** Names of the links new traffic may use, in config order. */
  inService: string[];
}

export interface LinkNumbers {
  id: number;
  table: number;
  mark: number;
}
