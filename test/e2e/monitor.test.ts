// End to end, issue 3: `multiwan monitor` (the built bundle) in the router
// namespace, both links brought up through Debian's /etc/ppp/ip-up, and the
// ISPs made to fail the way real ones do: silently (everything forwarded
// dropped, the PPP link still up), by a cut cable (carrier gone), and by
// losing 20% of packets at random. Checked by real traffic and by the kernel's
// routing tables, never by the monitor's word alone.
import { afterEach, describe, expect, it } from 'vitest';
import { createLab, needsRoot, productEnv, startBackground, startStream, type BackgroundProcess, type Lab } from '../lab/lab.js';
import { balance, dist, ispFault, labWithHooks, ppp, sleep, startMonitor, within } from './helpers.js';

const skip = needsRoot();

const config = (check: string) => `
lan = ["192.168.10.0/24"]

[link.isp1]
interface = "ppp0"
weight = 1
check = { targets = ["198.51.100.10", "203.0.113.2"]${check} }

[link.isp2]
interface = "ppp1"
weight = 1
check = { targets = ["198.51.100.10", "203.0.113.6"]${check} }
`;

let lab: Lab | undefined;

async function routerWithMonitor(check = ''): Promise<{ l: Lab; monitor: BackgroundProcess }> {
  const l = await labWithHooks(2, config(check));
  lab = l;
  for (const iface of ['ppp0', 'ppp1'] as const) await ppp(l, 'up', iface);
  const monitor = await startMonitor(l);
  expect(monitor.lines.some((line) => line.startsWith('monitoring isp1, isp2'))).toBe(true);
  return { l, monitor };
}

const transitions = (monitor: BackgroundProcess) => monitor.lines.filter((line) => /out of service|back in service/.test(line));

