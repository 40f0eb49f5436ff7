// Selftest of the network-namespace lab, independent of the product: a
// hand-written hook (fixtures/manual-ip-*.sh) stands in for multiwan.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  addPortForward,
  connectFromServer,
  createLab,
  ispCounters,
  listLabNamespaces,
  needsRoot,
  removePortForwards,
  resetIspCounters,
  spoofDrops,
  startStream,
  whoamiDetailed,
  type Lab,
} from './lab';

const skip = needsRoot();
const fixture = (name: string): string => path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', name);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const title = `network-namespace lab selftest${skip ? ` (skipped: ${skip})` : ''}`;

describe.skipIf(!!skip)(title, () => {
  let lab: Lab;

  beforeAll(async () => {
    lab = await createLab({ links: 2 });
    await lab.installHooks(fixture('manual-ip-up.sh'), fixture('manual-ip-down.sh'));
  });

  afterAll(async () => {
    await lab?.destroy();
  });

  it('builds the topology with connected routes only in the router', async () => {
    const { rules, routes } = await lab.snapshot();
    expect(routes).not.toMatch(/^default/m);
    expect(rules.trim().split('\n')).toHaveLength(3); // local, main, default
    const links = await lab.exec(lab.ns.rtr, ['ip', '-br', 'link']);
    expect(links.stdout).toMatch(/^ppp0@\S+\s+UP/m);
    expect(links.stdout).toMatch(/^ppp1@\S+\s+UP/m);
    expect(await lab.whoami({ count: 2, timeoutMs: 1000 })).toEqual({ error: 2 });
  });

  it('runs ip-up the way pppd does and the LAN reaches the server through ppp0', async () => {
    const r = await lab.ppp('up', 'ppp0');
    expect(r.hookFailed, r.stderr).toBe(false);
    const args = await readFile(path.join(lab.dirs.run, 'manual-args-ppp0'), 'utf8');
    expect(args).toBe('ppp0 /dev/ttyS0 115200 100.64.1.2 100.64.1.1 \n');
    const env = await readFile(path.join(lab.dirs.run, 'manual-env-ppp0'), 'utf8');
    expect(env).toContain('PPP_IFACE=ppp0');
    expect(env).toContain('PPP_LOCAL=100.64.1.2');
    expect(env).not.toMatch(/VITEST|NODE_OPTIONS|HOME=/);
    // the bind mounts stayed private to the hook run
    expect(existsSync('/etc/ppp/ip-up.d/multiwan')).toBe(false);
    expect(existsSync('/run/multiwan/manual-args-ppp0')).toBe(false);

    await resetIspCounters(lab, 'isp1');
    expect(await lab.whoami({ count: 20 })).toEqual({ '100.64.1.2': 20 });
    const c = await ispCounters(lab, 'isp1');
    expect(c.forwarded).toBeGreaterThan(0);
    expect(c.spoofed).toBe(0);
  });

  it('keeps a long-running stream alive and reports it', async () => {
    const stream = await startStream(lab);
    await sleep(1500);
    const s = await stream.stats();
    expect(s).toMatchObject({ connected: true, alive: true, seenAs: '100.64.1.2', gaps: 0 });
    expect(s.lines).toBeGreaterThan(40);
    const end = await stream.stop();
    expect(end.lines).toBeGreaterThanOrEqual(s.lines);
  });

  it('forwards an inbound connection from the server to a LAN listener', async () => {
    await addPortForward(lab, { wanAddr: lab.addr.ppp0Local, wanPort: 8080, lanPort: 8080 });
    expect(await connectFromServer(lab, lab.addr.ppp0Local, 8080)).toEqual({ ok: true, reply: lab.addr.server });
    await removePortForwards(lab);
    const after = await connectFromServer(lab, lab.addr.ppp0Local, 8080, { timeoutMs: 1000 });
    expect(after.ok).toBe(false);
  });

  it('isp2 drops packets leaving ppp1 with the source of ppp0', async () => {
    const rtr = lab.ns.rtr;
    await lab.exec(rtr, ['ip', 'route', 'replace', 'default', 'dev', 'ppp1']);
    await lab.exec(rtr, ['nft', '-f', '-'], {
      input: `table ip labwrong {
  chain postrouting {
    type nat hook postrouting priority srcnat; policy accept;
    oifname "ppp1" snat ip to ${lab.addr.ppp0Local}
  }
}
`,
    });
    try {
      await resetIspCounters(lab, 'isp2');
      const w = await whoamiDetailed(lab, { count: 4, timeoutMs: 800 });
      expect(w.counts).toEqual({ error: 4 });
      expect(w.errors.every((e) => e === 'timeout after 800 ms')).toBe(true);
      expect(await spoofDrops(lab, 'isp2')).toBeGreaterThan(0);
      expect(await spoofDrops(lab, 'isp1')).toBe(0);
    } finally {
      await lab.exec(rtr, ['nft', 'delete', 'table', 'ip', 'labwrong'], { reject: false });
      await lab.exec(rtr, ['ip', 'route', 'replace', 'default', 'dev', 'ppp0']);
    }
    expect(await lab.whoami({ count: 4 })).toEqual({ '100.64.1.2': 4 });
  });

  it('reports a failing hook although Debian ip-up exits 0', async () => {
    const r = await lab.ppp('up', 'ppp1', { args: ['nope0', '/dev/ttyS1', '115200', '1.2.3.4', '1.2.3.5', ''] });
    expect(r.exitCode).toBe(0);
    expect(r.hookFailed).toBe(true);
    expect(r.stderr).toMatch(/exited with return code/);
  });

  it('runs two ppp() at the same instant, then ip-down for both', async () => {
    const [a, b] = await Promise.all([lab.ppp('up', 'ppp0'), lab.ppp('up', 'ppp1', { ipparam: 'isp2' })]);
    expect([a.hookFailed, b.hookFailed]).toEqual([false, false]);
    expect(await readFile(path.join(lab.dirs.run, 'manual-args-ppp1'), 'utf8')).toBe(
      'ppp1 /dev/ttyS0 115200 100.64.2.2 100.64.2.1 isp2\n',
    );
    const seen = await lab.whoami({ count: 4 });
    expect(Object.keys(seen)).toHaveLength(1); // whichever default was written last
    const downs = await Promise.all([lab.ppp('down', 'ppp0'), lab.ppp('down', 'ppp1')]);
    expect(downs.map((d) => d.hookFailed)).toEqual([false, false]);
    expect(existsSync(path.join(lab.dirs.run, 'manual-down-args-ppp1'))).toBe(true);
    expect(await lab.whoami({ count: 2, timeoutMs: 1000 })).toEqual({ error: 2 });
  });

  it('takes the carrier of a link away and gives it back', async () => {
    await lab.carrier('ppp0', false);
    const down = await lab.exec(lab.ns.rtr, ['ip', '-br', 'link', 'show', 'ppp0']);
    expect(down.stdout).toMatch(/LOWERLAYERDOWN|NO-CARRIER/);
    await lab.carrier('ppp0', true);
    const up = await lab.exec(lab.ns.rtr, ['ip', '-br', 'link', 'show', 'ppp0']);
    expect(up.stdout).toMatch(/\bUP\b/);
  });

  it('builds a one-link lab without ppp1', async () => {
    const one = await createLab({ links: 1 });
    try {
      const links = await one.exec(one.ns.rtr, ['ip', '-br', 'link']);
      expect(links.stdout).toMatch(/^ppp0@/m);
      expect(links.stdout).not.toMatch(/^ppp1/m);
    } finally {
      await one.destroy();
    }
  });

  it('destroy() removes every namespace and the temp dir, and is idempotent', async () => {
    await lab.destroy();
    await lab.destroy();
    const left = (await listLabNamespaces()).filter((n) => n.startsWith(`mwt${lab.id}`));
    expect(left).toEqual([]);
    expect(existsSync(lab.dirs.root)).toBe(false);
  });
});
