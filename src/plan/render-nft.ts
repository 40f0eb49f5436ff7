/**
 * NftPlan -> one `nft -f -` script: a single transaction that makes
 * `table inet multiwan` exactly the plan. With no link in service it deletes
 * the table.
 *
 * The table's shape never changes (five chains, no named sets), so the script
 * declares it (a no-op when it exists), flushes every rule, and adds them
 * again with `add rule`; prefixes are anonymous sets inside the rules, so they
 * go with the flush. Measured on kernel 6.x with nft 1.0.6: a transaction that
 * deletes objects, flushes a named set or reopens a chain block waits ~15 ms
 * for an RCU grace period; this shape makes a first ip-up (nothing to delete)
 * cost ~7 ms of nft instead of ~22.
 *
 * The `stamp` chain holds one rule whose comment is a hash of the rules: apply
 * reads it back and skips the transaction when the kernel already has this
 * plan (pppd re-runs ip-up on every renegotiation).
 *
 * nft cannot copy a masked runtime value into another (`meta mark set meta
 * mark and ~M or ct mark and M` is rejected), so each link gets constant-valued
 * rules: `ct mark & M == <mark> meta mark set meta mark & ~M | <mark>`. Every
 * write keeps the bits outside the mask.
 *
 * Policies: a new connection from the LAN (prerouting) or from the router
 * itself (output), not to a `lan` network, goes through the `policies` chain;
 * the first rule that matches marks it (packet and connection) for its link,
 * or accepts it unmarked (fallback "default": the balanced route), or rejects
 * it (fallback "unreachable"). Prefix lists are anonymous interval sets in the
 * rule, so a list of ten thousand is one rule, not ten thousand.
 */
import { hex } from './hex.js';
import { JHASH_SEED } from './jhash.js';
import { prefixContains } from '../net/address.js';
import type { PortRange } from '../config/types.js';
import type { NftLink, NftPlan, NftPolicy, ProbePairs } from './types.js';

export const NFT_TABLE = 'multiwan';
const T = `inet ${NFT_TABLE}`;

/**
 * The table's shape: its chains, and a named counter per link and direction
 * and per policy (`multiwan status` reads them). Declaring what exists is a
 * no-op, and named counters keep their values across the flush.
 *
 * A link's counters are counted in rules every packet passes anyway (the
 * WAN-in return in prerouting, the pinned return in postrouting): a counter
 * map lookup that finds no entry ends its rule like a failed match, so a LAN
 * packet goes on untouched. Rules of their own cost 0.02-0.06 of the
 * forwarding rate of small packets (bench/dataplane-variants.ts).
 */
function shapeOf(plan: NftPlan): string[] {
  const counters = nftCounterNames(plan);
  return [
    `table ${T} {`,
    ...counters.map((name) => `  counter ${name} {\n  }`),
    '  chain stamp {',
    '  }',
    '  chain classify {',
    '  }',
    '  chain policies {',
    '  }',
    '  chain prerouting {',
    '    type filter hook prerouting priority mangle; policy accept;',
    '  }',
    '  chain output {',
    '    type route hook output priority mangle; policy accept;',
    '  }',
    '  chain postrouting {',
    '    type filter hook postrouting priority mangle; policy accept;',
    '  }',
    '  chain nat_postrouting {',
    '    type nat hook postrouting priority srcnat; policy accept;',
    '  }',
    '}',
    `flush table ${T}`,
  ];
}

/** Names of the named counters: packets a link received (in) or sent (out), new connections a policy decided. */
export const linkCounter = (direction: 'in' | 'out', link: string) => `${direction}_${link}`;
export const policyCounter = (policy: string) => `policy_${policy}`;

const policiesOf = (plan: NftPlan) => plan.steps.flatMap((s) => (s.kind === 'policy' ? [s.policy] : []));

/** The stamp of a plan with no link in service: the table is absent. */
export const ABSENT = 'absent';

