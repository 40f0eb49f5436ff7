// End to end, issue 7: the kernel and the config file are the truth, the
// recorded state only a cache. The built bundles run as pppd runs them
// (Debian's /etc/ppp/ip-up, run-parts, a cleared environment) and as the
// multiwan-monitor service runs them, in the namespace lab; every claim is
// checked by real traffic (the source address the server saw; the ISPs drop
// any source but their customer's) and by the router's kernel tables.
//
// 1. a PPP link that vanishes without ip-down (pppd SIGKILLed): the other
//    link's next event repairs the routing, and so does the monitor by itself;
// 2. boot order: the monitor started before its state directory, its config
//    and any WAN link exist keeps running and works once they appear;
// 3. config edits under a running monitor: a later verdict never puts an
//    older config back, with or without `multiwan apply`.
import { existsSync } from 'node:fs';
import { chmod, copyFile, mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  createLab,
  needsRoot,
  productEnv,
  startBackground,
  startServer,
  whoamiDetailed,
  type BackgroundProcess,
  type Lab,
} from '../lab/lab.js';
import { STD_PATH } from '../lab/exec.js';
import { balance, dist, ispFault, labWithHooks, ppp, sleep, startMonitor, within } from './helpers.js';

const skip = needsRoot();

const LAN = `lan = ["192.168.10.0/24"]\n`;
const CHECKS = {
  isp1: 'check = { targets = ["198.51.100.10", "203.0.113.2"] }',
  isp2: 'check = { targets = ["198.51.100.10", "203.0.113.6"] }',
};

/** Two links weighted w1:w2, optionally with checks, and more TOML after them. */
function config(opts: { w1?: number; w2?: number; checks?: boolean; more?: string } = {}): string {
  const check = (isp: 'isp1' | 'isp2') => (opts.checks ? `${CHECKS[isp]}\n` : '');
  return `${LAN}
[link.isp1]
interface = "ppp0"
weight = ${opts.w1 ?? 1}
${check('isp1')}
[link.isp2]
interface = "ppp1"
weight = ${opts.w2 ?? 1}
${check('isp2')}${opts.more ?? ''}`;
}

/** The lab server's whoami port: a policy on it is observable by the source address the server sees. */
const WHOAMI_PORT = 7000;
/** A second whoami port on the server, that no policy names: the weights decide there. */
const BALANCED_PORT = 7002;
const POLICY_NAME = 'whoami-via-isp2';
const POLICY = `
[[policy]]
name = "${POLICY_NAME}"
protocol = "tcp"
dst_port = [${WHOAMI_PORT}]
via = ["isp2"]
`;

const VANISHED = 'isp2: ppp1 vanished without ip-down; taken down';
/** What a monitor must never print while doing its job. */
const ERROR_LINE = /could not|error|internal/i;

/**
 * The lab's PPP links as test/lab/lab.ts builds them (routerBatch/ispBatch):
 * a veth pair with the same MAC on both ends and ARP off, point-to-point
 * addresses. Repeated here to delete and re-create a link the way pppd's
 * death and a new pppd do.
 */
const PPP = {
  ppp0: { isp: 'isp1', mac: '02:6d:77:00:01:01', local: '100.64.1.2', peer: '100.64.1.1' },
  ppp1: { isp: 'isp2', mac: '02:6d:77:00:02:01', local: '100.64.2.2', peer: '100.64.2.1' },
} as const;
type PppIface = keyof typeof PPP;

/** The kernel deletes the interface (and its ISP end), as when pppd is SIGKILLed: no ip-down runs. */
async function vanish(l: Lab, iface: PppIface): Promise<void> {
  await l.exec(l.ns.rtr, ['ip', 'link', 'del', iface]);
}

