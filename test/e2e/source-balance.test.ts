// End to end, issue 9 item 2: `balance = "source"`. Every new connection of
// one LAN host leaves by the same link while that link is in service; hosts
// spread over the links; when a link leaves service only its hosts move, and
// they come back when it returns. Checked by real traffic (the source address
// the server sees), and `multiwan explain` is checked against it host by host:
// explain computes nft's jhash in TypeScript (src/plan/jhash.ts), so it must
// name the link each host's traffic really took, and the bucket the kernel
// computes with the router's own hash expression (recorded as a ct mark in
// the LAN namespace, see recordKernelBuckets).
//
// IPv4: three PPP links (so that "only its hosts move" can fail: a host of
// isp2 could move to isp3), the built monitor, isp1 silently dead and back.
// IPv6: an IPv6 host by its /64, through two Ethernet uplinks that
// masquerade (NAT66), so any /64 may leave by any link; and hosts numbered
// from the prefixes the ISPs delegated (no NAT66), which only their own ISP
// forwards: they must keep leaving by it.
import { isIP } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ADDR6,
  createLab,
  needsRoot,
  ppp6,
  productEnv,
  sandboxInstall,
  spoofDrops,
  whoamiDetailed,
  type BackgroundProcess,
  type Lab,
} from '../lab/lab.js';
import { dist, ispFault, startMonitor } from './helpers.js';

const skip = needsRoot();
const title = (what: string) => `${what}${skip ? ` (skipped: ${skip})` : ''}`;

/** Runs `task` over `items`, `width` at a time (each task is a node process; the VM has two cores). */
async function pool<T, R>(items: readonly T[], width: number, task: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await task(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, worker));
  return out;
}

/** Each host's 10 new connections: the source addresses the server saw (and "error"), per host. */
async function connectEach(l: Lab, hosts: readonly string[], count = 10): Promise<Map<string, Record<string, number>>> {
  const results = await pool(hosts, 5, (from) => whoamiDetailed(l, { from, count, timeoutMs: 2000 }));
  return new Map(hosts.map((h, i) => [h, results[i]!.counts]));
}

/** host -> the one link its connections used; throws with the evidence when a host used several or failed. */
function linkOfEach(seen: Map<string, Record<string, number>>, linkOf: (address: string) => string | undefined, count = 10): Map<string, string> {
  const out = new Map<string, string>();
  const bad: string[] = [];
  for (const [host, counts] of seen) {
    const keys = Object.keys(counts);
    const link = keys.length === 1 && counts[keys[0]!] === count ? linkOf(keys[0]!) : undefined;
    if (link) out.set(host, link);
    else bad.push(`${host}: ${JSON.stringify(counts)}`);
  }
  expect(bad, 'hosts whose connections did not all leave with one link address').toEqual([]);
  return out;
}

const hostsPerLink = (links: Map<string, string>) => {
  const spread: Record<string, number> = {};
  for (const link of links.values()) spread[link] = (spread[link] ?? 0) + 1;
  return spread;
};

interface Explained {
  link?: string;
  bucket?: number;
  kernelDev?: string;
  why: string;
}

/** `multiwan explain HOST SERVER` for each host: the link it names and the hash bucket it says. */
async function explainEach(l: Lab, hosts: readonly string[], server: string): Promise<Map<string, Explained>> {
  const results = await pool(hosts, 5, async (host) => {
    const r = await l.exec(l.ns.rtr, [dist('multiwan'), 'explain', host, server, '--proto', 'tcp', '--dport', '7000', '--json'], {
      env: productEnv(l),
      reject: false,
    });
    if (r.exitCode !== 0) return { why: `exit ${r.exitCode}: ${r.stderr.trim()}` };
    const json = JSON.parse(r.stdout) as { explanation: { decision: { kind: string; link?: string; why: string } }; kernel?: { dev?: string } };
    const { decision } = json.explanation;
    const bucket = /hashes to bucket (\d+)/.exec(decision.why)?.[1];
    return {
      ...(decision.kind === 'link' && decision.link ? { link: decision.link } : {}),
      ...(bucket !== undefined ? { bucket: Number(bucket) } : {}),
      ...(json.kernel?.dev ? { kernelDev: json.kernel.dev } : {}),
      why: decision.why,
    };
  });
  return new Map(hosts.map((h, i) => [h, results[i]!]));
}

/**
 * The router's own source-balance hash, as nft lists it (`jhash ip saddr mod
 * 128 seed 0x…`, and the IPv6 one), copied into a table of the LAN namespace
 * that sets each new connection's ct mark to its bucket: the kernel's own
 * bucket of every host, read back with conntrack after the connections.
 */
