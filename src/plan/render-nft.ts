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
import { hex } from './render-ip-batch.js';
import type { PortRange } from '../config/types.js';
import type { NftLink, NftPlan, NftPolicy } from './types.js';

export const NFT_TABLE = 'multiwan';
const T = `inet ${NFT_TABLE}`;

const shape = [
  `table ${T} {`,
  '  chain stamp {',
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

/** The stamp of a plan with no link in service: the table is absent. */
export const ABSENT = 'absent';

export function renderNft(plan: NftPlan): string {
  if (plan.links.length === 0) return `table ${T}\ndelete table ${T}\n`;
  const rules = nftRules(plan);
  return [...shape, ...rules, `add rule ${T} stamp return comment "plan ${hashText(rules.join('\n'))}"`].join('\n') + '\n';
}

/** What the `stamp` chain holds once `renderNft(plan)` is in force. */
export function nftStamp(plan: NftPlan): string {
  return plan.links.length === 0 ? ABSENT : hashText(nftRules(plan).join('\n'));
}

/** The stamp in `nft list chain inet multiwan stamp` output (ABSENT when there is none). */
export function parseNftStamp(listing: string): string {
  return /comment "plan ([0-9a-f]+)"/.exec(listing)?.[1] ?? ABSENT;
}

function nftRules(plan: NftPlan): string[] {
  const keep = hex(~plan.mask >>> 0);
  const mask = hex(plan.mask);
  const setMark = (what: 'ct' | 'meta', link: NftLink) =>
    `${what} mark set ${what} mark & ${keep} | ${hex(link.mark)} comment "${link.name}"`;
  const restore = plan.links.map((l) => `ct mark & ${mask} == ${hex(l.mark)} ${setMark('meta', l)}`);
  const lanReturns = [
    ...(plan.lan4.length ? [`ip daddr { ${plan.lan4.join(', ')} } return`] : []),
    ...(plan.lan6.length ? [`ip6 daddr { ${plan.lan6.join(', ')} } return`] : []),
  ];
  const masqueraded = plan.links.filter((l) => l.masquerade);
  const add = (chain: string, rules: string[]) => rules.map((rule) => `add rule ${T} ${chain} ${rule}`);
  const toPolicies = plan.policies.length ? ['ct state new jump policies'] : [];
  return [
    ...add('prerouting', [
      ...plan.links.map((l) => `iifname "${l.iface}" ct state new ${setMark('ct', l)}`),
      `iifname ${ifaceSet(plan.links)} return`,
      ...lanReturns,
      ...restore,
      ...toPolicies,
    ]),
    ...add('output', [...lanReturns, ...restore, ...(toPolicies.length ? probeReturns(plan.links) : []), ...toPolicies]),
    ...add('policies', plan.policies.flatMap((policy) => policyRules(policy, keep))),
    ...add('postrouting', [
      `ct mark & ${mask} != 0x0 return`,
      ...plan.links.map((l) => `oifname "${l.iface}" ${setMark('ct', l)}`),
    ]),
    ...add('nat_postrouting', masqueraded.length ? [`oifname ${ifaceSet(masqueraded)} masquerade`] : []),
  ];
}

/** The monitor's probes leave by the link they test, whatever a policy says. */
function probeReturns(links: NftLink[]): string[] {
  const pairs = (family: 4 | 6) =>
    links.flatMap((l) =>
      l.probes && l.probes.local.includes(':') === (family === 6)
        ? l.probes.targets.filter((t) => t.includes(':') === (family === 6)).map((t) => `${l.probes!.local} . ${t}`)
        : [],
    );
  return ([4, 6] as const).flatMap((family) => {
    const list = pairs(family);
    const ip = family === 4 ? 'ip' : 'ip6';
    return list.length ? [`${ip} saddr . ${ip} daddr { ${list.join(', ')} } return`] : [];
  });
}

/** One rule per address family the policy's prefixes call for (one in all when it names none). */
export function policyRules(policy: NftPolicy, keep: string): string[] {
  const families: (4 | 6 | undefined)[] = [];
  const named = policy.src4.length + policy.src6.length + policy.dst4.length + policy.dst6.length > 0;
  if (!named) families.push(undefined);
  for (const family of [4, 6] as const) {
    const src = family === 4 ? policy.src4 : policy.src6;
    const dst = family === 4 ? policy.dst4 : policy.dst6;
    const srcOk = policy.src4.length + policy.src6.length === 0 || src.length > 0;
    const dstOk = policy.dst4.length + policy.dst6.length === 0 || dst.length > 0;
    if (named && srcOk && dstOk && src.length + dst.length > 0) families.push(family);
  }
  const action =
    policy.action.kind === 'link'
      ? `meta mark set meta mark & ${keep} | ${hex(policy.action.mark)} ct mark set ct mark & ${keep} | ${hex(policy.action.mark)} accept comment "${policy.name} via ${policy.action.link}"`
      : policy.action.kind === 'default'
        ? `accept comment "${policy.name}: no link in service, default route"`
        : `reject with icmpx type host-unreachable comment "${policy.name}: no link in service, unreachable"`;
  return families.map((family) => {
    const ip = family === 6 ? 'ip6' : 'ip';
    const src = family === 4 ? policy.src4 : family === 6 ? policy.src6 : [];
    const dst = family === 4 ? policy.dst4 : family === 6 ? policy.dst6 : [];
    return [
      ...(policy.iif.length ? [`iifname { ${policy.iif.map((i) => `"${i}"`).join(', ')} }`] : []),
      ...(src.length ? [`${ip} saddr { ${src.join(', ')} }`] : []),
      ...(dst.length ? [`${ip} daddr { ${dst.join(', ')} }`] : []),
      ...transport(policy, family),
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
