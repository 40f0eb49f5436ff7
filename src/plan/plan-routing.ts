/**
 * The planner: (Config, LinkStates, LinkIds) -> Plan. Pure: no I/O, no clock.
 * It computes the whole desired state; apply replaces what multiwan owns with it.
 *
 * Rule layout (P = rule_priority):
 *   P       lookup main suppress_prefixlength 0   main's specific routes (LAN, connected) win, its default does not
 *   P+100   from <link address> lookup <link>     the router's own traffic from a link's address leaves by it
 *   P+200   fwmark <mark>/<mask> lookup <link>    pinned connections stay on their link
 *   P+300   to <dns server> lookup <link>         each ISP's resolvers through that ISP
 *   P+400   lookup <table_base>                   the balance table: per-link destination routes and
 *                                                 the weighted multipath default over the links in service
 * A default route the admin keeps in main is looked up after all of these, as the fallback.
 */
import type { Config, LinkConfig } from '../config/types.js';
import { parsePrefix } from '../net/address.js';
import type { LinkIds, LinkState, LinkStates } from '../state/types.js';
import { linkNumbers } from './assign-ids.js';
import type { NftLink, Plan, Route, Rule, Sysctl } from './types.js';

export const ruleOffsets = { main: 0, from: 100, fwmark: 200, dns: 300, balance: 400 } as const;

interface ActiveLink {
  config: LinkConfig;
  state: LinkState & { local: string };
  table: number;
  mark: number;
}

export function planRouting(config: Config, states: LinkStates, ids: LinkIds): Plan {
  const active = activeLinks(config, states, ids);
  if (active.length === 0) {
    return { ip4: { routes: [], rules: [] }, nft: { mask: config.markMask, links: [], lan4: [], lan6: [] }, sysctls: [] };
  }
  const P = config.rulePriority;
  const routes: Route[] = [];
  const rules: Rule[] = [{ priority: P + ruleOffsets.main, table: 254, suppressPrefixLength: 0 }];

  for (const link of active) {
    routes.push(...linkTableRoutes(link));
    rules.push({ priority: P + ruleOffsets.from, from: link.state.local, table: link.table });
    rules.push({ priority: P + ruleOffsets.fwmark, fwmark: link.mark, fwmask: config.markMask, table: link.table });
    for (const server of link.config.dns) {
      if (!server.includes(':')) rules.push({ priority: P + ruleOffsets.dns, to: server, table: link.table });
    }
  }

  const balance = config.tableBase;
  for (const link of active) {
    for (const prefix of link.config.routes) {
      if (!prefix.includes(':')) routes.push({ table: balance, dst: prefix, ...exitVia(link) });
    }
  }
  routes.push(balancedDefault(balance, active));
  rules.push({ priority: P + ruleOffsets.balance, table: balance });

  return {
    ip4: { routes, rules },
    nft: {
      mask: config.markMask,
      links: active.map((link): NftLink => ({
        name: link.config.name,
        iface: link.state.iface,
        mark: link.mark,
        masquerade: link.config.masquerade,
      })),
      lan4: config.lan.filter((p) => !p.includes(':')),
      lan6: config.lan.filter((p) => p.includes(':')),
    },
    sysctls: sysctlsFor(active),
  };
}

/** Links that are up with a known address, in config order. */
function activeLinks(config: Config, states: LinkStates, ids: LinkIds): ActiveLink[] {
  const active: ActiveLink[] = [];
  for (const link of config.links) {
    const state = states[link.name];
    const id = ids[link.name];
    if (!state?.up || !state.local || id === undefined) continue;
    const { table, mark } = linkNumbers(config, id);
    active.push({ config: link, state: state as ActiveLink['state'], table, mark });
  }
  return active;
}

/** The link's own table: its default route and its connected route. */
function linkTableRoutes(link: ActiveLink): Route[] {
  const { iface, local, peer, gateway } = link.state;
  const routes: Route[] = [{ table: link.table, dst: 'default', ...exitVia(link), src: local }];
  const onLink = peer ?? gateway;
  if (onLink) {
    const host = parsePrefix(onLink);
    if (typeof host !== 'string') routes.push({ table: link.table, dst: host.text, dev: iface, scope: 'link', src: local });
  }
  return routes;
}

function exitVia(link: ActiveLink): Pick<Route, 'dev' | 'via' | 'scope'> {
  const { iface, gateway } = link.state;
  return gateway ? { via: gateway, dev: iface } : { dev: iface, scope: 'link' };
}

function balancedDefault(table: number, active: ActiveLink[]): Route {
  if (active.length === 1) return { table, dst: 'default', ...exitVia(active[0]!) };
  return {
    table,
    dst: 'default',
    nexthops: active.map((link) => ({
      dev: link.state.iface,
      ...(link.state.gateway ? { via: link.state.gateway } : {}),
      weight: link.config.weight,
    })),
  };
}

/** Forwarding on, per-connection multipath hashing, loose reverse-path filter and marks in it on WAN links. */
function sysctlsFor(active: ActiveLink[]): Sysctl[] {
  const sysctls: Sysctl[] = [
    { path: ['net', 'ipv4', 'ip_forward'], value: '1' },
    { path: ['net', 'ipv4', 'fib_multipath_hash_policy'], value: '1' },
  ];
  for (const link of active) {
    sysctls.push({ path: ['net', 'ipv4', 'conf', link.state.iface, 'rp_filter'], value: '2' });
    sysctls.push({ path: ['net', 'ipv4', 'conf', link.state.iface, 'src_valid_mark'], value: '1' });
  }
  return sysctls;
}