describe.skipIf(!!skip)(`health monitor end to end${skip ? ` (skipped: ${skip})` : ''}`, () => {
  afterEach(async () => {
    await lab?.destroy();
    lab = undefined;
  });

  it('silent death: new client connections go through the other link within 2 s; when the ISP recovers the link returns', async () => {
    const { l, monitor } = await routerWithMonitor();
    expect(await balance(l)).toMatch(/nexthop dev ppp0[\s\S]*nexthop dev ppp1/);
    await ispFault(l, 'isp1', 'drop');
    await sleep(2000);
    expect(await l.whoami({ count: 20, timeoutMs: 1500 })).toEqual({ [l.addr.ppp1Local]: 20 });
    // The monitor prints its line after the kernel changed: wait for it.
    expect(await monitor.waitLine((line) => line.startsWith('isp1 (ppp0): out of service: no reply from 198.51.100.10, 203.0.113.2'), 2000), monitor.lines.join('\n')).toBeDefined();
    const status = await l.exec(l.ns.rtr, [dist('multiwan'), 'status'], { env: productEnv(l), reject: false });
    expect(status.stdout).toMatch(/^isp1\s+ppp0\s+.*OUT OF SERVICE \(probes\)/m);
    expect(status.exitCode, 'some link out of service').toBe(1);

    await ispFault(l, 'isp1', undefined);
    const back = await within(5000, async () => /nexthop dev ppp0[\s\S]*nexthop dev ppp1/.test(await balance(l)));
    expect(back, 'isp1 back in the balanced route').toBeDefined();
    // The monitor prints its line after the kernel changed: wait for it.
    expect(await monitor.waitLine((line) => line.startsWith('isp1 (ppp0): back in service'), 2000), monitor.lines.join('\n')).toBeDefined();
    const seen = await l.whoami({ count: 40 });
    expect(seen.error ?? 0).toBe(0);
    expect(seen[l.addr.ppp0Local]).toBeGreaterThan(0);
  });

  it('cable cut: the link is out of the balanced route within 300 ms', async () => {
    const { l, monitor } = await routerWithMonitor();
    await l.carrier('ppp0', false);
    const took = await within(2000, async () => !(await balance(l)).includes('ppp0'));
    expect(took, 'ppp0 left the balanced route').toBeDefined();
    expect(took!).toBeLessThan(300);
    expect(await monitor.waitLine((line) => line.startsWith('isp1 (ppp0): out of service: carrier lost'), 1000)).toBeDefined();
    await l.carrier('ppp0', true);
    expect(await within(5000, async () => (await balance(l)).includes('ppp0')), 'back after the cable is plugged in').toBeDefined();
  });

  it('lossy: 20% of packets dropped at random for 60 s changes nothing', async () => {
    const { l, monitor } = await routerWithMonitor();
    await ispFault(l, 'isp1', 'numgen random mod 5 0 counter drop');
    await sleep(60_000);
    const dropped = await l.exec(l.ns.isp1, ['nft', 'list', 'table', 'inet', 'labfault']);
    expect(Number(/packets (\d+)/.exec(dropped.stdout)?.[1] ?? 0)).toBeGreaterThan(100); // the loss was real
    expect(transitions(monitor)).toEqual([]);
    expect(await balance(l)).toMatch(/nexthop dev ppp0[\s\S]*nexthop dev ppp1/);
  }, 120_000);

  it('a long TCP stream pinned to the healthy link survives the other link’s death and recovery', async () => {
    const { l, monitor } = await routerWithMonitor();
    // The balanced route hashes per connection: open streams until one is on isp2.
    let stream = await startStream(l);
    for (let i = 0; i < 20 && (await stream.stats()).seenAs !== l.addr.ppp1Local; i++) {
      await stream.stop();
      stream = await startStream(l);
    }
    expect((await stream.stats()).seenAs).toBe(l.addr.ppp1Local);

    await ispFault(l, 'isp1', 'drop');
    expect(await monitor.waitLine((line) => line.startsWith('isp1 (ppp0): out of service'), 3000)).toBeDefined();
    await sleep(500);
    await ispFault(l, 'isp1', undefined);
    expect(await monitor.waitLine((line) => line.startsWith('isp1 (ppp0): back in service'), 5000)).toBeDefined();
    await sleep(500);

    const stats = await stream.stop();
    expect(stats.error).toBeUndefined();
    expect(stats.seenAs).toBe(l.addr.ppp1Local);
    expect(stats.gaps).toBe(0);
    expect(stats.maxGapMs).toBeLessThan(1000);
  });

  it('targets unreachable from the start: out of service, said once; a restarted monitor keeps the verdict without flapping', async () => {
    const l = await createLab({ links: 2 });
    lab = l;
    await l.installHooks(dist('ip-up'), dist('ip-down'));
    await l.writeConfig(config('').replace('"198.51.100.10", "203.0.113.2"', '"192.0.2.99"')); // nobody there
    for (const iface of ['ppp0', 'ppp1'] as const) expect((await l.ppp('up', iface)).hookFailed).toBe(false);
    let monitor = startBackground(l, l.ns.rtr, [dist('multiwan'), 'monitor'], productEnv(l));
    expect(await monitor.waitLine((line) => line.startsWith('isp1 (ppp0): out of service'), 3000)).toBeDefined();
    await sleep(3000);
    expect(transitions(monitor)).toHaveLength(1);
    expect(await balance(l)).not.toContain('ppp0');

    await monitor.stop();
    monitor = startBackground(l, l.ns.rtr, [dist('multiwan'), 'monitor'], productEnv(l));
    expect(await monitor.waitLine((line) => line.startsWith('monitoring'), 5000)).toBeDefined();
    await sleep(2000);
    expect(transitions(monitor)).toEqual([]);
    expect(await balance(l)).not.toContain('ppp0');
  });

  it('a policy that would catch the probes does not move them: each link is still judged by its own path', async () => {
    const l = await createLab({ links: 2 });
    lab = l;
    await l.installHooks(dist('ip-up'), dist('ip-down'));
    await l.writeConfig(`${config('')}\n[[policy]]\nname = "pings-via-isp2"\nprotocol = "icmp"\nvia = ["isp2"]\n`);
    for (const iface of ['ppp0', 'ppp1'] as const) expect((await l.ppp('up', iface)).hookFailed).toBe(false);
    const monitor = startBackground(l, l.ns.rtr, [dist('multiwan'), 'monitor'], productEnv(l));
    expect(await monitor.waitLine((line) => line.startsWith('monitoring'), 5000)).toBeDefined();
    await sleep(1000);
    await ispFault(l, 'isp2', 'drop');
    expect(await monitor.waitLine((line) => line.startsWith('isp2 (ppp1): out of service'), 3000)).toBeDefined();
    await sleep(1500);
    // Were isp1's probes following the policy through dead isp2, isp1 would be out too.
    expect(transitions(monitor)).toHaveLength(1);
    expect(await balance(l)).toContain('ppp0');
  });

  it('SIGHUP reloads the config; a broken one is logged and the old one kept', async () => {
    const { l, monitor } = await routerWithMonitor();
    await l.writeConfig(config('').replace('weight = 1', 'weight = 0'));
    monitor.signal('SIGHUP');
    expect(await monitor.waitLine((line) => line.startsWith('config not reloaded, keeping the previous one:'), 3000)).toMatch(
      /link\.isp1\.weight: must be a whole number from 1 to 256/,
    );
    await ispFault(l, 'isp1', 'drop');
    expect(await monitor.waitLine((line) => line.startsWith('isp1 (ppp0): out of service'), 3000), 'still monitoring').toBeDefined();
    await l.writeConfig(config(', down = 5'));
    monitor.signal('SIGHUP');
    expect(await monitor.waitLine((line) => line.startsWith('config reloaded'), 3000)).toBeDefined();
  });
});
