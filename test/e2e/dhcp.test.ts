// End to end, issue 8 (DHCP links): the REAL dhclient (isc-dhcp-client,
// running /sbin/dhclient-script) and dhcpcd (dhcpcd-base, running
// dhcpcd-run-hooks) in the lab's router sandbox, against dnsmasq or dhcpd in
// the ISP namespaces, with the product's own fragments installed where the
// clients source them (hooks/dhclient-enter-hook, hooks/dhclient-exit-hook,
// hooks/dhcpcd-hook) and the built dist/dhcp-hook at /usr/lib/multiwan. The
// clients give the hook the environment they build themselves: the sandbox
// starts them with PATH only and the test adds nothing (the config and the
// state are found at /etc/multiwan and /run/multiwan, bound to the lab's).
// Every claim is checked by real traffic (the source address the server saw;
// each ISP drops any source but its customer's) and by the kernel's tables.
//
// One lab per client, reused step by step (each step starts where the last
// one left the router); a failed step makes the following ones of its group
// fail too, with their own message.
import { existsSync } from 'node:fs';
import { readdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ADDR6,
  createLab,
  DHCPCD_CONF,
  installRecorder,
  needsTools,
  ppp6,
  readRecords,
  sandboxExec,
  sandboxInstall,
  sandboxPath,
  spoofDrops,
  startDhclient,
  startDhcpcd,
  startIspDhcp,
  stopIspDhcp,
  waitRecord,
  whoamiDetailed,
  type DhcpClient,
  type ExecResult,
  type HookRecord,
  type IspRole,
  type Lab,
  type Uplink,
} from '../lab/lab.js';
import { dist, within } from './helpers.js';

const skip = needsTools('dhclient', 'dhcpcd', 'dnsmasq', 'dhcpd');
const skip6 = skip ?? needsTools('ipv6up');

const HOOKS = path.resolve('hooks');
const FRAGMENTS = {
  dhclient: {
    '/etc/dhcp/dhclient-enter-hooks.d/multiwan': path.join(HOOKS, 'dhclient-enter-hook'),
    '/etc/dhcp/dhclient-exit-hooks.d/multiwan': path.join(HOOKS, 'dhclient-exit-hook'),
  },
  dhcpcd: { '/usr/lib/dhcpcd/dhcpcd-hooks/62-multiwan': path.join(HOOKS, 'dhcpcd-hook') },
} as const;
type Client = keyof typeof FRAGMENTS;

/** A config multiwan cannot read: every hook call then fails (exit 1) before touching the kernel. */
const BROKEN_CONFIG = '[link.isp1\ninterface = "ppp0"\n';

/** How long a DHCP exchange (DISCOVER to the hook's return) may take on a loaded machine. */
const LEASE_MS = 20_000;

/** The bundles, the fragments, and a config naming the links on these interfaces (equal weights). */
async function installProduct(lab: Lab, client: Client, ifaces: Record<string, string>): Promise<void> {
  await lab.installHooks(dist('ip-up'), dist('ip-down'));
  await sandboxInstall(lab, '/usr/lib/multiwan/dhcp-hook', dist('dhcp-hook'));
  await installFragments(lab, client);
  await lab.writeConfig(config(ifaces));
}

const config = (ifaces: Record<string, string>) =>
  `lan = ["192.168.10.0/24"]\n${Object.entries(ifaces).map(([name, iface]) => `\n[link.${name}]\ninterface = "${iface}"\n`).join('')}`;

/** The fragments, installed as Debian's packages of multiwan would (sourced files: not executable). */
async function installFragments(lab: Lab, client: Client): Promise<void> {
  for (const [installed, from] of Object.entries(FRAGMENTS[client])) await sandboxInstall(lab, installed, from, 0o644);
}

async function removeFragments(lab: Lab, client: Client): Promise<void> {
  for (const installed of Object.keys(FRAGMENTS[client])) await rm(sandboxPath(lab, installed), { force: true });
}

const rtr = async (lab: Lab, argv: string[]) => (await lab.exec(lab.ns.rtr, argv)).stdout;

/** The IPv4 address the client configured on `iface` (undefined: none). */
async function leased(lab: Lab, iface: string): Promise<string | undefined> {
  return /inet (\d+\.\d+\.\d+\.\d+)\//.exec(await rtr(lab, ['ip', '-4', '-o', 'addr', 'show', 'dev', iface]))?.[1];
}

/** What multiwan owns in the kernel: its routes (proto 242, every table), the rules, its nft table (counters aside). */
async function multiwanKernel(lab: Lab): Promise<string> {
  const [routes, rules, nft] = await Promise.all([
    rtr(lab, ['ip', '-4', 'route', 'show', 'table', 'all', 'proto', '242']),
    rtr(lab, ['ip', '-4', 'rule']),
    rtr(lab, ['nft', 'list', 'ruleset']),
  ]);
  // The counters count whatever crosses the links meanwhile; the rest is the ruleset multiwan planned.
  return `${rules}\n${routes}\n${nft.replace(/packets \d+ bytes \d+/g, 'packets N bytes N')}`;
}

/** A table's lines, trimmed and sorted. */
const lines = (text: string) => text.split('\n').map((l) => l.trim()).filter(Boolean).sort();

const table = (lab: Lab, t: number) => rtr(lab, ['ip', '-4', 'route', 'show', 'table', String(t)]);
const mainTable = (lab: Lab) => rtr(lab, ['ip', '-4', 'route', 'show', 'table', 'main']);

/** `count` new connections from the LAN client: the source address the server saw -> count. */
async function seen(lab: Lab, count = 24): Promise<Record<string, number>> {
  return (await whoamiDetailed(lab, { count, timeoutMs: 3000 })).counts;
}

/** Which link tables multiwan's rules point at (fwmark and from rules). */
const ruleTables = async (lab: Lab) => [...(await rtr(lab, ['ip', '-4', 'rule'])).matchAll(/lookup (\d+)/g)].map((m) => Number(m[1]));

/** A line of the client's output, from index `from` on (the hooks' stdout and stderr reach it too). */
const hookLine = (client: DhcpClient, line: string | RegExp | ((l: string) => boolean), from = 0, timeoutMs = LEASE_MS) =>
  client.process.waitLine((l) => (typeof line === 'string' ? l === line : typeof line === 'function' ? line(l) : line.test(l)), timeoutMs, from);

