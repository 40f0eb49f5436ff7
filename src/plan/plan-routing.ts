/**
 * The planner: (Config, LinkStates, LinkIds) -> Plan. Pure: no I/O, no clock.
 * It computes the whole desired state, both families; apply replaces what
 * multiwan owns with it.
 *
 * First the decisions (Step, in the order a new connection meets them), then
 * the routes and rules of each family derived from them. Rule layout
 * (P = rule_priority), the same in IPv4 and IPv6:
 *   P       lookup main suppress_prefixlength 0   main's specific routes (LAN, connected) win, its default does not
 *   P+100   fwmark <mark>/<mask> lookup <link>    pinned and policy-marked connections take their link
 *   P+200   from <link address> lookup <link>     the router's own unmarked traffic from a link's address leaves by it;
 *           from <delegated prefix> lookup <link> IPv6: a LAN source from a link's prefix leaves by that link (RFC 8678)
 *   P+300   to <dns server> lookup <link>         each ISP's resolvers through that ISP
 *   P+400   lookup <table_base>                   the balance table: per-link destination routes and
 *                                                 the weighted multipath default over the balanced links
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
 * table and its `from` rules, so probes bound to its address still go out
 * through it, and its nft marks and masquerade; it leaves the balanced
 * default, its destination routes, its DNS rules and its fwmark rule, so no
 * new traffic is sent to it.
 *
 * Tiers: the balanced default of a family holds the in-service links of the
 * lowest tier that has any in that family. Policies, destination routes and
 * DNS rules ignore tiers.
 */
import type { Config, LinkConfig, PolicyConfig } from '../config/types.js';
import { parsePrefix, type Family } from '../net/address.js';
import { familyState, isUp, type FamilyState, type LinkIds, type LinkState, type LinkStates } from '../state/types.js';
import { linkNumbers } from './assign-ids.js';
import { planSourceBuckets } from './source-buckets.js';
import type { BalancedLink, NftLink, NftPlan, NftPolicy, Owned, PerFamily, Plan, ProbePairs, Route, Rule, Step, Sysctl } from './types.js';

export const ruleOffsets = { main: 0, fwmark: 100, from: 200, dns: 300, balance: 400 } as const;

export const FAMILIES = [4, 6] as const;

/** A link that is up, with its numbers. */
interface UpLink {
  config: LinkConfig;
  state: LinkState;
  table: number;
  mark: number;
  inService: boolean;
}

export function planRouting(config: Config, states: LinkStates, ids: LinkIds): Plan {
  const up = upLinks(config, states, ids);
  const steps = planSteps(config, up);
  return {
    ip: { 4: ownedFor(up, steps, 4), 6: ownedFor(up, steps, 6) },
    nft: nftFor(config, up, steps),
    sysctls: sysctlsFor(up),
    steps,
    inService: up.filter((l) => l.inService).map((l) => l.config.name),
  };
}

/** The decisions, in the order a new connection meets them. */
function planSteps(config: Config, up: UpLink[], options: { routes: boolean } = { routes: true }): Step[] {
  if (up.length === 0) return [];
  const P = config.rulePriority;
  const inService = up.filter((l) => l.inService);
  const steps: Step[] = [];
  const lan = { 4: config.lan.filter((p) => !p.includes(':')), 6: config.lan.filter((p) => p.includes(':')) };
  if (lan[4].length + lan[6].length) steps.push({ kind: 'lan', prefixes: lan });
  const pairs = up.flatMap((l) => probePairs(l));
  if (pairs.length && config.policies.length) steps.push({ kind: 'probes', pairs });
  for (const policy of config.policies) steps.push({ kind: 'policy', policy: planPolicy(policy, inService) });

  const families = FAMILIES.filter((f) => up.some((l) => fam(l, f)));
  steps.push({ kind: 'main', families, priority: P + ruleOffsets.main });
  for (const link of inService) {
    const linkFamilies = FAMILIES.filter((f) => fam(link, f));
    steps.push({ kind: 'mark', link: link.config.name, families: linkFamilies, mark: link.mark, mask: config.markMask, table: link.table, priority: P + ruleOffsets.fwmark });
  }
  for (const family of families) {
    for (const link of up) {
      const from = sourcesOf(link, family);
      if (from.length) steps.push({ kind: 'source', link: link.config.name, family, from, table: link.table, priority: P + ruleOffsets.from });
    }
    for (const link of inService) {
      const servers = fam(link, family) ? link.config.dns.filter((s) => s.includes(':') === (family === 6)) : [];
      if (servers.length) steps.push({ kind: 'dns', link: link.config.name, family, servers, table: link.table, priority: P + ruleOffsets.dns });
    }
    const carriers = inService.filter((l) => fam(l, family));
    const routes = options.routes
      ? carriers.flatMap((l) => l.config.routes.filter((p) => p.includes(':') === (family === 6)).map((prefix) => ({ prefix, link: l.config.name })))
      : [];
    steps.push({ kind: 'balance', family, table: config.tableBase, priority: P + ruleOffsets.balance, routes, links: balancedLinks(carriers) });
  }
  return steps;
}

