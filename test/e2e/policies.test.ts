// End to end, policies, destination routes and per-ISP DNS: the built bundles
// run as pppd runs them (Debian's /etc/ppp/ip-up, run-parts, a cleared
// environment) in the namespace lab, and every claim is checked by real
// traffic: the source address the server (or the LAN listener) saw. The ISPs
// drop any source but their customer's, so a packet that leaves by the wrong
// link fails the test instead of passing by luck.
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  addPortForward,
  addServerAddress,
  connectFromServer,
  needsRoot,
  removePortForwards,
  spoofDrops,
  startServer,
  whoamiDetailed,
  type Lab,
  type WhoamiOptions,
} from '../lab/lab.js';
import { balance, dist, ispFault, labWithHooks, ppp, startMonitor, within } from './helpers.js';

const skip = needsRoot();

const LAN = `lan = ["192.168.10.0/24"]\n`;
/** An address of the server inside a prefix of isp2's routes_file (test 4). */
const ROUTED = { prefix: '203.0.113.64/26', addr: '203.0.113.70' };
/** An address of the server inside a prefix of the 10,000-line policy list (test 6). */
const LISTED = { prefix: '203.0.113.192/26', addr: '203.0.113.200' };
/** isp1's resolver, on the server. */
const DNS = '198.51.100.53';

const links = (w1: number, w2: number, extra1 = '', extra2 = '') => `${LAN}
[link.isp1]
interface = "ppp0"
weight = ${w1}
${extra1}
[link.isp2]
interface = "ppp1"
weight = ${w2}
${extra2}
`;

let lab: Lab | undefined;
async function newLab(toml: string): Promise<Lab> {
  lab = await labWithHooks(2, toml);
  return lab;
}
const up = (l: Lab, iface: 'ppp0' | 'ppp1') => ppp(l, 'up', iface);
const down = (l: Lab, iface: 'ppp0' | 'ppp1') => ppp(l, 'down', iface);

/** Writes a file the config names; inside the hook's mount namespace it is /etc/multiwan/<name>. */
async function writeEtc(l: Lab, name: string, text: string): Promise<string> {
  await writeFile(path.join(l.dirs.etc, name), text);
  return `/etc/multiwan/${name}`;
}

/** Where the connections went: reply -> count, and the errors. */
async function seen(l: Lab, opts: WhoamiOptions) {
  return whoamiDetailed(l, { timeoutMs: 2000, ...opts });
}

const sh = async (l: Lab, argv: string[]) => (await l.exec(l.ns.rtr, argv)).stdout;
const policiesChain = (l: Lab) => sh(l, ['nft', 'list', 'chain', 'inet', 'multiwan', 'policies']);

async function noSpoofing(l: Lab) {
  expect(await spoofDrops(l, 'isp1'), 'packets isp1 dropped for a wrong source').toBe(0);
  expect(await spoofDrops(l, 'isp2'), 'packets isp2 dropped for a wrong source').toBe(0);
}

/** 1-based line of the last line of `text` that starts with `start` (after indentation). */
function lineOf(text: string, start: string): number {
  const lines = text.split('\n');
  for (let i = lines.length - 1; i >= 0; i--) if (lines[i]!.trimStart().startsWith(start)) return i + 1;
  throw new Error(`no line starting with ${start}`);
}

const CHECK1 = 'check = { targets = ["198.51.100.10", "203.0.113.2"] }';