/** A balanced default with exactly these next hops (`dev ppp0`, `via 100.64.2.1 dev eth2`), one route. */
function expectBalanced(text: string, hops: string[]): void {
  expect(text.match(/^default/gm), text).toHaveLength(1);
  if (hops.length === 1) {
    expect(text, text).toMatch(new RegExp(`^default ${hops[0]!.replace(/\./g, '\\.')} `, 'm'));
    return;
  }
  const found = [...text.matchAll(/nexthop (.+?) weight/g)].map((m) => m[1]);
  expect(found.sort()).toEqual([...hops].sort());
}

describe.skipIf(!!skip)(`dhclient end to end${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let lab: Lab;
  let eth2: Uplink;
  let eth3: Uplink;
  let eth4: Uplink;
  let ppp0Local: string;
  /** eth2's lease while it lasts, eth3's. */
  let lease2 = '';
  let lease3 = '';
  let dhcp2: DhcpClient;
  let dhcp3: DhcpClient;

  beforeAll(async () => {
    if (!existsSync(dist('dhcp-hook'))) throw new Error('dist/dhcp-hook is missing: run `npm run build` (npm test does)');
    // isp1: PPP; isp2: dnsmasq, renewals every 2-3 s; isp3: dhcpd with a 12 s lease (dnsmasq's minimum is 120 s), for
    // EXPIRE; isp4: dnsmasq on an interface no link of the config names.
    lab = await createLab({
      uplinks: [
        'ppp',
        { kind: 'dhcp', dhcp: { renewSeconds: 2, rebindSeconds: 4 } },
        { kind: 'dhcp', dhcp: { v4: 'dhcpd', leaseSeconds: 12 } },
        'dhcp',
      ],
    });
    [, eth2, eth3, eth4] = lab.uplinks as [Uplink, Uplink, Uplink, Uplink];
    ppp0Local = lab.uplinks[0]!.v4.local;
    await installProduct(lab, 'dhclient', { isp1: 'ppp0', isp2: 'eth2', isp3: 'eth3' });
    const up = await lab.ppp('up', 'ppp0');
    expect(up.hookFailed, up.stdout + up.stderr).toBe(false);
  });

  afterAll(async () => {
    await lab?.destroy();
  });

  const start = (iface: string) => startDhclient(lab, iface);

  it('BOUND brings the DHCP link into service beside ppp0: the server sees the leased address for some connections, ppp0’s for others', async () => {
    dhcp2 = await start('eth2');
    const line = await hookLine(dhcp2, 'multiwan: isp2 (eth2) up; in service: isp1, isp2');
    expect(line, dhcp2.process.lines.join('\n')).toBeDefined();
    lease2 = (await leased(lab, 'eth2')) ?? '';
    expect(lease2).toMatch(/^100\.64\.2\.1\d\d$/);
    // The link's own table goes via the router the lease named; its rules point at it.
    expect(await table(lab, 202)).toMatch(new RegExp(`^default via ${eth2.v4.gateway} dev eth2 proto 242 src ${lease2}`, 'm'));
    expect(await rtr(lab, ['ip', '-4', 'rule'])).toContain(`from ${lease2} lookup 202`);
    expectBalanced(await table(lab, 200), ['dev ppp0', `via ${eth2.v4.gateway} dev eth2`]);
    // The enter hook withheld the router from dhclient-script: main has no default route.
    expect(await mainTable(lab)).not.toMatch(/^default/m);

    const s = await seen(lab);
    expect(Object.keys(s).sort()).toEqual([ppp0Local, lease2].sort());
    expect(await spoofDrops(lab, 'isp1')).toBe(0);
    expect(await spoofDrops(lab, 'isp2')).toBe(0);
  });

  it('a renewal naming the ISP’s second router re-plans: the link’s table and the balanced default go via it, traffic still flows', async () => {
    const from = dhcp2.process.lines.length;
    await startIspDhcp(lab, 'isp2', { router: eth2.v4.gateway2 }); // the next RENEW (T1 2 s) carries it
    const moved = await within(LEASE_MS, async () => (await table(lab, 202)).includes(`default via ${eth2.v4.gateway2} dev eth2`), 200);
    expect(moved, dhcp2.process.lines.slice(from).join('\n')).toBeDefined();
    // dhclient renewed the same address (RENEW, not a new BOUND): the address did not change.
    expect(await hookLine(dhcp2, (l) => l.startsWith(`bound to ${lease2} `), from, 5000)).toBeDefined();
    expect(await leased(lab, 'eth2')).toBe(lease2);
    expect(lines(await table(lab, 202))).toEqual([
      `${eth2.v4.gateway2} dev eth2 proto 242 scope link src ${lease2}`,
      `default via ${eth2.v4.gateway2} dev eth2 proto 242 src ${lease2}`,
    ]);
    expectBalanced(await table(lab, 200), ['dev ppp0', `via ${eth2.v4.gateway2} dev eth2`]);
    expect(await mainTable(lab)).not.toMatch(/^default/m);
    const s = await seen(lab);
    expect(Object.keys(s).sort()).toEqual([ppp0Local, lease2].sort());
  });

  it('two DHCP links at once: one balanced default over both (and ppp0), and main holds no default route', async () => {
    dhcp3 = await start('eth3');
    expect(await hookLine(dhcp3, 'multiwan: isp3 (eth3) up; in service: isp1, isp2, isp3'), dhcp3.process.lines.join('\n')).toBeDefined();
    lease3 = (await leased(lab, 'eth3')) ?? '';
    expect(lease3).toMatch(/^100\.64\.3\.1\d\d$/);
    expectBalanced(await table(lab, 200), ['dev ppp0', `via ${eth2.v4.gateway2} dev eth2`, `via ${eth3.v4.gateway} dev eth3`]);
    expect(await table(lab, 203)).toMatch(new RegExp(`^default via ${eth3.v4.gateway} dev eth3 proto 242 src ${lease3}`, 'm'));
    // main: only the connected routes (the LAN, ppp0's peer, each lease's /24), no `default via` from either dhclient.
    expect(lines(await mainTable(lab))).toEqual([
      `100.64.1.1 dev ppp0 proto kernel scope link src ${ppp0Local}`,
      `100.64.2.0/24 dev eth2 proto kernel scope link src ${lease2}`,
      `100.64.3.0/24 dev eth3 proto kernel scope link src ${lease3}`,
      '192.168.10.0/24 dev lan0 proto kernel scope link src 192.168.10.1',
    ]);
    const s = await seen(lab, 36);
    expect(Object.keys(s).sort()).toEqual([ppp0Local, lease2, lease3].sort());
    for (const isp of ['isp1', 'isp2', 'isp3'] as const) expect(await spoofDrops(lab, isp)).toBe(0);
  });

  it('release (dhclient -r) takes the link out: its routes and rules are gone, its connections go by the others', async () => {
    // `dhclient -r` runs dhclient-script (RELEASE) itself, then stops the daemon.
    const release = await dhcp2.release();
    expect(dhcp2.process.exited).toBe(true);
    expect(release.stdout.split('\n'), release.stdout + release.stderr).toContain('multiwan: isp2 (eth2) down; in service: isp1, isp3');
    expect(await leased(lab, 'eth2')).toBeUndefined();
    expect(await table(lab, 202)).toBe('');
    expect(await ruleTables(lab)).not.toContain(202);
    expect(await rtr(lab, ['ip', '-4', 'rule'])).not.toContain(lease2);
    expectBalanced(await table(lab, 200), ['dev ppp0', `via ${eth3.v4.gateway} dev eth3`]);
    const s = await seen(lab);
    expect(Object.keys(s).sort()).toEqual([ppp0Local, lease3].sort());
  });

  it('the DHCP server stopped, the 12 s lease expires (EXPIRE): the link is taken out, all traffic on ppp0', async () => {
    const from = dhcp3.process.lines.length;
    await stopIspDhcp(lab, 'isp3');
    const t0 = Date.now();
    const down = await hookLine(dhcp3, 'multiwan: isp3 (eth3) down; in service: isp1', from, 25_000);
    expect(down, dhcp3.process.lines.slice(from).join('\n')).toBeDefined();
    // within the lease (12 s from the last ACK, before the server stopped) and one hook run on a loaded machine
    expect(Date.now() - t0).toBeLessThan(16_000);
    expect(dhcp3.process.exited).toBe(false); // dhclient goes on asking (INIT)
    expect(await leased(lab, 'eth3')).toBeUndefined();
    expect(await table(lab, 203)).toBe('');
    expect(await ruleTables(lab)).not.toContain(203);
    expectBalanced(await table(lab, 200), ['dev ppp0']);
    expect(await seen(lab)).toEqual({ [ppp0Local]: 24 });
    await dhcp3.stop();
    await startIspDhcp(lab, 'isp3');
  });

  it('TIMEOUT: no server answers as dhclient starts, it falls back to its still-valid lease (the router answers a ping): the link comes into service', async () => {
    const first = await start('eth2');
    expect(await hookLine(first, 'multiwan: isp2 (eth2) up; in service: isp1, isp2'), first.process.lines.join('\n')).toBeDefined();
    const lease = await leased(lab, 'eth2');
    // -x: STOP (the link is taken out), the lease stays valid in dhclient's lease file
    const stop = await first.stop();
    expect(stop.stdout.split('\n'), stop.stdout + stop.stderr).toContain('multiwan: isp2 (eth2) down; in service: isp1');
    expect(await table(lab, 202)).toBe('');
    await stopIspDhcp(lab, 'isp2');
    try {
      const client = await startDhclient(lab, 'eth2', { conf: 'reboot 2;\ntimeout 3;\nretry 60;\n' });
      expect(await hookLine(client, 'multiwan: isp2 (eth2) up; in service: isp1, isp2'), client.process.lines.join('\n')).toBeDefined();
      expect(client.process.lines.some((l) => /^Trying recorded lease/.test(l))).toBe(true);
      expect(await leased(lab, 'eth2')).toBe(lease);
      expect(lines(await table(lab, 202))).toEqual([
        `${eth2.v4.gateway2} dev eth2 proto 242 scope link src ${lease}`,
        `default via ${eth2.v4.gateway2} dev eth2 proto 242 src ${lease}`,
      ]);
      expectBalanced(await table(lab, 200), ['dev ppp0', `via ${eth2.v4.gateway2} dev eth2`]);
      const s = await seen(lab);
      expect(Object.keys(s).sort()).toEqual([ppp0Local, lease].sort());
      // TIMEOUT is the one case the enter hook leaves the router to dhclient-script (it pings it to trust the old
      // lease), which adds it to main (README): only a fallback behind multiwan's rules, as the traffic above shows.
      expect(await mainTable(lab)).toMatch(new RegExp(`^default via ${eth2.v4.gateway2!.replace(/\./g, '\\.')} dev eth2 *$`, 'm'));
      await client.stop();
    } finally {
      await startIspDhcp(lab, 'isp2');
    }
  });

  it('an interface no link names (eth4): dhclient works as without multiwan, multiwan’s kernel state and records are unchanged', async () => {
    const before = await multiwanKernel(lab);
    const records = await stateFiles(lab);
    const dhcp4 = await start('eth4');
    const line = await hookLine(dhcp4, /^multiwan: eth4 dhclient BOUND: /);
    expect(line, dhcp4.process.lines.join('\n')).toBe('multiwan: eth4 dhclient BOUND: no link of the config is on eth4; nothing done');
    const lease4 = await leased(lab, 'eth4');
    expect(lease4).toMatch(/^100\.64\.4\.1\d\d$/);
    expect(await multiwanKernel(lab)).toBe(before);
    expect(await stateFiles(lab)).toEqual(records);
    // Not multiwan's: the enter hook left the router alone, dhclient-script wrote main's default route...
    expect(await mainTable(lab)).toMatch(new RegExp(`^default via ${eth4.v4.gateway} dev eth4 *$`, 'm'));
    // ...which multiwan's rules keep out of the LAN's way: its balanced default still decides.
    expect(await seen(lab, 8)).toEqual({ [ppp0Local]: 8 });
    await dhcp4.release();
    expect(await mainTable(lab)).not.toMatch(/^default/m);
  });

  it('a failing multiwan (unreadable config, the hook exits 1) changes nothing of dhclient’s result: the same as without the fragments', async () => {
    await lab.writeConfig(BROKEN_CONFIG);
    const hookFails = await sandboxExec(lab, ['env', 'reason=BOUND', 'interface=eth2', `new_ip_address=${eth2.v4.pool![0]}`, '/usr/lib/multiwan/dhcp-hook', 'dhclient'], { reject: false });
    expect(hookFails.exitCode, hookFails.stderr).toBe(1);
    const failure = hookFails.stderr.trim().split('\n')[0]!;
    expect(failure).toMatch(/^dhcp-hook: \/etc\/multiwan\/multiwan\.toml/);

    const withFragments = await boundRun(lab, start, eth2);
    // The hook failed, said so on dhclient's output, and dhclient went on renewing.
    expect(withFragments.lines).toContain(failure);
    await removeFragments(lab, 'dhclient');
    const without = await boundRun(lab, start, eth2);
    expect(without.lines.some((l) => l.startsWith('dhcp-hook:'))).toBe(false);
    expect(withFragments.kernel).toEqual(without.kernel);
    expect(withFragments.protocol).toEqual(without.protocol);
    // main's default route via the ISP's router, as dhclient-script writes it for an interface multiwan does not manage
    expect(without.kernel.main).toMatch(new RegExp(`^default via ${eth2.v4.gateway2} dev eth2 *$`, 'm'));
    await installFragments(lab, 'dhclient');
  });
});

/**
 * `dhcpcd -k` (RELEASE6, STOP, STOPPED), once more when the daemon missed the signal: dhcpcd 9.4.1 now and then
 * ignores its SIGALRM ("pid N failed to exit", nothing logged, no hook run) — the client's fault, not the hooks'.
 */
async function releaseDhcpcd(client: DhcpClient): Promise<ExecResult> {
  const first = await client.release();
  return client.process.exited ? first : client.release();
}

/** The multiwan state directory's files and contents. */
async function stateFiles(lab: Lab): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const name of (await readdir(lab.dirs.run)).filter((n) => n.endsWith('.json')).sort()) {
    out[name] = await readFile(path.join(lab.dirs.run, name), 'utf8');
  }
  return out;
}

/**
 * dhclient on eth2 until it is bound and has renewed once (isp2's T1 is 2 s),
 * then released: what it configured (address, main's routes with the lease
 * written as LEASE) and its protocol lines (DHCP messages, "bound to").
 */
async function boundRun(lab: Lab, start: (iface: string) => Promise<DhcpClient>, eth2: Uplink) {
  // Both runs from the same start: no lease recorded (DISCOVER, not INIT-REBOOT).
  await rm(sandboxPath(lab, '/var/lib/dhcp/dhclient.eth2.leases'), { force: true });
  const client = await start('eth2');
  const bound = (n: number) => client.process.lines.filter((l) => l.startsWith('bound to ')).length >= n;
  expect(await within(LEASE_MS, async () => bound(2), 100), client.process.lines.join('\n')).toBeDefined();
  expect(client.process.exited).toBe(false);
  const lease = (await leased(lab, eth2.iface)) ?? 'none';
  const anon = (text: string) => text.split(lease).join('LEASE');
  const kernel = {
    addr: anon(await rtr(lab, ['ip', '-4', '-o', 'addr', 'show', 'dev', 'eth2'])).replace(/valid_lft \S+ preferred_lft \S+/, 'LIFETIMES'),
    main: anon(await mainTable(lab)),
  };
  const output = [...client.process.lines];
  const protocol = output
    .filter((l) => /^(DHCP\w+|bound to)/.test(l))
    .slice(0, 5)
    .map((l) => anon(l).replace(/ -- renewal in \d+ seconds\./, '').replace(/ interval \d+/, ''));
  await client.release();
  expect(client.process.exited).toBe(true);
  return { kernel, lines: output, protocol };
}

describe.skipIf(!!skip)(`dhcpcd end to end${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let lab: Lab;
  let eth2: Uplink;
  let eth3: Uplink;
  let ppp0Local: string;
  let lease2 = '';
  let dhcp2: DhcpClient;
  /** dhcpcd's own default route in main withheld: `nogateway` (README), as the fragment asks. */
  const NOGATEWAY = `${DHCPCD_CONF}nogateway\n`;

  beforeAll(async () => {
    if (!existsSync(dist('dhcp-hook'))) throw new Error('dist/dhcp-hook is missing: run `npm run build` (npm test does)');
    // isp2: dnsmasq with renewals every 2-3 s; isp3: dnsmasq on an interface no link names.
    lab = await createLab({ uplinks: ['ppp', { kind: 'dhcp', dhcp: { renewSeconds: 2, rebindSeconds: 4 } }, 'dhcp'] });
    [, eth2, eth3] = lab.uplinks as [Uplink, Uplink, Uplink];
    ppp0Local = lab.uplinks[0]!.v4.local;
    await installProduct(lab, 'dhcpcd', { isp1: 'ppp0', isp2: 'eth2' });
    const up = await lab.ppp('up', 'ppp0');
    expect(up.hookFailed, up.stdout + up.stderr).toBe(false);
  });

  afterAll(async () => {
    await lab?.destroy();
  });

  // IPv4 only (-4): this lab has no IPv6; the IPv6 events are tested below.
  const start = (iface: string, conf: string) => startDhcpcd(lab, iface, { family: 4, conf });

  it('BOUND (with nogateway) brings the link into service beside ppp0; main holds no default route', async () => {
    dhcp2 = await start('eth2', NOGATEWAY);
    expect(await hookLine(dhcp2, 'multiwan: isp2 (eth2) up; in service: isp1, isp2'), dhcp2.process.lines.join('\n')).toBeDefined();
    lease2 = (await leased(lab, 'eth2')) ?? '';
    expect(lease2).toMatch(/^100\.64\.2\.1\d\d$/);
    expect(lines(await table(lab, 202))).toEqual([
      `${eth2.v4.gateway} dev eth2 proto 242 scope link src ${lease2}`,
      `default via ${eth2.v4.gateway} dev eth2 proto 242 src ${lease2}`,
    ]);
    expectBalanced(await table(lab, 200), ['dev ppp0', `via ${eth2.v4.gateway} dev eth2`]);
    expect(await mainTable(lab)).not.toMatch(/^default/m);
    const s = await seen(lab);
    expect(Object.keys(s).sort()).toEqual([ppp0Local, lease2].sort());
    expect(await spoofDrops(lab, 'isp2')).toBe(0);
  });

  it('a renewal (dhcpcd -n) naming the ISP’s second router re-plans the link’s table and the balanced default', async () => {
    await startIspDhcp(lab, 'isp2', { router: eth2.v4.gateway2 });
    const from = dhcp2.process.lines.length;
    const n = await dhcp2.control(['-n']);
    expect(n.exitCode, n.stderr).toBe(0);
    const moved = await within(LEASE_MS, async () => (await table(lab, 202)).includes(`default via ${eth2.v4.gateway2} dev eth2`), 200);
    expect(moved, dhcp2.process.lines.slice(from).join('\n')).toBeDefined();
    expect(lines(await table(lab, 202))).toEqual([
      `${eth2.v4.gateway2} dev eth2 proto 242 scope link src ${lease2}`,
      `default via ${eth2.v4.gateway2} dev eth2 proto 242 src ${lease2}`,
    ]);
    expectBalanced(await table(lab, 200), ['dev ppp0', `via ${eth2.v4.gateway2} dev eth2`]);
    const s = await seen(lab);
    expect(Object.keys(s).sort()).toEqual([ppp0Local, lease2].sort());
  });

  it('carrier loss (NOCARRIER, EXPIRE) takes the link out; its return (REBOOT) brings it back', async () => {
    let from = dhcp2.process.lines.length;
    await lab.carrier('eth2', false);
    expect(await hookLine(dhcp2, 'multiwan: isp2 (eth2) down; in service: isp1', from), dhcp2.process.lines.slice(from).join('\n')).toBeDefined();
    expect(await within(5000, async () => (await table(lab, 202)) === '', 100)).toBeDefined();
    expect(await ruleTables(lab)).not.toContain(202);
    expectBalanced(await table(lab, 200), ['dev ppp0']);
    expect(await seen(lab, 8)).toEqual({ [ppp0Local]: 8 });

    from = dhcp2.process.lines.length;
    await lab.carrier('eth2', true);
    expect(await hookLine(dhcp2, 'multiwan: isp2 (eth2) up; in service: isp1, isp2', from), dhcp2.process.lines.slice(from).join('\n')).toBeDefined();
    expect(await hookLine(dhcp2, 'eth2: executing: /usr/lib/dhcpcd/dhcpcd-run-hooks REBOOT', from, 5000)).toBeDefined();
    expect(await leased(lab, 'eth2')).toBe(lease2);
    expectBalanced(await table(lab, 200), ['dev ppp0', `via ${eth2.v4.gateway2} dev eth2`]);
    const s = await seen(lab);
    expect(Object.keys(s).sort()).toEqual([ppp0Local, lease2].sort());
  });

  it('release (dhcpcd -k: STOP, STOPPED) takes the link out: its routes and rules are gone', async () => {
    const from = dhcp2.process.lines.length;
    await releaseDhcpcd(dhcp2);
    expect(dhcp2.process.exited).toBe(true);
    const after = dhcp2.process.lines.slice(from);
    expect(after).toContain('eth2: executing: /usr/lib/dhcpcd/dhcpcd-run-hooks STOPPED');
    expect(after).toContain('multiwan: isp2 (eth2) down; in service: isp1');
    expect(await table(lab, 202)).toBe('');
    expect(await ruleTables(lab)).not.toContain(202);
    expect(await rtr(lab, ['ip', '-4', 'rule'])).not.toContain(lease2);
    expectBalanced(await table(lab, 200), ['dev ppp0']);
    expect(await seen(lab, 8)).toEqual({ [ppp0Local]: 8 });
  });

  it('without nogateway dhcpcd writes its default route into main; multiwan’s balanced default still decides', async () => {
    const client = await start('eth2', DHCPCD_CONF);
    expect(await hookLine(client, 'multiwan: isp2 (eth2) up; in service: isp1, isp2'), client.process.lines.join('\n')).toBeDefined();
    const lease = (await leased(lab, 'eth2')) ?? '';
    // dhcpcd adds its routes after the BOUND hook ran: wait for them.
    const dhcpcdDefault = new RegExp(`^default via ${eth2.v4.gateway2!.replace(/\./g, '\\.')} dev eth2 proto dhcp src ${lease} metric \\d+`, 'm');
    expect(await within(5000, async () => dhcpcdDefault.test(await mainTable(lab)), 100), await mainTable(lab)).toBeDefined();
    // The same balanced default as with nogateway; main's default (used alone, it would send everything by eth2) is
    // suppressed by multiwan's first rule and only a fallback after the balance table.
    expectBalanced(await table(lab, 200), ['dev ppp0', `via ${eth2.v4.gateway2} dev eth2`]);
    const s = await seen(lab);
    expect(Object.keys(s).sort()).toEqual([ppp0Local, lease].sort());
    await releaseDhcpcd(client);
    expect(await mainTable(lab)).not.toMatch(/^default/m);
    expectBalanced(await table(lab, 200), ['dev ppp0']);
  });

  it('an interface no link names (eth3): dhcpcd works as without multiwan, multiwan’s kernel state and records are unchanged', async () => {
    const before = await multiwanKernel(lab);
    const records = await stateFiles(lab);
    const client = await start('eth3', DHCPCD_CONF);
    const line = await hookLine(client, /^multiwan: eth3 /);
    expect(line, client.process.lines.join('\n')).toBe('multiwan: eth3 dhcpcd BOUND: no link of the config is on eth3; nothing done');
    expect(await leased(lab, 'eth3')).toMatch(/^100\.64\.3\.1\d\d$/);
    // Not multiwan's: dhcpcd's own default route in main, behind multiwan's rules (the LAN's traffic below).
    const own = new RegExp(`^default via ${eth3.v4.gateway!.replace(/\./g, '\\.')} dev eth3 proto dhcp `, 'm');
    expect(await within(5000, async () => own.test(await mainTable(lab)), 100), await mainTable(lab)).toBeDefined();
    expect(await multiwanKernel(lab)).toBe(before);
    expect(await stateFiles(lab)).toEqual(records);
    expect(await seen(lab, 8)).toEqual({ [ppp0Local]: 8 });
    await releaseDhcpcd(client);
  });

  it('a failing multiwan (unreadable config, the hook exits 1): dhcpcd keeps its lease and renews, the same as without the fragment', async () => {
    await lab.writeConfig(BROKEN_CONFIG);
    const withFragment = await dhcpcdRun(lab, start, eth2);
    expect(withFragment.lines.some((l) => /^dhcp-hook: \/etc\/multiwan\/multiwan\.toml/.test(l)), withFragment.lines.join('\n')).toBe(true);
    await removeFragments(lab, 'dhcpcd');
    const without = await dhcpcdRun(lab, start, eth2);
    expect(without.lines.some((l) => l.startsWith('dhcp-hook:'))).toBe(false);
    expect(withFragment.kernel.leaseFile).toBe(true);
    expect(withFragment.kernel).toEqual(without.kernel);
    expect(withFragment.protocol).toEqual(without.protocol);
    await installFragments(lab, 'dhcpcd');
  });
});

