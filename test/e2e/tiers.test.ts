// End to end, issue 9 item 1: backup tiers. isp1 and isp2 (PPP, tier 1) and a
// metered `lte` (a third PPP uplink, tier 2), each with health probes, the
// built `multiwan monitor` running in the router. Checked by real traffic (the
// source address the server sees for each new connection), by the kernel's
// balance table, and by what `multiwan status` and `multiwan explain` say:
// - lte carries nothing while either tier-1 link is in service (both, or
//   only isp2 once isp1 silently died);
// - once both tier-1 ISPs silently drop everything, the monitor takes them
//   out and every new connection goes through lte (the failover time is
//   measured from the second death);
// - when isp1 recovers, new connections leave lte at once, while a
//   connection already pinned to lte stays on it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLab, needsRoot, productEnv, startStream, type BackgroundProcess, type Lab, type StreamHandle } from '../lab/lab.js';
import { balance, dist, ispFault, startMonitor, within } from './helpers.js';

const skip = needsRoot();

// Probes every 200 ms, out after 3 bad intervals, back after 3 good ones.
const INTERVAL_MS = 200;
const DOWN = 3;
const check = (transit: string) => `check = { targets = ["198.51.100.10", "${transit}"], interval = "${INTERVAL_MS}ms", down = ${DOWN}, up = 3 }`;

const CONFIG = `
lan = ["192.168.10.0/24"]

[link.isp1]
interface = "ppp0"
${check('203.0.113.2')}

[link.isp2]
interface = "ppp1"
${check('203.0.113.6')}

[link.lte]
interface = "ppp2"
tier = 2
${check('203.0.113.10')}
`;

// Failover budget: DOWN intervals of silence, one more for the window being
// judged, the apply, and a loaded machine's scheduling.
const FAILOVER_BOUND_MS = (DOWN + 2) * INTERVAL_MS + 1500;