describe.skipIf(!!skip)(`policies, destination routes and ISP DNS end to end${skip ? ` (skipped: ${skip})` : ''}`, () => {
  beforeAll(() => {
    if (!existsSync(dist('ip-up'))) throw new Error('dist/ip-up is missing: run `npm run build` (npm test does)');
  });
  afterEach(async () => {
    await lab?.destroy();
    lab = undefined;
  });

  const MAIL = `
[[policy]]
name = "mail"
protocol = "tcp"
dst_port = [25, "8000-8100"]
via = ["isp1", "isp2"]
`;

  it('a dst_port policy sends port 25 (and its range) through isp1 while the weights prefer isp2 200:1', async () => {
    const l = await newLab(links(1, 200) + MAIL);
    await startServer(l, { whoami: [25, 8050] });
    await up(l, 'ppp0');
    await up(l, 'ppp1');

    expect(await seen(l, { port: 25, count: 20 })).toEqual({ counts: { [l.addr.ppp0Local]: 20 }, errors: [] });
    expect(await seen(l, { port: 8050, count: 20 })).toEqual({ counts: { [l.addr.ppp0Local]: 20 }, errors: [] });
    const other = await seen(l, { port: 7000, count: 20 });
    expect(other.errors).toEqual([]);
    expect(other.counts[l.addr.ppp1Local] ?? 0).toBeGreaterThanOrEqual(15);
    await noSpoofing(l);
  });

  it('the same policy decides the router’s own new connections: port 25 from the router leaves through isp1', async () => {
    const l = await newLab(links(1, 200) + MAIL);
    await startServer(l, { whoami: [25] });
    await up(l, 'ppp0');
    await up(l, 'ppp1');
    // An unbound socket of the router takes its source address from the first
    // route lookup (the balanced route, 200:1 for ppp1: 100.64.2.2). The
    // output chain's policy mark must still re-route the connection through
    // isp1, where masquerade gives it ppp0's address.
    expect(await seen(l, { port: 25, count: 10, from: l.ns.rtr })).toEqual({ counts: { [l.addr.ppp0Local]: 10 }, errors: [] });
    const other = await seen(l, { port: 7000, count: 10, from: l.ns.rtr });
    expect(other.errors).toEqual([]);
    expect(other.counts[l.addr.ppp1Local] ?? 0).toBeGreaterThanOrEqual(7);
    await noSpoofing(l);
  });

  it('first match wins in file order; iif and an @file src narrow a policy', async () => {
    const l = await newLab('');
    const hosts = await writeEtc(l, 'lan-hosts.txt', `# the client only\n${l.addr.client}/32\n`);
    await l.writeConfig(`${links(1, 1)}
[[policy]]
name = "client-to-server-25"
iif = "lan0"
src = ["@${hosts}"]
dst = ["${l.addr.server}/32"]
protocol = "tcp"
dst_port = [25]
via = ["isp2", "isp1"]

[[policy]]
name = "all-25"
protocol = "tcp"
dst_port = [25]
via = ["isp1", "isp2"]
`);
    await addServerAddress(l, ROUTED.addr);
    await startServer(l, { whoami: [25] });
    await up(l, 'ppp0');
    await up(l, 'ppp1');
    // Both policies match: the first decides.
    expect(await seen(l, { port: 25, count: 20 })).toEqual({ counts: { [l.addr.ppp1Local]: 20 }, errors: [] });
    // Another destination: only the second matches.
    expect(await seen(l, { host: ROUTED.addr, port: 25, count: 20 })).toEqual({ counts: { [l.addr.ppp0Local]: 20 }, errors: [] });
    // Another LAN source, not in the @file: only the second matches.
    await l.exec(l.ns.lan, ['ip', 'addr', 'add', '192.168.10.3/24', 'dev', 'eth0']);
    expect(await seen(l, { port: 25, count: 20, from: '192.168.10.3' })).toEqual({ counts: { [l.addr.ppp0Local]: 20 }, errors: [] });
    await noSpoofing(l);
  });

  it('fallback "default": with isp1 silently dead and taken out by the monitor, port 25 goes through isp2', async () => {
    const l = await newLab(links(1, 200, CHECK1) + MAIL);
    await startServer(l, { whoami: [25] });
    await up(l, 'ppp0');
    await up(l, 'ppp1');
    const monitor = await startMonitor(l);
    expect(await seen(l, { port: 25, count: 5 })).toEqual({ counts: { [l.addr.ppp0Local]: 5 }, errors: [] });

    await ispFault(l, 'isp1', 'drop');
    const out = await within(5000, async () => !(await balance(l)).includes('ppp0') && (await policiesChain(l)).includes('"mail via isp2"'));
    expect(out, `ppp0 left table 200 and the policy turned to isp2; monitor said:\n${monitor.lines.join('\n')}`).toBeDefined();
    // The monitor logs the transition once it is applied: the kernel can be seen first.
    expect(await monitor.waitLine((line) => line.startsWith('isp1 (ppp0): out of service: no reply'), 2000)).toBeDefined();

    expect(await seen(l, { port: 25, count: 20 })).toEqual({ counts: { [l.addr.ppp1Local]: 20 }, errors: [] });
    expect(await seen(l, { port: 25, count: 5, from: l.ns.rtr })).toEqual({ counts: { [l.addr.ppp1Local]: 5 }, errors: [] });
    expect(await spoofDrops(l, 'isp2')).toBe(0);
  });

  it('fallback "unreachable": while isp1 is out (cable cut), port 25 is refused at once, other traffic flows; it returns with isp1', async () => {
    const policy = `
[[policy]]
name = "mail-isp1-only"
protocol = "tcp"
dst_port = [25]
via = ["isp1"]
fallback = "unreachable"
`;
    const l = await newLab(links(1, 200, CHECK1) + policy);
    await startServer(l, { whoami: [25] });
    await up(l, 'ppp0');
    await up(l, 'ppp1');
    const monitor = await startMonitor(l);
    expect(await seen(l, { port: 25, count: 5 })).toEqual({ counts: { [l.addr.ppp0Local]: 5 }, errors: [] });

    await l.carrier('ppp0', false);
    const out = await within(3000, async () =>
      (await policiesChain(l)).includes('"mail-isp1-only: no link in service, unreachable"') && !(await balance(l)).includes('ppp0'));
    expect(out, `ppp0 left table 200 and the policy turned to reject; monitor said:\n${monitor.lines.join('\n')}`).toBeDefined();

    const started = Date.now();
    const refused = await seen(l, { port: 25, count: 5, timeoutMs: 3000 });
    const took = Date.now() - started;
    expect(refused.counts).toEqual({ error: 5 });
    expect(refused.errors).toEqual(Array(5).fill('EHOSTUNREACH'));
    expect(took, 'refused, not timed out').toBeLessThan(2000);
    const own = await seen(l, { port: 25, count: 2, timeoutMs: 3000, from: l.ns.rtr });
    expect(own.counts, 'the router’s own connection is refused too').toEqual({ error: 2 });
    expect(own.errors.some((e) => e.startsWith('timeout')), own.errors.join()).toBe(false);
    expect(await seen(l, { port: 7000, count: 10 })).toEqual({ counts: { [l.addr.ppp1Local]: 10 }, errors: [] });

    await l.carrier('ppp0', true);
    const back = await within(5000, async () =>
      (await policiesChain(l)).includes('"mail-isp1-only via isp1"') && (await balance(l)).includes('ppp0'));
    expect(back, `isp1 back in service; monitor said:\n${monitor.lines.join('\n')}`).toBeDefined();
    expect(await seen(l, { port: 25, count: 10 })).toEqual({ counts: { [l.addr.ppp0Local]: 10 }, errors: [] });
    await noSpoofing(l);
  });

  it('a src_port policy puts a LAN web server on the "VPN" (isp2): inbound answered on the link it came in on, outbound from port 8080 through isp2', async () => {
    const policy = `
[[policy]]
name = "web-over-vpn"
src = ["192.168.10.0/24"]
src_port = [8080]
via = ["isp2"]
`;
    const l = await newLab(links(200, 1) + policy);
    await up(l, 'ppp0');
    await up(l, 'ppp1');

    // (a) The web server (LAN 8080) forwarded on both WAN addresses: each
    // connection is answered through the link it arrived on, whatever the
    // policy would choose for a new one.
    await addPortForward(l, { wanAddr: l.addr.ppp1Local });
    await addPortForward(l, { wanAddr: l.addr.ppp0Local });
    const viaVpn = [];
    const viaIsp1 = [];
    for (let i = 0; i < 10; i++) viaVpn.push(await connectFromServer(l, l.addr.ppp1Local, 8080, { timeoutMs: 2000 }));
    for (let i = 0; i < 5; i++) viaIsp1.push(await connectFromServer(l, l.addr.ppp0Local, 8080, { timeoutMs: 2000 }));
    expect(viaVpn.map((r) => r.reply ?? r.error)).toEqual(Array(10).fill(l.addr.server));
    expect(viaIsp1.map((r) => r.reply ?? r.error)).toEqual(Array(5).fill(l.addr.server));
    await noSpoofing(l);
    await removePortForwards(l); // frees the LAN's port 8080 for (b)

    // (b) What the policy alone decides: a connection the LAN host opens from
    // port 8080 leaves through isp2; the rest mostly through isp1.
    expect(await seen(l, { sport: 8080, count: 10 })).toEqual({ counts: { [l.addr.ppp1Local]: 10 }, errors: [] });
    const other = await seen(l, { count: 20 });
    expect(other.errors).toEqual([]);
    expect(other.counts[l.addr.ppp0Local] ?? 0).toBeGreaterThanOrEqual(15);
    await noSpoofing(l);
  });

  it('routes_file: 2,000 prefixes routed through isp2 while it is up; after its ip-down they are gone and the traffic takes isp1', async () => {
    const l = await newLab('');
    const lines = ['# isp2 destinations (generated)', ''];
    for (let i = 0; i < 1999; i++) {
      if (i === 1000) lines.push(ROUTED.prefix);
      lines.push(`172.${16 + (i >> 7)}.${(i & 127) * 2}.0/24`);
    }
    const file = await writeEtc(l, 'isp2-prefixes.txt', `${lines.join('\n')}\n`);
    await l.writeConfig(links(200, 1, '', `routes_file = "${file}"`));
    await addServerAddress(l, ROUTED.addr);
    await up(l, 'ppp0');
    await up(l, 'ppp1');

    const table = await balance(l);
    expect(table.trimEnd().split('\n').length).toBeGreaterThanOrEqual(2000);
    expect(table).toMatch(new RegExp(`^${ROUTED.prefix.replace(/\./g, '\\.')} dev ppp1 `, 'm'));
    expect(await seen(l, { host: ROUTED.addr, count: 20 })).toEqual({ counts: { [l.addr.ppp1Local]: 20 }, errors: [] });
    const other = await seen(l, { count: 20 });
    expect(other.errors).toEqual([]);
    expect(other.counts[l.addr.ppp0Local] ?? 0).toBeGreaterThanOrEqual(15);

    await l.carrier('ppp1', false);
    await down(l, 'ppp1');
    const after = await balance(l);
    expect(after).not.toContain(ROUTED.prefix);
    expect(after).not.toContain('172.16.');
    expect(after.trimEnd().split('\n')).toHaveLength(1); // the default through ppp0
    expect(await seen(l, { host: ROUTED.addr, count: 20 })).toEqual({ counts: { [l.addr.ppp0Local]: 20 }, errors: [] });
    await noSpoofing(l);
  });

  it('dns: the ISP’s resolver is reached through that ISP (UDP and TCP, from the LAN and from the router) while the weights prefer the other', async () => {
    const l = await newLab(links(1, 200, `dns = ["${DNS}"]`));
    await addServerAddress(l, DNS);
    await startServer(l, { udp: [53], whoami: [53], host: DNS });
    await up(l, 'ppp0');
    await up(l, 'ppp1');
    expect(await sh(l, ['ip', 'rule'])).toMatch(new RegExp(`to ${DNS.replace(/\./g, '\\.')} lookup 201`));

    expect(await seen(l, { udp: true, host: DNS, port: 53, count: 20 })).toEqual({ counts: { [l.addr.ppp0Local]: 20 }, errors: [] });
    expect(await seen(l, { host: DNS, port: 53, count: 10 })).toEqual({ counts: { [l.addr.ppp0Local]: 10 }, errors: [] });
    expect(await seen(l, { udp: true, host: DNS, port: 53, count: 5, from: l.ns.rtr })).toEqual({
      counts: { [l.addr.ppp0Local]: 5 },
      errors: [],
    });
    const other = await seen(l, { count: 20 });
    expect(other.errors).toEqual([]);
    expect(other.counts[l.addr.ppp1Local] ?? 0).toBeGreaterThanOrEqual(15);
    await noSpoofing(l);
  });

  it('a policy whose dst is an @file of 10,000 prefixes loads as one set and routes traffic to one of them through its link', async () => {
    const l = await newLab('');
    const lines: string[] = [];
    for (let i = 0; i < 9999; i++) {
      if (i === 5000) lines.push(LISTED.prefix);
      lines.push(`10.${i >> 7}.${(i & 127) * 2}.0/24`); // never adjacent, so nft cannot merge them
    }
    const file = await writeEtc(l, 'isp1-dst.txt', `${lines.join('\n')}\n`);
    await l.writeConfig(`${links(1, 200)}
[[policy]]
name = "big-list"
dst = ["@${file}"]
via = ["isp1"]
`);
    await addServerAddress(l, LISTED.addr);
    await up(l, 'ppp0');
    await up(l, 'ppp1');

    const chain = await policiesChain(l);
    expect(chain).toContain('"big-list via isp1"');
    expect(chain).toContain(LISTED.prefix);
    expect(chain.match(/\b\d+\.\d+\.\d+\.\d+\/\d+/g)).toHaveLength(10_000);
    expect(chain.match(/big-list via isp1/g)).toHaveLength(1); // one rule, not ten thousand

    expect(await seen(l, { host: LISTED.addr, count: 20 })).toEqual({ counts: { [l.addr.ppp0Local]: 20 }, errors: [] });
    const other = await seen(l, { count: 20 });
    expect(other.errors).toEqual([]);
    expect(other.counts[l.addr.ppp1Local] ?? 0).toBeGreaterThanOrEqual(15);
    await noSpoofing(l);
  });

  describe('bad policy input through the hook: one line with file:line, exit 1, and the routing in place stays', () => {
    const GOOD = links(1, 1) + MAIL;
    const CONFIG = '/etc/multiwan/multiwan.toml';
    const second = (body: string) => `${GOOD}
[[policy]]
name = "second"
${body}
`;
    const cases: Array<{
      name: string;
      body: string;
      files?: Record<string, string>;
      expected: (toml: string) => string;
    }> = [
      {
        name: 'a policy naming an unknown link',
        body: 'via = ["isp1", "isp3"]',
        expected: (t) => `${CONFIG}:${lineOf(t, 'via')}: policy.1.via.1: unknown link "isp3"; the links are isp1, isp2`,
      },
      {
        name: 'overlapping port ranges',
        body: 'protocol = "tcp"\ndst_port = [25, "8000-8100", "8050-8060"]\nvia = ["isp2"]',
        expected: (t) => `${CONFIG}:${lineOf(t, 'dst_port')}: policy.1.dst_port: 8050-8060 overlaps 8000-8100; list each port once`,
      },
      {
        name: 'an @file that is missing',
        body: 'dst = ["@/etc/multiwan/missing.txt"]\nvia = ["isp2"]',
        expected: (t) =>
          `${CONFIG}:${lineOf(t, 'dst')}: policy.1.dst.0: cannot read /etc/multiwan/missing.txt (ENOENT); create it (one prefix a line) or fix the path`,
      },
      {
        name: 'an @file with a malformed line',
        body: 'dst = ["@/etc/multiwan/list.txt"]\nvia = ["isp2"]',
        files: { 'list.txt': '# customers\n10.1.0.0/24\n\n10.2.0.0/33\n10.3.0.0/24\n' },
        expected: () => '/etc/multiwan/list.txt:4: "10.2.0.0/33" has a prefix length that is not 0 to 32; one prefix a line, # for comments',
      },
      {
        name: 'a port out of range (70000)',
        body: 'protocol = "tcp"\ndst_port = [70000]\nvia = ["isp2"]',
        expected: (t) => `${CONFIG}:${lineOf(t, 'dst_port')}: policy.1.dst_port.0: 70000 is not a port (1-65535) or a range like "8000-8100"`,
      },
    ];

    it.each(cases)('$name', async ({ body, files, expected }) => {
      const l = await newLab(GOOD);
      await up(l, 'ppp0');
      const before = await l.snapshot();
      expect(before.nft).toContain('"mail via isp1"');
      for (const [name, text] of Object.entries(files ?? {})) await writeEtc(l, name, text);
      const toml = second(body);
      await l.writeConfig(toml);

      const result = await l.ppp('up', 'ppp1');
      const output = result.stdout + result.stderr;
      expect(result.hookFailed).toBe(true);
      expect(output).toMatch(/exited with return code 1/);
      const ours = output.split('\n').filter((line) => line.startsWith('ip-up:'));
      expect(ours, output).toHaveLength(1);
      expect(ours[0]).toBe(`ip-up: ${expected(toml)}`);
      expect(await l.snapshot()).toEqual(before);
    });
  });
});
