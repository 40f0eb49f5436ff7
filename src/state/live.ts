/**
 * The interfaces as the kernel has them now, read in the same round as
 * multiwan's own routes and rules: the truth the recorded link states are
 * checked against. Parsing is pure.
 */
import { parseAddress, type Family } from '../net/address.js';

export interface LiveAddress {
  family: Family;
  /** Canonical address. */
  local: string;
  /** The peer of a point-to-point address. */
  peer?: string;
  prefixLength: number;
  scope: 'global' | 'link' | 'host' | 'other';
}

export interface LiveInterface {
  name: string;
  /** The kernel's ifindex: a new interface of the same name (pppd restarted) has another one. */
  index?: number;
  /** Administratively up (the UP flag). */
  up: boolean;
  /** No neighbours to resolve (POINTOPOINT or NOARP): a route needs no next hop. */
  pointToPoint: boolean;
  carrier: boolean;
  addresses: LiveAddress[];
  /** IPv6 routers main's default routes go through on this interface (learned from router advertisements). */
  routers6: string[];
}

export type LiveInterfaces = ReadonlyMap<string, LiveInterface>;

interface JsonLink {
  ifindex?: number;
  ifname?: string;
  flags?: string[];
  operstate?: string;
  addr_info?: JsonAddr[];
}

interface JsonAddr {
  family?: string;
  local?: string;
  address?: string;
  prefixlen?: number;
  scope?: string;
}

/**
 * `ip -j link show`, `ip -j addr show` of either family, and `ip -6 -j route
 * show table main default` -> interfaces by name.
 */
export function parseInterfaces(links: unknown, addressDocs: unknown[], defaults6?: unknown): Map<string, LiveInterface> {
  const result = new Map<string, LiveInterface>();
  for (const link of asArray<JsonLink>(links)) {
    if (!link.ifname) continue;
    const flags = link.flags ?? [];
    result.set(link.ifname, {
      name: link.ifname,
      ...(typeof link.ifindex === 'number' ? { index: link.ifindex } : {}),
      up: flags.includes('UP'),
      pointToPoint: flags.includes('POINTOPOINT') || flags.includes('NOARP'),
      carrier: flags.includes('UP') && !flags.includes('NO-CARRIER') && link.operstate !== 'LOWERLAYERDOWN' && link.operstate !== 'DOWN',
      addresses: [],
      routers6: [],
    });
  }
  for (const doc of addressDocs) {
    for (const entry of asArray<JsonLink>(doc)) {
      const iface = entry.ifname ? result.get(entry.ifname) : undefined;
      if (!iface) continue;
      for (const addr of entry.addr_info ?? []) {
        const local = addr.local ? parseAddress(addr.local) : undefined;
        if (!local || (addr.family !== 'inet' && addr.family !== 'inet6')) continue;
        const peer = addr.address ? parseAddress(addr.address)?.address : undefined;
        const scope = addr.scope === 'global' || addr.scope === 'link' || addr.scope === 'host' ? addr.scope : 'other';
        if (iface.addresses.some((a) => a.local === local.address)) continue;
        iface.addresses.push({
          family: local.family,
          local: local.address,
          ...(peer && peer !== local.address ? { peer } : {}),
          prefixLength: addr.prefixlen ?? (local.family === 4 ? 32 : 128),
          scope,
        });
      }
    }
  }
  for (const route of asArray<{ dst?: string; gateway?: string; dev?: string; nexthops?: { gateway?: string; dev?: string }[] }>(defaults6)) {
    for (const hop of route.nexthops ?? [route]) {
      const gateway = hop.gateway ? parseAddress(hop.gateway) : undefined;
      const iface = hop.dev ? result.get(hop.dev) : undefined;
      if (route.dst === 'default' && gateway?.family === 6 && iface && !iface.routers6.includes(gateway.address)) iface.routers6.push(gateway.address);
    }
  }
  return result;
}

/** The addresses of one family an interface holds, global ones first. */
export function liveAddresses(iface: LiveInterface | undefined, family: Family, scope: LiveAddress['scope'] = 'global'): LiveAddress[] {
  return (iface?.addresses ?? []).filter((a) => a.family === family && a.scope === scope);
}

export function holds(iface: LiveInterface | undefined, address: string): boolean {
  return !!iface?.addresses.some((a) => a.local === address);
}

/**
 * The interfaces whose existence, index, flags or addresses differ between
 * two reads, by name (one that appeared or vanished included).
 */
export function changedInterfaces(before: LiveInterfaces, after: LiveInterfaces): string[] {
  const key = (i: LiveInterface | undefined) => (i ? JSON.stringify([i.index, i.up, i.carrier, i.pointToPoint, i.addresses]) : 'absent');
  const names = [...new Set([...before.keys(), ...after.keys()])];
  return names.filter((name) => key(before.get(name)) !== key(after.get(name))).sort();
}

function asArray<T>(value: unknown): T[] {
  return Array.isArray(value) ? (value as T[]) : [];
}
