/**
 * NftPlan -> one `nft -f -` script: a single transaction that makes
 * `table inet multiwan` exactly the plan. With no link in service it deletes
 * the table.
 *
 * The table's shape never changes (two sets, four base chains), so the script
 * declares it (a no-op when it exists), flushes every rule and set element,
 * and fills them again. Measured on kernel 6.x: any nft transaction that
 * deletes an object waits ~12 ms for an RCU grace period, so a first ip-up
 * that only creates is cheap, and no event re-registers hooks.
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
  '  set lan4 {',
  '    type ipv4_addr',
  '    flags interval',
  '  }',
  '  set lan6 {',
  '    type ipv6_addr',
  '    flags interval',
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
];

export function renderNft(plan: NftPlan): string {
  if (plan.links.length === 0) return `table ${T}\ndelete table ${T}\n`;

  const keep = hex(~plan.mask >>> 0);
  const mask = hex(plan.mask);
  const setMark = (what: 'ct' | 'meta', link: NftLink) =>
    `${what} mark set ${what} mark & ${keep} | ${hex(link.mark)} comment "${link.name}"`;
  const restore = plan.links.map((l) => `ct mark & ${mask} == ${hex(l.mark)} ${setMark('meta', l)}`);
  const lanReturns = [
    ...(plan.lan4.length ? ['ip daddr @lan4 return'] : []),
    ...(plan.lan6.length ? ['ip6 daddr @lan6 return'] : []),
  ];
  const masqueraded = plan.links.filter((l) => l.masquerade);

  const lines = [
    ...shape,
    `flush table ${T}`,
    `flush set ${T} lan4`,
    `flush set ${T} lan6`,
    ...(plan.lan4.length ? [`add element ${T} lan4 { ${plan.lan4.join(', ')} }`] : []),
    ...(plan.lan6.length ? [`add element ${T} lan6 { ${plan.lan6.join(', ')} }`] : []),
    `table ${T} {`,
    ...chain('prerouting', [
      ...plan.links.map((l) => `iifname "${l.iface}" ct state new ${setMark('ct', l)}`),
      `iifname ${ifaceSet(plan.links)} return`,
      ...lanReturns,
      ...restore,
    ]),
    ...chain('output', [...lanReturns, ...restore]),
    ...chain('postrouting', [
      `ct mark & ${mask} != 0x0 return`,
      ...plan.links.map((l) => `oifname "${l.iface}" ${setMark('ct', l)}`),
    ]),
    ...chain('nat_postrouting', masqueraded.length ? [`oifname ${ifaceSet(masqueraded)} masquerade`] : []),
    '}',
  ];
  return lines.join('\n') + '\n';
}

function chain(name: string, rules: string[]): string[] {
  return [`  chain ${name} {`, ...rules.map((rule) => `    ${rule}`), '  }'];
}

function ifaceSet(links: NftLink[]): string {
  return `{ ${links.map((l) => `"${l.iface}"`).join(', ')} }`;
}