/**
 * dhcpcd on eth2 until it is bound and has renewed once (isp2's T1 is 2 s),
 * then released (-k): its lease file, the address, main's routes (the lease
 * written as LEASE) and its protocol lines.
 */
async function dhcpcdRun(lab: Lab, start: (iface: string, conf: string) => Promise<DhcpClient>, eth2: Uplink) {
  const client = await start(eth2.iface, DHCPCD_CONF);
  const leases = () => client.process.lines.filter((l) => l.startsWith('eth2: leased ')).length;
  expect(await within(LEASE_MS, async () => leases() >= 2, 100), client.process.lines.join('\n')).toBeDefined();
  expect(client.process.exited).toBe(false);
  const lease = (await leased(lab, eth2.iface)) ?? 'none';
  const anon = (text: string) => text.split(lease).join('LEASE');
  // dhcpcd adds its routes after the hooks ran
  await within(5000, async () => /^default /m.test(await mainTable(lab)), 100);
  const kernel = {
    leaseFile: existsSync(sandboxPath(lab, '/var/lib/dhcpcd/eth2.lease')),
    addr: anon(await rtr(lab, ['ip', '-4', '-o', 'addr', 'show', 'dev', 'eth2'])).replace(/valid_lft \S+ preferred_lft \S+/, 'LIFETIMES'),
    main: anon(await mainTable(lab)),
  };
  const output = [...client.process.lines];
  const relevant = output.filter((l) => /^eth2: (offered|acknowledged|leased|adding|executing)/.test(l)).map((l) => anon(l));
  // up to the renewal's "leased" line (what follows it may still be on its way)
  const renewed = relevant.findIndex((l, i) => l.startsWith('eth2: leased ') && relevant.slice(0, i).some((m) => m.startsWith('eth2: leased ')));
  const protocol = relevant.slice(0, renewed + 1);
  await releaseDhcpcd(client);
  expect(client.process.exited).toBe(true);
  return { kernel, lines: output, protocol };
}

