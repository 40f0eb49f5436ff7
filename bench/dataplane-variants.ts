// An experiment beside bench/dataplane.ts (not part of `npm run bench`):
// what each piece of multiwan's nft table costs a forwarded packet, and
// whether another shape would cost less. Routers head to head (dataplane.ts
// explains the method), for 2 and 8 links, UDP established and always-new:
//
//   bare       one default route and one masquerade rule;
//   multiwan   dist/ip-up, as shipped (each link's counters counted inside
//              the WAN-in and pinned-out returns every packet passes anyway);
//   uncounted  the same table without the links' named counters;
//   counted    the links' counters in rules of their own, an `iifname` and an
//              `oifname` counter map in prerouting and postrouting (as
//              multiwan did before);
//   vmap       the restore dispatched by `ct mark & MASK vmap` into per-link
//              chains (nft cannot copy a masked runtime value: DESIGN.md);
//   fast       one restore rule for packets that carry no other mark bits
//              (`meta mark set ct mark & MASK`), and the outbound pin moved
//              into the nat chain, which sees a connection's first packet
//              only, so there is no postrouting filter chain;
//   routing    multiwan's rules and routes with no nft marks at all (only a
//              masquerade rule): what policy routing itself costs.
//
//   tsx bench/dataplane-variants.ts [--rounds N]
//
// The variant tables are written here for a plain config (no policies, no
// source balance) with the default mark_mask; it checks the shipped table has
// the marks it assumes first. Needs root, iperf3 and socat.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { needsRoot, run } from '../test/lab/lab.js';
import { summarize } from './stats.js';
import { ADDR, createDataplaneLab, setupBare, setupMultiwan, type DataplaneLab, type Network } from './dataplane-lab.js';
import { measure, startSender, stopSender, type Sender, type TrafficKind } from './dataplane-traffic.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const IP_UP = path.join(ROOT, 'dist/ip-up');
const MASK = 0x3f00;
const ROUTERS = ['bare', 'multiwan', 'uncounted', 'counted', 'vmap', 'fast', 'routing'] as const;
type Router = (typeof ROUTERS)[number];

const hex = (n: number): string => `0x${(n >>> 0).toString(16).padStart(8, '0')}`;
const config = (links: number): string =>
  `lan = ["${ADDR.lan}"]\n` + Array.from({ length: links }, (_, i) => `\n[link.isp${i + 1}]\ninterface = "ppp${i}"\n`).join('');

interface Variant {
  /** map: a counter map rule of its own in prerouting and postrouting; none: no link counters. */
  counters: 'map' | 'none';
  restore: 'rules' | 'vmap' | 'fast';
  pin: 'postrouting' | 'nat';
}

const VARIANTS: Partial<Record<Router, Variant>> = {
  uncounted: { counters: 'none', restore: 'rules', pin: 'postrouting' },
  counted: { counters: 'map', restore: 'rules', pin: 'postrouting' },
  vmap: { counters: 'none', restore: 'vmap', pin: 'postrouting' },
  fast: { counters: 'none', restore: 'fast', pin: 'nat' },
};

function variantTable(net: Network, v: Variant): string {
  const keep = hex(~MASK);
  const mask = hex(MASK);
  const links = net.uplinks.map((u) => ({ name: `isp${u.n}`, iface: u.iface, mark: hex(u.n << 8) }));
  const ifaces = `{ ${links.map((l) => `"${l.iface}"`).join(', ')} }`;
  const count = (dir: 'in' | 'out') => (v.counters === 'map' ? [`counter name ${dir === 'in' ? 'iif' : 'oif'}name map { ${links.map((l) => `"${l.iface}" : "${dir}_${l.name}"`).join(', ')} }`] : []);
  const perLink = links.map((l) => `ct mark & ${mask} == ${l.mark} meta mark set meta mark & ${keep} | ${l.mark}`);
  const restore = v.restore === 'vmap'
    ? [`ct mark & ${mask} vmap { ${links.map((l) => `${l.mark} : jump restore_${l.name}`).join(', ')} }`]
    : v.restore === 'fast'
      ? [`meta mark & ${keep} == 0x0 meta mark set ct mark & ${mask} return`, ...perLink]
      : perLink;
  const pin = links.map((l) => `oifname "${l.iface}" ct mark & ${mask} == 0x0 ct mark set ct mark & ${keep} | ${l.mark}`);
  const chain = (name: string, hook: string | undefined, rules: string[]) =>
    `  chain ${name} {\n${hook ? `    ${hook}\n` : ''}${rules.map((r) => `    ${r}\n`).join('')}  }`;
  return [
    'delete table inet multiwan',
    'table inet multiwan {',
    ...(v.counters === 'map' ? links.map((l) => `  counter in_${l.name} { }\n  counter out_${l.name} { }`) : []),
    ...(v.restore === 'vmap' ? links.map((l) => chain(`restore_${l.name}`, undefined, [`meta mark set meta mark & ${keep} | ${l.mark}`])) : []),
    chain('classify', undefined, links.map((l) => `iifname "${l.iface}" ct mark set ct mark & ${keep} | ${l.mark} return`)),
    chain('prerouting', 'type filter hook prerouting priority mangle; policy accept;', [
      ...count('in'), 'ct state new jump classify', `iifname ${ifaces} return`, `ip daddr ${ADDR.lan} return`, ...restore,
    ]),
    chain('output', 'type route hook output priority mangle; policy accept;', [`ip daddr ${ADDR.lan} return`, ...restore]),
    ...(v.pin === 'postrouting' || v.counters === 'map'
      ? [chain('postrouting', 'type filter hook postrouting priority mangle; policy accept;', [...count('out'), ...(v.pin === 'postrouting' ? pin : [])])]
      : []),
    chain('nat_postrouting', 'type nat hook postrouting priority srcnat; policy accept;', [...(v.pin === 'nat' ? pin : []), `meta nfproto ipv4 oifname ${ifaces} masquerade`]),
    '}',
    '',
  ].join('\n');
}

