/** A validated config: every address and prefix is canonical text, every number checked. */
export interface LinkConfig {
  /** The key of [link.NAME]. */
  name: string;
  interface: string;
  weight: number;
  /** Backup tier: the balanced default holds the links of the lowest tier that has any in service (default 1). */
  tier: number;
  /** Source NAT to the link's IPv4 address. */
  masquerade: boolean;
  /** Source NAT (NAT66) to the link's IPv6 address; off by default: IPv6 is routed by source prefix. */
  masquerade6: boolean;
  /** IPv6 prefixes delegated to this link statically: `from` rules send their traffic through it. */
  prefixes6: string[];
  /** This ISP's resolvers: reached through this link (`to` rules). */
  dns: string[];
  /** Destinations that always use this link while it is in service (`routes` and `routes_file`). */
  routes: string[];
  /** Pinned id (table = table_base + id, mark = id << shift of mark_mask). */
  id?: number;
  /** Health probes; without them only carrier and address decide. */
  check?: CheckConfig;
  /** Delete the connections pinned to the link when it leaves service (default true). */
  flushConntrack: boolean;
}

/** How the monitor probes a link: one window every intervalMs, `count` probes to each target in it. */
export interface CheckConfig {
  targets: string[];
  method: 'icmp' | 'tcp';
  /** TCP port for method "tcp". */
  port: number;
  intervalMs: number;
  count: number;
  /** Failed windows in a row that take the link out of service. */
  down: number;
  /** Good windows in a row that put it back. */
  up: number;
}

export interface PortRange {
  from: number;
  to: number;
}

/** A [[policy]]: selectors (all given ones must match) and the links to use, first in service wins. */
export interface PolicyConfig {
  name: string;
  src: string[];
  dst: string[];
  /** nft l4proto name (tcp, udp, sctp, icmp, ...) or number; absent: any. */
  protocol?: string;
  srcPort: PortRange[];
  dstPort: PortRange[];
  iif: string[];
  via: string[];
  /** When no link in `via` is in service: the balanced default route, or reject. */
  fallback: 'default' | 'unreachable';
}

export interface Config {
  /** Where it was read from, for messages. */
  file: string;
  lan: string[];
  markMask: number;
  tableBase: number;
  rulePriority: number;
  /** How new connections spread over the balanced links: per connection (hash of the 5-tuple) or per LAN host. */
  balance: 'connection' | 'source';
  /** In file order. */
  links: LinkConfig[];
  /** In file order: the first that matches a new connection decides. */
  policies: PolicyConfig[];
  /** Files the config read besides itself (@lists, routes_file), for the cache. */
  files: string[];
}