/** A new pppd's link: the interface and its ISP end, addressed and up (ip-up not run yet). */
async function recreate(l: Lab, iface: PppIface): Promise<void> {
  const p = PPP[iface];
  const ispNs = l.ns[p.isp];
  await l.exec(l.ns.rtr, ['ip', '-batch', '-'], {
    input: [
      `link add ${iface} address ${p.mac} type veth peer name cust0 address ${p.mac} netns ${ispNs}`,
      `link set ${iface} arp off`,
      `addr add ${p.local} peer ${p.peer} dev ${iface}`,
      `link set ${iface} up`,
    ].join('\n') + '\n',
  });
  await l.exec(ispNs, ['ip', '-batch', '-'], {
    input: ['link set cust0 arp off', `addr add ${p.peer} peer ${p.local} dev cust0`, 'link set cust0 up'].join('\n') + '\n',
  });
}

/** `multiwan` by hand in the router, with the lab's config and state. */
const multiwan = (l: Lab, args: string[]) => l.exec(l.ns.rtr, [dist('multiwan'), ...args], { env: productEnv(l), reject: false });

type Snapshot = Awaited<ReturnType<Lab['snapshot']>>;

/**
 * A snapshot whose routes are compared as a set of lines. After ppp1 was
 * deleted and re-created, the kernel lists its own IPv6 routes for the new
 * ppp1 (fe80::/64, ff00::/8) after lan0's instead of before: routes with the
 * same prefix are listed in the order they were added. Every line must still
 * be there, and nothing more; rules and nft stay compared byte for byte.
 */
const routesAsSet = (s: Snapshot): Snapshot => ({ ...s, routes: s.routes.split('\n').sort().join('\n') });

/** `multiwan status`, which must work: exit 0 (every link in service), 1 (some) or 2 (none). */
async function status(l: Lab): Promise<string> {
  const result = await multiwan(l, ['status']);
  expect([0, 1, 2], result.stderr).toContain(result.exitCode);
  return result.stdout;
}

/**
 * Until the LAN port's IPv6 link-local address has passed duplicate address
 * detection (the PPP veths have ARP off and skip it): before that, its local
 * route is missing from a snapshot, and a later snapshot would differ by it.
 */
async function ipv6Settled(l: Lab): Promise<void> {
  const took = await within(5000, async () => {
    const addr = (await l.exec(l.ns.rtr, ['ip', '-6', 'addr', 'show', 'dev', 'lan0', 'scope', 'link'])).stdout;
    return addr.includes('fe80::') && !addr.includes('tentative');
  }, 50);
  expect(took, 'lan0 has its IPv6 link-local address').toBeDefined();
}

const nftTable = async (l: Lab) => (await l.exec(l.ns.rtr, ['nft', 'list', 'table', 'inet', 'multiwan'])).stdout;
const bothBalanced = (table: string) => /nexthop dev ppp0[\s\S]*nexthop dev ppp1/.test(table);
const hasLine = (text: string, line: string) => text.split('\n').some((l) => l.endsWith(line));
/**
 * One link alone carries the balanced route. An empty table does not count:
 * the kernel deletes a multipath route when one of its devices vanishes, and
 * only multiwan puts one back.
 */
const onlyPpp0 = (table: string) => table.includes('ppp0') && !table.includes('ppp1');
const onlyPpp1 = (table: string) => table.includes('ppp1') && !table.includes('ppp0');

/**
 * What the router's kernel must hold once a vanished ppp1 is taken down:
 * exactly what it held with ppp0 up and ppp1 never brought up, less the
 * routes the kernel itself made for the ppp1 interface (connected, local,
 * link-local), which went with it.
 */
const withoutPpp1 = (s: Snapshot): Snapshot => ({
  ...s,
  routes: s.routes.split('\n').filter((line) => !/\bppp1\b/.test(line)).join('\n'),
});

/** Every line the monitor printed that reads like a failure (stdout lines and stderr). */
const errorLines = (monitor: BackgroundProcess) => [
  ...monitor.lines.filter((line) => ERROR_LINE.test(line)),
  ...monitor.stderr.split('\n').filter((line) => line.trim() !== ''),
];