/** The in-service links of the lowest tier that has any (in one family). */
function balancedLinks(carriers: UpLink[]): BalancedLink[] {
  if (!carriers.length) return [];
  const tier = Math.min(...carriers.map((l) => l.config.tier));
  return carriers
    .filter((l) => l.config.tier === tier)
    .map((l) => ({ link: l.config.name, iface: l.state.iface, weight: l.config.weight, tier, mark: l.mark }));
}

/** `from` selectors of a link in one family: its address, and in IPv6 its delegated prefixes. */
function sourcesOf(link: UpLink, family: Family): string[] {
  const fs = fam(link, family);
  if (!fs) return [];
  const from = fs.local ? [fs.local] : [];
  if (family === 6) {
    for (const prefix of [...link.config.prefixes6, ...(fs.prefixes ?? [])]) if (!from.includes(prefix)) from.push(prefix);
  }
  return from;
}

function probePairs(link: UpLink): ProbePairs[] {
  const check = link.config.check;
  if (!check) return [];
  return FAMILIES.flatMap((family) => {
    const local = fam(link, family)?.local;
    const targets = check.targets.filter((t) => t.includes(':') === (family === 6));
    return local && targets.length ? [{ link: link.config.name, family, local, targets }] : [];
  });
}

function ownedFor(up: UpLink[], steps: Step[], family: Family): Owned {
  const routes: Route[] = [];
  const rules: Rule[] = [];
  for (const link of up) routes.push(...linkTableRoutes(link, family));
  for (const step of steps) {
    switch (step.kind) {
      case 'main':
        if (step.families.includes(family)) rules.push({ priority: step.priority, table: 254, suppressPrefixLength: 0 });
        break;
      case 'mark':
        if (step.families.includes(family)) rules.push({ priority: step.priority, fwmark: step.mark, fwmask: step.mask, table: step.table });
        break;
      case 'source':
        if (step.family === family) for (const from of step.from) rules.push({ priority: step.priority, from, table: step.table });
        break;
      case 'dns':
        if (step.family === family) for (const to of step.servers) rules.push({ priority: step.priority, to, table: step.table });
        break;
      case 'balance': {
        if (step.family !== family) break;
        const byName = new Map(up.map((l) => [l.config.name, l]));
        for (const { prefix, link } of step.routes) routes.push({ table: step.table, dst: prefix, ...exitVia(byName.get(link)!, family) });
        if (step.links.length) routes.push(balancedDefault(step.table, step.links.map((b) => byName.get(b.link)!), family));
        rules.push({ priority: step.priority, table: step.table });
        break;
      }
      default:
        break;
    }
  }
  return { routes, rules };
}

function nftFor(config: Config, up: UpLink[], steps: Step[]): NftPlan {
  const balance = steps.filter((s): s is Extract<Step, { kind: 'balance' }> => s.kind === 'balance');
  const buckets = (family: Family) => {
    if (config.balance !== 'source') return [];
    const step = balance.find((s) => s.family === family);
    return step ? planSourceBuckets(step.links) : [];
  };
  return {
    mask: config.markMask,
    links: up.map((link): NftLink => ({
      name: link.config.name,
      iface: link.state.iface,
      mark: link.mark,
      masquerade: { 4: link.config.masquerade && !!link.state.v4, 6: link.config.masquerade6 && !!link.state.v6 },
    })),
    // IPv6 source steps too: the router's own new IPv6 connections get their source address after
    // routing chose a link, so nft re-routes them by it (see render-nft.ts).
    steps: steps.filter((s) => s.kind === 'lan' || s.kind === 'probes' || s.kind === 'policy' || (s.kind === 'source' && s.family === 6)),
    sourceBuckets: { 4: buckets(4), 6: buckets(6) },
  };
}

/** A policy's decision for the links in service now: the first of `via`, else its fallback. */
export function choosePolicyLink(policy: PolicyConfig, inService: readonly string[]): string | undefined {
  return policy.via.find((name) => inService.includes(name));
}

