// End to end, issue 10: `multiwan status` against a lab with one link in
// service and one out (its table, JSON and Prometheus forms, nft counters
// moving with real traffic, connections from conntrack, the exit status),
// and the log a hook leaves: one readable line for a broken config while
// pppd brings a link up. Hooks hand their lines to logger(1); in the router
// sandbox a stand-in logger is bound over /usr/bin/logger (the fixture
// notify-with-logger.sh), so the lines reach the test instead of the host's
// syslog.
import { chmod, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { needsRoot, productEnv, sandboxExec, type Lab } from '../lab/lab.js';
import { dist, ispFault, labWithHooks, ppp, startMonitor, within } from './helpers.js';

const skip = needsRoot();
const WITH_LOGGER = path.resolve('test/e2e/fixtures/notify-with-logger.sh');
const CONFIG = `
lan = ["192.168.10.0/24"]

[link.isp1]
interface = "ppp0"
check = { targets = ["198.51.100.10", "203.0.113.2"] }

[link.isp2]
interface = "ppp1"
check = { targets = ["198.51.100.10", "203.0.113.6"] }

[[policy]]
name = "whoami-via-isp1"
protocol = "tcp"
dst_port = [7000]
via = ["isp1", "isp2"]
`;

let lab: Lab | undefined;
afterEach(async () => {
  await lab?.destroy();
  lab = undefined;
});

async function status(l: Lab, ...args: string[]) {
  return l.exec(l.ns.rtr, [dist('multiwan'), 'status', ...args], { env: productEnv(l), reject: false });
}

interface JsonStatus {
  links: { name: string; state: string; reason?: string; connections?: { ipv4: number; ipv6: number }; traffic?: { rx: { packets: number; bytes: number }; tx: { packets: number; bytes: number } } }[];
  policies: { name: string; now: string; hits?: number }[];
  inService: string[];
}

describe.skipIf(!!skip)(`status and the log${skip ? ` (skipped: ${skip})` : ''}`, () => {
  it('status: one link in service, one out; the counters move with real traffic; the exit status says which', async () => {
    const l = (lab = await labWithHooks(2, CONFIG));
    await ppp(l, 'up', 'ppp0');
    await ppp(l, 'up', 'ppp1');
    const monitor = await startMonitor(l);
    const both = await status(l);
    expect(both.exitCode, both.stdout + both.stderr).toBe(0);

    await ispFault(l, 'isp2', 'drop');
    expect(await within(3000, async () => (await status(l)).exitCode === 1), 'isp2 out of service').toBeDefined();
    const before = JSON.parse((await status(l, '--json')).stdout) as JsonStatus;
    const seen = await l.whoami({ count: 30 });
    expect(seen).toEqual({ [l.addr.ppp0Local]: 30 });
    const after = JSON.parse((await status(l, '--json')).stdout) as JsonStatus;

    // The table.
    const text = await status(l);
    expect(text.exitCode).toBe(1);
    expect(text.stdout).toMatch(/^LINK +IFACE +KIND +TIER +WEIGHT +STATE +SINCE +ADDRESS +GATEWAY +TABLE +MARK +CONNS +RX +TX +PROBES$/m);
    expect(text.stdout).toMatch(/^isp1 +ppp0 +ppp +1 +1 +in service +\S+ \S+ +100\.64\.1\.2 +100\.64\.1\.1 +201 +0x100 +\d+ +\S+ +\S+ +rtt [\d.]+ ms loss 0%$/m);
    expect(text.stdout).toMatch(/^isp2 +ppp1 +ppp +1 +1 +OUT OF SERVICE \(probes\) /m);
    expect(text.stdout).toMatch(/^whoami-via-isp1 +isp1 > isp2 +isp1 +\d+$/m);
    expect(text.stdout).toContain('in service: isp1');

    // JSON: the states, and the counters and connections moving with the 30 connections.
    const isp1 = (s: JsonStatus) => s.links.find((x) => x.name === 'isp1')!;
    expect(after.links.map((x) => [x.name, x.state, x.reason ?? ''])).toEqual([['isp1', 'in service', ''], ['isp2', 'out of service', 'probes']]);
    expect(isp1(after).traffic!.tx.packets - isp1(before).traffic!.tx.packets).toBeGreaterThanOrEqual(30 * 3);
    expect(isp1(after).traffic!.rx.bytes).toBeGreaterThan(isp1(before).traffic!.rx.bytes);
    expect(isp1(after).connections!.ipv4).toBeGreaterThanOrEqual(30);
    const hits = (s: JsonStatus) => s.policies.find((p) => p.name === 'whoami-via-isp1')!.hits!;
    expect(hits(after) - hits(before)).toBeGreaterThanOrEqual(30);

    // Prometheus: the exposition format, the same figures.
    const prom = (await status(l, '--format', 'prometheus')).stdout;
    expect(prom).toContain('multiwan_link_in_service{link="isp1",interface="ppp0"} 1');
    expect(prom).toContain('multiwan_link_in_service{link="isp2",interface="ppp1"} 0');
    expect(prom).toMatch(/^multiwan_link_transmit_packets_total\{link="isp1",interface="ppp0"\} [1-9]\d*$/m);
    expect(prom).toMatch(/^multiwan_policy_hits_total\{policy="whoami-via-isp1",now="isp1"\} [1-9]\d*$/m);
    for (const line of prom.trim().split('\n')) expect(line).toMatch(/^(# (HELP|TYPE) multiwan_\w+ .+|multiwan_\w+(\{[^}]*\})? -?[\d.e+-]+)$/);

    // Both out: exit 2.
    await ispFault(l, 'isp1', 'drop');
    expect(await within(3000, async () => (await status(l)).exitCode === 2), 'no link in service').toBeDefined();
    await monitor.stop();
  });

  it('the log: a broken config while pppd brings a link up leaves one readable line; a good one logs the event', async () => {
    const l = (lab = await labWithHooks(1, `[link.isp1]\ninterface = "ppp0"\nweight = 0\n`));
    const logger = path.join(l.dirs.root, 'logger');
    const syslog = path.join(l.dirs.root, 'syslog.txt');
    await writeFile(logger, `#!/bin/sh\n# logger(1) stand-in: its arguments, then the lines\n{ echo "logger $*"; cat; } >>"${syslog}"\n`);
    await chmod(logger, 0o755);
    const up = () => sandboxExec(l, ['sh', WITH_LOGGER, logger, 'env', '-i', '/etc/ppp/ip-up', 'ppp0', '/dev/ttyS0', '115200', l.addr.ppp0Local, l.addr.ppp0Peer, ''], { reject: false });

    const broken = await up();
    expect(broken.stdout + broken.stderr).toMatch(/exited with return code 1/);
    const lines = (await readFile(syslog, 'utf8')).trim().split('\n');
    expect(lines).toEqual([
      'logger -t multiwan -p daemon.err',
      'ip-up: /etc/multiwan/multiwan.toml:3: link.isp1.weight: must be a whole number from 1 to 256 (a weight of 0 or less carries nothing); set weight = 1 or more',
    ]);
    expect((await l.exec(l.ns.rtr, ['ip', 'rule'])).stdout).not.toContain('lookup 201');

    await writeFile(syslog, '');
    await l.writeConfig(`[link.isp1]\ninterface = "ppp0"\n`);
    const good = await up();
    expect(good.stdout + good.stderr).not.toMatch(/exited with return code/);
    expect((await readFile(syslog, 'utf8')).trim().split('\n')).toEqual(['logger -t multiwan -p daemon.info', 'multiwan: isp1 (ppp0) up; in service: isp1']);
  });
});
