/**
 * The planner: (Config, LinkStates, LinkIds) -> Plan. Pure: no I/O, no clock.
 * It computes the whole desired state; apply replaces what multiwan owns with it.
 *
 * Rule layout (P = rule_priority):
 *   P       lookup main suppress_prefixlength 0   main's specific routes (LAN, connected) win, its default does not
 *   P+100   fwmark <mark>/<mask> lookup <link>    pinned and policy-marked connections take their link
 *   P+200   from <link address> lookup <link>     the router's own unmarked traffic from a link's address leaves by it
 *   P+300   to <dns server> lookup <link>         each ISP's resolvers through that ISP
 *   P+400   lookup <table_base>                   the balance table: per-link destination routes and
 *                                                 the weighted multipath default over the links in service
 * A default route the admin keeps in main is looked up after all of these, as the fallback.
 *
 * fwmark comes before from: the router's own unbound connections get their
 * source from the balanced route before any mark exists, and a policy that
 * marks them for another link must win over that source (the link's
 * masquerade rewrites it). Replies from a link's address carry that link's
 * mark anyway (inbound pinning), and the monitor's probes are kept out of the
 * policies in nft, so they always leave by the link they test.
 *
 * A link that is up but out of service (the monitor found it dead) keeps its
 * table and its `from` rule, so probes bound to its address still go out
 * through it, and its nft marks and masquerade; it leaves the balanced
 * default, its destination routes, its DNS rules and its fwmark rule, so no
 * new traffic is sent to it.
 */
import type { Config, LinkConfig, PolicyConfig } from '../config/types.js';
import { parsePrefix } from '../net/address.js';
import type { LinkIds, LinkState, LinkStates } from '../state/types.js';
import { linkNumbers } from './assign-ids.js';
import type { NftLink, NftPlan, NftPolicy, Plan, Route, Rule, Sysctl } from './types.js';

export const ruleOffsets = { main: 0, fwmark: 100, from: 200, dns: 300, balance: 400 } as const;

interface ActiveLink {
  config: LinkConfig;
  state: LinkState & { local: string };
  table: number;
  mark: number;
  inService: boolean;
}

export function planRouting(config: Config, states: LinkStates, ids: LinkIds): Plan {
  const up = upLinks(config, states, ids);
  const active = up.filter((link) => link.inService);
  if (up.length === 0) {
    return { ip4: { routes: [], rules: [] }, nft: nftFor(config, [], []), sysctls: [], inService: [] };
  }
  const P = config.rulePriority;
  const routes: Route[] = [];
  const rules: Rule[] = [{ priority: P + ruleOffsets.main, table: 254, suppressPrefixLength: 0 }];

  for (const link of up) {
    routes.push(...linkTableRoutes(link));
    rules.push({ priority: P + ruleOffsets.from, from: link.state.local, table: link.table });
    if (!link.inService) continue;
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
  if (active.length) routes.push(balancedDefault(balance, active));
  rules.push({ priority: P + ruleOffsets.balance, table: balance });

  return {
    ip4: { routes, rules },
    nft: nftFor(config, up, active),
    sysctls: sysctlsFor(up),
    inService: active.map((link) => link.config.name),
  };
}

/** The nft half of planRouting alone: cheap even when links carry thousands of routes. */
export function planNft(config: Config, states: LinkStates, ids: LinkIds): NftPlan {
  const up = upLinks(config, states, ids);
  return nftFor(config, up, up.filter((link) => link.inService));
}

function nftFor(config: Config, up: ActiveLink[], active: ActiveLink[]): NftPlan {
  if (up.length === 0) return { mask: config.markMask, links: [], lan4: [], lan6: [], policies: [] };
  return {
    mask: config.markMask,
    links: up.map((link): NftLink => ({
      name: link.config.name,
      iface: link.state.iface,
      mark: link.mark,
      masquerade: link.config.masquerade,
      ...(link.config.check ? { probes: { local: link.state.local, targets: link.config.check.targets } } : {}),
    })),
    lan4: config.lan.filter((p) => !p.includes(':')),
    lan6: config.lan.filter((p) => p.includes(':')),
    policies: config.policies.map((policy) => planPolicy(policy, active)),
  };
}

/** A policy's decision for the links in service now: the first of `via`, else its fallback. */
export function choosePolicyLink(policy: PolicyConfig, inService: readonly string[]): string | undefined {
  return policy.via.find((name) => inService.includes(name));
}

function planPolicy(policy: PolicyConfig, active: ActiveLink[]): NftPolicy {
  const chosen = choosePolicyLink(policy, active.map((l) => l.config.name));
  const link = active.find((l) => l.config.name === chosen);
  const v4 = (list: string[]) => list.filter((p) => !p.includes(':'));
  const v6 = (list: string[]) => list.filter((p) => p.includes(':'));
  return {
    name: policy.name,
    src4: v4(policy.src),
    src6: v6(policy.src),
    dst4: v4(policy.dst),
    dst6: v6(policy.dst),
    ...(policy.protocol ? { protocol: policy.protocol } : {}),
    srcPort: policy.srcPort,
    dstPort: policy.dstPort,
    iif: policy.iif,
    action: link ? { kind: 'link', link: link.config.name, mark: link.mark } : { kind: policy.fallback },
  };
}

/** Links that are up with a known address, in config order, each marked in or out of service. */
function upLinks(config: Config, states: LinkStates, ids: LinkIds): ActiveLink[] {
  const active: ActiveLink[] = [];
  for (const link of config.links) {
    const state = states[link.name];
    const id = ids[link.name];
    if (!state?.up || !state.local || id === undefined) continue;
    const { table, mark } = linkNumbers(config, id);
    active.push({ config: link, state: state as ActiveLink['state'], table, mark, inService: state.healthy !== false });
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