function planPolicy(policy: PolicyConfig, inService: UpLink[]): NftPolicy {
  const chosen = choosePolicyLink(policy, inService.map((l) => l.config.name));
  const link = inService.find((l) => l.config.name === chosen);
  const split = (list: string[]): PerFamily<string[]> => ({ 4: list.filter((p) => !p.includes(':')), 6: list.filter((p) => p.includes(':')) });
  return {
    name: policy.name,
    src: split(policy.src),
    dst: split(policy.dst),
    ...(policy.protocol ? { protocol: policy.protocol } : {}),
    srcPort: policy.srcPort,
    dstPort: policy.dstPort,
    iif: policy.iif,
    action: link ? { kind: 'link', link: link.config.name, mark: link.mark } : { kind: policy.fallback },
  };
}

/** Links that are up, in config order, each marked in or out of service. */
function upLinks(config: Config, states: LinkStates, ids: LinkIds): UpLink[] {
  const up: UpLink[] = [];
  for (const link of config.links) {
    const state = states[link.name];
    const id = ids[link.name];
    if (!isUp(state) || id === undefined) continue;
    const { table, mark } = linkNumbers(config, id);
    up.push({ config: link, state, table, mark, inService: state.healthy !== false });
  }
  return up;
}

function fam(link: UpLink, family: Family): FamilyState | undefined {
  return familyState(link.state, family);
}

/** The link's own table in one family: its default route, and the route to its peer or gateway. */
function linkTableRoutes(link: UpLink, family: Family): Route[] {
  const fs = fam(link, family);
  if (!fs) return [];
  const { iface } = link.state;
  const src = family === 4 ? { src: fs.local! } : {};
  const routes: Route[] = [{ table: link.table, dst: 'default', ...exitVia(link, family), ...src }];
  const onLink = fs.peer ?? fs.gateway;
  const host = onLink === undefined ? undefined : parsePrefix(onLink);
  // An IPv6 link-local next hop needs no route: it is on the interface by definition.
  if (host && typeof host !== 'string' && !host.text.startsWith('fe80:')) {
    routes.push({ table: link.table, dst: host.text, dev: iface, ...(family === 4 ? { scope: 'link' as const } : {}), ...src });
  }
  return routes;
}

/** How traffic leaves by a link: through its gateway (or IPv6 peer), or straight onto a point-to-point interface. */
function exitVia(link: UpLink, family: Family): Pick<Route, 'dev' | 'via' | 'scope'> {
  const fs = fam(link, family);
  const via = fs?.gateway ?? (family === 6 ? fs?.peer : undefined);
  if (via) return { via, dev: link.state.iface };
  return family === 4 ? { dev: link.state.iface, scope: 'link' } : { dev: link.state.iface };
}

function balancedDefault(table: number, links: UpLink[], family: Family): Route {
  if (links.length === 1) return { table, dst: 'default', ...exitVia(links[0]!, family) };
  return {
    table,
    dst: 'default',
    nexthops: links.map((link) => {
      const { via, dev } = exitVia(link, family);
      return { dev: dev!, ...(via ? { via } : {}), weight: link.config.weight };
    }),
  };
}

/**
 * Forwarding on, per-connection multipath hashing; on WAN interfaces loose
 * reverse-path filtering and marks in it (IPv4), and router advertisements
 * still accepted while forwarding (IPv6: accept_ra = 2, set before forwarding).
 */
function sysctlsFor(up: UpLink[]): Sysctl[] {
  const sysctls: Sysctl[] = [];
  const v4 = up.filter((l) => l.state.v4);
  const v6 = up.filter((l) => l.state.v6);
  if (v4.length) {
    sysctls.push({ path: ['net', 'ipv4', 'ip_forward'], value: '1' }, { path: ['net', 'ipv4', 'fib_multipath_hash_policy'], value: '1' });
    for (const link of v4) {
      sysctls.push({ path: ['net', 'ipv4', 'conf', link.state.iface, 'rp_filter'], value: '2' });
      sysctls.push({ path: ['net', 'ipv4', 'conf', link.state.iface, 'src_valid_mark'], value: '1' });
    }
  }
  if (v6.length) {
    for (const link of v6) sysctls.push({ path: ['net', 'ipv6', 'conf', link.state.iface, 'accept_ra'], value: '2' });
    sysctls.push({ path: ['net', 'ipv6', 'conf', 'all', 'forwarding'], value: '1' }, { path: ['net', 'ipv6', 'fib_multipath_hash_policy'], value: '1' });
  }
  return sysctls;
}