async function recordKernelBuckets(l: Lab, family: 4 | 6): Promise<string> {
  // The hash rules sit in the chain only new connections enter.
  const listing = (await l.exec(l.ns.rtr, ['nft', 'list', 'chain', 'inet', 'multiwan', 'classify'])).stdout;
  const hashes = [...listing.matchAll(/(jhash .+? mod \d+ seed 0x[0-9a-f]+)/g)].map((m) => m[1]!);
  const hash = hashes.find((h) => (family === 4 ? / ip saddr /.test(h) : !/ ip saddr /.test(h)));
  expect(hash, `the router's IPv${family} source-balance hash in:\n${listing}`).toBeDefined();
  await l.exec(l.ns.lan, ['nft', '-f', '-'], {
    input: `table inet kernelbucket {\n  chain out {\n    type filter hook output priority 0; policy accept;\n    meta nfproto ipv${family} tcp dport 7000 ct state new ct mark set ${hash}\n  }\n}\n`,
  });
  return hash!;
}

/** host -> the bucket the kernel gave its connections (ct mark in the LAN namespace). */
async function kernelBuckets(l: Lab, family: 4 | 6): Promise<Map<string, Set<number>>> {
  const r = await l.exec(l.ns.lan, ['conntrack', '-L', '-f', family === 4 ? 'ipv4' : 'ipv6', '-p', 'tcp']);
  const out = new Map<string, Set<number>>();
  for (const line of r.stdout.split('\n')) {
    const src = /src=(\S+)/.exec(line)?.[1];
    const dport = /dport=(\d+)/.exec(line)?.[1];
    const mark = /mark=(\d+)/.exec(line)?.[1];
    if (!src || dport !== '7000' || mark === undefined) continue;
    const canonical = isIP(src) === 6 ? new URL(`http://[${src}]`).hostname.slice(1, -1) : src;
    if (!out.has(canonical)) out.set(canonical, new Set());
    out.get(canonical)!.add(Number(mark));
  }
  return out;
}

/** Compares explain with the traffic and with the kernel's buckets; the differences, one line per host. */
function disagreements(links: Map<string, string>, explained: Map<string, Explained>, buckets: Map<string, Set<number>>): string[] {
  const out: string[] = [];
  for (const [host, link] of links) {
    const e = explained.get(host);
    const kernel = [...(buckets.get(host) ?? [])];
    if (e?.link !== link) out.push(`${host}: traffic used ${link}, explain says ${e?.link ?? '-'} (${e?.why})`);
    if (kernel.length !== 1 || kernel[0] !== e?.bucket) out.push(`${host}: kernel bucket ${kernel.join('/') || '-'}, explain bucket ${e?.bucket ?? '-'}`);
  }
  return out;
}

const SERVER4 = '198.51.100.10';
const figures: Record<string, unknown> = {};
afterAll(() => console.log(`[source-balance] figures: ${JSON.stringify(figures)}`));

