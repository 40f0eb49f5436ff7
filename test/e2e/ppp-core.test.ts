// End to end, issue 2: the built bundles run as pppd runs them (through
// Debian's /etc/ppp/ip-up and run-parts, cleared environment) in a router
// namespace between a LAN client, two ISPs that drop any source but their
// customer's, and an internet server that reports the source it sees.
import { existsSync } from 'node:fs';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  addPortForward,
  connectFromServer,
  needsRoot,
  productEnv,
  spoofDrops,
  startStream,
  type Lab,
} from '../lab/lab.js';
import { dist, labWithHooks, ppp, sleep } from './helpers.js';

const skip = needsRoot();

const config = (w1: number, w2: number) => `
lan = ["192.168.10.0/24"]

[link.isp1]
interface = "ppp0"
weight = ${w1}

[link.isp2]
interface = "ppp1"
weight = ${w2}
`;

let lab: Lab | undefined;
async function newLab(links: 1 | 2, toml: string): Promise<Lab> {
  lab = await labWithHooks(links, toml);
  return lab;
}
const up = (l: Lab, iface: 'ppp0' | 'ppp1') => ppp(l, 'up', iface);
const down = (l: Lab, iface: 'ppp0' | 'ppp1') => ppp(l, 'down', iface);

/** `multiwan` by hand in the router, with the lab's config and state. */
function multiwan(l: Lab, args: string[]) {
  return l.exec(l.ns.rtr, [dist('multiwan'), ...args], { env: productEnv(l), reject: false });
}