/** `stale`: named counters the table holds that this plan no longer declares; deleted after the flush. */
export function renderNft(plan: NftPlan, stale: readonly string[] = []): string {
  if (plan.links.length === 0) return `table ${T}\ndelete table ${T}\n`;
  const rules = nftRules(plan);
  return [
    ...shapeOf(plan),
    ...stale.map((name) => `delete counter ${T} ${name}`),
    ...rules,
    `add rule ${T} stamp return comment "plan ${hashText(rules.join('\n'))}"`,
  ].join('\n') + '\n';
}

/** The named counters renderNft(plan) declares. */
export function nftCounterNames(plan: NftPlan): string[] {
  return [...plan.links.flatMap((l) => [linkCounter('in', l.name), linkCounter('out', l.name)]), ...policiesOf(plan).map((p) => policyCounter(p.name))];
}

/** What the `stamp` chain holds once `renderNft(plan)` is in force. */
export function nftStamp(plan: NftPlan): string {
  return plan.links.length === 0 ? ABSENT : hashText(nftRules(plan).join('\n'));
}

/** Packets and bytes a named counter has seen. */
export interface Counter {
  packets: number;
  bytes: number;
}

/** The named counters in `nft list counters table inet multiwan` output. */
export function parseNftCounters(listing: string): Record<string, Counter> {
  const counters: Record<string, Counter> = {};
  for (const m of listing.matchAll(/^\s*counter (\S+) \{\s*packets (\d+) bytes (\d+)/gm)) counters[m[1]!] = { packets: Number(m[2]), bytes: Number(m[3]) };
  return counters;
}

/** The stamp in `nft list chain inet multiwan stamp` output (ABSENT when there is none). */
export function parseNftStamp(listing: string): string {
  return /comment "plan ([0-9a-f]+)"/.exec(listing)?.[1] ?? ABSENT;
}

function nftRules(plan: NftPlan): string[] {
  const keep = hex(~plan.mask >>> 0);
  const mask = hex(plan.mask);
  const setMark = (what: 'ct' | 'meta', link: { mark: number; name: string }) =>
    `${what} mark set ${what} mark & ${keep} | ${hex(link.mark)} comment "${link.name}"`;
  const restore = plan.links.map((l) => `ct mark & ${mask} == ${hex(l.mark)} ${setMark('meta', l)}`);
  const lan = plan.steps.find((s) => s.kind === 'lan');
  const lanReturns = lan?.kind === 'lan'
    ? [
        ...(lan.prefixes[4].length ? [`ip daddr { ${lan.prefixes[4].join(', ')} } return`] : []),
        ...(lan.prefixes[6].length ? [`ip6 daddr { ${lan.prefixes[6].join(', ')} } return`] : []),
      ]
    : [];
  const policies = policiesOf(plan);
  // Counts a packet on a link's interface; on any other interface the rule ends here.
  const count = (direction: 'in' | 'out') =>
    `counter name ${direction === 'in' ? 'iif' : 'oif'}name map { ${plan.links.map((l) => `"${l.iface}" : "${linkCounter(direction, l.name)}"`).join(', ')} }`;
  const probes = plan.steps.flatMap((s) => (s.kind === 'probes' ? s.pairs : []));
  const add = (chain: string, rules: string[]) => rules.map((rule) => `add rule ${T} ${chain} ${rule}`);
  const toPolicies = policies.length ? ['ct state new jump policies'] : [];
  // A new connection's link is decided once, in `classify`; an established
  // packet (nearly all of them) only has its connection's mark restored.
  const classify = [
    ...plan.links.map((l) => `iifname "${l.iface}" ct mark set ct mark & ${keep} | ${hex(l.mark)} return comment "${l.name}"`),
    ...lanReturns,
    ...(policies.length ? ['jump policies'] : []),
    ...sourceBalanceRules(plan, keep),
  ];
  const masquerade = ([4, 6] as const).flatMap((family) => {
    const links = plan.links.filter((l) => l.masquerade[family]);
    return links.length ? [`meta nfproto ipv${family} oifname ${ifaceSet(links)} masquerade`] : [];
  });
  return [
    ...add('prerouting', [
      'ct state new jump classify',
      `${count('in')} return`,
      ...lanReturns,
      ...restore,
    ]),
    ...add('classify', classify),
    ...add('output', [...lanReturns, ...restore, ...(toPolicies.length ? probeReturns(probes) : []), ...toPolicies, ...ownSources(plan, keep, mask)]),
    ...add('policies', policies.flatMap((policy) => policyRules(policy, keep))),
    ...add('postrouting', [
      `${count('out')} ct mark & ${mask} != 0x0 return`,
      `ct mark & ${mask} != 0x0 return`,
      ...plan.links.map((l) => `oifname "${l.iface}" ${setMark('ct', l)}`),
    ]),
    ...add('nat_postrouting', masquerade),
  ];
}

/**
 * `balance = "source"`: a new connection from the LAN that no policy decided
 * takes the link of its host's bucket (source-buckets.ts); an IPv6 host is
 * hashed by its /64.
 */
function sourceBalanceRules(plan: NftPlan, keep: string): string[] {
  return ([4, 6] as const).flatMap((family) => {
    const buckets = plan.sourceBuckets[family];
    const hash = family === 4
      ? `jhash ip saddr mod ${buckets.length} seed ${hex(JHASH_SEED)}`
      : // The /64 as 8 bytes of the header: nft 1.0.6 mishandles a mask inside jhash.
        `jhash @nh,64,64 mod ${buckets.length} seed ${hex(JHASH_SEED)}`;
    return [...(family === 6 && buckets.length ? delegatedReturns(plan) : []), ...plan.links.flatMap((link) => {
      const mine = buckets.flatMap((mark, bucket) => (mark === link.mark ? [bucket] : []));
      if (!mine.length) return [];
      const both = `meta mark set meta mark & ${keep} | ${hex(link.mark)} ct mark set ct mark & ${keep} | ${hex(link.mark)}`;
      return [`meta nfproto ipv${family} ${hash} { ${mine.join(', ')} } ${both} comment "source balance: ${link.name}"`];
    })];
  });
}

/**
 * A LAN host numbered from a prefix an ISP delegated can only leave by that
 * ISP (the others drop its source): it is never hashed; its link's `from`
 * rule routes it.
 */
function delegatedReturns(plan: NftPlan): string[] {
  const prefixes = outermost(plan.steps.flatMap((s) => (s.kind === 'source' && s.family === 6 ? s.from.filter((p) => p.includes('/')) : [])));
  return prefixes.length ? [`meta nfproto ipv6 ip6 saddr { ${prefixes.join(', ')} } return comment "delegated prefixes: their link's from rule"`] : [];
}

/**
 * The router's own new IPv6 connections: the kernel picks their source
 * address after routing picked a link (IPv6 routes carry no source, and the
 * router's addresses in each ISP's prefix are on the LAN port, so the choice
 * is no link's), and an ISP drops sources that are not in its prefix. This
 * output chain is `type route`: a connection whose source belongs to a link
 * is marked for that link and routed again, as the `from` rules route the
 * LAN's. (IPv4 needs none of this: a link's IPv4 routes carry its address as
 * `src`, and masquerade rewrites the rest.)
 */
function ownSources(plan: NftPlan, keep: string, mask: string): string[] {
  return plan.steps.flatMap((s) => {
    if (s.kind !== 'source' || s.family !== 6) return [];
    const link = plan.links.find((l) => l.name === s.link);
    if (!link) return [];
    const set = `meta mark set meta mark & ${keep} | ${hex(link.mark)} ct mark set ct mark & ${keep} | ${hex(link.mark)}`;
    return [`meta nfproto ipv6 ct state new ct mark & ${mask} == 0x0 ip6 saddr { ${outermost(s.from).join(', ')} } ${set} comment "${link.name}: its IPv6 sources"`];
  });
}

/** An nft set takes no overlapping elements: the link's address inside its prefix goes. */
function outermost(prefixes: readonly string[]): string[] {
  return prefixes.filter((p, i) => !prefixes.some((q, j) => j !== i && q !== p && prefixContains(q, p.split('/')[0]!) && prefixLength(q) < prefixLength(p)));
}

function prefixLength(prefix: string): number {
  return Number(prefix.split('/')[1] ?? (prefix.includes(':') ? 128 : 32));
}

/** The monitor's probes leave by the link they test, whatever a policy says. */
function probeReturns(pairs: ProbePairs[]): string[] {
  return ([4, 6] as const).flatMap((family) => {
    const list = pairs.filter((p) => p.family === family).flatMap((p) => p.targets.map((t) => `${p.local} . ${t}`));
    const ip = family === 4 ? 'ip' : 'ip6';
    return list.length ? [`${ip} saddr . ${ip} daddr { ${list.join(', ')} } return`] : [];
  });
}

/** One rule per address family the policy's prefixes call for (one in all when it names none). */
export function policyRules(policy: NftPolicy, keep: string): string[] {
  const families: (4 | 6 | undefined)[] = [];
  const count = (f: 4 | 6) => policy.src[f].length + policy.dst[f].length;
  const named = count(4) + count(6) > 0;
  if (!named) families.push(undefined);
  for (const family of [4, 6] as const) {
    const srcOk = policy.src[4].length + policy.src[6].length === 0 || policy.src[family].length > 0;
    const dstOk = policy.dst[4].length + policy.dst[6].length === 0 || policy.dst[family].length > 0;
    if (named && srcOk && dstOk && count(family) > 0) families.push(family);
  }
  const action =
    policy.action.kind === 'link'
      ? `meta mark set meta mark & ${keep} | ${hex(policy.action.mark)} ct mark set ct mark & ${keep} | ${hex(policy.action.mark)} accept comment "${policy.name} via ${policy.action.link}"`
      : policy.action.kind === 'default'
        ? `accept comment "${policy.name}: no link in service, default route"`
        : `reject with icmpx type host-unreachable comment "${policy.name}: no link in service, unreachable"`;
  return families.map((family) => {
    const ip = family === 6 ? 'ip6' : 'ip';
    const src = family ? policy.src[family] : [];
    const dst = family ? policy.dst[family] : [];
    return [
      ...(policy.iif.length ? [`iifname { ${policy.iif.map((i) => `"${i}"`).join(', ')} }`] : []),
      ...(src.length ? [`${ip} saddr { ${src.join(', ')} }`] : []),
      ...(dst.length ? [`${ip} daddr { ${dst.join(', ')} }`] : []),
      ...transport(policy, family),
      `counter name ${policyCounter(policy.name)}`,
      action,
    ].join(' ');
  });
}

const PORT_PROTOCOLS = ['tcp', 'udp', 'sctp', 'dccp', 'udplite'];

function transport(policy: NftPolicy, family: 4 | 6 | undefined): string[] {
  const ports = (ranges: PortRange[]) => `{ ${ranges.map((r) => (r.from === r.to ? `${r.from}` : `${r.from}-${r.to}`)).join(', ')} }`;
  const hasPorts = policy.srcPort.length + policy.dstPort.length > 0;
  const proto = policy.protocol;
  const portMatch = (prefix: string) => [
    ...(policy.srcPort.length ? [`${prefix} sport ${ports(policy.srcPort)}`] : []),
    ...(policy.dstPort.length ? [`${prefix} dport ${ports(policy.dstPort)}`] : []),
  ];
  if (proto && PORT_PROTOCOLS.includes(proto)) return hasPorts ? portMatch(proto) : [`meta l4proto ${proto}`];
  if (proto === 'icmp' || proto === 'icmpv6') {
    const name = family === 4 ? 'icmp' : family === 6 ? 'ipv6-icmp' : proto === 'icmp' ? '{ icmp, ipv6-icmp }' : 'ipv6-icmp';
    return [`meta l4proto ${name}`];
  }
  if (proto) return [`meta l4proto ${proto}`, ...(hasPorts ? portMatch('th') : [])];
  return hasPorts ? ['meta l4proto { tcp, udp }', ...portMatch('th')] : [];
}

function ifaceSet(links: NftLink[]): string {
  return `{ ${links.map((l) => `"${l.iface}"`).join(', ')} }`;
}

/** FNV-1a, 32 bits, as 8 hex digits: enough to tell one plan from another. */
function hashText(text: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash.toString(16).padStart(8, '0');
}