describe.skipIf(!!skip)(title('balance = "source", IPv4: 20 LAN hosts over three links'), () => {
  let l: Lab;
  let monitor: BackgroundProcess;
  const HOSTS = Array.from({ length: 20 }, (_, i) => `192.168.10.${101 + i}`);
  const LINK_OF: Record<string, string> = { '100.64.1.2': 'isp1', '100.64.2.2': 'isp2', '100.64.3.2': 'isp3' };
  let before: Map<string, string>;

  const check = (transit: string) => `check = { targets = ["${SERVER4}", "${transit}"], interval = "200ms", down = 3, up = 3 }`;

  beforeAll(async () => {
    const started = Date.now();
    l = await createLab({ uplinks: ['ppp', 'ppp', 'ppp'] });
    await l.installHooks(dist('ip-up'), dist('ip-down'));
    await l.writeConfig(`
lan = ["192.168.10.0/24"]
balance = "source"

[link.isp1]
interface = "ppp0"
${check('203.0.113.2')}

[link.isp2]
interface = "ppp1"
${check('203.0.113.6')}

[link.isp3]
interface = "ppp2"
${check('203.0.113.10')}
`);
    for (const iface of ['ppp0', 'ppp1', 'ppp2']) {
      const up = await l.ppp('up', iface);
      expect(up.hookFailed, `ip-up ${iface}: ${up.stdout}${up.stderr}`).toBe(false);
    }
    await l.exec(l.ns.lan, ['ip', '-batch', '-'], { input: HOSTS.map((h) => `addr add ${h}/24 dev eth0`).join('\n') + '\n' });
    await recordKernelBuckets(l, 4);
    monitor = await startMonitor(l);
    figures.ipv4SetupMs = Date.now() - started;
  });

  afterAll(async () => {
    await l?.destroy();
  });

  it("each host's 10 connections all leave by one link; the hosts spread over all three; explain names each host's link and the kernel's bucket", async () => {
    before = linkOfEach(await connectEach(l, HOSTS), (a) => LINK_OF[a]);
    const spread = hostsPerLink(before);
    figures.ipv4Spread = spread;
    expect(Object.keys(spread).sort(), JSON.stringify(spread)).toEqual(['isp1', 'isp2', 'isp3']);

    const explained = await explainEach(l, HOSTS, SERVER4);
    const buckets = await kernelBuckets(l, 4);
    const differ = disagreements(before, explained, buckets);
    figures.ipv4JhashAgreement = `${HOSTS.length - new Set(differ.map((d) => d.split(':')[0])).size}/${HOSTS.length}`;
    expect(differ, 'explain (src/plan/jhash.ts) against the traffic and the kernel').toEqual([]);
    // explain's kernel line: `ip route get … mark` of the host's link goes out through that link.
    const iface: Record<string, string> = { isp1: 'ppp0', isp2: 'ppp1', isp3: 'ppp2' };
    expect(HOSTS.filter((h) => explained.get(h)?.kernelDev !== iface[before.get(h)!])).toEqual([]);
  });

  it('isp1 silently dead: only its hosts move (each to one link), the others keep theirs; when it returns they come back', async () => {
    expect(before, 'the first test ran').toBeDefined();
    const mine = HOSTS.filter((h) => before.get(h) === 'isp1');
    let from = monitor.lines.length;
    await ispFault(l, 'isp1', 'drop');
    expect(await monitor.waitLine((line) => line.startsWith('isp1 (ppp0): out of service'), 5000, from), monitor.lines.join('\n')).toBeDefined();

    const during = linkOfEach(await connectEach(l, HOSTS), (a) => LINK_OF[a]);
    const kept = HOSTS.filter((h) => !mine.includes(h) && during.get(h) !== before.get(h)).map((h) => `${h}: ${before.get(h)} -> ${during.get(h)}`);
    expect(kept, 'hosts of isp2 and isp3 that moved').toEqual([]);
    expect(mine.filter((h) => during.get(h) === 'isp1'), 'isp1 hosts still sent to isp1').toEqual([]);
    figures.ipv4MovedHosts = Object.fromEntries(mine.map((h) => [h, during.get(h)]));
    // explain follows the ruleset out of service too.
    const explained = await explainEach(l, mine, SERVER4);
    expect(mine.filter((h) => explained.get(h)?.link !== during.get(h)).map((h) => `${h}: ${explained.get(h)?.why}`)).toEqual([]);

    from = monitor.lines.length;
    await ispFault(l, 'isp1', undefined);
    expect(await monitor.waitLine((line) => line.startsWith('isp1 (ppp0): back in service'), 8000, from), monitor.lines.join('\n')).toBeDefined();
    const after = linkOfEach(await connectEach(l, HOSTS), (a) => LINK_OF[a]);
    expect(HOSTS.filter((h) => after.get(h) !== before.get(h)).map((h) => `${h}: ${before.get(h)} -> ${after.get(h)}`), 'hosts not back on their link').toEqual([]);
  });
});

describe.skipIf(!!skip)(title('balance = "source", IPv6: a host by its /64, through two NAT66 Ethernet uplinks'), () => {
  let l: Lab;
  // Eight /64s of the LAN (ULA), two hosts in each.
  const NETS = Array.from({ length: 8 }, (_, i) => `fd00:6:0:${i + 1}`);
  const HOSTS = NETS.flatMap((net) => [`${net}::2`, `${net}::3`]);
  const LINK_OF: Record<string, string> = { '2001:db8:ff01::2': 'isp1', '2001:db8:ff02::2': 'isp2' };

  beforeAll(async () => {
    const started = Date.now();
    l = await createLab({ ipv6: true, uplinks: ['static', 'static'] });
    const [u1, u2] = l.uplinks;
    await l.writeConfig(`
lan = ["192.168.10.0/24", "fd00:6::/48"]
balance = "source"

[link.isp1]
interface = "${u1!.iface}"
masquerade6 = true

[link.isp2]
interface = "${u2!.iface}"
masquerade6 = true
`);
    await l.exec(l.ns.rtr, ['ip', '-batch', '-'], {
      input: [
        ...[u1!, u2!].flatMap((u) => [`addr add ${u.v4.local}/24 dev ${u.iface}`, `addr add ${u.v6!.local}/64 dev ${u.iface} nodad`]),
        ...NETS.map((net) => `addr add ${net}::1/64 dev lan0 nodad`),
      ].join('\n') + '\n',
    });
    await l.exec(l.ns.lan, ['ip', '-batch', '-'], { input: HOSTS.map((h) => `addr add ${h}/64 dev eth0 nodad`).join('\n') + '\n' });
    for (const u of [u1!, u2!]) {
      const up = await l.exec(l.ns.rtr, [dist('multiwan'), 'link', 'up', u.isp, '--gateway', u.v4.gateway!, '--gateway', u.v6!.gateway!], {
        env: productEnv(l),
        reject: false,
      });
      expect(up.exitCode, `multiwan link up ${u.isp}: ${up.stdout}${up.stderr}`).toBe(0);
    }
    await recordKernelBuckets(l, 6);
    figures.ipv6SetupMs = Date.now() - started;
  });

  afterAll(async () => {
    await l?.destroy();
  });

  it('the two hosts of a /64 share a link, the /64s spread over both links, and explain names each host’s link and the kernel’s bucket', async () => {
    const links = linkOfEach(await connectEach(l, HOSTS), (a) => LINK_OF[a]);
    const split = NETS.filter((net) => links.get(`${net}::2`) !== links.get(`${net}::3`));
    expect(split, '/64s whose two hosts left by different links').toEqual([]);
    const spread = hostsPerLink(links);
    figures.ipv6Spread = spread;
    expect(Object.keys(spread).sort(), JSON.stringify(spread)).toEqual(['isp1', 'isp2']);

    const explained = await explainEach(l, HOSTS, ADDR6.server);
    const differ = disagreements(links, explained, await kernelBuckets(l, 6));
    figures.ipv6JhashAgreement = `${HOSTS.length - new Set(differ.map((d) => d.split(': ')[0])).size}/${HOSTS.length}`;
    expect(differ, 'explain (src/plan/jhash.ts) against the traffic and the kernel').toEqual([]);
  });
});

