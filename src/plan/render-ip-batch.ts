/**
 * Owned (current, read back from the kernel) + Owned (desired) -> the text of
 * one `ip -batch -` that turns the first into the second. Pure.
 *
 * Adds come before deletes (tailscale's way): a route is replaced in place,
 * a rule is added before the one it supersedes goes. Objects that are already
 * right are left alone, so a second identical event yields an empty batch.
 * Rolling back is the same function with the arguments the other way round.
 */
import { hex } from './hex.js';
import { PROTO, type Owned, type Route, type Rule } from './types.js';

export function renderIpBatch(current: Owned, desired: Owned): string {
  const currentRoutes = new Set(current.routes.map(renderRoute));
  const currentRules = new Set(current.rules.map(renderRule));
  const desiredRouteKeys = new Set<string>();
  const desiredRules = new Set(desired.rules.map(renderRule));

  const lines: string[] = [];
  for (const route of desired.routes) {
    desiredRouteKeys.add(routeKey(route));
    const text = renderRoute(route);
    if (!currentRoutes.has(text)) lines.push(`route replace ${text}`);
  }
  for (const text of desiredRules) {
    if (!currentRules.has(text)) lines.push(`rule add ${text}`);
  }
  for (const text of currentRules) {
    if (!desiredRules.has(text)) lines.push(`rule del ${text}`);
  }
  for (const route of current.routes) {
    const key = routeKey(route);
    if (!desiredRouteKeys.has(key)) lines.push(`route del ${key}`);
  }
  return lines.length ? lines.join('\n') + '\n' : '';
}

/** What identifies a route to the kernel: destination and table (multiwan sets no metric or tos). */
export function routeKey(route: Route): string {
  return `${route.dst} table ${route.table} proto ${PROTO}`;
}

// Template strings, not arrays joined: a routes_file renders ten thousand of these per event.
export function renderRoute(route: Route): string {
  let text = `${route.dst} table ${route.table} proto ${PROTO}`;
  if (route.nexthops) {
    for (const hop of route.nexthops) text += ` nexthop${hop.via ? ` via ${hop.via}` : ''} dev ${hop.dev} weight ${hop.weight}`;
    return text;
  }
  if (route.via) text += ` via ${route.via}`;
  if (route.dev) text += ` dev ${route.dev}`;
  if (route.scope) text += ` scope ${route.scope}`;
  if (route.src) text += ` src ${route.src}`;
  return text;
}

export function renderRule(rule: Rule): string {
  const parts = ['priority', String(rule.priority)];
  if (rule.from) parts.push('from', rule.from);
  if (rule.to) parts.push('to', rule.to);
  if (rule.fwmark !== undefined) parts.push('fwmark', `${hex(rule.fwmark)}/${hex(rule.fwmask ?? 0xffffffff)}`);
  parts.push('lookup', String(rule.table));
  if (rule.suppressPrefixLength !== undefined) parts.push('suppress_prefixlength', String(rule.suppressPrefixLength));
  parts.push('protocol', String(PROTO));
  return parts.join(' ');
}