let lab: Lab | undefined;
async function newLab(toml: string): Promise<Lab> {
  lab = await labWithHooks(2, toml);
  return lab;
}

describe.skipIf(!!skip)(`reliability end to end${skip ? ` (skipped: ${skip})` : ''}`, () => {
  beforeAll(() => {
    if (!existsSync(dist('multiwan'))) throw new Error('dist/multiwan is missing: run `npm run build` (npm test does)');
  });
  afterEach(async () => {
    await lab?.destroy();
    lab = undefined;
  });

  describe('a link that vanishes without ip-down', () => {
    it('the other link’s ip-up takes it down and keeps the router online; it returns through ip-up; the teardown is exact', async () => {
      const l = await newLab(config());
      await ipv6Settled(l);
      const pristine = await l.snapshot();
      await ppp(l, 'up', 'ppp0');
      const ppp0Only = withoutPpp1(await l.snapshot());
      await ppp(l, 'up', 'ppp1');
      expect(bothBalanced(await balance(l))).toBe(true);

      await vanish(l, 'ppp1');
      // pppd on ppp0 renegotiates: its ip-up must not trip over ppp1's leftovers.
      const renegotiated = await ppp(l, 'up', 'ppp0');
      expect(hasLine(renegotiated.stdout + renegotiated.stderr, VANISHED), renegotiated.stdout + renegotiated.stderr).toBe(true);
      expect(await l.whoami({ count: 20 })).toEqual({ [l.addr.ppp0Local]: 20 });
      expect(await status(l)).toMatch(/^isp2\s+ppp1\s+\S+\s+\d+\s+\d+\s+DOWN/m);
      expect(await l.snapshot()).toEqual(ppp0Only);

      await recreate(l, 'ppp1');
      const back = await ppp(l, 'up', 'ppp1');
      expect(back.stdout + back.stderr).not.toContain('vanished');
      expect(await balance(l)).toMatch(/nexthop dev ppp0 weight 1[\s\S]*nexthop dev ppp1 weight 1/);
      const seen = await l.whoami({ count: 60 });
      expect(seen.error ?? 0).toBe(0);
      expect(seen[l.addr.ppp0Local]).toBeGreaterThan(0); // 1:1 over 60 connections: each side ≥ 1 but for a 1-in-10^18 chance
      expect(seen[l.addr.ppp1Local]).toBeGreaterThan(0);

      await ppp(l, 'down', 'ppp1');
      await ppp(l, 'down', 'ppp0');
      expect(routesAsSet(await l.snapshot())).toEqual(routesAsSet(pristine));
    });

    it('it vanishes while the other link’s ip-up applies its change: that apply fails on it, is undone, is planned again without it, and the ip-up succeeds', async () => {
      const l = await newLab(config());
      await ppp(l, 'up', 'ppp1');
      // ppp0's ip-up, run as pppd runs it, with ip shimmed to delete ppp1 right before the first batch.
      const shim = path.join(l.dirs.root, 'vanish-shim');
      await mkdir(shim);
      await copyFile(path.resolve('test/e2e/fixtures/vanish-shim.sh'), path.join(shim, 'ip'));
      await chmod(path.join(shim, 'ip'), 0o755);
      await writeFile(path.join(shim, 'iface'), 'ppp1');
      const up = await l.exec(l.ns.rtr, [dist('ip-up'), 'ppp0', '/dev/ttyS0', '115200', PPP.ppp0.local, PPP.ppp0.peer, ''], {
        env: { ...productEnv(l), PATH: `${shim}:${STD_PATH}` },
        reject: false,
      });
      const said = up.stdout + up.stderr;
      expect(existsSync(path.join(shim, 'fired')), 'the shim deleted ppp1 mid-apply').toBe(true);
      expect(up.exitCode, said).toBe(0);
      expect(said).toMatch(/failed \(exit \d+\): .*; nothing changed: the previous routing is in place; ppp1 changed meanwhile: planned again/);
      expect(hasLine(said, VANISHED), said).toBe(true);
      expect(await balance(l)).toMatch(/^default .*dev ppp0/m);
      expect(await l.whoami({ count: 20 })).toEqual({ [l.addr.ppp0Local]: 20 });
      expect(await status(l)).toMatch(/^isp1\s+ppp0\s+.*in service/m);
      expect(await status(l)).toMatch(/^isp2\s+ppp1\s+\S+\s+\d+\s+\d+\s+DOWN/m);
    });

    it('with the monitor running: it takes the vanished link out by itself, says so, and prints no error', async () => {
      const l = await newLab(config({ checks: true }));
      await ipv6Settled(l);
      await ppp(l, 'up', 'ppp0');
      const ppp0Only = withoutPpp1(await l.snapshot());
      await ppp(l, 'up', 'ppp1');
      const monitor = await startMonitor(l);
      expect(bothBalanced(await balance(l))).toBe(true);

      await vanish(l, 'ppp1');
      // The kernel drops the balanced route with ppp1: only the monitor brings back one through ppp0.
      const took = await within(5000, async () => onlyPpp0(await balance(l)), 5);
      expect(took, 'a balanced route through ppp0 alone').toBeDefined();
      expect(took!).toBeLessThan(2000);
      // Rules and nft follow in the same change (the snapshot is read once more to show a difference).
      await within(1000, async () => JSON.stringify(await l.snapshot()) === JSON.stringify(ppp0Only), 50);
      expect(await l.snapshot()).toEqual(ppp0Only);
      expect(await monitor.waitLine((line) => line.endsWith(VANISHED), 1000), monitor.lines.join('\n')).toBeDefined();
      expect(await l.whoami({ count: 20 })).toEqual({ [l.addr.ppp0Local]: 20 });
      expect(await status(l)).toMatch(/^isp2\s+ppp1\s+\S+\s+\d+\s+\d+\s+DOWN/m);

      // A new pppd brings it back; the monitor probes the new incarnation and keeps it in service.
      await recreate(l, 'ppp1');
      await ppp(l, 'up', 'ppp1');
      await sleep(1500);
      expect(bothBalanced(await balance(l))).toBe(true);
      const seen = await l.whoami({ count: 60 });
      expect(seen.error ?? 0).toBe(0);
      expect(seen[l.addr.ppp1Local]).toBeGreaterThan(0);
      expect(monitor.exited).toBe(false);
      expect(errorLines(monitor)).toEqual([]);
      console.log(`[reliability] monitor took the vanished ppp1 out of table 200 in ${took} ms`);
    });
  });

  describe('boot order', () => {
    /** A router at boot: no state directory, no WAN interface. */
    async function bareRouter(l: Lab): Promise<void> {
      await rm(l.dirs.run, { recursive: true, force: true });
      await Promise.all((['ppp0', 'ppp1'] as const).map((iface) => vanish(l, iface)));
    }

    /** Both links come up the way pppd brings them: interface first, then ip-up. */
    async function linksComeUp(l: Lab): Promise<void> {
      for (const iface of ['ppp0', 'ppp1'] as const) {
        await recreate(l, iface);
        await ppp(l, 'up', iface);
      }
    }

    /** Until `multiwan status` shows a round-trip time for both links: the monitor probes them. */
    const probingBoth = (l: Lab) =>
      within(5000, async () => {
        const text = await status(l);
        return /^isp1 .*rtt \d/m.test(text) && /^isp2 .*rtt \d/m.test(text);
      }, 100);

    it('started before the state directory and the links exist, it keeps running and takes a silently dead link out once they are up', async () => {
      const l = await newLab(config({ checks: true }));
      await bareRouter(l);
      const monitor = startBackground(l, l.ns.rtr, [dist('multiwan'), 'monitor'], productEnv(l));
      expect(await monitor.waitLine((line) => line.startsWith('monitoring isp1, isp2'), 5000), monitor.stderr).toBeDefined();
      await sleep(1000);
      expect(monitor.exited, monitor.stderr).toBe(false);
      expect(existsSync(l.dirs.run), 'the monitor created its state directory').toBe(true);

      await linksComeUp(l);
      expect(await probingBoth(l), 'the monitor probes both links once they are up').toBeDefined();
      expect(bothBalanced(await balance(l))).toBe(true);

      await ispFault(l, 'isp1', 'drop');
      const took = await within(5000, async () => onlyPpp1(await balance(l)));
      expect(took, 'ppp0 left the balanced route').toBeDefined();
      expect(took!).toBeLessThan(2000);
      expect(await l.whoami({ count: 20, timeoutMs: 1500 })).toEqual({ [l.addr.ppp1Local]: 20 });
      expect(monitor.exited).toBe(false);
      expect(errorLines(monitor)).toEqual([]);
      console.log(`[reliability] boot order: isp1 out of table 200 ${took} ms after it went silent`);
    });

    it('started with no config at all, it says it waits, keeps running, and picks the config up once written', async () => {
      const l = await createLab({ links: 2 });
      lab = l;
      await l.installHooks(dist('ip-up'), dist('ip-down'));
      await bareRouter(l);
      const monitor = startBackground(l, l.ns.rtr, [dist('multiwan'), 'monitor'], productEnv(l));
      expect(await monitor.waitLine((line) => line.startsWith('no config at ') && line.endsWith('waiting for one'), 5000), monitor.stderr).toBeDefined();
      await sleep(1500);
      expect(monitor.exited, monitor.stderr).toBe(false);
      expect(existsSync(l.dirs.run), 'the monitor created its state directory').toBe(true);

      await l.writeConfig(config({ checks: true }));
      const written = Date.now();
      expect(await monitor.waitLine((line) => line.startsWith('monitoring isp1, isp2'), 5000), monitor.lines.join('\n')).toBeDefined();
      const pickedUp = Date.now() - written;
      expect(pickedUp).toBeLessThan(3000); // it looks at the file every second

      await linksComeUp(l);
      expect(await probingBoth(l), 'the monitor probes both links once they are up').toBeDefined();
      await ispFault(l, 'isp2', 'drop');
      const took = await within(5000, async () => onlyPpp0(await balance(l)));
      expect(took, 'ppp1 left the balanced route').toBeDefined();
      expect(took!).toBeLessThan(2000);
      expect(monitor.exited).toBe(false);
      expect(errorLines(monitor)).toEqual([]);
      console.log(`[reliability] no config: picked up ${pickedUp} ms after it was written; isp2 out ${took} ms after it went silent`);
    });
  });

  describe('config edits under a running monitor', () => {
    /** Both links up 1:1 with checks, the monitor running, a second whoami port on the server. */
    async function routerWithMonitor(): Promise<{ l: Lab; monitor: BackgroundProcess }> {
      const l = await newLab(config({ checks: true }));
      await startServer(l, { whoami: [BALANCED_PORT] });
      await ppp(l, 'up', 'ppp0');
      await ppp(l, 'up', 'ppp1');
      const monitor = await startMonitor(l);
      expect(await balance(l)).toMatch(/nexthop dev ppp0 weight 1[\s\S]*nexthop dev ppp1 weight 1/);
      expect(await nftTable(l)).not.toContain(POLICY_NAME);
      return { l, monitor };
    }

    /** isp1 goes silent until the monitor takes it out, then recovers until it is back: two verdicts. */
    async function outAndBack(l: Lab, monitor: BackgroundProcess, whileOut: () => Promise<void>): Promise<void> {
      const from = monitor.lines.length;
      await ispFault(l, 'isp1', 'drop');
      expect(await within(5000, async () => onlyPpp1(await balance(l))), 'isp1 out of service').toBeDefined();
      expect(await monitor.waitLine((line) => line.startsWith('isp1 (ppp0): out of service'), 1000, from)).toBeDefined();
      await whileOut();
      await ispFault(l, 'isp1', undefined);
      expect(await within(5000, async () => bothBalanced(await balance(l))), 'isp1 back in service').toBeDefined();
      expect(await monitor.waitLine((line) => line.startsWith('isp1 (ppp0): back in service'), 1000, from)).toBeDefined();
    }

    /** The kernel and the traffic follow the edited config: weights 5:1, port 7000 via isp2. */
    async function editedConfigHolds(l: Lab): Promise<void> {
      expect(await balance(l)).toMatch(/nexthop dev ppp0 weight 5[\s\S]*nexthop dev ppp1 weight 1/);
      expect(await nftTable(l)).toContain(`${POLICY_NAME} via isp2`);
      expect(await l.whoami({ count: 20, port: WHOAMI_PORT })).toEqual({ [l.addr.ppp1Local]: 20 });
      // 120 connections where the weights decide: 5:1 gives isp1 100 on
      // average, fewer than 78 with a chance of 3e-7; 1:1 gives 60, and 78 or
      // more with a chance of 6e-4.
      const balanced = await whoamiDetailed(l, { count: 120, port: BALANCED_PORT });
      expect(balanced.errors).toEqual([]);
      expect(balanced.counts[l.addr.ppp0Local] ?? 0).toBeGreaterThanOrEqual(78);
      expect(balanced.counts[l.addr.ppp1Local] ?? 0).toBeGreaterThan(0);
    }

    it('weights changed and a policy added, then `multiwan apply`: later verdicts keep both', async () => {
      const { l, monitor } = await routerWithMonitor();
      await l.writeConfig(config({ w1: 5, w2: 1, checks: true, more: POLICY }));
      const applied = await multiwan(l, ['apply']);
      expect(applied.exitCode, applied.stderr).toBe(0);
      expect(await balance(l)).toMatch(/nexthop dev ppp0 weight 5/);

      // A verdict at once, most likely before the monitor's next look at the
      // file (every second): ppp0's cable is cut. It must not put the old
      // config back, whatever the monitor has read by then.
      await l.carrier('ppp0', false);
      expect(await within(2000, async () => onlyPpp1(await balance(l))), 'isp1 out on carrier loss').toBeDefined();
      expect(await nftTable(l)).toContain(`${POLICY_NAME} via isp2`);
      await l.carrier('ppp0', true);
      expect(await within(5000, async () => bothBalanced(await balance(l))), 'isp1 back with its carrier').toBeDefined();
      expect(await balance(l)).toMatch(/nexthop dev ppp0 weight 5/);

      await outAndBack(l, monitor, async () => {
        expect(await nftTable(l)).toContain(`${POLICY_NAME} via isp2`);
      });
      await editedConfigHolds(l);
      expect(errorLines(monitor)).toEqual([]);
    });

    it('an edit without `multiwan apply` is applied by the next verdict', async () => {
      const { l, monitor } = await routerWithMonitor();
      // Only the file changes. The monitor follows it by itself (it looks
      // every second, for its probing settings), and every verdict is planned
      // with the config on disk at that moment, never with the one the monitor
      // loaded earlier: the routing follows the edit at the next verdict (or
      // hook event) at the latest.
      await l.writeConfig(config({ w1: 5, w2: 1, checks: true, more: POLICY }));
      expect(await monitor.waitLine((line) => line.startsWith('config reloaded: isp1, isp2'), 3000), monitor.lines.join('\n')).toBeDefined();

      await outAndBack(l, monitor, async () => {
        // The first verdict (isp1 out) already planned with the edited file.
        expect(await nftTable(l)).toContain(`${POLICY_NAME} via isp2`);
      });
      await editedConfigHolds(l);
      expect(errorLines(monitor)).toEqual([]);
    });
  });
});