describe.skipIf(!!skip)(title('balance = "source", IPv6 from the delegated prefixes: a host keeps leaving by the ISP its prefix is from'), () => {
  let l: Lab;
  // Four /64s from each ISP's delegated /48 (2001:db8:N:1::/64 is the lab's own).
  const NETS = ['isp1', 'isp2'].flatMap((isp, i) => [1, 2, 3, 4].map((k) => ({ isp, net: `2001:db8:${i + 1}:${k}` })));
  const HOSTS = NETS.map(({ net }) => `${net}::2`);

  beforeAll(async () => {
    const started = Date.now();
    l = await createLab({ ipv6: true });
    await l.installHooks(dist('ip-up'), dist('ip-down'));
    await sandboxInstall(l, '/etc/ppp/ipv6-up.d/multiwan', dist('ipv6-up'));
    await sandboxInstall(l, '/etc/ppp/ipv6-down.d/multiwan', dist('ipv6-down'));
    await l.writeConfig(`
lan = ["192.168.10.0/24", "2001:db8:1::/48", "2001:db8:2::/48"]
balance = "source"

[link.isp1]
interface = "ppp0"
prefixes6 = ["2001:db8:1::/48"]

[link.isp2]
interface = "ppp1"
prefixes6 = ["2001:db8:2::/48"]
`);
    const extra = NETS.filter(({ net }) => !net.endsWith(':1'));
    await l.exec(l.ns.rtr, ['ip', '-batch', '-'], { input: extra.map(({ net }) => `addr add ${net}::1/64 dev lan0 nodad`).join('\n') + '\n' });
    await l.exec(l.ns.lan, ['ip', '-batch', '-'], { input: extra.map(({ net }) => `addr add ${net}::2/64 dev eth0 nodad`).join('\n') + '\n' });
    for (const iface of ['ppp0', 'ppp1']) {
      for (const run of [() => l.ppp('up', iface), () => ppp6(l, 'up', iface)]) {
        const up = await run();
        expect(up.hookFailed, `${iface}: ${up.stdout}${up.stderr}`).toBe(false);
      }
    }
    expect(ADDR6.client('isp1')).toBe(HOSTS[0]);
    figures.delegatedSetupMs = Date.now() - started;
  });

  afterAll(async () => {
    await l?.destroy();
  });

  it('every host of 2001:db8:1::/48 leaves by isp1 and of 2001:db8:2::/48 by isp2 (the other ISP drops a foreign source); explain says so', async () => {
    const seen = await connectEach(l, HOSTS, 4);
    const wrong = NETS.filter(({ net }) => JSON.stringify(seen.get(`${net}::2`)) !== JSON.stringify({ [`${net}::2`]: 4 }));
    expect(
      wrong.map(({ net, isp }) => `${net}::2 (from ${isp}'s prefix): ${JSON.stringify(seen.get(`${net}::2`))}`),
      'hosts whose connections did not get through',
    ).toEqual([]);
    expect(await spoofDrops(l, 'isp1'), 'isp1 dropped foreign sources').toBe(0);
    expect(await spoofDrops(l, 'isp2'), 'isp2 dropped foreign sources').toBe(0);
    const explained = await explainEach(l, HOSTS, ADDR6.server);
    expect(NETS.filter(({ net, isp }) => explained.get(`${net}::2`)?.link !== isp).map(({ net }) => `${net}::2: ${explained.get(`${net}::2`)?.why}`)).toEqual([]);
  });
});