describe.skipIf(!!skip)(`backup tiers end to end${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let l: Lab;
  let monitor: BackgroundProcess;
  const LTE = '100.64.3.2';
  const figures: Record<string, number> = {};

  const multiwan = (args: string[]) => l.exec(l.ns.rtr, [dist('multiwan'), ...args], { env: productEnv(l), reject: false });
  /** 100 new connections from the LAN client: source address seen by the server -> count. */
  const hundred = () => l.whoami({ count: 100, timeoutMs: 2000 });
  const statusRow = async (link: string) => {
    const status = await multiwan(['status']);
    return status.stdout.split('\n').find((line) => line.startsWith(`${link} `)) ?? `(no row for ${link} in:\n${status.stdout}${status.stderr})`;
  };
  const explainDecision = async () => {
    const r = await multiwan(['explain', l.addr.client, l.addr.server, '--proto', 'tcp', '--dport', '7000', '--json']);
    expect(r.exitCode, r.stderr).toBe(0);
    return JSON.parse(r.stdout) as { explanation: { decision: { kind: string; why: string; weights?: { link: string; tier: number }[] } }; kernel?: { dev?: string } };
  };

  beforeAll(async () => {
    const started = Date.now();
    l = await createLab({ uplinks: ['ppp', 'ppp', 'ppp'] });
    await l.installHooks(dist('ip-up'), dist('ip-down'));
    await l.writeConfig(CONFIG);
    for (const iface of ['ppp0', 'ppp1', 'ppp2']) {
      const up = await l.ppp('up', iface);
      expect(up.hookFailed, `ip-up ${iface}: ${up.stdout}${up.stderr}`).toBe(false);
    }
    monitor = await startMonitor(l);
    expect(monitor.lines.some((line) => line.startsWith('monitoring isp1, isp2, lte'))).toBe(true);
    figures.setupMs = Date.now() - started;
  });

  afterAll(async () => {
    await l?.destroy();
    console.log(`[tiers] figures: ${JSON.stringify(figures)}`);
  });

  it('both tier-1 links in service: the balance table holds isp1 and isp2, 100 new connections never use lte; status says "standby" for lte, explain names tier 1', async () => {
    const table = await balance(l);
    expect(table).toMatch(/nexthop dev ppp0[\s\S]*nexthop dev ppp1/);
    expect(table).not.toContain('ppp2');

    const seen = await hundred();
    expect(seen.error ?? 0).toBe(0);
    expect(seen[LTE] ?? 0, JSON.stringify(seen)).toBe(0);
    expect((seen[l.addr.ppp0Local] ?? 0) + (seen[l.addr.ppp1Local] ?? 0)).toBe(100);
    expect(seen[l.addr.ppp0Local], 'isp1 carries some').toBeGreaterThan(0);
    expect(seen[l.addr.ppp1Local], 'isp2 carries some').toBeGreaterThan(0);

    // LINK IFACE KIND TIER WEIGHT STATE ...
    expect(await statusRow('isp1')).toMatch(/^isp1\s+ppp0\s+ppp\s+1\s+1\s+in service\s/);
    expect(await statusRow('isp2')).toMatch(/^isp2\s+ppp1\s+ppp\s+1\s+1\s+in service\s/);
    expect(await statusRow('lte')).toMatch(/^lte\s+ppp2\s+ppp\s+2\s+1\s+in service, standby \(tier 2\)\s/);

    const { explanation } = await explainDecision();
    expect(explanation.decision.kind).toBe('balance');
    expect(explanation.decision.weights).toEqual([
      { link: 'isp1', weight: 1, tier: 1 },
      { link: 'isp2', weight: 1, tier: 1 },
    ]);
  });

  it('isp1 silently dead: only isp2 carries new connections, still never lte', async () => {
    const from = monitor.lines.length;
    await ispFault(l, 'isp1', 'drop');
    expect(await monitor.waitLine((line) => line.startsWith('isp1 (ppp0): out of service'), 5000, from), monitor.lines.join('\n')).toBeDefined();
    const table = await balance(l);
    expect(table).toMatch(/^default .*dev ppp1/m);
    expect(table).not.toMatch(/ppp0|ppp2/);
    const seen = await hundred();
    expect(seen).toEqual({ [l.addr.ppp1Local]: 100 });
    expect(await statusRow('lte')).toMatch(/in service, standby \(tier 2\)/);
  });

  it('both tier-1 links silently dead: the monitor takes isp2 out too and every new connection goes through lte within the failover time', async () => {
    const from = monitor.lines.length;
    const died = Date.now();
    await ispFault(l, 'isp2', 'drop');
    const onlyLte = async () => {
      const table = await balance(l);
      return /^default .*dev ppp2/m.test(table) && !/ppp[01]/.test(table);
    };
    const routed = await within(FAILOVER_BOUND_MS + 3000, onlyLte, 20);
    expect(routed, `balance table after isp2's death:\n${await balance(l)}\n${monitor.lines.slice(from).join('\n')}`).toBeDefined();
    figures.failoverMs = Date.now() - died;
    // The first new connection after the switch, and 100 more: all through lte.
    const first = await l.whoami({ count: 1, timeoutMs: 2000 });
    figures.failoverFirstConnectionMs = Date.now() - died;
    expect(first).toEqual({ [LTE]: 1 });
    expect(figures.failoverMs, `failover took ${figures.failoverMs} ms`).toBeLessThan(FAILOVER_BOUND_MS);
    expect(
      monitor.lines.slice(from).some((line) => line.startsWith('isp2 (ppp1): out of service') && line.endsWith('in service: lte')),
      monitor.lines.slice(from).join('\n'),
    ).toBe(true);

    expect(await hundred()).toEqual({ [LTE]: 100 });
    expect(await statusRow('lte')).toMatch(/^lte\s+ppp2\s+ppp\s+2\s+1\s+in service\s/);
    expect(await statusRow('isp1')).toMatch(/OUT OF SERVICE \(probes\)/);
    expect(await statusRow('isp2')).toMatch(/OUT OF SERVICE \(probes\)/);
    const { explanation, kernel } = await explainDecision();
    expect(explanation.decision.weights).toEqual([{ link: 'lte', weight: 1, tier: 2 }]);
    expect(explanation.decision.why).toContain('tier 2: every link of a lower tier is out of service');
    expect(kernel?.dev).toBe('ppp2');
  });

  it('isp1 recovers: new connections leave lte at once; a connection already pinned to lte stays on it', async () => {
    let stream: StreamHandle | undefined;
    try {
      stream = await startStream(l);
      expect((await stream.stats()).seenAs).toBe(LTE);

      const from = monitor.lines.length;
      const recovered = Date.now();
      await ispFault(l, 'isp1', undefined);
      const back = await within(8000, async () => /^default .*dev ppp0/m.test(await balance(l)), 20);
      expect(back, `balance table after isp1's recovery:\n${await balance(l)}\n${monitor.lines.slice(from).join('\n')}`).toBeDefined();
      figures.returnMs = Date.now() - recovered;
      expect(await balance(l)).not.toContain('ppp2');
      expect(await hundred()).toEqual({ [l.addr.ppp0Local]: 100 });
      expect(await statusRow('lte')).toMatch(/in service, standby \(tier 2\)/);

      const stats = await stream.stop();
      stream = undefined;
      expect(stats.error).toBeUndefined();
      expect(stats.closed).toBe(false);
      expect(stats.seenAs).toBe(LTE);
      expect(stats.gaps).toBe(0);
    } finally {
      await stream?.stop();
    }
  });
});
