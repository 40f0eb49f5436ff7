/**
 * `ip -j rule show` and `ip -j route show table all proto multiwan` output ->
 * the Owned objects multiwan finds again by its protocol id. Pure.
 */
import { parsePrefix } from '../net/address.js';
import { PROTO, PROTO_NAME, type Nexthop, type Owned, type Route, type Rule } from './types.js';

const tableNumbers: Record<string, number> = { default: 253, main: 254, local: 255 };

/** A rule as `ip -j rule show` prints it. */
export interface JsonRule {
  priority?: number;
  src?: string;
  srclen?: number;
  dst?: string;
  dstlen?: number;
  fwmark?: string;
  fwmask?: string;
  table?: string;
  suppress_prefixlen?: number;
  protocol?: string;
  /** iproute2 prints `"not": null` for a negated rule. */
  not?: null | boolean;
}

interface JsonNexthop {
  dev?: string;
  gateway?: string;
  weight?: number;
}

interface JsonRoute {
  type?: string;
  dst?: string;
  dev?: string;
  gateway?: string;
  prefsrc?: string;
  scope?: string;
  table?: string;
  protocol?: string;
  nexthops?: JsonNexthop[];
}

/** Splits the concatenated JSON documents of `ip -j -batch -` (one per command). */
export function splitJsonDocuments(text: string): unknown[] {
  const docs: unknown[] = [];
  let depth = 0;
  let start = -1;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
      continue;
    }
    if (c === '"') inString = true;
    else if (c === '[' || c === '{') {
      if (depth++ === 0) start = i;
    } else if (c === ']' || c === '}') {
      if (--depth === 0) docs.push(JSON.parse(text.slice(start, i + 1)));
    }
  }
  return docs;
}

export function isOwnedProtocol(protocol: string | undefined): boolean {
  return protocol === String(PROTO) || protocol === PROTO_NAME;
}

export function parseOwned(rulesJson: unknown, routesJson: unknown, family: 4 | 6 = 4): Owned {
  const rules = (Array.isArray(rulesJson) ? (rulesJson as JsonRule[]) : [])
    .filter((r) => isOwnedProtocol(r.protocol))
    .map(ruleFromJson);
  const routes = (Array.isArray(routesJson) ? (routesJson as JsonRoute[]) : [])
    .filter((r) => r.protocol === undefined || isOwnedProtocol(r.protocol))
    .filter((r) => r.type === undefined || r.type === 'unicast')
    .map((r) => routeFromJson(r, family));
  return { rules, routes };
}

function ruleFromJson(json: JsonRule): Rule {
  const rule: Rule = { priority: json.priority ?? 0, table: tableNumber(json.table) };
  const from = selector(json.src, json.srclen);
  const to = selector(json.dst, json.dstlen);
  if (from) rule.from = from;
  if (to) rule.to = to;
  if (json.fwmark !== undefined) {
    rule.fwmark = Number(json.fwmark);
    rule.fwmask = json.fwmask !== undefined ? Number(json.fwmask) : 0xffffffff;
  }
  if (json.suppress_prefixlen !== undefined) rule.suppressPrefixLength = json.suppress_prefixlen;
  return rule;
}

function routeFromJson(json: JsonRoute, family: 4 | 6): Route {
  const route: Route = { table: tableNumber(json.table), dst: canonicalDst(json.dst, family) };
  if (json.nexthops?.length) {
    route.nexthops = json.nexthops.map((hop): Nexthop => ({
      dev: hop.dev ?? '',
      ...(hop.gateway ? { via: hop.gateway } : {}),
      weight: hop.weight ?? 1,
    }));
    return route;
  }
  if (json.gateway) route.via = json.gateway;
  if (json.dev) route.dev = json.dev;
  if (json.scope === 'link') route.scope = 'link';
  if (json.prefsrc) route.src = json.prefsrc;
  return route;
}

function selector(address: string | undefined, length: number | undefined): string | undefined {
  if (!address || address === 'all') return undefined;
  const parsed = parsePrefix(length === undefined ? address : `${address}/${length}`);
  return typeof parsed === 'string' ? address : parsed.text;
}

function canonicalDst(dst: string | undefined, family: 4 | 6): string {
  if (!dst || dst === 'default') return 'default';
  // iproute2 prints IPv4 destinations canonically already (network address,
  // no /32 on hosts): with ten thousand routes, parsing them again is most of
  // a hook's own time.
  if (family === 4 && /^\d+\.\d+\.\d+\.\d+(\/([1-9]|[12]\d|3[01]))?$/.test(dst)) return dst;
  const parsed = parsePrefix(dst);
  if (typeof parsed === 'string') return dst;
  if (parsed.length === 0 && parsed.family === family) return 'default';
  return parsed.text;
}

function tableNumber(table: string | undefined): number {
  if (table === undefined) return 254;
  return tableNumbers[table] ?? Number(table);
}
