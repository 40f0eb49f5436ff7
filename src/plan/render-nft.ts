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
 */
import { hex } from './render-ip-batch.js';
import type { NftLink, NftPlan } from './types.js';

export const NFT_TABLE = 'multiwan';
const T = `inet ${NFT_TABLE}`;

const shape = [
  `table ${T} {`,
  '  chain stamp {',
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
  return [
    ...add('prerouting', [
      ...plan.links.map((l) => `iifname "${l.iface}" ct state new ${setMark('ct', l)}`),
      `iifname ${ifaceSet(plan.links)} return`,
      ...lanReturns,
      ...restore,
    ]),
    ...add('output', [...lanReturns, ...restore]),
    ...add('postrouting', [
      `ct mark & ${mask} != 0x0 return`,
      ...plan.links.map((l) => `oifname "${l.iface}" ${setMark('ct', l)}`),
    ]),
    ...add('nat_postrouting', masqueraded.length ? [`oifname ${ifaceSet(masqueraded)} masquerade`] : []),
  ];
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