describe.skipIf(!!skip)(`pppd hooks end to end${skip ? ` (skipped: ${skip})` : ''}`, () => {
  beforeAll(() => {
    if (!existsSync(dist('ip-up'))) throw new Error('dist/ip-up is missing: run `npm run build` (npm test does)');
  });
  afterEach(async () => {
    await lab?.destroy();
    lab = undefined;
  });

  it('one link: the client reaches the server and the server sees ppp0’s address', async () => {
    const l = await newLab(1, `lan = ["192.168.10.0/24"]\n[link.isp1]\ninterface = "ppp0"\n`);
    expect(await l.whoami({ count: 3, timeoutMs: 1000 })).toEqual({ error: 3 }); // no route before ip-up
    const result = await up(l, 'ppp0');
    expect(result.stdout).toContain('multiwan: isp1 (ppp0) up; in service: isp1');
    expect(await l.whoami({ count: 20 })).toEqual({ [l.addr.ppp0Local]: 20 });
    // The router's own traffic leaves by the link with its address too.
    expect(await l.whoami({ count: 5, from: l.ns.rtr })).toEqual({ [l.addr.ppp0Local]: 5 });
  });

  it('two links weighted 8:2: isp1 carries 70–90% of 400 new connections, and no packet leaves with the wrong source', async () => {
    const l = await newLab(2, config(8, 2));
    await up(l, 'ppp0');
    await up(l, 'ppp1');
    const seen = await l.whoami({ count: 400, timeoutMs: 3000 });
    expect(seen.error ?? 0).toBe(0);
    const share = (seen[l.addr.ppp0Local] ?? 0) / 400;
    expect(share).toBeGreaterThanOrEqual(0.7);
    expect(share).toBeLessThanOrEqual(0.9);
    expect(seen[l.addr.ppp1Local]).toBeGreaterThan(0);
    expect(await spoofDrops(l, 'isp1')).toBe(0);
    expect(await spoofDrops(l, 'isp2')).toBe(0);
  });

  it('pinning: a long TCP stream through isp2 keeps flowing while isp1 goes down and up and the weights change', async () => {
    const l = await newLab(2, config(100, 1));
    await up(l, 'ppp1');
    const stream = await startStream(l);
    expect((await stream.stats()).seenAs).toBe(l.addr.ppp1Local);

    await up(l, 'ppp0'); // the balanced route now prefers isp1 100:1
    expect(await l.whoami({ count: 20 })).toMatchObject({ [l.addr.ppp0Local]: expect.any(Number) });
    await sleep(500);
    await l.carrier('ppp0', false);
    await down(l, 'ppp0');
    await sleep(500);
    await l.carrier('ppp0', true);
    await up(l, 'ppp0');
    await sleep(500);
    await l.writeConfig(config(250, 1));
    const applied = await multiwan(l, ['apply']);
    expect(applied.exitCode, applied.stderr).toBe(0);
    await sleep(1000);

    const stats = await stream.stop();
    expect(stats.error).toBeUndefined();
    expect(stats.seenAs).toBe(l.addr.ppp1Local);
    expect(stats.maxGapMs).toBeLessThan(1000);
    expect(stats.gaps).toBe(0);
    expect(stats.lines).toBeGreaterThan(100);
    expect(await spoofDrops(l, 'isp1')).toBe(0);
  });

  it('inbound: connections arriving on ppp1 are answered through ppp1 while the default prefers ppp0', async () => {
    const l = await newLab(2, config(250, 1));
    await up(l, 'ppp0');
    await up(l, 'ppp1');
    await addPortForward(l, { wanAddr: l.addr.ppp1Local });
    const results = [];
    for (let i = 0; i < 10; i++) results.push(await connectFromServer(l, l.addr.ppp1Local, 8080, { timeoutMs: 2000 }));
    expect(results.map((r) => r.reply ?? r.error)).toEqual(Array(10).fill(l.addr.server));
    expect(await spoofDrops(l, 'isp1')).toBe(0);
  });

  it('idempotent and exact: ip-up twice changes nothing; ip-down of every link restores the snapshot taken before', async () => {
    const l = await newLab(2, config(8, 2));
    const pristine = await l.snapshot();
    await up(l, 'ppp0');
    await up(l, 'ppp1');
    const once = await l.snapshot();
    expect(once.rules).toContain('fwmark 0x200/0x3f00 lookup 202');
    await up(l, 'ppp0');
    await up(l, 'ppp1');
    expect(await l.snapshot()).toEqual(once);
    await down(l, 'ppp1');
    await down(l, 'ppp0');
    expect(await l.snapshot()).toEqual(pristine);
  });

  it('multiwan down (what install.sh --uninstall runs) removes every route, rule and the nft table, and forgets the links', async () => {
    const l = await newLab(2, config(8, 2));
    const pristine = await l.snapshot();
    await up(l, 'ppp0');
    await up(l, 'ppp1');
    const result = await multiwan(l, ['down']);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(await l.snapshot()).toEqual(pristine);
    expect((await multiwan(l, ['status'])).stdout).toMatch(/^isp1\s+ppp0\s+-\s+\d+\s+\d+\s+never seen/m);
  });

  it('concurrent: ip-up of ppp0 and ppp1 started at the same instant, 20 times, always ends with both links in service', async () => {
    const l = await newLab(2, config(8, 2));
    for (let round = 0; round < 20; round++) {
      const [a, b] = await Promise.all([l.ppp('up', 'ppp0'), l.ppp('up', 'ppp1')]);
      expect(a.hookFailed || b.hookFailed, `round ${round}: ${a.stderr}${b.stderr}`).toBe(false);
      const balance = await l.exec(l.ns.rtr, ['ip', 'route', 'show', 'table', '200']);
      expect(balance.stdout, `round ${round}`).toMatch(/nexthop dev ppp0 weight 8[\s\S]*nexthop dev ppp1 weight 2/);
      const rules = await l.exec(l.ns.rtr, ['ip', 'rule']);
      expect(rules.stdout).toContain('fwmark 0x100/0x3f00 lookup 201');
      expect(rules.stdout).toContain('fwmark 0x200/0x3f00 lookup 202');
      const status = await multiwan(l, ['status']);
      expect(status.stdout.match(/^isp[12] .* in service  /gm), status.stdout).toHaveLength(2);
      expect(status.exitCode).toBe(0);
      const [c, d] = await Promise.all([l.ppp('down', 'ppp0'), l.ppp('down', 'ppp1')]);
      expect(c.hookFailed || d.hookFailed).toBe(false);
      expect((await l.exec(l.ns.rtr, ['ip', 'rule'])).stdout).not.toContain('fwmark');
    }
  });

  describe('bad input: one clear line, a non-zero exit, and the routing in place stays as it was', () => {
    it.each([
      ['a local address that is not one', ['ppp0', '/dev/ttyS0', '115200', '100.64.1.300', '100.64.1.1', ''], /argument 4 \(local address\) "100\.64\.1\.300" is not an IPv4 address/],
      ['a remote address that is not one', ['ppp0', '/dev/ttyS0', '115200', '100.64.1.2', 'peer', ''], /argument 5 \(remote address\) "peer"/],
      ['an interface name with "/"', ['ppp/0', '/dev/ttyS0', '115200', '100.64.1.2', '100.64.1.1', ''], /argument 1 \(interface\) "ppp\/0" is not a valid interface name/],
      ['an interface name with a space', ['ppp 0', '/dev/ttyS0', '115200', '100.64.1.2', '100.64.1.1', ''], /argument 1 \(interface\) "ppp 0"/],
      ['an interface name over 15 characters', ['ppp0123456789abc', '/dev/ttyS0', '115200', '100.64.1.2', '100.64.1.1', ''], /"ppp0123456789abc" is not a valid interface name/],
    ])('%s', async (_name, args, message) => {
      const l = await newLab(2, config(8, 2));
      await up(l, 'ppp0');
      await up(l, 'ppp1');
      const before = await l.snapshot();
      const result = await l.ppp('up', 'ppp0', { args });
      expect(result.hookFailed).toBe(true);
      expect(result.stdout + result.stderr).toMatch(/exited with return code 1/);
      const ours = (result.stdout + result.stderr).split('\n').filter((line) => line.startsWith('ip-up:'));
      expect(ours).toHaveLength(1);
      expect(ours[0]).toMatch(message);
      expect(await l.snapshot()).toEqual(before);
    });

    it('a broken config: file:line, key and fix in one line; the routing stays', async () => {
      const l = await newLab(2, config(8, 2));
      await up(l, 'ppp0');
      const before = await l.snapshot();
      await l.writeConfig(config(8, 0));
      const result = await l.ppp('up', 'ppp1');
      expect(result.hookFailed).toBe(true);
      const ours = (result.stdout + result.stderr).split('\n').filter((line) => line.startsWith('ip-up:'));
      expect(ours).toEqual([
        'ip-up: /etc/multiwan/multiwan.toml:10: link.isp2.weight: must be a whole number from 1 to 256 (a weight of 0 or less carries nothing); set weight = 1 or more',
      ]);
      expect(await l.snapshot()).toEqual(before);
      expect((await multiwan(l, ['status'])).stderr).toContain('multiwan.toml:10: link.isp2.weight');
    });

    it('an interface no link names: exit 0, nothing touched', async () => {
      const l = await newLab(2, `lan = ["192.168.10.0/24"]\n[link.isp1]\ninterface = "ppp0"\n`);
      const before = await l.snapshot();
      const result = await up(l, 'ppp1');
      expect(result.stdout + result.stderr).not.toContain('exited with return code');
      expect(await l.snapshot()).toEqual(before);
    });
  });
});