const routingTable = (net: Network): string => `delete table inet multiwan
table inet multiwan {
  chain nat_postrouting {
    type nat hook postrouting priority srcnat; policy accept;
    meta nfproto ipv4 oifname { ${net.uplinks.map((u) => `"${u.iface}"`).join(', ')} } masquerade
  }
}
`;

async function setup(lab: DataplaneLab, router: Router): Promise<void> {
  const net = lab.networks[router]!;
  if (router === 'bare') return setupBare(net);
  await setupMultiwan(lab, net, config(net.uplinks.length), IP_UP);
  if (router === 'multiwan') return;
  const shipped = (await run(['ip', 'netns', 'exec', net.ns.rtr, 'nft', 'list', 'table', 'inet', 'multiwan'])).stdout;
  for (const u of net.uplinks) {
    const restore = `ct mark & ${hex(MASK)} == ${hex(u.n << 8)} meta mark set`;
    if (!shipped.includes(restore)) throw new Error(`the shipped table has no "${restore}" for isp${u.n}: this experiment's assumptions are stale`);
  }
  const table = router === 'routing' ? routingTable(net) : variantTable(net, VARIANTS[router]!);
  await run(['ip', 'netns', 'exec', net.ns.rtr, 'nft', '-f', '-'], { input: table });
}

async function main(): Promise<number> {
  const reason = needsRoot();
  if (reason) throw new Error(reason);
  const i = process.argv.indexOf('--rounds');
  const rounds = i > 0 ? Number(process.argv[i + 1]) : 8;
  console.log(`head to head, ${rounds} rounds of 800 ms; ratio to the bare router in the same window: median (min-max)\n`);
  for (const links of [2, 8]) {
    const lab = await createDataplaneLab([...ROUTERS], links);
    // kept installed: Ctrl-C arrives twice under tsx (see dataplane.ts)
    const onSignal = (): void => void lab.destroy().finally(() => process.exit(130));
    process.on('SIGINT', onSignal);
    try {
      for (const r of ROUTERS) await setup(lab, r);
      for (const kind of ['udp', 'udp-new'] as TrafficKind[]) {
        const senders: Sender[] = [];
        try {
          for (const r of ROUTERS) senders.push(await startSender(lab.networks[r]!, kind, rounds * 2 + 30));
          const ratio: number[][] = ROUTERS.map(() => []);
          await measure(senders, 250, 800);
          for (let k = 0; k < rounds; k++) {
            const w = await measure(senders, 250, 800);
            w.forEach((x, j) => ratio[j]!.push(x.pps / w[0]!.pps));
          }
          const cells = ROUTERS.slice(1).map((r, j) => {
            const s = summarize(ratio[j + 1]!);
            return `${r} ${s.median.toFixed(3)} (${s.min.toFixed(2)}-${s.max.toFixed(2)})`;
          });
          console.log(`${links} links  ${kind.padEnd(8)} ${cells.join('   ')}`);
        } finally {
          await Promise.all(senders.map(stopSender));
        }
      }
    } finally {
      process.off('SIGINT', onSignal);
      await lab.destroy();
    }
  }
  return 0;
}

process.exitCode = await main().catch((err: unknown) => {
  console.error(`bench: ${err instanceof Error ? err.message : String(err)}`);
  return 1;
});