describe.skipIf(!!skip6)(`DHCPv6 end to end${skip6 ? ` (skipped: ${skip6})` : ''}`, () => {
  let lab: Lab;
  let ppp0: Uplink;
  let eth2: Uplink;
  let eth3: Uplink;
  /** dhcpcd asks for an address and a delegated prefix on eth2 (RS there only), as startDhcpcd({ pd }) does. */
  const PD = 'noipv6rs\ninterface eth2\n  ipv6rs\n  ia_na 1\n  ia_pd 2\n';

  beforeAll(async () => {
    if (!existsSync(dist('dhcp-hook'))) throw new Error('dist/dhcp-hook is missing: run `npm run build` (npm test does)');
    // isp2 and isp3: dhcpd -6 hands out an address from the WAN /64 and delegates the ISP's /48, dnsmasq sends the
    // router advertisements (the only source of the IPv6 next hop). isp2 keeps dhcpd's default timers (no RENEW6
    // within the test, so nothing repairs a state an event broke); isp3 renews every 2 s.
    lab = await createLab({
      ipv6: true,
      uplinks: ['ppp', { kind: 'dhcp', dhcp: { v6: 'dhcpd' } }, { kind: 'dhcp', dhcp: { v6: 'dhcpd', renewSeconds: 2, rebindSeconds: 4 } }],
    });
    [ppp0, eth2, eth3] = lab.uplinks as [Uplink, Uplink, Uplink];
    await installProduct(lab, 'dhcpcd', {});
    await installFragments(lab, 'dhclient');
    await sandboxInstall(lab, '/etc/ppp/ipv6-up.d/multiwan', dist('ipv6-up'));
    await sandboxInstall(lab, '/etc/ppp/ipv6-down.d/multiwan', dist('ipv6-down'));
    // The lab's recorder as 99-record, after 62-multiwan: its record of an event says multiwan's hook is done with it.
    await installRecorder(lab, ['dhcpcd']);
    await lab.writeConfig(`lan = ["192.168.10.0/24", "${ppp0.v6!.lan}", "${eth2.v6!.lan}", "${eth3.v6!.lan}"]

[link.isp1]
interface = "ppp0"
prefixes6 = ["${ppp0.v6!.prefix}"]

[link.isp2]
interface = "eth2"

[link.isp3]
interface = "eth3"
`);
    for (const r of [await lab.ppp('up', 'ppp0'), await ppp6(lab, 'up', 'ppp0')]) expect(r.hookFailed, r.stdout + r.stderr).toBe(false);
  });

  afterAll(async () => {
    await lab?.destroy();
  });

  const rules6 = () => rtr(lab, ['ip', '-6', 'rule']);
  const ruleTables6 = async () => [...(await rules6()).matchAll(/lookup (\d+)/g)].map((m) => Number(m[1]));
  // (a table never used in IPv6 is "FIB table does not exist": empty)
  const table6 = async (t: number) => (await lab.exec(lab.ns.rtr, ['ip', '-6', 'route', 'show', 'table', String(t)], { reject: false })).stdout;
  /** IPv6 connections from the LAN client's address in `isp`'s prefix: what the server saw. */
  const seen6 = async (isp: IspRole, count = 10) => (await whoamiDetailed(lab, { from: ADDR6.client(isp), count, timeoutMs: 2000 })).counts;
  const hasPrefixRule = async (u: Uplink, t: number) => (await rules6()).includes(`from ${u.v6!.prefix} lookup ${t}`);

  /**
   * The order of dhcpcd's first two IPv6 events is a race (it solicits a router and a DHCPv6 lease at once): isp2
   * holds back its DHCPv6 replies (`dhcp6`) or its router advertisements (`ra`) until the other event has been
   * handled. Only packets are delayed, as a slow server would.
   */
  async function holdBack(what: 'dhcp6' | 'ra' | undefined): Promise<void> {
    await lab.exec(lab.ns.isp2, ['nft', 'delete', 'table', 'inet', 'mwtdhcp'], { reject: false });
    if (!what) return;
    const rule = what === 'dhcp6' ? 'chain input { type filter hook input priority -10; udp dport 547 drop; }'
      : 'chain output { type filter hook output priority -10; icmpv6 type nd-router-advert drop; }';
    await lab.exec(lab.ns.isp2, ['nft', '-f', '-'], { input: `table inet mwtdhcp {\n  ${rule}\n}\n` });
  }

  /**
   * eth2 as it comes up on a router: the kernel ignores advertisements (forwarding, accept_ra 1) and has learned
   * no router; what an earlier step left (multiwan set accept_ra = 2 for it; the kernel's `proto ra` routes and
   * SLAAC addresses) is undone.
   */
  async function freshEth2(): Promise<void> {
    await rtr(lab, ['sysctl', '-w', 'net.ipv6.conf.eth2.accept_ra=1']);
    await lab.exec(lab.ns.rtr, ['ip', '-6', 'route', 'flush', 'dev', 'eth2', 'proto', 'ra'], { reject: false });
    await lab.exec(lab.ns.rtr, ['ip', '-6', 'addr', 'flush', 'dev', 'eth2', 'scope', 'global'], { reject: false });
    expect(await rtr(lab, ['ip', '-6', 'route', 'show', 'table', 'main', 'default'])).toBe('');
  }

  /** Waits until dhcpcd has run its hooks for `reason` (record `from` on); returns the number of records up to it. */
  async function handled(client: DhcpClient, reason: string, from: number): Promise<number> {
    const pred = (r: HookRecord) => r.reason === reason;
    expect(await waitRecord(lab, 'dhcpcd', pred, LEASE_MS, from), events(client)).toBeDefined();
    return from + (await readRecords(lab, 'dhcpcd')).slice(from).findIndex(pred) + 1;
  }

  const recorded = async () => (await readRecords(lab, 'dhcpcd')).length;

  /** dhcpcd's hook runs and what multiwan said of them, for failure messages. */
  const events = (client: DhcpClient) => client.process.lines.filter((l) => /executing|^multiwan:|^isp2:|^dhcp-hook:/.test(l)).join('\n');

  /**
   * dhcpcd on eth2 with the events in this order: the router advertisement first, then BOUND6 (`ra-first`), or
   * the other way round. Returns the client and the DHCPv6 address it leased.
   */
  async function dhcpcd6(conf: string, order: 'ra-first' | 'bound6-first'): Promise<{ client: DhcpClient; address: string }> {
    await freshEth2();
    await holdBack(order === 'ra-first' ? 'dhcp6' : 'ra');
    const from = await recorded();
    const client = await startDhcpcd(lab, 'eth2', { conf });
    try {
      const first = await handled(client, order === 'ra-first' ? 'ROUTERADVERT' : 'BOUND6', from);
      await holdBack(undefined);
      // dhcpcd solicits again (1, 2, 4 s); advertisements: dnsmasq sends some as it (re)starts, the leases stay.
      if (order === 'bound6-first') await startIspDhcp(lab, 'isp2');
      await handled(client, order === 'ra-first' ? 'BOUND6' : 'ROUTERADVERT', first);
    } finally {
      await holdBack(undefined);
    }
    const address = /inet6 (2001:db8:ff02::[0-9a-f]+)\/128/.exec(await rtr(lab, ['ip', '-6', '-o', 'addr', 'show', 'dev', 'eth2']))?.[1] ?? '';
    expect(address).not.toBe('');
    return { client, address };
  }

  /** eth2 up in IPv6: its address and delegated prefix lead to table 202, default via the advertising router. */
  async function expectEth2Up6(address: string, events: string): Promise<void> {
    const rules = await rules6();
    expect(rules, `${events}\n${rules}`).toContain(`from ${eth2.v6!.prefix} lookup 202`);
    expect(rules, `${events}\n${rules}`).toContain(`from ${address} lookup 202`);
    expect(await table6(202)).toMatch(new RegExp(`^default via ${eth2.v6!.peerLinkLocal} dev eth2 `, 'm'));
    expectBalanced(await table6(200), [`via ${ppp0.v6!.peerLinkLocal} dev ppp0`, `via ${eth2.v6!.peerLinkLocal} dev eth2`]);
    // Each prefix leaves by its ISP (each drops foreign sources): the LAN's addresses, unchanged (no NAT66).
    expect(await seen6('isp2')).toEqual({ [ADDR6.client('isp2')]: 10 });
    expect(await seen6('isp1')).toEqual({ [ADDR6.client('isp1')]: 10 });
    expect(await spoofDrops(lab, 'isp1')).toBe(0);
    expect(await spoofDrops(lab, 'isp2')).toBe(0);
  }

  /** -k: STOP, RELEASE6, STOPPED: nothing of eth2 left in IPv6. */
  async function release(client: DhcpClient): Promise<void> {
    const r = await releaseDhcpcd(client);
    const what = `${r.stdout}${r.stderr}\n${events(client)}\n${client.process.exited ? 'dhcpcd exited' : 'dhcpcd still running'}`;
    expect(await hasPrefixRule(eth2, 202), what).toBe(false);
    expect(await table6(202), what).toBe('');
  }

  it('dhcpcd ia_na + ia_pd: up in IPv6 with the delegated prefix as a `from` rule, default via the router (nd1_from); the next advertisement keeps the prefix', async () => {
    const { client, address } = await dhcpcd6(`${DHCPCD_CONF}${PD}`, 'ra-first');
    try {
      await expectEth2Up6(address, events(client));
      // Another advertisement (dnsmasq restarted): ROUTERADVERT must not replace the lease's address with the
      // SLAAC one (nd1_addr1), nor drop the prefix, until the next RENEW6 (T1 45 s here; hours at an ISP).
      const from = await recorded();
      await startIspDhcp(lab, 'isp2');
      await handled(client, 'ROUTERADVERT', from);
      const rules = await rules6();
      expect(rules, `${events(client)}\n${rules}`).toContain(`from ${eth2.v6!.prefix} lookup 202`);
      expect(rules).toContain(`from ${address} lookup 202`);
      expect(await seen6('isp2')).toEqual({ [ADDR6.client('isp2')]: 10 });
    } finally {
      await release(client);
    }
  });

  it('dhcpcd with nogateway, the router known from its advertisement only: BOUND6 after it brings the lease’s address and prefix in at once', async () => {
    // No `default via` in main from dhcpcd (nogateway) nor from the kernel (accept_ra_defrtr 0; else it depends on
    // whether the kernel saw an advertisement since multiwan set accept_ra = 2): the router is nd1_from alone.
    await rtr(lab, ['sysctl', '-w', 'net.ipv6.conf.eth2.accept_ra_defrtr=0']);
    try {
      const { client, address } = await dhcpcd6(`${DHCPCD_CONF}nogateway\n${PD}`, 'ra-first');
      try {
        expect(await rtr(lab, ['ip', '-6', 'route', 'show', 'table', 'main', 'default'])).toBe('');
        await expectEth2Up6(address, events(client));
      } finally {
        await release(client);
      }
    } finally {
      await rtr(lab, ['sysctl', '-w', 'net.ipv6.conf.eth2.accept_ra_defrtr=1']);
    }
  });

  it('dhcpcd, BOUND6 before any advertisement: not up in IPv6 yet; the advertisement then brings the lease’s address and prefix in', async () => {
    const { client, address } = await dhcpcd6(`${DHCPCD_CONF}${PD}`, 'bound6-first');
    try {
      expect(events(client)).toContain('isp2: eth2 has no IPv6 router yet (no gateway given, no router advertisement); its IPv6 waits for one');
      await expectEth2Up6(address, events(client));
    } finally {
      await release(client);
    }
  });

  it('dhclient -6 -N -P with accept_ra left at 1 (forwarding): no router, so the link never comes up in IPv6', async () => {
    expect((await rtr(lab, ['sysctl', '-n', 'net.ipv6.conf.eth3.accept_ra'])).trim()).toBe('1');
    const client = await startDhclient(lab, 'eth3', { family: 6, na: true, pd: true });
    try {
      const note = 'isp3: eth3 has no IPv6 router yet (no gateway given, no router advertisement); its IPv6 waits for one';
      expect(await hookLine(client, note), client.process.lines.filter((l) => !/^(XMT|RCV)/.test(l)).join('\n')).toBeDefined();
      // renewals (T1 2 s) change nothing: multiwan sets accept_ra = 2 only for links up in IPv6
      const renewals = () => client.process.lines.filter((l) => l === note).length;
      expect(await within(LEASE_MS, async () => renewals() >= 3, 200)).toBeDefined();
      expect((await rtr(lab, ['sysctl', '-n', 'net.ipv6.conf.eth3.accept_ra'])).trim()).toBe('1');
      expect(await rtr(lab, ['ip', '-6', 'route', 'show', 'table', 'main', 'default', 'dev', 'eth3'])).toBe('');
      expect(await ruleTables6()).not.toContain(203);
      expect(await table6(203)).toBe('');
      // The address and the prefix were leased all the same.
      expect(await rtr(lab, ['ip', '-6', '-o', 'addr', 'show', 'dev', 'eth3'])).toMatch(/inet6 2001:db8:ff03::[0-9a-f]+\/128/);
      // The hook's own line does not claim the link came up.
      expect(client.process.lines.filter((l) => l.startsWith('multiwan: isp3 (eth3) up (IPv6)'))).toEqual([]);
      expect(client.process.lines).toContain('multiwan: isp3 (eth3) not brought up (IPv6); in service: isp1');
    } finally {
      await client.release();
    }
  });

  it('dhclient -6 -N -P with accept_ra = 2 set before eth3 comes up: up in IPv6 with the prefix, default via the router main learned', async () => {
    // What the admin sets (sysctl.d) before the interface comes up; the kernel then solicits and learns the router.
    await rtr(lab, ['sysctl', '-w', 'net.ipv6.conf.eth3.accept_ra=2']);
    await rtr(lab, ['ip', 'link', 'set', 'eth3', 'down']);
    await rtr(lab, ['ip', 'link', 'set', 'eth3', 'up']);
    const router = new RegExp(`^default via ${eth3.v6!.peerLinkLocal} dev eth3 proto ra `, 'm');
    expect(await within(5000, async () => router.test(await rtr(lab, ['ip', '-6', 'route', 'show', 'table', 'main', 'default'])), 100)).toBeDefined();
    const client = await startDhclient(lab, 'eth3', { family: 6, na: true, pd: true });
    try {
      expect(await within(LEASE_MS, () => hasPrefixRule(eth3, 203), 100), client.process.lines.filter((l) => !/^(XMT|RCV)/.test(l)).join('\n')).toBeDefined();
      const address = /inet6 (2001:db8:ff03::[0-9a-f]+)\/128/.exec(await rtr(lab, ['ip', '-6', '-o', 'addr', 'show', 'dev', 'eth3']))?.[1];
      expect(await rules6()).toContain(`from ${address} lookup 203`);
      expect(await table6(203)).toMatch(new RegExp(`^default via ${eth3.v6!.peerLinkLocal} dev eth3 `, 'm'));
      expectBalanced(await table6(200), [`via ${ppp0.v6!.peerLinkLocal} dev ppp0`, `via ${eth3.v6!.peerLinkLocal} dev eth3`]);
      expect(await seen6('isp3')).toEqual({ [ADDR6.client('isp3')]: 10 });
      expect(await seen6('isp1')).toEqual({ [ADDR6.client('isp1')]: 10 });
      expect(await spoofDrops(lab, 'isp3')).toBe(0);
    } finally {
      await client.release();
    }
    expect(await hasPrefixRule(eth3, 203)).toBe(false);
  });

});
